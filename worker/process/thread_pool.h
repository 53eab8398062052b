// mproc::ThreadPool: Python's multiprocessing.pool.ThreadPool for any C++
// callable — the local, in-process counterpart of mproc::Pool.
//
//   mproc::ThreadPool pool(4);
//   mproc::ThreadResult<int> r = pool.ApplyAsync([] { return 6 * 7; });
//   absl::StatusOr<int> v = r.Get();                                  // 42
//   absl::StatusOr<std::vector<int>> squares =
//       pool.Map([](int x) { return x * x; }, std::vector<int>{1, 2, 3});
//   pool.Close();
//   pool.Join();
//
// A task's result is what its callable returns: a T; or an
// absl::StatusOr<T>, whose error fails the task; void or absl::Status give
// a result of type NoValue (Python's None). An exception thrown by the
// task fails it with UNKNOWN "task threw <type>: <what>". A failed task's
// status reaches Get() and the error callback.
//
// Callbacks run on one thread of the pool, one at a time, in the order
// the tasks completed (as in Python): a callback must not block for long.
// A result becomes ready only after its callback has returned, so when
// Get() returns, the callback has run.
//
// Thread-safe. Destroying the pool terminates it (as leaving Python's
// `with ThreadPool() as p:` does): queued tasks are dropped, their results
// CANCELLED; running tasks finish first (threads cannot be killed). A pool
// belongs to the process that made it: a forked child has none of its
// threads.
#ifndef MPROC_WORKER_PROCESS_THREAD_POOL_H_
#define MPROC_WORKER_PROCESS_THREAD_POOL_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mproc {

// The result of a task that returns nothing (void or absl::Status).
using NoValue = std::monostate;

namespace thread_pool_internal {

// What a callable returning R yields as a result.
template <typename R>
struct Outcome {
  using type = R;
};
template <>
struct Outcome<void> {
  using type = NoValue;
};
template <>
struct Outcome<absl::Status> {
  using type = NoValue;
};
template <typename T>
struct Outcome<absl::StatusOr<T>> {
  using type = T;
};

// How long a thread that runs out of work (or waits for a result) spins
// before it sleeps: about 20 µs of pause instructions. Waking a sleeping
// thread costs more than a small task.
inline constexpr int kSpinsBeforeSleep = 2000;
inline void SpinPause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// UNKNOWN "task threw <demangled type>: <what>".
absl::Status ThrownStatus(const std::exception& e);
absl::Status ThrownUnknown();

// Calls f(args...) and turns whatever comes out — a value, a status, an
// exception — into a StatusOr of the result type.
template <typename F, typename Tuple>
auto Invoke(F& f, Tuple& args) -> absl::StatusOr<
    typename Outcome<decltype(std::apply(f, std::declval<Tuple&>()))>::type> {
  using R = decltype(std::apply(f, args));
  try {
    if constexpr (std::is_void_v<R>) {
      std::apply(f, args);
      return NoValue{};
    } else if constexpr (std::is_same_v<R, absl::Status>) {
      absl::Status s = std::apply(f, args);
      if (!s.ok()) return s;
      return NoValue{};
    } else {
      return std::apply(f, args);
    }
  } catch (const std::exception& e) {
    return ThrownStatus(e);
  } catch (...) {
    return ThrownUnknown();
  }
}

// The pool's threads and queues, shared with every result so that a
// result outliving the pool stays valid.
class Core {
 public:
  explicit Core(int threads);
  ~Core();

  // Queues `run`; if the pool is terminated before it starts, `cancel`
  // runs instead (on the terminating thread). FAILED_PRECONDITION once
  // closed.
  absl::Status Submit(std::function<void()> run, std::function<void()> cancel);
  // Runs `callback` on the callback thread, after those posted before.
  void PostCallback(std::function<void()> callback);

  void Close();
  void Terminate();
  // After Close or Terminate: until every task and callback is done and
  // the threads have ended. FAILED_PRECONDITION while still open.
  absl::Status Join();
  int threads() const { return static_cast<int>(workers_.size()); }

 private:
  struct Job {
    std::function<void()> run;
    std::function<void()> cancel;
  };
  void WorkerLoop();
  void CallbackLoop();

