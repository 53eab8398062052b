#include "server/element_type.h"

#include <limits>

#include "gtest/gtest.h"
#include "server/numeric.h"
#include "tests/support/status_matchers.h"

namespace mproc {
namespace {

TEST(ParseElementType, AcceptsNamesAndPythonTypeCodes) {
  EXPECT_EQ(*ParseElementType("i"), ElementType::kInt);
  EXPECT_EQ(*ParseElementType("int"), ElementType::kInt);
  EXPECT_EQ(*ParseElementType("d"), ElementType::kDouble);
  EXPECT_EQ(*ParseElementType("?"), ElementType::kBool);
  EXPECT_EQ(*ParseElementType("bytes"), ElementType::kBytes);
  EXPECT_CODE(ParseElementType("complex"), absl::StatusCode::kInvalidArgument);
}

TEST(CoerceToElement, WidensIntsToDoubleOnly) {
  EXPECT_EQ(*CoerceToElement(ElementType::kDouble, Value(2)), Value(2.0));
  EXPECT_CODE(CoerceToElement(ElementType::kInt, Value(2.0)),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(CoerceToElement(ElementType::kBool, Value(1)),
              absl::StatusCode::kInvalidArgument);
}

TEST(AddNumbers, MixesIntAndDoubleLikePython) {
  EXPECT_EQ(*AddNumbers(Value(1), Value(2)), Value(3));
  EXPECT_EQ(*AddNumbers(Value(1), Value(0.5)), Value(1.5));
  EXPECT_CODE(AddNumbers(Value("a"), Value(1)),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(AddNumbers(Value(std::numeric_limits<int64_t>::min()), Value(-1)),
              absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace mproc
