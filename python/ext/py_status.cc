#include "python/ext/py_status.h"

#include <optional>
#include <string>

#include "common/object_errors.h"

namespace py = pybind11;

namespace mproc {
namespace python {
namespace {

// Leaked on purpose, like the codec hooks.
py::dict& Classes() {
  static py::dict* classes = new py::dict();
  return *classes;
}

}  // namespace

void SetExceptionClasses(py::dict classes) { Classes() = std::move(classes); }

void Raise(const absl::Status& status) {
  const int code = static_cast<int>(status.code());
  py::object cls;
  if (Classes().contains(py::int_(code))) {
    cls = Classes()[py::int_(code)];
  } else if (Classes().contains(
                 py::int_(static_cast<int>(absl::StatusCode::kUnknown)))) {
    cls = Classes()[py::int_(static_cast<int>(absl::StatusCode::kUnknown))];
  } else {
    cls = py::reinterpret_borrow<py::object>(PyExc_RuntimeError);
  }
  py::object error = cls(py::str(std::string(status.message())));
  error.attr("code") = py::int_(code);
  // What the error is beyond its code ("queue_empty", "queue_closed",
  // "broken_barrier", ...), for the proxies to tell apart.
  std::optional<std::string> type = ObjectErrorType(status);
  error.attr("kind") = type ? py::str(*type) : py::str("");
  PyErr_SetObject(cls.ptr(), error.ptr());
  throw py::error_already_set();
}

}  // namespace python
}  // namespace mproc
