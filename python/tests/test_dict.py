"""DictProxy: every method of Python's DictProxy, through a real manager."""

import pytest

import mproc


def test_item_access_contains_len_and_iteration(manager):
    d = manager.dict({"a": 1}, b=2)
    assert d["a"] == 1 and d["b"] == 2
    d["c"] = [1, "x"]
    assert "c" in d and "z" not in d
    assert len(d) == 3
    assert sorted(d) == ["a", "b", "c"]
    del d["a"]
    assert "a" not in d and len(d) == 2


def test_missing_keys_raise_key_error_with_the_key(manager):
    d = manager.dict()
    with pytest.raises(KeyError) as e:
        d["nope"]
    assert e.value.args == ("nope", )
    with pytest.raises(KeyError):
        del d["nope"]
    with pytest.raises(KeyError):
        d.pop("nope")


def test_get_setdefault_pop_and_popitem(manager):
    d = manager.dict(a=1)
    assert d.get("a") == 1 and d.get("b") is None and d.get("b", 7) == 7
    assert d.setdefault("a", 5) == 1
    assert d.setdefault("n") is None and "n" in d
    assert d.pop("n") is None
    assert d.pop("n", "fallback") == "fallback"
    assert d.popitem() == ("a", 1)
    with pytest.raises(KeyError, match="dictionary is empty"):
        d.popitem()


def test_keys_values_items_update_clear_copy(manager):
    d = manager.dict()
    d.update({"x": 1}, y=2)
    d.update([("z", 3)])
    assert sorted(d.keys()) == ["x", "y", "z"]
    assert sorted(d.values()) == [1, 2, 3]
    assert sorted(d.items()) == [("x", 1), ("y", 2), ("z", 3)]
    copy = d.copy()
    assert copy == {"x": 1, "y": 2, "z": 3} and type(copy) is dict
    assert d == copy and d != {}
    d.clear()
    assert len(d) == 0 and d.copy() == {}


def test_add_is_atomic_and_starts_from_zero(manager):
    d = manager.dict()
    assert d.add("n") == 1
    assert d.add("n", 10) == 11
    assert d.add("f", 0.5) == 0.5
    d["s"] = "text"
    with pytest.raises(TypeError):
        d.add("s", 1)


def test_values_keep_their_python_types(manager):
    d = manager.dict()
    values = {
        "none": None, "true": True, "int": -7, "big": 2**100, "neg": -2**70,
        "float": 2.5, "str": "héllo", "bytes": b"\x00\xff", "list": [1, [2]],
        "dict": {"k": {"n": 1}}, "tuple": (1, ("a", b"b")), "set": {1, 2},
        "frozen": frozenset({"x"}), "complex": 1 + 2j, "range": range(3),
        "bytearray": bytearray(b"ab"),
    }
    d.update(values)
    back = d.copy()
    assert back == values
    for k, v in values.items():
        assert type(back[k]) is type(v), k


def test_non_native_keys_match_by_value(manager):
    d = manager.dict()
    d[(1, "a")] = "tuple"
    d[frozenset({3, 1, 2})] = "frozenset"
    d[2**64] = "big"
    key = tuple([1, "".join(["a"])])  # an equal tuple, built differently
    assert d[key] == "tuple"
    assert d[frozenset([2, 3, 1])] == "frozenset"
    assert d[18446744073709551616] == "big"
    assert len(d) == 3


def test_int_and_float_keys_are_distinct_in_the_manager(manager):
    # Documented difference from Python (docs/python.md, "Keys").
    d = manager.dict()
    d[1] = "int"
    d[1.0] = "float"
    assert len(d) == 2 and d[1] == "int" and d[1.0] == "float"


def test_repr_is_like_pythons_and_str_shows_the_referent(manager):
    d = manager.dict(a=1)
    assert repr(d).startswith("<DictProxy object, typeid 'dict' at 0x")
    assert str(d) == "{'a': 1}"


def test_named_dicts_are_one_object(manager):
    a = manager.dict(name="shared-config")
    b = manager.dict(name="shared-config")
    a["k"] = "v"
    assert b["k"] == "v"
    assert manager.attach("dict", "shared-config")["k"] == "v"
    with pytest.raises(TypeError):
        manager.attach("list", "shared-config")
    with pytest.raises(KeyError):
        manager.attach("dict", "no-such-object")
    manager.delete(a)
    with pytest.raises(KeyError):
        manager.attach("dict", "shared-config")


def test_manager_errors_are_remote_errors_naming_the_object(manager):
    manager.list(name="taken-by-a-list")
    with pytest.raises(mproc.errors.FailedPrecondition) as e:
        manager.dict(name="taken-by-a-list")
    assert "taken-by-a-list" in str(e.value)
    from multiprocessing.managers import RemoteError
    assert isinstance(e.value, RemoteError)
