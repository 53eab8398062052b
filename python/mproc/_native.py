"""Loads the native module and gives it what it needs from Python."""

import collections
import pickle

from . import _mproc  # noqa: F401  (the extension, next to this file)
from . import errors

# How objects without a native kind are stored (python/ext/py_value.h).
# Protocol 4: the same bytes from every Python 3.8+, so equal keys match.
PICKLE_PROTOCOL = 4

Opaque = collections.namedtuple("Opaque", ["format", "data"])
Opaque.__doc__ = ("A value stored by another client in a format this one "
                  "does not read (format: its name; data: its bytes).")


def dumps(obj):
    return pickle.dumps(obj, protocol=PICKLE_PROTOCOL)


_mproc.set_exception_classes(errors._classes())
# The codec's hooks are set by managers.py, which resolves stored proxies.
