// A shared FIFO queue with an optional maxsize, like Manager().Queue() and
// JoinableQueue(): blocking get, put and join park their calls (parking.h)
// instead of holding a thread.
//
// Invariants: getters wait only while the queue is empty, putters only
// while it is full, joiners while tasks are unfinished; each line is served
// in arrival order. An item moves to a getter only if its call accepts the
// answer (the call is still alive), and comes back if that answer is never
// written; a waiting putter's item enters only if its call accepts the
// confirmation. Every put counts an unfinished task until task_done.
//
// Durability (object_log.h): each item is recorded under its own sequence
// number ('i' + seq) when it is put, and its record deleted once the
// client it went to has it (the answer's give-back dropped unused: on a
// session, when the client acknowledges the frame) — so an item in flight
// when the manager dies is queued again at restart (at-least-once). The
// unfinished count ('u') and the closed flag ('c') are recorded as they
// change. Every write fails UNAVAILABLE, changing nothing, if its record
// cannot be written.
#ifndef MPROC_SERVER_QUEUE_OBJECT_H_
#define MPROC_SERVER_QUEUE_OBJECT_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/value.h"
#include "server/deadline_timer.h"
#include "server/parking.h"
#include "server/parking_object.h"

namespace mproc {

class QueueObject : public ParkingObject {
 public:
  // maxsize 0: unbounded. Timeouts run on `timer`, which must outlive the
  // queue's parked calls (the manager's timer lives for the process).
  QueueObject(std::string name, int64_t maxsize, DeadlineTimer* timer);

  int64_t maxsize() const { return maxsize_; }
  int64_t Size() const override;
  // {"maxsize", "getters", "putters", "joiners", "unfinished", "closed"}.
  Map Details() const override;
  bool Full() const;

  // Appends `item`, or hands it straight to the oldest waiting getter.
  // When full: RESOURCE_EXHAUSTED if !block or `timeout` is zero; else parks
  // the call (call->parked) until there is room (then answers null) or the
  // timeout (then RESOURCE_EXHAUSTED). FAILED_PRECONDITION if the queue is
  // closed, or if it would park where the call cannot wait (null sink).
  absl::StatusOr<Value> Put(Value item, bool block, absl::Duration timeout,
                            CallContext* call);

  // Takes the oldest item; when empty, NOT_FOUND or parks as Put does.
  // OUT_OF_RANGE once the queue is closed and empty.
  absl::StatusOr<Value> Get(bool block, absl::Duration timeout,
                            CallContext* call);

  // Appends all of `items` or none (RESOURCE_EXHAUSTED if they do not fit);
  // never waits. FAILED_PRECONDITION if closed.
  absl::Status PutMany(List items);

  // Takes 1..max_n items as a list — fewer if more would not fit in one
  // answer (call->answer_limit); while empty waits up to `timeout` (zero:
  // NOT_FOUND at once). OUT_OF_RANGE once closed and empty.
  absl::StatusOr<Value> GetMany(int64_t max_n, absl::Duration timeout,
                                CallContext* call);

  // Marks one task done. FAILED_PRECONDITION if none is unfinished
  // (Python's "task_done() called too many times").
  absl::Status TaskDone();

  // Waits until every item put has been marked done. DEADLINE_EXCEEDED
  // after `timeout`.
  absl::StatusOr<Value> Join(absl::Duration timeout, CallContext* call);

  // Refuses further puts; waiting putters fail, waiting getters fail once
  // the queue is empty. Idempotent.
  absl::Status Close();

  void Snapshot(std::vector<LogChange>* out) const override;
  absl::Status RestoreMany(
      absl::Span<const std::pair<std::string, std::string>> records) override;

 private:
  absl::Status RestoreLocked(absl::string_view key, absl::string_view value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // An item and its record's number (0 when the queue is not durable).
  struct Item {
    uint64_t seq = 0;
    Value value;
  };
  // The records to delete once a client has `items` (null when the queue
  // is not durable).
  std::shared_ptr<HandedOverRecords> HandOverLocked(
      const std::vector<Item>& items) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  enum Line { kGetters, kPutters, kJoiners, kLines };

  absl::StatusOr<Value> TimeoutAnswer(int line) const override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EmptyError() const;
  absl::Status FullError() const;
  absl::Status ClosedError() const;
  absl::Status DrainedError() const;
  // Records `items` (numbering them) and the unfinished count they add.
  absl::Status RecordPutsLocked(absl::Span<Item> items)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes the records of items that never entered after all.
  void ForgetLocked(const Item& item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds one recorded item (to the oldest live getter, else the queue)
  // and counts the task.
  void AddLocked(Item item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands `item` to the oldest live getter; false if there is none.
  bool HandToGetter(Item& item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The give-back of an answer carrying `items`; their records are
  // deleted once the client has them (HandedOverRecords).
  std::function<void()> GiveBackOf(std::vector<Item> items, bool as_list)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves waiting putters' items in while there is room.
  void AdmitPutters() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasRoomLocked(size_t n) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // An answer the client never received: its item goes first in line
  // again (or to a waiting getter).
  void Return(Item item);
  // The same for a get_many's items, which go back in their order.
  void ReturnMany(std::vector<Item> items);

  // Constant after construction.
  const int64_t maxsize_;

  std::deque<Item> items_ ABSL_GUARDED_BY(mu_);
  int64_t unfinished_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mproc

#endif  // MPROC_SERVER_QUEUE_OBJECT_H_
