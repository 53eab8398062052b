"""ListProxy: indexing, slicing, operators and methods like Python's."""

import pytest


def test_indexing_with_negative_indices_and_index_error(manager):
    l = manager.list([10, 20, 30])
    assert l[0] == 10 and l[-1] == 30
    l[-2] = 21
    assert l[1] == 21
    with pytest.raises(IndexError):
        l[3]
    with pytest.raises(IndexError):
        l[-4] = 0
    with pytest.raises(TypeError):
        l["0"]


def test_slices_read_assign_and_delete_like_a_list(manager):
    model = list(range(10))
    l = manager.list(model)
    for s in (slice(2, 5), slice(None, -3), slice(-4, None), slice(None),
              slice(1, 9, 3), slice(None, None, -1), slice(8, 1, -2)):
        assert l[s] == model[s], s
    l[2:5] = ["a", "b"]
    model[2:5] = ["a", "b"]
    assert l[:] == model
    l[::2] = list("vwxyz")[:len(model[::2])]
    model[::2] = list("vwxyz")[:len(model[::2])]
    assert l[:] == model
    del l[1:3]
    del model[1:3]
    assert l[:] == model
    del l[::3]
    del model[::3]
    assert l[:] == model
    del l[0]
    del model[0]
    assert l[:] == model


def test_operators(manager):
    l = manager.list([1, 2])
    assert l + [3] == [1, 2, 3] and [0] + l == [0, 1, 2]
    assert l * 2 == [1, 2, 1, 2] and 2 * l == [1, 2, 1, 2]
    l += [3]
    assert l == [1, 2, 3]
    l *= 2
    assert l == [1, 2, 3, 1, 2, 3]
    assert l > [1, 2] and l < [2] and l >= [1] and l <= [1, 2, 3, 1, 2, 3]
    assert 3 in l and 9 not in l
    assert list(reversed(l)) == [3, 2, 1, 3, 2, 1]
    assert len(l) == 6 and list(l) == [1, 2, 3, 1, 2, 3]


def test_methods(manager):
    l = manager.list()
    l.append("a")
    l.extend(["b", "c", "b"])
    l.insert(0, "z")
    l.insert(100, "end")
    assert l[:] == ["z", "a", "b", "c", "b", "end"]
    assert l.pop() == "end" and l.pop(0) == "z"
    assert l.index("b") == 1 and l.index("b", 2) == 3
    assert l.count("b") == 2
    l.remove("b")
    assert l[:] == ["a", "c", "b"]
    with pytest.raises(ValueError):
        l.remove("nope")
    with pytest.raises(ValueError):
        l.index("nope")
    l.reverse()
    assert l[:] == ["b", "c", "a"]
    l.sort()
    assert l[:] == ["a", "b", "c"]
    l.sort(reverse=True)
    assert l[:] == ["c", "b", "a"]
    l.sort(key=lambda s: {"a": 2, "b": 0, "c": 1}[s])
    assert l[:] == ["b", "c", "a"]
    l.clear()
    with pytest.raises(IndexError):
        l.pop()


def test_sort_of_items_only_python_compares(manager):
    l = manager.list([(2, "b"), (1, "z"), (2, "a")])
    l.sort()
    assert l[:] == [(1, "z"), (2, "a"), (2, "b")]
    mixed = manager.list([1, "a"])
    with pytest.raises(TypeError, match="not supported between"):
        mixed.sort()


def test_repr_and_str(manager):
    l = manager.list([1])
    assert repr(l).startswith("<ListProxy object, typeid 'list' at 0x")
    assert str(l) == "[1]"
