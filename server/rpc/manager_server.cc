#include "server/rpc/manager_server.h"

#include <grpcpp/grpcpp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/dispatcher.h"
#include "server/object_store.h"
#include "server/rpc/listen_address.h"
#include "server/rpc/manager_calls.h"
#include "server/rpc/manager_service.h"
#include "server/rpc/rpc_threads.h"

namespace mproc {
namespace {

// True if something accepts connections on the unix socket at `path`.
// gRPC unlinks an existing socket file before binding, which would orphan
// a running manager; a stale file (nobody listening) may be replaced.
bool UnixSocketInUse(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool in_use =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return in_use;
}

// Every client is a socket: a manager with thousands of clients needs more
// descriptors than the usual soft limit of 1,024, so it takes what the
// hard limit allows (as redis-server does for its maxclients).
void RaiseDescriptorLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::string NewInstanceId() {
  std::random_device rd;
  uint64_t hi = (uint64_t{rd()} << 32) | rd();
  return absl::StrFormat("%016x", hi);
}

class ManagerServerImpl : public ManagerServer {
 public:
  ManagerServerImpl(const ManagerServerOptions& options)
      : store_(NewInMemoryObjectStore()),
        dispatcher_(
            store_.get(), NewInstanceId(),
            DispatcherOptions{options.result_ttl, options.max_message_bytes,
                              options.max_object_bytes}),
        service_(&dispatcher_, options.authkey,
                 std::min<int64_t>(options.max_message_bytes, INT32_MAX),
                 options.session_lease, options.max_unsent_bytes) {}

  absl::Status Bind(const ManagerServerOptions& options) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    threads_ = std::make_unique<RpcThreads>(&builder, options.threads);
    builder.SetMaxReceiveMessageSize(static_cast<int>(
        std::min<int64_t>(options.max_message_bytes, INT32_MAX)));
    builder.SetMaxSendMessageSize(-1);
    // gRPC enables SO_REUSEPORT by default, which would let a second
    // manager share the port and silently split the clients between two
    // sets of objects. One address, one manager.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    // The manager pings idle clients to find dead machines (a dead process
    // is noticed at once: its socket closes), so a silent connection is
    // dropped within about `session_lease` (its session then waits another
    // lease for a reconnect). Clients send no pings.
    const int half_lease_ms = static_cast<int>(std::clamp<int64_t>(
        absl::ToInt64Milliseconds(options.session_lease / 2), 500, INT32_MAX));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, half_lease_ms);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, half_lease_ms);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);

    const bool is_unix = absl::StartsWith(options.listen, "unix:");
    if (is_unix && UnixSocketInUse(options.listen.substr(5))) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on '", options.listen,
                       "': another process is accepting connections there"));
    }
    // The socket file is born private: no window where others can connect.
    mode_t old_mask = is_unix ? umask(0177) : 0;
    server_ = builder.BuildAndStart();
    if (is_unix) umask(old_mask);
    if (server_ == nullptr || (!is_unix && port == 0)) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on '", options.listen,
                       "' (address in use or not available)"));
    }
    threads_->Start([this](grpc::ServerCompletionQueue* cq) {
      AwaitManagerCalls(&service_, threads_.get(), cq);
    });
    if (is_unix) {
      address_ = options.listen;
      chmod(options.listen.c_str() + 5, 0600);
    } else {
      address_ = absl::StrCat(
          options.listen.substr(0, options.listen.rfind(':')), ":", port);
    }
    return absl::OkStatus();
  }

  const std::string& address() const override { return address_; }
  const std::string& instance_id() const override {
    return dispatcher_.instance_id();
  }

  void Wait() override { server_->Wait(); }

  void Shutdown() override {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(500));
    threads_->Stop();
  }

  ~ManagerServerImpl() override {
    if (server_ != nullptr) Shutdown();
  }

 private:
  std::unique_ptr<ObjectStore> store_;
  Dispatcher dispatcher_;
  ManagerService service_;
  std::unique_ptr<RpcThreads> threads_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ManagerServer>> ManagerServer::Start(
    const ManagerServerOptions& options) {
  absl::Status valid =
      ValidateListenAddress(options.listen, !options.authkey.empty());
  if (!valid.ok()) return valid;
  if (options.max_message_bytes <= 0) {
    return absl::InvalidArgumentError("max message size must be positive");
  }
  if (options.max_unsent_bytes <= 0 || options.max_object_bytes <= 0) {
    return absl::InvalidArgumentError(
        "the unsent-answer and object size bounds must be positive");
  }
  RaiseDescriptorLimit();
  auto server = std::make_unique<ManagerServerImpl>(options);
  absl::Status bound = server->Bind(options);
  if (!bound.ok()) return bound;
  return server;
}

}  // namespace mproc
