// The one place tests check absl::Status results.
#ifndef MPROC_TESTS_SUPPORT_STATUS_MATCHERS_H_
#define MPROC_TESTS_SUPPORT_STATUS_MATCHERS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace mproc {
namespace testing_internal {
inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace testing_internal
}  // namespace mproc

#define ASSERT_OK(expr) \
  ASSERT_TRUE(::mproc::testing_internal::GetStatus(expr).ok()) \
      << ::mproc::testing_internal::GetStatus(expr)
#define EXPECT_OK(expr) \
  EXPECT_TRUE(::mproc::testing_internal::GetStatus(expr).ok()) \
      << ::mproc::testing_internal::GetStatus(expr)
// Checks the status code of a Status or StatusOr.
#define EXPECT_CODE(expr, expected_code)                                \
  EXPECT_EQ(::mproc::testing_internal::GetStatus(expr).code(), expected_code) \
      << ::mproc::testing_internal::GetStatus(expr)

#endif  // MPROC_TESTS_SUPPORT_STATUS_MATCHERS_H_
