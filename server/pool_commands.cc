// Pool commands: argument checks for submit, results and the worker calls.
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/command_args.h"
#include "server/commands.h"
#include "server/pool_object.h"
#include "server/wait_args.h"

namespace mproc {
namespace {

using Result = absl::StatusOr<Value>;

absl::StatusOr<int64_t> AtLeast(const PoolObject& pool, const CommandArgs& a,
                                size_t i, absl::string_view what, int64_t min) {
  absl::StatusOr<int64_t> n = a.Int(i, what);
  if (!n.ok()) return n.status();
  if (*n < min) {
    return absl::InvalidArgumentError(absl::StrCat(pool.Describe(), ": ",
                                                   a.op().name, " needs ", what,
                                                   " >= ", min, ", got ", *n));
  }
  return *n;
}

Result Submit(PoolObject& pool, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(inbox, a.Int(0, "inbox"));
  MPROC_ASSIGN_OR_RETURN(tasks, a.ListArg(1, "tasks"));
  if (tasks->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(pool.Describe(), ": submit needs at least one task"));
  }
  return pool.Submit(inbox, *tasks, call);
}

Result Results(PoolObject& pool, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(inbox, a.Int(0, "inbox"));
  MPROC_ASSIGN_OR_RETURN(max_n, AtLeast(pool, a, 1, "max_n", 1));
  MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(pool, a.op(), a, 2));
  return pool.Results(inbox, max_n, timeout, call);
}

Result Get(PoolObject& pool, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(task_id, a.Int(0, "task_id"));
  MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(pool, a.op(), a, 1));
  return pool.Get(task_id, timeout, call);
}

Result Cancel(PoolObject& pool, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(inbox, a.Int(0, "inbox"));
  return pool.Cancel(inbox);
}

Result CancelTask(PoolObject& pool, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(task_id, a.Int(0, "task_id"));
  int64_t inbox = 0;
  if (a.size() > 1) {
    // With an inbox it is a client's cancel of its own task (access lets
    // clients do that); 0 would mean anyone's.
    MPROC_ASSIGN_OR_RETURN(given, AtLeast(pool, a, 1, "inbox", 1));
    inbox = given;
  }
  return pool.CancelTask(task_id, inbox);
}

Result Tasks(PoolObject& pool, const CommandArgs& a, CallContext* call) {
  if (a.size() == 0) return pool.Tasks(Map{}, call->may_run_commands);
  MPROC_ASSIGN_OR_RETURN(filter, a.MapArg(0, "filter"));
  return pool.Tasks(*filter, call->may_run_commands);
}

Result Task(PoolObject& pool, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(task_id, a.Int(0, "task_id"));
  return pool.TaskRecord(task_id, call->may_run_commands);
}

Result Requeue(PoolObject& pool, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(inbox, a.Int(0, "inbox"));
  const Value& which = a[1];
  if (which.is_string() && which.string_value() == "all") {
    return pool.Requeue(inbox, List{}, /*all=*/true, call);
  }
  MPROC_ASSIGN_OR_RETURN(ids, a.ListArg(1, "task_ids"));
  for (const Value& id : *ids) {
    if (!id.is_int()) {
      return absl::InvalidArgumentError(absl::StrCat(
          pool.Describe(), ": requeue needs task ids (ints) or \"all\", got ",
          id.ToString()));
    }
  }
  if (ids->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(pool.Describe(), ": requeue needs at least one task id"));
  }
  return pool.Requeue(inbox, *ids, /*all=*/false, call);
}

Result WorkerHolds(PoolObject& pool, const CommandArgs& a, CallContext* call) {
  if (a.size() == 1 && a[0].is_list()) {
    // [[task_id, attempt], ...] -> [bool, ...]: a whole batch in hand.
    List answers;
    for (const Value& pair : a[0].list_value()) {
      const List* f = pair.is_list() ? &pair.list_value() : nullptr;
      if (f == nullptr || f->size() != 2 || !(*f)[0].is_int() ||
          !(*f)[1].is_int()) {
        return absl::InvalidArgumentError(absl::StrCat(
            pool.Describe(),
            ": worker_holds needs a task id or a list of [task_id, attempt] "
            "pairs, got ",
            pair.ToString()));
      }
      answers.push_back(
          pool.WorkerHolds((*f)[0].int_value(), (*f)[1].int_value(), *call));
    }
    return Value(std::move(answers));
  }
  MPROC_ASSIGN_OR_RETURN(task_id, a.Int(0, "task_id"));
  int64_t attempt = 0;  // any hand-out
  if (a.size() > 1) {
    MPROC_ASSIGN_OR_RETURN(given, AtLeast(pool, a, 1, "attempt", 1));
    attempt = given;
  }
  return Value(pool.WorkerHolds(task_id, attempt, *call));
}

Result Status(PoolObject& pool, const CommandArgs&, CallContext* call) {
  return pool.Status(call->may_run_commands);
}

Result Detach(PoolObject& pool, const CommandArgs& a, CallContext*) {
  MPROC_ASSIGN_OR_RETURN(inbox, a.Int(0, "inbox"));
  pool.Detach(inbox);
  return Value();
}

Result WorkerNext(PoolObject& pool, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(worker, a.MapArg(0, "worker"));
  if (absl::Status s = a.ListArg(1, "done").status(); !s.ok()) return s;
  MPROC_ASSIGN_OR_RETURN(returned, a.ListArg(2, "returned"));
  MPROC_ASSIGN_OR_RETURN(max_n, AtLeast(pool, a, 3, "max_n", 0));
  MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(pool, a.op(), a, 4));
  // The results are moved out, not copied: a batch can be thousands.
  return pool.WorkerNext(*worker, std::move(a.Take(1).mutable_list()),
                         *returned, max_n, timeout, call);
}

Result WorkerStop(PoolObject& pool, const CommandArgs&, CallContext* call) {
  return Done(pool.WorkerStop(call));
}

constexpr CommandRow kRows[] = {
    {pb::POOL_SUBMIT, On<PoolObject, Submit>},
    {pb::POOL_RESULTS, On<PoolObject, Results>},
    {pb::POOL_GET, On<PoolObject, Get>},
    {pb::POOL_CANCEL, On<PoolObject, Cancel>},
    {pb::POOL_STATUS, On<PoolObject, Status>},
    {pb::POOL_DETACH, On<PoolObject, Detach>},
    {pb::POOL_TASKS, On<PoolObject, Tasks>},
    {pb::POOL_TASK, On<PoolObject, Task>},
    {pb::POOL_CANCEL_TASK, On<PoolObject, CancelTask>},
    {pb::POOL_REQUEUE, On<PoolObject, Requeue>},
    {pb::POOL_WORKER_NEXT, On<PoolObject, WorkerNext>},
    {pb::POOL_WORKER_STOP, On<PoolObject, WorkerStop>},
    {pb::POOL_WORKER_HOLDS, On<PoolObject, WorkerHolds>},
};

}  // namespace

absl::Span<const CommandRow> PoolCommands() { return kRows; }

}  // namespace mproc
