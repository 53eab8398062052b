#include "server/answer_budget.h"

#include "absl/strings/str_cat.h"

namespace mproc {

int64_t ApproximateWireBytes(const Value& value) {
  // One byte of tag (or framing) per value, plus its payload.
  switch (value.type()) {
    case Value::Type::kNull:
    case Value::Type::kBool:
    case Value::Type::kInt:
      return 2;
    case Value::Type::kDouble:
      return 9;
    case Value::Type::kString:
      return 2 + static_cast<int64_t>(value.string_value().size());
    case Value::Type::kBytes:
      return 2 + static_cast<int64_t>(value.bytes_value().size());
    case Value::Type::kOpaque:
      return 4 + static_cast<int64_t>(value.opaque_value().format.size() +
                                      value.opaque_value().data.size());
    case Value::Type::kList: {
      int64_t bytes = 2;
      for (const Value& item : value.list_value()) {
        bytes += ApproximateWireBytes(item);
      }
      return bytes;
    }
    case Value::Type::kMap: {
      int64_t bytes = 2;
      for (const auto& [key, item] : value.map_value()) {
        bytes += ApproximateWireBytes(key) + ApproximateWireBytes(item);
      }
      return bytes;
    }
  }
  return 1;
}

absl::Status AnswerBudget::Exceeded(const SharedObject& object,
                                    const char* op) const {
  return AnswerTooLarge(object.Describe(), op, spent_, /*at_least=*/true,
                        limit_);
}

absl::Status AnswerTooLarge(const std::string& object, const char* op,
                            int64_t bytes, bool at_least, int64_t limit) {
  return absl::ResourceExhaustedError(absl::StrCat(
      object, ": the answer of ", op, " would be ", at_least ? "over " : "",
      bytes, " bytes; the limit is ", limit,
      " (the manager's --max-message-bytes); ask for less at a time"));
}

}  // namespace mproc
