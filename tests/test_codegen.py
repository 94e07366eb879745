"""Generated code: readable, one jit computation, differentiable and vmappable."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from specdsl.model import compile

EDGES = np.geomspace(0.1, 12.0, 200)
SEED_MODEL = "tbabs*(powerlaw+bbodyrad)"
VALUES = {
    "tbabs_1.nH": 0.3,
    "powerlaw_1.PhoIndex": 1.8,
    "powerlaw_1.norm": 1e-3,
    "bbodyrad_1.kT": 0.7,
    "bbodyrad_1.norm": 50.0,
}


def test_source_has_one_line_per_component_and_the_expression():
    source = compile(SEED_MODEL).source

    assert source.startswith("def model(params, edges, constants):")
    assert (
        "tbabs_1 = kernel_TBabs(edges, constants['TBabs'], nH=params['tbabs_1.nH'])"
        in source
    )
    assert "powerlaw_1 = params['powerlaw_1.norm'] * kernel_powerlaw(" in source
    assert source.rstrip().endswith("return tbabs_1 * (powerlaw_1 + bbodyrad_1)")


def test_generated_function_matches_components_combined_by_hand():
    model = compile(SEED_MODEL)

    total = np.asarray(model(EDGES, VALUES))

    absorption = np.asarray(
        compile("tbabs*powerlaw")(
            EDGES, {"tbabs_1.nH": 0.3, "powerlaw_1.PhoIndex": 0.0}
        )
    )
    plain = np.asarray(compile("powerlaw")(EDGES, {"powerlaw_1.PhoIndex": 0.0}))
    sources = compile("powerlaw+bbodyrad")(
        EDGES, {k: v for k, v in VALUES.items() if not k.startswith("tbabs")}
    )
    np.testing.assert_allclose(
        total, absorption / plain * np.asarray(sources), rtol=1e-12
    )


def test_jit_compiles_the_whole_model_once():
    model = compile(SEED_MODEL)
    edges = jnp.asarray(EDGES)
    constants = model.prepare(EDGES)
    params = {k: jnp.float64(v) for k, v in VALUES.items()}

    lowered = jax.jit(model.function).lower(params, edges, constants)
    compiled = lowered.compile()

    np.testing.assert_allclose(
        compiled(params, edges, constants),
        model.function(params, edges, constants),
        rtol=1e-12,
    )
    assert "stablehlo" in lowered.as_text() or "func.func" in lowered.as_text()


@pytest.mark.parametrize("name", list(VALUES))
def test_gradient_with_respect_to_every_parameter(name):
    model = compile(SEED_MODEL)
    edges = jnp.asarray(EDGES)
    constants = model.prepare(EDGES)

    def total(value):
        params = {**{k: jnp.float64(v) for k, v in VALUES.items()}, name: value}
        return model.function(params, edges, constants).sum()

    gradient = jax.grad(total)(jnp.float64(VALUES[name]))
    step = 1e-6 * abs(VALUES[name])
    numeric = (total(VALUES[name] + step) - total(VALUES[name] - step)) / (2 * step)

    assert np.isfinite(gradient) and gradient != 0
    assert gradient == pytest.approx(float(numeric), rel=1e-5)


def test_gradient_is_finite_at_phoindex_one():
    model = compile("powerlaw")
    edges = jnp.asarray(EDGES)
    constants = model.prepare(edges)

    def total(index):
        return model.function(
            {"powerlaw_1.PhoIndex": index, "powerlaw_1.norm": 1.0}, edges, constants
        ).sum()

    gradient = jax.grad(total)(jnp.float64(1.0))
    # d/dG of the integral of E^-G is minus the integral of ln(E) E^-G.
    lo, hi = EDGES[:-1], EDGES[1:]
    exact = -np.sum((np.log(hi) ** 2 - np.log(lo) ** 2) / 2)
    assert float(gradient) == pytest.approx(exact, rel=1e-7)


def test_vmap_over_parameter_batches_matches_a_loop():
    model = compile(SEED_MODEL)
    indices = np.array([1.0, 1.5, 2.0, 2.5])

    batch = np.asarray(model(EDGES, {**VALUES, "powerlaw_1.PhoIndex": indices}))

    assert batch.shape == (4, len(EDGES) - 1)
    for row, index in zip(batch, indices, strict=True):
        single = np.asarray(model(EDGES, {**VALUES, "powerlaw_1.PhoIndex": index}))
        np.testing.assert_allclose(row, single, rtol=1e-12)
