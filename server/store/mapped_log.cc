#include "server/store/mapped_log.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace mproc {
namespace {

constexpr char kMagic[8] = {'M', 'P', 'R', 'O', 'C', 'L', 'G', '1'};
constexpr size_t kHeaderBytes = 16;  // kMagic, the segment's number
constexpr size_t kFrameBytes = 8;    // a record's length and checksum
constexpr uint32_t kEndMark = 0xffffffff;
constexpr size_t kPageBytes = 4096;
constexpr char kSyncedName[] = "journal.synced";
constexpr absl::string_view kSegmentPrefix = "journal-";
constexpr absl::string_view kSegmentSuffix = ".mlog";

uint64_t Position(uint64_t segment, uint64_t offset) {
  return (segment << 32) | offset;
}
uint64_t SegmentOf(uint64_t position) { return position >> 32; }

// CRC-32C (Castagnoli): the processor's instruction where it has one
// (SSE 4.2), else a table lookup per byte; both give the same value.
std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
    }
    table[i] = crc;
  }
  return table;
}

uint32_t Crc32cByTable(uint32_t crc, absl::string_view data) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  for (const char c : data) {
    crc = table[(crc ^ static_cast<unsigned char>(c)) & 0xff] ^ (crc >> 8);
  }
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Crc32cByInstruction(
    uint32_t crc, absl::string_view data) {
  const char* p = data.data();
  size_t n = data.size();
  uint64_t wide = crc;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof(word));
    wide = __builtin_ia32_crc32di(wide, word);
  }
  crc = static_cast<uint32_t>(wide);
  for (; n > 0; ++p, --n) {
    crc = __builtin_ia32_crc32qi(crc, static_cast<unsigned char>(*p));
  }
  return crc;
}
#endif

uint32_t Crc32c(absl::string_view data) {
#if defined(__x86_64__)
  static const bool has_instruction = __builtin_cpu_supports("sse4.2");
  if (has_instruction) return ~Crc32cByInstruction(0xffffffffu, data);
#endif
  return ~Crc32cByTable(0xffffffffu, data);
}

