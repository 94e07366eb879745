"""Additive lines: Gaussian (in energy or wavelength), Lorentzian, Gaussian step.

Each is the exact probability of the profile in each bin. XSPEC walks outward
from the line centre and stops once the remaining fraction is below 1e-6 (1e-8
for gaussian), adding that remainder to the last bin visited; here every bin
gets its exact share, which differs from XSPEC by at most that remainder.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import ndtr

from specdsl.library.registry import ADDITIVE, ComponentSpec, ParameterSpec, register

KEV_TO_ANGSTROM = 12.39841974  # hc in keV Angstrom, XSPEC's Numerics::KEVTOA
_LOWEST_EXPONENT = -700.0  # exp() below this is taken as 0 (no subnormals)


def normal_fraction(z_lo, z_hi):
    """Standard normal probability between z_lo <= z_hi, from the far-side tails."""
    above = z_lo > 0
    return jnp.where(above, ndtr(-z_lo) - ndtr(-z_hi), ndtr(z_hi) - ndtr(z_lo))


def gaussian_kernel(edges, constants, LineE, Sigma):
    """Fraction of a unit-area Gaussian line in each bin; Sigma = 0 is a delta line."""
    lo, hi = edges[:-1], edges[1:]
    width = jnp.where(Sigma > 0, Sigma, 1.0)
    spread = normal_fraction((lo - LineE) / width, (hi - LineE) / width)

    delta = ((lo < LineE) & (LineE <= hi)).astype(spread.dtype)
    return jnp.where(Sigma > 0, spread, delta)


def agauss_kernel(edges, constants, LineE, Sigma):
    """Gaussian in wavelength: LineE and Sigma in Angstrom, unit area in the line.

    Bin [E_lo, E_hi] covers wavelengths [hc/E_hi, hc/E_lo]. A zero Sigma puts the
    whole line in the bin with hc/E_hi < LineE <= hc/E_lo, as XSPEC does.
    """
    lo, hi = edges[:-1], edges[1:]
    wave_short = KEV_TO_ANGSTROM / hi
    wave_long = jnp.where(lo > 0, KEV_TO_ANGSTROM / jnp.where(lo > 0, lo, 1.0), jnp.inf)

    width = jnp.where(Sigma > 0, Sigma, 1.0)
    spread = normal_fraction((wave_short - LineE) / width, (wave_long - LineE) / width)

    delta = ((wave_short < LineE) & (LineE <= wave_long)).astype(spread.dtype)
    return jnp.where(Sigma > 0, spread, delta)


def lorentz_kernel(edges, constants, LineE, Width):
    """Lorentzian of FWHM Width, normalised to unit area over E > 0, exact per bin.

    The profile (W/2pi) / ((E - E_L)^2 + (W/2)^2) integrates to
    atan(2 (E - E_L)/W) / pi, and over E > 0 to (pi/2 + atan(2 E_L/W)) / pi;
    bins far out on one side use atan(b) - atan(a) = atan((b - a)/(1 + ab)).
    """
    lo, hi = edges[:-1], edges[1:]
    half = jnp.where(Width > 0, 0.5 * Width, 1.0)
    a = (lo - LineE) / half
    b = (hi - LineE) / half

    same_side = a * b > 0
    denominator = jnp.where(same_side, 1.0 + a * b, 1.0)
    spread = jnp.where(
        same_side, jnp.arctan((b - a) / denominator), jnp.arctan(b) - jnp.arctan(a)
    )
    spread = spread / (0.5 * jnp.pi + jnp.arctan(LineE / half))

    delta = ((lo < LineE) & (LineE <= hi)).astype(spread.dtype)
    return jnp.where(Width > 0, spread, delta)


def step_kernel(edges, constants, Energy, Sigma):
    """A Gaussian-smoothed step down at Energy: 1/2 erfc((E - Energy)/(sqrt 2 Sigma)).

    Exact per bin (XSPEC samples the bin mid-point): the integral of the normal
    tail Q(z) is z Q(z) - phi(z); written as its small part plus min(z, 0), so
    that bins far below the step do not cancel. Sigma = 0 is a sharp step.
    """
    lo, hi = edges[:-1], edges[1:]
    width = jnp.where(Sigma > 0, Sigma, 1.0)
    z_lo = (lo - Energy) / width
    z_hi = (hi - Energy) / width
    smooth = width * (
        _tail_area(z_hi)
        - _tail_area(z_lo)
        + jnp.minimum(z_hi, 0)
        - jnp.minimum(z_lo, 0)
    )

    sharp = jnp.clip(Energy, lo, hi) - lo
    return jnp.where(Sigma > 0, smooth, sharp)


def _tail_area(z):
    """(|z| Q(|z|) - phi(|z|)): the integral of Q up to z, less min(z, 0)."""
    t = jnp.minimum(jnp.abs(z), 37.0)  # phi(37) ~ 1e-298: no subnormals beyond
    density = jnp.exp(-0.5 * t * t) / jnp.sqrt(2.0 * jnp.pi)
    return t * ndtr(-t) - density


def _line_energy(default=6.5):
    """LineE as XSPEC declares it for gaussian, zgauss and lorentz."""
    return ParameterSpec("LineE", default, "keV", 0.05, 0.0, 0.0, 1e6, 1e6)


_HEASOFT = "XSPEC 12.9.1 (HEASoft 6.20) model.dat and Xspec/src/XSFunctions"

gaussian = register(
    ComponentSpec(
        "gaussian",
        ADDITIVE,
        (
            ParameterSpec("LineE", 6.5, "keV", 0.05, 0.0, 0.0, 1e6, 1e6),
            ParameterSpec("Sigma", 0.1, "keV", 0.05, 0.0, 0.0, 10.0, 20.0),
        ),
        gaussian_kernel,
        description="Gaussian line, norm in total photons/cm^2/s in the line",
        reference="XSPEC manual, gaussian",
    )
)

agauss = register(
    ComponentSpec(
        "agauss",
        ADDITIVE,
        (
            ParameterSpec("LineE", 10.0, "A", 0.01, 0.0, 0.0, 1e6, 1e6),
            ParameterSpec("Sigma", 1.0, "A", 0.01, 0.0, 0.0, 1e6, 1e6),
        ),
        agauss_kernel,
        description="Gaussian line in wavelength (Angstrom), norm in total "
        "photons/cm^2/s in the line",
        reference=f"XSPEC manual, agauss; {_HEASOFT}/agauss.cxx",
    )
)

lorentz = register(
    ComponentSpec(
        "lorentz",
        ADDITIVE,
        (
            _line_energy(),
            ParameterSpec("Width", 0.1, "keV", 0.05, 0.0, 0.0, 10.0, 20.0),
        ),
        lorentz_kernel,
        description="Lorentzian line (Width = FWHM), unit area over E > 0; norm in "
        "total photons/cm^2/s",
        reference=f"XSPEC manual, lorentz; {_HEASOFT}/lorentzianLine.cxx, "
        "calcLines.cxx",
    )
)

step = register(
    ComponentSpec(
        "step",
        ADDITIVE,
        (
            ParameterSpec("Energy", 6.5, "keV", 0.05, 0.0, 0.0, 100.0, 100.0),
            ParameterSpec("Sigma", 0.1, "keV", 0.05, 0.0, 0.0, 10.0, 20.0),
        ),
        step_kernel,
        description="Gaussian-smoothed step, 1 photon/cm^2/s/keV below Energy and "
        "0 above (times norm)",
        reference=f"XSPEC manual, step; {_HEASOFT}/xsstep.f",
    )
)
