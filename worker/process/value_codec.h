// A compact binary encoding of mproc::Value for local pipes: no schema, no
// protobuf, one pass each way.
//
// Layout: one tag byte per value, then — int: zigzag varint; double: 8
// bytes little-endian; string/bytes: varint length + data; list: varint
// count + items; map: varint count + key, value pairs in key order.
#ifndef MPROC_WORKER_PROCESS_VALUE_CODEC_H_
#define MPROC_WORKER_PROCESS_VALUE_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/value.h"

namespace mproc {

// Appends the encoding of `value` to `*out`.
void EncodeValue(const Value& value, std::string* out);

// Decodes exactly one value filling all of `data`. DATA_LOSS naming the
// offset if the data is truncated, has trailing bytes, an unknown tag, or
// nests deeper than kMaxValueDepth.
absl::StatusOr<Value> DecodeValue(absl::string_view data);

inline constexpr int kMaxValueDepth = 512;

}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_VALUE_CODEC_H_
