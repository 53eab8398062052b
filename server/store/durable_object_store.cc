#include "server/store/durable_object_store.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/op_table.h"
#include "server/object_factory.h"
#include "server/store/ordered_worker.h"

namespace mproc {
namespace {

constexpr size_t kIncarnationBytes = 8;
// How many of an object's keys recovery hands it at once, and how many
// such runs may wait for the restoring thread.
constexpr size_t kRestoreRun = 1024;
constexpr size_t kRunsWaiting = 8;

std::string Incarnation(uint64_t n) {
  std::string out(kIncarnationBytes, '\0');
  for (size_t i = 0; i < kIncarnationBytes; ++i) {
    out[kIncarnationBytes - 1 - i] = static_cast<char>(n >> (8 * i));
  }
  return out;
}

uint64_t ParseIncarnation(absl::string_view bytes) {
  uint64_t n = 0;
  for (size_t i = 0; i < kIncarnationBytes; ++i) {
    n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return n;
}

std::string MetaKey(absl::string_view name) {
  std::string key(name);
  key.push_back('\0');
  return key;
}

// The spec an object is made again from at restart: its content is in its
// own keys, so the spec keeps only the shape.
pb::CreateSpec StoredSpec(const pb::CreateSpec& spec,
                          const SharedObject& object) {
  pb::CreateSpec stored = spec;
  switch (spec.kind()) {
    case pb::ARRAY:
      stored.set_length(object.Size());
      stored.clear_initial();
      break;
    case pb::DICT:
    case pb::NAMESPACE:
    case pb::LIST:
    case pb::VALUE:
      stored.clear_initial();
      break;
    default:
      break;  // a semaphore's initial value is its configuration
  }
  return stored;
}

absl::Status Unrecorded(absl::string_view what, absl::string_view name,
                        const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat("could not ", what, " '", name,
                                             "': ", s.message()));
}

}  // namespace

std::string RecoveryReport::Summary() const {
  std::vector<std::string> kinds;
  for (const auto& [kind, n] : objects_by_kind) {
    kinds.push_back(absl::StrCat(n, " ", kind));
  }
  return absl::StrCat(
      "loaded ", objects, " objects",
      kinds.empty() ? "" : absl::StrCat(" (", absl::StrJoin(kinds, ", "), ")"),
      ", ", records, " records in ", absl::FormatDuration(took),
      stray_records > 0 ? absl::StrCat("; removed ", stray_records,
                                       " records of deleted objects")
                        : "");
}

DurableObjectStore::DurableObjectStore(JournalDb* journal,
                                       int64_t max_object_bytes)
    : journal_(journal),
      max_object_bytes_(max_object_bytes),
      memory_(NewInMemoryObjectStore()) {}

absl::StatusOr<RecoveryReport> DurableObjectStore::Recover() {
  const absl::Time start = absl::Now();
  RecoveryReport report;
  struct Deferred {
    std::string name;
    pb::CreateSpec spec;
    std::string prefix;
  };
  std::vector<Deferred> conditions;
  absl::btree_set<std::string> strays;  // prefixes of stale incarnations

  std::unique_ptr<SharedObject> current;
  pb::CreateSpec current_spec;
  std::string current_prefix;  // name \0 incarnation
  auto insert = [&](std::unique_ptr<SharedObject> object,
                    const pb::CreateSpec& spec) -> absl::Status {
    ++report.objects;
    ++report.objects_by_kind[std::string(KindName(object->kind()))];
    const std::string name = object->name();
    auto made = memory_->FindOrCreate(
        name, spec, [&]() -> absl::StatusOr<std::unique_ptr<SharedObject>> {
          return std::move(object);
        });
    if (!made.ok()) return made.status();
    // Owned by a shared_ptr now: what Restored schedules (a pool's result
    // expiry) can find the object later.
    (*made)->Restored();
    return absl::OkStatus();
  };
  // This thread reads the database; the objects take their keys, a run at
  // a time (RestoreMany), and go into memory on the worker's thread, in
  // the order read. An object is owned by this thread until it is handed
  // over with its insertion. (Declared after what its steps use, so that
  // its thread is done before they go.)
  OrderedWorker restorer(kRunsWaiting);
  // The current object's keys read but not yet handed over.
  std::vector<std::pair<std::string, std::string>> run;
  auto hand_over_run = [&]() -> absl::Status {
    if (run.empty()) return restorer.status();
    restorer.Add([object = current.get(), records = std::move(run)] {
      return object->RestoreMany(records);
    });
    run.clear();  // moved-from: made empty again
    run.reserve(kRestoreRun);
    return restorer.status();
  };

  absl::Status walked = journal_->ForEach(
      [&](absl::string_view key, absl::string_view value) -> absl::Status {
        ++report.records;
        const size_t nul = key.find('\0');
        if (nul == absl::string_view::npos) {
          return absl::DataLossError(
              "the data dir holds a key that names no object");
        }
        const absl::string_view name = key.substr(0, nul);
        const absl::string_view rest = key.substr(nul + 1);
        if (rest.empty()) {  // an object's own key: a new object starts
          if (current != nullptr) {
            if (absl::Status s = hand_over_run(); !s.ok()) return s;
            auto owned = std::make_shared<std::unique_ptr<SharedObject>>(
                std::move(current));
            restorer.Add([&insert, owned, spec = current_spec] {
              return insert(std::move(*owned), spec);
            });
          }
          pb::CreateSpec spec;
          if (value.size() < kIncarnationBytes ||
              !spec.ParseFromArray(
                  value.data() + kIncarnationBytes,
                  static_cast<int>(value.size() - kIncarnationBytes))) {
            return absl::DataLossError(absl::StrCat(
                "object '", name, "': its record in the data dir is damaged"));
          }
          const uint64_t incarnation = ParseIncarnation(value);
          journal_->SawSequence(incarnation);
          current_prefix = absl::StrCat(key, Incarnation(incarnation));
          current_spec = spec;
          if (spec.kind() == pb::CONDITION) {  // after its lock exists
            conditions.push_back({std::string(name), spec, current_prefix});
            return absl::OkStatus();
          }
          auto made = CreateObject(std::string(name), spec, max_object_bytes_);
          if (!made.ok()) {
            return absl::DataLossError(absl::StrCat(
                "object '", name, "' in the data dir cannot be made again: ",
                made.status().message()));
          }
          current = *std::move(made);
          current->AttachLog(ObjectLog(journal_, current_prefix));
          return absl::OkStatus();
        }
        const bool ours =
            current != nullptr && key.size() >= current_prefix.size() &&
            key.substr(0, current_prefix.size()) == current_prefix;
        if (!ours) {
          ++report.stray_records;
          if (rest.size() >= kIncarnationBytes) {
            // Never handed out again, even if removing it fails.
            journal_->SawSequence(ParseIncarnation(rest));
            strays.insert(absl::StrCat(name, absl::string_view("\0", 1),
                                       rest.substr(0, kIncarnationBytes)));
          }
          return absl::OkStatus();
        }
        run.emplace_back(key.substr(current_prefix.size()), value);
        return run.size() == kRestoreRun ? hand_over_run() : absl::OkStatus();
      });
  if (walked.ok() && current != nullptr) walked = hand_over_run();
  // Everything read is in memory (or failed) once the worker is done. Its
  // error is about a record read before any the walk failed on: the first.
  if (absl::Status restored = restorer.Drain(); !restored.ok()) {
    walked = restored;
  }
  if (absl::Status resumed = journal_->ResumeCompactions(); walked.ok()) {
    walked = resumed;
  }
  if (!walked.ok()) return walked;
  if (current != nullptr) {
    if (absl::Status s = insert(std::move(current), current_spec); !s.ok()) {
      return s;
    }
  }
  for (Deferred& condition : conditions) {
    pb::CreateSpec lock_spec;
    lock_spec.set_kind(pb::LOCK);
    auto lock = FindOrCreate(condition.spec.lock(), lock_spec, [&] {
      return CreateObject(condition.spec.lock(), lock_spec, max_object_bytes_);
    });
    if (!lock.ok()) return lock.status();
    auto made =
        CreateObject(condition.name, condition.spec, max_object_bytes_, *lock);
    if (!made.ok()) {
      return absl::DataLossError(absl::StrCat(
          "condition '", condition.name,
          "' in the data dir cannot be made again: ", made.status().message()));
    }
    (*made)->AttachLog(ObjectLog(journal_, condition.prefix));
    if (absl::Status s = insert(*std::move(made), condition.spec); !s.ok()) {
      return s;
    }
  }
  const LogChange all = LogChange::DeleteAll();
  for (const std::string& prefix : strays) {
    journal_->Write(prefix, {&all, 1}).IgnoreError();  // tried next time
  }
  report.took = absl::Now() - start;
  return report;
}

std::shared_ptr<SharedObject> DurableObjectStore::Find(
    absl::string_view name) const {
  return memory_->Find(name);
}

absl::StatusOr<std::shared_ptr<SharedObject>> DurableObjectStore::FindOrCreate(
    const std::string& name, const pb::CreateSpec& spec, Factory create) {
  if (std::shared_ptr<SharedObject> found = memory_->Find(name)) return found;
  // Creations and deletions are serialized here, so the object is made and
  // recorded without the in-memory store's lock (which every lookup takes),
  // then inserted.
  absl::MutexLock l(&changes_);
  if (std::shared_ptr<SharedObject> found = memory_->Find(name)) return found;
  absl::StatusOr<std::unique_ptr<SharedObject>> object = create();
  if (!object.ok()) return object.status();
  const std::string meta = MetaKey(name);
  const std::string own = Incarnation(journal_->NextSequence());
  std::vector<LogChange> changes;
  changes.push_back(LogChange::Put(
      "", absl::StrCat(own, StoredSpec(spec, **object).SerializeAsString())));
  std::vector<LogChange> state;
  (*object)->Snapshot(&state);
  for (LogChange& change : state) {
    change.key = absl::StrCat(own, change.key);
    changes.push_back(std::move(change));
  }
  if (absl::Status s = journal_->Write(meta, changes); !s.ok()) {
    return Unrecorded(absl::StrCat("create ", KindName(spec.kind())), name, s);
  }
  (*object)->AttachLog(ObjectLog(journal_, absl::StrCat(meta, own)));
  return memory_->FindOrCreate(
      name, spec, [&]() -> absl::StatusOr<std::unique_ptr<SharedObject>> {
        return std::move(*object);
      });
}

absl::StatusOr<std::shared_ptr<SharedObject>> DurableObjectStore::Erase(
    absl::string_view name) {
  absl::MutexLock l(&changes_);
  std::shared_ptr<SharedObject> found = memory_->Find(name);
  if (found == nullptr) return found;
  const LogChange all = LogChange::DeleteAll();
  if (absl::Status s = journal_->Write(MetaKey(name), {&all, 1}); !s.ok()) {
    return Unrecorded(absl::StrCat("delete ", KindName(found->kind())), name,
                      s);
  }
  return memory_->Erase(name);
}

std::vector<std::shared_ptr<SharedObject>> DurableObjectStore::Page(
    absl::string_view after, size_t limit) const {
  return memory_->Page(after, limit);
}

int64_t DurableObjectStore::Count() const { return memory_->Count(); }

}  // namespace mproc
