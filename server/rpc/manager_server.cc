#include "server/rpc/manager_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/server_posix.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <random>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/dispatcher.h"
#include "server/object_store.h"
#include "server/rpc/acl_file.h"
#include "server/rpc/authenticator.h"
#include "server/rpc/health_service.h"
#include "server/rpc/listen_address.h"
#include "server/rpc/listener.h"
#include "server/rpc/manager_calls.h"
#include "server/rpc/manager_metrics.h"
#include "server/rpc/manager_service.h"
#include "server/rpc/rpc_threads.h"
#include "server/rpc/server_tls.h"
#include "server/rpc/wire_server.h"
#include "server/store/durable_object_store.h"
#include "server/store/journal_db.h"

namespace mproc {
namespace {

// The keepalive's interval and timeout: half the session lease, so a
// silent client is cut off within about one lease.
int KeepaliveMs(absl::Duration session_lease) {
  return static_cast<int>(std::clamp<int64_t>(
      absl::ToInt64Milliseconds(session_lease / 2), 500, INT32_MAX));
}

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

// What SERVER_INFO reports of a durable store.
Map StorageInfo(const JournalDb& journal, const std::string& recovered) {
  const JournalDb::Stats stats = journal.GetStats();
  Map info{{"persistence", "rocksdb"},
           {"data_dir", stats.dir},
           {"fsync", std::string(FsyncPolicyName(stats.fsync))},
           {"disk_bytes", stats.disk_bytes},
           {"log_segments", stats.log_segments},
           {"writes", stats.writes},
           {"failed_writes", stats.failed_writes},
           {"syncs", stats.syncs},
           {"recovered", recovered}};
  if (stats.last_sync != absl::InfinitePast()) {
    info[Value("last_fsync_seconds_ago")] =
        absl::ToDoubleSeconds(absl::Now() - stats.last_sync);
    info[Value("last_fsync_ms")] =
        absl::ToDoubleMilliseconds(stats.last_sync_took);
  }
  if (!stats.error.empty()) info[Value("write_error")] = stats.error;
  if (!stats.last_error.empty()) {
    info[Value("last_write_error")] = stats.last_error;
  }
  return info;
}

// The objects' store: durable when the options name a data dir.
struct Storage {
  std::unique_ptr<JournalDb> journal;  // null: in memory only
  std::unique_ptr<ObjectStore> store;
  std::string summary;
  std::string recovered;  // what the data dir gave back at start
};

constexpr char kDataDirErrorPayload[] = "type.mproc/data-dir";

// The TLS files, read and made into the wire's context now, before the
// data dir is opened (later they are only watched): they must be there and
// valid, the key private; a client CA or key needs a certificate. Null for
// plaintext.
absl::StatusOr<std::unique_ptr<ServerTlsFiles>> LoadTlsFiles(
    const ManagerServerOptions& options) {
  if (options.tls_cert.empty()) {
    if (!options.tls_key.empty() || !options.tls_client_ca.empty()) {
      return absl::InvalidArgumentError(
          "TLS: --tls-key and --tls-client-ca need --tls-cert");
    }
    return nullptr;
  }
  if (options.tls_key.empty()) {
    return absl::InvalidArgumentError("TLS: --tls-cert needs --tls-key");
  }
  return ServerTlsFiles::Load(options.tls_cert, options.tls_key,
                              options.tls_client_ca, kCertificateRefresh);
}

absl::Status DataDirError(absl::Status status) {
  status.SetPayload(kDataDirErrorPayload, absl::Cord("1"));
  return status;
}

absl::StatusOr<Storage> OpenStorage(const ManagerServerOptions& options) {
  Storage storage;
  if (options.data_dir.empty()) {
    storage.store = NewInMemoryObjectStore();
    storage.summary = "in memory only (nothing survives a restart)";
    return storage;
  }
  absl::StatusOr<FsyncPolicy> fsync = ParseFsyncPolicy(options.fsync);
  if (!fsync.ok()) return fsync.status();
  absl::StatusOr<std::unique_ptr<JournalDb>> journal =
      JournalDb::Open({options.data_dir, *fsync, options.repair});
  if (!journal.ok()) return DataDirError(journal.status());
  auto store = std::make_unique<DurableObjectStore>(journal->get(),
                                                    options.max_object_bytes);
  absl::StatusOr<RecoveryReport> report = store->Recover();
  if (!report.ok()) {
    return DataDirError(absl::FailedPreconditionError(absl::StrCat(
        "data dir ", options.data_dir, ": ", report.status().message(),
        "; start with --repair to skip what cannot be read")));
  }
  storage.summary = absl::StrCat("data dir ", options.data_dir, " (fsync ",
                                 options.fsync, "): ", report->Summary());
  storage.recovered = report->Summary();
  storage.journal = *std::move(journal);
  storage.store = std::move(store);
  return storage;
}

class ManagerServerImpl : public ManagerServer {
 public:
  ManagerServerImpl(const ManagerServerOptions& options, AuthConfig auth,
                    Storage storage)
      : journal_(std::move(storage.journal)),
        store_(std::move(storage.store)),
        storage_summary_(std::move(storage.summary)),
        recovered_(std::move(storage.recovered)),
        started_(absl::Now()),
        dispatcher_(store_.get(), NewInstanceId(), DispatcherFor(options)),
        service_(&dispatcher_, std::move(auth),
                 std::min<int64_t>(options.max_message_bytes, INT32_MAX),
                 options.session_lease, options.max_unsent_bytes,
                 journal_.get()) {}

