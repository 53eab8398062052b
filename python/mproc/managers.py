"""The manager: ``mproc.Manager()``, like ``multiprocessing.Manager()``.

``Manager()`` starts a private manager process (the ``mproc manager``
binary, in memory, on a unix socket in a private directory, with this
process's ``current_process().authkey`` as its key) and stops it at exit
or ``shutdown()``. ``Manager(address, authkey=...)`` connects to a running
manager instead — on this machine or another — whose objects any number
of processes share by name.

Connections are per process and per (address, key): every proxy of one
manager in a process shares one native client, which pipelines the calls
of all threads on one stream and reopens it after fork.
"""

import os
import pickle
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from multiprocessing import current_process
from multiprocessing.context import get_spawning_popen

from . import _native, errors, proxies
from ._native import _mproc

__all__ = ["Manager", "SyncManager", "rebuild_proxy"]


def _format_address(address):
    """("host", port) → "host:port"; "unix:/path" and "host:port" as given."""
    if address is None:
        return None
    if isinstance(address, tuple):
        host, port = address
        return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host,
                                                                        port)
    if isinstance(address, str):
        return address
    raise TypeError("address must be (host, port) or a string, got %r" %
                    (address, ))


def _key_bytes(authkey):
    if authkey is None:
        return None
    if isinstance(authkey, str):
        return authkey.encode()
    return bytes(authkey)


def _private_key():
    """The key of a manager this process tree starts: the hex of
    current_process().authkey, which fork and spawn children inherit."""
    return bytes(current_process().authkey).hex().encode()


class _Connection:
    """One native client and what a pickled proxy needs to find it again."""

    def __init__(self, address, authkey, private, no_auth, user):
        self.address = address
        self.authkey = authkey  # bytes, or None for the default key
        self.private = private  # the key is _private_key()
        self.no_auth = no_auth
        self.user = user
        self.owner = None  # the SyncManager that started the manager, if any
        self._client = None
        self._lock = threading.Lock()

    @property
    def client(self):
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    key = _private_key() if self.private else self.authkey
                    self._client = _mproc.Client(
                        self.address, key, no_auth=self.no_auth,
                        user=self.user or "")
                client = self._client
        return client

    def reference(self):
        """How a proxy pickles its connection. The key travels only into a
        child being spawned, as with Python's proxies; other receivers use
        their own (current_process().authkey for a private manager, else
        the default key)."""
        key = None
        if get_spawning_popen() is not None and not self.private:
            key = self.authkey
        return (self.address, key, self.private, self.no_auth, self.user)


# Weak: a connection lives while a proxy (or its manager) holds it.
_connections = weakref.WeakValueDictionary()
_connections_lock = threading.Lock()


def _after_fork_in_child():
    # A lock held by another thread at fork time would stay held for ever.
    global _connections_lock
    _connections_lock = threading.Lock()
    for c in list(_connections.values()):
        c._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _connection(address, authkey=None, private=False, no_auth=False,
                user=None):
    k = (address, authkey, private, no_auth, user)
    with _connections_lock:
        c = _connections.get(k)
        if c is None:
            c = _connections[k] = _Connection(address, authkey, private,
                                              no_auth, user)
        return c


def rebuild_proxy(cls, reference, name, spec):
    """Unpickles a proxy: the same object, through this process's own
    connection to its manager."""
    connection = _connection(*reference)
    return cls(_open(connection.client, cls, name, spec), connection, spec)


_TYPEIDS = {cls._typeid: cls for cls in (
    proxies.DictProxy, proxies.ListProxy, proxies.ValueProxy,
    proxies.ArrayProxy, proxies.NamespaceProxy, proxies.QueueProxy,
    proxies.AcquirerProxy, proxies.SemaphoreProxy, proxies.EventProxy,
    proxies.ConditionProxy, proxies.BarrierProxy)}


def proxy_from_reference(address, typeid, name, args):
    """A stored proxy read from the manager at `address`: the object it
    names, through the connection the value was read with."""
    cls = _TYPEIDS.get(typeid)
    with _connections_lock:
        connection = next(
            (c for c in _connections.values() if c.address == address), None)
    if cls is None or connection is None:
        return _native.Opaque("ref", (typeid, name, args))
    spec = tuple(args)
    return cls(_open(connection.client, cls, name, spec), connection, spec)


