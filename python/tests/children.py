"""Targets of the child processes the tests start (importable by spawn)."""

import os
import pickle


def append(l, item):
    l.append(item)


def decrement_under_lock(d, lock):
    with lock:
        d["count"] -= 1


def decrement_atomically(d):
    d.add("count", -1)


def plus_one(num, times):
    for _ in range(times):
        num.add(1)


def minus_two(num, times):
    for _ in range(times):
        num.add(-2)


def copy_file(name, old, new, queue):
    with open(os.path.join(old, name), encoding="utf-8") as fr:
        content = fr.read()
    with open(os.path.join(new, name), "w", encoding="utf-8") as fw:
        fw.write(content)
    queue.put(name)


def unpickle_and_set(data, key, value):
    pickle.loads(data)[key] = value


def use_two_managers(first, second):
    second["from_first"] = first["greeting"]
    first["from_second"] = second["greeting"]


def hold_lock_forever(lock, ready):
    lock.acquire()
    ready.set()
    import time
    time.sleep(3600)
