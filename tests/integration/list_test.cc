// Every list operation through a real manager, with Python's index rules.
#include "tests/support/manager_fixture.h"

namespace mproc {
namespace {

using ListTest = testing::ManagerTest;

TEST_F(ListTest, AppendAndExtendReturnTheNewLength) {
  auto l = manager_->List(UniqueName());
  ASSERT_OK(l);
  EXPECT_EQ(*l->Append("a"), 1);
  EXPECT_EQ(*l->Extend(List{"b", "c"}), 3);
  EXPECT_EQ(*l->Slice(), (List{"a", "b", "c"}));
}

TEST_F(ListTest, GetAndSetAcceptNegativeIndices) {
  auto l = manager_->List(UniqueName(), List{10, 20, 30});
  ASSERT_OK(l);
  EXPECT_EQ(*l->Get(0), Value(10));
  EXPECT_EQ(*l->Get(-1), Value(30));
  EXPECT_EQ(*l->Get(-3), Value(10));
  ASSERT_OK(l->Set(-2, "mid"));
  EXPECT_EQ(*l->Get(1), Value("mid"));
}

TEST_F(ListTest, IndexOutOfRangeIsOutOfRange) {
  auto l = manager_->List(UniqueName(), List{1, 2});
  ASSERT_OK(l);
  EXPECT_CODE(l->Get(2), absl::StatusCode::kOutOfRange);
  EXPECT_CODE(l->Get(-3), absl::StatusCode::kOutOfRange);
  EXPECT_CODE(l->Set(5, 0), absl::StatusCode::kOutOfRange);
  EXPECT_CODE(l->Pop(9), absl::StatusCode::kOutOfRange);
}

TEST_F(ListTest, InsertClampsLikePython) {
  auto l = manager_->List(UniqueName(), List{1, 2, 3});
  ASSERT_OK(l);
  ASSERT_OK(l->Insert(100, "end"));
  ASSERT_OK(l->Insert(-100, "start"));
  ASSERT_OK(l->Insert(-1, "before-last"));
  EXPECT_EQ(*l->Slice(), (List{"start", 1, 2, 3, "before-last", "end"}));
}

TEST_F(ListTest, PopDefaultsToTheLastItem) {
  auto l = manager_->List(UniqueName(), List{1, 2, 3});
  ASSERT_OK(l);
  EXPECT_EQ(*l->Pop(), Value(3));
  EXPECT_EQ(*l->Pop(0), Value(1));
  EXPECT_EQ(*l->Pop(), Value(2));
  absl::StatusOr<Value> empty = l->Pop();
  EXPECT_CODE(empty, absl::StatusCode::kOutOfRange);
  EXPECT_NE(empty.status().message().find("empty"), absl::string_view::npos);
}

TEST_F(ListTest, RemoveIndexAndCountCompareByValue) {
  auto l = manager_->List(UniqueName(), List{"a", 1, "a", 1.0});
  ASSERT_OK(l);
  EXPECT_EQ(*l->Count("a"), 2);
  EXPECT_EQ(*l->Count(1), 1);  // 1 and 1.0 are different values
  EXPECT_EQ(*l->Index(1.0), 3);
  ASSERT_OK(l->Remove("a"));
  EXPECT_EQ(*l->Slice(), (List{1, "a", 1.0}));
  EXPECT_CODE(l->Remove("zzz"), absl::StatusCode::kNotFound);
  EXPECT_CODE(l->Index("zzz"), absl::StatusCode::kNotFound);
}

TEST_F(ListTest, SliceFollowsPythonBounds) {
  auto l = manager_->List(UniqueName(), List{0, 1, 2, 3, 4});
  ASSERT_OK(l);
  EXPECT_EQ(*l->Slice(1, 3), (List{1, 2}));
  EXPECT_EQ(*l->Slice(-2, std::nullopt), (List{3, 4}));
  EXPECT_EQ(*l->Slice(std::nullopt, -3), (List{0, 1}));
  EXPECT_EQ(*l->Slice(3, 1), List{});
  EXPECT_EQ(*l->Slice(-100, 100), (List{0, 1, 2, 3, 4}));
}

TEST_F(ListTest, LenAndClear) {
  auto l = manager_->List(UniqueName(), List{1, 2});
  ASSERT_OK(l);
  EXPECT_EQ(*l->Len(), 2);
  ASSERT_OK(l->Clear());
  EXPECT_EQ(*l->Len(), 0);
}

TEST_F(ListTest, SetSliceReplacesInsertsAndDeletesLikePython) {
  auto l = manager_->List(UniqueName(), List{0, 1, 2, 3, 4});
  ASSERT_OK(l);
  ASSERT_OK(l->SetSlice(1, 3, List{"a", "b", "c"}));  // l[1:3] = [...]
  EXPECT_EQ(*l->Slice(), (List{0, "a", "b", "c", 3, 4}));
  ASSERT_OK(l->SetSlice(-2, std::nullopt, List{}));  // del l[-2:]
  EXPECT_EQ(*l->Slice(), (List{0, "a", "b", "c"}));
  ASSERT_OK(l->SetSlice(std::nullopt, 0, List{"x"}));  // l[:0] = ["x"]
  EXPECT_EQ(*l->Slice(), (List{"x", 0, "a", "b", "c"}));
  ASSERT_OK(l->SetSlice(10, 20, List{"end"}));  // clamped, as in Python
  EXPECT_EQ(*l->Slice(), (List{"x", 0, "a", "b", "c", "end"}));
}

TEST_F(ListTest, ReverseAndSortFollowPython) {
  auto l = manager_->List(UniqueName(), List{3, 1.5, true, -2, 10});
  ASSERT_OK(l);
  ASSERT_OK(l->Reverse());
  EXPECT_EQ(*l->Slice(), (List{10, -2, true, 1.5, 3}));
  ASSERT_OK(l->Sort());  // numbers of every kind by value
  EXPECT_EQ(*l->Slice(), (List{-2, true, 1.5, 3, 10}));
  ASSERT_OK(l->Sort(/*reverse=*/true));
  EXPECT_EQ(*l->Slice(), (List{10, 3, 1.5, true, -2}));
  auto words = manager_->List(
      UniqueName("-words"), List{"pear", List{2, "b"}, "apple", List{2, "a"}});
  ASSERT_OK(words);
  absl::Status mixed = words->Sort();
  EXPECT_CODE(mixed, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(mixed.message().find("'<' not supported between instances of"),
            absl::string_view::npos)
      << mixed;
  EXPECT_EQ(*words->Len(), 4);  // unchanged
  auto pairs = manager_->List(
      UniqueName("-pairs"),
      List{List{2, "b"}, List{1, "z"}, List{2, "a"}, List{1.0, "y"}});
  ASSERT_OK(pairs);
  ASSERT_OK(pairs->Sort());
  EXPECT_EQ(*pairs->Slice(),
            (List{List{1.0, "y"}, List{1, "z"}, List{2, "a"}, List{2, "b"}}));
}

TEST_F(ListTest, SortIsStableForEqualNumbers) {
  auto l = manager_->List(UniqueName(), List{1.0, 1, true, 0});
  ASSERT_OK(l);
  ASSERT_OK(l->Sort());
  EXPECT_EQ(*l->Slice(), (List{0, 1.0, 1, true}));
  ASSERT_OK(l->Sort(/*reverse=*/true));
  EXPECT_EQ(*l->Slice(), (List{1.0, 1, true, 0}));
}

TEST_F(ListTest, IndexMustBeAnInt) {
  auto l = manager_->List(UniqueName(), List{1});
  ASSERT_OK(l);
  BatchBuilder batch = manager_->NewBatch();
  batch.Add(*l, "get", {"zero"});
  auto results = batch.Run();
  ASSERT_OK(results);
  EXPECT_CODE((*results)[0], absl::StatusCode::kInvalidArgument);
  EXPECT_NE(
      (*results)[0].status().message().find("index of get must be an int"),
      absl::string_view::npos)
      << (*results)[0].status();
}

}  // namespace
}  // namespace mproc
