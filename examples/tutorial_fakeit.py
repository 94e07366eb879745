"""The jaxspec fakeit tutorial with specdsl: 10 fake XMM-Newton PN spectra of an
absorbed power law plus black body, drawn from parameter distributions and
plotted as counts per channel.

    python examples/tutorial_fakeit.py [path/to/PN_spectrum_grp20.fits] [out.png]

The PN files are real data from XMM-Newton (NGC 7793 ULX-4); any OGIP PHA file
whose RESPFILE and ANCRFILE resolve will do. Without an argument the spectrum is
read from the shared data folder: $SPECDSL_SHARED_DATA, else ../shared/data
beside the clone (as the tests find it).
"""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import specdsl  # noqa: E402

HERE = Path(__file__).resolve().parent
SHARED_DATA = Path(
    os.environ.get("SPECDSL_SHARED_DATA", HERE.parents[1] / "shared" / "data")
)
DEFAULT_PHA = SHARED_DATA / "xmm-pn-ngc7793-ulx4" / "PN_spectrum_grp20.fits"


def main() -> None:
    pha = _spectrum()
    output = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("tutorial_fakeit.png")

    observation = specdsl.Observation.from_pha(pha)
    model = specdsl.compile("tbabs*(powerlaw+bbodyrad)")

    rng = np.random.default_rng(0)
    count = 10
    parameters = {
        "tbabs_1": {"nH": rng.uniform(0.1, 0.4, count)},
        "powerlaw_1": {
            "PhoIndex": rng.uniform(1, 3, count),
            "norm": rng.exponential(10**-0.5, count),
        },
        "bbodyrad_1": {
            "kT": rng.uniform(0.1, 3.0, count),
            "norm": rng.exponential(10**-3, count),
        },
    }
    spectra = specdsl.fakeit(observation, model, parameters, seed=42, grouped=True)

    _plot(observation, spectra, output)
    print(f"{spectra.shape[0]} spectra of {spectra.shape[1]} groups -> {output}")


def _spectrum() -> Path:
    """The PHA file to fake; one line and exit 1, not a traceback, when missing."""
    if len(sys.argv) > 1:
        pha, hint = Path(sys.argv[1]), "give the path of an OGIP PHA file"
    else:
        pha = DEFAULT_PHA
        hint = (
            "set SPECDSL_SHARED_DATA to the folder holding xmm-pn-ngc7793-ulx4/, "
            "or give a PHA file as the first argument"
        )
    if not pha.is_file():
        sys.exit(f"{pha}: file not found; {hint}")
    return pha


def _plot(observation, spectra, output: Path) -> None:
    groups = observation.group_matrix()
    centre = (observation.e_min + observation.e_max) / 2
    energy = groups @ centre / groups.sum(axis=1)

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for spectrum in spectra:
        axis.step(energy, spectrum, where="mid", alpha=0.8)
    axis.set(
        xscale="log",
        yscale="log",
        xlabel="Energy [keV]",
        ylabel="Counts per group",
        title="10 fake PN spectra of tbabs*(powerlaw+bbodyrad)",
    )
    figure.tight_layout()
    figure.savefig(output, dpi=120)


if __name__ == "__main__":
    main()
