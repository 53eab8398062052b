// A real worker daemon for tests: the example worker binary (the built-in
// tasks plus square, add, worker, greet, crash, blob) or `mproc worker`,
// started against a manager and stopped with SIGTERM when destroyed.
#ifndef MPROC_TESTS_SUPPORT_WORKER_DAEMON_H_
#define MPROC_TESTS_SUPPORT_WORKER_DAEMON_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/manager.h"
#include "worker/process/subprocess.h"

namespace mproc {
namespace testing {

// Path of examples/pool_worker inside the test's runfiles.
std::string ExampleWorkerBinary();

class WorkerDaemon {
 public:
  // Starts `binary` (argv[0], plus "worker" for the mproc binary) with
  // --manager `address` --pool `pool` --processes `processes` and `extra`.
  static absl::StatusOr<std::unique_ptr<WorkerDaemon>> Start(
      const std::string& address, const std::string& pool, int processes,
      std::vector<std::string> extra = {},
      const std::string& binary = ExampleWorkerBinary());
  ~WorkerDaemon();  // SIGTERM, then SIGKILL after 10 s

  pid_t pid() const { return child_->pid(); }
  // Sends `signal` to the supervisor and waits for its exit code.
  absl::StatusOr<int> SignalAndWait(int signal,
                                    absl::Duration timeout = absl::Seconds(30));

 private:
  explicit WorkerDaemon(std::unique_ptr<Popen> child)
      : child_(std::move(child)) {}
  std::unique_ptr<Popen> child_;
};

// Waits until the pool's status satisfies `done` (polling it every 10 ms,
// for up to `timeout`); returns the last status. DEADLINE_EXCEEDED with
// that status otherwise.
absl::StatusOr<Map> AwaitPoolStatus(Manager& manager, const std::string& pool,
                                    const std::function<bool(const Map&)>& done,
                                    absl::Duration timeout = absl::Seconds(20));

// The status's worker rows.
List WorkerRows(const Map& status);
// Pids of the pool's connected worker processes, sorted; of those busy
// only when `busy_only`.
std::vector<int64_t> WorkerPids(const Map& status, bool busy_only = false);

}  // namespace testing
}  // namespace mproc

#endif  // MPROC_TESTS_SUPPORT_WORKER_DAEMON_H_
