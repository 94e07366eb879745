"""XSPEC table models (atable/mtable/etable) on real OGIP/92-009 files.

Reference numbers for the sherpa ``smodAZE.tmod`` tables are XSPEC 12.13.1
outputs (``dummyrsp 0.2 2.6 24 linear``; ``iplot model``) as listed in the
sherpa-test-data README and sherpa's XSPEC table-model tests; additive values
there are per keV, hence the division by the 0.1 keV bin width below.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from astropy.io import fits

import specdsl
from specdsl.errors import OGIPError, SpecdslError
from specdsl.library.registry import ADDITIVE, MULTIPLICATIVE
from specdsl.library.tables import read_table_model, table_component

LINEAR_24 = np.linspace(0.2, 2.6, 25)
COARSE = np.array([0.2, 0.3, 0.5, 0.7, 1.1, 1.6, 2.0, 2.2, 2.5])

ADD_BASIC = (
    [0, 0, 0, 75, 150] + [15] * 4 + [100] * 4 + [140] * 5 + [375, 20, 0, 0, 0, 0]
)
ADD_Z1 = [0, 82.5, 15, 57.5, 100, 120, 140, 140, 197.5] + [0] * 15
ADD_E2 = [0] * 8 + [37.5] * 2 + [75] * 2 + [7.5] * 8 + [50] * 4
MUL_BASIC = [0, 0, 0, 7.5, 15] + [6] * 4 + [40] * 4 + [70] * 5 + [37.5, 2, 5, 5, 5, 5]
MUL_Z1 = [0, 13.2, 6, 23, 40, 50 + 10 / 3, 70, 70, 19.75] + [5] * 15
MUL_E2 = [0] * 8 + [7.5] * 2 + [15] * 2 + [6] * 8 + [40] * 4


@pytest.fixture(scope="module")
def sherpa(shared_data):
    return shared_data / "xspec-tables-sherpa"


@pytest.fixture(scope="module")
def heasoft(shared_data):
    return shared_data / "xspec-tables-heasoft"


@pytest.fixture(scope="module")
def twopar(shared_data):
    return shared_data / "xspec-table-heasoft-twopar" / "test.mod"


def evaluate(spec, edges, **values):
    """The kernel on ``edges`` with defaults for parameters not given (jitted)."""
    params = {p.name: p.default for p in spec.parameters} | values
    constants = None if spec.prepare is None else jnp.asarray(spec.prepare(edges))
    return np.asarray(_jitted(spec)(jnp.asarray(edges), constants, **params))


@functools.cache
def _jitted(spec):
    """One compiled kernel per table (eager JAX compiles each operation instead)."""
    return jax.jit(spec.kernel)


# --- XSPEC's own outputs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("lscale", "expected"),
    [(5.0, [0, 0, 22.5, 6, 54, 56, 39.5, 0]), (0.0, [0, 0, 15, 12, 52, 48, 15, 0])],
)
def test_additive_table_sums_overlapping_bins_as_xspec(sherpa, lscale, expected):
    spec = table_component("atable", sherpa / "smod100.tmod")

    got = evaluate(spec, COARSE, lscale=lscale)

    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("lscale", "expected"),
    [
        (5.0, [0, 0, 11.25, 6, 45, 70, 19.75, 5]),
        (0.0, [0, 0, 7.5, 12, 40 + 10 / 3, 60, 7.5, 5]),
    ],
)
def test_multiplicative_table_averages_by_overlap_as_xspec(sherpa, lscale, expected):
    spec = table_component("mtable", sherpa / "smod000.tmod")

    got = evaluate(spec, COARSE, lscale=lscale)

    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("name", "kind", "values", "expected", "scale"),
    [
        ("smod110", "atable", {}, ADD_BASIC, 0.1),
        ("smod110", "atable", {"z": 1.0}, ADD_Z1, 0.1),
        ("smod101", "atable", {"Escale": 2.0}, ADD_E2, 0.1),
        ("smod111", "atable", {"z": 1.0}, ADD_Z1, 0.1),
        ("smod111", "atable", {"Escale": 2.0}, ADD_E2, 0.1),
        ("smod010", "mtable", {}, MUL_BASIC, 1.0),
        ("smod010", "mtable", {"z": 1.0}, MUL_Z1, 1.0),
        ("smod001", "mtable", {"Escale": 2.0}, MUL_E2, 1.0),
        ("smod011", "mtable", {"z": 1.0}, MUL_Z1, 1.0),
        ("smod011", "mtable", {"Escale": 2.0}, MUL_E2, 1.0),
    ],
)
def test_redshift_and_energy_scale_match_xspec(
    sherpa, name, kind, values, expected, scale
):
    spec = table_component(kind, sherpa / f"{name}.tmod")

    got = evaluate(spec, LINEAR_24, **values) / scale

    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-9)


def test_exponential_table_is_exp_of_minus_the_mean_inside_and_limits_outside(sherpa):
    path = sherpa / "smod000.tmod"
    factor = evaluate(table_component("mtable", path), LINEAR_24)

    got = evaluate(table_component("etable", path), LINEAR_24)

    inside = slice(3, 20)  # 0.5-2.2 keV, the tabulated range
    np.testing.assert_allclose(got[inside], np.exp(-factor[inside]), rtol=1e-12)
    np.testing.assert_array_equal(got[:3], 0.0)  # LOELIMIT = 0, the factor itself
    np.testing.assert_array_equal(got[20:], 5.0)  # HIELIMIT = 5


def test_values_beyond_the_grid_are_held_at_its_ends(sherpa):
    spec = table_component("atable", sherpa / "smod100.tmod")  # lscale 0..10

    np.testing.assert_array_equal(
        evaluate(spec, COARSE, lscale=12.0), evaluate(spec, COARSE, lscale=10.0)
    )
    np.testing.assert_array_equal(
        evaluate(spec, COARSE, lscale=-1.0), evaluate(spec, COARSE, lscale=0.0)
    )


def test_parameters_follow_xspec_order_and_flags(sherpa):
    spec = table_component("atable", sherpa / "smod111.tmod")

    names = [p.name for p in spec.all_parameters]
    lscale, escale, z, _ = spec.all_parameters

    assert spec.name == "smod111" and spec.kind == ADDITIVE
    assert names == ["lscale", "Escale", "z", "norm"]
    assert (lscale.default, lscale.delta, lscale.frozen) == (
        5.0,
        pytest.approx(0.01),
        True,
    )
    assert (lscale.hard_min, lscale.soft_max, lscale.hard_max) == (0.0, 10.0, 10.0)
    assert (z.default, z.frozen, z.hard_min, z.hard_max) == (0.0, True, 0.0, 5.0)
    assert (escale.default, escale.frozen, escale.hard_max) == (1.0, True, 100.0)


# --- interpolation over the parameter grid --------------------------------------------


def test_log_interpolated_parameter_mixes_by_log_fraction(sherpa):
    path = sherpa / "testpcfabs.mod"
    table = read_table_model(path)
    spec = table_component("mtable", path)
    nh, fract = (p.values for p in table.interpolated)
    rows = table.spectra[:, 0].astype(float).reshape(nh.size, fract.size, -1)

    # nH = sqrt(0.1 * 1) is half-way in log(nH); fract = 0.25 half-way linearly.
    got = evaluate(spec, table.energies, nH=np.sqrt(nh[5] * nh[6]), fract=0.25)

    corners = rows[5:7, 2:4].mean(axis=(0, 1))
    np.testing.assert_allclose(got, corners, rtol=1e-6)
    assert spec.kind == MULTIPLICATIVE and nh[5:7] == pytest.approx([0.1, 1.0])


def test_log_parameter_from_zero_falls_back_to_linear(sherpa):
    path = sherpa / "testpcfabs.mod"
    table = read_table_model(path)
    spec = table_component("mtable", path)
    rows = table.spectra[:, 0].astype(float).reshape(10, 11, -1)

    got = evaluate(
        spec, table.energies, nH=table.interpolated[0].values[1] / 2, fract=1
    )

    np.testing.assert_allclose(got, rows[0:2, 10].mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize("point", [(1.0, 0.1, 0.1), (4.0, 0.3, 0.9), (10.0, 0.5, 1.3)])
def test_grid_points_give_the_tabulated_spectrum_exactly(sherpa, point):
    path = sherpa / "xspec-tablemodel-RCS.mod"
    table = read_table_model(path)
    spec = table_component("atable", path)
    grids = [p.values for p in table.interpolated]
    index = [
        int(np.argmin(abs(grid - value)))
        for grid, value in zip(grids, point, strict=True)
    ]
    row = np.ravel_multi_index(index, [g.size for g in grids])  # last fastest

    values = {
        p.name: g[i] for p, g, i in zip(table.interpolated, grids, index, strict=True)
    }
    got = evaluate(spec, table.energies, **values)

    expected = table.spectra[row, 0].astype(float)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15 * expected.max())


def test_three_parameter_table_is_trilinear_between_grid_points(sherpa):
    path = sherpa / "xspec-tablemodel-RCS.mod"
    table = read_table_model(path)
    spec = table_component("atable", path)
    rows = table.spectra[:, 0].astype(float).reshape(10, 5, 7, -1)
    t = np.array([0.25, 0.6, 0.9])  # fractions of the cell tau 3-4, beta .2-.3, T .5-.7

    got = evaluate(spec, table.energies, tau=3.25, beta=0.26, T=0.68)

    expected = 0.0
    for corner in np.ndindex(2, 2, 2):
        weight = np.prod(np.where(corner, t, 1 - t))
        expected = expected + weight * rows[2 + corner[0], 1 + corner[1], 2 + corner[2]]
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-9 * expected.max())


def test_two_parameter_table_with_redshift_is_exact_for_its_linear_grid(twopar):
    # test.mod tabulates 3 + 2 mypar1 + mypar2 + E_lo in each bin (its PARAMVAL
    # column is mislabelled; the rows follow the memo's last-fastest order, as
    # XSPEC reads them).
    table = read_table_model(twopar)
    spec = table_component("atable", twopar)

    got = evaluate(spec, table.energies, mypar1=0.3, mypar2=1.6)

    expected = 3 + 2 * 0.3 + 1.6 + table.energies[:-1]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert [p.name for p in spec.all_parameters] == ["mypar1", "mypar2", "z", "norm"]
    # z moves the grid, so prepare hands over the spectra only.
    assert spec.prepare(table.energies).size == table.spectra.size


def test_degenerate_single_value_parameter_has_no_effect(heasoft):
    path = heasoft / "testephabs.mod"
    table = read_table_model(path)
    spec = table_component("etable", path)
    parameter = spec.parameters[0]

    at_one = evaluate(spec, table.energies, None_=1.0)
    elsewhere = evaluate(spec, table.energies, None_=7.0)
    outside = evaluate(spec, np.array([0.01, 0.05, 0.1, 100.0, 200.0]))

    np.testing.assert_allclose(at_one, np.exp(-table.spectra[0, 0]), rtol=1e-12)
    np.testing.assert_array_equal(at_one, elsewhere)
    assert outside[[0, 1, 3]].tolist() == [1.0, 1.0, 1.0]  # no LOELIMIT: unity
    assert outside[2] < 1.0
    assert (parameter.name, parameter.aliases) == ("None_", ("None",))


@pytest.mark.parametrize("index", [1.7, 1.75, 2.0])
def test_power_law_table_matches_the_analytic_power_law(heasoft, index):
    path = heasoft / "testpo.mod"
    spec = table_component("atable", path)
    edges = read_table_model(path).energies[20:1401:20]  # 0.2-14 keV, on table edges

    got = evaluate(spec, edges, index=index)

    def powerlaw(gamma):
        lo, hi = edges[:-1], edges[1:]
        return (hi ** (1 - gamma) - lo ** (1 - gamma)) / (1 - gamma)

    # Between grid points: the linear mix of the neighbours, as XSPEC does (the
    # table's float32 energies cost ~3e-4 per table bin).
    below, above = np.floor(index * 10) / 10, np.ceil(index * 10) / 10
    t = 0.0 if below == above else (index - below) / (above - below)
    mix = (1 - t) * powerlaw(below) + t * powerlaw(above)
    np.testing.assert_allclose(got, mix, rtol=1e-3)
    np.testing.assert_allclose(got, powerlaw(index), rtol=1e-2)


# --- energy rebinning -----------------------------------------------------------------


def test_rebinning_conserves_photons_on_an_irregular_grid(heasoft):
    path = heasoft / "testpo.mod"
    table = read_table_model(path)
    spec = table_component("atable", path)
    rng = np.random.default_rng(3)
    first = table.energies[100]
    edges = np.concatenate([[first], np.sort(rng.uniform(first, 20.0, 300)), [20.0]])

    got = evaluate(spec, edges, index=2.3)

    tabulated = evaluate(spec, table.energies, index=2.3)
    np.testing.assert_allclose(got.sum(), tabulated[100:].sum(), rtol=1e-12)
    assert np.all(got[edges[1:] > table.energies[-1]][1:] == 0.0)


def test_bin_straddling_the_table_start_is_outside_as_in_xspec(twopar):
    spec = table_component("atable", twopar)  # tabulated from 0.01 keV
    edges = np.array([0.005, 0.0105, 0.02, 0.5])

    got = evaluate(spec, edges, mypar1=0.0, mypar2=0.0)

    assert got[0] == 0.0 and got[1] == pytest.approx(0.95 * 3.01, rel=1e-6)


def test_redshift_moves_energies_and_divides_the_flux(twopar):
    table = read_table_model(twopar)
    spec = table_component("atable", twopar)
    edges = np.linspace(0.05, 0.75, 37)
    z = 0.3

    got = evaluate(spec, edges, mypar1=1.0, mypar2=0.5, z=z)

    rest = evaluate(spec, table.energies, mypar1=1.0, mypar2=0.5)
    shifted = edges * (1 + z)
    overlap = np.clip(
        np.minimum(shifted[1:, None], table.energies[None, 1:])
        - np.maximum(shifted[:-1, None], table.energies[None, :-1]),
        0.0,
        None,
    ) / np.diff(table.energies)
    np.testing.assert_allclose(got, overlap @ rest / (1 + z), rtol=1e-9)


# --- JAX: jit, vmap, grad -------------------------------------------------------------


def test_kernel_is_jittable_vmappable_and_differentiable(sherpa):
    path = sherpa / "xspec-tablemodel-RCS.mod"
    spec = table_component("atable", path)
    edges = np.geomspace(0.01, 9.0, 200)
    constants = jnp.asarray(spec.prepare(edges))

    @jax.jit
    def total(tau, beta, T):
        return spec.kernel(jnp.asarray(edges), constants, tau=tau, beta=beta, T=T).sum()

    taus, betas, temps = np.array([1.5, 5.2, 9.9]), np.array([0.1, 0.33, 0.47]), 0.8
    batched = jax.vmap(total, in_axes=(0, 0, None))(taus, betas, temps)
    looped = [total(a, b, temps) for a, b in zip(taus, betas, strict=True)]
    gradient = jax.jit(jax.grad(total))(4.3, 0.25, 0.6)
    step = 1e-6
    central = (total(4.3 + step, 0.25, 0.6) - total(4.3 - step, 0.25, 0.6)) / (2 * step)

    np.testing.assert_allclose(batched, looped, rtol=1e-12)
    assert gradient == pytest.approx(float(central), rel=1e-6)


def test_gradient_with_respect_to_redshift_is_finite(twopar):
    spec = table_component("atable", twopar)
    edges = jnp.asarray(np.linspace(0.05, 0.7, 30))

    @jax.jit
    def total(z):
        return spec.kernel(edges, None, mypar1=0.4, mypar2=1.2, z=z).sum()

    z = 0.2137  # no model edge on a table edge, where the flux has a kink in z
    gradient = jax.jit(jax.grad(total))(z)
    central = (total(z + 1e-6) - total(z - 1e-6)) / 2e-6

    assert np.isfinite(gradient) and gradient == pytest.approx(float(central), rel=1e-5)


# --- files: cache, kinds and malformed tables -----------------------------------------


def test_tables_are_read_once_per_kind_and_path(sherpa, monkeypatch):
    path = sherpa / "smod000.tmod"
    monkeypatch.chdir(sherpa)

    first = table_component("mtable", path)

    assert table_component("mtable", "smod000.tmod") is first
    assert table_component("etable", path) is not first


@pytest.mark.parametrize(
    ("kind", "name"), [("mtable", "testpo.mod"), ("atable", "testephabs.mod")]
)
def test_wrong_table_kind_is_an_error_naming_addmodel(heasoft, kind, name):
    with pytest.raises(OGIPError) as error:
        table_component(kind, heasoft / name)

    assert error.value.field == "ADDMODEL" and name in str(error.value)


def test_unknown_kind_and_missing_file_are_errors(tmp_path):
    with pytest.raises(SpecdslError, match="table kind"):
        table_component("ztable", tmp_path / "x.mod")
    with pytest.raises(OGIPError, match="not found"):
        table_component("atable", tmp_path / "missing.mod")


def _table_hdus(addsp: bool = False, names=("a",)) -> fits.HDUList:
    """A small valid additive table: parameter a in {0, 1}, 3 energy bins."""
    primary = fits.PrimaryHDU()
    primary.header.update(
        HDUCLASS="OGIP",
        HDUCLAS1="XSPEC TABLE MODEL",
        MODLNAME="tiny model",
        ADDMODEL=True,
        REDSHIFT=False,
    )
    rows = len(names)
    columns = [
        fits.Column("NAME", "12A", array=list(names)),
        fits.Column("METHOD", "J", array=[0] * rows),
        fits.Column("INITIAL", "E", array=[0.5] * rows),
        fits.Column("DELTA", "E", array=[0.1] * rows),
        fits.Column("MINIMUM", "E", array=[0.0] * rows),
        fits.Column("BOTTOM", "E", array=[0.0] * rows),
        fits.Column("TOP", "E", array=[1.0] * rows),
        fits.Column("MAXIMUM", "E", array=[1.0] * rows),
        fits.Column("NUMBVALS", "J", array=[2] + [0] * (rows - 1)),
        fits.Column("VALUE", "2E", array=[[0.0, 1.0]] * rows),
    ]
    parameters = fits.BinTableHDU.from_columns(columns, name="PARAMETERS")
    parameters.header.update(NINTPARM=1, NADDPARM=rows - 1)
    energies = fits.BinTableHDU.from_columns(
        [
            fits.Column("ENERG_LO", "E", array=[1.0, 2.0, 3.0]),
            fits.Column("ENERG_HI", "E", array=[2.0, 3.0, 4.0]),
        ],
        name="ENERGIES",
    )
    spectra = [
        fits.Column("PARAMVAL", "1E", array=[0.0, 1.0]),
        fits.Column("INTPSPEC", "3E", array=[[1, 2, 3], [3, 4, 5]]),
    ]
    if addsp:
        spectra.append(fits.Column("ADDSP001", "3E", array=[[1, 0, 0], [3, 0, 0]]))
    return fits.HDUList(
        [
            primary,
            parameters,
            energies,
            fits.BinTableHDU.from_columns(spectra, name="SPECTRA"),
        ]
    )


def test_additional_parameters_add_their_spectra_and_names_are_identifiers(tmp_path):
    path = tmp_path / "addsp.mod"
    _table_hdus(addsp=True, names=("log(xi)", "norm")).writeto(path)
    spec = table_component("atable", path)

    names = [p.name for p in spec.all_parameters]
    got = evaluate(spec, np.array([1.0, 2.0, 3.0, 4.0]), log_xi_=0.5, norm_2=2.0)

    assert spec.name == "tiny_model"
    assert names == ["log_xi_", "norm_2", "norm"]
    np.testing.assert_allclose(got, [2.0 + 2.0 * 2.0, 3.0, 4.0])


def _drop_extension(hdus):
    del hdus["SPECTRA"]


def _drop_keyword(hdus):
    del hdus["PARAMETERS"].header["NINTPARM"]


def _drop_column(hdus):
    hdus["SPECTRA"] = fits.BinTableHDU.from_columns(
        [hdus["SPECTRA"].columns["PARAMVAL"]], name="SPECTRA"
    )


def _short_name(hdus):
    hdus[0].header["MODLNAME"] = "x"


def _decreasing_values(hdus):
    hdus["PARAMETERS"].data["VALUE"][0] = [1.0, 0.0]


def _missing_spectrum(hdus):
    spectra = hdus["SPECTRA"]
    hdus["SPECTRA"] = fits.BinTableHDU(spectra.data[:1], spectra.header, name="SPECTRA")


def _not_a_table(hdus):
    hdus[0].header["HDUCLAS1"] = "SPECTRUM"


@pytest.mark.parametrize(
    ("damage", "field"),
    [
        (_drop_extension, "SPECTRA"),
        (_drop_keyword, "NINTPARM"),
        (_drop_column, "SPECTRA.INTPSPEC"),
        (_short_name, "MODLNAME"),
        (_decreasing_values, "PARAMETERS.VALUE"),
        (_missing_spectrum, "SPECTRA"),
        (_not_a_table, "HDUCLAS1"),
    ],
)
def test_malformed_tables_name_the_file_and_the_field(tmp_path, damage, field):
    path = tmp_path / f"{damage.__name__}.mod"
    hdus = _table_hdus()
    damage(hdus)
    hdus.writeto(path)

    with pytest.raises(OGIPError) as error:
        table_component("atable", path)

    assert field in error.value.field and str(path) in str(error.value)


def test_a_table_parameter_is_also_named_as_its_file_names_it(heasoft, tmp_path):
    from specdsl.cli import main
    from specdsl.errors import ParameterError

    model = specdsl.compile(f"etable{{{heasoft / 'testephabs.mod'}}}*powerlaw")
    edges = np.geomspace(1.0, 10.0, 11)
    assert model.parameter_names[0] == "ephabs_1.None_"
    np.testing.assert_array_equal(
        model(edges, {"ephabs_1.None": 1.0}), model(edges, {"ephabs_1.None_": 1.0})
    )
    with pytest.raises(ParameterError, match="ephabs_1.None_ is given twice"):
        model(edges, {"ephabs_1.None": 1.0, "EPHABS_1.none_": 1.0})

    expression = f"etable{{{heasoft / 'testephabs.mod'}}}*powerlaw"
    output = tmp_path / "t.fak"
    arguments = ["fakeit", "-m", expression, "--param", "ephabs_1.None=1", "-o"]
    assert main([*arguments, str(output)]) == 0 and output.exists()
