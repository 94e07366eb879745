"""The language beyond the slice: values, links, convolution, names, printer, API."""

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import specdsl
from specdsl.errors import ModelError, ParameterError
from specdsl.library.registry import (
    CONVOLUTION,
    LIBRARY,
    ComponentSpec,
    Library,
    ParameterSpec,
)
from specdsl.syntax import nodes
from specdsl.syntax.printer import to_string
from specdsl.syntax.visitor import NodeTransformer, NodeVisitor, from_json, to_json

EDGES = np.geomspace(0.3, 10.0, 40)


# --- inline values and links -------------------------------------------------------


def test_inline_values_become_starting_values():
    model = specdsl.compile("tbabs(nH=0.3)*powerlaw(PhoIndex=1.7, norm=1e-3)")

    assert model.defaults() == {
        "tbabs_1.nH": 0.3,
        "powerlaw_1.PhoIndex": 1.7,
        "powerlaw_1.norm": 1e-3,
    }


def test_positional_values_follow_parameter_order():
    model = specdsl.compile("powerlaw(2.5, 4e-2)")

    assert model.defaults() == {"powerlaw_1.PhoIndex": 2.5, "powerlaw_1.norm": 0.04}


def test_inline_link_is_evaluated_inside_the_model():
    model = specdsl.compile(
        "powerlaw(PhoIndex=1.5, norm=2) + powerlaw(PhoIndex==powerlaw_1.PhoIndex+0.5, "
        "norm=p2/2)"
    )

    flux = np.asarray(model(EDGES, {"powerlaw_1.PhoIndex": 1.2}))

    first = specdsl.compile("powerlaw")(
        EDGES, {"powerlaw_1.PhoIndex": 1.2, "powerlaw_1.norm": 2}
    )
    second = specdsl.compile("powerlaw")(
        EDGES, {"powerlaw_1.PhoIndex": 1.7, "powerlaw_1.norm": 1}
    )
    np.testing.assert_allclose(flux, np.asarray(first) + np.asarray(second), rtol=1e-12)
    assert "params['powerlaw_2.PhoIndex'] = (params['powerlaw_1.PhoIndex'] + 0.5)" in (
        model.source
    )


def test_links_may_use_xspec_functions():
    model = specdsl.compile("powerlaw + powerlaw(norm=log(p2) + max(p1, 3))")
    values = {"powerlaw_1.PhoIndex": 2.0, "powerlaw_1.norm": 100.0}

    both = np.asarray(model(EDGES, values))

    one = np.asarray(specdsl.compile("powerlaw")(EDGES, {"powerlaw_1.norm": 1.0}))
    first = np.asarray(
        specdsl.compile("powerlaw")(
            EDGES, {"powerlaw_1.PhoIndex": 2.0, "powerlaw_1.norm": 100.0}
        )
    )
    np.testing.assert_allclose(both, first + 5.0 * one, rtol=1e-12)


def test_links_from_python_as_text_and_callable():
    model = specdsl.compile(
        "powerlaw + powerlaw",
        links={
            "powerlaw_2.PhoIndex": lambda p: 2 * p["powerlaw_1.PhoIndex"],
            "powerlaw_2.norm": "=p2",
        },
    )

    flux = np.asarray(model(EDGES, {"powerlaw_1.PhoIndex": 1.1, "powerlaw_1.norm": 3}))

    single = specdsl.compile("powerlaw")
    expected = np.asarray(
        single(EDGES, {"powerlaw_1.PhoIndex": 1.1, "powerlaw_1.norm": 3})
    ) + np.asarray(single(EDGES, {"powerlaw_1.PhoIndex": 2.2, "powerlaw_1.norm": 3}))
    np.testing.assert_allclose(flux, expected, rtol=1e-12)
    assert [p.name for p in model.free_parameters] == [
        "powerlaw_1.PhoIndex",
        "powerlaw_1.norm",
    ]


def test_linked_parameters_cannot_be_set_directly():
    model = specdsl.compile("powerlaw + powerlaw(PhoIndex==p1)")

    with pytest.raises(ParameterError, match="powerlaw_2.PhoIndex is linked"):
        model(EDGES, {"powerlaw_2.PhoIndex": 2.0})


def test_links_are_differentiable():
    model = specdsl.compile("powerlaw + powerlaw(PhoIndex==p1*2)")
    edges = jnp.asarray(EDGES)
    base = {
        "powerlaw_1.PhoIndex": 1.0,
        "powerlaw_1.norm": 1.0,
        "powerlaw_2.PhoIndex": 0.0,
        "powerlaw_2.norm": 1.0,
    }

    constants = model.prepare(edges)

    def total(index):
        values = {**base, "powerlaw_1.PhoIndex": index}
        return model.function(values, edges, constants).sum()

    gradient = float(jax_grad(total)(1.3))
    step = 1e-6
    numeric = (float(total(1.3 + step)) - float(total(1.3 - step))) / (2 * step)
    assert gradient == pytest.approx(numeric, rel=1e-6)


