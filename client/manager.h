// mproc client: start here.
//
//   absl::StatusOr<std::unique_ptr<mproc::Manager>> m =
//       mproc::Manager::Connect("127.0.0.1:50051");
//   absl::StatusOr<mproc::DictProxy> config = (*m)->Dict("config");
//   config->Set("workers", 8);
//   config->Add("jobs_done", 1);            // atomic, race-free
//
// A Manager is one connection to a manager daemon (`mproc manager`). It is
// thread-safe: share one among all threads of a process; their operations
// are pipelined on one stream. It also survives fork(): a child process
// keeps using the Manager (and its proxies), which opens its own stream on
// first use. When the manager goes away, calls fail with UNAVAILABLE and a
// later call reconnects (with backoff); instance_changes() tells whether the
// manager restarted in between (its objects are then new and empty).
#ifndef MPROC_CLIENT_MANAGER_H_
#define MPROC_CLIENT_MANAGER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/batch.h"
#include "client/pool.h"
#include "client/proxies.h"
#include "common/value.h"

namespace mproc {

struct ConnectOptions {
  // The manager's authkey, which the manager must prove it holds too
  // (common/auth_proof.h; the key itself never crosses the wire). Empty:
  // the default, as LoadAuthkey("") finds it — unless no_auth; if there is
  // none, Connect fails UNAUTHENTICATED rather than connect without one.
  std::string authkey;
  // Whose key `authkey` is, for a manager with an ACL (--acl-file); empty:
  // $MPROC_USER, else none (a manager's lone key).
  std::string user;
  // No key: for a manager started with --no-auth (one with a key refuses
  // the connection).
  bool no_auth = false;
  // TLS (docs/security.md). `tls_ca`: the file of the CA that signed the
  // manager's certificate; set, the connection is TLS and the certificate
  // must name the address's host (or `tls_server_name`). `tls_cert` and
  // `tls_key`: this client's certificate and key, for a manager that
  // requires them (mutual TLS). Each empty one is taken from
  // $MPROC_TLS_CA, $MPROC_TLS_CERT, $MPROC_TLS_KEY, $MPROC_TLS_SERVER_NAME;
  // no CA at all: plaintext.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;
  // How long one attempt to reach the manager may take.
  absl::Duration connect_timeout = absl::Seconds(5);
  // How long a call may wait for its answer beyond the wait it asked for
  // (its timeout; a blocking call without one is never cut short). The
  // manager pings its clients, not the other way round, so a manager that
  // stops answering but keeps its connections open (stopped with SIGSTOP,
  // wedged, its host frozen) would leave calls waiting. Past this the
  // connection is closed: the call fails DEADLINE_EXCEEDED, others in
  // flight UNAVAILABLE ("may or may not have run"), and the next call
  // reconnects. Infinite (the default) waits as long as the connection
  // stands, like Python's manager.
  absl::Duration reply_timeout = absl::InfiniteDuration();
};

// One row of `Objects()`.
struct ObjectInfo {
  std::string kind;  // "dict", "list", "value", "array", "namespace", "queue"
  std::string name;
  int64_t size = 0;  // entries, items or elements
  // Kind-specific facts; a queue's: maxsize, and the calls waiting in get
  // ("getters") and put ("putters").
  mproc::Map details;
};

struct ServerInfo {
  std::string version;
  std::string instance_id;  // random per manager run
  double uptime_seconds = 0;
  int64_t objects = 0;
  // Entries on the manager's timer: timeouts of parked calls and tasks,
  // session leases, result expiries. Answered waits drop theirs.
  int64_t timers = 0;
  // Where the objects live: {"persistence": "memory"}, or "rocksdb" with
  // data_dir, fsync, disk_bytes, last_fsync_seconds_ago, recovered, ...
  Map storage;
  // Requests answered since start (a rate is the change between two).
  int64_t requests = 0;
};

class Manager {
 public:
  // Connects to `address` ("host:port" or "unix:/path") and checks that
  // the manager answers and accepts the authkey. UNAVAILABLE if it cannot
  // be reached within options.connect_timeout; UNAUTHENTICATED for a
  // missing or wrong authkey.
  static absl::StatusOr<std::unique_ptr<Manager>> Connect(
      const std::string& address, ConnectOptions options = {});

  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Get-or-create: every process asking for dict "config" gets the same
  // object. `initial` is used only when the object is created.
  // FAILED_PRECONDITION if the name belongs to another kind of object.
  absl::StatusOr<DictProxy> Dict(const std::string& name,
                                 const Map& initial = {});
  absl::StatusOr<ListProxy> List(const std::string& name,
                                 const mproc::List& initial = {});
  // `type`: "int", "double", "bool", "string", "bytes" (or a Python code
  // such as "i" or "d"). `initial` defaults to the type's zero.
  absl::StatusOr<ValueProxy> Value(const std::string& name,
                                   const std::string& type,
                                   const mproc::Value& initial = {});
  // Fixed length, zero-filled; or taken from `initial`.
  absl::StatusOr<ArrayProxy> Array(const std::string& name,
                                   const std::string& type, int64_t length);
  absl::StatusOr<ArrayProxy> Array(const std::string& name,
                                   const std::string& type,
                                   const mproc::List& initial);
  absl::StatusOr<NamespaceProxy> Namespace(const std::string& name);
  // maxsize 0: unbounded (and, for an existing queue, any maxsize).
  // FAILED_PRECONDITION if the queue exists with another non-zero maxsize;
  // INVALID_ARGUMENT if maxsize < 0.
  absl::StatusOr<QueueProxy> Queue(const std::string& name,
                                   int64_t maxsize = 0);
  // Lock and RLock, Semaphore and BoundedSemaphore (`value` permits), and
  // Event: get-or-create like the others. FAILED_PRECONDITION if the name
  // is a lock of the other sort (or a semaphore of the other sort);
  // INVALID_ARGUMENT if value < 0. Held locks and permits are released
  // when this Manager's session ends (e.g. the process dies).
  absl::StatusOr<LockProxy> Lock(const std::string& name);
  absl::StatusOr<LockProxy> RLock(const std::string& name);
  absl::StatusOr<SemaphoreProxy> Semaphore(const std::string& name,
                                           int64_t value = 1);
  absl::StatusOr<SemaphoreProxy> BoundedSemaphore(const std::string& name,
                                                  int64_t value = 1);
  absl::StatusOr<EventProxy> Event(const std::string& name);
  // A Condition over the Lock (or RLock) named `lock` (created as a Lock if
  // missing). FAILED_PRECONDITION if the condition exists over another
  // lock, or `lock` names another kind of object.
  absl::StatusOr<ConditionProxy> Condition(const std::string& name,
                                           const std::string& lock);
  // parties >= 1 (INVALID_ARGUMENT otherwise); `timeout`: the default for
  // waits. FAILED_PRECONDITION if it exists with other parties.
  absl::StatusOr<BarrierProxy> Barrier(
      const std::string& name, int64_t parties,
      absl::Duration timeout = absl::InfiniteDuration());

