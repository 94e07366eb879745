"""The additive component library against XSPEC's tables and independent values.

Parameter tables are checked against ../shared/reference/xspec-models.tsv (and,
for components it does not list, against model.dat lines quoted below). Kernel
values are checked against closed forms, scipy quadrature, XSPEC's published
numbers, or an independent plain-loop re-implementation of XSPEC's algorithm.
"""

from __future__ import annotations

import csv
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special

from specdsl.library import ADDITIVE, LIBRARY
from specdsl.model import compile

N_EDGES = 121  # one grid length throughout, so each kernel compiles once
EDGES = np.geomspace(0.05, 50.0, N_EDGES)

# model.dat (HEASoft 6.20) lines of the components the tsv does not list:
# name, then per parameter: name unit default hard_min soft_min soft_max hard_max
# delta; a leading * marks a scale parameter (fixed).
MODEL_DAT = """
agauss
LineE   A      10.0   0.      0.      1.e6      1.e6      0.01
Sigma   A      1.0    0.      0.      1.e6      1.e6      0.01
zagauss
LineE   A      10.0   0.      0.      1.e6      1.e6      0.01
Sigma   A      1.0    0.      0.      1.e6      1.e6      0.01
Redshift " "    0.   -0.999  -0.999   10.       10.       -0.01
expdec
factor   " "    1.0   0.      0.      100.0     100.0      0.01
redge
edge    keV     1.4  0.001    0.001  100.     100.    0.001
kT      keV     1.   0.001    0.001  100.     100.    0.001
vbremss
kT      keV     3.0   1.e-4   1.e-2   100.      200.      0.01
HeovrH  " "    1.0   0.      0.      100.      100.      0.01
cplinear
*energy00    keV    0.5   0. 0.   10.  10.  -1.
*energy05    keV    4.    0. 0.   10.  10.  -1.
*energy09    keV    8.    0. 0.   10.  10.  -1.
log_rate00   " "    0.    -20.0 -19.0 19.0 20.0  -0.1
log_rate01   " "    1.    -20.0 -19.0 19.0 20.0  -0.1
log_rate09   " "    1.    -20.0 -19.0 19.0 20.0  -0.1
"""


@cache
def _jitted(name):
    spec = LIBRARY.exact(name)
    return spec, jax.jit(spec.kernel)


def kernel(name, edges=EDGES, **values):
    """The component's photons per bin for norm 1, through its jitted kernel."""
    spec, function = _jitted(name)
    params = {p.name: values.get(p.name, p.default) for p in spec.parameters}
    constants = spec.prepare(edges) if spec.prepare else None
    return np.asarray(function(jnp.asarray(edges), constants, **params))


def padded(*special):
    """N_EDGES edges: the given ones first, then a geometric filler above them."""
    top = special[-1]
    filler = top * np.geomspace(1.5, 3.0, N_EDGES - len(special))
    return np.concatenate([special, filler])


@cache
def jitted(function):
    return jax.jit(function)


def bins(edges):
    return list(zip(edges[:-1], edges[1:], strict=True))


def quad(density, lo, hi, **options):
    options = {"epsabs": 0.0, "epsrel": 1e-12, "limit": 400} | options
    return integrate.quad(density, lo, hi, **options)[0]


# ---------------------------------------------------------------- tables


@cache
def _tsv_rows(path):
    with path.open() as handle:
        return tuple(csv.DictReader(handle, delimiter="\t"))


def _number(text):
    return float(text) if text.strip() else None


ADDITIVE_NAMES = [
    "powerlaw", "zpowerlw", "cutoffpl", "zcutoffpl", "bknpower", "bkn2pow",
    "logpar", "eplogpar", "pegpwrlw", "grbm", "expdec", "cplinear", "posm",
    "bbody", "bbodyrad", "zbbody", "diskbb", "diskpbb", "bremss", "vbremss",
    "zbremss", "redge", "gaussian", "zgauss", "agauss", "zagauss", "lorentz",
    "step", "nthComp", "compTT",
]  # fmt: skip


def test_every_listed_component_is_registered_as_additive():
    for name in ADDITIVE_NAMES:
        spec = LIBRARY.exact(name)
        assert spec is not None and spec.name == name and spec.kind == ADDITIVE


@pytest.mark.parametrize("name", ADDITIVE_NAMES)
def test_parameters_match_xspec_reference_table(name, shared_data):
    table = shared_data.parent / "reference" / "xspec-models.tsv"
    if not table.is_file():
        pytest.skip(f"XSPEC reference table not found at {table}")
    rows = [
        row
        for row in _tsv_rows(table)
        if row["model"] == name and row["param_name"] != "norm"
    ]
    if not rows:
        pytest.skip(f"{name} is not in the tsv (checked against model.dat below)")
    spec = LIBRARY.exact(name)

    assert [p.name for p in spec.parameters] == [r["param_name"] for r in rows]
    for parameter, row in zip(spec.parameters, rows, strict=True):
        assert parameter.unit == row["unit"], parameter.name
        assert parameter.default == _number(row["default"]), parameter.name
        limits = [
            _number(row[k]) for k in ("hard_min", "soft_min", "soft_max", "hard_max")
        ]
        if None not in limits:
            got = [
                parameter.hard_min,
                parameter.soft_min,
                parameter.soft_max,
                parameter.hard_max,
            ]
            assert got == limits, parameter.name
        delta = _number(row["delta"])
        if delta is not None:
            assert parameter.delta == abs(delta), parameter.name
        notes = row["notes"]
        frozen = "frozen by default" in notes or "scale parameter" in notes
        assert parameter.frozen == frozen, parameter.name


