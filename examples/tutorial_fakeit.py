"""The jaxspec fakeit tutorial with specdsl: 10 fake XMM-Newton PN spectra of an
absorbed power law plus black body, drawn from parameter distributions and
plotted as counts per channel.

    python examples/tutorial_fakeit.py [path/to/PN_spectrum_grp20.fits] [out.png]

The PN files are real data from XMM-Newton (NGC 7793 ULX-4); any OGIP PHA file
whose RESPFILE and ANCRFILE resolve will do.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import specdsl  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_PHA = HERE.parents[1] / "shared/data/xmm-pn-ngc7793-ulx4/PN_spectrum_grp20.fits"


def main() -> None:
    pha = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PHA
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
