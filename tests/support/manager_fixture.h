// A test fixture with a real `mproc manager` (one per test suite, on a free
// loopback port) and a connected client per test.
#ifndef MPROC_TESTS_SUPPORT_MANAGER_FIXTURE_H_
#define MPROC_TESTS_SUPPORT_MANAGER_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "client/manager.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/status_matchers.h"

namespace mproc {
namespace testing {

class ManagerTest : public ::testing::Test {
 protected:
  // A short session lease: holdings of killed test processes come back
  // in 2 s rather than the default 10.
  static void SetUpTestSuite() { StartServer({"--session-lease", "2"}); }
  // For a suite that needs other manager flags (its own SetUpTestSuite).
  static void StartServer(const std::vector<std::string>& flags) {
    auto server = ManagerProcess::Start("127.0.0.1:0", flags);
    ASSERT_OK(server);
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    auto manager = Manager::Connect(server_->address());
    ASSERT_OK(manager);
    manager_ = std::move(*manager);
  }

  // An object name unique to the running test.
  static std::string UniqueName(const std::string& suffix = "") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string(info->name()) + suffix;
  }

  static inline ManagerProcess* server_ = nullptr;
  std::unique_ptr<Manager> manager_;
};

}  // namespace testing
}  // namespace mproc

#endif  // MPROC_TESTS_SUPPORT_MANAGER_FIXTURE_H_
