// mproc::Run and mproc::Popen: Python's subprocess for C++ — run an
// external program, feed its stdin, capture its output, time it out.
//
//   absl::StatusOr<CompletedProcess> r = mproc::Run({"ls", "-l"});
//   // r->returncode, r->out, r->err
//
// Programs are started with posix_spawn (no code of ours runs between fork
// and exec, so a threaded caller is safe), with every signal disposition
// reset to default and an empty signal mask; our descriptors are all
// close-on-exec, so the child gets exactly stdin, stdout and stderr. A
// bare program name is looked up in PATH — the PATH of the child's
// environment when the options set one. There is no shell unless asked for
// with RunShell. Every child is reaped, even one whose Popen was destroyed
// while it ran.
#ifndef MPROC_WORKER_PROCESS_SUBPROCESS_H_
#define MPROC_WORKER_PROCESS_SUBPROCESS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "worker/process/internal/child_exit.h"
#include "worker/process/internal/unique_fd.h"

namespace mproc {

struct CompletedProcess {
  std::vector<std::string> argv;
  int returncode = 0;  // the exit status, or -N if killed by signal N
  std::string out;     // captured stdout
  std::string err;     // captured stderr
};

// Where a child's standard stream goes.
enum class StreamMode {
  kInherit,  // the caller's own stream
  kPipe,     // a pipe to the Popen (Communicate, or the *_fd() accessors)
  kDevNull,  // /dev/null
  kStdout,   // stderr only: wherever stdout goes (2>&1)
};

struct EnvironmentOptions {
  // Variables to set in the child; with replace_env, its whole environment.
  // Without replace_env the child inherits the caller's environment less
  // MPROC_AUTHKEY: the authkey reaches a child only when set here.
  std::map<std::string, std::string> env;
  bool replace_env = false;
  // Working directory of the child; empty: the caller's.
  std::string cwd;
};

struct PopenOptions : EnvironmentOptions {
  StreamMode stdin_mode = StreamMode::kInherit;
  StreamMode stdout_mode = StreamMode::kInherit;
  StreamMode stderr_mode = StreamMode::kInherit;
  // Start the child as the leader of a new process group, so SignalGroup
  // reaches its own children too.
  bool new_process_group = false;
  // SIGKILL the child when the thread that started it ends (with its
  // process: a SIGKILL, a crash), via PR_SET_PDEATHSIG; the child is then
  // started with fork and exec rather than posix_spawn. Start it from a
  // thread that lives as long as the child should.
  bool die_with_parent = false;
};

// A running child. Thread-safe.
class Popen {
 public:
  // Starts argv[0] with arguments argv[1..]. INVALID_ARGUMENT if argv is
  // empty, an option is bad (a NUL in a string, kStdout for stdin/stdout);
  // NOT_FOUND if the program is not found; PERMISSION_DENIED if it is not
  // executable; RESOURCE_EXHAUSTED if out of processes or descriptors.
  static absl::StatusOr<std::unique_ptr<Popen>> Start(
      std::vector<std::string> argv, const PopenOptions& options = {});

  // Closes our ends of the pipes. A child still running is reaped in the
  // background once it exits (the next Start collects it).
  ~Popen();

  pid_t pid() const { return pid_; }
  const std::vector<std::string>& argv() const { return argv_; }

  // Our ends of kPipe streams (-1 otherwise or once closed by Communicate).
  // The Popen keeps ownership.
  int stdin_fd() const;
  int stdout_fd() const;
  int stderr_fd() const;

  // The return code if the child has exited (reaping it), else nullopt.
  std::optional<int> Poll();

  // Waits for the child to exit and returns its return code.
  // DEADLINE_EXCEEDED if it still runs after `timeout` (it keeps running).
  absl::StatusOr<int> Wait(absl::Duration timeout = absl::InfiniteDuration());

  // Sends `signal` to the child (to its whole group: SignalGroup, which
  // needs new_process_group). No-op once the child has been reaped.
  absl::Status SendSignal(int signal);
  absl::Status SignalGroup(int signal);
  absl::Status Terminate();  // SIGTERM
  absl::Status Kill();       // SIGKILL

  // Writes `input` to stdin (on the first call only; then closes stdin),
  // reads stdout and stderr until end of file — all concurrently, so large
  // outputs never deadlock — and waits for the exit. Returns the captured
  // output and return code. DEADLINE_EXCEEDED when `timeout` passes first:
  // the child keeps running, the output so far stays buffered, and a later
  // call continues (PartialOutput reads it from the status).
  // FAILED_PRECONDITION if input is given but stdin is not a pipe.
  absl::StatusOr<CompletedProcess> Communicate(
      absl::string_view input = {},
      absl::Duration timeout = absl::InfiniteDuration());

 private:
  Popen(std::vector<std::string> argv, pid_t pid)
      : argv_(std::move(argv)),
        pid_(pid),
        watch_(std::make_unique<process_internal::ChildWatch>(pid)) {}
  absl::Status Signal(int signal, bool group);
  // One round of Communicate's I/O loop until EOF on both outputs or the
  // deadline. Returns false on timeout.
  absl::StatusOr<bool> PumpLocked(absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status TimeoutStatusLocked(absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const std::vector<std::string> argv_;
  const pid_t pid_;

  // Thread-safe itself, so Poll, Wait and signals never wait for a
  // Communicate in progress. Handed to the orphan reaper by ~Popen.
  std::unique_ptr<process_internal::ChildWatch> watch_;

  // Guards the pipes and Communicate's progress.
  mutable absl::Mutex mu_;
  process_internal::UniqueFd stdin_ ABSL_GUARDED_BY(mu_);
  process_internal::UniqueFd stdout_ ABSL_GUARDED_BY(mu_);
  process_internal::UniqueFd stderr_ ABSL_GUARDED_BY(mu_);
  // Communicate's progress, kept across calls that time out.
  bool input_taken_ ABSL_GUARDED_BY(mu_) = false;
  std::string input_ ABSL_GUARDED_BY(mu_);
  size_t input_written_ ABSL_GUARDED_BY(mu_) = 0;
  std::string out_ ABSL_GUARDED_BY(mu_);
  std::string err_ ABSL_GUARDED_BY(mu_);
};

struct RunOptions : EnvironmentOptions {
  // Bytes for the child's stdin; without input stdin is /dev/null, so a
  // captured run never reads the caller's terminal.
  std::optional<std::string> input;
  // Kill the child and its process group after this long.
  absl::Duration timeout = absl::InfiniteDuration();
  // As PopenOptions::die_with_parent.
  bool die_with_parent = false;
};

// Runs a program to completion, capturing stdout and stderr (Python's
// subprocess.run(argv, capture_output=True)). A non-zero return code is not
// an error. The child runs in its own process group; on timeout the whole
// group is SIGKILLed and the result is DEADLINE_EXCEEDED carrying the output
// captured so far (PartialOutput). Start errors as Popen::Start.
absl::StatusOr<CompletedProcess> Run(std::vector<std::string> argv,
                                     const RunOptions& options = {});

// Run(["/bin/sh", "-c", command]): the only way a shell is involved.
absl::StatusOr<CompletedProcess> RunShell(const std::string& command,
                                          const RunOptions& options = {});

// The output a DEADLINE_EXCEEDED from Run or Communicate carried (Python's
// TimeoutExpired.stdout/.stderr) in `out` and `err` (argv and returncode
// are not set); nullopt for any other status.
std::optional<CompletedProcess> PartialOutput(const absl::Status& status);

}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_SUBPROCESS_H_
