// `mproc serve --echo` as a user runs it: the seed's pre-forked echo server
// from the command line, stopped with SIGTERM.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/status_matchers.h"
#include "worker/process/subprocess.h"

namespace mproc {
namespace {

// The first line the server prints: "... on 127.0.0.1:PORT".
int ReadPort(int fd) {
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  int port = 0;
  if (!absl::SimpleAtoi(line.substr(line.rfind(':') + 1), &port)) return -1;
  return port;
}

TEST(ServeCliTest, EchoServerEchoesAndStopsCleanlyOnSigterm) {
  PopenOptions options;
  options.stdout_mode = StreamMode::kPipe;
  auto server =
      Popen::Start({testing::MprocBinary(), "serve", "--echo", "--listen",
                    "127.0.0.1:0", "--processes", "2", "--threads", "2"},
                   options);
  ASSERT_OK(server);
  const int port = ReadPort((*server)->stdout_fd());
  ASSERT_GT(port, 0);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string message = "hello, pre-forked world";
  ASSERT_EQ(send(fd, message.data(), message.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(message.size()));
  std::string back;
  char buffer[256];
  while (back.size() < message.size()) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    back.append(buffer, static_cast<size_t>(n));
  }
  EXPECT_EQ(back, message);
  close(fd);
  ASSERT_OK((*server)->Terminate());
  absl::StatusOr<int> code = (*server)->Wait(absl::Seconds(30));
  ASSERT_OK(code);
  EXPECT_EQ(*code, 0);
}

TEST(ServeCliTest, WithoutAHandlerOrWithABadFlagItExitsTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"serve"},
           {"serve", "--echo", "--threads", "0"},
           {"serve", "--echo", "--bogus", "1"}}) {
    std::vector<std::string> argv = args;
    argv.insert(argv.begin(), testing::MprocBinary());
    testing::CommandResult r = testing::RunCommand(argv, {});
    EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
    EXPECT_NE(r.err.find("mproc serve"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace mproc
