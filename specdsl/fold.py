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

A response the observation holds sparse (a `SparseResponse`: grating and
calorimeter grids of 16384 to 60000 channels) never becomes dense: its product
with ARF, exposure, AREASCAL and grouping is formed on the non-zeros (scipy),
the same tiles are cut from it, padded to a few heights (powers of two) and
stacked, and one loop body per height folds them: XLA compiles one product per
tile in about 0.1 s each, 10 s for the 119 tiles of the Hitomi SXS grid,
against 0.6 s for the loop. Its expected counts equal the tiled product's to
float32 rounding (tests/test_large_responses.py).

The model is evaluated in float64; the response product runs in float32 by
default (``precision``), which halves its cost. On the XMM PN response, for 200
spectra of the seed job, the float32 fold differs from float64 by at most
4.4e-6 relative (median 1.9e-7) in channels with expected counts above 1e-3,
and by at most 0.0012 sigma of the Poisson noise (benchmarks/scale.py prints
it; tests/test_scale_fold.py holds it under 1e-5).

On the 2-core benchmark machine the block-sparse product of 10^4 PN spectra
took 0.25 s, against 0.99 s for numpy's dense float32 product, 1.02 s for JAX's
and 2.1 s for scipy's CSR product; the model evaluation took 0.25 s and the
Poisson draws 0.78 s (benchmarks/scale.py).

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

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import specdsl._jax  # noqa: F401  (float64 before any array)
from specdsl import parameters as _parameters
from specdsl.errors import SpecdslError

DEFAULT_TILE = 256
ROWS_PER_DEVICE = 256
MAX_EXPECTED = 2.0**31 - 1

# The blocks of one response may hold at most this many float32 elements (1 GiB).
# A dense-held response never comes near it; a sparse one whose non-zeros reach
# across most channels from most energies (a dense response in disguise) does.
MAX_BLOCK_ELEMENTS = 2**28


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

        self.edges = jax.device_put(np.asarray(observation.energy_edges, np.float64))
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
        plan, blocks = self._plan(matrix)
        self._arrays = jax.device_put((self.edges, self.constants, blocks), replicated)
        self._function = _compiled(_FunctionKey(model), plan, self.precision.name, mesh)

    def _plan(self, matrix) -> tuple:
        """The compiled product's plan and its blocks.

        A dense-held response keeps one matrix product per tile (``layout.rows``
        is the plan). A sparse-held one has hundreds of tiles, and one product
        each would take XLA seconds to compile per dataset: its blocks are
        padded to a few heights and stacked, one loop body per height.
        """
        layout = self.layout
        if not _is_sparse(matrix):
            return layout.rows, layout.blocks(matrix, self.precision)
        n_rows = matrix.shape[0]
        _check_fill(layout.stacked_fill(n_rows), matrix.shape, layout.tile)
        heights = layout.padded_heights(n_rows)
        classes = sorted(set(heights.tolist()))
        order = np.argsort(np.argsort(heights, kind="stable"), kind="stable")
        plan = _Stacked(tuple(classes), tuple(order.tolist()), layout.width)
        return plan, layout.stacks(matrix, self.precision)

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
        """The dense (energies, bins) response product, in ``precision``.

        Refused (SpecdslError) for a sparse-held response too large to densify.
        """
        if self._dense is None:
            matrix = self._response_matrix()
            if _is_sparse(matrix):
                from specdsl.response.ogip import SparseResponse

                matrix = np.asarray(SparseResponse(matrix))
            self._dense = jnp.asarray(matrix, dtype=self.precision)
        return self._dense

    def _response_matrix(self):
        """(energies, channels): RMF x ARF x exposure x AREASCAL, grouped if asked.

        A dense float64 array, or a scipy CSR array when the observation holds
        its response sparse (a SparseResponse): the same elements either way.
        An exposure or AREASCAL that overflows gives inf here, which the
        sampler's check of the expected counts refuses with a message.
        """
        with np.errstate(over="ignore"):
            return self._response_product()

    def _response_product(self):
        obs = self.observation
        area = np.asarray(obs.effective_area, dtype=np.float64) * self.exposure
        if hasattr(obs.redistribution, "csr"):
            return _sparse_response(obs, area, self.grouped)
        areascal = np.asarray(obs.areascal, np.float64)
        if self.grouped and areascal.ndim == 0:
            # Summed first, scaled after: no copy of the full matrix, whose
            # first touch alone took 0.1-0.3 s on the 68 MB PN matrix.
            matrix = obs.sum_groups(np.asarray(obs.redistribution, np.float64))
            matrix *= (area * areascal)[:, None]
            return matrix

        matrix = np.array(obs.redistribution, dtype=np.float64)
        matrix *= area[:, None]
        matrix *= np.broadcast_to(areascal, matrix.shape[1:])
        if self.grouped:
            matrix = obs.sum_groups(matrix)
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


