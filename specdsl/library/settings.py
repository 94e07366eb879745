"""XSPEC's ``abund`` and ``xsect`` settings: the abundance table and the
photoionisation cross sections that the absorbers use.

specdsl's default abundance table is ``wilm`` (Wilms, Allen & McCray 2000), not
XSPEC's ``angr``: ``tbabs`` is the Wilms et al. model only with ``wilm``
abundances, and that is what nearly every tbabs user sets. To reproduce an
XSPEC session that never ran ``abund``, call ``set_abundance("angr")``.

The absorbers that depend on the table (TBabs and its family, phabs, vphabs,
pcfabs and their redshifted forms) read it when a model is bound to an energy
grid (``Model.prepare``, and so every fold and every ``model(energies, ...)``
call), not when the expression is compiled. wabs, cabs and the others ignore it,
as in XSPEC. Only the ``vern`` cross sections (Verner et al. 1996) are shipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from specdsl.errors import ParameterError

DEFAULT_ABUNDANCE = "wilm"
DEFAULT_CROSS_SECTION = "vern"

# XSPEC 12.9.1's ``xsect`` keywords, and the ones specdsl can compute.
XSPEC_CROSS_SECTIONS = ("bcmc", "obcm", "vern")
CROSS_SECTIONS = ("vern",)


@dataclass(frozen=True)
class Settings:
    """The abundance table and cross-section set in force (XSPEC's keywords)."""

    abundance: str = DEFAULT_ABUNDANCE
    cross_section: str = DEFAULT_CROSS_SECTION


_current = Settings()


def current() -> Settings:
    """The settings in force now."""
    return _current


def abundance() -> str:
    """The name of the abundance table in force (``abund``)."""
    return _current.abundance


def cross_section() -> str:
    """The name of the photoionisation cross sections in force (``xsect``)."""
    return _current.cross_section


def history_line() -> str:
    """A HISTORY card for a fake spectrum: the tables its absorption used, since
    our default abundances (wilm) are not XSPEC's (angr)."""
    return f"specdsl abund {abundance()}, xsect {cross_section()}"


def abundance_names() -> tuple[str, ...]:
    """The abundance tables one can select (XSPEC's ``abund`` keywords)."""
    from specdsl.library.photoabsorption import abundance_tables

    return abundance_tables()


def set_abundance(name: str) -> str:
    """Select the abundance table by XSPEC's name; returns the previous name."""
    global _current
    previous = _current.abundance
    _current = replace(_current, abundance=_checked_abundance(name))
    return previous


def set_cross_section(name: str) -> str:
    """Select the photoionisation cross sections (only ``vern``); returns the old."""
    global _current
    previous = _current.cross_section
    _current = replace(_current, cross_section=_checked_cross_section(name))
    return previous


def reset() -> None:
    """Back to the defaults (wilm, vern)."""
    global _current
    _current = Settings()


@contextmanager
def using(
    abundance: str | None = None, cross_section: str | None = None
) -> Iterator[Settings]:
    """Select a table and/or cross sections inside a ``with`` block only.

    ``with using(abundance="angr"): model(energies, ...)`` evaluates as XSPEC
    would after ``abund angr``; the previous settings come back on leaving.
    """
    global _current
    saved = _current
    chosen = saved
    if abundance is not None:
        chosen = replace(chosen, abundance=_checked_abundance(abundance))
    if cross_section is not None:
        chosen = replace(chosen, cross_section=_checked_cross_section(cross_section))
    _current = chosen
    try:
        yield chosen
    finally:
        _current = saved


def _checked_abundance(name) -> str:
    names = abundance_names()
    key = str(name).strip().lower()
    if key not in names:
        raise ParameterError(
            f"unknown abundance table {name!r}; valid: {', '.join(names)}"
        )
    return key


def _checked_cross_section(name) -> str:
    key = str(name).strip().lower()
    if key in CROSS_SECTIONS:
        return key
    if key in XSPEC_CROSS_SECTIONS:
        raise ParameterError(
            f"cross sections {key!r} are not available in specdsl (the "
            "Balucinska-Church & McCammon fits are not shipped); valid: "
            f"{', '.join(CROSS_SECTIONS)}"
        )
    raise ParameterError(
        f"unknown cross sections {name!r}; valid: {', '.join(CROSS_SECTIONS)}"
    )
