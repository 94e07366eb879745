"""Readers for OGIP spectral files: RMF/RSP (+EBOUNDS), ARF and type I PHA.

The formats follow OGIP/92-007 (PHA) and CAL/GEN/92-002 (RMF, ARF). Every reader
returns plain numpy arrays in keV, cm^2 and counts, and turns every problem with
the file into an `OGIPError` naming the file and the field at fault.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from specdsl.errors import OGIPError

MATRIX_EXTNAMES = ("MATRIX", "SPECRESP MATRIX")
INFO_KEYWORDS = ("TELESCOP", "INSTRUME", "FILTER", "CHANTYPE", "DETCHANS")
TYPE_II_MARKERS = ("TYPE:II", "TYPEII", "TYPE II")

# A pure redistribution element is a probability; float32 storage can round it a
# hair above 1, so only values clearly above 1 mean "area is folded in".
FULL_RESPONSE_THRESHOLD = 1.0 + 1e-5

_MISSING = object()


@dataclass(frozen=True, eq=False)
class Redistribution:
    """An RMF or RSP as a dense (n_energy, n_channels) matrix plus its EBOUNDS."""

    path: Path | None
    energy_lo: np.ndarray
    energy_hi: np.ndarray
    matrix: np.ndarray
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
    """A type I PHA spectrum mapped onto the full channel range first..first+n-1.

    Channels absent from the file get zero counts and QUALITY 1 (bad), so that
    `present` tells which rows the file really listed.
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

    @property
    def n_channels(self) -> int:
        return int(self.channels.size)


# --------------------------------------------------------------------------- files


@contextmanager
def open_fits(path, origin: str | None = None) -> Iterator[fits.HDUList]:
    """Open a FITS file (gzip detected by content), raising OGIPError when unusable.

    `origin` says where the name came from ("RESPFILE of obs.pha") for the message.
    """
    path = Path(path)
    where = f" ({origin})" if origin else ""
    if not path.is_file():
        raise OGIPError(path, f"file not found{where}", field=_origin_field(origin))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        try:
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
        except Exception as exc:  # astropy raises OSError, ValueError, TypeError...
            raise OGIPError(path, f"not a readable FITS file{where}: {exc}") from exc
        try:
            yield hdul
        except OGIPError:
            raise
        except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
            raise OGIPError(path, f"could not read the file{where}: {exc}") from exc
        finally:
            hdul.close()


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

    names = ", ".join(h.name for h in hdul[1:]) or "none"
    raise OGIPError(
        path,
        f"no {what or extnames[0]} extension (looked for EXTNAME "
        f"{' or '.join(repr(n) for n in extnames)}; the file has: {names})",
        field=extnames[0],
    )


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
    return [name.strip().upper() for name in hdu.columns.names]


def _has_column(hdu: fits.BinTableHDU, name: str) -> bool:
    return name in _column_names(hdu)


def tlmin(hdu: fits.BinTableHDU, name: str) -> int | None:
    """The TLMINn keyword of the named column, or None when absent."""
    names = _column_names(hdu)
    if name not in names:
        return None
    value = hdu.header.get(f"TLMIN{names.index(name) + 1}")
    return None if value is None else int(value)


def _info_keywords(*headers) -> dict:
    """TELESCOP, INSTRUME, FILTER, CHANTYPE, DETCHANS, each from the first header
    that has it."""
    found = {}
    for key in INFO_KEYWORDS:
        for header in headers:
            if key in header and header[key] is not None:
                value = header[key]
                found[key] = value.strip() if isinstance(value, str) else value
                break
    return found


def _float_array(values, path, name: str) -> np.ndarray:
    """A column as float64, refusing NaN or infinity."""
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array.ravel()))[0])
        raise OGIPError(path, f"non-finite value in {name} (element {bad})", field=name)
    return array


# ----------------------------------------------------------------------------- RMF


