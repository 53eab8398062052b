// The `mproc` command: the manager daemon and a client for its objects.
#include <iostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cli/command_line.h"
#include "cli/serve_command.h"
#include "common/client_grpc_env.h"
#include "common/flagfile.h"
#include "common/version.h"
#include "worker/supervisor.h"

// From the linkstamp (build_stamp.cc).
extern const char kMprocBuildRevision[];
extern const char kMprocBuildStatus[];
extern const long kMprocBuildTimestamp;

namespace {

constexpr char kUsage[] = R"(usage: mproc [FLAGS] COMMAND ...

Commands:
  manager [--listen ADDR] [--authkey-file F | --no-auth] [--data-dir DIR] ...
                          run the manager daemon in the foreground
  dict OP NAME [ARGS]     operate on a shared dict   (mproc dict --help)
  list OP NAME [ARGS]     operate on a shared list   (mproc list --help)
  value OP NAME [ARGS]    operate on a typed Value   (mproc value --help)
  array OP NAME [ARGS]    operate on a typed Array   (mproc array --help)
  namespace OP NAME [ARGS]  operate on a Namespace   (mproc namespace --help)
  queue OP NAME [ARGS] [--timeout S]
                          put, get, len ... on a Queue (mproc queue --help)
  event OP NAME [--timeout S]
                          set, clear, is_set, wait on an Event
  lock NAME [--timeout S] -- CMD [ARGS...]
                          run CMD holding a manager Lock, like flock(1)
  semaphore NAME [--value N] [--timeout S] -- CMD [ARGS...]
                          run CMD holding a permit of a Semaphore
  barrier wait NAME --parties N [--timeout S]
                          wait until N callers wait there; print the index
  up [--listen ADDR] [--processes N] [--allow-exec]
                          the local sidecar: a manager and a worker pool
  worker [--manager ADDR] [--processes N] [--pool NAME] [--allow-exec] ...
                          run worker processes for a pool (mproc worker --help)
  serve --echo [--listen ADDR] [--processes N] [--threads M] ...
                          a pre-forked echo server (mproc serve --help)
  run [--timeout S] [--wait S [--cancel-on-timeout]] -- CMD [ARGS...]
                          run a command on a worker (needs --allow-exec there)
  submit TASK ARGS_JSON [--timeout S] [--wait S [--cancel-on-timeout]]
                          run a task, print its result as JSON (its id
                          goes to stderr first); --retries N --retry-on T
                          --retry-backoff S --countdown S --eta TIME
                          --priority N --expires S (submit --help)
  result ID [--wait S]    the result of task ID (e.g. after a Ctrl-C)
  map TASK --args-file F  one task per line of F (a JSON list of arguments),
                          results as JSON lines in order, progress on stderr
  status [--pool NAME]    workers, queue depths, running and failed tasks
  top [--interval S] [--once]
                          the manager at a glance, redrawn in the terminal
  tasks [ID] [--state S] [--name TASK] [--limit K]
                          the pool's tasks: state, worker, attempts, args
  cancel ID               cancel a task (a running one's process is replaced)
  dead-letters            tasks that failed for good, with their arguments
  requeue ID... | --all-dead
                          run dead letters again as new tasks
  objects [--json]        list the manager's objects
  delete NAME             delete an object
  health [--service S]    the manager's gRPC health: exit 0 if it serves
  metrics-token [--dashboard]
                          the password of the manager's /metrics endpoint
                          (or of its dashboard)
  info                    show the manager's version, instance, uptime and
                          where its objects live (data dir, fsync, size)
  backup DIR              copy the manager's data dir to DIR while it serves
  acl add FILE NAME --roles R [--pattern P] --key-file OUT
                          make a key for NAME and its line in an ACL file
  certs create DIR [--host NAMES]
                          make a CA, server and client certificates for TLS

Client flags:
  --manager ADDR          manager address (default $MPROC_ADDRESS, else
                          127.0.0.1:50051); HOST:PORT or unix:/path
  --authkey-file F        file holding the authkey (default $MPROC_AUTHKEY,
                          else ~/.config/mproc/authkey if it exists); the
                          manager must prove it holds the same key
  --no-auth               no key: for a manager started with --no-auth
  --user NAME             whose key it is, for a manager with an ACL file
                          (default $MPROC_USER)
  --tls-ca F              TLS: the CA of the manager's certificate (default
                          $MPROC_TLS_CA; none: plaintext)
  --tls-cert F --tls-key K
                          mutual TLS: this client's certificate and key
                          ($MPROC_TLS_CERT, $MPROC_TLS_KEY)
  --tls-server-name N     the name the manager's certificate must carry, if
                          not the address's host ($MPROC_TLS_SERVER_NAME)

  --flagfile F            flags from file F, one per line ("--name=value";
                          '#' comments), in its place: for services
  --log-level L           debug, info (default), warning or error; with
  --log-format text|json  the process's log lines on stderr

