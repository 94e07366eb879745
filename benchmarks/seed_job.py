"""Time the seed job stage by stage: 10,000 spectra of tbabs*(powerlaw+bbodyrad)
through the XMM-Newton PN response, with the jaxspec tutorial's distributions.

    python benchmarks/seed_job.py [path/to/PN_spectrum_grp20.fits] [--count N]

Without a path it reads the PN spectrum from $SPECDSL_SHARED_DATA (else
../shared/data beside the clone).

Prints import, read, compile, simulate and write times for a warm in-process
run, and the wall time of a cold ``specdsl fakeit`` process doing the same job.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = os.environ.get(
    "SPECDSL_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
)
DEFAULT_PHA = Path(SHARED) / "xmm-pn-ngc7793-ulx4" / "PN_spectrum_grp20.fits"
MODEL = "tbabs*(powerlaw+bbodyrad)"
PARAMS = [
    "tbabs_1.nH=uniform(0.1,0.4)",
    "powerlaw_1.PhoIndex=uniform(1,3)",
    "powerlaw_1.norm=exponential(0.316)",
    "bbodyrad_1.kT=uniform(0.1,3)",
    "bbodyrad_1.norm=exponential(0.001)",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spectrum", nargs="?", default=str(DEFAULT_PHA))
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()
    if not Path(args.spectrum).is_file():
        sys.exit(
            f"{args.spectrum} not found: give the PN spectrum, or set "
            "SPECDSL_SHARED_DATA to the shared data folder"
        )

    started = time.perf_counter()
    importlib.import_module("specdsl.runtime.job")
    import_time = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        for attempt in ("first (compiles)", "second (warm)"):
            job = _job(args, Path(folder) / f"{attempt.split()[0]}.fak")
            job.run()
            _print_stages(attempt, job.timings)
        print(f"{'import specdsl + runtime':>28}: {import_time:7.3f} s")
        _cold_cli(args, Path(folder) / "cold.fak")


def _job(args, output):
    from specdsl.runtime.job import FakeitJob

    return FakeitJob(
        MODEL,
        spectrum=args.spectrum,
        count=args.count,
        params=PARAMS,
        seed=42,
        output=str(output),
    )


def _print_stages(label: str, timings: dict) -> None:
    print(f"{label}:")
    for stage, seconds in timings.items():
        print(f"{stage:>28}: {seconds:7.3f} s")
    print(f"{'total':>28}: {sum(timings.values()):7.3f} s")


def _cold_cli(args, output: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "specdsl.cli",
        "fakeit",
        args.spectrum,
        "--model",
        MODEL,
        "--count",
        str(args.count),
        "--seed",
        "42",
        "--output",
        str(output),
    ]
    for item in PARAMS:
        command += ["--param", item]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    print(f"{'cold command line (total)':>28}: {time.perf_counter() - started:7.3f} s")


if __name__ == "__main__":
    main()
