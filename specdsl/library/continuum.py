"""Additive continua: power laws (plain, broken, cut-off, curved) and black bodies.

Bin integrals are exact wherever a closed form exists: power laws, the incomplete
gamma function behind cutoffpl and grbm, Planck's law and the exponential of
expdec. Where none exists the bin rule is XSPEC's own: Simpson's rule for logpar
and eplogpar, the mid-point for cplinear and the trapezoid for posm.
"""

from __future__ import annotations

from math import exp, factorial, log

import jax.numpy as jnp
import numpy as np
from jax import lax

from specdsl.library._math import exprel
from specdsl.library.registry import ADDITIVE, ComponentSpec, ParameterSpec, register

# Bernoulli numbers B_0..B_20: x^2/(e^x - 1) = sum_n B_n x^(n+1) / n!  (|x| < 2 pi).
_BERNOULLI = {
    0: 1.0,
    1: -0.5,
    2: 1 / 6,
    4: -1 / 30,
    6: 1 / 42,
    8: -1 / 30,
    10: 5 / 66,
    12: -691 / 2730,
    14: 7 / 6,
    16: -3617 / 510,
    18: 43867 / 798,
    20: -174611 / 330,
}
# ... integrated term by term: the integral from 0 to x is sum_n c_n x^(n+2),
# c_n = B_n / ((n + 2) n!). Only B_0, B_1 and even n are non-zero, so the even
# terms are a polynomial in x^2 (coefficients highest power first, for Horner).
_C0 = _BERNOULLI[0] / 2
_C1 = _BERNOULLI[1] / 3
_EVEN = tuple(
    _BERNOULLI[n] / ((n + 2) * factorial(n))
    for n in sorted((n for n in _BERNOULLI if n >= 2), reverse=True)
)
_SERIES_LIMIT = 2.0  # below: Bernoulli series; above: the exponential series
_TAIL_TERMS = 17  # exp(-2 * 17) / 17 ~ 1e-16 relative truncation at the switch point
# The tail as three polylogarithms Li_s(r) = sum_k r^k / k^s, each r times a
# polynomial in r (coefficients 1 / k^s, highest power first, for Horner).
_POLYLOG = tuple(
    tuple(1.0 / k**s for k in range(_TAIL_TERMS, 0, -1)) for s in (1, 2, 3)
)
_RATIO_FLOOR = exp(-40.0)  # r below this changes no sum; keeps products normal

# Incomplete gamma integrals (cutoffpl, grbm): below t = 1.5 a power series in t,
# integrated term by term; above, the continued fraction of Gamma(a, t).
_GAMMA_SWITCH = 1.5
_GAMMA_TERMS = 22  # 1.5^22 / 22! ~ 2e-18 of the leading term
_GAMMA_DEPTH = 50  # continued-fraction depth: ~1e-13 relative at t = 1.5, a in [-9, 6]
_SMALL_EXPONENT = 1e-3  # below: 4-term Taylor form of (e^z - 1) / z (~1e-14)
_LOWEST_EXPONENT = -700.0  # exp() below this is taken as 0 (no subnormals)

_LN10 = log(10.0)


def power_integral(lo, hi, index):
    """Exact integral of E^-index from lo to hi (0 <= lo <= hi), smooth at index 1."""
    exponent = 1.0 - index

    positive = lo > 0
    lo_safe = jnp.where(positive, lo, jnp.where(hi > 0, hi, 1.0))
    hi_safe = jnp.where(hi > 0, hi, 1.0)
    log_ratio = jnp.log(hi_safe / lo_safe)
    inner = lo_safe**exponent * log_ratio * exprel(exponent * log_ratio)

    # A bin starting at 0 keV converges only for index < 1.
    rising = exponent > 0
    from_zero = jnp.where(rising, hi ** jnp.where(rising, exponent, 1.0), jnp.inf)
    from_zero = from_zero / jnp.where(rising, exponent, 1.0)
    from_zero = jnp.where(hi > 0, from_zero, 0.0)
    return jnp.where(positive, inner, from_zero)


