"""The prompt's ``energies`` command in XSPEC's forms: several ranges, a file of
edges, ``extend low|high`` and ``reset``; errors, ``save`` and Tab completion."""

from __future__ import annotations

import io
import re
import textwrap

import numpy as np
import pytest
from astropy.io import fits
from conftest import prompt_process
from rich.console import Console

from specdsl.errors import OGIPError, ParameterError
from specdsl.prompt.commands import do_energies
from specdsl.prompt.inputs import ScriptInput
from specdsl.prompt.responses import (
    XSPEC_RANGES,
    EnergyGrid,
    ExtendedEnergies,
    Extension,
    energy_fields,
    parse_ranges,
    read_energy_file,
)
from specdsl.prompt.session import Session
from specdsl.response.observation import Observation

CY15 = "chandra-acis-cy15-fakeit"
# The manual's example file (XSenergies.html): the same grid as
# ``energies .1 10. 2 log 25. 3 lin``.
MANUAL_FILE = (
    "# myEnergyBinning.txt\n.1\n1.0\n10.    # now some linear bins\n15.\n20.\n25.\n"
)


def run(tmp_path, script: str, session: Session | None = None):
    """Run a script in-process; returns the session and what it printed."""
    if session is None:
        console = Console(file=io.StringIO(), width=200, color_system=None)
        session = Session(console, cwd=tmp_path)
    lines = textwrap.dedent(script).lstrip("\n").splitlines()
    session.run(ScriptInput(lines, session.console))
    return session, session.console.file.getvalue()


def ranges(text: str, saved=XSPEC_RANGES) -> np.ndarray:
    return parse_ranges(energy_fields(text), saved)[0].edges()


@pytest.fixture(scope="module")
def cy15(shared_data):
    folder = shared_data / CY15
    rmf, arf = folder / "aciss_aimpt_cy15.rmf", folder / "aciss_aimpt_cy15.arf"
    return rmf, arf, Observation.from_response(rmf, arf)


# --- ranges -------------------------------------------------------------------------


def test_one_range_and_xspec_defaults():
    np.testing.assert_array_equal(ranges("0.5 8 60 log"), np.geomspace(0.5, 8, 61))
    np.testing.assert_array_equal(ranges("0.5 8 60 lin"), np.linspace(0.5, 8, 61))
    # Nothing given: XSPEC's initial 0.1-10 keV in 1000 linear bins.
    np.testing.assert_array_equal(ranges(""), np.linspace(0.1, 10.0, 1001))


def test_several_ranges_continue_from_the_previous_high_edge():
    got = ranges("0.1 1 10 log 10 5 lin 20 3 log")
    expected = np.concatenate(
        [
            np.geomspace(0.1, 1.0, 11),
            np.linspace(1.0, 10.0, 6)[1:],
            np.geomspace(10.0, 20.0, 4)[1:],
        ]
    )
    np.testing.assert_allclose(got, expected, rtol=1e-14)
    assert got.size == 10 + 5 + 3 + 1 and np.all(np.diff(got) > 0)
    assert {1.0, 10.0} <= set(got.tolist())  # the joins are exact edges


def test_missing_words_keep_the_values_last_entered(tmp_path):
    session, _ = run(tmp_path, "energies 0.1 1 10 log 10 5 lin")
    assert len(session.energy_ranges) == 2
    # Commas or '/' keep a value; one range given: the second one is dropped.
    session, _ = run(tmp_path, "energies ,, 20", session)
    np.testing.assert_array_equal(session.dummy_grid.edges(), np.geomspace(0.1, 1, 21))
    # A new second range takes the first one's nBins and binning.
    session, _ = run(tmp_path, "energies / / / / 4", session)
    expected = np.concatenate([np.geomspace(0.1, 1, 21), np.geomspace(1, 4, 21)[1:]])
    np.testing.assert_allclose(session.dummy_grid.edges(), expected, rtol=1e-14)


