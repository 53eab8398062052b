// The base of every object the manager holds: a kind, a name, and a size
// for `mproc objects`. Subclasses (one per kind) are thread-safe: each
// guards its state with its own mutex, so operations on different objects
// never contend.
#ifndef MPROC_SERVER_SHARED_OBJECT_H_
#define MPROC_SERVER_SHARED_OBJECT_H_

#include <cstdint>
#include <string>

#include "proto/mproc.pb.h"

namespace mproc {

class SharedObject {
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

 private:
  const pb::Kind kind_;
  const std::string name_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_SHARED_OBJECT_H_
