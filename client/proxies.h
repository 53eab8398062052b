// Proxies for the manager's shared objects, mirroring Python's
// multiprocessing proxies (DictProxy, ListProxy, Value, Array, Namespace,
// Queue).
//
// A proxy is just (connection, kind, name): cheap to copy, safe to use from
// many threads at once, and every call is one atomic operation on the
// manager. Results come as absl::StatusOr; no exceptions. Errors common to
// every call: UNAVAILABLE when the manager cannot be reached (the client
// reconnects by itself on a later call), FAILED_PRECONDITION when the name
// now belongs to another kind of object, INVALID_ARGUMENT for a bad name or
// argument. Values read from a dict or list are copies: changing a nested
// list you read does not change the stored one (unlike Python's nested
// proxies, there is nothing to forget to write back — write it back with
// Set).
#ifndef MPROC_CLIENT_PROXIES_H_
#define MPROC_CLIENT_PROXIES_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/object_errors.h"  // IsQueueEmpty, IsBrokenBarrier, ...
#include "common/value.h"

namespace mproc {

namespace pb {
enum Op : int;
}  // namespace pb

namespace internal {
// One argument of a proxy call: refers to a Value the caller holds (no
// copy), or holds one made from anything else a Value can be made from
// (an int, a string...). Lives only inside the call's argument list.
class ProxyArg {
 public:
  ProxyArg(const Value& value) : value_(&value) {}  // NOLINT: implicit
  template <typename T,
            std::enable_if_t<!std::is_same_v<std::decay_t<T>, Value> &&
                                 std::is_constructible_v<Value, T&&>,
                             int> = 0>
  ProxyArg(T&& value)  // NOLINT: implicit
      : owned_(std::forward<T>(value)), value_(&owned_) {}
  ProxyArg(const ProxyArg&) = delete;
  ProxyArg& operator=(const ProxyArg&) = delete;

  const Value& value() const { return *value_; }

 private:
  Value owned_;
  const Value* value_;
};
}  // namespace internal

namespace internal {
class Connection;
}  // namespace internal

// What a proxy points at; printable as "dict 'config'".
class ObjectProxy {
 public:
  // "dict", "list", "value", "array" or "namespace".
  const std::string& kind() const { return kind_; }
  const std::string& name() const { return name_; }
  // The manager address this proxy talks to.
  const std::string& address() const;

 protected:
  ObjectProxy(std::shared_ptr<internal::Connection> connection,
              std::string kind, std::string name);

  // Runs one operation on this object and returns its result. Each
  // argument is converted straight into the request: no copy is made.
  using Args = std::initializer_list<internal::ProxyArg>;
  absl::StatusOr<Value> Invoke(pb::Op op, Args args) const;
  // The same with one map or list argument, sent without copying it into
  // a Value first (update, set_many, get_many, extend carry thousands).
  absl::StatusOr<Value> InvokeWithMap(pb::Op op, const Map& arg) const;
  absl::StatusOr<Value> InvokeWithList(pb::Op op, const List& arg) const;
  // The same, converted to T (INVALID_ARGUMENT if the result is not a T).
  template <typename T>
  absl::StatusOr<T> InvokeAs(pb::Op op, Args args) const {
    absl::StatusOr<Value> v = Invoke(op, args);
    if (!v.ok()) return v.status();
    return v->As<T>();
  }
  absl::Status InvokeStatus(pb::Op op, Args args) const {
    return Invoke(op, args).status();
  }
  // INVALID_ARGUMENT naming this object, the op and the argument.
  absl::Status BadArgument(pb::Op op, size_t index,
                           const absl::Status& fault) const;

