// MetricsEndpoint::Start: the civetweb server behind --metrics-listen, its
// routes and its access rules (manager_metrics.h).
#include <algorithm>
#include <deque>
#include <exception>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "CivetServer.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/auth_proof.h"
#include "prometheus/text_serializer.h"
#include "server/rpc/dashboard_api.h"
#include "server/rpc/dashboard_page.h"
#include "server/rpc/manager_collector.h"
#include "server/rpc/manager_metrics.h"

namespace mproc {
namespace {

constexpr char kRequestHeader[] = "X-Mproc-Request";
// Login sessions kept at once; the oldest goes first.
constexpr size_t kMaxSessions = 64;

void Reply(mg_connection* conn, int status, absl::string_view type,
           absl::string_view body, absl::string_view extra_headers = "") {
  const char* reason = mg_get_response_code_text(conn, status);
  const std::string head = absl::StrCat(
      "HTTP/1.1 ", status, " ", reason == nullptr ? "" : reason,
      "\r\nContent-Type: ", type, "\r\nContent-Length: ", body.size(),
      "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
      "X-Frame-Options: DENY\r\n",
      "Content-Security-Policy: default-src 'self'; script-src "
      "'unsafe-inline'; "
      "style-src 'unsafe-inline'; frame-ancestors 'none'\r\n",
      "Connection: close\r\n", extra_headers, "\r\n");
  mg_write(conn, head.data(), head.size());
  mg_write(conn, body.data(), body.size());
}

// The HTTP status for a manager's answer.
int HttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

std::string Path(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  return info != nullptr && info->local_uri != nullptr ? info->local_uri : "";
}

std::string RandomHex(size_t bytes) {
  std::random_device seed;
  std::string raw(bytes, '\0');
  for (char& c : raw) c = static_cast<char>(seed());
  return absl::BytesToHexString(raw);
}

class Routes : public CivetHandler {
 public:
  // `key` empty: /metrics is open and there is no dashboard.
  Routes(const std::string& key,
         std::shared_ptr<prometheus::Collectable> collector,
         std::unique_ptr<DashboardApi> api)
      : metrics_token_(key.empty() ? "" : MetricsToken(key)),
        dashboard_token_(key.empty() ? "" : DashboardToken(key)),
        collector_(std::move(collector)),
        api_(key.empty() ? nullptr : std::move(api)) {}

  // The host:port requests must name (set once the port is bound).
  void SetHost(const std::string& host, int port) {
    hosts_ = {absl::StrCat(host, ":", port)};
    if (host == "127.0.0.1") hosts_.push_back(absl::StrCat("localhost:", port));
    cookie_ = absl::StrCat("mproc_session_", port);
  }

  bool handleGet(CivetServer*, mg_connection* conn) override {
    if (!Reachable(conn)) return true;
    const std::string path = Path(conn);
    if (path == "/metrics") {
      if (!metrics_token_.empty() && !PasswordIs(conn, metrics_token_) &&
          !PasswordIs(conn, dashboard_token_)) {
        Unauthorized(conn, /*prompt=*/true);
        return true;
      }
      const std::string text =
          prometheus::TextSerializer().Serialize(collector_->Collect());
      Reply(conn, 200, "text/plain; version=0.0.4", text);
      return true;
    }
    if (api_ == nullptr) {
      Reply(conn, 404, "text/plain",
            path == "/" ? "no dashboard: this manager has no key (it would "
                          "be open to every local user)\n"
                        : "not found\n");
      return true;
    }
    if (path == "/login") {
      Reply(conn, 200, "text/html; charset=utf-8", LoginPage(""));
      return true;
    }
    if (!Allowed(conn)) {
      if (path == "/") {  // a person: to the login form
        Reply(conn, 303, "text/plain", "", "Location: /login\r\n");
      } else {
        // The page's own calls (with the header) get no password prompt:
        // it sends the person to the login form itself.
        Unauthorized(conn,
                     CivetServer::getHeader(conn, kRequestHeader) == nullptr);
      }
      return true;
    }
    if (path == "/") {
      Reply(conn, 200, "text/html; charset=utf-8", DashboardPage());
    } else if (absl::StartsWith(path, "/api/")) {
      Answer(conn, api_->Get(path, Query(conn)));
    } else {
      Reply(conn, 404, "text/plain", "not found\n");
    }
    return true;
  }

