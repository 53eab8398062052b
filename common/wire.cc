#include "common/wire.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/object_errors.h"
#include "common/value_checks.h"
#include "common/value_codec.h"

namespace mproc {

namespace {

void ValueToProtoAt(const Value& v, int depth, pb::Value* out);

void ListToProtoAt(const List& l, int depth, pb::Value* out) {
  pb::ListValue* list = out->mutable_list_value();
  list->mutable_items()->Reserve(static_cast<int>(l.size()));
  for (const Value& item : l)
    ValueToProtoAt(item, depth + 1, list->add_items());
}

void MapToProtoAt(const Map& m, int depth, pb::Value* out) {
  pb::MapValue* map = out->mutable_map_value();
  map->mutable_entries()->Reserve(static_cast<int>(m.size()));
  for (const auto& [key, item] : m) {
    pb::MapEntry* e = map->add_entries();
    ValueToProtoAt(key, depth + 1, e->mutable_key());
    ValueToProtoAt(item, depth + 1, e->mutable_value());
  }
}

// `depth`: the lists and maps around `v`.
void ValueToProtoAt(const Value& v, int depth, pb::Value* out) {
  out->Clear();
  switch (v.type()) {
    case Value::Type::kNull:
      return;  // unset oneof is null
    case Value::Type::kBool:
      out->set_bool_value(v.bool_value());
      return;
    case Value::Type::kInt:
      out->set_int_value(v.int_value());
      return;
    case Value::Type::kDouble:
      out->set_double_value(v.double_value());
      return;
    case Value::Type::kString:
      out->set_string_value(v.string_value());
      return;
    case Value::Type::kBytes:
      out->set_bytes_value(v.bytes_value());
      return;
    case Value::Type::kOpaque:
      out->mutable_opaque_value()->set_format(v.opaque_value().format);
      out->mutable_opaque_value()->set_data(v.opaque_value().data);
      return;
    case Value::Type::kList:
    case Value::Type::kMap:
      if (depth >= kProtoNestingDepth) {
        EncodeValue(v, out->mutable_encoded());
      } else if (v.is_list()) {
        ListToProtoAt(v.list_value(), depth, out);
      } else {
        MapToProtoAt(v.map_value(), depth, out);
      }
      return;
  }
}

}  // namespace

void ValueToProto(const Value& v, pb::Value* out) { ValueToProtoAt(v, 0, out); }

void ListToProto(const List& l, pb::Value* out) { ListToProtoAt(l, 0, out); }

void MapToProto(const Map& m, pb::Value* out) { MapToProtoAt(m, 0, out); }

pb::Value ValueToProto(const Value& v) {
  pb::Value out;
  ValueToProto(v, &out);
  return out;
}

namespace {

Value::Type KindType(const pb::Value& v) {
  switch (v.kind_case()) {
    case pb::Value::kBoolValue:
      return Value::Type::kBool;
    case pb::Value::kIntValue:
      return Value::Type::kInt;
    case pb::Value::kDoubleValue:
      return Value::Type::kDouble;
    case pb::Value::kStringValue:
      return Value::Type::kString;
    case pb::Value::kBytesValue:
      return Value::Type::kBytes;
    case pb::Value::kOpaqueValue:
      return Value::Type::kOpaque;
    case pb::Value::kListValue:
      return Value::Type::kList;
    case pb::Value::kMapValue:
    case pb::Value::kEncoded:  // a list or a map
      return Value::Type::kMap;
    default:
      return Value::Type::kNull;
  }
}

// `depth`: the lists and maps around `v`.
absl::StatusOr<Value> ValueFromProtoAt(const pb::Value& v, int depth,
                                       int max_depth) {
  if (absl::Status s = CheckValueDepth(depth, max_depth); !s.ok()) return s;
  switch (v.kind_case()) {
    case pb::Value::KIND_NOT_SET:
    case pb::Value::kNullValue:
      return Value();
    case pb::Value::kBoolValue:
      return Value(v.bool_value());
    case pb::Value::kIntValue:
      return Value(v.int_value());
    case pb::Value::kDoubleValue:
      return Value(v.double_value());
    case pb::Value::kStringValue:
      if (absl::Status s = CheckText(v.string_value()); !s.ok()) return s;
      return Value(v.string_value());
    case pb::Value::kBytesValue:
      return Value(Bytes{v.bytes_value()});
    case pb::Value::kOpaqueValue:
      if (absl::Status s = CheckText(v.opaque_value().format()); !s.ok()) {
        return s;
      }
      return Value(Opaque{v.opaque_value().format(), v.opaque_value().data()});
    case pb::Value::kEncoded: {
      absl::StatusOr<Value> decoded =
          DecodeValue(v.encoded(), depth, max_depth);
      if (!decoded.ok()) {
        return absl::InvalidArgumentError(decoded.status().message());
      }
      if (!decoded->is_list() && !decoded->is_map()) {
        return absl::InvalidArgumentError(
            "an encoded value on the wire must be a list or a map");
      }
      return decoded;
    }
    case pb::Value::kListValue: {
      List items;
      items.reserve(v.list_value().items_size());
      for (const pb::Value& item : v.list_value().items()) {
        absl::StatusOr<Value> x = ValueFromProtoAt(item, depth + 1, max_depth);
        if (!x.ok()) return x;
        items.push_back(*std::move(x));
      }
      return Value(std::move(items));
    }
    case pb::Value::kMapValue: {
      Map entries;
      for (const pb::MapEntry& e : v.map_value().entries()) {
        // Checked before the key is read, so a key that is a deep map
        // costs nothing.
        if (absl::Status s = CheckMapKeyType(KindType(e.key())); !s.ok()) {
          return s;
        }
        absl::StatusOr<Value> key =
            ValueFromProtoAt(e.key(), depth + 1, max_depth);
        if (!key.ok()) return key;
        absl::StatusOr<Value> item =
            ValueFromProtoAt(e.value(), depth + 1, max_depth);
        if (!item.ok()) return item;
        auto [it, inserted] =
            entries.emplace(*std::move(key), *std::move(item));
        if (!inserted) return DuplicateMapKey(it->first);
      }
      return Value(std::move(entries));
    }
  }
  return absl::InvalidArgumentError("unknown value kind on the wire");
}

}  // namespace

absl::StatusOr<Value> ValueFromProto(const pb::Value& v, int max_depth) {
  return ValueFromProtoAt(v, 0, max_depth);
}

void StatusToResponse(const absl::Status& s, pb::Response* out) {
  out->set_code(static_cast<int32_t>(s.code()));
  out->set_message(std::string(s.message()));
  if (std::optional<std::string> type = ObjectErrorType(s)) {
    out->set_error_type(*std::move(type));
  }
}

absl::Status StatusFromResponse(const pb::Response& r) {
  if (r.code() == 0) return absl::OkStatus();
  return WithObjectErrorType(
      absl::Status(static_cast<absl::StatusCode>(r.code()), r.message()),
      r.error_type());
}

}  // namespace mproc
