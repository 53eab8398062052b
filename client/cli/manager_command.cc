// `mproc manager`: runs the manager daemon until SIGINT or SIGTERM.
#include <csignal>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "client/cli/command_line.h"
#include "client/manager.h"
#include "server/manager_server.h"

namespace mproc {
namespace cli {

namespace {
constexpr char kManagerUsage[] = R"(usage: mproc manager [--listen ADDR] [--authkey-file F] [--max-message-bytes N]
                     [--session-lease S] [--result-ttl S]

Runs the manager daemon in the foreground until SIGINT or SIGTERM.
  --listen ADDR            HOST:PORT or unix:/path (default 127.0.0.1:50051;
                           port 0 picks a free port). A non-loopback address
                           needs an authkey.
  --authkey-file F         file holding the authkey (default $MPROC_AUTHKEY);
                           clients must present the same key
  --max-message-bytes N    reject larger requests (default 64 MiB)
  --session-lease S        seconds a client's session (its locks and permits)
                           outlives its connection, so a reconnect keeps
                           them; a crashed client's are freed after it
                           (default 10)
  --result-ttl S           seconds a pool keeps task results its client
                           did not read after the client went away
                           (default 600)
Prints "mproc manager listening on ADDR" once it accepts connections.
)";
}  // namespace

int RunManagerCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kManagerUsage;
    return kExitOk;
  }
  if (cl.positional.size() > 1) {
    return Fail(kExitUsage, "manager takes no positional arguments");
  }
  ManagerServerOptions options;
  options.listen = cl.Flag("listen").value_or(options.listen);
  absl::StatusOr<std::string> key = LoadAuthkey(cl.Flag("authkey-file").value_or(""));
  if (!key.ok()) return Fail(kExitFailed, std::string(key.status().message()));
  options.authkey = *key;
  if (auto lease = cl.Flag("session-lease")) {
    double seconds;
    if (!absl::SimpleAtod(*lease, &seconds) || !(seconds >= 1)) {
      return Fail(kExitUsage, "--session-lease must be a number of seconds >= 1");
    }
    options.session_lease = absl::Seconds(seconds);
  }
  if (auto ttl = cl.Flag("result-ttl")) {
    double seconds;
    if (!absl::SimpleAtod(*ttl, &seconds) || !(seconds > 0)) {
      return Fail(kExitUsage, "--result-ttl must be a number of seconds > 0");
    }
    options.result_ttl = absl::Seconds(seconds);
  }
  if (auto limit = cl.Flag("max-message-bytes")) {
    if (!absl::SimpleAtoi(*limit, &options.max_message_bytes)) {
      return Fail(kExitUsage, "--max-message-bytes must be an integer");
    }
  }

  // absl's lock-order checking costs a graph lookup on every lock; the
  // manager takes a lock on every operation.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Block the stop signals before gRPC starts its threads, so that they
  // reach only the sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<std::unique_ptr<ManagerServer>> server =
      ManagerServer::Start(options);
  if (!server.ok()) return Fail(kExitFailed, std::string(server.status().message()));
  std::cout << "mproc manager listening on " << (*server)->address()
            << " (instance " << (*server)->instance_id()
            << (options.authkey.empty() ? ", no authkey" : ", authkey required")
            << ")" << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::cout << "mproc manager: stopping on signal " << signal_number
            << std::endl;
  (*server)->Shutdown();
  return kExitOk;
}

}  // namespace cli
}  // namespace mproc
