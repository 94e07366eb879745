"""The interactive ``specdsl fakeit`` prompt: scripted sessions, errors, Ctrl-C,
XSPEC's fakeit files, completion and the terminal path (prompt_toolkit)."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from conftest import prompt_process
from rich.console import Console

from specdsl.prompt import run_prompt
from specdsl.prompt.commands import lookup
from specdsl.prompt.inputs import ScriptInput, history_path
from specdsl.prompt.responses import EnergyGrid, dummy_response, regrid
from specdsl.prompt.session import Session, canonical_expression
from specdsl.response.observation import DIAGONAL_LABEL, Observation

CY15 = "chandra-acis-cy15-fakeit"


def console() -> Console:
    return Console(file=io.StringIO(), width=100, color_system=None)


def wide_console() -> Console:
    return Console(file=io.StringIO(), width=400, color_system=None)


def run(tmp_path, script: str, session: Session | None = None):
    """Run a script in-process; returns the session and what it printed."""
    session = session or Session(console(), cwd=tmp_path)
    lines = textwrap.dedent(script).lstrip("\n").splitlines()
    session.run(ScriptInput(lines, session.console))
    return session, session.console.file.getvalue()


def header_and_data(path):
    with fits.open(path) as hdus:
        return hdus[1].header.copy(), hdus[1].data.copy()


def powerlaw_flux(edges, index, norm):
    """Photons cm^-2 s^-1 per bin of a power law, integrated exactly."""
    return norm * np.diff(edges ** (1.0 - index)) / (1.0 - index)


def child_environment(tmp_path) -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="100", TERM="dumb")
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    return env


# --- a whole session through a pipe ------------------------------------------------


def test_scripted_session_through_a_pipe(tmp_path, near_data):
    data = near_data / "chandra-acis-3c273" / "3c273.pi"
    script = f"""\
