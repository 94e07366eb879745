"""Write fake spectra as OGIP PHA files (OGIP/92-007) for XSPEC, Sherpa and jaxspec.

One spectrum becomes a type-I file and a stack of spectra a type-II file. Both have
one ``SPECTRUM`` binary table. The layout follows what XSPEC's ``fakeit`` writes
(``OGIP_92aData::outputTable1Common`` / ``outputType2Table`` in HEASoft 6.20, and
the real ``aciss.fak``): ``CHANNEL`` (J), ``COUNTS`` (J), ``QUALITY`` and
``GROUPING`` (I), the links as keywords, and TLMIN/TLMAX on the channel column. We
also write the class keywords XSPEC leaves out: HDUCLAS2-4, HDUVERS='1.2.1', FILTER.

Choices that differ from XSPEC, and why:

- Expected counts (counting statistics off). XSPEC writes ``RATE`` (float32, counts/s)
  plus ``STAT_ERR``, and ``POISSERR=F``. For a spectrum not based on data STAT_ERR is
  zero, because its variance array starts at zero. We write the expected counts as a
  float64 ``COUNTS`` column instead, so that a reader gets back exactly the numbers we
  computed. The rest matches XSPEC: ``STAT_ERR`` of zeros and ``POISSERR=F``.
- Links that are absent are written as ``'none'``, not blank as XSPEC does. Sherpa
  tries to open a blank RESPFILE as a file. jaxspec compares RESPFILE with ``"none"``
  case-sensitively.
- Type II: ``SPEC_NUM`` is int32, not int16, so that more than 32767 spectra fit.
  When no grouping or quality is given, the file gets the keywords ``GROUPING=0`` and
  ``QUALITY=0`` instead of two columns of n_spectra x n_channels values.

Limits:

- ``write_pha`` takes a type-II stack in memory. ``SpectrumTableWriter`` appends
  rows chunk by chunk instead (streamed jobs), with memory bounded by one chunk.
- ``BACKSCAL``/``AREASCAL``/``CORRSCAL`` that vary by channel (XMM-RGS spectra)
  are written as columns, as XSPEC writes them: ``D`` in type I, ``nD`` vectors
  in type II. A 1-D array of length n_spectra is read as per spectrum, so when a
  type-II stack has as many spectra as channels, per-channel values must be given
  as ``(n_spectra, n_channels)``. Scales whose values are all equal become keywords.
- Links are written as seen from the PHA file's folder (readers resolve them
  there): the base name for a file beside it, else a relative or absolute path
  that fits in 68 characters. A longer one falls back to the base name.
- Type II repeats ``CHANNEL`` in every row, as XSPEC does, because Sherpa recognises
  type II by a 2-D CHANNEL column. It is int16 (``I``) when every channel fits,
  so it adds half the size of the int32 counts rather than doubling the file.
- Type-II rows are written by our own code (big-endian records after astropy's
  header), not by ``HDUList.writeto``: astropy built the whole table in memory
  first and took 7 s for 10^4 x 4096 counts. The header is still astropy's.
- Per-row ``EXPOSURE`` columns (type II with differing exposures) are read by XSPEC.
  Sherpa reads only the keyword, so it sees no exposure for such a file. When the
  values are all equal we also write the keyword.
- jaxspec 0.4.1 reads type-I files only, and refuses expected-count files
  (fractional COUNTS): tests/test_jaxspec_readback.py asserts both.
"""

from __future__ import annotations

import datetime
import errno
import gzip
import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from astropy.io import fits

from specdsl.errors import OutputError, ParameterError
from specdsl.output.temporary import (
    TEMPORARY_EXTRA,
    discard,
    record_published,
    temporary_name,
)
from specdsl.runtime import interrupt

__all__ = ["write_pha"]

_INT32_MAX = np.iinfo(np.int32).max
GROUPING_VALUES = (-1, 0, 1)
QUALITY_VALUES = (0, 1, 2, 5)
_HDUCLAS2_VALUES = ("TOTAL", "NET", "BKG")
_KEYWORD_NAME = re.compile(r"^[A-Z0-9_-]{1,8}$")
_MAX_COLUMN_NAME = 68  # a TTYPEn string value must fit on one card

# Keywords that the writer owns, and the argument that sets each of them.
_OWNED_KEYWORDS = {
    "EXTNAME": None,
    "HDUCLASS": None,
    "HDUCLAS1": None,
    "HDUCLAS3": None,
    "HDUCLAS4": None,
    "HDUVERS": None,
    "HDUVERS1": None,
    "CREATOR": None,
    "DATE": None,
    "DETCHANS": "channels",
    "POISSERR": "poisserr",
    "EXPOSURE": "exposure",
    "BACKSCAL": "backscal",
    "AREASCAL": "areascal",
    "CORRSCAL": "corrscal",
    "RESPFILE": "respfile",
    "ANCRFILE": "ancrfile",
    "BACKFILE": "backfile",
    "CORRFILE": "corrfile",
    "GROUPING": "grouping",
    "QUALITY": "quality",
    "STAT_ERR": "poisserr",
}
_STRUCTURAL = re.compile(
    r"^(SIMPLE|BITPIX|EXTEND|XTENSION|PCOUNT|GCOUNT|TFIELDS|NAXIS\d*"
    r"|T(TYPE|FORM|UNIT|DIM|LMIN|LMAX|NULL|SCAL|ZERO|DISP)\d+)$"
)
_DEFAULT_KEYWORDS = {
    "TELESCOP": "none",
    "INSTRUME": "none",
    "FILTER": "none",
    "CHANTYPE": "PHA",
    "HDUCLAS2": "TOTAL",
}
_DESCRIBED = {
    "TELESCOP": "mission/satellite name",
    "INSTRUME": "instrument/detector name",
    "FILTER": "instrument filter in use",
    "CHANTYPE": "channel type (PHA, PI etc)",
}