 private:
  friend class BatchBuilder;
  std::shared_ptr<internal::Connection> connection_;
  std::string kind_;
  std::string name_;
};

// A shared dict. Keys must be scalars (null, bool, int, double, string,
// bytes).
class DictProxy : public ObjectProxy {
 public:
  // NOT_FOUND if `key` is absent (like KeyError).
  absl::StatusOr<Value> Get(const Value& key) const;
  // `default_value` if `key` is absent.
  absl::StatusOr<Value> Get(const Value& key, const Value& default_value) const;
  absl::Status Set(const Value& key, const Value& value) const;
  // The stored value, after storing `default_value` if `key` was absent.
  absl::StatusOr<Value> SetDefault(const Value& key,
                                   const Value& default_value = Value()) const;
  // Removes and returns; NOT_FOUND if absent.
  absl::StatusOr<Value> Pop(const Value& key) const;
  absl::StatusOr<Value> Pop(const Value& key, const Value& default_value) const;
  // NOT_FOUND if absent (like `del d[key]`).
  absl::Status Delete(const Value& key) const;
  absl::StatusOr<bool> Contains(const Value& key) const;
  absl::StatusOr<int64_t> Len() const;
  absl::StatusOr<List> Keys() const;
  absl::StatusOr<List> Values() const;
  absl::StatusOr<Map> Items() const;
  absl::Status Update(const Map& entries) const;
  absl::Status Clear() const;
  // The entries present among `keys`, in one round trip.
  absl::StatusOr<Map> GetMany(const List& keys) const;
  // Stores all `entries` in one round trip (same as Update).
  absl::Status SetMany(const Map& entries) const;
  // Atomically adds `delta` (int or double) to the number at `key`; an
  // absent key counts as 0. Returns the new value. INVALID_ARGUMENT if the
  // stored value is not a number; OUT_OF_RANGE on int64 overflow.
  absl::StatusOr<Value> Add(const Value& key, const Value& delta) const;

 private:
  friend class Manager;
  using ObjectProxy::ObjectProxy;
};

// A shared list with Python's index rules (negative counts from the end).
class ListProxy : public ObjectProxy {
 public:
  // Each returns the new length.
  absl::StatusOr<int64_t> Append(const Value& item) const;
  absl::StatusOr<int64_t> Extend(const List& items) const;
  // OUT_OF_RANGE outside [-len, len).
  absl::StatusOr<Value> Get(int64_t index) const;
  absl::Status Set(int64_t index, const Value& item) const;
  // Clamped like Python's list.insert.
  absl::Status Insert(int64_t index, const Value& item) const;
  // OUT_OF_RANGE if empty or out of range.
  absl::StatusOr<Value> Pop(int64_t index = -1) const;
  // NOT_FOUND if no item equals `item`.
  absl::Status Remove(const Value& item) const;
  absl::StatusOr<int64_t> Index(const Value& item) const;
  absl::StatusOr<int64_t> Count(const Value& item) const;
  absl::StatusOr<int64_t> Len() const;
  // items[start:stop]; nullopt for an open end.
  absl::StatusOr<List> Slice(std::optional<int64_t> start = std::nullopt,
                             std::optional<int64_t> stop = std::nullopt) const;
  absl::Status Clear() const;
  // items[start:stop] = `items`, atomically (an empty `items` deletes the
  // slice).
  absl::Status SetSlice(std::optional<int64_t> start,
                        std::optional<int64_t> stop, const List& items) const;
  absl::Status Reverse() const;
  // Stable, in Python's order (bools, ints and doubles by value, strings,
  // bytes, lists element-wise); INVALID_ARGUMENT, the list unchanged, for
  // items that do not compare (mixed kinds, null, maps, opaque values).
  absl::Status Sort(bool reverse = false) const;

 private:
  friend class Manager;
  using ObjectProxy::ObjectProxy;
};

// A typed shared scalar, like multiprocessing.Value; every call is atomic.
class ValueProxy : public ObjectProxy {
 public:
  absl::StatusOr<Value> Get() const;
  // INVALID_ARGUMENT if `v` does not fit the type (ints widen to double).
  absl::Status Set(const Value& v) const;
  // Adds and returns the new value (int and double values only).
  absl::StatusOr<Value> Add(const Value& delta) const;
  // Stores `desired` if the value equals `expected`; true if it did.
  absl::StatusOr<bool> CompareAndSwap(const Value& expected,
                                      const Value& desired) const;

