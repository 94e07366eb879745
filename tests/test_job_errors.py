"""What a command-line job refuses up front: a count too big to plan or to store,
a bad --part-size or --exposure, an output name the system cannot hold, an
output that is a directory, and parameter tables that cannot be read."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from astropy.io import fits

from specdsl.cli import main
from specdsl.errors import ParameterError
from specdsl.model import compile as compile_model
from specdsl.runtime.inputs import build_source


def fakeit(capsys, *arguments) -> tuple[int, str]:
    """``specdsl fakeit ...`` in this process: its status and stderr, with the
    error panel's frame removed and its lines joined."""
    status = main(["fakeit", *map(str, arguments)])
    err = capsys.readouterr().err
    return status, " ".join(re.sub(r"[╭╮╰╯│─]", " ", err).split())


@pytest.fixture
def no_planning(monkeypatch):
    """Fail the test if the parts of a job are planned."""
    from specdsl.output import stream

    def planned(*args):
        raise AssertionError("the parts were planned before the size was checked")

    monkeypatch.setattr(stream, "plan_parts", planned)


def test_a_huge_count_is_refused_before_any_part_is_planned(
    tmp_path, capsys, no_planning
):
    output = tmp_path / "huge.fak"
    status, err = fakeit(capsys, "-m", "powerlaw", "-n", 10**12, "-o", output)

    assert status == 2
    assert "Traceback" not in err
    for words in ("--count 1000000000000 makes 10000000 files", "--part-size"):
        assert words in err
    assert list(tmp_path.iterdir()) == []


def test_a_job_bigger_than_the_disk_is_refused_before_planning(
    tmp_path, capsys, no_planning
):
    output = tmp_path / "huge.fak"
    status, err = fakeit(
        capsys, "-m", "powerlaw", "-n", 10**12, "--part-size", 10**7, "-o", output
    )

    assert status == 2
    assert "OutputError" in err
    assert re.search(r"the job needs about [\d.]+ PB and .* free", err)
    assert "smaller --count" in err


def test_a_huge_latin_hypercube_is_refused_before_it_is_drawn():
    model = compile_model("powerlaw")
    params = ["powerlaw_1.norm=uniform(1,2)"]

    with pytest.raises(ParameterError, match="--design lhs draws all .* sobol"):
        build_source(model, 10**12, params, design="lhs")


@pytest.mark.parametrize("size", ["0", "-1"])
def test_part_size_below_one_is_refused(tmp_path, capsys, size):
    output = tmp_path / "p.fak"
    status, err = fakeit(
        capsys, "-m", "powerlaw", "-n", 3, "--part-size", size, "-o", output
    )

    assert status == 2
    assert f"--part-size must be at least 1, got {size}" in err
    assert not output.exists()


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "0"])
def test_a_non_finite_or_non_positive_exposure_is_refused_quietly(
    tmp_path, capsys, value
):
    output = tmp_path / "e.fak"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, err = fakeit(
            capsys, "-m", "powerlaw", "-n", 3, f"--exposure={value}", "-o", output
        )

    assert status == 2
    assert "--exposure must be > 0 s and finite" in err and not output.exists()
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)] == []


@pytest.mark.parametrize("count", ["1", "3"])
def test_an_output_name_too_long_is_an_error_naming_it(tmp_path, capsys, count):
    output = tmp_path / ("a" * 300 + ".fak")
    status, err = fakeit(capsys, "-m", "powerlaw", "-n", count, "-o", output)

    assert status == 2
    assert "Traceback" not in err
    assert "OutputError" in err and "cannot write" in err
    assert "File name too long" in err and "choose a shorter name" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("options", [[], ["--clobber"], ["--resume"]])
def test_an_output_that_is_a_directory_is_named_as_one_at_once(
    tmp_path, capsys, options
):
    folder = tmp_path / "existing_dir"
    folder.mkdir()
    status, err = fakeit(capsys, "-m", "powerlaw", "-n", 3, "-o", folder, *options)

    assert status == 2
    assert f"cannot write {folder}: it is a directory" in err
    assert "already exists" not in err
    assert list(folder.iterdir()) == []


# ------------------------------------------------------------ parameter tables


def table_error(path) -> str:
    with pytest.raises(ParameterError) as caught:
        build_source(compile_model("powerlaw"), None, table=path)
    return str(caught.value)


