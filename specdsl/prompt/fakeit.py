"""The ``fakeit`` command: XSPEC's prompts, defaults, file names and keywords.

``fakeit [nowrite] [none] [<background file>] [<N>]``. The prompts, their order
and defaults follow XSPEC 12 (xspec-syntax.md section 7.2):

1. ``For fake spectrum #1 response file is needed:`` (and ``...and ancillary
   file:``) only when the spectrum is not based on loaded data and no response
   was given; an empty answer or ``/`` selects the dummy response. A loaded
   spectrum without a response needs a file name. A file that is not there is
   asked for again (a script's next lines answer, three at most).
2. `` Use counting statistics in creating fake data? (y):``
3. `` Input optional fake file prefix:`` and `` Fake data file name (<default>):``
   (also with ``nowrite``, as in XSPEC 12: the name is the data set's name).
4. `` Exposure time, correction norm, bkg exposure time (<t>, <c>, <tb>):``

Afterwards the fake spectrum replaces the loaded data (``nowrite`` included):
``show`` and ``plot`` show it, and the next ``fakeit`` is based on it, with the
same response and ARF, its name as default file name, its exposure, correction
norm and background exposure as defaults and its simulated background as the
background (see ``specdsl.prompt.session``).

Our extension: a trailing ``N`` > 1 makes a batch of N spectra, drawn from the
distributions set with ``newpar``, written as one type II file; spectrum 1 of
the batch becomes the loaded data (``file.fak{1}``).

Known differences from XSPEC (shortcomings, kept on purpose or not done yet):

- One spectrum and one source: no data groups, no ``{row}`` backgrounds; XSPEC's
  ``fakeit N`` would make N - 1 more data sets, each asking for a response.
- With ``nowrite`` an existing file of the chosen name is not asked about (it is
  not written); ignore/notice ranges do not exist here, so none are reset.
- No correction files: the correction norm is only written as CORRSCAL (with
  XSPEC 12.12's sign; 12.8 wrote its negative) and CORRFILE is 'none'.
- Loaded spectra with POISSERR=F and STAT_ERR are still drawn as Poisson, where
  XSPEC adds Gaussian noise; counts of a grouped spectrum are written per
  channel (XSPEC puts a group's counts in its first channel), GROUPING copied.
- A batch is built in memory (``MAX_BATCH_BYTES``); the command-line
  ``specdsl fakeit --model ... --count N`` streams larger runs.
"""

from __future__ import annotations

import dataclasses
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from specdsl.errors import OGIPError, OutputError, ParameterError, SpecdslError
from specdsl.prompt.session import FakeResult, canonical_expression
from specdsl.xcm import is_spectrum_number

# What FoldedModel reads from an observation (the fold cache's key).
RESPONSE_FIELDS = ("energy_edges", "redistribution", "effective_area", "areascal")
MAX_BATCH_BYTES = 4 * 2**30  # type II files are built in memory
RESPONSE_PROMPT = "For fake spectrum #1 response file is needed: "
ARF_PROMPT = "   ...and ancillary file: "
SCRIPT_TRIES = 3  # answers a script gets for one question


@dataclass
class FakeitOptions:
    """The words after ``fakeit``."""

    nowrite: bool = False
    ignore_data: bool = False
    backgrounds: list[str] = field(default_factory=list)
    count: int = 1
    batch: bool = False  # ``fakeit N``: parameters drawn from their distributions


@dataclass
class FakeitPlan:
    """The answers to fakeit's prompts."""

    observation: object
    based_on_data: bool
    response_label: str
    data_name: str | None = None  # the loaded data set, even with ``fakeit none``
    counting_statistics: bool = True
    output: Path | None = None
    clobber: bool = False
    exposure: float = 1.0
    correction: float = 1.0
    background_exposure: float = 1.0
    seed: int = 0
    background_off: bool = False  # 'backgrnd none' was in force
    background_dropped: bool = False  # the dummy's channels are not the data's


