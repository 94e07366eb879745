"""specdsl against jaxspec 0.4.1 on the seed job, side by side, plus the bounds.

    python benchmarks/scale.py [--count 10000] [--jaxspec-python PATH] [--rss]

The seed job: ``count`` parameter sets of tbabs*(powerlaw+bbodyrad) with the
jaxspec tutorial's distributions, Poisson counts, through the XMM-Newton PN
response (xmm-pn-ngc7793-ulx4 in $SPECDSL_SHARED_DATA, else ../shared/data),
grouped (114 groups) and with every channel. Each tool runs in its own fresh
process (jaxspec needs other JAX/numpy versions: give its interpreter with
--jaxspec-python), alternating, and reports its first call (compilation
included) and its best warm call.

Then, in this process: the machine's bound for the arithmetic (the response
product as the best matrix multiply numpy, scipy or JAX does here), specdsl's
stages alone (model, fold, Poisson), the float32 error of the fold, the type II
writer, ``import specdsl`` and a cold ``specdsl fakeit`` command. ``--rss``
adds the peak memory of streamed grouped jobs of 10^5 and 10^6 spectra.
Times are wall-clock seconds, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
SHARED = Path(
    os.environ.get("SPECDSL_SHARED_DATA", HERE.parents[2] / "shared" / "data")
)
PHA = SHARED / "xmm-pn-ngc7793-ulx4" / "PN_spectrum_grp20.fits"
MODEL = "tbabs*(powerlaw+bbodyrad)"
PARAMS = [
    "tbabs_1.nH=uniform(0.1,0.4)",
    "powerlaw_1.PhoIndex=uniform(1,3)",
    "powerlaw_1.norm=exponential(0.316)",
    "bbodyrad_1.kT=uniform(0.1,3)",
    "bbodyrad_1.norm=exponential(0.001)",
]


def tutorial_parameters(count: int, seed: int = 0) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed)
    return {
        "tbabs_1.nH": rng.uniform(0.1, 0.4, count),
        "powerlaw_1.PhoIndex": rng.uniform(1, 3, count),
        "powerlaw_1.norm": rng.exponential(10**-0.5, count),
        "bbodyrad_1.kT": rng.uniform(0.1, 3.0, count),
        "bbodyrad_1.norm": rng.exponential(10**-3, count),
    }


# --------------------------------------------------------------- one side


def specdsl_side(mode: str, count: int, repeat: int) -> dict:
    """specdsl's first and warm calls, in this (fresh) process."""
    started = time.perf_counter()
    import jax

    import specdsl

    observation = specdsl.Observation.from_pha(PHA)
    model = specdsl.compile(MODEL)
    parameters = tutorial_parameters(count)
    setup = time.perf_counter() - started

    times = []
    for seed in range(repeat + 1):
        started = time.perf_counter()
        spectra = specdsl.fakeit(
            observation, model, parameters, seed=seed, grouped=mode == "grouped"
        )
        times.append(time.perf_counter() - started)
    return {
        "tool": "specdsl",
        "mode": mode,
        "count": count,
        "shape": list(spectra.shape),
        "devices": len(jax.local_devices()),
        "setup_s": setup,
        "first_s": times[0],
        "warm_s": min(times[1:]),
    }


