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
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "worker/process/subprocess.h"

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
  // The same with `mproc up` (a manager and a worker pool), keeping its
  // objects in memory unless `extra_args` name a --data-dir or
  // `default_data_dir` (then it uses $XDG_STATE_HOME/mproc, with `env`).
  static absl::StatusOr<std::unique_ptr<ManagerProcess>> StartSidecar(
      const std::string& listen = "127.0.0.1:0",
      std::vector<std::string> extra_args = {},
      std::vector<std::string> env = {}, bool default_data_dir = false);
  ~ManagerProcess();

  const std::string& address() const { return address_; }
  // What it printed up to its "listening on" line (and what came with it,
  // such as where its objects live).
  const std::string& start_output() const { return start_output_; }
  pid_t pid() const;

  // Reads on from where start_output() ended until what it printed holds
  // `text` (true), or `timeout` passes or it exits (false). All it printed
  // so far is in output().
  bool AwaitOutput(absl::string_view text,
                   absl::Duration timeout = absl::Seconds(20));
  const std::string& output() const { return start_output_; }
  // The metrics URL its start line names ("mproc: metrics on URL"), once
  // printed (waiting for it like AwaitOutput); "" if it never is.
  std::string MetricsUrl();

  // Sends `signal` (unless it has already exited) and waits for the exit;
  // returns its exit code, -N if killed by signal N.
  int KillAndWait(int signal);

 private:
  static absl::StatusOr<std::unique_ptr<ManagerProcess>> Launch(
      const std::string& command, const std::string& listen,
      std::vector<std::string> extra_args, std::vector<std::string> env);
  ManagerProcess(std::unique_ptr<Popen> child, std::string address)
      : child_(std::move(child)), address_(std::move(address)) {}
  std::unique_ptr<Popen> child_;  // its stdout and stderr: one pipe we hold
  std::string address_;
  std::string start_output_;
};

struct CommandResult {
  int exit_code = -1;  // -N if killed by signal N
  std::string out;
  std::string err;
};

// Runs `argv` with `env` ("K=V") added to the environment (minus MPROC_*
// variables), collects its output, and kills it after `timeout` (exit code
// -9 then). A start failure leaves exit_code -1 and the error in `err`.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {},
                         absl::Duration timeout = absl::Seconds(30));

// Appends what `fd` yields to `*output` until it holds `text` (true), or
// `timeout` passes or the writer closes it (false).
bool ReadUntil(int fd, absl::string_view text, absl::Duration timeout,
               std::string* output);

// Forks a child that runs `body` and exits with its return value (1 if it
// throws). Returns the child's pid.
pid_t ForkChild(const std::function<int()>& body);

// Waits for `pid`; returns its exit code, or -N if killed by signal N.
int WaitChild(pid_t pid);

}  // namespace testing
}  // namespace mproc

#endif  // MPROC_TESTS_SUPPORT_CHILD_PROCESS_H_
