// JSON text form of mproc::Value (Value::ToJson and Value::FromJson).
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/value.h"
#include "common/value_format_internal.h"

namespace mproc {
namespace {

constexpr absl::string_view kBytesKey = "$bytes";
constexpr absl::string_view kOpaqueKey = "$opaque";
constexpr absl::string_view kDoubleKey = "$double";
constexpr absl::string_view kMapKey = "$map";

// A one-entry map keyed by one of the typed forms' keys.
bool LooksTyped(const Map& m) {
  if (m.size() != 1 || !m.begin()->first.is_string()) return false;
  const std::string& k = m.begin()->first.string_value();
  return k == kBytesKey || k == kOpaqueKey || k == kDoubleKey || k == kMapKey;
}

// Whether a map is written as a JSON object: its keys are all strings and
// it cannot be taken for a typed form.
bool IsJsonObject(const Map& m) {
  for (const auto& entry : m) {
    if (!entry.first.is_string()) return false;
  }
  return !LooksTyped(m);
}

void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppend(out, "\\u00", absl::Hex(c, absl::kZeroPad2));
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void AppendJsonDouble(std::string* out, double d) {
  // Not JSON numbers: the typed form.
  if (std::isnan(d)) {
    out->append("{\"$double\": \"NaN\"}");
    return;
  }
  if (std::isinf(d)) {
    out->append(d > 0 ? "{\"$double\": \"Infinity\"}"
                      : "{\"$double\": \"-Infinity\"}");
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  absl::string_view s(buf, end - buf);
  out->append(s.data(), s.size());
  // Keep the double a double when read back.
  if (s.find_first_of(".eE") == absl::string_view::npos) out->append(".0");
}

void AppendJsonKey(std::string* out, const Value& key) {
  AppendJsonString(out, key.string_value());
}

void AppendJson(std::string* out, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull:
      out->append("null");
      return;
    case Value::Type::kBool:
      out->append(v.bool_value() ? "true" : "false");
      return;
    case Value::Type::kInt:
      absl::StrAppend(out, v.int_value());
      return;
    case Value::Type::kDouble:
      AppendJsonDouble(out, v.double_value());
      return;
    case Value::Type::kString:
      AppendJsonString(out, v.string_value());
      return;
    case Value::Type::kBytes:
      out->append("{\"$bytes\": ");
      AppendJsonString(out, absl::Base64Escape(v.bytes_value()));
      out->push_back('}');
      return;
    case Value::Type::kOpaque:
      out->append("{\"$opaque\": {\"format\": ");
      AppendJsonString(out, v.opaque_value().format);
      out->append(", \"data\": ");
      AppendJsonString(out, absl::Base64Escape(v.opaque_value().data));
      out->append("}}");
      return;
    case Value::Type::kList:
      value_internal::AppendList(out, v.list_value(), &AppendJson);
      return;
    case Value::Type::kMap:
      if (IsJsonObject(v.map_value())) {
        value_internal::AppendMap(out, v.map_value(), &AppendJsonKey,
                                  &AppendJson);
        return;
      }
      // Keys of other types (or a lone typed-form key): [[key, value]...].
      out->append("{\"$map\": [");
      for (auto it = v.map_value().begin(); it != v.map_value().end(); ++it) {
        if (it != v.map_value().begin()) out->append(", ");
        out->push_back('[');
        AppendJson(out, it->first);
        out->append(", ");
        AppendJson(out, it->second);
        out->push_back(']');
      }
      out->append("]}");
      return;
  }
}

// {"$opaque": {"format": F, "data": "<base64>"}}, as ToJson writes an
// opaque value, from its one key and value; nullopt for anything else.
std::optional<Value> OpaqueFromJson(const Value& key, const Value& value) {
  if (key != Value(kOpaqueKey) || !value.is_map() ||
      value.map_value().size() != 2) {
    return std::nullopt;
  }
  auto format = value.map_value().find(Value("format"));
  auto data = value.map_value().find(Value("data"));
  std::string raw;
  if (format == value.map_value().end() || data == value.map_value().end() ||
      !format->second.is_string() || !data->second.is_string() ||
      !absl::Base64Unescape(data->second.string_value(), &raw)) {
    return std::nullopt;
  }
  return Value(Opaque{format->second.string_value(), std::move(raw)});
}

// A recursive-descent parser over one JSON text.
class JsonParser {
 public:
  explicit JsonParser(absl::string_view text) : text_(text) {}

