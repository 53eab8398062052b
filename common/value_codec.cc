#include "common/value_codec.h"

#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/value_checks.h"

namespace mproc {
namespace {

enum Tag : uint8_t {
  kNull = 0,
  kFalse = 1,
  kTrue = 2,
  kInt = 3,
  kDouble = 4,
  kString = 5,
  kBytes = 6,
  kList = 7,
  kMap = 8,
  // Format and data, each length-prefixed.
  kOpaque = 9,
};

void PutVarint(uint64_t v, std::string* out) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

void PutLengthPrefixed(uint8_t tag, const std::string& s, std::string* out) {
  out->push_back(static_cast<char>(tag));
  PutVarint(s.size(), out);
  out->append(s);
}

// Reads from a buffer; every failure is DATA_LOSS at the current offset.
class Reader {
 public:
  Reader(absl::string_view data, int max_depth)
      : data_(data), max_depth_(max_depth) {}

  bool done() const { return pos_ == data_.size(); }

  absl::Status Fail(absl::string_view what) const {
    return absl::DataLossError(
        absl::StrCat("encoded value: ", what, " at byte ", pos_));
  }

  bool Byte(uint8_t* b) {
    if (pos_ >= data_.size()) return false;
    *b = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }

  // Only the encoder's own (shortest) form: a value has one encoding, so
  // decoding and encoding again gives back the same bytes.
  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!Byte(&b)) return false;
      if (shift == 63 && b > 1) return false;  // more than 64 bits
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        if (b == 0 && shift > 0) return false;  // a needless zero byte
        *v = result;
        return true;
      }
    }
    return false;
  }

  bool Take(uint64_t n, absl::string_view* out) {
    if (n > data_.size() - pos_) return false;
    *out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }

  // The tag of the next value, without consuming it.
  bool PeekTag(uint8_t* tag) const {
    if (pos_ >= data_.size()) return false;
    *tag = static_cast<uint8_t>(data_[pos_]);
    return true;
  }

  // A value_checks.h rule broken at the current offset.
  absl::Status Broken(const absl::Status& rule) const {
    return Fail(rule.message());
  }

  // Every step consumes at least one byte and compares a map key only with
  // the key before it, so decoding is linear in the input's size.
  absl::StatusOr<Value> Read(int depth) {
    if (absl::Status s = CheckValueDepth(depth, max_depth_); !s.ok()) {
      return Broken(s);
    }
    uint8_t tag;
    if (!Byte(&tag)) return Fail("truncated (no tag)");
    switch (tag) {
      case kNull:
        return Value();
      case kFalse:
        return Value(false);
      case kTrue:
        return Value(true);
      case kInt: {
        uint64_t z;
        if (!Varint(&z)) return Fail("bad int");
        return Value(static_cast<int64_t>((z >> 1) ^ -(z & 1)));
      }
      case kDouble: {
        absl::string_view raw;
        if (!Take(8, &raw)) return Fail("truncated double");
        uint64_t bits = 0;
        for (int i = 7; i >= 0; --i) bits = (bits << 8) | uint8_t(raw[i]);
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return Value(d);
      }
      case kString:
      case kBytes: {
        uint64_t n;
        absl::string_view raw;
        if (!Varint(&n) || !Take(n, &raw)) return Fail("truncated string");
        if (tag == kString) {
          if (absl::Status s = CheckText(raw); !s.ok()) return Broken(s);
          return Value(std::string(raw));
        }
        return Value(Bytes{std::string(raw)});
      }
      case kOpaque: {
        uint64_t n, m;
        absl::string_view format, data;
        if (!Varint(&n) || !Take(n, &format) || !Varint(&m) ||
            !Take(m, &data)) {
          return Fail("truncated opaque value");
        }
        if (absl::Status s = CheckText(format); !s.ok()) return Broken(s);
        return Value(Opaque{std::string(format), std::string(data)});
      }
      case kList: {
        uint64_t n;
        // Each item takes at least one byte: bounds the reservation.
        if (!Varint(&n) || n > data_.size() - pos_) return Fail("bad list");
        List items;
        items.reserve(n);
        for (uint64_t i = 0; i < n; ++i) {
          absl::StatusOr<Value> item = Read(depth + 1);
          if (!item.ok()) return item.status();
          items.push_back(*std::move(item));
        }
        return Value(std::move(items));
      }
      case kMap: {
        uint64_t n;
        if (!Varint(&n) || n > data_.size() - pos_) return Fail("bad map");
        Map map;
        for (uint64_t i = 0; i < n; ++i) {
          // A list or map as a key is refused before it is read.
          uint8_t key_tag;
          if (!PeekTag(&key_tag)) return Fail("truncated (no tag)");
          if (key_tag == kList || key_tag == kMap) {
            return Broken(CheckMapKeyType(
                key_tag == kList ? Value::Type::kList : Value::Type::kMap));
          }
          absl::StatusOr<Value> key = Read(depth + 1);
          if (!key.ok()) return key.status();
          // The encoder writes keys in ascending order; comparing each key
          // with the last one only keeps a map's cost linear and finds a
          // repeated key.
          // (Equivalence is the map's: NaN keys are one key.)
          if (!map.empty() && !(map.rbegin()->first < *key)) {
            if (*key < map.rbegin()->first) {
              return Fail("map keys out of order");
            }
            return Broken(DuplicateMapKey(*key));
          }
          absl::StatusOr<Value> value = Read(depth + 1);
          if (!value.ok()) return value.status();
          map.emplace_hint(map.end(), *std::move(key), *std::move(value));
        }
        return Value(std::move(map));
      }
      default:
        --pos_;
        return Fail(absl::StrCat("unknown tag ", tag));
    }
  }

 private:
  absl::string_view data_;
  const int max_depth_;
  size_t pos_ = 0;
};

}  // namespace

