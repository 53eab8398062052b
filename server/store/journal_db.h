// The manager's record on disk, in the data dir: its own write-ahead log
// (mapped_log.h) in front of a RocksDB database, which holds every durable
// object's keys (object_log.h) under the object's name, with Redis's three
// fsync policies.
//
// Write appends the change to the log (a copy into a mapped file, so it is
// in the OS when Write returns) and nothing else: a killed manager loses
// nothing it acknowledged under any policy. What the policy decides is when
// the log reaches the disk (power loss):
//   always:   before any answer written after the change is sent — the
//             answers wait (AwaitDurable) and one fsync serves every write
//             made meanwhile, from every client (group commit);
//   everysec: within about a second (a background fsync every second);
//   no:       when the OS decides.
// A background thread applies what the log holds to the database, once it
// is on disk (at once with `no`), and deletes the log's older segments when
// the database has flushed them; at start the rest of the log is applied
// first. So the database never gets ahead of the log on disk, and what a
// restart reads is always a point the log reached.
//
// A write the log has no room for (disk full, file-size limit) fails
// UNAVAILABLE naming the cause and is not applied; writes succeed again
// once there is room. A failed fsync is final (MappedLog::Sync): from then
// on every write fails UNAVAILABLE saying so, reads go on, and only a
// restart, which reads back what the disk holds, takes writes again. With
// `always` nothing can be answered any more (every answer waits for a
// sync), so the process logs the cause and exits at once, status 1,
// without sending the answers that were waiting. A database that refuses a
// write (say a flush found the disk full) is resumed in the background —
// RocksDB's Resume, or closing and reopening it and applying the log again —
// while writes go on into the log. Thread-safe.
#ifndef MPROC_SERVER_STORE_JOURNAL_DB_H_
#define MPROC_SERVER_STORE_JOURNAL_DB_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/object_log.h"
#include "server/store/mapped_log.h"

namespace rocksdb {
class DB;
class Status;
}  // namespace rocksdb

namespace mproc {

enum class FsyncPolicy { kAlways, kEverySecond, kNo };

// "always", "everysec", "no".
absl::StatusOr<FsyncPolicy> ParseFsyncPolicy(absl::string_view text);
absl::string_view FsyncPolicyName(FsyncPolicy policy);

struct JournalOptions {
  std::string dir;
  FsyncPolicy fsync = FsyncPolicy::kEverySecond;
  // Rebuild a damaged database (RocksDB's RepairDB), keeping what can be
  // read, instead of refusing to start.
  bool repair = false;
};

class JournalDb final : public Journal {
 public:
  // Opens the database and the log in `options.dir`, creating them (and
  // the dir, if its parent exists) on first use, and applies what the log
  // holds to the database. FAILED_PRECONDITION naming the dir when it
  // cannot be made or written, is in use by another manager, holds an
  // unknown format version, or is damaged (unless options.repair).
  // Background compactions wait for ResumeCompactions.
  static absl::StatusOr<std::unique_ptr<JournalDb>> Open(
      const JournalOptions& options);

  // Syncs what was written, stops the background threads, closes.
  ~JournalDb() override;

  absl::Status Write(absl::string_view prefix,
                     absl::Span<const LogChange> changes) override;
  uint64_t NextSequence() override;
  void SawSequence(uint64_t seq) override;
  uint64_t AnswerTicket() const override;
  bool AwaitDurable(uint64_t ticket, std::function<void()> then) override;

  // Shutting down, before the RPC threads stop: syncs, runs every answer
  // waiting for the disk, and from now on has AwaitDurable sync on the
  // caller's thread (nothing may run later on a stopped server).
  void FlushAnswers();

  // Recovery: f(key, value) for every object record, in key order; stops
  // at f's first error.
  absl::Status ForEach(
      absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)> f)
      const;

  // After recovery has read the database: lets RocksDB compact it in the
  // background from now on (held back until then; see Open). An error
  // means they stay off, and the manager must not serve so.
  absl::Status ResumeCompactions();

  // A consistent copy of the database in `dir` (which must not exist),
  // taken while serving, holding every write made before the call: a data
  // dir a manager can start from.
  absl::Status Backup(const std::string& dir);

