// libFuzzer target: reading the manager's own log back
// (server/store/mapped_log.h) from a segment file of arbitrary bytes, with
// a synced position inside it, as after a crash. Reading must never go
// past the file, and must end in one of the promised ways: the records
// read, FAILED_PRECONDITION for damage (never when repairing), or
// UNAVAILABLE for a file it cannot use.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "server/store/mapped_log.h"

namespace {

const std::string& Dir() {
  static const std::string dir = [] {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "mapped-log-fuzz.XXXXXX")
            .string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    return pattern;
  }();
  return dir;
}

bool Promised(const absl::Status& s, bool repair) {
  return s.ok() || s.code() == absl::StatusCode::kUnavailable ||
         (!repair && s.code() == absl::StatusCode::kFailedPrecondition);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = Dir();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::filesystem::remove(entry.path(), ec);
  }
  const mproc::MappedLog::Options options{dir, false, 4096};
  auto ignore = [](absl::string_view, uint64_t) { return absl::OkStatus(); };
  {
    // A real first segment, synced past one record: journal.synced then
    // points into the bytes below.
    auto log = mproc::MappedLog::Open(options, ignore);
    if (!log.ok() || !(*log)->Append("seed").ok() || !(*log)->Sync().ok()) {
      std::abort();
    }
  }
  std::ofstream(dir + "/journal-00000001.mlog",
                std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data),
             static_cast<std::streamsize>(size));
  for (const bool repair : {false, true}) {
    mproc::MappedLog::Options o = options;
    o.repair = repair;
    size_t bytes = 0;
    auto log =
        mproc::MappedLog::Open(o, [&](absl::string_view record, uint64_t) {
          bytes += record.size();
          return absl::OkStatus();
        });
    if (!Promised(log.status(), repair) || bytes > size) std::abort();
  }
  return 0;
}
