"""XSPEC table models, ``atable{file}``, ``mtable{file}`` and ``etable{file}``.

A table model file (OGIP memo 92-009) holds a grid of spectra tabulated over the
values of its parameters. This module reads one with astropy and turns it into a
:class:`ComponentSpec` whose kernel does what XSPEC does (XSPEC's ``OGIPTable``
and ``Numerics::Rebin``, checked against XSPEC 12.13.1 outputs):

* Parameters: the rows of PARAMETERS in file order (interpolated and additional),
  then ``Escale`` when ESCALE = T, then ``z`` when REDSHIFT = T (the 12.13.1a
  order), then ``norm`` for atable. DELTA < 0 means frozen.
* Interpolation over the parameter grid is multi-linear: for each interpolated
  parameter the bracketing grid values x1 <= p <= x2 give a fraction
  t = (p - x1)/(x2 - x1), or log(p/x1)/log(x2/x1) when METHOD = 1, and the
  tabulated spectra (the values themselves, never their logarithms) are mixed
  with the products of t and 1 - t over the 2^n corners. A bracket that starts at
  a value <= 0 falls back to linear (XSPEC would produce NaN there). XSPEC
  refuses values outside the grid; a traced kernel cannot, so values are held at
  the grid's ends. A parameter with NUMBVALS = 1 has no effect. Additional
  parameters add ``value * ADDSPnnn`` (interpolated the same way) to INTPSPEC.
* Energies: ``z`` and ``Escale`` move the table's energy grid to
  ``ENERG * Escale / (1 + z)``. The model grid's bins take the table's bins by
  fractional overlap, the table's values being uniform within each table bin:
  atable sums photons (so flux is conserved) and divides by 1 + z; mtable takes
  the overlap-weighted mean of the factors; etable takes exp(-mean).
* Outside the tabulated energies: a model bin whose lower edge lies below the
  table's first energy is outside as a whole (XSPEC's ``findFirstBins``); a bin
  that runs past the table's last energy keeps the part that overlaps. Bins
  outside get 0 for atable, whatever LOELIMIT/HIELIMIT say (XSPEC 12.13.1 does
  the same, contrary to its manual), and LOELIMIT below / HIELIMIT above for
  mtable and etable (1 when absent or negative, as in XSPEC; for etable the
  limit is the factor itself, not its exponent).

``prepare(edges)`` hands the kernel the tabulated spectra (as an argument, so
that XLA does not compile a large table in as a constant) and, when the table has
neither ``z`` nor ``Escale``, where each model edge falls in the table's grid;
with ``z`` or ``Escale`` the kernel finds those positions itself, so that they
can be fitted and differentiated.
"""

from __future__ import annotations

import itertools
import keyword
import re
from dataclasses import dataclass
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from astropy.io import fits

import specdsl._jax  # noqa: F401  (float64 before any array)
from specdsl.errors import OGIPError, SpecdslError
from specdsl.library.registry import (
    ADDITIVE,
    MULTIPLICATIVE,
    ComponentSpec,
    ParameterSpec,
)

TABLE_KINDS = ("atable", "mtable", "etable")
FUZZY = 1e-6  # XSPEC's relative tolerance on energy edges (OGIPTable::FUZZY)
ETABLE_CUTOFF = 100.0  # XSPEC sets exp(-x) to 0 above this
REDSHIFT = ParameterSpec("z", 0.0, "", 0.001, 0.0, 0.0, 5.0, 5.0, frozen=True)
ENERGY_SCALE = ParameterSpec("Escale", 1.0, "", 0.001, 1e-5, 1e-5, 100.0, 100.0, True)

_PARAMETER_COLUMNS = ("NAME", "METHOD", "INITIAL", "DELTA", "MINIMUM", "BOTTOM")
_PARAMETER_COLUMNS += ("TOP", "MAXIMUM", "NUMBVALS", "VALUE")
_CACHE: dict[tuple[str, str], ComponentSpec] = {}


@dataclass(frozen=True)
class TableParameter:
    """One row of the PARAMETERS extension."""

    name: str
    method: int
    initial: float
    delta: float
    minimum: float
    bottom: float
    top: float
    maximum: float
    unit: str
    values: np.ndarray  # the tabulated values (interpolated parameters only)
    interpolated: bool


