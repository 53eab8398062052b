// Values on the command line and in the CLI's output.
//
// A command-line value is a string unless it starts like JSON — a digit,
// "-" followed by a digit, "[", "{", "\"", or is exactly true,
// false or null — and then it must parse strictly as JSON
// (Value::FromJson: the typed forms, int64 integers, finite doubles), or
// the command fails with the parse error. Numbers with leading zeros
// ("007", "-01.5") are strings, as a zip code or an id is meant.
#ifndef MPROC_CLI_VALUES_H_
#define MPROC_CLI_VALUES_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/value.h"

namespace mproc {
namespace cli {

// INVALID_ARGUMENT naming the text and the JSON error. `as_string`
// (--string): the text itself, always.
absl::StatusOr<Value> ParseCliValue(const std::string& text, bool as_string);

// A result as printed: JSON (Value::ToJson, always valid JSON); with `raw`
// (--raw) a string's text and bytes as they are, other values as JSON.
std::string FormatResult(const Value& value, bool raw);

}  // namespace cli
}  // namespace mproc

#endif  // MPROC_CLI_VALUES_H_
