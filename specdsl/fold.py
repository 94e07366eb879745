"""Bind a model to an observation: parameters to expected counts per channel.

Everything that depends only on the energy grid is computed here, once: the
components' grid constants (cross sections) and one response matrix with the
effective area, exposure and AREASCAL folded in, summed into groups if asked.

The response product is done block-sparse: the output bins that any energy
reaches form one span (3343 of the 4096 XMM PN channels), and that span is cut
into tiles of ``tile`` bins, each multiplied by only the energy rows that reach
it. A redistribution matrix is banded, so on the PN response the tiles hold
13 % of the dense matrix's elements (its non-zeros are 11 %): the product is
exact, with about a seventh of the dense arithmetic.

The model is evaluated in float64; the response product runs in float32 by
default (``precision``), which halves its cost. On the XMM PN response, for 200
spectra of the seed job, the float32 fold differs from float64 by at most
4.4e-6 relative (median 1.9e-7) in channels with expected counts above 1e-3,
and by at most 0.0012 sigma of the Poisson noise (benchmarks/scale.py prints
it; tests/test_scale_fold.py holds it under 1e-5).

On the 2-core benchmark machine the block-sparse product of 10^4 PN spectra
took 1.06 s, against 3.1 s for numpy's dense float32 product, 4.2 s for JAX's
and 4.6 s for scipy's CSR product: it is the machine's bound, and the model
evaluation (5.7 s), not the fold (0.3 s), dominates a job.

Reproducible whatever the batching: one compiled call always takes a *window*
of ``rows_per_device`` spectra per local device (``shard_map`` over a one-axis
``jax.sharding.Mesh``), and windows are aligned on global spectrum indices, so
spectrum i is always computed by the same per-device program at the same row
(i mod rows_per_device). Floating-point results then do not depend on the batch
size, the chunk size, the number of devices or processes. Nothing is compiled
again when the batch size changes, and the compiled function is shared by every
FoldedModel of the same model and grid shape.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import specdsl._jax  # noqa: F401  (float64 before any array)
from specdsl import parameters as _parameters

DEFAULT_TILE = 256
ROWS_PER_DEVICE = 256
MAX_EXPECTED = 2.0**31 - 1


class FoldedModel:
    """A model on one observation's grid; ``expected_counts(values)`` per spectrum."""

    def __init__(
        self,
        model,
        observation,
        *,
        grouped=False,
        exposure=None,
        precision="float32",
        devices=None,
        tile: int = DEFAULT_TILE,
        rows_per_device: int = ROWS_PER_DEVICE,
    ):
        self.model = model
        self.precision = jnp.dtype(precision)
        self.observation = observation
        self.grouped = grouped
        self.exposure = float(observation.exposure if exposure is None else exposure)

        self.edges = jnp.asarray(observation.energy_edges)
        self.constants = model.prepare(observation.energy_edges)
        matrix = self._response_matrix()
        self.n_bins = int(matrix.shape[1])
        self.layout = BlockLayout.from_matrix(matrix, tile)
        self._dense = None

        self.devices = tuple(devices or jax.local_devices())
        self.rows_per_device = int(rows_per_device)
        mesh = Mesh(np.asarray(self.devices), ("spectra",))
        self.batch_sharding = NamedSharding(mesh, PartitionSpec("spectra"))
        replicated = NamedSharding(mesh, PartitionSpec())
        blocks = self.layout.blocks(matrix, self.precision)
        self._arrays = jax.device_put((self.edges, self.constants, blocks), replicated)
        self._function = _compiled(
            _FunctionKey(model), self.layout.rows, self.precision.name, mesh
        )

    @property
    def n_devices(self) -> int:
        """Number of devices a window is sharded over."""
        return len(self.devices)

    @property
    def window(self) -> int:
        """Spectra per compiled call: ``rows_per_device`` on each device."""
        return self.rows_per_device * self.n_devices

    @property
    def span(self) -> tuple[int, int]:
        """First and one-past-last output bin that the response reaches."""
        return self.layout.first, self.layout.stop

    @property
    def response(self) -> jax.Array:
        """The dense (energies, bins) response product, in ``precision``."""
        if self._dense is None:
            self._dense = jnp.asarray(self._response_matrix(), dtype=self.precision)
        return self._dense

    def _response_matrix(self) -> np.ndarray:
        """(energies, channels): RMF x ARF x exposure x AREASCAL, grouped if asked."""
        obs = self.observation
        area = np.asarray(obs.effective_area, dtype=np.float64) * self.exposure
        matrix = np.asarray(obs.redistribution, dtype=np.float64) * area[:, None]
        matrix = matrix * np.broadcast_to(
            np.asarray(obs.areascal, np.float64), matrix.shape[1:]
        )
        if self.grouped:
            matrix = matrix @ np.asarray(obs.group_matrix(), dtype=np.float64).T
        return matrix

    def submit(self, values: dict, first: int) -> list:
        """Start computing spectra ``first, first + 1, ...`` (values: 1-D arrays).

        Returns handles for ``collect``; the devices work while the host goes on.
        """
        count = len(next(iter(values.values())))
        window = self.window
        handles = []
        start = first - first % window
        while start < first + count:
            lo, hi = max(start, first), min(start + window, first + count)
            rows = {
                name: _window_rows(
                    np.asarray(v), lo - first, hi - first, lo - start, window
                )
                for name, v in values.items()
            }
            rows = jax.device_put(rows, self.batch_sharding)
            handles.append(
                (lo - start, hi - start, self._function(rows, *self._arrays))
            )
            start += window
        return handles

    def warm_up(self) -> None:
        """Compile now (one window at the default parameters), not on first use."""
        defaults = {p.name: np.full(1, p.spec.default) for p in self.model.parameters}
        self.collect(self.submit(defaults, 0))

    def collect(self, handles: list) -> tuple[np.ndarray, np.ndarray]:
        """Expected counts over ``span`` (rows in order), a bad-value flag per row."""
        spans, flags = [], []
        for lo, hi, (span, bad) in handles:
            spans.append(np.asarray(span)[lo:hi])
            flags.append(np.asarray(bad)[lo:hi])
        if len(spans) == 1:
            return spans[0], flags[0]
        return np.concatenate(spans), np.concatenate(flags)

    def expected_counts(self, parameters=None) -> jax.Array:
        """Expected counts, shape (*batch, n_bins), for user-style parameter values."""
        values, batch_shape = _parameters.normalize(self.model.parameters, parameters)
        flat = {
            name: np.ravel(value) if batch_shape else value[None]
            for name, value in values.items()
        }
        counts = self.expected_counts_flat(flat)
        return jnp.asarray(counts).reshape(*batch_shape, self.n_bins)

    def expected_counts_flat(self, values: dict) -> np.ndarray:
        """Expected counts (float64, every bin) for already-normalised 1-D arrays."""
        span, _ = self.collect(self.submit(values, 0))
        return self.widen(span, np.float64)

    def widen(self, span: np.ndarray, dtype) -> np.ndarray:
        """Rows over ``span`` placed into full-width rows of zeros."""
        first, stop = self.span
        full = np.zeros((span.shape[0], self.n_bins), dtype=dtype)
        full[:, first:stop] = span
        return full