def parse_options(arguments: str) -> FakeitOptions:
    """``nowrite`` (first), ``none``, background files and a trailing count."""
    words = arguments.replace(",", " ").split()  # XSPEC takes "nowrite, 2"
    options = FakeitOptions()
    if words and words[0].lower() == "nowrite":
        options.nowrite = True
        words = words[1:]
    if words and re.fullmatch(r"[+-]?\d+", words[-1]):
        options.count = int(words.pop())
        options.batch = True
        if options.count < 1:
            raise ParameterError(
                f"fakeit needs at least 1 spectrum, got {options.count}"
            )
    for word in words:
        if word.lower() == "none":
            options.ignore_data = True
        elif not is_spectrum_number(word):
            options.backgrounds.append(word)
    if len(options.backgrounds) > 1:
        raise ParameterError("one spectrum at a time: give at most one background file")
    return options


def run_fakeit(session, arguments: str) -> None:
    """Ask fakeit's questions, simulate, write the files and remember the result."""
    session.require_model()
    options = parse_options(arguments)
    if options.batch:
        session.table.check_reach(options.count)
    before = session.choices()
    try:
        plan = _plan(session, options)
    except BaseException:  # stopped at a question: the response answers go too
        session.restore_choices(before)
        raise

    plan.seed, following = session.run_seeds()
    result = _simulate(session, plan, options, plan.seed)
    background = _simulate_background(plan, options.count)
    if not options.nowrite:
        result.files = _write(session, plan, result, background, options.count)
    session.next_seed = following  # only a fake made moves the chain on
    session.last = result
    session.load_fake(_fake_data(session, plan, result, background, options))
    _report(session, plan, result, options)


# ------------------------------------------------------------------ prompts


def _plan(session, options: FakeitOptions) -> FakeitPlan:
    plan = _choose_observation(session, options)
    plan.counting_statistics = _ask_counting_statistics(session)
    prefix = session.ask(" Input optional fake file prefix: ").strip()
    prefix = "" if prefix == "/" else prefix
    plan.output, plan.clobber = _ask_file_name(
        session, prefix + default_file_name(session, plan), options.nowrite
    )
    _ask_exposures(session, plan)
    return plan


def _choose_observation(session, options: FakeitOptions) -> FakeitPlan:
    """The loaded spectrum, a response given earlier, or one asked for now."""
    from specdsl.prompt.session import attach_background

    background = None
    if options.backgrounds:  # read before any question, as XSPEC does
        background = _background_named(session, options.backgrounds[0])
    observation = None
    based_on_data = False
    if not options.ignore_data:
        observation = _data_observation(session)
        based_on_data = observation is not None and session.data_path is not None
    if observation is None:
        observation = _ask_response(session)
    if background is not None:
        path, spectrum = background
        observation = attach_background(
            observation, path, adopt_scales=not based_on_data, spectrum=spectrum
        )
    data_name = session.data_name
    label = response_label(observation)
    return FakeitPlan(
        observation,
        based_on_data,
        label,
        data_name=data_name,
        background_off=session.background_choice is False,
        background_dropped=session.dummy_active and session.dummy_dropped_background,
    )


def _background_named(session, name: str) -> tuple:
    """The background file named on the fakeit line (``file{n}`` for a row) and
    its spectrum, read before any question so that a bad file stops nothing."""
    from specdsl.response.ogip import read_pha

    path = session.path(name)
    return path, read_pha(path, origin="backgrnd")


def _data_observation(session):
    """The session's observation; a loaded spectrum with no response asks for one,
    as XSPEC does (the answer is required)."""
    try:
        return session.observation()
    except OGIPError as error:
        if error.field != "RESPFILE" or session.data_path is None:
            raise
    needed = (
        f"{session.data_name} has no response: fakeit needs one (a file, "
        "diagonal to count each ARF bin in its channel, or  fakeit none  for "
        "the dummy response)"
    )
    answer = _ask_file(session, RESPONSE_PROMPT, keep=("diagonal",), required=needed)
    arf = _ask_file(session, ARF_PROMPT, keep=("none",))
    session.response_path = session.response_choice(answer)
    session.response_removed = False
    if arf and arf != "/":
        session.arf_choice = False if arf.lower() == "none" else session.path(arf)
    session.forget_observation()
    return session.observation()