@dataclass(frozen=True, eq=False)
class TableModel:
    """The contents of a table model file, checked and in float64 (spectra kept)."""

    path: str
    name: str
    additive: bool
    redshift: bool
    escale: bool
    low_limit: float | None
    high_limit: float | None
    parameters: tuple[TableParameter, ...]  # file order
    energies: np.ndarray  # n + 1 edges, keV
    spectra: np.ndarray  # (grid points, 1 + additional parameters, n), file dtype

    @property
    def interpolated(self) -> tuple[TableParameter, ...]:
        return tuple(p for p in self.parameters if p.interpolated)

    @property
    def additional(self) -> tuple[TableParameter, ...]:
        return tuple(p for p in self.parameters if not p.interpolated)


def table_component(kind: str, path) -> ComponentSpec:
    """The component for ``atable{path}``, ``mtable{path}`` or ``etable{path}``.

    Files are read once per (kind, resolved path); the same spec comes back after.
    """
    kind = str(kind).lower()
    if kind not in TABLE_KINDS:
        raise SpecdslError(f"table kind must be one of {TABLE_KINDS}, not {kind!r}")

    resolved = str(Path(path).expanduser().resolve())
    key = (kind, resolved)
    if key not in _CACHE:
        table = read_table_model(Path(path).expanduser())
        _check_kind(kind, table)
        _CACHE[key] = _component(kind, table)
    return _CACHE[key]


def clear_table_cache() -> None:
    """Forget every table read so far (a file changed on disk)."""
    _CACHE.clear()


# --- reading ---------------------------------------------------------------------


def read_table_model(path) -> TableModel:
    """Read and check an OGIP/92-009 table model file; OGIPError names what is wrong."""
    if not Path(path).is_file():
        raise OGIPError(path, "table model file not found")
    try:
        with fits.open(path, memmap=False) as hdus:
            return _read_hdus(path, hdus)
    except (OSError, TypeError, ValueError) as error:
        raise OGIPError(path, f"cannot read as a FITS table model ({error})") from None


def _read_hdus(path, hdus) -> TableModel:
    primary = hdus[0].header
    if str(primary.get("HDUCLAS1", "")).strip().upper() != "XSPEC TABLE MODEL":
        raise OGIPError(
            path,
            "not an XSPEC table model (HDUCLAS1 must be 'XSPEC TABLE MODEL')",
            field="HDUCLAS1",
        )
    if int(_keyword(path, primary, "NXFLTEXP", 1)) > 1:
        raise OGIPError(
            path,
            "several spectra per grid point (XFLT-selected) are not supported",
            field="NXFLTEXP",
        )

    name = str(_keyword(path, primary, "MODLNAME")).strip()
    if len(name) < 2:
        raise OGIPError(
            path, "the model name must have at least 2 characters", field="MODLNAME"
        )

    parameters = _read_parameters(path, _extension(path, hdus, "PARAMETERS"))
    energies = _read_energies(path, _extension(path, hdus, "ENERGIES"))
    spectra = _read_spectra(
        path, _extension(path, hdus, "SPECTRA"), parameters, len(energies) - 1
    )
    return TableModel(
        path=str(path),
        name=name,
        additive=_flag(path, primary, "ADDMODEL"),
        redshift=_flag(path, primary, "REDSHIFT"),
        escale=_flag(path, primary, "ESCALE", default=False),
        low_limit=_limit(path, primary, "LOELIMIT"),
        high_limit=_limit(path, primary, "HIELIMIT"),
        parameters=parameters,
        energies=energies,
        spectra=spectra,
    )


def _extension(path, hdus, name):
    try:
        return hdus[name]
    except KeyError:
        raise OGIPError(path, f"no {name} extension", field=name) from None


_MISSING = object()


def _keyword(path, header, name, default=_MISSING):
    if name in header:
        return header[name]
    if default is _MISSING:
        raise OGIPError(path, f"missing keyword {name}", field=name)
    return default


def _flag(path, header, name, default=_MISSING) -> bool:
    value = _keyword(path, header, name, default)
    if not isinstance(value, (bool, np.bool_)):
        raise OGIPError(
            path, f"{name} must be a logical (T or F), not {value!r}", field=name
        )
    return bool(value)


def _limit(path, header, name) -> float | None:
    if name not in header:
        return None
    try:
        return float(header[name])
    except (TypeError, ValueError):
        raise OGIPError(path, f"{name} must be a number", field=name) from None


def _column(path, hdu, name, optional=False):
    if name not in hdu.columns.names:
        if optional:
            return None
        raise OGIPError(path, f"no {name} column", field=f"{hdu.name}.{name}")
    return hdu.data[name]


