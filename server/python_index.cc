#include "server/python_index.h"

#include <algorithm>

namespace mproc {

std::optional<size_t> ResolveIndex(int64_t index, size_t length) {
  const int64_t n = static_cast<int64_t>(length);
  if (index < 0) index += n;
  if (index < 0 || index >= n) return std::nullopt;
  return static_cast<size_t>(index);
}

size_t ClampInsertIndex(int64_t index, size_t length) {
  const int64_t n = static_cast<int64_t>(length);
  if (index < 0) index = std::max<int64_t>(0, index + n);
  return static_cast<size_t>(std::min(index, n));
}

std::pair<size_t, size_t> ResolveSlice(std::optional<int64_t> start,
                                       std::optional<int64_t> stop,
                                       size_t length) {
  const int64_t n = static_cast<int64_t>(length);
  auto clamp = [n](int64_t i) {
    if (i < 0) i += n;
    return std::clamp<int64_t>(i, 0, n);
  };
  int64_t begin = start.has_value() ? clamp(*start) : 0;
  int64_t end = stop.has_value() ? clamp(*stop) : n;
  if (end < begin) end = begin;
  return {static_cast<size_t>(begin), static_cast<size_t>(end)};
}

}  // namespace mproc
