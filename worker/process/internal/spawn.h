// Starting a program with posix_spawn: PATH lookup, environment, standard
// stream wiring. Used by Popen; everything is prepared before the spawn, so
// nothing runs between fork and exec but glibc's own spawn code — or, for a
// child that must die with its parent (PR_SET_PDEATHSIG, which posix_spawn
// cannot set), a fork whose child makes only async-signal-safe calls
// before exec.
#ifndef MPROC_WORKER_PROCESS_INTERNAL_SPAWN_H_
#define MPROC_WORKER_PROCESS_INTERNAL_SPAWN_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/process/internal/unique_fd.h"
#include "worker/process/subprocess.h"

namespace mproc {
namespace process_internal {

struct SpawnedChild {
  pid_t pid = -1;
  // Our ends of the kPipe streams; invalid for the others.
  UniqueFd stdin_pipe;
  UniqueFd stdout_pipe;
  UniqueFd stderr_pipe;
};

// Errors as Popen::Start.
absl::StatusOr<SpawnedChild> Spawn(const std::vector<std::string>& argv,
                                   const PopenOptions& options);

}  // namespace process_internal
}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_INTERNAL_SPAWN_H_