def _read_parameters(path, hdu) -> tuple[TableParameter, ...]:
    """PARAMETERS rows, sorted into interpolated and additional as XSPEC does."""
    n_interpolated = _count(path, hdu, "NINTPARM")
    n_additional = _count(path, hdu, "NADDPARM")
    rows = 0 if hdu.data is None else len(hdu.data)
    if rows != n_interpolated + n_additional or n_interpolated < 1:
        raise OGIPError(
            path,
            f"{rows} parameter rows but NINTPARM = {n_interpolated} and "
            f"NADDPARM = {n_additional} (need NINTPARM >= 1 and the sum = rows)",
            field="PARAMETERS",
        )

    columns = {name: _column(path, hdu, name) for name in _PARAMETER_COLUMNS}
    units = _column(path, hdu, "UNITS", optional=True)
    parameters, interpolated = [], 0
    for row in range(rows):
        parameter = _parameter(path, columns, units, row, interpolated < n_interpolated)
        interpolated += parameter.interpolated
        parameters.append(parameter)

    if interpolated != n_interpolated:
        raise OGIPError(
            path,
            f"{interpolated} parameters have tabulated values but "
            f"NINTPARM = {n_interpolated}",
            field="PARAMETERS.NUMBVALS",
        )
    return tuple(parameters)


def _count(path, hdu, name) -> int:
    value = _keyword(path, hdu.header, name)
    if not isinstance(value, (int, np.integer)) or value < 0:
        raise OGIPError(
            path, f"{name} must be a count, not {value!r}", field=f"PARAMETERS.{name}"
        )
    return int(value)


def _parameter(path, columns, units, row, room_for_interpolated) -> TableParameter:
    """One PARAMETERS row: interpolated if METHOD >= 0 and NUMBVALS > 0 (XSPEC)."""
    name = str(columns["NAME"][row]).strip()
    method = int(columns["METHOD"][row])
    count = int(columns["NUMBVALS"][row])
    interpolated = room_for_interpolated and method >= 0 and count > 0
    field = f"PARAMETERS.VALUE (parameter {name!r})"

    values = np.zeros(0)
    if interpolated:
        tabulated = np.atleast_1d(np.asarray(columns["VALUE"][row], dtype=np.float64))
        if count > tabulated.size:
            raise OGIPError(
                path,
                f"NUMBVALS = {count} but only {tabulated.size} values are given",
                field=field,
            )
        values = tabulated[:count]
        if not np.all(np.isfinite(values)) or np.any(np.diff(values) <= 0):
            raise OGIPError(
                path, "tabulated values must be finite and increasing", field=field
            )
        if method not in (0, 1):
            raise OGIPError(
                path,
                f"METHOD must be 0 (linear) or 1 (log), not {method}",
                field=f"PARAMETERS.METHOD ({name!r})",
            )

    return TableParameter(
        name=name,
        method=method,
        initial=float(columns["INITIAL"][row]),
        delta=float(columns["DELTA"][row]),
        minimum=float(columns["MINIMUM"][row]),
        bottom=float(columns["BOTTOM"][row]),
        top=float(columns["TOP"][row]),
        maximum=float(columns["MAXIMUM"][row]),
        unit="" if units is None else str(units[row]).strip(),
        values=values,
        interpolated=interpolated,
    )


def _read_energies(path, hdu) -> np.ndarray:
    """The n + 1 edges: every ENERG_LO and the last ENERG_HI, as XSPEC takes them."""
    low = np.asarray(_column(path, hdu, "ENERG_LO"), dtype=np.float64)
    high = np.asarray(_column(path, hdu, "ENERG_HI"), dtype=np.float64)
    if low.ndim != 1 or low.size < 1:
        raise OGIPError(path, "no energy bins", field="ENERGIES")

    edges = np.append(low, high[-1])
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise OGIPError(
            path,
            "energies must be finite and increasing",
            field="ENERGIES.ENERG_LO/ENERG_HI",
        )
    return edges


def _read_spectra(path, hdu, parameters, n_energies) -> np.ndarray:
    """INTPSPEC and ADDSPnnn as one (grid points, 1 + additional, energies) array."""
    grid_points = int(np.prod([p.values.size for p in parameters if p.interpolated]))
    rows = 0 if hdu.data is None else len(hdu.data)
    if rows != grid_points:
        raise OGIPError(
            path,
            f"{rows} spectra but the parameter grid has {grid_points} points",
            field="SPECTRA",
        )

    n_additional = sum(not p.interpolated for p in parameters)
    names = ["INTPSPEC"] + [f"ADDSP{k:03d}" for k in range(1, n_additional + 1)]
    blocks = [_spectrum_column(path, hdu, name, rows, n_energies) for name in names]
    return np.stack(blocks, axis=1)


