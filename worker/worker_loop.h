// One worker process: connects to the manager, takes tasks of its pool,
// runs them and reports their results, until told to stop. Runs in a
// process the supervisor forked (supervisor.h) and returns its exit code.
//
// Contracts:
// - SIGTERM and SIGINT (blocked in every thread, taken by a signal thread)
//   stop it gracefully: no more tasks, the running one finishes, tasks
//   taken but not started go back to the manager, results are reported.
// - A task with a timeout that runs longer (plus a small margin) ends the
//   process at once with kExitTaskTimeout; the manager has failed the task
//   with TimeoutError by then, and the supervisor starts a new process.
// - Fencing: while a task runs it checks its connection about once a
//   second. If the stream it took the task on has ended (the process was
//   paused, or cut off, past the manager's keepalive), the manager has
//   declared it lost and queued the task again or failed it: the process
//   ends at once with kExitFenced, taking the stale task (and, through
//   PR_SET_PDEATHSIG, any command it runs) with it; the supervisor starts
//   a new one, which registers afresh. Tasks held in hand more than a
//   second (as they are after a pause) start only once the manager
//   confirms they are still this process's; if not, the process ends the
//   same way without starting them.
// - After maxtasksperchild tasks it reports and exits with 0.
// - While the manager is unreachable it retries (100 ms doubling to 2 s);
//   it never exits for that.
#ifndef MPROC_WORKER_WORKER_LOOP_H_
#define MPROC_WORKER_WORKER_LOOP_H_

#include "worker/worker_options.h"

namespace mproc {

inline constexpr int kExitTaskTimeout = 75;
inline constexpr int kExitInitializerFailed = 76;
inline constexpr int kExitFenced = 77;

int RunWorkerLoop(const WorkerOptions& options);

}  // namespace mproc

#endif  // MPROC_WORKER_WORKER_LOOP_H_