def read_rmf(path, *, origin: str | None = None) -> Redistribution:
    """Read an RMF or RSP into a dense (n_energy, n_channels) float64 matrix.

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
    energy_lo = _float_array(column(matrix_hdu, "ENERG_LO", path), path, "ENERG_LO")
    energy_hi = _float_array(column(matrix_hdu, "ENERG_HI", path), path, "ENERG_HI")
    channels, e_min, e_max = _read_ebounds(path, ebounds_hdu)

    n_channels = channels.size
    detchans = matrix_hdu.header.get("DETCHANS")
    if detchans is not None and int(detchans) != n_channels:
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
    matrix = dense_matrix(path, matrix_hdu, n_channels, first_channel)

    hduclas3 = str(matrix_hdu.header.get("HDUCLAS3", "")).strip().upper()
    is_full = hduclas3 == "FULL" or bool(
        matrix.max(initial=0.0) > FULL_RESPONSE_THRESHOLD
    )
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


def _read_ebounds(path, hdu) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CHANNEL, E_MIN, E_MAX of the EBOUNDS extension."""
    channels = np.asarray(column(hdu, "CHANNEL", path), dtype=np.int64)
    e_min = _float_array(column(hdu, "E_MIN", path), path, "E_MIN")
    e_max = _float_array(column(hdu, "E_MAX", path), path, "E_MAX")
    if channels.size == 0:
        raise OGIPError(path, "EBOUNDS has no rows", field="EBOUNDS")
    return channels, e_min, e_max


def _first_matrix_channel(path, hdu) -> int:
    """The channel number of matrix column 0: TLMIN of F_CHAN, else OGIP's 1.

    Files without TLMIN whose F_CHAN nevertheless holds a 0 can only mean 0-based
    numbering, so that case is read as 0 instead of failing.
    """
    declared = tlmin(hdu, "F_CHAN")
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
    fast = _heap_rows(hdu, name, dtype)
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


def _heap_rows(hdu, name: str, dtype) -> FlatRows | None:
    """Variable-length rows read straight from the FITS heap, or None to fall back.

    astropy builds one Python object per row for 'P'/'Q' columns, which costs
    seconds on large RMFs; the descriptors (count, offset) and the heap bytes
    give the same numbers in one pass. Scaled columns use the astropy path.
    """
    col = hdu.columns[hdu.columns.names[_column_names(hdu).index(name)]]
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
    as other OGIP readers do. Known limitation: always dense, so a grating RMF
    (16384 x 16384) would need 2 GiB; no sparse form is offered yet.
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

    g_dst = g_row * n_channels + g_col
    ramp = _ramp(g_len)
    dst = ramp + np.repeat(g_dst, g_len)
    values = flat[ramp + np.repeat(g_src, g_len)]
    if not np.all(np.isfinite(values)):
        raise OGIPError(path, "non-finite value in MATRIX", field="MATRIX")

    dense = np.zeros(n_energy * n_channels, dtype=np.float64)
    if _groups_disjoint(g_dst, g_len):
        dense[dst] = values
    else:
        np.add.at(dense, dst, values)
    return dense.reshape(n_energy, n_channels)


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
        return EffectiveArea(
            path=path,
            energy_lo=_float_array(column(hdu, "ENERG_LO", path), path, "ENERG_LO"),
            energy_hi=_float_array(column(hdu, "ENERG_HI", path), path, "ENERG_HI"),
            specresp=_float_array(column(hdu, "SPECRESP", path), path, "SPECRESP"),
            keywords=_info_keywords(hdu.header, hdul[0].header),
        )


# ----------------------------------------------------------------------------- PHA


def read_pha(path, *, background: bool = False, origin: str | None = None) -> Spectrum:
    """Read a type I PHA spectrum onto its full channel range.

    With `background=True` a SPECTRUM extension with HDUCLAS2='BKG' is preferred,
    which is how Chandra CSC files carry their background inside the source file.
    """
    path = Path(path)
    with open_fits(path, origin) as hdul:
        hdu = _spectrum_hdu(hdul, path, background)
        _refuse_type_ii(path, hdu)
        return _build_spectrum(path, hdul[0].header, hdu)