def _spectrum_column(path, hdu, name, rows, n_energies) -> np.ndarray:
    column = _column(path, hdu, name)
    if column.dtype == object:
        column = np.stack([np.atleast_1d(np.asarray(row)) for row in column])
    values = np.asarray(column)
    if values.size != rows * n_energies:
        raise OGIPError(
            path,
            f"each spectrum must have {n_energies} values (one per energy bin)",
            field=f"SPECTRA.{name}",
        )
    values = values.reshape(rows, n_energies)
    if not np.all(np.isfinite(values)):
        raise OGIPError(path, "spectra must be finite", field=f"SPECTRA.{name}")
    dtype = np.float32 if values.dtype == np.float32 else np.float64
    return values.astype(dtype)


def _check_kind(kind: str, table: TableModel) -> None:
    if kind == "atable" and not table.additive:
        raise OGIPError(
            table.path,
            "atable needs an additive table model, but this "
            "file is multiplicative (ADDMODEL = F): use mtable{...} or "
            "etable{...}",
            field="ADDMODEL",
        )
    if kind != "atable" and table.additive:
        raise OGIPError(
            table.path,
            f"{kind} needs a multiplicative table model, but "
            "this file is additive (ADDMODEL = T): use atable{...}",
            field="ADDMODEL",
        )


# --- the component ---------------------------------------------------------------


def _component(kind: str, table: TableModel) -> ComponentSpec:
    names = _parameter_names(kind, table)
    specs = [
        _parameter_spec(p, n) for p, n in zip(table.parameters, names, strict=True)
    ]
    if table.escale:
        specs.append(ENERGY_SCALE)
    if table.redshift:
        specs.append(REDSHIFT)

    return ComponentSpec(
        name=_identifier(table.name),
        kind=ADDITIVE if kind == "atable" else MULTIPLICATIVE,
        parameters=tuple(specs),
        kernel=_kernel(kind, table, names),
        prepare=_preparer(table),
        description=f"{kind} table model {table.name!r} from {table.path}",
        reference="OGIP memo 92-009 (table model file); XSPEC OGIPTable",
    )


def _parameter_spec(parameter: TableParameter, name: str) -> ParameterSpec:
    aliases = (parameter.name,) if parameter.name and parameter.name != name else ()
    return ParameterSpec(
        name=name,
        default=parameter.initial,
        unit=parameter.unit,
        delta=abs(parameter.delta),
        hard_min=parameter.minimum,
        soft_min=parameter.bottom,
        soft_max=parameter.top,
        hard_max=parameter.maximum,
        frozen=parameter.delta < 0,
        aliases=aliases,
    )


def _parameter_names(kind: str, table: TableModel) -> list[str]:
    """Python identifiers for the table's parameters, unique among the component's.

    The generated model code passes parameters by keyword, so names such as
    ``None`` or ``log(xi)`` become ``None_`` and ``log_xi_`` (the file's name is
    kept as an alias).
    """
    taken = {"norm"} if kind == "atable" else set()
    taken |= {"z"} if table.redshift else set()
    taken |= {"escale"} if table.escale else set()

    names = []
    for parameter in table.parameters:
        name = base = _identifier(parameter.name or "par")
        suffix = 2
        while name.lower() in taken:
            name, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(name.lower())
        names.append(name)
    return names


def _identifier(text: str) -> str:
    """``text`` with anything that cannot be in a Python name replaced by '_'."""
    name = re.sub(r"\W", "_", text.strip(), flags=re.ASCII)
    if name[:1].isdigit():
        name = "_" + name
    return name + "_" if keyword.iskeyword(name) else name


