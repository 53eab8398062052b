#include "worker/task_feed.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace mproc {
namespace {

constexpr absl::Duration kMaxBackoff = absl::Seconds(2);

}  // namespace

bool TasksStillHeld(Manager& manager, int64_t stream) {
  // A broken stream fails this call (and the next opens a new one).
  absl::StatusOr<ServerInfo> info = manager.Info();
  return !(!info.ok() &&
           info.status().code() == absl::StatusCode::kUnavailable) &&
         manager.streams_opened() == stream;
}

TaskFeed::TaskFeed(const PoolProxy& proxy, Manager* manager, Map info,
                   const RunnerContext& context, int64_t limit,
                   absl::Duration patience, absl::Duration recheck_after)
    : proxy_(proxy),
      manager_(manager),
      info_(std::move(info)),
      context_(context),
      limit_(limit),
      patience_(patience),
      recheck_after_(recheck_after) {
  prefetcher_ = std::thread([this] { PrefetchLoop(); });
  if (patience_ > absl::ZeroDuration()) {
    reclaimer_ = std::thread([this] { ReclaimLoop(); });
  }
}

TaskFeed::~TaskFeed() { Finish(); }

std::optional<WorkItem> TaskFeed::NextTask(int64_t* stream) {
  absl::MutexLock l(&mu_);
  running_ = false;
  for (;;) {
    if (stopping_ || fenced_) return std::nullopt;
    if (!items_.empty() && absl::Now() - batch_time_ > recheck_after_) {
      // Held long (behind a long task, or paused): which are still ours?
      // One round trip for all in hand.
      const int64_t held_on = batch_stream_;
      std::vector<std::pair<int64_t, int64_t>> held;
      for (const WorkItem& item : items_) {
        held.emplace_back(item.task_id, item.attempt);
      }
      mu_.Unlock();
      absl::StatusOr<std::vector<bool>> holds = proxy_.WorkerHoldsAll(held);
      const bool stream_stands = holds.ok()
                                     ? manager_->streams_opened() == held_on
                                     : TasksStillHeld(*manager_, held_on);
      mu_.Lock();
      if (!stream_stands) {
        fenced_ = true;
        items_.clear();  // the manager has them back
        return std::nullopt;
      }
      if (holds.ok()) {
        // Those cancelled or timed out in hand: the manager ended them.
        // (Only this thread takes items out; the reclaimer may have given
        // them all back meanwhile.)
        std::deque<WorkItem> kept;
        for (WorkItem& item : items_) {
          auto at = std::find(held.begin(), held.end(),
                              std::make_pair(item.task_id, item.attempt));
          if (at == held.end() || (*holds)[at - held.begin()]) {
            kept.push_back(std::move(item));
          }
        }
        items_.swap(kept);
      }
      batch_time_ = absl::Now();
      continue;
    }
    if (!items_.empty()) break;
    if (fetching_) {
      // The prefetch is out: wait for its answer.
      auto answered = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !items_.empty() || !fetching_ || stopping_;
      };
      mu_.Await(absl::Condition(&answered));
      continue;
    }
    if (RemainingLocked() == 0) return std::nullopt;
    // Idle: ask on this thread (no hand-off), carrying the results.
    FetchLocked();
  }
  WorkItem item = std::move(items_.front());
  items_.pop_front();
  running_ = true;
  ++running_seq_;
  running_since_ = absl::Now();
  *stream = batch_stream_;
  return item;
}

void TaskFeed::TaskDone(Value result) {
  List report;
  {
    absl::MutexLock l(&mu_);
    running_ = false;
    done_.push_back(std::move(result));
    // The fetcher waits in the manager with nothing queued there: nobody
    // would carry this result, so send it now.
    if (!items_.empty() || !fetching_) return;
    report.swap(done_);
  }
  if (!Report(report, {}))
    KeepUnreported(std::move(report));  // try again later
}

void TaskFeed::KeepUnreported(List results) {
  absl::MutexLock l(&mu_);
  results.insert(results.end(), std::make_move_iterator(done_.begin()),
                 std::make_move_iterator(done_.end()));
  done_.swap(results);
}

void TaskFeed::Stop() {
  bool fetching;
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    stopping_ = true;
    fetching = fetching_;
  }
  // Answers the fetcher's waiting call with [].
  if (fetching) (void)proxy_.WorkerStop();
}

void TaskFeed::Abandon(absl::Duration patience) {
  bool fetching;
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;  // the prefetcher asks no more
    fetching = fetching_;
  }
  // Everything that may wait on the manager happens on a thread of its own,
  // so a manager that does not answer costs at most `patience`; the
  // process ends soon after either way. The caller (the watchdog, holding
  // its lock until it exits) keeps this feed alive meanwhile.
  // The process ends soon: the feed's own threads are let go rather than
  // joined (the caller never calls Finish). They end on their own — at
  // once if the stream broke — or with the process.
  if (prefetcher_.joinable()) prefetcher_.detach();
  if (reclaimer_.joinable()) reclaimer_.detach();
  auto sent = std::make_shared<absl::Notification>();
  std::thread([this, fetching, patience, sent] {
    // A fetch waiting in the manager is answered []; one whose tasks are on
    // their way brings them here first.
    if (fetching) (void)proxy_.WorkerStop();
    List done, returned;
    {
      absl::MutexLock l(&mu_);
      auto answered = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !fetching_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&answered), patience);
      for (const WorkItem& item : items_) returned.push_back(item.task_id);
      items_.clear();
      done.swap(done_);
    }
    if (!done.empty() || !returned.empty()) (void)Report(done, returned);
    sent->Notify();
  }).detach();
  sent->WaitForNotificationWithTimeout(patience);
}