// Masked so that no run of zero bytes, the mapping's untouched state,
// ever carries a matching checksum.
uint32_t Checksum(absl::string_view data) {
  const uint32_t crc = Crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

uint32_t EndMarkChecksum(uint64_t number) {
  char bytes[sizeof(number)];
  std::memcpy(bytes, &number, sizeof(number));
  return Checksum({bytes, sizeof(bytes)});
}

uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

absl::Status Errno(absl::string_view what, const std::string& path, int err) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

// journal.synced: [u64 position][u32 checksum of it]. Unreadable: 0, which
// only makes Open read more of the log as a crash's mark.
uint64_t ReadSynced(int fd) {
  char bytes[12];
  if (::pread(fd, bytes, sizeof(bytes), 0) != sizeof(bytes)) return 0;
  if (Checksum({bytes, 8}) != Load32(bytes + 8)) return 0;
  return Load64(bytes);
}

bool WriteSynced(int fd, uint64_t position) {
  char bytes[12];
  std::memcpy(bytes, &position, 8);
  const uint32_t sum = Checksum({bytes, 8});
  std::memcpy(bytes + 8, &sum, 4);
  return ::pwrite(fd, bytes, sizeof(bytes), 0) == sizeof(bytes);
}

// The segment numbers in `dir`, in order.
std::vector<uint64_t> SegmentNumbers(const std::string& dir) {
  std::vector<uint64_t> numbers;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    absl::string_view name = file;
    uint64_t n;
    if (absl::ConsumePrefix(&name, kSegmentPrefix) &&
        absl::ConsumeSuffix(&name, kSegmentSuffix) &&
        absl::SimpleAtoi(name, &n)) {
      numbers.push_back(n);
    }
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

absl::Status ReadFile(const std::string& path, size_t limit, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Errno("cannot read", path, err);
  }
  out->resize(std::min(static_cast<size_t>(st.st_size), limit));
  size_t done = 0;
  while (done < out->size()) {
    const ssize_t n = ::pread(fd, out->data() + done, out->size() - done,
                              static_cast<off_t>(done));
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      return Errno("cannot read", path, err);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return absl::OkStatus();
}

// How reading one segment ended.
enum class SegmentEnd { kNext, kLogEnds };

// Reads segment `number`'s records from `data`, passing each to `replay`.
// `last`: no segment follows it (reading stops at its first empty frame).
// A record that cannot be read at a position before `synced` is damage,
// unless `repair`; after it, the log ends there.
absl::StatusOr<SegmentEnd> ReadSegment(const std::string& path, uint64_t number,
                                       absl::string_view data, bool last,
                                       uint64_t synced, bool repair,
                                       MappedLog::Replay replay) {
  size_t offset = 0;
  auto unreadable = [&](absl::string_view what) -> absl::StatusOr<SegmentEnd> {
    if (Position(number, offset) >= synced || repair) {
      return SegmentEnd::kLogEnds;
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "log file ", path, " is damaged at offset ", offset, ": ", what));
  };
  if (data.size() < kHeaderBytes ||
      std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0 ||
      Load64(data.data() + sizeof(kMagic)) != number) {
    return unreadable("not a log segment header");
  }
  offset = kHeaderBytes;
  for (;;) {
    if (data.size() - offset < kFrameBytes) {
      return unreadable("it ends without an end mark");
    }
    const uint32_t length = Load32(data.data() + offset);
    const uint32_t sum = Load32(data.data() + offset + 4);
    if (length == 0 && sum == 0) {
      // Never written: the end of the log if no segment follows.
      return last && Position(number, offset) >= synced
                 ? absl::StatusOr<SegmentEnd>(SegmentEnd::kLogEnds)
                 : unreadable("records are missing");
    }
    if (length == kEndMark) {
      if (sum == EndMarkChecksum(number)) return SegmentEnd::kNext;
      return unreadable("a damaged end mark");
    }
    if (length > data.size() - offset - kFrameBytes) {
      return unreadable(
          absl::StrCat("a record of ", length, " bytes runs past the end"));
    }
    const absl::string_view record = data.substr(offset + kFrameBytes, length);
    if (Checksum(record) != sum) return unreadable("checksum mismatch");
    offset += kFrameBytes + length;
    if (absl::Status s = replay(record, Position(number, offset)); !s.ok()) {
      return s;
    }
  }
}

}  // namespace

struct MappedLog::Segment {
  uint64_t number = 0;
  int fd = -1;          // -1: read at Open, not written since
  char* map = nullptr;  // while appends go here
  size_t size = 0;      // bytes mapped
  size_t used = 0;      // bytes written, header included
  size_t synced = 0;    // of them, known on disk
  ~Segment() {
    if (map != nullptr) ::munmap(map, size);
    if (fd >= 0) ::close(fd);
  }
};

MappedLog::MappedLog(Options options, int synced_fd, uint64_t next_number)
    : options_(std::move(options)),
      synced_fd_(synced_fd),
      next_number_(next_number) {}

MappedLog::~MappedLog() {
  {
    absl::MutexLock l(&mu_);
    segments_.clear();
  }
  ::close(synced_fd_);
}

std::string MappedLog::PathOf(uint64_t number) const {
  return absl::StrCat(options_.dir, "/", kSegmentPrefix,
                      absl::StrFormat("%08d", number), kSegmentSuffix);
}

