// The live dashboard (--metrics-listen, /), in a real headless Chromium:
// a real manager and worker processes, tasks that succeed, fail and go to
// the dead letters; the page is logged into with the token, shows the
// rows and numbers, updates itself as tasks finish, shows a task's
// detail, and its requeue button runs a dead letter again. A screenshot
// is kept among the test's outputs. Its JSON API and access rules are
// checked over plain HTTP.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/manager.h"
#include "gtest/gtest.h"
#include "tests/support/browser.h"
#include "tests/support/child_process.h"
#include "tests/support/http_client.h"
#include "tests/support/status_matchers.h"
#include "tests/support/worker_daemon.h"

namespace mproc {
namespace {

using testing::Browser;
using testing::CommandResult;
using testing::HttpReply;
using testing::HttpRequest;
using testing::ManagerProcess;
using testing::MprocBinary;
using testing::RunCommand;
using testing::WorkerDaemon;

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = ManagerProcess::Start("127.0.0.1:0",
                                        {"--metrics-listen", "127.0.0.1:0"});
    ASSERT_OK(server);
    server_ = *std::move(server);
    const std::string url = server_->MetricsUrl();
    ASSERT_FALSE(url.empty()) << server_->output();
    base_ = url.substr(0, url.rfind('/'));
    CommandResult token =
        RunCommand({MprocBinary(), "metrics-token", "--dashboard"});
    ASSERT_EQ(token.exit_code, 0) << token.err;
    token_ = std::string(absl::StripAsciiWhitespace(token.out));
    auto manager = Manager::Connect(server_->address());
    ASSERT_OK(manager);
    manager_ = *std::move(manager);
  }

  HttpReply Api(const std::string& method, const std::string& path,
                bool with_token = true, bool with_header = true) {
    std::vector<std::string> headers;
    if (with_token) headers.push_back(testing::BasicAuthHeader("t", token_));
    if (with_header) headers.push_back("X-Mproc-Request: 1");
    return HttpRequest(method, base_ + path, "", headers);
  }

  std::unique_ptr<ManagerProcess> server_;
  std::unique_ptr<Manager> manager_;
  std::string base_;  // http://127.0.0.1:PORT
  std::string token_;
};

// Clicks the element `css` in one step: the page rebuilds its tables every
// second, so an element found in one WebDriver call may be gone by the
// next.
absl::Status ClickInPage(Browser& b, const std::string& css) {
  absl::StatusOr<Value> clicked = b.Script(
      absl::StrCat("const e = document.querySelector('", css,
                   "'); if (!e) return false; e.click(); return true;"));
  if (!clicked.ok()) return clicked.status();
  return clicked->is_bool() && clicked->bool_value()
             ? absl::OkStatus()
             : absl::NotFoundError(absl::StrCat("no element ", css));
}

// The cells of the table row `css` as the page shows them.
std::string RowCells(const std::string& css) {
  return absl::StrCat(
      "return [...(document.querySelector('", css,
      "') || {querySelectorAll: () => []}).querySelectorAll('td')]"
      ".map(td => td.textContent);");
}

