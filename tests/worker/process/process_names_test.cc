// Default names, in a binary of their own so no other test has numbered
// children first: Process-1, Process-2, and Process-1:1 for a grandchild.
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "worker/process/pipe.h"
#include "worker/process/process.h"

namespace mproc {
namespace {

TEST(ProcessNamesTest, ChildrenAreNumberedPerParent) {
  auto [parent, child] = *Pipe();
  Process first([&child = child] {
    Process grandchild([] {});
    return child.Send(List{CurrentProcess().name, grandchild.name()});
  });
  Process second([] {});
  EXPECT_EQ(first.name(), "Process-1");
  EXPECT_EQ(second.name(), "Process-2");
  ASSERT_OK(first.Start());
  EXPECT_EQ(*parent.Recv(), Value(List{"Process-1", "Process-1:1"}));
  ASSERT_OK(first.Join());
}

}  // namespace
}  // namespace mproc
