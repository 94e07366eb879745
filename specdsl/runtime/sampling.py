"""Poisson counts whose random stream is tied to each spectrum's global index.

Spectrum i always draws from the stream seeded by ``(seed, i)``, so the same
seed gives the same spectra whatever the batch size or the order batches run in.

The draws are made by numpy on the host: on CPU its Poisson sampler is about
ten times faster than ``jax.random.poisson``, whose rejection loop runs until
the slowest element of a vectorised batch is done.
"""

from __future__ import annotations

import numpy as np

from specdsl.errors import ParameterError

_MAX_COUNTS = 2.0**31 - 1


def poisson_counts(seed: int, first_index: int, expected) -> np.ndarray:
    """Poisson draws for rows ``first_index, first_index + 1, ...`` of ``expected``."""
    expected = np.asarray(expected)
    counts = np.empty(expected.shape, dtype=np.int32)
    for row, mu in enumerate(expected):
        stream = np.random.default_rng([seed, first_index + row])
        counts[row] = stream.poisson(mu)
    return counts


def check_expected(expected, first_index: int = 0) -> None:
    """Refuse negative, NaN or overflowing expected counts before they are sampled."""
    expected = np.asarray(expected)
    bad = ~np.isfinite(expected) | (expected < 0) | (expected > _MAX_COUNTS)
    if not bad.any():
        return

    row, channel = np.argwhere(bad)[0]
    value = expected[row, channel]
    raise ParameterError(
        f"the model gives {value:g} expected counts in output bin {channel} of "
        "spectrum "
        f"{first_index + row}: expected counts must be finite, >= 0 and < 2^31. "
        "Check the parameter values of that spectrum (e.g. a negative norm)."
    )