def write_pha(
    path: str | os.PathLike,
    counts,
    *,
    channels,
    exposure,
    keywords: Mapping[str, object] | None = None,
    clobber: bool = False,
    poisserr: bool = True,
    grouping=None,
    quality=None,
    backscal=1.0,
    areascal=1.0,
    corrscal=0.0,
    respfile: str | os.PathLike | None = None,
    ancrfile: str | os.PathLike | None = None,
    backfile: str | os.PathLike | None = None,
    corrfile: str | os.PathLike | None = None,
    parameters: Mapping[str, object] | None = None,
    history: str | Sequence[str] | None = None,
) -> Path:
    """Write counts as an OGIP PHA file: type I for 1-D counts, type II for 2-D.

    The file appears complete or not at all. It is written to a hidden temporary file
    beside the target and then renamed onto it. A name ending in ``.gz`` is
    gzip-compressed.

    Args:
        path: Output file name. Its directory must exist and be writable.
        counts: ``(n_channels,)`` for one spectrum (type I), or
            ``(n_spectra, n_channels)`` for a stack (type II). Integers, or floats
            holding whole numbers, are written as int32 counts. With
            ``poisserr=False``, floats are written as float64 expected counts.
        channels: ``(n_channels,)`` strictly increasing channel numbers. TLMIN, TLMAX
            and DETCHANS are derived from the first and last of them.
        exposure: Seconds, > 0. For type II, may also be an ``(n_spectra,)`` array,
            written as a per-row ``EXPOSURE`` column.
        keywords: Extra SPECTRUM keywords passed through, e.g. TELESCOP, INSTRUME,
            FILTER, CHANTYPE, HDUCLAS2, OBJECT, XFLT0001, FKSRC001.
        clobber: Replace an existing file.
        poisserr: True for Poisson counts. False writes ``POISSERR=F`` and a
            ``STAT_ERR`` column of zeros, as XSPEC's fakeit does without counting
            statistics.
        grouping, quality: OGIP GROUPING (1, -1, 0) and QUALITY (0, 1, 2, 5) flags
            per channel, ``(n_channels,)``, or ``(n_spectra, n_channels)`` for type
            II. By default no channels are grouped and all are good.
        backscal, areascal, corrscal: Scale factors: a number (a keyword), or an
            ``(n_channels,)`` array (a column, unless all values are equal). For
            type II also ``(n_spectra,)`` (per spectrum) or
            ``(n_spectra, n_channels)`` arrays.
        respfile, ancrfile, backfile, corrfile: Linked files, written as seen from
            the PHA file's folder (base name beside it, else a relative or
            absolute path). An absent link is written as ``'none'``.
        parameters: Parameter name, e.g. ``'powerlaw_1.PhoIndex'``, mapped to the
            value each spectrum was simulated from. Type II gets one
            ``(n_spectra,)`` column per name, with the dotted name as the column
            name. Type I gets scalars, recorded as ``HISTORY`` lines.
        history: Lines to add as ``HISTORY`` cards.

    Returns:
        The path written.

    Raises:
        OutputError: The file exists and ``clobber`` is False, the directory is
            missing or not writable, or writing failed.
        ParameterError: Bad shapes or values (NaN, negative or fractional counts,
            channel mismatch, a keyword that an argument owns).
    """
    target = check_output(Path(os.fspath(path)), clobber)
    spectrum = _spectrum_hdu(
        counts,
        channels=channels,
        exposure=exposure,
        keywords=keywords,
        poisserr=poisserr,
        grouping=grouping,
        quality=quality,
        scales={"BACKSCAL": backscal, "AREASCAL": areascal, "CORRSCAL": corrscal},
        links=_links_from(
            target,
            {
                "RESPFILE": respfile,
                "ANCRFILE": ancrfile,
                "BACKFILE": backfile,
                "CORRFILE": corrfile,
            },
        ),
        parameters=parameters,
        history=history,
    )
    table, sources = spectrum
    if sources is None:
        hdus = fits.HDUList([_primary_hdu(), table])
        _write_atomically(lambda stream: hdus.writeto(stream), target, clobber)
        return target

    n_spectra = len(sources["COUNTS"])
    table.header["NAXIS2"] = n_spectra

    def write(stream):
        stream.write(_headers(table))
        written = 0
        for first, stop in _row_chunks(n_spectra, table.header["NAXIS1"]):
            written += _write_records(stream, table, sources, first, stop)
        stream.write(_padding(written))

    _write_atomically(write, target, clobber)
    return target


