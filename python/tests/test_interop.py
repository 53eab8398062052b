"""Python and C++ clients on the same objects; keys; two managers."""

import json
import multiprocessing
import os

import pytest

import children
import mproc


def test_cpp_writes_python_reads_and_back(daemon):
    m = mproc.Manager(daemon.address, authkey=daemon.key)
    assert daemon.cli("dict", "set", "shared", "a", "1").returncode == 0
    assert daemon.cli("dict", "set", "shared", "list",
                      '[1, "x", null]').returncode == 0
    d = m.dict(name="shared")
    assert d.copy() == {"a": 1, "list": [1, "x", None]}
    d["from_python"] = {"n": 2.5, "b": b"\x01"}
    out = daemon.cli("dict", "get", "shared", "from_python")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"n": 2.5, "b": {"$bytes": "AQ=="}}
    d["t"] = (1, 2)
    out = daemon.cli("dict", "get", "shared", "t")
    assert json.loads(out.stdout)["$opaque"]["format"] == "tuple"
    q = m.Queue(name="jobs")
    assert daemon.cli("queue", "put", "jobs", '{"id": 7}').returncode == 0
    assert q.get(timeout=10) == {"id": 7}


def test_wrong_or_missing_key_is_an_authentication_error(daemon, monkeypatch):
    with pytest.raises(multiprocessing.AuthenticationError):
        mproc.Manager(daemon.address, authkey=b"wrong")
    monkeypatch.setenv("MPROC_AUTHKEY", daemon.key.decode())
    m = mproc.Manager(daemon.tuple_address)  # the default key: from the env
    assert m.address == daemon.tuple_address
    m.dict(name="ok")["k"] = 1


def test_an_unreachable_manager_is_a_connection_error(tmp_path):
    with pytest.raises(ConnectionError):
        mproc.Manager("unix:%s/none.sock" % tmp_path, authkey=b"k",
                      connect_timeout=1)


def test_proxies_of_two_managers_in_one_child(daemon, second_daemon):
    first = mproc.Manager(daemon.address, authkey=daemon.key).dict(
        greeting="hello from the first")
    second = mproc.Manager(second_daemon.address,
                           authkey=second_daemon.key).dict(
                               greeting="hello from the second")
    p = multiprocessing.get_context("spawn").Process(
        target=children.use_two_managers, args=(first, second))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert second["from_first"] == "hello from the first"
    assert first["from_second"] == "hello from the second"


def test_start_and_shutdown_of_a_private_manager():
    m = mproc.SyncManager()
    m.start()
    address = m.address
    assert address.startswith("unix:") and os.path.exists(address[5:])
    m.dict(name="x")["k"] = 1
    m.shutdown()
    m.join(10)
    assert not os.path.exists(address[5:])
    with pytest.raises(ConnectionError):
        m.dict(name="x")["k"]


def test_a_private_manager_on_a_tcp_port():
    with mproc.SyncManager(address=("127.0.0.1", 0)) as m:
        host, port = m.address
        assert host == "127.0.0.1" and port > 0  # the port it got
        m.list(name="l").append(1)
        assert m.attach("list", "l")[:] == [1]