def powerlaw_prepare(edges) -> dict:
    """The grid's logarithms, so that a power law costs one exp and one expm1 a bin.

    ``log_base`` is log(lo), or log(hi) for a bin that starts at 0 keV (whose
    integral is hi^(1 - index) / (1 - index)); ``log_ratio`` is log(hi / lo), 0 there.
    """
    lo, hi = edges[:-1], edges[1:]
    positive = lo > 0
    lo_safe = np.where(positive, lo, 1.0)
    hi_safe = np.where(hi > 0, hi, 1.0)
    return {
        "log_base": np.log(np.where(positive, lo_safe, hi_safe)),
        "log_ratio": np.where(positive, np.log(hi_safe / lo_safe), 0.0),
        "positive": positive,
        "empty": hi <= 0,
    }


def powerlaw_kernel(edges, constants, PhoIndex):
    """Exact integral of E^-PhoIndex over each bin, smooth through PhoIndex = 1.

    The same value as ``power_integral`` with the logarithms taken once per grid.
    """
    exponent = 1.0 - PhoIndex
    log_ratio = constants["log_ratio"]
    base = jnp.exp(exponent * constants["log_base"])
    inner = base * log_ratio * exprel(exponent * log_ratio)

    # A bin starting at 0 keV converges only for index < 1.
    rising = exponent > 0
    from_zero = jnp.where(rising, base / jnp.where(rising, exponent, 1.0), jnp.inf)
    from_zero = jnp.where(constants["empty"], 0.0, from_zero)
    return jnp.where(constants["positive"], inner, from_zero)


def gamma_integral(x1, x2, a, log_scale=0.0):
    """exp(log_scale) times the integral of t^(a-1) e^-t from x1 to x2, any real a.

    ``0 <= x1 <= x2``. Below t = 1.5 the integrand's power series is integrated
    term by term, each term an exact power integral, so narrow bins lose nothing
    to cancellation; above, it is a difference of upper incomplete gamma
    functions from their continued fraction. ``log_scale`` is folded into the
    exponent so that a large scale cannot overflow what underflows anyway.
    """
    switch = _GAMMA_SWITCH
    below = _gamma_series(jnp.minimum(x1, switch), jnp.minimum(x2, switch), a)
    ends = jnp.stack([jnp.maximum(x1, switch), jnp.maximum(x2, switch)])
    upper = upper_gamma(ends, a, log_scale)
    return below * jnp.exp(log_scale) + (upper[0] - upper[1])


def _gamma_series(u1, u2, a):
    """The integral of t^(a-1) e^-t from u1 to u2 (0 <= u1 <= u2 <= 1.5), by series.

    e^-t = sum_k (-t)^k / k!, and each t^(a+k-1) is integrated exactly: from the
    two ends where (a+k) ln(u2/u1) is not small, else from a Taylor form of
    (e^z - 1)/z. From u1 = 0 the integral converges only for a > 0.
    """
    empty = u2 <= 0
    u2 = jnp.where(empty, 1.0, u2)
    from_zero = u1 <= 0
    u1_safe = jnp.where(from_zero, u2, u1)
    # From 0, a large stand-in log-ratio sends every term to the two-ends form.
    log_ratio = jnp.where(from_zero, 1e6, jnp.log(u2 / u1_safe))
    power1 = jnp.where(from_zero, 0.0, u1_safe**a)
    power2 = u2**a

    total = jnp.zeros_like(log_ratio)
    for k in range(_GAMMA_TERMS + 1):
        s = a + k
        z = s * log_ratio
        small = jnp.abs(z) < _SMALL_EXPONENT
        taylor = 1.0 + z * (1 / 2 + z * (1 / 6 + z / 24))
        term = jnp.where(
            small,
            power1 * log_ratio * taylor,
            (power2 - power1) / jnp.where(small, 1.0, s),
        )
        total = total + (-1) ** k / factorial(k) * term
        power1 = power1 * u1
        power2 = power2 * u2

    total = jnp.where(from_zero & (a <= 0), jnp.inf, total)
    return jnp.where(empty, 0.0, total)


def upper_gamma(v, a, log_scale=0.0):
    """exp(log_scale) Gamma(a, v) for v >= 1.5, a <= 6 (continued fraction).

    Gamma(a, v) = e^-v v^a / (v + 1 - a - 1(1 - a) / (v + 3 - a - 2(2 - a) / ...)),
    evaluated from a fixed depth backwards.
    """

    def deepen(i, tail):
        n = _GAMMA_DEPTH - i
        return n * (n - a) / (v + (2 * n + 1) - a - tail)

    tail = lax.fori_loop(0, _GAMMA_DEPTH, deepen, jnp.zeros_like(v))

    log_front = log_scale - v + a * jnp.log(v)
    visible = log_front > _LOWEST_EXPONENT
    front = jnp.exp(jnp.where(visible, log_front, _LOWEST_EXPONENT))
    return jnp.where(visible, front / (v + 1.0 - a - tail), 0.0)


