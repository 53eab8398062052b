// Real processes for tests: the `mproc` binary as a manager or a CLI run,
// and forked children running a test's own code.
#ifndef MPROC_TESTS_SUPPORT_CHILD_PROCESS_H_
#define MPROC_TESTS_SUPPORT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mproc {
namespace testing {

// Path of the built `mproc` binary inside the test's runfiles.
std::string MprocBinary();

// A running `mproc manager`, stopped with SIGTERM (and reaped) when
// destroyed.
class ManagerProcess {
 public:
  // Starts `mproc manager --listen <listen> <extra_args...>` with `env`
  // entries ("K=V") added to the environment, and waits (up to 20 s) for
  // its "listening on ADDR" line. FAILED_PRECONDITION with the manager's
  // output if it exits or says nothing.
  static absl::StatusOr<std::unique_ptr<ManagerProcess>> Start(
      const std::string& listen = "127.0.0.1:0",
      std::vector<std::string> extra_args = {},
      std::vector<std::string> env = {});
  ~ManagerProcess();

  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }

  // Sends `signal` and waits for the exit; returns the wait status.
  int KillAndWait(int signal);

 private:
  ManagerProcess(pid_t pid, int output_fd, std::string address)
      : pid_(pid), output_fd_(output_fd), address_(std::move(address)) {}
  pid_t pid_;
  int output_fd_;
  std::string address_;
};

struct CommandResult {
  int exit_code = -1;  // -N if killed by signal N
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] a path) with `env` added, collects its output, and
// kills it after `timeout`.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {},
                         absl::Duration timeout = absl::Seconds(30));

// Forks a child that runs `body` and exits with its return value (1 if it
// throws). Returns the child's pid.
pid_t ForkChild(const std::function<int()>& body);

// Waits for `pid`; returns its exit code, or -N if killed by signal N.
int WaitChild(pid_t pid);

}  // namespace testing
}  // namespace mproc

#endif  // MPROC_TESTS_SUPPORT_CHILD_PROCESS_H_
