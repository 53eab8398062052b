// Typed Value and Array through a real manager: Python's Value('i', 0) and
// Array('d', 10) rules, plus atomic add and compare-and-swap.
#include "tests/support/manager_fixture.h"

namespace mproc {
namespace {

using TypedValueTest = testing::ManagerTest;

TEST_F(TypedValueTest, ValueStartsAtZeroOrTheInitialValue) {
  auto zero = manager_->Value(UniqueName("a"), "i");
  ASSERT_OK(zero);
  EXPECT_EQ(*zero->Get(), Value(0));
  auto seeded = manager_->Value(UniqueName("b"), "double", 1.5);
  ASSERT_OK(seeded);
  EXPECT_EQ(*seeded->Get(), Value(1.5));
}

TEST_F(TypedValueTest, ValueSetChecksTheType) {
  auto v = manager_->Value(UniqueName(), "int", 1);
  ASSERT_OK(v);
  ASSERT_OK(v->Set(7));
  EXPECT_CODE(v->Set(2.5), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(v->Set("x"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*v->Get(), Value(7));
}

TEST_F(TypedValueTest, DoubleValueWidensInts) {
  auto v = manager_->Value(UniqueName(), "d");
  ASSERT_OK(v);
  ASSERT_OK(v->Set(3));
  EXPECT_EQ(*v->Get(), Value(3.0));
  EXPECT_EQ(*v->Add(1), Value(4.0));
}

TEST_F(TypedValueTest, ValueAddIsAtomicAndTyped) {
  auto v = manager_->Value(UniqueName(), "int", 10);
  ASSERT_OK(v);
  EXPECT_EQ(*v->Add(-3), Value(7));
  EXPECT_CODE(v->Add(0.5), absl::StatusCode::kInvalidArgument);
  auto s = manager_->Value(UniqueName("s"), "string", "x");
  ASSERT_OK(s);
  EXPECT_CODE(s->Add(1), absl::StatusCode::kInvalidArgument);
}

TEST_F(TypedValueTest, CompareAndSwapSwapsOnlyOnMatch) {
  auto v = manager_->Value(UniqueName(), "int", 5);
  ASSERT_OK(v);
  EXPECT_FALSE(*v->CompareAndSwap(4, 100));
  EXPECT_EQ(*v->Get(), Value(5));
  EXPECT_TRUE(*v->CompareAndSwap(5, 100));
  EXPECT_EQ(*v->Get(), Value(100));
}

TEST_F(TypedValueTest, BoolStringAndBytesValues) {
  auto b = manager_->Value(UniqueName("b"), "bool");
  ASSERT_OK(b);
  EXPECT_EQ(*b->Get(), Value(false));
  ASSERT_OK(b->Set(true));
  EXPECT_CODE(b->Set(1), absl::StatusCode::kInvalidArgument);
  auto t = manager_->Value(UniqueName("t"), "bytes", Bytes{"\x01"});
  ASSERT_OK(t);
  EXPECT_EQ(*t->Get(), Value(Bytes{"\x01"}));
}

TEST_F(TypedValueTest, UnknownTypeAndWrongInitialValueAreRejected) {
  EXPECT_CODE(manager_->Value(UniqueName("a"), "complex"),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(manager_->Value(UniqueName("b"), "int", "seven"),
              absl::StatusCode::kInvalidArgument);
}

TEST_F(TypedValueTest, ValueMustBeOpenedBeforeUse) {
  BatchBuilder batch = manager_->NewBatch();
  batch.Add("value", UniqueName(), "get");
  auto results = batch.Run();
  ASSERT_OK(results);
  EXPECT_CODE((*results)[0], absl::StatusCode::kNotFound);
}

TEST_F(TypedValueTest, ReopeningWithAnotherTypeOrLengthFails) {
  ASSERT_OK(manager_->Value(UniqueName("v"), "int", 1));
  EXPECT_OK(manager_->Value(UniqueName("v"), "i"));  // same type, other code
  absl::StatusOr<ValueProxy> as_double = manager_->Value(UniqueName("v"), "d");
  EXPECT_CODE(as_double, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(as_double.status().message().find("element type int"),
            absl::string_view::npos)
      << as_double.status();
  ASSERT_OK(manager_->Array(UniqueName("a"), "d", 3));
  EXPECT_OK(manager_->Array(UniqueName("a"), "d", 3));
  EXPECT_CODE(manager_->Array(UniqueName("a"), "d", 4),
              absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(manager_->Array(UniqueName("a"), "i", 3),
              absl::StatusCode::kFailedPrecondition);
}

TEST_F(TypedValueTest, ArrayIsZeroFilledWithFixedLength) {
  auto a = manager_->Array(UniqueName(), "d", 4);
  ASSERT_OK(a);
  EXPECT_EQ(*a->Len(), 4);
  EXPECT_EQ(*a->Slice(), (List{0.0, 0.0, 0.0, 0.0}));
}

TEST_F(TypedValueTest, ArrayGetSetWithNegativeIndices) {
  auto a = manager_->Array(UniqueName(), "i", List{1, 2, 3});
  ASSERT_OK(a);
  ASSERT_OK(a->Set(-1, 30));
  EXPECT_EQ(*a->Get(2), Value(30));
  EXPECT_EQ(*a->Get(-3), Value(1));
  EXPECT_CODE(a->Get(3), absl::StatusCode::kOutOfRange);
  EXPECT_CODE(a->Set(-4, 0), absl::StatusCode::kOutOfRange);
  EXPECT_CODE(a->Set(0, "x"), absl::StatusCode::kInvalidArgument);
}

TEST_F(TypedValueTest, ArraySliceAndAdd) {
  auto a = manager_->Array(UniqueName(), "double", List{1, 2, 3, 4});
  ASSERT_OK(a);
  EXPECT_EQ(*a->Slice(1, -1), (List{2.0, 3.0}));
  EXPECT_EQ(*a->Add(0, 0.5), Value(1.5));
  EXPECT_CODE(a->Add(9, 1), absl::StatusCode::kOutOfRange);
}

TEST_F(TypedValueTest, ArrayRejectsBadSpecs) {
  EXPECT_CODE(manager_->Array(UniqueName("a"), "i", -1),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(manager_->Array(UniqueName("b"), "i", List{1, "x"}),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(manager_->Array(UniqueName("c"), "i", int64_t{1} << 40),
              absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace mproc