void TaskFeed::Finish() {
  {
    absl::MutexLock l(&mu_);
    if (finished_) return;
    finished_ = true;
  }
  Stop();
  if (prefetcher_.joinable()) prefetcher_.join();
  if (reclaimer_.joinable()) reclaimer_.join();
  List returned, done;
  {
    absl::MutexLock l(&mu_);
    for (const WorkItem& item : items_) returned.push_back(item.task_id);
    items_.clear();
    done.swap(done_);
  }
  // Final report, retried briefly if the manager is away.
  for (int attempt = 0; attempt < 20 && (!done.empty() || !returned.empty());
       ++attempt) {
    if (Report(done, returned)) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

void TaskFeed::PrefetchLoop() {
  absl::MutexLock l(&mu_);
  for (;;) {
    // While the last task in hand runs, if the last answer was a batch
    // (the manager has a backlog).
    auto need = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || (running_ && items_.empty() && !fetching_ &&
                           last_batch_ > 1 && RemainingLocked() > 0);
    };
    mu_.Await(absl::Condition(&need));
    if (stopping_) return;
    FetchLocked();
  }
}

void TaskFeed::FetchLocked() {
  List done;
  done.swap(done_);
  const int64_t want = RemainingLocked();
  fetching_ = true;
  mu_.Unlock();
  absl::StatusOr<List> got = proxy_.WorkerNext(info_, done, {}, want);
  bool reported = got.ok();
  if (!got.ok() &&
      got.status().code() == absl::StatusCode::kResourceExhausted) {
    // A result over the message limit: report them one by one.
    reported = Report(done, {});
  }
  if (!reported) KeepUnreported(std::move(done));
  mu_.Lock();
  fetching_ = false;
  if (!got.ok()) {
    if (!reported) {
      // Unreachable manager: wait, then let the caller try again.
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff_);
      backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    }
    return;
  }
  backoff_ = absl::Milliseconds(100);
  last_batch_ = static_cast<int64_t>(got->size());
  batch_stream_ = manager_->streams_opened();
  batch_time_ = absl::Now();
  for (const Value& encoded : *got) {
    absl::StatusOr<WorkItem> item = DecodeWorkItem(encoded);
    ++taken_;
    if (item.ok()) {
      items_.push_back(*std::move(item));
      continue;
    }
    // Arguments this process cannot unpack: an error result, not a crash.
    if (encoded.is_list() && !encoded.list_value().empty() &&
        encoded.list_value()[0].is_int()) {
      TaskResult bad;
      bad.task_id = encoded.list_value()[0].int_value();
      if (encoded.list_value().size() == 6 &&
          encoded.list_value()[5].is_int()) {
        bad.attempt = encoded.list_value()[5].int_value();
      }
      bad.outcome.code = absl::StatusCode::kInvalidArgument;
      bad.outcome.error =
          TaskError{"ArgumentError", std::string(item.status().message()),
                    context_.host, context_.pid};
      done_.push_back(EncodeResult(bad));
    }
  }
}

void TaskFeed::ReclaimLoop() {
  absl::MutexLock l(&mu_);
  while (!stopping_) {
    // Wakes only at deadlines (never per task): after `patience` of the
    // task running now, or a patience from now when idle.
    const uint64_t seq = running_seq_;
    const absl::Time due =
        running_ ? running_since_ + patience_ : absl::Now() + patience_;
    if (mu_.AwaitWithDeadline(absl::Condition(&stopping_), due)) return;
    if (!running_ || running_seq_ != seq || items_.empty() ||
        absl::Now() - running_since_ < patience_) {
      continue;
    }
    List returned;
    for (const WorkItem& item : items_) returned.push_back(item.task_id);
    taken_ -= static_cast<int64_t>(items_.size());
    items_.clear();
    mu_.Unlock();
    (void)proxy_.WorkerNext(info_, {}, returned, 0);
    mu_.Lock();
  }
}

bool TaskFeed::Report(const List& done, const List& returned) {
  absl::StatusOr<List> r = proxy_.WorkerNext(info_, done, returned, 0);
  if (r.ok()) return true;
  if (r.status().code() != absl::StatusCode::kResourceExhausted) return false;
  if (!returned.empty() && !proxy_.WorkerNext(info_, {}, returned, 0).ok()) {
    return false;
  }
  for (const Value& result : done) {
    absl::StatusOr<List> one = proxy_.WorkerNext(info_, {result}, {}, 0);
    if (one.ok()) continue;
    if (one.status().code() != absl::StatusCode::kResourceExhausted) {
      return false;
    }
    TaskResult too_large;
    too_large.task_id = result.list_value()[0].int_value();
    if (absl::StatusOr<ResultHeader> h = PeekResult(result); h.ok()) {
      too_large.attempt = h->attempt;
    }
    too_large.outcome.code = absl::StatusCode::kResourceExhausted;
    too_large.outcome.error = TaskError{
        "ResultTooLarge",
        absl::StrCat("the result is over the manager's message limit: ",
                     one.status().message()),
        context_.host, context_.pid};
    if (!proxy_.WorkerNext(info_, {EncodeResult(too_large)}, {}, 0).ok()) {
      return false;
    }
  }
  return true;
}

}  // namespace mproc
