"""XSPEC's ``dummyrsp`` and ``energies``: model energy grids and diagonal responses.

``dummyrsp lowE highE nBins log|lin [chanOffset chanWidth]`` makes a perfect
response on that grid: one channel per energy bin (channel width 0), or channels
of ``chanWidth`` keV from ``chanOffset`` that each collect the part of every
energy bin inside them.

``energies`` sets the model's energy grid, in XSPEC's forms (XSenergies.html,
xsEnergies.cxx in HEASoft 6.20):

* ``energies lowE highE nBins log|lin [highE2 nBins2 log|lin ...]``: ranges, each
  further one starting at the previous high edge; missing words (``/`` or empty
  between commas) keep the values last entered (initially 0.1-10 keV, 1000 lin);
* ``energies <file>``: one edge per line, ascending, ``#`` comments;
* ``energies extend low|high E nBins log|lin``: the response's own energies with
  ``nBins`` more bins down (up) to ``E``; defaults high, 100 keV, 200 log, then
  the values last entered. A grid of ranges or from a file turns the extensions
  off, and an extension turns such a grid off, as in XSPEC;
* ``energies reset``: the response's energies again.

With no real response a grid of ranges or from a file is the dummy response's
grid; with one, the model is evaluated on the new grid and its flux shared out to
the response's bins by fractional overlap (zero where none), as XSPEC does.

The initial dummy grid is the one XSPEC's manual gives for ``dummyrsp``: 0.01 to
100 keV, 200 logarithmic bins (XSdummyrsp.html). HEASoft 6.20's Xspec.init ships
0.1-50 keV with 5000 bins instead; our responses are dense matrices, so 5000 bins
would cost 200 MB, and ``dummyrsp 0.1 50 5000`` gives that grid when wanted.
For the same reason a model grid has at most ``MAX_DUMMY_BINS`` bins in all
(XSPEC has no limit).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specdsl.errors import OGIPError, ParameterError

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

    def model_edges(self, response_edges=None) -> np.ndarray:
        """The model's edges whatever the response's (see ``ExtendedEnergies``)."""
        return self.edges()

    def arguments(self) -> list[str]:
        """What follows ``energies`` on each line that gives this grid again."""
        return [str(self)]

    def first_range(self) -> EnergyGrid:
        return self

    def __str__(self) -> str:
        mode = "log" if self.log else "lin"
        return f"{number(self.low)} {number(self.high)} {self.n} {mode}"


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


def number(value: float) -> str:
    """A float as typed back: shortest exact form, no trailing ``.0``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


# ---------------------------------------------------------------- energies

XSPEC_RANGES = (EnergyGrid(0.1, 10.0, 1000, False),)  # RangeSpecs(.1, 10., 1000)


@dataclass(frozen=True)
class RangeGrid:
    """Several ranges in one grid, each starting at the previous one's high edge."""

    ranges: tuple[EnergyGrid, ...]

    def edges(self) -> np.ndarray:
        pieces = [self.ranges[0].edges()]
        pieces += [grid.edges()[1:] for grid in self.ranges[1:]]
        return np.concatenate(pieces)

    def model_edges(self, response_edges=None) -> np.ndarray:
        return self.edges()

    def arguments(self) -> list[str]:
        return [str(self)]

    def first_range(self) -> EnergyGrid:
        """One range over the whole grid (``dummyrsp``'s defaults after it)."""
        total = sum(grid.n for grid in self.ranges)
        first = self.ranges[0]
        return EnergyGrid(first.low, self.ranges[-1].high, total, first.log)

    def __str__(self) -> str:
        later = (str(grid).split(" ", 1)[1] for grid in self.ranges[1:])
        return " ".join([str(self.ranges[0]), *later])


