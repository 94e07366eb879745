"""Hidden temporary names for files being written, and their clean-up.

Every file is written under a hidden temporary name, then renamed into place.
Each name is recorded here before the file is created, so that an interrupt
arriving at any point (Ctrl-C, or SIGTERM turned into one by the command line)
can remove whatever was left half-written, even from inside a constructor.
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

_pending: set[Path] = set()
_published: list[Path] = []
_lock = threading.Lock()


_TOKEN_BYTES = 4
# How much longer a temporary name is than its target's: ".", "." + hex, ".tmp".
TEMPORARY_EXTRA = len(".") + len(".") + 2 * _TOKEN_BYTES + len(".tmp")


def temporary_name(target: Path) -> Path:
    """The hidden name ``target`` is written under before it is renamed into place."""
    token = secrets.token_hex(_TOKEN_BYTES)
    temporary = target.parent / f".{target.name}.{token}.tmp"
    with _lock:
        _pending.add(temporary)
    return temporary


def temporary_target(name: str) -> str | None:
    """The target name a temporary file name (``.<target>.<hex>.tmp``) is for."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return None
    return name[1 : -len(".tmp")].rpartition(".")[0]


def staged_name(target: Path) -> Path:
    """A hidden name beside ``target`` that keeps its suffixes (``.gz`` still
    compresses), for a finished file renamed onto ``target`` only later."""
    staged = target.parent / f".{secrets.token_hex(4)}.{target.name}"
    with _lock:
        _pending.add(staged)
    return staged


def discard(temporary: Path) -> None:
    """Remove a temporary file (if it exists) and forget its name."""
    temporary.unlink(missing_ok=True)
    with _lock:
        _pending.discard(temporary)


def remove_pending() -> list[Path]:
    """Remove every temporary file not yet renamed or discarded; the ones removed."""
    with _lock:
        pending = sorted(_pending)
        _pending.clear()
    removed = []
    for temporary in pending:
        try:
            temporary.unlink()
        except FileNotFoundError:
            continue
        except OSError:
            continue
        removed.append(temporary)
    return removed


def record_published(target: Path) -> None:
    """Note a file renamed into place, for the message after an interrupt."""
    with _lock:
        _published.append(target)


def published() -> list[Path]:
    """The files renamed into place since the record was last taken (kept)."""
    with _lock:
        return list(_published)


def take_published() -> list[Path]:
    """The files renamed into place since the last call (the record is cleared)."""
    with _lock:
        published = list(_published)
        _published.clear()
    return published
