// The manager's record on disk: a RocksDB database in the data dir, holding
// every durable object's keys (object_log.h) under the object's name, with
// Redis's three fsync policies for its write-ahead log.
//
// Every Write goes to RocksDB's WAL, i.e. into the OS, before it returns:
// a killed manager loses nothing it acknowledged under any policy. What
// the policy decides is when the WAL reaches the disk (power loss):
//   always:   before any answer written after the change is sent — the
//             answers wait (AwaitDurable) and one fsync serves every write
//             made meanwhile, from every client (group commit);
//   everysec: within about a second (a background fsync every second);
//   no:       when the OS (or a RocksDB flush) decides.
//
// A write the database refuses (disk full, I/O error, file-size limit)
// fails UNAVAILABLE naming the cause and is not applied; the journal then
// tries to resume the database in the background — RocksDB's Resume, or,
// for an error RocksDB will not resume from, closing and reopening it — and
// writes succeed again once it can.
// Thread-safe.
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
  // Opens the database in `options.dir`, creating it (and the dir, if its
  // parent exists) on first use. FAILED_PRECONDITION naming the dir when it
  // cannot be made or written, is in use by another manager, holds an
  // unknown format version, or is damaged (unless options.repair).
  // Background compactions wait for ResumeCompactions.
  static absl::StatusOr<std::unique_ptr<JournalDb>> Open(
      const JournalOptions& options);

  // Syncs what was written, stops the background thread, closes.
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
  // taken while serving: a data dir a manager can start from.
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
    std::string error;       // why writes fail now; empty when they do not
    std::string last_error;  // why writes last failed; empty if never
  };
  Stats GetStats() const;

 private:
  JournalDb(JournalOptions options, rocksdb::DB* db);
  // The background thread: fsyncs per the policy, runs AwaitDurable's
  // callbacks, resumes the database after write errors.
  void SyncLoop();
  // After a failed write: Resume, else reopen. True once writes may work.
  bool Recover();
  // Group commit: before a sync, waits briefly for the answers of the
  // last cycle's clients to come back, so that one sync covers them all.
  void GatherLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Syncs the log files, unless a write failed.
  rocksdb::Status SyncLog();
  // Syncs what was written so far and runs the answers it covers.
  void SyncAndRelease();
  absl::Status Failed(const std::string& cause);

  const JournalOptions options_;
  // Null only while a reopen after an error has not succeeded yet. Writers
  // share the lock; a reopen takes it alone.
  mutable absl::Mutex db_mu_;
  rocksdb::DB* db_ ABSL_GUARDED_BY(db_mu_);
  std::atomic<uint64_t> next_seq_{1};
  // Writes made, and how many of them are known on disk.
  std::atomic<uint64_t> written_{0};

  mutable absl::Mutex mu_;
  uint64_t synced_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::pair<uint64_t, std::function<void()>>> waiting_
      ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool failing_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool flushing_ ABSL_GUARDED_BY(mu_) = false;  // FlushAnswers ran
  int releasing_ ABSL_GUARDED_BY(mu_) = 0;      // groups being answered
  // Answers the last sync released plus those already waiting then: how
  // many take part in a cycle (GatherLocked).
  size_t participants_ ABSL_GUARDED_BY(mu_) = 0;
  std::string error_ ABSL_GUARDED_BY(mu_);
  std::string last_error_ ABSL_GUARDED_BY(mu_);  // kept once writes work
  absl::Time last_sync_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration last_sync_took_ ABSL_GUARDED_BY(mu_);
  int64_t syncs_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<int64_t> failed_writes_{0};
  // The log file SyncLog keeps open, and its number (0: none yet).
  absl::Mutex sync_mu_;
  int wal_fd_ ABSL_GUARDED_BY(sync_mu_) = -1;
  uint64_t wal_number_ ABSL_GUARDED_BY(sync_mu_) = 0;
  std::thread syncer_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_STORE_JOURNAL_DB_H_
