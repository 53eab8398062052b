// The client rides out a manager restart: UNAVAILABLE while it is down,
// never a crash or a hang, and working again once it is back.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/os_probes.h"

namespace mproc {
namespace {

using testing::ManagerProcess;

// Retries `op` until it succeeds or `limit` passes; the manager's return is
// the condition awaited.
template <typename Op>
absl::Status RetryUntilOk(Op op, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  absl::Status last;
  do {
    last = op();
    if (last.ok()) return last;
  } while (absl::Now() < deadline);
  return last;
}

TEST(ReconnectTest, CallsFailWithUnavailableWhileTheManagerIsDown) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  auto m = Manager::Connect((*server)->address());
  ASSERT_OK(m);
  auto d = (*m)->Dict("d");
  ASSERT_OK(d);
  ASSERT_OK(d->Set("k", 1));
  (*server)->KillAndWait(SIGKILL);

  const absl::Time start = absl::Now();
  for (int i = 0; i < 5; ++i) {
    EXPECT_CODE(d->Get("k"), absl::StatusCode::kUnavailable);
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // fails fast, no hang
}

TEST(ReconnectTest, ClientReconnectsToARestartedManagerAndSeesANewInstance) {
  auto first = ManagerProcess::Start();
  ASSERT_OK(first);
  const std::string address = (*first)->address();
  auto m = Manager::Connect(address);
  ASSERT_OK(m);
  const std::string first_instance = (*m)->instance_id();
  auto d = (*m)->Dict("d");
  ASSERT_OK(d);
  ASSERT_OK(d->Set("k", 1));
  (*first)->KillAndWait(SIGTERM);
  EXPECT_CODE(d->Get("k"), absl::StatusCode::kUnavailable);

  auto second = ManagerProcess::Start(address);
  ASSERT_OK(second);
  ASSERT_OK(RetryUntilOk([&] { return d->Set("k", 2); }, absl::Seconds(10)));
  EXPECT_EQ(*d->Get("k"), Value(2));
  EXPECT_NE((*m)->instance_id(), first_instance);
  EXPECT_EQ((*m)->instance_changes(), 1);
}

TEST(ReconnectTest, ManagerSurvivesClientsKilledMidStream) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  const std::string address = (*server)->address();
  auto m = Manager::Connect(address);
  ASSERT_OK(m);
  auto d = (*m)->Dict("victims");
  ASSERT_OK(d);
  std::vector<pid_t> children;
  for (int c = 0; c < 4; ++c) {
    children.push_back(testing::ForkChild([&address, c] {
      auto own = Manager::Connect(address);
      if (!own.ok()) return 1;
      auto dict = (*own)->Dict("victims");
      if (!dict.ok()) return 1;
      for (int64_t i = 0;; ++i) {  // runs until killed
        BatchBuilder batch = (*own)->NewBatch();
        for (int k = 0; k < 2000; ++k) batch.Add(*dict, "add", {c, 1});
        if (!batch.Run().ok()) return 1;
      }
    }));
  }
  // Wait until every child has written, then kill them mid-stream.
  ASSERT_OK(RetryUntilOk(
      [&] {
        auto n = d->Len();
        if (!n.ok()) return n.status();
        return *n == 4 ? absl::OkStatus() : absl::UnavailableError("waiting");
      },
      absl::Seconds(20)));
  for (pid_t pid : children) kill(pid, SIGKILL);
  for (pid_t pid : children) EXPECT_EQ(testing::WaitChild(pid), -SIGKILL);

  // The manager still serves and kept what the children wrote.
  auto counts = d->Items();
  ASSERT_OK(counts);
  for (const auto& [client, count] : *counts) EXPECT_GT(count.int_value(), 0);
  ASSERT_OK(d->Set("after", 1));
  EXPECT_EQ((*m)->Info()->objects, 1);
  EXPECT_EQ((*m)->instance_changes(), 0);
}

TEST(ReconnectTest, ConnectToNothingIsUnavailable) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  const std::string address = (*server)->address();
  (*server)->KillAndWait(SIGKILL);
  EXPECT_CODE(Manager::Connect(address), absl::StatusCode::kUnavailable);
}

// A loopback listener that `accepts` connections or never does, with its
// accept queue filled so a new connect gets no answer at all.
class SilentListener {
 public:
  explicit SilentListener(bool accepts) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), len);
    listen(fd_, 0);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (accepts) {
      // Accepts, then says nothing (not even HTTP/2's preface).
      acceptor_ = std::thread([this] {
        for (;;) {
          const int c = accept(fd_, nullptr, nullptr);
          if (c < 0) return;
          held_.push_back(c);
        }
      });
      return;
    }
    // Fill the (tiny) accept queue: later SYNs go unanswered.
    for (int i = 0; i < 4; ++i) {
      const int c =
          socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      held_.push_back(c);
    }
  }
  ~SilentListener() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    if (acceptor_.joinable()) acceptor_.join();
    for (int c : held_) close(c);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::vector<int> held_;
};

TEST(ReconnectTest, ConnectToAListenerThatNeverAnswersFailsWithinTheTimeout) {
  for (bool accepts : {false, true}) {
    SilentListener listener(accepts);
    ConnectOptions options;
    options.connect_timeout = absl::Seconds(1);
    const absl::Time start = absl::Now();
    auto m = Manager::Connect(listener.address(), options);
    EXPECT_CODE(m, absl::StatusCode::kUnavailable);
    EXPECT_LT(absl::Now() - start, absl::Seconds(5))
        << (accepts ? "accepting" : "not accepting") << " listener";
  }
}

// The manager pings its clients, not they it: a manager stopped with its
// connections open would leave calls waiting — unless the client has a
// reply timeout, which bounds every call beyond the wait it asked for.
TEST(ReconnectTest, CallsToAStoppedManagerFailWithinTheReplyTimeout) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  ConnectOptions options;
  options.reply_timeout = absl::Seconds(1);
  options.connect_timeout = absl::Seconds(1);
  auto m = Manager::Connect((*server)->address(), options);
  ASSERT_OK(m);
  auto d = (*m)->Dict("d");
  ASSERT_OK(d);
  ASSERT_OK(d->Set("k", 1));
  auto q = (*m)->Queue("q");
  ASSERT_OK(q);

  // A wait longer than the reply timeout is not cut short: it asked for it.
  std::thread putter([&] {
    absl::SleepFor(absl::Milliseconds(2500));
    ASSERT_OK(q->Put("late"));
  });
  absl::StatusOr<Value> waited = q->Get();  // blocks without a timeout
  putter.join();
  ASSERT_OK(waited);
  EXPECT_EQ(*waited, Value("late"));
  auto timed = q->Get(absl::Seconds(2));  // answered Empty after its 2 s
  EXPECT_CODE(timed, absl::StatusCode::kNotFound);

  ASSERT_TRUE(testing::StopProcess((*server)->pid()));
  absl::Time start = absl::Now();
  EXPECT_CODE(d->Get("k"), absl::StatusCode::kDeadlineExceeded);
  absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Seconds(1));
  EXPECT_LT(took, absl::Seconds(4));
  // The next call cannot reconnect to the stopped manager either, and says
  // so within its connect timeout.
  start = absl::Now();
  EXPECT_CODE(q->Get(absl::Seconds(1)), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));

  ASSERT_EQ(kill((*server)->pid(), SIGCONT), 0);
  ASSERT_OK(
      RetryUntilOk([&] { return d->Get("k").status(); }, absl::Seconds(10)));
  EXPECT_EQ(*d->Get("k"), Value(1));
}

}  // namespace
}  // namespace mproc
