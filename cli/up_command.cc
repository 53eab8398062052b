// `mproc up`: the local sidecar — a manager and a worker pool in one
// foreground command, stopped together by Ctrl-C.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cli/command_line.h"
#include "cli/manager_start.h"
#include "client/manager.h"
#include "common/metadata.h"
#include "server/rpc/manager_server.h"
#include "worker/process/subprocess.h"

namespace mproc {
namespace cli {
namespace {

constexpr char kUpUsage[] =
    R"(usage: mproc up [--listen ADDR] [--processes N] [--allow-exec] [--pool NAME]
                [--authkey-file F | --no-auth] [--tls-cert F --tls-key K
                --tls-ca CA [--tls-client-ca CA] [--tls-server-name N]]
                [--grace S] [--session-lease S]
                [--result-ttl S]
                [--max-message-bytes N] [--threads N] [--poll-spin-us N]
                [--data-dir DIR] [--fsync always|everysec|no] [--in-memory]

Runs a manager (on ADDR, default 127.0.0.1:50051) and a worker daemon with
N processes (default: the CPUs available) serving pool NAME (default
"default") in the foreground. Ctrl-C (or SIGTERM) stops the workers first —
running tasks may finish, at most --grace S seconds — then the manager; a
second Ctrl-C kills the workers at once. --allow-exec lets tasks run
commands (mproc run). A worker daemon that dies is started again.
Objects and tasks are kept in --data-dir (default $XDG_STATE_HOME/mproc/ADDR,
else ~/.local/state/mproc/ADDR, one per listen address; see mproc manager
--help for --fsync) and survive a restart; --in-memory keeps them in memory
only.
)";

// $XDG_STATE_HOME/mproc/<address>, else ~/.local/state/mproc/<address>
// (one per listen address, so sidecars on two ports keep apart); its
// parents made if missing.
absl::StatusOr<std::string> DefaultDataDir(const std::string& listen) {
  std::string base;
  if (const char* state = getenv("XDG_STATE_HOME"); state && *state) {
    base = state;
  } else if (const char* home = getenv("HOME"); home && *home) {
    base = absl::StrCat(home, "/.local/state");
  } else {
    return absl::FailedPreconditionError(
        "no default data dir: set HOME or XDG_STATE_HOME, or pass --data-dir "
        "or --in-memory");
  }
  base += "/mproc";
  std::error_code ec;
  std::filesystem::create_directories(base, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create ", base, " for the data dir: ", ec.message()));
  }
  std::string leaf = listen;
  for (char& c : leaf) {
    if (c == '/' || c == ':') c = c == ':' ? '-' : '_';
  }
  return absl::StrCat(base, "/", leaf);
}

std::string SelfPath() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "mproc";
  return std::string(path, static_cast<size_t>(n));
}

absl::StatusOr<std::unique_ptr<Popen>> StartWorkers(
    const CommandLine& cl, const std::string& address,
    const StartedManager& started) {
  std::vector<std::string> argv = {
      SelfPath(), "worker", "--manager",
      address,    "--pool", cl.Flag("pool").value_or("default")};
  for (const char* flag : {"processes", "grace", "log-level", "log-format"}) {
    if (auto v = cl.Flag(flag)) {
      argv.push_back(absl::StrCat("--", flag));
      argv.push_back(*v);
    }
  }
  if (cl.Flag("allow-exec").value_or("false") == "true") {
    argv.push_back("--allow-exec");
  }
  // Over TLS the workers check the manager's certificate against the CA
  // (their own certificate, for mutual TLS, from $MPROC_TLS_CERT/KEY).
  for (const char* flag : {"tls-ca", "tls-server-name"}) {
    if (auto v = cl.Flag(flag)) {
      argv.push_back(absl::StrCat("--", flag));
      argv.push_back(*v);
    }
  }
  PopenOptions options;
  if (started.no_auth) {
    argv.push_back("--no-auth");
  } else if (!started.key_file.empty()) {
    // The worker reads the key from its file (a key may hold any bytes,
    // which an environment variable cannot).
    argv.push_back("--authkey-file");
    argv.push_back(started.key_file);
  } else {
    // From $MPROC_AUTHKEY: on in the environment, never on a command line
    // (the worker daemon drops it from its own at once).
    options.env["MPROC_AUTHKEY"] = started.authkey;
  }
  // Killed with this process, however it ends: no orphaned workers left
  // to serve whatever manager comes up on the port next. (Started from the
  // main thread, which lives as long as the process.)
  options.die_with_parent = true;
  return Popen::Start(argv, options);
}

}  // namespace

int RunUpCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kUpUsage;
    return kExitOk;
  }
  if (cl.positional.size() > 1)
    return Fail(kExitUsage, "up takes no arguments");
  if (cl.Flag("acl-file")) {
    return Fail(kExitUsage,
                "up: --acl-file is for mproc manager (start its workers with "
                "mproc worker --user NAME --authkey-file F)");
  }
  if (cl.Flag("tls-cert").has_value() != cl.Flag("tls-ca").has_value()) {
    return Fail(kExitUsage,
                "up: with --tls-cert, give --tls-ca too (the CA its workers "
                "check the manager's certificate against)");
  }
  const bool in_memory = cl.Flag("in-memory").value_or("false") == "true";
  if (in_memory && cl.Flag("data-dir")) {
    return Fail(kExitUsage, "--in-memory and --data-dir exclude each other");
  }
  CommandLine with_dir = cl;
  if (!in_memory && !cl.Flag("data-dir")) {
    absl::StatusOr<std::string> dir =
        DefaultDataDir(cl.Flag("listen").value_or(kDefaultManagerAddress));
    if (!dir.ok()) return Fail(kExitUsage, std::string(dir.status().message()));
    with_dir.flags["data-dir"] = *dir;
  }
  int exit_code = kExitOk;
  absl::StatusOr<StartedManager> started =
      StartManagerFromFlags(with_dir, &exit_code);
  if (!started.ok()) return exit_code;
  ManagerServer& server = *started->server;
  const std::string address = server.address();
  WarnIfNoAuth(*started);
  std::cout << "mproc up: manager " << DescribeManager(*started) << "\n"
            << "mproc up: objects " << server.storage_summary() << "\n"
            << DescribeMetrics(*started) << std::flush;

  absl::StatusOr<std::unique_ptr<Popen>> workers =
      StartWorkers(cl, address, *started);
  if (!workers.ok()) {
    server.Shutdown();
    return FailStatus(workers.status());
  }
  bool stopping = false;
  for (;;) {
    const timespec tick = absl::ToTimespec(absl::Milliseconds(200));
    siginfo_t info;
    const int signal_number =
        sigtimedwait(&started->stop_signals, &info, &tick);
    if (signal_number == SIGHUP) NoteReload(*started);
    if (signal_number == SIGINT || signal_number == SIGTERM) {
      if (!stopping) {
        stopping = true;
        std::cout << "mproc up: stopping the workers, then the manager"
                  << std::endl;
        (void)(*workers)->Terminate();
      } else {
        (void)(*workers)->Kill();
      }
    }
    if ((*workers)->Poll().has_value()) {
      if (stopping) break;
      std::cerr << "mproc up: the worker daemon ended; starting it again"
                << std::endl;
      absl::SleepFor(absl::Seconds(1));
      workers = StartWorkers(cl, address, *started);
      if (!workers.ok()) {
        server.Shutdown();
        return FailStatus(workers.status());
      }
    }
  }
  server.Shutdown();
  std::cout << "mproc up: stopped" << std::endl;
  return kExitOk;
}

}  // namespace cli
}  // namespace mproc
