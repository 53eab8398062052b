// Pool commands: argument checks for submit, results and the worker calls.
#include "absl/strings/str_cat.h"
#include "server/command_args.h"
#include "server/commands.h"
#include "server/pool_object.h"
#include "server/wait_args.h"

namespace mproc {
namespace {

absl::StatusOr<int64_t> Positive(const PoolObject& pool, const OpInfo& op,
                                 const CommandArgs& a, size_t i,
                                 absl::string_view what, int64_t min) {
  absl::StatusOr<int64_t> n = a.Int(i, what);
  if (!n.ok()) return n.status();
  if (*n < min) {
    return absl::InvalidArgumentError(absl::StrCat(
        pool.Describe(), ": ", op.name, " needs ", what, " >= ", min, ", got ",
        *n));
  }
  return *n;
}

}  // namespace

absl::StatusOr<Value> RunPoolCommand(PoolObject& pool, const OpInfo& op,
                                     const CommandArgs& a, CallContext* call) {
  switch (op.op) {
    case pb::POOL_SUBMIT: {
      MPROC_ASSIGN_OR_RETURN(inbox, a.Int(0, "inbox"));
      MPROC_ASSIGN_OR_RETURN(tasks, a.ListArg(1, "tasks"));
      if (tasks->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(pool.Describe(), ": submit needs at least one task"));
      }
      return pool.Submit(inbox, *tasks, call);
    }
    case pb::POOL_RESULTS: {
      MPROC_ASSIGN_OR_RETURN(inbox, a.Int(0, "inbox"));
      MPROC_ASSIGN_OR_RETURN(max_n, Positive(pool, op, a, 1, "max_n", 1));
      MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(pool, op, a, 2));
      return pool.Results(inbox, max_n, timeout, call);
    }
    case pb::POOL_GET: {
      MPROC_ASSIGN_OR_RETURN(task_id, a.Int(0, "task_id"));
      MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(pool, op, a, 1));
      return pool.Get(task_id, timeout, call);
    }
    case pb::POOL_CANCEL: {
      MPROC_ASSIGN_OR_RETURN(inbox, a.Int(0, "inbox"));
      return pool.Cancel(inbox);
    }
    case pb::POOL_STATUS:
      return pool.Status();
    case pb::POOL_DETACH: {
      MPROC_ASSIGN_OR_RETURN(inbox, a.Int(0, "inbox"));
      pool.Detach(inbox);
      return Value();
    }
    case pb::POOL_WORKER_NEXT: {
      MPROC_ASSIGN_OR_RETURN(worker, a.MapArg(0, "worker"));
      if (absl::Status s = a.ListArg(1, "done").status(); !s.ok()) return s;
      MPROC_ASSIGN_OR_RETURN(returned, a.ListArg(2, "returned"));
      MPROC_ASSIGN_OR_RETURN(max_n, Positive(pool, op, a, 3, "max_n", 0));
      MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(pool, op, a, 4));
      // The results are moved out, not copied: a batch can be thousands.
      return pool.WorkerNext(*worker, std::move(a.Take(1).mutable_list()),
                             *returned, max_n, timeout, call);
    }
    case pb::POOL_WORKER_STOP:
      return Done(pool.WorkerStop(call));
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("pool op ", op.name));
}

}  // namespace mproc