 private:
  friend class Manager;
  using ObjectProxy::ObjectProxy;
};

// A fixed-length typed shared array, like multiprocessing.Array.
class ArrayProxy : public ObjectProxy {
 public:
  absl::StatusOr<int64_t> Len() const;
  // OUT_OF_RANGE outside [-len, len).
  absl::StatusOr<Value> Get(int64_t index) const;
  absl::Status Set(int64_t index, const Value& v) const;
  absl::StatusOr<List> Slice(std::optional<int64_t> start = std::nullopt,
                             std::optional<int64_t> stop = std::nullopt) const;
  // Atomically adds to one element; returns its new value.
  absl::StatusOr<Value> Add(int64_t index, const Value& delta) const;

 private:
  friend class Manager;
  using ObjectProxy::ObjectProxy;
};

// Shared attributes by name, like Manager().Namespace().
class NamespaceProxy : public ObjectProxy {
 public:
  // NOT_FOUND if unset (like AttributeError).
  absl::StatusOr<Value> Get(const std::string& attribute) const;
  absl::Status Set(const std::string& attribute, const Value& v) const;
  absl::Status Delete(const std::string& attribute) const;
  // Every attribute and its value.
  absl::StatusOr<Map> Items() const;

 private:
  friend class Manager;
  using ObjectProxy::ObjectProxy;
};

// A FIFO queue, like Manager().Queue(maxsize). A blocking call waits inside
// the manager (holding no thread there) while the calling thread waits for
// its answer; other threads' calls on the same Manager go on meanwhile.
// An item leaves the queue only when handed to a call that is still alive,
// so a consumer killed while waiting takes nothing with it.
// Errors: NOT_FOUND when empty (IsQueueEmpty), RESOURCE_EXHAUSTED when full
// (IsQueueFull) — after a timeout or at once for the *Nowait forms;
// IsQueueClosed after Close; INVALID_ARGUMENT for a negative timeout.
class QueueProxy : public ObjectProxy {
 public:
  // Appends `item`, waiting up to `timeout` while the queue is full.
  absl::Status Put(const Value& item,
                   absl::Duration timeout = absl::InfiniteDuration()) const;
  absl::Status PutNowait(const Value& item) const;
  // Takes the oldest item, waiting up to `timeout` while the queue is empty.
  absl::StatusOr<Value> Get(
      absl::Duration timeout = absl::InfiniteDuration()) const;
  absl::StatusOr<Value> GetNowait() const;
  // Python's qsize(), empty(), full(): a snapshot.
  absl::StatusOr<int64_t> Size() const;
  absl::StatusOr<bool> Empty() const;
  absl::StatusOr<bool> Full() const;
  // Appends all of `items` or none (RESOURCE_EXHAUSTED if they do not fit);
  // never waits.
  absl::Status PutMany(const mproc::List& items) const;
  // Takes between 1 and `max_n` items; while the queue is empty waits up to
  // `timeout` (zero: NOT_FOUND at once).
  absl::StatusOr<mproc::List> GetMany(
      int64_t max_n, absl::Duration timeout = absl::InfiniteDuration()) const;

  // JoinableQueue: every put counts a task; TaskDone marks one finished
  // (FAILED_PRECONDITION if called more often than items were put); Join
  // waits until all are (DEADLINE_EXCEEDED after `timeout`).
  absl::Status TaskDone() const;
  absl::Status Join(absl::Duration timeout = absl::InfiniteDuration()) const;

  // Refuses further puts (FAILED_PRECONDITION); gets drain what is left,
  // then fail with OUT_OF_RANGE — also those already waiting. Both are
  // IsQueueClosed.
  absl::Status Close() const;

