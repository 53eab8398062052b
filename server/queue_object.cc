#include "server/queue_object.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/object_errors.h"
#include "common/value_codec.h"
#include "common/wire.h"
#include "server/answer_budget.h"

namespace mproc {
namespace {

constexpr char kItemTag = 'i';
constexpr char kUnfinishedKey[] = "u";
constexpr char kClosedKey[] = "c";

}  // namespace

QueueObject::QueueObject(std::string name, int64_t maxsize,
                         DeadlineTimer* timer)
    : ParkingObject(pb::QUEUE, std::move(name), timer, kLines),
      maxsize_(maxsize) {}

int64_t QueueObject::Size() const {
  absl::MutexLock l(&mu_);
  return static_cast<int64_t>(items_.size());
}

Map QueueObject::Details() const {
  absl::MutexLock l(&mu_);
  return Map{{"maxsize", maxsize_},          {"getters", Waiting(kGetters)},
             {"putters", Waiting(kPutters)}, {"joiners", Waiting(kJoiners)},
             {"unfinished", unfinished_},    {"closed", closed_}};
}

bool QueueObject::Full() const {
  absl::MutexLock l(&mu_);
  return !HasRoomLocked(1);
}

bool QueueObject::HasRoomLocked(size_t n) const {
  return maxsize_ == 0 || items_.size() + n <= static_cast<size_t>(maxsize_);
}

absl::Status QueueObject::EmptyError() const {
  return QueueEmptyError(Describe());
}

absl::Status QueueObject::FullError() const {
  return QueueFullError(Describe(), maxsize_);
}

absl::Status QueueObject::ClosedError() const {
  return QueueClosedError(Describe());
}

absl::Status QueueObject::DrainedError() const {
  return QueueDrainedError(Describe());
}

absl::StatusOr<Value> QueueObject::TimeoutAnswer(int line) const {
  switch (line) {
    case kGetters:
      return EmptyError();
    case kPutters:
      return FullError();
    default:
      break;
  }
  return absl::DeadlineExceededError(absl::StrCat(
      Describe(), ": join timed out with ", unfinished_, " unfinished tasks"));
}

std::shared_ptr<HandedOverRecords> QueueObject::HandOverLocked(
    const std::vector<Item>& items) const {
  if (!log().enabled()) return nullptr;
  std::vector<std::string> keys;
  keys.reserve(items.size());
  for (const Item& item : items)
    keys.push_back(SequenceKey(kItemTag, item.seq));
  return std::make_shared<HandedOverRecords>(log(), Describe(),
                                             std::move(keys));
}

std::function<void()> QueueObject::GiveBackOf(std::vector<Item> items,
                                              bool as_list) {
  std::shared_ptr<HandedOverRecords> records = HandOverLocked(items);
  return HandedOverRecords::GiveBack(
      std::move(records),
      as_list ? Later(&QueueObject::ReturnMany, std::move(items))
              : Later(&QueueObject::Return, std::move(items.front())));
}

absl::Status QueueObject::RecordPutsLocked(absl::Span<Item> items) {
  if (!log().enabled()) return absl::OkStatus();
  std::vector<LogChange> changes;
  changes.reserve(items.size() + 1);
  for (Item& item : items) {
    item.seq = log().NextSequence();
    changes.push_back(LogChange::Put(SequenceKey(kItemTag, item.seq),
                                     EncodeRecord(item.value)));
  }
  changes.push_back(LogChange::Put(
      kUnfinishedKey,
      EncodeRecord(Value(unfinished_ + static_cast<int64_t>(items.size())))));
  return log().Write(Describe(), changes);
}

void QueueObject::ForgetLocked(const Item& item) {
  if (!log().enabled()) return;
  // The item, and the unfinished task its record counted.
  const LogChange changes[] = {
      LogChange::Delete(SequenceKey(kItemTag, item.seq)),
      LogChange::Put(kUnfinishedKey, EncodeRecord(Value(unfinished_)))};
  log().Write(Describe(), changes).IgnoreError();  // else back at restart
}

void QueueObject::Snapshot(std::vector<LogChange>* out) const {
  absl::MutexLock l(&mu_);
  for (const Item& item : items_) {
    out->push_back(LogChange::Put(SequenceKey(kItemTag, item.seq),
                                  EncodeRecord(item.value)));
  }
  out->push_back(
      LogChange::Put(kUnfinishedKey, EncodeRecord(Value(unfinished_))));
  if (closed_) out->push_back(LogChange::Put(kClosedKey, ""));
}

absl::Status QueueObject::RestoreMany(
    absl::Span<const std::pair<std::string, std::string>> records) {
  absl::MutexLock l(&mu_);
  for (const auto& [key, value] : records) {
    if (absl::Status s = RestoreLocked(key, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status QueueObject::RestoreLocked(absl::string_view key,
                                        absl::string_view value) {
  uint64_t seq = 0;
  if (ParseSequenceKey(key, kItemTag, &seq)) {
    absl::StatusOr<Value> item = DecodeValue(value);
    if (!item.ok()) {
      return absl::DataLossError(
          absl::StrCat(Describe(), ": item ", seq,
                       " of its record: ", item.status().message()));
    }
    log().SawSequence(seq);
    items_.push_back(Item{seq, *std::move(item)});
    return absl::OkStatus();
  }
  if (key == kUnfinishedKey) {
    absl::StatusOr<Value> n = DecodeValue(value);
    if (!n.ok() || !n->is_int() || n->int_value() < 0) {
      return absl::DataLossError(
          absl::StrCat(Describe(), ": its unfinished count is damaged"));
    }
    unfinished_ = n->int_value();
    return absl::OkStatus();
  }
  if (key == kClosedKey) {
    closed_ = true;
    return absl::OkStatus();
  }
  return absl::DataLossError(
      absl::StrCat(Describe(), ": its record holds an unknown key"));
}

void QueueObject::Return(Item item) {
  absl::MutexLock l(&mu_);
  // Already counted as a task; first in line again.
  if (!HandToGetter(item)) items_.push_front(std::move(item));
}

void QueueObject::ReturnMany(std::vector<Item> items) {
  absl::MutexLock l(&mu_);
  size_t handed = 0;
  while (handed < items.size() && HandToGetter(items[handed])) ++handed;
  for (size_t i = items.size(); i > handed; --i) {
    items_.push_front(std::move(items[i - 1]));
  }
}

bool QueueObject::HandToGetter(Item& item) {
  while (Waiting(kGetters) > 0) {
    Waiter getter = PopWaiter(kGetters);
    const bool as_list = getter.count > 0;
    const Value result = as_list ? Value(List{item.value}) : item.value;
    std::shared_ptr<HandedOverRecords> records = HandOverLocked({item});
    std::function<void()> back =
        as_list ? Later(&QueueObject::ReturnMany, std::vector<Item>{item})
                : Later(&QueueObject::Return, item);
    if (getter.sink->Deliver(
            Answer(getter.request_id, result),
            HandedOverRecords::GiveBack(records, std::move(back)),
            GiveBack::kIfUnreceived)) {
      return true;
    }
    // That caller is gone: the item goes to the next one, or the queue.
    if (records != nullptr) records->Cancel();
  }
  return false;
}

void QueueObject::AddLocked(Item item) {
  ++unfinished_;
  if (!HandToGetter(item)) items_.push_back(std::move(item));
}

void QueueObject::AdmitPutters() {
  while (Waiting(kPutters) > 0 && HasRoomLocked(1)) {
    Waiter putter = PopWaiter(kPutters);
    Item item{0, std::move(putter.item)};
    if (absl::Status s = RecordPutsLocked({&item, 1}); !s.ok()) {
      putter.sink->Deliver(ErrorAnswer(putter.request_id, s));
      continue;
    }
    // The put counts only if its caller hears that it did.
    if (putter.sink->Deliver(Answer(putter.request_id, Value()))) {
      AddLocked(std::move(item));
    } else {
      ForgetLocked(item);
    }
  }
}

absl::StatusOr<Value> QueueObject::Put(Value item, bool block,
                                       absl::Duration timeout,
                                       CallContext* call) {
  absl::MutexLock l(&mu_);
  if (closed_) return ClosedError();
  // Getters wait only while the queue is empty, so room is no question.
  if (Waiting(kGetters) > 0 || HasRoomLocked(1)) {
    Item recorded{0, std::move(item)};
    if (absl::Status s = RecordPutsLocked({&recorded, 1}); !s.ok()) return s;
    AddLocked(std::move(recorded));
    return Value();
  }
  if (!block || timeout <= absl::ZeroDuration()) return FullError();
  Waiter waiter;
  waiter.item = std::move(item);
  return Park(kPutters, std::move(waiter), timeout, call, "put");
}

absl::StatusOr<Value> QueueObject::Get(bool block, absl::Duration timeout,
                                       CallContext* call) {
  absl::MutexLock l(&mu_);
  if (!items_.empty()) {
    Item item = std::move(items_.front());
    items_.pop_front();
    AdmitPutters();
    Value out = item.value;
    call->give_back = GiveBackOf({std::move(item)}, /*as_list=*/false);
    return out;
  }
  if (closed_) return DrainedError();
  if (!block || timeout <= absl::ZeroDuration()) return EmptyError();
  return Park(kGetters, Waiter{}, timeout, call, "get");
}

absl::Status QueueObject::PutMany(List items) {
  absl::MutexLock l(&mu_);
  if (closed_) return ClosedError();
  // Items that waiting getters take never occupy room. (A getter whose
  // caller has just gone leaves its item in the queue, which may then hold
  // that many more than maxsize.)
  const size_t to_getters =
      std::min(items.size(), static_cast<size_t>(Waiting(kGetters)));
  if (!HasRoomLocked(items.size() - to_getters)) return FullError();
  std::vector<Item> recorded;
  recorded.reserve(items.size());
  for (Value& item : items) recorded.push_back(Item{0, std::move(item)});
  if (absl::Status s = RecordPutsLocked(absl::MakeSpan(recorded)); !s.ok()) {
    return s;
  }
  for (Item& item : recorded) AddLocked(std::move(item));
  return absl::OkStatus();
}

absl::StatusOr<Value> QueueObject::GetMany(int64_t max_n,
                                           absl::Duration timeout,
                                           CallContext* call) {
  absl::MutexLock l(&mu_);
  if (!items_.empty()) {
    // Up to max_n items, and no more than fit in one answer: the rest
    // stay queued for the next call.
    AnswerBudget budget(call->answer_limit);
    std::vector<Item> taken;
    List out;
    while (!items_.empty() && static_cast<int64_t>(out.size()) < max_n &&
           (budget.Spend(items_.front().value) || out.empty())) {
      out.push_back(items_.front().value);
      taken.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    AdmitPutters();
    call->give_back = GiveBackOf(std::move(taken), /*as_list=*/true);
    return Value(std::move(out));
  }
  if (closed_) return DrainedError();
  if (timeout <= absl::ZeroDuration()) return EmptyError();
  Waiter waiter;
  waiter.count = max_n;
  return Park(kGetters, std::move(waiter), timeout, call, "get_many");
}

absl::Status QueueObject::TaskDone() {
  absl::MutexLock l(&mu_);
  if (unfinished_ == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(), ": task_done called more times than items were put"));
  }
  if (log().enabled()) {
    absl::Status s = log().Put(Describe(), kUnfinishedKey,
                               EncodeRecord(Value(unfinished_ - 1)));
    if (!s.ok()) return s;
  }
  if (--unfinished_ == 0) {
    while (Waiting(kJoiners) > 0) {
      Waiter joiner = PopWaiter(kJoiners);
      joiner.sink->Deliver(Answer(joiner.request_id, Value()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> QueueObject::Join(absl::Duration timeout,
                                        CallContext* call) {
  absl::MutexLock l(&mu_);
  if (unfinished_ == 0) return Value();
  if (timeout <= absl::ZeroDuration()) return TimeoutAnswer(kJoiners);
  return Park(kJoiners, Waiter{}, timeout, call, "join");
}

absl::Status QueueObject::Close() {
  absl::MutexLock l(&mu_);
  if (closed_) return absl::OkStatus();
  if (absl::Status s = log().Put(Describe(), kClosedKey, ""); !s.ok()) return s;
  closed_ = true;
  FailAll(kPutters, ClosedError());
  // Getters wait only while the queue is empty: nothing will come now.
  FailAll(kGetters, DrainedError());
  return absl::OkStatus();
}

}  // namespace mproc