def _ask_response(session):
    from specdsl.prompt.responses import dummy_response
    from specdsl.response.observation import DIAGONAL, Observation

    answer = _ask_file(session, RESPONSE_PROMPT, keep=("default", "diagonal"))
    if answer in ("", "/"):
        return dummy_response(session.dummy_grid, *session.dummy_channels)
    if answer.lower() == "default":
        return Observation.default(exposure=1.0)
    rmf = session.response_choice(answer)
    needed = None
    if rmf == DIAGONAL:
        needed = "the diagonal response is built on an ARF: give its file name"
    arf = _ask_file(session, ARF_PROMPT, keep=("none",), required=needed)
    if arf in ("", "/") or arf.lower() == "none":
        return Observation.from_response(rmf)
    return Observation.from_response(rmf, session.path(arf))


def _ask_file(
    session, prompt: str, keep: tuple[str, ...], required: str | None = None
) -> str:
    """An answer naming a file, asked again while that file is not there, as
    XSPEC asks again; ``keep`` words pass as they are, and so do an empty answer
    and ``/`` unless ``required`` (the message for a missing answer) is given.

    A script gets SCRIPT_TRIES answers: its later lines are not all used up.
    """
    tries = 0
    while True:
        answer = session.ask(prompt).strip()
        if answer in ("", "/"):
            problem = required
        elif answer.lower() in keep:
            problem = None
        else:
            path = session.path(answer)
            problem = None if path.is_file() else f"{path}: file not found"
        if problem is None:
            return answer

        tries += 1
        if not session.interactive and tries >= SCRIPT_TRIES:
            raise SpecdslError(problem)
        session.console.print(f"***{problem}", markup=False)


def _ask_counting_statistics(session) -> bool:
    """XSPEC's rule: empty, ``y...`` or ``/`` is yes, ``n...`` no; else ask again."""
    for _ in range(3):
        answer = session.ask(" Use counting statistics in creating fake data? (y): ")
        word = answer.strip().lower()
        if not word or word[0] in "y/":
            return True
        if word[0] == "n":
            return False
    raise ParameterError("answer y or n to the counting statistics question")


def default_file_name(session, plan: FakeitPlan) -> str:
    """XSPEC's default: the data (else response) file name with ``.fak``."""
    observation = plan.observation
    if plan.data_name is not None:
        source = re.sub(r"\{\s*\d+\s*\}$", "", plan.data_name)  # b.fak{1}
    elif observation.rmf_path is not None:
        source = Path(observation.rmf_path).name
    elif plan.response_label == "dummyrsp":
        source = "dummy_rsp"
    else:
        source = "specdsl_default"
    return change_extension(source, ".fak")


def change_extension(name: str, extension: str) -> str:
    """Replace the last extension (``src.pha`` -> ``src.fak``), or append one."""
    stem, dot, _ = name.rpartition(".")
    return (stem if dot and stem else name) + extension


def _ask_file_name(session, default: str, nowrite: bool) -> tuple[Path, bool]:
    """The output path, and whether an existing file may be replaced."""
    answer = session.ask(f" Fake data file name ({default}): ").strip()
    name = default if answer in ("", "/") else answer
    while True:
        path = session.cwd / Path(name).expanduser()
        if nowrite or not path.exists():
            return path, False
        if not session.interactive:  # XSPEC does not ask when a script answers
            if not _is_fake(path):
                raise OutputError(
                    f"{path} exists and is not a fake spectrum (no FKRSP001 "
                    "keyword): a script never replaces it; give another file name"
                )
            session.console.print(
                f"(replacing the existing {name})", style="dim", markup=False
            )
            return path, True
        reply = session.ask(f" File {name} exists - overwrite? (yY/) or (nN): ")
        if not reply.strip().lower().startswith("n"):
            return path, True
        answer = session.ask(f" Enter new name ({default}): ").strip()
        name = default if answer in ("", "/") else answer


