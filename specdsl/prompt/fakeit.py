"""The ``fakeit`` command: XSPEC's prompts, defaults, file names and keywords.

``fakeit [nowrite] [none] [<background file>] [<N>]``. The prompts, their order
and defaults follow XSPEC 12 (xspec-syntax.md section 7.2):

1. ``For fake spectrum #1 response file is needed:`` (and ``...and ancillary
   file:``) only when the spectrum is not based on loaded data and no response
   was given; an empty answer or ``/`` selects the dummy response.
2. `` Use counting statistics in creating fake data? (y):``
3. `` Input optional fake file prefix:`` and `` Fake data file name (<default>):``
   (skipped with ``nowrite``).
4. `` Exposure time, correction norm, bkg exposure time (<t>, <c>, <tb>):``

Our extension: a trailing ``N`` > 1 makes a batch of N spectra, drawn from the
distributions set with ``newpar``, written as one type II file.

Known differences from XSPEC (shortcomings, kept on purpose or not done yet):

- The fake spectra do not replace the loaded data, so the next ``fakeit``
  starts again from the same spectrum and response.
- One spectrum and one source: no data groups, no ``{row}`` backgrounds.
- No correction files: the correction norm is only written as CORRSCAL (with
  XSPEC 12.12's sign; 12.8 wrote its negative) and CORRFILE is 'none'.
- Loaded spectra with POISSERR=F and STAT_ERR are still drawn as Poisson, where
  XSPEC adds Gaussian noise; counts of a grouped spectrum are written per
  channel (XSPEC puts a group's counts in its first channel), GROUPING copied.
- A batch is built in memory (``MAX_BATCH_BYTES``); the command-line
  ``specdsl fakeit --model ... --count N`` streams larger runs.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from specdsl.errors import OutputError, ParameterError, SpecdslError
from specdsl.prompt.session import FakeResult, canonical_expression

COPIED_KEYWORDS = ("TELESCOP", "INSTRUME", "FILTER", "CHANTYPE")
MAX_BATCH_BYTES = 4 * 2**30  # type II files are built in memory


@dataclass
class FakeitOptions:
    """The words after ``fakeit``."""

    nowrite: bool = False
    ignore_data: bool = False
    backgrounds: list[str] = field(default_factory=list)
    count: int = 1


@dataclass
class FakeitPlan:
    """The answers to fakeit's prompts."""

    observation: object
    based_on_data: bool
    response_label: str
    counting_statistics: bool = True
    output: Path | None = None
    clobber: bool = False
    exposure: float = 1.0
    correction: float = 1.0
    background_exposure: float = 1.0
    seed: int = 0


def parse_options(arguments: str) -> FakeitOptions:
    """``nowrite`` (first), ``none``, background files and a trailing count."""
    words = arguments.split()
    options = FakeitOptions()
    if words and words[0].lower() == "nowrite":
        options.nowrite = True
        words = words[1:]
    if words and words[-1].isdigit():
        options.count = int(words.pop())
        if options.count < 1:
            raise ParameterError("fakeit needs at least 1 spectrum")
    for word in words:
        if word.lower() == "none":
            options.ignore_data = True
        elif not re.fullmatch(r"\d+(:\d+)?", word):
            options.backgrounds.append(word)
    if len(options.backgrounds) > 1:
        raise ParameterError("one spectrum at a time: give at most one background file")
    return options


def run_fakeit(session, arguments: str) -> None:
    """Ask fakeit's questions, simulate, write the files and remember the result."""
    session.require_model()
    options = parse_options(arguments)
    plan = _plan(session, options)

    plan.seed = session.run_seed()
    result = _simulate(session, plan, options.count, plan.seed)
    if not options.nowrite:
        result.files = _write(session, plan, result, options.count)
    session.last = result
    _report(session, plan, result, options)


# ------------------------------------------------------------------ prompts


def _plan(session, options: FakeitOptions) -> FakeitPlan:
    plan = _choose_observation(session, options)
    plan.counting_statistics = _ask_counting_statistics(session)
    if not options.nowrite:
        prefix = session.ask(" Input optional fake file prefix: ").strip()
        prefix = "" if prefix == "/" else prefix
        plan.output, plan.clobber = _ask_file_name(
            session, prefix + default_file_name(session, plan)
        )
    _ask_exposures(session, plan)
    return plan


