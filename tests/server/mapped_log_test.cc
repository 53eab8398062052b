// The manager's own log (server/store/mapped_log.h) on real files: what
// it reads back after a crash, what it calls damage, and how it behaves
// when it has no room.
#include "server/store/mapped_log.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace mproc {
namespace {

class MappedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/mapped-log.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Opens the log in dir_, collecting what it reads back into *read.
  absl::StatusOr<std::unique_ptr<MappedLog>> Open(
      std::vector<std::string>* read, bool repair = false,
      size_t segment_bytes = 4096) {
    read->clear();
    return MappedLog::Open({dir_, repair, segment_bytes},
                           [read](absl::string_view record, uint64_t) {
                             read->emplace_back(record);
                             return absl::OkStatus();
                           });
  }

  std::vector<std::string> Segments() const {
    std::vector<std::string> paths;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      if (entry.path().extension() == ".mlog") {
        paths.push_back(entry.path().string());
      }
    }
    std::sort(paths.begin(), paths.end());
    return paths;
  }

  static void Overwrite(const std::string& path, size_t offset,
                        const std::string& bytes) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f << bytes;
  }

  std::string dir_;
};

std::vector<std::string> Records(int n, size_t bytes = 100) {
  std::vector<std::string> records;
  for (int i = 0; i < n; ++i) {
    std::string r = absl::StrCat("record ", i, " ");
    r.resize(bytes, static_cast<char>('a' + i % 26));
    records.push_back(r);
  }
  return records;
}

TEST_F(MappedLogTest, RecordsAreReadBackInOrderAcrossSegments) {
  const std::vector<std::string> written = Records(200);  // ~5 segments
  std::vector<std::string> read;
  {
    auto log = Open(&read);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_TRUE(read.empty());
    uint64_t last = 0;
    for (const std::string& r : written) {
      absl::StatusOr<uint64_t> end = (*log)->Append(r);
      ASSERT_TRUE(end.ok()) << end.status();
      EXPECT_GT(*end, last);
      last = *end;
    }
    EXPECT_GT((*log)->segments(), 4);
    // Not synced: a killed process leaves the same files.
  }
  auto again = Open(&read);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(read, written);
}

TEST_F(MappedLogTest, ReadingBackGivesEachRecordItsAppendPosition) {
  std::vector<uint64_t> appended;
  std::vector<std::string> read;
  {
    auto log = Open(&read);
    ASSERT_TRUE(log.ok());
    for (const std::string& r : Records(100)) {
      absl::StatusOr<uint64_t> end = (*log)->Append(r);
      ASSERT_TRUE(end.ok());
      appended.push_back(*end);
    }
  }
  std::vector<uint64_t> ends;
  auto again = MappedLog::Open({dir_, false, 4096},
                               [&](absl::string_view, uint64_t end) {
                                 ends.push_back(end);
                                 return absl::OkStatus();
                               });
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ends, appended);
  // Appends after Open come after everything read.
  absl::StatusOr<uint64_t> next = (*again)->Append("next");
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, appended.back());
}

TEST_F(MappedLogTest, AppendsComeAfterAPositionTheCallerSaw) {
  std::vector<std::string> read;
  MappedLog::Options options{dir_, false, 4096};
  options.after = uint64_t{41} << 32;
  auto log = MappedLog::Open(
      options, [](absl::string_view, uint64_t) { return absl::OkStatus(); });
  ASSERT_TRUE(log.ok());
  absl::StatusOr<uint64_t> end = (*log)->Append("x");
  ASSERT_TRUE(end.ok());
  EXPECT_GT(*end, options.after);
}

TEST_F(MappedLogTest, ASegmentInTheDocumentedFormatIsRead) {
  // Header, then one record framed as [length][masked CRC-32C]: the CRC-32C
  // of "123456789" is 0xe3069283, masked 0xc78ab0e5. Pins the format on
  // disk, and that the checksum is CRC-32C however it is computed.
  std::string segment("MPROCLG1", 8);
  segment += std::string("\x01\0\0\0\0\0\0\0", 8);          // number 1
  segment += std::string("\x09\0\0\0\xe5\xb0\x8a\xc7", 8);  // frame
  segment += "123456789";
  segment += std::string(64, '\0');
  std::ofstream(dir_ + "/journal-00000001.mlog", std::ios::binary) << segment;
  std::vector<std::string> read;
  auto log = Open(&read);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(read, std::vector<std::string>{"123456789"});
}