def _is_fake(path: Path) -> bool:
    """Whether ``path`` is a FITS file that fakeit wrote: FKRSP001 in a header
    (XSPEC's and ours), or specdsl as its CREATOR (our faked backgrounds)."""
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hdus:
            creator = str(hdus[0].header.get("CREATOR", ""))
            return creator.startswith("specdsl") or any(
                "FKRSP001" in hdu.header for hdu in hdus
            )
    except (OSError, ValueError, IndexError):
        return False


def _ask_exposures(session, plan: FakeitPlan) -> None:
    defaults = _default_exposures(session, plan)
    shown = ", ".join(f"{value:#.6g}" for value in defaults)
    prompt = f" Exposure time, correction norm, bkg exposure time ({shown}): "
    for _ in range(3):
        answer = session.ask(prompt)
        try:
            values = parse_exposures(answer, defaults)
        except ParameterError as error:
            session.console.print(f"***Improper input: {error}", markup=False)
            continue
        plan.exposure, plan.correction, plan.background_exposure = values
        return
    raise ParameterError("no usable exposure given: fakeit stopped")


def _default_exposures(session, plan: FakeitPlan) -> tuple[float, float, float]:
    from specdsl.runtime.background import has_background

    observation = plan.observation
    background = has_background(observation)
    if plan.based_on_data:
        exposure = float(observation.exposure)
        correction = session.data_corrscal
        background_exposure = (
            float(observation.background.exposure) if background else 1.0
        )
        return exposure, correction, background_exposure
    if background:
        bkg = float(observation.background.exposure)
        return bkg, 1.0, bkg
    return 1.0, 1.0, 1.0


def parse_exposures(answer: str, defaults) -> tuple[float, float, float]:
    """Up to three reals separated by blanks or commas; empty fields keep defaults."""
    text = answer.strip()
    if text in ("", "/"):
        return tuple(defaults)
    words = [word.strip() for word in text.split(",")] if "," in text else text.split()
    if len(words) > 3:
        raise ParameterError("give at most three numbers")
    values = list(defaults)
    for position, word in enumerate(words):
        if word in ("", "/"):
            continue
        try:
            values[position] = float(word)
        except ValueError:
            raise ParameterError(f"{word!r} is not a number") from None
    if not np.isfinite(values).all() or values[0] <= 0 or values[2] <= 0:
        raise ParameterError("exposure times must be finite and > 0 s")
    return tuple(values)


# ---------------------------------------------------------------- simulate


def _simulate(session, plan: FakeitPlan, options, seed: int) -> FakeResult:
    from specdsl import parameters as _parameters
    from specdsl.runtime.background import (
        add_source_background,
        has_background,
        source_background_counts,
    )
    from specdsl.runtime.fakeit import iter_spectra

    count = options.count
    observation = plan.observation
    folded = _folded(session, observation, plan.exposure)
    _check_size(count, folded.n_bins, plan.counting_statistics)
    drawn = session.table.values(count=count, seed=seed, sample=options.batch)
    given = session.table.model_values(drawn)
    values, _ = _parameters.normalize(session.model.parameters, given)
    extra = None
    if has_background(observation):
        extra = source_background_counts(observation, plan.exposure)

    if count > 1 and not any(s.distribution for s in session.table):
        session.console.print(
            f"note: no parameter has a distribution (newpar <n> uniform(a,b)), so "
            f"the {count} spectra differ only by counting statistics",
            style="dim",
            markup=False,
        )
    dtype = np.int32 if plan.counting_statistics else np.float64
    counts = np.empty((count, folded.n_bins), dtype=dtype)
    blocks = iter_spectra(folded, values, seed, False)
    session.console.print(
        f"simulating {count} spectr{'um' if count == 1 else 'a'} x "
        f"{folded.n_bins} channels ..."
    )
    with _progress(session, count) as advance:
        for start, block in add_source_background(
            blocks, extra, seed, plan.counting_statistics, observation.first_channel
        ):
            counts[start : start + len(block)] = block
            advance(len(block))

    first = {name: value[:1] for name, value in values.items()}
    expected = np.asarray(folded.expected_counts_flat(first))[0]
    return FakeResult(
        counts=counts,
        **_spectrum_fields(observation, expected, extra),
        exposure=plan.exposure,
        counting_statistics=plan.counting_statistics,
        expression=canonical_expression(session.model),
        parameters=values,
    )