  bool handlePost(CivetServer*, mg_connection* conn) override {
    if (!Reachable(conn)) return true;
    const std::string path = Path(conn);
    if (api_ == nullptr) {
      Reply(conn, 404, "text/plain", "not found\n");
      return true;
    }
    if (!SameOrigin(conn)) {
      Reply(conn, 403, "text/plain", "a request from another site\n");
      return true;
    }
    if (path == "/login") {
      std::string given;
      CivetServer::getParam(conn, "token", given);
      if (!SecretEquals(given, dashboard_token_)) {
        Reply(conn, 401, "text/html; charset=utf-8",
              LoginPage("That is not this manager's dashboard token."));
        return true;
      }
      Reply(conn, 303, "text/plain", "",
            absl::StrCat("Location: /\r\nSet-Cookie: ", cookie_, "=",
                         NewSession(),
                         "; Path=/; HttpOnly; SameSite=Strict\r\n"));
      return true;
    }
    if (!Allowed(conn)) {
      Unauthorized(conn, /*prompt=*/false);
      return true;
    }
    if (CivetServer::getHeader(conn, kRequestHeader) == nullptr) {
      Reply(conn, 403, "text/plain",
            absl::StrCat("a change needs the ", kRequestHeader, " header\n"));
      return true;
    }
    if (absl::StartsWith(path, "/api/")) {
      Answer(conn, api_->Post(path, Query(conn)));
    } else {
      Reply(conn, 404, "text/plain", "not found\n");
    }
    return true;
  }

 private:
  // Refuses (and answers) a request naming another host: a name that
  // resolves here by rebinding is not this manager's page.
  bool Reachable(mg_connection* conn) const {
    const char* host = CivetServer::getHeader(conn, "Host");
    if (host != nullptr &&
        std::find(hosts_.begin(), hosts_.end(), host) != hosts_.end()) {
      return true;
    }
    Reply(conn, 421, "text/plain",
          absl::StrCat("this server answers for ", hosts_.front(), " only\n"));
    return false;
  }

  // No Origin (not a browser's cross-site request), or this one.
  bool SameOrigin(mg_connection* conn) const {
    const char* origin = CivetServer::getHeader(conn, "Origin");
    if (origin == nullptr) return true;
    for (const std::string& h : hosts_) {
      if (absl::StrCat("http://", h) == origin) return true;
    }
    return false;
  }

  bool PasswordIs(mg_connection* conn, const std::string& token) const {
    const char* auth = CivetServer::getHeader(conn, "Authorization");
    std::string decoded;
    if (token.empty() || auth == nullptr || !absl::StartsWith(auth, "Basic ") ||
        !absl::Base64Unescape(auth + 6, &decoded)) {
      return false;
    }
    const size_t colon = decoded.find(':');
    return colon != std::string::npos &&
           SecretEquals(decoded.substr(colon + 1), token);
  }

  // The dashboard token as basic auth's password, or a login session.
  bool Allowed(mg_connection* conn) {
    if (PasswordIs(conn, dashboard_token_)) return true;
    std::string session;
    if (CivetServer::getCookie(conn, cookie_, session) <= 0) return false;
    absl::MutexLock l(&mu_);
    for (const std::string& s : sessions_) {
      if (SecretEquals(s, session)) return true;
    }
    return false;
  }

  std::string NewSession() {
    std::string id = RandomHex(16);
    absl::MutexLock l(&mu_);
    sessions_.push_back(id);
    if (sessions_.size() > kMaxSessions) sessions_.pop_front();
    return id;
  }

