// The dashboard's JSON API (GET /api/..., POST /api/requeue on the metrics
// listener): the same requests a client sends, run through the dispatcher
// with the admin's access (the HTTP layer has checked the caller's token)
// and left out of the request metrics (the page's polling is not client
// load), answered as Values for Value::ToJson.
//
//   /api/overview             version, uptime, requests and their summed
//                             latency (cumulative: the page charts deltas),
//                             connections, process CPU, memory, fds
//   /api/pools                each pool's status (workers, counts, dead
//                             letters), with its name (pools among the
//                             first 20,000 objects by name)
//   /api/workers              every worker process of every pool: pool,
//                             host, pid, state, tasks done, its running task
//                             and since when, its last error
//   /api/tasks?pool=&state=&name=&limit=
//                             task records (of every pool without pool=),
//                             each with its pool, by id per pool; at most
//                             limit (default 100, up to 1000) in all
//   /api/task?pool=P&id=N     one task's record
//   /api/objects              the first 1000 objects by name: kind, name,
//                             size, details (holders and waiters of
//                             locks, ...)
//   POST /api/requeue?pool=P&id=N|all
//                             dead letters queued again: [[old, new], ...]
#ifndef MPROC_SERVER_RPC_DASHBOARD_API_H_
#define MPROC_SERVER_RPC_DASHBOARD_API_H_

#include <atomic>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "common/value.h"
#include "proto/mproc.pb.h"
#include "server/dispatcher.h"
#include "server/op_stats.h"

namespace mproc {

using QueryParams = std::map<std::string, std::string>;

class DashboardApi {
 public:
  // Each must outlive the API; `ops` and `open_streams` may be null.
  DashboardApi(Dispatcher* dispatcher, const OpStats* ops,
               const std::atomic<int64_t>* open_streams);

  // GET `path`. NOT_FOUND for an unknown path, INVALID_ARGUMENT for a bad
  // parameter (naming it), else what the manager answered.
  absl::StatusOr<Value> Get(const std::string& path,
                            const QueryParams& query) const;
  // POST `path` (only /api/requeue).
  absl::StatusOr<Value> Post(const std::string& path,
                             const QueryParams& query) const;

 private:
  // One request as a client would send it, with the admin's access.
  absl::StatusOr<Value> Run(pb::Op op, const std::string& name,
                            const List& args) const;
  // The objects of the first `max_pages` pages, in name order.
  absl::StatusOr<List> Objects(int max_pages) const;
  absl::StatusOr<List> PoolNames() const;
  absl::StatusOr<Value> Overview() const;
  absl::StatusOr<Value> Pools() const;
  absl::StatusOr<Value> Workers() const;
  absl::StatusOr<Value> Tasks(const QueryParams& query) const;
  absl::StatusOr<Value> OneTask(const QueryParams& query) const;
  absl::StatusOr<Value> Requeue(const QueryParams& query) const;

  Dispatcher* const dispatcher_;
  const OpStats* const ops_;
  const std::atomic<int64_t>* const open_streams_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_DASHBOARD_API_H_
