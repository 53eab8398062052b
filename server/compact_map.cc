#include "server/compact_map.h"

#include <new>

#include "common/value_codec.h"

namespace mproc {
namespace {

// Entries are written by this class from valid Values, so they decode.
Value DecodeOwn(absl::string_view bytes) {
  absl::StatusOr<Value> v = mproc::DecodeValue(bytes);
  return v.ok() ? *std::move(v) : Value();
}

}  // namespace

std::string CompactMap::EncodeValue(const Value& value) {
  std::string out;
  mproc::EncodeValue(value, &out);
  return out;
}

Value CompactMap::Entry::DecodeKey() const { return DecodeOwn(key()); }
Value CompactMap::Entry::DecodeValue() const { return DecodeOwn(value()); }

std::string CompactMap::EncodeKey(const Value& key) {
  if (key.is_double() && key.double_value() == 0) {
    return EncodeValue(Value(0.0));
  }
  return EncodeValue(key);
}

CompactMap::Entry* CompactMap::NewEntry(absl::string_view key,
                                        absl::string_view value) {
  void* memory = ::operator new(sizeof(Entry) + key.size() + value.size());
  auto* entry = new (memory) Entry{static_cast<uint32_t>(key.size()),
                                   static_cast<uint32_t>(value.size())};
  char* bytes = reinterpret_cast<char*>(entry + 1);
  std::memcpy(bytes, key.data(), key.size());
  std::memcpy(bytes + key.size(), value.data(), value.size());
  return entry;
}

void CompactMap::FreeEntry(Entry* entry) { ::operator delete(entry); }

std::optional<Value> CompactMap::Find(const Value& key) const {
  auto it = slots_.find(absl::string_view(EncodeKey(key)));
  if (it == slots_.end()) return std::nullopt;
  return it->entry->DecodeValue();
}

bool CompactMap::Contains(const Value& key) const {
  return slots_.contains(absl::string_view(EncodeKey(key)));
}

const CompactMap::Entry* CompactMap::FindEncoded(absl::string_view key) const {
  auto it = slots_.find(key);
  return it == slots_.end() ? nullptr : it->entry;
}

bool CompactMap::EraseEncoded(absl::string_view key) {
  auto it = slots_.find(key);
  if (it == slots_.end()) return false;
  Entry* entry = it->entry;
  slots_.erase(it);
  FreeEntry(entry);
  return true;
}

void CompactMap::Set(const Value& key, const Value& value) {
  SetEncoded(EncodeKey(key), EncodeValue(value));
}

void CompactMap::SetEncoded(absl::string_view k, absl::string_view v) {
  auto it = slots_.find(absl::string_view(k));
  if (it == slots_.end()) {
    slots_.insert(Slot{NewEntry(k, v)});
    return;
  }
  Entry* old = it->entry;
  if (old->value_size == v.size()) {  // same size: overwrite in place
    std::memcpy(reinterpret_cast<char*>(old + 1) + old->key_size, v.data(),
                v.size());
    return;
  }
  it->entry = NewEntry(k, v);
  FreeEntry(old);
}

Value CompactMap::SetDefault(const Value& key, const Value& value) {
  const std::string k = EncodeKey(key);
  auto it = slots_.find(absl::string_view(k));
  if (it != slots_.end()) return it->entry->DecodeValue();
  slots_.insert(Slot{NewEntry(k, EncodeValue(value))});
  return value;
}

std::optional<Value> CompactMap::Take(const Value& key) {
  auto it = slots_.find(absl::string_view(EncodeKey(key)));
  if (it == slots_.end()) return std::nullopt;
  Entry* entry = it->entry;
  slots_.erase(it);
  Value out = entry->DecodeValue();
  FreeEntry(entry);
  return out;
}

bool CompactMap::Erase(const Value& key) {
  return EraseEncoded(EncodeKey(key));
}

void CompactMap::Clear() {
  for (const Slot& slot : slots_) FreeEntry(slot.entry);
  slots_.clear();
}

}  // namespace mproc
