#include "server/errors.h"

#include "absl/strings/str_cat.h"
#include "common/op_table.h"

namespace mproc {

std::string SharedObject::Describe() const {
  return absl::StrCat(KindName(kind_), " '", name_, "'");
}

absl::Status SharedObject::Restore(absl::string_view key,
                                   absl::string_view value) {
  (void)value;
  return BadRecord(*this, key);
}

absl::Status SharedObject::RestoreMany(
    absl::Span<const std::pair<std::string, std::string>> records) {
  for (const auto& [key, value] : records) {
    if (absl::Status s = Restore(key, value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status BadRecord(const SharedObject& object, absl::string_view key) {
  return absl::DataLossError(absl::StrCat(
      object.Describe(),
      ": its record holds a key it never "
      "writes (",
      key.size(), " bytes, starting 0x",
      absl::Hex(key.empty() ? 0 : static_cast<unsigned char>(key[0]),
                absl::kZeroPad2),
      ")"));
}

absl::Status KeyNotFound(const SharedObject& object, const Value& key) {
  return absl::NotFoundError(
      absl::StrCat(object.Describe(), ": key ", key.ToString(), " not found"));
}

absl::Status AttributeNotFound(const SharedObject& object,
                               absl::string_view attribute) {
  return absl::NotFoundError(
      absl::StrCat(object.Describe(), ": no attribute '", attribute, "'"));
}

absl::Status IndexOutOfRange(const SharedObject& object, int64_t index,
                             size_t length) {
  return absl::OutOfRangeError(absl::StrCat(object.Describe(), ": index ",
                                            index, " out of range for length ",
                                            length));
}

absl::Status WrongArgumentType(const SharedObject& object,
                               absl::string_view what, absl::string_view wanted,
                               const Value& got) {
  return absl::InvalidArgumentError(
      absl::StrCat(object.Describe(), ": ", what, " must be ", wanted, ", got ",
                   got.type_name(), " ", got.ToString()));
}

absl::Status WrongKind(const SharedObject& existing, pb::Kind wanted) {
  return absl::FailedPreconditionError(
      absl::StrCat("'", existing.name(), "' is a ", KindName(existing.kind()),
                   ", not a ", KindName(wanted)));
}

absl::Status Annotate(const SharedObject& object, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(object.Describe(), ": ", status.message()));
}

}  // namespace mproc
