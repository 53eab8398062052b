#include "server/store/journal_db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/options.h"
#include "rocksdb/transaction_log.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"

namespace mproc {
namespace {

// The store's own keys start with a NUL byte; object names never do.
constexpr char kFormatKey[] = {'\0', 'f', 'o', 'r', 'm', 'a', 't'};
constexpr absl::string_view kFormatKeyView(kFormatKey, sizeof(kFormatKey));
constexpr char kFormatVersion[] = "1";

// How often the everysec policy syncs, and how soon a failing database is
// asked to resume.
constexpr absl::Duration kSyncEvery = absl::Seconds(1);
constexpr absl::Duration kResumeEvery = absl::Milliseconds(200);
// The longest a sync waits for more answers to cover (GatherLocked).
constexpr absl::Duration kLongestGather = absl::Milliseconds(2);

rocksdb::Slice ToSlice(absl::string_view s) { return {s.data(), s.size()}; }

// The first key after every key starting with `prefix`.
std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last != 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\xff');  // not reached for object prefixes
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

// `recovering`: the database is opened for the manager's start, and its
// background compactions wait until recovery has read it (ResumeCompactions):
// on a small machine they would take the CPU recovery needs.
rocksdb::Options DatabaseOptions(const JournalOptions& options,
                                 bool recovering) {
  rocksdb::Options o;
  o.disable_auto_compactions = recovering;
  o.create_if_missing = true;
  o.paranoid_checks = true;
  // A torn last record is a crash's normal mark; anything else damaged
  // refuses to open (unless repairing).
  o.wal_recovery_mode =
      options.repair ? rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords
                     : rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // A small footprint: memtables of 4 MiB, so the live log (what is not
  // yet in tables, and what a restart replays) stays near that; RocksDB's
  // own log is kept short.
  o.max_total_wal_size = 64 << 20;
  o.write_buffer_size = 4 << 20;
  o.max_log_file_size = 1 << 20;
  o.keep_log_file_num = 3;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // The serving copy is in memory and the database is read only at start,
  // so its memtable is an append-only vector, sorted once when it is
  // written out in the background: a write costs an append instead of a
  // skip-list insert on the thread that answers (and, unlike the skip
  // list, it cannot take concurrent writers). Reading a live vector
  // memtable copies and sorts it: fine at start (Open, ForEach, backup's
  // flush), but nothing may read the database while serving.
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
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, &db);
  if (!s.ok()) {
    const std::string why = s.ToString();
    if (s.IsIOError() && absl::StrContains(why, "LOCK")) {
      return DirError(dir,
                      absl::StrCat("is in use by another manager (", why, ")"));
    }
    if (s.IsCorruption()) {
      return DirError(dir,
                      absl::StrCat("is damaged: ", why,
                                   "; start with --repair to keep what can be "
                                   "read, or from a backup"));
    }
    return DirError(dir, why);
  }
  std::unique_ptr<JournalDb> journal(new JournalDb(options, db));
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
    rocksdb::WriteOptions sync;
    sync.sync = true;
    got = db->Put(sync, ToSlice(kFormatKeyView), kFormatVersion);
    if (!got.ok()) return DirError(dir, got.ToString());
  } else if (!got.ok()) {
    return DirError(dir, got.ToString());
  } else if (version != kFormatVersion) {
    return DirError(
        dir, absl::StrCat("holds format version ", version,
                          "; this manager reads version ", kFormatVersion));
  }
  return journal;
}

JournalDb::JournalDb(JournalOptions options, rocksdb::DB* db)
    : options_(std::move(options)), db_(db) {
  syncer_ = std::thread([this] { SyncLoop(); });
}

JournalDb::~JournalDb() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  syncer_.join();
  SyncLog().PermitUncheckedError();
  {
    absl::MutexLock sync_lock(&sync_mu_);
    if (wal_fd_ >= 0) ::close(wal_fd_);
    wal_fd_ = -1;
  }
  absl::MutexLock l(&db_mu_);
  if (db_ == nullptr) return;
  db_->Close().PermitUncheckedError();
  delete db_;
}

bool JournalDb::Recover() {
  absl::MutexLock l(&db_mu_);
  if (db_ != nullptr) {
    if (db_->Resume().ok()) return true;
    // An error RocksDB does not resume from (a failed log write that is not
    // "no space"): start again from what the files hold — everything
    // acknowledged, as acknowledged writes reached the OS.
    db_->Close().PermitUncheckedError();
    delete db_;
    db_ = nullptr;
  }
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::Open(DatabaseOptions(options_, /*recovering=*/false),
                         options_.dir, &db)
           .ok()) {
    return false;
  }
  db_ = db;
  return true;
}

absl::Status JournalDb::Failed(const std::string& cause) {
  failed_writes_.fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock l(&mu_);
  failing_ = true;
  wake_ = true;  // the background thread starts recovering at once
  error_ = cause;
  last_error_ = cause;
  return absl::UnavailableError(
      absl::StrCat("data dir ", options_.dir, " cannot be written: ", cause));
}

absl::Status JournalDb::Write(absl::string_view prefix,
                              absl::Span<const LogChange> changes) {
  rocksdb::WriteBatch batch;
  std::string key(prefix);
  for (const LogChange& change : changes) {
    key.resize(prefix.size());
    key.append(change.key);
    switch (change.type) {
      case LogChange::kPut:
        batch.Put(key, change.value);
        break;
      case LogChange::kDelete:
        batch.Delete(key);
        break;
      case LogChange::kDeleteAll: {
        batch.DeleteRange(ToSlice(prefix), PrefixEnd(prefix));
        break;
      }
    }
  }
  absl::ReaderMutexLock l(&db_mu_);
  if (db_ == nullptr) {
    absl::MutexLock state(&mu_);
    return absl::UnavailableError(absl::StrCat("data dir ", options_.dir,
                                               " cannot be written: ", error_));
  }
  const rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &batch);
  // From now on no sync counts (SyncLog) until the database is back.
  if (!s.ok()) return Failed(s.ToString());
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
  SyncLog().PermitUncheckedError();
  return true;
}

