"""mproc for Python: a drop-in for ``multiprocessing.Manager()`` whose
objects live in an mproc manager — shared across machines by name, with
atomic ``add``, locks released when their holder dies, and objects that
outlive the process that made them::

    import mproc

    with mproc.Manager() as manager:        # a private manager process
        d = manager.dict()
        d["jobs"] = 0
        d.add("jobs", 1)                    # atomic, race-free

    shared = mproc.Manager(("10.0.0.5", 50051), authkey=key)
    config = shared.dict(name="config")     # the same dict everywhere

See docs/python.md for every proxy method and what differs from
multiprocessing.
"""

from . import errors
from ._native import Opaque
from .errors import MprocError
from .managers import Manager, SyncManager
from .proxies import (AcquirerProxy, ArrayProxy, BarrierProxy, BaseProxy,
                      ConditionProxy, DictProxy, EventProxy, ListProxy,
                      NamespaceProxy, QueueProxy, SemaphoreProxy, ValueProxy)

__all__ = [
    "Manager", "SyncManager", "MprocError", "Opaque", "errors", "BaseProxy",
    "DictProxy", "ListProxy", "ValueProxy", "ArrayProxy", "NamespaceProxy",
    "QueueProxy", "AcquirerProxy", "SemaphoreProxy", "EventProxy",
    "ConditionProxy", "BarrierProxy"
]
