// The in-memory ObjectStore: a hash map under a reader-writer mutex, and the
// names in order beside it for paged listings. Reads (every operation's
// lookup) share the lock; only create and delete take it exclusively.
#include <algorithm>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/object_store.h"

namespace mproc {
namespace {

class InMemoryObjectStore : public ObjectStore {
 public:
  std::shared_ptr<SharedObject> Find(absl::string_view name) const override {
    absl::ReaderMutexLock l(&mu_);
    auto it = objects_.find(name);
    return it == objects_.end() ? nullptr : it->second;
  }

  absl::StatusOr<std::shared_ptr<SharedObject>> FindOrCreate(
      const std::string& name, const pb::CreateSpec&, Factory create) override {
    if (std::shared_ptr<SharedObject> found = Find(name)) return found;
    absl::MutexLock l(&mu_);
    auto it = objects_.find(name);
    if (it != objects_.end()) return it->second;
    absl::StatusOr<std::unique_ptr<SharedObject>> made = create();
    if (!made.ok()) return made.status();
    std::shared_ptr<SharedObject> object = *std::move(made);
    objects_.emplace(name, object);
    names_.insert(name);
    return object;
  }

  absl::StatusOr<std::shared_ptr<SharedObject>> Erase(
      absl::string_view name) override {
    absl::MutexLock l(&mu_);
    auto it = objects_.find(name);
    if (it == objects_.end()) return std::shared_ptr<SharedObject>();
    std::shared_ptr<SharedObject> erased = std::move(it->second);
    objects_.erase(it);
    names_.erase(erased->name());
    return erased;
  }

  std::vector<std::shared_ptr<SharedObject>> Page(absl::string_view after,
                                                  size_t limit) const override {
    std::vector<std::shared_ptr<SharedObject>> out;
    absl::ReaderMutexLock l(&mu_);
    for (auto it = names_.upper_bound(after);
         it != names_.end() && out.size() < limit; ++it) {
      out.push_back(objects_.find(*it)->second);
    }
    return out;
  }

  int64_t Count() const override {
    absl::ReaderMutexLock l(&mu_);
    return static_cast<int64_t>(objects_.size());
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<SharedObject>> objects_
      ABSL_GUARDED_BY(mu_);
  absl::btree_set<std::string, std::less<>> names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<ObjectStore> NewInMemoryObjectStore() {
  return std::make_unique<InMemoryObjectStore>();
}

}  // namespace mproc
