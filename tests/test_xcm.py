"""XSPEC command files: reading XSPEC's ``save`` output, writing ours, links."""

from __future__ import annotations

import numpy as np
import pytest

from specdsl.errors import OutputError, ParameterError, SpecdslError
from specdsl.links import LinkExpression
from specdsl.xcm import (
    format_xcm,
    load_model,
    parse_xcm,
    read_xcm,
    strip_spectrum_number,
    write_xcm,
)

# The layout XSPEC 12's ``save all`` writes (settings, data, model block).
XSPEC_SAVE = """\
statistic chi
data 1:1 src.pha
response 1:1 src.rmf
method leven 10 0.01
abund wilm
xsect vern
cosmo 70 0 0.73
xset delta 0.01
systematic 0
model  TBabs(powerlaw + bbodyrad)
           0.05      0.001          0          0     100000      1e+06
            1.7       0.01         -3         -2          9         10
= p2 * 0.01
            0.8      -0.01     0.0001      0.001        100        200
              2       0.01          0          0      1e+20      1e+24
bayes off
"""


def test_xspec_save_file_is_read_command_by_command():
    session = parse_xcm(XSPEC_SAVE)

    assert session.model == "TBabs(powerlaw + bbodyrad)"
    assert session.files == {"data": "src.pha", "response": "src.rmf"}
    assert (session.abund, session.xsect) == ("wilm", "vern")
    assert [p.link for p in session.parameters] == [None, None, "p2 * 0.01", None, None]
    fields = ("0.8", "-0.01", "0.0001", "0.001", "100", "200")
    assert session.parameters[3].fields == fields
    assert session.ignored == [
        "statistic chi", "method leven 10 0.01", "cosmo 70 0 0.73",
        "xset delta 0.01", "systematic 0", "bayes off",
    ]  # fmt: skip


def test_model_is_reproduced_with_values_links_and_frozen_flags():
    model, table = load_model(parse_xcm(XSPEC_SAVE))
    values = table.values()

    assert [p.name for p in model.parameters][:2] == [
        "tbabs_1.nH",
        "powerlaw_1.PhoIndex",
    ]
    assert values["tbabs_1.nH"] == pytest.approx(0.05)
    assert values["powerlaw_1.norm"] == pytest.approx(1.7 * 0.01)
    assert values["bbodyrad_1.kT"] == pytest.approx(0.8)
    assert table.get(4).frozen and not table.get(2).frozen
    assert (table.get(4).hard_min, table.get(4).soft_max) == (0.0001, 100.0)


def test_numbered_components_as_xspec_shows_them_load_alike():
    numbered = XSPEC_SAVE.replace(
        "TBabs(powerlaw + bbodyrad)", "TBabs<1>(powerlaw<2> + bbodyrad<3>)"
    )
    model, table = load_model(parse_xcm(numbered))
    plain_model, plain_table = load_model(parse_xcm(XSPEC_SAVE))

    assert [p.name for p in model.parameters] == [
        p.name for p in plain_model.parameters
    ]
    assert table.values() == plain_table.values()


def test_later_newpar_lines_and_our_distributions_apply():
    text = XSPEC_SAVE + "newpar 2 2.2\n#specdsl newpar 4 uniform(0.5, 1.5)\n"
    _, table = load_model(parse_xcm(text))

    assert table.values()["powerlaw_1.norm"] == pytest.approx(2.2 * 0.01)
    drawn = table.values(count=500, seed=3)
    assert np.all((drawn["bbodyrad_1.kT"] >= 0.5) & (drawn["bbodyrad_1.kT"] <= 1.5))
    np.testing.assert_allclose(drawn["powerlaw_1.norm"], 0.022)


def test_abbreviated_commands_and_spectrum_numbers():
    session = parse_xcm("mo po\n 1.5 0.01\n 2\nda 2:1 a.pha\nback 1 b.pha\nab angr\n")
    assert session.model == "po"
    assert [p.fields for p in session.parameters] == [("1.5", "0.01"), ("2",)]
    assert session.files == {"data": "a.pha", "backgrnd": "b.pha"}
    assert session.abund == "angr"
    assert strip_spectrum_number("1:1 x.pha") == "x.pha"
    assert strip_spectrum_number("x.pha") == "x.pha"


