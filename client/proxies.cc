#include "client/proxies.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/internal/connection.h"
#include "common/op_table.h"
#include "common/value_checks.h"
#include "common/wire.h"

namespace mproc {

ObjectProxy::ObjectProxy(std::shared_ptr<internal::Connection> connection,
                         std::string kind, std::string name)
    : connection_(std::move(connection)),
      kind_(std::move(kind)),
      name_(std::move(name)) {}

const std::string& ObjectProxy::address() const {
  return connection_->address();
}

namespace {

pb::Request NewRequest(pb::Op op, const std::string& name) {
  pb::Request request;
  request.set_op(op);
  request.set_name(name);
  return request;
}

// Sends one request and unpacks its answer.
absl::StatusOr<Value> Send(internal::Connection& connection,
                           pb::Request request) {
  std::vector<pb::Request> requests(1);
  requests[0] = std::move(request);
  std::vector<pb::Response> responses;
  absl::Status sent = connection.Run(std::move(requests), &responses);
  if (!sent.ok()) return sent;
  absl::Status status = StatusFromResponse(responses[0]);
  if (!status.ok()) return status;
  return ValueFromProto(responses[0].result());
}

}  // namespace

absl::Status ObjectProxy::BadArgument(pb::Op op, size_t index,
                                      const absl::Status& fault) const {
  const OpInfo* info = FindOp(op);
  return absl::InvalidArgumentError(absl::StrCat(
      kind_, " '", name_, "': argument ", index + 1, " of ",
      info != nullptr ? info->name : "the call", ": ", fault.message()));
}

absl::StatusOr<Value> ObjectProxy::Invoke(pb::Op op, Args args) const {
  pb::Request request = NewRequest(op, name_);
  request.mutable_args()->Reserve(static_cast<int>(args.size()));
  size_t index = 0;
  for (const internal::ProxyArg& arg : args) {
    // Refused here, a bad value fails this call alone, before the wire.
    if (absl::Status s = CheckValueToSend(arg.value()); !s.ok()) {
      return BadArgument(op, index, s);
    }
    ValueToProto(arg.value(), request.add_args());
    ++index;
  }
  return Send(*connection_, std::move(request));
}

absl::StatusOr<Value> ObjectProxy::InvokeWithMap(pb::Op op,
                                                 const Map& arg) const {
  if (absl::Status s = CheckValueToSend(arg); !s.ok()) {
    return BadArgument(op, 0, s);
  }
  pb::Request request = NewRequest(op, name_);
  MapToProto(arg, request.add_args());
  return Send(*connection_, std::move(request));
}

absl::StatusOr<Value> ObjectProxy::InvokeWithList(pb::Op op,
                                                  const List& arg) const {
  if (absl::Status s = CheckValueToSend(arg); !s.ok()) {
    return BadArgument(op, 0, s);
  }
  pb::Request request = NewRequest(op, name_);
  ListToProto(arg, request.add_args());
  return Send(*connection_, std::move(request));
}

// --- DictProxy ---

absl::StatusOr<Value> DictProxy::Get(const Value& key) const {
  return Invoke(pb::DICT_GET, {key});
}
absl::StatusOr<Value> DictProxy::Get(const Value& key,
                                     const Value& default_value) const {
  return Invoke(pb::DICT_GET, {key, default_value});
}
absl::Status DictProxy::Set(const Value& key, const Value& value) const {
  return InvokeStatus(pb::DICT_SET, {key, value});
}
absl::StatusOr<Value> DictProxy::SetDefault(const Value& key,
                                            const Value& default_value) const {
  return Invoke(pb::DICT_SETDEFAULT, {key, default_value});
}
absl::StatusOr<Value> DictProxy::Pop(const Value& key) const {
  return Invoke(pb::DICT_POP, {key});
}
absl::StatusOr<Value> DictProxy::Pop(const Value& key,
                                     const Value& default_value) const {
  return Invoke(pb::DICT_POP, {key, default_value});
}
absl::Status DictProxy::Delete(const Value& key) const {
  return InvokeStatus(pb::DICT_DELETE, {key});
}
absl::StatusOr<bool> DictProxy::Contains(const Value& key) const {
  return InvokeAs<bool>(pb::DICT_CONTAINS, {key});
}
absl::StatusOr<int64_t> DictProxy::Len() const {
  return InvokeAs<int64_t>(pb::DICT_LEN, {});
}
absl::StatusOr<List> DictProxy::Keys() const {
  return InvokeAs<List>(pb::DICT_KEYS, {});
}
absl::StatusOr<List> DictProxy::Values() const {
  return InvokeAs<List>(pb::DICT_VALUES, {});
}
absl::StatusOr<Map> DictProxy::Items() const {
  return InvokeAs<Map>(pb::DICT_ITEMS, {});
}
absl::Status DictProxy::Update(const Map& entries) const {
  return InvokeWithMap(pb::DICT_UPDATE, entries).status();
}
absl::Status DictProxy::Clear() const {
  return InvokeStatus(pb::DICT_CLEAR, {});
}
absl::StatusOr<Map> DictProxy::GetMany(const List& keys) const {
  absl::StatusOr<Value> found = InvokeWithList(pb::DICT_GET_MANY, keys);
  if (!found.ok()) return found.status();
  return found->As<Map>();
}
absl::Status DictProxy::SetMany(const Map& entries) const {
  return Update(entries);
}
absl::StatusOr<Value> DictProxy::Add(const Value& key,
                                     const Value& delta) const {
  return Invoke(pb::DICT_ADD, {key, delta});
}

// --- ListProxy ---

absl::StatusOr<int64_t> ListProxy::Append(const Value& item) const {
  return InvokeAs<int64_t>(pb::LIST_APPEND, {item});
}
absl::StatusOr<int64_t> ListProxy::Extend(const List& items) const {
  absl::StatusOr<Value> length = InvokeWithList(pb::LIST_EXTEND, items);
  if (!length.ok()) return length.status();
  return length->As<int64_t>();
}
absl::StatusOr<Value> ListProxy::Get(int64_t index) const {
  return Invoke(pb::LIST_GET, {index});
}
absl::Status ListProxy::Set(int64_t index, const Value& item) const {
  return InvokeStatus(pb::LIST_SET, {index, item});
}
absl::Status ListProxy::Insert(int64_t index, const Value& item) const {
  return InvokeStatus(pb::LIST_INSERT, {index, item});
}
absl::StatusOr<Value> ListProxy::Pop(int64_t index) const {
  return Invoke(pb::LIST_POP, {index});
}
absl::Status ListProxy::Remove(const Value& item) const {
  return InvokeStatus(pb::LIST_REMOVE, {item});
}
absl::StatusOr<int64_t> ListProxy::Index(const Value& item) const {
  return InvokeAs<int64_t>(pb::LIST_INDEX, {item});
}
absl::StatusOr<int64_t> ListProxy::Count(const Value& item) const {
  return InvokeAs<int64_t>(pb::LIST_COUNT, {item});
}
absl::StatusOr<int64_t> ListProxy::Len() const {
  return InvokeAs<int64_t>(pb::LIST_LEN, {});
}
absl::StatusOr<List> ListProxy::Slice(std::optional<int64_t> start,
                                      std::optional<int64_t> stop) const {
  return InvokeAs<List>(pb::LIST_SLICE, {Value(start), Value(stop)});
}
absl::Status ListProxy::Clear() const {
  return InvokeStatus(pb::LIST_CLEAR, {});
}
absl::Status ListProxy::SetSlice(std::optional<int64_t> start,
                                 std::optional<int64_t> stop,
                                 const List& items) const {
  return InvokeStatus(pb::LIST_SET_SLICE, {Value(start), Value(stop), items});
}
absl::Status ListProxy::Reverse() const {
  return InvokeStatus(pb::LIST_REVERSE, {});
}
absl::Status ListProxy::Sort(bool reverse) const {
  return InvokeStatus(pb::LIST_SORT, {reverse});
}

// --- ValueProxy ---

absl::StatusOr<Value> ValueProxy::Get() const {
  return Invoke(pb::VALUE_GET, {});
}
absl::Status ValueProxy::Set(const Value& v) const {
  return InvokeStatus(pb::VALUE_SET, {v});
}
absl::StatusOr<Value> ValueProxy::Add(const Value& delta) const {
  return Invoke(pb::VALUE_ADD, {delta});
}
absl::StatusOr<bool> ValueProxy::CompareAndSwap(const Value& expected,
                                                const Value& desired) const {
  absl::StatusOr<Value> result = Invoke(pb::VALUE_CAS, {expected, desired});
  if (!result.ok()) return result.status();
  if (!result->is_list() || result->list_value().empty()) {
    return absl::InternalError("compare_and_swap: malformed answer");
  }
  return result->list_value()[0].As<bool>();
}

// --- ArrayProxy ---

absl::StatusOr<int64_t> ArrayProxy::Len() const {
  return InvokeAs<int64_t>(pb::ARRAY_LEN, {});
}
absl::StatusOr<Value> ArrayProxy::Get(int64_t index) const {
  return Invoke(pb::ARRAY_GET, {index});
}
absl::Status ArrayProxy::Set(int64_t index, const Value& v) const {
  return InvokeStatus(pb::ARRAY_SET, {index, v});
}
absl::StatusOr<List> ArrayProxy::Slice(std::optional<int64_t> start,
                                       std::optional<int64_t> stop) const {
  return InvokeAs<List>(pb::ARRAY_SLICE, {Value(start), Value(stop)});
}
absl::StatusOr<Value> ArrayProxy::Add(int64_t index, const Value& delta) const {
  return Invoke(pb::ARRAY_ADD, {index, delta});
}

// --- NamespaceProxy ---

absl::StatusOr<Value> NamespaceProxy::Get(const std::string& attribute) const {
  return Invoke(pb::NS_GET, {attribute});
}
absl::Status NamespaceProxy::Set(const std::string& attribute,
                                 const Value& v) const {
  return InvokeStatus(pb::NS_SET, {attribute, v});
}
absl::Status NamespaceProxy::Delete(const std::string& attribute) const {
  return InvokeStatus(pb::NS_DELETE, {attribute});
}
absl::StatusOr<Map> NamespaceProxy::Items() const {
  return InvokeAs<Map>(pb::NS_LIST, {});
}

namespace {
// A timeout argument: null for none, else seconds.
Value TimeoutValue(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return Value();
  return Value(absl::ToDoubleSeconds(timeout));
}
}  // namespace

absl::Status QueueProxy::Put(const Value& item, absl::Duration timeout) const {
  return InvokeStatus(pb::QUEUE_PUT, {item, true, TimeoutValue(timeout)});
}
absl::Status QueueProxy::PutNowait(const Value& item) const {
  return InvokeStatus(pb::QUEUE_PUT, {item, false});
}
absl::StatusOr<Value> QueueProxy::Get(absl::Duration timeout) const {
  return Invoke(pb::QUEUE_GET, {true, TimeoutValue(timeout)});
}
absl::StatusOr<Value> QueueProxy::GetNowait() const {
  return Invoke(pb::QUEUE_GET, {false});
}
absl::StatusOr<int64_t> QueueProxy::Size() const {
  return InvokeAs<int64_t>(pb::QUEUE_SIZE, {});
}
absl::StatusOr<bool> QueueProxy::Empty() const {
  return InvokeAs<bool>(pb::QUEUE_EMPTY, {});
}
absl::StatusOr<bool> QueueProxy::Full() const {
  return InvokeAs<bool>(pb::QUEUE_FULL, {});
}
absl::Status QueueProxy::PutMany(const mproc::List& items) const {
  absl::StatusOr<Value> r = InvokeWithList(pb::QUEUE_PUT_MANY, items);
  return r.status();
}
absl::StatusOr<mproc::List> QueueProxy::GetMany(int64_t max_n,
                                                absl::Duration timeout) const {
  return InvokeAs<mproc::List>(pb::QUEUE_GET_MANY,
                               {max_n, TimeoutValue(timeout)});
}

absl::Status QueueProxy::TaskDone() const {
  return InvokeStatus(pb::QUEUE_TASK_DONE, {});
}
absl::Status QueueProxy::Join(absl::Duration timeout) const {
  return InvokeStatus(pb::QUEUE_JOIN, {TimeoutValue(timeout)});
}
absl::Status QueueProxy::Close() const {
  return InvokeStatus(pb::QUEUE_CLOSE, {});
}

namespace {
// Identifies the calling thread to the manager (lock ownership): unique
// within this process, whose session tells processes apart.
int64_t ThreadToken() {
  static std::atomic<int64_t> next{1};
  thread_local const int64_t token = next.fetch_add(1);
  return token;
}

// An acquire's answer: the grant's fencing token, or false (0).
absl::StatusOr<int64_t> GrantToken(absl::StatusOr<Value> answer) {
  if (!answer.ok()) return answer.status();
  if (answer->is_bool() && !answer->bool_value()) return 0;
  if (answer->is_int() && answer->int_value() > 0) return answer->int_value();
  return absl::InternalError(
      absl::StrCat("acquire answered ", answer->ToString(),
                   "; expected a fencing token or false"));
}

absl::StatusOr<bool> Granted(absl::StatusOr<Value> answer) {
  absl::StatusOr<int64_t> token = GrantToken(std::move(answer));
  if (!token.ok()) return token.status();
  return *token > 0;
}
}  // namespace

absl::StatusOr<bool> LockProxy::Acquire(absl::Duration timeout) const {
  return Granted(
      Invoke(pb::LOCK_ACQUIRE, {ThreadToken(), true, TimeoutValue(timeout)}));
}
absl::StatusOr<bool> LockProxy::TryAcquire() const {
  return Granted(Invoke(pb::LOCK_ACQUIRE, {ThreadToken(), false}));
}
absl::StatusOr<int64_t> LockProxy::AcquireToken(absl::Duration timeout) const {
  return GrantToken(
      Invoke(pb::LOCK_ACQUIRE, {ThreadToken(), true, TimeoutValue(timeout)}));
}
absl::Status LockProxy::Release() const {
  return InvokeStatus(pb::LOCK_RELEASE, {ThreadToken()});
}
absl::StatusOr<bool> LockProxy::Locked() const {
  return InvokeAs<bool>(pb::LOCK_LOCKED, {});
}

ScopedLock::ScopedLock(const LockProxy& lock, absl::Duration timeout)
    : lock_(lock) {
  absl::StatusOr<bool> taken = lock_.Acquire(timeout);
  if (!taken.ok()) {
    status_ = taken.status();
  } else if (!*taken) {
    status_ = absl::DeadlineExceededError(
        absl::StrCat(lock_.kind(), " '", lock_.name(), "' not acquired within ",
                     absl::FormatDuration(timeout)));
  }
}
ScopedLock::~ScopedLock() {
  if (status_.ok()) lock_.Release().IgnoreError();
}

absl::StatusOr<bool> SemaphoreProxy::Acquire(absl::Duration timeout) const {
  return InvokeAs<bool>(pb::SEM_ACQUIRE, {true, TimeoutValue(timeout)});
}
absl::StatusOr<bool> SemaphoreProxy::TryAcquire() const {
  return InvokeAs<bool>(pb::SEM_ACQUIRE, {false});
}
absl::Status SemaphoreProxy::Release(int64_t n) const {
  return InvokeStatus(pb::SEM_RELEASE, {n});
}
absl::StatusOr<int64_t> SemaphoreProxy::Value() const {
  return InvokeAs<int64_t>(pb::SEM_VALUE, {});
}

absl::Status EventProxy::Set() const { return InvokeStatus(pb::EVENT_SET, {}); }
absl::Status EventProxy::Clear() const {
  return InvokeStatus(pb::EVENT_CLEAR, {});
}
absl::StatusOr<bool> EventProxy::IsSet() const {
  return InvokeAs<bool>(pb::EVENT_IS_SET, {});
}
absl::StatusOr<bool> EventProxy::Wait(absl::Duration timeout) const {
  return InvokeAs<bool>(pb::EVENT_WAIT, {TimeoutValue(timeout)});
}

absl::StatusOr<bool> ConditionProxy::Acquire(absl::Duration timeout) const {
  return Granted(
      Invoke(pb::COND_ACQUIRE, {ThreadToken(), true, TimeoutValue(timeout)}));
}
absl::Status ConditionProxy::Release() const {
  return InvokeStatus(pb::COND_RELEASE, {ThreadToken()});
}
absl::StatusOr<bool> ConditionProxy::Wait(absl::Duration timeout) const {
  return InvokeAs<bool>(pb::COND_WAIT, {ThreadToken(), TimeoutValue(timeout)});
}
absl::StatusOr<bool> ConditionProxy::WaitFor(
    const std::function<bool()>& predicate, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  bool result = predicate();
  while (!result) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    absl::StatusOr<bool> notified = Wait(left);
    if (!notified.ok()) return notified.status();
    result = predicate();
  }
  return result;
}
absl::StatusOr<int64_t> ConditionProxy::Notify(int64_t n) const {
  return InvokeAs<int64_t>(pb::COND_NOTIFY, {n, ThreadToken()});
}
absl::StatusOr<int64_t> ConditionProxy::NotifyAll() const {
  return InvokeAs<int64_t>(pb::COND_NOTIFY_ALL, {ThreadToken()});
}

