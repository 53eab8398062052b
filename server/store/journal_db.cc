#include "server/store/journal_db.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "rocksdb/db.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/options.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "server/store/journal_record.h"

namespace mproc {
namespace {

// The store's own keys start with a NUL byte; object names never do.
constexpr char kFormatKey[] = {'\0', 'f', 'o', 'r', 'm', 'a', 't'};
constexpr absl::string_view kFormatKeyView(kFormatKey, sizeof(kFormatKey));
// The log position after the last record the database was given, written
// with every batch of them: what the database's files hold of the log.
constexpr char kAppliedKey[] = {'\0', 'a', 'p', 'p', 'l', 'i', 'e', 'd'};
constexpr absl::string_view kAppliedKeyView(kAppliedKey, sizeof(kAppliedKey));

// Version 2: changes go to our own log (mapped_log.h); version 1 kept
// them in RocksDB's, and is taken over at open.
constexpr char kFormatVersion[] = "2";
constexpr char kRocksDbLogVersion[] = "1";

// How often the everysec policy syncs, and how soon a failing database is
// asked to resume.
constexpr absl::Duration kSyncEvery = absl::Seconds(1);
constexpr absl::Duration kResumeEvery = absl::Milliseconds(200);
// The longest a sync waits for more answers to cover (GatherLocked).
constexpr absl::Duration kLongestGather = absl::Milliseconds(2);
// How long the apply thread gathers records before applying them, and
// how many bytes of them go into one database write.
constexpr absl::Duration kApplyEvery = absl::Milliseconds(20);
constexpr size_t kApplyBatchBytes = 4 << 20;
// Records the database has not taken yet (it failing for long) beyond
// which writes are refused: the memory they take is bounded.
constexpr size_t kMostPending = 256 << 20;
constexpr size_t kMemtableBytes = 4 << 20;
// Log bytes written after which a sync is asked for at once: about a
// segment (positions also jump at a new one). Syncing every MiB kept less
// log for a restart after a burst but cost the 8-client queue workload
// about 5 % of its throughput.
constexpr uint64_t kSyncSoonBytes = 8 << 20;
constexpr size_t kPendingHeaderBytes = sizeof(uint64_t) + sizeof(uint32_t);
// How long a backup waits for the database to take what the log holds.
constexpr absl::Duration kLongestBackupWait = absl::Seconds(30);

rocksdb::Slice ToSlice(absl::string_view s) { return {s.data(), s.size()}; }

void PutApplied(uint64_t end, rocksdb::WriteBatch* batch) {
  char bytes[sizeof(end)];
  std::memcpy(bytes, &end, sizeof(end));
  batch->Put(ToSlice(kAppliedKeyView), rocksdb::Slice(bytes, sizeof(bytes)))
      .PermitUncheckedError();
}

// The database's own log stays unused: ours holds every change.
rocksdb::WriteOptions NoLog() {
  rocksdb::WriteOptions o;
  o.disableWAL = true;
  return o;
}

absl::Status DirError(const std::string& dir, absl::string_view problem) {
  return absl::FailedPreconditionError(
      absl::StrCat("data dir ", dir, ": ", problem));
}

// Makes `dir` (mode 0700) if it is missing and its parent exists; checks
// that it is a directory this process can write.
absl::Status PrepareDir(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return DirError(dir, std::strerror(errno));
    const std::filesystem::path parent =
        std::filesystem::path(dir).parent_path();
    std::error_code ec;
    if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
      return DirError(
          dir, absl::StrCat("its parent ", parent.string(), " does not exist"));
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return DirError(
          dir, absl::StrCat("cannot be created: ", std::strerror(errno)));
    }
  } else if (!S_ISDIR(st.st_mode)) {
    return DirError(dir, "is not a directory");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return DirError(dir,
                    absl::StrCat("is not writable: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status Damaged(const std::string& dir, absl::string_view why) {
  return DirError(dir, absl::StrCat("is damaged: ", why,
                                    "; start with --repair to keep what can "
                                    "be read, or from a backup"));
}

// `recovering`: the database is opened for the manager's start, and its
// background compactions wait until recovery has read it (ResumeCompactions):
// on a small machine they would take the CPU recovery needs.
rocksdb::Options DatabaseOptions(const JournalOptions& options,
                                 bool recovering) {
  rocksdb::Options o;
  o.disable_auto_compactions = recovering;
  o.create_if_missing = true;
  o.paranoid_checks = true;
  // RocksDB's own log holds changes only in a version-1 data dir (and the
  // format key): a torn last record is a crash's normal mark; anything
  // else damaged refuses to open (unless repairing).
  o.wal_recovery_mode =
      options.repair ? rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords
                     : rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // A small footprint: memtables of 4 MiB; RocksDB's info log is kept
  // short.
  o.write_buffer_size = kMemtableBytes;
  // RocksDB preallocates its (unused) log by the memtable's size unless
  // this caps it.
  o.max_total_wal_size = 1 << 20;
  o.max_log_file_size = 1 << 20;
  o.keep_log_file_num = 3;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // The serving copy is in memory and the database is read only at start,
  // so its memtable is an append-only vector, sorted once when it is
  // written out in the background: a write costs an append instead of a
  // skip-list insert (and, unlike the skip list, it cannot take concurrent
  // writers: only the apply thread writes). Reading a live vector memtable
  // copies and sorts it: fine at start (Open, ForEach, backup's flush),
  // but nothing may read the database while serving.
  o.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
  o.allow_concurrent_memtable_write = false;
  return o;
}

int64_t DirBytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(dir, ec)) {
    std::error_code size_ec;
    if (entry.is_regular_file(size_ec)) {
      const auto size = entry.file_size(size_ec);
      if (!size_ec) total += static_cast<int64_t>(size);
    }
  }
  return total;
}

}  // namespace

