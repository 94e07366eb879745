"""Readers for OGIP spectral files: RMF/RSP (+EBOUNDS), ARF and PHA type I and II.

The formats follow OGIP/92-007 (PHA) and CAL/GEN/92-002 (RMF, ARF). Every reader
returns plain numpy arrays in keV, cm^2 and counts, and turns every problem with
the file into an `OGIPError` naming the file and the field at fault.

A response matrix is dense up to MAX_DENSE_ELEMENTS elements; a larger one
(grating and calorimeter grids) is read straight from its F_CHAN/N_CHAN/MATRIX
groups into a `SparseResponse`, which holds only the non-zeros.

PHA type II files hold several spectra, one per row; `read_pha(path, row=n)`
reads row n (1-based, XSPEC's ``file{n}``), `pha_rows(path)` lists them. XSPEC
table models (atable/mtable files) are recognised and refused with a pointer to
the model syntax, since they are models, not data (`file_kind`).
"""

from __future__ import annotations

import gzip
import io
import re
import shutil
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from specdsl.errors import OGIPError, SpecdslError

MATRIX_EXTNAMES = ("MATRIX", "SPECRESP MATRIX")
INFO_KEYWORDS = ("TELESCOP", "INSTRUME", "FILTER", "CHANTYPE", "DETCHANS")
# XSPEC's data-selection keywords (IXPE: XFLT0001 = 'Stokes:1').
XFLT_KEYWORD = re.compile(r"^XFLT\d{4}$")
# What a fake spectrum carries over from the spectrum it is based on, as XSPEC
# does: which instrument and data selection (not exposure or dates).
IDENTITY_KEYWORDS = ("TELESCOP", "INSTRUME", "FILTER", "CHANTYPE")
TYPE_II_MARKERS = ("TYPE:II", "TYPEII", "TYPE II")

# A pure redistribution element is a probability; float32 storage can round it a
# hair above 1, so only values clearly above 1 mean "area is folded in".
FULL_RESPONSE_THRESHOLD = 1.0 + 1e-5

# A row of a redistribution matrix (HDUCLAS3=REDIST or DETECTOR) is a probability
# and sums to at most 1. Real calibration files overshoot a little: the ACIS RMFs
# in the test data reach 1.0014 (CDF-S, acis_extract) and 1.0088 (Cycle 15 canned
# RMF), from float32 rounding and the RMF generator. Only sums clearly above that,
# more than 10 % over, are refused as a broken file.
REDIST_ROW_SUM_LIMIT = 1.1

# A response of at most this many elements (256 MiB as float64) is held as a
# dense matrix; a larger one (a 16384-channel grating, a 32768- or 60000-channel
# calorimeter, or their diagonal stand-ins) is held as a `SparseResponse` and
# never densified: only its non-zeros are stored.
MAX_DENSE_ELEMENTS = 2**25

# A sparse response with more stored elements than this (1 GiB of float64
# values, about 2 GiB with indices) is refused with the numbers in the message.
# The largest real RMFs known (NuSTAR, XRISM Resolve without the electron-loss
# continuum) have a few 10^7 non-zeros.
MAX_SPARSE_ELEMENTS = 2**27

# The most channels a spectrum may declare (DETCHANS): far above the largest real
# detectors (XRISM Resolve: 60000), far below what would exhaust memory.
MAX_DETCHANS = 2**20

# Per-row columns that identify a spectrum of a type II file, listed in messages.
ROW_LABELS = ("SPEC_NUM", "ROWID", "SPEC_ID", "TG_M", "TG_PART", "TG_SRCID", "TIME")

_MISSING = object()

# The first bytes of a gzip stream (.gz, and XMM-Newton's .FTZ products).
GZIP_MAGIC = b"\x1f\x8b"
GZIP_CHUNK = 1 << 22


class SparseResponse:
    """A (n_energy, n_channels) response matrix held as its non-zeros only.

    Rows are energy bins, stored as a scipy CSR array (``csr``), float64. Used
    when the dense form would exceed MAX_DENSE_ELEMENTS; `np.asarray` of one
    larger than that is refused rather than allocating gigabytes.
    """

    ndim = 2
    dtype = np.dtype(np.float64)

    def __init__(self, csr):
        csr = csr.tocsr() if csr.format != "csr" else csr
        csr.sum_duplicates()
        csr.eliminate_zeros()
        for array in (csr.data, csr.indices, csr.indptr):
            array.flags.writeable = False  # shared by every Observation using it
        self.csr = csr

    @classmethod
    def from_entries(cls, rows, columns, values, shape) -> SparseResponse:
        """From (row, column, value) triples; repeated positions are summed."""
        from scipy import sparse

        coo = sparse.coo_array(
            (np.asarray(values, np.float64), (rows, columns)), shape=shape
        )
        return cls(coo.tocsr())

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(int(n) for n in self.csr.shape)

    @property
    def size(self) -> int:
        """Elements of the dense form (what numpy's ``size`` would say)."""
        return self.shape[0] * self.shape[1]

    @property
    def nnz(self) -> int:
        """Stored (non-zero) elements."""
        return int(self.csr.nnz)

    def __getitem__(self, rows) -> SparseResponse:
        """A selection of energy rows (boolean mask, index array or slice)."""
        return SparseResponse(self.csr[rows])

    def row_sums(self) -> np.ndarray:
        """Sum of each energy row (n_energy,)."""
        return np.asarray(self.csr.sum(axis=1), dtype=np.float64).reshape(-1)

    def row_index(self) -> np.ndarray:
        """The energy row of each stored element, in storage order."""
        return np.repeat(np.arange(self.shape[0]), np.diff(self.csr.indptr))

    def toarray(self) -> np.ndarray:
        """The dense float64 matrix (explicit: for small responses and tests)."""
        return self.csr.toarray()

    def __array__(self, dtype=None, copy=None):
        if self.size > MAX_DENSE_ELEMENTS:
            raise SpecdslError(
                f"a {self.shape[0]} x {self.shape[1]} response is held sparse "
                f"({self.nnz} non-zeros); as a dense float64 matrix it would need "
                f"{self.size * 8 / 2**30:.1f} GiB, above specdsl's dense limit of "
                f"{MAX_DENSE_ELEMENTS * 8 / 2**30:.2f} GiB"
            )
        dense = self.toarray()
        return dense if dtype is None else dense.astype(dtype)

    def __repr__(self) -> str:
        return f"SparseResponse(shape={self.shape}, nnz={self.nnz})"


@dataclass(frozen=True, eq=False)
class Redistribution:
    """An RMF or RSP as a (n_energy, n_channels) matrix plus its EBOUNDS.

    `matrix` is a dense float64 array, or a `SparseResponse` when the dense form
    would exceed MAX_DENSE_ELEMENTS.
    """

    path: Path | None
    energy_lo: np.ndarray
    energy_hi: np.ndarray
    matrix: np.ndarray | SparseResponse
    channels: np.ndarray
    e_min: np.ndarray
    e_max: np.ndarray
    first_channel: int
    is_full_response: bool
    keywords: dict = field(default_factory=dict)

    @property
    def n_energy(self) -> int:
        return int(self.energy_lo.size)

    @property
    def n_channels(self) -> int:
        return int(self.channels.size)


@dataclass(frozen=True, eq=False)
class EffectiveArea:
    """An ARF: effective area in cm^2 on its ENERG_LO/ENERG_HI grid (keV)."""

    path: Path | None
    energy_lo: np.ndarray
    energy_hi: np.ndarray
    specresp: np.ndarray
    keywords: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Spectrum:
    """One PHA spectrum mapped onto the full channel range first..first+n-1.

    Channels absent from the file get zero counts and QUALITY 1 (bad), so that
    `present` tells which rows the file really listed. `row` is the 1-based row
    of a type II file (None for type I); `e_min`/`e_max` are the file's own
    EBOUNDS when it carries one (Fermi GBM); `has_background_columns` says that
    a type II grating row holds its background in BACKGROUND_UP/DOWN.
    """

    path: Path
    channels: np.ndarray
    counts: np.ndarray
    is_rate: bool
    exposure: float | None
    backscal: float | np.ndarray
    areascal: float | np.ndarray
    corrscal: float | np.ndarray
    grouping: np.ndarray | None
    quality: np.ndarray | None
    present: np.ndarray
    poisserr: bool
    first_channel: int
    detchans: int
    respfile: str | None
    ancrfile: str | None
    backfile: str | None
    corrfile: str | None
    hduclas2: str | None
    keywords: dict = field(default_factory=dict)
    row: int | None = None
    e_min: np.ndarray | None = None
    e_max: np.ndarray | None = None
    has_background_columns: bool = False

    @property
    def n_channels(self) -> int:
        return int(self.channels.size)