def _open(client, cls, name, spec):
    """The native proxy of `name`, get-or-create with `spec`."""
    opener = _OPENERS[cls]
    return opener(client, name, *spec)


def _open_dict(client, name, initial=None):
    return _mproc.open_dict(client, name, initial)


def _open_list(client, name, initial=None):
    return _mproc.open_list(client, name, initial)


def _open_value(client, name, typecode, initial=None):
    return _mproc.open_value(client, name, typecode, initial)


def _open_array(client, name, typecode, size_or_items=0):
    return _mproc.open_array(client, name, typecode, size_or_items)


def _open_queue(client, name, maxsize=0):
    return _mproc.open_queue(client, name, maxsize)


def _open_lock(client, name, reentrant=False):
    return _mproc.open_lock(client, name, reentrant)


def _open_semaphore(client, name, value=1, bounded=False):
    return _mproc.open_semaphore(client, name, value, bounded)


def _open_condition(client, name, lock):
    return _mproc.open_condition(client, name, lock)


def _open_barrier(client, name, parties, action=None, timeout=None):
    return _mproc.open_barrier(client, name, parties, timeout)


_OPENERS = {
    proxies.DictProxy: _open_dict,
    proxies.ListProxy: _open_list,
    proxies.ValueProxy: _open_value,
    proxies.ArrayProxy: _open_array,
    proxies.NamespaceProxy: lambda c, n: _mproc.open_namespace(c, n),
    proxies.QueueProxy: _open_queue,
    proxies.AcquirerProxy: _open_lock,
    proxies.SemaphoreProxy: _open_semaphore,
    proxies.EventProxy: lambda c, n: _mproc.open_event(c, n),
    proxies.ConditionProxy: _open_condition,
    proxies.BarrierProxy: _open_barrier,
}

# ctypes types Python's Value/Array accept, as the manager's element types.
_CTYPES_CODES = {
    "c_bool": "?", "c_char": "c", "c_byte": "b", "c_ubyte": "B",
    "c_short": "h", "c_ushort": "H", "c_int": "i", "c_uint": "I",
    "c_long": "l", "c_ulong": "L", "c_longlong": "q", "c_ulonglong": "Q",
    "c_float": "f", "c_double": "d", "c_char_p": "string",
    "c_wchar_p": "string", "c_wchar": "string",
}


def _typecode(typecode_or_type):
    if isinstance(typecode_or_type, str):
        return typecode_or_type
    name = getattr(typecode_or_type, "__name__", None)
    if name in _CTYPES_CODES:
        return _CTYPES_CODES[name]
    raise TypeError("unsupported Value/Array type %r" % (typecode_or_type, ))


