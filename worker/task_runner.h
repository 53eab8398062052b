// Runs one work item in the calling process and says how it ended: the
// registry lookup, the exec permission check, exceptions, and chunks.
// Never throws; every failure becomes a TaskOutcome naming where it ran.
#ifndef MPROC_WORKER_TASK_RUNNER_H_
#define MPROC_WORKER_TASK_RUNNER_H_

#include <cstdint>
#include <string>

#include "common/task_wire.h"
#include "worker/task_registry.h"

namespace mproc {

struct RunnerContext {
  const TaskRegistry* registry = &TaskRegistry::Global();
  std::string host;
  int64_t pid = 0;
  bool allow_exec = false;
};

// One call of a task: UnknownTask (NOT_FOUND), PermissionDenied,
// ArgumentError (INVALID_ARGUMENT), or the function's own result or error
// (TaskError, with its status code; UNKNOWN for an exception).
TaskOutcome RunTask(const RunnerContext& context, const std::string& name,
                    const List& args, const Map& kwargs);

// A work item: one task, or for a chunk every item in order, giving an OK
// outcome whose value is [values, failures]: the items' values in order
// (null where one failed) and a map from a failed item's index to its
// encoded outcome. An unknown or refused task fails the whole chunk.
// A chunk's arguments are moved into the calls (the item is spent).
TaskOutcome RunWorkItem(const RunnerContext& context, WorkItem& item);

}  // namespace mproc

#endif  // MPROC_WORKER_TASK_RUNNER_H_
