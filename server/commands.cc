// The command table: the op table's rows, each with its function.
#include "server/commands.h"

#include <array>
#include <cstdio>
#include <cstdlib>

namespace mproc {
namespace {

constexpr int kSlots = pb::Op_ARRAYSIZE;

using Table = std::array<Command, kSlots>;

// Every op of a kind has a function and every function an op of its kind,
// or the manager does not start: a broken invariant, not client input.
void Fail(const char* what, int op) {
  std::fprintf(stderr, "mproc: command table: %s (op %d)\n", what, op);
  std::abort();
}

const Table* BuildTable() {
  auto* table = new Table{};
  for (int op = 0; op < kSlots; ++op) {
    (*table)[op] = {FindOp(static_cast<pb::Op>(op)), nullptr};
  }
  for (auto rows :
       {DictCommands(), ListCommands(), TypedValueCommands(), ArrayCommands(),
        NamespaceCommands(), QueueCommands(), SyncCommands(), PoolCommands()}) {
    for (const CommandRow& row : rows) {
      Command& command = (*table)[row.op];
      if (command.info == nullptr) Fail("a function for an unknown op", row.op);
      if (command.run != nullptr) Fail("two functions for one op", row.op);
      command.run = row.run;
    }
  }
  for (const Command& command : *table) {
    if (command.info != nullptr && command.info->kind != pb::KIND_UNSPECIFIED &&
        command.run == nullptr) {
      Fail("an op without a function", command.info->op);
    }
  }
  return table;
}

}  // namespace

const Command* FindCommand(int op) {
  static const Table* const table = BuildTable();
  if (op < 0 || op >= kSlots) return nullptr;
  const Command* command = &(*table)[op];
  return command->info != nullptr ? command : nullptr;
}

}  // namespace mproc
