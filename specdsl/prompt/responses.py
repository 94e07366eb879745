"""XSPEC's ``dummyrsp`` and ``energies``: model energy grids and diagonal responses.

``dummyrsp lowE highE nBins log|lin [chanOffset chanWidth]`` makes a perfect
response on that grid: one channel per energy bin (channel width 0), or channels
of ``chanWidth`` keV from ``chanOffset`` that each collect the part of every
energy bin inside them. ``energies lowE highE nBins log|lin`` sets the model's
energy grid: with no real response it is the dummy response's grid; with one,
the model is evaluated on the new grid and its flux shared out to the response's
bins by fractional overlap, as XSPEC does.

The initial dummy grid is the one XSPEC's manual gives for ``dummyrsp``: 0.01 to
100 keV, 200 logarithmic bins (XSdummyrsp.html). HEASoft 6.20's Xspec.init ships
0.1-50 keV with 5000 bins instead; our responses are dense matrices, so 5000 bins
would cost 200 MB, and ``dummyrsp 0.1 50 5000`` gives that grid when wanted.

Not done: ``energies <file>``, ``energies extend`` and several ranges in one
``energies`` command (one log or lin range only).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from specdsl.errors import ParameterError

DUMMY_KEYWORDS = {"TELESCOP": "UNKNOWN", "INSTRUME": "UNKNOWN", "CHANTYPE": "PHA"}
MAX_DUMMY_BINS = 20_000


@dataclass(frozen=True)
class EnergyGrid:
    """``n`` bins from ``low`` to ``high`` keV, logarithmic or linear."""

    low: float = 0.01
    high: float = 100.0
    n: int = 200
    log: bool = True

    def edges(self) -> np.ndarray:
        if self.log:
            return np.geomspace(self.low, self.high, self.n + 1)
        return np.linspace(self.low, self.high, self.n + 1)

    def __str__(self) -> str:
        return f"{self.low:g} {self.high:g} {self.n} {'log' if self.log else 'lin'}"


def parse_grid(words: list[str], previous: EnergyGrid) -> EnergyGrid:
    """``lowE highE nBins log|lin``; missing or ``/`` words keep ``previous``."""
    low, high, n, log = previous.low, previous.high, previous.n, previous.log
    try:
        if len(words) > 0 and words[0] != "/":
            low = float(words[0])
        if len(words) > 1 and words[1] != "/":
            high = float(words[1])
        if len(words) > 2 and words[2] != "/":
            n = int(words[2])
    except ValueError:
        raise ParameterError(
            f"cannot read {' '.join(words[:3])!r}: give lowE highE nBins (numbers)"
        ) from None
    if len(words) > 3 and words[3] != "/":
        mode = words[3].lower()
        if mode not in ("log", "lin"):
            raise ParameterError(f"binning must be log or lin, got {words[3]!r}")
        log = mode == "log"

    _check_grid(low, high, n, log)
    return EnergyGrid(low, high, n, log)


def _check_grid(low: float, high: float, n: int, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)) or not high > low:
        raise ParameterError(f"energies must satisfy lowE < highE, got {low}, {high}")
    if low < 0 or (log and low <= 0):
        raise ParameterError("lowE must be > 0 keV for log bins (>= 0 for lin)")
    if not 1 <= n <= MAX_DUMMY_BINS:
        raise ParameterError(f"nBins must be 1 to {MAX_DUMMY_BINS}, got {n}")


def dummy_response(
    grid: EnergyGrid, channel_offset: float = 0.0, channel_width: float = 0.0
):
    """A perfect response on ``grid`` (XSPEC's dummy): no area, no blurring."""
    from specdsl.response.observation import Observation
    from specdsl.response.ogip import Redistribution

    edges = grid.edges()
    if channel_width > 0:
        count = math.ceil((grid.high - channel_offset) / channel_width)
        if not 1 <= count <= MAX_DUMMY_BINS:
            raise ParameterError(
                f"channel offset {channel_offset:g} and width {channel_width:g} give "
                f"{count} channels; allowed 1 to {MAX_DUMMY_BINS}"
            )
        channel_edges = channel_offset + channel_width * np.arange(count + 1)
        matrix = overlap_matrix(edges, channel_edges)
    else:
        channel_edges = edges
        matrix = np.eye(grid.n)

    rmf = Redistribution(
        path=None,
        energy_lo=edges[:-1],
        energy_hi=edges[1:],
        matrix=matrix,
        channels=np.arange(1, matrix.shape[1] + 1),
        e_min=channel_edges[:-1],
        e_max=channel_edges[1:],
        first_channel=1,
        is_full_response=False,
        keywords=dict(DUMMY_KEYWORDS, DETCHANS=matrix.shape[1]),
    )
    return Observation.from_response(rmf)


def regrid(observation, edges: np.ndarray):
    """The observation with the model evaluated on ``edges`` (XSPEC's ``energies``).

    Model flux in each new bin is shared out to the response's bins in proportion
    to their overlap; the effective area is folded into the matrix.
    """
    share = overlap_matrix(edges, observation.energy_edges)
    area = np.asarray(observation.effective_area, dtype=np.float64)
    matrix = share @ (area[:, None] * np.asarray(observation.redistribution))
    return dataclasses.replace(
        observation,
        energy_edges=np.asarray(edges, dtype=np.float64),
        redistribution=matrix,
        effective_area=np.ones(len(edges) - 1),
        is_full_response=True,
        energy_index=None,
    )


def overlap_matrix(source_edges, target_edges) -> np.ndarray:
    """(n_source, n_target): the fraction of each source bin inside each target bin."""
    source = np.asarray(source_edges, dtype=np.float64)
    target = np.asarray(target_edges, dtype=np.float64)
    low = np.maximum(source[:-1, None], target[None, :-1])
    high = np.minimum(source[1:, None], target[None, 1:])
    width = np.diff(source)[:, None]
    return np.clip(high - low, 0.0, None) / width
