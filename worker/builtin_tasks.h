// The stock tasks every worker has: echo, identity, sleep, fail, getpid and
// exec (which runs a command, and only on a worker started with
// --allow-exec).
#ifndef MPROC_WORKER_BUILTIN_TASKS_H_
#define MPROC_WORKER_BUILTIN_TASKS_H_

#include "worker/task_registry.h"

namespace mproc {

// Adds the stock tasks to `registry`, each unless the registry already has
// a task of that name (a binary's own task keeps its name). WorkerMain
// calls it before it starts, so the stock tasks need no static
// initialiser: they are there however the worker library is linked.
void AddBuiltinTasks(TaskRegistry& registry);

}  // namespace mproc

#endif  // MPROC_WORKER_BUILTIN_TASKS_H_
