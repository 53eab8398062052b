// Lock, Semaphore, Event, Condition and Barrier commands.
#include <optional>

#include "absl/strings/str_cat.h"
#include "server/barrier_object.h"
#include "server/command_args.h"
#include "server/commands.h"
#include "server/condition_object.h"
#include "server/event_object.h"
#include "server/lock_object.h"
#include "server/semaphore_object.h"
#include "server/wait_args.h"

namespace mproc {
namespace {

using Result = absl::StatusOr<Value>;

// --- Lock ---

Result LockAcquire(LockObject& lock, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(thread, a.Int(0, "thread"));
  MPROC_ASSIGN_OR_RETURN(block, BlockArg(lock, a.op(), a, 1));
  MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(lock, a.op(), a, 2));
  return lock.Acquire(thread, block, timeout, call);
}

Result LockRelease(LockObject& lock, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(thread, a.Int(0, "thread"));
  return Done(lock.Release(thread, call));
}

Result LockLocked(LockObject& lock, const CommandArgs&, CallContext*) {
  return lock.Locked();
}

// --- Semaphore ---

Result SemAcquire(SemaphoreObject& sem, const CommandArgs& a,
                  CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(block, BlockArg(sem, a.op(), a, 0));
  MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(sem, a.op(), a, 1));
  return sem.Acquire(block, timeout, call);
}

Result SemRelease(SemaphoreObject& sem, const CommandArgs& a,
                  CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(n, a.OptionalInt(0, "n"));
  return Done(sem.Release(n.value_or(1), call));
}

Result SemValue(SemaphoreObject& sem, const CommandArgs&, CallContext*) {
  return sem.Size();
}

// --- Event ---

Result EventSet(EventObject& event, const CommandArgs&, CallContext*) {
  return Done(event.Set());
}

Result EventClear(EventObject& event, const CommandArgs&, CallContext*) {
  return Done(event.Clear());
}

Result EventIsSet(EventObject& event, const CommandArgs&, CallContext*) {
  return event.IsSet();
}

Result EventWait(EventObject& event, const CommandArgs& a, CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(event, a.op(), a, 0));
  return event.Wait(timeout, call);
}

// --- Condition ---

Result CondAcquire(ConditionObject& cond, const CommandArgs& a,
                   CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(thread, a.Int(0, "thread"));
  MPROC_ASSIGN_OR_RETURN(block, BlockArg(cond, a.op(), a, 1));
  MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(cond, a.op(), a, 2));
  return cond.lock().Acquire(thread, block, timeout, call);
}

Result CondRelease(ConditionObject& cond, const CommandArgs& a,
                   CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(thread, a.Int(0, "thread"));
  return Done(cond.lock().Release(thread, call));
}

Result CondWait(ConditionObject& cond, const CommandArgs& a,
                CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(thread, a.Int(0, "thread"));
  MPROC_ASSIGN_OR_RETURN(timeout, TimeoutArg(cond, a.op(), a, 1));
  return cond.Wait(thread, timeout, call);
}

Result Notified(absl::StatusOr<int64_t> woken) {
  if (!woken.ok()) return woken.status();
  return *woken;
}

Result CondNotify(ConditionObject& cond, const CommandArgs& a,
                  CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(n, a.OptionalInt(0, "n"));
  MPROC_ASSIGN_OR_RETURN(thread, a.OptionalInt(1, "thread"));
  if (n.value_or(1) < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(cond.Describe(), ": notify needs n >= 0"));
  }
  return Notified(cond.Notify(n.value_or(1), *call, thread));
}

Result CondNotifyAll(ConditionObject& cond, const CommandArgs& a,
                     CallContext* call) {
  MPROC_ASSIGN_OR_RETURN(thread, a.OptionalInt(0, "thread"));
  return Notified(cond.Notify(-1, *call, thread));
}

// --- Barrier ---

Result BarrierWait(BarrierObject& barrier, const CommandArgs& a,
                   CallContext* call) {
  std::optional<absl::Duration> timeout;
  if (a.Optional(0) != nullptr && !a[0].is_null()) {
    MPROC_ASSIGN_OR_RETURN(t, TimeoutArg(barrier, a.op(), a, 0));
    timeout = t;
  }
  return barrier.Wait(timeout, call);
}

Result BarrierAbort(BarrierObject& barrier, const CommandArgs&, CallContext*) {
  barrier.Abort();
  return Value();
}

Result BarrierReset(BarrierObject& barrier, const CommandArgs&, CallContext*) {
  barrier.Reset();
  return Value();
}

Result BarrierState(BarrierObject& barrier, const CommandArgs&, CallContext*) {
  return Value(barrier.Details());
}

constexpr CommandRow kRows[] = {
    {pb::LOCK_ACQUIRE, On<LockObject, LockAcquire>},
    {pb::LOCK_RELEASE, On<LockObject, LockRelease>},
    {pb::LOCK_LOCKED, On<LockObject, LockLocked>},
    {pb::SEM_ACQUIRE, On<SemaphoreObject, SemAcquire>},
    {pb::SEM_RELEASE, On<SemaphoreObject, SemRelease>},
    {pb::SEM_VALUE, On<SemaphoreObject, SemValue>},
    {pb::EVENT_SET, On<EventObject, EventSet>},
    {pb::EVENT_CLEAR, On<EventObject, EventClear>},
    {pb::EVENT_IS_SET, On<EventObject, EventIsSet>},
    {pb::EVENT_WAIT, On<EventObject, EventWait>},
    {pb::COND_ACQUIRE, On<ConditionObject, CondAcquire>},
    {pb::COND_RELEASE, On<ConditionObject, CondRelease>},
    {pb::COND_WAIT, On<ConditionObject, CondWait>},
    {pb::COND_NOTIFY, On<ConditionObject, CondNotify>},
    {pb::COND_NOTIFY_ALL, On<ConditionObject, CondNotifyAll>},
    {pb::BARRIER_WAIT, On<BarrierObject, BarrierWait>},
    {pb::BARRIER_ABORT, On<BarrierObject, BarrierAbort>},
    {pb::BARRIER_RESET, On<BarrierObject, BarrierReset>},
    {pb::BARRIER_STATE, On<BarrierObject, BarrierState>},
};

}  // namespace

absl::Span<const CommandRow> SyncCommands() { return kRows; }

}  // namespace mproc
