"""Photoabsorption cross sections of the cold interstellar medium, from published data.

The physics of XSPEC's ``tbabs`` (Tuebingen-Boulder ISM absorption, Wilms, Allen &
McCray 2000, ApJ 542, 914; XSPEC 12.9.1 ``tbnew`` 2.3 defaults): Verner et al. (1996)
shell fits for the metals, a hydrogenic H, the Yan et al. (1998) He and H2, and
grains with self-shielding. Everything here is numpy float64 and runs once per energy
grid (at bind time), never inside JAX. Coefficients live in ``specdsl/library/data``
(see the README there for citations).

Units: energies in keV at the public interface; cross sections per atom (or per H
atom for the ISM mixture) in 1e-22 cm^2, the unit in which XSPEC's nH is 1e22 cm^-2.
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources

import numpy as np

from specdsl.errors import ParameterError

_DATA_PACKAGE = "specdsl.library"
MB_TO_1E22 = 1e4  # 1 Mb = 1e-18 cm^2 = 1e4 x 1e-22 cm^2
BARN_TO_MB = 1e-6
EV_PER_KEV = 1e3

# tbabs switches every cross section off at and above 100 keV (tbnew's photabs).
TBABS_EMAX_KEV = 100.0

# The elements tbabs sums over (P, Ti and Mn of the paper are left out, as in XSPEC).
TBABS_ELEMENTS = (
    "H", "He", "C", "N", "O", "Ne", "Na", "Mg", "Al",
    "Si", "S", "Cl", "Ar", "Ca", "Cr", "Fe", "Co", "Ni",
)  # fmt: skip

# tbabs's fixed settings (XSPEC tbdefaults): H2 fraction, grain density [g cm^-3],
# grain radii [cm] (0.025 and 0.25 micron) and the size power-law index.
TBABS_H2_FRACTION = 0.2
TBABS_GRAIN_DENSITY = 1.0
TBABS_GRAIN_AMIN_CM = 0.025e-4
TBABS_GRAIN_AMAX_CM = 0.25e-4
TBABS_GRAIN_INDEX = 3.5

HYDROGEN_RYDBERG_EV = 13.599  # Band et al. (1990) threshold as tbabs uses it
HYDROGEN_SIGMA_MB = 605.0  # Band et al. (1990) normalisation [Mb]


# ---------------------------------------------------------------------------
# Data files


@functools.cache
def _load(name: str) -> dict:
    """Parse one JSON coefficient file shipped in the package (cached per process)."""
    text = resources.files(_DATA_PACKAGE).joinpath("data", name).read_text("utf-8")
    return json.loads(text)


def abundance_table(name: str = "wilm") -> dict[str, float]:
    """Number abundances relative to H (element symbol -> n/n_H) of an XSPEC table."""
    data = _load("abundances.json")
    table = data["tables"].get(name.lower())
    if table is None:
        known = ", ".join(sorted(data["tables"]))
        raise ParameterError(f"unknown abundance table {name!r}; known: {known}")
    return dict(zip(data["elements"], table["values"], strict=True))


def abundance_tables() -> tuple[str, ...]:
    """Names of the abundance tables shipped (XSPEC's ``abund`` keywords)."""
    return tuple(_load("abundances.json")["tables"])


# ---------------------------------------------------------------------------
# Verner et al. (1996) / Verner & Yakovlev (1995) neutral-atom cross sections


def _shell_fit(shell: dict, e_ev: np.ndarray) -> np.ndarray:
    """Verner & Yakovlev (1995) partial cross section of one shell [Mb]."""
    y = np.maximum(e_ev, shell["E_th"]) / shell["E_0"]
    q = 5.5 + shell["l"] - 0.5 * shell["P"]
    shape = ((y - 1.0) ** 2 + shell["y_w"] ** 2) * y ** (-q)
    sigma = shell["sigma_0"] * shape * (1.0 + np.sqrt(y / shell["y_a"])) ** -shell["P"]
    return np.where(e_ev >= shell["E_th"], sigma, 0.0)


def _outer_fit(fit: dict, e_ev: np.ndarray, threshold_ev: float) -> np.ndarray:
    """Verner et al. (1996) Opacity-Project fit of the outer shell(s) [Mb]."""
    x = np.maximum(e_ev, threshold_ev) / fit["E_0"] - fit["y_0"]
    y = np.sqrt(x**2 + fit["y_1"] ** 2)
    q = 5.5 - 0.5 * fit["P"]
    shape = ((x - 1.0) ** 2 + fit["y_w"] ** 2) * y ** (-q)
    sigma = fit["sigma_0"] * shape * (1.0 + np.sqrt(y / fit["y_a"])) ** -fit["P"]
    return np.where(e_ev >= threshold_ev, sigma, 0.0)


def _verner_mb(element: str, e_ev: np.ndarray) -> np.ndarray:
    """Total photoionisation cross section of a neutral atom, shells 1-7 summed [Mb].

    Below ``outer_fit_below_eV`` the outer shells are described by the single
    Opacity-Project fit, above it by the shell fits (the Verner et al. 1996 recipe).
    """
    record = _load("verner1996_neutral.json")["elements"][element]
    shell_fits_apply = e_ev >= record["outer_fit_below_eV"]
    total = np.zeros_like(e_ev)
    for shell in record["shells"].values():
        sigma = _shell_fit(shell, e_ev)
        if shell["n"] > record["inner_shells"]:
            low = 0.0
            if shell["n"] == record["outer_shell"] and "outer_fit" in record:
                low = _outer_fit(record["outer_fit"], e_ev, shell["E_th"])
            sigma = np.where(shell_fits_apply, sigma, low)
        total += sigma
    return total


def verner_elements() -> tuple[str, ...]:
    """Element symbols for which Verner fits are shipped (the 18 of tbabs/phabs)."""
    return tuple(_load("verner1996_neutral.json")["elements"])


def verner_cross_section(element: str, energy_kev: np.ndarray) -> np.ndarray:
    """Photoionisation cross section of one neutral atom (Verner fits) [1e-22 cm^2].

    For phabs/vphabs-style models; 0 below the lowest threshold and for E <= 0.
    """
    if element not in verner_elements():
        raise ParameterError(f"no Verner cross section shipped for element {element!r}")
    e_ev = _energies_ev(energy_kev)
    return _verner_mb(element, e_ev) * MB_TO_1E22


def _energies_ev(energy_kev) -> np.ndarray:
    """Energies in eV as float64, non-positive and non-finite values mapped to 0."""
    e_kev = np.asarray(energy_kev, dtype=np.float64)
    e_kev = np.where(np.isfinite(e_kev) & (e_kev > 0.0), e_kev, 0.0)
    return e_kev * EV_PER_KEV


# ---------------------------------------------------------------------------
# H, He and H2 as tbabs computes them


def _hydrogen_mb(e_ev: np.ndarray) -> np.ndarray:
    """Hydrogenic 1s cross section of atomic H after Band et al. (1990) [Mb]."""
    y = 2.0 * np.maximum(e_ev, HYDROGEN_RYDBERG_EV) / HYDROGEN_RYDBERG_EV
    sigma = HYDROGEN_SIGMA_MB / (y**1.5 * (1.0 + np.sqrt(y)) ** 4)
    return np.where(e_ev >= HYDROGEN_RYDBERG_EV, sigma, 0.0)


def _yan_form(fit: dict, e_ev: np.ndarray, threshold_ev: float) -> np.ndarray:
    """The Yan et al. (1998) family of fits, as parametrised in the data file [barn]."""
    x = e_ev / threshold_ev
    series = _poly(fit["c"], x ** fit["step"]) * x ** fit["x_power"]
    return fit["scale"] * (e_ev / EV_PER_KEV) ** fit["e_power"] * series


def _fano_factor(res: dict, k: int, e_ev: np.ndarray) -> np.ndarray:
    """Fano profile of He autoionisation resonance k (Fernley et al. 1987; Oza 1986)."""
    eps_k = 3.0 - 1.0 / res["nu"][k] ** 2 + res["eps_offset"]
    z = 2.0 * (e_ev / res["rydberg_eV"] - eps_k) / res["gamma"][k]
    return (z - res["q"][k]) ** 2 / (1.0 + z**2)


def _helium_mb(e_ev: np.ndarray) -> np.ndarray:
    """He: the Yan et al. (1998) fit times its autoionisation resonances [Mb]."""
    he = _load("yan1998_helium_h2.json")["helium"]
    e = np.maximum(e_ev, he["E_th"])
    sigma = _yan_form(he["fit"], e, he["E_th"])
    for k in range(len(he["resonances"]["q"])):
        sigma = sigma * _fano_factor(he["resonances"], k, e)
    return np.where(e_ev >= he["E_th"], sigma * BARN_TO_MB, 0.0)


def _h2_mb(e_ev: np.ndarray) -> np.ndarray:
    """H2 cross section per molecule (Yan et al. 1998; Wilms et al. 2000) [Mb]."""
    h2 = _load("yan1998_helium_h2.json")["h2"]
    e = np.maximum(e_ev, h2["E_th"])
    sigma = np.zeros_like(e_ev)
    for piece in h2["pieces"]:
        sigma = np.where(e >= piece["lower_eV"], _yan_form(piece, e, h2["E_th"]), sigma)
    return np.where(e_ev > h2["E_th"], sigma * BARN_TO_MB, 0.0)


def _poly(coefficients, x: np.ndarray) -> np.ndarray:
    """sum_i c_i x^i (coefficients in increasing order)."""
    return np.polynomial.polynomial.polyval(x, np.asarray(coefficients, dtype=float))


# ---------------------------------------------------------------------------
# tbabs: species, grains and the ISM mixture


def _edge_table_mb(element: str, e_ev: np.ndarray) -> np.ndarray:
    """O, Ne or Fe with tbabs's high-resolution edge table inside its range [Mb].

    Linear interpolation inside the table, Verner fits outside; for Fe a power-law
    tail joins the L-edge table to the Verner fit between 745 and 795 eV.
    """
    table = _load("tbabs_edges.json")["elements"][element]
    energy, sigma = np.asarray(table["energy_eV"]), np.asarray(table["sigma_Mb"])
    result = _verner_mb(element, e_ev)
    tail = table.get("tail")
    if tail is not None:
        in_tail = (e_ev >= tail["lower_eV"]) & (e_ev <= tail["upper_eV"])
        e_tail = np.maximum(e_ev, tail["lower_eV"]) / tail["pivot_eV"]
        power_law = tail["sigma_Mb"] * e_tail ** tail["index"]
        result = np.where(in_tail, power_law, result)
    inside = (e_ev >= energy[0]) & (e_ev <= energy[-1])
    return np.where(inside, np.interp(e_ev, energy, sigma), result)


def _tbabs_species_mb(e_ev: np.ndarray) -> dict[str, np.ndarray]:
    """Cross section of every tbabs species at point energies [Mb]; 0 at >= 100 keV."""
    special = {"H": _hydrogen_mb, "He": _helium_mb, "H2": _h2_mb}
    live = e_ev < TBABS_EMAX_KEV * EV_PER_KEV
    species = {}
    for name in (*TBABS_ELEMENTS, "H2"):
        if name in special:
            sigma = special[name](e_ev)
        elif name in ("O", "Ne", "Fe"):
            sigma = _edge_table_mb(name, e_ev)
        else:
            sigma = _verner_mb(name, e_ev)
        species[name] = np.where(live, sigma, 0.0)
    return species


def _grain_mixture(abundances: dict[str, float]) -> tuple[dict[str, float], float]:
    """Abundance of each element locked in grains (per H), and grain mass per H [g]."""
    ism = _load("wilms2000_ism.json")
    depletion = ism["depletion_gas_to_total"]
    dust = {el: abundances[el] * (1.0 - depletion[el]) for el in TBABS_ELEMENTS}
    weights = ism["grain_atomic_weight_amu"]
    mass = sum(dust[el] * weights[el] for el in TBABS_ELEMENTS) * ism["amu_g"]
    return dust, mass


def _lower_gamma(a: float, x: np.ndarray) -> np.ndarray:
    """Lower incomplete gamma function gamma(a, x) = int_0^x t^(a-1) e^-t dt, a > 0."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = x < a + 1.0
    out[small] = _gamma_series(a, x[small])
    out[~small] = math.gamma(a) - _upper_gamma_fraction(a, x[~small])
    return out


def _gamma_series(a: float, x: np.ndarray, terms: int = 200) -> np.ndarray:
    """gamma(a, x) by its power series, accurate for x < a + 1."""
    term = np.full_like(x, 1.0 / a)
    total = term.copy()
    for n in range(1, terms):
        term = term * x / (a + n)
        total += term
    with np.errstate(divide="ignore"):
        return total * np.exp(a * np.log(x) - x)


def _upper_gamma_fraction(a: float, x: np.ndarray, terms: int = 200) -> np.ndarray:
    """Gamma(a, x) by its continued fraction (modified Lentz); for x >= a + 1."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    for n in range(1, terms):
        an = -n * (n - a)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        h = h * d * c
    return np.exp(a * np.log(x) - x) * h


def _grain_cm2(
    sigma_dust_cm2: np.ndarray, dust_atoms: float, grain_mass: float
) -> np.ndarray:
    """Grain cross section per H atom [cm^2]: power-law sizes with self-shielding.

    ``sigma_dust_cm2`` is the abundance-weighted sum of the grain elements' cross
    sections; the formula is the appendix of Wilms, Allen & McCray (2000).
    """
    if dust_atoms <= 0.0:
        return np.zeros_like(sigma_dust_cm2)

    p, rho = TBABS_GRAIN_INDEX, TBABS_GRAIN_DENSITY
    amin, amax = TBABS_GRAIN_AMIN_CM, TBABS_GRAIN_AMAX_CM
    k = (1.0 - p) / (amax ** (1.0 - p) - amin ** (1.0 - p))
    n_grains = grain_mass / (rho * 4.0 / 3.0 * math.pi * k)
    n_grains *= (4.0 - p) / (amax ** (4.0 - p) - amin ** (4.0 - p))

    mean_atom_mass = grain_mass / dust_atoms
    s = (4.0 / 3.0) * rho / mean_atom_mass * (sigma_dust_cm2 / dust_atoms)
    shielded = amin ** (3.0 - p) * -np.expm1(-s * amin)
    shielded -= amax ** (3.0 - p) * -np.expm1(-s * amax)
    gamma_term = _lower_gamma(4.0 - p, s * amax) - _lower_gamma(4.0 - p, s * amin)
    shielded += s ** (p - 3.0) * gamma_term
    return n_grains * math.pi * k / (p - 3.0) * shielded


def _tbabs_mixture(
    species_mb: dict[str, np.ndarray], abundances: dict[str, float]
) -> np.ndarray:
    """Effective ISM cross section per H atom [1e-22 cm^2]: gas + grains + H2.

    Takes the per-species cross sections (point values or bin averages) so that the
    bin rule can average the species first, as XSPEC does.
    """
    ism = _load("wilms2000_ism.json")
    depletion = ism["depletion_gas_to_total"]
    gas = np.zeros_like(species_mb["H"])
    for el in TBABS_ELEMENTS:
        weight = abundances[el] * depletion[el]
        weight *= (1.0 - TBABS_H2_FRACTION) if el == "H" else 1.0
        gas += weight * species_mb[el]

    h2_per_h = abundances["H"] * depletion["H"] * TBABS_H2_FRACTION * 0.5
    molecular = h2_per_h * species_mb["H2"]

    dust, grain_mass = _grain_mixture(abundances)
    sigma_dust = sum(dust[el] * species_mb[el] for el in TBABS_ELEMENTS) * 1e-18
    grains = _grain_cm2(sigma_dust, sum(dust.values()), grain_mass) * 1e18
    return (gas + molecular + grains) * MB_TO_1E22


def tbabs_cross_section(
    energy_kev: np.ndarray, abundance: str | None = None
) -> np.ndarray:
    """Effective tbabs cross section per H atom at point energies [1e-22 cm^2].

    Transmission is exp(-nH * sigma) with nH in 1e22 cm^-2. Zero for E <= 0 (and for
    non-finite E), below the lowest ionisation threshold (5.1 eV), and at E >= 100 keV.
    ``abundance`` None means the table in force (``settings.abundance()``).
    """
    e_ev = _energies_ev(energy_kev)
    return _tbabs_mixture(_tbabs_species_mb(e_ev), _abundances(abundance))


def tbabs_bin_cross_section(
    edges_kev: np.ndarray, abundance: str | None = None
) -> np.ndarray:
    """tbabs cross section per bin for n + 1 edges [1e-22 cm^2] (XSPEC's edge mean).

    As in XSPEC, each species' cross section is averaged over the two bin edges before
    the mixture is formed. Gas and H2 are thus exactly the mean of the edge values; the
    grain term is not (self-shielding is non-linear), which matters only where grains
    are optically thick and a bin straddles an edge (up to 4% at the O 1s-2p
    resonance; typically < 1e-6).
    """
    edges = _checked_edges(edges_kev, "tbabs")
    species = _tbabs_species_mb(_energies_ev(edges))
    means = {name: 0.5 * (s[:-1] + s[1:]) for name, s in species.items()}
    return _tbabs_mixture(means, _abundances(abundance))


def _abundances(name: str | None) -> dict[str, float]:
    """An abundance table by name; None means the one in force (XSPEC's ``abund``)."""
    if name is None:
        from specdsl.library import settings

        name = settings.abundance()
    return abundance_table(name)


def _checked_edges(edges_kev, model: str) -> np.ndarray:
    """The bin edges as float64, or a ParameterError naming the model."""
    edges = np.asarray(edges_kev, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2:
        raise ParameterError(
            f"{model} needs a 1-D grid of at least two bin edges (keV)"
        )
    return edges


# ---------------------------------------------------------------------------
# phabs and its family (XSPEC's xszvab): 18 elements with Verner cross sections

PHABS_ELEMENTS = TBABS_ELEMENTS  # H He C N O Ne Na Mg Al Si S Cl Ar Ca Cr Fe Co Ni
LYMAN_LIMIT_KEV = 0.0135984
PHABS_EMAX_KEV = 100.0


def phabs_absorbs(lower_edges_kev):
    """Whether phabs absorbs in a bin: its (rest-frame) lower edge lies between the
    Lyman limit and 100 keV; XSPEC sets every other bin to 1. Works on numpy or JAX."""
    return (lower_edges_kev >= LYMAN_LIMIT_KEV) & (lower_edges_kev <= PHABS_EMAX_KEV)


def verner_bin_cross_sections(
    edges_kev: np.ndarray, abundance: str | None = None
) -> np.ndarray:
    """A_Z times each phabs element's Verner cross section, mean of the two bin edges.

    Shape (18, n) in 1e-22 cm^2 per H atom, rows in ``PHABS_ELEMENTS`` order; zero in
    the bins phabs leaves unabsorbed (``phabs_absorbs``). Their sum is phabs's sigma.
    """
    edges = _checked_edges(edges_kev, "phabs")
    abundances = _abundances(abundance)
    rows = []
    for element in PHABS_ELEMENTS:
        at_edges = verner_cross_section(element, edges)
        rows.append(abundances[element] * 0.5 * (at_edges[:-1] + at_edges[1:]))
    return np.where(phabs_absorbs(edges[:-1]), np.array(rows), 0.0)


# ---------------------------------------------------------------------------
# Point tables for the redshifted absorbers
#
# A redshifted absorber needs cross sections at E (1 + z) with z a parameter, so they
# cannot be computed once per grid. They are tabulated once per process on a fixed
# grid that resolves every jump (three nodes at each threshold and table boundary),
# every node of the O/Ne/Fe edge tables and the He autoionisation resonances, with
# 3000 log-spaced nodes per decade in between. Linear interpolation error: < 1e-6
# relative (9e-7 measured for phabs's sum), except within 60-65 eV of the He
# resonances (up to 2e-4 for tbabs), i.e. below 0.065 keV in the rest frame.

TABLE_EMIN_KEV = 1e-3  # below every threshold (Na 3s, 5.1 eV): sigma = 0 there
TABLE_EMAX_KEV = 1e4
TABLE_NODES_PER_DECADE = 3000
TBABS_SPECIES = (*TBABS_ELEMENTS, "H2")
_JUMP_OFFSET = 1e-10  # relative distance of the nodes either side of a jump


@functools.cache
def absorption_table_energies() -> np.ndarray:
    """The nodes of the point tables [keV], strictly increasing (read-only)."""
    decades = math.log10(TABLE_EMAX_KEV / TABLE_EMIN_KEV)
    count = int(round(decades * TABLE_NODES_PER_DECADE)) + 1
    nodes = [np.geomspace(TABLE_EMIN_KEV, TABLE_EMAX_KEV, count)]
    jumps = np.array(_jump_energies_ev()) / EV_PER_KEV
    for factor in (1.0 - _JUMP_OFFSET, 1.0, 1.0 + _JUMP_OFFSET):
        nodes.append(jumps * factor)
    for table in _load("tbabs_edges.json")["elements"].values():
        nodes.append(np.asarray(table["energy_eV"]) / EV_PER_KEV)
    nodes.append(_helium_resonance_nodes_ev() / EV_PER_KEV)
    energies = np.unique(np.concatenate(nodes))
    energies = energies[(energies >= TABLE_EMIN_KEV) & (energies <= TABLE_EMAX_KEV)]
    energies.flags.writeable = False
    return energies


def _jump_energies_ev() -> list[float]:
    """Every energy at which some cross section jumps or switches formula [eV]."""
    jumps = [HYDROGEN_RYDBERG_EV, TBABS_EMAX_KEV * EV_PER_KEV]
    for record in _load("verner1996_neutral.json")["elements"].values():
        jumps.append(record["outer_fit_below_eV"])
        jumps.extend(shell["E_th"] for shell in record["shells"].values())
    helium_h2 = _load("yan1998_helium_h2.json")
    jumps.append(helium_h2["helium"]["E_th"])
    jumps.append(helium_h2["h2"]["E_th"])
    jumps.extend(piece["lower_eV"] for piece in helium_h2["h2"]["pieces"])
    for table in _load("tbabs_edges.json")["elements"].values():
        jumps.extend([table["energy_eV"][0], table["energy_eV"][-1]])
        if "tail" in table:
            jumps.extend([table["tail"]["lower_eV"], table["tail"]["upper_eV"]])
    return jumps


def _helium_resonance_nodes_ev() -> np.ndarray:
    """Nodes across each He resonance, dense at its centre: z = tan(theta) half-widths
    from it, theta evenly spaced, out to 1000 half-widths where the log grid takes over.
    """
    res = _load("yan1998_helium_h2.json")["helium"]["resonances"]
    theta = np.linspace(-1.0, 1.0, 2001) * math.atan(1000.0)
    nodes = []
    for nu, gamma in zip(res["nu"], res["gamma"], strict=True):
        centre = res["rydberg_eV"] * (3.0 - 1.0 / nu**2 + res["eps_offset"])
        half_width = 0.5 * gamma * res["rydberg_eV"]
        nodes.append(centre + half_width * np.tan(theta))
    return np.concatenate(nodes)


@functools.cache
def _verner_table() -> np.ndarray:
    """Verner cross section of each phabs element at the table nodes [1e-22 cm^2]."""
    energies = absorption_table_energies()
    table = np.array([verner_cross_section(el, energies) for el in PHABS_ELEMENTS])
    table.flags.writeable = False
    return table


def verner_point_table(abundance: str | None = None) -> np.ndarray:
    """A_Z sigma_Z of each phabs element at ``absorption_table_energies()``.

    Shape (18, N), 1e-22 cm^2 per H atom: what the redshifted phabs family
    interpolates at E (1 + z).
    """
    abundances = _abundances(abundance)
    weights = np.array([abundances[el] for el in PHABS_ELEMENTS])
    return weights[:, None] * _verner_table()


@functools.cache
def tbabs_species_table() -> np.ndarray:
    """Cross section of each tbabs species (``TBABS_SPECIES``) at the table nodes.

    Shape (19, N) in 1e-22 cm^2 per atom (per molecule for H2), read-only.
    """
    species = _tbabs_species_mb(absorption_table_energies() * EV_PER_KEV)
    table = np.array([species[name] for name in TBABS_SPECIES]) * MB_TO_1E22
    table.flags.writeable = False
    return table


def tbabs_bin_species(edges_kev: np.ndarray) -> np.ndarray:
    """Each tbabs species' cross section, mean of the two bin edges (XSPEC's rule).

    Shape (19, n) in 1e-22 cm^2 per atom, rows in ``TBABS_SPECIES`` order.
    """
    edges = _checked_edges(edges_kev, "tbabs")
    species = _tbabs_species_mb(_energies_ev(edges))
    points = np.array([species[name] for name in TBABS_SPECIES]) * MB_TO_1E22
    return 0.5 * (points[:, :-1] + points[:, 1:])


def tbabs_grain_data() -> dict[str, np.ndarray | float]:
    """What the tbabs grain model needs per element, in ``TBABS_ELEMENTS`` order.

    ``depletion``: gas / total abundance (Wilms et al. 2000, XSPEC's fggrain);
    ``weight``: atomic weight [amu] for the mean grain mass; ``amu``: [g].
    """
    ism = _load("wilms2000_ism.json")
    return {
        "depletion": np.array(
            [ism["depletion_gas_to_total"][el] for el in TBABS_ELEMENTS]
        ),
        "weight": np.array(
            [ism["grain_atomic_weight_amu"][el] for el in TBABS_ELEMENTS]
        ),
        "amu": float(ism["amu_g"]),
    }


def abundance_vector(abundance: str | None = None) -> np.ndarray:
    """Number abundances of the 18 tbabs/phabs elements relative to H, in order."""
    abundances = _abundances(abundance)
    return np.array([abundances[el] for el in TBABS_ELEMENTS])