  --version               print mproc's version
Values: a word is text; a value that starts like JSON (a digit, -1, [, {,
", true, false, null) must be JSON (007-style numbers stay text); --string
takes every value as text. After KIND OP NAME an argument that is not a
flag is a value, even "-h"; "--" ends the flags anywhere. Results print as
valid JSON (bytes, NaN, non-string keys in typed forms: {"$bytes": ...},
{"$double": "NaN"}, {"$map": [[k, v], ...]}, also accepted as input);
--raw prints a string result as plain text. Errors go to stderr.
Exit codes:
  0  ok
  1  not found, empty, false, timed out waiting for a value, or refused
  2  usage or parse error
  3  manager unavailable, or deadline exceeded
  4  authentication or permission
  5  the task failed (its error on stderr)
  run passes the command's own exit code (124 when its --timeout passed)
)";

#if defined(__has_feature)
#define MPROC_HAS_FEATURE(f) __has_feature(f)
#else
#define MPROC_HAS_FEATURE(f) 0
#endif

// `mproc --version`: the release, then the build's facts. A build without
// --stamp (a developer's) has no revision or time to report.
void PrintVersion() {
  std::cout << "mproc " << mproc::kMprocVersion << "\n";
  const std::string revision = kMprocBuildRevision;
  if (revision.empty() || revision == "0") {
    std::cout << "revision: unknown (not a stamped build)\n";
  } else {
    std::cout << "revision: " << revision << " (" << kMprocBuildStatus << ")\n";
  }
  if (kMprocBuildTimestamp > 0) {
    std::cout << "built: "
              << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                  absl::FromUnixSeconds(kMprocBuildTimestamp),
                                  absl::UTCTimeZone())
              << "\n";
  }
#if defined(__clang__)
  std::cout << "compiler: clang " << __clang_version__;
#else
  std::cout << "compiler: g++ " << __VERSION__;
#endif
  std::cout << ", C++" << (__cplusplus / 100) % 100
#if defined(__OPTIMIZE__)
            << ", optimized"
#endif
#if defined(__SANITIZE_ADDRESS__) || MPROC_HAS_FEATURE(address_sanitizer)
            << ", AddressSanitizer"
#endif
#if defined(__SANITIZE_THREAD__) || MPROC_HAS_FEATURE(thread_sanitizer)
            << ", ThreadSanitizer"
#endif
            << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mproc::cli;
  // The worker daemon parses its own flags (and reads --flagfile itself)
  // and must fork before any client state exists.
  if (argc > 1 && std::string(argv[1]) == "worker") {
    return mproc::WorkerMain(argc - 1, argv + 1);
  }
  if (argc > 1 && std::string(argv[1]) == "serve") {
    // Only flags: each --flagfile's in its place.
    absl::StatusOr<std::vector<std::string>> expanded =
        mproc::ExpandFlagfiles(std::vector<std::string>(argv + 2, argv + argc));
    if (!expanded.ok()) {
      return Fail(kExitUsage, std::string(expanded.status().message()));
    }
    std::vector<char*> serve_argv = {argv[1]};
    for (std::string& arg : *expanded) serve_argv.push_back(arg.data());
    serve_argv.push_back(nullptr);
    return ServeMain(static_cast<int>(serve_argv.size()) - 1,
                     serve_argv.data());
  }
  absl::StatusOr<CommandLine> cl = ParseCommandLine(argc, argv);
  if (!cl.ok()) return Fail(kExitUsage, std::string(cl.status().message()));
  if (cl->Flag("version")) {
    PrintVersion();
    return kExitOk;
  }
  if (cl->positional.empty()) {
    std::cout << kUsage;
    return cl->help ? kExitOk : kExitUsage;
  }
  const std::string& command = cl->positional[0];
  if (absl::Status logging = ConfigureLogFromFlags(*cl, command);
      !logging.ok()) {
    return Fail(kExitUsage, std::string(logging.message()));
  }
  if (command == "manager" || command == "up") {
    // A manager started by a client process (a test, Python's
    // mproc.Manager()) runs on gRPC's defaults, not the client's settings
    // it inherited (client_grpc_env.h).
    mproc::DropClientGrpcEnv();
    return command == "manager" ? RunManagerCommand(*cl) : RunUpCommand(*cl);
  }
  if (command == "run") return RunRunCommand(*cl);
  if (command == "submit") return RunSubmitCommand(*cl);
  if (command == "result") return RunResultCommand(*cl);
  if (command == "map") return RunMapCommand(*cl);
  if (command == "status") return RunStatusCommand(*cl);
  if (command == "top") return RunTopCommand(*cl);
  if (command == "tasks") return RunTasksCommand(*cl);
  if (command == "cancel") return RunCancelCommand(*cl);
  if (command == "dead-letters") return RunDeadLettersCommand(*cl);
  if (command == "requeue") return RunRequeueCommand(*cl);
  if (command == "objects") return RunObjectsCommand(*cl);
  if (command == "info") return RunInfoCommand(*cl);
  if (command == "backup") return RunBackupCommand(*cl);
  if (command == "certs") return RunCertsCommand(*cl);
  if (command == "acl") return RunAclCommand(*cl);
  if (command == "health") return RunHealthCommand(*cl);
  if (command == "metrics-token") return RunMetricsTokenCommand(*cl);
  if (command == "delete") return RunDeleteCommand(*cl);
  if (command == "lock") return RunLockCommand(*cl);
  if (command == "semaphore") return RunSemaphoreCommand(*cl);
  if (command == "barrier") return RunBarrierCommand(*cl);
  if (command == "dict" || command == "list" || command == "value" ||
      command == "array" || command == "namespace" || command == "queue" ||
      command == "event") {
    return RunObjectCommand(*cl);
  }
  if (command == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  return Fail(kExitUsage,
              "unknown command '" + command + "' (see mproc --help)");
}