def run_side(python: str, tool: str, mode: str, count: int, repeat: int) -> dict:
    """One side in a fresh process; its JSON result."""
    if tool == "jaxspec":
        script = str(HERE.parent / "jaxspec_side.py")
        command = [python, script, str(PHA), "--count", str(count), "--mode", mode]
    else:
        command = [python, str(HERE), "--side", mode, "--count", str(count)]
        command += ["--repeat", str(repeat)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return {"tool": tool, "mode": mode, "error": result.stderr[-2000:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------- bounds


def best(function, repeat: int) -> float:
    """Best wall time of ``repeat`` calls (after one warm-up call)."""
    function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def arithmetic(count: int, repeat: int) -> dict:
    """The response product alone, done every way this machine offers."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import scipy.sparse

    import specdsl
    from specdsl.fold import FoldedModel

    observation = specdsl.Observation.from_pha(PHA)
    folded = FoldedModel(specdsl.compile(MODEL), observation)
    matrix = folded._response_matrix().astype(np.float32)
    flux = np.random.default_rng(0).random((count, matrix.shape[0]), np.float32)
    sparse = scipy.sparse.csr_array(matrix)
    dense_jax = jnp.asarray(matrix)
    flux_jax = jnp.asarray(flux)
    blocks = [jnp.asarray(b) for b in folded.layout.blocks(matrix, np.float32)]
    rows = folded.layout.rows

    @jax.jit
    def block_sparse(x, blocks):
        parts = [x[:, r0:r1] @ b for (r0, r1), b in zip(rows, blocks, strict=True)]
        return jnp.concatenate(parts, axis=1)

    dense_jit = jax.jit(lambda x, m: x @ m)
    results = {
        "numpy dense float32": best(lambda: flux @ matrix, repeat),
        "jax dense float32": best(
            lambda: dense_jit(flux_jax, dense_jax).block_until_ready(), repeat
        ),
        "scipy CSR float32": best(lambda: (sparse.T @ flux.T).T, repeat),
        "jax block-sparse float32 (ours)": best(
            lambda: block_sparse(flux_jax, blocks).block_until_ready(), repeat
        ),
    }
    results["nonzero fraction"] = float((matrix != 0).mean())
    results["block fill fraction"] = folded.layout.fill / matrix.size
    return results


def stages(count: int, repeat: int) -> dict:
    """specdsl's simulate stage taken apart: model, fold, Poisson."""
    import jax
    import numpy as np

    import specdsl
    from specdsl.fold import FoldedModel
    from specdsl.runtime.fakeit import Simulator
    from specdsl.runtime.sampling import poisson_counts

    observation = specdsl.Observation.from_pha(PHA)
    model = specdsl.compile(MODEL)
    folded = FoldedModel(model, observation)
    values = tutorial_parameters(count)
    edges, constants = folded.edges, folded.constants
    flux = jax.jit(jax.vmap(model.function, in_axes=(0, None, None)))
    jax_values = {k: jax.numpy.asarray(v) for k, v in values.items()}
    expected, _ = folded.collect(folded.submit(values, 0))
    by_group = FoldedModel(model, observation, grouped=True)
    grouped, _ = by_group.collect(by_group.submit(values, 0))

    def simulate():
        blocks = Simulator(folded, 1).blocks(
            lambda a, b: {k: v[a:b] for k, v in values.items()}, 0, count
        )
        for _ in blocks:
            pass

    return {
        "model (float64, vmapped)": best(
            lambda: flux(jax_values, edges, constants).block_until_ready(), repeat
        ),
        "model (float32, not used: see float32 error)": best(
            lambda: flux(*_single(jax_values, edges, constants)).block_until_ready(),
            repeat,
        ),
        "model + fold": best(lambda: folded.collect(folded.submit(values, 0)), repeat),
        "poisson (numpy, threads)": best(
            lambda: poisson_counts(1, 0, expected), repeat
        ),
        "poisson (numpy, 1 thread)": best(
            lambda: poisson_counts(1, 0, expected, threads=1), repeat
        ),
        "poisson grouped (114 groups, 1 thread)": best(
            lambda: poisson_counts(1, 0, grouped, threads=1), repeat
        ),
        "poisson grouped (114 groups, 2 threads)": best(
            lambda: poisson_counts(1, 0, grouped, threads=2), repeat
        ),
        "simulate (pipelined)": best(simulate, repeat),
        "expected counts > 0": float(np.mean(expected > 0)),
    }


def _single(*trees):
    """Floating-point leaves of the trees cast to float32."""
    import jax
    import jax.numpy as jnp

    def cast(leaf):
        leaf = jnp.asarray(leaf)
        floating = jnp.issubdtype(leaf.dtype, jnp.floating)
        return leaf.astype(jnp.float32) if floating else leaf

    return jax.tree_util.tree_map(cast, trees)


def float32_error(count: int = 200) -> dict:
    """The float32 fold against a float64 fold of the same flux."""
    import jax
    import numpy as np

    import specdsl
    from specdsl.fold import FoldedModel

    observation = specdsl.Observation.from_pha(PHA)
    model = specdsl.compile(MODEL)
    ours = FoldedModel(model, observation)
    values = tutorial_parameters(count, seed=1)
    single = np.asarray(ours.expected_counts(values))
    double = np.asarray(
        FoldedModel(model, observation, precision="float64").expected_counts(values)
    )
    counted = double > 1e-3
    relative = np.abs(single[counted] / double[counted] - 1)
    in_sigma = np.abs(single - double)[counted] / np.sqrt(double[counted])

    # The model itself in float32: why it stays float64.
    flux = jax.jit(jax.vmap(model.function, in_axes=(0, None, None)))
    grid = (values, ours.edges, ours.constants)
    exact = np.asarray(flux(*grid))
    rough = np.asarray(flux(*_single(*grid)), dtype=np.float64)
    shown = exact > 1e-8 * exact.max(axis=1, keepdims=True)
    model_error = np.abs(rough[shown] / exact[shown] - 1)
    return {
        "model in float32: max relative (flux > 1e-8 of peak)": float(
            model_error.max()
        ),
        "max relative (mu > 1e-3)": float(relative.max()),
        "median relative": float(np.median(relative)),
        "max |difference| / sqrt(mu)": float(in_sigma.max()),
    }


def writer(count: int, repeat: int) -> dict:
    """write_pha of a type II stack of count x 4096 counts (fsync included)."""
    import numpy as np

    from specdsl.output.pha import write_pha

    counts = np.random.default_rng(0).poisson(20, (count, 4096)).astype(np.int32)
    parameters = tutorial_parameters(count)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w.pha"

        def write():
            write_pha(
                path,
                counts,
                channels=np.arange(4096),
                exposure=1e4,
                parameters=parameters,
                clobber=True,
            )

        seconds = best(write, repeat)
        size = path.stat().st_size
    return {"type II write": seconds, "MB": size / 1e6}


def cold_cli(count: int, grouped: bool) -> dict:
    """A cold ``specdsl fakeit`` process: import, read, compile, simulate, write."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "specdsl.cli", "fakeit", str(PHA)]
        command += ["--model", MODEL, "--count", str(count), "--seed", "42"]
        command += ["--output", str(Path(folder) / "cold.pha")]
        for item in PARAMS:
            command += ["--param", item]
        if grouped:
            command.append("--grouped")
        times = []
        for _ in range(2):
            started = time.perf_counter()
            subprocess.run(command + ["--clobber"], check=True, capture_output=True)
            times.append(time.perf_counter() - started)
    return {"first ever (compiles)": times[0], "again (compile cache)": times[1]}


def import_time() -> dict:
    """``import specdsl`` and what the job imports, each in a fresh process."""
    results = {}
    for label, code in (
        ("import specdsl", "import specdsl"),
        ("import specdsl.cli", "import specdsl.cli"),
        (
            "job modules",
            "import specdsl.runtime.job, specdsl.model, specdsl.fold, "
            "specdsl.response.observation, specdsl.output.stream",
        ),
    ):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        results[label] = time.perf_counter() - started
    return results


def peak_rss(count: int) -> dict:
    """Peak memory of a streamed grouped job of ``count`` spectra (own process)."""
    code = (
        "import resource, sys; from specdsl.runtime.job import FakeitJob; "
        f"job = FakeitJob({MODEL!r}, spectrum={str(PHA)!r}, count={count}, "
        f"params={PARAMS!r}, grouped=True, output=sys.argv[1]); job.run(); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, job.timings)"
    )
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", code, str(Path(folder) / "g.pha")],
            check=True,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in Path(folder).iterdir())
    kilobytes = int(result.stdout.split()[0])
    return {"peak RSS MB": kilobytes / 1024, "wall s": seconds, "output MB": size / 1e6}


# --------------------------------------------------------------- report


def compare(args) -> None:
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at start")
    sides = {}
    for mode in ("grouped", "full"):
        for tool in ("jaxspec", "specdsl"):
            if tool == "jaxspec" and not args.jaxspec_python:
                continue
            python = args.jaxspec_python if tool == "jaxspec" else sys.executable
            sides[tool, mode] = run_side(python, tool, mode, args.count, args.repeat)
            print(json.dumps(sides[tool, mode]), flush=True)

    print(f"\nside by side, {args.count} spectra (s):")
    for mode in ("grouped", "full"):
        ours, theirs = sides.get(("specdsl", mode)), sides.get(("jaxspec", mode))
        line = (
            f"  {mode:8s} specdsl first {ours['first_s']:.3f} warm {ours['warm_s']:.3f}"
        )
        if theirs and "warm_s" in theirs:
            line += (
                f" | jaxspec first {theirs['first_s']:.3f} warm {theirs['warm_s']:.3f}"
                f" | warm throughput x{theirs['warm_s'] / ours['warm_s']:.1f},"
                f" first call x{theirs['first_s'] / ours['first_s']:.1f}"
            )
        print(line)

    bound = arithmetic(args.count, args.repeat)
    print(f"\nresponse product alone, {args.count} x PN (s):")
    for name, value in bound.items():
        print(f"  {name:34s} {value:.3f}")
    fastest = min(v for k, v in bound.items() if "fraction" not in k)
    parts = stages(args.count, args.repeat)
    print(f"\nspecdsl simulate stage taken apart, {args.count} x 4096 (s):")
    for name, value in parts.items():
        print(f"  {name:34s} {value:.3f}")
    fold = parts["model + fold"] - parts["model (float64, vmapped)"]
    print(f"  fold alone (model + fold - model)  {fold:.3f}")
    print(f"  bound (fastest product above)      {fastest:.3f}")
    print(f"  fold / bound                       {fold / fastest:.2f}")
    simulate = parts["simulate (pipelined)"]
    print(f"  simulate / bound                   {simulate / fastest:.2f}")

    print("\nfloat32 fold error:", json.dumps(float32_error()))
    print("writer:", json.dumps(writer(args.count, args.repeat)))
    print("imports (fresh process, s):", json.dumps(import_time()))
    print("cold CLI full (s):", json.dumps(cold_cli(args.count, grouped=False)))
    print("cold CLI grouped (s):", json.dumps(cold_cli(args.count, grouped=True)))
    if args.rss:
        for count in (100_000, 1_000_000):
            print(f"streamed grouped {count}:", json.dumps(peak_rss(count)), flush=True)
    print(f"load average at end {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=2)
    default_jaxspec = Path("/work/venv-jaxspec/bin/python")
    parser.add_argument(
        "--jaxspec-python",
        default=str(default_jaxspec) if default_jaxspec.exists() else None,
        help="interpreter of an environment with jaxspec==0.4.1",
    )
    parser.add_argument("--rss", action="store_true", help="also measure 1e5/1e6 jobs")
    parser.add_argument(
        "--rss-only", action="store_true", help="only the 1e5/1e6 memory probe"
    )
    parser.add_argument("--side", choices=("grouped", "full"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not PHA.is_file():
        sys.exit(f"{PHA} not found: set SPECDSL_SHARED_DATA to the shared data folder")
    if args.side:
        print(json.dumps(specdsl_side(args.side, args.count, args.repeat)))
        return
    if args.rss_only:
        for count in (100_000, 1_000_000):
            print(f"streamed grouped {count}:", json.dumps(peak_rss(count)), flush=True)
        return
    compare(args)


if __name__ == "__main__":
    main()
