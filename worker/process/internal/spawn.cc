#include "worker/process/internal/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

extern char** environ;

namespace mproc {
namespace process_internal {
namespace {

bool HasNul(absl::string_view s) {
  return s.find('\0') != absl::string_view::npos;
}

// The child's environment as "K=V" strings.
absl::StatusOr<std::vector<std::string>> ChildEnvironment(
    const EnvironmentOptions& options) {
  std::map<std::string, std::string> env;
  if (!options.replace_env) {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      absl::string_view entry(*e);
      size_t eq = entry.find('=');
      if (eq == absl::string_view::npos) continue;
      // The manager's secret is never inherited (a caller may still pass
      // it on explicitly, in options.env).
      if (entry.substr(0, eq) == "MPROC_AUTHKEY") continue;
      env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
    }
  }
  for (const auto& [key, value] : options.env) {
    if (key.empty() || key.find('=') != std::string::npos || HasNul(key) ||
        HasNul(value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "environment variable name '", absl::CHexEscape(key),
          "' is empty or contains '=' or NUL (or its value has NUL)"));
    }
    env[key] = value;
  }
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [key, value] : env)
    out.push_back(absl::StrCat(key, "=", value));
  return out;
}

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         access(path.c_str(), X_OK) == 0;
}

// argv[0] as a path: as given if it has a '/', else found in PATH (the
// child's PATH when the options set one, as Python does).
absl::StatusOr<std::string> ResolveProgram(const std::string& program,
                                           const EnvironmentOptions& options) {
  if (program.find('/') != std::string::npos) return program;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  if (auto it = options.env.find("PATH"); it != options.env.end()) {
    path = it->second;
  } else if (const char* p = getenv("PATH");
             p != nullptr && !options.replace_env) {
    path = p;
  }
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", program);
    if (IsExecutableFile(candidate)) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat("program '", program, "' not found in PATH"));
}

// pointers into `strings`, NULL-terminated, for exec.
std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// RAII for the posix_spawn attribute objects.
struct SpawnSetup {
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
};

// Wires child descriptor `target` (0, 1 or 2) as `mode` says. For kPipe,
// `*ours` gets the parent's end and `*theirs` the child's (closed by the
// caller after the spawn).
absl::Status WireStream(int target, StreamMode mode, SpawnSetup* setup,
                        UniqueFd* ours, UniqueFd* theirs) {
  switch (mode) {
    case StreamMode::kInherit:
      return absl::OkStatus();
    case StreamMode::kDevNull:
      posix_spawn_file_actions_addopen(&setup->actions, target, "/dev/null",
                                       target == 0 ? O_RDONLY : O_WRONLY, 0);
      return absl::OkStatus();
    case StreamMode::kStdout:
      if (target != 2) {
        return absl::InvalidArgumentError(
            "StreamMode::kStdout is only valid for stderr");
      }
      posix_spawn_file_actions_adddup2(&setup->actions, 1, 2);
      return absl::OkStatus();
    case StreamMode::kPipe: {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
      // fds[0] reads, fds[1] writes; the child reads its stdin.
      ours->Reset(target == 0 ? fds[1] : fds[0]);
      theirs->Reset(target == 0 ? fds[0] : fds[1]);
      // dup2 onto 0..2 clears close-on-exec on the child's copy only.
      posix_spawn_file_actions_adddup2(&setup->actions, theirs->get(), target);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unknown StreamMode");
}

// The start error of `argv[0]` for errno `err`.
absl::Status StartError(int err, const std::vector<std::string>& argv,
                        const PopenOptions& options) {
  if (err == ENOENT && !options.cwd.empty()) {
    return absl::NotFoundError(absl::StrCat("cannot run '", argv[0],
                                            "': it or the working directory '",
                                            options.cwd, "' does not exist"));
  }
  return ErrnoStatus(err, absl::StrCat("cannot run '", argv[0], "'"));
}

// In the forked child: where each of stdin/out/err comes from (-1: kept).
struct ChildStreams {
  int from[3] = {-1, -1, -1};
  bool dev_null[3] = {false, false, false};
  bool stderr_to_stdout = false;
};

// fork + exec for a child that dies with the forking thread. Between fork
// and exec the child calls only async-signal-safe functions; an exec
// failure's errno comes back through a close-on-exec pipe. The child's pid,
// or -1 with the errno of what failed (pipe, fork, or in the child) in
// `*err`.
pid_t ForkExec(const std::string& program, char* const* args, char* const* env,
               const ChildStreams& streams, const PopenOptions& options,
               int* err) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    *err = errno;
    return -1;
  }
  const pid_t parent = getpid();
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  // No handler of ours may run in the child before exec: signals stay
  // blocked across the fork, as posix_spawn does.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // _Fork, not fork: no atfork handlers (the client's fork guard would
  // close this process's manager connections for a child that only
  // execs), as with posix_spawn.
  const pid_t pid = _Fork();
  if (pid != 0) pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    *err = errno;
    close(report[0]);
    close(report[1]);
    return -1;
  }
  if (pid == 0) {
    auto fail = [&](int err) {
      (void)!write(report[1], &err, sizeof err);
      _exit(127);
    };
    if (options.new_process_group && setpgid(0, 0) != 0) fail(errno);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(errno);
    if (getppid() != parent) _exit(127);  // the parent is already gone
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int target = 0; target < 3; ++target) {
      int from = streams.from[target];
      if (streams.dev_null[target]) {
        from =
            open("/dev/null", (target == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
        if (from < 0) fail(errno);
      }
      if (from < 0) continue;
      if (from == target) {
        // Already in place: dup2 would leave close-on-exec set.
        if (fcntl(target, F_SETFD, 0) != 0) fail(errno);
      } else if (dup2(from, target) < 0) {
        fail(errno);
      }
    }
    if (streams.stderr_to_stdout && dup2(1, 2) < 0) fail(errno);
    if (cwd != nullptr && chdir(cwd) != 0) fail(errno);
    execve(program.c_str(), args, env);
    fail(errno);
  }
  close(report[1]);
  int child_err = 0;
  ssize_t got;
  do {
    got = read(report[0], &child_err, sizeof child_err);
  } while (got < 0 && errno == EINTR);
  close(report[0]);
  if (got == static_cast<ssize_t>(sizeof child_err)) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    *err = child_err;
    return -1;
  }
  return pid;
}

}  // namespace