absl::StatusOr<FsyncPolicy> ParseFsyncPolicy(absl::string_view text) {
  if (text == "always") return FsyncPolicy::kAlways;
  if (text == "everysec") return FsyncPolicy::kEverySecond;
  if (text == "no") return FsyncPolicy::kNo;
  return absl::InvalidArgumentError(
      absl::StrCat("--fsync must be always, everysec or no, not '", text, "'"));
}

absl::string_view FsyncPolicyName(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kAlways:
      return "always";
    case FsyncPolicy::kEverySecond:
      return "everysec";
    case FsyncPolicy::kNo:
      return "no";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<JournalDb>> JournalDb::Open(
    const JournalOptions& options) {
  const std::string& dir = options.dir;
  if (absl::Status s = PrepareDir(dir); !s.ok()) return s;
  const rocksdb::Options db_options =
      DatabaseOptions(options, /*recovering=*/true);
  if (options.repair) {
    rocksdb::Status repaired = rocksdb::RepairDB(dir, db_options);
    if (!repaired.ok()) {
      return DirError(dir,
                      absl::StrCat("repair failed: ", repaired.ToString()));
    }
  }
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, &raw_db);
  if (!s.ok()) {
    const std::string why = s.ToString();
    if (s.IsIOError() && absl::StrContains(why, "LOCK")) {
      return DirError(dir,
                      absl::StrCat("is in use by another manager (", why, ")"));
    }
    if (s.IsCorruption()) return Damaged(dir, why);
    return DirError(dir, why);
  }
  // Closed with the journal, or here if it is not made.
  std::unique_ptr<rocksdb::DB> db(raw_db);
  std::string version;
  rocksdb::Status got =
      db->Get(rocksdb::ReadOptions(), ToSlice(kFormatKeyView), &version);
  if (got.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}));
    it->SeekToFirst();
    if (it->Valid()) {
      return DirError(dir,
                      "holds data without a format version: not a data "
                      "dir of this manager");
    }
  } else if (!got.ok()) {
    return DirError(dir, got.ToString());
  } else if (version != kFormatVersion && version != kRocksDbLogVersion) {
    return DirError(
        dir, absl::StrCat("holds format version ", version,
                          "; this manager reads versions ", kRocksDbLogVersion,
                          " and ", kFormatVersion));
  }
  // Version 1 kept its changes in RocksDB's own log, which DB::Open has
  // just read back; from now on they go to ours.
  if (version != kFormatVersion) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    got = db->Put(sync, ToSlice(kFormatKeyView), kFormatVersion);
    if (!got.ok()) return DirError(dir, got.ToString());
  }

  // What the log holds beyond what the database's files hold goes into
  // the database, which is then flushed, so that the segments read can go.
  uint64_t applied = 0;
  std::string applied_bytes;
  got =
      db->Get(rocksdb::ReadOptions(), ToSlice(kAppliedKeyView), &applied_bytes);
  if (got.ok() && applied_bytes.size() == sizeof(applied)) {
    std::memcpy(&applied, applied_bytes.data(), sizeof(applied));
  } else if (!got.ok() && !got.IsNotFound()) {
    return DirError(dir, got.ToString());
  }
  rocksdb::WriteBatch batch;
  bool replayed = false;
  uint64_t last_end = 0;
  auto write_batch = [&]() -> absl::Status {
    if (batch.Count() == 0) return absl::OkStatus();
    replayed = true;
    PutApplied(last_end, &batch);
    const rocksdb::Status written = db->Write(NoLog(), &batch);
    batch.Clear();
    if (!written.ok()) return DirError(dir, written.ToString());
    return absl::OkStatus();
  };
  MappedLog::Options log_options;
  log_options.dir = dir;
  log_options.repair = options.repair;
  log_options.after = applied;
  absl::StatusOr<std::unique_ptr<MappedLog>> log = MappedLog::Open(
      log_options, [&](absl::string_view record, uint64_t end) -> absl::Status {
        if (end <= applied) return absl::OkStatus();  // in the files
        last_end = end;
        if (absl::Status bad = AddJournalRecord(record, &batch); !bad.ok()) {
          return absl::FailedPreconditionError(bad.message());
        }
        return batch.GetDataSize() >= kApplyBatchBytes ? write_batch()
                                                       : absl::OkStatus();
      });
  if (!log.ok()) {
    if (absl::IsFailedPrecondition(log.status())) {
      return Damaged(dir, log.status().message());
    }
    return DirError(dir, log.status().message());
  }
  if (absl::Status written = write_batch(); !written.ok()) return written;
  if (replayed) {
    rocksdb::FlushOptions wait;
    wait.wait = true;
    if (rocksdb::Status flushed = db->Flush(wait); !flushed.ok()) {
      return DirError(dir, flushed.ToString());
    }
  }
  (*log)->ForgetBefore((*log)->opened_at());
  return std::unique_ptr<JournalDb>(
      new JournalDb(options, db.release(), *std::move(log)));
}

