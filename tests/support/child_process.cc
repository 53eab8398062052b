#include "tests/support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace mproc {
namespace testing {
namespace {

// The test's environment without mproc's own variables, plus `extra`.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (absl::StartsWith(*e, "MPROC_")) continue;
    env.push_back(*e);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Forks and execs `argv` with stdout and stderr on the given fds.
pid_t Spawn(std::vector<std::string> argv, std::vector<std::string> env,
            int out_fd, int err_fd) {
  std::vector<char*> c_argv = CStrings(argv);
  std::vector<char*> c_env = CStrings(env);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    execve(c_argv[0], c_argv.data(), c_env.data());
    _exit(127);
  }
  return pid;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

}  // namespace

std::string MprocBinary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::string base = srcdir == nullptr ? "." : absl::StrCat(srcdir, "/mproc");
  return base + "/client/cli/mproc";
}

absl::StatusOr<std::unique_ptr<ManagerProcess>> ManagerProcess::Start(
    const std::string& listen, std::vector<std::string> extra_args,
    std::vector<std::string> env) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  std::vector<std::string> argv = {MprocBinary(), "manager", "--listen", listen};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  pid_t pid = Spawn(argv, ChildEnvironment(env), fds[1], fds[1]);
  close(fds[1]);

  std::string output;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (poll(&p, 1, std::max(ms, 1)) <= 0) continue;
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;  // the manager exited
    output.append(buf, n);
    const std::string marker = "listening on ";
    size_t at = output.find(marker);
    if (at != std::string::npos) {
      size_t end = output.find(' ', at + marker.size());
      if (end != std::string::npos) {
        std::string address = output.substr(at + marker.size(),
                                            end - at - marker.size());
        return std::unique_ptr<ManagerProcess>(
            new ManagerProcess(pid, fds[0], address));
      }
    }
  }
  kill(pid, SIGKILL);
  WaitChild(pid);
  close(fds[0]);
  return absl::FailedPreconditionError(
      absl::StrCat("manager did not start; it said: ", output));
}

ManagerProcess::~ManagerProcess() {
  if (pid_ > 0) KillAndWait(SIGTERM);
  close(output_fd_);
}

int ManagerProcess::KillAndWait(int signal) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env,
                         absl::Duration timeout) {
  int out[2], err[2];
  pipe2(out, O_CLOEXEC);
  pipe2(err, O_CLOEXEC);
  pid_t pid = Spawn(argv, ChildEnvironment(env), out[1], err[1]);
  close(out[1]);
  close(err[1]);
  CommandResult result;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  const absl::Time deadline = absl::Now() + timeout;
  while (open_fds > 0 && absl::Now() < deadline) {
    int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (poll(fds, 2, std::max(ms, 1)) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, n);
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  if (open_fds > 0) kill(pid, SIGKILL);
  for (pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  result.exit_code = WaitChild(pid);
  return result;
}

pid_t ForkChild(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    int code = 1;
    try {
      code = body();
    } catch (...) {
      code = 1;
    }
    _exit(code);
  }
  return pid;
}

int WaitChild(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return DecodeWaitStatus(status);
}

}  // namespace testing
}  // namespace mproc
