// mproc::Value: the dynamically typed value every shared object holds.
//
// A Value is one of null, bool, int (int64), double, string (UTF-8 text),
// bytes, list of Values, map from scalar Values to Values, or an opaque
// value — the data a Python program passes through a Manager. Values are
// ordinary C++ values: copies are deep, equality is structural, and they can be
// keys of hash and ordered maps. Ints and doubles are distinct types (Value(1)
// != Value(1.0)), unlike Python, so a stored key always reads back as what was
// written.
//
// Thread-safety: like std::string — const methods may be called
// concurrently; mutation needs external synchronization.
#ifndef MPROC_COMMON_VALUE_H_
#define MPROC_COMMON_VALUE_H_

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mproc {

// Raw bytes, kept apart from text so both survive a round trip.
struct Bytes {
  std::string data;
  friend bool operator==(const Bytes& a, const Bytes& b) {
    return a.data == b.data;
  }
};

// A value the manager stores, compares and hashes by its bytes without
// interpreting them: `format` says what the bytes are ("pickle": a Python
// object pickled by the Python client, for what has no native kind —
// tuples, sets, big ints, instances). Equal when format and data are.
// A scalar: it may be a dict key.
struct Opaque {
  std::string format;
  std::string data;
  friend bool operator==(const Opaque& a, const Opaque& b) {
    return a.format == b.format && a.data == b.data;
  }
};

class Value;
using List = std::vector<Value>;
using Map = std::map<Value, Value>;

namespace value_internal {
// Owns a T on the heap with value semantics; keeps sizeof(Value) small.
template <typename T>
class Box {
 public:
  Box() : ptr_(std::make_unique<T>()) {}
  explicit Box(T v) : ptr_(std::make_unique<T>(std::move(v))) {}
  Box(const Box& o) : ptr_(std::make_unique<T>(*o.ptr_)) {}
  Box(Box&&) noexcept = default;
  Box& operator=(const Box& o) {
    ptr_ = std::make_unique<T>(*o.ptr_);
    return *this;
  }
  Box& operator=(Box&&) noexcept = default;
  const T& get() const { return *ptr_; }
  T& get() { return *ptr_; }

 private:
  std::unique_ptr<T> ptr_;
};
}  // namespace value_internal

class Value {
 public:
  enum class Type {
    kNull,
    kBool,
    kInt,
    kDouble,
    kString,
    kBytes,
    kList,
    kMap,
    kOpaque
  };

  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b) : rep_(b) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>,
                             int> = 0>
  Value(T i) : rep_(static_cast<int64_t>(i)) {}
  Value(double d) : rep_(d) {}
  Value(float f) : rep_(static_cast<double>(f)) {}
  Value(const char* s) : rep_(std::string(s)) {}
  Value(std::string s) : rep_(std::move(s)) {}
  Value(absl::string_view s) : rep_(std::string(s)) {}
  Value(std::string_view s) : rep_(std::string(s)) {}
  Value(Bytes b) : rep_(std::move(b)) {}
  Value(List l) : rep_(ListBox(std::move(l))) {}
  Value(Map m) : rep_(MapBox(std::move(m))) {}
  Value(Opaque o) : rep_(OpaqueBox(std::move(o))) {}
  template <typename T>
  Value(const std::vector<T>& v) : rep_(ListBox(List(v.begin(), v.end()))) {}
  template <typename K, typename V>
  Value(const std::map<K, V>& m) : rep_(MapBox(Map(m.begin(), m.end()))) {}
  template <typename K, typename V>
  Value(const std::unordered_map<K, V>& m)
      : rep_(MapBox(Map(m.begin(), m.end()))) {}
  template <typename T>
  Value(const std::optional<T>& v) : Value() {
    if (v.has_value()) *this = Value(*v);
  }

  Type type() const { return static_cast<Type>(rep_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_int() const { return type() == Type::kInt; }
  bool is_double() const { return type() == Type::kDouble; }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return type() == Type::kString; }
  bool is_bytes() const { return type() == Type::kBytes; }
  bool is_list() const { return type() == Type::kList; }
  bool is_map() const { return type() == Type::kMap; }
  bool is_opaque() const { return type() == Type::kOpaque; }
  // Scalars may be map keys: everything but lists and maps.
  bool is_scalar() const { return !is_list() && !is_map(); }

  // Unchecked accessors: the type must match (checked with assert-like
  // std::get, which throws std::bad_variant_access otherwise).
  bool bool_value() const { return std::get<bool>(rep_); }
  int64_t int_value() const { return std::get<int64_t>(rep_); }
  double double_value() const { return std::get<double>(rep_); }
  const std::string& string_value() const {
    return std::get<std::string>(rep_);
  }
  const std::string& bytes_value() const { return std::get<Bytes>(rep_).data; }
  const List& list_value() const { return std::get<ListBox>(rep_).get(); }
  List& mutable_list() { return std::get<ListBox>(rep_).get(); }
  const Map& map_value() const { return std::get<MapBox>(rep_).get(); }
  Map& mutable_map() { return std::get<MapBox>(rep_).get(); }
  const Opaque& opaque_value() const { return std::get<OpaqueBox>(rep_).get(); }

  // An int or double as a double; 0 for other types.
  double AsDouble() const;

  // Checked conversion to an ordinary C++ type: bool, any integer type
  // (range-checked), double/float (ints widen), std::string (string only),
  // Bytes, Value, std::vector<T>, std::map<K, V>, std::optional<T> (null →
  // nullopt). INVALID_ARGUMENT naming both types on mismatch.
  template <typename T>
  absl::StatusOr<T> As() const;

  // Python-like repr: None, True, 3, 2.5, 'text', b'\x00', [1, 2], {'a': 1}.
  std::string ToString() const;

  // JSON text, always valid JSON. What JSON has no form for is written in
  // a typed form, read back by FromJson: bytes {"$bytes": "<base64>"}, a
  // non-finite double {"$double": "NaN" | "Infinity" | "-Infinity"}, a map
  // whose keys are not all strings (or whose one key is a typed form's)
  // {"$map": [[key, value], ...]}, an opaque value {"$opaque": {"format":
  // F, "data": "<base64>"}}.
  std::string ToJson() const;

  // Parses JSON text strictly: objects become maps with string keys (a key
  // twice is an error), the typed forms above their values; an integer
  // must fit int64 (write 1e19 or 10000000000000000000.0 for a double), a
  // double must be finite, no leading zeros, no NaN literals.
  // INVALID_ARGUMENT with the offset of the first error.
  static absl::StatusOr<Value> FromJson(absl::string_view json);

  // Human name of a type: "null", "bool", "int", "double", "string",
  // "bytes", "list", "map", "opaque".
  static const char* TypeName(Type t);
  const char* type_name() const { return TypeName(type()); }

  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }
  // A total order: by type first, then by value.
  friend bool operator<(const Value& a, const Value& b);

  template <typename H>
  friend H AbslHashValue(H h, const Value& v) {
    h = H::combine(std::move(h), v.rep_.index());
    switch (v.type()) {
      case Type::kNull:
        return h;
      case Type::kBool:
        return H::combine(std::move(h), v.bool_value());
      case Type::kInt:
        return H::combine(std::move(h), v.int_value());
      case Type::kDouble:
        return H::combine(std::move(h), v.double_value());
      case Type::kString:
        return H::combine(std::move(h), v.string_value());
      case Type::kBytes:
        return H::combine(std::move(h), v.bytes_value());
      case Type::kList:
        return H::combine(std::move(h), v.list_value());
      case Type::kMap:
        for (const auto& [k, x] : v.map_value()) {
          h = H::combine(std::move(h), k, x);
        }
        return h;
      case Type::kOpaque:
        return H::combine(std::move(h), v.opaque_value().format,
                          v.opaque_value().data);
    }
    return h;
  }

 private:
  using ListBox = value_internal::Box<List>;
  using MapBox = value_internal::Box<Map>;
  using OpaqueBox = value_internal::Box<Opaque>;
  std::variant<std::monostate, bool, int64_t, double, std::string, Bytes,
               ListBox, MapBox, OpaqueBox>
      rep_;
};