def cutoff_integral(lo, hi, index, cutoff):
    """Exact integral of E^-index exp(-E/cutoff) from lo to hi (cutoff > 0)."""
    a = 1.0 - index
    log_scale = a * jnp.log(cutoff)
    return gamma_integral(lo / cutoff, hi / cutoff, a, log_scale)


def cutoffpl_kernel(edges, constants, PhoIndex, HighECut):
    """E^-PhoIndex exp(-E/HighECut), exact per bin; HighECut <= 0: plain power law."""
    lo, hi = edges[:-1], edges[1:]
    cut = HighECut > 0
    cutoff = jnp.where(cut, HighECut, 1.0)
    return jnp.where(
        cut,
        cutoff_integral(lo, hi, PhoIndex, cutoff),
        power_integral(lo, hi, PhoIndex),
    )


def bknpower_kernel(edges, constants, PhoIndx1, BreakE, PhoIndx2):
    """Broken power law, continuous at BreakE; exact per bin (split at the break)."""
    lo, hi = edges[:-1], edges[1:]
    below = power_integral(jnp.minimum(lo, BreakE), jnp.minimum(hi, BreakE), PhoIndx1)
    above = power_integral(jnp.maximum(lo, BreakE), jnp.maximum(hi, BreakE), PhoIndx2)
    return below + BreakE ** (PhoIndx2 - PhoIndx1) * above


def bkn2pow_kernel(edges, constants, PhoIndx1, BreakE1, PhoIndx2, BreakE2, PhoIndx3):
    """Power law broken twice, continuous at both breaks; exact per bin.

    As in XSPEC, a second break below the first leaves no middle segment: the
    third index starts at BreakE1, scaled by
    BreakE1^(PhoIndx2 - PhoIndx1) BreakE2^(PhoIndx3 - PhoIndx2).
    """
    lo, hi = edges[:-1], edges[1:]
    first_end = BreakE1
    second_end = jnp.maximum(BreakE2, BreakE1)

    first = power_integral(
        jnp.minimum(lo, first_end), jnp.minimum(hi, first_end), PhoIndx1
    )
    second = power_integral(
        jnp.clip(lo, first_end, second_end),
        jnp.clip(hi, first_end, second_end),
        PhoIndx2,
    )
    third = power_integral(
        jnp.maximum(lo, second_end), jnp.maximum(hi, second_end), PhoIndx3
    )

    second_scale = BreakE1 ** (PhoIndx2 - PhoIndx1)
    third_scale = second_scale * BreakE2 ** (PhoIndx3 - PhoIndx2)
    return first + second_scale * second + third_scale * third


def _simpson(edges, density):
    """XSPEC's Simpson rule on each bin: (hi - lo)/6 (f(lo) + 4 f(mid) + f(hi))."""
    lo, hi = edges[:-1], edges[1:]
    middle = 0.5 * (lo + hi)
    return (hi - lo) / 6.0 * (density(lo) + 4.0 * density(middle) + density(hi))


def _safe_exp(exponent):
    """exp(exponent), with anything below e^-700 taken as 0 (no subnormals)."""
    visible = exponent > _LOWEST_EXPONENT
    return jnp.where(visible, jnp.exp(jnp.where(visible, exponent, 0.0)), 0.0)


def logpar_kernel(edges, constants, alpha, beta, pivotE):
    """Log-parabola (E/pivotE)^-(alpha + beta log10(E/pivotE)), XSPEC's Simpson rule."""

    def density(energy):
        positive = energy > 0
        x = jnp.log(jnp.where(positive, energy, pivotE) / pivotE)
        return jnp.where(positive, _safe_exp(-x * (alpha + beta * x / _LN10)), 0.0)

    return _simpson(edges, density)