def test_dummyrsp_after_a_dummy_grid_of_ranges_takes_its_span(tmp_path):
    session, _ = run(tmp_path, "energies 0.2 2 5 log 9 4 lin\ndummyrsp / / 30")
    assert session.errors == 0
    assert session.dummy_grid == EnergyGrid(0.2, 9.0, 30, True)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("0.1 x 10 log", "highE 'x' is not a number"),
        ("1 2 3 lag", "binning must be log or lin, got 'lag'"),
        ("1 2 2.5 log", "nBins '2.5' is not a whole number"),
        ("-1 2 3 lin", "lowE '-1' must be >= 0 keV"),
        ("2 1 10 log", "highE 1 must be above 2"),
        ("0 1 10 log", "log bins need lowE > 0 keV"),
        ("0.1 1 10 log 0.5 5 lin", "highE of range 2 0.5 must be above 1"),
        ("0.1 1 10 log 10 five lin", "nBins of range 2 'five' is not a whole"),
        ("0.1 1 10 log 10 5 lim", "binning of range 2 must be log or lin, got 'lim'"),
        ("0.1 1 10 log / 5 lin", "give highE of range 2 (it starts at 1)"),
        ("0.1 1 15000 log 10 15000 lin", "30000 bins in all"),
    ],
)
def test_range_errors_name_the_bad_word(arguments, message):
    with pytest.raises(ParameterError) as caught:
        ranges(arguments)
    assert message in str(caught.value)


def test_the_built_in_response_keeps_its_channels(tmp_path):
    session, _ = run(tmp_path, "response default\nenergies 0.5 5 10 lin")
    assert not session.dummy_active and session.energies == EnergyGrid(
        0.5, 5, 10, False
    )
    observation = session.observation()
    assert observation.n_channels == Observation.default(exposure=1.0).n_channels
    np.testing.assert_array_equal(observation.energy_edges, np.linspace(0.5, 5, 11))


# --- a file of edges ----------------------------------------------------------------


def test_file_of_edges_is_the_manuals_example(tmp_path):
    path = tmp_path / "myEnergyBinning.txt"
    path.write_text(MANUAL_FILE)
    grid = read_energy_file(path)
    np.testing.assert_array_equal(grid.edges(), [0.1, 1.0, 10.0, 15.0, 20.0, 25.0])
    same = ranges(".1 10. 2 log 25. 3 lin")
    np.testing.assert_allclose(grid.edges(), same, rtol=1e-14)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.1\n1\nabc\n", "line 3: 'abc' is not a number"),
        ("0.1\n1 2\n", "line 2: '1 2' is not a number"),
        (
            "# edges\n0.1\n\n4\n3\n",
            "line 5: 3 is not above the edge before it (4 on line 4)",
        ),
        ("0.1\n1\n1\n", "line 3: 1 is not above"),
        ("0.1\n-1\n", "line 2: -1 is not an energy >= 0 keV"),
        ("# only one\n2.0\n", "1 edge read; a grid needs at least 2"),
        ("# nothing\n\n", "0 edges read"),
    ],
)
def test_file_errors_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "edges.txt"
    path.write_text(text)
    with pytest.raises(OGIPError) as caught:
        read_energy_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_missing_file_is_one_panel_and_the_session_goes_on(tmp_path):
    session, screen = run(tmp_path, "energies nothere.txt\nenergies 1 2 4 lin")
    assert f"{tmp_path / 'nothere.txt'}: energy file not found" in screen
    assert session.errors == 1
    np.testing.assert_array_equal(session.dummy_grid.edges(), [1.0, 1.25, 1.5, 1.75, 2])


# --- extend and reset ---------------------------------------------------------------


def test_extend_adds_bins_beyond_the_response(tmp_path, cy15):
    rmf, arf, plain = cy15
    own = np.asarray(plain.energy_edges)
    script = f"response {rmf}\narf {arf}\nenergies extend high 50 20 log"
    session, screen = run(tmp_path, script)
    high = np.geomspace(own[-1], 50.0, 21)[1:]
    edges = np.asarray(session.observation().energy_edges)
    np.testing.assert_allclose(edges, np.concatenate([own, high]), rtol=1e-14)
    assert "extend high 50 20 log (1044 bins, 0.255-50 keV)" in screen

    session, _ = run(tmp_path, "energies extend low 0.05 10 lin", session)
    observation = session.observation()
    low = np.linspace(0.05, own[0], 11)[:-1]
    expected = np.concatenate([low, own, high])
    np.testing.assert_allclose(observation.energy_edges, expected, rtol=1e-14)

    # The response's own bins fold as before; the extension folds to nothing.
    matrix = np.asarray(observation.redistribution)
    folded = np.asarray(plain.effective_area)[:, None] * np.asarray(
        plain.redistribution
    )
    np.testing.assert_allclose(matrix[10:-20], folded, rtol=1e-12)
    assert not matrix[:10].any() and not matrix[-20:].any()


