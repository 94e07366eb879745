"""Grammar and syntax tree: what parses, the tree it gives, and where errors point."""

import pytest

from specdsl.errors import ModelSyntaxError
from specdsl.syntax.nodes import Component, Product, Sum, components
from specdsl.syntax.parser import parse
from specdsl.syntax.printer import to_string


def test_seed_model_tree_and_positions():
    tree = parse("tbabs*(powerlaw+bbodyrad)")

    assert isinstance(tree, Product)
    absorber, group = tree.factors
    assert absorber == Component(0, 5, "tbabs")
    assert isinstance(group, Sum)
    assert [c.name for c in group.terms] == ["powerlaw", "bbodyrad"]
    assert group.terms[1].start == 16 and group.terms[1].end == 24


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("wa(po+ga)", "wa*(po+ga)"),
        ("(po+ga)wabs", "(po+ga)*wabs"),
        ("phabs*wa(po)", "phabs*wa*po"),
        ("  tbabs * ( powerlaw + bbodyrad ) ", "tbabs*(powerlaw+bbodyrad)"),
        ("(a*b)(c+d)", "(a*b)*(c+d)"),
        ("a+b+c", "a+b+c"),
        ("a*(b+c*(d+e))+f", "a*(b+c*(d+e))+f"),
        # XSPEC's numbered components, as its show and save write them
        ("TBabs<1>*(powerlaw<2> + bbodyrad<3>)", "TBabs*(powerlaw+bbodyrad)"),
        ("atable{m.mod}< 2 >*po<1>", "atable{m.mod}*po"),
    ],
)
def test_juxtaposition_parentheses_and_canonical_form(text, canonical):
    tree = parse(text)

    assert to_string(tree) == canonical
    assert parse(canonical) == parse(to_string(parse(canonical)))


def test_components_in_expression_order():
    assert [c.name for c in components(parse("a*(b+c)+d"))] == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    "text, position, words",
    [
        ("", 0, "empty"),
        ("po+", 2, "ends with '+'"),
        ("tbabs*(po", 6, "never closed"),
        ("po)", 2, "no matching"),
        ("po bb", 3, "side by side"),
        ("po*()", 4, "empty parentheses"),
        ("+po", 0, "on its left"),
        ("po++bb", 3, "on its left"),
        ("tb*(po+)", 7, "on its right"),
        ("po-bb", 2, "only allowed in parameter values"),
        ("po(PhoIndex=)", 12, "a value must follow '='"),
        ("tbabs(nH=0.1 0.2)", 13, "unexpected '0'"),
        ("powerläw", 6, "invalid character"),
        ("atable{m.mod*po", 6, "'{' is never closed"),
        ("atable{m.mod}}", 13, "'}' has no matching '{'"),
        ("po<2", 2, "a component's number is written powerlaw<2>"),
        ("po<1><2>", 5, "a component's number is written"),
        ("<1>po", 0, "a component's number is written"),
    ],
)
def test_syntax_errors_point_at_the_fault(text, position, words):
    with pytest.raises(ModelSyntaxError) as caught:
        parse(text)

    error = caught.value
    assert error.position == position
    assert words in error.message
    assert error.expression == text
    assert str(error).splitlines()[3] == "    " + " " * position + "^"


def test_non_string_is_a_type_error():
    with pytest.raises(TypeError):
        parse(None)