TEST_F(MappedLogTest, ARecordBiggerThanASegmentGetsOneOfItsOwn) {
  const std::string big(20000, 'b');
  std::vector<std::string> read;
  {
    auto log = Open(&read);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append("small").ok());
    ASSERT_TRUE((*log)->Append(big).ok());
    ASSERT_TRUE((*log)->Append("after").ok());
  }
  auto again = Open(&read);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(read, (std::vector<std::string>{"small", big, "after"}));
}

TEST_F(MappedLogTest, ATornRecordAfterTheSyncedPositionEndsTheLog) {
  std::vector<std::string> read;
  std::vector<std::string> written = Records(10);
  {
    auto log = Open(&read, false, 1 << 20);
    ASSERT_TRUE(log.ok());
    for (const std::string& r : written) ASSERT_TRUE((*log)->Append(r).ok());
    ASSERT_TRUE((*log)->Sync().ok());
    ASSERT_TRUE((*log)->Append(std::string(100, 't')).ok());
  }
  // The last record half copied, as when the process is killed mid-copy.
  const std::vector<std::string> segments = Segments();
  ASSERT_EQ(segments.size(), 1u);
  const size_t last = 16 + 10 * (8 + 100);
  Overwrite(segments[0], last + 8 + 50, std::string(50, '\0'));
  auto again = Open(&read, false, 1 << 20);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(read, written);
}

TEST_F(MappedLogTest, DamageBeforeTheSyncedPositionIsRefusedUnlessRepairing) {
  std::vector<std::string> read;
  const std::vector<std::string> written = Records(10);
  {
    auto log = Open(&read, false, 1 << 20);
    ASSERT_TRUE(log.ok());
    for (const std::string& r : written) ASSERT_TRUE((*log)->Append(r).ok());
    ASSERT_TRUE((*log)->Sync().ok());
  }
  const std::string segment = Segments().at(0);
  const size_t fifth = 16 + 4 * (8 + 100);
  Overwrite(segment, fifth + 8 + 10, "scribble");
  auto refused = Open(&read, false, 1 << 20);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), segment))
      << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(),
                                absl::StrCat("offset ", fifth)))
      << refused.status();

  auto repaired = Open(&read, /*repair=*/true, 1 << 20);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_EQ(read,
            std::vector<std::string>(written.begin(), written.begin() + 4));
}

TEST_F(MappedLogTest, AZeroedSegmentInTheMiddleIsDamage) {
  std::vector<std::string> read;
  {
    auto log = Open(&read);
    ASSERT_TRUE(log.ok());
    for (const std::string& r : Records(200)) {
      ASSERT_TRUE((*log)->Append(r).ok());
    }
    ASSERT_TRUE((*log)->Sync().ok());
  }
  const std::vector<std::string> segments = Segments();
  ASSERT_GT(segments.size(), 3u);
  // Its records zeroed, as if never written.
  Overwrite(segments[1], 16, std::string(4096 - 16, '\0'));
  auto refused = Open(&read);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::StrContains(refused.status().message(), segments[1]))
      << refused.status();
}

TEST_F(MappedLogTest, ADeletedSegmentInTheMiddleIsDamage) {
  std::vector<std::string> read;
  const std::vector<std::string> written = Records(200);
  {
    auto log = Open(&read);
    ASSERT_TRUE(log.ok());
    for (const std::string& r : written) ASSERT_TRUE((*log)->Append(r).ok());
    ASSERT_TRUE((*log)->Sync().ok());
  }
  const std::vector<std::string> segments = Segments();
  ASSERT_GT(segments.size(), 3u);
  {
    auto whole = Open(&read);
    ASSERT_TRUE(whole.ok()) << whole.status();
    ASSERT_EQ(read, written);
  }
  ASSERT_TRUE(std::filesystem::remove(segments[1]));
  auto refused = Open(&read);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), segments[1]))
      << refused.status();

  // Repairing keeps the records before the gap, and only those.
  auto repaired = Open(&read, /*repair=*/true);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  ASSERT_FALSE(read.empty());
  ASSERT_LT(read.size(), written.size() / 2);
  EXPECT_EQ(read, std::vector<std::string>(written.begin(),
                                           written.begin() + read.size()));
}

