"""Background in fakeit, by XSPEC's rules (HEASoft 6.20 SpectralData, Background).

For a source spectrum (exposure t, AREASCAL a, BACKSCAL s) whose background file
holds counts B with exposure t_b, AREASCAL a_b and BACKSCAL s_b:

- The background rate in the source region, counts/s per channel, is
  ``B' = B / (t_b * a_b) * (s / s_b)``, using the exposure written in the
  background file (reference: xspec-syntax.md section 7.3, step 3).
- The source's expected counts get ``t * a * B'`` added before the Poisson draw,
  so source and background are drawn together (step 4).
- The background spectrum is simulated on its own with the background exposure
  typed at the prompt, t_b': expected counts ``B' * t_b' * a_b * (s_b / s)``,
  which is ``B * t_b' / t_b`` (step 5). It is written as ``<name>_bkg.fak``.

Random streams: source spectrum i draws from ``(seed, i)`` as in
``specdsl.runtime.sampling``; background spectrum i from ``(seed, i, 1)``, so the
two never share a stream and adding a background leaves the source draw's stream
unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from specdsl.errors import OGIPError
from specdsl.runtime.sampling import check_expected, poisson_counts

BACKGROUND_STREAM = 1


def has_background(observation) -> bool:
    """True when the observation carries a background spectrum with counts."""
    background = getattr(observation, "background", None)
    return background is not None and background.counts is not None


def background_rate(observation) -> np.ndarray:
    """``B'``: the background count rate scaled to the source region, per channel."""
    background = _background(observation)
    where = background.spectrum_path or observation.background_path
    t_b = float(background.exposure)
    if not t_b > 0:
        raise OGIPError(
            where, f"background exposure must be > 0 s, got {t_b:g}", field="EXPOSURE"
        )

    a_b = np.asarray(background.areascal, dtype=np.float64)
    s_b = np.asarray(background.backscal, dtype=np.float64)
    if np.any(s_b <= 0) or np.any(a_b <= 0):
        raise OGIPError(where, "BACKSCAL and AREASCAL must be > 0", field="BACKSCAL")

    s = np.asarray(observation.backscal, dtype=np.float64)
    counts = np.asarray(background.counts, dtype=np.float64)
    return counts / (t_b * a_b) * (s / s_b)


def source_background_counts(observation, exposure: float) -> np.ndarray:
    """``t * a * B'``: background counts expected in the source spectrum."""
    areascal = np.asarray(observation.areascal, dtype=np.float64)
    return float(exposure) * areascal * background_rate(observation)


def background_expected(observation, background_exposure: float) -> np.ndarray:
    """Expected counts of the simulated background spectrum, ``B' t_b' a_b s_b/s``."""
    background = _background(observation)
    scale = np.asarray(background.backscal, np.float64) / np.asarray(
        observation.backscal, np.float64
    )
    areascal = np.asarray(background.areascal, np.float64)
    rate = background_rate(observation)
    return rate * float(background_exposure) * areascal * scale


def add_source_background(
    blocks: Iterable[tuple[int, np.ndarray]],
    extra: np.ndarray | None,
    seed: int,
    counting_statistics: bool,
    first_channel: int = 1,
) -> Iterator[tuple[int, np.ndarray]]:
    """Add background counts ``extra`` to blocks of expected counts, then draw.

    ``blocks`` are ``(first_index, expected)`` pairs as yielded by
    ``iter_spectra(..., counting_statistics=False)``. Spectrum i draws from the
    stream ``(seed, i)``, as without a background. ``first_channel`` numbers the
    channels in messages.
    """
    for start, expected in blocks:
        total = expected if extra is None else expected + extra
        check_expected(total, start, first_channel)
        if counting_statistics:
            yield start, poisson_counts(seed, start, total)
        else:
            yield start, total


def fake_background(
    observation,
    background_exposure: float,
    *,
    count: int = 1,
    seed: int = 0,
    counting_statistics: bool = True,
) -> np.ndarray:
    """``count`` simulated background spectra, shape ``(count, channels)``."""
    expected = background_expected(observation, background_exposure)
    check_expected(expected[None, :], 0, observation.first_channel)
    if not counting_statistics:
        return np.broadcast_to(expected, (count, expected.size)).copy()

    counts = np.empty((count, expected.size), dtype=np.int32)
    for row in range(count):
        stream = np.random.default_rng([seed, row, BACKGROUND_STREAM])
        counts[row] = stream.poisson(expected)
    return counts


def background_file_name(name: str | Path) -> str:
    """XSPEC's background name: ``_bkg`` before the last dot (a.fak -> a_bkg.fak)."""
    name = str(name)
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or "/" in extension:
        return name + "_bkg"
    return f"{stem}_bkg.{extension}"


def _background(observation):
    if not has_background(observation):
        raise OGIPError(
            getattr(observation, "spectrum_path", None) or "(observation)",
            "the observation has no background spectrum",
            field="BACKFILE",
        )
    return observation.background