void EncodeValue(const Value& value, std::string* out) {
  switch (value.type()) {
    case Value::Type::kNull:
      out->push_back(kNull);
      return;
    case Value::Type::kBool:
      out->push_back(value.bool_value() ? kTrue : kFalse);
      return;
    case Value::Type::kInt: {
      int64_t i = value.int_value();
      out->push_back(kInt);
      PutVarint(
          (static_cast<uint64_t>(i) << 1) ^ static_cast<uint64_t>(i >> 63),
          out);
      return;
    }
    case Value::Type::kDouble: {
      double d = value.double_value();
      uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      out->push_back(kDouble);
      for (int i = 0; i < 8; ++i)
        out->push_back(static_cast<char>(bits >> (8 * i)));
      return;
    }
    case Value::Type::kString:
      PutLengthPrefixed(kString, value.string_value(), out);
      return;
    case Value::Type::kBytes:
      PutLengthPrefixed(kBytes, value.bytes_value(), out);
      return;
    case Value::Type::kOpaque:
      PutLengthPrefixed(kOpaque, value.opaque_value().format, out);
      PutVarint(value.opaque_value().data.size(), out);
      out->append(value.opaque_value().data);
      return;
    case Value::Type::kList:
      out->push_back(kList);
      PutVarint(value.list_value().size(), out);
      for (const Value& item : value.list_value()) EncodeValue(item, out);
      return;
    case Value::Type::kMap:
      out->push_back(kMap);
      PutVarint(value.map_value().size(), out);
      for (const auto& [k, v] : value.map_value()) {
        EncodeValue(k, out);
        EncodeValue(v, out);
      }
      return;
  }
}

absl::StatusOr<Value> DecodeValue(absl::string_view data, int outer_depth,
                                  int max_depth) {
  Reader reader(data, max_depth);
  absl::StatusOr<Value> value = reader.Read(outer_depth);
  if (value.ok() && !reader.done()) return reader.Fail("trailing bytes");
  return value;
}

}  // namespace mproc
