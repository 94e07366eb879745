"""`Observation`: what folding a model needs from one spectrum and its response.

An Observation holds the model energy grid (contiguous edges in keV), the dense
redistribution matrix, the effective area, the channel grid, exposure and scaling
keywords and, when built from a PHA file, the observed counts, grouping, quality
and background. Arrays are read-only so that one Observation can be shared.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from specdsl.errors import OGIPError
from specdsl.response.ogip import (
    EffectiveArea,
    Redistribution,
    Spectrum,
    diagonal_redistribution,
    file_kind,
    read_arf,
    read_pha,
    read_rmf,
    split_row_suffix,
)

# Relative tolerance for two energy grids (ARF vs RMF) and for the contiguity of
# one grid: files store energies as float32 (about 6e-8), written by many tools.
GRID_RTOL = 1e-5

# A model evaluated at E = 0 keV is often infinite (power laws); a first ENERG_LO
# of 0 becomes this fraction of the first bin's upper edge instead. Sherpa makes
# the same kind of substitution with a fixed 1e-10 keV.
ZERO_ENERGY_FRACTION = 1e-3

# XSPEC's %match%: the file with the spectrum's root name and the usual extension.
MATCH_EXTENSIONS = {
    "RESPFILE": (".rsp", ".rmf"),
    "ANCRFILE": (".arf",),
    "BACKFILE": (".bkg",),
}

# The from_pha argument that overrides each header link.
LINK_ARGUMENTS = {"RESPFILE": "rmf", "ANCRFILE": "arf", "BACKFILE": "background"}

# What to do about a link that cannot be followed, in the Python API's spelling
# (the command line rewrites these phrases into its options: see specdsl.cli).
LINK_HINTS = {
    "RESPFILE": "pass rmf='file.rmf' to give the file",
    "ANCRFILE": "pass arf='file.arf' to give the file, or arf=False to go without",
    "BACKFILE": (
        "pass background='file.pha' to give the file, or background=False to go without"
    ),
}

# rmf= value asking for an ideal detector on the ARF's grid (see from_pha).
DIAGONAL = "diagonal"
# FKRSP001 of a spectrum faked through it (there is no response file to name).
DIAGONAL_LABEL = "diagonal response (ARF bins as channels)"
DEFAULT_LABEL = "specdsl default response"

# What to do when a spectrum has no redistribution matrix, said in every such error.
NO_MATRIX_HINT = (
    "Fake it with a user-supplied RMF or RSP (rmf='file.rmf'), with "
    "rmf='diagonal' (an ideal detector: ARF bin i counted in channel i, as Sherpa "
    "does with an ARF and no RMF; needs an ARF with one bin per channel), or "
    "through the built-in default response (Observation.default(exposure=...))"
)


@dataclass(frozen=True, eq=False)
class Observation:
    """One spectrum's response and data, ready for folding.

    `redistribution` is (n_energy, n_channels); `effective_area` is (n_energy,)
    in cm^2 (all ones for a full RSP or when no ARF is used). Before AREASCAL,
    background and grouping, expected counts are
    `exposure * (flux * effective_area) @ redistribution` for a model `flux` in
    photons cm^-2 s^-1 per energy bin of `energy_edges`. `energy_index` maps each
    model bin back to its row in the RMF (zero-width bins are left out).
    """

    energy_edges: np.ndarray
    redistribution: np.ndarray
    effective_area: np.ndarray
    channels: np.ndarray
    e_min: np.ndarray
    e_max: np.ndarray
    exposure: float
    backscal: float | np.ndarray = 1.0
    areascal: float | np.ndarray = 1.0
    counts: np.ndarray | None = None
    grouping: np.ndarray | None = None
    quality: np.ndarray | None = None
    background: Observation | None = None
    spectrum_path: Path | None = None
    rmf_path: Path | None = None
    arf_path: Path | None = None
    background_path: Path | None = None
    backfile: str | None = None
    keywords: dict = field(default_factory=dict)
    first_channel: int = 1
    is_full_response: bool = False
    energy_index: np.ndarray | None = None
    row: int | None = None

    def __post_init__(self):
        for name in _ARRAY_FIELDS:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    # ------------------------------------------------------------------ shape

    @property
    def n_energy(self) -> int:
        """Number of model energy bins (len(energy_edges) - 1)."""
        return int(self.energy_edges.size - 1)

    @property
    def n_channels(self) -> int:
        """Number of detector channels (columns of the redistribution matrix)."""
        return int(self.channels.size)

    @property
    def energy_lo(self) -> np.ndarray:
        """Lower edge (keV) of each model energy bin."""
        return self.energy_edges[:-1]

    @property
    def energy_hi(self) -> np.ndarray:
        """Upper edge (keV) of each model energy bin."""
        return self.energy_edges[1:]

    # ----------------------------------------------------------- constructors

    @classmethod
    def from_pha(
        cls, path, *, rmf=None, arf=None, background=None, exposure=None, row=None
    ):
        """Read a PHA spectrum and the files its header links, resolved beside it.

        `rmf`, `arf`, `background` override RESPFILE/ANCRFILE/BACKFILE; pass
        `arf=False` or `background=False` to ignore a link. `rmf='diagonal'` fakes
        through the ARF alone with an ideal (diagonal) redistribution, for data
        whose RMF is not at hand. `exposure` overrides EXPOSURE (the background
        keeps its own), also when the file's EXPOSURE is missing or unusable.
        `row` picks a spectrum of a type II file (1-based, or ``path{n}``); a type
        II background file is read at the same row. The result's `backfile` is the
        BACKFILE link as written, also when the background is not read.
        """
        path, row = split_row_suffix(path, row)
        if exposure is not None:
            exposure = _checked_exposure(exposure, path)
        spectrum = _read_spectrum(path, row, exposure)

        rmf_data, arf_data = _load_response(path, spectrum, rmf, arf)
        _check_channels(spectrum, rmf_data)

        obs = _assemble(rmf_data, arf_data, _exposure(spectrum, exposure), spectrum)
        bkg = _load_background(path, spectrum, background, obs)
        return dataclasses.replace(
            obs,
            background=bkg,
            background_path=None if bkg is None else bkg.spectrum_path,
            backfile=spectrum.backfile,
        )

    @classmethod
    def from_response(cls, rmf, arf=None, *, exposure: float = 1.0):
        """An Observation from an RMF/RSP (and ARF) alone, with no spectrum.

        `rmf='diagonal'` with an ARF gives an ideal detector on the ARF's grid,
        channels numbered from 1.
        """
        arf_data = None
        if arf is not None and arf is not False:
            arf_data = arf if isinstance(arf, EffectiveArea) else read_arf(arf)
        if _is_diagonal(rmf):
            rmf_data = _diagonal(arf_data, 1, None)
        else:
            rmf_data = rmf if isinstance(rmf, Redistribution) else read_rmf(rmf)
        if arf_data is not None:
            _check_full_response_arf(rmf_data, arf_data)
        return _assemble(rmf_data, arf_data, _checked_exposure(exposure, None), None)

    @classmethod
    def default(cls, exposure: float = 10_000.0):
        """The built-in CCD-like response (see specdsl.response.default), no files."""
        from specdsl.response.default import default_response

        rmf_data, arf_data = default_response()
        return _assemble(rmf_data, arf_data, _checked_exposure(exposure, None), None)

    # --------------------------------------------------------------- methods

    def with_exposure(self, exposure: float) -> Observation:
        """A copy with another exposure time (s); the background keeps its own."""
        return dataclasses.replace(
            self, exposure=_checked_exposure(exposure, self.spectrum_path)
        )

    def group_matrix(self) -> np.ndarray:
        """(n_groups, n_channels) 0/1 matrix summing channels into GROUPING groups.

        GROUPING 1 starts a group, -1 continues it, 0 (ungrouped) makes the
        channel its own group. Channels with QUALITY != 0 are left out, and groups
        left with no good channel are dropped. Without GROUPING every good channel
        is its own group.
        """
        return self.group_sparse().toarray()

    def group_sparse(self):
        """`group_matrix` as a scipy CSR array, for large channel counts.

        A dense one takes gigabytes for a 32768-channel grating spectrum.
        """
        from scipy import sparse

        good, row, n_groups = self._groups()
        ones = np.ones(row.size, dtype=np.float64)
        return sparse.csr_array((ones, (row, good)), shape=(n_groups, self.n_channels))

    def sum_groups(self, matrix: np.ndarray) -> np.ndarray:
        """``matrix @ group_matrix().T``: the good columns of each group summed.

        Summed by runs of neighbouring channels that share a group and a
        quality, straight from ``matrix`` (no copy of it): a thousandth of the
        adds of the matrix product on the 4096 PN channels.
        """
        group_id = group_ids(self.grouping, self.n_channels)
        good = self._good_channels()
        if not good.any():
            return np.zeros((matrix.shape[0], 0), dtype=matrix.dtype)

        run = np.diff(group_id, prepend=-1) != 0
        run[1:] |= good[1:] != good[:-1]
        starts = np.flatnonzero(run)
        runs = np.add.reduceat(matrix, starts, axis=1)[:, good[starts]]

        kept = group_id[starts[good[starts]]]
        return np.add.reduceat(runs, np.flatnonzero(np.diff(kept, prepend=-1)), axis=1)

    def _groups(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Good channels, their group (rising from 0) and the number of groups."""
        group_id = group_ids(self.grouping, self.n_channels)
        good = self._good_channels()
        kept, row = np.unique(group_id[good], return_inverse=True)
        return np.flatnonzero(good), row.reshape(-1), kept.size

    def _good_channels(self) -> np.ndarray:
        """Channels with QUALITY 0 (all of them without a QUALITY column)."""
        if self.quality is None:
            return np.ones(self.n_channels, bool)
        return np.asarray(self.quality) == 0