  // Plaintext, or TLS from watched files (mutual with a client CA).
  std::shared_ptr<grpc::ServerCredentials> Credentials(
      const ManagerServerOptions& options) {
    if (options.tls_cert.empty()) return grpc::InsecureServerCredentials();
    certificates_ =
        std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
            options.tls_key, options.tls_cert, options.tls_client_ca,
            static_cast<unsigned int>(
                absl::ToInt64Seconds(kCertificateRefresh)));
    grpc::experimental::TlsServerCredentialsOptions tls(certificates_);
    tls.watch_identity_key_cert_pairs();
    if (options.tls_client_ca.empty()) {
      tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    } else {
      tls.watch_root_certs();
      tls.set_cert_request_type(
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    }
    return grpc::experimental::TlsServerCredentials(tls);
  }

  // `tls`: LoadTlsFiles's (null: plaintext).
  absl::Status Bind(const ManagerServerOptions& options,
                    std::unique_ptr<ServerTlsFiles> tls) {
    grpc::ServerBuilder builder;
    int port = 0;
    const bool is_unix = absl::StartsWith(options.listen, "unix:");
    if (is_unix && UnixSocketInUse(options.listen.substr(5))) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on '", options.listen,
                       "': another process is accepting connections there"));
    }
    // Our own listener accepts every connection and serves the wire on it
    // (a unix socket's peers are checked by uid first); the others go to
    // gRPC: over TCP through an acceptor with the manager's credentials
    // (plaintext, or TLS, whose handshake gRPC then does itself), which
    // names each peer by its address; over a unix socket as a channel from
    // the descriptor.
    const int half_lease_ms = KeepaliveMs(options.session_lease);
    absl::StatusOr<std::unique_ptr<Listener>> listener =
        is_unix ? Listener::ListenUnix(options.listen.substr(5))
                : Listener::ListenTcp(options.listen,
                                      absl::Milliseconds(half_lease_ms));
    if (!listener.ok()) return listener.status();
    listener_ = *std::move(listener);
    port = listener_->port();
    tls_files_ = std::move(tls);
    if (!is_unix) {
      grpc_acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
          grpc::ServerBuilder::experimental_type::ExternalConnectionType::
              FROM_FD,
          Credentials(options));
    }
    builder.RegisterService(&service_);
    // Standard tools: grpc.health.v1 (on our own threads: see
    // health_service.h) and server reflection (the service's schema).
    builder.RegisterService(health_.service());
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    // Reflection is gRPC's one synchronous service here, and rarely asked:
    // one thread polls for it.
    builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS,
                                1);
    builder.SetSyncServerOption(
        grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
    builder.SetSyncServerOption(
        grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 1);
    // gRPC starts a thread per busy sync call: many open reflection streams
    // (no key needed) must not make many threads. Our own RpcThreads are
    // not gRPC's and do not count.
    grpc::ResourceQuota quota("mproc-sync-threads");
    quota.SetMaxThreads(4);
    builder.SetResourceQuota(quota);
    threads_ = std::make_unique<RpcThreads>(&builder, options.threads,
                                            options.poll_spin);
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
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, half_lease_ms);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, half_lease_ms);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);

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
      health_.AwaitCalls(threads_.get(), cq);
    });
    WireServer::HandOff to_grpc = [this](int fd) {
      // gRPC's acceptor drops (without closing) what comes once its server
      // stops.
      if (grpc_stopping_.load(std::memory_order_acquire)) {
        ::close(fd);
        return;
      }
      if (grpc_acceptor_ == nullptr) {
        grpc::AddInsecureChannelFromFd(server_.get(), fd);
        return;
      }
      grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters
          connection;
      connection.listener_fd = -1;
      connection.fd = fd;
      grpc_acceptor_->HandleNewConnection(&connection);
    };
    wire_ = std::make_unique<WireServer>(
        &service_, threads_.get(), std::move(to_grpc), tls_files_.get(),
        options.poll_spin, absl::Milliseconds(half_lease_ms));
    listener_->Start([wire = wire_.get()](AcceptedConnection connection) {
      wire->Adopt(std::move(connection));
    });
    health_.SetServing(pb::Manager::service_full_name(), true);
    if (!options.metrics_listen.empty()) {
      MetricsSources sources;
      sources.dispatcher = &dispatcher_;
      sources.ops = &op_stats_;
      sources.open_streams = &service_.open_streams();
      sources.store = store_.get();
      sources.journal = journal_.get();
      sources.started = started_;
      absl::StatusOr<std::unique_ptr<MetricsEndpoint>> metrics =
          MetricsEndpoint::Start(options.metrics_listen, options.authkey,
                                 sources);
      if (!metrics.ok()) return metrics.status();
      metrics_ = *std::move(metrics);
      metrics_url_ = metrics_->url();
    }
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
  const std::string& storage_summary() const override {
    return storage_summary_;
  }
  const std::string& metrics_url() const override { return metrics_url_; }

  void Wait() override { server_->Wait(); }

  void Shutdown() override {
    // Health checks say NOT_SERVING from now on; no connection joins a
    // stopping server.
    std::call_once(stop_started_, [this] {
      health_.Shutdown();
      listener_.reset();
    });
    grpc_stopping_.store(true, std::memory_order_release);
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(500));
    // Answers held for the disk (fsync always) go out while the threads
    // that write them still run.
    if (journal_ != nullptr) journal_->FlushAnswers();
    // Then the local wire's streams end, as gRPC's just did.
    if (wire_ != nullptr) wire_->Shutdown();
    threads_->Stop();
  }

  ~ManagerServerImpl() override {
    if (server_ != nullptr) Shutdown();
  }

 private:
  DispatcherOptions DispatcherFor(const ManagerServerOptions& options) {
    DispatcherOptions d;
    d.result_ttl = options.result_ttl;
    d.task_records = options.task_records;
    d.max_answer_bytes = options.max_message_bytes;
    d.max_object_bytes = options.max_object_bytes;
    // Always counted and timed: `mproc top` rates requests, and slow ones
    // are logged, metrics or not.
    d.op_stats = &op_stats_;
    d.slow_op = options.slow_op;
    if (journal_ != nullptr) {
      JournalDb* journal = journal_.get();
      d.storage_info = [journal, recovered = recovered_] {
        return StorageInfo(*journal, recovered);
      };
      d.backup = [journal](const std::string& dir) {
        return journal->Backup(dir);
      };
    }
    return d;
  }

  // Declared first: closed last, after everything that writes to it.
  std::unique_ptr<JournalDb> journal_;
  std::unique_ptr<ObjectStore> store_;
  const std::string storage_summary_;
  const std::string recovered_;
  const absl::Time started_;
  OpStats op_stats_;  // counted by the dispatcher, read by metrics_
  Dispatcher dispatcher_;
  ManagerService service_;
  HealthService health_;
  std::unique_ptr<RpcThreads> threads_;
  // The TLS files, watched; outlives the server that uses them.
  std::shared_ptr<grpc::experimental::CertificateProviderInterface>
      certificates_;
  // A TLS manager's wire TLS context.
  std::unique_ptr<ServerTlsFiles> tls_files_;
  // Over TCP, the door to gRPC for connections that do not speak the wire.
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor>
      grpc_acceptor_;
  std::atomic<bool> grpc_stopping_{false};
  std::unique_ptr<grpc::Server> server_;
  // The wire's streams, on every socket.
  std::unique_ptr<WireServer> wire_;
  // The socket's (unix or TCP); declared after server_ and wire_, so it
  // stops first.
  std::unique_ptr<Listener> listener_;
  std::once_flag stop_started_;
  std::string address_;
  // Declared last: stops serving before what it reads goes.
  std::unique_ptr<MetricsEndpoint> metrics_;
  std::string metrics_url_;
};

}  // namespace