class SpectrumTableWriter:
    """A type-II PHA file written in chunks of rows, for streamed jobs.

    The file is written under a hidden temporary name and renamed into place by
    ``close()`` once every row is there, so a reader never sees a partial file;
    ``abort()`` (or leaving a ``with`` block by an exception) removes it. The
    header (NAXIS2 = ``rows``) is astropy's, built from the same code as
    ``write_pha``. Scales may be numbers or per-channel ``(n_channels,)`` arrays
    (the same vector in every row); per-spectrum scales are not supported here.
    """

    def __init__(
        self,
        path,
        rows: int,
        *,
        channels,
        exposure,
        counts_dtype=np.int32,
        parameter_names=(),
        first_spec_num: int = 1,
        clobber: bool = False,
        **header,
    ):
        self.target = check_output(Path(os.fspath(path)), clobber)
        self.rows = int(rows)
        self.clobber = clobber
        self.channels = np.asarray(channels)
        n = self.channels.size
        example = np.zeros((1, n), dtype=counts_dtype)
        scales = {
            key.upper(): header.pop(key, default)
            for key, default in (
                ("backscal", 1.0),
                ("areascal", 1.0),
                ("corrscal", 0.0),
            )
        }
        links = _links_from(
            self.target,
            {
                key.upper(): header.pop(key, None)
                for key in ("respfile", "ancrfile", "backfile", "corrfile")
            },
        )
        self.table, example_sources = _spectrum_hdu(
            example,
            channels=self.channels,
            exposure=exposure,
            keywords=header.pop("keywords", None),
            poisserr=header.pop("poisserr", True),
            grouping=header.pop("grouping", None),
            quality=header.pop("quality", None),
            scales=scales,
            links=links,
            parameters={name: np.zeros(1) for name in parameter_names},
            history=header.pop("history", None),
            first_spec_num=first_spec_num,
        )
        if header:
            raise ParameterError(f"unknown arguments: {', '.join(sorted(header))}")
        self.table.header["NAXIS2"] = self.rows
        self._constant_columns = {
            name: example_sources[name][0]
            for name in ("EXPOSURE", "QUALITY", "GROUPING", *scales)
            if name in example_sources
        }
        self.next_spec_num = first_spec_num
        self.written = 0
        self._open()

    def _open(self) -> None:
        self.temporary = temporary_name(self.target)
        try:
            descriptor = os.open(
                self.temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666
            )
            self._raw = os.fdopen(descriptor, "wb")
            self._stream = self._raw
            if self.target.name.lower().endswith(".gz"):
                self._stream = gzip.GzipFile(self.target.name, "wb", 1, self._raw)
            self._stream.write(_headers(self.table))
        except OSError as error:
            self.abort()
            raise OutputError(f"cannot write {self.target}: {error}") from error

    def append(self, counts, parameters: Mapping[str, np.ndarray] | None = None):
        """Add rows: counts ``(k, n_channels)`` and each parameter's ``k`` values."""
        counts = np.asarray(counts)
        k = len(counts)
        if counts.ndim != 2 or counts.shape[1] != self.channels.size:
            raise ParameterError(
                f"counts must be (k, {self.channels.size}); got {counts.shape}"
            )
        if self.written + k > self.rows:
            raise ParameterError(f"more than the {self.rows} rows announced")
        spec_num = np.arange(self.next_spec_num, self.next_spec_num + k)
        sources = {
            "SPEC_NUM": spec_num,
            "CHANNEL": np.broadcast_to(self.channels, counts.shape),
            "COUNTS": counts,
            "STAT_ERR": np.broadcast_to(np.float32(0), counts.shape),
            **(parameters or {}),
        }
        for name, row in self._constant_columns.items():
            sources[name] = np.broadcast_to(row, (k, *np.shape(row)))
        try:
            for first, stop in _row_chunks(k, self.table.header["NAXIS1"]):
                _write_records(self._stream, self.table, sources, first, stop)
        except OSError as error:
            self.abort()
            raise OutputError(f"cannot write {self.target}: {error}") from error
        self.written += k
        self.next_spec_num += k

    def close(self) -> Path:
        """Finish the file (padding, fsync) and rename it into place."""
        if self.written != self.rows:
            self.abort()
            raise OutputError(
                f"{self.target}: {self.written} of {self.rows} rows were written"
            )
        try:
            self._stream.write(_padding(self.written * self.table.header["NAXIS1"]))
            if self._stream is not self._raw:
                self._stream.close()
            self._raw.flush()
            os.fsync(self._raw.fileno())
            self._raw.close()
            publish(self.temporary, self.target, self.clobber)
        except OSError as error:
            raise OutputError(f"cannot write {self.target}: {error}") from error
        finally:
            self.temporary.unlink(missing_ok=True)
        return self.target

    def abort(self) -> None:
        """Drop the unfinished file."""
        for stream in (getattr(self, "_stream", None), getattr(self, "_raw", None)):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self.temporary.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        if kind is None:
            self.close()
        else:
            self.abort()


# --- the target file -------------------------------------------------------------


def check_output(target: Path, clobber: bool) -> Path:
    """Refuse early, before any work, a target that cannot or must not be written."""
    try:
        folder = target.parent
        if not folder.is_dir():
            raise OutputError(f"cannot write {target}: {_no_folder(folder)}")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(
                f"cannot write {target}: directory {folder} is not writable"
            )
        exists = _check_kind(target)
    except OSError as error:
        raise OutputError(_os_message(target, error)) from None
    if exists and not clobber:
        raise OutputError(_exists_message(target))
    return target