  absl::Mutex mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  std::deque<std::function<void()>> callbacks_ ABSL_GUARDED_BY(mu_);
  int64_t running_ ABSL_GUARDED_BY(mu_) = 0;  // tasks and callbacks
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool joining_ ABSL_GUARDED_BY(mu_) = false;
  bool joined_ ABSL_GUARDED_BY(mu_) = false;
  // The callback thread has ended: later callbacks (of submissions to the
  // closed pool) run on the thread that posts them.
  bool callbacks_ended_ ABSL_GUARDED_BY(mu_) = false;
  // Wake-ups cost more than small tasks: a worker that runs out of jobs
  // first spins a few microseconds (one worker at a time) watching
  // `queued_`, and a submission wakes a sleeping worker only when none
  // spins.
  absl::CondVar work_cv_;
  int idle_workers_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int> spinning_{0};
  std::atomic<int64_t> queued_{0};  // jobs_.size(), read without the lock
  absl::CondVar callback_cv_;       // callbacks_ grew, or the pool may end
  std::vector<std::thread> workers_;
  std::thread callback_thread_;
};

// One result's state: set once, by the task or by Terminate.
template <typename T>
struct ResultState {
  absl::Mutex mu;
  bool ready ABSL_GUARDED_BY(mu) = false;
  absl::StatusOr<T> value ABSL_GUARDED_BY(mu) = absl::UnknownError("unset");
  // `ready`, readable without the lock: a waiter spins on it briefly
  // before sleeping, so a result microseconds away costs no wake-up.
  std::atomic<bool> ready_flag{false};

  void Set(absl::StatusOr<T> v) {
    absl::MutexLock l(&mu);
    if (ready) return;
    value = std::move(v);
    ready = true;
    ready_flag.store(true, std::memory_order_release);
  }
  bool AwaitReady(absl::Duration timeout) {
    if (ready_flag.load(std::memory_order_acquire)) return true;
    if (timeout > absl::ZeroDuration()) {
      for (int i = 0; i < kSpinsBeforeSleep; ++i) {
        if (ready_flag.load(std::memory_order_acquire)) return true;
        SpinPause();
      }
    }
    absl::MutexLock l(&mu);
    return mu.AwaitWithTimeout(absl::Condition(&ready), timeout);
  }
};

absl::Status NotReady(absl::Duration timeout);
absl::Status CancelledBeforeStart();

}  // namespace thread_pool_internal

using ErrorCallback = std::function<void(const absl::Status& error)>;

// The future of one task (or of a whole MapAsync). Cheap to copy.
template <typename T>
class ThreadResult {
 public:
  // The result; DEADLINE_EXCEEDED if not ready within `timeout`.
  absl::StatusOr<T> Get(
      absl::Duration timeout = absl::InfiniteDuration()) const {
    if (!state_->AwaitReady(timeout)) {
      return thread_pool_internal::NotReady(timeout);
    }
    absl::MutexLock l(&state_->mu);
    return state_->value;
  }
  // Whether it is ready within `timeout`.
  bool Wait(absl::Duration timeout = absl::InfiniteDuration()) const {
    return state_->AwaitReady(timeout);
  }
  bool Ready() const { return state_->AwaitReady(absl::ZeroDuration()); }
  // Whether it succeeded; FAILED_PRECONDITION while not ready.
  absl::StatusOr<bool> Successful() const {
    absl::MutexLock l(&state_->mu);
    if (!state_->ready) {
      return absl::FailedPreconditionError("the result is not ready");
    }
    return state_->value.ok();
  }

 private:
  friend class ThreadPool;
  explicit ThreadResult(
      std::shared_ptr<thread_pool_internal::ResultState<T>> state)
      : state_(std::move(state)) {}
  std::shared_ptr<thread_pool_internal::ResultState<T>> state_;
};

// Results of Imap / ImapUnordered, one at a time.
template <typename T>
class ThreadResultIterator {
 public:
  // The next result (in submission order for Imap, completion order for
  // ImapUnordered), nullopt after the last; a failed item gives its error.
  // DEADLINE_EXCEEDED if none is ready within `timeout`.
  absl::StatusOr<std::optional<T>> Next(
      absl::Duration timeout = absl::InfiniteDuration()) {
    if (next_ >= items_.size()) return std::optional<T>();
    if (!ordered_) {
      // The first of the rest to be ready.
      absl::ReleasableMutexLock l(&stream_->mu);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stream_->mu) {
        return !stream_->done.empty();
      };
      if (!stream_->mu.AwaitWithTimeout(absl::Condition(&ready), timeout)) {
        return thread_pool_internal::NotReady(timeout);
      }
      const size_t index = stream_->done.front();
      stream_->done.pop_front();
      ++next_;
      l.Release();
      items_[index]->AwaitReady(absl::InfiniteDuration());  // set just after
      return Take(index);
    }
    if (!items_[next_]->AwaitReady(timeout)) {
      return thread_pool_internal::NotReady(timeout);
    }
    return Take(next_++);
  }

 private:
  friend class ThreadPool;
  struct Stream {
    absl::Mutex mu;
    std::deque<size_t> done ABSL_GUARDED_BY(mu);  // completion order
  };
  absl::StatusOr<std::optional<T>> Take(size_t index) {
    auto& state = *items_[index];
    absl::MutexLock l(&state.mu);
    if (!state.value.ok()) return state.value.status();
    return std::optional<T>(std::move(*state.value));
  }

  bool ordered_ = true;
  std::vector<std::shared_ptr<thread_pool_internal::ResultState<T>>> items_;
  std::shared_ptr<Stream> stream_ = std::make_shared<Stream>();
  size_t next_ = 0;
};

