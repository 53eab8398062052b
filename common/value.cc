#include "common/value.h"

#include <charconv>
#include <cmath>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/value_format_internal.h"

namespace mproc {
namespace {

// Shortest text that reads back as the same double, with Python's ".0"
// suffix for integral values.
std::string FormatDouble(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  std::string s(buf, end);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

void AppendQuoted(std::string* out, const std::string& s, bool bytes) {
  if (bytes) out->push_back('b');
  out->push_back('\'');
  for (unsigned char c : s) {
    switch (c) {
      case '\'':
        out->append("\\'");
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
      default:
        if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
          absl::StrAppend(out, "\\x", absl::Hex(c, absl::kZeroPad2));
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('\'');
}

void AppendRepr(std::string* out, const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull:
      out->append("None");
      return;
    case Value::Type::kBool:
      out->append(v.bool_value() ? "True" : "False");
      return;
    case Value::Type::kInt:
      absl::StrAppend(out, v.int_value());
      return;
    case Value::Type::kDouble:
      out->append(FormatDouble(v.double_value()));
      return;
    case Value::Type::kString:
      AppendQuoted(out, v.string_value(), false);
      return;
    case Value::Type::kBytes:
      AppendQuoted(out, v.bytes_value(), true);
      return;
    case Value::Type::kList:
      value_internal::AppendList(out, v.list_value(), &AppendRepr);
      return;
    case Value::Type::kMap:
      value_internal::AppendMap(out, v.map_value(), &AppendRepr, &AppendRepr);
      return;
    case Value::Type::kOpaque:
      absl::StrAppend(out, "<", v.opaque_value().format, " ",
                      v.opaque_value().data.size(), " bytes>");
      return;
  }
}

}  // namespace

const char* Value::TypeName(Type t) {
  switch (t) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int";
    case Type::kDouble:
      return "double";
    case Type::kString:
      return "string";
    case Type::kBytes:
      return "bytes";
    case Type::kList:
      return "list";
    case Type::kMap:
      return "map";
    case Type::kOpaque:
      return "opaque";
  }
  return "unknown";
}

double Value::AsDouble() const {
  if (is_int()) return static_cast<double>(int_value());
  if (is_double()) return double_value();
  return 0;
}

std::string Value::ToString() const {
  std::string out;
  AppendRepr(&out, *this);
  return out;
}

bool operator==(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::kNull:
      return true;
    case Value::Type::kBool:
      return a.bool_value() == b.bool_value();
    case Value::Type::kInt:
      return a.int_value() == b.int_value();
    case Value::Type::kDouble:
      return a.double_value() == b.double_value();
    case Value::Type::kString:
      return a.string_value() == b.string_value();
    case Value::Type::kBytes:
      return a.bytes_value() == b.bytes_value();
    case Value::Type::kList:
      return a.list_value() == b.list_value();
    case Value::Type::kMap:
      return a.map_value() == b.map_value();
    case Value::Type::kOpaque:
      return a.opaque_value() == b.opaque_value();
  }
  return false;
}

bool operator<(const Value& a, const Value& b) {
  if (a.type() != b.type()) return a.type() < b.type();
  switch (a.type()) {
    case Value::Type::kNull:
      return false;
    case Value::Type::kBool:
      return a.bool_value() < b.bool_value();
    case Value::Type::kInt:
      return a.int_value() < b.int_value();
    case Value::Type::kDouble: {
      // NaN sorts after every number so the order stays total.
      double x = a.double_value(), y = b.double_value();
      if (std::isnan(x) || std::isnan(y))
        return !std::isnan(x) && std::isnan(y);
      return x < y;
    }
    case Value::Type::kString:
      return a.string_value() < b.string_value();
    case Value::Type::kBytes:
      return a.bytes_value() < b.bytes_value();
    case Value::Type::kList:
      return a.list_value() < b.list_value();
    case Value::Type::kMap:
      return a.map_value() < b.map_value();
    case Value::Type::kOpaque: {
      const Opaque& x = a.opaque_value();
      const Opaque& y = b.opaque_value();
      return std::tie(x.format, x.data) < std::tie(y.format, y.data);
    }
  }
  return false;
}

namespace value_internal {

absl::Status TypeMismatch(const Value& v, const char* wanted) {
  return absl::InvalidArgumentError(absl::StrCat(
      "expected ", wanted, ", got ", v.type_name(), " ", v.ToString()));
}

absl::Status IntOutOfRange(const Value& v, const char* wanted) {
  return absl::OutOfRangeError(
      absl::StrCat(v.ToString(), " does not fit the requested ", wanted));
}

}  // namespace value_internal
}  // namespace mproc
