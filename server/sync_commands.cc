// Lock, Semaphore and Event commands.
#include "absl/strings/str_cat.h"
#include "server/command_args.h"
#include "server/barrier_object.h"
#include "server/commands.h"
#include "server/condition_object.h"
#include "server/event_object.h"
#include "server/lock_object.h"
#include "server/semaphore_object.h"
#include "server/wait_args.h"

namespace mproc {

absl::StatusOr<Value> RunLockCommand(LockObject& lock, const OpInfo& op,
                                     const CommandArgs& a, CallContext* call) {
  switch (op.op) {
    case pb::LOCK_ACQUIRE: {
      MPROC_ASSIGN_OR_RETURN(thread, a.Int(0, "thread"));
      MPROC_ASSIGN_OR_RETURN(block, BlockArg(lock, op, a, 1));
      MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(lock, op, a, 2));
      return lock.Acquire(thread, block, timeout, call);
    }
    case pb::LOCK_RELEASE: {
      MPROC_ASSIGN_OR_RETURN(thread, a.Int(0, "thread"));
      return Done(lock.Release(thread, call));
    }
    case pb::LOCK_LOCKED:
      return lock.Locked();
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("lock op ", op.name));
}

absl::StatusOr<Value> RunSemaphoreCommand(SemaphoreObject& sem,
                                          const OpInfo& op,
                                          const CommandArgs& a,
                                          CallContext* call) {
  switch (op.op) {
    case pb::SEM_ACQUIRE: {
      MPROC_ASSIGN_OR_RETURN(block, BlockArg(sem, op, a, 0));
      MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(sem, op, a, 1));
      return sem.Acquire(block, timeout, call);
    }
    case pb::SEM_RELEASE: {
      MPROC_ASSIGN_OR_RETURN(n, a.OptionalInt(0, "n"));
      return Done(sem.Release(n.value_or(1), call));
    }
    case pb::SEM_VALUE:
      return sem.Size();
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("semaphore op ", op.name));
}

absl::StatusOr<Value> RunEventCommand(EventObject& event, const OpInfo& op,
                                      const CommandArgs& a,
                                      CallContext* call) {
  switch (op.op) {
    case pb::EVENT_SET:
      event.Set();
      return Value();
    case pb::EVENT_CLEAR:
      event.Clear();
      return Value();
    case pb::EVENT_IS_SET:
      return event.IsSet();
    case pb::EVENT_WAIT: {
      MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(event, op, a, 0));
      return event.Wait(timeout, call);
    }
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("event op ", op.name));
}

absl::StatusOr<Value> RunConditionCommand(ConditionObject& cond,
                                          const OpInfo& op,
                                          const CommandArgs& a,
                                          CallContext* call) {
  switch (op.op) {
    case pb::COND_ACQUIRE: {
      MPROC_ASSIGN_OR_RETURN(thread, a.Int(0, "thread"));
      MPROC_ASSIGN_OR_RETURN(block, BlockArg(cond, op, a, 1));
      MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(cond, op, a, 2));
      return cond.lock().Acquire(thread, block, timeout, call);
    }
    case pb::COND_RELEASE: {
      MPROC_ASSIGN_OR_RETURN(thread, a.Int(0, "thread"));
      return Done(cond.lock().Release(thread, call));
    }
    case pb::COND_WAIT: {
      MPROC_ASSIGN_OR_RETURN(thread, a.Int(0, "thread"));
      MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(cond, op, a, 1));
      return cond.Wait(thread, timeout, call);
    }
    case pb::COND_NOTIFY: {
      MPROC_ASSIGN_OR_RETURN(n, a.OptionalInt(0, "n"));
      if (n.value_or(1) < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(cond.Describe(), ": notify needs n >= 0"));
      }
      return cond.Notify(n.value_or(1));
    }
    case pb::COND_NOTIFY_ALL:
      return cond.Notify(-1);
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("condition op ", op.name));
}

absl::StatusOr<Value> RunBarrierCommand(BarrierObject& barrier,
                                        const OpInfo& op, const CommandArgs& a,
                                        CallContext* call) {
  switch (op.op) {
    case pb::BARRIER_WAIT: {
      std::optional<absl::Duration> timeout;
      if (a.Optional(0) != nullptr && !a[0].is_null()) {
        MPROC_ASSIGN_OR_RETURN(t, TimeoutArg(barrier, op, a, 0));
        timeout = t;
      }
      return barrier.Wait(timeout, call);
    }
    case pb::BARRIER_ABORT:
      barrier.Abort();
      return Value();
    case pb::BARRIER_RESET:
      barrier.Reset();
      return Value();
    case pb::BARRIER_STATE:
      return Value(barrier.Details());
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("barrier op ", op.name));
}

}  // namespace mproc