data {data}
model tbabs*(powerlaw+gaussian)
0.03
1.7
1e-3
/
/*
newpar 5 0.05
newpar 6 = p3 * 0.01
fakeit
y

3c.fak
40000 0 80000
show data
plot
save all sess.xcm
fakeit nowrite
n
/

/
show data
model none
@sess.xcm
show data
show parameters
exit
"""
    done = prompt_process(tmp_path, script, env=child_environment(tmp_path))
    screen = done.stdout
    assert done.returncode == 0, screen + done.stderr

    for echoed in (
        "specdsl> data ",
        "1:TBabs:nH> 0.03",
        "3:powerlaw:norm> 1e-3",
        "4:gaussian:LineE> /",
        "5:gaussian:Sigma> /*",
        " Use counting statistics in creating fake data? (y): y",
        " Fake data file name (3c273.fak): 3c.fak",
        " Exposure time, correction norm, bkg exposure time (38564.6, 0.00000, "
        "38564.6): 40000 0 80000",
        "wrote 3c.fak (type I",
        "wrote 3c_bkg.fak (background",
        "data: 3c.fak (as written) replaces the loaded data",
        "fake data and folded model",
        f"plot written to {tmp_path / '3c.png'}",
        f"saved all to {tmp_path / 'sess.xcm'}",
        # XSPEC: the second fakeit starts from the fake, its name and numbers.
        " Fake data file name (3c.fak): ",
        " Exposure time, correction norm, bkg exposure time (40000.0, 0.00000, "
        "80000.0): /",
        "data: 3c.fak (in memory only) replaces the loaded data",
        "model removed",
        "specdsl> @sess.xcm",
    ):
        assert echoed in screen, echoed
    assert "response file is needed" not in screen  # the fake kept the response

    # show data: the written fake (Poisson counts), the nowrite one (no counting
    # statistics: expected counts), and the written one again after the reload.
    shown = [part.split("specdsl> ")[0] for part in screen.split("> show data")[1:]]
    assert len(shown) == 3
    for table in shown:
        assert re.search(r"^background +3c_bkg\.fak \(80000 s\)", table, re.M)
        assert re.search(r"^exposure +40000 s", table, re.M)
    assert "3c.fak (fake spectrum from fakeit, in" in shown[0]
    assert "(fake spectrum from fakeit nowrite, in memory only)" in shown[1]
    counts = [re.search(r"^counts +(\S+) \(", t, re.M).group(1) for t in shown]
    assert counts[0] == counts[2] and float(counts[0]).is_integer()
    assert not float(counts[1]).is_integer()

    # After the reload the table shows the values typed before it.
    reloaded = screen[screen.index("specdsl> show parameters") :]
    assert "Model TBabs<1>*(powerlaw<2>+gaussian<3>)" in reloaded
    assert "= p3 * 0.01" in reloaded and "0.05" in reloaded and "6.5" in reloaded

    header, table = header_and_data(tmp_path / "3c.fak")
    assert header["FKSRC001"] == "TBabs*(powerlaw+gaussian)"
    assert header["FKRSP001"] == "3c273.rmf" and header["FKARF001"] == "3c273.arf"
    # Links are written as seen from the fake's folder (through the data link),
    # so readers find them.
    for key, name in (("RESPFILE", "3c273.rmf"), ("ANCRFILE", "3c273.arf")):
        assert header[key] == f"data/chandra-acis-3c273/{name}"
        assert (
            linked(tmp_path / "3c.fak", header[key]) == (data.parent / name).resolve()
        )
    assert header["BACKFILE"] == "3c_bkg.fak" and header["EXPOSURE"] == 40000.0
    assert "specdsl parameter gaussian_1.norm = 1e-05" in str(header["HISTORY"])
    assert table["COUNTS"].sum() > 1000
    assert (tmp_path / "3c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The fake was the loaded data when saved: its file, and the response in full.
    saved = (tmp_path / "sess.xcm").read_text().splitlines()
    assert f"data 1:1 {tmp_path / '3c.fak'}" in saved
    assert f"response 1:1 {data.with_name('3c273.rmf')}" in saved
    assert f"arf 1 {data.with_name('3c273.arf')}" in saved
    assert "model  TBabs*(powerlaw+gaussian)" in saved
    assert "= p3 * 0.01" in saved
    assert sorted(p.name for p in tmp_path.glob("*.*")) == [
        "3c.fak", "3c.png", "3c_bkg.fak", "sess.xcm"
    ]  # fmt: skip


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_ctrl_c_stops_a_long_fakeit_and_sigterm_the_session(tmp_path, stop):
    """Ctrl-C stops the command and the session goes on, as in XSPEC; SIGTERM
    (a scheduler, `timeout`) ends the session with 128 + 15."""
    script = """\
dummyrsp 0.1 10 100 log
model powerlaw
/*
newpar 1 uniform(1,3)
fakeit 400000
y

big.fak
1000
show fakeit
model
exit
"""
    child = subprocess.Popen(
        [sys.executable, "-m", "specdsl.cli", "fakeit"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=child_environment(tmp_path),
    )
    child.stdin.write(script)
    child.stdin.close()
    child.stdin = None  # all of it is written; communicate() only reads
    seen = []
    try:
        for line in child.stdout:
            seen.append(line)
            if line.startswith("simulating 400000 spectra"):
                child.send_signal(getattr(signal, stop))
                break
        rest, _ = child.communicate(timeout=120)
    finally:
        child.kill()
    screen = "".join(seen) + rest

    assert [p.name for p in tmp_path.iterdir() if p.name != "xdg"] == []
    if stop == "SIGTERM":
        assert "interrupted: nothing was written" in rest
        assert "no fake spectra yet" not in rest  # no command ran after it
        assert child.returncode == 128 + signal.SIGTERM, screen
        return
    assert "interrupted: the command stopped and nothing was written" in rest
    assert "no fake spectra yet" in rest  # show fakeit ran after the interrupt
    assert "Model powerlaw<1>" in rest  # and so did the next command
    assert child.returncode == 1, screen


# --- errors --------------------------------------------------------------------------


def test_errors_are_panels_and_the_session_goes_on(tmp_path):
    out = console()
    script = io.StringIO(
        "model tbabs*powerlaw\n/*\n"
        "model tbabs*(po+bb\n"
        "model tbabs*powrlaw\n"
        "data missing.pha\n"
        "modle po\n"
        "newpar 2 99\n"
        "newpar 7 1\n"
        "newpar 3 = p3\n"
        "show model\n"
    )
    status = run_prompt(stdin=script, console=out, interactive=False)
    screen = out.file.getvalue()

    assert status == 1
    assert "╭─ model error (stdin, line 3)" in screen
    assert "'(' is never closed" in screen
    assert re.search(r"│     tbabs\*\(po\+bb +│\n│           \^ +│", screen)
    assert "╭─ OGIPError (stdin, line 5)" in screen  # data missing.pha
    assert "unknown model component 'powrlaw'" in screen
    assert "Did you mean powerlaw" in screen
    assert "missing.pha: file not found" in screen
    assert "unknown command 'modle'; did you mean model?" in screen
    assert "powerlaw_1.PhoIndex = 99 is outside its hard limits [-3, 10]" in screen
    assert "no parameter '7'" in screen
    assert "would link parameter 3 to itself" in screen
    # The last command still ran, on the first model, with its values unchanged.
    shown = screen[screen.rindex("Model TBabs<1>*powerlaw<2>") :]
    assert "PhoIndex" in shown and "99" not in shown


def test_interrupted_fakeit_in_process_returns_to_the_prompt(tmp_path, monkeypatch):
    import specdsl.prompt.fakeit as fakeit_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fakeit_module, "_simulate", interrupted)
    session, screen = run(
        tmp_path, "dummyrsp 1 2 4\nmodel po\n/*\nfakeit\ny\n\n\n/\nshow fakeit"
    )
    assert "interrupted: the command stopped and nothing was written" in screen
    assert screen.rstrip().endswith("no fake spectra yet")
    assert session.running and list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_neither_file(tmp_path, shared_data, monkeypatch):
    from specdsl.output import pha

    real = pha.write_pha

    def interrupt_source(path, *args, **kwargs):
        if not str(path).endswith("_bkg.fak"):
            raise KeyboardInterrupt
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pha, "write_pha", interrupt_source)
    bkg = shared_data / "chandra-acis-3c273" / "3c273_bg.pi"
    _, screen = run(
        tmp_path,
        f"dummyrsp 0.1 15 1024 lin\nbackgrnd {bkg}\nmodel po\n/*\n"
        "fakeit\ny\n\nx.fak\n/",
    )
    assert "interrupted" in screen
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_interrupted_rewrite_keeps_the_earlier_pair(
    tmp_path, shared_data, monkeypatch
):
    from specdsl.output import pha

    bkg = shared_data / "chandra-acis-3c273" / "3c273_bg.pi"
    script = f"dummyrsp 0.1 15 1024 lin\nbackgrnd {bkg}\nmodel po\n/*\n"
    session, _ = run(tmp_path, script + "fakeit\ny\n\nx.fak\n/")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(before) == ["x.fak", "x_bkg.fak"]

    real = pha.write_pha

    def interrupt_source(path, *args, **kwargs):
        if Path(path).name == "x.fak":
            raise KeyboardInterrupt
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pha, "write_pha", interrupt_source)
    _, screen = run(tmp_path, script + "fakeit\ny\n\nx.fak\n/", session)

    assert "interrupted: the command stopped and nothing was written" in screen
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_spectrum_without_response_asks_for_one(tmp_path, shared_data):
    folder = shared_data / "chandra-acis-3c273"
    session, screen = run(
        tmp_path,
        f"""
        data {folder / "3c273_bg.pi"}
        model po
        /*
        fakeit nowrite

        {folder / "3c273.rmf"}
        none
        n
        /

        /
        """,
    )
    assert "warning: no response for this spectrum yet" in screen
    assert "***3c273_bg.pi has no response: fakeit needs one" in screen
    assert screen.count("For fake spectrum #1 response file is needed: ") == 2
    assert "   ...and ancillary file: none" in screen
    assert session.last is not None and session.last.counts.shape == (1, 1024)
    assert session.last.exposure == pytest.approx(38564.608926889)  # the data's


# --- fakeit replaces the loaded data, as in XSPEC -----------------------------------


def test_fakeit_replaces_the_loaded_data(tmp_path):
    session, screen = run(
        tmp_path,
        """
        model powerlaw
        /
        10
        fakeit

        n
        p_
        /
        100 1 1
        show data
        fakeit
        maybe
        y


        250
        fakeit nowrite none

        y
        /

        /
        """,
    )
    asked = "For fake spectrum #1 response file is needed: "
    first, second, third = screen.split("specdsl> fakeit")[1:]
    assert asked in first and asked not in second and asked in third
    assert " Fake data file name (p_dummy_rsp.fak): " in second  # the loaded fake
    assert second.count("Use counting statistics") == 2  # 'maybe': asked again
    assert " bkg exposure time (100.000, 1.00000, 1.00000): 250" in second
    # fakeit none: no response or numbers from the data, but its name (XSPEC).
    assert " Fake data file name (p_dummy_rsp.fak): " in third
    assert " bkg exposure time (1.00000, 1.00000, 1.00000): /" in third
    assert "p_dummy_rsp.fak (fake spectrum from fakeit" in first.split("> show")[1]
    assert re.search(r"^exposure +100 s", first, re.M)

    # The second fakeit replaced the file it was based on, and was loaded.
    header, table = header_and_data(tmp_path / "p_dummy_rsp.fak")
    assert header["EXPOSURE"] == 250.0 and header["FKRSP001"] == "dummyrsp"
    assert session.data_name == "p_dummy_rsp.fak" and session.fake.written is False
    assert session.fake.result is session.last and session.last.exposure == 1.0
    # ... until the nowrite one replaced it in memory (the file is unchanged).
    loaded = session.observation()
    np.testing.assert_array_equal(loaded.counts, session.last.counts[0])
    assert loaded.exposure == 1.0 and table["COUNTS"].sum() != loaded.counts.sum()


def test_responses_chosen_after_fakeit_apply_to_the_fake(tmp_path, shared_data):
    folder = shared_data / CY15
    wide = Console(file=io.StringIO(), width=400, color_system=None)  # long paths
    session, screen = run(
        tmp_path,
        f"""
        model powerlaw
        /*
        fakeit nowrite
        /
        y
        /

        /
        response {folder / "aciss_aimpt_cy15.rmf"}
        save all s.xcm
        fakeit ?
        data none
        show data
        """,
        Session(wide, cwd=tmp_path),
    )
    # The fake has the dummy's 200 channels: the RMF (1024) is refused, and
    # the fake keeps its response.
    assert "aciss_aimpt_cy15.rmf [DETCHANS]: channel counts" in screen
    assert session.errors == 1 and session.response_path is None
    assert session.observation() is None  # data none
    saved = (tmp_path / "s.xcm").read_text()
    assert "data" not in saved and "response" not in saved  # the RMF was undone
    assert "dummyrsp 0.01 100 200 log" in saved  # the fake's response
    assert "made with fakeit nowrite and is not a file" in screen
    assert "fakeit [nowrite] [none] [<bkg file>] [N]" in screen  # fakeit ?
    assert "none (fakeit asks; Enter gives the dummy)" in screen  # data none


def test_a_terminal_is_asked_again_for_a_missing_response(tmp_path, shared_data):
    class Terminal(ScriptInput):
        interactive = True  # answers typed at a terminal, not read from a script

    folder = shared_data / "chandra-acis-3c273"
    wide = Console(file=io.StringIO(), width=400, color_system=None)
    session = Session(wide, cwd=tmp_path)
    lines = f"""
        data {folder / "3c273_bg.pi"}
        model po
        /*
        fakeit nowrite

        3c273.rmf
        {folder / "3c273.rmf"}
        nosuch.arf
        none
        n
        /

        /
        """
    lines = textwrap.dedent(lines).strip().splitlines()
    session.run(Terminal(lines, session.console))
    screen = session.console.file.getvalue()

    assert "***3c273_bg.pi has no response: fakeit needs one" in screen
    assert f"***{tmp_path / '3c273.rmf'}: file not found" in screen
    assert f"***{tmp_path / 'nosuch.arf'}: file not found" in screen
    assert screen.count("For fake spectrum #1 response file is needed: ") == 3
    assert screen.count("...and ancillary file: ") == 2
    assert session.errors == 0 and session.observation().rmf_path.name == "3c273.rmf"


def test_a_script_gets_three_answers_for_a_missing_file(tmp_path):
    wide = Console(file=io.StringIO(), width=400, color_system=None)
    session, screen = run(
        tmp_path,
        """
        model po
        /*
        fakeit nosuch_bkg.pi
        fakeit nowrite none
        a.rmf
        b.rmf
        c.rmf
        show data
        """,
        Session(wide, cwd=tmp_path),
    )

    # The missing background is named before any question is asked.
    assert f"{tmp_path / 'nosuch_bkg.pi'} [backgrnd]: file not found" in screen
    assert screen.index("nosuch_bkg.pi") < screen.index("response file is needed")
    # Three wrong names end the command; the next line is a command again.
    assert f"***{tmp_path / 'b.rmf'}: file not found" in screen
    assert f"{tmp_path / 'c.rmf'}: file not found" in screen
    assert screen.count("For fake spectrum #1 response file is needed: ") == 3
    assert session.errors == 2 and session.last is None
    assert "specdsl> show data" in screen


def test_plot_shows_a_spectrum_read_with_data(tmp_path, shared_data):
    folder = shared_data / CY15
    session, screen = run(
        tmp_path,
        f"""
        data {folder / "aciss.fak"}
        model powerlaw
        1.8
        1e-3
        plot
        """,
    )
    assert "data and folded model" in screen and "fake data" not in screen
    assert (tmp_path / "aciss.png").read_bytes()[:4] == b"\x89PNG"
    assert session.last is None  # no fakeit ran

    from specdsl.prompt.fakeit import data_result

    shown = data_result(session)
    observation = Observation.from_pha(folder / "aciss.fak")
    np.testing.assert_array_equal(shown.counts[0], observation.counts)
    edges = np.asarray(observation.energy_edges)
    response = np.asarray(observation.effective_area)[:, None] * np.asarray(
        observation.redistribution
    )
    model = powerlaw_flux(edges, 1.8, 1e-3) @ response * observation.exposure
    np.testing.assert_allclose(shown.expected, model, rtol=1e-4, atol=1e-6)


# --- XSPEC's own fakeit files ---------------------------------------------------------

# How our header differs from XSPEC 12.8's aciss.fak (tests/test_write_pha.py has
# the writer's side): XSPEC writes HDUVERS1; we write the OGIP class keywords.
XSPEC_ONLY = {"HDUVERS1"}
OURS_ONLY = {"HDUCLAS2", "HDUCLAS3", "HDUCLAS4", "HDUVERS", "FILTER"}
SAME = (
    "HDUCLASS HDUCLAS1 TELESCOP INSTRUME CHANTYPE FKRSP001 FKARF001"
    " EXPOSURE TLMIN1 TLMAX1 DETCHANS POISSERR AREASCAL BACKSCAL"
).split()


def linked(spectrum: Path, link: str) -> Path:
    """The file a link in ``spectrum``'s header names, found as readers find it."""
    return (spectrum.parent / link).resolve()


def value_keys(header) -> set[str]:
    return {key for key in header if key not in ("HISTORY", "COMMENT", "")}


def test_fakeit_file_matches_xspecs_key_by_key(tmp_path, near_data):
    folder = near_data / CY15
    session, screen = run(
        tmp_path,
        f"""
        model tbabs*powerlaw
        0.1
        1.8
        1e-3
        fakeit none
        {folder / "aciss_aimpt_cy15.rmf"}
        {folder / "aciss_aimpt_cy15.arf"}
        y

        none.fak
        40000
        data {folder / "aciss.fak"}
        fakeit
        y


        /
        fakeit
        y


        /
        """,
    )
    assert "For fake spectrum #1 response file is needed: " in screen
    assert " Fake data file name (aciss_aimpt_cy15.fak): none.fak" in screen
    assert " Fake data file name (aciss.fak): \n" in screen  # based on the data
    assert "(replacing the existing aciss.fak)" in screen  # a script: no question
    assert "no background: aciss.fak names no background file" in screen
    assert "no background: none given" in screen

    with fits.open(folder / "aciss.fak") as hdus:
        xspec, xspec_columns = hdus[1].header.copy(), hdus[1].columns
        xspec_data = hdus[1].data.copy()
    with fits.open(folder / "test.fak") as hdus:
        xspec_12_12 = hdus[1].header.copy()
    for name in ("none.fak", "aciss.fak"):
        ours, data = header_and_data(tmp_path / name)
        assert [(c.name, c.format) for c in data.columns] == [
            (c.name, c.format) for c in xspec_columns
        ]
        assert value_keys(xspec) - value_keys(ours) == XSPEC_ONLY
        assert value_keys(ours) - value_keys(xspec) == OURS_ONLY
        assert {k: ours[k] for k in SAME} == {k: xspec[k] for k in SAME}
        # XSPEC's fakes lie beside their response; ours name it from tmp_path.
        assert ours["RESPFILE"] == f"data/{CY15}/aciss_aimpt_cy15.rmf"
        for key in ("RESPFILE", "ANCRFILE"):
            assert linked(tmp_path / name, ours[key]) == (folder / xspec[key]).resolve()
        assert ours["FKSRC001"] == "TBabs*powerlaw"  # XSPEC: phabs*zphabs*zpowerlw
        # Links absent in XSPEC are blank; ours say 'none' (see specdsl.output.pha).
        assert (ours["BACKFILE"], ours["CORRFILE"]) == ("none", "none")
        assert (xspec["BACKFILE"], xspec["CORRFILE"]) == ("", "")
        assert 10_000 < data["COUNTS"].sum() < 40_000  # about 24,000 expected

    # CORRSCAL: XSPEC 12.12 writes the norm typed (test.fak), 12.8 its negative.
    ours, data = header_and_data(tmp_path / "none.fak")
    assert ours["CORRSCAL"] == xspec_12_12["CORRSCAL"] == -xspec["CORRSCAL"]
    # Based on the loaded data: its grouping and quality are copied.
    _, data = header_and_data(tmp_path / "aciss.fak")
    np.testing.assert_array_equal(data["GROUPING"], xspec_data["GROUPING"])
    np.testing.assert_array_equal(data["QUALITY"], xspec_data["QUALITY"])


# --- batches, the dummy response and plots --------------------------------------------


@pytest.fixture(scope="module")
def dummy_session(tmp_path_factory):
    """A session on a small diagonal dummy response, with a batch and a plot."""
    folder = tmp_path_factory.mktemp("dummy")
    session, screen = run(
        folder,
        """
        dummyrsp 0.5 8 60 log
        model powerlaw
        2.5
        10
        fakeit
        n

        /
        100
        newpar 1 uniform(1, 3)
        newpar 2 = 0.01 * p1
        xset seed 5
        fakeit 40
        y
        b_
        /
        1000
        xset seed 5
        fakeit 40
        y

        again.fak
        1000
        fakeit nowrite 40
        y


        1000
        plot batch.png
        show fakeit
        """,
        Session(console(), cwd=folder),
    )
    return folder, session, screen


def test_dummy_response_gives_the_model_times_the_exposure(dummy_session):
    folder, _, screen = dummy_session
    assert " Fake data file name (dummy_rsp.fak): /" in screen
    header, table = header_and_data(folder / "dummy_rsp.fak")
    assert header["FKRSP001"] == "dummyrsp" and header["RESPFILE"] == "none"
    assert (header["TELESCOP"], header["CHANTYPE"]) == ("UNKNOWN", "PHA")
    edges = EnergyGrid(0.5, 8.0, 60, True).edges()
    np.testing.assert_allclose(
        table["COUNTS"], 100 * powerlaw_flux(edges, 2.5, 10.0), rtol=1e-6
    )


def test_batch_draws_distributions_and_links(dummy_session):
    folder, _, screen = dummy_session
    assert "wrote b_dummy_rsp.fak (type II, 40 rows" in screen
    header, table = header_and_data(folder / "b_dummy_rsp.fak")
    index, norm = table["powerlaw_1.PhoIndex"], table["powerlaw_1.norm"]

    assert header["HDUCLAS4"] == "TYPE:II" and table["COUNTS"].shape == (40, 60)
    assert np.all((index >= 1) & (index <= 3)) and len(set(index)) == 40
    np.testing.assert_allclose(norm, 0.01 * index)
    # Harder spectra (small index) put more counts above 2 keV.
    hard = table["COUNTS"][:, 30:].sum(axis=1) / table["COUNTS"].sum(axis=1)
    assert np.corrcoef(index, hard)[0, 1] < -0.5


def test_same_seed_gives_the_same_batch(dummy_session):
    folder, _, _ = dummy_session
    _, first = header_and_data(folder / "b_dummy_rsp.fak")
    _, again = header_and_data(folder / "again.fak")
    np.testing.assert_array_equal(first["COUNTS"], again["COUNTS"])
    name = "powerlaw_1.PhoIndex"
    np.testing.assert_array_equal(first[name], again[name])


def test_nowrite_and_plot(dummy_session):
    folder, session, screen = dummy_session
    assert "nowrite: no file" in screen
    assert sorted(p.name for p in folder.glob("*.fak")) == [
        "again.fak", "b_dummy_rsp.fak", "dummy_rsp.fak"
    ]  # fmt: skip
    assert "last fakeit: 40 x 60 channels, exposure 1000 s, nothing written" in screen
    # Each batch left its spectrum 1 loaded; the next one started from it.
    assert " Fake data file name (again.fak): \n" in screen
    assert session.data_name == "again.fak{1}" and not session.fake.written
    assert (folder / "batch.png").read_bytes()[:4] == b"\x89PNG"
    plot = screen[screen.index("fake data and folded model") :]
    assert "*" in plot and "-" in plot and "8 keV" in plot
    assert "* fake data   - folded model" in plot  # the legend, not an axis label


def test_parameter_prompt_answers(tmp_path):
    session, screen = run(
        tmp_path,
        """
        model tbabs*(powerlaw+powerlaw)
        /
        1.5,,-1,-1,5,5
        = p2
        /*
        newpar 5 12
        """,
    )
    table = session.table
    assert table.get(1).value == 1.0  # '/' kept the default
    assert table.get(2).fields() == (1.5, 0.01, -1.0, -1.0, 5.0, 5.0)
    assert str(table.get(3).link) == "p2" and table.values()["powerlaw_1.norm"] == 1.5
    assert "4:powerlaw:PhoIndex> /*" in screen
    assert "5:powerlaw:norm>" not in screen  # '/*' kept the rest
    assert table.get(5).value == 12.0


# --- commands, completion, the terminal ---------------------------------------------


def test_xspec_abbreviations():
    names = {w: (lookup(w).name if lookup(w) else None) for w in (
        "mo", "mod", "model", "new", "newpar", "fa", "da", "resp", "back", "du",
        "en", "pl", "sa", "sh", "q", "ab", "xs", "n", "re", "m",
    )}  # fmt: skip
    assert names == {
        "mo": "model", "mod": "model", "model": "model", "new": "newpar",
        "newpar": "newpar", "fa": "fakeit", "da": "data", "resp": "response",
        "back": "backgrnd", "du": "dummyrsp", "en": "energies", "pl": "plot",
        "sa": "save", "sh": "show", "q": "quit", "ab": "abund", "xs": "xsect",
        "n": None, "re": None, "m": None,
    }  # fmt: skip


def test_settings_source_and_help(tmp_path):
    from specdsl.library import settings

    before = settings.abundance()
    try:
        script = (
            "abund angr\nxsect bcmc\nmodel po\n/*\nsource\nhelp\n"
            "fakeit none\n\ny\n\ns.fak\n\n"
        )
        session, screen = run(tmp_path, script)
        assert settings.abundance() == "angr" and session.settings["abund"] == "angr"
        with fits.open(tmp_path / "s.fak") as hdus:
            history = str(hdus[1].header["HISTORY"])
        assert "specdsl abund angr, xsect vern" in history  # bcmc is refused
    finally:
        settings.set_abundance(before)
    assert "cross sections 'bcmc' are not available" in screen
    assert "def model(" in screen
    assert "fa[keit]" in screen and "new[par]" in screen
    help_text = screen[screen.index("specdsl> help") :]
    assert "uniform(1,3))" in help_text  # the whole summary, not its first line


def test_completion_of_commands_components_parameters_and_paths(tmp_path):
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from specdsl.prompt.completion import AnswerCompleter, PromptCompleter, highlight

    session, _ = run(tmp_path, "model tbabs*powerlaw\n/*")
    (tmp_path / "src.pha").write_text("")
    completer = PromptCompleter(session)

    def complete(text):
        found = completer.get_completions(Document(text), CompleteEvent())
        return [c.text for c in found]

    assert complete("fa") == ["fakeit"]
    assert "powerlaw" in complete("model tbabs*(po")
    assert "2" in complete("newpar ") and "powerlaw_1.PhoIndex" in complete("newpar ")
    assert complete("newpar 2 unif") == ["uniform("]
    assert complete(f"data {tmp_path}/sr") == ["c.pha"]
    assert complete("show mo") == ["model"]
    (tmp_path / "my data").mkdir()
    (tmp_path / "my data" / "obs one.pha").write_text("")
    assert complete(f"data {tmp_path}/my data/ob") == ["s one.pha"]
    assert complete(f'data 1:1 "{tmp_path}/my data/ob') == ["s one.pha"]
    answers = AnswerCompleter().get_completions(
        Document(f"{tmp_path}/my data/o"), CompleteEvent()
    )
    assert [c.text for c in answers] == ["bs one.pha"]

    styles = dict((text, style) for style, text in highlight("model tbabs*powrlaw"))
    assert styles["model"] == "bold ansicyan"
    assert styles["tbabs"] == "ansigreen" and styles["powrlaw"] == "ansired underline"
    assert highlight("frob x")[1] == ("ansired", "frob")


def test_terminal_session_with_history_and_ctrl_c(tmp_path):
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    history = tmp_path / "data" / "history"
    with create_pipe_input() as keys:
        keys.send_text("mo po\r\r/*\rshow mo\r\x03sh\r\x04")
        session = Session(console(), cwd=tmp_path)
        from specdsl.prompt.inputs import InteractiveInput

        terminal = InteractiveInput(session, history, input=keys, output=DummyOutput())
        session.run(terminal)
    screen = session.console.file.getvalue()

    assert session.model is not None and session.table.get(2).value == 1.0
    assert screen.count("Model powerlaw<1>") == 3  # model, show mo, show
    lines = [line for line in history.read_text().splitlines() if line.startswith("+")]
    assert lines == ["+mo po", "+show mo", "+sh"]  # answers are not in the history


def test_history_file_follows_xdg_and_can_be_overridden(tmp_path, monkeypatch):
    monkeypatch.delenv("SPECDSL_HISTORY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert history_path() == tmp_path / "xdg" / "specdsl" / "history"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert history_path() == tmp_path / ".local" / "share" / "specdsl" / "history"
    monkeypatch.setenv("SPECDSL_HISTORY", str(tmp_path / "h"))
    assert history_path() == tmp_path / "h"


# --- response grids -----------------------------------------------------------------


def test_energies_share_flux_by_overlap(shared_data):
    folder = shared_data / CY15
    observation = Observation.from_response(
        folder / "aciss_aimpt_cy15.rmf", folder / "aciss_aimpt_cy15.arf"
    )
    edges = np.asarray(observation.energy_edges)
    folded = np.asarray(observation.effective_area)[:, None] * np.asarray(
        observation.redistribution
    )
    same = regrid(observation, edges)
    np.testing.assert_allclose(same.redistribution, folded, rtol=1e-12)

    finer = np.sort(np.concatenate([edges, np.sqrt(edges[:-1] * edges[1:])]))
    split = regrid(observation, finer)
    coarse = powerlaw_flux(edges, 1.7, 1.0) @ folded
    fine = powerlaw_flux(finer, 1.7, 1.0) @ np.asarray(split.redistribution)
    np.testing.assert_allclose(fine, coarse, rtol=1e-9, atol=1e-12 * coarse.max())


def test_dummy_channels_of_a_given_width_collect_their_energies():
    observation = dummy_response(EnergyGrid(1.0, 2.0, 10, False), 0.0, 0.25)
    assert observation.n_channels == 8
    matrix = np.asarray(observation.redistribution)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    assert matrix[:, :4].sum() == 0 and matrix[:, 4].sum() == pytest.approx(2.5)


def test_a_script_never_replaces_real_data(tmp_path, shared_data):
    """Only an earlier fake (FKRSP001) is replaced without asking; real data never."""
    import hashlib
    import shutil

    folder = shared_data / "chandra-acis-3c273"
    for name in ("3c273.pi", "3c273_bg.pi", "3c273.rmf", "3c273.arf"):
        (tmp_path / name).symlink_to(folder / name)
    real = tmp_path / "mydata.pi"
    shutil.copyfile(folder / "3c273.pi", real)
    before = hashlib.sha256(real.read_bytes()).hexdigest()

    script = "\n".join(
        [
            "data 3c273.pi",
            "model powerlaw",
            "/*",
            "fakeit",
            "y",
            "",
            "mydata.pi",
            "1000",
            "exit",
            "",
        ]
    )
    result = prompt_process(tmp_path, script)

    screen = result.stdout + result.stderr
    assert "is not a fake spectrum" in screen and "mydata.pi" in screen
    assert hashlib.sha256(real.read_bytes()).hexdigest() == before
    assert not list(tmp_path.glob(".*.tmp"))


def test_prompt_hints_name_the_prompts_commands(tmp_path, shared_data):
    pha2 = shared_data / "chandra-letg-hrc-pha2" / "pha2.gz"

    _, screen = run(tmp_path, f"data {pha2}")

    assert "'pha2.gz{n}' with n from 1 to 2" in screen
    assert "row=" not in screen


def test_prompt_spelling_turns_api_hints_into_commands():
    from specdsl.prompt.commands import prompt_spelling

    hint = "give one with arf=... or leave the ARF out with arf=False"
    assert prompt_spelling(hint) == (
        "give one with 'arf FILE' or leave the ARF out with 'arf none'"
    )
    assert prompt_spelling("rmf='x.rmf'") == "'response x.rmf'"


@pytest.mark.parametrize("count", ["0", "-3"])
def test_fakeit_count_below_one_is_refused(count):
    from specdsl.errors import ParameterError
    from specdsl.prompt.fakeit import parse_options

    with pytest.raises(ParameterError, match=f"at least 1 spectrum, got {count}"):
        parse_options(f"nowrite {count}")
    assert parse_options("nowrite 4").count == 4


def test_a_script_fakes_twice_under_one_name_with_its_background(tmp_path, shared_data):
    data = shared_data / "chandra-acis-3c273" / "3c273.pi"
    once = f"data {data}\nfakeit\ny\n\ntwice.fak\n1000 1 2000\n"
    session, screen = run(tmp_path, f"model powerlaw\n/*\n{once}{once}")

    assert screen.count("wrote twice_bkg.fak") == 2, screen
    assert "(replacing the existing twice.fak)" in screen
    assert "not a fake spectrum" not in screen


def test_a_bad_answer_at_a_parameter_prompt_is_asked_again(tmp_path):
    session, screen = run(tmp_path, "model powerlaw\n100\nabc\n2\n1e-3\n")

    assert "hard limits" in screen and "cannot read 'abc' as a number" in screen
    assert screen.count("1:powerlaw:PhoIndex>") == 3
    values = [state.value for state in session.table]
    assert values == [2.0, 1e-3]
    assert "unknown command" not in screen


def test_backgrnd_none_is_what_the_fake_says(tmp_path, shared_data):
    data = shared_data / "xmm-pn-ngc7793-ulx4" / "PN_spectrum_grp20.fits"
    script = f"data {data}\nbackgrnd none\nmodel powerlaw\n/*\nfakeit\ny\n\nz.fak\n\n"
    session, screen = run(tmp_path, script)

    assert "no background: none in use ('backgrnd none'" in screen
    assert "names no background file" not in screen
    assert not (tmp_path / "z_bkg.fak").exists() and (tmp_path / "z.fak").exists()


def test_dummyrsp_over_loaded_data_keeps_its_exposure_and_name(tmp_path, shared_data):
    data = shared_data / "chandra-acis-3c273" / "3c273.pi"
    script = f"data {data}\ndummyrsp 0.5 8 60 log\nmodel po\n/*\nfakeit\ny\n\n\n\nexit"
    session, screen = run(tmp_path, script)

    assert " Fake data file name (3c273.fak): " in screen
    assert "the dummy response's channels replace the spectrum's" in screen
    assert " Exposure time, correction norm, bkg exposure time (38564.6, " in screen
    with fits.open(tmp_path / "3c273.fak") as hdus:
        assert hdus[1].header["EXPOSURE"] == pytest.approx(38564.6, rel=1e-6)
        assert hdus[1].header["DETCHANS"] == 60  # the dummy's channels
        assert hdus[1].header["FKRSP001"] == "dummyrsp"


def test_energies_after_a_dummy_fake_keep_the_fake_loaded(tmp_path):
    script = (
        "dummyrsp 0.5 10 100 lin\nmodel po\n/*\nfakeit none\n\ny\n\ndummy3.fak\n100"
        "\nenergies 0.1 20 2000 log\nshow data\nfakeit\ny\n\n\n\nexit"
    )
    session, screen = run(tmp_path, script)

    shown = screen.split("specdsl> show data")[1]
    assert re.search(r"^data +dummy3.fak \(fake spectrum", shown, re.M), shown
    assert re.search(r"^exposure +100 s", shown, re.M), shown
    assert screen.count(" Fake data file name (dummy3.fak): ") == 1
    assert " Exposure time, correction norm, bkg exposure time (100.000, " in screen


def test_response_none_removes_the_spectrums_response(tmp_path, shared_data):
    data = shared_data / "chandra-acis-3c273" / "3c273.pi"
    session, screen = run(tmp_path, f"data {data}\nresponse none\nshow data")

    assert "response removed: fakeit will ask for one" in screen
    shown = screen.split("specdsl> show data")[1]
    assert "3c273.rmf" not in shown and "removed with  response none" in shown

    rmf = data.with_name("3c273.rmf")
    script = f"model po\n/*\nfakeit\n{rmf}\nnone\ny\n\nr.fak\n\nexit"
    session, screen = run(tmp_path, script, session)
    assert "For fake spectrum #1 response file is needed: " in screen
    assert (tmp_path / "r.fak").exists() and not session.response_removed


def test_freeze_thaw_and_untie_take_lists_and_links_stay_linked(tmp_path):
    script = "model po+bb\n/*\nfreeze 1 3\nnewpar 4 = p2\nfreeze 4\nthaw 1,3"
    session, screen = run(tmp_path, script)

    assert session.errors == 0, screen
    assert "parameter 4 is linked and cannot be frozen" in screen
    assert [state.frozen for state in session.table] == [False] * 4
    session, screen = run(tmp_path, "freeze 1 - 2 bbody_1.kT\nuntie 4 2", session)
    assert [state.frozen for state in session.table] == [True, True, True, False]
    assert session.table.get(4).link is None

    session, screen = run(tmp_path, "thaw\nfreeze", session)
    assert session.errors == 2
    assert "thaw needs parameter numbers, e.g. thaw 2 or thaw 1-3" in screen
    assert "freeze needs parameter numbers" in screen


def test_a_command_stopped_at_a_question_changes_nothing(tmp_path):
    session, _ = run(tmp_path, "model po\n2\n1e-3\nnewpar 1 1.5\n")
    session, screen = run(tmp_path, "model po+bb\n1.7", session)  # input ends

    assert "the input ended at the question '2:powerlaw:norm>'" in screen
    assert canonical_expression(session.model) == "powerlaw"
    assert [state.value for state in session.table] == [1.5, 1e-3]

    session, screen = run(tmp_path, "newpar 1\n", session)  # ends at the prompt
    assert [state.value for state in session.table] == [1.5, 1e-3]
    session, screen = run(tmp_path, "fakeit none\n\ny\n", session)
    assert "the input ended at the question 'Input optional fake file prefix:'" in (
        screen
    )
    assert list(tmp_path.glob("*.fak")) == []


def test_fakeit_stopped_at_a_question_keeps_the_responses(tmp_path, shared_data):
    data = shared_data / "chandra-acis-3c273" / "3c273.pi"
    session, _ = run(tmp_path, f"data {data}\nresponse none\nmodel po\n/*\n")
    rmf = data.with_name("3c273.rmf")
    session, screen = run(tmp_path, f"fakeit\n{rmf}\nnone\ny\n", session)

    assert "the input ended at the question" in screen
    assert session.response_removed and session.response_path is None
    assert session.arf_choice is None and list(tmp_path.glob("*.fak")) == []


def test_a_missing_response_file_changes_nothing(tmp_path):
    session, screen = run(tmp_path, "response default\nresponse nosuch.rsp")

    assert "nosuch.rsp: file not found" in " ".join(screen.split())
    assert session.builtin_response and session.response_path is None


def test_source_with_a_file_runs_it(tmp_path):
    (tmp_path / "m.xcm").write_text("model powerlaw\n2.1\n1e-2\n")
    session, screen = run(tmp_path, "source m.xcm\nsource")

    assert session.errors == 0, screen
    assert [state.value for state in session.table] == [2.1, 1e-2]
    assert "def model(" in screen


def test_several_spectra_in_one_data_command_are_refused_clearly(tmp_path, shared_data):
    folder = shared_data / "exosat-me-session"
    files = sorted(folder.glob("*.pha"))[:2] or [folder / "a.pha", folder / "b.pha"]
    line = f"data 1:1 {files[0]} 2:2 {files[1]}"
    session, screen = run(tmp_path, line)

    text = " ".join(screen.split())
    assert "one spectrum and one source only, so no 2:2" in text, text
    assert "file not found" not in text and session.data_path is None


def test_a_spectrum_without_its_rmf_is_explained_in_prompt_commands(
    tmp_path, shared_data
):
    data = shared_data / "chandra-hetg-3c120-pha2" / "3c120_heg_1.pha.gz"
    session, screen = run(tmp_path, f"data {data}\nresponse nowhere.rmf")

    text = " ".join(screen.split())
    assert "('response default')" in text and "'response file.rmf'" in text
    assert "Observation.default" not in text and "rmf=" not in text
    assert text.count("which is not there") == 1  # warned once, not again in show
    assert "none yet: give one with response <file>" in text


def test_response_diagonal_fakes_a_spectrum_that_has_only_an_arf(tmp_path, shared_data):
    data = shared_data / "chandra-hetg-3c120-pha2" / "3c120_heg_1.pha.gz"
    script = (
        f"data {data}\nresponse diagonal\nmodel po\n/*\nfakeit\ny\n\nheg.fak\n\n"
        "save files s.xcm\nexit"
    )
    session, screen = run(tmp_path, script)

    assert session.errors == 0, screen
    with fits.open(tmp_path / "heg.fak") as hdus:
        assert hdus[1].header["FKRSP001"] == DIAGONAL_LABEL
        assert hdus[1].header["FKARF001"] == "3c120_heg_1.arf.gz"
        assert hdus[1].data["COUNTS"].sum() > 0
    assert "response 1:1 diagonal\n" in (tmp_path / "s.xcm").read_text()

    again, screen = run(tmp_path, "@s.xcm\nshow data")
    assert again.errors == 0, screen
    assert DIAGONAL_LABEL in screen.split("specdsl> show data")[1]


def test_prompt_fake_carries_the_stokes_selection_of_its_data(tmp_path, shared_data):
    data = shared_data / "ixpe-gpd" / "det1_filt_src_Q.pha"
    script = f"data {data}\nmodel po\n/*\nfakeit\ny\n\nq.fak\n\nexit"
    session, screen = run(tmp_path, script)

    assert session.errors == 0, screen
    assert fits.getheader(tmp_path / "q.fak", "SPECTRUM")["XFLT0001"] == "Stokes:1"


def test_save_keeps_responses_turned_off_and_reloads_them(tmp_path, shared_data):
    data = shared_data / "chandra-acis-3c273" / "3c273.pi"
    script = f"data {data}\nbackgrnd none\narf none\nmodel po\n/*\nxset seed 7\n"
    run(tmp_path, script + "save all bn.xcm")

    text = (tmp_path / "bn.xcm").read_text()
    assert "arf 1 none\n" in text and "backgrnd 1 none\n" in text
    assert "xset seed 7\n" in text
    again, screen = run(tmp_path, "@bn.xcm\nshow data")
    assert again.seed == 7
    shown = screen.split("specdsl> show data")[1]
    assert re.search(r"^arf +none", shown, re.M), shown
    assert re.search(r"^background +none", shown, re.M), shown


def test_a_saved_diagonal_response_reloads_after_its_arf(tmp_path, shared_data):
    folder = shared_data / "chandra-hetg-3c120-pha2"
    script = (
        f"data {folder / '3c120_heg_1.pha.gz'}\narf {folder / '3c120_heg_1.arf.gz'}"
        "\nresponse diagonal\nmodel po\n/*\nsave all h.xcm"
    )
    session, screen = run(tmp_path, script)
    assert session.errors == 0, screen

    text = (tmp_path / "h.xcm").read_text()
    assert text.index("arf 1 ") < text.index("response 1:1 diagonal")
    again, screen = run(tmp_path, "@h.xcm\nshow data")
    assert again.errors == 0, screen
    assert DIAGONAL_LABEL in screen.split("specdsl> show data")[1]


def test_a_single_fakeit_uses_the_shown_value_not_the_distribution(tmp_path):
    script = (
        "dummyrsp 1 10 20\nmodel po\n2\n1e-3\nnewpar 1 uniform(1,3)\n"
        "fakeit none\n\nn\n\none.fak\n100\nfakeit 3\nn\n\nthree.fak\n100\nexit"
    )
    session, screen = run(tmp_path, script)

    assert session.errors == 0, screen
    history = str(fits.getheader(tmp_path / "one.fak", "SPECTRUM")["HISTORY"])
    assert "specdsl parameter powerlaw_1.PhoIndex = 2.0" in history
    drawn = fits.getdata(tmp_path / "three.fak", "SPECTRUM")["powerlaw_1.PhoIndex"]
    assert len(set(drawn)) == 3 and all(1 <= value <= 3 for value in drawn)


def test_response_none_ends_the_dummy_and_response_keeps_energies(
    tmp_path, shared_data
):
    data = shared_data / "chandra-acis-3c273" / "3c273.pi"
    script = f"data {data}\ndummyrsp 0.3 10 100\nresponse none\nshow data"
    session, screen = run(tmp_path, script)
    assert not session.dummy_active and session.response_removed
    assert "dummy," not in screen.split("specdsl> show data")[1]

    script = f"data {data}\nenergies 0.1 20 500 log\nresponse\nshow data"
    session, screen = run(tmp_path, script)
    assert "500 energy bins 0.1-20 keV" in screen.split("specdsl> show data")[1]


def test_diagonal_without_an_arf_is_one_error(tmp_path, shared_data):
    data = shared_data / "nustar-fpma-no-rmf"
    pha = sorted(p for p in data.iterdir() if "pha" in p.name or "pi" in p.name)[0]
    session, screen = run(tmp_path, f"data {pha}\narf none\nresponse diagonal")

    assert "going on without it" not in screen.split("response diagonal")[-1]
    assert "needs an ARF" in " ".join(screen.split())


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("plot model", "plot model: this prompt draws plot data"),
        ("plot q.jpg", "plot q.jpg: this prompt draws"),
    ],
)
def test_plot_refuses_what_it_cannot_draw(dummy_session, line, words):
    folder, session, _ = dummy_session
    _, screen = run(folder, line, session)
    assert words in " ".join(screen.split())
    assert not (folder / "q.jpg").exists()


def test_plot_of_a_zero_model_says_so(tmp_path):
    script = "dummyrsp 1 10 20\nmodel po\n2\n0\nfakeit none\n\ny\n\nz.fak\n10"
    script += "\nplot z.png"
    session, screen = run(tmp_path, script)

    assert "the folded model is zero in every channel" in " ".join(screen.split())
    assert "ValueError" not in screen and not (tmp_path / "z.png").exists()


def test_nothing_imports_the_compiler_beside_the_warm_up(monkeypatch):
    import threading

    from specdsl.prompt import completion, warmup

    gate = threading.Event()
    monkeypatch.setattr(warmup.importlib, "import_module", lambda name: gate.wait(5))
    warmup.start()
    assert not warmup.ready()
    assert completion._known_component("notacomponent")  # no import, no wait

    gate.set()
    warmup.wait()
    assert warmup.ready() and not completion._known_component("notacomponent")


def test_xspec_habits_the_prompt_takes(tmp_path, shared_data):
    data = shared_data / "chandra-acis-3c273" / "3c273.pi"
    script = (
        f"data {data}\nresponse default\nmodel po+po\n/*\nnewpar 1 uniform(-5, 20)\n"
        "stat cstat\nsetpl en\nign 1:**-0.5\nfakeit nowrite, 2\ny\n\n\n\n"
        "plot ld p.png\nplot d\n"
    )
    session, screen = run(tmp_path, script)
    text = " ".join(screen.split())

    assert "the built-in response stands in only when no spectrum is loaded" in text
    assert "uniform(-5, 20) reaches past the hard limits [-3, 10]" in text
    for name in ("statistic", "setplot", "ignore"):
        assert f"{name}: does not change a simulated spectrum; ignored" in text
    assert session.last.counts.shape[0] == 2 and not session.fake.written
    assert (tmp_path / "p.png").exists() and "plot d:" not in text
    assert session.errors == 2, screen


def test_save_all_after_a_fake_gives_the_next_fake_again(tmp_path):
    fake = "fakeit none\n\ny\n\n{name}\n1000\n"
    script = "model po\n/*\nxset seed 11\n" + fake.format(name="first.fak")
    session, _ = run(tmp_path, script + "save all s.xcm\nshow\n")
    session, screen = run(tmp_path, fake.format(name="next.fak"), session)
    again, _ = run(tmp_path, "@s.xcm\n" + fake.format(name="again.fak"))

    assert session.errors == again.errors == 0, screen
    assert "seed 11 (the next fakeit draws from " in screen
    counts = {
        name: fits.getdata(tmp_path / f"{name}.fak", "SPECTRUM")["COUNTS"]
        for name in ("first", "next", "again")
    }
    np.testing.assert_array_equal(counts["again"], counts["next"])
    assert not np.array_equal(counts["first"], counts["next"])


def test_scripts_take_tabs_and_errors_name_the_script_line(tmp_path):
    (tmp_path / "tabs.xcm").write_text(
        "model\tTBabs<1>*powerlaw<2>\r\n0.1\t0.001\t0\t0\t100000\t1e+06\r\n"
        "2\r\n1\r\nnewpar\t2\t1.5\r\nabund\tangr\r\nxset\tseed\t4\r\n"
    )
    (tmp_path / "inner.xcm").write_text("newpar 2 0.5\nnewpar 9 1\n")
    session, screen = run(tmp_path, "@tabs.xcm\n@inner\nxset seed -1\n")

    assert session.table.values()["powerlaw_1.PhoIndex"] == 0.5
    assert session.settings["abund"] == "angr" and session.seed == 4
    assert "╭─ ParameterError (inner.xcm, line 2)" in screen
    assert "xset seed needs an integer >= 0, got '-1'" in screen
    assert session.errors == 2


def test_a_table_model_is_found_beside_its_script_and_saved_in_full(
    tmp_path, shared_data
):
    folder = tmp_path / "tables"
    folder.mkdir()
    shutil.copy(shared_data / "xspec-tables-heasoft" / "testpo.mod", folder)
    (folder / "s.xcm").write_text("model atable{testpo.mod}\n/*\nsave model t\n")
    session, screen = run(tmp_path, f"@{folder / 's.xcm'}")

    assert session.errors == 0, screen
    saved = (tmp_path / "t.xcm").read_text()
    assert f"model  atable{{{folder / 'testpo.mod'}}}\n" in saved


def test_names_with_a_row_or_without_gz_are_found_beside_the_script(
    tmp_path, shared_data
):
    folder = tmp_path / "scripts"
    folder.mkdir()
    shutil.copy(shared_data / "rxte-pca-typeII" / "sacmult.pha", folder)
    swift = shared_data / "swift-xrt-pc"
    (folder / "s.xcm").write_text("data sacmult.pha{2}\n")
    session, screen = run(tmp_path, f"@{folder / 's.xcm'}")
    assert session.data_path == folder / "sacmult.pha{2}"

    rmf = swift / "swxpc0to12s6_20130101v014.rmf"  # there only as .rmf.gz
    session, screen = run(tmp_path, f"data none\nresponse {rmf}\n", session)
    assert session.errors == 0, screen
    assert session.response_path == swift / "swxpc0to12s6_20130101v014.rmf.gz"


def test_a_background_on_the_fakeit_line_is_read_before_any_question(
    tmp_path, shared_data
):
    folder = shared_data / "chandra-acis-3c273"
    script = f"model po\n/*\nfakeit {folder / '3c273.rmf'}\ny\nshow data\n"
    session, screen = run(tmp_path, script)

    assert "3c273.rmf [SPECTRUM]: no SPECTRUM extension" in screen
    assert "response file is needed" not in screen
    assert "unknown command 'y'" in screen  # the answer after it is a command
    assert session.errors == 2 and session.last is None


def terminal_session(tmp_path, keys_text: str, session=None) -> Session:
    """A session fed ``keys_text`` as typed at a terminal (prompt_toolkit)."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from specdsl.prompt.inputs import InteractiveInput

    session = session or Session(console(), cwd=tmp_path)
    with create_pipe_input() as keys:
        keys.send_text(keys_text)
        history = tmp_path / "history"
        session.run(
            InteractiveInput(session, history, input=keys, output=DummyOutput())
        )
    return session


def test_lines_pasted_at_once_run_one_by_one(tmp_path):
    paste = "\x1b[200~xset seed 5\nabund angr\nmodel po\n\x1b[201~"
    session = terminal_session(tmp_path, paste + "\r/*\rshow\r\x04")
    screen = session.console.file.getvalue()

    assert session.errors == 0, screen
    assert session.seed == 5 and session.settings["abund"] == "angr"
    assert session.model is not None and "specdsl> abund angr" in screen


def test_ctrl_c_in_a_script_run_from_the_terminal_stops_the_script(tmp_path):
    (tmp_path / "s.xcm").write_text("model po\n/*\nmodel bb\nabund angr\n")
    session = Session(console(), cwd=tmp_path)
    compile_model = session.set_model

    def set_model(expression):
        if expression == "bb":
            raise KeyboardInterrupt  # Ctrl-C while the second model compiles
        return compile_model(expression)

    session.set_model = set_model
    terminal_session(tmp_path, "@s.xcm\rshow\r\x04", session)
    screen = session.console.file.getvalue()

    assert "interrupted: the command stopped" in screen
    assert f"{tmp_path / 's.xcm'}: stopped" in screen
    assert "abund angr" not in screen and session.settings["abund"] == "wilm"
    assert screen.count("Model powerlaw<1>") == 2  # model po, then the terminal's show


def test_a_narrow_terminal_keeps_the_caret_under_the_fault(tmp_path):
    narrow = Console(file=io.StringIO(), width=40, color_system=None)
    session, screen = run(
        tmp_path,
        "model tbabs*(powerlaw+bbodyrad+gaussian+zzzz)\nmodel po\n/*\n"
        "fakeit none\n\ny\n\nn.fak\n1000\nplot\n",
        Session(narrow, cwd=tmp_path),
    )

    lines = screen.splitlines()
    shown = next(
        i for i, line in enumerate(lines) if line.startswith("│ ") and "zzzz)" in line
    )
    assert lines[shown + 1].index("^") == lines[shown].index("zzzz")
    panels = [line for line in lines if line[:1] in "│╭╰"]  # echoed lines may wrap
    assert len(panels) > 25 and max(len(line) for line in panels) <= 40
    assert session.errors == 1 and (tmp_path / "n.png").exists()


def test_distributions_past_the_hard_limits_are_refused_before_questions(tmp_path):
    script = (
        "model po\n/*\nnewpar 1 normal(20,0.1)\nnewpar 1 normal(1,1)\n"
        "fakeit none 100000\nfakeit none\ndiagonal\n\n/\n"
    )
    session, screen = run(tmp_path, script, Session(wide_console(), cwd=tmp_path))

    assert "normal(20, 0.1) puts a draw past the hard limits [-3, 10]" in screen
    assert "about 3.17 of 100000 spectra" in screen
    assert screen.count("response file is needed") == 1  # only the last fakeit's
    assert "***the diagonal response is built on an ARF" in screen
    assert session.table.get(1).distribution is not None and session.last is None