def eplogpar_kernel(edges, constants, Ep, beta):
    """Log-parabola 10^(-beta log10(E/Ep)^2) / E^2 (E^2 N(E) peaks at Ep), Simpson."""

    def density(energy):
        positive = energy > 0
        safe = jnp.where(positive, energy, Ep)
        x = jnp.log(safe / Ep)
        return jnp.where(positive, _safe_exp(-beta * x * x / _LN10) / safe**2, 0.0)

    return _simpson(edges, density)


# pegpwrlw: XSPEC's constants for 1e-12 erg (in keV) and for micro-Jansky at a point.
_PEG_ERG = 1.602e3
_PEG_MICROJANSKY = 1.509e-3


def pegpwrlw_kernel(edges, constants, PhoIndex, eMin, eMax):
    """Power law whose norm is the eMin-eMax energy flux in 1e-12 erg/cm^2/s.

    eMin = eMax makes the norm the flux density at eMin in micro-Jansky; either
    at or below 0 makes it the photon flux density at 1 keV (plain powerlaw).
    """
    shape = power_integral(edges[:-1], edges[1:], PhoIndex)
    return shape * _peg_factor(PhoIndex, eMin, eMax)


def _peg_factor(index, e_min, e_max):
    """1 / (the unit power law's flux in the peg band or at the peg point)."""
    pegged = (e_min > 0) & (e_max > 0)
    point = pegged & (e_min == e_max)
    band = pegged & (e_min != e_max)

    low = jnp.where(band, jnp.minimum(e_min, e_max), 1.0)
    high = jnp.where(band, jnp.maximum(e_min, e_max), 2.0)
    sign = jnp.where(e_max >= e_min, 1.0, -1.0)
    band_flux = sign * _PEG_ERG * power_integral(low, high, index - 1.0)

    at = jnp.where(point, e_min, 1.0)
    point_factor = _PEG_MICROJANSKY / at ** (1.0 - index)
    return jnp.where(band, 1.0 / band_flux, jnp.where(point, point_factor, 1.0))


_BAND_PIVOT = 100.0  # keV, grbm's fixed reference energy


def grbm_kernel(edges, constants, alpha, beta, tem):
    """Band et al. (1993) GRB function, exact per bin on both sides of the break.

    (E/100)^alpha e^(-E/tem) below E_b = (alpha - beta) tem, a power law of index
    -beta above, continuous at E_b; as in XSPEC, alpha - beta is at least 1/tem.
    Differs from XSPEC: XSPEC integrates the part below E_b by the two-point
    trapezoid; here it is the exact incomplete gamma integral.
    """
    lo, hi = edges[:-1], edges[1:]
    bend = jnp.maximum(alpha - beta, 1.0 / tem)
    e_break = bend * tem

    lower = cutoff_integral(
        jnp.minimum(lo, e_break), jnp.minimum(hi, e_break), -alpha, tem
    )
    upper = power_integral(jnp.maximum(lo, e_break), jnp.maximum(hi, e_break), -beta)
    upper_scale = (e_break / _BAND_PIVOT) ** bend * jnp.exp(-bend)
    return _BAND_PIVOT**-alpha * lower + upper_scale * _BAND_PIVOT**-beta * upper


def expdec_kernel(edges, constants, factor):
    """exp(-factor E), exact per bin.

    Differs from XSPEC at factor = 0 exactly: the limit (the bin width) here,
    0 in XSPEC; the two agree for any factor > 0.
    """
    lo, hi = edges[:-1], edges[1:]
    width = hi - lo
    return _safe_exp(-factor * lo) * width * exprel(-factor * width)


_CPLINEAR_VERTICES = 10


def cplinear_kernel(edges, constants, **values):
    """Piecewise-linear rate through 10 vertices (energy, 10^log_rate), flat outside.

    XSPEC's rule: the rate at each bin's mid-point times the bin width.
    """
    energies = jnp.stack([values[f"energy{j:02d}"] for j in range(_CPLINEAR_VERTICES)])
    rates = 10.0 ** jnp.stack(
        [values[f"log_rate{j:02d}"] for j in range(_CPLINEAR_VERTICES)]
    )
    lo, hi = edges[:-1], edges[1:]
    rate = jnp.interp(0.5 * (lo + hi), energies, rates)
    return jnp.maximum(rate, 0.0) * (hi - lo)


