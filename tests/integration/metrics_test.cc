// The manager's Prometheus endpoint (--metrics-listen), scraped over HTTP
// and parsed strictly as the text exposition format.
#include <map>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "tests/support/http_client.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/worker_daemon.h"

namespace mproc {
namespace {

using testing::CommandResult;
using testing::HttpReply;
using testing::ManagerProcess;
using testing::MprocBinary;
using testing::RunCommand;

// GET `url`, with basic auth if `password`.
HttpReply Get(const std::string& url, const std::string& password) {
  std::vector<std::string> headers;
  if (!password.empty()) {
    headers.push_back(testing::BasicAuthHeader("prom", password));
  }
  return testing::HttpRequest("GET", url, "", headers);
}

// Every sample, "name{labels}" -> value; fails the test on any line that
// is not valid text exposition.
std::map<std::string, double> Parse(const std::string& text) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})?) (\S+)$)");
  static const std::regex kComment(
      R"(^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$)");
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const std::string l(line);
    std::smatch m;
    if (absl::StartsWith(l, "#")) {
      EXPECT_TRUE(std::regex_match(l, kComment)) << l;
      continue;
    }
    if (!std::regex_match(l, m, kSample)) {
      ADD_FAILURE() << "not a sample line: " << l;
      continue;
    }
    const std::string value = m[7];
    double v = 0;
    if (value == "+Inf" || value == "-Inf" || value == "Nan" ||
        value == "NaN") {
      v = 0;
    } else {
      EXPECT_TRUE(absl::SimpleAtod(value, &v)) << l;
    }
    samples[m[1]] = v;
  }
  return samples;
}

class MetricsTest : public ::testing::Test {
 protected:
  void StartWith(bool sidecar) {
    auto server =
        sidecar ? ManagerProcess::StartSidecar(
                      "127.0.0.1:0",
                      {"--metrics-listen", "127.0.0.1:0", "--processes", "1"})
                : ManagerProcess::Start("127.0.0.1:0",
                                        {"--metrics-listen", "127.0.0.1:0"});
    ASSERT_OK(server);
    server_ = *std::move(server);
    url_ = server_->MetricsUrl();
    ASSERT_FALSE(url_.empty()) << server_->output();
    CommandResult token = RunCommand({MprocBinary(), "metrics-token"});
    ASSERT_EQ(token.exit_code, 0) << token.err;
    token_ = std::string(absl::StripAsciiWhitespace(token.out));
  }
  std::unique_ptr<ManagerProcess> server_;
  std::string url_;
  std::string token_;
};

TEST_F(MetricsTest, ScrapedAndParsedWithRequestsAndQueueDepth) {
  StartWith(false);
  auto m = Manager::Connect(server_->address());
  ASSERT_OK(m);
  auto d = (*m)->Dict("metered");
  ASSERT_OK(d);
  for (int i = 0; i < 5; ++i) ASSERT_OK(d->Set("k", i));
  EXPECT_CODE(d->Get("missing"), absl::StatusCode::kNotFound);
  auto q = (*m)->Queue("metered-q");
  ASSERT_OK(q);
  for (int i = 0; i < 3; ++i) ASSERT_OK(q->Put(Value(i)));
  HttpReply reply = Get(url_, token_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  std::map<std::string, double> s = Parse(reply.body);
  // A missing series fails the test, not reads as 0.
  auto at = [&](const std::string& series) {
    EXPECT_TRUE(s.count(series)) << "no series " << series;
    return s.count(series) ? s.at(series) : -1;
  };
  EXPECT_EQ(at(R"(mproc_requests_total{code="OK",op="dict set"})"), 5);
  EXPECT_EQ(at(R"(mproc_requests_total{code="NOT_FOUND",op="dict get"})"), 1);
  EXPECT_EQ(at(R"(mproc_object_size{kind="queue",name="metered-q"})"), 3);
  EXPECT_EQ(at(R"(mproc_object_detail{detail="getters",kind="queue",)"
               R"(name="metered-q"})"),
            0);
  EXPECT_GE(at("mproc_request_duration_seconds_count"), 10);
  EXPECT_EQ(at(R"(mproc_request_duration_seconds_bucket{le="+Inf"})"),
            at("mproc_request_duration_seconds_count"));
  EXPECT_EQ(at("mproc_session_streams"), 1);
  EXPECT_EQ(at(R"(mproc_objects{kind="dict"})"), 1);
  EXPECT_GT(at("process_resident_memory_bytes"), 0);
  EXPECT_GT(at("process_open_fds"), 0);
  EXPECT_GE(at("mproc_uptime_seconds"), 0);
}

TEST_F(MetricsTest, NeedTheTokenNotTheKey) {
  StartWith(false);
  EXPECT_EQ(Get(url_, "").status, 401);
  EXPECT_EQ(Get(url_, "wrong").status, 401);
  absl::StatusOr<std::string> key = LoadAuthkey("");
  ASSERT_OK(key);
  EXPECT_EQ(Get(url_, *key).status, 401);  // the key itself is not it
  EXPECT_EQ(Get(url_, token_).status, 200);
}

TEST_F(MetricsTest, PoolsShowTheirWorkers) {
  StartWith(true);
  auto m = Manager::Connect(server_->address());
  ASSERT_OK(m);
  ASSERT_OK(testing::AwaitPoolStatus(**m, "default", [](const Map& st) {
    return testing::WorkerPids(st).size() == 1;
  }));
  std::map<std::string, double> s = Parse(Get(url_, token_).body);
  const std::string workers =
      R"(mproc_object_detail{detail="workers",kind="pool",name="default"})";
  ASSERT_TRUE(s.count(workers));
  EXPECT_EQ(s.at(workers), 1);
}

TEST(MetricsListenTest, OnlyOnLoopback) {
  // A wildcard, a bare port, and (regression, review) a comma list that
  // civetweb would read as a second listener on every interface.
  for (const char* listen : {"0.0.0.0:0", "127.0.0.1:0,0", "9100"}) {
    CommandResult r = RunCommand({MprocBinary(), "manager", "--listen",
                                  "127.0.0.1:0", "--metrics-listen", listen},
                                 {}, absl::Seconds(20));
    EXPECT_NE(r.exit_code, 0) << listen;
    EXPECT_TRUE(absl::StrContains(r.err, "loopback"))
        << listen << ": " << r.err;
  }
}

}  // namespace
}  // namespace mproc