def _choose_observation(session, options: FakeitOptions) -> FakeitPlan:
    """The loaded spectrum, a response given earlier, or one asked for now."""
    from specdsl.prompt.session import attach_background

    observation = None
    based_on_data = False
    if not options.ignore_data:
        observation = _data_observation(session)
        based_on_data = (
            observation is not None
            and session.data_path is not None
            and not session.dummy_active
        )
    if observation is None:
        observation = _ask_response(session)
    if options.backgrounds:
        path = session.path(options.backgrounds[0])
        observation = attach_background(
            observation, path, adopt_scales=not based_on_data
        )
    return FakeitPlan(observation, based_on_data, _response_label(observation))


def _data_observation(session):
    """The session's observation; a loaded spectrum with no response asks for one,
    as XSPEC does (the answer is required)."""
    from specdsl.errors import OGIPError

    try:
        return session.observation()
    except OGIPError as error:
        if error.field != "RESPFILE" or session.data_path is None:
            raise
    answer = session.ask("For fake spectrum #1 response file is needed: ").strip()
    if answer in ("", "/"):
        raise SpecdslError(
            f"{session.data_path.name} has no response: fakeit needs one "
            "(or use  fakeit none  for the dummy response)"
        )
    session.response_path = session.path(answer)
    arf = session.ask("   ...and ancillary file: ").strip()
    if arf and arf != "/":
        session.arf_choice = False if arf.lower() == "none" else session.path(arf)
    session.forget_observation()
    return session.observation()


def _ask_response(session):
    from specdsl.prompt.responses import dummy_response
    from specdsl.response.observation import Observation

    answer = session.ask("For fake spectrum #1 response file is needed: ").strip()
    if answer in ("", "/"):
        return dummy_response(session.dummy_grid, *session.dummy_channels)
    if answer.lower() == "default":
        return Observation.default(exposure=1.0)
    rmf = session.path(answer)
    arf = session.ask("   ...and ancillary file: ").strip()
    if arf in ("", "/") or arf.lower() == "none":
        return Observation.from_response(rmf)
    return Observation.from_response(rmf, session.path(arf))


def _ask_counting_statistics(session) -> bool:
    answer = session.ask(" Use counting statistics in creating fake data? (y): ")
    return not answer.strip().lower().startswith("n")


def default_file_name(session, plan: FakeitPlan) -> str:
    """XSPEC's default: the data (else response) file name with ``.fak``."""
    observation = plan.observation
    if plan.based_on_data and session.data_path is not None:
        source = session.data_path.name
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


def _ask_file_name(session, default: str) -> tuple[Path, bool]:
    """The output path, and whether an existing file may be replaced."""
    answer = session.ask(f" Fake data file name ({default}): ").strip()
    name = default if answer in ("", "/") else answer
    while True:
        path = session.cwd / Path(name).expanduser()
        if not path.exists():
            return path, False
        if not session.interactive:  # XSPEC does not ask when a script answers
            session.console.print(
                f"(replacing the existing {name})", style="dim", markup=False
            )
            return path, True
        reply = session.ask(f" File {name} exists - overwrite? (yY/) or (nN): ")
        if not reply.strip().lower().startswith("n"):
            return path, True
        answer = session.ask(f" Enter new name ({default}): ").strip()
        name = default if answer in ("", "/") else answer


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


def _simulate(session, plan: FakeitPlan, count: int, seed: int) -> FakeResult:
    from specdsl import parameters as _parameters
    from specdsl.runtime.background import (
        add_source_background,
        has_background,
        source_background_counts,
    )
    from specdsl.runtime.fakeit import iter_spectra

    observation = plan.observation
    folded = _folded(session, observation, plan.exposure)
    _check_size(count, folded.n_bins, plan.counting_statistics)
    drawn = session.table.values(count=count, seed=seed)
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
            blocks, extra, seed, plan.counting_statistics
        ):
            counts[start : start + len(block)] = block
            advance(len(block))

    first = {name: value[:1] for name, value in values.items()}
    expected = np.asarray(folded.expected_counts_flat(first))[0]
    return FakeResult(
        counts=counts,
        expected=expected if extra is None else expected + extra,
        background_expected=extra,
        e_min=np.asarray(observation.e_min),
        e_max=np.asarray(observation.e_max),
        energy_range=(
            float(observation.energy_edges[0]),
            float(observation.energy_edges[-1]),
        ),
        exposure=plan.exposure,
        counting_statistics=plan.counting_statistics,
        expression=canonical_expression(session.model),
        parameters=values,
    )