def _model_dat():
    blocks, current = {}, None
    for line in MODEL_DAT.strip().splitlines():
        fields = line.replace('" "', "-").split()
        if len(fields) == 1:
            current = blocks.setdefault(fields[0], [])
        else:
            current.append(fields)
    return blocks


@pytest.mark.parametrize("name", sorted(_model_dat()))
def test_parameters_match_model_dat(name):
    spec = LIBRARY.exact(name)
    by_name = {p.name: p for p in spec.parameters}
    for fields in _model_dat()[name]:
        pname, unit, *numbers = fields
        parameter = by_name[pname.lstrip("*")]
        default, hard_min, soft_min, soft_max, hard_max, delta = map(float, numbers)
        assert parameter.unit == ("" if unit == "-" else unit)
        assert parameter.default == default
        assert (parameter.hard_min, parameter.soft_min) == (hard_min, soft_min)
        assert (parameter.soft_max, parameter.hard_max) == (soft_max, hard_max)
        assert parameter.delta == abs(delta)
        assert parameter.frozen == (delta < 0 or pname.startswith("*"))


def test_posm_has_only_its_norm():
    assert LIBRARY.exact("posm").parameters == ()
    assert compile("posm").parameter_names == ["posm_1.norm"]


# ---------------------------------------------------------------- power laws


def _power(lo, hi, index):
    if abs(1 - index) < 1e-12:
        return np.log(hi / lo)
    return (hi ** (1 - index) - lo ** (1 - index)) / (1 - index)


@pytest.mark.parametrize("z", [0.0, 0.5, 3.0])
def test_zpowerlw_is_the_redshifted_power_law(z):
    got = kernel("zpowerlw", PhoIndex=1.8, Redshift=z)

    lo, hi = EDGES[:-1], EDGES[1:]
    exact = (1 + z) ** -1.8 * _power(lo, hi, 1.8)
    np.testing.assert_allclose(got, exact, rtol=1e-12)


CUTOFF_EDGES = np.concatenate(
    [np.geomspace(0.01, 400.0, N_EDGES - 3), [400.0004], [401.0, 2000.0]]
)


@pytest.mark.parametrize(
    "index, cutoff",
    [(-2.5, 15.0), (0.0, 0.05), (1.0, 1.0), (1.7, 15.0), (2.0, 500.0), (3.3, 1.0),
     (6.0, 500.0), (9.0, 0.05)],
)  # fmt: skip
def test_cutoffpl_is_the_exact_incomplete_gamma_integral(index, cutoff):
    got = kernel("cutoffpl", CUTOFF_EDGES, PhoIndex=index, HighECut=cutoff)

    def density(energy):
        return energy**-index * np.exp(-energy / cutoff)

    for value, (lo, hi) in zip(got, bins(CUTOFF_EDGES), strict=True):
        exact = quad(density, lo, hi)
        if exact < 1e-280:
            assert value < 1e-270
        else:
            assert value == pytest.approx(exact, rel=1e-8)


def test_cutoffpl_from_zero_energy_and_narrow_bins():
    edges = padded(0.0, 1e-3, 1.0000001e-3, 2.0, 2.0000002)

    got = kernel("cutoffpl", edges, PhoIndex=0.5, HighECut=1.0)[:4]

    exact = [special.gamma(0.5) * special.gammainc(0.5, 1e-3)] + [
        quad(lambda e: e**-0.5 * np.exp(-e), lo, hi) for lo, hi in bins(edges)[1:4]
    ]
    np.testing.assert_allclose(got, exact, rtol=1e-9)


def test_zcutoffpl_is_cutoffpl_on_shifted_edges():
    got = kernel("zcutoffpl", PhoIndex=1.4, HighECut=20.0, Redshift=0.7)

    rest = kernel("cutoffpl", EDGES * 1.7, PhoIndex=1.4, HighECut=20.0)
    np.testing.assert_allclose(got, rest / 1.7, rtol=1e-13)


def _broken(edges, indices, breaks):
    """Bin integrals of a continuous multiply broken power law, by splitting bins."""
    scales = [1.0]
    for k, brk in enumerate(breaks):
        scales.append(scales[-1] * brk ** (indices[k + 1] - indices[k]))
    starts = [0.0, *breaks]
    ends = [*breaks, np.inf]
    out = []
    for lo, hi in bins(edges):
        total = 0.0
        for index, scale, start, end in zip(indices, scales, starts, ends, strict=True):
            a, b = max(lo, start), min(hi, end)
            if b > a:
                total += scale * _power(a, b, index)
        out.append(total)
    return np.array(out)


@pytest.mark.parametrize("brk", [0.01, 0.3, 2.2, 5.0, 49.0, 80.0])
def test_bknpower_splits_the_bin_at_the_break(brk):
    got = kernel("bknpower", PhoIndx1=1.2, BreakE=brk, PhoIndx2=2.6)

    np.testing.assert_allclose(got, _broken(EDGES, [1.2, 2.6], [brk]), rtol=1e-11)


@pytest.mark.parametrize(
    "b1, b2", [(2.0, 7.0), (0.01, 0.02), (30.0, 100.0), (7.0, 2.0)]
)
def test_bkn2pow_splits_at_both_breaks(b1, b2):
    got = kernel(
        "bkn2pow", PhoIndx1=0.8, BreakE1=b1, PhoIndx2=1.9, BreakE2=b2, PhoIndx3=3.1
    )

    if b2 >= b1:
        exact = _broken(EDGES, [0.8, 1.9, 3.1], [b1, b2])
    else:  # XSPEC: no middle segment, third index from BreakE1 on
        scale = b1 ** (1.9 - 0.8) * b2 ** (3.1 - 1.9)
        exact = _broken(EDGES, [0.8, 3.1], [b1]) * 0
        for i, (lo, hi) in enumerate(bins(EDGES)):
            below = _power(lo, min(hi, b1), 0.8) if lo < b1 else 0.0
            above = scale * _power(max(lo, b1), hi, 3.1) if hi > b1 else 0.0
            exact[i] = below + above
    np.testing.assert_allclose(got, exact, rtol=1e-11)


