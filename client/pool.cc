#include "client/pool.h"

#include <iostream>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/internal/fork_guard.h"
#include "client/internal/pool_callbacks.h"
#include "client/internal/pool_state.h"

namespace mproc {
namespace pool_internal {

// Registers the Pool with the fork guard.
class ForkHook : public internal::ForkAware {
 public:
  explicit ForkHook(Pool* pool) : pool_(pool) {
    internal::RegisterForkAware(this);
  }
  ~ForkHook() override { internal::UnregisterForkAware(this); }
  void PrepareForFork() override { pool_->PauseForFork(); }
  void AfterForkInParent() override { pool_->ResumeAfterFork(); }
  void AfterForkInChild() override {}  // the child has none of its threads

 private:
  Pool* const pool_;
};

}  // namespace pool_internal

namespace {

using pool_internal::ResultState;
using pool_internal::RunCallback;

constexpr size_t kMaxTasksPerSubmit = 2048;
constexpr int64_t kMaxResultsPerRead = 4096;
// How long the receiver waits for a submission in flight to register the
// task of a result that overtook its answer.
constexpr absl::Duration kRegisterPatience = absl::Seconds(5);

int64_t NewInbox() {
  std::random_device rd;
  return static_cast<int64_t>(((uint64_t{rd()} << 32) | rd()) >> 1);
}

}  // namespace

// --- Pool ---

Pool::Pool(PoolProxy proxy, std::string name,
           std::function<int64_t()> instance_changes)
    : proxy_(std::move(proxy)),
      name_(std::move(name)),
      instance_changes_(std::move(instance_changes)),
      instance_seen_(instance_changes_ ? instance_changes_() : 0),
      inbox_(NewInbox()),
      fork_generation_(internal::ForkGeneration()) {
  sender_ = std::make_unique<std::thread>([this] { SendLoop(); });
  receiver_ = std::make_unique<std::thread>([this] { ReceiveLoop(); });
  fork_hook_ = std::make_unique<pool_internal::ForkHook>(this);
}

Pool::~Pool() {
  fork_hook_.reset();
  if (internal::ForkGeneration() != fork_generation_) {
    // A forked child's copy: its threads live only in the parent, and the
    // inbox is the parent's.
    (void)sender_.release();
    (void)receiver_.release();
    return;
  }
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;  // the sender sends what is queued, then ends
  }
  sender_->join();
  // The receiver may be waiting in the manager for results: detaching the
  // inbox answers that call (and starts the results' TTL there).
  for (;;) {
    (void)proxy_.Detach(inbox_);
    absl::MutexLock l(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&receiver_done_),
                             absl::Milliseconds(100))) {
      break;
    }
  }
  receiver_->join();
}

void Pool::PauseForFork() {
  absl::MutexLock l(&mu_);
  paused_ = true;
  // Answer a waiting results call (it is asked again after the fork, which
  // attaches the inbox again), and let a submission in flight finish.
  while (receiving_) {
    mu_.Unlock();
    (void)proxy_.Detach(inbox_);
    mu_.Lock();
    auto returned = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !receiving_;
    };
    mu_.AwaitWithTimeout(absl::Condition(&returned), absl::Milliseconds(50));
  }
  auto quiet = [this]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return sending_ == 0; };
  mu_.Await(absl::Condition(&quiet));
}

void Pool::ResumeAfterFork() {
  absl::MutexLock l(&mu_);
  paused_ = false;
}

void Pool::Enqueue(TaskSpec spec, Handler handler,
                   std::shared_ptr<pool_internal::ResultState> result,
                   bool send_now) {
  std::string name = spec.name;
  Outgoing out{EncodeTaskSpec(std::move(spec)), std::move(name),
               std::move(handler), std::move(result)};
  bool closed = false;
  {
    absl::MutexLock l(&mu_);
    closed = closed_;
    if (!closed) {
      ++unfinished_;
      // A caller that will wait for the result anyway sends it itself when
      // nothing else is queued: one thread hand-off less.
      if (!send_now || !outgoing_.empty() || paused_) {
        outgoing_.push_back(std::move(out));
        return;
      }
      ++sending_;
    }
  }
  if (closed) {
    out.handler(0, absl::FailedPreconditionError(
                       absl::StrCat("pool '", name_, "' is closed")));
    return;
  }
  std::vector<Outgoing> batch;
  batch.push_back(std::move(out));
  SendBatch(batch, 0, 1);
  absl::MutexLock l(&mu_);
  --sending_;
}