# --------------------------------------------------------------------------- files


# What reading a broken file can raise from astropy, numpy, gzip and zlib.
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    zlib.error,
    fits.VerifyError,
)

# Words in astropy's warnings that mean the file is cut short or damaged.
_DAMAGE_WORDS = ("truncated", "corrupt", "not multiple of 2880")


@contextmanager
def open_fits(path, origin: str | None = None) -> Iterator[fits.HDUList]:
    """Open a FITS file (gzip detected by content), raising OGIPError when unusable.

    `origin` says where the name came from ("RESPFILE of obs.pha") for the message.
    A file astropy reports as truncated or corrupt is refused here, before any
    of its tables is read; so is a gzip-compressed file whose stream fails its
    CRC or length check (see `_fits_source`).
    """
    path = Path(path)
    where = f" ({origin})" if origin else ""
    _refuse_not_a_file(path, where, origin)
    source = _fits_source(path, where)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AstropyWarning)
        try:
            hdul = fits.open(source, memmap=False, lazy_load_hdus=False)
        except _READ_ERRORS as exc:
            raise OGIPError(
                path, f"not a readable FITS file{where} (truncated or corrupt?): {exc}"
            ) from exc
        try:
            _refuse_damaged(path, caught, where)
            yield hdul
        except OGIPError:
            raise
        except _READ_ERRORS as exc:
            raise OGIPError(
                path, f"could not read the file{where} (damaged?): {exc}"
            ) from exc
        finally:
            hdul.close()


def _refuse_not_a_file(path: Path, where: str, origin: str | None) -> None:
    """A path that is missing, or a directory, is refused before it is opened."""
    field = _origin_field(origin)
    if path.is_dir():
        raise OGIPError(path, f"is a directory, not a FITS file{where}", field=field)
    if path.is_symlink() and not path.exists():
        raise OGIPError(
            path, f"a symbolic link that leads to no file{where}", field=field
        )
    if path.exists() and not path.is_file():
        raise OGIPError(
            path, f"not a regular file (a device or pipe){where}", field=field
        )
    if not path.is_file():
        raise OGIPError(path, f"file not found{where}", field=field)


def _fits_source(path: Path, where: str):
    """The path to open, or a gzip-compressed file's checked content in memory.

    astropy decompresses gzip as it reads and stops at the last extension, so
    the CRC and length at the end of the stream are never checked and a damaged
    copy reads as good numbers. Decompressing the whole stream here checks
    both; the file is read whole anyway (memmap=False), so it costs one copy.
    """
    try:
        with open(path, "rb") as raw:
            if raw.read(2) != GZIP_MAGIC:
                return path
            raw.seek(0)
            return _gunzip(path, raw, where)
    except OSError as exc:
        raise OGIPError(path, f"cannot read the file{where}: {exc}") from exc


def _gunzip(path: Path, raw, where: str) -> io.BytesIO:
    """The decompressed content of an open gzip file, refusing a damaged stream."""
    content = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
            shutil.copyfileobj(stream, content, GZIP_CHUNK)
    except (OSError, EOFError, zlib.error) as exc:
        raise OGIPError(
            path,
            f"gzip-compressed file is corrupt or truncated{where} ({exc}); "
            "fetch a fresh copy of the file",
        ) from exc
    content.seek(0)
    return content


def _refuse_damaged(path, caught, where: str) -> None:
    """Raise when astropy warned, while opening, that the file is cut or damaged."""
    for warning in caught:
        text = str(warning.message)
        if any(word in text for word in _DAMAGE_WORDS):
            first_line = text.strip().splitlines()[0]
            raise OGIPError(
                path, f"the file is truncated or corrupt{where}: {first_line}"
            )


def _origin_field(origin: str | None) -> str | None:
    """The keyword part of an origin such as 'RESPFILE of obs.pha'."""
    if not origin:
        return None
    return origin.split()[0]


def find_table(
    hdul: fits.HDUList,
    path,
    extnames: tuple[str, ...],
    hduclas: dict[str, str] | None = None,
    what: str = "",
) -> fits.BinTableHDU:
    """The first binary table whose EXTNAME or HDUCLASn keywords match."""
    tables = [h for h in hdul[1:] if isinstance(h, fits.BinTableHDU)]

    for hdu in tables:
        if hdu.name.strip().upper() in extnames:
            return hdu

    for hdu in tables:
        if hduclas and all(
            str(hdu.header.get(key, "")).strip().upper() == value
            for key, value in hduclas.items()
        ):
            return hdu

    refuse_table_model(hdul, path, f"a file with a {what or extnames[0]} extension")
    _refuse_wrong_hdu_type(hdul, path, extnames)
    raise OGIPError(
        path,
        f"no {what or extnames[0]} extension (looked for EXTNAME "
        f"{' or '.join(repr(n) for n in extnames)}; the file has: "
        f"{_hdu_names(hdul)})",
        field=extnames[0],
    )


def _hdu_names(hdul) -> str:
    """The extension names, or a hint that a file with none may be cut short."""
    names = ", ".join(h.name or "(unnamed)" for h in hdul[1:])
    return names or "no extensions at all: truncated?"


def _refuse_wrong_hdu_type(hdul, path, extnames: tuple[str, ...]) -> None:
    """An extension with the wanted name that is not a binary table is an error;
    so is an unreadable extension header. (A cut gzip stream is refused earlier,
    by `open_fits`.)"""
    for hdu in hdul[1:]:
        if hdu.name.strip().upper() not in extnames:
            continue
        kind = type(hdu).__name__
        if kind.startswith("_"):  # astropy's classes for headers it cannot parse
            raise OGIPError(
                path,
                f"extension {hdu.name} has a corrupt or non-standard header "
                f"(astropy reads it as {kind})",
                field=hdu.name.strip().upper(),
            )
        raise OGIPError(
            path,
            f"extension {hdu.name} is not a binary table (BINTABLE) as OGIP "
            f"requires, but {kind}",
            field=hdu.name.strip().upper(),
        )


def refuse_table_model(hdul, path, wanted: str) -> None:
    """Raise a clear error when the file is an XSPEC table model, not `wanted`."""
    kind = _table_model_kind(hdul)
    if kind is not None:
        raise OGIPError(
            path,
            f"this is an XSPEC table model ({kind}), not {wanted}; a table model "
            f"is used inside a model expression, e.g. {kind}{{{Path(path).name}}}",
            field="HDUCLAS1",
        )


def _table_model_kind(hdul) -> str | None:
    """'atable' or 'mtable' for an XSPEC table model file, else None."""
    primary = hdul[0].header
    if str(primary.get("HDUCLAS1", "")).strip().upper() != "XSPEC TABLE MODEL":
        return None
    return "atable" if primary.get("ADDMODEL") is True else "mtable"


def column(hdu: fits.BinTableHDU, name: str, path) -> np.ndarray:
    """A table column by name, or an OGIPError naming the missing column."""
    _require_column(hdu, name, path)
    return hdu.data[name]


def _require_column(hdu: fits.BinTableHDU, name: str, path) -> None:
    """Raise an OGIPError naming the column when the table lacks it."""
    if name not in _column_names(hdu):
        raise OGIPError(
            path,
            f"extension {hdu.name} has no {name} column "
            f"(columns: {', '.join(_column_names(hdu))})",
            field=name,
        )


def _column_names(hdu: fits.BinTableHDU) -> list[str]:
    """Upper-case names; a column whose TTYPEn is missing or damaged has ''."""
    return [(name or "").strip().upper() for name in hdu.columns.names]


def _column_def(hdu: fits.BinTableHDU, name: str) -> fits.Column:
    """The definition (format, dims, scaling) of a column named as we spell it."""
    return hdu.columns[_column_names(hdu).index(name)]


def _has_column(hdu: fits.BinTableHDU, name: str) -> bool:
    return name in _column_names(hdu)


def tlmin(hdu: fits.BinTableHDU, name: str, path) -> int | None:
    """The TLMINn keyword of the named column, or None when absent.

    A value that is not a whole number is an OGIPError naming TLMINn, since it
    sets the number of the first channel.
    """
    names = _column_names(hdu)
    if name not in names:
        return None
    keyword = f"TLMIN{names.index(name) + 1}"
    return _optional_int(path, hdu.header, keyword, f" (lowest {name})")


