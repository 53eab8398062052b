// How a worker daemon runs: which manager and pool, how many processes,
// and the limits of each (the flags of `mproc worker`).
#ifndef MPROC_WORKER_WORKER_OPTIONS_H_
#define MPROC_WORKER_WORKER_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/metadata.h"
#include "worker/task_registry.h"

namespace mproc {

struct WorkerOptions {
  std::string manager = kDefaultManagerAddress;
  std::string authkey;   // never printed; empty: none
  bool no_auth = false;  // connect without a key (a --no-auth manager)
  std::string user;      // whose key, for a manager with an ACL
  // TLS, as ConnectOptions (empty: from $MPROC_TLS_*, else plaintext).
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  std::string pool = "default";
  int processes = 0;             // 0: the CPUs this process may use
  int64_t maxtasksperchild = 0;  // 0: no limit
  int64_t prefetch = 1;          // tasks a process always may hold
  // Beyond prefetch, a process may take tasks whose measured run time adds
  // up to this: cheap tasks then travel in batches. A task that runs past
  // twice this hands the tasks queued behind it back. 0: one at a time.
  absl::Duration batch = absl::Milliseconds(10);
  bool allow_exec = false;                   // the exec task may run
  absl::Duration grace = absl::Seconds(30);  // for running tasks on SIGTERM
  // Runs once in every worker process before it takes tasks; a failure
  // ends that process (and the supervisor starts another, after a pause).
  std::function<absl::Status()> initializer;
  std::string initializer_task;  // or a registered task, called with no args
  LogOptions log;                // component "worker"
  const TaskRegistry* registry = &TaskRegistry::Global();
};

// Parses the flags of `mproc worker` (args exclude the program name):
// --manager ADDR, --authkey-file F (else $MPROC_AUTHKEY, else the user's
// default key file) or --no-auth, --pool NAME,
// --processes N, --maxtasksperchild M, --prefetch K, --allow-exec,
// --batch-ms B, --grace S, --initializer TASK. INVALID_ARGUMENT naming the
// bad flag.
absl::StatusOr<WorkerOptions> ParseWorkerFlags(
    const std::vector<std::string>& args);

inline constexpr char kWorkerUsage[] =
    R"(usage: mproc worker [--manager ADDR] [--pool NAME] [--processes N]
                    [--maxtasksperchild M] [--prefetch K] [--batch-ms B]
                    [--allow-exec] [--grace S] [--initializer TASK]
                    [--authkey-file F | --no-auth] [--user NAME] [--tls-ca F]
                    [--tls-cert F --tls-key K] [--tls-server-name N]
                    [--log-level L] [--log-format text|json]

Runs a supervisor that pre-forks N worker processes (default: the CPUs
available); each connects to the manager, takes tasks of pool NAME
(default "default") and reports their results. A process that exits or
dies is replaced; with --maxtasksperchild M each is replaced after M tasks.
--prefetch K lets a process hold K tasks at once (default 1); beyond that
it may take tasks the manager has measured to be cheap, up to B ms of their
work (--batch-ms, default 10; 0: never), and hands back the ones behind a
task that runs longer than 2*B ms, so no task waits long behind another.
The exec task
(run a command) is refused unless --allow-exec is given. SIGTERM or SIGINT:
take no more tasks, let running ones finish (at most --grace S seconds,
default 30), then exit; a second signal kills at once. --log-level (debug,
info, warning, error) and --log-format: its log lines on stderr.
)";

}  // namespace mproc

#endif  // MPROC_WORKER_WORKER_OPTIONS_H_
