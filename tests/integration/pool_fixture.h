// The fixture of the task pool tests: a real manager (ManagerTest) plus
// real worker daemons (examples/pool_worker: the built-in tasks plus
// square, add, worker, greet, crash, blob, flaky) for each test's own pool.
#ifndef MPROC_TESTS_INTEGRATION_POOL_FIXTURE_H_
#define MPROC_TESTS_INTEGRATION_POOL_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "client/manager.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/worker_daemon.h"

namespace mproc {
namespace testing {

class PoolTest : public ManagerTest {
 protected:
  // A daemon of `processes` for this test's own pool, once all are in.
  std::unique_ptr<WorkerDaemon> StartWorkers(
      int processes, std::vector<std::string> extra = {},
      const std::string& pool = "") {
    const std::string name = pool.empty() ? UniqueName() : pool;
    auto daemon = WorkerDaemon::Start(server_->address(), name, processes,
                                      std::move(extra));
    EXPECT_OK(daemon);
    if (!daemon.ok()) return nullptr;
    EXPECT_OK(AwaitPoolStatus(*manager_, name, [&](const Map& s) {
      return static_cast<int>(WorkerRows(s).size()) >= processes;
    }));
    return *std::move(daemon);
  }
  std::unique_ptr<Pool> OpenPool(const std::string& pool = "") {
    auto p = manager_->Pool(pool.empty() ? UniqueName() : pool);
    EXPECT_OK(p);
    return p.ok() ? *std::move(p) : nullptr;
  }
  // Waits until one worker process of this test's pool runs a task.
  absl::StatusOr<Map> AwaitOneBusy() {
    return AwaitPoolStatus(*manager_, UniqueName(), [](const Map& s) {
      return WorkerPids(s, /*busy_only=*/true).size() == 1;
    });
  }
  Map StatusNow() {
    auto s = AwaitPoolStatus(*manager_, UniqueName(),
                             [](const Map&) { return true; });
    EXPECT_OK(s);
    return s.ok() ? *s : Map{};
  }
};

inline int64_t PidOf(const Value& v) {
  return v.map_value().at(Value("pid")).int_value();
}

}  // namespace testing
}  // namespace mproc

#endif  // MPROC_TESTS_INTEGRATION_POOL_FIXTURE_H_