_ARRAY_FIELDS = (
    "energy_edges",
    "redistribution",
    "effective_area",
    "channels",
    "e_min",
    "e_max",
    "backscal",
    "areascal",
    "counts",
    "grouping",
    "quality",
    "energy_index",
)


def group_ids(grouping: np.ndarray | None, n_channels: int) -> np.ndarray:
    """Group number of every channel from an OGIP GROUPING array (0-based)."""
    if grouping is None:
        return np.arange(n_channels)
    starts = np.asarray(grouping) != -1
    if n_channels:
        starts[0] = True
    return np.cumsum(starts) - 1


# ------------------------------------------------------------------ assembling


def _assemble(rmf: Redistribution, arf: EffectiveArea | None, exposure, spectrum):
    """Combine response pieces (and a spectrum) into an Observation."""
    edges, keep = energy_grid(rmf)
    if arf is not None:
        check_grids(rmf, arf)

    matrix = rmf.matrix if keep.all() else rmf.matrix[keep]
    if arf is None or rmf.is_full_response:
        area = np.ones(int(keep.sum()), dtype=np.float64)
    else:
        area = np.asarray(arf.specresp, dtype=np.float64)[keep]

    keywords = dict(rmf.keywords)
    fields = {}
    if spectrum is not None:
        keywords.update(spectrum.keywords)
        fields = _spectrum_fields(spectrum)

    return Observation(
        energy_edges=edges,
        redistribution=matrix,
        effective_area=area,
        channels=np.asarray(rmf.channels),
        e_min=np.asarray(rmf.e_min),
        e_max=np.asarray(rmf.e_max),
        exposure=exposure,
        rmf_path=rmf.path,
        arf_path=None if arf is None else arf.path,
        keywords=keywords,
        first_channel=rmf.first_channel,
        is_full_response=rmf.is_full_response,
        energy_index=np.flatnonzero(keep),
        **fields,
    )


