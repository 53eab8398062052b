// A test fixture with a real `mproc manager` (one per test suite, on a free
// loopback port) and a connected client per test.
#ifndef MPROC_TESTS_SUPPORT_MANAGER_FIXTURE_H_
#define MPROC_TESTS_SUPPORT_MANAGER_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "client/manager.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/status_matchers.h"

namespace mproc {
namespace testing {

// The detail `key` of object `name` in the manager's listing, or null.
inline Value DetailOf(Manager& manager, const std::string& name,
                      const char* key) {
  absl::StatusOr<std::vector<ObjectInfo>> objects = manager.Objects();
  if (!objects.ok()) return Value();
  for (const ObjectInfo& o : *objects) {
    if (o.name != name) continue;
    auto it = o.details.find(Value(key));
    return it == o.details.end() ? Value() : it->second;
  }
  return Value();
}

// Waits (up to 20 s, polling the manager) until that detail equals `want`.
inline bool AwaitDetail(Manager& manager, const std::string& name,
                        const char* key, const Value& want) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    if (DetailOf(manager, name, key) == want) return true;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return false;
}

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