@dataclass(frozen=True)
class FileGrid:
    """Edges read from a text file (``energies <file>``)."""

    path: Path
    values: tuple[float, ...]

    def edges(self) -> np.ndarray:
        return np.asarray(self.values, dtype=np.float64)

    def model_edges(self, response_edges=None) -> np.ndarray:
        return self.edges()

    def arguments(self) -> list[str]:
        # Known shortcoming: saved as the file's path, so a saved session gives
        # the same grid only while that file is there and unchanged.
        return [str(self)]

    def first_range(self) -> EnergyGrid:
        low, high = self.values[0], self.values[-1]
        return EnergyGrid(low, high, len(self.values) - 1, low > 0)

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class Extension:
    """``extend low|high E nBins log|lin``: bins beyond one end of the response."""

    high: bool = True
    energy: float = 100.0
    n: int = 200
    log: bool = True

    def reaches_past(self, edges: np.ndarray) -> bool:
        """Whether ``E`` lies beyond that end (XSPEC adds nothing otherwise)."""
        return self.energy > edges[-1] if self.high else self.energy < edges[0]

    def new_edges(self, edge: float) -> np.ndarray:
        """The ``n`` edges added beyond ``edge``, the response's own end edge."""
        spaced = np.geomspace if self.log else np.linspace
        if self.high:
            return spaced(edge, self.energy, self.n + 1)[1:]
        return spaced(self.energy, edge, self.n + 1)[:-1]

    def __str__(self) -> str:
        side, mode = ("high" if self.high else "low"), ("log" if self.log else "lin")
        return f"{side} {number(self.energy)} {self.n} {mode}"


XSPEC_EXTENSION = Extension()  # ExtendRecord(100.0, true, 200), high


@dataclass(frozen=True)
class ExtendedEnergies:
    """The response's own energies with a low and/or a high extension."""

    low: Extension | None = None
    high: Extension | None = None

    def with_extension(self, extension: Extension) -> ExtendedEnergies:
        side = "high" if extension.high else "low"
        return dataclasses.replace(self, **{side: extension})

    def model_edges(self, response_edges) -> np.ndarray:
        """``response_edges`` with the extensions that reach past its ends."""
        edges = np.asarray(response_edges, dtype=np.float64)
        pieces = [edges]
        if self.low is not None and self.low.reaches_past(edges):
            pieces.insert(0, self.low.new_edges(edges[0]))
        if self.high is not None and self.high.reaches_past(edges):
            pieces.append(self.high.new_edges(edges[-1]))
        return np.concatenate(pieces)

    def arguments(self) -> list[str]:
        sides = (self.low, self.high)
        return [f"extend {side}" for side in sides if side is not None]

    def __str__(self) -> str:
        return ", ".join(self.arguments()) or "response energies"


def energy_fields(arguments: str) -> list[str]:
    """Words split at blanks or commas; ``/`` or an empty field keeps a default."""
    text = arguments.strip()
    if not text:
        return []
    fields = re.split(r"\s*,\s*|\s+", text)
    return ["" if field == "/" else field for field in fields]


def parse_ranges(fields: list[str], saved: tuple[EnergyGrid, ...]):
    """XSPEC's ``lowE highE nBins log|lin [highE2 nBins2 log|lin ...]``.

    Returns the grid (one ``EnergyGrid``, else a ``RangeGrid``) and its ranges,
    which become the defaults of the next ``energies``.
    """
    count = 1 if len(fields) <= 4 else (len(fields) - 2) // 3 + 1
    ranges: list[EnergyGrid] = []
    for index in range(count):
        default = saved[index] if index < len(saved) else ranges[len(saved) - 1]
        ranges.append(_parse_range(fields, index, default, ranges))

    total = sum(grid.n for grid in ranges)
    if total > MAX_DUMMY_BINS:
        raise ParameterError(
            f"energies: {total} bins in all; at most {MAX_DUMMY_BINS} are allowed"
        )
    grid = ranges[0] if count == 1 else RangeGrid(tuple(ranges))
    return grid, tuple(ranges)


def _parse_range(fields, index: int, default: EnergyGrid, before) -> EnergyGrid:
    """Range ``index`` (0-based): words 1-3 of it, lowE only for the first."""
    where = "" if index == 0 else f" of range {index + 1}"
    start = 1 + 3 * index
    words = fields[start : start + 3] + [""] * 3

    low = before[-1].high if index else _energy(fields, 0, "lowE", default.low)
    high = _energy([words[0]], 0, "highE" + where, default.high)
    n = _bins(words[1], default.n, "nBins" + where)
    log = _binning(words[2], default.log, "binning" + where)

    if not high > low and index and not words[0]:
        raise ParameterError(f"energies: give highE{where} (it starts at {low:g})")
    if not high > low:
        raise ParameterError(f"energies: highE{where} {high:g} must be above {low:g}")
    if log and low <= 0:
        raise ParameterError(f"energies: log bins need lowE > 0 keV, got {low:g}")
    return EnergyGrid(low, high, n, log)