def _sparse_response(obs, area: np.ndarray, grouped: bool):
    """The response product of a sparse-held observation, as a scipy CSR array.

    Each stored element gets the dense path's factors in the same order
    (redistribution x area, then x AREASCAL), so the elements are bit-identical
    to the dense product's; grouping sums channels through a sparse 0/1 matrix.
    """
    from scipy import sparse

    csr = obs.redistribution.csr
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    areascal = np.broadcast_to(np.asarray(obs.areascal, np.float64), csr.shape[1:])
    data = csr.data * area[rows]
    data = data * areascal[csr.indices]
    # Copies: eliminate_zeros below works in place on the index arrays.
    structure = (csr.indices.copy(), csr.indptr.copy())
    matrix = sparse.csr_array((data, *structure), shape=csr.shape)
    if grouped:
        matrix = matrix @ obs.group_sparse().T
    matrix.eliminate_zeros()
    return matrix


def _is_sparse(matrix) -> bool:
    """Whether a response product is a scipy sparse array (not a numpy array)."""
    return hasattr(matrix, "tocsc")


def _check_fill(fill: int, shape, tile: int) -> None:
    """Refuse blocks of more than MAX_BLOCK_ELEMENTS, saying how large they are."""
    if fill <= MAX_BLOCK_ELEMENTS:
        return
    raise SpecdslError(
        f"the {shape[0]} x {shape[1]} response spreads over {fill} "
        f"elements in its blocks of {tile} channels ({fill * 4 / 2**30:.1f} "
        f"GiB as float32), above specdsl's limit of {MAX_BLOCK_ELEMENTS} "
        f"({MAX_BLOCK_ELEMENTS * 4 / 2**30:.0f} GiB): its energies reach too many "
        "channels each to fold it block-sparse"
    )


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
    def from_matrix(cls, matrix, tile: int) -> BlockLayout:
        """Tiles of ``tile`` bins over the reached span, each with its row range.

        ``matrix`` is a dense array or a scipy sparse array (for responses held
        sparse); both give the same plan for the same non-zeros.
        """
        low, high = _column_extents(matrix)
        reached = np.flatnonzero(high > low)
        if reached.size == 0:
            return cls(0, 1, ((0, 1),), ((0, 1),))
        first, stop = int(reached[0]), int(reached[-1]) + 1

        starts = np.arange(first, stop, max(1, tile))
        lows = np.minimum.reduceat(low[first:stop], starts - first)
        highs = np.maximum.reduceat(high[first:stop], starts - first)
        rows, columns = [], []
        extents = zip(starts.tolist(), lows.tolist(), highs.tolist(), strict=True)
        for start, r0, r1 in extents:
            rows.append((r0, r1) if r1 > r0 else (0, 1))
            columns.append((start, min(start + max(1, tile), stop)))
        return cls(first, stop, tuple(rows), tuple(columns))

    def blocks(self, matrix, dtype) -> tuple[np.ndarray, ...]:
        """The dense sub-matrices, one per tile (cut from a dense or sparse matrix)."""
        cut = (lambda block: block.toarray()) if _is_sparse(matrix) else np.asarray
        with np.errstate(over="ignore"):  # inf in float32 is refused later
            return tuple(
                np.ascontiguousarray(cut(matrix[r0:r1, c0:c1]), dtype=dtype)
                for (r0, r1), (c0, c1) in zip(self.rows, self.columns, strict=True)
            )

    def stacks(self, matrix, dtype) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """The blocks of a sparse matrix, padded and stacked by `padded_heights`.

        One (starts, blocks) pair per height, tallest last, tiles in order
        within each: ``starts`` is the first energy row each block reads
        (moved down so that its rows fit), ``blocks`` is (tiles, height, tile);
        rows and columns added by the padding hold zeros.
        """
        n_rows, tile = matrix.shape[0], self.tile
        heights = self.padded_heights(n_rows)
        lows = np.array([r0 for r0, _ in self.rows], dtype=np.int64)
        starts = np.minimum(lows, n_rows - heights)

        entries = matrix.tocoo()
        entries.sum_duplicates()
        offset = entries.col.astype(np.int64) - self.first
        block = offset // tile
        stacks = []
        for height in sorted(set(heights.tolist())):
            members = np.flatnonzero(heights == height)
            slot = np.full(len(self.rows), -1)
            slot[members] = np.arange(members.size)
            mine = slot[block] >= 0
            stacked = np.zeros((members.size, height, tile), dtype=dtype)
            where = block[mine]
            stacked[
                slot[where], entries.row[mine] - starts[where], offset[mine] % tile
            ] = entries.data[mine]
            stacks.append((starts[members].astype(np.int32), stacked))
        return tuple(stacks)

    def padded_heights(self, n_rows: int) -> np.ndarray:
        """Each block's height rounded up to a power of two (at most ``n_rows``).

        A few distinct heights keep the compiled loops few, and the padding
        under 2x, however uneven the blocks (grouped channels, wide tiles).
        """
        heights = np.array([r1 - r0 for r0, r1 in self.rows], dtype=np.int64)
        padded = 2 ** np.ceil(np.log2(np.maximum(heights, 1))).astype(np.int64)
        return np.minimum(padded, n_rows)

    def stacked_fill(self, n_rows: int) -> int:
        """Number of elements the stacked (padded) blocks hold."""
        return int(self.padded_heights(n_rows).sum()) * self.tile

    @property
    def tile(self) -> int:
        """Output bins per tile (the last tile may have fewer)."""
        c0, c1 = self.columns[0]
        return c1 - c0

    @property
    def width(self) -> int:
        """Output bins over the reached span."""
        return self.stop - self.first

    @property
    def fill(self) -> int:
        """Number of matrix elements the blocks hold."""
        return sum(
            (r1 - r0) * (c1 - c0)
            for (r0, r1), (c0, c1) in zip(self.rows, self.columns, strict=True)
        )


