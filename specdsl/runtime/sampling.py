"""Poisson counts whose random stream is tied to each spectrum's global index.

Spectrum i always draws from its own Philox stream: the key comes from the
seed, the counter starts at i (in the counter's upper words). So the same seed
gives the same spectra whatever the batch size, the chunk size, the number of
devices or processes, and the order in which batches run, and a spectrum's
counts depend only on its own expected counts.

The draws are made by numpy on the host, in threads (numpy releases the GIL
while it samples): on CPU its Poisson sampler is about ten times faster than
``jax.random.poisson``, whose rejection loop runs until the slowest element of a
vectorised batch is done. Channels with zero expectation consume no random
numbers in numpy's sampler, so only the span the response reaches is passed.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from specdsl.errors import ParameterError, spectrum_label

_MAX_COUNTS = 2.0**31 - 1
_MASK64 = (1 << 64) - 1
_LONG_ROW = 512  # bins per spectrum from which threads pay (benchmarks/scale.py)
_local = threading.local()
_pools: dict[int, ThreadPoolExecutor] = {}


def stream_key(seed: int) -> np.ndarray:
    """The 128-bit Philox key of a seed (hashed, so near seeds are unrelated)."""
    if seed < 0:
        raise ParameterError(f"the seed must be >= 0, got {seed}")
    return np.random.SeedSequence(seed).generate_state(2, np.uint64)


def spectrum_generator(seed: int, index: int) -> np.random.Generator:
    """A fresh generator positioned at the start of spectrum ``index``'s stream."""
    counter = [0, 0, index & _MASK64, index >> 64]
    return np.random.Generator(np.random.Philox(counter=counter, key=stream_key(seed)))


def poisson_counts(
    seed: int, first_index: int, expected, threads: int | None = None, out=None
) -> np.ndarray:
    """Poisson draws for rows ``first_index, first_index + 1, ...`` of ``expected``.

    ``out``, if given, is an int32 array (or view) of ``expected``'s shape that
    receives the counts, so a caller can sample straight into a wider spectrum.
    """
    expected = np.asarray(expected)
    counts = np.empty(expected.shape, dtype=np.int32) if out is None else out
    key = stream_key(seed)
    workers = _threads(threads, *expected.shape)
    if workers == 1:
        _draw_rows(key, first_index, expected, counts, 0, len(expected))
        return counts

    bounds = np.linspace(0, len(expected), workers + 1).astype(int)
    pool = _pool(workers)
    jobs = [
        pool.submit(_draw_rows, key, first_index, expected, counts, lo, hi)
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    for job in jobs:
        job.result()
    return counts


def _draw_rows(key, first_index, expected, counts, lo: int, hi: int) -> None:
    """Fill rows lo..hi-1, re-pointing one thread-local Philox at each spectrum."""
    bit_generator, generator, state = _thread_generator(key)
    counter = state["state"]["counter"]
    for row in range(lo, hi):
        index = first_index + row
        counter[0] = counter[1] = 0
        counter[2], counter[3] = index & _MASK64, index >> 64
        state["buffer_pos"] = 4
        state["has_uint32"] = 0
        bit_generator.state = state
        counts[row] = generator.poisson(expected[row])


def _thread_generator(key):
    cached = getattr(_local, "philox", None)
    if cached is None or not np.array_equal(cached[2]["state"]["key"], key):
        bit_generator = np.random.Philox(key=key)
        state = bit_generator.state
        state["state"]["key"] = np.array(key, dtype=np.uint64)
        cached = (bit_generator, np.random.Generator(bit_generator), state)
        _local.philox = cached
    return cached


def _threads(threads: int | None, rows: int, width: int = _LONG_ROW) -> int:
    """Threads for ``rows`` spectra of ``width`` bins (short rows: one thread).

    Each row holds the GIL for a few microseconds (re-pointing the generator,
    numpy's argument checks): for short rows two threads spend their time
    waiting for it, and ran twice as slow as one on the 114 PN groups.
    """
    if threads is None:
        threads = int(os.environ.get("SPECDSL_THREADS", 0))
        if not threads:
            threads = (os.cpu_count() or 1) if width >= _LONG_ROW else 1
    return max(1, min(threads, rows // 8 or 1))


def _pool(workers: int) -> ThreadPoolExecutor:
    if workers not in _pools:
        _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="poisson")
    return _pools[workers]


def check_expected(
    expected, first_index: int = 0, first_channel: int = 1, bins: str = "channel"
) -> None:
    """Refuse negative, NaN or overflowing expected counts before they are sampled.

    The message numbers column 0 as ``first_channel`` and calls columns ``bins``.
    """
    expected = np.asarray(expected)
    bad = ~np.isfinite(expected) | (expected < 0) | (expected > _MAX_COUNTS)
    if not bad.any():
        return

    row, channel = np.argwhere(bad)[0]
    value = expected[row, channel]
    where = spectrum_label(first_index + row)
    check = "the parameter values of that spectrum (e.g. a negative norm)"
    if value > _MAX_COUNTS:  # counts are flux x area x exposure
        check = "the exposure and the parameter values of that spectrum (its norm)"
    raise ParameterError(
        f"the model gives {value:g} expected counts in {bins} "
        f"{channel + first_channel} of {where}: expected counts must be finite, "
        f">= 0 and < 2^31. Check "
        f"{check}."
    )
