"""The compiler imported in the background while the prompt starts, and a way for
the prompt to wait for it: JAX imported from two threads at once can fail
("partially initialized module"), so nothing else imports it until it is done."""

from __future__ import annotations

import importlib
import threading

_done = threading.Event()
_done.set()  # nothing loading until start() is called


def start() -> None:
    """Import the compiler and the component library in a background thread."""
    _done.clear()

    def load():
        try:
            importlib.import_module("specdsl.model")
            importlib.import_module("specdsl.library")
        except Exception:  # noqa: BLE001  (reported later, at first use)
            pass
        finally:
            _done.set()

    threading.Thread(target=load, daemon=True).start()


def ready() -> bool:
    """Whether the background import is over (so importing JAX is safe)."""
    return _done.is_set()


def wait() -> None:
    """Block until the background import is over."""
    _done.wait()
