"""Where a job's parameter values come from: distributions, designs and tables.

A ``ParameterSource`` gives the values of any range of spectra on demand
(``source(first, stop)``), so a streamed job holds one chunk of parameters at a
time and several processes can each take their share. The values of spectrum i
never depend on which range asked for it.

- ``--param NAME=uniform(1,3)`` (or a number): random draws, see
  ``specdsl.runtime.distributions``.
- ``design="sobol"`` or ``"lhs"``: the same distributions sampled through their
  inverse CDF at the points of a scrambled Sobol sequence or a Latin hypercube
  (``scipy.stats.qmc``, imported only then), one dimension per distribution in
  XSPEC parameter order. Sobol points are generated per range (fast-forwarded);
  a Latin hypercube needs all ``count`` points at once (count x dims floats).
- ``table``: a CSV file (a header line of parameter names), an ``.npz`` (one
  array per name) or an ``.npy`` structured array (one field per name). Columns
  are matched to parameters like ``--param`` names (case-insensitive, dotted).
"""

from __future__ import annotations

import re
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from specdsl import parameters as _parameters
from specdsl.errors import ParameterError, spectrum_label
from specdsl.runtime.distributions import (
    Distribution,
    draw_range,
    parse_distribution,
    reach_problem,
)

DESIGNS = ("random", "sobol", "lhs")


BOOKKEEPING = {"spectrum", "job"}  # what a .params.npz holds beside the values


class ParameterSource:
    """Every model parameter's values for spectra ``first .. stop - 1``."""

    def __init__(
        self,
        model,
        count,
        *,
        distributions=None,
        table=None,
        seed=0,
        design="random",
        origins=None,
    ):
        self.model = model
        self.seed = seed
        self.table = table or {}
        self.distributions = distributions or {}
        # Where each parameter's values come from, for errors ('--param ...').
        self.origins = origins or {}
        self.count = _count(count, self.table)
        self.design = _design(design, self.distributions, self.count, seed, model)
        self._check_table()
        self._check_reach()

    def __call__(self, first: int, stop: int) -> dict[str, np.ndarray]:
        given = {name: column[first:stop] for name, column in self.table.items()}
        given.update(self._distribution_values(first, stop))
        self._check_limits(given, first)
        values, _ = _parameters.normalize(self.model.parameters, given)
        linked = self.model.linked_values(values)  # what the files record
        return {
            name: np.broadcast_to(np.asarray(value, np.float64), (stop - first,))
            for name, value in linked.items()
        }

    def _distribution_values(self, first: int, stop: int) -> dict:
        if self.design is None:
            indices = {name: _index(self.model, name) for name in self.distributions}
            return draw_range(self.distributions, first, stop, self.seed, indices)
        points = self.design(first, stop)
        values = {}
        for name, distribution in self.distributions.items():
            if distribution.name == "fixed":
                values[name] = distribution.quantile(np.zeros(stop - first))
            else:
                values[name] = distribution.quantile(points[:, self.design.axis[name]])
        return values

    def _check_table(self) -> None:
        """Refuse bad table values (limits, NaN) before any work is done."""
        if self.table:
            columns = {
                name: column[: self.count] for name, column in self.table.items()
            }
            self._check_limits(columns, 0)

    def _check_reach(self) -> None:
        """Refuse a distribution that would draw past a hard limit, before any
        spectrum is made (a job would stop part-way, at a seed's whim)."""
        specs = {p.name: p.spec for p in self.model.parameters}
        for name, distribution in self.distributions.items():
            spec = specs[name]
            problem = reach_problem(
                distribution, spec.hard_min, spec.hard_max, self.count
            )
            if problem is not None:
                origin = self.origins.get(name, name)
                raise ParameterError(f"{origin} ({name}): {problem}")

    def _check_limits(self, given: dict, first: int) -> None:
        """Refuse a NaN or a value past a hard limit, naming where it came from."""
        specs = {p.name: p.spec for p in self.model.parameters}
        for name, values in given.items():
            values = np.asarray(values, dtype=np.float64)
            if values.ndim != 1:
                continue
            problem = _limit_problem(values, specs[name], name)
            if problem is None:
                continue
            row, text = problem
            where = spectrum_label(first + row)
            if name in self.table:
                where = f"data row {first + row + 1}, {where}"
            origin = self.origins.get(name, name)
            raise ParameterError(f"{origin}: {where} gets {text}")