 private:
  friend class Manager;
  using ObjectProxy::ObjectProxy;
};

// Lock or RLock, like Manager().Lock() / RLock(). Held by this Manager's
// session (an RLock: and the calling thread); released by the manager if
// the session ends (the process died, or was paused or cut off past the
// session lease) — an improvement on Python. Acquire answers whether the
// lock was taken (false after `timeout`), as Python does.
//
// A hold can be lost while this process is paused past the lease. The
// manager then refuses what the old hold would do (Release and Condition
// calls fail ABORTED "session expired") and Manager::session_losses()
// counts the loss. Code that writes elsewhere under the lock should carry
// the fencing token (AcquireToken) and have that resource refuse tokens
// lower than the highest it has seen (docs/guarantees.md, "Locks").
class LockProxy : public ObjectProxy {
 public:
  absl::StatusOr<bool> Acquire(
      absl::Duration timeout = absl::InfiniteDuration()) const;
  absl::StatusOr<bool> TryAcquire() const;  // acquire(block=False)
  // The same as Acquire, answering the grant's fencing token: >= 1 when
  // taken, increasing with every grant of this lock (an RLock's re-entry
  // answers the token it holds); 0 if not taken within `timeout`.
  absl::StatusOr<int64_t> AcquireToken(
      absl::Duration timeout = absl::InfiniteDuration()) const;
  // FAILED_PRECONDITION if not held by this session (an RLock: by this
  // thread); ABORTED if this session lost it to expiry.
  absl::Status Release() const;
  absl::StatusOr<bool> Locked() const;

 private:
  friend class Manager;
  using ObjectProxy::ObjectProxy;
};

// Holds a lock for a scope, like std::lock_guard: acquires in the
// constructor (check ok()), releases in the destructor.
class ScopedLock {
 public:
  explicit ScopedLock(const LockProxy& lock,
                      absl::Duration timeout = absl::InfiniteDuration());
  ~ScopedLock();
  ScopedLock(const ScopedLock&) = delete;
  ScopedLock& operator=(const ScopedLock&) = delete;
  // OK if held; DEADLINE_EXCEEDED if the timeout passed; else the error.
  const absl::Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }

 private:
  const LockProxy& lock_;
  absl::Status status_;
};

// Semaphore or BoundedSemaphore. Permits are counted per session and come
// back if the session ends.
class SemaphoreProxy : public ObjectProxy {
 public:
  absl::StatusOr<bool> Acquire(
      absl::Duration timeout = absl::InfiniteDuration()) const;
  absl::StatusOr<bool> TryAcquire() const;
  // FAILED_PRECONDITION if a BoundedSemaphore would exceed its initial
  // value; INVALID_ARGUMENT if n < 1.
  absl::Status Release(int64_t n = 1) const;
  // The permits available now.
  absl::StatusOr<int64_t> Value() const;

 private:
  friend class Manager;
  using ObjectProxy::ObjectProxy;
};

// Event, like Manager().Event().
class EventProxy : public ObjectProxy {
 public:
  absl::Status Set() const;
  absl::Status Clear() const;
  absl::StatusOr<bool> IsSet() const;
  // Whether the flag is set: true once it is, false after `timeout`.
  absl::StatusOr<bool> Wait(
      absl::Duration timeout = absl::InfiniteDuration()) const;

 private:
  friend class Manager;
  using ObjectProxy::ObjectProxy;
};

// Condition, like Manager().Condition(lock). Acquire/Release work on its
// lock (a LockProxy of the same name works too). Wait needs the lock held
// by this thread: it releases it, waits for a Notify (or `timeout`), and
// holds it again before returning whether it was notified.
class ConditionProxy : public ObjectProxy {
 public:
  absl::StatusOr<bool> Acquire(
      absl::Duration timeout = absl::InfiniteDuration()) const;
  absl::Status Release() const;
  // FAILED_PRECONDITION if this thread does not hold the lock.
  absl::StatusOr<bool> Wait(
      absl::Duration timeout = absl::InfiniteDuration()) const;
  // Python's wait_for: waits until `predicate()` is true (checked with the
  // lock held) or `timeout` passes; returns its last value.
  absl::StatusOr<bool> WaitFor(
      const std::function<bool()>& predicate,
      absl::Duration timeout = absl::InfiniteDuration()) const;
  // Wakes up to `n` waiters / all of them; returns how many were waiting.
  absl::StatusOr<int64_t> Notify(int64_t n = 1) const;
  absl::StatusOr<int64_t> NotifyAll() const;