TEST_F(DashboardTest, LiveInChromiumWithRequeueFromTheButton) {
  auto workers = WorkerDaemon::Start(server_->address(), "web", 2);
  ASSERT_OK(workers);
  auto pool = manager_->Pool("web");
  ASSERT_OK(pool);
  for (int i = 1; i <= 3; ++i) {
    ASSERT_EQ(*(*pool)->Apply("square", {i}), Value(i * i));
  }
  // Fails on its first call, succeeds on its second: a dead letter that a
  // requeue brings to success.
  const std::string calls =
      absl::StrCat(std::getenv("TEST_TMPDIR"), "/flaky-calls");
  AsyncResult flaky = (*pool)->ApplyAsync("flaky", {calls, 1});
  EXPECT_FALSE(flaky.Get(absl::Seconds(20)).ok());
  auto lock = manager_->Lock("web-lock");
  ASSERT_OK(lock);
  ASSERT_OK(lock->Acquire());

  auto browser = Browser::Start(std::getenv("TEST_TMPDIR"));
  ASSERT_OK(browser);
  Browser& b = **browser;
  // Without the token: the login form; a wrong token is refused.
  ASSERT_OK(b.Go(base_ + "/"));
  ASSERT_OK(b.AwaitTrue("return location.pathname === '/login';"));
  ASSERT_OK(b.Type("#token", "not-the-token"));
  ASSERT_OK(b.Click("#login"));
  ASSERT_OK(b.AwaitTrue("return !!document.getElementById('error');"));
  ASSERT_OK(b.Type("#token", token_));
  ASSERT_OK(b.Click("#login"));
  ASSERT_OK(b.AwaitTrue(
      "return location.pathname === '/' && "
      "Number(document.getElementById('updated').dataset.refreshes) >= 2;"));

  // Pools: web, 2 workers, 3 succeeded, 1 failed, 1 dead letter.
  const std::string web_row = RowCells("#pools tr[data-pool=\"web\"]");
  ASSERT_OK(b.AwaitTrue(absl::StrCat(
      "const c = (function() {", web_row,
      "})(); return c.length === 10 && c[1] === '2' && c[5] === '3' && "
      "c[6] === '1' && c[9] === '1';")))
      << b.Script(web_row)->ToJson();
  // Workers: both processes, one with the flaky task's error.
  ASSERT_OK(b.AwaitTrue(
      "return document.querySelectorAll('#workers tbody tr').length === 2 && "
      "document.querySelector('#workers tbody').textContent"
      ".includes('flaky: not yet');"));
  // Tasks: all four, the flaky one failed.
  ASSERT_OK(b.AwaitTrue(
      "return document.querySelectorAll('#tasks tr[data-pool=\"web\"]').length "
      "=== 4;"));
  auto flaky_row = b.Script(
      RowCells(absl::StrCat("#tasks tr[data-id=\"", flaky.task_id(), "\"]")));
  ASSERT_OK(flaky_row);
  EXPECT_EQ(flaky_row->list_value().at(3), Value("failed"))
      << flaky_row->ToJson();
  // Objects: the held lock and its holder.
  ASSERT_OK(b.AwaitTrue(
      "const r = document.querySelector('#objects tr[data-name=\"web-lock\"]');"
      " return !!r && r.textContent.includes('held by');"));

  // Live: a task finished now shows without a reload.
  ASSERT_EQ(*(*pool)->Apply("square", {4}), Value(16));
  ASSERT_OK(b.AwaitTrue(absl::StrCat("const c = (function() {", web_row,
                                     "})(); return c[5] === '4';")));

  // A task's detail: its attempts and error.
  ASSERT_OK(ClickInPage(
      b, absl::StrCat("#tasks tr[data-id=\"", flaky.task_id(), "\"]")));
  ASSERT_OK(b.AwaitTrue(absl::StrCat(
      "const t = document.getElementById('task-detail').textContent; return "
      "t.includes('task ",
      flaky.task_id(),
      " of pool web: flaky, failed') && "
      "t.includes('error: TaskError: flaky: not yet');")));

  // Requeue from the dead letters: it runs again, and succeeds.
  ASSERT_OK(
      ClickInPage(b, absl::StrCat("#dead-letters tr[data-id=\"",
                                  flaky.task_id(), "\"] button.requeue")));
  ASSERT_OK(
      b.AwaitTrue("return document.getElementById('message').textContent"
                  ".startsWith('requeued task');"));
  auto message = b.Text("#message");
  ASSERT_OK(message);
  int64_t fresh = 0;
  ASSERT_TRUE(
      absl::SimpleAtoi(message->substr(message->rfind(' ') + 1), &fresh))
      << *message;
  EXPECT_EQ(*(*pool)->GetResult(fresh, absl::Seconds(20)), Value(2));
  ASSERT_OK(
      b.AwaitTrue(absl::StrCat("const c = (function() {", web_row,
                               "})(); return c[5] === '5' && c[9] === '0';")));

  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  const std::string shot =
      absl::StrCat(outputs != nullptr ? outputs : std::getenv("TEST_TMPDIR"),
                   "/dashboard.png");
  ASSERT_OK(b.Screenshot(shot));
  std::ifstream png(shot, std::ios::binary);
  std::string magic(8, '\0');
  png.read(magic.data(), 8);
  EXPECT_EQ(magic, "\x89PNG\r\n\x1a\n");
  ASSERT_OK(lock->Release());
}

