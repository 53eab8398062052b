// The local wire (common/local_wire.h) through real managers, on a unix
// socket and on loopback TCP: clients speak it by default and are served
// by the manager's wire thread, gRPC clients share the socket and the
// objects, the handshake proves the key both ways, and bad input ends
// only the connection that sent it. (The whole integration suite runs
// over the wire on TCP and again on unix sockets, and over gRPC:
// scripts/test.sh's suites.)
#include "common/local_wire.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/manager.h"
#include "gtest/gtest.h"
#include "proto/mproc.pb.h"
#include "tests/support/child_process.h"
#include "tests/support/os_probes.h"
#include "tests/support/status_matchers.h"
#include "worker/process/subprocess.h"

namespace mproc {
namespace {

using testing::ManagerProcess;
using testing::ThreadCpuSeconds;

// Where a test's manager listens: a fresh socket path (short enough for
// sun_path), or a free loopback port.
std::string ListenAddress(const std::string& transport,
                          const std::string& name) {
  if (transport == "tcp") return "127.0.0.1:0";
  return absl::StrCat("unix:/tmp/mproc-wire-test-", getpid(), "-", name,
                      ".sock");
}

// A raw blocking connection to the manager at `address` (as the manager
// reported it); -1 if none.
int ConnectRaw(const std::string& address) {
  if (absl::StartsWith(address, "unix:")) {
    const std::string path = address.substr(5);
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un where{};
    where.sun_family = AF_UNIX;
    std::strncpy(where.sun_path, path.c_str(), sizeof(where.sun_path) - 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&where), sizeof(where)) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }
  const size_t colon = address.rfind(':');
  sockaddr_in where{};
  where.sin_family = AF_INET;
  where.sin_port = htons(std::stoi(address.substr(colon + 1)));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &where.sin_addr);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&where), sizeof(where)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

class LocalWireTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::string Address(const std::string& name) const {
    return ListenAddress(GetParam(), name);
  }
};

// Connects with MPROC_WIRE set to `wire` ("" leaves it unset).
absl::StatusOr<std::unique_ptr<Manager>> ConnectWith(
    const std::string& address, const std::string& wire,
    ConnectOptions options = {}) {
  if (wire.empty()) {
    unsetenv("MPROC_WIRE");
  } else {
    setenv("MPROC_WIRE", wire.c_str(), 1);
  }
  auto manager = Manager::Connect(address, std::move(options));
  unsetenv("MPROC_WIRE");
  return manager;
}

// 5,000 sets, and how much CPU the manager's wire thread and its gRPC
// polling thread used meanwhile.
void SetsAndThreadCpuSeconds(Manager& manager, pid_t pid, double* wire,
                             double* grpc) {
  auto dict = manager.Dict("counted");
  ASSERT_OK(dict);
  ASSERT_OK(dict->Set(0, 0));  // the stream is open before the count
  const double wire_before = ThreadCpuSeconds(pid, "mproc-wire");
  const double grpc_before = ThreadCpuSeconds(pid, "mproc-poll");
  for (int i = 0; i < 5000; ++i) ASSERT_OK(dict->Set(i % 10, i));
  *wire = ThreadCpuSeconds(pid, "mproc-wire") - wire_before;
  *grpc = ThreadCpuSeconds(pid, "mproc-poll") - grpc_before;
}

TEST_P(LocalWireTest,
       LocalClientsAreServedByTheWireThreadUnlessTheyAskForGrpc) {
  auto server = ManagerProcess::Start(Address("thread"));
  ASSERT_OK(server);
  const pid_t pid = (*server)->pid();
  auto wire_client = ConnectWith((*server)->address(), "");
  ASSERT_OK(wire_client);
  double wire = 0, grpc = 0;
  SetsAndThreadCpuSeconds(**wire_client, pid, &wire, &grpc);
  EXPECT_GT(wire, 0) << "the wire thread did none of the work";
  EXPECT_LT(grpc, 0.2 * wire + 0.02)
      << "gRPC's polling thread used " << grpc << " s, the wire's " << wire;

  auto grpc_client = ConnectWith((*server)->address(), "grpc");
  ASSERT_OK(grpc_client);
  SetsAndThreadCpuSeconds(**grpc_client, pid, &wire, &grpc);
  EXPECT_GT(grpc, 0) << "MPROC_WIRE=grpc was not served by gRPC";
  EXPECT_LT(wire, 0.2 * grpc + 0.02)
      << "the wire thread used " << wire << " s, gRPC's " << grpc;
}

