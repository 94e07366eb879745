"""Streamed jobs: parts on disk, resuming after a kill, .npy output, tables, designs."""

import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from astropy.io import fits
from scipy.special import ndtri

import specdsl
from specdsl.errors import OutputError, ParameterError
from specdsl.fold import FoldedModel
from specdsl.output.pha import SpectrumTableWriter
from specdsl.output.stream import (
    open_counts,
    plan_parts,
    remove_stale_temporaries,
)
from specdsl.runtime import distributions
from specdsl.runtime.distributions import draw_range, parse_distribution
from specdsl.runtime.fakeit import Simulator
from specdsl.runtime.inputs import build_source
from specdsl.runtime.job import FakeitJob

MODEL = "tbabs*powerlaw"
PARAMS = ["powerlaw_1.PhoIndex=uniform(1,3)", "powerlaw_1.norm=loguniform(0.01,1)"]


def run_job(output, **options):
    options = {"count": 1200, "params": PARAMS, "seed": 13, **options}
    job = FakeitJob(MODEL, output=str(output), **options)
    job.run()
    return job


def read_pha(path):
    with fits.open(path) as hdus:
        data = hdus["SPECTRUM"].data
        names = [n for n in data.columns.names if "." in n]
        return np.array(data["COUNTS"]), {n: np.array(data[n]) for n in names}


def test_parts_together_equal_one_file(tmp_path):
    run_job(tmp_path / "one.pha")
    job = run_job(tmp_path / "split.pha", part_size=500)

    assert [p.name for p in job.written] == [
        "split-0000.pha",
        "split-0001.pha",
        "split-0002.pha",
    ]
    whole, whole_params = read_pha(tmp_path / "one.pha")
    pieces = [read_pha(path) for path in job.written]
    np.testing.assert_array_equal(np.concatenate([c for c, _ in pieces]), whole)
    index = np.concatenate([p["powerlaw_1.PhoIndex"] for _, p in pieces])
    np.testing.assert_array_equal(index, whole_params["powerlaw_1.PhoIndex"])
    with fits.open(job.written[1]) as hdus:
        assert hdus["SPECTRUM"].data["SPEC_NUM"][0] == 501
        assert hdus["SPECTRUM"].header["HDUCLAS4"] == "TYPE:II"


def test_npy_output_is_read_lazily_and_matches_pha(tmp_path):
    run_job(tmp_path / "a.pha")
    job = run_job(tmp_path / "a.npy", part_size=700)

    counts = open_counts(tmp_path / "a.npy")
    assert [type(c) for c in counts] == [np.memmap, np.memmap]
    np.testing.assert_array_equal(
        np.concatenate(counts), read_pha(tmp_path / "a.pha")[0]
    )
    with np.load(tmp_path / "a-0001.params.npz") as params:
        np.testing.assert_array_equal(params["spectrum"], np.arange(700, 1200))
        assert len(str(params["job"])) == 16
    assert [p.name for p in job.written] == ["a-0000.npy", "a-0001.npy"]


def test_existing_parts_need_resume_or_clobber(tmp_path):
    run_job(tmp_path / "r.pha", part_size=500)

    with pytest.raises(OutputError, match="--resume"):
        run_job(tmp_path / "r.pha", part_size=500)
    again = run_job(tmp_path / "r.pha", part_size=500, resume=True)
    assert again.written == [] and len(again.skipped) == 3
    with pytest.raises(OutputError, match="another job"):
        run_job(tmp_path / "r.pha", part_size=500, resume=True, seed=14)
    with pytest.raises(OutputError, match=r"not a part of this job \(.* not 400 "):
        run_job(tmp_path / "r.pha", part_size=400, resume=True)


def test_resume_rewrites_an_npy_part_stopped_between_its_two_files(tmp_path):
    """A stop after the .params.npz was renamed in but before the .npy was."""
    run_job(tmp_path / "n.npy", part_size=500)
    whole = np.concatenate(open_counts(tmp_path / "n.npy"))
    (tmp_path / "n-0001.npy").unlink()  # its .params.npz is left alone

    job = run_job(tmp_path / "n.npy", part_size=500, resume=True)
    assert [p.name for p in job.written] == ["n-0001.npy"]
    np.testing.assert_array_equal(
        np.concatenate(open_counts(tmp_path / "n.npy")), whole
    )

    # An unpaired .params.npz of another job is not this job's to remove.
    for name in ("n-0000.npy", "n-0000.params.npz", "n-0001.npy", "n-0002.npy"):
        (tmp_path / name).unlink()
    (tmp_path / "n-0002.params.npz").unlink()
    with pytest.raises(OutputError, match="n-0001.params.npz already exists"):
        run_job(tmp_path / "n.npy", part_size=500, resume=True, seed=99)


