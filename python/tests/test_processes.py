"""Proxies across processes: fork and spawn children, pickles, and the
seed tutorials' Manager examples rewritten with `import mproc`."""

import atexit
import multiprocessing
import os
import pickle
import signal

import pytest

import children
import mproc


@pytest.fixture(params=["fork", "spawn"])
def context(request):
    return multiprocessing.get_context(request.param)


def run(context, target, *args):
    p = context.Process(target=target, args=args)
    p.start()
    p.join(60)
    assert p.exitcode == 0, p.exitcode


def test_seed_a_child_appends_to_a_shared_list(manager, context):
    # Seed 001: manager.list() passed to a Process.
    l = manager.list()
    assert str(l) == "[]"
    run(context, children.append, l, 111)
    assert str(l) == "[111]"


def test_seed_a_hundred_processes_decrement_under_a_lock(context):
    # Seed 003: d['count'] -= 1 in 100 processes; with the Lock it ends at 0.
    with mproc.Manager() as m:
        d = m.dict({"count": 100})
        lock = m.Lock()
        procs = [context.Process(target=children.decrement_under_lock,
                                 args=(d, lock)) for _ in range(100)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
            assert p.exitcode == 0
        assert d["count"] == 0


def test_atomic_add_needs_no_lock(manager):
    d = manager.dict({"count": 50})
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=children.decrement_atomically, args=(d, ))
             for _ in range(50)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert d["count"] == 0


def test_seed_plus_one_and_minus_two_on_a_shared_value(manager, context):
    # Seed 004, bounded: the two tasks on one Value('i', 1).
    num = manager.Value("i", 1)
    procs = [context.Process(target=children.plus_one, args=(num, 5)),
             context.Process(target=children.minus_two, args=(num, 5))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert num.value == 1 + 5 - 10


def test_seed_pool_copies_files_and_reports_through_a_queue(tmp_path):
    # Seed 003's homework: a Pool copies files, a Manager().Queue() counts.
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    names = ["f%d.txt" % i for i in range(20)]
    for n in names:
        (old / n).write_text("content of " + n, encoding="utf-8")
    with mproc.Manager() as m:
        queue = m.Queue()
        with multiprocessing.get_context("fork").Pool(2) as pool:
            results = [pool.apply_async(children.copy_file,
                                        (n, str(old), str(new), queue))
                       for n in names]
            done = sorted(queue.get(timeout=60) for _ in names)
            for r in results:
                r.get(60)
    assert done == sorted(names)
    assert all((new / n).read_text(encoding="utf-8") == "content of " + n
               for n in names)


def test_a_pickled_proxy_reconnects_in_another_process(manager, context):
    d = manager.dict()
    data = pickle.dumps(d)
    assert manager.address.encode() in data
    run(context, children.unpickle_and_set, data, "k", "v")
    assert d["k"] == "v"


def test_a_pickle_carries_no_key(daemon):
    m = mproc.Manager(daemon.address, authkey=daemon.key)
    assert daemon.key not in pickle.dumps(m.dict())


def test_spawn_children_of_a_remote_manager_get_its_key(daemon):
    # Python passes the key to a spawned child, and only to it.
    m = mproc.Manager(daemon.address, authkey=daemon.key)
    l = m.list()
    run(multiprocessing.get_context("spawn"), children.append, l, "spawned")
    assert l[:] == ["spawned"]


def test_nested_proxies_are_references(manager):
    outer = manager.dict()
    inner = manager.dict()
    outer["inner"] = inner
    outer["inner"]["x"] = 1
    assert inner["x"] == 1
    lists = manager.list([manager.list()])
    lists[0].append("deep")
    assert lists[0][:] == ["deep"]
    ns = manager.Namespace()
    ns.shared = inner
    ns.shared["y"] = 2
    assert inner.copy() == {"x": 1, "y": 2}


def test_a_lock_held_by_a_killed_process_is_released(manager):
    lock = manager.Lock()
    ready = manager.Event()
    p = multiprocessing.get_context("fork").Process(
        target=children.hold_lock_forever, args=(lock, ready))
    p.start()
    assert ready.wait(60)
    assert not lock.acquire(timeout=0.05)
    os.kill(p.pid, signal.SIGKILL)
    p.join(60)
    assert lock.acquire(timeout=60)  # Python's manager would keep it held
    lock.release()


def test_a_stored_proxy_is_a_reference_by_name_readable_from_cpp(daemon):
    m = mproc.Manager(daemon.address, authkey=daemon.key)
    inner = m.dict(name="inner")
    m.dict(name="outer")["inner"] = inner
    out = daemon.cli("dict", "get", "outer", "inner")
    assert out.returncode == 0, out.stderr
    assert '"format": "ref"' in out.stdout
    # Read through another address of the same manager, it names the same
    # object there: references are relative to the manager.
    port = daemon.tuple_address[1]
    other = mproc.Manager("localhost:%d" % port, authkey=daemon.key)
    other.dict(name="outer")["inner"]["via"] = "localhost"
    assert inner["via"] == "localhost"


def test_a_proxy_of_another_manager_cannot_be_stored(manager, daemon):
    m = mproc.Manager(daemon.address, authkey=daemon.key)
    with pytest.raises(ValueError, match="cannot be stored in the manager"):
        m.dict()["x"] = manager.dict()


def test_a_forked_child_exiting_normally_leaves_the_manager_running():
    m = mproc.Manager()
    d = m.dict()
    pid = os.fork()
    if pid == 0:
        try:
            d["child"] = True
            atexit._run_exitfuncs()  # what a normal exit runs (Process skips it)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert d["child"] is True  # the manager is still there
    m.shutdown()