absl::StatusOr<SpawnedChild> Spawn(const std::vector<std::string>& argv,
                                   const PopenOptions& options) {
  if (argv.empty()) {
    return absl::InvalidArgumentError("subprocess: argv must not be empty");
  }
  for (const std::string& arg : argv) {
    if (HasNul(arg)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "subprocess: argument '", absl::CHexEscape(arg), "' contains NUL"));
    }
  }
  if (options.stdin_mode == StreamMode::kStdout ||
      options.stdout_mode == StreamMode::kStdout) {
    return absl::InvalidArgumentError(
        "StreamMode::kStdout is only valid for stderr");
  }
  absl::StatusOr<std::vector<std::string>> env = ChildEnvironment(options);
  if (!env.ok()) return env.status();
  absl::StatusOr<std::string> program = ResolveProgram(argv[0], options);
  if (!program.ok()) return program.status();

  SpawnSetup setup;
  SpawnedChild child;
  UniqueFd child_ends[3];
  UniqueFd* ours[3] = {&child.stdin_pipe, &child.stdout_pipe,
                       &child.stderr_pipe};
  StreamMode modes[3] = {options.stdin_mode, options.stdout_mode,
                         options.stderr_mode};
  for (int target = 0; target < 3; ++target) {
    absl::Status s = WireStream(target, modes[target], &setup, ours[target],
                                &child_ends[target]);
    if (!s.ok()) return s;
  }
  if (!options.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&setup.actions, options.cwd.c_str());
  }
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&setup.attr, 0);
  }
  posix_spawnattr_setflags(&setup.attr, flags);
  sigset_t signals;
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&setup.attr, &signals);
  // Handlers are reset by exec anyway; ignored signals (SIGPIPE in most
  // servers) are not — restore them all to default.
  sigfillset(&signals);
  sigdelset(&signals, SIGKILL);
  sigdelset(&signals, SIGSTOP);
  posix_spawnattr_setsigdefault(&setup.attr, &signals);

  std::vector<std::string> args = argv;
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(*env);
  if (options.die_with_parent) {
    ChildStreams streams;
    for (int target = 0; target < 3; ++target) {
      streams.from[target] = child_ends[target].get();
      streams.dev_null[target] = modes[target] == StreamMode::kDevNull;
    }
    streams.stderr_to_stdout = options.stderr_mode == StreamMode::kStdout;
    int err = 0;
    child.pid =
        ForkExec(*program, c_args.data(), c_env.data(), streams, options, &err);
    if (child.pid < 0) return StartError(err, argv, options);
    return child;
  }
  int err = posix_spawn(&child.pid, program->c_str(), &setup.actions,
                        &setup.attr, c_args.data(), c_env.data());
  if (err != 0) return StartError(err, argv, options);
  return child;
}

}  // namespace process_internal
}  // namespace mproc