void JournalDb::SyncLoop() {
  const bool periodic = options_.fsync == FsyncPolicy::kEverySecond;
  absl::Time next_periodic = absl::Now() + kSyncEvery;
  absl::Time next_resume = absl::InfinitePast();
  for (;;) {
    bool failing;
    bool want_sync;
    {
      absl::MutexLock l(&mu_);
      auto work = [this] {
        mu_.AssertReaderHeld();
        return stop_ || wake_ || (!waiting_.empty() && !failing_);
      };
      absl::Time deadline = periodic ? next_periodic : absl::InfiniteFuture();
      if (failing_) deadline = std::min(deadline, next_resume);
      mu_.AwaitWithDeadline(absl::Condition(&work), deadline);
      wake_ = false;
      // Whatever still waits at the end was run by FlushAnswers, or has no
      // call left to answer.
      if (stop_) return;
      if (!failing_ && !waiting_.empty()) {
        GatherLocked();
        if (stop_) return;
      }
      failing = failing_;
      want_sync = !waiting_.empty() ||
                  (periodic && absl::Now() >= next_periodic &&
                   synced_ < written_.load(std::memory_order_acquire));
    }
    if (failing) {
      // Answers waiting for the disk stay until a sync succeeds after the
      // database is back: an unsynced change must not be acknowledged.
      if (absl::Now() >= next_resume) {
        next_resume = absl::Now() + kResumeEvery;
        if (Recover()) {
          absl::MutexLock l(&mu_);
          failing_ = false;
          error_.clear();
        }
      }
      continue;
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

rocksdb::Status JournalDb::SyncLog() {
  // The log files are synced here with our own descriptors rather than
  // with DB::SyncWAL: SyncWAL on a log whose write has just failed trips
  // an assertion in RocksDB, and taking writes' lock for the length of an
  // fsync would stop every write meanwhile. fdatasync on any descriptor of
  // a file flushes what every writer put in it.
  absl::MutexLock sync_lock(&sync_mu_);
  {
    absl::MutexLock l(&mu_);
    if (failing_) return rocksdb::Status::IOError(error_);
  }
  std::unique_ptr<rocksdb::LogFile> current;
  rocksdb::VectorLogPtr live;
  {
    absl::ReaderMutexLock db_lock(&db_mu_);
    if (db_ == nullptr)
      return rocksdb::Status::IOError("the data dir is closed");
    rocksdb::Status s = db_->GetCurrentWalFile(&current);
    if (!s.ok()) return s;
    if (current->LogNumber() != wal_number_) s = db_->GetSortedWalFiles(live);
    if (!s.ok()) return s;
  }
  auto failed = [&](const std::string& what) {
    return rocksdb::Status::IOError(
        absl::StrCat(what, ": ", std::strerror(errno)));
  };
  if (current->LogNumber() != wal_number_) {
    // New logs since the last sync: the rest of the old ones first, then
    // the new one and the directory entries that name them.
    if (wal_fd_ >= 0 && ::fdatasync(wal_fd_) != 0) return failed("fdatasync");
    for (const auto& log : live) {
      if (log->Type() != rocksdb::kAliveLogFile ||
          log->LogNumber() <= wal_number_ ||
          log->LogNumber() == current->LogNumber()) {
        continue;
      }
      const std::string path = options_.dir + log->PathName();
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;  // flushed into a table and deleted meanwhile
      const int synced = ::fdatasync(fd);
      ::close(fd);
      if (synced != 0) return failed(path);
    }
    const std::string path = options_.dir + current->PathName();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return failed(path);
    if (wal_fd_ >= 0) ::close(wal_fd_);
    wal_fd_ = fd;
    wal_number_ = current->LogNumber();
    const int dir =
        ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return failed(options_.dir);
    const int synced = ::fsync(dir);
    ::close(dir);
    if (synced != 0) return failed(options_.dir);
  }
  if (::fdatasync(wal_fd_) != 0) return failed("fdatasync of the log");
  return rocksdb::Status::OK();
}

void JournalDb::SyncAndRelease() {
  const uint64_t target = written_.load(std::memory_order_acquire);
  const absl::Time start = absl::Now();
  const rocksdb::Status s = SyncLog();
  std::vector<std::function<void()>> ready;
  {
    absl::MutexLock l(&mu_);
    if (!s.ok()) {
      if (!failing_) {
        failing_ = true;
        error_ = s.ToString();
        last_error_ = error_;
      }
      return;
    }
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
  SyncLog().PermitUncheckedError();
  for (auto& then : rest) then();
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
  rocksdb::Checkpoint* raw = nullptr;
  absl::ReaderMutexLock l(&db_mu_);
  if (db_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "backup to ", dir, " failed: the data dir cannot be read now"));
  }
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_, &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // Flushes first, so the copy holds every acknowledged write.
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
    absl::MutexLock l(&mu_);
    stats.last_sync = last_sync_;
    stats.last_sync_took = last_sync_took_;
    stats.syncs = syncs_;
    stats.error = error_;
    stats.last_error = last_error_;
  }
  stats.disk_bytes = DirBytes(options_.dir);
  return stats;
}

}  // namespace mproc
