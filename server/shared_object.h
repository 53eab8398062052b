// The base of every object the manager holds: a kind, a name, and a size
// for `mproc objects`. Subclasses (one per kind) are thread-safe: each
// guards its state with its own mutex, so operations on different objects
// never contend.
#ifndef MPROC_SERVER_SHARED_OBJECT_H_
#define MPROC_SERVER_SHARED_OBJECT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "common/value.h"
#include "proto/mproc.pb.h"

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

 private:
  const pb::Kind kind_;
  const std::string name_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_SHARED_OBJECT_H_
