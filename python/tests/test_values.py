"""Value, Array and Namespace proxies, and how values are stored."""

import ctypes

import pytest

import mproc
from mproc._native import _mproc


def test_value_get_set_and_the_value_attribute(manager):
    v = manager.Value("i", 5)
    assert v.value == 5 and v.get() == 5
    v.value += 1
    v.set(v.get() * 2)
    assert v.value == 12
    assert v.add(3) == 15
    assert v.compare_and_swap(15, 0) and not v.compare_and_swap(15, 1)
    assert str(v) == "Value('i', 0)"
    assert repr(v).startswith("<ValueProxy object, typeid 'Value' at 0x")
    with pytest.raises(TypeError):
        v.value = "text"


def test_value_types_by_code_and_by_ctypes(manager):
    assert manager.Value("d", 1.5).value == 1.5
    assert manager.Value(ctypes.c_double, 2.0).value == 2.0
    assert manager.Value(ctypes.c_bool, True).value is True
    assert manager.Value(ctypes.c_char_p, "text").value == "text"
    assert manager.Value("i").value == 0


def test_array_indexing_slicing_and_iteration(manager):
    a = manager.Array("i", [1, 2, 3, 4])
    assert len(a) == 4 and list(a) == [1, 2, 3, 4]
    assert a[0] == 1 and a[-1] == 4 and a[1:3] == [2, 3] and a[::2] == [1, 3]
    a[0] = 10
    a[1:3] = [20, 30]
    assert a[:] == [10, 20, 30, 4]
    with pytest.raises(ValueError):
        a[0:2] = [1]
    with pytest.raises(IndexError):
        a[4]
    assert a.add(3, 5) == 9
    assert str(a) == "array('i', [10, 20, 30, 9])"
    zeros = manager.Array("d", 3)
    assert zeros[:] == [0.0, 0.0, 0.0]


def test_namespace_attributes(manager):
    ns = manager.Namespace(x=1)
    ns.y = [1, 2]
    assert ns.x == 1 and ns.y == [1, 2]
    del ns.x
    with pytest.raises(AttributeError):
        ns.x
    with pytest.raises(AttributeError):
        del ns.x
    ns._local = "stays here"
    assert ns._local == "stays here"
    assert str(ns) == "Namespace(y=[1, 2])"
    other = manager.attach("namespace", ns._name)
    assert other.y == [1, 2] and not hasattr(other, "_local")


def test_native_values_are_plain_and_others_canonical():
    assert _mproc.opaque_form({"a": [1, 2.5, None, True, b"x"]}) is None
    assert _mproc.opaque_form((1, 2))[0] == "tuple"
    assert _mproc.opaque_form({2, 1}) == _mproc.opaque_form({1, 2})
    assert _mproc.opaque_form(2**63)[0] == "int"
    assert _mproc.opaque_form(2**63 - 1) is None
    assert _mproc.opaque_form(1j)[0] == "pickle"
    for v in [(), ((1, ), ), {"t": (1, [2, (3, )])}, -2**200, {frozenset()},
              "\ud800", b"", [[[]]], 1e308, float("inf")]:
        back = _mproc.round_trip(v)
        assert back == v and type(back) is type(v), v


def test_unknown_opaque_formats_come_back_as_opaque(daemon):
    # A C++ client's opaque value of a format Python does not know.
    m = mproc.Manager(daemon.address, authkey=daemon.key)
    r = daemon.cli("dict", "set", "raw", "k",
                   '{"$opaque": {"format": "x-other", "data": "AAE="}}')
    assert r.returncode == 0, r.stderr
    assert m.dict(name="raw")["k"] == mproc.Opaque("x-other", b"\x00\x01")
