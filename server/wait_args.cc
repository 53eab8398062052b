#include "server/wait_args.h"

#include "absl/strings/str_cat.h"
#include "server/errors.h"

namespace mproc {

absl::StatusOr<bool> BlockArg(const SharedObject& object, const OpInfo& op,
                              const CommandArgs& a, size_t i) {
  const Value* v = a.Optional(i);
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_bool()) {
    return WrongArgumentType(object, absl::StrCat("block of ", op.name),
                             "a bool", *v);
  }
  return v->bool_value();
}

absl::StatusOr<absl::Duration> TimeoutArg(const SharedObject& object,
                                          const OpInfo& op,
                                          const CommandArgs& a, size_t i) {
  const Value* v = a.Optional(i);
  if (v == nullptr || v->is_null()) return absl::InfiniteDuration();
  if (!v->is_number()) {
    return WrongArgumentType(object, absl::StrCat("timeout of ", op.name),
                             "a number of seconds", *v);
  }
  const double seconds = v->AsDouble();
  if (!(seconds >= 0)) {  // also refuses NaN
    return absl::InvalidArgumentError(
        absl::StrCat(object.Describe(), ": timeout of ", op.name,
                     " must be >= 0 seconds, got ", v->ToString()));
  }
  return absl::Seconds(seconds);
}

}  // namespace mproc