def check_target(target: Path) -> Path:
    """Refuse a target that --clobber could not help: a directory, a device, a
    name too long; an error the system gives on looking is an OutputError too."""
    try:
        _check_kind(target)
    except OSError as error:
        raise OutputError(_os_message(target, error)) from None
    return target


def _check_kind(target: Path) -> bool:
    """Whether a regular file is there; refuses a name too long or anything else."""
    _check_name_length(target)
    if target.is_dir():
        raise OutputError(
            f"cannot write {target}: it is a directory; name a file to write"
        )
    if target.exists() and not target.is_file():
        raise OutputError(
            f"cannot write {target}: it exists and is not a regular file (a device, "
            "pipe or socket), so it is never replaced, not even with --clobber"
        )
    return target.exists()


def _check_name_length(target: Path) -> None:
    """Refuse a name that the folder cannot hold with the temporary name's extra."""
    try:
        limit = os.pathconf(target.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        return  # unknown: the system says so when the file is made
    length = len(os.fsencode(target.name))
    if length + TEMPORARY_EXTRA > limit:
        raise OutputError(
            f"cannot write {target}: {os.strerror(errno.ENAMETOOLONG)} ({length} "
            f"bytes; names in {target.parent} hold at most {limit}, and the file "
            f"is first written under a name {TEMPORARY_EXTRA} bytes longer); "
            "choose a shorter name"
        )


def _os_message(target: Path, error: OSError) -> str:
    """What the system said when the target was looked at, as a one-line reason."""
    reason = error.strerror or str(error)
    return f"cannot write {target}: {reason}"


def _no_folder(folder: Path) -> str:
    """Why ``folder`` is not there: a file where a directory is needed, or none."""
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                return f"{above} is a file, not a directory"
            break
    return f"directory {folder} does not exist"


def _exists_message(target: Path) -> str:
    return f"{target} already exists; pass clobber=True to overwrite it"


def _write_atomically(write, target: Path, clobber: bool) -> None:
    """Write to a hidden temporary file beside the target, then rename it into place.

    ``write(stream)`` writes the whole file's bytes to a binary stream.
    """
    temporary = temporary_name(target)
    try:
        _write_file(write, temporary, target)
        publish(temporary, target, clobber)
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error}") from error
    except fits.VerifyError as error:
        raise OutputError(f"cannot write {target}: invalid FITS: {error}") from error
    finally:
        # Also runs on KeyboardInterrupt, so no half-written file is left behind.
        temporary.unlink(missing_ok=True)


def _write_file(write, temporary: Path, target: Path) -> None:
    """Write the bytes to a new file (never an existing one); gzip a .gz target."""
    # O_EXCL: never write into a file someone else made; 0o666 lets the umask decide.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(descriptor, "wb") as raw:
        if target.name.lower().endswith(".gz"):
            # Level 1: for 2000 x 4096 Poisson counts it gave 19.8 MB in 1.0 s where
            # level 6 gave 21.6 MB in 8.8 s. The gzip header stores the target name.
            with gzip.GzipFile(target.name, "wb", 1, raw) as stream:
                write(stream)
        else:
            write(raw)
        raw.flush()
        os.fsync(raw.fileno())


def publish(temporary: Path, target: Path, clobber: bool) -> None:
    """Move the finished file onto the target, without replacing one unless clobber.

    A stop asked for meanwhile waits until the file is in place and recorded.
    """
    with interrupt.deferred():
        _place(temporary, target, clobber)
        discard(temporary)
        record_published(target)


def _place(temporary: Path, target: Path, clobber: bool) -> None:
    if clobber:
        os.replace(temporary, target)
        return

    # A hard link fails if the target appeared after our first check.
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise OutputError(_exists_message(target)) from None
    except OSError:
        # The filesystem has no hard links: check once more, then rename.
        if target.exists():
            raise OutputError(_exists_message(target)) from None
        os.replace(temporary, target)


# --- HDUs ------------------------------------------------------------------------


def _primary_hdu() -> fits.PrimaryHDU:
    """An empty primary array that records who wrote the file and when."""
    primary = fits.PrimaryHDU()
    primary.header["CREATOR"] = (f"specdsl {_version()}", "program that wrote this")
    primary.header["DATE"] = (_now(), "file creation date (UTC)")
    return primary


