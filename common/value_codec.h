// A compact binary encoding of mproc::Value: no schema, no protobuf, one
// pass each way. It is the manager's storage format (dict entries), the
// task pool's payload format (arguments and results, common/task_wire.h)
// and the frame body of local pipes (worker/process/pipe.h).
//
// Layout: one tag byte per value, then — int: zigzag varint; double: 8
// bytes little-endian; string/bytes: varint length + data; list: varint
// count + items; map: varint count + key, value pairs in key order.
#ifndef MPROC_COMMON_VALUE_CODEC_H_
#define MPROC_COMMON_VALUE_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/value.h"
#include "common/value_checks.h"  // kMaxValueDepth

namespace mproc {

// Appends the encoding of `value` to `*out`.
void EncodeValue(const Value& value, std::string* out);

// Decodes exactly one value filling all of `data`, in time linear in its
// size (the decoder reads data from other processes and machines).
// Only the encoder's own output is accepted (a value has one encoding):
// DATA_LOSS naming the offset if the data is truncated, has trailing bytes,
// an unknown tag, a varint longer than needed, map keys out of the
// encoder's order, or breaks a rule of common/value_checks.h (nests deeper
// than `max_depth`, a string not UTF-8, a list or map as a map key, a key
// twice). `outer_depth`: the lists and maps already around the encoded
// value (when it is part of a larger one), counted against `max_depth`.
absl::StatusOr<Value> DecodeValue(absl::string_view data, int outer_depth = 0,
                                  int max_depth = kMaxValueDepth);

}  // namespace mproc

#endif  // MPROC_COMMON_VALUE_CODEC_H_
