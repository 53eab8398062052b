"""Lock, RLock, Semaphore, Condition, Event and Barrier proxies."""

import threading
import time

import pytest


def test_lock_acquire_release_and_context_manager(manager):
    lock = manager.Lock()
    assert lock.acquire()
    assert not lock.acquire(blocking=False)
    assert not lock.acquire(timeout=0.05)
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()
    with pytest.raises(ValueError):
        lock.acquire(False, 1)


def test_rlock_is_reentrant_per_thread(manager):
    rlock = manager.RLock()
    with rlock:
        with rlock:
            other = []
            t = threading.Thread(
                target=lambda: other.append(rlock.acquire(timeout=0.05)))
            t.start()
            t.join()
            assert other == [False]
    assert rlock.acquire(blocking=False)
    rlock.release()


def test_fencing_tokens_increase(manager):
    lock = manager.Lock()
    first = lock.acquire_token()
    lock.release()
    second = lock.acquire_token()
    lock.release()
    assert 1 <= first < second


def test_semaphore_and_bounded_semaphore(manager):
    s = manager.Semaphore(2)
    assert s.acquire() and s.acquire() and not s.acquire(timeout=0.05)
    assert s.get_value() == 0
    s.release(2)
    assert s.get_value() == 2
    b = manager.BoundedSemaphore(1)
    with b:
        assert b.get_value() == 0
    with pytest.raises(ValueError):
        b.release()


def test_event(manager):
    e = manager.Event()
    assert not e.is_set() and not e.wait(0.05)
    threading.Timer(0.05, e.set).start()
    assert e.wait(30)
    e.clear()
    assert not e.is_set()


def test_condition_wait_notify_and_wait_for(manager):
    cond = manager.Condition()
    box = manager.list()

    def producer():
        with cond:
            box.append("item")
            cond.notify()

    with cond:
        threading.Timer(0.05, producer).start()
        assert cond.wait_for(lambda: len(box) > 0, timeout=30)
        assert not cond.wait(0.01)
    with pytest.raises(RuntimeError):
        cond.wait(0.01)
    lock = manager.Lock()
    over_lock = manager.Condition(lock)
    with over_lock:
        assert lock.locked()


def test_barrier_releases_all_parties_and_breaks(manager):
    calls = []
    barrier = manager.Barrier(3, action=lambda: calls.append(1))
    assert barrier.parties == 3 and barrier.n_waiting == 0
    indices = []
    threads = [threading.Thread(target=lambda: indices.append(barrier.wait(30)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(indices) == [0, 1, 2] and calls == [1]
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(0.05)  # alone: times out and breaks it
    assert barrier.broken
    barrier.reset()
    assert not barrier.broken
    barrier.abort()
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(1)
