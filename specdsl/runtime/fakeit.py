"""Fake spectra: fold parameter batches through a response and draw Poisson counts.

The work is cut into chunks of ``batch_size`` spectra by global index. While the
host draws the counts of one chunk, the devices already compute the expected
counts of the next (JAX dispatches asynchronously). Spectrum i's counts depend
only on the seed, i and its own parameters, so any chunking gives the same
spectra.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator

import numpy as np

from specdsl import parameters as _parameters
from specdsl.errors import ParameterError, spectrum_label
from specdsl.fold import FoldedModel
from specdsl.runtime import interrupt
from specdsl.runtime.sampling import check_expected, poisson_counts

DEFAULT_BATCH = 2048

# (first, stop) -> every model parameter as an array of stop - first values
ValueSource = Callable[[int, int], dict[str, np.ndarray]]


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
    devices=None,
) -> np.ndarray:
    """Simulate spectra: counts of shape ``(*batch, channels)``.

    ``parameters`` maps names (flat ``"powerlaw_1.PhoIndex"`` or nested per
    component) to scalars or arrays; missing ones take their defaults. Scalars
    only give one spectrum. ``counting_statistics=False`` returns the expected
    counts instead of a Poisson draw; ``grouped=True`` sums the spectrum's
    GROUPING groups and drops bad-quality channels; ``exposure`` (s) replaces the
    observation's. ``devices`` (default: all local ones) share each batch.
    """
    _check_arguments(seed, exposure, batch_size)
    folded = _fold(model, observation, grouped, exposure, devices)
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


def _check_arguments(seed, exposure, batch_size) -> None:
    """Refuse argument mistakes here, not deep inside numpy or the sampler."""
    if not _is_integer(seed) or seed < 0:
        raise ParameterError(f"seed must be an integer >= 0, got {seed!r}")
    if not _is_integer(batch_size) or batch_size < 1:
        raise ParameterError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if exposure is None:
        return
    if not isinstance(exposure, (int, float, np.integer, np.floating)) or isinstance(
        exposure, bool
    ):
        raise ParameterError(f"exposure must be a number of seconds, got {exposure!r}")
    if not (math.isfinite(exposure) and exposure > 0):
        raise ParameterError(f"exposure must be finite and > 0 s, got {exposure!r}")


def _is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def iter_spectra(
    folded: FoldedModel,
    flat: dict[str, np.ndarray],
    seed: int,
    counting_statistics: bool = True,
    batch_size: int = DEFAULT_BATCH,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_index, block)`` of spectra, ``batch_size`` rows at a time."""
    count = len(next(iter(flat.values())))
    simulator = Simulator(folded, seed, counting_statistics, batch_size)

    def source(first, stop):
        return {name: value[first:stop] for name, value in flat.items()}

    for first, block, _ in simulator.blocks(source, 0, count):
        yield first, block


class Simulator:
    """Chunked, pipelined simulation of spectra ``first .. stop - 1`` of a job."""

    def __init__(
        self,
        folded: FoldedModel,
        seed: int,
        counting_statistics: bool = True,
        batch_size: int = DEFAULT_BATCH,
        threads: int | None = None,
    ):
        if batch_size < 1:
            raise ParameterError(f"the batch size must be >= 1, got {batch_size}")
        self.folded = folded
        self.seed = seed
        self.counting_statistics = counting_statistics
        window = folded.window
        self.batch_size = -(-batch_size // window) * window
        self.threads = threads

    def chunks(self, first: int, stop: int) -> list[tuple[int, int]]:
        """``(start, stop)`` of each chunk: boundaries on multiples of the batch."""
        size = self.batch_size
        cuts = range((first // size + 1) * size, stop, size)
        edges = [first, *cuts, stop]
        return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]

    def blocks(
        self, source: ValueSource, first: int, stop: int
    ) -> Iterator[tuple[int, np.ndarray, dict]]:
        """Yield ``(first_index, block, values)``, one chunk at a time, in order.

        The next chunk is dispatched to the devices before the host draws the
        counts of the current one.
        """
        pending = None
        for start, end in self.chunks(first, stop):
            interrupt.check()
            values = source(start, end)
            submitted = (start, values, self.folded.submit(values, start))
            if pending is not None:
                yield self._finish(*pending)
            pending = submitted
        if pending is not None:
            yield self._finish(*pending)

    def _finish(self, start: int, values: dict, handles) -> tuple:
        expected, bad = self.folded.collect(handles)
        if bad.any():
            self._refuse(start, expected, values, bad)

        if not self.counting_statistics:
            return start, self.folded.widen(expected, np.float64), values
        first, stop = self.folded.span
        counts = np.zeros((expected.shape[0], self.folded.n_bins), dtype=np.int32)
        poisson_counts(
            self.seed, start, expected, self.threads, out=counts[:, first:stop]
        )
        return start, counts, values

    def _refuse(self, start: int, expected, values: dict, bad) -> None:
        row = int(np.flatnonzero(bad)[0])
        first, _ = self.folded.span
        if self.folded.grouped:
            check_expected(expected[row : row + 1], start + row, first + 1, "group")
        else:
            first += self.folded.observation.first_channel
            check_expected(expected[row : row + 1], start + row, first)
        listed = ", ".join(f"{name}={v[row]:g}" for name, v in values.items())
        where = spectrum_label(start + row)
        raise ParameterError(
            f"the model gives a non-finite photon flux for {where} ({listed}). "
            "Check the parameter values of that spectrum."
        )


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


def _fold(model, observation, grouped, exposure, devices=None) -> FoldedModel:
    """The model bound to the observation; the last binding is reused.

    Binding forms the response product (0.1 s on the XMM PN response), so a
    script that calls fakeit again on the same observation and model (as
    jaxspec users call fakeit_for_multiple_parameters) does it once. Models
    and observations compare by identity, and an Observation is frozen; the
    abundance and cross-section settings are part of the key, as the grid
    constants (absorbers' cross sections) depend on them.
    """
    from specdsl.library import settings

    if isinstance(model, str):
        from specdsl.library.registry import LIBRARY

        model = _compiled_model(model, LIBRARY.generation)
    devices = None if devices is None else tuple(devices)
    key = (model, observation, bool(grouped), exposure, devices, settings.current())
    if _last_fold and _last_fold[0] == key:
        return _last_fold[1]

    folded = FoldedModel(
        model, observation, grouped=grouped, exposure=exposure, devices=devices
    )
    _last_fold[:] = [key, folded]
    return folded


# [key, FoldedModel] of the last call: one binding is kept alive, no more.
_last_fold: list = []


@functools.lru_cache(maxsize=32)
def _compiled_model(expression: str, generation: int):
    """A model given as text, compiled once per state of the component library
    (``generation``), so its fold is reused until a component is registered."""
    from specdsl.model import compile

    return compile(expression)