@lru_cache(maxsize=1)
def _version() -> str:
    """The installed specdsl version, looked up once (it may not be installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("specdsl")
    except PackageNotFoundError:
        return "0+unknown"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _spectrum_hdu(
    counts,
    *,
    channels,
    exposure,
    keywords,
    poisserr,
    grouping,
    quality,
    scales,
    links,
    parameters,
    history,
    first_spec_num: int = 1,
) -> tuple[fits.BinTableHDU, dict | None]:
    """Validate everything and build the SPECTRUM table of a type I or II file.

    Type I: the complete table and None. Type II: a one-row table whose header is
    the file's (but NAXIS2) and each column's full values (views, not copies).
    """
    values = _as_counts(counts, poisserr)
    n_spectra = values.shape[0] if values.ndim == 2 else None
    chans = _as_channels(channels, values.shape[-1])
    flags = {
        "GROUPING": _as_flags("grouping", grouping, values.shape, GROUPING_VALUES),
        "QUALITY": _as_flags("quality", quality, values.shape, QUALITY_VALUES),
    }
    n_channels = values.shape[-1]
    per_row = {"EXPOSURE": _as_exposure(exposure, n_spectra)}
    per_row.update(
        {k: _as_scale(k, v, n_spectra, n_channels) for k, v in scales.items()}
    )
    extra = _user_keywords(keywords)

    sources = None
    if n_spectra is None:
        table = fits.BinTableHDU.from_columns(
            _type1_columns(chans, values, flags, poisserr, per_row), name="SPECTRUM"
        )
    else:
        sources = _type2_sources(chans, values, flags, poisserr, per_row)
        sources["SPEC_NUM"] = (
            "J",
            np.arange(first_spec_num, first_spec_num + n_spectra, dtype=np.int64),
        )
        sources.update(_parameter_sources(parameters, n_spectra))
        columns = [
            fits.Column(name, fmt, array=np.asarray(array[:1]))
            for name, (fmt, array) in sources.items()
        ]
        table = fits.BinTableHDU.from_columns(columns, name="SPECTRUM")
        sources = {name: array for name, (_, array) in sources.items()}
    _fill_header(table.header, chans, values, poisserr, flags, per_row, links, extra)
    _add_history(table.header, history, parameters if n_spectra is None else None)
    return table, sources


def _type1_columns(chans, values, flags, poisserr, per_row) -> list[fits.Column]:
    """CHANNEL, COUNTS, [STAT_ERR], QUALITY, GROUPING: the layout of XSPEC's fakeit,
    then any per-channel scale column (BACKSCAL, AREASCAL, CORRSCAL)."""
    n = chans.size
    quality = _default(flags["QUALITY"], np.zeros(n, np.int16))
    grouping = _default(flags["GROUPING"], np.ones(n, np.int16))
    columns = [
        fits.Column("CHANNEL", "J", array=chans),
        fits.Column("COUNTS", _counts_format(values), array=values),
    ]
    if not poisserr:
        columns.append(_stat_err_column(values.shape, ""))
    columns.append(fits.Column("QUALITY", "I", array=quality))
    columns.append(fits.Column("GROUPING", "I", array=grouping))
    for name, value in per_row.items():
        if isinstance(value, np.ndarray):
            columns.append(fits.Column(name, "D", array=value))
    return columns


def _default(value, fallback):
    return fallback if value is None else value


def _type2_sources(chans, values, flags, poisserr, per_row) -> dict:
    """SPEC_NUM, then vector CHANNEL/COUNTS/..., then any scale columns: one value
    per row (D), or a vector per row for scales that vary by channel (nD).

    Name -> (TFORM, full values); constant rows are broadcast views.
    """
    n_spectra, n = values.shape
    width = str(n)
    small = chans[-1] <= np.iinfo(np.int16).max
    channel = np.broadcast_to(chans, values.shape)
    sources = {
        "SPEC_NUM": None,
        "CHANNEL": (width + ("I" if small else "J"), channel),
        "COUNTS": (width + _counts_format(values), values),
    }
    if not poisserr:
        sources["STAT_ERR"] = (
            width + "E",
            np.broadcast_to(np.float32(0), values.shape),
        )
    for name, rows in flags.items():
        if rows is not None:
            sources[name] = (width + "I", rows)
    for name, value in per_row.items():
        if isinstance(value, np.ndarray):
            sources[name] = (width + "D" if value.ndim == 2 else "D", value)
    return sources


def _headers(table: fits.BinTableHDU) -> bytes:
    """The primary header and the table's header, each padded to 2880 bytes."""
    return (_primary_hdu().header.tostring() + table.header.tostring()).encode("ascii")


def _record_dtype(table: fits.BinTableHDU) -> np.dtype:
    """The big-endian, packed layout of one FITS table row."""
    fields = []
    for name in table.data.dtype.names:
        base, shape = (
            table.data.dtype.fields[name][0].base,
            table.data.dtype[name].shape,
        )
        fields.append((name, base.newbyteorder(">"), shape))
    dtype = np.dtype(fields)
    if dtype.itemsize != table.header["NAXIS1"]:
        raise OutputError(f"internal error: row of {dtype.itemsize} bytes for NAXIS1")
    return dtype