JournalDb::JournalDb(JournalOptions options, rocksdb::DB* db,
                     std::unique_ptr<MappedLog> log)
    : options_(std::move(options)), log_(std::move(log)), db_(db) {
  applied_ = log_->opened_at();
  log_synced_.store(log_->opened_at(), std::memory_order_relaxed);
  syncer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mproc-sync");
    SyncLoop();
  });
  applier_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mproc-apply");
    ApplyLoop();
  });
}

JournalDb::~JournalDb() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  syncer_.join();
  SyncLog().IgnoreError();  // what is not synced is still in the OS
  {
    absl::MutexLock l(&append_mu_);
    stop_applying_ = true;
  }
  applier_.join();
  absl::MutexLock l(&db_mu_);
  if (db_ == nullptr) return;
  db_->Close().PermitUncheckedError();
  delete db_;
}

absl::Status JournalDb::Failed(const std::string& cause) {
  failed_writes_.fetch_add(1, std::memory_order_relaxed);
  {
    absl::MutexLock l(&mu_);
    last_error_ = cause;
  }
  return absl::UnavailableError(
      absl::StrCat("data dir ", options_.dir, " cannot be written: ", cause));
}

absl::Status JournalDb::Write(absl::string_view prefix,
                              absl::Span<const LogChange> changes) {
  absl::MutexLock l(&append_mu_);
  if (pending_.size() >= kMostPending) {
    absl::MutexLock state(&mu_);
    return Failed(
        absl::StrCat("the database has taken no changes for a while (",
                     db_error_.empty() ? "it is behind" : db_error_, ")"));
  }
  // The record goes straight into pending_, after room for its header,
  // and from there into the log.
  const size_t at = pending_.size();
  pending_.append(kPendingHeaderBytes, '\0');
  AppendJournalRecord(prefix, changes, &pending_);
  const absl::string_view record =
      absl::string_view(pending_).substr(at + kPendingHeaderBytes);
  const absl::StatusOr<uint64_t> end = log_->Append(record);
  if (!end.ok()) {
    pending_.resize(at);
    append_error_ = std::string(end.status().message());
    return Failed(append_error_);
  }
  append_error_.clear();
  const uint64_t position = *end;
  if (options_.fsync != FsyncPolicy::kNo &&
      position - sync_asked_at_ >= kSyncSoonBytes) {
    // Much written since the last sync: synced now rather than at the
    // next second, so that the apply thread keeps up with a burst and the
    // log a restart must read stays short. (Positions jump at a new
    // segment, which asks too.)
    sync_asked_at_ = position;
    absl::MutexLock state(&mu_);
    sync_soon_ = true;
  }
  const uint32_t length = static_cast<uint32_t>(record.size());
  std::memcpy(&pending_[at], &position, sizeof(position));
  std::memcpy(&pending_[at + sizeof(position)], &length, sizeof(length));
  written_.fetch_add(1, std::memory_order_release);
  return absl::OkStatus();
}

