// The manager's write-ahead log (journal_db.h): records appended to
// preallocated segment files through a shared mapping.
//
// An append is a copy into the mapping, with no system call, and once it
// returns the record is in the OS: it survives the manager being killed.
// Sync() puts everything appended before it on the disk, which survives a
// power loss too.
//
// On disk, in the data dir:
//   journal-NNNNNNNN.mlog  segments, numbered in order, each
//                          Options::segment_bytes long (a record too big
//                          for one gets a segment of its own): a header,
//                          then records [u32 length][u32 crc32c][bytes],
//                          and an end mark once the writer has moved on;
//   journal.synced         the position the last Sync reached.
//
// Reading the log back (Open) tells a crash's mark from damage. A record
// that cannot be read at or after the synced position is where the log
// ends: a record being copied when the process was killed, or pages the
// disk had not written when the power went. It and everything after it
// are dropped. A record that cannot be read before the synced position is
// damage: Open refuses it, unless repairing, when the log ends there too.
// A segment file missing between two others counts as unreadable where it
// begins.
// (With `--fsync no` nothing is ever synced, so damage reads as an end.)
//
// Thread-safe.
#ifndef MPROC_SERVER_STORE_MAPPED_LOG_H_
#define MPROC_SERVER_STORE_MAPPED_LOG_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace mproc {

class MappedLog {
 public:
  struct Options {
    std::string dir;
    // Keep what can be read before damage instead of refusing it.
    bool repair = false;
    size_t segment_bytes = 8 << 20;
    // A position the caller has seen: appends come after it, even if every
    // segment and journal.synced are gone.
    uint64_t after = 0;
  };

  // Takes a record read back and the log's position after it.
  using Replay =
      absl::FunctionRef<absl::Status(absl::string_view record, uint64_t end)>;

  // Reads the records of every segment in `options.dir`, oldest first,
  // calling `replay` on each (its first error is returned), then starts a
  // new segment for appends. The segments read stay until ForgetBefore.
  // FAILED_PRECONDITION naming the file and offset for damage (see above);
  // UNAVAILABLE naming the cause if the new segment cannot be made.
  static absl::StatusOr<std::unique_ptr<MappedLog>> Open(const Options& options,
                                                         Replay replay);

  ~MappedLog();
  MappedLog(const MappedLog&) = delete;
  MappedLog& operator=(const MappedLog&) = delete;

  // Appends `record` and returns the log's position after it. UNAVAILABLE
  // naming the file and the cause (disk full, file-size limit) when the
  // record needs a new segment that cannot be made: nothing is appended.
  // After a lost sync (below), the DATA_LOSS that Sync returned.
  absl::StatusOr<uint64_t> Append(absl::string_view record);

  // The position after the last record appended; positions only grow.
  uint64_t end() const;

  // Puts every record appended before the call on the disk and returns the
  // position it reached.
  // A failed fsync is DATA_LOSS naming the file, and it is final: the OS
  // may have dropped the pages it could not write and may report the next
  // fsync as done without them, so what was appended since the last sync
  // can no longer be promised. From then on every Sync and Append fails
  // with the same status; only reading the log again (a restart) shows
  // what the disk holds. UNAVAILABLE naming the file when the directory
  // cannot be opened for its sync or journal.synced cannot be written (the
  // records did reach the disk; a later Sync may succeed).
  absl::StatusOr<uint64_t> Sync();

  // Deletes the kept segments before the one `position` is in: their
  // records are safe elsewhere now.
  void ForgetBefore(uint64_t position);

  // The position where appends started after Open: ForgetBefore it drops
  // every segment Open read.
  uint64_t opened_at() const { return opened_at_; }

  // Reads every record of the kept segments again, up to end() at the
  // call, oldest first.
  absl::Status ReadKept(Replay replay) const;

  // Segments kept on disk, and whether any is before the one `position`
  // is in.
  int64_t segments() const;
  bool HasSegmentsBefore(uint64_t position) const;

 private:
  struct Segment;
  MappedLog(Options options, int synced_fd, uint64_t next_number);
  // A new segment with room for `record_bytes`, made current. Requires mu_.
  absl::Status StartSegmentLocked(size_t record_bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string PathOf(uint64_t number) const;
  // Records that fsync failed for `path` with `err`, for good (see Sync),
  // and returns the status.
  absl::Status LoseSync(const std::string& path, int err);

  const Options options_;
  const int synced_fd_;  // journal.synced
  uint64_t opened_at_ = 0;

  mutable absl::Mutex mu_;
  // Oldest first; the last one is where appends go.
  std::vector<std::shared_ptr<Segment>> segments_ ABSL_GUARDED_BY(mu_);
  uint64_t next_number_ ABSL_GUARDED_BY(mu_);
  uint64_t end_ ABSL_GUARDED_BY(mu_) = 0;
  // Segments made since the directory was last synced.
  bool dir_unsynced_ ABSL_GUARDED_BY(mu_) = false;
  // Why a sync was lost (see Sync); OK while none was.
  absl::Status lost_ ABSL_GUARDED_BY(mu_);
  // One Sync at a time, so that journal.synced only moves forward.
  absl::Mutex sync_mu_ ABSL_ACQUIRED_BEFORE(mu_);
};

}  // namespace mproc

#endif  // MPROC_SERVER_STORE_MAPPED_LOG_H_