  // A task pool served by worker processes (`mproc worker --pool NAME`);
  // see client/pool.h. Pools are created by use; this checks that the name
  // is not taken by another kind of object (FAILED_PRECONDITION). The Pool
  // must not outlive this Manager.
  absl::StatusOr<std::unique_ptr<mproc::Pool>> Pool(
      const std::string& name = "default");
  // The pool's wire-level calls (for workers and tools).
  absl::StatusOr<PoolProxy> PoolCalls(const std::string& name);

  // Every mproc queue is joinable (TaskDone/Join); the same as Queue.
  absl::StatusOr<QueueProxy> JoinableQueue(const std::string& name,
                                           int64_t maxsize = 0) {
    return Queue(name, maxsize);
  }

  // Every object the manager holds, sorted by name.
  absl::StatusOr<std::vector<ObjectInfo>> Objects();
  // NOT_FOUND if there is no such object.
  absl::Status DeleteObject(const std::string& name);
  absl::StatusOr<ServerInfo> Info();
  // A consistent copy of the manager's data dir, made while it serves, in
  // `dir` on the manager's machine (which must not exist): a data dir to
  // start a manager from. FAILED_PRECONDITION for an in-memory manager.
  absl::Status Backup(const std::string& dir);

  // A builder for many operations in one round trip.
  BatchBuilder NewBatch();

  const std::string& address() const;
  // The manager instance seen last, and how often it changed.
  std::string instance_id() const;
  int64_t instance_changes() const;
  // How many times this process's session was found gone on reconnecting
  // (expired while the process was paused or cut off past the session
  // lease, or lost with a manager restart): each time, every lock and
  // permit it held was released. Compare before and after a critical
  // section to learn that it may not have been exclusive.
  int64_t session_losses() const;
  // Session streams this process opened to the manager: a new one means
  // the manager saw the previous one end (its waits were withdrawn).
  int64_t streams_opened() const;

 private:
  explicit Manager(std::shared_ptr<internal::Connection> connection);
  // The CreateSpec of an OPEN, without proto types in this header.
  struct OpenSpec {
    std::string element_type;
    int64_t length = 0;
    const mproc::Value* initial = nullptr;
    int64_t maxsize = 0;
    bool reentrant = false;
    bool bounded = false;
    std::string lock;
    int64_t parties = 0;
    double timeout_seconds = 0;
  };
  absl::Status Open(const std::string& name, int kind,
                    const std::string& element_type, int64_t length,
                    const mproc::Value* initial) {
    OpenSpec spec;
    spec.element_type = element_type;
    spec.length = length;
    spec.initial = initial;
    return Open(name, kind, spec);
  }
  absl::Status Open(const std::string& name, int kind, const OpenSpec& spec);
  absl::StatusOr<mproc::Value> Management(int op, const std::string& name,
                                          const mproc::List& args = {});
  // Appends one page of the listing: the objects named after `after`.
  absl::Status ObjectsAfter(const std::string& after,
                            std::vector<ObjectInfo>* out);

  std::shared_ptr<internal::Connection> connection_;
};

// The authkey a client uses: from `authkey_file` if non-empty, else the
// MPROC_AUTHKEY environment variable, else the user's default key file
// (common/authkey_file.h) if it exists, else "" (none). The errors of
// ReadAuthkeyFile: NOT_FOUND for a missing `authkey_file`, PERMISSION_DENIED
// for a key file other users may read (the default one included).
absl::StatusOr<std::string> LoadAuthkey(const std::string& authkey_file);

}  // namespace mproc

#endif  // MPROC_CLIENT_MANAGER_H_