def _energy(fields, position: int, what: str, default: float) -> float:
    word = fields[position] if position < len(fields) else ""
    if not word:
        return default
    try:
        value = float(word)
    except ValueError:
        raise ParameterError(f"energies: {what} {word!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ParameterError(f"energies: {what} {word!r} must be >= 0 keV")
    return value


def _bins(word: str, default: int, what: str) -> int:
    if not word:
        return default
    try:
        value = int(word)
    except ValueError:
        raise ParameterError(
            f"energies: {what} {word!r} is not a whole number"
        ) from None
    if not 1 <= value <= MAX_DUMMY_BINS:
        raise ParameterError(f"energies: {what} {word!r}: give 1 to {MAX_DUMMY_BINS}")
    return value


def _binning(word: str, default: bool, what: str) -> bool:
    """``log`` or ``lin`` (also ``logarithmic``, ``linear``)."""
    lowered = word.lower()
    if not lowered:
        return default
    if lowered.startswith("log"):
        return True
    if lowered.startswith("lin"):
        return False
    raise ParameterError(f"energies: {what} must be log or lin, got {word!r}")


def read_energy_file(path) -> FileGrid:
    """``energies <file>``: one edge per line, ascending, ``#`` comments."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise OGIPError(path, "energy file not found") from None
    except OSError as error:
        raise OGIPError(path, f"cannot read: {error.strerror or error}") from None

    values: list[float] = []
    previous_line = 0
    for line_number, line in enumerate(text.splitlines(), start=1):
        word = line.split("#", 1)[0].strip()
        if not word:
            continue
        value = _file_edge(path, line_number, word)
        if values and not value > values[-1]:
            raise OGIPError(
                path,
                f"line {line_number}: {word} is not above the edge before it "
                f"({number(values[-1])} on line {previous_line}); "
                "edges must ascend",
            )
        values.append(value)
        previous_line = line_number

    _check_edge_count(path, len(values))
    return FileGrid(path, tuple(values))


def _file_edge(path: Path, line_number: int, word: str) -> float:
    try:
        value = float(word)
    except ValueError:
        raise OGIPError(
            path, f"line {line_number}: {word!r} is not a number (one edge per line)"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise OGIPError(path, f"line {line_number}: {word} is not an energy >= 0 keV")
    return value


def _check_edge_count(path: Path, count: int) -> None:
    if count < 2:
        raise OGIPError(
            path, f"{count} edge{'s' * (count != 1)} read; a grid needs at least 2"
        )
    if count - 1 > MAX_DUMMY_BINS:
        raise OGIPError(path, f"{count - 1} bins; at most {MAX_DUMMY_BINS} are allowed")


def parse_extension(fields: list[str], saved: Extension) -> Extension:
    """``low|high E nBins log|lin`` after ``extend``; missing words keep ``saved``."""
    words = fields + [""] * 4
    high = saved.high
    side = words[0].lower()
    if side:
        if "low".startswith(side):
            high = False
        elif "high".startswith(side):
            high = True
        else:
            raise ParameterError(
                f"energies extend: say low or high first, got {words[0]!r}"
            )
    energy = _energy(words, 1, "extend energy", saved.energy)
    n = _bins(words[2], saved.n, "extend nBins")
    log = _binning(words[3], saved.log, "extend binning")
    if len(fields) > 4:
        raise ParameterError(
            f"energies extend takes 4 values at most; {' '.join(fields[4:])!r} is more"
        )
    if log and energy <= 0:
        raise ParameterError("energies extend: log bins need E > 0 keV")
    return Extension(high, energy, n, log)


def dummy_response(grid, channel_offset: float = 0.0, channel_width: float = 0.0):
    """A perfect response on ``grid`` (XSPEC's dummy): no area, no blurring.

    ``grid`` is an ``EnergyGrid``, or a ``RangeGrid`` or ``FileGrid`` that
    ``energies`` made the dummy's grid.
    """
    from specdsl.response.observation import Observation
    from specdsl.response.ogip import Redistribution

    edges = grid.edges()
    if channel_width > 0:
        count = math.ceil((edges[-1] - channel_offset) / channel_width)
        if not 1 <= count <= MAX_DUMMY_BINS:
            raise ParameterError(
                f"channel offset {channel_offset:g} and width {channel_width:g} give "
                f"{count} channels; allowed 1 to {MAX_DUMMY_BINS}"
            )
        channel_edges = channel_offset + channel_width * np.arange(count + 1)
        matrix = overlap_matrix(edges, channel_edges)
    else:
        channel_edges = edges
        matrix = np.eye(len(edges) - 1)

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
