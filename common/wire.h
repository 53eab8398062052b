// Conversions between mproc's C++ types and the wire messages of
// proto/mproc.proto. Used by both the client library and the manager.
#ifndef MPROC_COMMON_WIRE_H_
#define MPROC_COMMON_WIRE_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/value.h"
#include "common/value_checks.h"
#include "proto/mproc.pb.h"

namespace mproc {

// Writes `v` into `*out` (cleared first). Lossless. Lists and maps nested
// deeper than kProtoNestingDepth travel as one `encoded` field (the value
// codec) instead of more protobuf levels, so that every message stays
// within protobuf's own parsing depth (100 messages) however deep the
// value; decoding counts their depth all the same.
void ValueToProto(const Value& v, pb::Value* out);
pb::Value ValueToProto(const Value& v);
// The same for a bare map or list, without wrapping it in a Value first.
void MapToProto(const Map& m, pb::Value* out);
void ListToProto(const List& l, pb::Value* out);

// The lists/maps deep a value is written as protobuf messages.
inline constexpr int kProtoNestingDepth = 16;

// Reads a wire value. INVALID_ARGUMENT if it breaks a rule of
// common/value_checks.h (nested deeper than `max_depth`, a string not
// UTF-8, a map key that is a list or map, a key that occurs twice). The
// wire's strings are bytes to protobuf, so a bad one fails here, for its
// request alone, and not in protobuf's parser (which would end the stream).
absl::StatusOr<Value> ValueFromProto(const pb::Value& v,
                                     int max_depth = kMaxValueDepth);

// Stores a status in a Response (code, message and error type).
void StatusToResponse(const absl::Status& s, pb::Response* out);

// The status a Response carries (with its error type as the payload
// common/object_errors.h tests); OK when its code is 0.
absl::Status StatusFromResponse(const pb::Response& r);

}  // namespace mproc

#endif  // MPROC_COMMON_WIRE_H_