def _spectrum_fields(spectrum: Spectrum) -> dict:
    """The Observation fields that come from the PHA file."""
    return {
        "backscal": spectrum.backscal,
        "areascal": spectrum.areascal,
        "counts": spectrum.counts,
        "grouping": spectrum.grouping,
        "quality": spectrum.quality,
        "spectrum_path": spectrum.path,
        "row": spectrum.row,
    }


def energy_grid(rmf: Redistribution) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous, strictly increasing edges (keV) and the mask of RMF rows kept.

    Bins of zero width (ENERG_LO == ENERG_HI) and a malformed first bin
    (ENERG_LO > ENERG_HI) are dropped: a model integrated over such a bin gives
    no photons, and removing them keeps every bin width positive. A first edge
    of 0 keV is moved to ZERO_ENERGY_FRACTION of the first upper edge.
    """
    lo, hi = rmf.energy_lo, rmf.energy_hi
    if lo.size == 0:
        raise OGIPError(rmf.path, "the matrix has no energy bins", field="ENERG_LO")

    _check_contiguous(rmf.path, lo, hi)
    edges = np.concatenate([lo[:1], hi])
    if edges[0] > edges[1]:
        edges[0] = edges[1]  # a malformed first bin becomes zero-width, dropped below

    width = np.diff(edges)
    if np.any(width < 0):
        at = int(np.flatnonzero(width < 0)[0])
        raise OGIPError(
            rmf.path,
            f"energy grid decreases at bin {at} ({lo[at]} -> {hi[at]} keV)",
            field="ENERG_HI",
        )

    keep = width > 0
    if not keep.any():
        raise OGIPError(rmf.path, "every energy bin has zero width", field="ENERG_HI")
    kept_edges = np.concatenate([edges[:-1][keep][:1], edges[1:][keep]])
    if kept_edges[0] <= 0:
        kept_edges[0] = kept_edges[1] * ZERO_ENERGY_FRACTION
    return kept_edges, keep


def _check_contiguous(path, lo: np.ndarray, hi: np.ndarray) -> None:
    """Each ENERG_LO must equal the previous ENERG_HI (to float32 precision)."""
    scale = np.maximum(np.abs(hi[:-1]), np.abs(lo[1:]))
    gap = np.abs(lo[1:] - hi[:-1]) > GRID_RTOL * scale + 1e-12
    if np.any(gap):
        at = int(np.flatnonzero(gap)[0]) + 1
        raise OGIPError(
            path,
            f"energy grid is not contiguous: bin {at} starts at {lo[at]} keV but "
            f"bin {at - 1} ends at {hi[at - 1]} keV",
            field="ENERG_LO",
        )


def check_grids(rmf: Redistribution, arf: EffectiveArea) -> None:
    """The ARF must sample exactly the RMF's energy grid."""
    names = f"ARF {_name(arf.path)} and RMF {_name(rmf.path)}"
    if arf.energy_lo.size != rmf.energy_lo.size:
        raise OGIPError(
            arf.path,
            f"energy grids differ: {names} have {arf.energy_lo.size} and "
            f"{rmf.energy_lo.size} bins",
            field="ENERG_LO",
        )
    for name in ("energy_lo", "energy_hi"):
        a, r = getattr(arf, name), getattr(rmf, name)
        off = np.abs(a - r) > GRID_RTOL * np.maximum(np.abs(a), np.abs(r)) + 1e-12
        if np.any(off):
            at = int(np.flatnonzero(off)[0])
            column = name.upper().replace("ENERGY", "ENERG")
            raise OGIPError(
                arf.path,
                f"energy grids differ: {names} disagree at bin {at} "
                f"({column} {a[at]} vs {r[at]} keV)",
                field=column,
            )