# posm: Ore & Powell (1949) ortho-positronium continuum, E0 = 511 keV. XSPEC's
# normalisation 2 / ((pi^2 - 9) E0) uses pi = 3.14159, kept here to match it.
_POSITRONIUM_E0 = 511.0
_POSITRONIUM_NORM = 2.0 / ((3.14159**2 - 9.0) * _POSITRONIUM_E0)
_POSITRONIUM_SWITCH = 0.1  # E / E0 below which the series replaces the closed form
# Taylor coefficients of the shape in y = E/E0 (y^1 ... y^18), from the closed form.
_POSITRONIUM_SERIES = (
    5 / 6,
    1 / 6,
    -1 / 15,
    -1 / 10,
    -29 / 420,
    -13 / 420,
    -1 / 315,
    4 / 315,
    137 / 6930,
    149 / 6930,
    922 / 45045,
    3293 / 180180,
    1139 / 72072,
    971 / 72072,
    1753 / 153153,
    166 / 17017,
    48721 / 5819814,
    210913 / 29099070,
)


def positronium_density(energy):
    """Ore-Powell ortho-positronium photons/keV (norm 1) at each energy, 0 above E0."""
    y = energy / _POSITRONIUM_E0
    inside = (y > 0) & (y < 1)
    y_safe = jnp.where(inside, y, 0.5)

    small = y_safe < _POSITRONIUM_SWITCH
    series = jnp.zeros_like(y_safe)
    for coefficient in reversed(_POSITRONIUM_SERIES):
        series = (series + coefficient) * y_safe

    y_big = jnp.where(small, 0.5, y_safe)
    log_rest = jnp.log1p(-y_big)
    closed = (
        y_big * (1 - y_big) / (2 - y_big) ** 2
        + 2 * (1 - y_big) / y_big**2 * log_rest
        - 2 * (1 - y_big) ** 2 / (2 - y_big) ** 3 * log_rest
        + (2 - y_big) / y_big
    )
    shape = jnp.where(small, series, closed)
    return jnp.where(inside, _POSITRONIUM_NORM * shape, 0.0)


def posm_kernel(edges, constants):
    """Positronium continuum by XSPEC's trapezoid; bins reaching 511 keV are 0.

    (XSPEC exempts the first bin from that rule; so does this.)
    """
    lo, hi = edges[:-1], edges[1:]
    value = 0.5 * (positronium_density(lo) + positronium_density(hi)) * (hi - lo)
    first = jnp.arange(lo.shape[0]) == 0
    return jnp.where((hi >= _POSITRONIUM_E0) & ~first, 0.0, value)


def planck_per_bin(x_edges):
    """The integral of t^2 / (e^t - 1) over each bin of x_edges, to ~1e-12 relative.

    Below x = 2 it comes from the Bernoulli series, above from the tail series;
    each part is differenced on its own, so nothing large cancels on any bin.
    (Both ends of each bin are evaluated: XLA on CPU runs a difference of
    neighbouring results of this expression several times slower.)
    """
    cut = _SERIES_LIMIT
    x_lo, x_hi = x_edges[..., :-1], x_edges[..., 1:]
    low = _bernoulli_part(jnp.minimum(x_hi, cut)) - _bernoulli_part(
        jnp.minimum(x_lo, cut)
    )
    high = _tail_part(jnp.maximum(x_lo, cut)) - _tail_part(jnp.maximum(x_hi, cut))
    return low + high


def _bernoulli_part(x):
    """Integral from 0 to x (x <= 2) from the Bernoulli expansion (Horner in x^2)."""
    square = x * x
    even = jnp.zeros_like(x)
    for coefficient in _EVEN:
        even = even * square + coefficient
    return square * (_C0 + _C1 * x + even * square)


def _tail_part(x):
    """Integral from x (x >= 2) to infinity: sum_k e^-kx (x^2/k + 2x/k^2 + 2/k^3).

    That is x^2 Li_1(r) + 2x Li_2(r) + 2 Li_3(r) with r = e^-x, each Li_s(r) = r
    P_s(r). P_s takes r floored at e^-40: beyond x = 40 the terms k >= 2 are below
    1e-17 of the first anyway, and the floor keeps every product in Horner's rule
    clear of subnormal numbers, which are slow on CPUs.
    """
    ratio = jnp.exp(-x)
    floored = jnp.maximum(ratio, _RATIO_FLOOR)
    li1, li2, li3 = (_horner(floored, coefficients) for coefficients in _POLYLOG)
    return ratio * (x * x * li1 + 2 * x * li2 + 2 * li3)