def test_resuming_one_spectrum_says_there_is_nothing_to_resume(tmp_path):
    run_job(tmp_path / "one.pha", count=1)
    before = (tmp_path / "one.pha").read_bytes()

    with pytest.raises(OutputError, match="one spectrum is written in a single step"):
        run_job(tmp_path / "one.pha", count=1, resume=True)
    assert (tmp_path / "one.pha").read_bytes() == before
    run_job(tmp_path / "one.pha", count=1, resume=True, clobber=True, seed=2)
    assert (tmp_path / "one.pha").read_bytes() != before


def _cli(output, *extra):
    command = [sys.executable, "-m", "specdsl.cli", "fakeit", "--model", MODEL]
    for item in PARAMS:
        command += ["--param", item]
    command += ["--count", "12000", "--part-size", "500", "--seed", "5"]
    return [*command, "--output", str(output), *extra]


def _wait_for_parts(folder, at_least, process):
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if len(list(folder.glob("k-*.pha"))) >= at_least:
            return
        time.sleep(0.02)
    raise AssertionError("the job did not write its first parts in time")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_killed_job_leaves_complete_files_and_resumes(tmp_path, how):
    folder = tmp_path / "run"
    folder.mkdir()
    process = subprocess.Popen(
        _cli(folder / "k.pha"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _wait_for_parts(folder, 2, process)
    os.kill(process.pid, how)
    process.communicate(timeout=60)

    visible = sorted(folder.glob("k-*.pha"))
    assert 2 <= len(visible) < 24
    for path in visible:
        with fits.open(path) as hdus:
            assert hdus["SPECTRUM"].data["COUNTS"].shape == (500, 1024)
    hidden = [p for p in folder.iterdir() if p.name.startswith(".")]
    if how == signal.SIGTERM:
        assert hidden == []  # Ctrl-C-like cleanup
    kept = {path.name: path.stat().st_ino for path in visible}

    resumed = subprocess.run(_cli(folder / "k.pha", "--resume"), capture_output=True)
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(p.name for p in folder.iterdir()) == [
        f"k-{i:04d}.pha" for i in range(24)
    ]
    for name, inode in kept.items():
        assert (folder / name).stat().st_ino == inode  # not written again

    for k in (0, 7, 23):
        first = 500 * k
        counts = read_pha(folder / f"k-{k:04d}.pha")[0]
        np.testing.assert_array_equal(counts, _simulated(first, first + 500))


def _simulated(first, stop):
    """Spectra first..stop-1 of the CLI job above, computed here directly."""
    model = specdsl.compile(MODEL)
    source = build_source(model, 12000, PARAMS, seed=5)
    folded = FoldedModel(model, specdsl.Observation.default())
    blocks = Simulator(folded, 5).blocks(source, first, stop)
    return np.concatenate([block for _, block, _ in blocks])


def test_table_file_columns_become_parameters(tmp_path):
    index = np.array([1.5, 2.0, 2.5, 3.0])
    norm = np.array([0.1, 0.2, 0.3, 0.4])
    csv = tmp_path / "p.csv"
    csv.write_text(
        "powerlaw_1.PhoIndex,POWERLAW_1.norm\n"
        + "".join(f"{a},{b}\n" for a, b in zip(index, norm, strict=True))
    )
    np.savez(tmp_path / "p.npz", **{"powerlaw_1.PhoIndex": index, "3": norm})
    structured = np.zeros(
        4, dtype=[("powerlaw_1.PhoIndex", "f8"), ("powerlaw_1.norm", "f8")]
    )
    structured["powerlaw_1.PhoIndex"], structured["powerlaw_1.norm"] = index, norm
    np.save(tmp_path / "p.npy", structured)

    direct = specdsl.fakeit(
        specdsl.Observation.default(),
        MODEL,
        {"powerlaw_1.PhoIndex": index, "powerlaw_1.norm": norm},
        seed=3,
    )
    for name in ("p.csv", "p.npz", "p.npy"):
        out = tmp_path / f"{name}.pha"
        job = FakeitJob(
            MODEL, count=None, table=str(tmp_path / name), seed=3, output=str(out)
        )
        job.run()
        counts, params = read_pha(out)
        assert job.count == 4
        np.testing.assert_array_equal(params["powerlaw_1.PhoIndex"], index)
        np.testing.assert_array_equal(counts, direct)


def test_table_errors_name_the_file_and_column(tmp_path):
    model = specdsl.compile(MODEL)
    bad = tmp_path / "bad.csv"
    bad.write_text("powerlaw_1.Gamma\n1.0\n")
    with pytest.raises(ParameterError, match="bad.csv.*powerlaw_1.Gamma"):
        build_source(model, None, table=bad)
    low = tmp_path / "low.csv"
    low.write_text("powerlaw_1.norm\n-1\n")
    message = r"low.csv, column powerlaw_1.norm: data row 1, spectrum 1 \(index 0\) "
    with pytest.raises(
        ParameterError, match=message + "gets -1, below the hard limit 0"
    ):
        build_source(model, None, table=low)
    with pytest.raises(ParameterError, match="only 1 rows"):
        build_source(model, 5, table=low)
    typo = tmp_path / "typo.csv"
    typo.write_text("powerlaw_1.norm,powerlaw_1.PhoIndex\n1,2\n1,abc\n")
    with pytest.raises(ParameterError, match="'abc'.* on line 3, column 2"):
        build_source(model, None, table=typo)


def test_a_range_past_a_hard_limit_is_refused_before_any_draw():
    model = specdsl.compile(MODEL)
    with pytest.raises(
        ParameterError, match=r"reaches past the hard limits \[-3, 10\]"
    ):
        build_source(model, 100, ["powerlaw_1.PhoIndex=uniform(-3.001, 1)"])
    with pytest.raises(ParameterError, match="about 0.317 of 10000 spectra"):
        build_source(model, 10_000, ["powerlaw_1.PhoIndex=normal(1, 1)"])
    assert build_source(model, 10, ["powerlaw_1.PhoIndex=normal(1, 1)"]).count == 10


def test_a_draw_past_a_hard_limit_names_the_param_and_spectrum(monkeypatch):
    monkeypatch.setattr(distributions, "MAX_EXPECTED_OUTSIDE", np.inf)  # no check
    model = specdsl.compile(MODEL)
    source = build_source(model, 100, ["powerlaw_1.PhoIndex=uniform(-5, 1)"], seed=3)
    messages = []
    for first in range(0, 100, 10):
        try:
            source(first, first + 10)
        except ParameterError as error:
            messages.append((first, str(error)))

    assert len(messages) > 5  # a third of the draws fall below -3
    for first, message in messages:
        number, index = re.search(
            r"spectrum (\d+) \(index (\d+)\) gets", message
        ).groups()
        assert first <= int(index) < first + 10 and int(number) == int(index) + 1
        assert message.startswith("--param powerlaw_1.PhoIndex=uniform(-5, 1): ")
        assert "below the hard limit -3 of powerlaw_1.PhoIndex" in message


@pytest.mark.parametrize("design", ["sobol", "lhs"])
def test_designs_fill_the_ranges_evenly_and_by_index(design):
    model = specdsl.compile(MODEL)
    source = build_source(model, 64, PARAMS, seed=9, design=design)

    whole = source(0, 64)
    halves = [source(32, 64), source(0, 32)]
    for name in ("powerlaw_1.PhoIndex", "powerlaw_1.norm"):
        joined = np.concatenate([halves[1][name], halves[0][name]])
        np.testing.assert_array_equal(joined, whole[name])
    index = whole["powerlaw_1.PhoIndex"]
    assert np.histogram(index, bins=8, range=(1, 3))[0].tolist() == [8] * 8
    log_norm = np.log10(whole["powerlaw_1.norm"])
    assert np.histogram(log_norm, bins=4, range=(-2, 0))[0].tolist() == [16] * 4
    assert (whole["tbabs_1.nH"] == 1.0).all()


def test_random_draws_of_a_range_equal_the_same_rows_of_the_whole():
    distributions = {"a": parse_distribution("normal(0, 1)")}

    whole = draw_range(distributions, 0, 10_000, 4, {"a": 2})["a"]
    middle = draw_range(distributions, 4000, 8500, 4, {"a": 2})["a"]

    np.testing.assert_array_equal(middle, whole[4000:8500])


def test_table_writer_appends_rows_and_appears_only_when_complete(tmp_path):
    target = tmp_path / "s.pha"
    counts = np.random.default_rng(1).poisson(5, (10, 16)).astype(np.int32)
    writer = SpectrumTableWriter(
        target,
        10,
        channels=np.arange(1, 17),
        exposure=100.0,
        parameter_names=["x.y"],
        first_spec_num=41,
    )
    writer.append(counts[:6], {"x.y": np.arange(6.0)})
    assert not target.exists()
    writer.append(counts[6:], {"x.y": np.arange(6.0, 10.0)})
    writer.close()

    with fits.open(target) as hdus:
        data = hdus["SPECTRUM"].data
        np.testing.assert_array_equal(data["COUNTS"], counts)
        np.testing.assert_array_equal(data["SPEC_NUM"], np.arange(41, 51))
        np.testing.assert_array_equal(data["x.y"], np.arange(10.0))
        np.testing.assert_array_equal(data["CHANNEL"][3], np.arange(1, 17))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.pha"]


def test_table_writer_repeats_quality_and_grouping_in_every_row(tmp_path):
    target = tmp_path / "q.pha"
    quality = np.array([5, 0, 0, 0, 0, 0, 2, 1], np.int16)
    grouping = np.array([1, 1, -1, -1, 1, 1, 1, 1], np.int16)
    flags = {"quality": quality, "grouping": grouping}
    with SpectrumTableWriter(
        target, 3, channels=np.arange(8), exposure=1.0, **flags
    ) as writer:
        writer.append(np.ones((3, 8), np.int32))

    data = fits.getdata(target, "SPECTRUM")
    np.testing.assert_array_equal(data["QUALITY"], np.tile(quality, (3, 1)))
    np.testing.assert_array_equal(data["GROUPING"], np.tile(grouping, (3, 1)))


def test_stale_temporaries_of_the_parts_are_removed_and_no_others(tmp_path):
    parts = plan_parts(tmp_path / "k.pha", 30, 10)
    stale = [
        tmp_path / ".k-0001.pha.0123abcd.tmp",
        tmp_path / ".k-0002.pha.params.npz.ffee0011.tmp",
    ]
    others = [tmp_path / ".other.pha.0123abcd.tmp", tmp_path / "k-0001.pha"]
    for path in stale + others:
        path.write_text("x")

    remove_stale_temporaries(parts)

    assert sorted(tmp_path.iterdir()) == sorted(others)


def test_unfinished_table_writer_leaves_nothing(tmp_path):
    writer = SpectrumTableWriter(
        tmp_path / "u.pha", 5, channels=np.arange(8), exposure=1
    )
    writer.append(np.ones((2, 8), np.int32))
    with pytest.raises(OutputError, match="2 of 5 rows"):
        writer.close()
    assert list(tmp_path.iterdir()) == []


def test_part_names_keep_the_extension():
    parts = plan_parts("out/fake.pha.gz", 25, 10)

    assert [p.path.name for p in parts] == [
        "fake-0000.pha.gz",
        "fake-0001.pha.gz",
        "fake-0002.pha.gz",
    ]
    assert [(p.first, p.stop) for p in parts] == [(0, 10), (10, 20), (20, 25)]


def test_grouped_job_writes_one_bin_per_group(tmp_path, pn_dir):
    job = FakeitJob(
        "tbabs*(powerlaw+bbodyrad)",
        spectrum=str(pn_dir / "PN_spectrum_grp20.fits"),
        count=50,
        params=PARAMS,
        grouped=True,
        output=str(tmp_path / "g.pha"),
    )
    job.run()

    with fits.open(tmp_path / "g.pha") as hdus:
        spectrum = hdus["SPECTRUM"]
        assert spectrum.data["COUNTS"].shape == (50, 114)
        assert spectrum.header["RESPFILE"] == "none"
        assert spectrum.header["SDGROUPD"] is True


def test_a_design_point_at_zero_gives_a_finite_normal_and_a_positive_lognormal():
    normal = parse_distribution("normal(2, 0.3)")
    lognormal = parse_distribution("lognormal(0.5, 0.3)")
    assert np.isfinite(normal.quantile(np.array([0.0])))[0]
    assert lognormal.quantile(np.array([0.0]))[0] > 0
    # The floor is the middle of the first 30-bit cell of scipy's Sobol points.
    assert normal.quantile(np.array([0.0]))[0] == pytest.approx(
        2 + 0.3 * ndtri(2.0**-31)
    )


def test_a_jobs_own_params_file_is_a_table_for_the_same_spectra(tmp_path):
    model = "powerlaw(PhoIndex=1.5)+powerlaw(PhoIndex==powerlaw_1.PhoIndex+0.5)"
    draw = ["powerlaw_1.PhoIndex=uniform(1,2)", "powerlaw_1.norm=uniform(0.1,1)"]
    FakeitJob(model, count=30, params=draw, output=str(tmp_path / "a.npy")).run()
    table = str(tmp_path / "a.params.npz")
    again = FakeitJob(model, count=None, table=table, output=str(tmp_path / "b.npy"))
    again.run()

    np.testing.assert_array_equal(
        np.load(tmp_path / "b.npy"), np.load(tmp_path / "a.npy")
    )
    with (
        np.load(tmp_path / "b.params.npz") as b,
        np.load(tmp_path / "a.params.npz") as a,
    ):
        np.testing.assert_array_equal(
            b["powerlaw_2.PhoIndex"], a["powerlaw_2.PhoIndex"]
        )
