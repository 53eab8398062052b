"""Proxies for the manager's shared objects, like multiprocessing's.

Each proxy wraps one native proxy (python/ext/bind_proxies.cc) and gives
it the methods and operators of the Python object it stands for. Every
method is one atomic operation on the manager unless its docstring says
otherwise. Proxies are thread-safe, survive fork, and pickle as a
reference (see :func:`mproc.managers.rebuild_proxy`).
"""

import operator
import queue
import sys
import threading
import time

from . import errors


def _check_timeout(timeout):
    """Python's rule for queue timeouts: None or a number >= 0."""
    if timeout is not None and timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")
    return timeout


def _acquire_timeout(blocking, timeout):
    """threading.Lock.acquire's (blocking, timeout) as seconds or None."""
    if timeout is None:
        timeout = -1
    if not blocking:
        if timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        return 0.0
    if timeout < 0 and timeout != -1:
        raise ValueError("timeout value must be a non-negative number")
    return None if timeout == -1 else float(timeout)


class BaseProxy:
    """What every proxy has: its object's kind and name, and a reference
    that pickles (into another process, even another machine)."""

    _typeid = None
    __slots__ = ("_native", "_connection", "_spec", "__weakref__")

    def __init__(self, native, connection, spec=()):
        self._native = native
        self._connection = connection
        self._spec = spec

    @property
    def _name(self):
        return self._native.name

    def _getvalue(self):
        """A copy of the referent (as Python's proxies give)."""
        raise NotImplementedError

    def __repr__(self):
        return "<%s object, typeid %r at %#x>" % (
            type(self).__name__, self._typeid, id(self))

    def __str__(self):
        try:
            return str(self._getvalue())
        except Exception as e:  # as Python's proxies do
            return repr(self)[:-1] + "; '__str__()' failed: %s>" % e

    def _ref_args(self):
        """What reopens the object when it exists (stored references)."""
        return ()

    def _reference(self):
        """(typeid, name, args, manager address): how a proxy is stored in
        a dict, list or Namespace of its own manager (a nested proxy)."""
        return (self._typeid, self._native.name, self._ref_args(),
                self._native.address)

    def __reduce__(self):
        from . import managers
        return managers.rebuild_proxy, (
            type(self), self._connection.reference(), self._native.name,
            tuple(self._ref_args()))


class _ContentEquality:
    """== and != by contents, against a plain value or a proxy of the same
    kind (Python's proxies compare identity: docs/python.md)."""

    __slots__ = ()

    def __eq__(self, other):
        if isinstance(other, type(self)):
            other = other._getvalue()
        return self._getvalue() == other

    def __ne__(self, other):
        return not self == other

    __hash__ = None


class DictProxy(_ContentEquality, BaseProxy):
    """A shared dict. Keys are compared by value in the manager: an int key
    1 and a float key 1.0 are two keys (in Python, one)."""

    _typeid = "dict"
    __slots__ = ()

    def __getitem__(self, key):
        try:
            return self._native.get(key)
        except errors.NotFound:
            raise KeyError(key) from None

    def __setitem__(self, key, value):
        self._native.set(key, value)

    def __delitem__(self, key):
        try:
            self._native.delete(key)
        except errors.NotFound:
            raise KeyError(key) from None

    def __contains__(self, key):
        return self._native.contains(key)

    def __len__(self):
        return self._native.len()

    def __iter__(self):
        return iter(self._native.keys())

    def _getvalue(self):
        return self._native.items()

    def get(self, key, default=None):
        return self._native.get_or(key, default)

    def setdefault(self, key, default=None):
        return self._native.setdefault(key, default)

    _missing = object()

    def pop(self, key, default=_missing):
        if default is DictProxy._missing:
            try:
                return self._native.pop(key)
            except errors.NotFound:
                raise KeyError(key) from None
        return self._native.pop_or(key, default)

    def popitem(self):
        """Removes and returns a (key, value) pair (the last key in the
        manager's order); KeyError if empty. Atomic: a pair taken by
        another process in between is not returned twice."""
        while True:
            keys = self._native.keys()
            if not keys:
                raise KeyError("popitem(): dictionary is empty")
            key = keys[-1]
            try:
                return key, self._native.pop(key)
            except errors.NotFound:
                continue  # taken meanwhile: try the next

    def keys(self):
        return self._native.keys()

    def values(self):
        return self._native.values()

    def items(self):
        return list(self._native.items().items())

    def update(self, *args, **kwargs):
        """As dict.update; stores everything in one atomic call."""
        self._native.update(dict(*args, **kwargs))

    def clear(self):
        self._native.clear()

    def copy(self):
        return self._native.items()

    def add(self, key, delta=1):
        """Atomically adds ``delta`` to the number at ``key`` (a missing key
        counts as 0) and returns the new value: the race-free ``d[k] += 1``."""
        return _added(self._native.add, key, delta)


