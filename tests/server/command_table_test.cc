#include "gtest/gtest.h"
#include "proto/mproc.pb.h"
#include "server/commands.h"

namespace mproc {
namespace {

// One row per op: every op of a kind has its function, found with one
// lookup, and the row is the op table's own.
TEST(CommandTableTest, EveryObjectOpHasItsFunction) {
  int found = 0;
  for (int kind = pb::Kind_MIN; kind <= pb::Kind_MAX; ++kind) {
    if (kind == pb::KIND_UNSPECIFIED) continue;
    for (const OpInfo* info : OpsOfKind(static_cast<pb::Kind>(kind))) {
      const Command* command = FindCommand(info->op);
      ASSERT_NE(command, nullptr) << info->name;
      EXPECT_EQ(command->info, info) << info->name;
      EXPECT_NE(command->run, nullptr)
          << KindName(info->kind) << " " << info->name;
      ++found;
    }
  }
  // ... and every function belongs to an op of the table.
  size_t rows = 0;
  for (auto kind_rows :
       {DictCommands(), ListCommands(), TypedValueCommands(), ArrayCommands(),
        NamespaceCommands(), QueueCommands(), SyncCommands(), PoolCommands()}) {
    rows += kind_rows.size();
  }
  EXPECT_EQ(static_cast<size_t>(found), rows);
  EXPECT_GE(found, 70);
}

TEST(CommandTableTest, ManagementOpsAreTheDispatchersOwn) {
  for (pb::Op op : {pb::OPEN, pb::DELETE_OBJECT, pb::LIST_OBJECTS,
                    pb::SERVER_INFO, pb::BACKUP}) {
    const Command* command = FindCommand(op);
    ASSERT_NE(command, nullptr) << op;
    EXPECT_EQ(command->run, nullptr) << op;
  }
}

TEST(CommandTableTest, UnknownOpsHaveNoRow) {
  EXPECT_EQ(FindCommand(pb::OP_UNSPECIFIED), nullptr);
  EXPECT_EQ(FindCommand(-1), nullptr);
  EXPECT_EQ(FindCommand(9999), nullptr);
  EXPECT_EQ(FindCommand(6), nullptr);  // a gap between the op groups
}

}  // namespace
}  // namespace mproc
