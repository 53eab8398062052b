#include "python/ext/bind_proxies.h"

#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "client/manager.h"
#include "python/ext/py_status.h"
#include "python/ext/py_value.h"

namespace py = pybind11;

namespace mproc {
namespace python {
namespace {

// Seconds, or None for no limit.
using Seconds = std::optional<double>;

absl::Duration DurationOf(const Seconds& seconds) {
  if (!seconds) return absl::InfiniteDuration();
  return absl::Seconds(*seconds);
}

// Runs `call` on `proxy` without the GIL and returns its result as a
// Python object (references in it resolve against the proxy's manager).
template <typename F>
py::object ValueCall(const ObjectProxy& proxy, F&& call) {
  absl::StatusOr<Value> result = WithoutGil(call);
  return FromValue(Check(std::move(result)), proxy.address());
}

template <typename F>
void StatusCall(F&& call) {
  Check(WithoutGil(call));
}

template <typename T, typename F>
T PlainCall(F&& call) {
  return Check(WithoutGil(call));
}

// A dict key: hashable, as Python's dict requires (a tuple holding a list
// is refused with Python's TypeError, not stored).
Value KeyOf(py::handle key, const std::string& destination) {
  if (PyObject_Hash(key.ptr()) == -1) throw py::error_already_set();
  return ToValue(key, destination);
}

// Every proxy's name, kind and address, and its repr.
template <typename Proxy>
py::class_<Proxy> BindObject(py::module_& m, const char* name) {
  return py::class_<Proxy>(m, name)
      .def_property_readonly("name", &Proxy::name)
      .def_property_readonly("kind", &Proxy::kind)
      .def_property_readonly("address", &Proxy::address);
}

void BindDict(py::module_& m) {
  BindObject<DictProxy>(m, "Dict")
      .def("get",
           [](const DictProxy& d, py::handle key) {
             Value k = KeyOf(key, d.address());
             return ValueCall(d, [&] { return d.Get(k); });
           })
      .def("get_or",
           [](const DictProxy& d, py::handle key, py::handle fallback) {
             Value k = KeyOf(key, d.address()),
                   f = ToValue(fallback, d.address());
             return ValueCall(d, [&] { return d.Get(k, f); });
           })
      .def("set",
           [](const DictProxy& d, py::handle key, py::handle value) {
             Value k = KeyOf(key, d.address()), v = ToValue(value, d.address());
             StatusCall([&] { return d.Set(k, v); });
           })
      .def("setdefault",
           [](const DictProxy& d, py::handle key, py::handle fallback) {
             Value k = KeyOf(key, d.address()),
                   f = ToValue(fallback, d.address());
             return ValueCall(d, [&] { return d.SetDefault(k, f); });
           })
      .def("pop",
           [](const DictProxy& d, py::handle key) {
             Value k = KeyOf(key, d.address());
             return ValueCall(d, [&] { return d.Pop(k); });
           })
      .def("pop_or",
           [](const DictProxy& d, py::handle key, py::handle fallback) {
             Value k = KeyOf(key, d.address()),
                   f = ToValue(fallback, d.address());
             return ValueCall(d, [&] { return d.Pop(k, f); });
           })
      .def("delete",
           [](const DictProxy& d, py::handle key) {
             Value k = KeyOf(key, d.address());
             StatusCall([&] { return d.Delete(k); });
           })
      .def("contains",
           [](const DictProxy& d, py::handle key) {
             Value k = KeyOf(key, d.address());
             return PlainCall<bool>([&] { return d.Contains(k); });
           })
      .def("len",
           [](const DictProxy& d) {
             return PlainCall<int64_t>([&] { return d.Len(); });
           })
      .def("keys",
           [](const DictProxy& d) {
             return ValueCall(d,
                              [&] { return absl::StatusOr<Value>(d.Keys()); });
           })
      .def("values",
           [](const DictProxy& d) {
             return ValueCall(
                 d, [&] { return absl::StatusOr<Value>(d.Values()); });
           })
      .def("items",
           [](const DictProxy& d) {
             return ValueCall(d,
                              [&] { return absl::StatusOr<Value>(d.Items()); });
           })
      .def("update",
           [](const DictProxy& d, py::dict entries) {
             Value v = ToValue(entries, d.address());
             if (!v.is_map()) throw py::type_error("update needs a dict");
             StatusCall([&] { return d.Update(v.map_value()); });
           })
      .def("clear",
           [](const DictProxy& d) { StatusCall([&] { return d.Clear(); }); })
      .def("add", [](const DictProxy& d, py::handle key, py::handle delta) {
        Value k = KeyOf(key, d.address()), x = ToValue(delta, d.address());
        return ValueCall(d, [&] { return d.Add(k, x); });
      });
}

void BindList(py::module_& m) {
  BindObject<ListProxy>(m, "List")
      .def("append",
           [](const ListProxy& l, py::handle item) {
             Value v = ToValue(item, l.address());
             return PlainCall<int64_t>([&] { return l.Append(v); });
           })
      .def("extend",
           [](const ListProxy& l, py::handle items) {
             List v = ToList(items, l.address());
             return PlainCall<int64_t>([&] { return l.Extend(v); });
           })
      .def("get",
           [](const ListProxy& l, int64_t index) {
             return ValueCall(l, [&] { return l.Get(index); });
           })
      .def("set",
           [](const ListProxy& l, int64_t index, py::handle item) {
             Value v = ToValue(item, l.address());
             StatusCall([&] { return l.Set(index, v); });
           })
      .def("insert",
           [](const ListProxy& l, int64_t index, py::handle item) {
             Value v = ToValue(item, l.address());
             StatusCall([&] { return l.Insert(index, v); });
           })
      .def("pop",
           [](const ListProxy& l, int64_t index) {
             return ValueCall(l, [&] { return l.Pop(index); });
           })
      .def("remove",
           [](const ListProxy& l, py::handle item) {
             Value v = ToValue(item, l.address());
             StatusCall([&] { return l.Remove(v); });
           })
      .def("index",
           [](const ListProxy& l, py::handle item) {
             Value v = ToValue(item, l.address());
             return PlainCall<int64_t>([&] { return l.Index(v); });
           })
      .def("count",
           [](const ListProxy& l, py::handle item) {
             Value v = ToValue(item, l.address());
             return PlainCall<int64_t>([&] { return l.Count(v); });
           })
      .def("len",
           [](const ListProxy& l) {
             return PlainCall<int64_t>([&] { return l.Len(); });
           })
      .def("slice",
           [](const ListProxy& l, std::optional<int64_t> start,
              std::optional<int64_t> stop) {
             return ValueCall(l, [&] {
               return absl::StatusOr<Value>(l.Slice(start, stop));
             });
           })
      .def("set_slice",
           [](const ListProxy& l, std::optional<int64_t> start,
              std::optional<int64_t> stop, py::handle items) {
             List v = ToList(items, l.address());
             StatusCall([&] { return l.SetSlice(start, stop, v); });
           })
      .def("reverse",
           [](const ListProxy& l) { StatusCall([&] { return l.Reverse(); }); })
      .def("sort",
           [](const ListProxy& l, bool reverse) {
             StatusCall([&] { return l.Sort(reverse); });
           })
      .def("clear",
           [](const ListProxy& l) { StatusCall([&] { return l.Clear(); }); });
}

void BindValueAndArray(py::module_& m) {
  BindObject<ValueProxy>(m, "Value")
      .def("get",
           [](const ValueProxy& v) {
             return ValueCall(v, [&] { return v.Get(); });
           })
      .def("set",
           [](const ValueProxy& v, py::handle value) {
             Value x = ToValue(value, v.address());
             StatusCall([&] { return v.Set(x); });
           })
      .def("add",
           [](const ValueProxy& v, py::handle delta) {
             Value x = ToValue(delta, v.address());
             return ValueCall(v, [&] { return v.Add(x); });
           })
      .def("compare_and_swap",
           [](const ValueProxy& v, py::handle expected, py::handle desired) {
             Value e = ToValue(expected, v.address()),
                   d = ToValue(desired, v.address());
             return PlainCall<bool>([&] { return v.CompareAndSwap(e, d); });
           });
  BindObject<ArrayProxy>(m, "Array")
      .def("len",
           [](const ArrayProxy& a) {
             return PlainCall<int64_t>([&] { return a.Len(); });
           })
      .def("get",
           [](const ArrayProxy& a, int64_t index) {
             return ValueCall(a, [&] { return a.Get(index); });
           })
      .def("set",
           [](const ArrayProxy& a, int64_t index, py::handle value) {
             Value x = ToValue(value, a.address());
             StatusCall([&] { return a.Set(index, x); });
           })
      .def("slice",
           [](const ArrayProxy& a, std::optional<int64_t> start,
              std::optional<int64_t> stop) {
             return ValueCall(a, [&] {
               return absl::StatusOr<Value>(a.Slice(start, stop));
             });
           })
      .def("add", [](const ArrayProxy& a, int64_t index, py::handle delta) {
        Value x = ToValue(delta, a.address());
        return ValueCall(a, [&] { return a.Add(index, x); });
      });
}

void BindNamespace(py::module_& m) {
  BindObject<NamespaceProxy>(m, "Namespace")
      .def("get",
           [](const NamespaceProxy& n, const std::string& attribute) {
             return ValueCall(n, [&] { return n.Get(attribute); });
           })
      .def("set",
           [](const NamespaceProxy& n, const std::string& attribute,
              py::handle value) {
             Value x = ToValue(value, n.address());
             StatusCall([&] { return n.Set(attribute, x); });
           })
      .def("delete",
           [](const NamespaceProxy& n, const std::string& attribute) {
             StatusCall([&] { return n.Delete(attribute); });
           })
      .def("items", [](const NamespaceProxy& n) {
        return ValueCall(n, [&] { return absl::StatusOr<Value>(n.Items()); });
      });
}

void BindQueue(py::module_& m) {
  BindObject<QueueProxy>(m, "Queue")
      .def("put",
           [](const QueueProxy& q, py::handle item, Seconds timeout) {
             Value v = ToValue(item, q.address());
             StatusCall([&] { return q.Put(v, DurationOf(timeout)); });
           })
      .def("put_nowait",
           [](const QueueProxy& q, py::handle item) {
             Value v = ToValue(item, q.address());
             StatusCall([&] { return q.PutNowait(v); });
           })
      .def("get",
           [](const QueueProxy& q, Seconds timeout) {
             return ValueCall(q, [&] { return q.Get(DurationOf(timeout)); });
           })
      .def("get_nowait",
           [](const QueueProxy& q) {
             return ValueCall(q, [&] { return q.GetNowait(); });
           })
      .def("qsize",
           [](const QueueProxy& q) {
             return PlainCall<int64_t>([&] { return q.Size(); });
           })
      .def("empty",
           [](const QueueProxy& q) {
             return PlainCall<bool>([&] { return q.Empty(); });
           })
      .def("full",
           [](const QueueProxy& q) {
             return PlainCall<bool>([&] { return q.Full(); });
           })
      .def(
          "task_done",
          [](const QueueProxy& q) { StatusCall([&] { return q.TaskDone(); }); })
      .def("join",
           [](const QueueProxy& q, Seconds timeout) {
             StatusCall([&] { return q.Join(DurationOf(timeout)); });
           })
      .def("close",
           [](const QueueProxy& q) { StatusCall([&] { return q.Close(); }); });
}

void BindSync(py::module_& m) {
  BindObject<LockProxy>(m, "Lock")
      .def("acquire",
           [](const LockProxy& l, Seconds timeout) {
             return PlainCall<bool>(
                 [&] { return l.Acquire(DurationOf(timeout)); });
           })
      .def("acquire_token",
           [](const LockProxy& l, Seconds timeout) {
             return PlainCall<int64_t>(
                 [&] { return l.AcquireToken(DurationOf(timeout)); });
           })
      .def("try_acquire",
           [](const LockProxy& l) {
             return PlainCall<bool>([&] { return l.TryAcquire(); });
           })
      .def("release",
           [](const LockProxy& l) { StatusCall([&] { return l.Release(); }); })
      .def("locked", [](const LockProxy& l) {
        return PlainCall<bool>([&] { return l.Locked(); });
      });
  BindObject<SemaphoreProxy>(m, "Semaphore")
      .def("acquire",
           [](const SemaphoreProxy& s, Seconds timeout) {
             return PlainCall<bool>(
                 [&] { return s.Acquire(DurationOf(timeout)); });
           })
      .def("try_acquire",
           [](const SemaphoreProxy& s) {
             return PlainCall<bool>([&] { return s.TryAcquire(); });
           })
      .def("release",
           [](const SemaphoreProxy& s, int64_t n) {
             StatusCall([&] { return s.Release(n); });
           })
      .def("value", [](const SemaphoreProxy& s) {
        return PlainCall<int64_t>([&] { return s.Value(); });
      });
  BindObject<EventProxy>(m, "Event")
      .def("set",
           [](const EventProxy& e) { StatusCall([&] { return e.Set(); }); })
      .def("clear",
           [](const EventProxy& e) { StatusCall([&] { return e.Clear(); }); })
      .def("is_set",
           [](const EventProxy& e) {
             return PlainCall<bool>([&] { return e.IsSet(); });
           })
      .def("wait", [](const EventProxy& e, Seconds timeout) {
        return PlainCall<bool>([&] { return e.Wait(DurationOf(timeout)); });
      });
  BindObject<ConditionProxy>(m, "Condition")
      .def("acquire",
           [](const ConditionProxy& c, Seconds timeout) {
             return PlainCall<bool>(
                 [&] { return c.Acquire(DurationOf(timeout)); });
           })
      .def("release",
           [](const ConditionProxy& c) {
             StatusCall([&] { return c.Release(); });
           })
      .def(
          "wait",
          [](const ConditionProxy& c, Seconds timeout) {
            return PlainCall<bool>([&] { return c.Wait(DurationOf(timeout)); });
          })
      .def("notify",
           [](const ConditionProxy& c, int64_t n) {
             return PlainCall<int64_t>([&] { return c.Notify(n); });
           })
      .def("notify_all", [](const ConditionProxy& c) {
        return PlainCall<int64_t>([&] { return c.NotifyAll(); });
      });
  BindObject<BarrierProxy>(m, "Barrier")
      .def("wait",
           [](const BarrierProxy& b, Seconds timeout) {
             std::optional<absl::Duration> limit;
             if (timeout) limit = absl::Seconds(*timeout);
             return PlainCall<int64_t>([&] { return b.Wait(limit); });
           })
      .def("abort",
           [](const BarrierProxy& b) { StatusCall([&] { return b.Abort(); }); })
      .def("reset",
           [](const BarrierProxy& b) { StatusCall([&] { return b.Reset(); }); })
      .def("parties",
           [](const BarrierProxy& b) {
             return PlainCall<int64_t>([&] { return b.Parties(); });
           })
      .def("n_waiting",
           [](const BarrierProxy& b) {
             return PlainCall<int64_t>([&] { return b.NWaiting(); });
           })
      .def("broken", [](const BarrierProxy& b) {
        return PlainCall<bool>([&] { return b.Broken(); });
      });
}

// open_<kind>(client, name, ...): get-or-create, as the Manager's calls.
void BindOpeners(py::module_& m) {
  m.def("open_dict", [](Manager& c, const std::string& name,
                        py::handle initial) {
    Value v = initial.is_none() ? Value(Map{}) : ToValue(initial, c.address());
    if (!v.is_map())
      throw py::type_error("a dict's initial value must be a dict");
    return PlainCall<DictProxy>([&] { return c.Dict(name, v.map_value()); });
  });
  m.def(
      "open_list", [](Manager& c, const std::string& name, py::handle initial) {
        List items = initial.is_none() ? List{} : ToList(initial, c.address());
        return PlainCall<ListProxy>([&] { return c.List(name, items); });
      });
  m.def("open_value", [](Manager& c, const std::string& name,
                         const std::string& type, py::handle initial) {
    Value v = initial.is_none() ? Value() : ToValue(initial, c.address());
    return PlainCall<ValueProxy>([&] { return c.Value(name, type, v); });
  });
  m.def("open_array", [](Manager& c, const std::string& name,
                         const std::string& type, py::handle size_or_items) {
    if (PyLong_Check(size_or_items.ptr())) {
      const auto length = size_or_items.cast<int64_t>();
      return PlainCall<ArrayProxy>([&] { return c.Array(name, type, length); });
    }
    List items = ToList(size_or_items, c.address());
    return PlainCall<ArrayProxy>([&] { return c.Array(name, type, items); });
  });
  m.def("open_namespace", [](Manager& c, const std::string& name) {
    return PlainCall<NamespaceProxy>([&] { return c.Namespace(name); });
  });
  m.def("open_queue", [](Manager& c, const std::string& name, int64_t maxsize) {
    return PlainCall<QueueProxy>([&] { return c.Queue(name, maxsize); });
  });
  m.def("open_lock", [](Manager& c, const std::string& name, bool reentrant) {
    return PlainCall<LockProxy>(
        [&] { return reentrant ? c.RLock(name) : c.Lock(name); });
  });
  m.def("open_semaphore",
        [](Manager& c, const std::string& name, int64_t value, bool bounded) {
          return PlainCall<SemaphoreProxy>([&] {
            return bounded ? c.BoundedSemaphore(name, value)
                           : c.Semaphore(name, value);
          });
        });
  m.def("open_event", [](Manager& c, const std::string& name) {
    return PlainCall<EventProxy>([&] { return c.Event(name); });
  });
  m.def("open_condition", [](Manager& c, const std::string& name,
                             const std::string& lock) {
    return PlainCall<ConditionProxy>([&] { return c.Condition(name, lock); });
  });
  m.def("open_barrier", [](Manager& c, const std::string& name, int64_t parties,
                           Seconds timeout) {
    return PlainCall<BarrierProxy>(
        [&] { return c.Barrier(name, parties, DurationOf(timeout)); });
  });
}

}  // namespace

void BindProxies(py::module_& m) {
  BindDict(m);
  BindList(m);
  BindValueAndArray(m);
  BindNamespace(m);
  BindQueue(m);
  BindSync(m);
  BindOpeners(m);
}

}  // namespace python
}  // namespace mproc