def _slice_bounds(s):
    """A slice's (start, stop) if its step is 1, else None."""
    if s.step is None or s.step == 1:
        return s.start, s.stop
    return None


class _SequenceBase(BaseProxy):
    """What List and Array proxies share: reads by index and slice (a
    step-1 slice in the manager, others cut from a snapshot), len, iter."""

    __slots__ = ()

    def _getvalue(self):
        return self._native.slice(None, None)

    def __len__(self):
        return self._native.len()

    def __iter__(self):
        return iter(self._getvalue())

    def __getitem__(self, index):
        if isinstance(index, slice):
            bounds = _slice_bounds(index)
            if bounds is not None:
                return self._native.slice(*bounds)
            return self._getvalue()[index]
        return self._native.get(operator.index(index))


class ListProxy(_ContentEquality, _SequenceBase):
    """A shared list with Python's index rules. Items compare by value and
    kind in the manager (``1.0 in l`` is false for ``l == [1]``)."""

    _typeid = "list"
    __slots__ = ()

    def __reversed__(self):
        return reversed(self._getvalue())

    def __contains__(self, item):
        return self._native.count(item) > 0

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            bounds = _slice_bounds(index)
            if bounds is not None:
                self._native.set_slice(bounds[0], bounds[1], list(value))
                return
            # Extended slices: computed here, then stored whole (not atomic
            # against another writer in between).
            items = self._getvalue()
            items[index] = value
            self._native.set_slice(None, None, items)
            return
        self._native.set(operator.index(index), value)

    def __delitem__(self, index):
        if isinstance(index, slice):
            bounds = _slice_bounds(index)
            if bounds is not None:
                self._native.set_slice(bounds[0], bounds[1], [])
                return
            items = self._getvalue()
            del items[index]
            self._native.set_slice(None, None, items)
            return
        self._native.pop(operator.index(index))

    def __add__(self, other):
        return self._getvalue() + list(other)

    def __radd__(self, other):
        return list(other) + self._getvalue()

    def __iadd__(self, other):
        self._native.extend(other)
        return self

    def __mul__(self, n):
        return self._getvalue() * n

    __rmul__ = __mul__

    def __imul__(self, n):
        """Repeats the list in place (read, then extended: not atomic)."""
        items = self._getvalue()
        if n <= 0:
            self._native.clear()
        elif n > 1 and items:
            self._native.extend(items * (n - 1))
        return self

    def __lt__(self, other):
        return self._getvalue() < list(other)

    def __le__(self, other):
        return self._getvalue() <= list(other)

    def __gt__(self, other):
        return self._getvalue() > list(other)

    def __ge__(self, other):
        return self._getvalue() >= list(other)

    def append(self, item):
        self._native.append(item)

    def extend(self, items):
        self._native.extend(items)

    def insert(self, index, item):
        self._native.insert(index, item)

    def pop(self, index=-1):
        try:
            return self._native.pop(index)
        except errors.OutOfRange as e:
            raise IndexError(str(e)) from None

    def remove(self, item):
        try:
            self._native.remove(item)
        except errors.NotFound as e:
            raise ValueError(str(e)) from None

    def index(self, item, start=0, stop=sys.maxsize):
        if start == 0 and stop == sys.maxsize:
            try:
                return self._native.index(item)
            except errors.NotFound as e:
                raise ValueError(str(e)) from None
        return self._getvalue().index(item, start, stop)

    def count(self, item):
        return self._native.count(item)

    def reverse(self):
        self._native.reverse()

    def sort(self, *, key=None, reverse=False):
        """Sorts in the manager, atomically, when the items compare there
        (numbers, strings, bytes, lists of those); with ``key``, or items
        only Python can compare (tuples, objects), sorts here and stores
        the result (not atomic against another writer in between)."""
        if key is None:
            try:
                self._native.sort(bool(reverse))
                return
            except errors.InvalidArgument as e:
                if "do not compare in the manager" not in str(e):
                    raise TypeError(str(e).split("sort: ", 1)[-1]) from None
        items = self._getvalue()
        items.sort(key=key, reverse=reverse)
        self._native.set_slice(None, None, items)

    def clear(self):
        self._native.clear()

    def copy(self):
        return self._getvalue()