def _spectrum_fields(observation, expected, extra) -> dict:
    """The FakeResult fields that come from the observation and the model."""
    return {
        "expected": expected if extra is None else expected + extra,
        "background_expected": extra,
        "e_min": np.asarray(observation.e_min),
        "e_max": np.asarray(observation.e_max),
        "energy_range": (
            float(observation.energy_edges[0]),
            float(observation.energy_edges[-1]),
        ),
    }


def data_result(session) -> FakeResult:
    """The loaded spectrum read with ``data``, and the current model folded
    through its response (background included), shaped as a fake for ``plot``."""
    from specdsl import parameters as _parameters
    from specdsl.runtime.background import has_background, source_background_counts

    model = session.require_model()
    observation = session.observation()
    if observation is None or observation.counts is None:
        raise SpecdslError("nothing to plot: load a spectrum (data) or run fakeit")
    folded = _folded(session, observation, float(observation.exposure))
    current = session.table.model_values(session.table.values())
    given = {name: np.atleast_1d(value) for name, value in current.items()}
    values, _ = _parameters.normalize(model.parameters, given)
    expected = np.asarray(folded.expected_counts_flat(values))[0]
    extra = None
    if has_background(observation):
        extra = source_background_counts(observation, float(observation.exposure))
    return FakeResult(
        counts=np.asarray(observation.counts, dtype=np.float64)[None, :],
        **_spectrum_fields(observation, expected, extra),
        exposure=float(observation.exposure),
        counting_statistics=True,
        expression=canonical_expression(model),
        parameters=values,
        files=(session.data_path,),
        label="data",
    )


def _folded(session, observation, exposure: float):
    """The model bound to the observation; kept while model, response and
    exposure stay the same, so a repeated fakeit is not compiled again (a fake
    spectrum loaded by fakeit shares its response arrays with the original)."""
    from specdsl.fold import FoldedModel

    response = tuple(id(getattr(observation, name)) for name in RESPONSE_FIELDS)
    key = (id(session.model), response, exposure, str(session.settings))
    cached = session.fold_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    folded = FoldedModel(session.model, observation, exposure=exposure)
    session.fold_cache = (key, folded)  # holds model and observation: ids stay
    return folded


def _check_size(count: int, channels: int, counting: bool) -> None:
    size = count * channels * (4 if counting else 8)
    if size > MAX_BATCH_BYTES:
        raise ParameterError(
            f"{count} spectra x {channels} channels need {size / 2**30:.1f} GiB in "
            f"memory; fakeit at the prompt keeps a batch under "
            f"{MAX_BATCH_BYTES / 2**30:.0f} GiB. Use  specdsl fakeit --model ... "
            "--count N  for larger runs."
        )


@contextmanager
def _progress(session, total: int):
    if total < 2 or not session.console.is_terminal:
        yield lambda n: None
        return

    from rich.progress import Progress

    with Progress(console=session.console, transient=True) as bar:
        task = bar.add_task("simulating", total=total)
        yield lambda n: bar.update(task, advance=n)


# ------------------------------------------------------------------ write