  absl::StatusOr<Value> ParseDocument() {
    absl::StatusOr<Value> v = ParseValue(0);
    if (!v.ok()) return v;
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected trailing text");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 512;

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON at offset ", pos_, ": ", what));
  }

  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t' ||
            text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  absl::StatusOr<Value> ParseValue(int depth) {
    if (depth > kMaxDepth) return Error("nesting too deep");
    SkipSpace();
    if (pos_ >= text_.size()) return Error("unexpected end of text");
    char c = text_[pos_];
    if (c == '{') return ParseObject(depth);
    if (c == '[') return ParseArray(depth);
    if (c == '"') {
      absl::StatusOr<std::string> s = ParseString();
      if (!s.ok()) return s.status();
      return Value(*std::move(s));
    }
    if (Consume("null")) return Value();
    if (Consume("true")) return Value(true);
    if (Consume("false")) return Value(false);
    return ParseNumber();
  }

  // JSON's number grammar. An integer must fit int64 (a larger one is
  // refused rather than rounded: write it with ".0" for a double); a
  // double must be finite.
  absl::StatusOr<Value> ParseNumber() {
    const size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    const size_t digits = pos_;
    while (pos_ < text_.size() &&
           std::isdigit(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
    if (pos_ == digits) return Error("expected a value");
    if (text_[digits] == '0' && pos_ - digits > 1) {
      pos_ = start;
      return Error("a number must not start with 0 (quote it for text)");
    }
    bool is_double = false;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      is_double = true;
      const size_t fraction = ++pos_;
      while (pos_ < text_.size() &&
             std::isdigit(static_cast<unsigned char>(text_[pos_])))
        ++pos_;
      if (pos_ == fraction) return Error("expected digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      is_double = true;
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-'))
        ++pos_;
      const size_t exponent = pos_;
      while (pos_ < text_.size() &&
             std::isdigit(static_cast<unsigned char>(text_[pos_])))
        ++pos_;
      if (pos_ == exponent) return Error("expected digits in the exponent");
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    const absl::string_view number(first, last - first);
    if (!is_double) {
      int64_t i;
      auto [p, ec] = std::from_chars(first, last, i);
      if (ec == std::errc() && p == last) return Value(i);
      pos_ = start;
      return Error(absl::StrCat("the integer ", number,
                                " does not fit 64 bits (write ", number,
                                ".0 for a double)"));
    }
    double d;
    auto [p, ec] = std::from_chars(first, last, d);
    if (ec != std::errc() || p != last || !std::isfinite(d)) {
      pos_ = start;
      return Error(
          absl::StrCat("the number ", number, " is out of a double's range"));
    }
    return Value(d);
  }

  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  absl::StatusOr<uint32_t> ParseHex4() {
    if (pos_ + 4 > text_.size()) return Error("short \\u escape");
    uint32_t cp = 0;
    auto [p, ec] =
        std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, cp, 16);
    if (ec != std::errc() || p != text_.data() + pos_ + 4) {
      return Error("bad \\u escape");
    }
    pos_ += 4;
    return cp;
  }

  absl::StatusOr<std::string> ParseString() {
    ++pos_;  // opening quote
    std::string out;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) {
        --pos_;
        return Error("a control character in a string (escape it)");
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          absl::StatusOr<uint32_t> cp = ParseHex4();
          if (!cp.ok()) return cp.status();
          uint32_t code = *cp;
          // UTF-16 escapes: a high surrogate must be followed by a low one;
          // a lone surrogate is no character (and no valid UTF-8).
          if (code >= 0xDC00 && code < 0xE000) {
            return Error("a lone low surrogate escape");
          }
          if (code >= 0xD800 && code < 0xDC00) {
            if (!Consume("\\u")) return Error("a lone high surrogate escape");
            absl::StatusOr<uint32_t> low = ParseHex4();
            if (!low.ok()) return low.status();
            if (*low < 0xDC00 || *low >= 0xE000) {
              return Error("a high surrogate escape without its low half");
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (*low - 0xDC00);
          }
          AppendUtf8(&out, code);
          break;
        }
        default:
          return Error("bad escape in string");
      }
    }
    return Error("unterminated string");
  }