def _spectrum_hdu(hdul, path, background: bool) -> fits.BinTableHDU:
    """The SPECTRUM table to read: source first, or the BKG one when asked."""
    candidates = [
        h
        for h in hdul[1:]
        if isinstance(h, fits.BinTableHDU)
        and (h.name.strip().upper() == "SPECTRUM" or _is_spectrum_table(h))
    ]
    if not candidates:
        names = ", ".join(h.name for h in hdul[1:]) or "none"
        raise OGIPError(
            path, f"no SPECTRUM extension (the file has: {names})", field="SPECTRUM"
        )

    def is_bkg(h) -> bool:
        return str(h.header.get("HDUCLAS2", "")).strip().upper() == "BKG"

    preferred = [h for h in candidates if is_bkg(h) == background]
    return (preferred or candidates)[0]


def _is_spectrum_table(hdu) -> bool:
    """HDUCLAS1=SPECTRUM and a COUNTS or RATE column (not e.g. EXOSAT's DETECTOR)."""
    names = _column_names(hdu)
    hduclas1 = str(hdu.header.get("HDUCLAS1", "")).strip().upper()
    return hduclas1 == "SPECTRUM" and ("COUNTS" in names or "RATE" in names)


def _refuse_type_ii(path, hdu) -> None:
    """Raise a clear error for PHA type II files, which are not read as input yet."""
    classes = {str(hdu.header.get(f"HDUCLAS{i}", "")).strip().upper() for i in (3, 4)}
    names = _column_names(hdu)
    data_col = "COUNTS" if "COUNTS" in names else ("RATE" if "RATE" in names else None)
    vector = data_col is not None and np.ndim(hdu.data[data_col]) > 1

    if classes & set(TYPE_II_MARKERS) or vector:
        raise OGIPError(
            path,
            "PHA type II (several spectra in one table) is not supported as input yet; "
            "split it into type I files (e.g. with ftools/CIAO) and read one of those",
            field="HDUCLAS4",
        )


def _build_spectrum(path, primary_header, hdu) -> Spectrum:
    """Map the table rows onto the full channel range and collect its keywords."""
    header = hdu.header
    file_channels = np.asarray(column(hdu, "CHANNEL", path), dtype=np.int64)
    first = _first_pha_channel(hdu, file_channels)
    detchans = _detchans(path, header, file_channels, first)
    index = file_channels - first

    exposure = _optional_float(path, header, "EXPOSURE")
    raw, is_rate = _counts_column(path, hdu)
    if is_rate:
        if exposure is None:
            raise OGIPError(
                path, "RATE spectrum without an EXPOSURE keyword", field="EXPOSURE"
            )
        raw = raw * exposure

    present = np.zeros(detchans, dtype=bool)
    present[index] = True
    counts = _spread(raw, index, detchans, fill=0.0)

    return Spectrum(
        path=path,
        channels=np.arange(first, first + detchans, dtype=np.int64),
        counts=counts,
        is_rate=is_rate,
        exposure=exposure,
        backscal=_scale(path, hdu, "BACKSCAL", index, detchans, default=1.0),
        areascal=_scale(path, hdu, "AREASCAL", index, detchans, default=1.0),
        corrscal=_scale(path, hdu, "CORRSCAL", index, detchans, default=0.0),
        grouping=_grouping(hdu, index, detchans),
        quality=_quality(hdu, index, detchans, present),
        present=present,
        poisserr=_poisserr(hdu),
        first_channel=first,
        detchans=detchans,
        respfile=link_value(header, "RESPFILE"),
        ancrfile=link_value(header, "ANCRFILE"),
        backfile=link_value(header, "BACKFILE"),
        corrfile=link_value(header, "CORRFILE"),
        hduclas2=(str(header.get("HDUCLAS2", "")).strip().upper() or None),
        keywords=_info_keywords(header, primary_header),
    )


def _first_pha_channel(hdu, file_channels: np.ndarray) -> int:
    """TLMIN of CHANNEL; without it 0 if channel 0 is listed, else OGIP's 1."""
    declared = tlmin(hdu, "CHANNEL")
    if declared is not None:
        return declared
    return 0 if file_channels.size and file_channels.min() == 0 else 1