 private:
  friend class Manager;
  using ObjectProxy::ObjectProxy;
};

// Barrier, like Manager().Barrier(parties). A broken barrier's waits fail
// with ABORTED (IsBrokenBarrier).
class BarrierProxy : public ObjectProxy {
 public:
  // Waits for all parties; returns this caller's arrival index (0 for the
  // first). A wait that times out breaks the barrier, as in Python; the
  // default timeout is the barrier's own.
  absl::StatusOr<int64_t> Wait(
      std::optional<absl::Duration> timeout = std::nullopt) const;
  absl::Status Abort() const;
  absl::Status Reset() const;
  absl::StatusOr<int64_t> Parties() const;
  absl::StatusOr<int64_t> NWaiting() const;
  absl::StatusOr<bool> Broken() const;

 private:
  friend class Manager;
  using ObjectProxy::ObjectProxy;
  absl::StatusOr<Map> State() const;
};

// The wire-level calls of a task pool, one round trip each (the shapes are
// in client/task_wire.h). Applications want Pool (client/pool.h), which is
// built on this; worker processes use the worker calls.
class PoolProxy : public ObjectProxy {
 public:
  // Queues encoded TaskSpecs for `inbox`; the id of the first (the others
  // follow consecutively). `warning` (if given) gets the manager's word
  // when the pool has no connected worker, else is cleared.
  absl::StatusOr<int64_t> Submit(int64_t inbox, const mproc::List& tasks,
                                 std::string* warning = nullptr) const;
  // Up to max_n encoded TaskResults of `inbox`; [] after `timeout`.
  absl::StatusOr<mproc::List> Results(
      int64_t inbox, int64_t max_n,
      absl::Duration timeout = absl::InfiniteDuration()) const;
  // One encoded TaskResult by task id, waiting up to `timeout`.
  absl::StatusOr<Value> GetResult(
      int64_t task_id, absl::Duration timeout = absl::InfiniteDuration()) const;
  absl::StatusOr<int64_t> Cancel(int64_t inbox) const;
  absl::Status Detach(int64_t inbox) const;
  // Workers, queue depth, counters and dead letters (POOL_STATUS).
  absl::StatusOr<mproc::Map> Status() const;
  // Task records (POOL_TASKS, POOL_TASK), cancel by id (inbox 0: any
  // client's, admin) and requeue of dead letters (`which`: a list of ids
  // or "all").
  absl::StatusOr<mproc::List> Tasks(const mproc::Map& filter) const;
  absl::StatusOr<mproc::Map> Task(int64_t task_id) const;
  absl::StatusOr<std::string> CancelTask(int64_t task_id,
                                         int64_t inbox = 0) const;
  absl::StatusOr<mproc::List> Requeue(int64_t inbox, const Value& which) const;

  // Worker side: reports results and untouched task ids, and takes up to
  // max_n encoded WorkItems (waiting up to `timeout` while none is queued).
  absl::StatusOr<mproc::List> WorkerNext(
      const mproc::Map& worker, const mproc::List& done,
      const mproc::List& returned, int64_t max_n,
      absl::Duration timeout = absl::InfiniteDuration()) const;
  // This connection's worker takes no more tasks.
  absl::Status WorkerStop() const;
  // Whether this connection's worker still holds `task_id` — its hand-out
  // `attempt` (WorkItem::attempt; 0: any).
  absl::StatusOr<bool> WorkerHolds(int64_t task_id, int64_t attempt = 0) const;
  // The same for each [task_id, attempt] of `held`, in one round trip.
  absl::StatusOr<std::vector<bool>> WorkerHoldsAll(
      const std::vector<std::pair<int64_t, int64_t>>& held) const;

 private:
  friend class Manager;
  using ObjectProxy::ObjectProxy;
};

}  // namespace mproc

#endif  // MPROC_CLIENT_PROXIES_H_
