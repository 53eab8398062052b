// --metrics-listen: the manager's HTTP endpoint (civetweb), on loopback:
//   /metrics   Prometheus text exposition. What is counted per request is
//              counted on the hot path with relaxed atomics (op_stats.h);
//              everything else is read when scraped: streams, objects by
//              kind, the state of queues, pools and locks, the data dir's
//              fsyncs, the process's CPU, memory and descriptors.
//   /          the live dashboard (dashboard_page.h), and its JSON API
//              /api/... (dashboard_api.h), the same JSON for scripts.
//
// Access: loopback only; a request whose Host is not the bound address is
// refused (no DNS rebinding), and no cross-origin access is granted (no
// CORS headers; a POST with a foreign Origin is refused). For a manager
// with a key, tokens derived from it (so no configuration or browser holds
// the key): /metrics takes MetricsToken(key) as the password of HTTP basic
// auth (any user name); the dashboard and /api take DashboardToken(key),
// as a basic-auth password or once on the login form (POST /login), which
// opens a session: a random id in an HttpOnly, SameSite=Strict cookie
// named after the port. A POST also needs the header X-Mproc-Request.
// Without a key there is no dashboard.
#ifndef MPROC_SERVER_RPC_MANAGER_METRICS_H_
#define MPROC_SERVER_RPC_MANAGER_METRICS_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/object_store.h"
#include "server/op_stats.h"

namespace mproc {

class Dispatcher;
class JournalDb;

// What the endpoint reads; each must outlive it (journal may be null).
struct MetricsSources {
  // What the dashboard's API runs its requests on; null: no dashboard.
  Dispatcher* dispatcher = nullptr;
  const OpStats* ops = nullptr;
  const std::atomic<int64_t>* open_streams = nullptr;
  const ObjectStore* store = nullptr;
  const JournalDb* journal = nullptr;
  absl::Time started;
};

// What the exposer binds for `listen`: "127.0.0.1:PORT" for localhost, or
// the 127.x.y.z address as given. INVALID_ARGUMENT for anything else (a
// name, a non-loopback address, a port that is not a number).
absl::StatusOr<std::string> MetricsBindAddress(const std::string& listen);

// The scrape password for a manager with `key`: 32 hex digits. It reads
// /metrics only.
std::string MetricsToken(const std::string& key);
// The dashboard's login token for a manager with `key` (another 32 hex
// digits, derived apart): it reads and steers everything the dashboard
// shows, so it is the admin's, not the scraper's.
std::string DashboardToken(const std::string& key);

class MetricsEndpoint {
 public:
  // Serves on `listen` (HOST:PORT on loopback; port 0: a free one).
  // `key` empty: /metrics needs no password and there is no dashboard (it
  // would be an open admin door); else the tokens above. INVALID_ARGUMENT
  // for an address other machines could reach; UNAVAILABLE if it cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& listen, const std::string& key,
      MetricsSources sources);
  virtual ~MetricsEndpoint() = default;
  // "http://HOST:PORT/metrics", with the bound port.
  virtual const std::string& url() const = 0;
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_MANAGER_METRICS_H_