def test_round_trip_through_a_file(tmp_path):
    _, table = load_model(parse_xcm(XSPEC_SAVE))
    table.newpar("5 uniform(1, 3)")
    text = format_xcm(
        expression="TBabs*(powerlaw+bbodyrad)",
        parameters=list(table),
        files={"data": "src.pha"},
        settings={"abund": "wilm", "xsect": "vern"},
    )
    path = write_xcm(tmp_path / "again", text)

    assert path.name == "again.xcm"
    assert "= p2 * 0.01" in path.read_text().splitlines()
    _, reread = load_model(read_xcm(path))
    for before, after in zip(table, reread, strict=True):
        assert after.fields() == before.fields()
        assert str(after.link) == str(before.link)
        assert repr(after.distribution) == repr(before.distribution)
    assert [p.name for p in tmp_path.iterdir()] == ["again.xcm"]


def test_writing_into_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(OutputError, match="missing"):
        write_xcm(tmp_path / "no" / "s.xcm", "model po\n")


def test_more_parameter_lines_than_parameters_is_an_error():
    with pytest.raises(SpecdslError, match="3 parameter lines for a model with 2"):
        load_model(parse_xcm("model po\n1\n1\n1\n"))


def test_missing_xcm_names_the_file(tmp_path):
    with pytest.raises(SpecdslError, match="nothing.xcm: cannot read"):
        read_xcm(tmp_path / "nothing.xcm")


# --- links -----------------------------------------------------------------------


def test_bare_integers_are_parameters_as_in_xspec():
    link = LinkExpression.parse("2*3 + 10", n_parameters=5)
    assert link.references == {2, 3}
    assert str(link) == "p2 * p3 + 10.0"
    assert link.evaluate({2: 1.5, 3: 4.0}) == pytest.approx(16.0)
    assert LinkExpression.parse("2.*p3", 5).references == {3}


def test_link_functions_and_vectors():
    link = LinkExpression.parse("LOG(p1) + max(p2, 1.) + SQRT(p3)^2.", 3)
    values = {1: np.array([10.0, 100.0]), 2: np.array([0.5, 3.0]), 3: 4.0}
    np.testing.assert_allclose(link.evaluate(values), [1 + 1 + 4, 2 + 3 + 4])
    # Without the decimal point, 2 is parameter 2 (XSPEC's rule).
    assert LinkExpression.parse("p3^2", 3).references == {2, 3}


@pytest.mark.parametrize(
    "text",
    ["2*3 + 10", "-(p1+p2)^2", "2^-1", "p1/(p2*p3)", "-p1-(-2.5)", "mean(1, 2., 3)"],
)
def test_printed_links_read_back_to_the_same_link(text):
    link = LinkExpression.parse(text, 3)
    again = LinkExpression.parse(str(link), 3)
    values = {1: 1.5, 2: 2.0, 3: 4.0}
    assert str(again) == str(link) and again.references == link.references
    assert again.evaluate(values) == pytest.approx(link.evaluate(values))


def test_prompt_and_compiler_read_links_alike():
    import specdsl
    from specdsl import links

    text = "LOG(powerlaw_1.norm) + p1^2 - 3"
    model = specdsl.compile("powerlaw + powerlaw", links={"powerlaw_2.PhoIndex": text})
    compiled = model.parameters[2].link  # resolved by the compiler
    names = {p.name: p.index for p in model.parameters}
    prompt = LinkExpression.parse(text, len(names), names, bare_integers=False)
    by_name = {"powerlaw_1.PhoIndex": 1.5, "powerlaw_1.norm": 100.0}
    by_index = {names[name]: value for name, value in by_name.items()}

    assert prompt.references == {1, 2}
    assert float(links.evaluate(compiled, by_name)) == pytest.approx(1.25)
    assert prompt.evaluate(by_index) == pytest.approx(1.25)


@pytest.mark.parametrize(
    "text, message",
    [
        ("__import__('os')", "invalid character"),
        ("p1.__class__", "unknown parameter"),
        ("(lambda x: x)(1)", "invalid character"),
        ("p1 if p2 else p3", "unexpected 'if'"),
        ("open(p1)", "unknown function"),
        ("p7", "no parameter 7"),
        ("2 +", "cannot read"),
    ],
)
def test_links_are_parsed_not_evaluated(text, message):
    with pytest.raises(ParameterError, match=message) as caught:
        LinkExpression.parse(text, 3)
    assert "^" in str(caught.value)  # a caret under the fault
