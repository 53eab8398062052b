// Pool's Map family: chunking, MapAsync's one result for many tasks, and
// the ordered and unordered iterators.
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/internal/pool_callbacks.h"
#include "client/internal/pool_state.h"
#include "client/pool.h"

namespace mproc {
namespace {

using pool_internal::ResultState;
using pool_internal::RunCallback;
using pool_internal::StreamState;

// The outcomes of a chunk's items from its [values, failures] answer
// (task_runner.h), or one error for all.
std::vector<absl::StatusOr<Value>> ChunkItems(absl::StatusOr<Value> r, size_t n,
                                              const std::string& task,
                                              int64_t task_id) {
  std::vector<absl::StatusOr<Value>> items;
  if (r.ok() && r->is_list() && r->list_value().size() == 2 &&
      r->list_value()[0].is_list() && r->list_value()[1].is_map() &&
      r->list_value()[0].list_value().size() == n) {
    List& parts = r->mutable_list();
    items.reserve(n);
    for (Value& v : parts[0].mutable_list()) items.push_back(std::move(v));
    for (const auto& [index, encoded] : parts[1].map_value()) {
      if (!index.is_int() || index.int_value() < 0 ||
          static_cast<size_t>(index.int_value()) >= n) {
        continue;
      }
      absl::StatusOr<TaskOutcome> outcome = DecodeOutcome(encoded);
      if (!outcome.ok()) {
        items[index.int_value()] = outcome.status();
      } else if (outcome->code != absl::StatusCode::kOk) {
        items[index.int_value()] = OutcomeStatus(*outcome, task, task_id);
      }
    }
    return items;
  }
  absl::Status error =
      r.ok() ? absl::InternalError(absl::StrCat("task '", task,
                                                "': a chunk's answer does not "
                                                "list its items"))
             : r.status();
  items.assign(n, error);
  return items;
}

}  // namespace

int64_t Pool::DefaultChunksize(size_t items) {
  int64_t processes = 1;
  absl::StatusOr<mproc::Map> status = proxy_.Status();
  if (status.ok()) {
    auto it = status->find(Value("workers"));
    if (it != status->end() && it->second.is_list() &&
        !it->second.list_value().empty()) {
      processes = static_cast<int64_t>(it->second.list_value().size());
    }
  }
  // Python's choice: about four chunks per worker process.
  const int64_t chunks = processes * 4;
  return std::max<int64_t>(1,
                           (static_cast<int64_t>(items) + chunks - 1) / chunks);
}

absl::StatusOr<std::vector<TaskSpec>> Pool::ChunkSpecs(
    const std::string& task, const List& items, bool star, int64_t chunksize,
    const TaskOptions& options) {
  if (chunksize < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pool '", name_, "': chunksize must be >= 0, got ", chunksize));
  }
  if (chunksize == 0) chunksize = DefaultChunksize(items.size());
  std::vector<TaskSpec> specs;
  for (size_t begin = 0; begin < items.size(); begin += chunksize) {
    TaskSpec spec;
    spec.name = task;
    spec.chunk = true;
    spec.single_args = !star;
    ApplyOptions(options, &spec);
    const size_t end = std::min(items.size(), begin + chunksize);
    spec.args.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) {
      if (!star) {
        spec.args.push_back(items[i]);
      } else if (items[i].is_list()) {
        spec.args.push_back(items[i]);
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "pool '", name_, "': starmap item ", i,
            " must be a list of arguments, got ", items[i].type_name()));
      }
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

AsyncResult Pool::MapAsyncImpl(const std::string& task, const List& items,
                               bool star, int64_t chunksize,
                               ResultCallback callback,
                               ErrorCallback error_callback,
                               const TaskOptions& options) {
  auto state = std::make_shared<ResultState>();
  state->has_task_id = false;
  absl::StatusOr<std::vector<TaskSpec>> specs =
      ChunkSpecs(task, items, star, chunksize, options);
  if (!specs.ok() || specs->empty()) {
    absl::StatusOr<Value> result = specs.ok()
                                       ? absl::StatusOr<Value>(Value(List{}))
                                       : absl::StatusOr<Value>(specs.status());
    state->Set(result);
    if (result.ok()) {
      RunCallback(callback, *result);
    } else {
      RunCallback(error_callback, result.status());
    }
    return AsyncResult(state);
  }
  // Shared by the chunks: the values in order, and the first failure.
  struct Gather {
    absl::Mutex mu;
    List values;
    size_t chunks_left = 0;
    absl::Status first_error;
  };
  auto gather = std::make_shared<Gather>();
  gather->values.resize(items.size());
  gather->chunks_left = specs->size();
  auto finish = std::make_shared<std::pair<ResultCallback, ErrorCallback>>(
      std::move(callback), std::move(error_callback));
  size_t offset = 0;
  for (TaskSpec& spec : *specs) {
    const size_t n = spec.args.size();
    Enqueue(std::move(spec),
            [state, gather, finish, offset, n, task](
                int64_t task_id, absl::StatusOr<Value> result) {
              std::vector<absl::StatusOr<Value>> values =
                  ChunkItems(std::move(result), n, task, task_id);
              bool last;
              {
                absl::MutexLock l(&gather->mu);
                for (size_t i = 0; i < n; ++i) {
                  if (values[i].ok()) {
                    gather->values[offset + i] = *std::move(values[i]);
                  } else if (gather->first_error.ok()) {
                    gather->first_error = values[i].status();
                  }
                }
                last = --gather->chunks_left == 0;
              }
              if (!last) return;
              absl::StatusOr<Value> all =
                  gather->first_error.ok()
                      ? absl::StatusOr<Value>(Value(std::move(gather->values)))
                      : absl::StatusOr<Value>(gather->first_error);
              state->Set(all);
              if (all.ok()) {
                RunCallback(finish->first, *all);
              } else {
                RunCallback(finish->second, all.status());
              }
            });
    offset += n;
  }
  return AsyncResult(state);
}

AsyncResult Pool::MapAsync(const std::string& task, const List& items,
                           int64_t chunksize, ResultCallback callback,
                           ErrorCallback error_callback, TaskOptions options) {
  return MapAsyncImpl(task, items, /*star=*/false, chunksize,
                      std::move(callback), std::move(error_callback), options);
}

absl::StatusOr<List> Pool::Map(const std::string& task, const List& items,
                               int64_t chunksize, TaskOptions options) {
  absl::StatusOr<Value> all =
      MapAsyncImpl(task, items, false, chunksize, nullptr, nullptr, options)
          .Get();
  if (!all.ok()) return all.status();
  return std::move(all->mutable_list());
}

absl::StatusOr<List> Pool::Starmap(const std::string& task,
                                   const List& arg_lists, int64_t chunksize,
                                   TaskOptions options) {
  absl::StatusOr<Value> all =
      MapAsyncImpl(task, arg_lists, true, chunksize, nullptr, nullptr, options)
          .Get();
  if (!all.ok()) return all.status();
  return std::move(all->mutable_list());
}

ResultIterator Pool::ImapImpl(const std::string& task, const List& items,
                              bool ordered, int64_t chunksize,
                              const TaskOptions& options) {
  auto stream = std::make_shared<StreamState>(ordered, items.size());
  absl::StatusOr<std::vector<TaskSpec>> specs =
      ChunkSpecs(task, items, false, chunksize, options);
  if (!specs.ok()) {
    for (size_t i = 0; i < items.size(); ++i) stream->Put(i, specs.status());
    return ResultIterator(stream);
  }
  size_t offset = 0;
  for (TaskSpec& spec : *specs) {
    const size_t n = spec.args.size();
    Enqueue(std::move(spec),
            [stream, offset, n, task](int64_t task_id,
                                      absl::StatusOr<Value> result) {
              std::vector<absl::StatusOr<Value>> values =
                  ChunkItems(std::move(result), n, task, task_id);
              for (size_t i = 0; i < n; ++i)
                stream->Put(offset + i, std::move(values[i]));
            });
    offset += n;
  }
  return ResultIterator(stream);
}

ResultIterator Pool::Imap(const std::string& task, const List& items,
                          int64_t chunksize, TaskOptions options) {
  return ImapImpl(task, items, /*ordered=*/true, chunksize, options);
}

ResultIterator Pool::ImapUnordered(const std::string& task, const List& items,
                                   int64_t chunksize, TaskOptions options) {
  return ImapImpl(task, items, /*ordered=*/false, chunksize, options);
}

}  // namespace mproc
