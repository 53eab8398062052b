// How a shared object records its state in a durable store without
// knowing the store (server/store/ implements Journal on RocksDB).
//
// An object's record is a set of keys of its own choosing ("a dict entry",
// "a queue item"), each holding bytes. A mutating operation writes the
// keys it changes through its ObjectLog *before* changing memory, under
// the object's own mutex: so writes to one object reach the journal in
// the order they happen, and a write the journal refuses (disk full)
// changes nothing and fails the operation. Memory stays the serving copy;
// the journal is read only at start (SharedObject::Restore).
//
// Without a durable store an object's ObjectLog is disabled and every
// call is a no-op returning OK.
#ifndef MPROC_SERVER_OBJECT_LOG_H_
#define MPROC_SERVER_OBJECT_LOG_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/value.h"

namespace mproc {

// One change to an object's record.
struct LogChange {
  enum Type : uint8_t {
    kPut,        // key := value
    kDelete,     // key removed
    kDeleteAll,  // every key of the object removed (key, value unused)
  };
  Type type = kPut;
  std::string key;
  std::string value;

  static LogChange Put(std::string key, std::string value) {
    return {kPut, std::move(key), std::move(value)};
  }
  static LogChange Delete(std::string key) {
    return {kDelete, std::move(key), {}};
  }
  static LogChange DeleteAll() { return {kDeleteAll, {}, {}}; }
};

// The durable store's side. Thread-safe.
class Journal {
 public:
  virtual ~Journal() = default;

  // Records `changes` to the object whose keys start with `prefix`, as one
  // atomic write. OK once it is as safe as the store's fsync policy
  // promises for an answer about to be sent (in the OS at least; with
  // `always`, the answer itself waits for the disk: AwaitDurable).
  // UNAVAILABLE naming the cause (e.g. "No space left on device") if the
  // store cannot record it now; nothing is recorded then.
  virtual absl::Status Write(absl::string_view prefix,
                             absl::Span<const LogChange> changes) = 0;

  // A number never handed out before by this store, across restarts:
  // what orders a queue's items and names a pool's tasks on disk.
  virtual uint64_t NextSequence() = 0;
  // During recovery: a number the record holds, which NextSequence must
  // never hand out again.
  virtual void SawSequence(uint64_t seq) = 0;

  // Group commit, for a store that must reach the disk before answering
  // (fsync "always"). An answer about to be sent takes AnswerTicket():
  // everything written before it. AwaitDurable returns true if that is
  // already safe; otherwise it returns false and runs `then` (on another
  // thread, no lock held) once it is. Other stores answer at once.
  virtual uint64_t AnswerTicket() const { return 0; }
  virtual bool AwaitDurable(uint64_t ticket, std::function<void()> then) {
    (void)ticket;
    (void)then;
    return true;
  }
};

// One object's handle on the journal: the object's key prefix and the
// journal. Copyable; default-constructed it is disabled.
class ObjectLog {
 public:
  ObjectLog() = default;
  ObjectLog(Journal* journal, std::string prefix)
      : journal_(journal), prefix_(std::move(prefix)) {}

  bool enabled() const { return journal_ != nullptr; }

  // See Journal::Write. `what` ("dict 'config'") starts the error message.
  absl::Status Write(absl::string_view what,
                     absl::Span<const LogChange> changes) const;
  absl::Status Put(absl::string_view what, std::string key,
                   std::string value) const;
  absl::Status Delete(absl::string_view what, std::string key) const;

  // Journal::NextSequence; 0 when disabled.
  uint64_t NextSequence() const {
    return journal_ == nullptr ? 0 : journal_->NextSequence();
  }
  void SawSequence(uint64_t seq) const {
    if (journal_ != nullptr) journal_->SawSequence(seq);
  }

 private:
  Journal* journal_ = nullptr;
  std::string prefix_;
};

// The records of things an answer hands to a client (a queue's items, a
// pool's results): deleted when this is dropped — the answer's give-back
// was dropped unused, so the client has them — unless Cancel()ed first,
// when the answer came back and the things return to their object.
class HandedOverRecords {
 public:
  HandedOverRecords(ObjectLog log, std::string what,
                    std::vector<std::string> keys)
      : log_(std::move(log)), what_(std::move(what)), keys_(std::move(keys)) {}
  // If this fails the things come back after a restart: at-least-once.
  ~HandedOverRecords();
  HandedOverRecords(const HandedOverRecords&) = delete;
  HandedOverRecords& operator=(const HandedOverRecords&) = delete;

  void Cancel() { kept_ = false; }

  // A give-back for an answer carrying those things: cancels `records`
  // (null when the object is not durable), then runs `back`.
  static std::function<void()> GiveBack(
      std::shared_ptr<HandedOverRecords> records, std::function<void()> back);

 private:
  const ObjectLog log_;
  const std::string what_;
  const std::vector<std::string> keys_;
  bool kept_ = true;
};

// The bytes a record holds for a value (value_codec.h).
std::string EncodeRecord(const Value& value);

// Keys that sort in number order: `tag` then `seq` big-endian.
std::string SequenceKey(char tag, uint64_t seq);
// The number of a SequenceKey with `tag`; false if `key` is not one.
bool ParseSequenceKey(absl::string_view key, char tag, uint64_t* seq);

}  // namespace mproc

#endif  // MPROC_SERVER_OBJECT_LOG_H_
