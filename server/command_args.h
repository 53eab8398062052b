// Argument checking for the command layer: every message has the form
// "<kind> '<name>': <what> of <op> must be <type>, got <value>".
#ifndef MPROC_SERVER_COMMAND_ARGS_H_
#define MPROC_SERVER_COMMAND_ARGS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/op_table.h"
#include "common/value.h"
#include "server/errors.h"
#include "server/shared_object.h"

namespace mproc {

// Reads the arguments of one operation with type checks.
class CommandArgs {
 public:
  CommandArgs(const SharedObject& object, const OpInfo& op, List& args)
      : object_(object), op_(op), args_(args) {}

  // The operation being run (its name is in the messages).
  const OpInfo& op() const { return op_; }
  size_t size() const { return args_.size(); }
  const Value& operator[](size_t i) const { return args_[i]; }
  // Moves argument i out (for large maps and lists that are stored).
  Value Take(size_t i) const { return std::move(args_[i]); }
  // nullptr when the optional argument i was not given.
  const Value* Optional(size_t i) const {
    return i < args_.size() ? &args_[i] : nullptr;
  }

  absl::StatusOr<int64_t> Int(size_t i, absl::string_view what) const {
    if (!args_[i].is_int()) return Wrong(what, "an int", args_[i]);
    return args_[i].int_value();
  }

  // An int, or nullopt for null or a missing argument (slice bounds).
  absl::StatusOr<std::optional<int64_t>> OptionalInt(
      size_t i, absl::string_view what) const {
    if (i >= args_.size() || args_[i].is_null()) return std::nullopt;
    absl::StatusOr<int64_t> v = Int(i, what);
    if (!v.ok()) return v.status();
    return std::optional<int64_t>(*v);
  }

  absl::StatusOr<const Value*> Key(size_t i) const {
    if (!args_[i].is_scalar()) {
      return Wrong("key", "a scalar (null, bool, int, double, string, bytes)",
                   args_[i]);
    }
    return &args_[i];
  }

  absl::StatusOr<const std::string*> String(size_t i,
                                            absl::string_view what) const {
    if (!args_[i].is_string()) return Wrong(what, "a string", args_[i]);
    return &args_[i].string_value();
  }

  absl::StatusOr<const List*> ListArg(size_t i, absl::string_view what) const {
    if (!args_[i].is_list()) return Wrong(what, "a list", args_[i]);
    return &args_[i].list_value();
  }

  absl::StatusOr<const Map*> MapArg(size_t i, absl::string_view what) const {
    if (!args_[i].is_map()) return Wrong(what, "a map", args_[i]);
    return &args_[i].map_value();
  }

 private:
  absl::Status Wrong(absl::string_view what, absl::string_view wanted,
                     const Value& got) const {
    return WrongArgumentType(object_, absl::StrCat(what, " of ", op_.name),
                             wanted, got);
  }

  const SharedObject& object_;
  const OpInfo& op_;
  List& args_;
};

// A command's result for an operation that returns nothing.
inline absl::StatusOr<Value> Done(const absl::Status& s) {
  if (!s.ok()) return s;
  return Value();
}

}  // namespace mproc

// Unwraps a StatusOr<T> into `var`, or returns its status (command files
// only).
#define MPROC_ASSIGN_OR_RETURN(var, expr)       \
  auto var##_or = (expr);                       \
  if (!var##_or.ok()) return var##_or.status(); \
  auto var = *std::move(var##_or)

#endif  // MPROC_SERVER_COMMAND_ARGS_H_
