"""The seed job run by jaxspec 0.4.1, for ``benchmarks/scale.py`` to compare against.

Run with the interpreter of a separate environment that has jaxspec installed
(jaxspec pins other JAX and numpy versions than specdsl's):

    /path/to/jaxspec-venv/bin/python benchmarks/jaxspec_side.py PN_spectrum.fits \
        --count 10000 --mode grouped

Prints one JSON line: first-call and warm wall times (s) and the output shape.
jaxspec reads its cross sections from its pooch cache; this script copies the
tbabs table there from the shared data folder so that nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path


def _seed_cache(shared: Path) -> None:
    """Place the tbabs cross-section table in jaxspec's cache (its sha256 matches)."""
    import pooch

    cache = Path(pooch.os_cache("jaxspec"))
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / "xsect_tbabs_wilm.fits"
    if not target.exists():
        shutil.copyfile(shared / "reference-xsect" / "xsect_tbabs_wilm.fits", target)


def _obsconf(pha: Path, mode: str):
    from jaxspec.data import Instrument, ObsConfiguration, Observation

    if mode == "grouped":
        return ObsConfiguration.from_pha_file(str(pha))

    import numpy as np
    import scipy.sparse

    instrument = Instrument.from_ogip_file(
        str(pha.parent / "PN.rmf"), arf_path=str(pha.parent / "PN.arf")
    )
    grouped = Observation.from_pha_file(str(pha))
    n = grouped.sizes["instrument_channel"]
    observation = Observation.from_matrix(
        grouped.counts.data,
        scipy.sparse.identity(n, format="csr"),
        grouped.channel.data if "channel" in grouped else np.arange(n),
        np.zeros(n, dtype=int),
        grouped.attrs.get("exposure", None) or float(grouped.exposure),
    )
    return ObsConfiguration.from_instrument(instrument, observation)


def _parameters(count: int):
    from numpy.random import default_rng

    rng = default_rng(0)
    return {
        "tbabs_1.nh": rng.uniform(0.1, 0.4, size=count),
        "powerlaw_1.alpha": rng.uniform(1, 3, size=count),
        "powerlaw_1.norm": rng.exponential(10 ** (-0.5), size=count),
        "blackbodyrad_1.kT": rng.uniform(0.1, 3.0, size=count),
        "blackbodyrad_1.norm": rng.exponential(10 ** (-3), size=count),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spectrum", type=Path)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--mode", choices=("grouped", "full"), default="grouped")
    parser.add_argument("--shared", type=Path, default=None)
    args = parser.parse_args()
    _seed_cache(args.shared or args.spectrum.parents[1])

    started = time.perf_counter()
    import jax
    from jaxspec.data.util import fakeit_for_multiple_parameters
    from jaxspec.model.additive import Blackbodyrad, Powerlaw
    from jaxspec.model.multiplicative import Tbabs

    jax.config.update("jax_enable_x64", True)
    obsconf = _obsconf(args.spectrum, args.mode)
    model = Tbabs() * (Powerlaw() + Blackbodyrad())
    parameters = _parameters(args.count)
    setup = time.perf_counter() - started

    times = []
    for key in range(3):
        started = time.perf_counter()
        spectra = fakeit_for_multiple_parameters(
            obsconf, model, parameters, rng_key=key
        )
        spectra = jax.block_until_ready(spectra)
        times.append(time.perf_counter() - started)

    print(
        json.dumps(
            {
                "tool": "jaxspec",
                "mode": args.mode,
                "count": args.count,
                "shape": list(spectra.shape),
                "setup_s": setup,
                "first_s": times[0],
                "warm_s": min(times[1:]),
            }
        )
    )


if __name__ == "__main__":
    main()