  absl::StatusOr<Value> ParseArray(int depth) {
    ++pos_;
    List items;
    SkipSpace();
    if (Consume("]")) return Value(std::move(items));
    while (true) {
      absl::StatusOr<Value> item = ParseValue(depth + 1);
      if (!item.ok()) return item;
      items.push_back(*std::move(item));
      SkipSpace();
      if (Consume("]")) return Value(std::move(items));
      if (!Consume(",")) return Error("expected ',' or ']'");
    }
  }

  absl::StatusOr<Value> ParseObject(int depth) {
    ++pos_;
    Map entries;
    SkipSpace();
    if (Consume("}")) return Value(std::move(entries));
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') {
        return Error("expected a string key");
      }
      absl::StatusOr<std::string> key = ParseString();
      if (!key.ok()) return key.status();
      SkipSpace();
      if (!Consume(":")) return Error("expected ':'");
      absl::StatusOr<Value> item = ParseValue(depth + 1);
      if (!item.ok()) return item;
      const size_t key_end = pos_;
      if (!entries.emplace(Value(*std::move(key)), *std::move(item)).second) {
        pos_ = key_end;
        return Error("a key occurs twice in the object");
      }
      SkipSpace();
      if (Consume("}")) break;
      if (!Consume(",")) return Error("expected ',' or '}'");
    }
    if (LooksTyped(entries)) return TypedValue(entries);
    return Value(std::move(entries));
  }

  // A typed form, as ToJson writes what JSON has no form for.
  absl::StatusOr<Value> TypedValue(Map& entries) const {
    const std::string& key = entries.begin()->first.string_value();
    Value& v = entries.begin()->second;
    if (key == kBytesKey) {
      std::string raw;
      if (v.is_string() && absl::Base64Unescape(v.string_value(), &raw)) {
        return Value(Bytes{std::move(raw)});
      }
      return Error("$bytes needs base64 text");
    }
    if (key == kOpaqueKey) {
      if (std::optional<Value> opaque =
              OpaqueFromJson(entries.begin()->first, v)) {
        return *std::move(opaque);
      }
      return Error("$opaque needs {\"format\": text, \"data\": base64}");
    }
    if (key == kDoubleKey) {
      if (v == Value("NaN")) return Value(std::nan(""));
      if (v == Value("Infinity")) return Value(HUGE_VAL);
      if (v == Value("-Infinity")) return Value(-HUGE_VAL);
      return Error("$double is \"NaN\", \"Infinity\" or \"-Infinity\"");
    }
    // $map: [[key, value], ...]
    if (!v.is_list()) return Error("$map needs a list of [key, value] pairs");
    Map out;
    for (Value& pair : v.mutable_list()) {
      if (!pair.is_list() || pair.list_value().size() != 2 ||
          !pair.list_value()[0].is_scalar()) {
        return Error("$map needs [key, value] pairs with scalar keys");
      }
      if (!out.emplace(std::move(pair.mutable_list()[0]),
                       std::move(pair.mutable_list()[1]))
               .second) {
        return Error("a key occurs twice in the $map");
      }
    }
    return Value(std::move(out));
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::string Value::ToJson() const {
  std::string out;
  AppendJson(&out, *this);
  return out;
}

absl::StatusOr<Value> Value::FromJson(absl::string_view json) {
  return JsonParser(json).ParseDocument();
}

}  // namespace mproc