def _limit_problem(values: np.ndarray, spec, name: str):
    """(row, what is wrong) of the first value that is not finite or past a
    hard limit; None when all are fine."""
    bad = ~np.isfinite(values) | (values < spec.hard_min) | (values > spec.hard_max)
    if not bad.any():
        return None
    row = int(np.argmax(bad))
    value = values[row]
    if not np.isfinite(value):
        return row, f"{value}, not a finite number"
    if value < spec.hard_min:
        return row, f"{value:g}, below the hard limit {spec.hard_min:g} of {name}"
    return row, f"{value:g}, above the hard limit {spec.hard_max:g} of {name}"


def build_source(model, count, params=(), *, seed=0, table=None, design="random"):
    """A source from ``--param`` texts, an optional table file and a design."""
    distributions = {}
    given = {}
    for item in params:
        name, sep, text = item.partition("=")
        if not sep:
            raise ParameterError(f"--param {item!r}: write it as NAME=VALUE")
        key = _resolve(model, name.strip(), "--param")
        if key in given:
            raise ParameterError(
                f"--param {given[key]!r} and --param {item!r} both set {key}; "
                "give each parameter once"
            )
        given[key] = item
        distributions[key] = parse_distribution(text, f"--param {name.strip()}")
    origins = {key: f"--param {item}" for key, item in given.items()}
    columns = read_table(table, model) if table else {}
    origins.update({key: f"{table}, column {key}" for key in columns})
    clash = set(columns) & set(distributions)
    if clash:
        raise ParameterError(
            f"{', '.join(sorted(clash))} given both by --param and by the table {table}"
        )
    return ParameterSource(
        model,
        count,
        distributions=distributions,
        table=columns,
        seed=seed,
        design=design,
        origins=origins,
    )


def read_table(path, model) -> dict[str, np.ndarray]:
    """Columns of a CSV, .npz or structured .npy file, keyed by parameter name."""
    path = Path(path)
    try:
        raw = _own_inputs(_raw_columns(path), model)
    except zipfile.BadZipFile as error:
        raise ParameterError(
            f"cannot read the parameter table {path}: not a valid .npz (zip) "
            f"file ({error})"
        ) from None
    except (OSError, ValueError, EOFError, zlib.error) as error:
        raise ParameterError(
            f"cannot read the parameter table {path}: {error}"
        ) from None

    columns, named = {}, {}
    for key, column in raw:
        column = np.asarray(column)
        if column.ndim != 1 or column.dtype.kind not in "iuf":
            raise ParameterError(
                f"{path}: column {key!r} must be one number per spectrum; got shape "
                f"{column.shape}, dtype {column.dtype}"
            )
        name = _resolve(model, key, f"{path}: column")
        if name in named:
            raise ParameterError(
                f"{path}: columns {named[name]!r} and {key!r} both set {name}; "
                "give each parameter one column"
            )
        named[name] = key
        columns[name] = column
    lengths = {len(column) for column in columns.values()}
    if len(lengths) > 1:
        raise ParameterError(f"{path}: the columns have different lengths {lengths}")
    if not columns or 0 in lengths:
        raise ParameterError(f"{path}: no parameter values in the table")
    return columns


def _own_inputs(raw: list, model) -> list:
    """A .params.npz that specdsl wrote is a table too: its bookkeeping
    (``spectrum``, ``job``) and the values links gave are left out."""
    if not BOOKKEEPING <= {key for key, _ in raw}:
        return raw
    linked = {p.name for p in model.parameters if p.link is not None}
    return [(key, v) for key, v in raw if key not in BOOKKEEPING | linked]


def _raw_columns(path: Path) -> list[tuple[str, np.ndarray]]:
    """(name, values) of each column, in the file's order, by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".npz":
        archive = np.load(path)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds one array (a .npy file), not a .npz archive")
        with archive:
            return [(key, np.asarray(archive[key])) for key in archive.files]
    if suffix == ".npy":
        return _structured_columns(path, _load_npy(path))
    return _csv_columns(path)


def _load_npy(path: Path) -> np.ndarray:
    """A .npy file, memory-mapped; a file not in numpy's format is refused."""
    with open(path, "rb") as handle:
        start = handle.read(len(np.lib.format.MAGIC_PREFIX))
    if start != np.lib.format.MAGIC_PREFIX:
        raise ValueError("not a .npy file (it does not start with numpy's header)")
    try:
        return np.load(path, mmap_mode="r")
    except ValueError as error:
        raise ValueError(f"not a readable .npy file ({error})") from None


def _structured_columns(path, array) -> list:
    if array.dtype.names is None:
        raise ParameterError(
            f"{path}: a .npy table must be a structured array with one field per "
            "parameter (or use .npz or .csv)"
        )
    return [(name, array[name]) for name in array.dtype.names]