def _check_channels(spectrum: Spectrum, rmf: Redistribution) -> None:
    """The PHA's channel count (DETCHANS) must equal the RMF's."""
    if spectrum.n_channels != rmf.n_channels:
        raise OGIPError(
            spectrum.path,
            f"channel counts differ: PHA {_name(spectrum.path)} has "
            f"{spectrum.n_channels} channels but RMF {_name(rmf.path)} has "
            f"{rmf.n_channels}",
            field="DETCHANS",
        )


def _check_full_response_arf(rmf: Redistribution, arf: EffectiveArea) -> None:
    """Refuse an ARF on top of a matrix that already contains the area (RSP)."""
    if rmf.is_full_response:
        raise OGIPError(
            arf.path,
            f"RMF {_name(rmf.path)} is a full response (area already folded in: "
            "HDUCLAS3=FULL or elements > 1), so an ARF would count the area twice; "
            "leave the ARF out with arf=False",
            field="ANCRFILE",
        )


def _read_spectrum(path: Path, row, exposure) -> Spectrum:
    """The PHA spectrum; an unusable EXPOSURE error says how to override it."""
    try:
        return read_pha(path, row=row, exposure=exposure)
    except OGIPError as error:
        if error.field != "EXPOSURE":
            raise
        raise OGIPError(
            error.path,
            f"{_message(error)}; pass exposure=... to override it",
            field="EXPOSURE",
        ) from error