  struct Stats {
    std::string dir;
    FsyncPolicy fsync = FsyncPolicy::kEverySecond;
    absl::Time last_sync = absl::InfinitePast();  // never
    absl::Duration last_sync_took = absl::ZeroDuration();
    int64_t syncs = 0;
    int64_t writes = 0;
    int64_t failed_writes = 0;
    int64_t disk_bytes = 0;  // the data dir's files
    int64_t log_segments = 0;
    std::string error;       // why writes fail now; empty when they do not
    std::string last_error;  // why writes last failed; empty if never
  };
  Stats GetStats() const;

 private:
  JournalDb(JournalOptions options, rocksdb::DB* db,
            std::unique_ptr<MappedLog> log);
  // The sync thread: fsyncs the log per the policy and runs AwaitDurable's
  // callbacks.
  void SyncLoop();
  // Group commit: before a sync, waits briefly for the answers of the
  // last cycle's clients to come back, so that one sync covers them all.
  void GatherLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Syncs the log; what it reached may be applied to the database.
  absl::Status SyncLog();
  // Syncs what was written so far and runs the answers it covers.
  void SyncAndRelease();
  // After a sync failed for good: with `always`, logs `status` and exits
  // the process (the answers waiting can never be sent truthfully).
  void SyncLost(const absl::Status& status);
  absl::Status Failed(const std::string& cause);

  // The apply thread: applies the log's records to the database once
  // they are on disk, and drops the log's segments the database holds.
  void ApplyLoop();
  // Applies `records` (pending_'s format) to the database.
  rocksdb::Status Apply(absl::string_view records);
  // After the database refused a write: Resume, else reopen it and apply
  // the log's kept records up to `applied` (applied_: what it held before,
  // which is on disk) again, so that the records taken since follow in
  // order. OK once it takes writes.
  rocksdb::Status RecoverDatabase(uint64_t applied);
  // Flushes the database and forgets the log segments before `applied`,
  // if there are any.
  void ForgetApplied(uint64_t applied);

  const JournalOptions options_;
  const std::unique_ptr<MappedLog> log_;
  // Null only while a reopen after an error has not succeeded yet. The
  // apply thread writes under a shared lock; a reopen takes it alone.
  mutable absl::Mutex db_mu_;
  rocksdb::DB* db_ ABSL_GUARDED_BY(db_mu_);
  std::atomic<uint64_t> next_seq_{1};
  // Writes made, and how many of them are known on disk.
  std::atomic<uint64_t> written_{0};
  // The log position the last sync reached.
  std::atomic<uint64_t> log_synced_{0};

  // Appends: the log's order is the order records are applied in.
  mutable absl::Mutex append_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Records appended and not yet taken by the apply thread, each as
  // [u64 log position after it][u32 length][record].
  std::string pending_ ABSL_GUARDED_BY(append_mu_);
  // Log position after the last record the database holds.
  uint64_t applied_ ABSL_GUARDED_BY(append_mu_) = 0;
  bool stop_applying_ ABSL_GUARDED_BY(append_mu_) = false;
  // The log position at which a sync was last asked for.
  uint64_t sync_asked_at_ ABSL_GUARDED_BY(append_mu_) = 0;
  // Why the log takes no records now; empty when it does.
  std::string append_error_ ABSL_GUARDED_BY(append_mu_);

  mutable absl::Mutex mu_;
  uint64_t synced_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::pair<uint64_t, std::function<void()>>> waiting_
      ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool failing_ ABSL_GUARDED_BY(mu_) = false;    // the last sync failed
  bool lost_ ABSL_GUARDED_BY(mu_) = false;       // for good (MappedLog::Sync)
  bool sync_soon_ ABSL_GUARDED_BY(mu_) = false;  // much written since
  bool flushing_ ABSL_GUARDED_BY(mu_) = false;   // FlushAnswers ran
  int releasing_ ABSL_GUARDED_BY(mu_) = 0;       // groups being answered
  // Answers the last sync released plus those already waiting then: how
  // many take part in a cycle (GatherLocked).
  size_t participants_ ABSL_GUARDED_BY(mu_) = 0;
  std::string sync_error_ ABSL_GUARDED_BY(mu_);  // why the last sync failed
  std::string db_error_ ABSL_GUARDED_BY(mu_);    // why the database refuses
  std::string last_error_ ABSL_GUARDED_BY(mu_);  // kept once writes work
  absl::Time last_sync_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration last_sync_took_ ABSL_GUARDED_BY(mu_);
  int64_t syncs_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int64_t> failed_writes_{0};
  std::thread syncer_;
  std::thread applier_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_STORE_JOURNAL_DB_H_
