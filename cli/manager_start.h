// Starting a manager from the command line, shared by `mproc manager` and
// `mproc up`: the flags --listen, --authkey-file, --no-auth,
// --insecure-plaintext, --session-lease,
// --result-ttl, --task-records, --max-message-bytes and --threads.
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
  std::string authkey;     // for workers it starts; never printed
  std::string key_origin;  // where the key came from, for the start line
  std::string key_file;    // the file it was read from; empty: $MPROC_AUTHKEY
  bool no_auth = false;    // --no-auth
  bool unix_socket = false;
  bool tls = false;
  bool mutual_tls = false;
  // SIGINT, SIGTERM and SIGHUP, blocked in every thread: wait for them with
  // sigwait / sigtimedwait (SIGHUP: NoteReload, and go on).
  sigset_t stop_signals;
};

// The manager's options from the flags: INVALID_ARGUMENT naming a bad
// flag (a usage error), NOT_FOUND for an unreadable authkey file.
absl::StatusOr<ManagerServerOptions> ManagerOptionsFromFlags(
    const CommandLine& cl);

// Blocks the stop signals before any gRPC thread exists, then starts the
// manager (errors as ManagerServer::Start). `key_file` names the file
// options.authkey came from (empty: $MPROC_AUTHKEY). With no key and no
// --no-auth,
// the key is this user's default (made on first use; its errors as
// LoadOrCreateAuthkeyFile).
absl::StatusOr<StartedManager> StartManager(const ManagerServerOptions& options,
                                            const std::string& key_file = "");

// Both, printing the error and giving the exit code on failure (2 for a
// bad flag, else 1).
absl::StatusOr<StartedManager> StartManagerFromFlags(const CommandLine& cl,
                                                     int* exit_code);

// "listening on ADDR (instance ID, authkey required: FILE)" for the
// start-up line.
std::string DescribeManager(const StartedManager& started);

// "mproc: metrics on URL ...\n" for a manager serving metrics, else "".
std::string DescribeMetrics(const StartedManager& started);

// What SIGHUP does: the TLS files are watched, so nothing to do now.
void NoteReload(const StartedManager& started);

// On stderr, for a manager without authentication: who can use it.
void WarnIfNoAuth(const StartedManager& started);

}  // namespace cli
}  // namespace mproc

#endif  // MPROC_CLI_MANAGER_START_H_
