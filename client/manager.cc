#include "client/manager.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "client/internal/connection.h"
#include "client/internal/tls_material.h"
#include "common/authkey_file.h"
#include "common/op_table.h"
#include "common/value_checks.h"
#include "common/wire.h"

namespace mproc {
namespace {

// The entry `key` of a map the manager returned; null if absent.
mproc::Value FieldOf(const Map& m, const char* key) {
  auto it = m.find(mproc::Value(key));
  return it == m.end() ? mproc::Value() : it->second;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Manager>> Manager::Connect(
    const std::string& address, ConnectOptions options) {
  internal::ConnectionOptions connection_options;
  if (options.authkey.empty() && !options.no_auth) {
    absl::StatusOr<std::string> key = LoadAuthkey("");
    if (!key.ok()) return key.status();
    if (key->empty()) {
      // Never a silent fall back to no authentication: a client (or a
      // worker with --allow-exec) must not serve whatever listens there.
      return absl::UnauthenticatedError(absl::StrCat(
          "no authkey to connect to ", address,
          " with: none given (--authkey-file, MPROC_AUTHKEY) and no default "
          "key file ",
          DefaultAuthkeyPath(),
          " (a manager makes it; copy it from the manager's machine), or "
          "--no-auth for a manager without authentication"));
    }
    options.authkey = *std::move(key);
  }
  connection_options.authkey = std::move(options.authkey);
  connection_options.user =
      internal::FlagOrEnvironment(options.user, "MPROC_USER");
  absl::StatusOr<internal::TlsMaterial> tls =
      internal::LoadTlsMaterial(options.tls_ca, options.tls_cert,
                                options.tls_key, options.tls_server_name);
  if (!tls.ok()) return tls.status();
  connection_options.tls = *std::move(tls);
  connection_options.connect_timeout = options.connect_timeout;
  connection_options.reply_timeout = options.reply_timeout;
  std::unique_ptr<Manager> manager(new Manager(
      internal::NewConnection(address, std::move(connection_options))));
  // One round trip proves the address, the authkey and the session.
  absl::StatusOr<ServerInfo> info = manager->Info();
  if (!info.ok()) return info.status();
  return manager;
}

Manager::Manager(std::shared_ptr<internal::Connection> connection)
    : connection_(std::move(connection)) {}

Manager::~Manager() = default;

absl::Status Manager::Open(const std::string& name, int kind,
                           const OpenSpec& open) {
  std::vector<pb::Request> requests(1);
  pb::Request& request = requests[0];
  request.set_op(pb::OPEN);
  request.set_name(name);
  pb::CreateSpec* spec = request.mutable_create();
  spec->set_kind(static_cast<pb::Kind>(kind));
  spec->set_element_type(open.element_type);
  spec->set_length(open.length);
  spec->set_maxsize(open.maxsize);
  spec->set_reentrant(open.reentrant);
  spec->set_bounded(open.bounded);
  spec->set_lock(open.lock);
  spec->set_parties(open.parties);
  spec->set_timeout(open.timeout_seconds);
  if (open.initial != nullptr) {
    if (absl::Status s = CheckValueToSend(*open.initial, kMaxArgumentDepth);
        !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot create '", name, "': initial value: ", s.message()));
    }
    ValueToProto(*open.initial, spec->mutable_initial());
  }
  std::vector<pb::Response> responses;
  absl::Status sent = connection_->Run(std::move(requests), &responses);
  if (!sent.ok()) return sent;
  return StatusFromResponse(responses[0]);
}

absl::StatusOr<mproc::Value> Manager::Management(int op,
                                                 const std::string& name,
                                                 const mproc::List& args) {
  std::vector<pb::Request> requests(1);
  requests[0].set_op(static_cast<pb::Op>(op));
  requests[0].set_name(name);
  for (const mproc::Value& arg : args) {
    ValueToProto(arg, requests[0].add_args());
  }
  std::vector<pb::Response> responses;
  absl::Status sent = connection_->Run(std::move(requests), &responses);
  if (!sent.ok()) return sent;
  absl::Status status = StatusFromResponse(responses[0]);
  if (!status.ok()) return status;
  return ValueFromProto(responses[0].result());
}

absl::StatusOr<DictProxy> Manager::Dict(const std::string& name,
                                        const Map& initial) {
  const mproc::Value init(initial);
  absl::Status s =
      Open(name, pb::DICT, "", 0, initial.empty() ? nullptr : &init);
  if (!s.ok()) return s;
  return DictProxy(connection_, KindName(pb::DICT), name);
}

absl::StatusOr<ListProxy> Manager::List(const std::string& name,
                                        const mproc::List& initial) {
  const mproc::Value init(initial);
  absl::Status s =
      Open(name, pb::LIST, "", 0, initial.empty() ? nullptr : &init);
  if (!s.ok()) return s;
  return ListProxy(connection_, KindName(pb::LIST), name);
}

absl::StatusOr<ValueProxy> Manager::Value(const std::string& name,
                                          const std::string& type,
                                          const mproc::Value& initial) {
  absl::Status s = Open(name, pb::VALUE, type, 0, &initial);
  if (!s.ok()) return s;
  return ValueProxy(connection_, KindName(pb::VALUE), name);
}

absl::StatusOr<ArrayProxy> Manager::Array(const std::string& name,
                                          const std::string& type,
                                          int64_t length) {
  absl::Status s = Open(name, pb::ARRAY, type, length, nullptr);
  if (!s.ok()) return s;
  return ArrayProxy(connection_, KindName(pb::ARRAY), name);
}

absl::StatusOr<ArrayProxy> Manager::Array(const std::string& name,
                                          const std::string& type,
                                          const mproc::List& initial) {
  const mproc::Value init(initial);
  absl::Status s = Open(name, pb::ARRAY, type, 0, &init);
  if (!s.ok()) return s;
  return ArrayProxy(connection_, KindName(pb::ARRAY), name);
}

absl::StatusOr<QueueProxy> Manager::Queue(const std::string& name,
                                          int64_t maxsize) {
  OpenSpec spec;
  spec.maxsize = maxsize;
  absl::Status s = Open(name, pb::QUEUE, spec);
  if (!s.ok()) return s;
  return QueueProxy(connection_, KindName(pb::QUEUE), name);
}

absl::StatusOr<LockProxy> Manager::Lock(const std::string& name) {
  absl::Status s = Open(name, pb::LOCK, OpenSpec{});
  if (!s.ok()) return s;
  return LockProxy(connection_, KindName(pb::LOCK), name);
}

absl::StatusOr<LockProxy> Manager::RLock(const std::string& name) {
  OpenSpec spec;
  spec.reentrant = true;
  absl::Status s = Open(name, pb::LOCK, spec);
  if (!s.ok()) return s;
  return LockProxy(connection_, KindName(pb::LOCK), name);
}

absl::StatusOr<SemaphoreProxy> Manager::Semaphore(const std::string& name,
                                                  int64_t value) {
  const mproc::Value initial(value);
  OpenSpec spec;
  spec.initial = &initial;
  absl::Status s = Open(name, pb::SEMAPHORE, spec);
  if (!s.ok()) return s;
  return SemaphoreProxy(connection_, KindName(pb::SEMAPHORE), name);
}

absl::StatusOr<SemaphoreProxy> Manager::BoundedSemaphore(
    const std::string& name, int64_t value) {
  const mproc::Value initial(value);
  OpenSpec spec;
  spec.initial = &initial;
  spec.bounded = true;
  absl::Status s = Open(name, pb::SEMAPHORE, spec);
  if (!s.ok()) return s;
  return SemaphoreProxy(connection_, KindName(pb::SEMAPHORE), name);
}

absl::StatusOr<ConditionProxy> Manager::Condition(const std::string& name,
                                                  const std::string& lock) {
  OpenSpec spec;
  spec.lock = lock;
  absl::Status s = Open(name, pb::CONDITION, spec);
  if (!s.ok()) return s;
  return ConditionProxy(connection_, KindName(pb::CONDITION), name);
}

absl::StatusOr<BarrierProxy> Manager::Barrier(const std::string& name,
                                              int64_t parties,
                                              absl::Duration timeout) {
  OpenSpec spec;
  spec.parties = parties;
  if (timeout != absl::InfiniteDuration()) {
    spec.timeout_seconds = absl::ToDoubleSeconds(timeout);
  }
  absl::Status s = Open(name, pb::BARRIER, spec);
  if (!s.ok()) return s;
  return BarrierProxy(connection_, KindName(pb::BARRIER), name);
}

absl::StatusOr<PoolProxy> Manager::PoolCalls(const std::string& name) {
  PoolProxy proxy(connection_, KindName(pb::POOL), name);
  absl::StatusOr<mproc::Map> status = proxy.Status();  // checks name and kind
  if (!status.ok()) return status.status();
  return proxy;
}

absl::StatusOr<std::unique_ptr<mproc::Pool>> Manager::Pool(
    const std::string& name) {
  absl::StatusOr<PoolProxy> proxy = PoolCalls(name);
  if (!proxy.ok()) return proxy.status();
  std::shared_ptr<internal::Connection> connection = connection_;
  return std::make_unique<mproc::Pool>(*std::move(proxy), name, [connection] {
    return connection->instance_changes();
  });
}

absl::StatusOr<EventProxy> Manager::Event(const std::string& name) {
  absl::Status s = Open(name, pb::EVENT, OpenSpec{});
  if (!s.ok()) return s;
  return EventProxy(connection_, KindName(pb::EVENT), name);
}

absl::StatusOr<NamespaceProxy> Manager::Namespace(const std::string& name) {
  absl::Status s = Open(name, pb::NAMESPACE, "", 0, nullptr);
  if (!s.ok()) return s;
  return NamespaceProxy(connection_, KindName(pb::NAMESPACE), name);
}

absl::StatusOr<std::vector<ObjectInfo>> Manager::Objects() {
  std::vector<ObjectInfo> out;
  // Page by page (the manager answers a bounded page per call).
  for (;;) {
    const size_t before = out.size();
    absl::Status page =
        ObjectsAfter(out.empty() ? std::string() : out.back().name, &out);
    if (!page.ok()) return page;
    if (out.size() == before) return out;
  }
}

absl::Status Manager::ObjectsAfter(const std::string& after,
                                   std::vector<ObjectInfo>* out) {
  std::vector<pb::Request> requests(1);
  requests[0].set_op(pb::LIST_OBJECTS);
  ValueToProto(mproc::Value(after), requests[0].add_args());
  std::vector<pb::Response> responses;
  absl::Status sent = connection_->Run(std::move(requests), &responses);
  if (!sent.ok()) return sent;
  absl::Status status = StatusFromResponse(responses[0]);
  if (!status.ok()) return status;
  absl::StatusOr<mproc::Value> rows = ValueFromProto(responses[0].result());
  if (!rows.ok()) return rows.status();
  if (!rows->is_list()) return absl::InternalError("malformed object list");
  for (const mproc::Value& row : rows->list_value()) {
    if (!row.is_map()) return absl::InternalError("malformed object row");
    const Map& m = row.map_value();
    auto field = [&m](const char* key) { return FieldOf(m, key); };
    ObjectInfo info;
    info.kind = field("kind").As<std::string>().value_or("");
    info.name = field("name").As<std::string>().value_or("");
    info.size = field("size").As<int64_t>().value_or(0);
    for (const auto& [key, value] : m) {
      if (key != "kind" && key != "name" && key != "size") {
        info.details.emplace(key, value);
      }
    }
    out->push_back(std::move(info));
  }
  return absl::OkStatus();
}

absl::Status Manager::DeleteObject(const std::string& name) {
  return Management(pb::DELETE_OBJECT, name).status();
}

absl::StatusOr<ServerInfo> Manager::Info() {
  absl::StatusOr<mproc::Value> v = Management(pb::SERVER_INFO, "");
  if (!v.ok()) return v.status();
  if (!v->is_map()) return absl::InternalError("malformed server info");
  const Map& m = v->map_value();
  auto field = [&m](const char* key) { return FieldOf(m, key); };
  ServerInfo info;
  info.version = field("version").As<std::string>().value_or("");
  info.instance_id = field("instance_id").As<std::string>().value_or("");
  info.uptime_seconds = field("uptime_seconds").As<double>().value_or(0);
  info.objects = field("objects").As<int64_t>().value_or(0);
  info.timers = field("timers").As<int64_t>().value_or(0);
  info.requests = field("requests").As<int64_t>().value_or(0);
  if (auto it = m.find(mproc::Value("storage"));
      it != m.end() && it->second.is_map()) {
    info.storage = it->second.map_value();
  }
  return info;
}

absl::Status Manager::Backup(const std::string& dir) {
  return Management(pb::BACKUP, "", {mproc::Value(dir)}).status();
}

BatchBuilder Manager::NewBatch() { return BatchBuilder(connection_); }

const std::string& Manager::address() const { return connection_->address(); }

std::string Manager::instance_id() const { return connection_->instance_id(); }

int64_t Manager::instance_changes() const {
  return connection_->instance_changes();
}

int64_t Manager::session_losses() const {
  return connection_->session_losses();
}

int64_t Manager::streams_opened() const {
  return connection_->streams_opened();
}

absl::StatusOr<std::string> LoadAuthkey(const std::string& authkey_file) {
  if (!authkey_file.empty()) return ReadAuthkeyFile(authkey_file);
  if (const char* env = std::getenv("MPROC_AUTHKEY");
      env != nullptr && *env != '\0') {
    return std::string(env);
  }
  absl::StatusOr<std::string> key = ReadAuthkeyFile(DefaultAuthkeyPath());
  if (absl::IsNotFound(key.status())) return std::string();
  return key;
}

}  // namespace mproc