def _kernel(kind: str, table: TableModel, names: list[str]):
    """The pure JAX kernel: interpolate the grid, then map its bins onto the model's."""
    interpolate = _interpolator(table, names)
    static_grid = _static_grid(table)
    low, high = _outside_values(kind, table)

    def kernel(edges, constants, **params):
        spectra, positions = _unpack(table, constants, edges.shape[0])
        spectrum = interpolate(spectra, params)

        if static_grid and positions is not None:
            index, fraction, place = positions
        else:
            table_edges = jnp.asarray(table.energies)
            shift = params.get("z", 0.0) + 1.0
            energies = edges * shift / params.get("Escale", 1.0)
            index, fraction = _positions(jnp, energies, table_edges)
            place = _places(jnp, energies, table_edges)

        if kind == "atable":
            flux = jnp.where(place == 0, _bin_sums(spectrum, index, fraction), 0.0)
            return flux / (params["z"] + 1.0) if table.redshift else flux
        return _factors(kind, spectrum, index, fraction, place, low, high)

    kernel.__name__ = f"{kind}_{_identifier(table.name)}"
    kernel.__doc__ = f"{kind}{{{table.path}}}: XSPEC table model {table.name!r}."
    return kernel


def _static_grid(table: TableModel) -> bool:
    """True when no parameter moves the table's energies (no z, no Escale)."""
    return not (table.redshift or table.escale)


def _interpolator(table: TableModel, names: list[str]):
    """A function of the spectra and parameters: the spectrum on the table's bins.

    Multi-linear over the interpolated parameters: only the 2^n corners of the
    bracketing cell are gathered (index arithmetic, no loop over spectra).
    """
    shape = [p.values.size for p in table.interpolated]
    strides = [int(np.prod(shape[i + 1 :])) for i in range(len(shape))]
    pairs = list(zip(table.parameters, names, strict=True))
    grid_names = [name for p, name in pairs if p.interpolated]
    extra_names = [name for p, name in pairs if not p.interpolated]

    axes = [
        (grid_names[i], p.values, p.method == 1, strides[i])
        for i, p in enumerate(table.interpolated)
        if p.values.size > 1
    ]
    corners = np.array(list(itertools.product((0, 1), repeat=len(axes))), dtype=int)
    corners = corners.reshape(2 ** len(axes), len(axes))

    def interpolate(spectra, params):
        offsets = jnp.zeros(len(corners), dtype=jnp.int32)
        weights = jnp.ones(len(corners))
        for axis, (name, grid, log, stride) in enumerate(axes):
            lower, t = _bracket(jnp.asarray(grid), params[name], log)
            upper = jnp.asarray(corners[:, axis])
            offsets = offsets + (lower + upper) * stride
            weights = weights * jnp.where(upper == 1, t, 1.0 - t)

        cell = jnp.take(spectra, offsets, axis=0).astype(jnp.float64)
        mixed = jnp.tensordot(weights, cell, axes=1)  # (1 + additional, n)
        spectrum = mixed[0]
        for k, name in enumerate(extra_names, start=1):
            spectrum = spectrum + params[name] * mixed[k]
        return spectrum

    return interpolate


def _bracket(grid, value, log: bool):
    """Index of the grid value below ``value`` and the fraction of the way up.

    Values outside the grid are held at its ends; METHOD = 1 interpolates in
    log(value) unless the lower grid value is not positive.
    """
    value = jnp.clip(value, grid[0], grid[-1])
    above = jnp.searchsorted(grid, value, side="right", method="compare_all")
    lower = jnp.clip(above - 1, 0, grid.size - 2)
    x1, x2 = grid[lower], grid[lower + 1]
    t = (value - x1) / (x2 - x1)

    if log:
        positive = x1 > 0

        def safe_log(x):
            return jnp.log(jnp.where(positive, x, 1.0))

        span = jnp.where(positive, safe_log(x2) - safe_log(x1), 1.0)
        t = jnp.where(positive, (safe_log(value) - safe_log(x1)) / span, t)
    return lower, jnp.clip(t, 0.0, 1.0)


def _positions(xp, energies, table_edges):
    """For each energy: the table bin it falls in and the fraction of that bin below.

    Energies below the table give (0, 0), above it (n - 1, 1). ``xp`` is numpy
    (``prepare``) or jax.numpy (the kernel, when z or Escale move the grid).
    """
    last = table_edges.shape[0] - 2
    index = xp.clip(xp.searchsorted(table_edges, energies, side="right") - 1, 0, last)
    lower = table_edges[index]
    fraction = xp.clip((energies - lower) / (table_edges[index + 1] - lower), 0.0, 1.0)
    return index, fraction


