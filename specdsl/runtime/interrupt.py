"""A stop asked for by a signal, seen even where a library swallowed the exception.

The command line turns SIGINT and SIGTERM into KeyboardInterrupt. Raised inside
a callback that JAX runs (its garbage-collection hook, say), that exception is
printed and dropped; so the handler also records the request here, and the
simulation loop checks it between chunks.
"""

from __future__ import annotations

import threading

_asked = threading.Event()
_signal = {"number": None}


def ask_to_stop(signum: int | None = None) -> None:
    """Record that the user asked to stop (``signum``: the signal, if any)."""
    _signal["number"] = signum
    _asked.set()


def check() -> None:
    """Raise KeyboardInterrupt if a stop was asked for."""
    if _asked.is_set():
        raise KeyboardInterrupt


def clear() -> int | None:
    """Forget a handled stop request; the signal number it came with."""
    number = _signal["number"]
    _signal["number"] = None
    _asked.clear()
    return number