class ThreadPool {
  template <typename T>
  struct Identity {
    using type = T;
  };
  // A callback parameter: never used to deduce T.
  template <typename T>
  using Callback = typename Identity<std::function<void(const T&)>>::type;

 public:
  // `threads` <= 0: one per CPU this process may use.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();  // Terminate, then Join
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return core_->threads(); }

  // f(args...) on a pool thread; waits for its result.
  template <typename F, typename... Args>
  auto Apply(F f, Args... args) {
    return ApplyAsync(std::move(f), std::make_tuple(std::move(args)...)).Get();
  }

  // std::apply(f, args) on a pool thread (Python's apply_async(func, args,
  // callback=..., error_callback=...)). `callback` gets the result of a
  // task that succeeded, `error_callback` the status of one that failed
  // (also of a submission to a closed pool, and of a task Terminate
  // dropped).
  template <
      typename F, typename Tuple = std::tuple<>,
      typename T = typename thread_pool_internal::Outcome<decltype(std::apply(
          std::declval<F&>(), std::declval<Tuple&>()))>::type>
  ThreadResult<T> ApplyAsync(F f, Tuple args = {},
                             Callback<T> callback = nullptr,
                             ErrorCallback error_callback = nullptr) {
    auto state = std::make_shared<thread_pool_internal::ResultState<T>>();
    auto finish =
        Finisher<T>(state, std::move(callback), std::move(error_callback));
    absl::Status queued = core_->Submit(
        [f = std::move(f), args = std::move(args), finish]() mutable {
          (*finish)(thread_pool_internal::Invoke(f, args));
        },
        [finish] { (*finish)(thread_pool_internal::CancelledBeforeStart()); });
    if (!queued.ok()) (*finish)(queued);
    return ThreadResult<T>(std::move(state));
  }

  // f(item) for every item, results in order; the first failure (in item
  // order) fails the whole. Items run in chunks of `chunksize` (0: about
  // four chunks per thread, as Python picks).
  template <typename F, typename Item>
  auto Map(F f, const std::vector<Item>& items, int64_t chunksize = 0) {
    return MapAsync(std::move(f), items, chunksize).Get();
  }

  template <typename F, typename Item,
            typename T = typename thread_pool_internal::Outcome<
                std::invoke_result_t<F&, const Item&>>::type>
  ThreadResult<std::vector<T>> MapAsync(
      F f, const std::vector<Item>& items, int64_t chunksize = 0,
      Callback<std::vector<T>> callback = nullptr,
      ErrorCallback error_callback = nullptr) {
    auto state =
        std::make_shared<thread_pool_internal::ResultState<std::vector<T>>>();
    auto finish = Finisher<std::vector<T>>(state, std::move(callback),
                                           std::move(error_callback));
    const size_t chunk = ChunkSize(items.size(), chunksize);
    const size_t chunks = (items.size() + chunk - 1) / chunk;
    if (chunks == 0) {
      (*finish)(std::vector<T>());
      return ThreadResult<std::vector<T>>(std::move(state));
    }
    // The last chunk to end puts the parts together: no thread waits.
    auto gather = std::make_shared<Gather<T>>(chunks, finish);
    auto shared_f = std::make_shared<F>(std::move(f));
    for (size_t c = 0; c < chunks; ++c) {
      const size_t begin = c * chunk;
      std::vector<Item> part(
          items.begin() + begin,
          items.begin() + std::min(items.size(), begin + chunk));
      absl::Status queued = core_->Submit(
          [shared_f, part = std::move(part), gather, c] {
            std::vector<T> out;
            out.reserve(part.size());
            for (const Item& item : part) {
              auto one = std::forward_as_tuple(item);
              absl::StatusOr<T> r =
                  thread_pool_internal::Invoke(*shared_f, one);
              if (!r.ok()) {
                gather->Done(c, r.status());
                return;
              }
              out.push_back(*std::move(r));
            }
            gather->Done(c, std::move(out));
          },
          [gather, c] {
            gather->Done(c, thread_pool_internal::CancelledBeforeStart());
          });
      if (!queued.ok()) gather->Done(c, queued);
    }
    return ThreadResult<std::vector<T>>(std::move(state));
  }

  // f(args...) for every tuple of arguments.
  template <typename F, typename... Args>
  auto Starmap(F f, const std::vector<std::tuple<Args...>>& arg_lists,
               int64_t chunksize = 0) {
    return Map(
        [f = std::move(f)](const std::tuple<Args...>& args) mutable {
          return std::apply(f, args);
        },
        arg_lists, chunksize);
  }

  // Lazy maps: results one at a time, each item a task of its own.
  template <typename F, typename Item,
            typename T = typename thread_pool_internal::Outcome<
                std::invoke_result_t<F&, const Item&>>::type>
  ThreadResultIterator<T> Imap(F f, const std::vector<Item>& items) {
    return Iterate<T>(std::move(f), items, /*ordered=*/true);
  }
  template <typename F, typename Item,
            typename T = typename thread_pool_internal::Outcome<
                std::invoke_result_t<F&, const Item&>>::type>
  ThreadResultIterator<T> ImapUnordered(F f, const std::vector<Item>& items) {
    return Iterate<T>(std::move(f), items, /*ordered=*/false);
  }

  // No more submissions (they fail FAILED_PRECONDITION).
  void Close() { core_->Close(); }
  // Closes, and drops the tasks not yet started: their results fail
  // CANCELLED. Running tasks finish.
  void Terminate() { core_->Terminate(); }
  // After Close or Terminate: waits until every task and callback has
  // ended. FAILED_PRECONDITION on an open pool (it would wait for ever).
  absl::Status Join() { return core_->Join(); }

 private:
  template <typename T>
  using Finish = std::shared_ptr<std::function<void(absl::StatusOr<T>)>>;

  // Sets `state`; with callbacks, on the callback thread, after them.
  template <typename T>
  Finish<T> Finisher(
      std::shared_ptr<thread_pool_internal::ResultState<T>> state,
      std::function<void(const T&)> callback, ErrorCallback error_callback) {
    if (!callback && !error_callback) {
      return std::make_shared<std::function<void(absl::StatusOr<T>)>>(
          [state](absl::StatusOr<T> value) { state->Set(std::move(value)); });
    }
    return std::make_shared<std::function<void(absl::StatusOr<T>)>>(
        [core = core_, state, callback = std::move(callback),
         error_callback = std::move(error_callback)](absl::StatusOr<T> value) {
          auto boxed = std::make_shared<absl::StatusOr<T>>(std::move(value));
          core->PostCallback([state, callback, error_callback, boxed] {
            if (boxed->ok() && callback) {
              callback(**boxed);
            } else if (!boxed->ok() && error_callback) {
              error_callback(boxed->status());
            }
            state->Set(std::move(*boxed));
          });
        });
  }

  // The parts of a MapAsync, put together when the last arrives.
  template <typename T>
  struct Gather {
    Gather(size_t chunks, Finish<std::vector<T>> finish)
        : parts(chunks), remaining(chunks), finish(std::move(finish)) {}
    void Done(size_t chunk, absl::StatusOr<std::vector<T>> part) {
      {
        absl::MutexLock l(&mu);
        parts[chunk] = std::move(part);
        if (--remaining > 0) return;
      }
      std::vector<T> all;
      for (auto& p : parts) {
        if (!p->ok()) {
          (*finish)(p->status());  // the first failure in item order
          return;
        }
        for (T& v : **p) all.push_back(std::move(v));
      }
      (*finish)(std::move(all));
    }
    absl::Mutex mu;
    std::vector<std::optional<absl::StatusOr<std::vector<T>>>> parts;
    size_t remaining ABSL_GUARDED_BY(mu);
    const Finish<std::vector<T>> finish;
  };

  size_t ChunkSize(size_t items, int64_t chunksize) const;

  template <typename T, typename F, typename Item>
  ThreadResultIterator<T> Iterate(F f, const std::vector<Item>& items,
                                  bool ordered) {
    ThreadResultIterator<T> it;
    it.ordered_ = ordered;
    auto shared_f = std::make_shared<F>(std::move(f));
    for (size_t i = 0; i < items.size(); ++i) {
      auto state = std::make_shared<thread_pool_internal::ResultState<T>>();
      it.items_.push_back(state);
      // Each item notes its end in the stream (completion order) just
      // before its result is set; Next waits for that.
      auto end = [state, stream = it.stream_, i](absl::StatusOr<T> out) {
        {
          absl::MutexLock l(&stream->mu);
          stream->done.push_back(i);
        }
        state->Set(std::move(out));
      };
      absl::Status queued = core_->Submit(
          [shared_f, item = items[i], end] {
            auto one = std::forward_as_tuple(item);
            end(thread_pool_internal::Invoke(*shared_f, one));
          },
          [end] { end(thread_pool_internal::CancelledBeforeStart()); });
      if (!queued.ok()) end(queued);
    }
    return it;
  }

  std::shared_ptr<thread_pool_internal::Core> core_;
};

}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_THREAD_POOL_H_
