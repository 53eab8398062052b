// Where the manager keeps its shared objects, by name. The RPC layer only
// sees this interface, so a durable store can replace the in-memory one
// without touching it (like leveldb's Env).
#ifndef MPROC_SERVER_OBJECT_STORE_H_
#define MPROC_SERVER_OBJECT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/mproc.pb.h"
#include "server/shared_object.h"

namespace mproc {

class ObjectStore {
 public:
  using Factory =
      absl::FunctionRef<absl::StatusOr<std::unique_ptr<SharedObject>>()>;

  virtual ~ObjectStore() = default;

  // The object called `name`, or nullptr. Thread-safe.
  virtual std::shared_ptr<SharedObject> Find(absl::string_view name) const = 0;

  // The object called `name`; if there is none, the one `create` returns
  // (made from `spec`, which a durable store records), inserted atomically
  // (concurrent callers get the same object). Returns the error of
  // `create`, or UNAVAILABLE if a durable store cannot record it.
  // Thread-safe.
  virtual absl::StatusOr<std::shared_ptr<SharedObject>> FindOrCreate(
      const std::string& name, const pb::CreateSpec& spec, Factory create) = 0;

  // Removes `name` and returns it; null if there was no such object,
  // UNAVAILABLE (nothing removed) if a durable store cannot record it.
  // Callers holding the object keep a valid (detached) copy. Thread-safe.
  virtual absl::StatusOr<std::shared_ptr<SharedObject>> Erase(
      absl::string_view name) = 0;

  // Up to `limit` objects named after `after` ("" for the first), sorted
  // by name: a page of the listing, in O(limit + log n). Thread-safe.
  virtual std::vector<std::shared_ptr<SharedObject>> Page(
      absl::string_view after, size_t limit) const = 0;

  virtual int64_t Count() const = 0;
};

// A store that keeps objects in memory only.
std::unique_ptr<ObjectStore> NewInMemoryObjectStore();

}  // namespace mproc

#endif  // MPROC_SERVER_OBJECT_STORE_H_
