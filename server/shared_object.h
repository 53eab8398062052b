// The base of every object the manager holds: a kind, a name, and a size
// for `mproc objects`. Subclasses (one per kind) are thread-safe: each
// guards its state with its own mutex, so operations on different objects
// never contend.
#ifndef MPROC_SERVER_SHARED_OBJECT_H_
#define MPROC_SERVER_SHARED_OBJECT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/value.h"
#include "proto/mproc.pb.h"
#include "server/object_log.h"

namespace mproc {

// Owned by the object store through shared_ptr; weak_from_this() lets
// deferred work (a parked call's timeout) find a still-existing object.
class SharedObject : public std::enable_shared_from_this<SharedObject> {
 public:
  SharedObject(pb::Kind kind, std::string name)
      : kind_(kind), name_(std::move(name)) {}
  virtual ~SharedObject() = default;
  SharedObject(const SharedObject&) = delete;
  SharedObject& operator=(const SharedObject&) = delete;

  pb::Kind kind() const { return kind_; }
  const std::string& name() const { return name_; }

  // "dict 'config'": how error messages name this object.
  std::string Describe() const;

  // Number of entries, items, elements or attributes. Thread-safe.
  virtual int64_t Size() const = 0;

  // Extra facts for `mproc objects` (e.g. a queue's waiting calls).
  virtual Map Details() const { return {}; }

  // Called once the store has dropped the object (DELETE_OBJECT): calls
  // waiting on it must be answered, as nothing will serve them now.
  virtual void OnDeleted() {}

  // Durability (object_log.h). The store attaches the log before anyone
  // else sees the object.
  void AttachLog(ObjectLog log) { log_ = std::move(log); }
  // Appends the object's whole state as puts: what a durable store
  // records when it takes the object in.
  virtual void Snapshot(std::vector<LogChange>* out) const { (void)out; }
  // Applies one recorded key during recovery, before anyone sees the
  // object. DATA_LOSS if the key or its bytes make no sense.
  virtual absl::Status Restore(absl::string_view key, absl::string_view value);
  // How recovery hands an object its keys: a run at a time, in order,
  // stopping at the first error. By default Restore for each; an object
  // with many keys overrides this instead, to take its lock once per run.
  virtual absl::Status RestoreMany(
      absl::Span<const std::pair<std::string, std::string>> records);
  // Called once every key is restored.
  virtual void Restored() {}

 protected:
  const ObjectLog& log() const { return log_; }

 private:
  const pb::Kind kind_;
  const std::string name_;
  ObjectLog log_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_SHARED_OBJECT_H_