def _folded(session, observation, exposure: float):
    """The model bound to the observation; kept while model, response and
    exposure stay the same, so a repeated fakeit is not compiled again."""
    from specdsl.fold import FoldedModel

    key = (id(session.model), id(observation), exposure, str(session.settings))
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


def _write(session, plan: FakeitPlan, result: FakeResult, count: int):
    """Write the background file (if any), then the source; both or neither."""
    from specdsl.runtime.background import (
        background_file_name,
        fake_background,
        has_background,
    )

    observation = plan.observation
    background_path = None
    if has_background(observation):
        background_path = plan.output.with_name(background_file_name(plan.output.name))
        background = fake_background(
            observation,
            plan.background_exposure,
            count=count,
            seed=plan.seed,
            counting_statistics=plan.counting_statistics,
        )
        _write_background(plan, background, background_path, count)
    try:
        source = _write_source(session, plan, result, count, background_path)
    except BaseException:
        if background_path is not None:
            background_path.unlink(missing_ok=True)
        raise
    return (source,) if background_path is None else (source, background_path)


def _write_source(session, plan, result, count, background_path) -> Path:
    from specdsl.output.pha import write_pha

    observation = plan.observation
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
        grouping=observation.grouping if plan.based_on_data else None,
        quality=observation.quality if plan.based_on_data else None,
        backscal=observation.backscal,
        areascal=observation.areascal,
        corrscal=plan.correction,
        respfile=observation.rmf_path,
        ancrfile=observation.arf_path,
        backfile=background_path,
        parameters=parameters,
        history=_history(),
    )


def _write_background(plan, background, path: Path, count: int) -> Path:
    from specdsl.output.pha import write_pha

    observation = plan.observation
    bkg = observation.background
    keywords = _copied_keywords(observation)
    keywords["HDUCLAS2"] = "BKG"
    try:
        return write_pha(
            path,
            background[0] if count == 1 else background,
            channels=observation.channels,
            exposure=plan.background_exposure,
            keywords=keywords,
            clobber=plan.clobber or not path.exists(),
            poisserr=plan.counting_statistics,
            backscal=bkg.backscal,
            areascal=bkg.areascal,
            history=_history(),
        )
    except OutputError:
        raise
    except SpecdslError as error:
        raise OutputError(f"cannot write background {path.name}: {error}") from None


def _keywords(session, plan: FakeitPlan) -> dict:
    """Instrument keywords copied through and XSPEC's FKSRC/FKRSP/FKARF record."""
    observation = plan.observation
    keywords = _copied_keywords(observation)
    keywords["FKSRC001"] = canonical_expression(session.model)
    keywords["FKRSP001"] = plan.response_label
    if observation.arf_path is not None:
        keywords["FKARF001"] = Path(observation.arf_path).name
    return keywords


def _copied_keywords(observation) -> dict:
    return {
        key: observation.keywords[key]
        for key in COPIED_KEYWORDS
        if key in observation.keywords
    }


def _response_label(observation) -> str:
    """FKRSP001: the response file name, ``dummyrsp``, or our built-in response."""
    from specdsl.prompt.responses import DUMMY_KEYWORDS

    if observation.rmf_path is not None:
        return Path(observation.rmf_path).name
    if observation.keywords.get("TELESCOP") == DUMMY_KEYWORDS["TELESCOP"]:
        return "dummyrsp"
    return "specdsl default response"


def _history() -> str:
    from specdsl import __version__

    return f'Fake data file created by specdsl version: {__version__} "fakeit" command'


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


def _no_background_note(session, plan) -> str:
    if plan.based_on_data and session.data_path is not None:
        return (
            f"no background: {session.data_path.name} names no background file "
            "(BACKFILE), so none was added or simulated"
        )
    return "no background: none given (backgrnd <file> or fakeit <file>), none added"
