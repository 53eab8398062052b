// Conversions between mproc's C++ types and the wire messages of
// proto/mproc.proto. Used by both the client library and the manager.
#ifndef MPROC_CLIENT_WIRE_H_
#define MPROC_CLIENT_WIRE_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/value.h"
#include "proto/mproc.pb.h"

namespace mproc {

// Writes `v` into `*out` (cleared first). Lossless.
void ValueToProto(const Value& v, pb::Value* out);
pb::Value ValueToProto(const Value& v);
// The same for a bare map or list, without wrapping it in a Value first.
void MapToProto(const Map& m, pb::Value* out);
void ListToProto(const List& l, pb::Value* out);

// Reads a wire value. INVALID_ARGUMENT if a map key is a list or map, or a
// key occurs twice.
absl::StatusOr<Value> ValueFromProto(const pb::Value& v);

// Stores a status in a Response (code and message).
void StatusToResponse(const absl::Status& s, pb::Response* out);

// The status a Response carries; OK when its code is 0.
absl::Status StatusFromResponse(const pb::Response& r);

}  // namespace mproc

#endif  // MPROC_CLIENT_WIRE_H_