uint64_t JournalDb::NextSequence() {
  return next_seq_.fetch_add(1, std::memory_order_relaxed);
}

void JournalDb::SawSequence(uint64_t seq) {
  uint64_t next = next_seq_.load(std::memory_order_relaxed);
  while (next <= seq && !next_seq_.compare_exchange_weak(
                            next, seq + 1, std::memory_order_relaxed)) {
  }
}

uint64_t JournalDb::AnswerTicket() const {
  return options_.fsync == FsyncPolicy::kAlways
             ? written_.load(std::memory_order_acquire)
             : 0;
}

bool JournalDb::AwaitDurable(uint64_t ticket, std::function<void()> then) {
  if (ticket == 0) return true;
  {
    absl::MutexLock l(&mu_);
    if (synced_ >= ticket) return true;
    if (!flushing_) {
      waiting_.emplace_back(ticket, std::move(then));
      return false;
    }
  }
  // Shutting down: nobody will run `then` later; sync here instead.
  if (const absl::Status s = SyncLog(); absl::IsDataLoss(s)) SyncLost(s);
  return true;
}

void JournalDb::SyncLoop() {
  // `always` syncs each second too, for changes no answer waits for (a
  // queue item's record dropped once its client has it).
  const bool periodic = options_.fsync != FsyncPolicy::kNo;
  absl::Time next_periodic = absl::Now() + kSyncEvery;
  absl::Time next_retry = absl::InfinitePast();
  for (;;) {
    bool want_sync;
    {
      absl::MutexLock l(&mu_);
      auto work = [this] {
        mu_.AssertReaderHeld();
        return stop_ || (!waiting_.empty() && !failing_) ||
               (sync_soon_ && !failing_);
      };
      // A lost sync is never retried: the OS may report the next one done.
      absl::Time deadline =
          periodic && !lost_ ? next_periodic : absl::InfiniteFuture();
      if (failing_ && !lost_) deadline = std::min(deadline, next_retry);
      mu_.AwaitWithDeadline(absl::Condition(&work), deadline);
      // Whatever still waits at the end was run by FlushAnswers, or has no
      // call left to answer.
      if (stop_) return;
      if (lost_) continue;
      if (failing_) {
        // Answers waiting for the disk stay until a sync succeeds: an
        // unsynced change must not be acknowledged.
        if (absl::Now() < next_retry) continue;
        next_retry = absl::Now() + kResumeEvery;
      } else if (!waiting_.empty()) {
        GatherLocked();
        if (stop_) return;
      }
      want_sync = !waiting_.empty() || failing_ || sync_soon_ ||
                  (periodic && absl::Now() >= next_periodic &&
                   synced_ < written_.load(std::memory_order_acquire));
    }
    if (periodic && absl::Now() >= next_periodic) {
      next_periodic = absl::Now() + kSyncEvery;
    }
    if (want_sync) SyncAndRelease();
  }
}

