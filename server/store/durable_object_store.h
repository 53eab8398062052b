// An ObjectStore whose objects survive a restart: every object is recorded
// in a JournalDb — its CreateSpec when it is made, its keys as it changes
// (object_log.h), all of it removed when it is deleted — and loaded back
// by Recover() when the manager starts. Memory stays the serving copy:
// lookups never touch the disk.
//
// On disk, an object is the key `name \0` holding its incarnation (a
// number never used before) and its spec, and the keys
// `name \0 incarnation key` holding its state. A recreated object gets a
// new incarnation, so a late write from a deleted one can never mix into
// its successor (Recover drops such strays).
#ifndef MPROC_SERVER_STORE_DURABLE_OBJECT_STORE_H_
#define MPROC_SERVER_STORE_DURABLE_OBJECT_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/object_store.h"
#include "server/store/journal_db.h"

namespace mproc {

// What Recover loaded.
struct RecoveryReport {
  std::map<std::string, int64_t> objects_by_kind;  // "dict" -> 3
  int64_t objects = 0;
  int64_t records = 0;        // keys read, objects' own included
  int64_t stray_records = 0;  // of deleted objects, removed
  absl::Duration took;
  // "loaded 3 objects (2 dict, 1 queue), 1000000 records in 1.2s".
  std::string Summary() const;
};

class DurableObjectStore final : public ObjectStore {
 public:
  // `journal` must outlive the store. `max_object_bytes` as for
  // CreateObject (object_factory.h).
  DurableObjectStore(JournalDb* journal, int64_t max_object_bytes);

  // Loads every recorded object. Call once, before serving. DATA_LOSS or
  // FAILED_PRECONDITION naming the object if its record cannot be read.
  absl::StatusOr<RecoveryReport> Recover();

  std::shared_ptr<SharedObject> Find(absl::string_view name) const override;
  absl::StatusOr<std::shared_ptr<SharedObject>> FindOrCreate(
      const std::string& name, const pb::CreateSpec& spec,
      Factory create) override;
  absl::StatusOr<std::shared_ptr<SharedObject>> Erase(
      absl::string_view name) override;
  std::vector<std::shared_ptr<SharedObject>> Page(absl::string_view after,
                                                  size_t limit) const override;
  int64_t Count() const override;

 private:
  JournalDb* const journal_;
  const int64_t max_object_bytes_;
  const std::unique_ptr<ObjectStore> memory_;
  // Serializes creations and deletions with their records, so the disk
  // sees them in the order memory does.
  absl::Mutex changes_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_STORE_DURABLE_OBJECT_STORE_H_