TEST_F(DashboardTest, ApiNeedsTheTokenAndAChangeNeedsItsHeader) {
  EXPECT_EQ(Api("GET", "/api/pools", /*with_token=*/false).status, 401);
  EXPECT_EQ(HttpRequest("GET", base_ + "/").status, 303);  // to the login
  EXPECT_EQ(HttpRequest("POST", base_ + "/login", "token=wrong").status, 401);
  HttpReply login = HttpRequest("POST", base_ + "/login", "token=" + token_);
  EXPECT_EQ(login.status, 303);
  EXPECT_TRUE(absl::StrContains(login.headers, "HttpOnly; SameSite=Strict"))
      << login.headers;

  HttpReply overview = Api("GET", "/api/overview");
  ASSERT_EQ(overview.status, 200) << overview.body;
  auto parsed = Value::FromJson(overview.body);
  ASSERT_OK(parsed);
  EXPECT_TRUE(parsed->map_value().count(Value("uptime_seconds")));
  EXPECT_EQ(Api("GET", "/api/nothing").status, 404);
  EXPECT_EQ(Api("GET", "/api/task?pool=web&id=x").status, 400);
  // A change without the header a page of another site cannot send.
  EXPECT_EQ(Api("POST", "/api/requeue?pool=web&id=all", true, false).status,
            403);
  HttpReply none = Api("POST", "/api/requeue?pool=web&id=all");
  EXPECT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(none.body, "[]");

  // The scraper's token reads /metrics only.
  CommandResult scrape = RunCommand({MprocBinary(), "metrics-token"});
  const std::string metrics_token(absl::StripAsciiWhitespace(scrape.out));
  ASSERT_NE(metrics_token, token_);
  const std::string as_scraper = testing::BasicAuthHeader("p", metrics_token);
  EXPECT_EQ(HttpRequest("GET", base_ + "/metrics", "", {as_scraper}).status,
            200);
  EXPECT_EQ(HttpRequest("GET", base_ + "/api/pools", "", {as_scraper}).status,
            401);
  // The login opens a session: its cookie, not the token, is the key.
  const size_t at = login.headers.find("Set-Cookie: ");
  ASSERT_NE(at, std::string::npos);
  const std::string cookie =
      login.headers.substr(at + 12, login.headers.find(';', at) - at - 12);
  EXPECT_FALSE(absl::StrContains(cookie, token_)) << cookie;
  EXPECT_EQ(HttpRequest("GET", base_ + "/api/pools", "", {"Cookie: " + cookie})
                .status,
            200);
  const std::string name = cookie.substr(0, cookie.find('='));
  EXPECT_EQ(HttpRequest("GET", base_ + "/api/pools", "",
                        {"Cookie: " + name + "=" + token_})
                .status,
            401);
  // The page's own calls get no password prompt; a person's do.
  EXPECT_FALSE(absl::StrContains(
      HttpRequest("GET", base_ + "/api/pools", "", {"X-Mproc-Request: 1"})
          .headers,
      "WWW-Authenticate"));
  EXPECT_TRUE(absl::StrContains(
      HttpRequest("GET", base_ + "/api/pools").headers, "WWW-Authenticate"));
  // Another name for this address (DNS rebinding), another site's page,
  // and cross-origin reads are all refused.
  EXPECT_EQ(
      HttpRequest("GET", base_ + "/api/pools", "",
                  {"Host: evil.example", testing::BasicAuthHeader("t", token_)})
          .status,
      421);
  EXPECT_EQ(HttpRequest("POST", base_ + "/api/requeue?pool=web&id=all", "",
                        {testing::BasicAuthHeader("t", token_),
                         "X-Mproc-Request: 1", "Origin: http://evil.example"})
                .status,
            403);
  HttpReply preflight = HttpRequest(
      "OPTIONS", base_ + "/api/requeue", "",
      {"Origin: http://evil.example", "Access-Control-Request-Method: POST",
       "Access-Control-Request-Headers: x-mproc-request"});
  EXPECT_FALSE(absl::StrContains(preflight.headers, "Access-Control-Allow"))
      << preflight.headers;
}

// Without a key the dashboard would be an open admin door: there is none.
TEST(DashboardWithoutKeyTest, OnlyMetricsAreServed) {
  auto server = ManagerProcess::Start(
      "127.0.0.1:0", {"--no-auth", "--metrics-listen", "127.0.0.1:0"});
  ASSERT_OK(server);
  const std::string url = (*server)->MetricsUrl();
  ASSERT_FALSE(url.empty()) << (*server)->output();
  const std::string base = url.substr(0, url.rfind('/'));
  EXPECT_EQ(HttpRequest("GET", base + "/metrics").status, 200);
  EXPECT_EQ(HttpRequest("GET", base + "/").status, 404);
  EXPECT_EQ(HttpRequest("GET", base + "/api/pools").status, 404);
  EXPECT_EQ(HttpRequest("POST", base + "/api/requeue?pool=p&id=all", "",
                        {"X-Mproc-Request: 1"})
                .status,
            404);
}

}  // namespace
}  // namespace mproc
