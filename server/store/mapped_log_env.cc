#include "server/store/mapped_log_env.h"

#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace mproc {
namespace {

// RocksDB names its write-ahead logs NNNNNN.log; its own text log is LOG.
bool IsWriteAheadLog(absl::string_view path) {
  const size_t slash = path.rfind('/');
  absl::string_view name =
      slash == absl::string_view::npos ? path : path.substr(slash + 1);
  if (!absl::ConsumeSuffix(&name, ".log") || name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

class MappedLogFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit MappedLogFileSystem(std::shared_ptr<rocksdb::FileSystem> base)
      : FileSystemWrapper(std::move(base)) {}

  const char* Name() const override { return "MprocMappedLogFileSystem"; }

  rocksdb::IOStatus NewWritableFile(
      const std::string& path, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* file,
      rocksdb::IODebugContext* debug) override {
    if (!IsWriteAheadLog(path) || options.use_direct_writes) {
      return target()->NewWritableFile(path, options, file, debug);
    }
    // RocksDB's own log-file options turn mapped writes off; these logs
    // are never recycled (recycle_log_file_num is 0), so a mapped file is
    // only ever appended to, from its start.
    rocksdb::FileOptions mapped = options;
    mapped.use_mmap_writes = true;
    return target()->NewWritableFile(path, mapped, file, debug);
  }
};

}  // namespace

rocksdb::Env* MappedLogEnv() {
  static rocksdb::Env* const env =
      rocksdb::NewCompositeEnv(
          std::make_shared<MappedLogFileSystem>(rocksdb::FileSystem::Default()))
          .release();
  return env;
}

}  // namespace mproc