def _csv_columns(path: Path) -> list:
    """Header names and columns; a byte-order mark (Excel's UTF-8) is skipped."""
    with open(path, encoding="utf-8-sig") as handle:
        header = handle.readline()
    names = [name.strip().strip('"') for name in header.split(",")]
    if not header.strip() or not all(names):
        raise ParameterError(f"{path}: the first line must name the columns")
    _refuse_repeated(path, names)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no data": said below
            data = np.loadtxt(
                path,
                delimiter=",",
                skiprows=1,
                ndmin=2,
                dtype=np.float64,
                encoding="utf-8-sig",
            )
    except ValueError as error:
        raise ValueError(_file_lines(str(error))) from None
    if data.size == 0:
        raise ParameterError(f"{path}: the table has a header but no data rows")
    if data.shape[1] != len(names):
        raise ParameterError(
            f"{path}: {len(names)} names in the header but {data.shape[1]} columns"
        )
    return [(name, data[:, i]) for i, name in enumerate(names)]


def _refuse_repeated(path: Path, names: list[str]) -> None:
    """A column named twice in the header: which values to use is not clear."""
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ParameterError(
                f"{path}: column {name!r} appears twice in the header (columns "
                f"{names.index(name) + 1} and {i + 1}); give each parameter once"
            )


def _file_lines(message: str) -> str:
    """numpy's 'at row i, column j' (data rows from 0) as the file's line number."""
    found = re.search(r"at row (\d+), column (\d+)", message)
    if found is None:
        return message
    line, column = int(found.group(1)) + 2, int(found.group(2))
    return message[: found.start()] + f"on line {line}, column {column}"


def _resolve(model, key: str, where: str) -> str:
    """A parameter's dotted name from a case-insensitive name or an XSPEC index."""
    from specdsl.parameters import names_lookup

    by_index = {str(p.index): p for p in model.parameters}
    found = names_lookup(model.parameters).get(key.lower()) or by_index.get(key)
    name = None if found is None else found.name
    if name is None:
        valid = ", ".join(p.name for p in model.parameters)
        raise ParameterError(
            f"{where} {key!r}: unknown parameter; this model has: {valid}"
        )
    return name


def _index(model, name: str) -> int:
    return next(p.index for p in model.parameters if p.name == name)


def _count(count, table) -> int:
    rows = len(next(iter(table.values()))) if table else None
    if count is None:
        if rows is None:
            return 1
        return rows
    if rows is not None and count > rows:
        raise ParameterError(f"--count {count} but the table has only {rows} rows")
    return int(count)


class _Design:
    """Unit-cube points of spectra ``first .. stop - 1`` from scipy's qmc."""

    def __init__(self, kind: str, axis: dict, count: int, seed: int):
        from scipy.stats import qmc

        self.kind = kind
        self.axis = axis
        dims = max(1, len(axis))
        if kind == "lhs":
            _check_lhs_size(count, dims)
            self._points = qmc.LatinHypercube(d=dims, rng=seed).random(count)
        else:
            self._engine = qmc.Sobol(d=dims, scramble=True, rng=seed)
            self._position = 0

    def __call__(self, first: int, stop: int) -> np.ndarray:
        if self.kind == "lhs":
            return self._points[first:stop]
        if first < self._position:
            self._engine.reset()
            self._position = 0
        if first > self._position:
            self._engine.fast_forward(first - self._position)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balance warnings for non-powers of 2
            points = self._engine.random(stop - first)
        self._position = stop
        return points


# A Latin hypercube is drawn whole: count x dims float64 in memory at once.
MAX_LHS_BYTES = 4 << 30


def _check_lhs_size(count: int, dims: int) -> None:
    """Refuse a Latin hypercube too big to hold in memory, before drawing it."""
    needed = count * dims * 8
    if needed > MAX_LHS_BYTES:
        raise ParameterError(
            f"--design lhs draws all {count} x {dims} points at once, about "
            f"{needed / 1e9:.3g} GB of memory (at most {MAX_LHS_BYTES / 1e9:.3g} GB): "
            "use --design sobol, or a smaller --count"
        )


def _design(kind: str, distributions: dict, count: int, seed: int, model):
    if kind not in DESIGNS:
        raise ParameterError(
            f"unknown design {kind!r}; use one of {', '.join(DESIGNS)}"
        )
    if kind == "random":
        return None
    varying = [
        name
        for name, d in distributions.items()
        if isinstance(d, Distribution) and d.name != "fixed"
    ]
    if not varying:
        raise ParameterError(f"a {kind} design needs at least one --param distribution")
    varying.sort(key=lambda name: _index(model, name))
    return _Design(kind, {name: i for i, name in enumerate(varying)}, count, seed)
