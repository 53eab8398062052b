#include "cli/values.h"

#include <cctype>

#include "absl/strings/str_cat.h"

namespace mproc {
namespace cli {
namespace {

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)); }

// "007", "-01", "00.5": a leading zero followed by another digit.
bool HasLeadingZero(const std::string& text) {
  const size_t start = !text.empty() && text[0] == '-' ? 1 : 0;
  return text.size() > start + 1 && text[start] == '0' &&
         IsDigit(text[start + 1]);
}

bool StartsLikeJson(const std::string& text) {
  if (text.empty()) return false;
  const char c = text[0];
  if (IsDigit(c) || c == '[' || c == '{' || c == '"') return true;
  if (c == '-' && text.size() > 1 && IsDigit(text[1])) return true;
  return text == "true" || text == "false" || text == "null";
}

}  // namespace

absl::StatusOr<Value> ParseCliValue(const std::string& text, bool as_string) {
  if (as_string || !StartsLikeJson(text) || HasLeadingZero(text)) {
    return Value(text);
  }
  absl::StatusOr<Value> json = Value::FromJson(text);
  if (!json.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' starts like JSON but is not: ", json.status().message(),
        " (--string stores it as text)"));
  }
  return json;
}

std::string FormatResult(const Value& value, bool raw) {
  if (raw && value.is_string()) return value.string_value();
  if (raw && value.is_bytes()) return value.bytes_value();
  return value.ToJson();
}

}  // namespace cli
}  // namespace mproc
