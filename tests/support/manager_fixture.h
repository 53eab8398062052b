// A test fixture with a real `mproc manager` (one per test suite, on a free
// loopback port) and a connected client per test. With
// MPROC_TEST_MANAGER_LISTEN=unix in the environment the manager listens on
// a unix socket instead, so the same tests run over the local wire
// (scripts/test.sh's "wire" suite).
#ifndef MPROC_TESTS_SUPPORT_MANAGER_FIXTURE_H_
#define MPROC_TESTS_SUPPORT_MANAGER_FIXTURE_H_

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

// Where the fixture's manager listens: a free loopback port, or a fresh
// unix socket under the test's temporary directory (see above).
inline std::string FixtureListenAddress() {
  const char* listen = std::getenv("MPROC_TEST_MANAGER_LISTEN");
  if (listen == nullptr || std::string(listen) != "unix") return "127.0.0.1:0";
  static int sockets = 0;
  // A socket's path has room for 107 bytes: Bazel's directory may be too
  // long for it.
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir =
      tmp != nullptr && std::strlen(tmp) < 64 ? tmp : "/tmp";
  return absl::StrCat("unix:", dir, "/manager-", getpid(), "-", ++sockets,
                      ".sock");
}

class ManagerTest : public ::testing::Test {
 protected:
  // A short session lease: holdings of killed test processes come back
  // in 2 s rather than the default 10.
  static void SetUpTestSuite() { StartServer({"--session-lease", "2"}); }
  // For a suite that needs other manager flags (its own SetUpTestSuite).
  static void StartServer(const std::vector<std::string>& flags) {
    auto server = ManagerProcess::Start(FixtureListenAddress(), flags);
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