def _message(error: OGIPError) -> str:
    """An OGIPError's text without its 'path [field]: ' prefix."""
    text = str(error)
    prefix = error.path + (f" [{error.field}]" if error.field else "") + ": "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _exposure(spectrum: Spectrum, override) -> float:
    """The exposure to use: the override, else the file's EXPOSURE."""
    if override is not None:
        return _checked_exposure(override, spectrum.path)
    if spectrum.exposure is None:
        raise OGIPError(
            spectrum.path,
            "no EXPOSURE keyword; pass exposure=... to set one",
            field="EXPOSURE",
        )
    return _checked_exposure(spectrum.exposure, spectrum.path)


def _checked_exposure(value, path) -> float:
    """A finite, non-negative exposure in seconds."""
    try:
        exposure = float(value)
    except (TypeError, ValueError) as exc:
        raise OGIPError(
            path, f"exposure {value!r} is not a number", "EXPOSURE"
        ) from exc
    if not np.isfinite(exposure) or exposure < 0:
        raise OGIPError(
            path,
            f"exposure must be finite and >= 0 s, got {exposure}",
            field="EXPOSURE",
        )
    return exposure


def _name(path) -> str:
    return "'(built-in)'" if path is None else f"'{Path(path).name}'"


# ----------------------------------------------------------------- links


def resolve_link(pha_path: Path, value: str, keyword: str) -> Path:
    """Find the file a PHA header link names, the way XSPEC would.

    Tries the name relative to the PHA's folder, then with '.gz' appended, then
    the bare file name beside the PHA (links written with a directory prefix);
    '%match%' means the PHA's root name with the usual extension. A trailing
    row selector (``bkg.pha{2}``) is not part of the name: see `link_row`.
    """
    found = _linked_file(pha_path, value, keyword)
    if found is not None:
        return found

    candidates = _link_candidates(pha_path, value, keyword)
    tried = ", ".join(c.name for c in candidates[1:])
    raise OGIPError(
        candidates[0],
        f"file not found ({keyword} of {pha_path.name} names '{value}'"
        + (f"; also tried {tried}" if tried else "")
        + f"); {LINK_HINTS[keyword]}",
        field=keyword,
    )


def missing_link(pha_path, value: str, keyword: str) -> list[Path]:
    """The paths tried for a header link that names no file ([] when it is found).

    For a front end that does not need the linked file but says it is missing.
    """
    pha_path = Path(pha_path)
    if _linked_file(pha_path, value, keyword) is not None:
        return []
    return _link_candidates(pha_path, value, keyword)


def link_row(value: str) -> int | None:
    """The row a link selects with XSPEC's ``{n}`` suffix (type II files), or None."""
    match = re.search(r"\{\s*(\d+)\s*\}\s*$", value)
    return None if match is None else int(match.group(1))