def test_extend_defaults_inside_the_response_and_without_one(tmp_path, cy15):
    rmf, _, plain = cy15
    top = float(plain.energy_edges[-1])
    session, screen = run(tmp_path, "energies extend")
    assert "No spectra loaded, nothing to extend." in screen
    assert session.energies is None

    session, _ = run(tmp_path, f"response {rmf}\nenergies extend", session)
    edges = np.asarray(session.observation().energy_edges)  # high, 100 keV, 200 log
    np.testing.assert_allclose(edges[-201:], np.geomspace(top, 100.0, 201), rtol=1e-14)

    # The values entered become the defaults; an energy inside adds nothing.
    session, screen = run(tmp_path, "energies extend high 5 10 lin", session)
    assert "5 keV is not beyond the response's top edge" in screen
    np.testing.assert_array_equal(
        session.observation().energy_edges, plain.energy_edges
    )
    assert str(session.extension_default) == "high 5 10 lin"

    with pytest.raises(ParameterError, match="log bins need E > 0 keV"):
        do_energies(session, "extend low 0 10 log")
    with pytest.raises(ParameterError, match="say low or high first, got 'middle'"):
        do_energies(session, "extend middle 20")


def test_ranges_turn_extensions_off_and_reset_restores_the_response(tmp_path, cy15):
    rmf, _, plain = cy15
    session, _ = run(tmp_path, f"response {rmf}\nenergies extend high 20 5 log")
    assert isinstance(session.energies, ExtendedEnergies)
    session, _ = run(tmp_path, "energies 0.5 5 10 lin", session)
    assert session.energies == EnergyGrid(0.5, 5.0, 10, False)
    np.testing.assert_array_equal(
        session.observation().energy_edges, np.linspace(0.5, 5, 11)
    )
    session, screen = run(tmp_path, "energies reset", session)
    assert session.energies is None and "no extensions" in screen
    np.testing.assert_array_equal(
        session.observation().energy_edges, plain.energy_edges
    )


def test_reset_gives_the_dummy_back_the_grid_dummyrsp_set(tmp_path):
    session, screen = run(tmp_path, "energies 0.1 10 100 log\nenergies reset")
    assert session.errors == 0 and session.dummy_grid == EnergyGrid()
    assert "dummy response: 0.01 100 200 log (diagonal)" in screen

    script = "dummyrsp 1 5 40 lin\nenergies 0.1 10 100 log\nenergies reset"
    session, _ = run(tmp_path, script)
    assert session.dummy_grid == EnergyGrid(1.0, 5.0, 40, False)
    np.testing.assert_allclose(
        session.observation().energy_edges, np.linspace(1, 5, 41), rtol=1e-15
    )


# --- save and @file -----------------------------------------------------------------


def saved_and_reloaded(tmp_path, script: str):
    """Run ``script``, save, reload the .xcm in a new session: both sessions."""
    session, _ = run(tmp_path, script + "\nsave files grid.xcm")
    lines = (tmp_path / "grid.xcm").read_text().splitlines()
    again, _ = run(tmp_path, "@grid.xcm")
    return session, again, lines


def test_save_reproduces_ranges_and_extensions(tmp_path, cy15):
    rmf, _, _ = cy15
    first, again, lines = saved_and_reloaded(
        tmp_path, f"response {rmf}\nenergies 0.123456789 1 7 log 7.7 13 lin"
    )
    assert "energies 0.123456789 1 7 log 7.7 13 lin" in lines  # exact numbers
    np.testing.assert_array_equal(
        again.observation().energy_edges, first.observation().energy_edges
    )

    script = (
        f"response {rmf}\nenergies extend low 0.1 8 log\nenergies extend high 30 9 lin"
    )
    first, again, lines = saved_and_reloaded(tmp_path, script)
    assert [line for line in lines if line.startswith("energies")] == [
        "energies extend low 0.1 8 log",
        "energies extend high 30 9 lin",
    ]
    np.testing.assert_array_equal(
        again.observation().energy_edges, first.observation().energy_edges
    )


def test_save_reproduces_dummy_grids_of_ranges_and_files(tmp_path):
    (tmp_path / "edges.txt").write_text(MANUAL_FILE)
    for script in ("energies 0.2 2 5 log 9 4 lin", "energies edges.txt"):
        first, again, lines = saved_and_reloaded(tmp_path, script)
        assert lines[0].startswith("dummyrsp ") and lines[1].startswith("energies ")
        assert again.dummy_active
        np.testing.assert_array_equal(
            again.observation().energy_edges, first.observation().energy_edges
        )
    assert lines[1] == f"energies {tmp_path / 'edges.txt'}"