class ValueProxy(BaseProxy):
    """A typed shared value, like ``Manager().Value(typecode, value)``."""

    _typeid = "Value"
    __slots__ = ()

    def _ref_args(self):
        return self._spec[:1]

    def _getvalue(self):
        return self._native.get()

    def get(self):
        return self._native.get()

    def set(self, value):
        self._native.set(value)

    value = property(get, set)

    def add(self, delta=1):
        """Atomically adds ``delta`` and returns the new value."""
        return _added(self._native.add, delta)

    def compare_and_swap(self, expected, desired):
        """Stores ``desired`` if the value is ``expected``; True if it did."""
        return self._native.compare_and_swap(expected, desired)

    def __str__(self):
        return "Value(%r, %r)" % (self._spec[0], self._native.get())


class ArrayProxy(_SequenceBase):
    """A fixed-length typed shared array, like ``Manager().Array``."""

    _typeid = "Array"
    __slots__ = ()

    def _ref_args(self):
        return self._spec[:1]

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            positions = range(*index.indices(self._native.len()))
            values = list(value)
            if len(values) != len(positions):
                raise ValueError("can only assign a sequence of the same "
                                 "length to an array slice")
            for i, v in zip(positions, values):  # element by element
                self._native.set(i, v)
            return
        self._native.set(operator.index(index), value)

    def add(self, index, delta=1):
        """Atomically adds to one element and returns its new value."""
        return _added(self._native.add, index, delta)

    def __str__(self):
        return "array(%r, %r)" % (self._spec[0], self._getvalue())

    def tolist(self):
        return self._getvalue()


class NamespaceProxy(BaseProxy):
    """Shared attributes. Names starting with ``_`` stay on the proxy, as
    with Python's NamespaceProxy."""

    _typeid = "Namespace"
    __slots__ = ("__dict__", )  # for the local "_" attributes

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._native.get(name)
        except errors.NotFound:
            raise AttributeError(
                "'Namespace' object has no attribute %r" % name) from None

    def __setattr__(self, name, value):
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        self._native.set(name, value)

    def __delattr__(self, name):
        if name.startswith("_"):
            object.__delattr__(self, name)
            return
        try:
            self._native.delete(name)
        except errors.NotFound:
            raise AttributeError(name) from None

    def _getvalue(self):
        return self._native.items()

    def __str__(self):
        items = self._native.items()
        return "Namespace(%s)" % ", ".join(
            "%s=%r" % (k, v) for k, v in sorted(items.items()))


def _queue_error(error):
    """queue.Empty and queue.Full as queue.Queue raises them, QueueClosed
    for a closed queue; any other error (a deleted queue) as it is."""
    if error.kind == "queue_empty":
        raise queue.Empty from None
    if error.kind == "queue_full":
        raise queue.Full from None
    if error.kind == "queue_closed":
        errors._raise_as(error, errors.QueueClosed)
    raise error


def _added(add, *args):
    """An atomic add; OverflowError past int64, as Python's ctypes would."""
    try:
        return add(*args)
    except errors.OutOfRange as e:
        errors._raise_as(e, OverflowError)


class QueueProxy(BaseProxy):
    """A FIFO queue, like ``Manager().Queue(maxsize)``: queue.Empty and
    queue.Full as with queue.Queue. Every mproc queue is joinable."""

    _typeid = "Queue"
    __slots__ = ()

    def _ref_args(self):
        return (0, )  # any maxsize

    def _getvalue(self):
        return "<queue of %d>" % self.qsize()

    def put(self, item, block=True, timeout=None):
        try:
            if not block:
                self._native.put_nowait(item)
            else:
                self._native.put(item, _check_timeout(timeout))
        except errors.MprocError as e:
            _queue_error(e)

    def put_nowait(self, item):
        self.put(item, block=False)

    def get(self, block=True, timeout=None):
        try:
            if not block:
                return self._native.get_nowait()
            return self._native.get(_check_timeout(timeout))
        except errors.MprocError as e:
            _queue_error(e)

    def get_nowait(self):
        return self.get(block=False)

    def qsize(self):
        return self._native.qsize()

    def empty(self):
        return self._native.empty()

    def full(self):
        return self._native.full()

    def task_done(self):
        try:
            self._native.task_done()
        except errors.FailedPrecondition:
            raise ValueError("task_done() called too many times") from None

    def join(self, timeout=None):
        """Waits until every item put has been marked done (``timeout``:
        beyond Python, raise TimeoutError after that many seconds)."""
        self._native.join(_check_timeout(timeout))

    def close(self):
        """Refuses further puts; gets drain what is left (beyond Python)."""
        self._native.close()