def _column_extents(matrix) -> tuple[np.ndarray, np.ndarray]:
    """First and one-past-last row with a non-zero, per column (n_rows, 0 if none)."""
    n_rows, n_columns = matrix.shape
    if _is_sparse(matrix):
        csc = matrix.tocsc()
        csc.eliminate_zeros()
        csc.sort_indices()
        if csc.nnz == 0:
            return np.full(n_columns, n_rows), np.zeros(n_columns, np.int64)
        starts, ends = csc.indptr[:-1], csc.indptr[1:]
        has = ends > starts
        low = csc.indices[np.minimum(starts, csc.nnz - 1)].astype(np.int64)
        high = csc.indices[np.maximum(ends - 1, 0)].astype(np.int64) + 1
    else:
        nonzero = matrix != 0
        has = nonzero.any(axis=0)
        low = nonzero.argmax(axis=0)
        high = n_rows - nonzero[::-1].argmax(axis=0)
    return np.where(has, low, n_rows), np.where(has, high, 0)


class _FunctionKey:
    """A model's function, equal for models with the same source, kernels and
    Python link functions.

    Compiling the same expression twice gives two function objects; keying the
    compiled fold on the source and what it calls lets the second reuse the
    first's compiled code. (The source names a callable link only by number.)
    """

    def __init__(self, model):
        self.function = model.function
        kernels = getattr(getattr(model, "resolved", None), "components", ())
        links = (p.link for p in getattr(model, "parameters", ()))
        self.key = (
            getattr(model, "source", None) or id(model.function),
            tuple(getattr(use.spec, "kernel", None) for use in kernels),
            tuple(link for link in links if callable(link)),
        )

    def __eq__(self, other):
        return isinstance(other, _FunctionKey) and self.key == other.key

    def __hash__(self):
        return hash(self.key)


@dataclasses.dataclass(frozen=True)
class _Stacked:
    """The plan of a stacked fold: block heights, tile order, span width.

    ``order[i]`` is where tile i lands when the heights' outputs are put one
    after the other.
    """

    heights: tuple
    order: tuple
    width: int


def _stacked_product(flux, stacks, plan: _Stacked):
    """``flux`` through stacked blocks: one loop body per block height."""
    parts = []
    for height, (starts, blocks) in zip(plan.heights, stacks, strict=True):

        def tile(args, height=height):
            start, block = args
            return jax.lax.dynamic_slice_in_dim(flux, start, height, axis=1) @ block

        parts.append(jax.lax.map(tile, (starts, blocks)))  # (tiles, spectra, tile)
    tiles = jnp.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
    if plan.order != tuple(range(len(plan.order))):
        tiles = tiles[np.asarray(plan.order)]
    span = jnp.transpose(tiles, (1, 0, 2)).reshape(flux.shape[0], -1)
    return span[:, : plan.width]


@functools.lru_cache(maxsize=64)
def _compiled(key: _FunctionKey, plan, precision: str, mesh: Mesh):
    """One jitted fold per (model function, block plan, precision, mesh).

    ``plan`` is the row range of each tile (one matrix product per tile) or a
    `_Stacked` plan (stacked blocks, see `_stacked_product`).

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
        if isinstance(plan, _Stacked):
            span = _stacked_product(flux, blocks, plan)
        else:
            tiles = [
                flux[:, r0:r1] @ block
                for (r0, r1), block in zip(plan, blocks, strict=True)
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