void JournalDb::GatherLocked() {
  // Clients that answers just released usually write again within a round
  // trip; a sync started the moment the first of them is back would cover
  // only the answers that arrived during the last one, and the clients
  // would settle into two groups taking turns, each sync serving half of
  // them. So the sync waits until as many answers wait as took part in the
  // last cycles (participants_), or at most as long as the last sync took
  // (and never over kLongestGather): at worst an answer waits about twice
  // as long. Answers are counted, not clients: a client with several
  // frames in flight counts for each.
  const size_t expected = participants_;
  const absl::Duration longest = std::min(last_sync_took_, kLongestGather);
  auto gathered = [this, expected] {
    mu_.AssertReaderHeld();
    return stop_ || failing_ || flushing_ || waiting_.size() >= expected;
  };
  mu_.AwaitWithTimeout(absl::Condition(&gathered), longest);
}

absl::Status JournalDb::SyncLog() {
  const absl::StatusOr<uint64_t> reached = log_->Sync();
  if (!reached.ok()) return reached.status();
  uint64_t synced = log_synced_.load(std::memory_order_relaxed);
  while (synced < *reached &&
         !log_synced_.compare_exchange_weak(synced, *reached,
                                            std::memory_order_release)) {
  }
  return absl::OkStatus();
}

void JournalDb::SyncAndRelease() {
  const uint64_t target = written_.load(std::memory_order_acquire);
  const absl::Time start = absl::Now();
  const absl::Status s = SyncLog();
  std::vector<std::function<void()>> ready;
  {
    absl::MutexLock l(&mu_);
    if (!s.ok()) {
      failing_ = true;
      lost_ = absl::IsDataLoss(s);
      sync_error_ = std::string(s.message());
      last_error_ = sync_error_;
    }
  }
  if (!s.ok()) {
    if (absl::IsDataLoss(s)) SyncLost(s);
    return;
  }
  {
    absl::MutexLock l(&mu_);
    failing_ = false;
    sync_soon_ = false;
    sync_error_.clear();
    synced_ = std::max(synced_, target);
    last_sync_ = absl::Now();
    last_sync_took_ = last_sync_ - start;
    ++syncs_;
    const uint64_t synced = synced_;
    auto done =
        std::partition(waiting_.begin(), waiting_.end(),
                       [synced](const auto& w) { return w.first > synced; });
    for (auto it = done; it != waiting_.end(); ++it) {
      ready.push_back(std::move(it->second));
    }
    waiting_.erase(done, waiting_.end());
    // Rises at once, falls by one per smaller cycle: a cycle cut short by
    // the time limit lowers what the next one waits for only a little, and
    // after a busy spell a lone client waits for a few cycles at most.
    const size_t participants = ready.size() + waiting_.size();
    participants_ = participants >= participants_
                        ? participants
                        : std::max(participants, participants_ - 1);
    ++releasing_;
  }
  for (auto& then : ready) then();
  absl::MutexLock l(&mu_);
  --releasing_;
}

void JournalDb::SyncLost(const absl::Status& status) {
  if (options_.fsync != FsyncPolicy::kAlways) return;  // writes are refused
  Log(LogLevel::kError, "sync_lost",
      absl::StrCat(status.message(),
                   "; with --fsync always no answer can be sent now, so the "
                   "manager stops"),
      {{Value("data_dir"), Value(options_.dir)}});
  std::_Exit(1);
}

void JournalDb::FlushAnswers() {
  std::vector<std::function<void()>> rest;
  {
    absl::MutexLock l(&mu_);
    flushing_ = true;
    for (auto& w : waiting_) rest.push_back(std::move(w.second));
    waiting_.clear();
    // The background thread may be answering a group right now.
    mu_.Await(absl::Condition(
        +[](int* releasing) { return *releasing == 0; }, &releasing_));
  }
  if (const absl::Status s = SyncLog(); absl::IsDataLoss(s)) SyncLost(s);
  for (auto& then : rest) then();
}