def _row_chunks(n_rows: int, row_bytes: int, chunk_bytes: int = 1 << 25):
    """Row ranges of about ``chunk_bytes`` each, so memory stays bounded."""
    step = max(1, chunk_bytes // max(row_bytes, 1))
    for first in range(0, n_rows, step):
        yield first, min(first + step, n_rows)


def _write_records(stream, table, sources: dict, first: int, stop: int) -> int:
    """Rows first..stop-1 of every column as big-endian records; returns bytes."""
    records = np.empty(stop - first, dtype=_record_dtype(table))
    for name in records.dtype.names:
        records[name] = sources[name][first:stop]
    stream.write(memoryview(records).cast("B"))
    return records.nbytes


def _padding(data_bytes: int) -> bytes:
    """Zero bytes that fill the data unit up to a multiple of 2880."""
    return bytes(-data_bytes % 2880)


def _counts_format(values: np.ndarray) -> str:
    return "J" if values.dtype == np.int32 else "D"


def _stat_err_column(shape, width: str) -> fits.Column:
    return fits.Column("STAT_ERR", width + "E", array=np.zeros(shape, np.float32))


def _parameter_sources(parameters, n_spectra: int) -> dict:
    """One column per parameter, named with its dotted name (FITS allows the dot)."""
    sources = {}
    seen: set[str] = set()
    for name, value in (parameters or {}).items():
        _check_column_name(name, seen)
        array = np.asarray(value)
        if array.shape != (n_spectra,) or array.dtype.kind not in "biuf":
            raise ParameterError(
                f"parameter {name!r} must be a numeric array of shape ({n_spectra},),"
                f" one value per spectrum; got shape {array.shape}, dtype {array.dtype}"
            )
        fmt = "K" if array.dtype.kind in "biu" else "D"
        sources[name] = (fmt, array)
    return sources


def _check_column_name(name, seen: set[str]) -> None:
    """FITS column names are case-blind, and they must not clash with ours."""
    reserved = {"SPEC_NUM", "CHANNEL", "COUNTS", "STAT_ERR", "QUALITY", "GROUPING"}
    reserved |= {"EXPOSURE", "BACKSCAL", "AREASCAL", "CORRSCAL"}
    if not isinstance(name, str) or not name.isascii() or not name.isprintable():
        raise ParameterError(f"parameter name {name!r} must be printable ASCII text")
    key = name.upper()
    if key in reserved or key in seen:
        raise ParameterError(
            f"parameter name {name!r} clashes with another column (names are"
            " case-insensitive in FITS)"
        )
    if not 0 < len(name) <= _MAX_COLUMN_NAME or "'" in name:
        raise ParameterError(
            f"parameter name {name!r} cannot be a FITS column name (1 to"
            f" {_MAX_COLUMN_NAME} characters, no quote)"
        )
    seen.add(key)


# --- header ----------------------------------------------------------------------


def _fill_header(header, chans, values, poisserr, flags, per_row, links, extra):
    """The OGIP/92-007 keywords, in the order XSPEC writes them where it writes them."""
    channel_column = 2 if values.ndim == 2 else 1
    header["HDUCLASS"] = ("OGIP", "format conforms to OGIP standard")
    header["HDUCLAS1"] = ("SPECTRUM", "PHA dataset (OGIP memo OGIP-92-007)")
    header["HDUCLAS2"] = (extra.pop("HDUCLAS2"), "TOTAL, NET or BKG spectrum")
    header["HDUCLAS3"] = ("COUNT", "data stored as counts, not a rate")
    header["HDUCLAS4"] = ("TYPE:II" if values.ndim == 2 else "TYPE:I", "PHA type")
    header["HDUVERS"] = ("1.2.1", "version of format (OGIP memo OGIP-92-007)")
    for key, comment in _DESCRIBED.items():
        header[key] = (extra.pop(key), comment)
    header["DATE"] = (_now(), "file creation date (UTC)")
    for key, value in links.items():
        text = _link(key, value)
        commented = len(text) <= _COMMENTED_LINK
        header[key] = (text, "associated file") if commented else text
    _scale_keywords(header, per_row)
    header[f"TLMIN{channel_column}"] = (int(chans[0]), "lowest legal channel number")
    header[f"TLMAX{channel_column}"] = (int(chans[-1]), "highest legal channel number")
    header["DETCHANS"] = (int(chans[-1] - chans[0] + 1), "total possible channels")
    header["POISSERR"] = (bool(poisserr), "Poisson errors apply")
    for key, vector in flags.items():
        if vector is None and values.ndim == 2:
            header[key] = (0, "no grouping" if key == "GROUPING" else "all good")
    for key, value in extra.items():
        header[key] = value


def _scale_keywords(header, per_row) -> None:
    """EXPOSURE and scales as keywords; a per-row column gets one too if uniform."""
    comments = {
        "EXPOSURE": "exposure (s)",
        "BACKSCAL": "background scaling factor",
        "AREASCAL": "area scaling factor",
        "CORRSCAL": "correction file scaling factor",
    }
    for key, value in per_row.items():
        if isinstance(value, np.ndarray):
            if np.all(value == value.flat[0]):
                header[key] = (float(value.flat[0]), comments[key])
        else:
            header[key] = (value, comments[key])


def _links_from(target: Path, links: dict) -> dict:
    """Each linked file as readers find it from the written file (see `_link_text`)."""
    return {key: _link_text(target, value) for key, value in links.items()}


def _link_text(target: Path, value) -> str | None:
    """A linked file's name as seen from ``target``'s folder.

    Its base name when it lies beside the target (or is not a file here),
    otherwise its path relative to that folder, or its absolute path, whichever
    fits in a FITS string value (68 characters); readers (XSPEC, Sherpa,
    jaxspec, specdsl) resolve a link from the spectrum's folder. A name
    relative to the working folder is resolved from there first.
    """
    if value is None:
        return None
    path = Path(os.fspath(value))
    if not path.exists():
        return path.name or os.fspath(value)
    return _path_from(target, path) or path.name


def _path_from(target: Path, path: Path) -> str | None:
    """``path`` as seen from ``target``'s folder, in at most a FITS string's
    68 characters: its base name beside the target, else a relative path, else
    an absolute one; None when none fits.

    Paths through symbolic links are kept as the user gave them when they lead
    to the same file (a link to a data folder gives a short name); each one is
    checked by resolving it from the folder as readers do.
    """
    folder, real = Path(target).parent.absolute(), path.resolve()
    candidates = (
        path.name,
        os.path.relpath(path.absolute(), folder),
        os.path.relpath(real, folder.resolve()),
        str(path.absolute()),
        str(real),
    )
    for text in candidates:
        if _fits_as_link(text) and (folder / text).resolve() == real:
            return text
    return None


def _fits_as_link(text: str) -> bool:
    """Whether readers get ``text`` back from a one-card FITS string: quotes are
    doubled in the card, FITS drops trailing blanks, and readers strip blanks
    and expand a leading '~'."""
    escaped = text.replace("'", "''")
    return len(escaped) <= _FITS_STRING and text == text.strip() and text[:1] != "~"


_FITS_STRING = 68
_COMMENTED_LINK = 40  # longer values fill the card: no room for a comment


def unreachable_links(target: Path, links: dict) -> list[str]:
    """Messages for linked files that readers will not find from ``target``.

    A file away from the target with no path from it that fits in a FITS
    string is written as its base name only (`_link_text`).
    """
    messages = []
    for key, value in links.items():
        if value is None or not Path(value).exists():
            continue
        path = Path(value)
        if _path_from(target, path) is None:
            messages.append(
                f"{key} names {path.name} only: no path to {path.absolute()} from "
                f"the output's folder fits in a FITS keyword ({_FITS_STRING} "
                f"characters); put a copy or a link to it beside {Path(target).name}"
            )
    return messages


def _link(key: str, value) -> str:
    """A linked file's keyword value, or 'none'."""
    if value is None:
        return "none"
    name = os.fspath(value)
    if not name or not name.isascii() or not name.isprintable():
        raise ParameterError(f"{key.lower()} {value!r} is not a usable file name")
    return name


def _add_history(header, history, parameters) -> None:
    """HISTORY lines, plus 'name = value' lines for a type-I file's parameters."""
    lines = [history] if isinstance(history, str) else list(history or ())
    for name, value in (parameters or {}).items():
        array = np.asarray(value)
        if array.size != 1 or array.dtype.kind not in "biuf":
            raise ParameterError(
                f"parameter {name!r} of a single spectrum must be one number;"
                f" got shape {array.shape}"
            )
        lines.append(f"specdsl parameter {name} = {array.reshape(()).item()!r}")
    for line in lines:
        if not isinstance(line, str) or not line.isascii():
            raise ParameterError(f"history line {line!r} is not ASCII text")
        header.add_history(line)


def _user_keywords(keywords) -> dict[str, object]:
    """Caller keywords over our defaults, refusing any that an argument owns."""
    merged = dict(_DEFAULT_KEYWORDS)
    for name, value in (keywords or {}).items():
        key = str(name).upper()
        _check_user_keyword(key, value)
        merged[key] = value
    if merged["HDUCLAS2"] not in _HDUCLAS2_VALUES:
        raise ParameterError(
            f"HDUCLAS2 must be one of {', '.join(_HDUCLAS2_VALUES)};"
            f" got {merged['HDUCLAS2']!r}"
        )
    return merged


def _check_user_keyword(key: str, value) -> None:
    if key in _OWNED_KEYWORDS or _STRUCTURAL.match(key):
        argument = _OWNED_KEYWORDS.get(key)
        hint = f"; pass {argument}= instead" if argument else ""
        raise ParameterError(f"keyword {key} is set by write_pha itself{hint}")
    if not _KEYWORD_NAME.match(key):
        raise ParameterError(
            f"keyword {key!r} is not a FITS keyword name (1 to 8 of A-Z 0-9 _ -)"
        )
    ok = isinstance(value, (str, bool, int, float, np.integer, np.floating))
    if not ok or (isinstance(value, str) and not value.isascii()):
        raise ParameterError(
            f"keyword {key} value {value!r} must be an ASCII string or a number"
        )


# --- input validation ------------------------------------------------------------


def _as_counts(counts, poisserr: bool) -> np.ndarray:
    """int32 counts, or float64 expected counts (real numbers with poisserr off)."""
    values = np.asarray(counts)
    if values.ndim not in (1, 2) or 0 in values.shape:
        raise ParameterError(
            "counts must be (n_channels,) or (n_spectra, n_channels) with no empty"
            f" axis; got shape {values.shape}"
        )
    if values.dtype.kind not in "iuf":
        raise ParameterError(f"counts must be numbers; got dtype {values.dtype}")

    _check_finite_non_negative(values)
    if values.dtype.kind in "iu":
        return _as_int_counts(values) if values.dtype != np.int32 else values
    if poisserr:
        return _as_int_counts(values)
    return values.astype(np.float64, copy=False)


def _check_finite_non_negative(values: np.ndarray) -> None:
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        bad = ~np.isfinite(values)
        raise ParameterError(f"counts contain NaN or infinity at {_where(bad)}")
    negative = values < 0
    if negative.any():
        raise ParameterError(f"counts are negative at {_where(negative)}")


def _as_int_counts(values: np.ndarray) -> np.ndarray:
    fractional = values != np.round(values)
    if fractional.any():
        raise ParameterError(
            f"counts are not whole numbers at {_where(fractional)}; write expected"
            " counts with poisserr=False"
        )
    too_big = values > _INT32_MAX
    if too_big.any():
        raise ParameterError(f"counts exceed the int32 range at {_where(too_big)}")
    return values.astype(np.int32)


def _where(mask: np.ndarray) -> str:
    """Name the first offending element, as an array index, and how many there are."""
    index = ", ".join(str(int(i)) for i in np.argwhere(mask)[0])
    return f"counts[{index}] ({int(mask.sum())} values in all)"


def _as_channels(channels, n_channels: int) -> np.ndarray:
    """Strictly increasing non-negative whole channel numbers, one per count."""
    chans = np.asarray(channels)
    if chans.shape != (n_channels,):
        raise ParameterError(
            f"channels has shape {chans.shape} but counts have {n_channels} channels;"
            " pass one channel number per count"
        )
    if chans.dtype.kind not in "iuf" or np.any(chans != np.round(chans)):
        raise ParameterError("channels must be whole numbers")
    if np.any(chans < 0) or np.any(chans > _INT32_MAX) or np.any(np.diff(chans) <= 0):
        raise ParameterError("channels must be non-negative and strictly increasing")
    return chans.astype(np.int32)


def _as_flags(name: str, flags, shape, allowed) -> np.ndarray | None:
    """GROUPING or QUALITY per channel (or per spectrum and channel) as int16."""
    if flags is None:
        return None
    array = np.asarray(flags)
    if array.shape not in (shape, shape[-1:]):
        raise ParameterError(
            f"{name} has shape {array.shape}; expected ({shape[-1]},) or {shape}"
        )
    if array.dtype.kind not in "biuf" or not np.isin(array, allowed).all():
        raise ParameterError(f"{name} values must be among {allowed}")
    if len(shape) == 1:
        return array.astype(np.int16)
    return np.broadcast_to(array.astype(np.int16), shape)


def _as_exposure(exposure, n_spectra: int | None) -> float | np.ndarray:
    value = _as_scale("EXPOSURE", exposure, n_spectra)
    if np.any(np.asarray(value) <= 0):
        raise ParameterError(f"exposure must be > 0 seconds; got {exposure!r}")
    return value


def _as_scale(
    key: str, value, n_spectra: int | None, n_channels: int | None = None
) -> float | np.ndarray:
    """A finite number (a keyword), or an array written as a column.

    Per spectrum (type II): ``(n_spectra,)``. Per channel, when ``n_channels`` is
    given: ``(n_channels,)``, and for type II also ``(n_spectra, n_channels)``;
    returned with the channel axis last (2-D for type II), or as a number when all
    values are equal. A 1-D array of length n_spectra is taken as per spectrum.
    """
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise ParameterError(f"{key.lower()} must be a number; got {value!r:.80}")
    if not np.all(np.isfinite(array)):
        raise ParameterError(f"{key.lower()} must be finite; got {value!r:.80}")
    if array.ndim == 0:
        return float(array)
    if n_spectra is not None and array.shape == (n_spectra,):
        return array.astype(np.float64)
    if n_channels is not None and array.shape in _channel_shapes(n_spectra, n_channels):
        return _per_channel(array, n_spectra)
    shapes = _channel_shapes(n_spectra, n_channels) if n_channels else ()
    if n_spectra is not None:
        shapes = ((n_spectra,), *shapes)
    allowed = " or ".join(["a number", *(f"{s} array" for s in shapes)])
    raise ParameterError(f"{key.lower()} must be {allowed}; got shape {array.shape}")


def _channel_shapes(n_spectra: int | None, n_channels: int) -> tuple:
    """The shapes a per-channel scale may have (type I, or type II)."""
    if n_spectra is None:
        return ((n_channels,),)
    return ((n_channels,), (n_spectra, n_channels))


def _per_channel(array: np.ndarray, n_spectra: int | None) -> float | np.ndarray:
    """Per-channel values as float64 (type II: broadcast to every row); a constant
    array becomes one number, written as a keyword."""
    if np.all(array == array.flat[0]):
        return float(array.flat[0])
    values = array.astype(np.float64)
    if n_spectra is None:
        return values
    return np.broadcast_to(values, (n_spectra, values.shape[-1]))


def fake_flags(observation, warn) -> dict[str, np.ndarray]:
    """The QUALITY and GROUPING a fake copies from its spectrum, as XSPEC's
    fakeit does; left out when they say nothing (all good, no groups), so that
    type II files stay small, or when they are not OGIP's values (``warn``)."""
    flags = {}
    for name, values, allowed, plain in (
        ("quality", observation.quality, QUALITY_VALUES, 0),
        ("grouping", observation.grouping, GROUPING_VALUES, 1),
    ):
        if values is None or np.all(np.asarray(values) == plain):
            continue
        if not np.isin(values, allowed).all():
            warn(
                f"{observation.spectrum_path}: {name.upper()} has values other "
                f"than {', '.join(map(str, allowed))} (OGIP's); not copied to the fake"
            )
            continue
        flags[name] = np.asarray(values)
    return flags


def fake_history() -> list[str]:
    """HISTORY cards of a fake: XSPEC's first line, then the abundance table and
    cross sections its absorption used (our default abundances are not XSPEC's)."""
    from specdsl import __version__
    from specdsl.library.settings import history_line

    created = f"Fake data file created by specdsl version: {__version__}"
    return [created + ' "fakeit" command', history_line()]
