// Python's index and slice rules for lists and arrays.
#ifndef MPROC_SERVER_PYTHON_INDEX_H_
#define MPROC_SERVER_PYTHON_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

namespace mproc {

// `index` in [-length, length) as a position in [0, length); negative
// indices count from the end. nullopt when out of range.
std::optional<size_t> ResolveIndex(int64_t index, size_t length);

// Where list.insert(index, x) puts x: like ResolveIndex, but clamped to
// [0, length] instead of failing.
size_t ClampInsertIndex(int64_t index, size_t length);

// The half-open range [begin, end) that seq[start:stop] selects, with
// nullopt for an omitted bound; begin <= end always.
std::pair<size_t, size_t> ResolveSlice(std::optional<int64_t> start,
                                       std::optional<int64_t> stop,
                                       size_t length);

}  // namespace mproc

#endif  // MPROC_SERVER_PYTHON_INDEX_H_