def _places(xp, energies, table_edges):
    """Per model bin: -1 below the table, +1 above it, 0 inside (XSPEC's rule).

    A bin is below when its lower edge is below the table's first energy, above
    when its lower edge reaches the last one; both with XSPEC's 1e-6 tolerance,
    so that float32 table edges meet float64 model edges.
    """
    start = energies[:-1] * (1 + FUZZY)
    return xp.where(
        start < table_edges[0], -1, xp.where(start >= table_edges[-1], 1, 0)
    )


def _preparer(table: TableModel):
    """``prepare(edges)``: the spectra, and where each model edge falls in the table.

    The model's constants are one array, so this is one float64 vector: for
    tables without z or Escale first a (3, n + 1) block (table bin of each model
    edge, fraction of that bin below it, place of the bin starting there), then
    the spectra, flattened. Passing the spectra here rather than closing over
    them keeps XLA from compiling them in as constants (minutes for large tables).
    """
    spectra = table.spectra.astype(np.float64).ravel()

    def prepare(edges):
        if not _static_grid(table):
            return spectra
        edges = np.asarray(edges, dtype=np.float64)
        index, fraction = _positions(np, edges, table.energies)
        place = np.append(_places(np, edges, table.energies), 0)
        return np.concatenate([index, fraction, place, spectra]).astype(np.float64)

    return prepare


def _unpack(table: TableModel, constants, n_edges: int):
    """``(spectra, (index, fraction, place) or None)`` from ``prepare``'s vector.

    Without constants (a kernel called directly) the spectra are taken from the
    table itself, which jit then compiles in as a constant.
    """
    if constants is None:
        return jnp.asarray(table.spectra), None

    head = 3 * n_edges if _static_grid(table) else 0
    spectra = constants[head:].reshape(table.spectra.shape)
    if not head:
        return spectra, None
    block = constants[:head].reshape(3, n_edges)
    return spectra, (block[0].astype(jnp.int32), block[1], block[2, :-1])


def _bin_sums(values, index, fraction):
    """Sum of ``values`` over each model bin, table bins counted by their overlap.

    A bin inside one table bin takes (f_hi - f_lo) of it; a longer one takes the
    rest of its first table bin, the full ones between and the start of its last.
    The full ones come from a prefix or a suffix sum, whichever is smaller, so
    the rounding error stays small next to the bin's own value on both tails of
    a steep spectrum.
    """
    lo, hi = index[:-1], index[1:]
    f_lo, f_hi = fraction[:-1], fraction[1:]

    within = (f_hi - f_lo) * values[lo]
    ends = (1.0 - f_lo) * values[lo] + f_hi * values[hi]

    zero = jnp.zeros(values.shape[:-1] + (1,), dtype=values.dtype)
    prefix = jnp.concatenate([zero, jnp.cumsum(values, axis=-1)], axis=-1)
    suffix = jnp.concatenate([jnp.cumsum(values[::-1], axis=-1)[::-1], zero], axis=-1)
    size = jnp.concatenate([zero, jnp.cumsum(jnp.abs(values), axis=-1)], axis=-1)
    start = jnp.minimum(lo + 1, hi)  # the first full table bin (none when lo == hi)
    forward = size[hi] <= size[-1] - size[start]
    between = jnp.where(forward, prefix[hi] - prefix[start], suffix[start] - suffix[hi])

    return jnp.where(hi == lo, within, ends + between)


def _factors(kind, values, index, fraction, place, low, high):
    """mtable/etable: overlap-weighted mean factor per model bin, limits outside.

    Known difference: when no model bin overlaps the table at all, XSPEC gives
    every bin LOELIMIT; here bins above the table get HIELIMIT.
    """
    lo, hi = index[:-1], index[1:]
    f_lo, f_hi = fraction[:-1], fraction[1:]
    span = jnp.where(hi == lo, f_hi - f_lo, (1.0 - f_lo) + (hi - lo - 1) + f_hi)

    covered = (place == 0) & (span > 0)
    mean = _bin_sums(values, index, fraction) / jnp.where(covered, span, 1.0)
    if kind == "etable":
        mean = jnp.where(mean > ETABLE_CUTOFF, 0.0, jnp.exp(-mean))
    return jnp.where(covered, mean, jnp.where(place < 0, low, high))


def _outside_values(kind: str, table: TableModel) -> tuple[float, float]:
    """Model values below and above the table (mtable/etable): LOELIMIT, HIELIMIT.

    As in XSPEC, an absent or negative limit means 1; for etable the limit is the
    factor itself.
    """

    def limit(value):
        return 1.0 if value is None or value < 0 else value

    return limit(table.low_limit), limit(table.high_limit)