def _window_rows(values, lo: int, hi: int, at: int, window: int) -> np.ndarray:
    """``values[lo:hi]`` at row ``at`` of a window; other rows copy a real one."""
    rows = np.empty(window, dtype=np.float64)
    rows[:] = values[lo]
    rows[at : at + hi - lo] = values[lo:hi]
    return rows


class BlockLayout:
    """Which energy rows reach each tile of output bins: the block-sparse plan."""

    def __init__(self, first: int, stop: int, rows: tuple, columns: tuple):
        self.first = first
        self.stop = stop
        self.rows = rows
        self.columns = columns

    @classmethod
    def from_matrix(cls, matrix: np.ndarray, tile: int) -> BlockLayout:
        """Tiles of ``tile`` bins over the reached span, each with its row range."""
        reached = np.flatnonzero((matrix != 0).any(axis=0))
        if reached.size == 0:
            return cls(0, 1, ((0, 1),), ((0, 1),))
        first, stop = int(reached[0]), int(reached[-1]) + 1

        rows, columns = [], []
        for start in range(first, stop, max(1, tile)):
            end = min(start + tile, stop)
            used = np.flatnonzero((matrix[:, start:end] != 0).any(axis=1))
            low, high = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 1)
            rows.append((low, high))
            columns.append((start, end))
        return cls(first, stop, tuple(rows), tuple(columns))

    def blocks(self, matrix: np.ndarray, dtype) -> tuple[np.ndarray, ...]:
        """The dense sub-matrices, one per tile."""
        return tuple(
            np.ascontiguousarray(matrix[r0:r1, c0:c1], dtype=dtype)
            for (r0, r1), (c0, c1) in zip(self.rows, self.columns, strict=True)
        )

    @property
    def fill(self) -> int:
        """Number of matrix elements the blocks hold."""
        return sum(
            (r1 - r0) * (c1 - c0)
            for (r0, r1), (c0, c1) in zip(self.rows, self.columns, strict=True)
        )


