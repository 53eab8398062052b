// A hash map from scalar Values to Values that stores each entry as its
// encoded bytes (value_codec.h), key and value in one allocation, behind an
// 8-byte slot of a flat table. A dict of a million small entries then takes
// ~40 bytes an entry instead of ~130 (two 40-byte Values in a node plus the
// key's heap string). Reads decode a copy; the cost is a few hundred
// nanoseconds, far below a round trip. Not thread-safe.
//
// Keys are equal when their encodings are: as for Value's own equality, 1
// and 1.0 are different keys; 0.0 and -0.0 are one key (stored as 0.0), and
// a NaN key, unlike in a node map of Values, can be found again.
#ifndef MPROC_SERVER_COMPACT_MAP_H_
#define MPROC_SERVER_COMPACT_MAP_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "common/value.h"

namespace mproc {

class CompactMap {
 public:
  // One stored entry, header and bytes in one allocation: key bytes,
  // then value bytes. Read it through DecodeKey and DecodeValue.
  struct Entry {
    uint32_t key_size;
    uint32_t value_size;
    const char* bytes() const {
      return reinterpret_cast<const char*>(this + 1);
    }
    absl::string_view key() const { return {bytes(), key_size}; }
    absl::string_view value() const { return {bytes() + key_size, value_size}; }
    Value DecodeKey() const;
    Value DecodeValue() const;
  };

  CompactMap() = default;
  ~CompactMap() { Clear(); }
  CompactMap(const CompactMap&) = delete;
  CompactMap& operator=(const CompactMap&) = delete;

  size_t size() const { return slots_.size(); }

  // The value at `key`, if present.
  std::optional<Value> Find(const Value& key) const;
  bool Contains(const Value& key) const;
  // Stores `value` at `key`, replacing any value there.
  void Set(const Value& key, const Value& value);
  // The same with both already encoded (EncodeKey, EncodeValue).
  void SetEncoded(absl::string_view key, absl::string_view value);
  // The entry at an encoded key, or null.
  const Entry* FindEncoded(absl::string_view key) const;
  // Whether the encoded key was present.
  bool EraseEncoded(absl::string_view key);

  // The bytes an entry stores: keys in their canonical form (0.0 for -0.0).
  static std::string EncodeKey(const Value& key);
  static std::string EncodeValue(const Value& value);
  // The value at `key`, after storing `value` there if it was absent.
  Value SetDefault(const Value& key, const Value& value);
  // Removes and returns the value at `key`, if present.
  std::optional<Value> Take(const Value& key);
  // Whether `key` was present.
  bool Erase(const Value& key);
  void Clear();

  // Calls f(key, value) for every entry, in an order that stays the same
  // between writes.
  template <typename F>
  void ForEach(F f) const {
    for (const Slot& slot : slots_) {
      f(slot.entry->DecodeKey(), slot.entry->DecodeValue());
    }
  }

  // Calls f(entry) for every entry in ForEach's order, after asking
  // admit(key_bytes, value_bytes) — its encoded sizes — which stops the
  // walk (returning false) at the first entry it refuses. f decodes only
  // what it needs.
  template <typename A, typename F>
  bool ForEachAdmitted(A admit, F f) const {
    for (const Slot& slot : slots_) {
      if (!admit(int64_t{slot.entry->key_size},
                 int64_t{slot.entry->value_size})) {
        return false;
      }
      f(*slot.entry);
    }
    return true;
  }

 private:
  // The table's element; `entry` may be swapped for one with the same key.
  struct Slot {
    mutable Entry* entry;
  };

  struct SlotHash {
    using is_transparent = void;
    size_t operator()(absl::string_view key) const {
      return absl::Hash<absl::string_view>()(key);
    }
    size_t operator()(const Slot& slot) const {
      return (*this)(slot.entry->key());
    }
  };

  struct SlotEq {
    using is_transparent = void;
    static absl::string_view KeyOf(absl::string_view key) { return key; }
    static absl::string_view KeyOf(const Slot& slot) {
      return slot.entry->key();
    }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return KeyOf(a) == KeyOf(b);
    }
  };

  static Entry* NewEntry(absl::string_view key, absl::string_view value);
  static void FreeEntry(Entry* entry);

  absl::flat_hash_set<Slot, SlotHash, SlotEq> slots_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_COMPACT_MAP_H_
