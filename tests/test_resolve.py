"""Resolution: names, kinds, XSPEC's rules and numbering."""

import pytest

from specdsl.errors import ModelError, ModelSyntaxError
from specdsl.model import compile


def test_seed_model_parameter_numbering():
    model = compile("tbabs*(powerlaw+bbodyrad)")

    assert [(p.index, p.name) for p in model.parameters] == [
        (1, "tbabs_1.nH"),
        (2, "powerlaw_1.PhoIndex"),
        (3, "powerlaw_1.norm"),
        (4, "bbodyrad_1.kT"),
        (5, "bbodyrad_1.norm"),
    ]


def test_case_insensitive_and_abbreviated_names():
    model = compile("TB*(PO+bbodyr)+CONST*ga")

    labels = [use.label for use in model.resolved.components]
    assert labels == ["tbabs_1", "powerlaw_1", "bbodyrad_1", "constant_1", "gaussian_1"]
    assert [use.spec.name for use in model.resolved.components][0] == "TBabs"


def test_abbreviation_takes_first_in_library_order():
    assert compile("bb").resolved.components[0].spec.name == "bbody"


def test_repeated_components_are_counted_per_name():
    model = compile("powerlaw + tbabs*powerlaw + gaussian")

    assert [use.label for use in model.resolved.components] == [
        "powerlaw_1",
        "tbabs_1",
        "powerlaw_2",
        "gaussian_1",
    ]
    assert model.parameter_names[-1] == "gaussian_1.norm"
    assert [p.index for p in model.parameters] == list(range(1, 9))


@pytest.mark.parametrize(
    "text, position, words",
    [
        ("tbabs", 0, "no additive component"),
        ("tbabs*constant", 0, "no additive component"),
        ("powerlaw*bbodyrad", 9, "cannot multiply another additive"),
        ("tbabs*powerlaw*(bbody+gaussian)", 16, "cannot multiply another additive"),
        ("powerlaw+tbabs", 9, "must contain an additive"),
        ("tbabs*(powerlaw+constant)", 16, "must contain an additive"),
    ],
)
def test_kind_rules(text, position, words):
    with pytest.raises(ModelError) as caught:
        compile(text)

    assert caught.value.position == position
    assert words in caught.value.message


def test_unknown_name_suggests_close_components():
    with pytest.raises(ModelSyntaxError) as caught:
        compile("tbabs*(powrlaw+bbodyrad)")

    error = caught.value
    assert "unknown model component 'powrlaw'" in str(error)
    assert error.position == 7
    assert "powerlaw" in error.hint


def test_single_letter_is_not_an_abbreviation():
    with pytest.raises(ModelError, match="unknown model component 'p'"):
        compile("p")