void Pool::SendLoop() {
  for (;;) {
    std::vector<Outgoing> batch;
    {
      absl::MutexLock l(&mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return (!outgoing_.empty() && !paused_) || (stopping_ && !paused_);
      };
      mu_.Await(absl::Condition(&work));
      if (outgoing_.empty()) return;  // stopping
      while (!outgoing_.empty() && batch.size() < kMaxTasksPerSubmit) {
        batch.push_back(std::move(outgoing_.front()));
        outgoing_.pop_front();
      }
      ++sending_;
    }
    SendBatch(batch, 0, batch.size());
    absl::MutexLock l(&mu_);
    --sending_;
  }
}

void Pool::SendBatch(std::vector<Outgoing>& batch, size_t begin, size_t end) {
  List specs;
  specs.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) specs.push_back(batch[i].spec);
  std::string warning;
  absl::StatusOr<int64_t> first = proxy_.Submit(inbox_, specs, &warning);
  WarnOnce(warning);
  if (!first.ok() &&
      first.status().code() == absl::StatusCode::kResourceExhausted &&
      end - begin > 1) {
    // Over the manager's message limit: send the halves.
    const size_t mid = begin + (end - begin) / 2;
    SendBatch(batch, begin, mid);
    SendBatch(batch, mid, end);
    return;
  }
  if (!first.ok()) {
    absl::Status error = first.status();
    for (size_t i = begin; i < end; ++i) Finish(batch[i], 0, error);
    return;
  }
  std::vector<std::pair<Outgoing*, Value>> early;
  {
    absl::MutexLock l(&mu_);
    for (size_t i = begin; i < end; ++i) {
      const int64_t id = *first + static_cast<int64_t>(i - begin);
      auto e = early_.find(id);
      if (e != early_.end()) {
        early.emplace_back(&batch[i], std::move(e->second));
        early_.erase(e);
      } else {
        in_flight_[id] =
            InFlight{std::move(batch[i].task), std::move(batch[i].handler)};
      }
      if (batch[i].result != nullptr) {
        absl::MutexLock r(&batch[i].result->mu);
        batch[i].result->task_id = id;
      }
    }
  }
  for (auto& [out, encoded] : early) Deliver(out->task, out->handler, encoded);
}

void Pool::ReceiveLoop() {
  for (;;) {
    {
      absl::MutexLock l(&mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return (unfinished_ > 0 && !paused_) || stopping_;
      };
      mu_.Await(absl::Condition(&work));
      if (stopping_) break;
      receiving_ = true;
    }
    absl::StatusOr<List> results = proxy_.Results(inbox_, kMaxResultsPerRead);
    {
      absl::MutexLock l(&mu_);
      receiving_ = false;
    }
    if (!results.ok()) {
      // The manager is unreachable: the connection reconnects on the next
      // call (with its own backoff); the results wait in the manager —
      // unless it restarted.
      {
        absl::MutexLock l(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                             absl::Milliseconds(200));
      }
      FailLostTasks();
      continue;
    }
    for (const Value& encoded : *results) {
      // Only the header here: a result whose value cannot be read still
      // reaches its caller, as an error (Deliver).
      absl::StatusOr<ResultHeader> header = PeekResult(encoded);
      if (!header.ok()) continue;  // the manager checked it: not ours
      InFlight entry;
      {
        absl::MutexLock l(&mu_);
        // A result can overtake its Submit's answer on the way to the
        // threads: both came on the one stream, in order, and the sender
        // is registering it. Waiting for that keeps callbacks in
        // completion order (bounded, for a result no submission claims).
        const int64_t id = header->task_id;
        auto registered = [this, id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return in_flight_.contains(id) || sending_ == 0;
        };
        mu_.AwaitWithTimeout(absl::Condition(&registered), kRegisterPatience);
        auto it = in_flight_.find(id);
        if (it == in_flight_.end()) {
          early_[id] = encoded;  // its Submit answer is late
          continue;
        }
        entry = std::move(it->second);
        in_flight_.erase(it);
      }
      Deliver(entry.task, entry.handler, encoded);
    }
  }
  absl::MutexLock l(&mu_);
  receiver_done_ = true;
}

void Pool::WarnOnce(const std::string& warning) {
  absl::MutexLock l(&mu_);
  if (warning.empty()) {
    warned_ = false;  // workers are back: warn again next time
    return;
  }
  if (warned_) return;
  warned_ = true;
  std::cerr << "mproc: " << warning << std::endl;
}

