"""A stop asked for by a signal, seen even where a library swallowed the exception.

The command line turns SIGINT and SIGTERM into KeyboardInterrupt and records the
request here. Where Python would print and drop that exception (a callback JAX
runs, such as its garbage-collection hook) the handler only records it, and the
simulation loop checks the record between chunks. At the prompt, SIGINT stops
the command and SIGTERM the session. Inside `single_stop` (a command-line job) a
stop is raised once: a second signal only adds to the record, so it cannot cut
short the clean-up and the message saying which files were kept.
"""

from __future__ import annotations

import contextlib
import gc
import threading

_asked = threading.Event()
_signal = {"number": None}
_deferring = [0]
_single = [0]
_raised = [False]


def ask_to_stop(signum: int | None = None) -> None:
    """Record that the user asked to stop (``signum``: the signal, if any)."""
    _signal["number"] = signum
    _asked.set()


def check() -> None:
    """Raise KeyboardInterrupt if a stop was asked for."""
    if _asked.is_set():
        _raised[0] = True
        raise KeyboardInterrupt


def terminating() -> bool:
    """Whether the stop asked for came from SIGTERM: the end of the whole
    session, not just of the command that runs."""
    import signal

    return _asked.is_set() and _signal["number"] == signal.SIGTERM


def clear() -> int | None:
    """Forget a handled stop request; the signal number it came with."""
    number = _signal["number"]
    _signal["number"] = None
    _raised[0] = False
    _asked.clear()
    return number


@contextlib.contextmanager
def single_stop():
    """Inside, once a stop has been raised, a later signal is only recorded."""
    _single[0] += 1
    try:
        yield
    finally:
        _single[0] -= 1


def should_raise(frame) -> bool:
    """Whether a signal handler should raise KeyboardInterrupt where ``frame``
    runs (and then notes that it does): not in a step that must finish, not
    where Python would drop it, not a second time inside `single_stop`."""
    if deferring() or unraisable(frame) or (_single[0] and _raised[0]):
        return False
    _raised[0] = True
    return True


@contextlib.contextmanager
def deferred():
    """A stop asked for inside is only recorded, and raised once the block ends.

    For steps that must finish once begun, such as renaming a finished file into
    place and recording that it was written.
    """
    _deferring[0] += 1
    try:
        yield
    finally:
        _deferring[0] -= 1
    if not _deferring[0]:
        check()


def deferring() -> bool:
    """Whether a signal handler should only record the stop (see `deferred`)."""
    return _deferring[0] > 0


def unraisable(frame) -> bool:
    """Whether ``frame`` runs where Python prints and drops exceptions: inside a
    garbage-collection callback (JAX has one) or a ``__del__`` method.

    A handler should only record the stop there; raising would print Python's
    "Exception ignored in ..." traceback and stop nothing.
    """
    callbacks = {getattr(callback, "__code__", None) for callback in gc.callbacks}
    while frame is not None:
        if frame.f_code in callbacks or frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False
