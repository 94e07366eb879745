"""Two processes on loopback share one job through jax.distributed.

Each process writes its own parts (part k goes to process k mod 2); together
they give exactly the files of a single-process run.
"""

import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from astropy.io import fits

JOB = [
    "fakeit",
    "--model",
    "tbabs*powerlaw",
    "--count",
    "1500",
    "--param",
    "powerlaw_1.PhoIndex=uniform(1,3)",
    "--param",
    "powerlaw_1.norm=loguniform(0.01,1)",
    "--seed",
    "21",
    "--part-size",
    "500",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command(output, *extra):
    return [sys.executable, "-m", "specdsl.cli", *JOB, "--output", str(output), *extra]


def _read(path):
    with fits.open(path) as hdus:
        data = hdus["SPECTRUM"].data
        return (
            np.array(data["SPEC_NUM"]),
            np.array(data["COUNTS"]),
            np.array(data["powerlaw_1.PhoIndex"]),
        )


def test_two_processes_write_the_same_files_as_one(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    single = subprocess.run(
        _command(tmp_path / "one" / "fake.pha"), capture_output=True, text=True
    )
    assert single.returncode == 0, single.stderr

    processes = _start(tmp_path / "two" / "fake.pha", f"127.0.0.1:{_free_port()}")
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (_, error) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, error

    assert "process 0 of 2: wrote 1000 spectra" in outputs[0][0]
    assert "process 1 of 2: wrote 500 spectra" in outputs[1][0]
    names = sorted(p.name for p in (tmp_path / "two").iterdir())
    assert names == ["fake-0000.pha", "fake-0001.pha", "fake-0002.pha"]
    for name in names:
        spec_num, counts, index = _read(tmp_path / "two" / name)
        expected = _read(tmp_path / "one" / name)
        np.testing.assert_array_equal(counts, expected[1])
        np.testing.assert_array_equal(spec_num, expected[0])
        np.testing.assert_array_equal(index, expected[2])
    assert _read(tmp_path / "two" / "fake-0001.pha")[0][0] == 501


def _start(output, address, *extra_per_rank):
    """Two processes of one job; ``extra_per_rank`` adds options to each."""
    extras = extra_per_rank or ((), ())
    return [
        subprocess.Popen(
            _command(
                output,
                "--coordinator",
                address,
                "--num-processes",
                "2",
                "--process-id",
                str(rank),
                *extras[rank],
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]


def test_one_spectrum_is_written_by_process_0_only(tmp_path):
    output = tmp_path / "one.pha"
    processes = _start(
        output, f"127.0.0.1:{_free_port()}", ("--count", "1"), ("--count", "1")
    )
    outputs = [process.communicate(timeout=300) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    assert "process 0 of 2: wrote 1 spectrum" in outputs[0][0]
    assert "process 1 of 2: nothing to write" in outputs[1][0]
    assert [p.name for p in tmp_path.iterdir()] == ["one.pha"]


@pytest.mark.parametrize(
    "options", [(("--seed", "7"), ("--seed", "8")), ((), ("--output", "other.pha"))]
)
def test_processes_running_different_jobs_write_nothing(tmp_path, options):
    address = f"127.0.0.1:{_free_port()}"
    processes = _start(tmp_path / "x.pha", address, *options)
    outputs = [process.communicate(timeout=300) for process in processes]

    assert [process.returncode for process in processes] == [2, 2], outputs
    assert "process 1 of this job runs a different job" in outputs[0][1]
    assert list(tmp_path.iterdir()) == []


def test_a_process_failing_before_the_job_starts_stops_the_others(tmp_path):
    address = f"127.0.0.1:{_free_port()}"
    bad = ("--param", "powerlaw_1.PhoIndex=uniform(1,30)")
    processes = _start(tmp_path / "x.pha", address, (), bad)
    outputs = [process.communicate(timeout=120) for process in processes]

    assert [process.returncode for process in processes] == [2, 2], outputs
    assert "process 1 of this job was stopped" in outputs[0][1]
    assert "ParameterError" in outputs[1][1]  # its --param is refused
    assert list(tmp_path.iterdir()) == []


def test_a_process_stopped_stops_the_job_and_resume_finishes_it(tmp_path):
    output = tmp_path / "s.pha"
    long_job = ("--count", "30000", "--part-size", "250")
    processes = _start(output, f"127.0.0.1:{_free_port()}", long_job, long_job)
    deadline = time.monotonic() + 240
    while len(list(tmp_path.glob("s-*.pha"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    processes[1].send_signal(signal.SIGTERM)
    outputs = [process.communicate(timeout=120) for process in processes]

    assert [process.returncode for process in processes] == [2, 143], outputs
    assert "process 1 of this job was stopped before it finished" in outputs[0][1]
    assert "--resume" in outputs[1][1]
    kept = len(list(tmp_path.glob("s-*.pha")))
    assert 3 <= kept < 120
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    resume = (*long_job, "--resume")
    processes = _start(output, f"127.0.0.1:{_free_port()}", resume, resume)
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert len(list(tmp_path.glob("s-*.pha"))) == 120
