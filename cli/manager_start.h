// Starting a manager from the command line, shared by `mproc manager` and
// `mproc up`: the flags --listen, --authkey-file, --session-lease,
// --result-ttl, --max-message-bytes and --threads.
#ifndef MPROC_CLI_MANAGER_START_H_
#define MPROC_CLI_MANAGER_START_H_

#include <signal.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cli/command_line.h"
#include "server/rpc/manager_server.h"

namespace mproc {
namespace cli {

struct StartedManager {
  std::unique_ptr<ManagerServer> server;
  std::string authkey;  // for workers it starts; never printed
  // SIGINT and SIGTERM, blocked in every thread: wait for them with
  // sigwait / sigtimedwait.
  sigset_t stop_signals;
};

// The manager's options from the flags: INVALID_ARGUMENT naming a bad
// flag (a usage error), NOT_FOUND for an unreadable authkey file.
absl::StatusOr<ManagerServerOptions> ManagerOptionsFromFlags(
    const CommandLine& cl);

// Blocks the stop signals before any gRPC thread exists, then starts the
// manager (errors as ManagerServer::Start).
absl::StatusOr<StartedManager> StartManager(
    const ManagerServerOptions& options);

// Both, printing the error and giving the exit code on failure (2 for a
// bad flag, else 1).
absl::StatusOr<StartedManager> StartManagerFromFlags(const CommandLine& cl,
                                                     int* exit_code);

// "listening on ADDR (instance ID, no authkey)" for the start-up line.
std::string DescribeManager(const StartedManager& started);

}  // namespace cli
}  // namespace mproc

#endif  // MPROC_CLI_MANAGER_START_H_