void Pool::FailLostTasks() {
  if (!instance_changes_) return;
  // Reconnects, so the instance is known.
  absl::StatusOr<mproc::Map> status = proxy_.Status();
  const int64_t changes = instance_changes_();
  if (changes == instance_seen_ || !status.ok()) return;  // else: next time
  instance_seen_ = changes;
  auto durable = status->find(Value("durable"));
  absl::flat_hash_map<int64_t, InFlight> lost;
  if (durable == status->end() || durable->second != Value(true)) {
    // An in-memory manager: every task it had is gone.
    absl::MutexLock l(&mu_);
    lost.swap(in_flight_);
    early_.clear();
  } else {
    // A manager with a data dir kept its tasks and results: those it still
    // knows carry on (their results come to the same inbox); only the
    // ones it does not know are lost.
    std::vector<int64_t> ids;
    {
      absl::MutexLock l(&mu_);
      for (const auto& [id, entry] : in_flight_) ids.push_back(id);
    }
    for (int64_t id : ids) {
      absl::StatusOr<Value> known = proxy_.GetResult(id, absl::ZeroDuration());
      if (known.ok() ||
          known.status().code() == absl::StatusCode::kDeadlineExceeded) {
        continue;  // finished there, or queued or running
      }
      if (known.status().code() != absl::StatusCode::kNotFound) {
        instance_seen_ = changes - 1;  // cannot tell now: ask again later
        break;
      }
      absl::MutexLock l(&mu_);
      auto it = in_flight_.find(id);
      if (it == in_flight_.end()) continue;  // its result came meanwhile
      lost.emplace(id, std::move(it->second));
      in_flight_.erase(it);
    }
  }
  for (auto& [id, entry] : lost) {
    entry.handler(id, absl::UnavailableError(absl::StrCat(
                          "task '", entry.task, "' (id ", id, ") of pool '",
                          name_, "' was lost: the manager restarted")));
    absl::MutexLock l(&mu_);
    --unfinished_;
  }
}

void Pool::Deliver(const std::string& task, const Handler& handler,
                   const Value& encoded) {
  absl::StatusOr<TaskResult> decoded = DecodeResult(encoded);
  absl::StatusOr<Value> result;
  int64_t id = 0;
  if (!decoded.ok()) {
    absl::StatusOr<ResultHeader> header = PeekResult(encoded);
    if (header.ok()) id = header->task_id;
    result = absl::DataLossError(absl::StrCat(
        "task '", task, "' (id ", id, ") of pool '", name_,
        "': its result cannot be read: ", decoded.status().message()));
  } else {
    id = decoded->task_id;
    if (decoded->outcome.code == absl::StatusCode::kOk) {
      result = std::move(decoded->outcome.value);
    } else {
      result = OutcomeStatus(decoded->outcome, task, id);
    }
  }
  handler(id, std::move(result));
  absl::MutexLock l(&mu_);
  --unfinished_;
}

void Pool::Finish(Outgoing& out, int64_t task_id, const absl::Status& error) {
  out.handler(task_id, error);
  absl::MutexLock l(&mu_);
  --unfinished_;
}

AsyncResult Pool::ApplyAsync(const std::string& task, List args,
                             mproc::Map kwargs, ResultCallback callback,
                             ErrorCallback error_callback,
                             TaskOptions options) {
  return Submit(task, std::move(args), std::move(kwargs), std::move(callback),
                std::move(error_callback), options, /*send_now=*/false);
}

void Pool::ApplyOptions(const TaskOptions& options, TaskSpec* spec) {
  if (options.timeout != absl::InfiniteDuration()) {
    spec->timeout_seconds = absl::ToDoubleSeconds(options.timeout);
  }
  spec->max_retries = options.max_retries;
  if (options.expires != absl::InfiniteDuration()) {
    spec->expires_seconds =
        std::max(1e-6, absl::ToDoubleSeconds(options.expires));
  }
  TaskSchedule& s = spec->schedule;
  s.priority = options.priority;
  s.retry_on = options.retry_on;
  s.retry_backoff = absl::ToDoubleSeconds(options.retry_backoff);
  s.retry_backoff_max = absl::ToDoubleSeconds(options.retry_backoff_max);
  s.delay_seconds = absl::ToDoubleSeconds(options.countdown);
  if (options.eta != absl::InfinitePast()) {
    s.eta_unix =
        std::max(1e-6, absl::ToDoubleSeconds(options.eta - absl::UnixEpoch()));
  }
}