TEST_P(LocalWireTest, GrpcAndWireClientsShareObjectsAndLocks) {
  auto server = ManagerProcess::Start(Address("share"));
  ASSERT_OK(server);
  auto a = ConnectWith((*server)->address(), "");
  ASSERT_OK(a);
  auto b = ConnectWith((*server)->address(), "grpc");
  ASSERT_OK(b);
  auto a_dict = (*a)->Dict("shared");
  ASSERT_OK(a_dict);
  auto b_dict = (*b)->Dict("shared");
  ASSERT_OK(b_dict);
  ASSERT_OK(a_dict->Set("from", "wire"));
  EXPECT_EQ(*b_dict->Get("from"), Value("wire"));
  ASSERT_OK(b_dict->Set("back", "grpc"));
  EXPECT_EQ(*a_dict->Get("back"), Value("grpc"));

  auto a_lock = (*a)->Lock("one holder");
  ASSERT_OK(a_lock);
  auto b_lock = (*b)->Lock("one holder");
  ASSERT_OK(b_lock);
  ASSERT_TRUE(*a_lock->Acquire());
  EXPECT_FALSE(*b_lock->TryAcquire());
  ASSERT_OK(a_lock->Release());
  EXPECT_TRUE(*b_lock->TryAcquire());
}

// The first call's status on a connection made with `options`.
absl::Status FirstCall(const std::string& address, ConnectOptions options) {
  auto manager = ConnectWith(address, "", std::move(options));
  if (!manager.ok()) return manager.status();
  return (*manager)->Objects().status();
}

TEST_P(LocalWireTest, HandshakeProvesTheKeyBothWays) {
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string key_file = dir + "/wire.key";
  { std::ofstream(key_file) << "the right key"; }
  ASSERT_EQ(chmod(key_file.c_str(), 0600), 0);
  auto keyed =
      ManagerProcess::Start(Address("keyed"), {"--authkey-file", key_file});
  ASSERT_OK(keyed);
  ConnectOptions right;
  right.authkey = "the right key";
  EXPECT_OK(FirstCall((*keyed)->address(), right));

  ConnectOptions wrong;
  wrong.authkey = "another key";
  absl::Status refused = FirstCall((*keyed)->address(), wrong);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "wrong authkey")) << refused;

  ConnectOptions none;
  none.no_auth = true;
  refused = FirstCall((*keyed)->address(), none);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated) << refused;

  auto open = ManagerProcess::Start(Address("open"), {"--no-auth"});
  ASSERT_OK(open);
  refused = FirstCall((*open)->address(), right);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnauthenticated) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "without authentication"))
      << refused;
  EXPECT_OK(FirstCall((*open)->address(), none));
}