absl::StatusOr<std::unique_ptr<MappedLog>> MappedLog::Open(
    const Options& options, Replay replay) {
  const std::string synced_path = absl::StrCat(options.dir, "/", kSyncedName);
  const int synced_fd =
      ::open(synced_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (synced_fd < 0) return Errno("cannot open", synced_path, errno);
  const uint64_t synced = ReadSynced(synced_fd);
  const std::vector<uint64_t> numbers = SegmentNumbers(options.dir);
  // Numbers are never used twice, not even after every segment is gone:
  // journal.synced may name a position in one.
  uint64_t next =
      std::max<uint64_t>(SegmentOf(std::max(synced, options.after)) + 1, 1);
  if (!numbers.empty()) next = std::max(next, numbers.back() + 1);
  std::unique_ptr<MappedLog> log(new MappedLog(options, synced_fd, next));

  bool ended = false;
  std::string data;
  for (size_t i = 0; i < numbers.size(); ++i) {
    auto kept = std::make_shared<Segment>();
    kept->number = numbers[i];
    {
      absl::MutexLock l(&log->mu_);
      log->segments_.push_back(kept);  // dropped with the rest if unread
    }
    if (ended) continue;
    // Segments are made one after another and deleted oldest first: a
    // number missing between two is a file lost.
    if (i > 0 && numbers[i] != numbers[i - 1] + 1) {
      const uint64_t missing = numbers[i - 1] + 1;
      if (Position(missing, 0) < synced && !options.repair) {
        return absl::FailedPreconditionError(absl::StrCat(
            "log file ", log->PathOf(missing), " is missing: the log goes on ",
            "in ", log->PathOf(numbers[i])));
      }
      ended = true;  // as for any record unreadable after the synced one
      continue;
    }
    const std::string path = log->PathOf(numbers[i]);
    if (absl::Status s = ReadFile(path, SIZE_MAX, &data); !s.ok()) return s;
    absl::StatusOr<SegmentEnd> end =
        ReadSegment(path, numbers[i], data, i + 1 == numbers.size(), synced,
                    options.repair, replay);
    if (!end.ok()) return end.status();
    ended = *end == SegmentEnd::kLogEnds;
  }
  absl::MutexLock l(&log->mu_);
  if (absl::Status s = log->StartSegmentLocked(0); !s.ok()) return s;
  log->opened_at_ = log->end_;
  return log;
}

absl::Status MappedLog::StartSegmentLocked(size_t record_bytes) {
  const size_t wanted = kHeaderBytes + record_bytes + 2 * kFrameBytes;
  const size_t size =
      std::max(options_.segment_bytes,
               (wanted + kPageBytes - 1) / kPageBytes * kPageBytes);
  const uint64_t number = next_number_;
  const std::string path = PathOf(number);
  const int fd =
      ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", path, errno);
  // Reserving the blocks now makes a full disk an error here, not a
  // SIGBUS when the mapping is written.
  if (const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
      err != 0) {
    ::close(fd);
    ::unlink(path.c_str());
    return Errno("no room for", path, err);
  }
  void* map = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    const int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return Errno("cannot map", path, err);
  }
  auto segment = std::make_shared<Segment>();
  segment->number = number;
  segment->fd = fd;
  segment->map = static_cast<char*>(map);
  segment->size = size;
  std::memcpy(segment->map, kMagic, sizeof(kMagic));
  std::memcpy(segment->map + sizeof(kMagic), &number, sizeof(number));
  segment->used = kHeaderBytes;
  ++next_number_;
  if (!segments_.empty()) {
    // The writer moves on: the old segment gets its end mark.
    Segment& old = *segments_.back();
    if (old.map != nullptr) {
      const uint32_t mark = kEndMark;
      const uint32_t sum = EndMarkChecksum(old.number);
      std::memcpy(old.map + old.used, &mark, 4);
      std::memcpy(old.map + old.used + 4, &sum, 4);
      old.used += kFrameBytes;
      ::munmap(old.map, old.size);
      old.map = nullptr;
    }
  }
  segments_.push_back(std::move(segment));
  end_ = Position(number, kHeaderBytes);
  dir_unsynced_ = true;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> MappedLog::Append(absl::string_view record) {
  absl::MutexLock l(&mu_);
  if (!lost_.ok()) return lost_;
  const size_t need = kFrameBytes + record.size();
  Segment* current = segments_.back().get();
  // Room is always left for the end mark.
  if (current->map == nullptr ||
      current->size - current->used < need + kFrameBytes) {
    if (absl::Status s = StartSegmentLocked(record.size()); !s.ok()) return s;
    current = segments_.back().get();
  }
  char* at = current->map + current->used;
  const uint32_t length = static_cast<uint32_t>(record.size());
  const uint32_t sum = Checksum(record);
  std::memcpy(at + kFrameBytes, record.data(), record.size());
  std::memcpy(at, &length, 4);
  std::memcpy(at + 4, &sum, 4);
  current->used += need;
  end_ = Position(current->number, current->used);
  return end_;
}

uint64_t MappedLog::end() const {
  absl::MutexLock l(&mu_);
  return end_;
}

absl::StatusOr<uint64_t> MappedLog::Sync() {
  absl::MutexLock sync_lock(&sync_mu_);
  std::vector<std::pair<std::shared_ptr<Segment>, size_t>> unsynced;
  uint64_t target;
  bool dir;
  {
    absl::MutexLock l(&mu_);
    if (!lost_.ok()) return lost_;
    target = end_;
    dir = dir_unsynced_;
    dir_unsynced_ = false;
    for (const auto& segment : segments_) {
      if (segment->fd >= 0 && segment->synced < segment->used) {
        unsynced.emplace_back(segment, segment->used);
      }
    }
  }
  // fdatasync writes what the mapping changed as well.
  for (const auto& [segment, used] : unsynced) {
    if (::fdatasync(segment->fd) != 0) {
      return LoseSync(PathOf(segment->number), errno);
    }
  }
  if (dir) {
    const int fd =
        ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      absl::MutexLock l(&mu_);
      dir_unsynced_ = true;  // nothing was tried: a later Sync may do it
      return Errno("cannot open", options_.dir, err);
    }
    const int synced = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (synced != 0) return LoseSync(options_.dir, err);
  }
  {
    absl::MutexLock l(&mu_);
    for (const auto& [segment, used] : unsynced) {
      segment->synced = std::max(segment->synced, used);
    }
  }
  // Not synced itself: if it lags after a power loss, Open reads a little
  // more of the log as a crash's mark, never less.
  if (!WriteSynced(synced_fd_, target)) {
    return Errno("cannot write", absl::StrCat(options_.dir, "/", kSyncedName),
                 errno);
  }
  return target;
}

