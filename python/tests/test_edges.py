"""The package at its edges: lifetimes, bad values, errors told apart."""

import gc
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

import mproc
from mproc import errors


def await_gone(path, seconds=20):
    """Waits (bounded) until `path` no longer exists."""
    done = threading.Event()
    for _ in range(int(seconds * 20)):
        if not os.path.exists(path):
            return True
        done.wait(0.05)
    return False


def test_a_temporary_manager_lives_while_its_proxies_do():
    d = mproc.Manager().dict()  # nothing else holds the manager
    gc.collect()
    d["x"] = 1
    assert d["x"] == 1
    socket_path = d._native.address[len("unix:"):]
    assert os.path.exists(socket_path)
    del d
    gc.collect()
    assert await_gone(socket_path)  # stopped once nothing refers to it


def test_a_manager_started_in_a_thread_outlives_the_thread():
    box = []
    t = threading.Thread(target=lambda: box.append(mproc.Manager()))
    t.start()
    t.join()
    m = box[0]
    m.join(timeout=1)  # returns early only if the process exited
    assert m._process.poll() is None
    m.dict()["k"] = 1
    m.shutdown()


def test_the_private_manager_stops_when_its_owner_is_killed(tmp_path):
    script = textwrap.dedent("""
        import os, signal, sys
        import mproc
        m = mproc.Manager()
        print(m._process.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == -signal.SIGKILL, out.stderr
    pid = int(out.stdout.strip())
    assert await_gone("/proc/%d" % pid)


def test_self_containing_and_too_deep_values_raise_not_crash(manager):
    d = manager.dict()
    loop = []
    loop.append(loop)
    with pytest.raises(RecursionError):
        d["k"] = loop
    deep = []
    for _ in range(100000):
        deep = [deep]
    with pytest.raises(RecursionError):
        d["k"] = deep
    d["k"] = "still serving"
    assert d["k"] == "still serving"


def test_unhashable_keys_raise_type_error_as_a_dict_does(manager):
    d = manager.dict()
    for key in [(1, [2]), {1}, manager.dict()]:
        with pytest.raises(TypeError):
            d[key] = 0
        with pytest.raises(TypeError):
            key in d
    assert d.copy() == {}


def test_ints_beyond_pythons_digit_limit(manager):
    d = manager.dict()
    d["huge"] = 2**20000
    assert d["huge"] == 2**20000


def test_opaque_values_of_other_clients_go_back_unchanged(daemon):
    m = mproc.Manager(daemon.address, authkey=daemon.key)
    assert daemon.cli("list", "append", "foreign",
                      '{"$opaque": {"format": "x-other", "data": "AAE="}}'
                      ).returncode == 0
    l = m.list(name="foreign")
    l.append(1)
    l.sort(key=str)  # read here, written back whole
    out = daemon.cli("list", "items", "foreign")
    assert '"format": "x-other"' in out.stdout, out.stdout


def test_errors_are_told_apart_beyond_their_code(manager):
    q = manager.Queue()
    q.put(1)
    q.close()
    with pytest.raises(errors.QueueClosed):
        q.put(2)
    assert q.get() == 1
    with pytest.raises(errors.QueueClosed):  # drained: not queue.Empty
        q.get(timeout=1)
    d = manager.dict()
    d["n"] = 2**63 - 1
    with pytest.raises(OverflowError):
        d.add("n", 1)
    v = manager.Value("i", 2**63 - 1)
    with pytest.raises(OverflowError):
        v.add(1)


def test_a_pickled_proxy_carries_no_initial_contents(manager):
    import pickle
    big = manager.dict({i: "x" * 100 for i in range(1000)})
    assert len(pickle.dumps(big)) < 1000
