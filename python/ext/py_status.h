// absl::Status to Python exceptions, and the GIL around blocking calls.
#ifndef MPROC_PYTHON_EXT_PY_STATUS_H_
#define MPROC_PYTHON_EXT_PY_STATUS_H_

#include <pybind11/pybind11.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mproc {
namespace python {

// The exception class for each status code (a dict {int code: class}),
// set once at import by the Python package (mproc/errors.py). A code
// without a class raises the one of UNKNOWN.
void SetExceptionClasses(pybind11::dict classes);

// Raises the status as its Python exception (message as the argument,
// the code as attribute `code`). `status` must not be OK.
[[noreturn]] void Raise(const absl::Status& status);

inline void Check(const absl::Status& status) {
  if (!status.ok()) Raise(status);
}

template <typename T>
T Check(absl::StatusOr<T> result) {
  if (!result.ok()) Raise(result.status());
  return *std::move(result);
}

// Runs `f` without the GIL (a call to the manager, which may wait).
template <typename F>
auto WithoutGil(F&& f) {
  pybind11::gil_scoped_release release;
  return f();
}

}  // namespace python
}  // namespace mproc

#endif  // MPROC_PYTHON_EXT_PY_STATUS_H_