absl::StatusOr<int64_t> BarrierProxy::Wait(
    std::optional<absl::Duration> timeout) const {
  return InvokeAs<int64_t>(
      pb::BARRIER_WAIT,
      {timeout.has_value() ? TimeoutValue(*timeout) : mproc::Value()});
}
absl::Status BarrierProxy::Abort() const {
  return InvokeStatus(pb::BARRIER_ABORT, {});
}
absl::Status BarrierProxy::Reset() const {
  return InvokeStatus(pb::BARRIER_RESET, {});
}
absl::StatusOr<Map> BarrierProxy::State() const {
  return InvokeAs<Map>(pb::BARRIER_STATE, {});
}
absl::StatusOr<int64_t> BarrierProxy::Parties() const {
  absl::StatusOr<Map> state = State();
  if (!state.ok()) return state.status();
  return (*state)[mproc::Value("parties")].As<int64_t>();
}
absl::StatusOr<int64_t> BarrierProxy::NWaiting() const {
  absl::StatusOr<Map> state = State();
  if (!state.ok()) return state.status();
  return (*state)[mproc::Value("n_waiting")].As<int64_t>();
}
absl::StatusOr<bool> BarrierProxy::Broken() const {
  absl::StatusOr<Map> state = State();
  if (!state.ok()) return state.status();
  return (*state)[mproc::Value("broken")].As<bool>();
}