def _horner(x, coefficients):
    """The polynomial with these coefficients (highest power first) at x."""
    total = jnp.zeros_like(x)
    for coefficient in coefficients:
        total = total * x + coefficient
    return total


def bbodyrad_kernel(edges, constants, kT):
    """Photons in each bin from a black body of (R_km / D_10kpc)^2 = 1."""
    return 1.0344e-3 * kT**3 * planck_per_bin(edges / kT)


def bbody_kernel(edges, constants, kT):
    """Photons in each bin from a black body of L_39 / D_10kpc^2 = 1."""
    return 8.0525 / kT * planck_per_bin(edges / kT)


def _index(name="PhoIndex", default=1.0):
    """XSPEC's usual photon-index parameter (limits -3, -2, 9, 10)."""
    return ParameterSpec(name, default, "", 0.01, -3.0, -2.0, 9.0, 10.0)


def _frozen(name, default, unit, delta, hard_min, soft_min, soft_max, hard_max):
    """A parameter model.dat declares with a negative delta (frozen by default)."""
    return ParameterSpec(
        name, default, unit, delta, hard_min, soft_min, soft_max, hard_max, True
    )


_HEASOFT = "XSPEC 12.9.1 (HEASoft 6.20) model.dat and Xspec/src/XSFunctions"

powerlaw = register(
    ComponentSpec(
        "powerlaw",
        ADDITIVE,
        (ParameterSpec("PhoIndex", 1.0, "", 0.01, -3.0, -2.0, 9.0, 10.0),),
        powerlaw_kernel,
        powerlaw_prepare,
        description="Power law, norm in photons/keV/cm^2/s at 1 keV",
        reference="XSPEC manual, powerlaw",
    )
)

cutoffpl = register(
    ComponentSpec(
        "cutoffpl",
        ADDITIVE,
        (
            _index(),
            ParameterSpec("HighECut", 15.0, "keV", 0.01, 0.01, 1.0, 500.0, 500.0),
        ),
        cutoffpl_kernel,
        description="Power law with exponential cut-off, exact incomplete-gamma "
        "bin integrals; norm as powerlaw",
        reference=f"XSPEC manual, cutoffpl; {_HEASOFT}/cutoffPowerLaw.cxx",
    )
)

bknpower = register(
    ComponentSpec(
        "bknpower",
        ADDITIVE,
        (
            _index("PhoIndx1"),
            ParameterSpec("BreakE", 5.0, "keV", 0.01, 0.0, 0.01, 1e6, 1e6),
            _index("PhoIndx2", 2.0),
        ),
        bknpower_kernel,
        description="Broken power law, norm at 1 keV",
        reference=f"XSPEC manual, bknpower; {_HEASOFT}/brokenPowerLaw.cxx",
    )
)

bkn2pow = register(
    ComponentSpec(
        "bkn2pow",
        ADDITIVE,
        (
            _index("PhoIndx1"),
            ParameterSpec("BreakE1", 5.0, "keV", 0.01, 0.0, 0.01, 1e6, 1e6),
            _index("PhoIndx2", 2.0),
            ParameterSpec("BreakE2", 10.0, "keV", 0.01, 0.0, 0.01, 1e6, 1e6),
            _index("PhoIndx3", 3.0),
        ),
        bkn2pow_kernel,
        description="Power law with two breaks, norm at 1 keV",
        reference=f"XSPEC manual, bkn2pow; {_HEASOFT}/broken2PowerLaw.cxx",
    )
)

logpar = register(
    ComponentSpec(
        "logpar",
        ADDITIVE,
        (
            ParameterSpec("alpha", 1.5, "", 0.01, 0.0, 0.0, 4.0, 4.0),
            ParameterSpec("beta", 0.2, "", 0.01, -4.0, -4.0, 4.0, 4.0),
            ParameterSpec("pivotE", 1.0, "keV", 0.0, frozen=True),
        ),
        logpar_kernel,
        description="Log-parabola (Massaro et al. 2004), norm at pivotE "
        "(pivotE is a fixed scale parameter)",
        reference=f"XSPEC manual, logpar; {_HEASOFT}/logpar.f",
    )
)