AsyncResult Pool::Submit(const std::string& task, List args, mproc::Map kwargs,
                         ResultCallback callback, ErrorCallback error_callback,
                         const TaskOptions& options, bool send_now) {
  auto state = std::make_shared<ResultState>();
  TaskSpec spec;
  spec.name = task;
  spec.args = std::move(args);
  spec.kwargs = std::move(kwargs);
  ApplyOptions(options, &spec);
  state->cancel = [proxy = proxy_, inbox = inbox_](int64_t id) {
    return proxy.CancelTask(id, inbox);
  };
  Enqueue(
      std::move(spec),
      [state, callback = std::move(callback),
       error_callback = std::move(error_callback)](
          int64_t, absl::StatusOr<Value> result) {
        state->Set(result);
        if (result.ok()) {
          RunCallback(callback, *result);
        } else {
          RunCallback(error_callback, result.status());
        }
      },
      state, send_now);
  return AsyncResult(std::move(state));
}

absl::StatusOr<Value> Pool::Apply(const std::string& task, List args,
                                  mproc::Map kwargs, TaskOptions options) {
  return Submit(task, std::move(args), std::move(kwargs), nullptr, nullptr,
                options, /*send_now=*/true)
      .Get();
}

void Pool::Close() {
  absl::MutexLock l(&mu_);
  closed_ = true;
}

absl::Status Pool::Terminate() {
  {
    absl::MutexLock l(&mu_);
    closed_ = true;
    // Everything queued here reaches the manager first, so it can be
    // cancelled there.
    auto sent = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return outgoing_.empty() && sending_ == 0;
    };
    mu_.Await(absl::Condition(&sent));
  }
  return proxy_.Cancel(inbox_).status();
}

absl::Status Pool::Join(absl::Duration timeout) {
  absl::MutexLock l(&mu_);
  if (!closed_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "pool '", name_, "': join() needs close() or terminate() first"));
  }
  auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return unfinished_ == 0;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&done), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "pool '", name_, "': ", unfinished_, " task(s) still unfinished after ",
        absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Pool::Cancel(int64_t task_id) {
  // As its submitter first (its inbox: "has finished" for a finished one);
  // another client's task needs the admin role.
  absl::StatusOr<std::string> own = proxy_.CancelTask(task_id, inbox_);
  if (own.status().code() != absl::StatusCode::kPermissionDenied) return own;
  return proxy_.CancelTask(task_id);
}

absl::StatusOr<List> Pool::Tasks(const TaskFilter& filter) const {
  mproc::Map f;
  if (!filter.state.empty()) f[Value("state")] = filter.state;
  if (!filter.name.empty()) f[Value("name")] = filter.name;
  if (filter.limit > 0) f[Value("limit")] = filter.limit;
  return proxy_.Tasks(f);
}

absl::StatusOr<mproc::Map> Pool::Task(int64_t task_id) const {
  return proxy_.Task(task_id);
}

absl::StatusOr<List> Pool::RequeueInto(const Value& which) {
  const int64_t inbox = NewInbox();
  absl::StatusOr<List> pairs = proxy_.Requeue(inbox, which);
  // Nobody reads that inbox: its results wait for GetResult, for the TTL.
  (void)proxy_.Detach(inbox);
  return pairs;
}

absl::StatusOr<int64_t> Pool::Requeue(int64_t task_id) {
  absl::StatusOr<List> pairs = RequeueInto(Value(List{task_id}));
  if (!pairs.ok()) return pairs.status();
  if (pairs->size() != 1 || !(*pairs)[0].is_list() ||
      (*pairs)[0].list_value().size() != 2) {
    return absl::InternalError("requeue: the manager's answer is malformed");
  }
  return (*pairs)[0].list_value()[1].As<int64_t>();
}

absl::StatusOr<List> Pool::RequeueDead(const List& task_ids) {
  return RequeueInto(Value(task_ids));
}

absl::StatusOr<List> Pool::RequeueAllDead() {
  return RequeueInto(Value("all"));
}

absl::StatusOr<Value> Pool::GetResult(int64_t task_id, absl::Duration timeout) {
  absl::StatusOr<Value> encoded = proxy_.GetResult(task_id, timeout);
  if (!encoded.ok()) return encoded.status();
  absl::StatusOr<TaskResult> result = DecodeResult(*encoded);
  if (!result.ok()) return result.status();
  if (result->outcome.code != absl::StatusCode::kOk) {
    return OutcomeStatus(result->outcome, "", task_id);
  }
  return std::move(result->outcome.value);
}

}  // namespace mproc
