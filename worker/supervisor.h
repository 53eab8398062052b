// The worker daemon's supervisor: pre-forks the worker processes before it
// creates any threads or gRPC state, replaces those that exit or die, and
// stops them on SIGTERM/SIGINT (gracefully; a second signal kills).
#ifndef MPROC_WORKER_SUPERVISOR_H_
#define MPROC_WORKER_SUPERVISOR_H_

#include "worker/worker_options.h"

namespace mproc {

// Runs in the foreground until stopped; returns the exit code. Each worker
// process dies with the supervisor (PR_SET_PDEATHSIG). One that exits
// within a second of starting is replaced after a pause, so a broken
// initializer or an unreachable task cannot spin the machine. It runs the
// tasks of options.registry as they are: call AddBuiltinTasks
// (builtin_tasks.h) first for the stock ones.
int RunSupervisor(const WorkerOptions& options);

// The whole `mproc worker` command (or a custom worker binary's main):
// adds the stock tasks to the global registry (a task of the binary's own
// keeps its name), parses the flags, prints usage for --help, runs the
// supervisor.
int WorkerMain(int argc, char** argv);

}  // namespace mproc

#endif  // MPROC_WORKER_SUPERVISOR_H_