def _simpson(density, edges):
    lo, hi = edges[:-1], edges[1:]
    return (hi - lo) / 6 * (density(lo) + 4 * density((lo + hi) / 2) + density(hi))


@pytest.mark.parametrize("alpha, beta", [(1.5, 0.2), (2.3, -0.4), (0.0, 1.0)])
def test_logpar_uses_xspec_simpson_rule_and_converges_to_the_integral(alpha, beta):
    def density(e):
        return (e / 2.0) ** (-alpha - beta * np.log10(e / 2.0))

    got = kernel("logpar", alpha=alpha, beta=beta, pivotE=2.0)

    np.testing.assert_allclose(got, _simpson(density, EDGES), rtol=1e-12)
    exact = [quad(density, lo, hi) for lo, hi in bins(EDGES)]
    np.testing.assert_allclose(got, exact, rtol=1e-5)


def test_eplogpar_peaks_at_ep_in_e2n():
    def density(e):
        return 10 ** (-0.7 * np.log10(e / 3.0) ** 2) / e**2

    got = kernel("eplogpar", EDGES, Ep=3.0, beta=0.7)
    np.testing.assert_allclose(got, _simpson(density, EDGES), rtol=1e-12)

    # Narrow bins around Ep and 2 Ep: E^2 N(E) is 1 (the norm) at the peak.
    edges = padded(2.9997, 3.0003, 5.9994, 6.0006)
    e2n = kernel("eplogpar", edges, Ep=3.0, beta=0.7)[[0, 2]] / [6e-4, 1.2e-3]
    e2n *= np.array([3.0, 6.0]) ** 2
    assert e2n[0] == pytest.approx(1.0, rel=1e-7)
    assert e2n[1] == pytest.approx(10 ** (-0.7 * np.log10(2.0) ** 2), rel=1e-7)


def test_pegpwrlw_norm_is_the_band_energy_flux_in_1e12_erg():
    band = np.geomspace(2.0, 10.0, N_EDGES)
    got = kernel("pegpwrlw", band, PhoIndex=1.7, eMin=2.0, eMax=10.0)

    # Mean energy of E^-1.7 photons in each bin: int E^-0.7 / int E^-1.7.
    lo, hi = band[:-1], band[1:]
    mean = _power(lo, hi, 0.7) / _power(lo, hi, 1.7)
    energy_flux = np.sum(got * mean) * 1.602e-9  # XSPEC's keV -> erg
    assert energy_flux == pytest.approx(1e-12, rel=1e-12)


def test_pegpwrlw_point_and_unpegged_forms():
    point = kernel("pegpwrlw", PhoIndex=2.0, eMin=1.0, eMax=1.0)
    plain = kernel("pegpwrlw", PhoIndex=2.0, eMin=0.0, eMax=10.0)

    powerlaw = kernel("powerlaw", PhoIndex=2.0)
    np.testing.assert_allclose(point, 1.509e-3 * powerlaw, rtol=1e-13)
    np.testing.assert_allclose(plain, powerlaw, rtol=1e-13)


@pytest.mark.parametrize(
    "alpha, beta, tem", [(-1.0, -2.0, 300.0), (0.5, -3.5, 20.0), (-1.9, -2.1, 1000.0)]
)
def test_grbm_is_the_exact_band_function_integral(alpha, beta, tem):
    edges = np.geomspace(1.0, 5000.0, N_EDGES)
    got = kernel("grbm", edges, alpha=alpha, beta=beta, tem=tem)

    e_break = (alpha - beta) * tem

    def band(e):
        if e <= e_break:
            return (e / 100) ** alpha * np.exp(-e / tem)
        return (
            ((alpha - beta) * tem / 100) ** (alpha - beta)
            * np.exp(beta - alpha)
            * (e / 100) ** beta
        )

    for value, (lo, hi) in zip(got, bins(edges), strict=True):
        points = [e_break] if lo < e_break < hi else None
        assert value == pytest.approx(quad(band, lo, hi, points=points), rel=1e-8)


@pytest.mark.parametrize("factor", [0.0, 1e-9, 0.3, 5.0, 40.0])
def test_expdec_is_exact(factor):
    got = kernel("expdec", factor=factor)

    lo, hi = EDGES[:-1], EDGES[1:]
    if factor == 0:
        exact = hi - lo
    else:
        exact = np.exp(-factor * lo) * -np.expm1(-factor * (hi - lo)) / factor
    np.testing.assert_allclose(got, exact, rtol=1e-11, atol=1e-300)


