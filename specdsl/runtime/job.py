"""One fakeit run from start to finish, stage by stage, as the command line runs it.

Spectra are simulated in chunks and streamed to disk part by part (see
``specdsl.output.stream``), so memory stays bounded whatever the count. The
stages (read, compile, simulate, write) are timed so the benchmark script and a
curious user can see where the seconds go; simulate and write interleave, and
each gets the time spent in it.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from specdsl.errors import OGIPError, OutputError, ParameterError
from specdsl.runtime import interrupt

MAX_PART_SPECTRA = 100_000
MAX_PART_BYTES = 1 << 30
# Files one job may be split into: planning them is quick up to here.
MAX_PARTS = 100_000
# Spectra whose parameter values are drawn and checked before any file is read.
# A distribution reaching past a hard limit is caught here when one of these
# draws lands there; any later draw is still checked before it is simulated.
FIRST_LOOK = 64


@dataclass
class FakeitJob:
    """Everything one ``specdsl fakeit`` run needs, with per-stage timings.

    The job fakes source spectra only: the spectrum's BACKFILE is never read. A
    BACKFILE naming a file that is not there is reported through ``warnings``
    (and ``on_warning``) unless ``no_background`` says to ignore the link.
    ``arf="none"`` leaves out the spectrum's ANCRFILE.
    """

    expression: str
    spectrum: str | None = None
    rmf: str | None = None
    arf: str | None = None
    count: int | None = 1
    params: list[str] = field(default_factory=list)
    seed: int = 0
    exposure: float | None = None
    counting_statistics: bool = True
    output: str | None = None
    clobber: bool = False
    batch_size: int = 2048
    grouped: bool = False
    format: str | None = None
    part_size: int | None = None
    resume: bool = False
    table: str | None = None
    design: str = "random"
    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    threads: int | None = None
    no_background: bool = False
    on_warning: Callable[[str], None] | None = None
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    n_channels: int = 0
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    n_parts: int = 0  # files this process writes (0: one spectrum, one file)
    spectra_written: int = 0
    cluster: object = None

    def run(self, progress: bool = False) -> Path:
        """Compile, read, simulate and write; returns the (first) path written.

        The model and its parameters are checked before any file is opened, so a
        typing error in them is reported first.
        """
        from specdsl.runtime.distributed import announce_stop, connect

        self.cluster = connect(self.coordinator, self.num_processes, self.process_id)
        try:
            return self._run(self.cluster, progress)
        except BaseException:  # the other processes must not wait for this one
            announce_stop(self.cluster)
            raise

    def _run(self, cluster, progress: bool) -> Path:
        _persistent_compilation_cache()
        with self._stage("compile"):
            model = self._model()
            source = self._source(model)
        with self._stage("read"):
            observation = self._observation()
        if self.output is not None and not str(self.output).strip():
            raise ParameterError("--output is empty: give a file name, or leave it out")
        output = Path(self.output or _default_output(self.spectrum, observation))
        if output.name in ("", ".", ".."):
            raise OutputError(
                f"--output {self.output} names a folder: give a file name in it"
            )
        fmt = self._format(output)
        if not self.grouped and fmt == "pha":  # .npy output names no files
            self._warn_unreachable(output, observation)

        with self._stage("compile", add=True):
            folded = self._folded(model, observation)
            size = self._check_size(output, folded, fmt, source.count)
            folded.warm_up()
        interrupt.check()  # a stop that JAX swallowed while compiling
        self.count = source.count
        if source.count == 1 and fmt == "pha":
            self._refuse_inputs([output], observation)
            path = output
            with self._together(self._job_id(1, fmt, [], observation, output)):
                if cluster.owns(0):  # one file: the first process writes it
                    path = self._write_one(folded, source, output)
            return path

        parts = self._parts(output, source.count, size)
        self._refuse_inputs([part.path for part in parts], observation)
        mine = [part for part in parts if cluster.owns(part.index)]
        self.n_parts = len(mine)
        job_id = self._job_id(source.count, fmt, parts, observation, output)
        with self._together(job_id):
            todo = self._todo(mine, fmt, job_id, folded.n_bins)
            _check_free_space(output, todo, self._row_bytes(folded, fmt))
            self._stream(folded, source, todo, fmt, job_id, progress)
        return parts[0].path

    @contextmanager
    def _together(self, job_id: str):
        """With other processes: check they run this job before writing, and
        wait for all at the end (a stop is announced by ``run``)."""
        from specdsl.runtime.distributed import agree, finish

        agree(self.cluster, job_id)
        yield
        finish(self.cluster)

    # ------------------------------------------------------------ inputs

    def _warn_unreachable(self, output: Path, observation) -> None:
        from specdsl.output.pha import unreachable_links

        links = {"RESPFILE": observation.rmf_path, "ANCRFILE": observation.arf_path}
        for message in unreachable_links(output, links):
            self._warn(message)

    def _refuse_inputs(self, outputs: list[Path], observation) -> None:
        """Refuse to write over a file the job reads (or the spectrum's
        background), --clobber or not."""
        inputs = {
            "the spectrum": observation.spectrum_path,
            "the RMF": observation.rmf_path,
            "the ARF": observation.arf_path,
            "the background": observation.background_path,
            "the parameter table": self.table,
        }
        background = observation.backfile
        if background and observation.spectrum_path is not None:
            from specdsl.errors import OGIPError
            from specdsl.response.observation import resolve_link

            try:  # not read by the job, but the spectrum's own file
                inputs["the spectrum's background"] = resolve_link(
                    Path(observation.spectrum_path), background, "BACKFILE"
                )
            except OGIPError:
                pass  # no such file: nothing to protect
        read = {Path(path).resolve(): what for what, path in inputs.items() if path}
        for output in outputs:
            what = read.get(Path(output).resolve())
            if what is not None:
                raise OutputError(
                    f"--output {output} is {what} this job reads; write elsewhere"
                )

    def _model(self):
        """The compiled model, after the options that need no file are checked."""
        from specdsl.model import compile

        exposure = self.exposure
        if exposure is not None and not (exposure > 0 and math.isfinite(exposure)):
            raise ParameterError(
                f"--exposure must be > 0 s and finite, got {exposure:g}"
            )
        return compile(self.expression)

    def _observation(self):
        from specdsl.response.observation import Observation

        arf = self._arf()
        if self.spectrum:
            observation = Observation.from_pha(
                self.spectrum,
                rmf=self.rmf,
                arf=arf,
                background=False,
                exposure=self.exposure,
            )
            self._check_exposure(observation)
            self._check_background_link(observation)
            return observation
        if self.rmf:
            self._note_exposure()
            return Observation.from_response(self.rmf, arf or None)
        if arf:
            raise ParameterError("--arf needs --rmf or a spectrum to go with it")
        return Observation.default()

    def _arf(self):
        """The --arf value; 'none' (as in XSPEC's ``arf none``) drops the ANCRFILE."""
        if self.arf is not None and str(self.arf).strip().lower() == "none":
            return False
        return self.arf

    def _note_exposure(self) -> None:
        """A response without a spectrum fakes 1 s (XSPEC's default): say so."""
        if self.exposure is None:
            self._warn(
                "no spectrum and no --exposure: the exposure is 1 s (XSPEC's fakeit "
                "default for a response alone); --exposure SECONDS sets it"
            )

    def _check_exposure(self, observation) -> None:
        """A spectrum to fake needs a positive exposure: its own or --exposure."""
        if self.exposure is not None or observation.exposure > 0:
            return
        raise OGIPError(
            observation.spectrum_path,
            f"EXPOSURE is {observation.exposure:g} s: spectra faked from it would "
            "have no counts; give the exposure time with --exposure SECONDS, which "
            "replaces the file's EXPOSURE",
            field="EXPOSURE",
        )

    def _check_background_link(self, observation) -> None:
        """Warn, and go on, when BACKFILE names a file that is not there."""
        from specdsl.response.observation import missing_link

        link = observation.backfile
        if self.no_background or not link:
            return
        pha = Path(observation.spectrum_path)
        try:
            tried = missing_link(pha, link, "BACKFILE")
        except OGIPError as error:  # a folder, or no file name at all
            self._warn(f"{error}; going on without a background (not faked here)")
            return
        if tried:
            names = ", ".join(
                p.name if p.parent == pha.parent else str(p) for p in tried
            )
            self._warn(
                f"{pha}: BACKFILE names '{link}', which is not there (looked for "
                f"{names} beside it); going on without a background, which this "
                "command does not fake (--no-background skips this check)"
            )

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        if self.on_warning is not None:
            self.on_warning(message)

    def _folded(self, model, observation):
        from specdsl.fold import FoldedModel

        if self.grouped and getattr(observation, "grouping", None) is None:
            where = observation.spectrum_path
            where = f"{where} has no GROUPING column" if where else "no spectrum given"
            self._warn(
                f"{where}: --grouped keeps one group per good channel (bad QUALITY "
                "channels left out), and the output names no response"
            )

        folded = FoldedModel(
            model, observation, exposure=self.exposure, grouped=self.grouped
        )
        self.n_channels = folded.n_bins
        return folded

    def _source(self, model):
        """The parameter values; the first spectra's are drawn and checked now
        (hard limits, NaN), so that a bad --param fails before any file is read."""
        from specdsl.runtime.inputs import build_source

        if self.count is not None and self.count < 1:
            raise ParameterError(f"--count must be at least 1, got {self.count}")
        source = build_source(
            model,
            self.count,
            self.params,
            seed=self.seed,
            table=self.table,
            design=self.design,
        )
        source(0, min(source.count, FIRST_LOOK))
        return source

    def _format(self, output: Path) -> str:
        from specdsl.output.stream import FORMATS

        is_npy = output.name.lower().endswith(".npy")
        fmt = self.format or ("npy" if is_npy else "pha")
        if fmt not in FORMATS:
            raise ParameterError(f"unknown format {fmt!r}; use {' or '.join(FORMATS)}")
        if fmt == "npy" and not is_npy:
            raise ParameterError(
                f"--format npy writes a numpy array, not what --output "
                f"{output.name} suggests (.npy files are not compressed): name it "
                f"{output.name.split('.')[0]}.npy"
            )
        if fmt == "pha" and is_npy:
            raise ParameterError(
                f"--format pha writes an OGIP (FITS) spectrum, not a numpy array as "
                f"--output {output.name} suggests: name it {output.stem}.pha"
            )
        return fmt

    # ------------------------------------------------------------ parts

    def _check_size(self, output: Path, folded, fmt: str, count: int) -> int:
        """Spectra per part, once a job too big to plan or to store is refused
        (before any part is planned, so that a huge --count fails at once)."""
        row_bytes = self._row_bytes(folded, fmt)
        size = self._part_size(row_bytes)
        if count == 1 and fmt == "pha":
            return size
        n_parts = -(-count // size)
        if n_parts > MAX_PARTS:
            raise ParameterError(
                f"--count {count} makes {n_parts} files of {size} spectra (at most "
                f"{MAX_PARTS} are planned): lower --count or raise --part-size"
            )
        _check_room(output, count * row_bytes, self.resume)  # one folder for all
        return size

    def _part_size(self, row_bytes: int) -> int:
        """--part-size, or as many spectra as fit in 1 GiB (at most 100000)."""
        if self.part_size is None:
            return max(1, min(MAX_PART_SPECTRA, MAX_PART_BYTES // row_bytes))
        if self.part_size < 1:
            raise ParameterError(
                f"--part-size must be at least 1, got {self.part_size}"
            )
        return self.part_size

    def _parts(self, output: Path, count: int, size: int):
        from specdsl.output.stream import plan_parts

        return plan_parts(output, count, size)

    def _row_bytes(self, folded, fmt: str) -> int:
        """Bytes one spectrum takes on disk (counts, channels, parameters)."""
        row_bytes = folded.n_bins * (4 if self.counting_statistics else 8)
        if fmt == "pha":
            row_bytes += folded.n_bins * 2
        return row_bytes + 8 * len(folded.model.parameters)

    def _todo(self, parts, fmt: str, job_id: str, n_bins: int):
        """The parts still to write; refuses existing files unless resumed/clobbered."""
        from specdsl.output.pha import check_target
        from specdsl.output.stream import (
            drop_unpaired_params,
            params_path,
            remove_stale_temporaries,
        )

        remove_stale_temporaries(parts)
        todo = []
        for part in parts:
            check_target(part.path)  # a directory, a name too long: say so first
            if fmt == "npy":
                check_target(params_path(part.path))
            if self.resume and self._kept(part, fmt, job_id, n_bins):
                self.skipped.append(part.path)
                continue
            if self.resume and fmt == "npy":
                drop_unpaired_params(part, job_id)
            if part.path.exists() and not self.clobber:
                raise OutputError(
                    f"{part.path} already exists; pass --clobber to overwrite it or "
                    "--resume to finish an interrupted job"
                )
            todo.append(part)
        return todo

    def _job_id(self, count: int, fmt: str, parts, observation, output) -> str:
        """A fingerprint of everything that decides the spectra and their files:
        the options, and each file read, by name, size and modification time (a
        file rewritten in place is another job)."""
        from specdsl import __version__
        from specdsl.response.observation import DIAGONAL

        def described(path):
            if not path or str(path) == DIAGONAL:
                return path and str(path)
            path = Path(re.sub(r"\{\s*\d+\s*\}$", "", str(path)))  # a type II row
            if not path.exists():
                return [str(path.resolve()), None]
            stat = path.stat()
            return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]

        read = (
            self.spectrum,
            self.rmf,
            self.arf,
            observation.rmf_path,
            observation.arf_path,
        )
        recipe = {
            "version": __version__,
            "model": self.expression,
            "files": [described(p) for p in read],
            "table": described(self.table),
            "count": count,
            "params": list(self.params),
            "seed": self.seed,
            "exposure": self.exposure,
            "statistics": self.counting_statistics,
            "grouped": self.grouped,
            "design": self.design,
            "format": fmt,
            "output": Path(output).name,  # each process's share goes under it
            "parts": [[p.first, p.stop] for p in parts],
        }
        text = json.dumps(recipe, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # ------------------------------------------------------------ work

    def _stream(self, folded, source, parts, fmt, job_id, progress) -> None:
        from specdsl.output.stream import open_part
        from specdsl.runtime.distributed import check_peers
        from specdsl.runtime.fakeit import Simulator

        simulator = Simulator(
            folded, self.seed, self.counting_statistics, self.batch_size, self.threads
        )
        dtype = np.int32 if self.counting_statistics else np.float64
        header = self._header(folded)
        names = [p.name for p in folded.model.parameters]
        self.timings.setdefault("simulate", 0.0)
        self.timings.setdefault("write", 0.0)
        total = sum(part.rows for part in parts)

        with _progress(progress, total) as advance:
            for part in parts:
                check_peers(self.cluster)
                with self._stage("write", add=True):
                    writer = open_part(
                        part,
                        fmt,
                        n_bins=folded.n_bins,
                        dtype=dtype,
                        parameter_names=names,
                        job_id=job_id,
                        clobber=self.clobber,
                        header=header,
                    )
                try:
                    self._fill(simulator, source, part, writer, advance)
                except BaseException:
                    writer.abort()
                    raise
                with self._stage("write", add=True):
                    self.written.append(writer.close())
                self.spectra_written += part.rows

    def _fill(self, simulator, source, part, writer, advance) -> None:
        blocks = simulator.blocks(source, part.first, part.stop)
        while True:
            with self._stage("simulate", add=True):
                block = next(blocks, None)
            if block is None:
                return
            _, counts, values = block
            with self._stage("write", add=True):
                writer.append(counts, values)
            advance(len(counts))

    def _kept(self, part, fmt: str, job_id: str, n_bins: int) -> bool:
        """A complete part of this job; with --clobber, a part of another job is
        written again instead of refused."""
        from specdsl.output.stream import is_done

        try:
            return is_done(part, fmt, job_id, n_bins)
        except OutputError:
            if self.clobber:
                return False
            raise

    def _write_one(self, folded, source, output: Path) -> Path:
        """One spectrum: a type I file, as XSPEC's fakeit writes."""
        from specdsl.output.pha import check_output, check_target, write_pha
        from specdsl.runtime.fakeit import Simulator

        check_target(output)
        if self.resume and output.exists() and not self.clobber:
            raise OutputError(
                f"{output} already exists; --resume finishes the parts of a job of "
                "several spectra, and one spectrum is written in a single step: "
                "pass --clobber to write it again"
            )
        check_output(output, self.clobber)
        simulator = Simulator(folded, self.seed, self.counting_statistics, 1)
        with self._stage("simulate"):
            _, counts, values = next(simulator.blocks(source, 0, 1))
        header = self._header(folded)
        header["keywords"] = dict(header["keywords"])
        parameters = {name: value[0] for name, value in values.items()}
        with self._stage("write"):
            path = write_pha(
                output,
                counts[0],
                clobber=self.clobber,
                parameters=parameters,
                **header,
            )
        self.written.append(path)
        self.spectra_written = 1
        return path

    def _header(self, folded) -> dict:
        from specdsl.output.pha import fake_flags, fake_history

        obs = folded.observation
        header = {
            "channels": obs.channels,
            "exposure": folded.exposure,
            "keywords": self._keywords(obs),
            "history": fake_history(),
            "poisserr": self.counting_statistics,
            "respfile": obs.rmf_path,
            "ancrfile": obs.arf_path,
            "backscal": obs.backscal,
            "areascal": obs.areascal,
            **fake_flags(obs, self._warn),
        }
        if self.grouped:
            # Bins are the spectrum's GROUPING groups: no channel response fits them.
            first = int(np.asarray(obs.channels)[0])
            header["channels"] = np.arange(first, first + folded.n_bins)
            header.update(respfile=None, ancrfile=None, areascal=1.0)
            header.update(quality=None, grouping=None)
            header["backscal"] = _group_mean(obs, obs.backscal)
            header["keywords"]["SDGROUPD"] = True
        return header

    def _keywords(self, obs) -> dict:
        """Instrument keywords copied through, plus XSPEC's record of the fake."""
        from specdsl.response.observation import response_label
        from specdsl.response.ogip import identity_keywords

        copied = identity_keywords(obs.keywords)
        copied["FKSRC001"] = self.expression
        copied["FKRSP001"] = response_label(obs)
        if obs.arf_path:
            copied["FKARF001"] = _name(obs.arf_path)
        return copied

    @contextmanager
    def _stage(self, name: str, add: bool = False):
        started = time.perf_counter()
        try:
            yield
        finally:
            spent = time.perf_counter() - started
            self.timings[name] = (self.timings.get(name, 0.0) if add else 0.0) + spent


def _check_free_space(output: Path, parts, row_bytes: int) -> None:
    """Refuse before any work a job whose files cannot fit on the disk.

    Uncompressed sizes are known in advance; a .gz target is not checked.
    """
    if output.name.lower().endswith(".gz") or not parts:
        return
    needed = sum(part.rows for part in parts) * row_bytes
    try:
        free = shutil.disk_usage(output.parent).free
    except OSError:
        return
    if needed > free:
        raise OutputError(_no_room(output, needed, free, "free"))


def _check_room(output: Path, needed: int, resume: bool) -> None:
    """Refuse, before the parts are planned, a job bigger than the disk: bigger
    than its free space, or with --resume (parts may be there) than the disk."""
    if output.name.lower().endswith(".gz"):
        return
    try:
        usage = shutil.disk_usage(output.parent)
    except OSError:
        return  # no folder yet: the output check names it
    room, what = (usage.total, "in all") if resume else (usage.free, "free")
    if needed > room:
        raise OutputError(_no_room(output, needed, room, what))


def _no_room(output: Path, needed: int, room: int, what: str) -> str:
    return (
        f"cannot write {output}: the job needs about {_size(needed)} and "
        f"{output.parent} has {_size(room)} {what}; free some space, choose "
        "another --output, or use --grouped or a smaller --count"
    )


def _size(n_bytes: float) -> str:
    """Bytes in GB, TB or PB, whichever reads best."""
    for unit, scale in (("PB", 1e15), ("TB", 1e12)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.2f} {unit}"
    return f"{n_bytes / 1e9:.2f} GB"


def _persistent_compilation_cache() -> None:
    """Keep compiled folds on disk, so that a later run of the same job starts warm.

    ``SPECDSL_CACHE_DIR`` chooses the folder (default ``~/.cache/specdsl/jax``);
    ``SPECDSL_CACHE_DIR=`` (empty) turns it off.
    """
    import os

    import jax

    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    folder = os.environ.get("SPECDSL_CACHE_DIR", str(default / "specdsl" / "jax"))
    if not folder or jax.config.jax_compilation_cache_dir:
        return
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


def _group_mean(obs, scale):
    """A per-channel scale averaged over each GROUPING group (good channels only),
    so it matches grouped bins; a number stays as it is."""
    if np.ndim(scale) == 0:
        return scale
    from specdsl.response.observation import group_ids

    values = np.asarray(scale, dtype=np.float64)
    good = np.ones(values.size, bool) if obs.quality is None else obs.quality == 0
    _, group = np.unique(
        group_ids(obs.grouping, values.size)[good], return_inverse=True
    )
    return np.bincount(group, weights=values[good]) / np.bincount(group)


def _default_output(spectrum, observation) -> str:
    """XSPEC's default: the spectrum's (or response's) name with ``.fak``."""
    source = spectrum or observation.rmf_path
    return Path(source).name.split(".")[0] + ".fak" if source else "specdsl_default.fak"


def _name(path) -> str | None:
    return Path(path).name if path else None


@contextmanager
def _progress(enabled: bool, total: int):
    if not enabled or total < 2:
        yield lambda n: None
        return

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("spectra"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("simulating", total=total)
        yield lambda n: bar.update(task, advance=n)