def test_save_under_the_dummy_keeps_the_real_responses_grid_first(tmp_path, cy15):
    rmf, _, _ = cy15
    script = f"response {rmf}\nenergies 0.5 5 10 log\ndummyrsp 0.1 10 50 log"
    first, again, lines = saved_and_reloaded(tmp_path, script)
    assert lines[-2:] == ["energies 0.5 5 10 log", "dummyrsp 0.1 10 50 log"]
    np.testing.assert_array_equal(
        again.observation().energy_edges, np.geomspace(0.1, 10, 51)
    )

    # The response given again gets the grid energies gave it, in both sessions.
    for session in (first, again):
        run(tmp_path, f"response {rmf}", session)
        assert session.errors == 0 and not session.dummy_active
        np.testing.assert_allclose(
            session.observation().energy_edges, np.geomspace(0.5, 5, 11), rtol=1e-15
        )


def test_save_keeps_dummyrsp_apart_from_the_grid_energies_gave_the_dummy(tmp_path):
    script = "dummyrsp 0.2 10 100 lin 0 0.05\nenergies 0.1 5 100 lin 10 50 log"
    first, again, lines = saved_and_reloaded(tmp_path, script)
    assert lines[:2] == script.splitlines()
    np.testing.assert_array_equal(
        again.observation().energy_edges, first.observation().energy_edges
    )

    for session in (first, again):
        run(tmp_path, "energies reset", session)
        assert session.dummy_grid == EnergyGrid(0.2, 10.0, 100, False)
        assert session.dummy_channels == (0.0, 0.05)


# --- completion ---------------------------------------------------------------------


def test_completion_offers_the_energies_keywords(tmp_path):
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from specdsl.prompt.completion import PromptCompleter

    (tmp_path / "edges.txt").write_text(MANUAL_FILE)
    completer = PromptCompleter(Session(cwd=tmp_path))

    def complete(text):
        found = completer.get_completions(Document(text), CompleteEvent())
        return [c.text for c in found]

    assert complete("energies ") == ["extend", "reset"]
    assert complete("en e")[0] == "extend"  # then any paths starting with e
    assert complete("energies res")[0] == "reset"
    assert complete(f"energies {tmp_path}/ed") == ["ges.txt"]
    assert complete("energies extend ") == ["low", "high"]
    assert complete("energies extend h") == ["high"]
    assert complete("energies extend high 50 20 l") == ["log", "lin"]
    assert complete("energies 0.1 1 10 ") == ["log", "lin"]
    assert complete("energies 0.1 1 10 log 10 5 li") == ["lin"]
    assert complete("energies 0.1 1 ") == []


# --- a whole session through a pipe -------------------------------------------------


def test_energies_forms_then_fakeit_through_a_pipe(tmp_path):
    (tmp_path / "edges.txt").write_text(MANUAL_FILE)
    script = """\
energies 0.5 2 15 log 8 30 lin
model powerlaw
2
0.01
fakeit
n

ranges.fak
1000
energies edges.txt
fakeit
n

file.fak
500
energies reset
exit
"""
    done = prompt_process(tmp_path, script)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "model energies: 0.5 2 15 log 8 30 lin (45 bins" in done.stdout

    edges = np.concatenate([np.geomspace(0.5, 2, 16), np.linspace(2, 8, 31)[1:]])
    for name, grid, exposure in (
        ("ranges.fak", edges, 1000.0),
        ("file.fak", np.array([0.1, 1.0, 10.0, 15.0, 20.0, 25.0]), 500.0),
    ):
        with fits.open(tmp_path / name) as hdus:
            counts = np.asarray(hdus[1].data["COUNTS"], dtype=np.float64)
            assert hdus[1].header["EXPOSURE"] == exposure
        expected = exposure * 0.01 * (1 / grid[:-1] - 1 / grid[1:])  # index 2
        assert counts.shape == expected.shape
        np.testing.assert_allclose(counts, expected, rtol=1e-6)


def test_extend_refused_on_a_fake_made_through_the_dummy_changes_nothing(tmp_path):
    script = "dummyrsp 1 2 4\nmodel po\n/*\nfakeit nowrite\nn\n\n\n10"
    session, screen = run(tmp_path, script + "\nenergies extend high 5 3 lin")
    assert session.fake is not None and session.fake.through_dummy
    assert "give a response file (response <file>)" in screen
    assert session.errors == 1 and session.energies is None
    assert session.extension_default == Extension()


def test_show_data_names_the_dummy_response_once(tmp_path):
    _, screen = run(tmp_path, "dummyrsp 0.5 8 60 log\nshow data")

    shown = screen.split("specdsl> show data")[1]
    assert re.findall(r"^response +(.+?) *$", shown, re.M) == [
        "dummy, 0.5 8 60 log (diagonal)"
    ]
    assert re.search(r"^channels +60 \(1-60\), 60 energy bins 0.5-8 keV", shown, re.M)