  static void Unauthorized(mg_connection* conn, bool prompt) {
    Reply(conn, 401, "text/plain",
          "the token is needed: `mproc metrics-token` for /metrics, "
          "`mproc metrics-token --dashboard` for the dashboard (basic auth "
          "password, any user)\n",
          prompt ? "WWW-Authenticate: Basic realm=\"mproc\"\r\n" : "");
  }

  static QueryParams Query(mg_connection* conn) {
    QueryParams params;
    const mg_request_info* info = mg_get_request_info(conn);
    if (info == nullptr || info->query_string == nullptr) return params;
    for (absl::string_view pair :
         absl::StrSplit(info->query_string, '&', absl::SkipEmpty())) {
      const std::string key(pair.substr(0, pair.find('=')));
      std::string value;
      CivetServer::getParam(info->query_string, key.c_str(), value);
      params[key] = value;
    }
    return params;
  }

  static void Answer(mg_connection* conn, const absl::StatusOr<Value>& v) {
    if (v.ok()) {
      Reply(conn, 200, "application/json", v->ToJson());
      return;
    }
    Reply(conn, HttpStatus(v.status().code()), "application/json",
          Value(Map{{"error", std::string(v.status().message())}}).ToJson());
  }

  const std::string metrics_token_;
  const std::string dashboard_token_;
  const std::shared_ptr<prometheus::Collectable> collector_;
  const std::unique_ptr<DashboardApi> api_;
  // Set before serving starts; read-only after.
  std::vector<std::string> hosts_;
  std::string cookie_;
  absl::Mutex mu_;
  std::deque<std::string> sessions_ ABSL_GUARDED_BY(mu_);
};

class HttpEndpoint : public MetricsEndpoint {
 public:
  HttpEndpoint(std::unique_ptr<Routes> routes, std::string url)
      : routes_(std::move(routes)), url_(std::move(url)) {}
  ~HttpEndpoint() override { server_.reset(); }  // stops serving first
  const std::string& url() const override { return url_; }

  std::unique_ptr<Routes> routes_;
  std::unique_ptr<CivetServer> server_;
  const std::string url_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& listen, const std::string& key, MetricsSources sources) {
  absl::StatusOr<std::string> bind = MetricsBindAddress(listen);
  if (!bind.ok()) return bind.status();
  std::unique_ptr<DashboardApi> api;
  if (sources.dispatcher != nullptr) {
    api = std::make_unique<DashboardApi>(sources.dispatcher, sources.ops,
                                         sources.open_streams);
  }
  auto routes = std::make_unique<Routes>(key, NewManagerCollector(sources),
                                         std::move(api));
  std::unique_ptr<CivetServer> server;
  try {
    // A few threads (a dashboard polls several routes at once), and a
    // client that sends nothing is dropped after 2 s: an idle connection
    // cannot hold scrapes up. No CORS: no other site's page may call in
    // (civetweb would grant any origin by default).
    server = std::make_unique<CivetServer>(std::vector<std::string>{
        "listening_ports", *bind, "num_threads", "4", "request_timeout_ms",
        "2000", "enable_keep_alive", "no", "access_control_allow_origin", "",
        "access_control_allow_methods", "", "access_control_allow_headers",
        ""});
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on '", listen, "': ", e.what()));
  }
  const std::vector<int> ports = server->getListeningPorts();
  const std::string host = bind->substr(0, bind->rfind(':'));
  const int port = ports.empty() ? 0 : ports[0];
  // Before any request can arrive at the routes.
  routes->SetHost(host, port);
  server->addHandler("/", routes.get());
  const std::string url = absl::StrCat("http://", host, ":", port, "/metrics");
  auto endpoint = std::make_unique<HttpEndpoint>(std::move(routes), url);
  endpoint->server_ = std::move(server);
  return std::unique_ptr<MetricsEndpoint>(std::move(endpoint));
}

}  // namespace mproc
