// One worker process: connects to the manager, takes tasks of its pool,
// runs them and reports their results, until told to stop. Runs in a
// process the supervisor forked (supervisor.h) and returns its exit code.
//
// Contracts:
// - SIGTERM and SIGINT (blocked in every thread, taken by a signal thread)
//   stop it gracefully: no more tasks, the running one finishes, tasks
//   taken but not started go back to the manager, results are reported.
// - A task with a timeout that runs longer (plus a small margin) ends the
//   process with kExitTaskTimeout; the manager has failed the task with
//   TimeoutError by then, and the supervisor starts a new process.
// - Fencing: while a task runs it asks the manager about once a second
//   whether it still holds that hand-out of the task. If not — it was
//   cancelled, or the stream it came on has ended (the process was paused,
//   or cut off, past the manager's keepalive) and the manager queued it
//   again or failed it — the process ends with kExitFenced, taking the
//   stale task (and, through PR_SET_PDEATHSIG, any command it runs) with
//   it; the supervisor starts a new one, which registers afresh. Tasks
//   held in hand more than 50 ms start only once the manager confirms they
//   are still this process's: one cancelled or timed out in hand is
//   dropped; if the stream ended, the process ends the same way without
//   starting any.
// - Before it ends for a timeout or a fence it gives back the tasks in
//   hand and reports the results not yet sent (waiting at most about a
//   second for the manager), so they are not charged as losses.
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
