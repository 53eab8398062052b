#include "server/rpc/dashboard_api.h"

#include <random>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/wire.h"
#include "server/access.h"
#include "server/rpc/process_facts.h"

namespace mproc {
namespace {

// The most task records one /api/tasks answer lists.
constexpr int64_t kMaxListed = 1000;
// The most objects looked at for the pools (pages of kListObjectsPage),
// and listed by /api/objects: a poll's work stays bounded.
constexpr int kMaxObjectPages = 20;
constexpr int kListedObjectPages = 1;

const std::string* Param(const QueryParams& query, const char* key) {
  auto it = query.find(key);
  return it == query.end() || it->second.empty() ? nullptr : &it->second;
}

absl::Status BadParam(absl::string_view name, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("dashboard: parameter '", name, "' ", why));
}

const Value* Field(const Map& m, const char* key) {
  auto it = m.find(Value(key));
  return it == m.end() ? nullptr : &it->second;
}

std::string TextOf(const Map& m, const char* key) {
  const Value* v = Field(m, key);
  return v != nullptr && v->is_string() ? v->string_value() : std::string();
}

}  // namespace

DashboardApi::DashboardApi(Dispatcher* dispatcher, const OpStats* ops,
                           const std::atomic<int64_t>* open_streams)
    : dispatcher_(dispatcher), ops_(ops), open_streams_(open_streams) {}

absl::StatusOr<Value> DashboardApi::Run(pb::Op op, const std::string& name,
                                        const List& args) const {
  pb::Request request;
  request.set_op(op);
  request.set_name(name);
  for (const Value& a : args) ValueToProto(a, request.add_args());
  pb::Response response;
  dispatcher_->ExecuteUnmetered(request, &response, Access::Everything());
  if (absl::Status s = StatusFromResponse(response); !s.ok()) return s;
  return ValueFromProto(response.result());
}

absl::StatusOr<List> DashboardApi::Objects(int max_pages) const {
  List all;
  Value after;  // null: from the first name
  for (int page_n = 0; page_n < max_pages; ++page_n) {
    absl::StatusOr<Value> page = Run(pb::LIST_OBJECTS, "", {after});
    if (!page.ok()) return page.status();
    if (!page->is_list() || page->list_value().empty()) break;
    for (Value& row : page->mutable_list()) {
      if (row.is_map()) after = Value(TextOf(row.map_value(), "name"));
      all.push_back(std::move(row));
    }
    if (static_cast<int64_t>(page->list_value().size()) < kListObjectsPage) {
      break;
    }
  }
  return all;
}

absl::StatusOr<List> DashboardApi::PoolNames() const {
  absl::StatusOr<List> objects = Objects(kMaxObjectPages);
  if (!objects.ok()) return objects.status();
  List names;
  for (const Value& row : *objects) {
    if (row.is_map() && TextOf(row.map_value(), "kind") == "pool") {
      names.push_back(TextOf(row.map_value(), "name"));
    }
  }
  return names;
}

absl::StatusOr<Value> DashboardApi::Overview() const {
  absl::StatusOr<Value> info = Run(pb::SERVER_INFO, "", {});
  if (!info.ok()) return info.status();
  Map m = info->is_map() ? info->map_value() : Map{};
  if (ops_ != nullptr) {
    const OpStats::Latency latency = ops_->GetLatency();
    m[Value("requests")] = static_cast<int64_t>(latency.count);
    m[Value("latency_seconds_sum")] = latency.sum_seconds;
  }
  if (open_streams_ != nullptr) {
    m[Value("connections")] = open_streams_->load(std::memory_order_relaxed);
  }
  double cpu = 0, rss = 0, fds = 0;
  ProcessFacts(&cpu, &rss, &fds);
  m[Value("cpu_seconds")] = cpu;
  m[Value("rss_bytes")] = static_cast<int64_t>(rss);
  m[Value("open_fds")] = static_cast<int64_t>(fds);
  return Value(std::move(m));
}

absl::StatusOr<Value> DashboardApi::Pools() const {
  absl::StatusOr<List> names = PoolNames();
  if (!names.ok()) return names.status();
  List pools;
  for (const Value& name : *names) {
    absl::StatusOr<Value> status =
        Run(pb::POOL_STATUS, name.string_value(), {});
    if (!status.ok()) continue;  // deleted meanwhile
    pools.push_back(*std::move(status));
  }
  return Value(std::move(pools));
}

