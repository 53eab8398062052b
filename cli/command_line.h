// The `mproc` command line: global flags anywhere, the rest positional.
//   mproc [--manager ADDR] [--authkey-file F] KIND OP NAME [ARGS...]
// A lone "--" ends the flags, so values such as "--x" can follow. After
// KIND OP NAME of an object command, an argument that is not one of
// mproc's flags is a value even when it starts with "-" ("-h", "-x").
#ifndef MPROC_CLI_COMMAND_LINE_H_
#define MPROC_CLI_COMMAND_LINE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metadata.h"

namespace mproc {
class Manager;
struct ConnectOptions;
namespace cli {

struct CommandLine {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;  // "--name=v" or "--name v"
  bool help = false;                         // --help or -h anywhere

  // The flag's value, if given.
  std::optional<std::string> Flag(const std::string& name) const;
};

// Flags that take no value.
inline constexpr const char* kBooleanFlags[] = {
    "json",    "allow-exec",         "repair",          "in-memory",
    "no-auth", "insecure-plaintext", "string",          "raw",
    "version", "cancel-on-timeout",  "exit-with-stdin", "all-dead",
    "once",    "dashboard"};

// INVALID_ARGUMENT for an unknown flag or a flag missing its value.
absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv);

// Exit codes (in --help and the README), so a script can tell "missing"
// from "manager down".
inline constexpr int kExitOk = 0;
// Not found, empty, false, timed out waiting for a value (like grep), or
// refused by the manager (the message says why).
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;        // usage or parse error
inline constexpr int kExitUnavailable = 3;  // manager unreachable, deadline
inline constexpr int kExitDenied = 4;       // authentication or permission
inline constexpr int kExitTaskFailed = 5;   // the task failed (its error)

// The exit code for a failed call: kExitUnavailable for UNAVAILABLE and
// DEADLINE_EXCEEDED, kExitDenied for UNAUTHENTICATED and
// PERMISSION_DENIED (a task refused by its worker's permissions too),
// kExitTaskFailed for a task's own failure (its TimeoutError too), else
// kExitFailed.
int ExitCodeOf(const absl::Status& status);

// Prints the status (ErrorText) to stderr; returns ExitCodeOf(status).
int FailStatus(const absl::Status& status);

// --NAME S as a duration (infinite when absent); INVALID_ARGUMENT unless
// S is a number > 0 (>= 0 with `zero_allowed`: try once).
absl::StatusOr<absl::Duration> DurationFlag(const CommandLine& cl,
                                            const std::string& name,
                                            bool zero_allowed = false);
// DurationFlag(cl, "timeout", zero_allowed).
absl::StatusOr<absl::Duration> TimeoutFlag(const CommandLine& cl,
                                           bool zero_allowed = false);

// Subcommands; each returns an exit code and prints errors to stderr.
int RunManagerCommand(const CommandLine& cl);
int RunObjectCommand(
    const CommandLine& cl);  // dict|list|value|array|namespace|queue
int RunObjectsCommand(const CommandLine& cl);  // objects
int RunInfoCommand(const CommandLine& cl);     // info
int RunBackupCommand(const CommandLine& cl);   // backup
int RunDeleteCommand(const CommandLine& cl);   // delete NAME

int RunUpCommand(const CommandLine& cl);            // up: manager + workers
int RunRunCommand(const CommandLine& cl);           // run -- CMD ARGS...
int RunSubmitCommand(const CommandLine& cl);        // submit TASK ARGS_JSON
int RunResultCommand(const CommandLine& cl);        // result ID
int RunMapCommand(const CommandLine& cl);           // map TASK --args-file F
int RunStatusCommand(const CommandLine& cl);        // status
int RunTopCommand(const CommandLine& cl);           // top
int RunTasksCommand(const CommandLine& cl);         // tasks [ID]
int RunCancelCommand(const CommandLine& cl);        // cancel ID
int RunDeadLettersCommand(const CommandLine& cl);   // dead-letters
int RunRequeueCommand(const CommandLine& cl);       // requeue ID | --all-dead
int RunCertsCommand(const CommandLine& cl);         // certs create DIR
int RunAclCommand(const CommandLine& cl);           // acl add FILE NAME
int RunHealthCommand(const CommandLine& cl);        // health
int RunMetricsTokenCommand(const CommandLine& cl);  // metrics-token
int RunLockCommand(const CommandLine& cl);          // lock NAME -- CMD
int RunSemaphoreCommand(const CommandLine& cl);     // semaphore NAME -- CMD
int RunBarrierCommand(const CommandLine& cl);       // barrier wait NAME

// --manager, else $MPROC_ADDRESS, else the default address.
std::string ManagerAddressFromFlags(const CommandLine& cl);

// --tls-ca, --tls-cert, --tls-key and --tls-server-name into `options`.
void TlsFromFlags(const CommandLine& cl, ConnectOptions* options);

// Connects to --manager (else $MPROC_ADDRESS, else the default) with the
// authkey of --authkey-file (else as LoadAuthkey finds it), or none with
// --no-auth.
absl::StatusOr<std::unique_ptr<Manager>> ConnectFromFlags(
    const CommandLine& cl);

// "NOT_FOUND: <message>": how the CLI prints a failed status.
std::string ErrorText(const absl::Status& s);

// Prints "mproc: <message>" to stderr and returns `code`.
int Fail(int code, const std::string& message);

// --log-level (debug, info, warning, error; default info) and --log-format
// (text, json): how this process logs (common/log.h), its lines marked
// with `component` (the command). INVALID_ARGUMENT for a bad value.
absl::Status ConfigureLogFromFlags(const CommandLine& cl,
                                   const std::string& component);

}  // namespace cli
}  // namespace mproc

#endif  // MPROC_CLI_COMMAND_LINE_H_
