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

// Each macro evaluates `expr` once (it may start a process or send a
// message) and prints the status on failure.
#define MPROC_STATUS_CHECK_(expr, fail)                 \
  switch (0)                                            \
  case 0:                                               \
  default:                                              \
    if (const ::absl::Status mproc_status_ =            \
            ::mproc::testing_internal::GetStatus(expr); \
        mproc_status_.ok())                             \
      ;                                                 \
    else                                                \
      fail() << #expr << " returned " << mproc_status_
#define ASSERT_OK(expr) MPROC_STATUS_CHECK_(expr, FAIL)
#define EXPECT_OK(expr) MPROC_STATUS_CHECK_(expr, ADD_FAILURE)
// Checks the status code of a Status or StatusOr.
#define EXPECT_CODE(expr, expected_code)                      \
  switch (0)                                                  \
  case 0:                                                     \
  default:                                                    \
    if (const ::absl::Status mproc_status_ =                  \
            ::mproc::testing_internal::GetStatus(expr);       \
        mproc_status_.code() == (expected_code))              \
      ;                                                       \
    else                                                      \
      ADD_FAILURE() << #expr << " returned " << mproc_status_ \
                    << ", expected code " << (expected_code)

#endif  // MPROC_TESTS_SUPPORT_STATUS_MATCHERS_H_
