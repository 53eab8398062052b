#include "tests/support/browser.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/http_client.h"

namespace mproc {
namespace testing {
namespace {

// The key under which WebDriver names an element.
constexpr char kElementKey[] = "element-6066-11e4-a52e-4f735466cecf";

// `key` of the map `v`; null if `v` is no map or has no such key.
const Value* Field(const Value& v, const char* key) {
  if (!v.is_map()) return nullptr;
  auto it = v.map_value().find(Value(key));
  return it == v.map_value().end() ? nullptr : &it->second;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

absl::StatusOr<Value> Call(const std::string& method, const std::string& url,
                           const Value& body) {
  const HttpReply reply =
      HttpRequest(method, url, body.is_null() ? "" : body.ToJson(),
                  {"Content-Type: application/json"});
  if (reply.status == 0) {
    return absl::UnavailableError(absl::StrCat("no answer from ", url));
  }
  absl::StatusOr<Value> json = Value::FromJson(reply.body);
  if (!json.ok() || !json->is_map()) {
    return absl::InternalError(
        absl::StrCat("webdriver: not JSON from ", url, ": ", reply.body));
  }
  const Value* value = Field(*json, "value");
  const Value result = value == nullptr ? Value() : *value;
  if (reply.status != 200) {
    return absl::FailedPreconditionError(
        absl::StrCat("webdriver ", method, " ", url, ": ", reply.status, " ",
                     result.ToJson().substr(0, 500)));
  }
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Browser>> Browser::Start(
    const std::string& scratch_dir) {
  const int port = FreePort();
  PopenOptions options;
  options.stdout_mode = StreamMode::kDevNull;
  options.stderr_mode = StreamMode::kDevNull;
  absl::StatusOr<std::unique_ptr<Popen>> driver = Popen::Start(
      {"/usr/bin/chromedriver", absl::StrCat("--port=", port)}, options);
  if (!driver.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "chromedriver did not start (scripts/setup.sh installs it): ",
        driver.status().message()));
  }
  const std::string base = absl::StrCat("http://127.0.0.1:", port);
  std::unique_ptr<Browser> browser(new Browser(*std::move(driver), base));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  for (;;) {
    absl::StatusOr<Value> status = Call("GET", base + "/status", Value());
    if (status.ok()) break;
    if (absl::Now() > deadline) {
      return absl::UnavailableError("chromedriver never answered /status");
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  const Value chrome_options(
      Map{{"binary", "/usr/bin/chromium"},
          {"args", List{"--headless=new", "--no-sandbox", "--disable-gpu",
                        "--disable-dev-shm-usage", "--window-size=1400,2000",
                        absl::StrCat("--user-data-dir=", scratch_dir,
                                     "/chromium-profile")}}});
  const Value capabilities(
      Map{{"capabilities",
           Map{{"alwaysMatch", Map{{"browserName", "chrome"},
                                   {"goog:chromeOptions", chrome_options}}}}}});
  absl::StatusOr<Value> session = Call("POST", base + "/session", capabilities);
  if (!session.ok()) return session.status();
  const Value* id = Field(*session, "sessionId");
  if (id == nullptr || !id->is_string()) {
    return absl::UnavailableError(
        absl::StrCat("no Chromium session: ", session->ToJson()));
  }
  browser->session_ = id->string_value();
  return browser;
}

Browser::~Browser() {
  if (!session_.empty()) {
    (void)Call("DELETE", absl::StrCat(base_, "/session/", session_), Value());
  }
  (void)driver_->Kill();
  (void)driver_->Wait(absl::Seconds(10));
}

absl::StatusOr<Value> Browser::Command(const std::string& method,
                                       const std::string& path,
                                       const Value& body) {
  return Call(method, absl::StrCat(base_, "/session/", session_, path), body);
}

absl::Status Browser::Go(const std::string& url) {
  return Command("POST", "/url", Value(Map{{"url", url}})).status();
}

absl::StatusOr<std::string> Browser::Element(const std::string& css) {
  absl::StatusOr<Value> found =
      Command("POST", "/element",
              Value(Map{{"using", "css selector"}, {"value", css}}));
  if (!found.ok()) {
    // Where the page is and what it shows, to tell why.
    absl::StatusOr<Value> page = Script(
        "return location.href + ': ' + "
        "document.documentElement.outerHTML.slice(0, 400);");
    return absl::NotFoundError(absl::StrCat(
        "no element ", css, " on ",
        page.ok() ? page->ToJson() : std::string(page.status().message())));
  }
  const Value* id = Field(*found, kElementKey);
  if (id == nullptr || !id->is_string()) {
    return absl::NotFoundError(
        absl::StrCat("no element ", css, ": ", found->ToJson()));
  }
  return id->string_value();
}

absl::StatusOr<std::string> Browser::Text(const std::string& css) {
  absl::StatusOr<std::string> id = Element(css);
  if (!id.ok()) return id.status();
  absl::StatusOr<Value> text = Command("GET", "/element/" + *id + "/text");
  if (!text.ok()) return text.status();
  return text->is_string() ? text->string_value() : std::string();
}

absl::Status Browser::Click(const std::string& css) {
  absl::StatusOr<std::string> id = Element(css);
  if (!id.ok()) return id.status();
  return Command("POST", "/element/" + *id + "/click", Value(Map{})).status();
}

absl::Status Browser::Type(const std::string& css, const std::string& text) {
  absl::StatusOr<std::string> id = Element(css);
  if (!id.ok()) return id.status();
  return Command("POST", "/element/" + *id + "/value",
                 Value(Map{{"text", text}}))
      .status();
}

absl::StatusOr<Value> Browser::Script(const std::string& js) {
  return Command("POST", "/execute/sync",
                 Value(Map{{"script", js}, {"args", List{}}}));
}

absl::Status Browser::AwaitTrue(const std::string& js, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<Value> last;
  while (absl::Now() < deadline) {
    last = Script(js);
    if (last.ok() && last->is_bool() && last->bool_value()) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "the page never made this true: ", js, " (last: ",
      last.ok() ? last->ToJson() : std::string(last.status().message()), ")"));
}

absl::Status Browser::Screenshot(const std::string& path) {
  absl::StatusOr<Value> shot = Command("GET", "/screenshot");
  if (!shot.ok()) return shot.status();
  std::string png;
  if (!shot->is_string() || !absl::Base64Unescape(shot->string_value(), &png)) {
    return absl::InternalError("the screenshot is not base64");
  }
  std::ofstream(path, std::ios::binary) << png;
  return absl::OkStatus();
}

}  // namespace testing
}  // namespace mproc
