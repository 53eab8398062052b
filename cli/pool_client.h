// The pool the task commands (submit, result, run, map) work on.
#ifndef MPROC_CLI_POOL_CLIENT_H_
#define MPROC_CLI_POOL_CLIENT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "cli/command_line.h"
#include "client/manager.h"

namespace mproc {
namespace cli {

// A connection and the pool of --pool (default "default") on it.
struct PoolClient {
  std::unique_ptr<Manager> manager;
  std::unique_ptr<Pool> pool;  // destroyed first
};

// Connects as the client flags say and opens the pool.
absl::StatusOr<PoolClient> OpenPool(const CommandLine& cl);

// The flags of `submit` and `run` that shape a task: --retries N,
// --retry-on TYPES, --retry-backoff S, --retry-backoff-max S,
// --countdown S, --eta TIME, --priority N, --expires S.
absl::Status TaskOptionsFromFlags(const CommandLine& cl, TaskOptions* options);

}  // namespace cli
}  // namespace mproc

#endif  // MPROC_CLI_POOL_CLIENT_H_