TEST_F(MappedLogTest, ADeletedSegmentAfterTheSyncedPositionEndsTheLog) {
  std::vector<std::string> read;
  const std::vector<std::string> written = Records(200);
  size_t synced_records = 0;
  {
    auto log = Open(&read);
    ASSERT_TRUE(log.ok());
    for (size_t i = 0; i < written.size(); ++i) {
      ASSERT_TRUE((*log)->Append(written[i]).ok());
      if (i == 20) {  // in the first segment
        ASSERT_TRUE((*log)->Sync().ok());
        synced_records = i + 1;
      }
    }
  }
  const std::vector<std::string> segments = Segments();
  ASSERT_GT(segments.size(), 3u);
  // As if the power went before the disk had the second segment.
  ASSERT_TRUE(std::filesystem::remove(segments[1]));
  auto opened = Open(&read);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_GE(read.size(), synced_records);
  EXPECT_EQ(read, std::vector<std::string>(written.begin(),
                                           written.begin() + read.size()));
  // Nothing from the segments after the gap.
  EXPECT_LT(read.size(), written.size() / 2);
}

TEST_F(MappedLogTest, ForgottenSegmentsAreDeletedAndTheRestReadAgain) {
  std::vector<std::string> read;
  auto log = Open(&read);
  ASSERT_TRUE(log.ok());
  const std::vector<std::string> written = Records(100);
  uint64_t middle = 0;
  for (size_t i = 0; i < written.size(); ++i) {
    absl::StatusOr<uint64_t> end = (*log)->Append(written[i]);
    ASSERT_TRUE(end.ok());
    if (i == 49) middle = *end;
  }
  const int64_t before = (*log)->segments();
  EXPECT_TRUE((*log)->HasSegmentsBefore(middle));
  (*log)->ForgetBefore(middle);
  EXPECT_LT((*log)->segments(), before);
  EXPECT_FALSE((*log)->HasSegmentsBefore(middle));
  EXPECT_EQ(static_cast<int64_t>(Segments().size()), (*log)->segments());
  std::vector<std::string> kept;
  ASSERT_TRUE((*log)
                  ->ReadKept([&](absl::string_view r, uint64_t) {
                    kept.emplace_back(r);
                    return absl::OkStatus();
                  })
                  .ok());
  // Whole segments go: what is kept is a tail of what was written, and
  // includes everything after the position.
  ASSERT_GE(kept.size(), 50u);
  EXPECT_EQ(kept, std::vector<std::string>(written.end() - kept.size(),
                                           written.end()));
}

TEST_F(MappedLogTest, SegmentNumbersAreNeverUsedTwice) {
  std::vector<std::string> read;
  uint64_t synced = 0;
  {
    auto log = Open(&read);
    ASSERT_TRUE(log.ok());
    for (const std::string& r : Records(100)) {
      ASSERT_TRUE((*log)->Append(r).ok());
    }
    absl::StatusOr<uint64_t> reached = (*log)->Sync();
    ASSERT_TRUE(reached.ok());
    synced = *reached;
    (*log)->ForgetBefore((*log)->end());
  }
  for (const std::string& path : Segments()) std::filesystem::remove(path);
  // Everything gone but journal.synced: new records still come after it,
  // so a torn one is never taken for damage before it.
  auto log = Open(&read);
  ASSERT_TRUE(log.ok());
  absl::StatusOr<uint64_t> end = (*log)->Append("new");
  ASSERT_TRUE(end.ok());
  EXPECT_GT(*end, synced);
}

TEST_F(MappedLogTest, NoRoomForANewSegmentFailsAndAppendsNothing) {
  std::vector<std::string> read;
  auto log = Open(&read);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append("fits").ok());
  // This process may write no file past 1 KiB: the next segment cannot be
  // reserved.
  signal(SIGXFSZ, SIG_IGN);
  rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit tiny{1024, old.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tiny), 0);
  absl::StatusOr<uint64_t> refused = (*log)->Append(std::string(5000, 'x'));
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), dir_))
      << refused.status();
  // Room again: appends go on, and only what was accepted is read back.
  ASSERT_TRUE((*log)->Append("later").ok());
  log->reset();
  auto again = Open(&read);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(read, (std::vector<std::string>{"fits", "later"}));
}

}  // namespace
}  // namespace mproc
