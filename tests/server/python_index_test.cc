#include "server/python_index.h"

#include "gtest/gtest.h"

namespace mproc {
namespace {

TEST(ResolveIndex, NegativeIndicesCountFromTheEnd) {
  EXPECT_EQ(ResolveIndex(0, 3), 0u);
  EXPECT_EQ(ResolveIndex(-1, 3), 2u);
  EXPECT_EQ(ResolveIndex(-3, 3), 0u);
}

TEST(ResolveIndex, OutOfRangeIsNullopt) {
  EXPECT_EQ(ResolveIndex(3, 3), std::nullopt);
  EXPECT_EQ(ResolveIndex(-4, 3), std::nullopt);
  EXPECT_EQ(ResolveIndex(0, 0), std::nullopt);
}

TEST(ClampInsertIndex, ClampsLikeListInsert) {
  EXPECT_EQ(ClampInsertIndex(100, 3), 3u);
  EXPECT_EQ(ClampInsertIndex(-100, 3), 0u);
  EXPECT_EQ(ClampInsertIndex(-1, 3), 2u);
  EXPECT_EQ(ClampInsertIndex(0, 0), 0u);
}

TEST(ResolveSlice, FollowsPythonSliceBounds) {
  using P = std::pair<size_t, size_t>;
  EXPECT_EQ(ResolveSlice(std::nullopt, std::nullopt, 5), P(0, 5));
  EXPECT_EQ(ResolveSlice(1, 3, 5), P(1, 3));
  EXPECT_EQ(ResolveSlice(-2, std::nullopt, 5), P(3, 5));
  EXPECT_EQ(ResolveSlice(std::nullopt, -3, 5), P(0, 2));
  EXPECT_EQ(ResolveSlice(4, 1, 5), P(4, 4));  // empty, never inverted
  EXPECT_EQ(ResolveSlice(-100, 100, 5), P(0, 5));
}

}  // namespace
}  // namespace mproc