def _simulate_background(plan: FakeitPlan, count: int) -> np.ndarray | None:
    """The simulated background spectra (written or not), or None without one."""
    from specdsl.runtime.background import fake_background, has_background

    if not has_background(plan.observation):
        return None
    return fake_background(
        plan.observation,
        plan.background_exposure,
        count=count,
        seed=plan.seed,
        counting_statistics=plan.counting_statistics,
    )


def _background_path(plan: FakeitPlan) -> Path:
    from specdsl.runtime.background import background_file_name

    return plan.output.with_name(background_file_name(plan.output.name))


def _fake_data(session, plan: FakeitPlan, result: FakeResult, background, options):
    """The data set fakeit leaves loaded: spectrum 1, with its fake background."""
    from specdsl.prompt.session import FakeData

    observation = plan.observation
    fake_background = None
    background_path = None
    if background is not None:
        background_path = _background_path(plan)
        fake_background = dataclasses.replace(
            observation.background,
            counts=np.array(background[0], dtype=np.float64),
            exposure=float(plan.background_exposure),
            spectrum_path=background_path,
            row=None if options.count == 1 else 1,
        )
    loaded = dataclasses.replace(
        observation,
        counts=np.array(result.counts[0], dtype=np.float64),
        exposure=float(plan.exposure),
        background=fake_background,
        background_path=background_path,
        spectrum_path=plan.output,
        row=None if options.count == 1 else 1,
    )
    return FakeData(
        path=plan.output,
        observation=loaded,
        correction=float(plan.correction),
        written=not options.nowrite,
        counting_statistics=plan.counting_statistics,
        through_dummy=plan.response_label == "dummyrsp",
        energies=session.energies,
        row=None if options.count == 1 else 1,
        result=result,
    )


def _write(session, plan: FakeitPlan, result: FakeResult, background, count: int):
    """Write the background file (if any) and the source: both or neither.

    The background is written under a hidden name and renamed into place only
    after the source, so a stop in between leaves an earlier pair as it was.
    """
    from specdsl.output.pha import publish
    from specdsl.output.temporary import discard, staged_name

    if background is None:
        return (_write_source(session, plan, result, count, None),)
    background_path = _background_path(plan)
    staged = staged_name(background_path)
    try:
        _write_background(plan, background, background_path, count, staged)
        source = _write_source(session, plan, result, count, background_path)
    except BaseException:
        discard(staged)
        raise
    publish(staged, background_path, clobber=True)  # checked before it was written
    return source, background_path


def _write_source(session, plan, result, count, background_path) -> Path:
    from specdsl.output.pha import (
        fake_flags,
        fake_history,
        unreachable_links,
        write_pha,
    )

    observation = plan.observation
    links = {"RESPFILE": observation.rmf_path, "ANCRFILE": observation.arf_path}
    for message in unreachable_links(plan.output, links):
        _warner(session)(message)
    counts = result.counts[0] if count == 1 else result.counts
    parameters = result.parameters
    if count == 1:
        parameters = {name: float(value[0]) for name, value in parameters.items()}
    return write_pha(
        plan.output,
        counts,
        channels=observation.channels,
        exposure=plan.exposure,
        keywords=_keywords(session, plan),
        clobber=plan.clobber,
        poisserr=plan.counting_statistics,
        **(fake_flags(observation, _warner(session)) if plan.based_on_data else {}),
        backscal=observation.backscal,
        areascal=observation.areascal,
        corrscal=plan.correction,
        respfile=observation.rmf_path,
        ancrfile=observation.arf_path,
        backfile=background_path,
        parameters=parameters,
        history=fake_history(),
    )


def _warner(session):
    """A warning printed at the prompt, as the command line prints its own."""

    def warn(message: str) -> None:
        session.console.print(f"warning: {message}", style="yellow", markup=False)

    return warn