def _detchans(path, header, file_channels: np.ndarray, first: int) -> int:
    """The full channel count: DETCHANS, else as many as the listed channels need."""
    if file_channels.size == 0:
        raise OGIPError(path, "SPECTRUM has no rows", field="CHANNEL")

    needed = int(file_channels.max()) - first + 1
    detchans = int(header.get("DETCHANS", needed))
    low, high = int(file_channels.min()), int(file_channels.max())
    if low < first or high >= first + detchans:
        raise OGIPError(
            path,
            f"CHANNEL values {low}..{high} fall outside "
            f"{first}..{first + detchans - 1} (TLMIN1/DETCHANS)",
            field="CHANNEL",
        )
    if np.unique(file_channels).size != file_channels.size:
        raise OGIPError(path, "CHANNEL lists a channel twice", field="CHANNEL")
    return detchans


def _counts_column(path, hdu) -> tuple[np.ndarray, bool]:
    """COUNTS, or RATE (flagged) when the spectrum is stored as a rate."""
    if _has_column(hdu, "COUNTS"):
        return _float_array(hdu.data["COUNTS"], path, "COUNTS"), False
    if _has_column(hdu, "RATE"):
        return _float_array(hdu.data["RATE"], path, "RATE"), True
    raise OGIPError(
        path,
        f"extension {hdu.name} has neither a COUNTS nor a RATE column "
        f"(columns: {', '.join(_column_names(hdu))})",
        field="COUNTS",
    )


def _spread(values: np.ndarray, index: np.ndarray, n: int, fill) -> np.ndarray:
    """Values listed for some channels, placed on the full channel range."""
    full = np.full(n, fill, dtype=np.asarray(values).dtype)
    full[index] = values
    return full


def _optional_float(path, header, name: str) -> float | None:
    """A numeric keyword as float, None when absent, OGIPError when not a number."""
    if name not in header or header[name] is None:
        return None
    try:
        value = float(header[name])
    except (TypeError, ValueError) as exc:
        raise OGIPError(
            path, f"{name}={header[name]!r} is not a number", field=name
        ) from exc
    if not np.isfinite(value):
        raise OGIPError(path, f"{name}={value} is not finite", field=name)
    return value


def _scale(path, hdu, name: str, index, n: int, default: float):
    """BACKSCAL/AREASCAL/CORRSCAL: a per-channel column, a keyword, or the default."""
    if _has_column(hdu, name):
        values = _float_array(hdu.data[name], path, name)
        return _spread(values, index, n, fill=default)
    value = _optional_float(path, hdu.header, name)
    return default if value is None else value


def _grouping(hdu, index, n: int) -> np.ndarray | None:
    """The GROUPING column on all channels (absent channels start their own group)."""
    if not _has_column(hdu, "GROUPING"):
        return None
    values = np.asarray(hdu.data["GROUPING"], dtype=np.int64)
    return _spread(values, index, n, fill=1)


def _quality(hdu, index, n: int, present: np.ndarray) -> np.ndarray | None:
    """QUALITY from its column or keyword; channels absent from the file are bad (1)."""
    if _has_column(hdu, "QUALITY"):
        values = np.asarray(hdu.data["QUALITY"], dtype=np.int64)
        return _spread(values, index, n, fill=1)

    keyword = hdu.header.get("QUALITY")
    if keyword is None and present.all():
        return None
    quality = np.full(n, int(keyword or 0), dtype=np.int64)
    quality[~present] = 1
    return quality


def _poisserr(hdu) -> bool:
    """POISSERR, defaulting to True unless the file carries a STAT_ERR column."""
    value = hdu.header.get("POISSERR")
    if isinstance(value, bool):
        return value
    return not _has_column(hdu, "STAT_ERR")


def link_value(header, name: str) -> str | None:
    """A RESPFILE/ANCRFILE/BACKFILE/CORRFILE value; 'none', blank or absent -> None."""
    value = header.get(name)
    if value is None or not isinstance(value, str):
        return None
    value = value.strip()
    if not value or value.lower() == "none":
        return None
    return value
