// The native half of the Python package `mproc` (python/mproc/): a thin
// layer over the C++ client. Each class here wraps one C++ client class;
// values cross as Python objects (py_value.h), errors as the exceptions
// the package registers (py_status.h), and every call to the manager runs
// without the GIL. The Pythonic API (proxies like multiprocessing's) is
// in python/mproc/, on top of this.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>

#include "client/manager.h"
#include "python/ext/bind_proxies.h"
#include "python/ext/py_status.h"
#include "python/ext/py_value.h"

namespace py = pybind11;

namespace mproc {
namespace python {
namespace {

std::unique_ptr<Manager> Connect(const std::string& address,
                                 std::optional<py::bytes> authkey, bool no_auth,
                                 double connect_timeout,
                                 const std::string& user) {
  ConnectOptions options;
  if (authkey) options.authkey = std::string(*authkey);
  options.no_auth = no_auth;
  options.user = user;
  options.connect_timeout = absl::Seconds(connect_timeout);
  return Check(WithoutGil([&] { return Manager::Connect(address, options); }));
}

py::dict InfoDict(const ServerInfo& info) {
  py::dict out;
  out["version"] = info.version;
  out["instance_id"] = info.instance_id;
  out["uptime_seconds"] = info.uptime_seconds;
  out["objects"] = info.objects;
  out["storage"] = FromValue(Value(info.storage));
  return out;
}

}  // namespace

PYBIND11_MODULE(_mproc, m) {
  m.doc() = "mproc's native client (use the mproc package, not this module)";
  m.def("set_codec_hooks", &SetCodecHooks);
  m.def("set_exception_classes", &SetExceptionClasses);
  m.def("load_authkey", [](const std::string& file) {
    return py::bytes(Check(LoadAuthkey(file)));
  });
  // Round trips through the conversion alone (for tests of the codec).
  m.def("round_trip",
        [](py::handle object) { return FromValue(ToValue(object, "")); });
  m.def("opaque_form", [](py::handle object) -> py::object {
    Value v = ToValue(object, "");
    if (!v.is_opaque()) return py::none();
    return py::make_tuple(v.opaque_value().format,
                          py::bytes(v.opaque_value().data));
  });

  py::class_<Manager>(m, "Client")
      .def(py::init(&Connect), py::arg("address"), py::arg("authkey"),
           py::arg("no_auth") = false, py::arg("connect_timeout") = 5.0,
           py::arg("user") = "")
      .def_property_readonly("address", &Manager::address)
      .def_property_readonly("instance_id", &Manager::instance_id)
      .def_property_readonly("session_losses", &Manager::session_losses)
      .def("info",
           [](Manager& self) {
             return InfoDict(Check(WithoutGil([&] { return self.Info(); })));
           })
      .def("objects",
           [](Manager& self) {
             std::vector<ObjectInfo> objects =
                 Check(WithoutGil([&] { return self.Objects(); }));
             py::list out;
             for (const ObjectInfo& o : objects) {
               out.append(py::make_tuple(o.kind, o.name, o.size,
                                         FromValue(Value(o.details))));
             }
             return out;
           })
      .def("delete_object", [](Manager& self, const std::string& name) {
        Check(WithoutGil([&] { return self.DeleteObject(name); }));
      });

  BindProxies(m);
}

}  // namespace python
}  // namespace mproc
