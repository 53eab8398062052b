// MetricsEndpoint::Start: the civetweb server behind --metrics-listen, its
// routes and its access rules (manager_metrics.h).
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "CivetServer.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth_proof.h"
#include "prometheus/text_serializer.h"
#include "server/rpc/dashboard_api.h"
#include "server/rpc/dashboard_page.h"
#include "server/rpc/manager_collector.h"
#include "server/rpc/manager_metrics.h"

namespace mproc {
namespace {

constexpr char kCookie[] = "mproc_token";
constexpr char kRequestHeader[] = "X-Mproc-Request";

void Reply(mg_connection* conn, int status, absl::string_view type,
           absl::string_view body, absl::string_view extra_headers = "") {
  const char* reason = mg_get_response_code_text(conn, status);
  const std::string head = absl::StrCat(
      "HTTP/1.1 ", status, " ", reason == nullptr ? "" : reason,
      "\r\nContent-Type: ", type, "\r\nContent-Length: ", body.size(),
      "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n",
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

class Routes : public CivetHandler {
 public:
  Routes(std::string token, std::shared_ptr<prometheus::Collectable> collector,
         std::unique_ptr<DashboardApi> api)
      : token_(std::move(token)),
        collector_(std::move(collector)),
        api_(std::move(api)) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    const std::string path = Path(conn);
    if (path == "/login") {
      Reply(conn, 200, "text/html; charset=utf-8", LoginPage(""));
      return true;
    }
    if (!Allowed(conn)) {
      Unauthorized(conn, path);
      return true;
    }
    if (path == "/metrics") {
      const std::string text =
          prometheus::TextSerializer().Serialize(collector_->Collect());
      Reply(conn, 200, "text/plain; version=0.0.4", text);
    } else if (path == "/" && api_ != nullptr) {
      Reply(conn, 200, "text/html; charset=utf-8", DashboardPage());
    } else if (absl::StartsWith(path, "/api/") && api_ != nullptr) {
      Answer(conn, api_->Get(path, Query(conn)));
    } else {
      Reply(conn, 404, "text/plain", "not found\n");
    }
    return true;
  }

  bool handlePost(CivetServer*, mg_connection* conn) override {
    const std::string path = Path(conn);
    if (path == "/login") {
      std::string given;
      CivetServer::getParam(conn, "token", given);
      if (!token_.empty() && !SecretEquals(given, token_)) {
        Reply(conn, 401, "text/html; charset=utf-8",
              LoginPage("That is not this manager's token."));
        return true;
      }
      Reply(conn, 303, "text/plain", "",
            absl::StrCat("Location: /\r\nSet-Cookie: ", kCookie, "=", token_,
                         "; Path=/; HttpOnly; SameSite=Strict\r\n"));
      return true;
    }
    if (!Allowed(conn)) {
      Unauthorized(conn, path);
      return true;
    }
    if (CivetServer::getHeader(conn, kRequestHeader) == nullptr) {
      Reply(conn, 403, "text/plain",
            absl::StrCat("a change needs the ", kRequestHeader, " header\n"));
      return true;
    }
    if (absl::StartsWith(path, "/api/") && api_ != nullptr) {
      Answer(conn, api_->Post(path, Query(conn)));
    } else {
      Reply(conn, 404, "text/plain", "not found\n");
    }
    return true;
  }

 private:
  // The token as basic auth's password (any user), or the login cookie.
  bool Allowed(mg_connection* conn) const {
    if (token_.empty()) return true;
    std::string cookie;
    if (CivetServer::getCookie(conn, kCookie, cookie) > 0 &&
        SecretEquals(cookie, token_)) {
      return true;
    }
    const char* auth = CivetServer::getHeader(conn, "Authorization");
    std::string decoded;
    if (auth == nullptr || !absl::StartsWith(auth, "Basic ") ||
        !absl::Base64Unescape(auth + 6, &decoded)) {
      return false;
    }
    const size_t colon = decoded.find(':');
    return colon != std::string::npos &&
           SecretEquals(decoded.substr(colon + 1), token_);
  }

  void Unauthorized(mg_connection* conn, const std::string& path) const {
    if (path == "/") {  // a person: to the login form
      Reply(conn, 303, "text/plain", "", "Location: /login\r\n");
      return;
    }
    Reply(conn, 401, "text/plain",
          "the token `mproc metrics-token` prints is needed (basic auth "
          "password)\n",
          "WWW-Authenticate: Basic realm=\"mproc\"\r\n");
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

  const std::string token_;
  const std::shared_ptr<prometheus::Collectable> collector_;
  const std::unique_ptr<DashboardApi> api_;
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
    const std::string& listen, const std::string& token,
    MetricsSources sources) {
  absl::StatusOr<std::string> bind = MetricsBindAddress(listen);
  if (!bind.ok()) return bind.status();
  std::unique_ptr<DashboardApi> api;
  if (sources.dispatcher != nullptr) {
    api = std::make_unique<DashboardApi>(sources.dispatcher, sources.ops,
                                         sources.open_streams);
  }
  auto routes = std::make_unique<Routes>(token, NewManagerCollector(sources),
                                         std::move(api));
  std::unique_ptr<CivetServer> server;
  try {
    // A few threads (a dashboard polls several routes at once), and a
    // client that sends nothing is dropped after 2 s: an idle connection
    // cannot hold scrapes up.
    server = std::make_unique<CivetServer>(std::vector<std::string>{
        "listening_ports", *bind, "num_threads", "4", "request_timeout_ms",
        "2000", "enable_keep_alive", "no"});
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on '", listen, "': ", e.what()));
  }
  server->addHandler("/", routes.get());
  const std::vector<int> ports = server->getListeningPorts();
  const std::string url =
      absl::StrCat("http://", bind->substr(0, bind->rfind(':')), ":",
                   ports.empty() ? 0 : ports[0], "/metrics");
  auto endpoint = std::make_unique<HttpEndpoint>(std::move(routes), url);
  endpoint->server_ = std::move(server);
  return std::unique_ptr<MetricsEndpoint>(std::move(endpoint));
}

}  // namespace mproc
