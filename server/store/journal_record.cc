#include "server/store/journal_record.h"

#include <cstdint>
#include <cstring>

#include "rocksdb/write_batch.h"

namespace mproc {
namespace {

void Append32(size_t n, std::string* out) {
  const uint32_t v = static_cast<uint32_t>(n);
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));
}

void AppendBytes(absl::string_view bytes, std::string* out) {
  Append32(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

// Reads from the front of *in; false if it is too short.
bool Take32(absl::string_view* in, uint32_t* v) {
  if (in->size() < sizeof(*v)) return false;
  std::memcpy(v, in->data(), sizeof(*v));
  in->remove_prefix(sizeof(*v));
  return true;
}

bool TakeBytes(absl::string_view* in, absl::string_view* bytes) {
  uint32_t n;
  if (!Take32(in, &n) || in->size() < n) return false;
  *bytes = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

rocksdb::Slice ToSlice(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace

void AppendJournalRecord(absl::string_view prefix,
                         absl::Span<const LogChange> changes,
                         std::string* out) {
  AppendBytes(prefix, out);
  Append32(changes.size(), out);
  for (const LogChange& change : changes) {
    out->push_back(static_cast<char>(change.type));
    AppendBytes(change.key, out);
    AppendBytes(change.value, out);
  }
}

absl::Status AddJournalRecord(absl::string_view record,
                              rocksdb::WriteBatch* batch) {
  const absl::Status bad =
      absl::DataLossError("a log record that is not a journal record");
  absl::string_view prefix;
  uint32_t count;
  if (!TakeBytes(&record, &prefix) || !Take32(&record, &count)) return bad;
  std::string key;
  for (uint32_t i = 0; i < count; ++i) {
    if (record.empty()) return bad;
    const auto type = static_cast<uint8_t>(record.front());
    record.remove_prefix(1);
    absl::string_view k;
    absl::string_view v;
    if (!TakeBytes(&record, &k) || !TakeBytes(&record, &v)) return bad;
    key.assign(prefix.data(), prefix.size());
    key.append(k.data(), k.size());
    rocksdb::Status s;
    switch (type) {
      case LogChange::kPut:
        s = batch->Put(key, ToSlice(v));
        break;
      case LogChange::kDelete:
        s = batch->Delete(key);
        break;
      case LogChange::kDeleteAll:
        s = batch->DeleteRange(ToSlice(prefix), PrefixEnd(prefix));
        break;
      default:
        return bad;
    }
    if (!s.ok()) return absl::DataLossError(s.ToString());
  }
  if (!record.empty()) return bad;
  return absl::OkStatus();
}

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

}  // namespace mproc