namespace value_internal {
absl::Status TypeMismatch(const Value& v, const char* wanted);
absl::Status IntOutOfRange(const Value& v, const char* wanted);

template <typename T>
struct Converter;

template <>
struct Converter<Value> {
  static absl::StatusOr<Value> From(const Value& v) { return v; }
};
template <>
struct Converter<bool> {
  static absl::StatusOr<bool> From(const Value& v) {
    if (!v.is_bool()) return TypeMismatch(v, "bool");
    return v.bool_value();
  }
};
template <>
struct Converter<double> {
  static absl::StatusOr<double> From(const Value& v) {
    if (!v.is_number()) return TypeMismatch(v, "double");
    return v.AsDouble();
  }
};
template <>
struct Converter<float> {
  static absl::StatusOr<float> From(const Value& v) {
    if (!v.is_number()) return TypeMismatch(v, "float");
    return static_cast<float>(v.AsDouble());
  }
};
template <>
struct Converter<std::string> {
  static absl::StatusOr<std::string> From(const Value& v) {
    if (!v.is_string()) return TypeMismatch(v, "string");
    return v.string_value();
  }
};
template <>
struct Converter<Bytes> {
  static absl::StatusOr<Bytes> From(const Value& v) {
    if (!v.is_bytes()) return TypeMismatch(v, "bytes");
    return Bytes{v.bytes_value()};
  }
};
template <typename T>
struct Converter<std::optional<T>> {
  static absl::StatusOr<std::optional<T>> From(const Value& v) {
    if (v.is_null()) return std::optional<T>();
    absl::StatusOr<T> t = Converter<T>::From(v);
    if (!t.ok()) return t.status();
    return std::optional<T>(*std::move(t));
  }
};
template <typename T>
struct Converter<std::vector<T>> {
  static absl::StatusOr<std::vector<T>> From(const Value& v) {
    if (!v.is_list()) return TypeMismatch(v, "list");
    std::vector<T> out;
    out.reserve(v.list_value().size());
    for (const Value& item : v.list_value()) {
      absl::StatusOr<T> t = Converter<T>::From(item);
      if (!t.ok()) return t.status();
      out.push_back(*std::move(t));
    }
    return out;
  }
};
template <typename K, typename V>
struct Converter<std::map<K, V>> {
  static absl::StatusOr<std::map<K, V>> From(const Value& v) {
    if (!v.is_map()) return TypeMismatch(v, "map");
    std::map<K, V> out;
    for (const auto& [key, item] : v.map_value()) {
      absl::StatusOr<K> k = Converter<K>::From(key);
      if (!k.ok()) return k.status();
      absl::StatusOr<V> x = Converter<V>::From(item);
      if (!x.ok()) return x.status();
      out.emplace(*std::move(k), *std::move(x));
    }
    return out;
  }
};
template <typename T>
struct IntConverter {
  static absl::StatusOr<T> From(const Value& v) {
    if (!v.is_int()) return TypeMismatch(v, "int");
    int64_t i = v.int_value();
    if constexpr (std::is_unsigned_v<T>) {
      if (i < 0 || static_cast<uint64_t>(i) > std::numeric_limits<T>::max()) {
        return IntOutOfRange(v, "unsigned integer");
      }
    } else {
      if (i < std::numeric_limits<T>::min() ||
          i > std::numeric_limits<T>::max()) {
        return IntOutOfRange(v, "integer");
      }
    }
    return static_cast<T>(i);
  }
};
template <>
struct Converter<int> : IntConverter<int> {};
template <>
struct Converter<long> : IntConverter<long> {};
template <>
struct Converter<long long> : IntConverter<long long> {};
template <>
struct Converter<unsigned> : IntConverter<unsigned> {};
template <>
struct Converter<unsigned long> : IntConverter<unsigned long> {};
template <>
struct Converter<short> : IntConverter<short> {};
}  // namespace value_internal

template <typename T>
absl::StatusOr<T> Value::As() const {
  return value_internal::Converter<T>::From(*this);
}

}  // namespace mproc

#endif  // MPROC_COMMON_VALUE_H_