bool IsDataDirError(const absl::Status& status) {
  return status.GetPayload(kDataDirErrorPayload).has_value();
}

absl::StatusOr<std::unique_ptr<ManagerServer>> ManagerServer::Start(
    const ManagerServerOptions& options) {
  const int ways =
      !options.authkey.empty() + !options.acl_file.empty() + options.no_auth;
  if (ways != 1) {
    return absl::FailedPreconditionError(
        ways == 0 ? "no authkey: give one (or an ACL file), or choose no "
                    "authentication (--no-auth) explicitly"
                  : "an authkey, an ACL file and no authentication exclude "
                    "each other");
  }
  AuthConfig auth;
  auth.key = options.authkey;
  if (!options.acl_file.empty()) {
    absl::StatusOr<Acl> acl = LoadAclFile(options.acl_file);
    if (!acl.ok()) return acl.status();
    if (!acl->certificates.empty() && options.tls_client_ca.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ACL file ", options.acl_file,
          " names certificates, which only mutual TLS (--tls-client-ca) "
          "presents"));
    }
    auth.acl = *std::move(acl);
  }
  absl::StatusOr<std::unique_ptr<ServerTlsFiles>> tls = LoadTlsFiles(options);
  if (!tls.ok()) return tls.status();
  if (!options.metrics_listen.empty()) {
    absl::StatusOr<std::string> bind =
        MetricsBindAddress(options.metrics_listen);
    if (!bind.ok()) return bind.status();
  }
  if (absl::StartsWith(options.listen, "unix:") && !options.tls_cert.empty()) {
    return absl::InvalidArgumentError(
        "TLS on a unix socket: not needed (the socket is the manager's user's "
        "alone, each peer's uid checked); drop --tls-cert or listen on TCP");
  }
  if (!options.metrics_listen.empty() && !options.acl_file.empty()) {
    return absl::UnimplementedError(
        "--metrics-listen with --acl-file: the metrics password comes from "
        "the lone key; not built yet");
  }
  ListenPolicy policy;
  policy.has_authkey = !options.authkey.empty() || !options.acl_file.empty();
  policy.no_auth = options.no_auth;
  policy.insecure_plaintext = options.insecure_plaintext;
  policy.tls = !options.tls_cert.empty();
  policy.client_certificates = !options.tls_client_ca.empty();
  absl::Status valid = ValidateListenAddress(options.listen, policy);
  if (!valid.ok()) return valid;
  if (options.max_message_bytes <= 0) {
    return absl::InvalidArgumentError("max message size must be positive");
  }
  if (options.max_unsent_bytes <= 0 || options.max_object_bytes <= 0) {
    return absl::InvalidArgumentError(
        "the unsent-answer and object size bounds must be positive");
  }
  RaiseDescriptorLimit();
  absl::StatusOr<Storage> storage = OpenStorage(options);
  if (!storage.ok()) return storage.status();
  auto server = std::make_unique<ManagerServerImpl>(options, std::move(auth),
                                                    *std::move(storage));
  absl::Status bound = server->Bind(options, *std::move(tls));
  if (!bound.ok()) return bound;
  return server;
}

}  // namespace mproc
