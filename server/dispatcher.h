// Executes wire requests against the object store. The RPC layer hands
// every request (unary, batch or stream) to Execute; this is where names
// are validated, objects found or created, kinds checked, and arities
// checked against the op table. Thread-safe; never blocks beyond the
// short per-object critical sections.
#ifndef MPROC_SERVER_DISPATCHER_H_
#define MPROC_SERVER_DISPATCHER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/op_table.h"
#include "common/value.h"
#include "proto/mproc.pb.h"
#include "server/access.h"
#include "server/object_factory.h"
#include "server/object_store.h"
#include "server/op_stats.h"
#include "server/parking.h"

namespace mproc {

// The most rows one LIST_OBJECTS answers (the client pages through).
inline constexpr int64_t kListObjectsPage = 1000;

// What ExecuteFrame answers at once.
struct FrameAnswers {
  pb::ResponseFrame frame;
  // About the encoded size of frame's responses, in bytes.
  int64_t bytes = 0;
  // (index in frame.responses, give-back) for answers that handed
  // something over: run if that answer does not reach the client.
  std::vector<std::pair<int, std::function<void()>>> give_backs;
};

// The most an answer may ever be: protobuf's message limit, less room for
// the frame around it.
inline constexpr int64_t kMaxAnswerBytes = INT32_MAX - 4096;

struct DispatcherOptions {
  // For pools created without one (0: the factory default).
  absl::Duration result_ttl = absl::ZeroDuration();
  // Finished task records a pool keeps (0: the factory default).
  int64_t task_records = 0;
  // An answer larger than this is refused with RESOURCE_EXHAUSTED — after
  // giving back what it would have handed over — rather than sent (set to
  // the clients' own request limit).
  int64_t max_answer_bytes = kMaxAnswerBytes;
  // Creating an object larger than this fails (object_factory.h).
  int64_t max_object_bytes = kDefaultMaxObjectBytes;
  // What SERVER_INFO reports as "storage", and what BACKUP runs; null for
  // a manager that keeps nothing on disk.
  std::function<Map()> storage_info;
  std::function<absl::Status(const std::string& dir)> backup;
  // Counts every request (must outlive the dispatcher); null: nothing is
  // counted or timed.
  OpStats* op_stats = nullptr;
  // A request answered at once that took longer is logged (slow_op, with
  // its op and object, never its arguments); timed with op_stats only.
  absl::Duration slow_op = absl::Milliseconds(100);
};

class Dispatcher {
 public:
  // `store` must outlive the dispatcher. `instance_id` identifies this run
  // of the manager.
  Dispatcher(ObjectStore* store, std::string instance_id,
             DispatcherOptions options = {});

  // Runs `request` and fills `response` (id, code, message, result). A
  // blocking operation that would wait fails instead (no way to answer
  // later). Each entry point runs only what `access` allows (access.h);
  // the others answer PERMISSION_DENIED.
  void Execute(const pb::Request& request, pb::Response* response,
               const Access& access);
  // The same, left out of the op stats: the manager's own reads for its
  // dashboard, which must not show as client load.
  void ExecuteUnmetered(const pb::Request& request, pb::Response* response,
                        const Access& access);

  // Runs every request of `frame` in order, appending one response each,
  // except for calls that park (parking.h): those are answered later
  // through `sink`. Null `sink`: nothing may park. Consecutive requests on
  // the same object look it up once.
  void ExecuteFrame(const pb::RequestFrame& frame, FrameAnswers* out,
                    const std::shared_ptr<ReplySink>& sink,
                    const std::shared_ptr<ClientSession>& session,
                    const Access& access);
  // The same for the unary Batch: no parking, and what an answer hands
  // over is the caller's once answered (at-most-once).
  void ExecuteFrame(const pb::RequestFrame& frame, pb::ResponseFrame* out,
                    const Access& access);

  const std::string& instance_id() const { return instance_id_; }

 private:
  // The object a frame used last, so a run of requests on one object skips
  // the store's lock and hash lookup. Valid for one frame only.
  struct LastObject {
    std::shared_ptr<SharedObject> object;
  };

  // Returns the response's encoded size.
  int64_t ExecuteWith(const pb::Request& request, pb::Response* response,
                      LastObject* last, CallContext* call,
                      const Access& access);
  // ExecuteWith, without counting.
  int64_t ExecuteUncounted(const pb::Request& request, pb::Response* response,
                           LastObject* last, CallContext* call,
                           const Access& access);
  absl::StatusOr<Value> Run(const pb::Request& request, LastObject* last,
                            CallContext* call, const Access& access);
  absl::StatusOr<Value> Open(const pb::Request& request);
  absl::StatusOr<Value> DeleteObject(const pb::Request& request);
  // Rows of objects outside `access`'s pattern carry only kind and name.
  absl::StatusOr<Value> ListObjects(const pb::Request& request,
                                    const Access& access) const;
  Value ServerInfo() const;
  absl::StatusOr<Value> Backup(const pb::Request& request) const;

  ObjectStore* const store_;
  const std::string instance_id_;
  const absl::Time start_time_;
  const DispatcherOptions options_;
  LogLimiter slow_log_;  // slow_op lines: at most one a second
};

// INVALID_ARGUMENT unless `name` is 1-256 printable ASCII characters.
absl::Status ValidateObjectName(absl::string_view name);

}  // namespace mproc

#endif  // MPROC_SERVER_DISPATCHER_H_