def _info_keywords(*headers) -> dict:
    """INFO_KEYWORDS and XFLTnnnn, each from the first header that has it."""
    keys = list(INFO_KEYWORDS)
    for header in headers:
        keys += [key for key in header if XFLT_KEYWORD.match(key) and key not in keys]
    found = {}
    for key in keys:
        for header in headers:
            if key in header and header[key] is not None:
                value = header[key]
                found[key] = value.strip() if isinstance(value, str) else value
                break
    return found


def identity_keywords(keywords: dict) -> dict:
    """The keywords a fake spectrum copies from the one it is based on."""
    return {
        key: value
        for key, value in keywords.items()
        if key in IDENTITY_KEYWORDS or XFLT_KEYWORD.match(key)
    }


def _per_row(hdu: fits.BinTableHDU, name: str, path) -> np.ndarray:
    """A column of one finite number per row (ENERG_LO, SPECRESP, ...)."""
    values = _float_array(column(hdu, name, path), path, name)
    if values.ndim != 1:
        raise OGIPError(
            path,
            f"{name} in {hdu.name} holds {int(np.prod(values.shape[1:]))} values "
            "per row; it must hold one",
            field=name,
        )
    return values


def _float_array(values, path, name: str) -> np.ndarray:
    """A column as float64, refusing text, NaN or infinity."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        kind = getattr(np.asarray(values), "dtype", "unknown type")
        raise OGIPError(
            path, f"{name} is not numeric (its values are {kind})", field=name
        ) from exc
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array.ravel()))[0])
        raise OGIPError(path, f"non-finite value in {name} (element {bad})", field=name)
    return array


# ----------------------------------------------------------------------------- RMF


def read_rmf(path, *, origin: str | None = None) -> Redistribution:
    """Read an RMF or RSP into a (n_energy, n_channels) float64 matrix.

    Dense up to MAX_DENSE_ELEMENTS elements, a SparseResponse above that.

    Handles MATRIX or 'SPECRESP MATRIX', EBOUNDS in either order, variable-length
    or fixed-width F_CHAN/N_CHAN/MATRIX columns and first channel 0 or 1.
    """
    path = Path(path)
    with open_fits(path, origin) as hdul:
        matrix_hdu = find_table(
            hdul,
            path,
            MATRIX_EXTNAMES,
            {"HDUCLAS1": "RESPONSE", "HDUCLAS2": "RSP_MATRIX"},
            what="MATRIX",
        )
        ebounds_hdu = find_table(
            hdul, path, ("EBOUNDS",), {"HDUCLAS2": "EBOUNDS"}, what="EBOUNDS"
        )
        return _build_redistribution(path, hdul[0], matrix_hdu, ebounds_hdu)


def _build_redistribution(path, primary, matrix_hdu, ebounds_hdu) -> Redistribution:
    """Assemble the Redistribution from the two open HDUs."""
    energy_lo = _per_row(matrix_hdu, "ENERG_LO", path)
    energy_hi = _per_row(matrix_hdu, "ENERG_HI", path)
    channels, e_min, e_max = _read_ebounds(path, ebounds_hdu)

    n_channels = channels.size
    detchans = _optional_int(
        path, matrix_hdu.header, "DETCHANS", " (number of channels)"
    )
    if detchans is not None and detchans != n_channels:
        raise OGIPError(
            path,
            f"DETCHANS={detchans} in {matrix_hdu.name} but EBOUNDS has "
            f"{n_channels} rows",
            field="DETCHANS",
        )

    # Known limitation: matrix column k is EBOUNDS row k. When the file numbers
    # them differently (Swift BAT survey RSP: EBOUNDS 1..8, F_CHAN from 0),
    # `channels` keeps EBOUNDS' numbers and `first_channel` F_CHAN's.
    first_channel = _first_matrix_channel(path, matrix_hdu)
    if energy_lo.size * n_channels > MAX_DENSE_ELEMENTS:
        matrix = sparse_matrix(path, matrix_hdu, n_channels, first_channel)
    else:
        matrix = dense_matrix(path, matrix_hdu, n_channels, first_channel)
    _refuse_negative(path, matrix)

    hduclas3 = str(matrix_hdu.header.get("HDUCLAS3", "")).strip().upper()
    is_full = _is_full_response(path, hduclas3, matrix)
    keywords = _info_keywords(matrix_hdu.header, ebounds_hdu.header, primary.header)

    return Redistribution(
        path=path,
        energy_lo=energy_lo,
        energy_hi=energy_hi,
        matrix=matrix,
        channels=channels,
        e_min=e_min,
        e_max=e_max,
        first_channel=first_channel,
        is_full_response=is_full,
        keywords=keywords,
    )


def _is_full_response(path, hduclas3: str, matrix: np.ndarray) -> bool:
    """Whether the area is folded in (RSP), refusing a REDIST matrix that sums > 1.

    HDUCLAS3=FULL, or elements above 1, or (for an unlabelled matrix) rows summing
    clearly above 1 mean a full response. A matrix that says it is a pure
    redistribution (REDIST, DETECTOR) with rows summing to more than
    REDIST_ROW_SUM_LIMIT is broken: folding an ARF through it would create photons.
    """
    if hduclas3 == "FULL":
        return True
    row_sums = _row_sums(matrix)
    peak = float(row_sums.max(initial=0.0))
    if hduclas3 in ("REDIST", "DETECTOR") and peak > REDIST_ROW_SUM_LIMIT:
        row = int(np.argmax(row_sums))
        raise OGIPError(
            path,
            f"row {row} of the redistribution matrix sums to {peak:.4g}, but "
            f"HDUCLAS3={hduclas3} says each row is a probability (sum <= 1; real "
            f"RMFs reach 1.009, refused above {REDIST_ROW_SUM_LIMIT}); if the "
            "effective area is folded in, the file should say HDUCLAS3='FULL'",
            field="MATRIX",
        )
    if _stored_values(matrix).max(initial=0.0) > FULL_RESPONSE_THRESHOLD:
        return True
    return peak > REDIST_ROW_SUM_LIMIT


def _stored_values(matrix) -> np.ndarray:
    """The elements of a dense matrix, or the non-zeros of a SparseResponse."""
    return matrix.csr.data if isinstance(matrix, SparseResponse) else matrix


def _row_sums(matrix) -> np.ndarray:
    """Sum of each energy row, dense or sparse."""
    if isinstance(matrix, SparseResponse):
        return matrix.row_sums()
    return matrix.sum(axis=1)


def _refuse_negative(path, matrix) -> None:
    """A response element is a probability or an area: never negative."""
    values = _stored_values(matrix)
    if values.min(initial=0.0) >= 0:
        return
    if isinstance(matrix, SparseResponse):
        row = int(matrix.row_index()[np.flatnonzero(values < 0)[0]])
    else:
        row = int(np.argwhere(matrix < 0)[0][0])
    raise OGIPError(
        path, f"row {row}: negative response value in MATRIX", field="MATRIX"
    )


def check_sparse_size(path, n_energy: int, n_channels: int, nnz: int) -> None:
    """Refuse a response with more non-zeros than MAX_SPARSE_ELEMENTS, with numbers."""
    if nnz > MAX_SPARSE_ELEMENTS:
        raise OGIPError(
            path,
            f"a {n_energy} x {n_channels} response with {nnz} non-zero elements "
            f"needs {nnz * 16 / 2**30:.1f} GiB even held sparse (values and "
            f"indices), above specdsl's limit of {MAX_SPARSE_ELEMENTS} non-zeros "
            f"({MAX_SPARSE_ELEMENTS * 16 / 2**30:.0f} GiB); as a dense float64 "
            f"matrix it would need {n_energy * n_channels * 8 / 2**30:.1f} GiB",
            field="MATRIX",
        )


def diagonal_redistribution(arf: EffectiveArea, first_channel: int = 1):
    """An ideal detector on the ARF's grid: energy bin i lands wholly in channel i.

    This is what Sherpa does with an ARF and no RMF (and XSPEC's dummy
    response with a delta-function redistribution): no energy resolution, the
    channel boundaries (EBOUNDS) are the ARF's energy bins. Useful when the real
    RMF is not at hand and the ARF has one bin per spectral channel (NuSTAR,
    XMM-MOS, Chandra grating ARFs). Above MAX_DENSE_ELEMENTS (grating and
    calorimeter grids) the identity is a SparseResponse.
    """
    n = int(arf.energy_lo.size)
    if n * n > MAX_DENSE_ELEMENTS:
        ramp = np.arange(n)
        matrix = SparseResponse.from_entries(ramp, ramp, np.ones(n), (n, n))
    else:
        matrix = np.eye(n, dtype=np.float64)
    keywords = dict(arf.keywords)
    return Redistribution(
        path=None,
        energy_lo=arf.energy_lo,
        energy_hi=arf.energy_hi,
        matrix=matrix,
        channels=np.arange(first_channel, first_channel + n, dtype=np.int64),
        e_min=np.asarray(arf.energy_lo, dtype=np.float64),
        e_max=np.asarray(arf.energy_hi, dtype=np.float64),
        first_channel=first_channel,
        is_full_response=False,
        keywords=keywords,
    )


def _read_ebounds(path, hdu) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CHANNEL, E_MIN, E_MAX of the EBOUNDS extension, checked row by row.

    The channel numbers must rise strictly and each E_MIN..E_MAX must be a
    non-negative range, or the simulated spectrum would be written with channel
    boundaries that no reader can use.
    """
    channels = _ebounds_channels(path, column(hdu, "CHANNEL", path))
    e_min = _float_array(column(hdu, "E_MIN", path), path, "E_MIN").reshape(-1)
    e_max = _float_array(column(hdu, "E_MAX", path), path, "E_MAX").reshape(-1)
    if channels.size == 0:
        raise OGIPError(path, "EBOUNDS has no rows", field="EBOUNDS")
    _check_channel_energies(path, channels, e_min, e_max)
    return channels, e_min, e_max