absl::StatusOr<Value> DashboardApi::Workers() const {
  absl::StatusOr<List> names = PoolNames();
  if (!names.ok()) return names.status();
  List rows;
  for (const Value& name : *names) {
    const std::string& pool = name.string_value();
    absl::StatusOr<Value> status = Run(pb::POOL_STATUS, pool, {});
    if (!status.ok() || !status->is_map()) continue;
    // Running tasks and recent failures, by the worker's host:pid.
    std::map<std::string, Map> running;
    std::map<std::string, std::string> last_error;
    absl::StatusOr<Value> busy =
        Run(pb::POOL_TASKS, pool,
            {Map{{"state", "running"}, {"limit", kMaxListed}}});
    if (busy.ok() && busy->is_list()) {
      for (const Value& t : busy->list_value()) {
        if (t.is_map() && Field(t.map_value(), "id") != nullptr) {
          running[TextOf(t.map_value(), "worker")] = t.map_value();
        }
      }
    }
    absl::StatusOr<Value> failed =
        Run(pb::POOL_TASKS, pool, {Map{{"state", "failed"}, {"limit", 200}}});
    if (failed.ok() && failed->is_list()) {
      for (const Value& t : failed->list_value()) {  // oldest first
        if (t.is_map()) {
          last_error[TextOf(t.map_value(), "worker")] =
              TextOf(t.map_value(), "error");
        }
      }
    }
    const Value* workers = Field(status->map_value(), "workers");
    if (workers == nullptr || !workers->is_list()) continue;
    for (const Value& w : workers->list_value()) {
      if (!w.is_map()) continue;
      Map row = w.map_value();
      const Value* pid = Field(row, "pid");
      const std::string where =
          absl::StrCat(TextOf(row, "host"), ":",
                       pid != nullptr && pid->is_int() ? pid->int_value() : 0);
      row[Value("pool")] = pool;
      if (auto t = running.find(where); t != running.end()) {
        Map task{{"id", *Field(t->second, "id")},
                 {"name", TextOf(t->second, "name")}};
        if (const Value* started = Field(t->second, "started")) {
          task[Value("started")] = *started;
        }
        row[Value("task")] = std::move(task);
      }
      if (auto e = last_error.find(where); e != last_error.end()) {
        row[Value("last_error")] = e->second;
      }
      rows.push_back(std::move(row));
    }
  }
  return Value(std::move(rows));
}

absl::StatusOr<Value> DashboardApi::Tasks(const QueryParams& query) const {
  Map filter;
  for (const char* key : {"state", "name"}) {
    if (const std::string* v = Param(query, key)) filter[Value(key)] = *v;
  }
  int64_t limit = 100;
  if (const std::string* v = Param(query, "limit")) {
    if (!absl::SimpleAtoi(*v, &limit) || limit < 1 || limit > kMaxListed) {
      return BadParam("limit", absl::StrCat("must be 1 to ", kMaxListed));
    }
  }
  filter[Value("limit")] = limit;
  List pools;
  if (const std::string* pool = Param(query, "pool")) {
    pools.push_back(*pool);
  } else {
    absl::StatusOr<List> names = PoolNames();
    if (!names.ok()) return names.status();
    pools = *std::move(names);
  }
  const bool one_pool = Param(query, "pool") != nullptr;
  List rows;
  for (const Value& pool : pools) {
    absl::StatusOr<Value> tasks =
        Run(pb::POOL_TASKS, pool.string_value(), {filter});
    if (!tasks.ok()) {
      if (one_pool) return tasks.status();
      continue;  // deleted meanwhile
    }
    for (Value& t : tasks->mutable_list()) {
      if (!t.is_map()) continue;
      t.mutable_map()[Value("pool")] = pool;
      rows.push_back(std::move(t));
    }
    // At most `limit` in all, not per pool.
    if (static_cast<int64_t>(rows.size()) >= limit) break;
  }
  if (static_cast<int64_t>(rows.size()) > limit) {
    rows.resize(static_cast<size_t>(limit));
  }
  return Value(std::move(rows));
}

absl::StatusOr<Value> DashboardApi::OneTask(const QueryParams& query) const {
  const std::string* pool = Param(query, "pool");
  const std::string* id = Param(query, "id");
  int64_t task_id = 0;
  if (pool == nullptr) return BadParam("pool", "is missing");
  if (id == nullptr || !absl::SimpleAtoi(*id, &task_id)) {
    return BadParam("id", "must be a task id");
  }
  absl::StatusOr<Value> record = Run(pb::POOL_TASK, *pool, {task_id});
  if (!record.ok()) return record.status();
  if (record->is_map()) record->mutable_map()[Value("pool")] = *pool;
  return record;
}

absl::StatusOr<Value> DashboardApi::Requeue(const QueryParams& query) const {
  const std::string* pool = Param(query, "pool");
  const std::string* id = Param(query, "id");
  if (pool == nullptr) return BadParam("pool", "is missing");
  if (id == nullptr) return BadParam("id", "is missing (a task id, or all)");
  Value which("all");
  if (*id != "all") {
    int64_t task_id = 0;
    if (!absl::SimpleAtoi(*id, &task_id)) {
      return BadParam("id", "must be a task id or all");
    }
    which = Value(List{task_id});
  }
  // A fresh inbox nobody reads: the results wait for their TTL, readable
  // by task id, as after `mproc requeue`.
  std::random_device seed;
  std::mt19937_64 bits((static_cast<uint64_t>(seed()) << 32) ^ seed());
  const auto inbox = static_cast<int64_t>(bits() >> 1 | 1);
  return Run(pb::POOL_REQUEUE, *pool, {inbox, which});
}

absl::StatusOr<Value> DashboardApi::Get(const std::string& path,
                                        const QueryParams& query) const {
  if (path == "/api/overview") return Overview();
  if (path == "/api/pools") return Pools();
  if (path == "/api/workers") return Workers();
  if (path == "/api/tasks") return Tasks(query);
  if (path == "/api/task") return OneTask(query);
  if (path == "/api/objects") {
    absl::StatusOr<List> objects = Objects(kListedObjectPages);
    if (!objects.ok()) return objects.status();
    return Value(*std::move(objects));
  }
  return absl::NotFoundError(absl::StrCat("dashboard: no GET ", path));
}

absl::StatusOr<Value> DashboardApi::Post(const std::string& path,
                                         const QueryParams& query) const {
  if (path == "/api/requeue") return Requeue(query);
  return absl::NotFoundError(absl::StrCat("dashboard: no POST ", path));
}

}  // namespace mproc