def _find_binary():
    here = os.path.join(os.path.dirname(__file__), "bin", "mproc")
    for candidate in (os.environ.get("MPROC_BINARY"), here,
                      shutil.which("mproc")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(
        "mproc: the manager binary is missing (reinstall with "
        "scripts/install_python.sh, or set MPROC_BINARY)")


def _stop(process, directory, owner):
    """Stops a private manager: SIGTERM, then SIGKILL after 5 s. Only in
    the process that started it (a forked child exiting leaves it be)."""
    if os.getpid() != owner:
        return
    if process is not None and process.stdin is not None:
        process.stdin.close()
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


class SyncManager:
    """Python's SyncManager over an mproc manager: the same factories and
    proxies, plus ``name=`` on each (processes anywhere reach the same
    object by name) and :meth:`attach`.

    ``address``: ("host", port), "host:port" or "unix:/path"; None with
    :meth:`start` for a private socket. ``authkey``: the manager's key
    (bytes); None: current_process().authkey for a manager started here,
    else mproc's default key ($MPROC_AUTHKEY or ~/.config/mproc/authkey).
    """

    def __init__(self, address=None, authkey=None, *, no_auth=False,
                 user=None, connect_timeout=10.0):
        self._address = _format_address(address)
        self._authkey = _key_bytes(authkey)
        self._no_auth = no_auth
        self._user = user
        self._connect_timeout = connect_timeout
        self._connection = None
        self._process = None
        self._directory = None
        self._finalizer = None
        self._state = "initial"

    # --- lifecycle ---

    def start(self, initializer=None, initargs=()):
        """Starts a manager process of this process's own (in memory)."""
        if self._state != "initial":
            raise errors.FailedPrecondition("manager already %s" % self._state)
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        self._directory = tempfile.mkdtemp(prefix="mproc-")
        # From here on every way out either starts the manager or removes
        # what was made for it (the key file above all).
        self._finalizer = weakref.finalize(self, _stop, None, self._directory,
                                           os.getpid())
        try:
            address = self._address or "unix:%s/manager.sock" % self._directory
            private = self._authkey is None
            key = _private_key() if private else self._authkey
            key_file = os.path.join(self._directory, "authkey")
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key)
            log_path = os.path.join(self._directory, "manager.log")
            with open(log_path, "wb") as log:
                # Its stdin is a pipe whose other end only this process
                # (and children forked from it) holds: when they are all
                # gone, however they died, the manager stops.
                self._process = subprocess.Popen(
                    [_find_binary(), "manager", "--listen", address,
                     "--authkey-file", key_file, "--in-memory",
                     "--exit-with-stdin"],
                    stdin=subprocess.PIPE, stdout=log,
                    stderr=subprocess.STDOUT, close_fds=True)
            self._finalizer.detach()
            self._finalizer = weakref.finalize(self, _stop, self._process,
                                               self._directory, os.getpid())
            self._address = self._await_listening(log_path)
            self._connection = _connection(self._address,
                                           None if private else key, private,
                                           False, self._user)
            self._connection.owner = self  # lives while its proxies do
            self._connection.client  # connects now: errors surface here
        except BaseException:
            self._finalizer()
            raise
        self._state = "started"
        if initializer is not None:
            initializer(*initargs)

    def _await_listening(self, log_path):
        """The address the manager listens on, once it does (a port 0
        asked for is the port it got)."""
        deadline = time.monotonic() + self._connect_timeout
        while True:
            with open(log_path, "rb") as f:
                text = f.read().decode(errors="replace")
            found = re.search(r"listening on (\S+)", text)
            if found:
                return found.group(1)
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._finalizer()
                raise errors.ManagerUnavailable(
                    "mproc: the manager did not start: " + text.strip())
            time.sleep(0.005)

    def connect(self):
        """Connects to the manager at ``address``."""
        if self._address is None:
            raise ValueError("connect() needs an address")
        self._connection = _connection(self._address, self._authkey, False,
                                       self._no_auth, self._user)
        self._connection.client
        self._state = "connected"

    def shutdown(self):
        """Stops a manager this object started (its objects are gone);
        for a connected one, only forgets it."""
        if self._finalizer is not None:
            self._finalizer()
        self._state = "shutdown"

    def join(self, timeout=None):
        if self._process is not None:
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass

    def __enter__(self):
        if self._state == "initial":  # as Python's: starts a manager
            self.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()

    @property
    def address(self):
        a = self._address
        if a is None or a.startswith("unix:"):
            return a
        host, _, port = a.rpartition(":")
        return (host.strip("[]"), int(port))

    @property
    def _client(self):
        if self._connection is None:
            raise errors.FailedPrecondition(
                "manager not started or connected: call start() or connect()")
        return self._connection.client

    # --- factories ---

    def _make(self, cls, name, spec):
        if name is None:
            name = "py-%s-%s" % (cls._typeid.lower(), uuid.uuid4().hex)
        return cls(_open(self._client, cls, name, spec), self._connection,
                   spec)

    def dict(self, *args, name=None, **kwargs):
        initial = dict(*args, **kwargs) if (args or kwargs) else None
        return self._make(proxies.DictProxy, name, (initial, ) if initial
                          else ())

    def list(self, sequence=(), *, name=None):
        items = list(sequence)
        return self._make(proxies.ListProxy, name, (items, ) if items else ())

    def Value(self, typecode, value=None, lock=True, *, name=None):
        return self._make(proxies.ValueProxy, name,
                          (_typecode(typecode), value))

    def Array(self, typecode, sequence, lock=True, *, name=None):
        if not isinstance(sequence, int):
            sequence = list(sequence)
        return self._make(proxies.ArrayProxy, name,
                          (_typecode(typecode), sequence))

    def Namespace(self, *, name=None, **attributes):
        ns = self._make(proxies.NamespaceProxy, name, ())
        for k, v in attributes.items():
            setattr(ns, k, v)
        return ns

    def Queue(self, maxsize=0, *, name=None):
        return self._make(proxies.QueueProxy, name, (maxsize, ))

    JoinableQueue = Queue

    def Lock(self, *, name=None):
        return self._make(proxies.AcquirerProxy, name, (False, ))

    def RLock(self, *, name=None):
        return self._make(proxies.AcquirerProxy, name, (True, ))

    def Semaphore(self, value=1, *, name=None):
        return self._make(proxies.SemaphoreProxy, name, (value, False))

    def BoundedSemaphore(self, value=1, *, name=None):
        return self._make(proxies.SemaphoreProxy, name, (value, True))

    def Event(self, *, name=None):
        return self._make(proxies.EventProxy, name, ())

    def Condition(self, lock=None, *, name=None):
        """A Condition over ``lock`` (a Lock or RLock proxy of this
        manager); None: a new RLock, as threading.Condition."""
        if lock is None:
            lock = self.RLock(name=None if name is None else name + ".lock")
        if not isinstance(lock, proxies.AcquirerProxy):
            raise TypeError("Condition's lock must be a Lock or RLock proxy")
        return self._make(proxies.ConditionProxy, name, (lock._name, ))

    def Barrier(self, parties, action=None, timeout=None, *, name=None):
        return self._make(proxies.BarrierProxy, name,
                          (parties, action, timeout))

    _ATTACH = {
        "dict": (proxies.DictProxy, ()),
        "list": (proxies.ListProxy, ()),
        "namespace": (proxies.NamespaceProxy, ()),
        "queue": (proxies.QueueProxy, (0, )),
        "event": (proxies.EventProxy, ()),
    }

    def attach(self, kind, name):
        """A proxy for the existing object ``name`` of ``kind`` ("dict",
        "list", "value", "array", "namespace", "queue", "lock", "rlock",
        "semaphore", "event", "condition", "barrier"). KeyError if there
        is none; TypeError if it is of another kind."""
        found = [o for o in self._client.objects() if o[1] == name]
        if not found:
            raise KeyError("no object named %r" % name)
        actual, _, size, details = found[0]
        wanted = "lock" if kind == "rlock" else kind
        if actual != wanted:
            raise TypeError("%r is a %s, not a %s" % (name, actual, kind))
        if kind in self._ATTACH:
            cls, spec = self._ATTACH[kind]
        elif kind == "value":
            cls, spec = proxies.ValueProxy, (details["type"], )
        elif kind == "array":
            cls, spec = proxies.ArrayProxy, (details["type"], size)
        elif kind in ("lock", "rlock"):
            cls, spec = proxies.AcquirerProxy, (bool(details.get("reentrant")), )
        elif kind == "semaphore":
            cls, spec = proxies.SemaphoreProxy, (
                details.get("initial", 1), bool(details.get("bounded")))
        elif kind == "condition":
            cls, spec = proxies.ConditionProxy, (details["lock"], )
        elif kind == "barrier":
            cls, spec = proxies.BarrierProxy, (details["parties"], )
        else:
            raise ValueError("unknown kind %r" % kind)
        return self._make(cls, name, spec)

    def delete(self, proxy_or_name):
        """Deletes an object from the manager (beyond Python)."""
        name = getattr(proxy_or_name, "_name", proxy_or_name)
        try:
            self._client.delete_object(name)
        except errors.NotFound:
            raise KeyError(name) from None

    def objects(self):
        """[(kind, name, size)] of every object the manager holds."""
        return [o[:3] for o in self._client.objects()]


def Manager(address=None, authkey=None, **kwargs):
    """A started SyncManager: a private manager process of this process's
    own when ``address`` is None (as multiprocessing.Manager()), else a
    connection to the manager at ``address``."""
    m = SyncManager(address, authkey, **kwargs)
    if address is None:
        m.start()
    else:
        m.connect()
    return m


_mproc.set_codec_hooks(_native.dumps, pickle.loads, _native.Opaque,
                       proxies.BaseProxy, proxies.BaseProxy._reference,
                       proxy_from_reference)