def jax_grad(function):
    import jax

    return jax.grad(function)


@pytest.mark.parametrize(
    "text, words",
    [
        ("powerlaw(PhoIndex==powerlaw_1.PhoIndex)", "cycle"),
        ("po(PhoIndex==p3)+po(PhoIndex==p1)", "cycle"),
        ("po(Gamma=2)", "no parameter 'Gamma'; its parameters are PhoIndex, norm"),
        ("po(1, 2, 3)", "one too many"),
        ("po(PhoIndex=20)", "outside its hard limits [-3, 10]"),
        ("po(PhoIndex=foo(2))", "unknown function 'foo'"),
        ("po(PhoIndex=max(2))", "max takes 2 argument(s)"),
        ("po(PhoIndex=p9)", "unknown parameter 'p9'"),
        ("po(PhoIndex=1, phoindex=2)", "given twice"),
    ],
)
def test_value_and_link_errors(text, words):
    with pytest.raises(ModelError) as caught:
        specdsl.compile(text)

    assert words in caught.value.message


# --- convolution ---------------------------------------------------------------------


def _library_with_convolutions() -> Library:
    library = Library()
    for spec in LIBRARY:
        library.register(spec)

    def doubled(edges, constants, flux, factor):
        return factor * flux

    def shifted(edges, constants, flux):
        return jnp.roll(flux, 1).at[0].set(0.0)

    library.register(
        ComponentSpec("dbl", CONVOLUTION, (ParameterSpec("factor", 2.0),), doubled)
    )
    library.register(ComponentSpec("shft", CONVOLUTION, (), shifted))
    return library


def test_convolution_acts_on_everything_to_its_right():
    library = _library_with_convolutions()
    values = {"tbabs_1.nH": 0.5}

    outer = np.asarray(specdsl.compile("shft*tbabs*powerlaw", library)(EDGES, values))
    inner = np.asarray(specdsl.compile("tbabs*shft*powerlaw", library)(EDGES, values))

    absorbed = np.asarray(specdsl.compile("tbabs*powerlaw")(EDGES, values))
    plain = np.asarray(specdsl.compile("powerlaw")(EDGES))
    transmission = absorbed / plain
    np.testing.assert_allclose(outer, np.r_[0.0, absorbed[:-1]], rtol=1e-12)
    np.testing.assert_allclose(inner, transmission * np.r_[0.0, plain[:-1]], rtol=1e-12)


def test_convolution_stops_at_its_parentheses_and_plus():
    library = _library_with_convolutions()

    grouped = specdsl.compile("(dbl*constant)(powerlaw + bbody)", library)
    term = specdsl.compile("powerlaw + dbl(factor=3)*bbody", library)

    sources = np.asarray(specdsl.compile("powerlaw + bbody")(EDGES))
    plain = np.asarray(specdsl.compile("powerlaw")(EDGES))
    np.testing.assert_allclose(np.asarray(grouped(EDGES)), 2 * sources, rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(term(EDGES)), plain + 3 * (sources - plain), rtol=1e-12
    )
    assert "dbl_1 = kernel_dbl(edges, None, constant_1, factor=" in grouped.source


@pytest.mark.parametrize(
    "text, position", [("powerlaw*dbl", 9), ("dbl", 0), ("powerlaw + (tbabs*dbl)", 18)]
)
def test_convolution_needs_something_to_act_on(text, position):
    with pytest.raises(
        ModelError, match="must be followed by what it acts on"
    ) as caught:
        specdsl.compile(text, _library_with_convolutions())

    assert caught.value.position == position


# --- names as XSPEC resolves them ----------------------------------------------------


@pytest.mark.parametrize(
    "typed, resolved",
    [
        ("po", "powerlaw"),
        ("pow", "powerlaw"),
        ("bb", "bbody"),
        ("bbodyr", "bbodyrad"),
        ("ga", "gaussian"),
        ("tb", "TBabs"),
        ("TB", "TBabs"),
        ("con", "constant"),
    ],
)
def test_abbreviations_resolve_as_in_xspec(typed, resolved):
    assert LIBRARY.find(typed)[1] == resolved


@pytest.mark.parametrize(
    "typed, xspec_name",
    [
        ("co", "compbb"),
        ("ex", "expdec"),
        ("cf", "cflow"),
        ("me", "meka"),
        ("di", "disk"),
        ("apec", "apec"),
    ],
)
def test_abbreviations_follow_xspec_even_to_components_we_lack(typed, xspec_name):
    assert LIBRARY.find(typed)[1] == xspec_name


def test_missing_xspec_component_is_named_in_the_error():
    with pytest.raises(ModelError) as caught:
        specdsl.compile("tbabs*(apec+powerlaw)")

    assert (
        "XSPEC's component 'apec' is not available in specdsl" in caught.value.message
    )
    assert caught.value.position == 7


# --- printer, JSON, visitor ----------------------------------------------------------

