"""The built-in default response: a generic X-ray CCD behind a grazing-incidence mirror.

It lets `fakeit` run with no files at all. It is not any real instrument, only
shaped like one (roughly XMM-pn / Chandra ACIS-S class):

Model energy grid
    1500 logarithmically spaced bins from 0.1 to 12 keV.

Channels
    1024 channels numbered 1..1024 (first channel 1, OGIP's default), each
    0.01 keV wide, covering 0 - 10.24 keV: channel c spans [(c-1), c] x 0.01 keV.

Redistribution
    A Gaussian centred on each bin's mid energy E (keV), integrated over every
    channel, with the standard CCD resolution (Fano-limited charge plus read
    noise; e.g. Janesick, "Scientific Charge-Coupled Devices", SPIE 2001):

        sigma(E)^2 = (N_read * w)^2 + F * w * E
        FWHM(E)    = 2.3548 * sigma(E)

    with w = 3.65e-3 keV per electron-hole pair in silicon, Fano factor
    F = 0.115 and N_read = 8 electrons rms. This gives FWHM = 84 eV at 1 keV
    and 137 eV at 6 keV. Each row sums to <= 1: the part of the Gaussian falling
    outside 0 - 10.24 keV is lost, as in a real RMF.

Effective area (cm^2)
    A(E) = A0 * M(E) * T(E) * Q(E), a smooth curve peaking near 1.4 keV at about
    410 cm^2:
        M(E) = 1 / (1 + (E / 4 keV)^2)         mirror reflectivity fall-off
        T(E) = exp(-(0.6 keV / E)^3)            optical blocking filter (photo-
                                               absorption ~ E^-3): low-E cutoff
        Q(E) = 1 - exp(-(8 keV / E)^3)          absorption in the depletion layer
                                               (quantum efficiency): high-E drop
    with A0 = 500 cm^2.

Keywords: TELESCOP='SPECDSL', INSTRUME='DEFAULT', CHANTYPE='PI', DETCHANS=1024.
The default exposure of `Observation.default()` is 10 ks.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from specdsl.response.ogip import EffectiveArea, Redistribution

N_ENERGY = 1500
ENERGY_RANGE_KEV = (0.1, 12.0)
N_CHANNELS = 1024
CHANNEL_WIDTH_KEV = 0.01
FIRST_CHANNEL = 1

PAIR_ENERGY_KEV = 3.65e-3
FANO_FACTOR = 0.115
READ_NOISE_ELECTRONS = 8.0
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

AREA_PEAK_SCALE_CM2 = 500.0
MIRROR_ENERGY_KEV = 4.0
FILTER_ENERGY_KEV = 0.6
DEPLETION_ENERGY_KEV = 8.0

KEYWORDS = {
    "TELESCOP": "SPECDSL",
    "INSTRUME": "DEFAULT",
    "FILTER": "NONE",
    "CHANTYPE": "PI",
    "DETCHANS": N_CHANNELS,
}

_ERF = np.frompyfunc(math.erf, 1, 1)


def resolution_sigma(energy_kev) -> np.ndarray:
    """Gaussian sigma (keV) of the default CCD at the given energies (keV)."""
    energy = np.asarray(energy_kev, dtype=np.float64)
    noise = READ_NOISE_ELECTRONS * PAIR_ENERGY_KEV
    return np.sqrt(noise**2 + FANO_FACTOR * PAIR_ENERGY_KEV * energy)


def effective_area(energy_kev) -> np.ndarray:
    """Effective area (cm^2) of the default instrument at the given energies (keV)."""
    energy = np.asarray(energy_kev, dtype=np.float64)
    mirror = 1.0 / (1.0 + (energy / MIRROR_ENERGY_KEV) ** 2)
    filter_transmission = np.exp(-((FILTER_ENERGY_KEV / energy) ** 3))
    quantum_efficiency = -np.expm1(-((DEPLETION_ENERGY_KEV / energy) ** 3))
    return AREA_PEAK_SCALE_CM2 * mirror * filter_transmission * quantum_efficiency


def _gaussian_redistribution(
    centres: np.ndarray, channel_edges: np.ndarray
) -> np.ndarray:
    """Rows of a Gaussian (sigma from `resolution_sigma`) integrated over channels."""
    sigma = resolution_sigma(centres)
    z = (channel_edges[None, :] - centres[:, None]) / (math.sqrt(2.0) * sigma[:, None])

    # erf is +-1 to double precision beyond |z| = 6; only the core needs math.erf.
    cdf = np.sign(z)
    core = np.abs(z) < 6.0
    cdf[core] = _ERF(z[core]).astype(np.float64)

    matrix = 0.5 * np.diff(cdf, axis=1)
    return np.clip(matrix, 0.0, None)


@lru_cache(maxsize=1)
def default_response() -> tuple[Redistribution, EffectiveArea]:
    """The default RMF and ARF (computed once, arrays read-only)."""
    edges = np.geomspace(*ENERGY_RANGE_KEV, N_ENERGY + 1)
    lo, hi = edges[:-1], edges[1:]
    channel_edges = np.arange(N_CHANNELS + 1) * CHANNEL_WIDTH_KEV

    matrix = _gaussian_redistribution(0.5 * (lo + hi), channel_edges)
    area = effective_area(0.5 * (lo + hi))

    rmf = Redistribution(
        path=None,
        energy_lo=lo,
        energy_hi=hi,
        matrix=matrix,
        channels=np.arange(FIRST_CHANNEL, FIRST_CHANNEL + N_CHANNELS),
        e_min=channel_edges[:-1],
        e_max=channel_edges[1:],
        first_channel=FIRST_CHANNEL,
        is_full_response=False,
        keywords=dict(KEYWORDS),
    )
    arf = EffectiveArea(
        path=None, energy_lo=lo, energy_hi=hi, specresp=area, keywords=dict(KEYWORDS)
    )
    for array in (lo, hi, matrix, area, rmf.channels, rmf.e_min, rmf.e_max):
        array.flags.writeable = False
    return rmf, arf