def test_cplinear_is_xspec_midpoint_rule():
    energies = [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    rates = [0.0, 1.0, -0.5, 1.0, 0.3, 1.0, 0.0, 1.0, 0.0, 1.0]
    values = {f"energy{j:02d}": e for j, e in enumerate(energies)}
    values |= {f"log_rate{j:02d}": r for j, r in enumerate(rates)}
    edges = np.linspace(0.1, 10.0, N_EDGES)

    got = kernel("cplinear", edges, **values)

    middle = 0.5 * (edges[1:] + edges[:-1])
    rate = np.interp(middle, energies, 10.0 ** np.array(rates))
    np.testing.assert_allclose(got, rate * np.diff(edges), rtol=1e-12)


# ---------------------------------------------------------------- posm


def _ore_powell(e):
    """The Ore & Powell (1949) shape as XSPEC's posm writes it (x = E/E0)."""
    e0 = 511.0
    rest, double = e0 - e, 2 * e0 - e
    log_rest = np.log(rest / e0)
    return (
        e * rest / double**2
        + 2 * e0 * rest / e**2 * log_rest
        - 2 * e0 * rest**2 / double**3 * log_rest
        + double / e
    )


def test_posm_is_xspec_trapezoid_and_holds_one_photon():
    edges = np.concatenate([np.geomspace(60.0, 510.9, N_EDGES - 2), [511.0, 600.0]])
    got = kernel("posm", edges)

    norm = 2 / ((3.14159**2 - 9) * 511.0)
    density = np.where(edges < 511, norm * _ore_powell(np.minimum(edges, 510.99)), 0)
    trapezoid = 0.5 * (density[1:] + density[:-1]) * np.diff(edges)
    trapezoid[edges[1:] >= 511.0] = 0.0
    np.testing.assert_allclose(got, trapezoid, rtol=1e-10, atol=1e-300)

    # Total over 0..511 keV: (pi^2 - 9)/2 E0 times the norm, i.e. 1 photon.
    from specdsl.library.continuum import positronium_density

    def density(e):
        return float(jitted(positronium_density)(jnp.asarray(e)))

    total = quad(density, 0.0, 511.0, epsrel=1e-10)
    assert total == pytest.approx((np.pi**2 - 9) / (3.14159**2 - 9), rel=1e-9)


def test_posm_series_matches_the_closed_form_where_both_are_accurate():
    from specdsl.library.continuum import positronium_density

    energy = np.array([30.0, 40.0, 50.0, 51.0, 52.0])  # around the switch at 51.1
    norm = 2 / ((3.14159**2 - 9) * 511.0)
    got = np.asarray(jitted(positronium_density)(jnp.asarray(energy)))
    np.testing.assert_allclose(got, norm * _ore_powell(energy), rtol=1e-11)


# ---------------------------------------------------------------- black bodies


@pytest.mark.parametrize("z", [0.0, 0.3, 2.0])
def test_zbbody_is_bbody_on_redshifted_edges(z):
    got = kernel("zbbody", kT=1.5, Redshift=z)

    def density(e):
        x = e * (1 + z) / 1.5
        return 8.0525 / 1.5**4 * (e * (1 + z)) ** 2 / np.expm1(x) if x < 700 else 0.0

    exact = [quad(density, lo, hi) for lo, hi in bins(EDGES)]
    np.testing.assert_allclose(got, exact, rtol=1e-8, atol=1e-250)


# ---------------------------------------------------------------- bremsstrahlung


def _hydrogen(edges, kT):
    """vbremss with no helium: the Z = 1 Gaunt factor alone, per bin."""
    return kernel("vbremss", edges, kT=kT, HeovrH=0.0)


def _density_at(edges_around, values, e, kT):
    """Photon density / (e^-u / (E sqrt kT)) from a narrow bin: the Gaunt factor."""
    width = edges_around[1] - edges_around[0]
    return values / width * e * np.sqrt(kT) * np.exp(e / kT)


def test_bremss_at_high_temperature_is_the_born_trapezoid():
    # Z = 1 at 30 keV: gamma^2 = 0.01358/30 < 1e-3, the Born approximation
    # sqrt(3)/pi e^(u/2) K_0(u/2) (XSPEC writes 0.5513), trapezoid per bin.
    kT = 30.0
    got = _hydrogen(EDGES, kT)

    u = EDGES / kT
    born = 0.5513 * np.exp(u / 2) * special.k0(u / 2)
    density = born * np.exp(-u) / (EDGES * np.sqrt(kT))
    trapezoid = 0.5 * (density[1:] + density[:-1]) * np.diff(EDGES)
    np.testing.assert_allclose(got, trapezoid, rtol=2e-7)


def test_gaunt_factor_uses_kuruczs_table_when_cold():
    # gamma^2 = 0.01358/kT = 10^-0.5 and u = 10^-3.5 sit on a node of Kurucz's
    # table (j = 2, k = 2), where XSPEC's value is 4.63.
    kT = 0.01358 / 10**-0.5
    e = kT * 10**-3.5
    edges = padded(e * (1 - 1e-7), e * (1 + 1e-7))
    gaunt = _density_at(edges, _hydrogen(edges, kT)[0], e, kT)
    assert gaunt == pytest.approx(4.63, rel=1e-6)


def test_helium_gaunt_factor_follows_kellogg_baldwin_koch():
    # Z = 2 at kT = 5 keV, u = 0.8: cell n = 3, m = 5 of Kellogg et al. (1975),
    # gamma^2 x 1000 = 10.864, so 4.32 % of the way to column 6.
    kT, e = 5.0, 4.0
    edges = padded(e * (1 - 1e-7), e * (1 + 1e-7))
    helium = kernel("vbremss", edges, kT=kT, HeovrH=1.0) - _hydrogen(edges, kT)
    gaunt = _density_at(edges, helium[0] / 4.0, e, kT)

    u = e / kT
    born = 0.5513 * np.exp(u / 2) * special.k0(u / 2)
    p = (1000 * 4 * 0.01358 / kT - 10.0) / 20.0
    fit5 = 1.042 + 0.1764 * u - 0.0643 * u**2
    fit6 = 1.047 + 0.326 * u - 0.12 * u**2
    assert gaunt == pytest.approx(born * ((1 - p) * fit5 + p * fit6), rel=1e-6)


def test_bremss_at_low_energy_has_the_born_logarithm():
    # Far below kT the Born Gaunt factor is (sqrt 3/pi) ln(4 e^-gamma_E kT / E).
    kT, e = 30.0, 1e-3
    edges = padded(e * (1 - 1e-7), e * (1 + 1e-7))
    gaunt = _density_at(edges, _hydrogen(edges, kT)[0], e, kT)
    expected = 0.5513 * np.log(4 * np.exp(-np.euler_gamma) * kT / e)
    assert gaunt == pytest.approx(expected, rel=1e-4)


def test_bremss_vanishes_from_50_kt():
    edges = padded(1.0, 10.0, 349.0, 351.0)
    got = kernel("bremss", edges, kT=7.0)
    assert got[2] > 0.0 and not got[3:].any()


def test_zbremss_and_vbremss_follow_bremss():
    rest = kernel("bremss", EDGES * 1.4, kT=3.0)
    np.testing.assert_allclose(
        kernel("zbremss", kT=3.0, Redshift=0.4), rest / 1.4, rtol=1e-13
    )
    np.testing.assert_allclose(
        kernel("vbremss", kT=7.0, HeovrH=0.085), kernel("bremss", kT=7.0), rtol=1e-13
    )


def test_redge_is_exact_and_holds_one_photon():
    got = kernel("redge", edge=1.4, kT=0.3)

    lo, hi = EDGES[:-1], EDGES[1:]
    tail = np.exp(-np.maximum(0, (lo - 1.4) / 0.3)) - np.exp(
        -np.maximum(0, (hi - 1.4) / 0.3)
    )
    np.testing.assert_allclose(got, tail, rtol=1e-10, atol=1e-300)
    assert got.sum() == pytest.approx(1.0, rel=1e-12)


# ---------------------------------------------------------------- discs

H_KEV_S = 4.135667696e-18
C_CM_S = 2.99792458e10
KPC_CM = 3.0856775814913673e21


def test_diskbb_is_xspec_interpolation_within_0p08_percent_of_the_integral():
    # The defining multicolour-disc integral (Mitsuda et al. 1984) with norm
    # (R_in/km / D/10kpc)^2 cos i: XSPEC's fitted formula is 0.07-0.08 % higher.
    constant = 8 * np.pi / 3 * (1e5 / (10 * KPC_CM)) ** 2 * 2 / (H_KEV_S**3 * C_CM_S**2)
    t_in = 1.3
    special = t_in * np.array([0.01, 0.0101, 0.1, 0.101, 1.0, 1.01, 5.0, 5.05])
    edges = padded(*special)
    got = kernel("diskbb", edges, Tin=t_in)[:7:2] / np.diff(special)[::2]

    for value, e in zip(got, np.sqrt(special[1::2] * special[::2]), strict=True):

        def integrand(t, e=e):
            x = e / (t * t_in)
            return t ** (-11 / 3) / np.expm1(x) if x < 700 else 0.0

        exact = constant * e * e * quad(integrand, 0.0, 1.0)
        assert 1.0006 < value / exact < 1.00085


def test_diskpbb_density_is_the_exact_disc_integral():
    from specdsl.library.disk import diskpbb_density

    xs = np.array([1e-3, 0.05, 1.0, 1.99, 2.01, 6.0, 40.0, 150.0])
    for p in (0.5, 0.62, 0.75, 1.0):
        for t_in in (0.2, 1.7):
            nodes = np.ones((N_EDGES - 1, 5))  # the shape of the kernel's nodes
            nodes.flat[: len(xs)] = xs * t_in
            got = np.asarray(jitted(diskpbb_density)(jnp.asarray(nodes), t_in, p))
            got = got.flat[: len(xs)]
            for value, x in zip(got, xs, strict=True):
                q, e = 2 / p, x * t_in

                def integrand(t, q=q, x=x):
                    return t ** (-q - 1) / np.expm1(x / t) if x / t < 700 else 0.0

                cut = [x / 50] if x < 50 else None
                exact = 2.78e-3 * e * e * 0.75 / p * quad(integrand, 0, 1, points=cut)
                assert value == pytest.approx(exact, rel=1e-9), (p, t_in, x)


def test_diskbb_and_diskpbb_use_xspec_gauss_legendre_bins():
    from specdsl.library.disk import diskpbb_density

    got = kernel("diskpbb", Tin=1.1, p=0.6)

    nodes = np.array([-0.906179846, -0.538469310, 0.0, 0.538469310, 0.906179846])
    weights = np.array(
        [0.236926885, 0.478628670, 0.568888888, 0.478628670, 0.236926885]
    )
    lo, hi = EDGES[:-1], EDGES[1:]
    e = ((lo + hi) / 2)[:, None] + ((hi - lo) / 2)[:, None] * nodes
    density = np.asarray(jitted(diskpbb_density)(jnp.asarray(e), 1.1, 0.6))
    np.testing.assert_allclose(got, (hi - lo) / 2 * (density @ weights), rtol=1e-13)


def test_diskpbb_at_three_quarters_is_diskbb_up_to_their_constants():
    ratio = kernel("diskpbb", Tin=1.0, p=0.75) / kernel("diskbb", Tin=1.0)
    # 2.78e-3 against (8 pi/3)(2/h^3c^2)(1 km/10 kpc)^2 = 2.768e-3, over 1.00075.
    np.testing.assert_allclose(ratio, 2.78e-3 / 2.76802e-3 / 1.00075, rtol=3e-4)


# ---------------------------------------------------------------- lines


def test_lorentz_is_the_exact_profile_normalised_over_positive_energies():
    line_e, width = 1.0, 0.6
    edges = np.concatenate([[0.0], np.geomspace(0.01, 1e4, N_EDGES - 1)])
    got = kernel("lorentz", edges, LineE=line_e, Width=width)

    norm = 0.5 + np.arctan(2 * line_e / width) / np.pi

    def profile(e):
        return width / (2 * np.pi) / ((e - line_e) ** 2 + width**2 / 4) / norm

    exact = [quad(profile, lo, hi) for lo, hi in bins(edges)]
    np.testing.assert_allclose(got, exact, rtol=1e-9, atol=1e-16)
    tail = (0.5 - np.arctan(2 * (1e4 - line_e) / width) / np.pi) / norm
    assert got.sum() == pytest.approx(1 - tail, rel=1e-12)


def test_lorentz_with_zero_width_is_a_delta_line():
    got = kernel("lorentz", padded(1.0, 2.0, 3.0), LineE=2.0, Width=0.0)
    np.testing.assert_array_equal(got[:3], [1.0, 0.0, 0.0])
    assert got.sum() == 1.0


@pytest.mark.parametrize("z", [0.0, 0.8])
def test_zgauss_is_the_gaussian_at_e_times_1_plus_z(z):
    got = kernel("zgauss", LineE=6.4, Sigma=0.2, Redshift=z)

    shifted = EDGES * (1 + z)
    cdf = special.ndtr((shifted - 6.4) / 0.2)
    np.testing.assert_allclose(got, np.diff(cdf) / (1 + z), rtol=1e-8, atol=1e-13)


def test_agauss_is_a_gaussian_in_wavelength():
    edges = np.geomspace(0.3, 3.0, N_EDGES)  # 4.1 .. 41 Angstrom
    got = kernel("agauss", edges, LineE=12.0, Sigma=0.3)

    cdf = special.ndtr((12.39841974 / edges - 12.0) / 0.3)
    np.testing.assert_allclose(got, cdf[:-1] - cdf[1:], rtol=1e-8, atol=1e-13)
    assert got.sum() == pytest.approx(1.0, rel=1e-12)


def test_agauss_zero_sigma_and_zagauss():
    edges = padded(0.5, 1.0, 1.2, 2.0)
    delta = kernel("agauss", edges, LineE=12.39841974 / 1.1, Sigma=0.0)
    np.testing.assert_array_equal(delta[:3], [0.0, 1.0, 0.0])
    assert delta.sum() == 1.0

    np.testing.assert_allclose(
        kernel("zagauss", LineE=20.0, Sigma=0.5, Redshift=0.25),
        kernel("agauss", EDGES * 1.25, LineE=20.0, Sigma=0.5) / 1.25,
        rtol=1e-13,
    )


@pytest.mark.parametrize("sigma", [0.05, 0.4, 3.0])
def test_step_is_the_exact_integral_of_the_smoothed_step(sigma):
    got = kernel("step", Energy=6.0, Sigma=sigma)

    def density(e):
        return 0.5 * special.erfc((e - 6.0) / (np.sqrt(2) * sigma))

    exact = [
        quad(density, lo, hi, points=[6.0] if lo < 6 < hi else None)
        for lo, hi in bins(EDGES)
    ]
    np.testing.assert_allclose(got, exact, rtol=1e-9, atol=1e-280)


def test_step_with_zero_sigma_is_sharp():
    got = kernel("step", padded(1.0, 2.0, 3.0, 4.0), Energy=2.5, Sigma=0.0)
    np.testing.assert_allclose(got[:3], [1.0, 0.5, 0.0])
    assert not got[3:].any()


# ---------------------------------------------------------------- nthComp


def _nthcomp_reference(gamma, kt_e, kt_bb):
    """nthComp's black-body-seed spectrum by XSPEC's algorithm, as plain loops.

    Kompaneets equation with Lightman & Zdziarski's corrections on x = E/511 keV
    from 1e-4 kT_bb in 0.02-dex steps up to 40 kT_e, solved by the Thomas
    algorithm: written independently of the vectorised kernel.
    """
    tb, theta = kt_bb / 511.0, kt_e / 511.0
    tau = np.sqrt(2.25 + 3 / (theta * ((gamma + 0.5) ** 2 - 2.25))) - 1.5
    delta, dl = 0.02, 0.02 * np.log(10)
    x_min = 1e-4 * tb
    jmax = min(899, int(np.log10(40 * theta / x_min) / delta) + 1)
    x = x_min * 10.0 ** (np.arange(jmax + 1) * delta)  # x[0] is XSPEC's x(1)

    w = np.sqrt(x[:-1] * x[1:])
    c2 = w**4 / (1 + 4.6 * w + 1.1 * w * w)
    rel = np.array(
        [
            1 - 2 * v + 26 * v * v / 5
            if v <= 0.05
            else 0.75
            * (
                (1 + v) / v**3 * (2 * v * (1 + v) / (1 + 2 * v) - np.log(1 + 2 * v))
                + np.log(1 + 2 * v) / (2 * v)
                - (1 + 3 * v) / (1 + 2 * v) ** 2
            )
            for v in x[:jmax]
        ]
    )
    n_th = min(900, int(np.log10(50 * tb / x_min) / delta), jmax)
    seed = np.zeros(jmax)
    seed[:n_th] = 15 / (3.14159 * tb) ** 4 * x[:n_th] ** 2 / np.expm1(x[:n_th] / tb)

    jnr = min(int(np.log10(0.1 / x_min) / delta + 1), jmax - 1)
    jrel = min(int(np.log10(1 / x_min) / delta + 1), jmax)
    beta = np.empty(jmax)
    for j in range(1, jmax + 1):
        kn = tau * rel[j - 1]
        if j < jnr:
            beta[j - 1] = 1 / tau / (1 + kn / 3)
        elif j <= jrel:
            fade = 1 - (x[j - 1] - x[jnr - 1]) / (x[jrel - 1] - x[jnr - 1])
            beta[j - 1] = 1 / tau / (1 + kn / 3 * fade)
        else:
            beta[j - 1] = 1 / tau

    c20 = tau / dl
    a, b, c, d = (np.zeros(jmax + 1) for _ in range(4))  # 1-based rows
    for j in range(2, jmax):
        w1, w2 = np.sqrt(x[j - 1] * x[j]), np.sqrt(x[j - 2] * x[j - 1])
        a[j] = -c20 * c2[j - 1] * (theta / dl / w1 + 0.5)
        b[j] = (
            -c20 * c2[j - 1] * (0.5 - theta / dl / w1)
            + c20 * c2[j - 2] * (theta / dl / w2 + 0.5)
            + x[j - 1] ** 3 * tau * beta[j - 1]
        )
        c[j] = c20 * c2[j - 2] * (0.5 - theta / dl / w2)
        d[j] = x[j - 1] * seed[j - 1]
    x32 = np.sqrt(x[0] * x[1])
    aa = (theta / dl / x32 + 0.5) / (theta / dl / x32 - 0.5)

    u, alp, gam, g = (np.zeros(jmax + 1) for _ in range(4))
    alp[2] = b[2] + c[2] * aa
    gam[2] = a[2] / alp[2]
    g[2] = d[2] / alp[2]
    for j in range(3, jmax):
        alp[j] = b[j] - c[j] * gam[j - 1]
        gam[j] = a[j] / alp[j]
        g[j] = (d[j] - c[j] * g[j - 1]) / alp[j]
    u[jmax - 1] = g[jmax - 1]
    for j in range(jmax - 2, 1, -1):
        u[j] = g[j] - gam[j] * u[j + 1]
    u[1] = aa * u[2]

    flux = np.zeros(jmax)
    flux[: jmax - 1] = x[: jmax - 1] ** 4 * u[1:jmax] * beta[: jmax - 1] * tau
    return x[:jmax], flux


@pytest.mark.parametrize("gamma, kt_e, kt_bb", [(1.7, 100.0, 0.1), (2.4, 15.0, 0.5)])
def test_nthcomp_matches_a_plain_loop_solution_of_the_kompaneets_equation(
    gamma, kt_e, kt_bb
):
    from specdsl.library.comptonization import nthcomp_spectrum

    x_ref, flux_ref = _nthcomp_reference(gamma, kt_e, kt_bb)
    spectrum = jitted(nthcomp_spectrum)(gamma, kt_e, kt_bb, 0.0)
    x, flux = (np.asarray(a) for a in spectrum)

    n = len(x_ref)
    np.testing.assert_allclose(x[:n], x_ref, rtol=1e-13)
    np.testing.assert_allclose(flux[:n], flux_ref, rtol=1e-8, atol=1e-12 * flux.max())
    assert not flux[n - 1 :].any()


@pytest.mark.parametrize("inp_type", [0.0, 1.0])
@pytest.mark.parametrize("gamma", [1.7, 2.3])
def test_nthcomp_is_normalised_at_1_kev_with_photon_index_gamma(gamma, inp_type):
    edges = padded(0.9999, 1.0001, 1.4999, 1.5001, 5.9999, 6.0001)
    got = kernel(
        "nthComp", edges, Gamma=gamma, kT_e=100.0, kT_bb=0.05, inp_type=inp_type
    )

    density = got[:5:2] / 2e-4
    assert density[0] == pytest.approx(1.0, rel=1e-6)
    slope = np.log(density[2] / density[1]) / np.log(6.0 / 1.5)
    # Local slope in 2-8 keV, far from both the seed photons and the cut-off.
    assert slope == pytest.approx(-gamma, abs=0.04)


def test_nthcomp_low_energies_follow_the_seed_photons():
    # Far below kT_bb the unscattered seed dominates: a black body rises as E^1
    # (Rayleigh-Jeans), a multicolour disc falls as E^(-2/3).
    edges = np.geomspace(1e-3, 10.0, N_EDGES)
    centre = np.sqrt(edges[1:] * edges[:-1])
    i, j = np.searchsorted(centre, [0.002, 0.005])
    for inp_type, slope in ((0.0, 1.0), (1.0, -2 / 3)):
        density = kernel("nthComp", edges, kT_bb=0.1, inp_type=inp_type) / np.diff(
            edges
        )
        local = np.log(density[j] / density[i]) / np.log(centre[j] / centre[i])
        assert local == pytest.approx(slope, abs=0.05)


# ---------------------------------------------------------------- compTT


def _comptt_reference(energy, t0, kt, taup, approx):
    """Titarchuk's (1994) spectrum as xstitg.f evaluates it, with scipy functions."""
    t5 = kt / 511.0
    t23 = taup + 2 / 3
    pi = 3.1415927
    if abs(approx) > 1:
        beta = pi**2 * (1 - np.exp(-0.7 * taup)) / 3 / t23**2 + np.exp(
            -1.4 * taup
        ) * np.log(4 / (3 * taup))
    else:
        beta = pi**2 * (1 - np.exp(-1.35 * taup)) / 12 / t23**2 + 0.45 * np.exp(
            -3.7 * taup
        ) * np.log(10 / (3 * taup))
    tau_e = taup / (1 + (kt / 39.2) ** 0.86)
    if abs(approx) > 1:
        rdel = 1 - 3 / tau_e * (1 - 2 / tau_e + 2 / tau_e**2 * (1 - np.exp(-tau_e)))
    else:
        rdel = 1 - (1 - np.exp(-tau_e)) / tau_e

    alpha = min(np.sqrt(2.25 + beta / t5) - 1.5, 10.0)
    for _ in range(50):
        d0 = 3 * (alpha * (alpha + 3) + 4) * special.gamma(2 * alpha + 2)
        d0 /= (alpha + 3) * (alpha + 2) ** 2
        bola = 1 + (alpha + 3) * t5 / (1 + t5) + 4 * d0 ** (1 / alpha) * t5**2
        new = beta / np.log(bola)
        done = abs(new - alpha) <= 1e-4
        alpha = new
        if done:
            break
    alpha = min(alpha, 10.0)

    nodes, weights = np.polynomial.laguerre.laggauss(10)
    x = energy / kt
    xr = x * rdel ** (1 / (3 + alpha))
    seed_x = energy / t0
    shifted = xr + nodes
    yy = np.sum(
        weights
        * shifted ** (alpha + 2)
        * nodes**alpha
        / special.gamma(2 * alpha + 4)
        * (shifted - alpha - 3)
        / alpha
    )
    fx = seed_x ** (-alpha - 1) * np.exp(-x) * (2 * alpha + 3)
    lower = special.gammainc(3 + alpha, seed_x) * special.gamma(3 + alpha)
    wien = seed_x**2 * np.exp(-seed_x) / (alpha + 3)
    al3x0 = alpha * (alpha + 3) / 2 / (2 * alpha + 3)
    return al3x0 * (yy * fx * lower + wien) * kt / t0


@pytest.mark.parametrize(
    "t0, kt, taup, approx",
    [(0.1, 50.0, 1.0, 1.0), (0.5, 20.0, 3.0, 2.0), (0.05, 200.0, 0.5, 1.0)],
)
def test_comptt_matches_titarchuk_formulas_evaluated_with_scipy(t0, kt, taup, approx):
    from specdsl.library.comptonization import comptt_density

    energy = np.geomspace(0.05, 300.0, N_EDGES)
    got = np.asarray(jitted(comptt_density)(jnp.asarray(energy), t0, kt, taup, approx))

    exact = [_comptt_reference(e, t0, kt, taup, approx) for e in energy]
    np.testing.assert_allclose(got, exact, rtol=1e-7)


def test_comptt_bins_are_the_trapezoid_at_redshifted_energies():
    from specdsl.library.comptonization import comptt_density

    got = kernel("compTT", Redshift=0.5, T0=0.2, kT=30.0, taup=2.0, approx=1.0)

    density = jitted(comptt_density)(jnp.asarray(EDGES * 1.5), 0.2, 30.0, 2.0, 1.0)
    density = np.asarray(density)
    np.testing.assert_allclose(
        got, 0.5 * (density[1:] + density[:-1]) * np.diff(EDGES), rtol=1e-13
    )


def test_comptt_tabulated_beta_interpolates_sunyaev_titarchuk_1985():
    from specdsl.library.comptonization import _titarchuk_beta

    # On the table's nodes the value is the tabulated one; between, log-linear.
    assert float(_titarchuk_beta(2.0, -2.0)) == pytest.approx(0.334, rel=1e-12)
    assert float(_titarchuk_beta(0.7, -0.5)) == pytest.approx(0.335, rel=1e-12)
    between = float(_titarchuk_beta(2.25, -2.0))
    assert between == pytest.approx(np.sqrt(0.334 * 0.252), rel=1e-12)


# ---------------------------------------------------------------- JAX


GRADIENT_CASES = [
    ("cutoffpl", {"PhoIndex": 1.3, "HighECut": 12.0}),
    ("bknpower", {"PhoIndx1": 1.1, "BreakE": 3.3, "PhoIndx2": 2.2}),
    ("logpar", {"alpha": 1.8, "beta": 0.3}),
    ("lorentz", {"LineE": 6.4, "Width": 0.3}),
    ("step", {"Energy": 3.0, "Sigma": 0.2}),
    ("diskpbb", {"Tin": 1.2, "p": 0.6}),
    ("nthComp", {"Gamma": 1.9, "kT_e": 40.0}),
    ("compTT", {"kT": 30.0, "taup": 2.0}),
]


@pytest.mark.parametrize("name, values", GRADIENT_CASES)
def test_gradients_are_finite_and_nonzero(name, values):
    spec = LIBRARY.exact(name)
    edges = jnp.asarray(EDGES)
    constants = spec.prepare(EDGES) if spec.prepare else None
    fixed = {p.name: p.default for p in spec.parameters if p.name not in values}
    reference = kernel(name, **values)
    weights = np.where(reference > 0, 1.0 / np.where(reference > 0, reference, 1), 0)

    def total(free):
        return jnp.sum(weights * spec.kernel(edges, constants, **fixed, **free))

    grads = jax.jit(jax.grad(total))({k: jnp.asarray(v) for k, v in values.items()})
    for key, value in grads.items():
        assert np.isfinite(value) and value != 0, (name, key)


@pytest.mark.parametrize(
    "name, batch",
    [
        ("cutoffpl", {"PhoIndex": [0.5, 1.5, 2.5], "HighECut": [3.0, 15.0, 300.0]}),
        ("nthComp", {"Gamma": [1.5, 2.0, 2.8], "kT_e": [10.0, 60.0, 300.0]}),
    ],
)
def test_batches_are_vmapped_like_single_evaluations(name, batch):
    spec = LIBRARY.exact(name)
    fixed = {p.name: p.default for p in spec.parameters if p.name not in batch}

    def one(values):
        return spec.kernel(jnp.asarray(EDGES), None, **fixed, **values)

    arrays = {k: jnp.asarray(v) for k, v in batch.items()}
    together = np.asarray(jax.jit(jax.vmap(one))(arrays))

    for i in range(3):
        single = kernel(name, **{k: v[i] for k, v in batch.items()})
        np.testing.assert_allclose(together[i], single, rtol=1e-12)


def test_compiled_model_applies_norm_and_sums_components():
    model = compile("zgauss + diskbb")
    values = model.defaults() | {"zgauss_1.norm": 2.0, "diskbb_1.norm": 0.5}
    values = {k: jnp.asarray(v) for k, v in values.items()}

    function = jax.jit(model.function)
    got = np.asarray(function(values, jnp.asarray(EDGES), model.prepare(EDGES)))

    expected = 2.0 * kernel("zgauss") + 0.5 * kernel("diskbb")
    np.testing.assert_allclose(got, expected, rtol=1e-13)
