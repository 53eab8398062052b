#include "common/value_checks.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace mproc {

absl::Status CheckValueDepth(int depth, int max_depth) {
  if (depth <= max_depth) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("value nests deeper than ", max_depth, " levels"));
}

absl::Status CheckText(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The length of the sequence and the range its second byte may take
    // (which rules out overlong forms, surrogates and > U+10FFFF).
    size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    }
    bool valid =
        length > 0 && i + length <= n && p[i + 1] >= low && p[i + 1] <= high;
    for (size_t k = 2; valid && k < length; ++k) {
      valid = p[i + k] >= 0x80 && p[i + k] <= 0xBF;
    }
    if (!valid) {
      return absl::InvalidArgumentError(
          absl::StrCat("string is not valid UTF-8 (at byte ", i,
                       "); send bytes for binary data"));
    }
    i += length;
  }
  return absl::OkStatus();
}

namespace {
absl::Status CheckToSendAt(const Value& value, int depth, int max_depth);

absl::Status CheckItemsAt(const List& list, int depth, int max_depth) {
  for (const Value& item : list) {
    if (absl::Status s = CheckToSendAt(item, depth + 1, max_depth); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEntriesAt(const Map& map, int depth, int max_depth) {
  for (const auto& [key, item] : map) {
    for (const Value* v : {&key, &item}) {
      if (absl::Status s = CheckToSendAt(*v, depth + 1, max_depth); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckToSendAt(const Value& value, int depth, int max_depth) {
  if (absl::Status s = CheckValueDepth(depth, max_depth); !s.ok()) return s;
  switch (value.type()) {
    case Value::Type::kString:
      return CheckText(value.string_value());
    case Value::Type::kOpaque:
      return CheckText(value.opaque_value().format);
    case Value::Type::kList:
      return CheckItemsAt(value.list_value(), depth, max_depth);
    case Value::Type::kMap:
      return CheckEntriesAt(value.map_value(), depth, max_depth);
    default:
      return absl::OkStatus();
  }
}
}  // namespace

absl::Status CheckValueToSend(const Value& value, int max_depth) {
  return CheckToSendAt(value, 0, max_depth);
}

absl::Status CheckValueToSend(const List& list, int max_depth) {
  return CheckItemsAt(list, -1, max_depth);
}

absl::Status CheckValueToSend(const Map& map, int max_depth) {
  return CheckEntriesAt(map, -1, max_depth);
}

absl::Status CheckMapKeyType(Value::Type type) {
  if (type != Value::Type::kList && type != Value::Type::kMap) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("map keys must be scalars, got a ",
                   type == Value::Type::kList ? "list" : "map"));
}

absl::Status DuplicateMapKey(const Value& key) {
  constexpr size_t kShown = 64;  // a key may be megabytes long
  std::string shown = key.ToString();
  if (shown.size() > kShown)
    shown = absl::StrCat(shown.substr(0, kShown), "...");
  return absl::InvalidArgumentError(
      absl::StrCat("map key ", shown, " occurs twice"));
}

}  // namespace mproc