// --- PoolProxy ---

absl::StatusOr<int64_t> PoolProxy::Submit(int64_t inbox, const List& tasks,
                                          std::string* warning) const {
  absl::StatusOr<Value> answer = Invoke(pb::POOL_SUBMIT, {inbox, tasks});
  if (!answer.ok()) return answer.status();
  if (warning != nullptr) warning->clear();
  if (answer->is_list() && answer->list_value().size() == 2 &&
      answer->list_value()[1].is_string()) {
    if (warning != nullptr) *warning = answer->list_value()[1].string_value();
    return answer->list_value()[0].As<int64_t>();
  }
  return answer->As<int64_t>();
}
absl::StatusOr<List> PoolProxy::Results(int64_t inbox, int64_t max_n,
                                        absl::Duration timeout) const {
  return InvokeAs<List>(pb::POOL_RESULTS,
                        {inbox, max_n, TimeoutValue(timeout)});
}
absl::StatusOr<Value> PoolProxy::GetResult(int64_t task_id,
                                           absl::Duration timeout) const {
  return Invoke(pb::POOL_GET, {task_id, TimeoutValue(timeout)});
}
absl::StatusOr<int64_t> PoolProxy::Cancel(int64_t inbox) const {
  return InvokeAs<int64_t>(pb::POOL_CANCEL, {inbox});
}
absl::Status PoolProxy::Detach(int64_t inbox) const {
  return InvokeStatus(pb::POOL_DETACH, {inbox});
}
absl::StatusOr<Map> PoolProxy::Status() const {
  return InvokeAs<Map>(pb::POOL_STATUS, {});
}
absl::StatusOr<List> PoolProxy::Tasks(const Map& filter) const {
  return InvokeAs<List>(pb::POOL_TASKS, {filter});
}
absl::StatusOr<Map> PoolProxy::Task(int64_t task_id) const {
  return InvokeAs<Map>(pb::POOL_TASK, {task_id});
}
absl::StatusOr<std::string> PoolProxy::CancelTask(int64_t task_id,
                                                  int64_t inbox) const {
  if (inbox == 0) return InvokeAs<std::string>(pb::POOL_CANCEL_TASK, {task_id});
  return InvokeAs<std::string>(pb::POOL_CANCEL_TASK, {task_id, inbox});
}
absl::StatusOr<List> PoolProxy::Requeue(int64_t inbox,
                                        const Value& which) const {
  return InvokeAs<List>(pb::POOL_REQUEUE, {inbox, which});
}
absl::StatusOr<List> PoolProxy::WorkerNext(const Map& worker, const List& done,
                                           const List& returned, int64_t max_n,
                                           absl::Duration timeout) const {
  return InvokeAs<List>(pb::POOL_WORKER_NEXT,
                        {worker, done, returned, max_n, TimeoutValue(timeout)});
}
absl::Status PoolProxy::WorkerStop() const {
  return InvokeStatus(pb::POOL_WORKER_STOP, {});
}
absl::StatusOr<std::vector<bool>> PoolProxy::WorkerHoldsAll(
    const std::vector<std::pair<int64_t, int64_t>>& held) const {
  List pairs;
  pairs.reserve(held.size());
  for (const auto& [task_id, attempt] : held) {
    pairs.push_back(List{task_id, attempt});
  }
  absl::StatusOr<List> answers =
      InvokeAs<List>(pb::POOL_WORKER_HOLDS, {Value(std::move(pairs))});
  if (!answers.ok()) return answers.status();
  std::vector<bool> holds;
  for (const Value& v : *answers)
    holds.push_back(v.is_bool() && v.bool_value());
  if (holds.size() != held.size()) {
    return absl::InternalError("worker_holds answered the wrong number");
  }
  return holds;
}

absl::StatusOr<bool> PoolProxy::WorkerHolds(int64_t task_id,
                                            int64_t attempt) const {
  if (attempt == 0) return InvokeAs<bool>(pb::POOL_WORKER_HOLDS, {task_id});
  return InvokeAs<bool>(pb::POOL_WORKER_HOLDS, {task_id, attempt});
}

}  // namespace mproc