def _ebounds_channels(path, values) -> np.ndarray:
    """EBOUNDS CHANNEL as int64: whole numbers that rise strictly, row by row."""
    floats = _float_array(values, path, "CHANNEL").reshape(-1)
    if np.any(floats != np.round(floats)):
        row = int(np.flatnonzero(floats != np.round(floats))[0])
        raise OGIPError(
            path,
            f"EBOUNDS CHANNEL holds {floats[row]:g} in row {row + 1}: channel "
            "numbers must be whole numbers",
            field="CHANNEL",
        )
    channels = floats.astype(np.int64)
    step = np.diff(channels)
    if np.any(step <= 0):
        row = int(np.flatnonzero(step <= 0)[0]) + 1
        raise OGIPError(
            path,
            f"EBOUNDS CHANNEL must increase strictly, but row {row + 1} has "
            f"channel {channels[row]} after {channels[row - 1]}",
            field="CHANNEL",
        )
    return channels


def _check_channel_energies(path, channels, e_min, e_max) -> None:
    """One E_MIN and E_MAX per channel, 0 <= E_MIN <= E_MAX (keV)."""
    for name, values in (("E_MIN", e_min), ("E_MAX", e_max)):
        if values.size != channels.size:
            raise OGIPError(
                path,
                f"EBOUNDS {name} has {values.size} values for {channels.size} channels",
                field=name,
            )
    if np.any(e_min < 0):
        row = int(np.flatnonzero(e_min < 0)[0])
        raise OGIPError(
            path,
            f"EBOUNDS E_MIN of channel {channels[row]} is {e_min[row]:g} keV: "
            "an energy cannot be negative",
            field="E_MIN",
        )
    if np.any(e_max < e_min):
        row = int(np.flatnonzero(e_max < e_min)[0])
        raise OGIPError(
            path,
            f"EBOUNDS E_MAX of channel {channels[row]} ({e_max[row]:g} keV) is "
            f"below its E_MIN ({e_min[row]:g} keV)",
            field="E_MAX",
        )


def _first_matrix_channel(path, hdu) -> int:
    """The channel number of matrix column 0: TLMIN of F_CHAN, else OGIP's 1.

    Files without TLMIN whose F_CHAN nevertheless holds a 0 can only mean 0-based
    numbering, so that case is read as 0 instead of failing.
    """
    declared = tlmin(hdu, "F_CHAN", path)
    if declared is not None:
        return declared

    n_grp, f_chan, _ = _group_table(path, hdu)
    used = np.arange(f_chan.shape[1])[None, :] < n_grp[:, None]
    return 0 if np.any(f_chan[used] == 0) else 1


def _group_table(path, hdu) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """N_GRP (n_energy,) and F_CHAN, N_CHAN padded to (n_energy, max groups)."""
    n_grp = np.asarray(column(hdu, "N_GRP", path), dtype=np.int64).reshape(-1)
    f_chan = _padded_rows(_rows(hdu, "F_CHAN", path, np.int64))
    n_chan = _padded_rows(_rows(hdu, "N_CHAN", path, np.int64))

    if f_chan.shape != n_chan.shape or f_chan.shape[0] != n_grp.size:
        raise OGIPError(path, "F_CHAN and N_CHAN disagree in shape", field="F_CHAN")
    if np.any(n_grp < 0) or np.any(n_grp > f_chan.shape[1]):
        row = int(np.flatnonzero((n_grp < 0) | (n_grp > f_chan.shape[1]))[0])
        raise OGIPError(
            path,
            f"row {row}: N_GRP={n_grp[row]} but F_CHAN holds {f_chan.shape[1]} groups",
            field="N_GRP",
        )
    return n_grp, f_chan, n_chan


# A variable-length column, flattened: (values, start of each row, length of each row).
FlatRows = tuple[np.ndarray, np.ndarray, np.ndarray]

_HEAP_TYPES = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}