class _FunctionKey:
    """A model's function, equal for models with the same source and kernels.

    Compiling the same expression twice gives two function objects; keying the
    compiled fold on the source and the kernels behind it lets the second reuse
    the first's compiled code.
    """

    def __init__(self, model):
        self.function = model.function
        kernels = getattr(getattr(model, "resolved", None), "components", ())
        self.key = (
            getattr(model, "source", None) or id(model.function),
            tuple(getattr(use.spec, "kernel", None) for use in kernels),
        )

    def __eq__(self, other):
        return isinstance(other, _FunctionKey) and self.key == other.key

    def __hash__(self):
        return hash(self.key)


@functools.lru_cache(maxsize=64)
def _compiled(key: _FunctionKey, rows: tuple, precision: str, mesh: Mesh):
    """One jitted fold per (model function, block plan, precision, mesh).

    ``shard_map`` gives every device the same program on its own rows, so a
    spectrum's numbers do not depend on how many devices share the window.
    """
    spectra, replicated = PartitionSpec("spectra"), PartitionSpec()
    dtype = jnp.dtype(precision)
    function = key.function

    def flux(values, edges, constants):
        out = jax.vmap(function, in_axes=(0, None, None))(values, edges, constants)
        return out.astype(dtype)

    def fold(flux, blocks):
        tiles = [
            flux[:, r0:r1] @ block for (r0, r1), block in zip(rows, blocks, strict=True)
        ]
        span = jnp.concatenate(tiles, axis=1)
        bad = ((span < 0) | (span > MAX_EXPECTED) | ~jnp.isfinite(span)).any(axis=1)
        return span, bad

    # Two executables, not one: compiled together, XLA splits the model into
    # dozens of separately stored (batch, energies) float64 arrays and the job
    # runs 3-4x slower; compiled alone the model is one loop fusion.
    model = jax.jit(
        _shard_map(
            flux,
            mesh=mesh,
            in_specs=(spectra, replicated, replicated),
            out_specs=spectra,
        )
    )
    product = jax.jit(
        _shard_map(
            fold,
            mesh=mesh,
            in_specs=(spectra, replicated),
            out_specs=(spectra, spectra),
        )
    )

    def expected(values, edges, constants, blocks):
        return product(model(values, edges, constants), blocks)

    return expected


def _shard_map(function, **specs):
    """``jax.shard_map`` (``jax.experimental.shard_map`` before JAX 0.7)."""
    if hasattr(jax, "shard_map"):
        return jax.shard_map(function, **specs)
    from jax.experimental.shard_map import shard_map

    return shard_map(function, **specs)
