"""Component kernels against analytic values and independent quadrature."""

import numpy as np
import pytest
from scipy import integrate, special

from specdsl.model import compile

EDGES = np.geomspace(0.05, 20.0, 301)


def flux(expression, edges=EDGES, **values):
    return np.asarray(compile(expression)(edges, values))


@pytest.mark.parametrize("index", [-2.5, 0.0, 0.5, 1.0, 1.0 + 1e-12, 1.7, 2.0, 4.0])
def test_powerlaw_is_the_exact_bin_integral(index):
    got = flux("powerlaw", **{"powerlaw_1.PhoIndex": index, "powerlaw_1.norm": 2.0})

    lo, hi = EDGES[:-1], EDGES[1:]
    if abs(1 - index) < 1e-9:
        exact = 2.0 * np.log(hi / lo)
    else:
        exact = 2.0 * (hi ** (1 - index) - lo ** (1 - index)) / (1 - index)
    np.testing.assert_allclose(got, exact, rtol=1e-9)


def test_powerlaw_from_zero_energy():
    edges = np.array([0.0, 1.0, 2.0])

    rising = flux("powerlaw", edges, **{"powerlaw_1.PhoIndex": -1.0})
    steep = flux("powerlaw", edges, **{"powerlaw_1.PhoIndex": 2.0})

    np.testing.assert_allclose(rising, [0.5, 1.5])
    assert np.isinf(steep[0]) and steep[1] == pytest.approx(0.5)


def _planck_quad(lo, hi, kT, constant):
    def density(energy):
        return constant * energy**2 / np.expm1(energy / kT) if energy > 0 else 0.0

    points = [p for p in (kT, 2 * kT, 10 * kT) if lo < p < hi]
    value, _ = integrate.quad(
        density, lo, hi, epsrel=1e-12, epsabs=0, limit=400, points=points or None
    )
    return value


@pytest.mark.parametrize("name, constant", [("bbodyrad", 1.0344e-3), ("bbody", 8.0525)])
@pytest.mark.parametrize("kT", [0.05, 0.3, 3.0, 60.0])
@pytest.mark.parametrize(
    "lo, hi", [(1e-4, 1.000001e-4), (0.5, 0.51), (0.2, 2.0), (5.0, 9.0), (0.01, 20.0)]
)
def test_blackbodies_within_1e5_on_any_bin_width(name, constant, kT, lo, hi):
    got = flux(name, np.array([lo, hi]), **{f"{name}_1.kT": kT})[0]

    scale = constant if name == "bbodyrad" else constant / kT**4
    exact = _planck_quad(lo, hi, kT, scale)
    if exact < 1e-250:
        assert got < 1e-250
    else:
        assert got == pytest.approx(exact, rel=1e-5, abs=0)


def test_bbodyrad_total_photon_flux():
    # The integral of E^2/(e^(E/kT) - 1) over all E is 2 zeta(3) kT^3.
    edges = np.concatenate([[0.0], np.geomspace(1e-6, 200.0, 2000)])

    total = flux("bbodyrad", edges, **{"bbodyrad_1.kT": 2.0}).sum()

    assert total == pytest.approx(1.0344e-3 * 2 * special.zeta(3) * 8.0, rel=1e-9)


def test_gaussian_is_the_exact_probability_per_bin():
    line = {"gaussian_1.LineE": 6.4, "gaussian_1.Sigma": 0.1, "gaussian_1.norm": 3.0}

    got = flux("gaussian", **line)

    def pdf(energy):
        return np.exp(-0.5 * ((energy - 6.4) / 0.1) ** 2) / (0.1 * np.sqrt(2 * np.pi))

    exact = [
        integrate.quad(pdf, lo, hi, epsabs=0, epsrel=1e-12)[0]
        for lo, hi in zip(EDGES[:-1], EDGES[1:], strict=True)
    ]
    np.testing.assert_allclose(got, 3.0 * np.array(exact), rtol=1e-8, atol=1e-300)
    assert got.sum() == pytest.approx(3.0, rel=1e-12)


def test_gaussian_with_zero_width_is_a_delta_line():
    edges = np.array([1.0, 2.0, 3.0, 4.0])

    got = flux("gaussian", edges, **{"gaussian_1.LineE": 2.5, "gaussian_1.Sigma": 0.0})

    np.testing.assert_array_equal(got, [0.0, 1.0, 0.0])


def test_constant_scales_everything():
    base = flux("powerlaw")
    scaled = flux("constant*powerlaw", **{"constant_1.factor": 2.5})

    np.testing.assert_allclose(scaled, 2.5 * base)


def test_tbabs_is_exp_of_the_bin_cross_section():
    from specdsl.library.photoabsorption import tbabs_bin_cross_section

    absorbed = flux("tbabs*powerlaw", **{"tbabs_1.nH": 0.7})

    expected = np.exp(-0.7 * tbabs_bin_cross_section(EDGES)) * flux("powerlaw")
    np.testing.assert_allclose(absorbed, expected, rtol=1e-12, atol=1e-300)
