#include "server/object_log.h"

#include "absl/strings/str_cat.h"
#include "common/value_codec.h"

namespace mproc {

absl::Status ObjectLog::Write(absl::string_view what,
                              absl::Span<const LogChange> changes) const {
  if (journal_ == nullptr || changes.empty()) return absl::OkStatus();
  absl::Status s = journal_->Write(prefix_, changes);
  if (s.ok()) return s;
  return absl::Status(s.code(),
                      absl::StrCat(what,
                                   ": not changed, as the change could "
                                   "not be recorded: ",
                                   s.message()));
}

absl::Status ObjectLog::Put(absl::string_view what, std::string key,
                            std::string value) const {
  if (journal_ == nullptr) return absl::OkStatus();
  const LogChange change = LogChange::Put(std::move(key), std::move(value));
  return Write(what, {&change, 1});
}

absl::Status ObjectLog::Delete(absl::string_view what, std::string key) const {
  if (journal_ == nullptr) return absl::OkStatus();
  const LogChange change = LogChange::Delete(std::move(key));
  return Write(what, {&change, 1});
}

HandedOverRecords::~HandedOverRecords() {
  if (!kept_ || !log_.enabled() || keys_.empty()) return;
  std::vector<LogChange> changes;
  changes.reserve(keys_.size());
  for (const std::string& key : keys_)
    changes.push_back(LogChange::Delete(key));
  log_.Write(what_, changes).IgnoreError();
}

std::function<void()> HandedOverRecords::GiveBack(
    std::shared_ptr<HandedOverRecords> records, std::function<void()> back) {
  if (records == nullptr) return back;
  return [records = std::move(records), back = std::move(back)] {
    records->Cancel();
    back();
  };
}

std::string EncodeRecord(const Value& value) {
  std::string out;
  EncodeValue(value, &out);
  return out;
}

std::string SequenceKey(char tag, uint64_t seq) {
  std::string key(9, '\0');
  key[0] = tag;
  for (int i = 0; i < 8; ++i) {
    key[8 - i] = static_cast<char>(seq >> (8 * i));
  }
  return key;
}

bool ParseSequenceKey(absl::string_view key, char tag, uint64_t* seq) {
  if (key.size() != 9 || key[0] != tag) return false;
  uint64_t n = 0;
  for (int i = 1; i < 9; ++i) n = (n << 8) | static_cast<unsigned char>(key[i]);
  *seq = n;
  return true;
}

}  // namespace mproc
