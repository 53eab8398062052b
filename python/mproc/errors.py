"""The exceptions mproc raises.

Every error from the manager is a :class:`MprocError` carrying the gRPC
status ``code`` and the manager's message (which names the object and the
problem). Each is also the builtin exception the same operation raises on
a local object, so ``except KeyError`` works on a :class:`DictProxy` as on
a dict:

==================  ===========================================
status              raised as (besides MprocError)
==================  ===========================================
NOT_FOUND           KeyError
OUT_OF_RANGE        IndexError
INVALID_ARGUMENT    TypeError and ValueError
FAILED_PRECONDITION RuntimeError, multiprocessing RemoteError
RESOURCE_EXHAUSTED  multiprocessing RemoteError (a full queue
                    becomes queue.Full in its proxy)
ABORTED             RuntimeError, multiprocessing RemoteError
UNAVAILABLE         ConnectionError (the manager cannot be reached)
DEADLINE_EXCEEDED   TimeoutError
UNAUTHENTICATED,    multiprocessing.AuthenticationError
PERMISSION_DENIED
others              multiprocessing.managers.RemoteError
==================  ===========================================

Proxies refine a few of these where Python's own objects differ
(``list.remove`` of a missing item raises ValueError, an empty queue
queue.Empty, a broken barrier threading.BrokenBarrierError).
"""

import multiprocessing
from multiprocessing.managers import RemoteError

# absl/gRPC status codes.
OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
PERMISSION_DENIED = 7
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
OUT_OF_RANGE = 11
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
DATA_LOSS = 15
UNAUTHENTICATED = 16


class MprocError(Exception):
    """An error the manager (or the client) reported; ``code`` is its
    status, ``kind`` what it is beyond that ("queue_empty", "queue_full",
    "queue_closed", "broken_barrier"; "" for most)."""

    code = UNKNOWN
    kind = ""

    @property
    def message(self):
        return self.args[0] if self.args else ""

    def __str__(self):
        return self.message


class NotFound(MprocError, KeyError):
    code = NOT_FOUND

    def __str__(self):  # KeyError would quote the message
        return self.message


class OutOfRange(MprocError, IndexError):
    code = OUT_OF_RANGE


class InvalidArgument(MprocError, TypeError, ValueError):
    code = INVALID_ARGUMENT


class ManagerRemoteError(MprocError, RemoteError):
    """Something the manager refused that has no closer Python equivalent."""


class FailedPrecondition(ManagerRemoteError, RuntimeError):
    code = FAILED_PRECONDITION


class ResourceExhausted(ManagerRemoteError):
    code = RESOURCE_EXHAUSTED


class Aborted(ManagerRemoteError, RuntimeError):
    code = ABORTED


class ManagerUnavailable(MprocError, ConnectionError):
    """The manager cannot be reached (the client reconnects on a later call)."""

    code = UNAVAILABLE


class DeadlineExceeded(MprocError, TimeoutError):
    code = DEADLINE_EXCEEDED


class AuthenticationError(MprocError, multiprocessing.AuthenticationError):
    code = UNAUTHENTICATED


class PermissionDenied(AuthenticationError):
    code = PERMISSION_DENIED


class QueueClosed(MprocError):
    """A put on a closed queue, or a get once it is closed and drained."""


def _raise_as(error, cls, *args):
    """Raises `cls` (from `error`, keeping its code and kind on it)."""
    replacement = cls(*args) if args else cls(str(error))
    if isinstance(replacement, MprocError):
        replacement.code, replacement.kind = error.code, error.kind
    raise replacement from None


def _classes():
    """{code: class} for the native module."""
    table = {UNKNOWN: ManagerRemoteError}
    for cls in (NotFound, OutOfRange, InvalidArgument, FailedPrecondition,
                ResourceExhausted, Aborted, ManagerUnavailable,
                DeadlineExceeded, AuthenticationError, PermissionDenied):
        table[cls.code] = cls
    return table