def test_a_corrupt_npz_table_is_named(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04garbage")

    status, err = fakeit(
        capsys, "-m", "powerlaw", "--table", bad, "-o", tmp_path / "t.fak"
    )

    assert status == 2
    assert "Traceback" not in err
    assert f"cannot read the parameter table {bad}: not a valid .npz" in err


@pytest.mark.parametrize(
    "content, words",
    [
        (b"garbage", "not a .npy file"),
        (b"\x93NUMPYgarbage", "not a readable .npy file"),
    ],
)
def test_a_corrupt_npy_table_is_named(tmp_path, content, words):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(content)

    message = table_error(bad)

    assert message.startswith(f"cannot read the parameter table {bad}: {words}")
    assert "pickle" not in message


def test_a_csv_column_named_twice_is_refused(tmp_path):
    table = tmp_path / "dup.csv"
    table.write_text("powerlaw_1.norm,powerlaw_1.norm\n1,2\n")

    message = table_error(table)

    assert "column 'powerlaw_1.norm' appears twice" in message
    assert str(table) in message and "columns 1 and 2" in message


@pytest.mark.parametrize("suffix", ["csv", "npz"])
def test_two_columns_for_one_parameter_are_refused(tmp_path, suffix):
    table = tmp_path / f"two.{suffix}"
    if suffix == "csv":
        table.write_text("powerlaw_1.norm,2\n1,2\n")
    else:
        np.savez(table, **{"powerlaw_1.norm": np.ones(2), "2": np.ones(2)})

    message = table_error(table)

    assert "columns 'powerlaw_1.norm' and '2' both set powerlaw_1.norm" in message


def test_a_csv_with_a_byte_order_mark_is_read(tmp_path):
    table = tmp_path / "bom.csv"
    table.write_bytes(
        "powerlaw_1.norm,powerlaw_1.PhoIndex\n0.5,2\n".encode("utf-8-sig")
    )

    source = build_source(compile_model("powerlaw"), None, table=table)

    values = source(0, 1)
    assert values["powerlaw_1.norm"].tolist() == [0.5]
    assert values["powerlaw_1.PhoIndex"].tolist() == [2.0]


def test_an_npz_table_that_holds_one_array_is_named(tmp_path):
    bad = tmp_path / "one.npz"
    with bad.open("wb") as stream:
        np.save(stream, np.arange(3.0))

    message = table_error(bad)

    assert message == (
        f"cannot read the parameter table {bad}: it holds one array (a .npy file), "
        "not a .npz archive"
    )


def test_resume_after_a_table_is_rewritten_in_place_is_another_job(tmp_path, capsys):
    import os

    table = tmp_path / "tab.csv"
    table.write_text("powerlaw_1.PhoIndex\n1.5\n1.6\n1.7\n1.8\n")
    output = tmp_path / "g.pha"
    arguments = ["-m", "powerlaw", "--table", table, "--part-size", 2, "-o", output]
    assert fakeit(capsys, *arguments)[0] == 0
    (tmp_path / "g-0001.pha").unlink()

    table.write_text("powerlaw_1.PhoIndex\n2.5\n2.6\n2.7\n2.8\n")  # same size
    later = table.stat().st_mtime_ns + 10**9
    os.utime(table, ns=(later, later))
    status, err = fakeit(capsys, *arguments, "--resume")

    assert status == 2
    assert "g-0000.pha was written by another job" in err
    assert not (tmp_path / "g-0001.pha").exists()


@pytest.mark.parametrize("count", [1, 2])
@pytest.mark.parametrize("name", [".", "/", ".."])
def test_an_output_that_names_a_folder_is_refused(tmp_path, capsys, name, count):
    status, err = fakeit(capsys, "-m", "powerlaw", "-n", count, "-o", name)

    assert status == 2 and "Traceback" not in err
    assert f"--output {name} names a folder: give a file name in it" in err


def test_resume_with_clobber_writes_parts_of_another_job_again(tmp_path, capsys):
    output = tmp_path / "f.pha"
    arguments = ["-m", "powerlaw", "-n", 4, "--part-size", 2, "-o", output]
    assert fakeit(capsys, *arguments, "--seed", 1)[0] == 0
    (tmp_path / "f-0001.pha").unlink()

    status, err = fakeit(capsys, *arguments, "--seed", 2, "--resume", "--clobber")

    assert status == 0, err
    jobs = [fits.getheader(tmp_path / f"f-000{i}.pha", "SPECTRUM") for i in (0, 1)]
    assert jobs[0]["SDJOBID"] == jobs[1]["SDJOBID"]  # both of the seed-2 job


def test_a_table_without_rows_or_with_a_boolean_column_is_named(tmp_path):
    empty = tmp_path / "h.csv"
    empty.write_text("powerlaw_1.PhoIndex,powerlaw_1.norm\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert table_error(empty) == f"{empty}: the table has a header but no data rows"

    flags = tmp_path / "b.npz"
    np.savez(flags, **{"powerlaw_1.PhoIndex": np.array([True, False])})
    assert table_error(flags).startswith(
        f"{flags}: column 'powerlaw_1.PhoIndex' must be one number per spectrum"
    )


def test_a_compressed_npy_name_gets_a_name_that_fits(tmp_path, capsys):
    output = tmp_path / "o4.npy.gz"
    options = ["-n", 2, "--format", "npy", "-o", output]
    status, err = fakeit(capsys, "-m", "powerlaw", *options)

    assert status == 2 and "name it o4.npy" in err and "o4.npy.npy" not in err
