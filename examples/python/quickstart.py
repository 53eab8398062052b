"""The README's Python example (run by python/tests/test_examples.py)."""
import multiprocessing

import mproc


def work(d, lock):
    with lock:  # released by the manager if we die
        d["count"] -= 1
    d.add("done", 1)  # atomic: no lock needed


if __name__ == "__main__":
    with mproc.Manager() as manager:  # a private manager process
        d, lock = manager.dict(count=10), manager.Lock()
        ps = [multiprocessing.Process(target=work, args=(d, lock)) for _ in range(10)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()
        print(d)  # {'count': 0, 'done': 10}
