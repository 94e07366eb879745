"""Poisson counts whose random stream is tied to each spectrum's global index.

Spectrum i always uses ``fold_in(PRNGKey(seed), i)``, so the same seed gives
the same spectra whatever the batch size or the order batches run in.
"""

from __future__ import annotations

import specdsl._jax  # noqa: F401  (float64 before any array)
import jax
import jax.numpy as jnp
import numpy as np

from specdsl.errors import ParameterError

_MAX_COUNTS = 2.0**31 - 1


@jax.jit
def _poisson_rows(key, indices, expected):
    def one(index, mu):
        return jax.random.poisson(jax.random.fold_in(key, index), mu, dtype=jnp.int32)

    return jax.vmap(one)(indices, expected)


def poisson_counts(seed: int, first_index: int, expected) -> np.ndarray:
    """Poisson draws for rows ``first_index, first_index + 1, ...`` of ``expected``."""
    key = jax.random.PRNGKey(seed)
    indices = jnp.arange(first_index, first_index + expected.shape[0], dtype=jnp.uint32)
    return np.asarray(_poisson_rows(key, indices, expected))


def check_expected(expected, first_index: int = 0) -> None:
    """Refuse negative, NaN or overflowing expected counts before they are sampled."""
    expected = np.asarray(expected)
    bad = ~np.isfinite(expected) | (expected < 0) | (expected > _MAX_COUNTS)
    if not bad.any():
        return

    row, channel = np.argwhere(bad)[0]
    value = expected[row, channel]
    raise ParameterError(
        f"the model gives {value:g} expected counts in output bin {channel} of spectrum "
        f"{first_index + row}: expected counts must be finite, >= 0 and < 2^31. "
        "Check the parameter values of that spectrum (e.g. a negative norm)."
    )