def _rows(hdu, name: str, path, dtype) -> FlatRows:
    """A fixed-width or variable-length column as flat values + row starts/lengths."""
    _require_column(hdu, name, path)
    fast = _heap_rows(hdu, name, dtype, path)
    if fast is not None:
        return fast

    values = hdu.data[name]
    if values.dtype != object:
        array = np.asarray(values, dtype=dtype)
        array = array.reshape(array.shape[0], -1)
        width = array.shape[1]
        starts = np.arange(array.shape[0], dtype=np.int64) * width
        return array.reshape(-1), starts, np.full(array.shape[0], width, np.int64)

    lengths = np.array([np.size(row) for row in values], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    if lengths.sum() == 0:
        return np.zeros(0, dtype=dtype), starts, lengths
    flat = np.concatenate([np.asarray(row, dtype=dtype).reshape(-1) for row in values])
    return flat, starts, lengths


def _heap_rows(hdu, name: str, dtype, path) -> FlatRows | None:
    """Variable-length rows read straight from the FITS heap, or None to fall back.

    astropy builds one Python object per row for 'P'/'Q' columns, which costs
    seconds on large RMFs; the descriptors (count, offset) and the heap bytes
    give the same numbers in one pass. Scaled columns use the astropy path.
    """
    col = _column_def(hdu, name)
    match = re.match(r"^\s*1?([PQ])([BIJKED])", str(col.format))
    if match is None or col.bscale not in (None, 1) or col.bzero not in (None, 0):
        return None
    try:
        heap = hdu.data._get_heap_data()  # private but long-standing astropy API
        descriptors = hdu.data.view(np.ndarray)[col.name]
    except (AttributeError, KeyError, ValueError):
        return None

    item = np.dtype(_HEAP_TYPES[match.group(2)])
    lengths = np.asarray(descriptors[:, 0], dtype=np.int64)
    offsets = np.asarray(descriptors[:, 1], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    _check_descriptors(path, hdu, name, lengths, offsets, item, heap)

    packed = total == 0 or np.all(
        offsets[1:] == offsets[:-1] + lengths[:-1] * item.itemsize
    )
    if packed:
        first = int(offsets[0]) if lengths.size else 0
        raw = heap[first : first + total * item.itemsize]
        return np.frombuffer(raw.tobytes(), dtype=item).astype(dtype), starts, lengths

    pieces = [
        heap[o : o + n * item.itemsize].tobytes()
        for o, n in zip(offsets, lengths, strict=True)
    ]
    flat = np.frombuffer(b"".join(pieces), dtype=item).astype(dtype)
    return flat, starts, lengths


def _check_descriptors(path, hdu, name, lengths, offsets, item, heap) -> None:
    """Every variable-length row must lie inside the heap: a damaged descriptor
    would otherwise ask for gigabytes, or read other columns' bytes."""
    ends = offsets + lengths * item.itemsize
    bad = np.flatnonzero((lengths < 0) | (offsets < 0) | (ends > heap.size))
    if bad.size:
        row = int(bad[0])
        raise OGIPError(
            path,
            f"row {row + 1} of {name} in {hdu.name} says {int(lengths[row])} "
            f"values at heap byte {int(offsets[row])}, outside the "
            f"{heap.size}-byte heap: the file is damaged",
            field=name,
        )


def _padded_rows(rows: FlatRows) -> np.ndarray:
    """Flat rows as a zero-padded 2-D array (n_rows, longest row)."""
    flat, starts, lengths = rows
    width = max(int(lengths.max(initial=0)), 1)
    padded = np.zeros((lengths.size, width), dtype=flat.dtype)
    mask = np.arange(width)[None, :] < lengths[:, None]
    padded[mask] = flat[np.repeat(starts, lengths) + _ramp(lengths)]
    return padded


def _ramp(lengths: np.ndarray) -> np.ndarray:
    """0..n-1 for each n in lengths, concatenated: [2, 3] -> [0, 1, 0, 1, 2]."""
    total = int(lengths.sum())
    return np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def dense_matrix(path, hdu, n_channels: int, first_channel: int) -> np.ndarray:
    """Expand the grouped F_CHAN/N_CHAN/MATRIX rows into a dense float64 matrix.

    Vectorised over groups: each group is a run of channels in one energy row
    and a run of MATRIX values, so destination and source indices are one
    np.repeat plus a ramp. Parts of groups outside 0..n_channels-1 are dropped,
    as other OGIP readers do. `sparse_matrix` reads the same groups into a
    SparseResponse for responses too large for this.
    """
    flat, g_row, g_col, g_src, g_len = _matrix_groups(
        path, hdu, n_channels, first_channel
    )
    n_energy = _n_rows(hdu)

    g_dst = g_row * n_channels + g_col
    dense = np.zeros(n_energy * n_channels, dtype=np.float64)
    if g_len.size and g_len.sum() >= LONG_GROUPS * g_len.size:
        _copy_long_groups(dense, flat, g_dst, g_src, g_len)
    else:
        _scatter_short_groups(dense, flat, g_dst, g_src, g_len)
    if not np.all(np.isfinite(dense)):
        raise OGIPError(path, "non-finite value in MATRIX", field="MATRIX")
    return dense.reshape(n_energy, n_channels)


def sparse_matrix(path, hdu, n_channels: int, first_channel: int) -> SparseResponse:
    """The grouped F_CHAN/N_CHAN/MATRIX rows as a SparseResponse, never dense.

    Same groups and clipping as `dense_matrix`; overlapping groups add up, as
    there. Refused (with the numbers) above MAX_SPARSE_ELEMENTS non-zeros.
    """
    flat, g_row, g_col, g_src, g_len = _matrix_groups(
        path, hdu, n_channels, first_channel
    )
    n_energy = _n_rows(hdu)
    check_sparse_size(path, n_energy, n_channels, int(g_len.sum()))

    ramp = _ramp(g_len)
    values = flat[ramp + np.repeat(g_src, g_len)]
    if not np.all(np.isfinite(values)):
        raise OGIPError(path, "non-finite value in MATRIX", field="MATRIX")
    rows = np.repeat(g_row, g_len)
    columns = ramp + np.repeat(g_col, g_len)
    return SparseResponse.from_entries(rows, columns, values, (n_energy, n_channels))


def _matrix_groups(path, hdu, n_channels: int, first_channel: int):
    """MATRIX values (flat) and each channel group's row, column, source, length.

    Each group is a run of `length` channels from `column` (0-based) in energy
    row `row`, whose values are ``flat[source : source + length]``; parts of
    groups outside the channel range are already cut off.
    """
    n_grp, f_chan, n_chan = _group_table(path, hdu)
    flat, row_starts, row_lengths = _rows(hdu, "MATRIX", path, np.float64)
    n_energy = n_grp.size

    used = np.arange(f_chan.shape[1])[None, :] < n_grp[:, None]
    g_row = np.nonzero(used)[0]
    g_col = f_chan[used] - first_channel
    g_len = np.maximum(n_chan[used], 0)

    # Where each group's values start in `flat`: its row's start plus the
    # channels of the earlier groups of that row.
    row_total = np.bincount(g_row, weights=g_len, minlength=n_energy).astype(np.int64)
    _check_row_lengths(path, row_total, row_lengths)
    before_in_row = np.cumsum(g_len) - g_len
    before_in_row -= (np.cumsum(row_total) - row_total)[g_row]
    g_src = row_starts[g_row] + before_in_row

    # Clip each group to the channel range.
    cut_low = np.clip(-g_col, 0, None)
    cut_high = np.clip(g_col + g_len - n_channels, 0, None)
    g_len = np.maximum(g_len - cut_low - cut_high, 0)
    g_col, g_src = g_col + cut_low, g_src + cut_low
    return flat, g_row, g_col, g_src, g_len


# Mean channels per group above which copying group by group beats building
# index arrays (HRC-I: 17 M elements in 17 k groups; index arrays cost 3 x 140 MB).
LONG_GROUPS = 32


def _copy_long_groups(dense, flat, g_dst, g_src, g_len) -> None:
    """Add each group's run of values into place with one slice copy per group."""
    for dst, src, n in zip(g_dst.tolist(), g_src.tolist(), g_len.tolist(), strict=True):
        if n:
            dense[dst : dst + n] += flat[src : src + n]


def _scatter_short_groups(dense, flat, g_dst, g_src, g_len) -> None:
    """Place many short groups at once through flat index arrays."""
    ramp = _ramp(g_len)
    dst = ramp + np.repeat(g_dst, g_len)
    values = flat[ramp + np.repeat(g_src, g_len)]
    if _groups_disjoint(g_dst, g_len):
        dense[dst] = values
    else:
        np.add.at(dense, dst, values)


def _check_row_lengths(path, row_total: np.ndarray, row_lengths: np.ndarray) -> None:
    """Each row's N_CHAN must not ask for more values than MATRIX stores."""
    short = row_total > row_lengths
    if np.any(short):
        row = int(np.flatnonzero(short)[0])
        raise OGIPError(
            path,
            f"row {row}: N_CHAN adds up to {row_total[row]} elements but MATRIX "
            f"holds {row_lengths[row]}",
            field="MATRIX",
        )


def _groups_disjoint(g_dst: np.ndarray, g_len: np.ndarray) -> bool:
    """True when the groups, in file order, never overlap (plain assignment is safe)."""
    nonempty = g_len > 0
    starts, lengths = g_dst[nonempty], g_len[nonempty]
    return bool(np.all(starts[1:] >= starts[:-1] + lengths[:-1]))


# ----------------------------------------------------------------------------- ARF


def read_arf(path, *, origin: str | None = None) -> EffectiveArea:
    """Read an ARF's SPECRESP extension: ENERG_LO, ENERG_HI (keV), SPECRESP (cm^2)."""
    path = Path(path)
    with open_fits(path, origin) as hdul:
        hdu = find_table(
            hdul, path, ("SPECRESP",), {"HDUCLAS2": "SPECRESP"}, what="SPECRESP"
        )
        energy_lo = _per_row(hdu, "ENERG_LO", path)
        energy_hi = _per_row(hdu, "ENERG_HI", path)
        return EffectiveArea(
            path=path,
            energy_lo=energy_lo,
            energy_hi=energy_hi,
            specresp=_specresp(path, hdu, energy_lo, energy_hi),
            keywords=_info_keywords(hdu.header, hdul[0].header),
        )


def _specresp(path, hdu, energy_lo, energy_hi) -> np.ndarray:
    """SPECRESP (cm^2), finite and never negative: an area below zero would
    subtract photons (a negative MATRIX element is refused the same way)."""
    area = _per_row(hdu, "SPECRESP", path)
    negative = np.flatnonzero(area.reshape(-1) < 0)
    if negative.size:
        at = int(negative[0])
        where = ""
        if at < min(energy_lo.size, energy_hi.size):
            where = f"{energy_lo.flat[at]:g}-{energy_hi.flat[at]:g} keV, "
        raise OGIPError(
            path,
            f"SPECRESP is {area.reshape(-1)[at]:g} cm^2 in bin {at} ({where}"
            f"{negative.size} negative bin(s) in all): an effective area cannot "
            "be negative",
            field="SPECRESP",
        )
    return area


# ----------------------------------------------------------------------------- PHA


def read_pha(
    path,
    *,
    background: bool = False,
    origin: str | None = None,
    row=None,
    exposure: float | None = None,
) -> Spectrum:
    """Read one PHA spectrum (type I, or one row of type II) onto its channel range.

    With `background=True` a SPECTRUM extension with HDUCLAS2='BKG' is preferred,
    which is how Chandra CSC files carry their background inside the source file;
    a type II grating row without one gives its BACKGROUND_UP + BACKGROUND_DOWN
    columns instead (BACKSCAL = BACKSCUP + BACKSCDN, as Sherpa combines them).
    `row` picks a type II spectrum: a 1-based row number (XSPEC's ``file{n}``;
    also accepted as a ``{n}`` suffix of the path) or a mapping of column values
    such as ``{"TG_M": 1, "TG_PART": 2}`` that matches exactly one row.
    `exposure` (s) replaces the file's EXPOSURE, which is then not read, so a
    spectrum whose EXPOSURE is missing, negative or not finite can still be used.
    """
    path, row = split_row_suffix(path, row)
    with open_fits(path, origin) as hdul:
        refuse_table_model(hdul, path, "a spectrum")
        hdu = _spectrum_hdu(hdul, path, background)
        _refuse_text_counts(hdu, path)
        index = _select_row(path, hdu, row)
        own_ebounds = _own_ebounds(hdul, path)
        use_bkg_columns = (
            background
            and not _is_bkg(hdu)
            and _has_column(hdu, "BACKGROUND_UP")
            and _has_column(hdu, "BACKGROUND_DOWN")
        )
        table = _Table(path, hdu, index)
        return _build_spectrum(
            table, hdul[0].header, own_ebounds, use_bkg_columns, exposure
        )


def pha_rows(path) -> list[dict]:
    """One dict per spectrum of a PHA file: its 1-based row and identifying values.

    A type I file gives one entry; a type II file one per row, with SPEC_NUM,
    TG_M, TG_PART, ROWID, TIME ... where the table has them.
    """
    path, _ = split_row_suffix(path, None)
    with open_fits(path) as hdul:
        refuse_table_model(hdul, path, "a spectrum")
        hdu = _spectrum_hdu(hdul, path, False)
        if not is_type_ii(hdu):
            return [{"row": None}]
        return [{"row": i + 1, **_row_label(hdu, i)} for i in range(_n_rows(hdu))]


def split_row_suffix(path, row):
    """XSPEC's ``file{n}`` row syntax: the bare path and the row, when not a file."""
    path = Path(path)
    match = re.fullmatch(r"(.*)\{\s*(\d+)\s*\}", path.name)
    if match is None or path.is_file():
        return path, row
    if row is not None and row != int(match.group(2)):
        raise OGIPError(
            path, f"row given twice: {{{match.group(2)}}} and row={row!r}", field="row"
        )
    return path.with_name(match.group(1)), int(match.group(2))


def file_kind(path) -> str:
    """What an OGIP file holds: 'pha1', 'pha2', 'rmf', 'rsp', 'arf', 'atable',
    'mtable', or 'unknown' (read from the headers only)."""
    path, _ = split_row_suffix(path, None)
    with open_fits(path) as hdul:
        table_kind = _table_model_kind(hdul)
        if table_kind is not None:
            return table_kind
        for hdu in hdul[1:]:
            kind = _hdu_kind(hdu)
            if kind is not None:
                return kind
    return "unknown"


def _hdu_kind(hdu) -> str | None:
    """The kind of one extension, by EXTNAME and HDUCLASn, or None."""
    if not isinstance(hdu, fits.BinTableHDU):
        return None
    name = hdu.name.strip().upper()
    hduclas = {
        i: str(hdu.header.get(f"HDUCLAS{i}", "")).strip().upper() for i in (1, 2, 3)
    }
    if name in MATRIX_EXTNAMES or hduclas[2] == "RSP_MATRIX":
        return "rsp" if hduclas[3] == "FULL" else "rmf"
    if name == "SPECRESP" or hduclas[2] == "SPECRESP":
        return "arf"
    if name == "SPECTRUM" or _is_spectrum_table(hdu):
        return "pha2" if is_type_ii(hdu) else "pha1"
    return None


def _spectrum_hdu(hdul, path, background: bool) -> fits.BinTableHDU:
    """The SPECTRUM table to read: source first, or the BKG one when asked."""
    candidates = [
        h
        for h in hdul[1:]
        if isinstance(h, fits.BinTableHDU)
        and (h.name.strip().upper() == "SPECTRUM" or _is_spectrum_table(h))
    ]
    if not candidates:
        _refuse_wrong_hdu_type(hdul, path, ("SPECTRUM",))
        raise OGIPError(
            path,
            f"no SPECTRUM extension (the file has: {_hdu_names(hdul)})",
            field="SPECTRUM",
        )

    preferred = [h for h in candidates if _is_bkg(h) == background]
    return (preferred or candidates)[0]


def _refuse_text_counts(hdu, path) -> None:
    """COUNTS or RATE stored as text: named as such, not taken for the vector
    column of a type II file."""
    for name in ("COUNTS", "RATE"):
        if _has_column(hdu, name):
            form = str(_column_def(hdu, name).format)
            if re.fullmatch(r"\s*\d*A.*", form):
                raise OGIPError(
                    path,
                    f"{name} in {hdu.name} is a text column (TFORM {form.strip()}); "
                    "it must hold numbers",
                    field=name,
                )
            return


def _is_bkg(hdu) -> bool:
    return str(hdu.header.get("HDUCLAS2", "")).strip().upper() == "BKG"


def _is_spectrum_table(hdu) -> bool:
    """HDUCLAS1=SPECTRUM and a COUNTS or RATE column (not e.g. EXOSAT's DETECTOR)."""
    names = _column_names(hdu)
    hduclas1 = str(hdu.header.get("HDUCLAS1", "")).strip().upper()
    return hduclas1 == "SPECTRUM" and ("COUNTS" in names or "RATE" in names)


def is_type_ii(hdu) -> bool:
    """A PHA type II table: COUNTS/RATE is a vector column, or HDUCLAS3/4 say so.

    The layout wins over the header: a table marked TYPE:II whose COUNTS/RATE
    and CHANNEL are plain scalar columns lists one channel per row, which is a
    type I spectrum, and is read as one (not as "1024 spectra").
    """
    for name in ("COUNTS", "RATE"):
        if _has_column(hdu, name):
            if _column_width(hdu, name) is not None:
                return True
            break
    return _claims_type_ii(hdu) and not _type_i_layout(hdu)


def _claims_type_ii(hdu) -> bool:
    """Whether HDUCLAS3 or HDUCLAS4 says TYPE:II."""
    classes = {str(hdu.header.get(f"HDUCLAS{i}", "")).strip().upper() for i in (3, 4)}
    return bool(classes & set(TYPE_II_MARKERS))


def _type_i_layout(hdu) -> bool:
    """Scalar (fixed-width, one-element) CHANNEL and COUNTS or RATE columns."""
    data = "COUNTS" if _has_column(hdu, "COUNTS") else "RATE"
    return all(
        _has_column(hdu, name)
        and _column_width(hdu, name) is None
        and not _is_variable_length(hdu, name)
        for name in ("CHANNEL", data)
    )


def _is_variable_length(hdu, name: str) -> bool:
    """A 'P' or 'Q' (variable-length array) column."""
    col = _column_def(hdu, name)
    return re.match(r"^\s*\d*[PQ]", str(col.format)) is not None


def _column_width(hdu, name: str) -> int | None:
    """The repeat count of a vector column (e.g. 8192 for '8192I'), None if scalar."""
    col = _column_def(hdu, name)
    match = re.match(r"^\s*(\d*)", str(col.format))
    repeat = int(match.group(1)) if match and match.group(1) else 1
    has_dim = col.dim is not None and str(col.dim).strip() not in ("", "(1)")
    return repeat if repeat > 1 or has_dim else None


def _n_rows(hdu) -> int:
    return 0 if hdu.data is None else len(hdu.data)


def _select_row(path, hdu, row) -> int | None:
    """The 0-based row to read from a type II table; None for type I."""
    if not is_type_ii(hdu):
        if row not in (None, 1):
            raise OGIPError(
                path,
                f"row={row!r} given, but this is a PHA type I file (one spectrum)",
                field="row",
            )
        return None

    n = _n_rows(hdu)
    if n == 0:
        raise OGIPError(path, "the type II SPECTRUM table has no rows", field="row")
    if row is None:
        if n == 1:
            return 0
        raise OGIPError(
            path,
            f"this PHA type II file holds {n} spectra; choose one with row=1..{n} "
            f"(XSPEC's '{path.name}{{n}}'). {_rows_listing(hdu)}",
            field="row",
        )
    if isinstance(row, dict):
        return _row_by_values(path, hdu, row)
    if isinstance(row, bool) or not isinstance(row, (int, np.integer)):
        raise OGIPError(path, f"row must be a whole number, not {row!r}", field="row")
    if not 1 <= row <= n:
        raise OGIPError(
            path,
            f"row {row} does not exist: the file holds {n} spectra (rows 1..{n})",
            field="row",
        )
    return int(row) - 1


def _row_by_values(path, hdu, wanted: dict) -> int:
    """The one row whose columns equal the wanted values (e.g. TG_M, TG_PART)."""
    matches = np.ones(_n_rows(hdu), dtype=bool)
    for name, value in wanted.items():
        key = str(name).upper()
        _require_column(hdu, key, path)
        matches &= np.asarray(hdu.data[key]) == value
    found = np.flatnonzero(matches)
    if found.size != 1:
        raise OGIPError(
            path,
            f"row={wanted!r} matches {found.size} spectra, not exactly one. "
            f"{_rows_listing(hdu)}",
            field="row",
        )
    return int(found[0])


def _rows_listing(hdu, limit: int = 12) -> str:
    """'Rows: 1 (TG_M=-3, TG_PART=1), 2 (...)', the first `limit` of them."""
    n = _n_rows(hdu)
    shown = []
    for i in range(min(n, limit)):
        label = ", ".join(f"{k}={v}" for k, v in _row_label(hdu, i).items())
        shown.append(f"{i + 1} ({label})" if label else str(i + 1))
    more = f", ... ({n - limit} more)" if n > limit else ""
    return "Rows: " + ", ".join(shown) + more


def _row_label(hdu, index: int) -> dict:
    """The identifying per-row values of one row (SPEC_NUM, TG_M, ROWID ...)."""
    label = {}
    for name in ROW_LABELS:
        if _has_column(hdu, name) and _column_width(hdu, name) is None:
            value = np.asarray(hdu.data[name][index]).reshape(-1)
            if value.size == 1:
                item = value[0].item()
                label[name] = item.strip() if isinstance(item, str) else item
    return label


def _own_ebounds(hdul, path):
    """(channels, e_min, e_max) of an EBOUNDS extension inside the PHA file, or None."""
    for hdu in hdul[1:]:
        if isinstance(hdu, fits.BinTableHDU) and hdu.name.strip().upper() == "EBOUNDS":
            return _read_ebounds(path, hdu)
    return None


class _Table:
    """A SPECTRUM table seen as one spectrum: whole columns (type I) or one row.

    For a type II row, a vector column gives that row's per-channel values and a
    scalar column a per-spectrum value that plays the part of a keyword.
    """

    def __init__(self, path: Path, hdu: fits.BinTableHDU, index: int | None):
        self.path = path
        self.hdu = hdu
        self.header = hdu.header
        self.index = index

    @property
    def where(self) -> str:
        """' (row n)' for messages about a type II row, '' for type I."""
        return "" if self.index is None else f" (row {self.index + 1})"

    def has(self, name: str) -> bool:
        return _has_column(self.hdu, name)

    def get(self, name: str) -> np.ndarray:
        """The column's values for this spectrum (0-d for a per-row scalar)."""
        _require_column(self.hdu, name, self.path)
        values = self.hdu.data[name]
        return np.asarray(values if self.index is None else values[self.index])

    def per_channel(self, name: str) -> bool:
        """Whether the column holds one value per channel for this spectrum."""
        return self.has(name) and (
            self.index is None or _column_width(self.hdu, name) is not None
        )

    def number(self, name: str) -> float | None:
        """A per-spectrum number: a per-row scalar column, else the keyword."""
        if self.has(name) and not self.per_channel(name):
            value = float(np.asarray(self.get(name)).reshape(-1)[0])
            if not np.isfinite(value):
                raise OGIPError(
                    self.path, f"{name}{self.where} is {value}, not finite", field=name
                )
            return value
        return _optional_float(self.path, self.header, name)

    def text(self, name: str) -> str | None:
        """A link (RESPFILE ...): a per-row string column, else the keyword."""
        if self.has(name) and self.index is not None:
            value = self.get(name).reshape(-1)
            return _link_text(value[0] if value.size else None)
        return link_value(self.header, name)


def _build_spectrum(
    table: _Table, primary_header, own_ebounds, use_bkg_columns: bool, exposure=None
) -> Spectrum:
    """Map the spectrum's channels onto the full range and collect its keywords."""
    path, header = table.path, table.header
    raw, is_rate = _counts(table, use_bkg_columns)
    file_channels = _file_channels(table, raw.size, own_ebounds)
    first = _first_pha_channel(table, file_channels)
    detchans = _detchans(path, header, file_channels, first)
    index = file_channels - first

    exposure = _exposure_value(table) if exposure is None else float(exposure)
    if is_rate:
        if exposure is None:
            raise OGIPError(
                path, "RATE spectrum without an EXPOSURE keyword", field="EXPOSURE"
            )
        raw = raw * exposure

    present = np.zeros(detchans, dtype=bool)
    present[index] = True
    backscal = (
        _background_backscal(table)
        if use_bkg_columns
        else _scale(table, "BACKSCAL", index, detchans, default=1.0)
    )
    _check_scale(table, "BACKSCAL", backscal, first)
    areascal = _scale(table, "AREASCAL", index, detchans, default=1.0)
    _check_scale(table, "AREASCAL", areascal, first)

    return Spectrum(
        path=path,
        channels=np.arange(first, first + detchans, dtype=np.int64),
        counts=_spread(raw, index, detchans, fill=0.0),
        is_rate=is_rate,
        exposure=exposure,
        backscal=backscal,
        areascal=areascal,
        corrscal=_scale(table, "CORRSCAL", index, detchans, default=0.0),
        grouping=_grouping(table, index, detchans),
        quality=_quality(table, index, detchans, present),
        present=present,
        poisserr=True if use_bkg_columns else _poisserr(table),
        first_channel=first,
        detchans=detchans,
        respfile=table.text("RESPFILE"),
        ancrfile=table.text("ANCRFILE"),
        backfile=None if use_bkg_columns else table.text("BACKFILE"),
        corrfile=table.text("CORRFILE"),
        hduclas2="BKG"
        if use_bkg_columns
        else (str(header.get("HDUCLAS2", "")).strip().upper() or None),
        keywords=_info_keywords(header, primary_header),
        row=None if table.index is None else table.index + 1,
        e_min=None if own_ebounds is None else own_ebounds[1],
        e_max=None if own_ebounds is None else own_ebounds[2],
        has_background_columns=table.has("BACKGROUND_UP")
        and table.has("BACKGROUND_DOWN"),
    )


def _counts(table: _Table, use_bkg_columns: bool) -> tuple[np.ndarray, bool]:
    """COUNTS, RATE (flagged), or BACKGROUND_UP + BACKGROUND_DOWN, as 1-D float64."""
    if use_bkg_columns:
        up = _vector(table, "BACKGROUND_UP")
        down = _vector(table, "BACKGROUND_DOWN")
        return up + down, False
    if table.has("COUNTS"):
        return _vector(table, "COUNTS"), False
    if table.has("RATE"):
        return _vector(table, "RATE"), True
    raise OGIPError(
        table.path,
        f"extension {table.hdu.name} has neither a COUNTS nor a RATE column "
        f"(columns: {', '.join(_column_names(table.hdu))})",
        field="COUNTS",
    )


def _vector(table: _Table, name: str) -> np.ndarray:
    """A per-channel column of this spectrum as finite float64 values."""
    values = np.asarray(table.get(name), dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise OGIPError(
            table.path, f"{name}{table.where} holds no channels", field=name
        )
    return _float_array(values, table.path, name + table.where)


def _file_channels(table: _Table, n_values: int, own_ebounds) -> np.ndarray:
    """The channel number of each listed value: CHANNEL, or implicit in type II.

    A type II table may leave CHANNEL out (Fermi GBM): the channels are then the
    vector index counted from the first EBOUNDS channel of the file (or TLMIN of
    the data column, or 1).
    """
    if table.index is None or table.has("CHANNEL"):
        # A type I spectrum must list its channels: a missing column raises here.
        channels = _whole_numbers(table, "CHANNEL").reshape(-1)
    else:
        channels = _implicit_first(table, own_ebounds) + np.arange(n_values)

    if channels.size != n_values:
        data = "COUNTS" if table.has("COUNTS") else "RATE"
        raise OGIPError(
            table.path,
            f"CHANNEL{table.where} lists {channels.size} channels but {data} "
            f"holds {n_values} values",
            field="CHANNEL",
        )
    return channels


def _whole_numbers(table: _Table, name: str) -> np.ndarray:
    """A column of integer values (channel numbers, flags), refusing fractions."""
    values = table.get(name)
    if values.dtype.kind in "iub":
        return values.astype(np.int64)
    try:
        floats = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise OGIPError(
            table.path, f"{name} is not numeric ({values.dtype})", field=name
        ) from exc
    if not np.all(np.isfinite(floats)) or np.any(floats != np.round(floats)):
        raise OGIPError(
            table.path, f"{name}{table.where} holds non-integer values", field=name
        )
    return floats.astype(np.int64)


def _implicit_first(table: _Table, own_ebounds) -> int:
    """First channel of a CHANNEL-less type II row: own EBOUNDS, TLMIN, else 1."""
    if own_ebounds is not None:
        return int(own_ebounds[0][0])
    for name in ("COUNTS", "RATE"):
        declared = tlmin(table.hdu, name, table.path)
        if declared is not None:
            return declared
    return 1


def _first_pha_channel(table: _Table, file_channels: np.ndarray) -> int:
    """TLMIN of CHANNEL; without it 0 if channel 0 is listed, else OGIP's 1."""
    if not table.has("CHANNEL"):
        return int(file_channels[0]) if file_channels.size else 1
    declared = tlmin(table.hdu, "CHANNEL", table.path)
    if declared is not None:
        return declared
    return 0 if file_channels.size and file_channels.min() == 0 else 1


def _detchans(path, header, file_channels: np.ndarray, first: int) -> int:
    """The full channel count: DETCHANS, else as many as the listed channels need."""
    if file_channels.size == 0:
        raise OGIPError(path, "SPECTRUM has no rows", field="CHANNEL")

    low, high = int(file_channels.min()), int(file_channels.max())
    detchans = _optional_int(path, header, "DETCHANS", " (number of channels)")
    detchans = high - first + 1 if detchans is None else detchans
    _check_detchans(path, detchans, low, high)
    if low < first or high >= first + detchans:
        raise OGIPError(
            path,
            f"CHANNEL values {low}..{high} fall outside "
            f"{first}..{first + detchans - 1} (TLMIN/DETCHANS)",
            field="CHANNEL",
        )
    if np.unique(file_channels).size != file_channels.size:
        raise OGIPError(path, "CHANNEL lists a channel twice", field="CHANNEL")
    return detchans


def _check_detchans(path, detchans: int, low: int, high: int) -> None:
    """A channel count of at least 1 and at most MAX_DETCHANS, checked before
    any per-channel array is made (DETCHANS=1e12 would ask for terabytes)."""
    if detchans < 1:
        raise OGIPError(path, f"DETCHANS={detchans} is not a channel count", "DETCHANS")
    if detchans > MAX_DETCHANS:
        raise OGIPError(
            path,
            f"DETCHANS={detchans} is implausible for the channels the file lists "
            f"(CHANNEL {low}..{high}): specdsl reads at most {MAX_DETCHANS} "
            "channels (real detectors have up to 60000)",
            field="DETCHANS",
        )


def _exposure_value(table: _Table) -> float | None:
    """EXPOSURE (s) of this spectrum: per-row column or keyword; never negative."""
    exposure = table.number("EXPOSURE")
    if exposure is not None and exposure < 0:
        raise OGIPError(
            table.path,
            f"EXPOSURE{table.where} is {exposure:g} s: an exposure cannot be negative",
            field="EXPOSURE",
        )
    return exposure


def _spread(values: np.ndarray, index: np.ndarray, n: int, fill) -> np.ndarray:
    """Values listed for some channels, placed on the full channel range."""
    full = np.full(n, fill, dtype=np.asarray(values).dtype)
    full[index] = values
    return full


def _optional_float(path, header, name: str, what: str = "") -> float | None:
    """A numeric keyword as float, None when absent, OGIPError when not a number.

    `what` says what the keyword means, for the message (" (lowest CHANNEL)").
    """
    if name not in header or header[name] is None:
        return None
    value = header[name]
    if isinstance(value, str) and not value.strip():
        return None
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise OGIPError(
            path, f"{name}={header[name]!r}{what} is not a number", field=name
        ) from exc
    if not np.isfinite(value):
        raise OGIPError(path, f"{name}={value} is not finite", field=name)
    return value


def _optional_int(path, header, name: str, what: str = "") -> int | None:
    """An integer keyword (DETCHANS, TLMINn), None when absent; refuses 1.5 or 'x'.

    `what` says what the keyword means, for the message (" (lowest CHANNEL)").
    """
    value = _optional_float(path, header, name, what)
    if value is None:
        return None
    if isinstance(header[name], bool) or value != round(value):
        raise OGIPError(
            path, f"{name}={header[name]!r}{what} is not a whole number", field=name
        )
    return int(value)


def _scale(table: _Table, name: str, index, n: int, default: float):
    """BACKSCAL/AREASCAL/CORRSCAL: per channel, per row, a keyword, or the default."""
    if table.per_channel(name):
        values = _float_array(
            np.asarray(table.get(name)).reshape(-1), table.path, name + table.where
        )
        if values.size != index.size:
            raise OGIPError(
                table.path,
                f"{name}{table.where} has {values.size} values for "
                f"{index.size} channels",
                field=name,
            )
        return _spread(values, index, n, fill=default)
    value = table.number(name)
    return default if value is None else value


def _check_scale(table: _Table, name: str, value, first: int) -> None:
    """BACKSCAL and AREASCAL are never negative; one AREASCAL for the whole
    spectrum is never 0 either (it would have no counts at all).

    Zeros are kept in per-channel columns, where real files mark unusable
    channels with them (XMM-Newton RGS: AREASCAL and BACKSCAL), and in
    BACKSCAL, which may be 0 in a spectrum without a background.
    """
    values = np.atleast_1d(np.asarray(value, dtype=np.float64))
    per_channel = np.ndim(value) > 0
    bad = values < 0
    if name == "AREASCAL" and (not per_channel or not values.any()):
        bad |= values == 0  # a column of zeros only leaves no counts at all
    if not bad.any():
        return
    at = int(np.flatnonzero(bad)[0])
    if per_channel:
        where = f"{name} column: channel {first + at} has {name}={values[at]:g}"
    else:
        source = "column" if table.has(name) else "keyword"
        where = f"{name}={values[at]:g} ({source}{table.where})"
    reason = (
        "a scaling factor cannot be negative"
        if values[at] < 0
        else f"{name} must be > 0 (0 leaves the spectrum without counts)"
    )
    raise OGIPError(table.path, f"{where}: {reason}", field=name)


def _background_backscal(table: _Table) -> float:
    """BACKSCUP + BACKSCDN of a grating row (per-row column or keyword)."""
    up, down = table.number("BACKSCUP"), table.number("BACKSCDN")
    if up is None or down is None:
        missing = "BACKSCUP" if up is None else "BACKSCDN"
        raise OGIPError(
            table.path,
            f"BACKGROUND_UP/DOWN columns without a {missing} keyword or column",
            field=missing,
        )
    for name, value in (("BACKSCUP", up), ("BACKSCDN", down)):
        if value < 0:
            raise OGIPError(
                table.path,
                f"{name}={value:g}{table.where}: a scaling factor cannot be negative",
                field=name,
            )
    return up + down


def _flags(table: _Table, name: str, index, n: int, fill: int):
    """GROUPING/QUALITY as per-channel ints: column, per-row value or None."""
    if table.per_channel(name):
        values = _whole_numbers(table, name).reshape(-1)
        if values.size != index.size:
            raise OGIPError(
                table.path,
                f"{name}{table.where} has {values.size} values for "
                f"{index.size} channels",
                field=name,
            )
        return _spread(values, index, n, fill=fill)
    if table.has(name):
        return np.full(n, int(_whole_numbers(table, name).reshape(-1)[0]), np.int64)
    return None


def _grouping(table: _Table, index, n: int) -> np.ndarray | None:
    """The GROUPING column on all channels (absent channels start their own group)."""
    return _flags(table, "GROUPING", index, n, fill=1)


def _quality(table: _Table, index, n: int, present: np.ndarray) -> np.ndarray | None:
    """QUALITY from its column or keyword; channels absent from the file are bad (1)."""
    quality = _flags(table, "QUALITY", index, n, fill=1)
    if quality is not None:
        quality[~present] = 1
        return quality

    keyword = _optional_float(table.path, table.header, "QUALITY")
    if not keyword and present.all():
        return None
    quality = np.full(n, int(keyword or 0), dtype=np.int64)
    quality[~present] = 1
    return quality


def _poisserr(table: _Table) -> bool:
    """POISSERR, defaulting to True unless the file carries a STAT_ERR column."""
    value = table.header.get("POISSERR")
    if isinstance(value, bool):
        return value
    return not table.has("STAT_ERR")


def link_value(header, name: str) -> str | None:
    """A RESPFILE/ANCRFILE/BACKFILE/CORRFILE value; 'none', blank or absent -> None."""
    return _link_text(header.get(name))


def _link_text(value) -> str | None:
    """A link string, or None for 'none', blank, absent or a non-string value."""
    if value is None or not isinstance(value, (str, np.str_)):
        return None
    value = str(value).strip()
    if not value or value.lower() == "none":
        return None
    return value