absl::Status MappedLog::LoseSync(const std::string& path, int err) {
  absl::MutexLock l(&mu_);
  lost_ = absl::DataLossError(absl::StrCat(
      "cannot sync ", path, ": ", std::strerror(err),
      "; what was written since the last sync may never reach the disk, so "
      "the log takes nothing more: restart the manager"));
  return lost_;
}

void MappedLog::ForgetBefore(uint64_t position) {
  std::vector<uint64_t> gone;
  {
    absl::MutexLock l(&mu_);
    const uint64_t first_kept = SegmentOf(position);
    auto keep = std::find_if(segments_.begin(), segments_.end() - 1,
                             [first_kept](const auto& segment) {
                               return segment->number >= first_kept;
                             });
    for (auto it = segments_.begin(); it != keep; ++it) {
      gone.push_back((*it)->number);
    }
    segments_.erase(segments_.begin(), keep);
  }
  // A Sync still holding one keeps its descriptor open until it is done.
  for (const uint64_t number : gone) ::unlink(PathOf(number).c_str());
}

absl::Status MappedLog::ReadKept(Replay replay) const {
  std::vector<std::pair<uint64_t, size_t>> kept;  // number, bytes to read
  {
    absl::MutexLock l(&mu_);
    for (const auto& segment : segments_) {
      kept.emplace_back(segment->number,
                        segment->fd >= 0 ? segment->used : SIZE_MAX);
    }
  }
  std::string data;
  for (const auto& [number, used] : kept) {
    const std::string path = PathOf(number);
    if (absl::Status s = ReadFile(path, used, &data); !s.ok()) return s;
    // Up to `used` everything was written: the record after it, if any,
    // is past the end the call asked for.
    if (used != SIZE_MAX && data.size() == used) data.append(kFrameBytes, '\0');
    absl::StatusOr<SegmentEnd> end =
        ReadSegment(path, number, data, /*last=*/true, /*synced=*/0,
                    /*repair=*/false, replay);
    if (!end.ok()) return end.status();
  }
  return absl::OkStatus();
}

int64_t MappedLog::segments() const {
  absl::MutexLock l(&mu_);
  return static_cast<int64_t>(segments_.size());
}

bool MappedLog::HasSegmentsBefore(uint64_t position) const {
  absl::MutexLock l(&mu_);
  return segments_.size() > 1 &&
         segments_.front()->number < SegmentOf(position);
}

}  // namespace mproc