class _AcquirerBase(BaseProxy):
    """What Lock, Semaphore and Condition proxies share: acquire as
    threading's, and the context manager."""

    __slots__ = ()

    def _ref_args(self):
        return self._spec

    def acquire(self, blocking=True, timeout=None):
        return self._native.acquire(_acquire_timeout(blocking, timeout))

    def release(self):
        """RuntimeError if not held (by this process; an RLock's by this
        thread), as threading's."""
        try:
            self._native.release()
        except errors.FailedPrecondition as e:
            raise RuntimeError(str(e)) from None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


class AcquirerProxy(_AcquirerBase):
    """A Lock or RLock: held by this process (an RLock: this thread), and
    released by the manager if this process dies."""

    _typeid = "Lock"
    __slots__ = ()

    def _getvalue(self):
        return "<%s locked=%s>" % (self._typeid, self._native.locked())

    def acquire_token(self, timeout=None):
        """Acquires and returns the grant's fencing token (0 on timeout):
        increasing with every grant, so a resource can refuse a stale
        holder."""
        return self._native.acquire_token(timeout)

    def locked(self):
        return self._native.locked()


class SemaphoreProxy(_AcquirerBase):
    """A Semaphore or BoundedSemaphore; permits held by a process that dies
    come back."""

    _typeid = "Semaphore"
    __slots__ = ()

    def _getvalue(self):
        return "<%s value=%d>" % (self._typeid, self._native.value())

    def release(self, n=1):
        try:
            self._native.release(n)
        except errors.FailedPrecondition:
            raise ValueError("Semaphore released too many times") from None

    def get_value(self):
        return self._native.value()


class EventProxy(BaseProxy):
    _typeid = "Event"
    __slots__ = ()

    def _getvalue(self):
        return "<Event set=%s>" % self._native.is_set()

    def is_set(self):
        return self._native.is_set()

    def set(self):
        self._native.set()

    def clear(self):
        self._native.clear()

    def wait(self, timeout=None):
        return self._native.wait(None if timeout is None else max(0, timeout))


class ConditionProxy(_AcquirerBase):
    """A Condition over a shared Lock or RLock."""

    _typeid = "Condition"
    __slots__ = ()

    def _getvalue(self):
        return "<Condition>"

    def wait(self, timeout=None):
        try:
            return self._native.wait(
                None if timeout is None else max(0.0, timeout))
        except errors.FailedPrecondition as e:
            raise RuntimeError(str(e)) from None

    def wait_for(self, predicate, timeout=None):
        """As threading.Condition.wait_for: waits (the lock held) until
        ``predicate()`` is true or ``timeout`` passes; its last value."""
        end = None if timeout is None else time.monotonic() + timeout
        result = predicate()
        while not result:
            if end is not None:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.wait(left)
            else:
                self.wait()
            result = predicate()
        return result

    def notify(self, n=1):
        self._native.notify(n)

    def notify_all(self):
        self._native.notify_all()

    notifyAll = notify_all


class BarrierProxy(BaseProxy):
    """A Barrier for ``parties`` processes. ``action`` (given when made)
    runs in the last process to arrive, after the barrier lets all go."""

    _typeid = "Barrier"
    __slots__ = ()

    def _ref_args(self):
        return self._spec[:1]  # parties; the action stays with its maker

    def _getvalue(self):
        return "<Barrier parties=%d waiting=%d>" % (self.parties,
                                                    self.n_waiting)

    def wait(self, timeout=None):
        try:
            index = self._native.wait(timeout)
        except (errors.Aborted, errors.DeadlineExceeded) as e:
            if e.kind == "broken_barrier" or isinstance(
                    e, errors.DeadlineExceeded):
                raise threading.BrokenBarrierError from None
            raise
        action = self._spec[1] if len(self._spec) > 1 else None
        if action is not None and index == self._spec[0] - 1:
            action()
        return index

    def abort(self):
        self._native.abort()

    def reset(self):
        self._native.reset()

    @property
    def parties(self):
        return self._native.parties()

    @property
    def n_waiting(self):
        return self._native.n_waiting()

    @property
    def broken(self):
        return self._native.broken()

