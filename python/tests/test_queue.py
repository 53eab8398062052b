"""QueueProxy: queue.Queue's behaviour, blocking in the manager."""

import queue
import threading
import time

import pytest


def test_fifo_sizes_and_nowait(manager):
    q = manager.Queue(2)
    assert q.empty() and not q.full() and q.qsize() == 0
    q.put("a")
    q.put_nowait("b")
    assert q.full() and q.qsize() == 2
    with pytest.raises(queue.Full):
        q.put_nowait("c")
    with pytest.raises(queue.Full):
        q.put("c", timeout=0.05)
    with pytest.raises(queue.Full):
        q.put("c", block=False)
    assert q.get() == "a" and q.get_nowait() == "b"
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.05)
    with pytest.raises(ValueError):
        q.get(timeout=-1)


def test_a_blocked_get_receives_a_later_put(manager):
    q = manager.Queue()
    got = []
    t = threading.Thread(target=lambda: got.append(q.get(timeout=30)))
    t.start()
    time.sleep(0.05)  # let it block (it would also pass if it had not)
    q.put({"job": 1})
    t.join(30)
    assert got == [{"job": 1}]


def test_joinable_queue_task_done_and_join(manager):
    q = manager.JoinableQueue()
    for i in range(3):
        q.put(i)
    with pytest.raises(TimeoutError):
        q.join(timeout=0.05)
    for _ in range(3):
        q.get()
        q.task_done()
    q.join(timeout=5)
    with pytest.raises(ValueError):
        q.task_done()