def _write_background(plan, background, path: Path, count: int, staged: Path):
    """The faked background, written to ``staged`` once ``path`` may be replaced."""
    from specdsl.output.pha import check_output, fake_history, write_pha
    from specdsl.response.ogip import identity_keywords

    observation = plan.observation
    bkg = observation.background
    keywords = identity_keywords(observation.keywords)
    keywords["HDUCLAS2"] = "BKG"
    if path.exists() and not _is_fake(path):
        raise OutputError(
            f"{path} exists and is not a fake spectrum (no FKRSP001 keyword): the "
            "faked background never replaces it; give another file name"
        )
    check_output(path, plan.clobber)
    try:
        return write_pha(
            staged,
            background[0] if count == 1 else background,
            channels=observation.channels,
            exposure=plan.background_exposure,
            keywords=keywords,
            clobber=True,  # the hidden name, never a user's file
            poisserr=plan.counting_statistics,
            backscal=bkg.backscal,
            areascal=bkg.areascal,
            history=fake_history(),
        )
    except OutputError:
        raise
    except SpecdslError as error:
        raise OutputError(f"cannot write background {path.name}: {error}") from None


def _keywords(session, plan: FakeitPlan) -> dict:
    """Instrument keywords copied through and XSPEC's FKSRC/FKRSP/FKARF record."""
    from specdsl.response.ogip import identity_keywords

    observation = plan.observation
    keywords = identity_keywords(observation.keywords)
    keywords["FKSRC001"] = canonical_expression(session.model)
    keywords["FKRSP001"] = plan.response_label
    if observation.arf_path is not None:
        keywords["FKARF001"] = Path(observation.arf_path).name
    return keywords


def response_label(observation) -> str:
    """FKRSP001: ``dummyrsp`` for XSPEC's dummy, else as the command line says."""
    from specdsl.prompt.responses import DUMMY_KEYWORDS
    from specdsl.response.observation import response_label as file_label

    if observation.rmf_path is None and (
        observation.keywords.get("TELESCOP") == DUMMY_KEYWORDS["TELESCOP"]
    ):
        return "dummyrsp"
    return file_label(observation)


# ----------------------------------------------------------------- report


def _report(session, plan: FakeitPlan, result: FakeResult, options) -> None:
    from rich.markup import escape

    from specdsl.runtime.background import has_background

    console = session.console
    total = result.counts.sum(axis=1)
    summary = (
        f"{int(total[0])} counts"
        if plan.counting_statistics and options.count == 1
        else f"{float(total.mean()):.6g} counts on average"
    )
    if options.nowrite:
        noun = "spectrum" if options.count == 1 else "spectra"
        console.print(f"made {options.count} fake {noun} ({summary}); nowrite: no file")
    elif result.files:
        kind = "type I" if options.count == 1 else f"type II, {options.count} rows"
        console.print(
            f"wrote [bold]{escape(result.files[0].name)}[/] ({kind}, {summary}, "
            f"exposure {plan.exposure:g} s)"
        )
    if not has_background(plan.observation):
        console.print(_no_background_note(session, plan), style="yellow", markup=False)
    elif len(result.files) > 1:
        console.print(
            f"wrote [bold]{escape(result.files[1].name)}[/] (background, exposure "
            f"{plan.background_exposure:g} s; its scaled rate is in the source "
            "spectrum)"
        )
    how = "in memory only" if options.nowrite else "as written"
    console.print(
        f"data: {session.data_name} ({how}) replaces the loaded data; show and "
        "plot show it and the next fakeit starts from it",
        style="dim",
        markup=False,
    )


def _no_background_note(session, plan) -> str:
    if plan.background_off:
        return (
            "no background: none in use ('backgrnd none', or a BACKFILE that "
            "could not be read), none added"
        )
    if plan.background_dropped:
        return (
            "no background: the dummy response's channels replace the spectrum's, "
            "so its background does not fit; none added or simulated"
        )
    if plan.based_on_data and plan.data_name is not None:
        return (
            f"no background: {plan.data_name} names no background file "
            "(BACKFILE), so none was added or simulated"
        )
    return "no background: none given (backgrnd <file> or fakeit <file>), none added"
