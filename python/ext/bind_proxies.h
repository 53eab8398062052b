// The proxy classes of the native module, and the calls that open them.
#ifndef MPROC_PYTHON_EXT_BIND_PROXIES_H_
#define MPROC_PYTHON_EXT_BIND_PROXIES_H_

#include <pybind11/pybind11.h>

namespace mproc {
namespace python {

// Adds Dict, List, Value, Array, Namespace, Queue, Lock, Semaphore, Event,
// Condition and Barrier, each wrapping the C++ proxy of that name
// (client/proxies.h) method for method, and open_<kind>(client, name, ...)
// for each (get-or-create, as Manager::Dict etc.).
void BindProxies(pybind11::module_& m);

}  // namespace python
}  // namespace mproc

#endif  // MPROC_PYTHON_EXT_BIND_PROXIES_H_
