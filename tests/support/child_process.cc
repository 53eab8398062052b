#include "tests/support/child_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/client_grpc_env.h"

extern char** environ;

namespace mproc {
namespace testing {
namespace {

// The test's environment without mproc's own variables (but with the
// record of what this process's client set for gRPC, as any child would
// inherit it: common/client_grpc_env.h), plus `extra` ("K=V" entries).
EnvironmentOptions ChildEnvironment(const std::vector<std::string>& extra) {
  EnvironmentOptions options;
  options.replace_env = true;
  const std::string marker = absl::StrCat(kClientGrpcEnvMarker, "=");
  for (char** e = environ; *e != nullptr; ++e) {
    if (absl::StartsWith(*e, "MPROC_") && !absl::StartsWith(*e, marker)) {
      continue;
    }
    std::pair<std::string, std::string> kv =
        absl::StrSplit(*e, absl::MaxSplits('=', 1));
    options.env[kv.first] = kv.second;
  }
  for (const std::string& entry : extra) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(entry, absl::MaxSplits('=', 1));
    options.env[kv.first] = kv.second;
  }
  return options;
}

}  // namespace

std::string MprocBinary() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  std::string base = srcdir == nullptr ? "." : absl::StrCat(srcdir, "/mproc");
  return base + "/cli/mproc";
}

absl::StatusOr<std::unique_ptr<ManagerProcess>> ManagerProcess::Start(
    const std::string& listen, std::vector<std::string> extra_args,
    std::vector<std::string> env) {
  return Launch("manager", listen, std::move(extra_args), std::move(env));
}

absl::StatusOr<std::unique_ptr<ManagerProcess>> ManagerProcess::StartSidecar(
    const std::string& listen, std::vector<std::string> extra_args,
    std::vector<std::string> env, bool default_data_dir) {
  // Tests keep nothing on disk unless they say where.
  if (!default_data_dir && std::find(extra_args.begin(), extra_args.end(),
                                     "--data-dir") == extra_args.end()) {
    extra_args.push_back("--in-memory");
  }
  return Launch("up", listen, std::move(extra_args), std::move(env));
}

absl::StatusOr<std::unique_ptr<ManagerProcess>> ManagerProcess::Launch(
    const std::string& command, const std::string& listen,
    std::vector<std::string> extra_args, std::vector<std::string> env) {
  std::vector<std::string> argv = {MprocBinary(), command, "--listen", listen};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  PopenOptions options;
  static_cast<EnvironmentOptions&>(options) = ChildEnvironment(env);
  options.stdin_mode = StreamMode::kDevNull;
  options.stdout_mode = StreamMode::kPipe;
  options.stderr_mode = StreamMode::kStdout;
  absl::StatusOr<std::unique_ptr<Popen>> child = Popen::Start(argv, options);
  if (!child.ok()) return child.status();

  std::string output;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    pollfd p{(*child)->stdout_fd(), POLLIN, 0};
    int ms =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (poll(&p, 1, std::max(ms, 1)) <= 0) continue;
    char buf[4096];
    ssize_t n = read(p.fd, buf, sizeof(buf));
    if (n <= 0) break;  // the manager exited
    output.append(buf, n);
    const std::string marker = "listening on ";
    size_t at = output.find(marker);
    if (at != std::string::npos) {
      size_t end = output.find(' ', at + marker.size());
      if (end != std::string::npos) {
        std::string address =
            output.substr(at + marker.size(), end - at - marker.size());
        auto manager = std::unique_ptr<ManagerProcess>(
            new ManagerProcess(*std::move(child), address));
        manager->start_output_ = std::move(output);
        return manager;
      }
    }
  }
  (*child)->Kill().IgnoreError();
  (*child)->Wait().IgnoreError();
  return absl::FailedPreconditionError(
      absl::StrCat("manager did not start; it said: ", output));
}

bool ReadUntil(int fd, absl::string_view text, absl::Duration timeout,
               std::string* output) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!absl::StrContains(*output, text)) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd p{fd, POLLIN, 0};
    const int ms =
        static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left)));
    if (poll(&p, 1, ms) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return false;  // the writer is gone
    output->append(buf, static_cast<size_t>(n));
  }
  return true;
}

bool ManagerProcess::AwaitOutput(absl::string_view text,
                                 absl::Duration timeout) {
  return ReadUntil(child_->stdout_fd(), text, timeout, &start_output_);
}

std::string ManagerProcess::MetricsUrl() {
  if (!AwaitOutput("/metrics")) return "";
  static const std::regex kUrl(R"(metrics on (http://\S+/metrics))");
  std::smatch m;
  return std::regex_search(start_output_, m, kUrl) ? m[1].str() : "";
}

ManagerProcess::~ManagerProcess() { KillAndWait(SIGTERM); }

pid_t ManagerProcess::pid() const { return child_->pid(); }

int ManagerProcess::KillAndWait(int signal) {
  if (std::optional<int> code = child_->Poll(); code.has_value()) return *code;
  child_->SendSignal(signal).IgnoreError();
  absl::StatusOr<int> code = child_->Wait();
  return code.ok() ? *code : -1;
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env,
                         absl::Duration timeout) {
  RunOptions options;
  static_cast<EnvironmentOptions&>(options) = ChildEnvironment(env);
  options.timeout = timeout;
  absl::StatusOr<CompletedProcess> run = Run(argv, options);
  CommandResult result;
  if (run.ok()) {
    result.exit_code = run->returncode;
    result.out = std::move(run->out);
    result.err = std::move(run->err);
  } else if (std::optional<CompletedProcess> partial =
                 PartialOutput(run.status())) {
    result.exit_code = -SIGKILL;
    result.out = std::move(partial->out);
    result.err = std::move(partial->err);
  } else {
    result.err = run.status().ToString();
  }
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
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

}  // namespace testing
}  // namespace mproc