eplogpar = register(
    ComponentSpec(
        "eplogpar",
        ADDITIVE,
        (
            ParameterSpec("Ep", 0.1, "keV", 0.01, 1e-10, 1e-6, 100.0, 1e4),
            ParameterSpec("beta", 0.2, "", 0.01, -4.0, -4.0, 4.0, 4.0),
        ),
        eplogpar_kernel,
        description="Log-parabola in E^2 N(E), peak Ep (Tramacere et al. 2007); "
        "norm is the peak E^2 N(E)",
        reference=f"XSPEC manual, eplogpar; {_HEASOFT}/eplogpar.f",
    )
)

pegpwrlw = register(
    ComponentSpec(
        "pegpwrlw",
        ADDITIVE,
        (
            _index(),
            _frozen("eMin", 2.0, "keV", 0.01, -100.0, -100.0, 1e10, 1e10),
            _frozen("eMax", 10.0, "keV", 0.01, -100.0, -100.0, 1e10, 1e10),
        ),
        pegpwrlw_kernel,
        description="Power law, norm = eMin-eMax flux in 1e-12 erg/cm^2/s",
        reference=f"XSPEC manual, pegpwrlw; {_HEASOFT}/xspegp.f",
    )
)

grbm = register(
    ComponentSpec(
        "grbm",
        ADDITIVE,
        (
            ParameterSpec("alpha", -1.0, "", 0.01, -10.0, -3.0, 2.0, 5.0),
            ParameterSpec("beta", -2.0, "", 0.01, -10.0, -5.0, 2.0, 10.0),
            ParameterSpec("tem", 300.0, "keV", 10.0, 10.0, 50.0, 1000.0, 1e4),
        ),
        grbm_kernel,
        description="Band GRB function, exact per bin (XSPEC: trapezoid below "
        "the break); norm at 100 keV",
        reference=f"Band et al. 1993, ApJ 413, 281; {_HEASOFT}/xsgrbm.f",
    )
)

expdec = register(
    ComponentSpec(
        "expdec",
        ADDITIVE,
        (ParameterSpec("factor", 1.0, "", 0.01, 0.0, 0.0, 100.0, 100.0),),
        expdec_kernel,
        description="Exponential roll-off exp(-factor E)",
        reference=f"XSPEC manual, expdec; {_HEASOFT}/xsxpdec.f",
    )
)

cplinear = register(
    ComponentSpec(
        "cplinear",
        ADDITIVE,
        tuple(
            _frozen(f"energy{j:02d}", energy, "keV", 1.0, 0.0, 0.0, 10.0, 10.0)
            for j, energy in enumerate(
                (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0)
            )
        )
        + tuple(
            _frozen(f"log_rate{j:02d}", float(j % 2), "", 0.1, -20.0, -19.0, 19.0, 20.0)
            for j in range(_CPLINEAR_VERTICES)
        ),
        cplinear_kernel,
        description="Piecewise-linear continuum through 10 (energy, log10 rate) "
        "vertices (Broos 2007); energies are fixed scale parameters",
        reference=f"XSPEC manual, cplinear; {_HEASOFT}/cplinear.cxx",
    )
)

posm = register(
    ComponentSpec(
        "posm",
        ADDITIVE,
        (),
        posm_kernel,
        description="Ortho-positronium continuum below 511 keV; norm in photons/cm^2/s",
        reference=f"Ore & Powell 1949, Phys. Rev. 75, 1696; {_HEASOFT}/xsposm.f",
    )
)

bbody = register(
    ComponentSpec(
        "bbody",
        ADDITIVE,
        (ParameterSpec("kT", 3.0, "keV", 0.01, 1e-4, 0.01, 100.0, 200.0),),
        bbody_kernel,
        description="Black body, norm L_39 / D_10^2 (XSPEC's constant 8.0525)",
        reference="XSPEC manual, bbody",
    )
)

bbodyrad = register(
    ComponentSpec(
        "bbodyrad",
        ADDITIVE,
        (ParameterSpec("kT", 3.0, "keV", 0.01, 1e-4, 1e-3, 100.0, 200.0),),
        bbodyrad_kernel,
        description="Black body, norm R_km^2 / D_10^2 (XSPEC's constant 1.0344e-3)",
        reference="XSPEC manual, bbodyrad",
    )
)