void JournalDb::ApplyLoop() {
  // Taken from pending_ and not yet in the database.
  std::string taken;
  uint64_t taken_end = 0;
  uint64_t applied = 0;  // applied_, read when taking
  bool database_failing = false;
  for (;;) {
    {
      absl::MutexLock l(&append_mu_);
      auto work = [this] {
        append_mu_.AssertReaderHeld();
        return stop_applying_ || !pending_.empty();
      };
      if (taken.empty()) append_mu_.Await(absl::Condition(&work));
      if (stop_applying_) return;  // the log holds the rest
      // Gathers a batch, and gives a failing database time.
      append_mu_.AwaitWithTimeout(
          absl::Condition(&stop_applying_),
          database_failing ? kResumeEvery : kApplyEvery);
      if (stop_applying_) return;
      // Only records on disk, so that the database never holds a change
      // a power loss takes from the log; with `no` nothing is waited for.
      const uint64_t limit = options_.fsync == FsyncPolicy::kNo
                                 ? UINT64_MAX
                                 : log_synced_.load(std::memory_order_acquire);
      size_t cut = 0;
      while (cut < pending_.size()) {
        uint64_t end;
        uint32_t length;
        std::memcpy(&end, &pending_[cut], sizeof(end));
        std::memcpy(&length, &pending_[cut + sizeof(end)], sizeof(length));
        if (end > limit) break;
        taken_end = end;
        cut += kPendingHeaderBytes + length;
      }
      taken.append(pending_, 0, cut);
      pending_.erase(0, cut);
      applied = applied_;
    }
    if (taken.empty()) continue;
    rocksdb::Status s =
        database_failing ? RecoverDatabase(applied) : rocksdb::Status::OK();
    if (s.ok()) s = Apply(taken);
    database_failing = !s.ok();
    {
      absl::MutexLock l(&mu_);
      db_error_ = s.ok() ? "" : s.ToString();
      if (!s.ok()) last_error_ = db_error_;
    }
    if (!s.ok()) continue;  // `taken` is applied again after recovery
    taken.clear();
    {
      absl::MutexLock l(&append_mu_);
      applied_ = taken_end;
    }
    ForgetApplied(taken_end);
  }
}

rocksdb::Status JournalDb::Apply(absl::string_view records) {
  absl::ReaderMutexLock l(&db_mu_);
  if (db_ == nullptr) return rocksdb::Status::IOError("the data dir is closed");
  rocksdb::WriteBatch batch;
  while (!records.empty()) {
    uint64_t end;
    uint32_t length;
    std::memcpy(&end, records.data(), sizeof(end));
    std::memcpy(&length, records.data() + sizeof(end), sizeof(length));
    const absl::string_view record =
        records.substr(kPendingHeaderBytes, length);
    records.remove_prefix(kPendingHeaderBytes + length);
    // Written by Write a moment ago: always a record.
    AddJournalRecord(record, &batch).IgnoreError();
    if (batch.GetDataSize() >= kApplyBatchBytes || records.empty()) {
      PutApplied(end, &batch);
      rocksdb::Status s = db_->Write(NoLog(), &batch);
      if (!s.ok()) return s;
      batch.Clear();
    }
  }
  return rocksdb::Status::OK();
}