// A raw connection to the manager's socket that sends `bytes` after the
// magic, and the status of the kEnd the manager answers with (UNKNOWN
// "none" if the connection ended without one).
absl::Status EndAfterSending(const std::string& address,
                             const std::string& bytes) {
  const int fd = ConnectRaw(address);
  if (fd < 0) return absl::UnavailableError("cannot connect");
  timeval patience{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
  const std::string out = std::string(kLocalWireMagic) + bytes;
  if (send(fd, out.data(), out.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(out.size())) {
    close(fd);
    return absl::UnavailableError("cannot send");
  }
  std::string in;
  char chunk[4096];
  for (;;) {
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    in.append(chunk, n);
  }
  close(fd);
  absl::string_view rest = in;
  while (rest.size() >= kLocalWireHeaderBytes) {
    const WireHeader header = ParseWireHeader(rest);
    if (rest.size() < kLocalWireHeaderBytes + header.length) break;
    if (header.kind == WireKind::kEnd) {
      pb::WireStatus end;
      end.ParseFromArray(rest.data() + kLocalWireHeaderBytes,
                         static_cast<int>(header.length));
      return absl::Status(static_cast<absl::StatusCode>(end.code()),
                          end.message());
    }
    rest.remove_prefix(kLocalWireHeaderBytes + header.length);
  }
  return absl::UnknownError("none");
}

// A message header claiming `length` payload bytes of `kind`.
std::string Header(uint8_t kind, uint32_t length) {
  std::string header(kLocalWireHeaderBytes, '\0');
  for (int i = 0; i < 4; ++i) header[i] = static_cast<char>(length >> (8 * i));
  header[4] = static_cast<char>(kind);
  return header;
}

std::string Message(WireKind kind, const google::protobuf::MessageLite& m) {
  std::string out;
  AppendWireMessage(kind, m, &out);
  return out;
}

TEST_P(LocalWireTest, BadInputEndsOnlyItsConnectionWithTheReason) {
  auto server = ManagerProcess::Start(Address("bad"), {"--no-auth"});
  ASSERT_OK(server);
  const std::string& address = (*server)->address();
  const std::string open = Message(WireKind::kOpen, pb::WireMetadata());

  absl::Status end = EndAfterSending(address, Header(9, 0));
  EXPECT_EQ(end.code(), absl::StatusCode::kInvalidArgument) << end;
  EXPECT_TRUE(absl::StrContains(end.message(), "unknown kind")) << end;

  end = EndAfterSending(address, Message(WireKind::kFrame, pb::RequestFrame()));
  EXPECT_EQ(end.code(), absl::StatusCode::kInvalidArgument) << end;
  EXPECT_TRUE(absl::StrContains(end.message(), "out of turn")) << end;

  end = EndAfterSending(
      address, open + Header(static_cast<uint8_t>(WireKind::kFrame), 1u << 31));
  EXPECT_EQ(end.code(), absl::StatusCode::kResourceExhausted) << end;
  EXPECT_TRUE(absl::StrContains(end.message(), "exceeds the manager's limit"))
      << end;

  end = EndAfterSending(
      address, open + Header(static_cast<uint8_t>(WireKind::kFrame), 3) +
                   "\xff\xff\xff");
  EXPECT_EQ(end.code(), absl::StatusCode::kInvalidArgument) << end;
  EXPECT_TRUE(absl::StrContains(end.message(), "malformed frame")) << end;

  // A client that says goodbye gets the stream's OK end.
  end = EndAfterSending(address,
                        open + Message(WireKind::kClose, pb::WireStatus()));
  EXPECT_OK(end);

  // The manager kept serving throughout.
  ConnectOptions none;
  none.no_auth = true;
  EXPECT_OK(FirstCall(address, none));
}

// A raw connection to `address` that has sent `bytes`; -1 if none.
int RawConnection(const std::string& address, const std::string& bytes) {
  const int fd = ConnectRaw(address);
  if (fd < 0) return -1;
  if (send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(bytes.size())) {
    close(fd);
    return -1;
  }
  return fd;
}

// Part of the magic, from a peer that then waits or goes away, leaves the
// manager idle: the wire thread does not poll a socket it cannot use.
TEST_P(LocalWireTest, PartOfTheMagicLeavesTheManagerIdle) {
  auto server = ManagerProcess::Start(Address("partial"), {"--no-auth"});
  ASSERT_OK(server);
  const pid_t pid = (*server)->pid();
  const int waiting = RawConnection((*server)->address(), "MPR");
  ASSERT_GE(waiting, 0);
  const int gone = RawConnection((*server)->address(), "M");
  ASSERT_GE(gone, 0);
  close(gone);
  const double before = ThreadCpuSeconds(pid, "mproc-wire");
  // The window measured (nothing to await: the claim is about the time).
  absl::SleepFor(absl::Seconds(1));
  const double used = ThreadCpuSeconds(pid, "mproc-wire") - before;
  EXPECT_LT(used, 0.1) << "the wire thread used " << used << " s in 1 s";
  close(waiting);
  ConnectOptions none;
  none.no_auth = true;
  EXPECT_OK(FirstCall((*server)->address(), none));
}

// A connection that never opens its stream is dropped.
TEST_P(LocalWireTest, AConnectionThatNeverOpensIsDropped) {
  auto server = ManagerProcess::Start(Address("silent"),
                                      {"--no-auth", "--session-lease", "2"});
  ASSERT_OK(server);
  const int fd =
      RawConnection((*server)->address(), std::string(kLocalWireMagic));
  ASSERT_GE(fd, 0);
  timeval patience{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
  const absl::Time start = absl::Now();
  char byte;
  EXPECT_EQ(recv(fd, &byte, 1, 0), 0) << "still open after 20 s";
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
  close(fd);
}

// A client the manager cannot watch — here a CLI in a pid namespace of its
// own, as in a container on the same host; another machine is the same to
// the manager — pings while idle: it keeps its lock as long as it lives,
// and loses it (after the lease) once it stops answering (SIGSTOP), as a
// gRPC client does through HTTP/2 keepalive.
TEST(WirePingTest, AClientTheManagerCannotWatchKeepsItsLockUntilItStops) {
  auto server = ManagerProcess::Start("127.0.0.1:0", {"--session-lease", "2"});
  ASSERT_OK(server);
  PopenOptions options;
  options.stdout_mode = StreamMode::kPipe;
  options.new_process_group = true;
  auto holder =
      Popen::Start({"unshare", "--pid", "--fork", testing::MprocBinary(),
                    "--manager", (*server)->address(), "lock", "held-elsewhere",
                    "--", "sh", "-c", "echo held; exec sleep 120"},
                   options);
  ASSERT_OK(holder);
  std::string said;
  ASSERT_TRUE(testing::ReadUntil((*holder)->stdout_fd(), "held",
                                 absl::Seconds(20), &said))
      << said;
  EXPECT_TRUE((*server)->AwaitOutput("a stream from ipv4:127.0.0.1:"));
  auto other = Manager::Connect((*server)->address());
  ASSERT_OK(other);
  auto lock = (*other)->Lock("held-elsewhere");
  ASSERT_OK(lock);
  // The window measured: silent, the holder would be cut within 3 s and
  // its lock passed on 2 s later.
  absl::SleepFor(absl::Seconds(6));
  EXPECT_FALSE(*lock->TryAcquire()) << "an idle, living holder lost its lock";
  ASSERT_OK((*holder)->SignalGroup(SIGSTOP));
  const absl::Time stopped = absl::Now();
  EXPECT_TRUE(*lock->Acquire(absl::Seconds(20)))
      << "a stopped holder kept its lock";
  EXPECT_GT(absl::Now() - stopped, absl::Seconds(1));
  ASSERT_OK((*lock).Release());
  (*holder)->SignalGroup(SIGKILL).IgnoreError();
  (*holder)->SignalGroup(SIGCONT).IgnoreError();
  (*holder)->Wait(absl::Seconds(10)).IgnoreError();
}

INSTANTIATE_TEST_SUITE_P(Transports, LocalWireTest,
                         ::testing::Values("unix", "tcp"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace mproc
