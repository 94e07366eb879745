"""The Python API used as jaxspec and Sherpa users use it: Python links, user
components and per-component fluxes give the right numbers or a clear error."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import specdsl
from specdsl.errors import ModelError, SpecdslError
from specdsl.library.registry import LIBRARY

EDGES = np.geomspace(1.0, 10.0, 11)


@pytest.fixture
def own_components():
    """Names of components a test registers, removed from the library after it."""
    names: list[str] = []
    yield names
    for name in names:
        LIBRARY.unregister(name)


def powerlaw_integral(index: float, norm: float = 1.0) -> np.ndarray:
    low, high = EDGES[:-1], EDGES[1:]
    if index == 1:
        return norm * np.log(high / low)
    return norm * (high ** (1 - index) - low ** (1 - index)) / (1 - index)


def test_fakeit_tells_apart_models_that_differ_only_by_python_links():
    observation = specdsl.Observation.default(exposure=100.0)
    totals = []
    for factor in (2, 3):
        model = specdsl.compile(
            "powerlaw+powerlaw",
            links={"powerlaw_2.norm": lambda p, f=factor: p["powerlaw_1.norm"] * f},
        )
        counts = specdsl.fakeit(observation, model, {}, counting_statistics=False)
        totals.append(counts.sum())
    assert totals[1] / totals[0] == pytest.approx(4 / 3, rel=1e-6)  # float32 fold


def test_python_links_run_after_what_they_read():
    chain = {
        "powerlaw_1.PhoIndex": lambda p: p["powerlaw_2.PhoIndex"] + 1,
        "powerlaw_2.PhoIndex": lambda p: p["powerlaw_3.PhoIndex"] + 1,
    }
    model = specdsl.compile("powerlaw+powerlaw+powerlaw", links=chain)
    flux = model(EDGES, {"powerlaw_3.PhoIndex": 1.5})

    expected = sum(powerlaw_integral(index) for index in (3.5, 2.5, 1.5))
    np.testing.assert_allclose(flux, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("links", "words"),
    [
        (
            {
                "powerlaw_1.PhoIndex": lambda p: p["powerlaw_2.PhoIndex"],
                "powerlaw_2.PhoIndex": lambda p: p["powerlaw_1.PhoIndex"],
            },
            "parameter links form a cycle: powerlaw_1.PhoIndex -> powerlaw_2",
        ),
        (
            {"powerlaw_1.PhoIndex": lambda p: p["PowerLaw_2.phoindex"]},
            "the Python link of powerlaw_1.PhoIndex reads 'PowerLaw_2.phoindex'",
        ),
        (
            {"powerlaw_1.PhoIndex": lambda p: 1 / 0},
            "failed on the default values: ZeroDivisionError",
        ),
    ],
)
def test_python_link_mistakes_are_model_errors(links, words):
    with pytest.raises(ModelError) as error:
        specdsl.compile("powerlaw+powerlaw", links=links)
    assert words in str(error.value)


def test_component_fluxes_switch_off_a_linked_norm():
    model = specdsl.compile("powerlaw+powerlaw(PhoIndex=3, norm=2*p2)")
    fluxes = model.component_fluxes(EDGES, {"powerlaw_1.norm": 1.5})

    np.testing.assert_allclose(fluxes["powerlaw_1"], powerlaw_integral(1, 1.5))
    np.testing.assert_allclose(fluxes["powerlaw_2"], powerlaw_integral(3, 3.0))
    total = model(EDGES, {"powerlaw_1.norm": 1.5})
    np.testing.assert_allclose(sum(fluxes.values()), total, rtol=1e-12)


@pytest.mark.parametrize(
    ("cut", "shape"), [(slice(1, None), "(9,)"), (slice(None), "(11,)")]
)
def test_a_user_kernel_of_the_wrong_length_is_named(cut, shape, own_components):
    own_components.append(f"wrong_{len(shape)}")

    @specdsl.component(f"wrong_{len(shape)}", "additive", [("Gamma", 2.0)])
    def kernel(edges, constants, Gamma):
        values = edges[1:] ** (1 - Gamma) - edges[:-1] ** (1 - Gamma)
        full = jnp.append(values, 0.0) if shape == "(11,)" else values
        return full[cut]

    model = specdsl.compile(f"wrong_{len(shape)}")
    with pytest.raises(SpecdslError) as error:
        model(EDGES)
    assert f"its kernel returned shape {shape} for 10 energy bins" in str(error.value)
    with pytest.raises(SpecdslError, match="additive kernels must return shape"):
        specdsl.fakeit(specdsl.Observation.default(exposure=1.0), model, {})


def test_a_model_given_as_text_follows_a_component_registered_again(
    own_components,
):
    own_components.append("rescaled")
    observation = specdsl.Observation.default(exposure=10.0)
    totals = []
    for scale in (1.0, 2.0):

        @specdsl.component("rescaled", "additive", [("Gamma", 2.0)])
        def kernel(edges, constants, Gamma, scale=scale):
            return scale * (edges[:-1] ** (1 - Gamma) - edges[1:] ** (1 - Gamma))

        counts = specdsl.fakeit(observation, "rescaled", {}, counting_statistics=False)
        totals.append(counts.sum())
    assert totals[1] == pytest.approx(2 * totals[0], rel=1e-6)


def test_the_caret_stays_under_a_fault_after_a_tab():
    with pytest.raises(ModelError) as error:
        specdsl.compile("tbabs*\tpowerlw")
    line, caret = error.value.excerpt()
    assert line == "tbabs* powerlw" and caret == " " * 7 + "^"


@pytest.mark.parametrize("where", ["model", "fakeit"])
def test_an_empty_array_of_values_is_refused(where):
    from specdsl.errors import ParameterError

    model = specdsl.compile("powerlaw")
    values = {"powerlaw_1.PhoIndex": np.array([])}
    with pytest.raises(ParameterError, match="PhoIndex: the array of values is empty"):
        if where == "model":
            model(EDGES, values)
        else:
            specdsl.fakeit(specdsl.Observation.default(exposure=1.0), model, values)


def test_a_traced_value_points_to_model_function():
    import jax

    from specdsl.errors import ParameterError

    model = specdsl.compile("powerlaw")
    with pytest.raises(ParameterError, match=r"call model.function\(params, edges"):
        jax.grad(lambda x: model(EDGES, {"powerlaw_1.PhoIndex": x}).sum())(2.0)


@pytest.mark.parametrize(
    "script",
    [
        "import specdsl, jax.numpy as jnp",  # JAX loads after specdsl
        "import jax.numpy as jnp, specdsl",  # JAX was there first
    ],
)
def test_arrays_made_after_import_specdsl_are_float64(script):
    """Edges made before the first compile must not be float32 (the bins of a
    black body at kT = 100 keV lose their gradient)."""
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    check = (
        f"{script}\n"
        "edges = jnp.geomspace(0.3, 10.0, 60)\n"
        "model = specdsl.compile('bbodyrad')\n"
        "values = {k: jnp.asarray(v) for k, v in model.defaults().items()}\n"
        "result = model.function(values, edges, model.prepare(edges))\n"
        "print(edges.dtype, result.dtype)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["float64", "float64"]