rocksdb::Status JournalDb::RecoverDatabase(uint64_t applied) {
  absl::MutexLock l(&db_mu_);
  if (db_ != nullptr) {
    if (db_->Resume().ok()) return rocksdb::Status::OK();
    // An error RocksDB does not resume from: start again from what its
    // files hold, and apply the log (everything acknowledged) again.
    db_->Close().PermitUncheckedError();
    delete db_;
    db_ = nullptr;
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(
      DatabaseOptions(options_, /*recovering=*/false), options_.dir, &db);
  if (!s.ok()) return s;
  rocksdb::WriteBatch batch;
  absl::Status read =
      log_->ReadKept([&](absl::string_view record, uint64_t end) {
        if (end > applied) return absl::OkStatus();
        absl::Status added = AddJournalRecord(record, &batch);
        if (added.ok() && batch.GetDataSize() >= kApplyBatchBytes) {
          rocksdb::Status written = db->Write(NoLog(), &batch);
          batch.Clear();
          if (!written.ok()) return absl::UnavailableError(written.ToString());
        }
        return added;
      });
  if (read.ok() && batch.Count() > 0) {
    rocksdb::Status written = db->Write(NoLog(), &batch);
    if (!written.ok()) read = absl::UnavailableError(written.ToString());
  }
  if (!read.ok()) {
    db->Close().PermitUncheckedError();
    delete db;
    return rocksdb::Status::IOError(std::string(read.message()));
  }
  db_ = db;
  return rocksdb::Status::OK();
}

void JournalDb::ForgetApplied(uint64_t applied) {
  if (!log_->HasSegmentsBefore(applied)) return;
  {
    absl::ReaderMutexLock l(&db_mu_);
    if (db_ == nullptr) return;
    rocksdb::FlushOptions wait;
    wait.wait = true;
    // Tried again after the next batch if it fails.
    if (!db_->Flush(wait).ok()) return;
  }
  log_->ForgetBefore(applied);
}

absl::Status JournalDb::ResumeCompactions() {
  absl::ReaderMutexLock l(&db_mu_);
  // Closed after a write error: the reopen turns compactions on.
  if (db_ == nullptr) return absl::OkStatus();
  const rocksdb::Status s =
      db_->SetOptions({{"disable_auto_compactions", "false"}});
  if (!s.ok()) {
    return DirError(options_.dir,
                    absl::StrCat("cannot resume compactions: ", s.ToString()));
  }
  return absl::OkStatus();
}

absl::Status JournalDb::ForEach(
    absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)> f)
    const {
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  read.readahead_size = 4 << 20;
  absl::ReaderMutexLock l(&db_mu_);
  if (db_ == nullptr) return DirError(options_.dir, "is closed");
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  // The store's own keys (a leading NUL) come first; objects follow.
  for (it->Seek(rocksdb::Slice("\x01", 1)); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    const rocksdb::Slice v = it->value();
    absl::Status s = f({k.data(), k.size()}, {v.data(), v.size()});
    if (!s.ok()) return s;
  }
  if (!it->status().ok()) {
    return DirError(options_.dir,
                    absl::StrCat("cannot be read: ", it->status().ToString()));
  }
  return absl::OkStatus();
}

absl::Status JournalDb::Backup(const std::string& dir) {
  // Every write made so far, on disk and then in the database.
  if (absl::Status s = SyncLog(); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("backup to ", dir, " failed: ", s.message()));
  }
  const uint64_t target = log_->end();
  {
    absl::MutexLock l(&append_mu_);
    auto caught_up = [this, target] {
      append_mu_.AssertReaderHeld();
      return applied_ >= target || stop_applying_;
    };
    if (!append_mu_.AwaitWithTimeout(absl::Condition(&caught_up),
                                     kLongestBackupWait)) {
      absl::MutexLock state(&mu_);
      return absl::UnavailableError(absl::StrCat(
          "backup to ", dir, " failed: the database is behind the log",
          db_error_.empty() ? "" : absl::StrCat(" (", db_error_, ")")));
    }
  }
  rocksdb::Checkpoint* raw = nullptr;
  absl::ReaderMutexLock l(&db_mu_);
  if (db_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "backup to ", dir, " failed: the data dir cannot be read now"));
  }
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_, &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // Flushes first, so the copy holds what the database was given.
  if (s.ok()) s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
  if (!s.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("backup to ", dir, " failed: ", s.ToString()));
  }
  return absl::OkStatus();
}

JournalDb::Stats JournalDb::GetStats() const {
  Stats stats;
  stats.dir = options_.dir;
  stats.fsync = options_.fsync;
  stats.writes = static_cast<int64_t>(written_.load(std::memory_order_relaxed));
  stats.failed_writes = failed_writes_.load(std::memory_order_relaxed);
  {
    absl::MutexLock l(&append_mu_);
    stats.error = append_error_;
  }
  {
    absl::MutexLock l(&mu_);
    stats.last_sync = last_sync_;
    stats.last_sync_took = last_sync_took_;
    stats.syncs = syncs_;
    if (stats.error.empty()) stats.error = sync_error_;
    if (stats.error.empty()) stats.error = db_error_;
    stats.last_error = last_error_;
  }
  stats.disk_bytes = DirBytes(options_.dir);
  stats.log_segments = log_->segments();
  return stats;
}

}  // namespace mproc
