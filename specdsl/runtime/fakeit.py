"""Fake spectra: fold parameter batches through a response and draw Poisson counts."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from specdsl import parameters as _parameters
from specdsl.fold import FoldedModel
from specdsl.runtime.sampling import check_expected, poisson_counts

DEFAULT_BATCH = 2048


def fakeit(
    observation,
    model,
    parameters=None,
    *,
    seed: int = 0,
    counting_statistics: bool = True,
    exposure: float | None = None,
    grouped: bool = False,
    batch_size: int = DEFAULT_BATCH,
) -> np.ndarray:
    """Simulate spectra: counts of shape ``(*batch, channels)``.

    ``parameters`` maps names (flat ``"powerlaw_1.PhoIndex"`` or nested per
    component) to scalars or arrays; missing ones take their defaults. Scalars
    only give one spectrum. ``counting_statistics=False`` returns the expected
    counts instead of a Poisson draw; ``grouped=True`` sums the spectrum's
    GROUPING groups and drops bad-quality channels; ``exposure`` (s) replaces the
    observation's.
    """
    folded = _fold(model, observation, grouped, exposure)
    values, batch_shape = _parameters.normalize(folded.model.parameters, parameters)
    count = math.prod(batch_shape)
    flat = {name: value.reshape(count) for name, value in values.items()}

    dtype = np.int32 if counting_statistics else np.float64
    spectra = np.empty((count, folded.n_bins), dtype=dtype)
    for start, block in iter_spectra(
        folded, flat, seed, counting_statistics, batch_size
    ):
        spectra[start : start + len(block)] = block
    return spectra.reshape(*batch_shape, folded.n_bins)


def iter_spectra(
    folded: FoldedModel,
    flat: dict[str, np.ndarray],
    seed: int,
    counting_statistics: bool = True,
    batch_size: int = DEFAULT_BATCH,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_index, block)`` of spectra, ``batch_size`` rows at a time.

    Every block but the last has the same shape, and the last is padded to it, so
    the folded model is compiled once whatever the count.
    """
    count = len(next(iter(flat.values())))
    size = max(1, min(batch_size, count))
    for start in range(0, count, size):
        stop = min(start + size, count)
        chunk = {name: _padded(value[start:stop], size) for name, value in flat.items()}

        expected = np.asarray(folded.expected_counts_flat(chunk))[: stop - start]
        check_expected(expected, start)
        if counting_statistics:
            yield start, poisson_counts(seed, start, expected)
        else:
            yield start, expected


def fakeit_for_multiple_parameters(
    observations, model, parameters, rng_key: int = 0, apply_stat: bool = True
):
    """jaxspec-style call: one observation, or a list or dict of them."""

    def one(observation):
        return fakeit(
            observation, model, parameters, seed=rng_key, counting_statistics=apply_stat
        )

    if isinstance(observations, dict):
        return {name: one(obs) for name, obs in observations.items()}
    if isinstance(observations, (list, tuple)):
        return [one(obs) for obs in observations]
    return one(observations)


def _fold(model, observation, grouped, exposure) -> FoldedModel:
    if isinstance(model, str):
        from specdsl.model import compile

        model = compile(model)
    return FoldedModel(model, observation, grouped=grouped, exposure=exposure)


def _padded(values: np.ndarray, size: int) -> np.ndarray:
    missing = size - len(values)
    return (
        np.concatenate([values, np.repeat(values[-1:], missing)]) if missing else values
    )
