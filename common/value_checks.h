// The validity rules of a Value read from outside the process, one set for
// every decoder (the proto conversion in common/wire.h and the binary codec
// in common/value_codec.h), so a value one accepts the other accepts too:
//   - nesting at most kMaxValueDepth lists/maps deep;
//   - strings are valid UTF-8;
//   - map keys are scalars (not lists or maps);
//   - a map holds each key once.
// What a client stores is held to kMaxStoredValueDepth, a few levels less,
// so that every answer that wraps a stored value (a dict's items, a
// queue's get_many) can still be read back by every client.
// Each check returns INVALID_ARGUMENT naming the fault; a decoder may
// re-code it (the codec answers DATA_LOSS with the byte offset).
#ifndef MPROC_COMMON_VALUE_CHECKS_H_
#define MPROC_COMMON_VALUE_CHECKS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/value.h"

namespace mproc {

inline constexpr int kMaxValueDepth = 512;
// Room for the levels an answer adds around a stored value (at most 2).
inline constexpr int kAnswerDepthMargin = 4;
// A value a client stores (sets, appends, puts) nests at most this deep.
inline constexpr int kMaxStoredValueDepth = kMaxValueDepth - kAnswerDepthMargin;
// An operation's argument may carry stored values one level down (an
// update's map, an extend's list): what the manager reads arguments with.
inline constexpr int kMaxArgumentDepth = kMaxStoredValueDepth + 1;

// `depth` is the number of lists/maps around the value being read (0 for
// the top level); at most `max_depth`.
absl::Status CheckValueDepth(int depth, int max_depth = kMaxValueDepth);

// A string's bytes: valid UTF-8 (no overlong forms, no surrogates, nothing
// past U+10FFFF). INVALID_ARGUMENT naming the offset otherwise.
absl::Status CheckText(absl::string_view text);

// The whole of `value` against the rules above, for a value about to be
// sent (a client checks its arguments, so a bad one fails alone instead of
// reaching the manager): depth at most `max_depth`, valid strings.
absl::Status CheckValueToSend(const Value& value,
                              int max_depth = kMaxStoredValueDepth);
// The same for each element of a bare list or map (values sent together,
// each to be stored on its own: an update's entries).
absl::Status CheckValueToSend(const List& list,
                              int max_depth = kMaxStoredValueDepth);
absl::Status CheckValueToSend(const Map& map,
                              int max_depth = kMaxStoredValueDepth);

// A key of a map: a scalar.
absl::Status CheckMapKeyType(Value::Type type);

// The error for a key read twice in one map.
absl::Status DuplicateMapKey(const Value& key);

}  // namespace mproc

#endif  // MPROC_COMMON_VALUE_CHECKS_H_