NAMES = st.sampled_from(["po", "tbabs", "bbodyrad", "ga", "constant", "cflux"])
REFERENCES = st.sampled_from(["p1", "p12", "powerlaw_1.PhoIndex", "tbabs_2.nH"])


def values():
    leaves = st.one_of(
        st.builds(
            nodes.Number,
            st.just(0),
            st.just(0),
            st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 6)),
        ),
        st.builds(nodes.Reference, st.just(0), st.just(0), REFERENCES),
    )

    def extend(inner):
        binary = st.builds(
            lambda op, a, b: nodes.Operation(0, 0, op, (a, b)),
            st.sampled_from(["+", "-", "*", "/", "**"]),
            inner,
            inner,
        )
        # The parser reads "-2.0" as the number -2.0, so negation wraps non-numbers.
        negated = st.builds(
            lambda a: nodes.Operation(0, 0, "-", (a,)),
            inner.filter(lambda a: not isinstance(a, nodes.Number)),
        )
        call = st.builds(
            lambda f, a: nodes.Function(0, 0, f, (a,)),
            st.sampled_from(["exp", "log", "sqrt"]),
            inner,
        )
        return st.one_of(binary, negated, call)

    return st.recursive(leaves, extend, max_leaves=6)


def arguments():
    argument = st.builds(
        lambda name, value: nodes.Argument(0, 0, name, value),
        st.sampled_from([None, "nH", "PhoIndex"]),
        values(),
    )
    return st.lists(argument, max_size=2).map(tuple)


def models():
    leaves = st.one_of(
        st.builds(lambda n, a: nodes.Component(0, 0, n, a), NAMES, arguments()),
        st.builds(
            lambda k, p: nodes.Table(0, 0, k, p, ()),
            st.sampled_from(["atable", "mtable"]),
            st.sampled_from(["a.mod", "dir/b-1.fits"]),
        ),
    )

    def extend(inner):
        many = st.lists(inner, min_size=2, max_size=3).map(tuple)
        return st.one_of(
            st.builds(lambda t: nodes.Sum(0, 0, t), many),
            st.builds(lambda f: nodes.Product(0, 0, f), many),
        )

    return st.recursive(leaves, extend, max_leaves=8)


def without_positions(node):
    class Strip(NodeTransformer):
        def generic_visit(self, node):
            node = super().generic_visit(node)
            return type(node)(
                0,
                0,
                *[
                    getattr(node, f)
                    for f in node.__dataclass_fields__
                    if f not in ("start", "end")
                ],
            )

    return Strip().visit(node)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(models())
def test_printed_tree_parses_back_to_the_same_tree(tree):
    text = to_string(tree)

    assert without_positions(specdsl.parse(text)) == without_positions(tree)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(models())
def test_json_round_trip(tree):
    assert from_json(to_json(tree)) == tree


def test_visitor_and_transformer():
    tree = specdsl.parse("tb*(po + po(PhoIndex=2))")

    class Names(NodeVisitor):
        def __init__(self):
            self.found = []

        def visit_Component(self, node):
            self.found.append(node.name)

    class Expand(NodeTransformer):
        def visit_Component(self, node):
            return nodes.Component(
                node.start,
                node.end,
                {"po": "powerlaw"}.get(node.name, node.name),
                node.arguments,
            )

    names = Names()
    names.visit(tree)
    assert names.found == ["tb", "po", "po"]
    assert to_string(Expand().visit(tree)) == "tb*(powerlaw+powerlaw(PhoIndex=2.0))"


def test_compile_accepts_a_tree():
    tree = specdsl.parse("tbabs*(powerlaw+bbodyrad)")

    assert (
        specdsl.compile(tree).parameter_names
        == specdsl.compile("tbabs*(powerlaw+bbodyrad)").parameter_names
    )


# --- the model API ------------------------------------------------------------


def test_component_fluxes_add_up_to_the_model():
    model = specdsl.compile("tbabs*(powerlaw + bbodyrad)")
    values = {"powerlaw_1.norm": 1e-2, "bbodyrad_1.kT": 0.5}

    parts = model.component_fluxes(EDGES, values)

    assert set(parts) == {"powerlaw_1", "bbodyrad_1"}
    np.testing.assert_allclose(
        np.asarray(parts["powerlaw_1"] + parts["bbodyrad_1"]),
        np.asarray(model(EDGES, values)),
        rtol=1e-12,
    )


def test_vector_form_for_samplers():
    model = specdsl.compile("tbabs*powerlaw")
    vector = model.to_vector({"powerlaw_1.PhoIndex": 2.0})

    flux = model.vector_function()(
        jnp.asarray(vector), jnp.asarray(EDGES), model.prepare(EDGES)
    )

    np.testing.assert_array_equal(vector, [1.0, 2.0, 1.0])
    np.testing.assert_allclose(flux, model(EDGES, {"powerlaw_1.PhoIndex": 2.0}))