def _linked_file(pha_path: Path, value: str, keyword: str) -> Path | None:
    """The first candidate of a link that is a file; None when none is.

    A candidate that is a directory (and no other one a file) is refused here,
    so that the message says so instead of "file not found".
    """
    candidates = _link_candidates(pha_path, value, keyword)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    for candidate in candidates:
        if candidate.is_dir():
            raise OGIPError(
                candidate,
                f"is a directory, not a file ({keyword} of {pha_path.name} names "
                f"'{value}'); {LINK_HINTS[keyword]}",
                field=keyword,
            )
    return None


def _link_candidates(pha_path: Path, value: str, keyword: str) -> list[Path]:
    """The paths to try for one link value, most literal first."""
    folder = pha_path.parent
    if value.strip().lower() == "%match%":
        root = _root_name(pha_path)
        return [folder / (root + ext) for ext in MATCH_EXTENSIONS.get(keyword, ())]

    name = re.sub(r"[\[{][^\]}]*[\]}]$", "", value.strip())  # drop [ext] / {row}
    _refuse_folder_link(pha_path, value, name, keyword)
    named = Path(name).expanduser()
    named = named if named.is_absolute() else folder / named
    beside = folder / named.name
    candidates = []
    for base in (named, beside):
        candidates.append(base)
        if not base.name.lower().endswith(".gz"):
            candidates.append(base.with_name(base.name + ".gz"))
    return list(dict.fromkeys(candidates))


def _refuse_folder_link(pha_path: Path, value: str, name: str, keyword: str) -> None:
    """A link such as '/', '.', '..' or 'dir/' names no file: refuse it by keyword.

    `name` is the link without its [ext] or {row} selector.
    """
    if name and not name.endswith(("/", "\\")) and Path(name).name not in ("", ".."):
        return
    raise OGIPError(
        pha_path,
        f"{keyword}='{value}' is not a file name (it names a directory or "
        f"nothing); {LINK_HINTS[keyword]}",
        field=keyword,
    )


def _root_name(path: Path) -> str:
    """File name without '.gz' and its last extension: s54405.pha -> s54405."""
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    return name.rsplit(".", 1)[0] if "." in name else name


def _is_diagonal(rmf) -> bool:
    return isinstance(rmf, str) and rmf.strip().lower() == DIAGONAL


def _load_response(path: Path, spectrum: Spectrum, rmf, arf):
    """The RMF and ARF (or None) of a spectrum, from arguments or header links."""
    if _is_diagonal(rmf):
        arf_data = _load_arf(path, spectrum, arf, None)
        return _diagonal(arf_data, spectrum.first_channel, spectrum), arf_data
    rmf_data = _load_rmf(path, spectrum, rmf)
    return rmf_data, _load_arf(path, spectrum, arf, rmf_data)


def _diagonal(arf: EffectiveArea | None, first_channel: int, spectrum):
    """The ideal redistribution on the ARF's grid, checked against the spectrum."""
    where = spectrum.path if spectrum is not None else "rmf='diagonal'"
    if arf is None:
        raise OGIPError(
            where,
            "rmf='diagonal' needs an ARF (arf='file.arf' or an ANCRFILE link): the "
            "ideal detector puts each ARF energy bin in one channel",
            field="ANCRFILE",
        )
    if spectrum is not None and arf.energy_lo.size != spectrum.n_channels:
        raise OGIPError(
            arf.path,
            f"rmf='diagonal' needs an ARF with one energy bin per channel: ARF "
            f"{_name(arf.path)} has {arf.energy_lo.size} bins but PHA "
            f"{_name(spectrum.path)} has {spectrum.n_channels} channels",
            field="DETCHANS",
        )
    return diagonal_redistribution(arf, first_channel)


def _load_rmf(path: Path, spectrum: Spectrum, rmf) -> Redistribution:
    """The RMF from the argument, else from RESPFILE; a clear error when there is
    none, saying how to fake the spectrum all the same."""
    if isinstance(rmf, Redistribution):
        return rmf
    if rmf is not None and rmf is not False:
        return read_rmf(rmf, origin="rmf argument")

    if spectrum.respfile is None:
        raise OGIPError(
            path,
            "no redistribution matrix: RESPFILE is 'none', blank or absent. "
            + NO_MATRIX_HINT,
            field="RESPFILE",
        )
    resolved = _linked_file(path, spectrum.respfile, "RESPFILE")
    if resolved is None:
        tried = ", ".join(
            c.name for c in _link_candidates(path, spectrum.respfile, "RESPFILE")
        )
        raise OGIPError(
            path,
            f"no redistribution matrix: RESPFILE of {path.name} names "
            f"'{spectrum.respfile}', which is not there (tried {tried}). "
            + NO_MATRIX_HINT,
            field="RESPFILE",
        )
    return read_rmf(resolved, origin=f"RESPFILE of {path.name}")


def _load_arf(path: Path, spectrum: Spectrum, arf, rmf: Redistribution | None):
    """The ARF from the argument, else from ANCRFILE; None for a full RSP link."""
    if arf is False:
        return None
    if arf is not None:
        data = (
            arf
            if isinstance(arf, EffectiveArea)
            else read_arf(arf, origin="arf argument")
        )
        if rmf is not None:
            _check_full_response_arf(rmf, data)
        return data

    if spectrum.ancrfile is None:
        return None
    resolved = resolve_link(path, spectrum.ancrfile, "ANCRFILE")
    data = read_arf(resolved, origin=f"ANCRFILE of {path.name}")
    if rmf is not None:
        _check_full_response_arf(rmf, data)
    return data


def _load_background(path: Path, spectrum: Spectrum, background, source: Observation):
    """The background Observation (sharing the source's response), or None.

    A BACKFILE naming the source file itself means the background is the
    HDUCLAS2='BKG' SPECTRUM extension of the same file (Chandra CSC products).
    A type II background file is read at the row of the source spectrum (or
    the row its ``{n}`` suffix names); a type II grating row without BACKFILE
    uses its own BACKGROUND_UP/DOWN columns. The background's own
    RESPFILE/ANCRFILE are not read: it shares the source response (no copy).
    """
    if background is False:
        return None
    if isinstance(background, Observation):
        return background
    bkg = _read_background(path, spectrum, background)
    if bkg is None:
        return None

    if bkg.n_channels != source.n_channels:
        raise OGIPError(
            bkg.path,
            f"channel counts differ: background {_name(bkg.path)} has "
            f"{bkg.n_channels} channels but source {_name(path)} has "
            f"{source.n_channels}",
            field="DETCHANS",
        )
    fields = _spectrum_fields(bkg)
    fields["keywords"] = {**source.keywords, **bkg.keywords}
    return dataclasses.replace(
        source,
        exposure=_exposure(bkg, None),
        background=None,
        background_path=None,
        **fields,
    )


def _read_background(path: Path, spectrum: Spectrum, background) -> Spectrum | None:
    """The background spectrum named by the argument, BACKFILE or the row itself."""
    row = None
    if background is not None:
        bkg_path, row = split_row_suffix(background, None)
        origin = "background argument"
    elif spectrum.backfile is not None:
        bkg_path = resolve_link(path, spectrum.backfile, "BACKFILE")
        row = link_row(spectrum.backfile)
        origin = f"BACKFILE of {path.name}"
    elif spectrum.has_background_columns:
        return read_pha(path, background=True, row=spectrum.row)
    else:
        return None

    same_file = bkg_path.resolve() == path.resolve()
    if row is None and spectrum.row is not None and _is_type_ii_file(bkg_path):
        row = spectrum.row
    return read_pha(bkg_path, background=same_file, origin=origin, row=row)


def _is_type_ii_file(path: Path) -> bool:
    """Whether a (background) PHA file is type II, judged from its headers."""
    return file_kind(path) == "pha2"


def response_label(observation) -> str:
    """FKRSP001 of a fake: the RMF's file name, or which file-less response made
    it (only the diagonal response has an ARF and no RMF)."""
    if observation.rmf_path is not None:
        return Path(observation.rmf_path).name
    if observation.arf_path is not None:
        return DIAGONAL_LABEL
    return DEFAULT_LABEL
