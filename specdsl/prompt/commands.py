"""The prompt's commands: XSPEC's names and abbreviations, and what each one does.

A command is found by its full name or by any prefix at least as long as its
abbreviation (``mo``, ``mod`` and ``model`` are all ``model``), as in XSPEC.
Lines starting with ``@`` run a script; ``#`` starts a comment. XSPEC commands
that do not change a simulated spectrum (``method``, ``cosmo``, ``statistic``,
...) are accepted and ignored, so saved XSPEC sessions run unchanged.

Every error is shown as one panel and the session goes on; Ctrl-C stops the
running command (nothing half-written is left) and returns to the prompt.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specdsl.errors import (
    ROW_SPELLINGS,
    ModelSyntaxError,
    OGIPError,
    ParameterError,
    SpecdslError,
    respell,
)
from specdsl.output.temporary import remove_pending, take_published
from specdsl.prompt import warmup
from specdsl.response.observation import DIAGONAL, DIAGONAL_LABEL
from specdsl.runtime import interrupt
from specdsl.xcm import is_spectrum_number, split_command


@dataclass(frozen=True)
class Command:
    """One prompt command: name, shortest abbreviation, handler and help."""

    name: str
    abbreviation: str
    run: Callable
    usage: str
    summary: str
    argument: str = ""  # what completion offers for its arguments


# fmt: off
IGNORED = (
    "statistic", "method", "cosmo", "systematic", "bayes", "query", "setplot",
    "ignore", "notice", "chatter", "fit", "cpd", "log", "weight", "renorm",
    "autosave", "time", "lumin", "flux", "error", "steppar", "tclout",
)
# fmt: on


def lookup(word: str) -> Command | None:
    """The command a typed word names: full name or a long-enough prefix."""
    lowered = word.lower()
    for command in COMMANDS:
        if lowered == command.name:
            return command
    for command in COMMANDS:
        if len(lowered) >= len(command.abbreviation) and command.name.startswith(
            lowered
        ):
            return command
    return None


def dispatch(session, line: str) -> None:
    """Run one command line; errors become a panel and the session goes on."""
    text = line.strip()
    if not text or text.startswith("#"):
        return
    interrupt.clear()  # a Ctrl-C typed while no command ran stops nothing now
    take_published()
    warmup.wait()  # the compiler, imported in the background at start-up
    try:
        _run_line(session, text)
    except SpecdslError as error:
        report_error(session, error)
    except KeyboardInterrupt:
        remove_pending()  # a file the command had started, wherever it stopped
        if interrupt.terminating():
            raise  # SIGTERM ends the session (the command line reports it)
        interrupt.clear()
        session.errors += 1
        _stop_scripts(session)
        written = [path for path in take_published() if path.exists()]
        done = "nothing was written"
        if written:
            done = "it had written " + ", ".join(path.name for path in written)
        session.console.print(
            f"interrupted: the command stopped and {done}", style="yellow"
        )
    except (OSError, ValueError, RuntimeError, MemoryError, ArithmeticError) as error:
        report_error(session, error)


def _run_line(session, text: str) -> None:
    if text.startswith("@"):
        run_script(session, text[1:].strip())
        return
    word, arguments = split_command(text)
    command = lookup(word)
    ignored = _ignored_name(word) if command is None else None
    if command is not None and arguments.strip() == "?" and command.name != "model":
        do_help(session, command.name)  # XSPEC's "<command> ?"
    elif command is not None:
        command.run(session, arguments.strip())
    elif ignored is not None:
        _ignored(session, ignored, arguments)
    else:
        names = [c.name for c in COMMANDS]
        close = difflib.get_close_matches(word.lower(), names, n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise SpecdslError(f"unknown command {word!r}{hint} (help lists them)")


# Hints written for the Python API, as the prompt's commands say them.
_PROMPT_SPELLINGS = (
    (
        r"pass background='[^']*' to give the file, or background=False to go "
        r"without",
        "use 'backgrnd FILE', or 'backgrnd none' to go without",
    ),
    (r"\bbackground=False\b", "'backgrnd none'"),
    (r"\barf=False\b", "'arf none'"),
    (r"\barf='([^']*)'", r"'arf \1'"),
    (r"\brmf='([^']*)'", r"'response \1'"),
    (r"\b(rmf|arf)=\.\.\.", r"'\1 FILE'"),
    (r"\(Observation\.default\(exposure=\.\.\.\)\)", "('response default')"),
    (r" \[rmf\]: (.*) \(rmf argument\)$", r": \1 (given as the response)"),
    (r" \[arf\]: (.*) \(arf argument\)$", r": \1 (given as the ARF)"),
    *ROW_SPELLINGS,
)


def prompt_spelling(message: str) -> str:
    """A message with the Python API's argument spelling turned into commands."""
    return respell(message, _PROMPT_SPELLINGS).replace("'rmf FILE'", "'response FILE'")


def _stop_scripts(session) -> None:
    """After Ctrl-C at a terminal: the @files it runs stop too, and lines pasted
    but not read yet are dropped (a script piped in goes on, as documented)."""
    terminal = next((s for s in session.inputs if s.interactive), None)
    if terminal is None:
        return
    getattr(terminal, "drop_pasted", lambda: None)()
    for source in session.inputs[session.inputs.index(terminal) + 1 :]:
        if not source.exhausted:
            source.exhausted = True
            session.console.print(f"{source.name}: stopped", style="yellow")


def report_error(session, error: BaseException) -> None:
    """One red panel with the message (a model error keeps its caret line)."""
    from rich.panel import Panel
    from rich.text import Text

    session.errors += 1
    if isinstance(error, ModelSyntaxError):
        title = "model error"
    elif isinstance(error, SpecdslError):
        title = type(error).__name__
    else:
        title = f"error ({type(error).__name__})"
    if session.where is not None:
        title += f" ({session.where})"
    if isinstance(error, ModelSyntaxError):  # the caret line must not wrap
        text = error.render(max(20, min(100, session.console.width - 18)))
    else:
        text = prompt_spelling(str(error))
    session.console.print(
        Panel(
            Text(text),
            title=title,
            border_style="red",
            title_align="left",
            expand=False,
        )
    )


def _ignored_name(word: str) -> str | None:
    """The XSPEC command an ignored word names: in full, ``xset``, or a prefix of
    three letters or more that names one only (``stat``, ``setpl``, ``ign``)."""
    lowered = word.lower()
    if lowered in IGNORED or lowered == "xset":
        return lowered
    found = [name for name in IGNORED if len(lowered) >= 3 and name.startswith(lowered)]
    return found[0] if len(found) == 1 else None


def _ignored(session, word: str, arguments: str) -> None:
    if word == "xset":
        key, value = split_command(arguments)
        if key.lower() == "seed":
            _set_seed(session, value)
            return
    session.console.print(
        f"{word}: does not change a simulated spectrum; ignored", style="dim"
    )


def _set_seed(session, value: str) -> None:
    try:
        seed = int(value)
    except ValueError:
        seed = None
    if seed is None or seed < 0:
        raise ParameterError(f"xset seed needs an integer >= 0, got {value!r}")
    session.seed = session.next_seed = seed
    session.console.print(f"random seed {session.seed}")


# ------------------------------------------------------------------ files


def _file_argument(arguments: str, what: str) -> str:
    """Drop XSPEC's ``[group:]spectrum`` prefix; only spectrum 1 is supported."""
    words = arguments.split()
    if len(words) > 1 and all(part.isdigit() for part in words[0].split(":")):
        parts = [int(part) for part in words[0].split(":")]
        if any(part != 1 for part in parts):
            raise SpecdslError(
                f"{what} {words[0]}: one spectrum and one source only (use 1 or 1:1)"
            )
        words = words[1:]
    later = [word for word in words[1:] if is_spectrum_number(word)]
    if later:
        raise SpecdslError(
            f"{what} {arguments.strip()}: one spectrum and one source only, so "
            f"no {later[0]} (give one file, as spectrum 1)"
        )
    return " ".join(words)


def do_data(session, arguments: str) -> None:
    """XSPEC's ``data <file>``: load a spectrum; its header links are followed."""
    name = _file_argument(arguments, "data")
    if not name:
        _show_files(session)
        return
    if name.lower() == "none":
        session.unload_data()
        session.console.print("no data loaded")
        return

    session.load_data(session.path(name))
    _check_links(session)
    _show_files(session)


def _check_links(session) -> None:
    """Build the observation now; warn about links that cannot be followed."""
    for _ in range(3):
        try:
            session.forget_observation()
            session.observation()
            return
        except OGIPError as error:
            needed = session.response_path == DIAGONAL  # built on the ARF
            if error.field == "ANCRFILE" and session.arf_choice is None and not needed:
                session.arf_choice = False
            elif error.field == "BACKFILE" and session.background_choice is None:
                session.background_choice = False
            elif error.field == "RESPFILE":
                session.console.print(
                    f"warning: no response for this spectrum yet "
                    f"({prompt_spelling(str(error))})",
                    style="yellow",
                    markup=False,
                )
                return
            else:
                raise
            message = f"warning: {prompt_spelling(str(error))}; going on without it"
            session.console.print(message, style="yellow", markup=False)


def do_response(session, arguments: str) -> None:
    """``response <rmf>``; ``response none``; no argument ends ``dummyrsp``."""
    name = _file_argument(arguments, "response")
    session.forget_observation()
    if not name:
        session.dummy_active = False  # XSPEC: the real responses again
        _show_files(session)
        return
    if name.lower() == "none":
        session.response_path = None
        session.builtin_response = False
        session.dummy_active = False
        session.response_removed = session.data_path is not None
        session.console.print(
            "response removed"
            + (": fakeit will ask for one" if session.response_removed else "")
        )
        return
    builtin = name.lower() == "default"
    if builtin and session.data_path is not None:
        raise SpecdslError(
            "response default: the built-in response stands in only when no "
            "spectrum is loaded (data none first, or give a response file)"
        )
    choice = None if builtin else session.response_choice(name)
    if choice not in (None, DIAGONAL):
        _require_file(choice)
    before = session.choices()
    session.dummy_active = False
    session.response_removed = False
    session.builtin_response = builtin
    session.response_path = choice
    _refresh(session, before)


def do_arf(session, arguments: str) -> None:
    """``arf <file>`` or ``arf none``."""
    name = _file_argument(arguments, "arf")
    if not name:
        _show_files(session)
        return
    before = session.choices()
    if name.lower() == "none":
        session.arf_choice = False
    else:
        _require_file(session.path(name))
        session.arf_choice = session.path(name)
    _refresh(session, before)


def do_backgrnd(session, arguments: str) -> None:
    """``backgrnd <file>`` or ``backgrnd none``: the background used by fakeit."""
    name = _file_argument(arguments, "backgrnd")
    if not name:
        _show_files(session)
        return
    before = session.choices()
    if name.lower() == "none":
        session.background_choice = False
    else:
        _require_file(session.path(name))
        session.background_choice = session.path(name)
    _refresh(session, before)


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise OGIPError(path, "file not found")


def _refresh(session, before: dict) -> None:
    """Rebuild the observation; a choice that makes it unusable is undone.

    A loaded spectrum's unusable header links only warn, as they do at ``data``
    (a saved session gives the files on the lines that follow).
    """
    session.forget_observation()
    try:
        if session.data_path is not None:
            _check_links(session)
        elif session.response_path is not None:
            session.observation()
    except SpecdslError:
        session.restore_choices(before)
        raise
    _show_files(session)


def do_dummyrsp(session, arguments: str) -> None:
    """``dummyrsp [lowE highE nBins log|lin [chanOffset chanWidth]]``."""
    from specdsl.prompt.responses import parse_grid

    words = arguments.split()
    previous = session.dummy_grid.first_range()  # energies may have set ranges
    session.dummy_grid = parse_grid(words[:4], previous)
    offset, width = 0.0, 0.0
    try:
        if len(words) > 4:
            offset = float(words[4])
        if len(words) > 5:
            width = float(words[5])
    except ValueError:
        raise ParameterError("chanOffset and chanWidth must be numbers") from None
    session.dummy_channels = (offset, width)
    session.dummyrsp_grid = session.dummy_grid
    session.dummy_active = True
    session.forget_observation()
    session.console.print(f"dummy response: {session.dummy_grid} (diagonal)")


def do_energies(session, arguments: str) -> None:
    """XSPEC's ``energies``: ranges, ``<file>``, ``extend ...`` or ``reset``."""
    from specdsl.prompt.responses import (
        energy_fields,
        parse_ranges,
        read_energy_file,
    )

    fields = energy_fields(arguments)
    first = fields[0].lower() if fields else ""
    if first == "reset":
        _reset_energies(session)
    elif first == "extend":
        _extend_energies(session, fields[1:])
    elif not fields or not first or _is_number(first):
        grid, ranges = parse_ranges(fields, session.energy_ranges)
        session.energy_ranges = ranges
        _use_model_grid(session, grid)
    else:
        _use_model_grid(session, read_energy_file(session.path(arguments)))


def _reset_energies(session) -> None:
    """The response's own energies again; a dummy grid set by ``energies`` goes
    back to the one ``dummyrsp`` set (or the default)."""
    session.energies = None
    restored = session.dummy_grid is not session.dummyrsp_grid
    session.dummy_grid = session.dummyrsp_grid
    session.forget_observation()
    session.console.print("model energies: those of the response (no extensions)")
    if restored:
        session.console.print(f"dummy response: {session.dummy_grid} (diagonal)")


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _use_model_grid(session, grid) -> None:
    """A grid of ranges or from a file: the model's energies (extensions off)."""
    from specdsl.prompt.responses import ExtendedEnergies

    real = (
        session.response_path is not None
        or session.data_path is not None
        or session.builtin_response
    )
    if session.fake is not None and session.fake.through_dummy:
        real = session.response_path is not None  # the fake's is the dummy
    if real and not session.dummy_active:
        session.energies = grid
        where = "shared out to the response's energy bins by overlap"
    else:
        session.dummy_grid = grid
        session.dummy_active = True
        if isinstance(session.energies, ExtendedEnergies):
            session.energies = None  # a grid turns extensions off, as in XSPEC
        where = "the dummy (diagonal) response's grid"
    session.forget_observation()
    edges = grid.edges()
    session.console.print(
        f"model energies: {grid} ({len(edges) - 1} bins, {edges[0]:g}-"
        f"{edges[-1]:g} keV; {where})",
        markup=False,
    )


def _extend_energies(session, fields: list[str]) -> None:
    """``energies extend low|high E nBins log|lin``: more bins beyond the response."""
    from specdsl.prompt.responses import ExtendedEnergies, parse_extension

    extension = parse_extension(fields, session.extension_default)
    if session.observation() is None:
        session.console.print("No spectra loaded, nothing to extend.")  # XSPEC's
        return
    before = session.energies
    extended = before if isinstance(before, ExtendedEnergies) else ExtendedEnergies()
    session.energies = extended.with_extension(extension)
    session.forget_observation()
    try:
        edges = session.observation().energy_edges
    except SpecdslError:
        session.energies = before  # e.g. a fake made through the dummy
        session.forget_observation()
        raise
    session.extension_default = extension

    reached = edges[-1] if extension.high else edges[0]
    if reached != extension.energy:
        session.console.print(
            f"note: {extension.energy:g} keV is not beyond the response's "
            f"{'top' if extension.high else 'bottom'} edge {reached:g} keV, so "
            "this extension adds no bins",
            style="yellow",
            markup=False,
        )
    session.console.print(
        f"model energies: the response's, {session.energies} ({len(edges) - 1} "
        f"bins, {edges[0]:g}-{edges[-1]:g} keV)",
        markup=False,
    )


# ------------------------------------------------------------------ model


def do_model(session, arguments: str) -> None:
    """``model <expression>``, then one prompt per parameter (XSPEC's order)."""
    expression = arguments.strip()
    if not expression:
        if session.model is None:
            raise SpecdslError("no model: define one with e.g.  model tbabs*powerlaw")
        _show_model(session)
        return
    if expression.lower() in ("none", "clear"):
        session.model = session.table = None
        session.console.print("model removed")
        return
    if expression == "?":
        _list_components(session)
        return

    with _all_or_nothing(session):
        session.set_model(expression)
        prompt_parameters(session, list(session.table))
    _show_model(session)


@contextmanager
def _all_or_nothing(session):
    """A model or parameter command stopped at a prompt (Ctrl-C, end of input)
    leaves the model and every parameter as they were before it."""
    model, table = session.model, session.table
    saved = [dataclasses.replace(state) for state in table] if table else []
    try:
        yield
    except BaseException:
        session.model, session.table = model, table
        for state, before in zip(table or (), saved, strict=True):
            state.__dict__.update(before.__dict__)
        raise


def prompt_parameters(session, states) -> None:
    """XSPEC's parameter prompts: Enter or ``/`` keeps, ``/*`` keeps all the rest."""
    from specdsl.xcm import format_parameter

    console = session.console
    console.print("Input parameter value, delta, min, bot, top, and max values for ...")
    for state in states:
        console.print(format_parameter(state), markup=False, highlight=False)
        if state.name in session.table.in_model:
            continue  # linked in the expression: nothing to ask
        while True:
            answer = session.ask(state.prompt).strip()
            if answer == "/*":
                return
            try:
                session.table.apply(state, answer)
                break
            except ParameterError as error:
                report_error(session, error)  # and ask again, scripts too (XSPEC)


def do_newpar(session, arguments: str) -> None:
    """``newpar <n> [value delta min bot top max | = expr | dist(args)]``."""
    if session.table is None:
        raise SpecdslError("no model: define one before newpar")
    if not arguments.strip():
        raise ParameterError("newpar needs a parameter number, e.g. newpar 2 1.7")
    with _all_or_nothing(session):
        remaining = session.table.newpar(arguments)
        if remaining:
            prompt_parameters(session, remaining)
    _show_model(session)


def _freeze(frozen: bool):
    def run(session, arguments: str) -> None:
        if session.table is None:
            raise SpecdslError("no model: define one first")
        if not arguments.strip():
            name = "freeze" if frozen else "thaw"
            raise ParameterError(
                f"{name} needs parameter numbers, e.g. {name} 2 or {name} 1-3"
            )
        for index in session.table.indices(arguments):
            state = session.table.get(index)
            if state.link is not None:  # XSPEC's rule
                verb = "frozen" if frozen else "thawed"
                session.console.print(
                    f"parameter {index} is linked and cannot be {verb}", style="yellow"
                )
                continue
            step = abs(state.delta) or 0.01
            state.delta = -step if frozen else step
        _show_model(session)

    return run


def do_untie(session, arguments: str) -> None:
    """``untie <n>``: remove a link, keeping its current value."""
    if session.table is None:
        raise SpecdslError("no model: define one first")
    for index in session.table.indices(arguments):
        session.table.untie(session.table.get(index))
    _show_model(session)


def do_source(session, arguments: str) -> None:
    """Print the Python/JAX source generated for the model; ``source <file>``
    runs a script, as Tcl's ``source`` does in XSPEC."""
    from rich.syntax import Syntax

    if arguments.strip():
        run_script(session, arguments.strip())
        return
    model = session.require_model()
    session.console.print(Syntax(model.source, "python", word_wrap=True))


# ----------------------------------------------------------- settings


def do_abund(session, arguments: str) -> None:
    """``abund <table>``: the solar abundance table (XSPEC default angr)."""
    _setting(session, "abund", arguments, "set_abundance", "abundance table")


def do_xsect(session, arguments: str) -> None:
    """``xsect <table>``: the photoionisation cross sections (XSPEC default vern)."""
    _setting(session, "xsect", arguments, "set_cross_section", "cross sections")


def _setting(session, key: str, arguments: str, setter: str, what: str) -> None:
    import importlib
    import importlib.util

    name = arguments.strip()
    if not name:
        session.console.print(f"{key}: {session.settings[key]}")
        return
    if importlib.util.find_spec("specdsl.library.settings") is None:
        session.settings[key] = name
        session.console.print(
            f"{key} {name}: noted and saved with the session, but this version's "
            f"components do not read a {what} setting (TBabs uses wilm and vern)",
            style="yellow",
            markup=False,
        )
        return
    module = importlib.import_module("specdsl.library.settings")
    function = getattr(module, setter, None)
    if function is None:
        raise SpecdslError(f"specdsl.library.settings has no {setter}()")
    function(name)
    session.settings[key] = name
    session.console.print(f"{key}: {name}")


# ----------------------------------------------------------------- fakeit


def do_fakeit(session, arguments: str) -> None:
    from specdsl.prompt.fakeit import run_fakeit

    run_fakeit(session, arguments)


def do_plot(session, arguments: str) -> None:
    """``plot [file.png]``: PNG of folded model and fake data, plus a terminal plot."""
    from rich.panel import Panel
    from rich.text import Text

    from specdsl.prompt.plot import terminal_plot, write_png

    names = _plot_files(arguments)
    shown = _plotted(session)
    if not np.any(np.asarray(shown.expected) > 0):
        raise SpecdslError(
            "nothing to draw on log axes: the folded model is zero in every channel"
        )
    default = (
        shown.files[0].with_suffix(".png").name if shown.files else "specdsl_plot.png"
    )
    path = session.path(names[0] if names else default)
    title = f"{shown.expression}  ({shown.exposure:g} s)"
    if shown.counts.shape[0] > 1:
        title += f", spectrum 1 of {shown.counts.shape[0]}"
    write_png(shown, path, title)
    columns = max(16, min(64, session.console.width - 16))  # axis and panel: 16
    panel = Panel(
        Text(terminal_plot(shown, width=columns), no_wrap=True),
        expand=False,
        title=f"{shown.label} and folded model",
    )
    session.console.print(panel)
    session.console.print(f"plot written to {path}", markup=False)


PLOT_TYPES = ("data", "ldata")  # both draw counts/s/keV on log axes
PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def _plot_files(arguments: str) -> list[str]:
    """The file names after ``plot [data|ldata]``; other plot types are refused."""
    names = []
    for word in arguments.split():
        if any(kind.startswith(word.lower()) for kind in PLOT_TYPES):
            continue  # XSPEC's abbreviations: d, da, ld, lda, ...
        if Path(word).suffix.lower() in PLOT_SUFFIXES:
            names.append(word)
            continue
        raise SpecdslError(
            f"plot {word}: this prompt draws  plot data  (the spectrum and folded "
            f"model, log axes) into a {', '.join(PLOT_SUFFIXES)} file"
        )
    return names


def _plotted(session):
    """XSPEC's ``plot data``: the loaded spectrum (a fake one as fakeit made it);
    with nothing loaded, the last fake spectra."""
    from specdsl.prompt.fakeit import data_result

    if session.fake is not None and session.fake.result is not None:
        return session.fake.result
    if session.data_path is not None and session.model is not None:
        return data_result(session)
    if session.last is None:
        raise SpecdslError(
            "nothing to plot yet: load a spectrum (data) with a model, or run fakeit"
        )
    return session.last


# ------------------------------------------------------------- save, @file


def do_save(session, arguments: str) -> None:
    """``save [all|model|files] [file]`` (default ``savexspec.xcm``)."""
    from specdsl.xcm import format_xcm, write_xcm

    words = arguments.split()
    what = "all"
    if words and words[0].lower() in ("all", "model", "files"):
        what = words.pop(0).lower()
    name = words[0] if words else "savexspec.xcm"

    files = _saved_files(session) if what in ("all", "files") else {}
    with_model = what in ("all", "model") and session.model is not None
    text = format_xcm(
        expression=_saved_expression(session) if with_model else None,
        parameters=list(session.table) if with_model else (),
        files=files,
        settings=session.settings if what != "files" else None,
        grids=_saved_grids(session) if what in ("all", "files") else (),
        seed=session.next_seed if what == "all" else None,  # the next fake's
    )
    path = write_xcm(session.path(name), text)
    session.console.print(f"saved {what} to {path}", markup=False)
    fake = session.fake
    if fake is not None and "data" not in files and what in ("all", "files"):
        why = (
            "was made with fakeit nowrite and is not a file"
            if not fake.written
            else "was made through the dummy response, which a reloaded spectrum "
            "does not take (the dummyrsp line is saved)"
        )
        session.console.print(
            f"note: the loaded data {fake.name} {why}, so no data line was saved",
            style="yellow",
            markup=False,
        )


def _saved_expression(session) -> str:
    from specdsl.prompt.session import canonical_expression

    return canonical_expression(session.model)


def _saved_files(session) -> dict[str, str]:
    files = {}
    if session.fake is not None:
        files.update(_saved_fake(session.fake))
    elif session.data_path is not None:
        files["data"] = str(session.data_path)
    if session.response_path is not None:
        files["response"] = str(session.response_path)
    elif session.response_removed:
        files["response"] = "none"
    for name, choice in (("arf", session.arf_choice),
                         ("backgrnd", session.background_choice)):  # fmt: skip
        if choice is not None:
            files[name] = str(choice) if choice else "none"
    return files


def _saved_fake(fake) -> dict[str, str]:
    """A loaded fake spectrum: its file, and the response it was made through in
    full (the .fak's RESPFILE and ANCRFILE hold bare file names)."""
    from specdsl.prompt.fakeit import response_label

    files = {}
    if fake.written and not fake.through_dummy:
        files["data"] = str(fake.path) + ("" if fake.row is None else f"{{{fake.row}}}")
    observation = fake.observation
    if observation.rmf_path is not None:
        files["response"] = str(observation.rmf_path)
    elif response_label(observation) == DIAGONAL_LABEL:
        files["response"] = DIAGONAL
    if observation.arf_path is not None:
        files["arf"] = str(observation.arf_path)
    return files


def _saved_grids(session) -> list[tuple[str, str]]:
    """The ``energies`` and ``dummyrsp`` lines, in the order that gives the grids
    again: a real response's grid first (run before ``dummyrsp`` turns the dummy
    on, it applies to the response), then ``dummyrsp`` as that command set it,
    then a grid ``energies`` gave the dummy, then extensions.
    """
    from specdsl.prompt.responses import ExtendedEnergies

    lines: list[tuple[str, str]] = []
    energies = session.energies
    extension = isinstance(energies, ExtendedEnergies)
    if energies is not None and not extension:
        lines += [("energies", words) for words in energies.arguments()]
    through_dummy = session.fake is not None and session.fake.through_dummy
    if session.dummy_active or through_dummy:
        offset, width = session.dummy_channels
        extra = f" {offset:g} {width:g}" if width > 0 else ""
        lines.append(("dummyrsp", f"{session.dummyrsp_grid.first_range()}{extra}"))
        if session.dummy_grid is not session.dummyrsp_grid:
            lines += [("energies", words) for words in session.dummy_grid.arguments()]
    if extension:
        lines += [("energies", words) for words in energies.arguments()]
    return lines


def run_script(session, name: str) -> None:
    """``@file``: run its commands; its lines also answer the prompts it causes."""
    from specdsl.prompt.inputs import ScriptInput

    if not name:
        raise SpecdslError("@ needs a file name, e.g. @session.xcm")
    path = session.path(name)
    if not path.exists() and not path.suffix:
        path = path.with_name(path.name + ".xcm")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise OGIPError(path, f"cannot read: {error.strerror or error}") from None
    lines = [_specdsl_line(line) for line in text.splitlines()]
    session.run(ScriptInput(lines, session.console, str(path), path.parent))


def _specdsl_line(line: str) -> str:
    """``#specdsl newpar 2 uniform(1, 3)`` runs as ``newpar 2 uniform(1, 3)``."""
    from specdsl.xcm import SPECDSL_PREFIX

    stripped = line.strip()
    if stripped.lower().startswith(SPECDSL_PREFIX):
        return stripped[len(SPECDSL_PREFIX) :].strip()
    return line


def do_exit(session, arguments: str) -> None:
    session.running = False


# ------------------------------------------------------------------- show


def do_show(session, arguments: str) -> None:
    """``show [all|model|parameters|files|fakeit]``."""
    option = (arguments.split() or ["all"])[0].lower()
    choices = {
        "all": (_show_files, _show_settings, _show_model_if_any, _show_fakeit),
        "model": (_show_model,),
        "parameters": (_show_model,),
        "files": (_show_files,),
        "data": (_show_files,),
        "fakeit": (_show_fakeit,),
    }
    matches = [name for name in choices if name.startswith(option)]
    if not matches:
        raise SpecdslError(f"show {option}: choose one of {', '.join(choices)}")
    for show in choices[matches[0]]:
        show(session)


def _show_files(session) -> None:
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    observation = None
    try:
        observation = session.observation()
    except SpecdslError as error:
        table.add_row("response", _unusable(session, error))
    if session.data_path is not None:
        table.add_row("data", _data_label(session))
    dummy = f"dummy, {session.dummy_grid} (diagonal)"
    if session.dummy_active and observation is None:
        table.add_row("response", dummy)
    if observation is None:
        if not session.dummy_active and session.data_path is None:
            table.add_row("response", "none (fakeit asks; Enter gives the dummy)")
        session.console.print(table)
        return
    _describe(table, observation, session, dummy if session.dummy_active else None)
    session.console.print(table)


def _unusable(session, error: SpecdslError) -> str:
    """What ``show`` says of a response that cannot be used (the warning at
    ``data`` gave the details)."""
    if getattr(error, "field", None) != "RESPFILE":
        return f"(not usable: {prompt_spelling(str(error))})"
    if session.response_removed:
        return "none (removed with  response none; fakeit asks for one)"
    return "none yet: give one with  response <file>  (fakeit asks for one)"


def _describe(table, observation, session, response: str | None = None) -> None:
    from specdsl.prompt.fakeit import response_label

    table.add_row("response", response or response_label(observation))
    arf = observation.arf_path
    table.add_row("arf", Path(arf).name if arf is not None else "none")
    background = observation.background
    table.add_row(
        "background",
        f"{Path(observation.background_path).name} ({background.exposure:g} s)"
        if background is not None and observation.background_path is not None
        else "none",
    )
    table.add_row(
        "channels",
        f"{observation.n_channels} ({int(observation.channels[0])}-"
        f"{int(observation.channels[-1])}), {observation.n_energy} energy bins "
        f"{observation.energy_edges[0]:g}-{observation.energy_edges[-1]:g} keV",
    )
    if session.data_path is not None:
        table.add_row("exposure", f"{observation.exposure:g} s")
    if session.data_path is not None and observation.counts is not None:
        total = float(np.sum(observation.counts))
        rate = total / observation.exposure if observation.exposure > 0 else 0.0
        table.add_row("counts", f"{total:.10g} ({rate:.6g} counts/s)")


def _data_label(session) -> str:
    """The loaded data: its file, or the fake spectrum fakeit left loaded."""
    fake = session.fake
    if fake is None:
        return str(session.data_path)
    if not fake.written:
        return f"{fake.name} (fake spectrum from fakeit nowrite, in memory only)"
    return f"{fake.name} (fake spectrum from fakeit, in {fake.path.parent})"


def _show_settings(session) -> None:
    settings = ", ".join(f"{key} {value}" for key, value in session.settings.items())
    seed = f"seed {session.seed}"
    if session.next_seed != session.seed:
        seed += f" (the next fakeit draws from {session.next_seed})"
    session.console.print(f"settings: {settings}; {seed}", markup=False)


def _show_model_if_any(session) -> None:
    if session.model is not None:
        _show_model(session)


def _show_model(session) -> None:
    """The parameter table as XSPEC's ``show model`` lays it out."""
    from rich.table import Table

    from specdsl.prompt.session import canonical_expression

    model = session.require_model()
    current = session.table.values()
    index_of = {use.label: use.index for use in model.resolved.components}
    title = f"Model {canonical_expression(model, numbered=True)}"
    table = Table(title=title, title_justify="left")
    for column in ("par", "comp", "component", "parameter", "unit", "value", ""):
        numeric = column in ("par", "comp", "value")
        table.add_column(column, justify="right" if numeric else "left")
    for state in session.table:
        table.add_row(
            str(state.index),
            str(index_of[state.name.rsplit(".", 1)[0]]),
            state.component,
            state.label,
            state.unit,
            f"{float(current[state.name]):.6g}",
            _parameter_note(state),
        )
    session.console.print(table)


def _parameter_note(state) -> str:
    if state.link is not None:
        return f"= {state.link}"
    if state.distribution is not None:
        return f"{state.distribution!r} (fakeit N)"
    return "frozen" if state.frozen else ""


def _show_fakeit(session) -> None:
    last = session.last
    if last is None:
        session.console.print("no fake spectra yet")
        return
    names = ", ".join(path.name for path in last.files) or "nothing written"
    session.console.print(
        f"last fakeit: {last.counts.shape[0]} x {last.counts.shape[1]} channels, "
        f"exposure {last.exposure:g} s, {names}",
        markup=False,
    )


def _list_components(session) -> None:
    from rich.table import Table

    import specdsl.library  # noqa: F401
    from specdsl.library.registry import LIBRARY

    table = Table(title="components")
    for column in ("name", "kind", "parameters"):
        table.add_column(column)
    for spec in LIBRARY:
        names = ", ".join(p.name for p in spec.all_parameters)
        table.add_row(spec.name, spec.kind, names)
    session.console.print(table)


# ------------------------------------------------------------------- help


def do_help(session, arguments: str) -> None:
    """``help`` lists the commands; ``help <command>`` explains one."""
    from rich.table import Table
    from rich.text import Text

    word = arguments.strip()
    if word:
        command = lookup(word)
        if command is None:
            raise SpecdslError(f"no command {word!r}")
        session.console.print(f"{command.usage}\n\n{command.summary}", markup=False)
        return
    table = Table(title="commands (abbreviation in brackets)", title_justify="left")
    table.add_column("command")
    table.add_column("what it does")
    for command in COMMANDS:
        rest = command.name[len(command.abbreviation) :]
        name = f"{command.abbreviation}[{rest}]" if rest else command.name
        table.add_row(Text(name), Text(" ".join(command.summary.split())))
    session.console.print(table)
    session.console.print(
        "@file runs a script or .xcm; Tab completes; Ctrl-C stops a command; "
        "Ctrl-D or exit leaves.",
        markup=False,
    )


# fmt: off
COMMANDS: tuple[Command, ...] = (
    Command("abund", "ab", do_abund, "abund <angr|wilm|...>",
            "set the solar abundance table", "abund"),
    Command("arf", "ar", do_arf, "arf [1] <file>|none",
            "set or remove the ancillary response (ARF)", "path"),
    Command("backgrnd", "back", do_backgrnd, "backgrnd [1] <file>|none",
            "set or remove the background spectrum", "path"),
    Command("data", "da", do_data, "data [1:1] <file>|none",
            "load a spectrum (RESPFILE, ANCRFILE, BACKFILE followed)", "path"),
    Command("dummyrsp", "du", do_dummyrsp,
            "dummyrsp [lowE highE nBins log|lin [chanOffset chanWidth]]",
            "use a diagonal dummy response on that grid (response restores)"),
    Command("energies", "en", do_energies,
            "energies lowE highE nBins log|lin [highE2 nBins2 log|lin ...] | <file>\n"
            "         | extend low|high E nBins log|lin | reset",
            "set the model energy grid: ranges, edges from a file (one per line),\n"
            "or the response's own extended below/above (reset: the response's)",
            "energies"),
    Command("exit", "exi", do_exit, "exit", "leave the prompt"),
    Command("fakeit", "fa", do_fakeit, "fakeit [nowrite] [none] [<bkg file>] [N]",
            "simulate spectra and write them (N > 1: a type II batch from the\n"
            "distributions set with newpar, e.g. newpar 2 uniform(1,3))", "fakeit"),
    Command("freeze", "fr", _freeze(True), "freeze <n> [<n> ...]", "freeze parameters",
            "parameter"),
    Command("help", "h", do_help, "help [command]", "list commands or explain one",
            "command"),
    Command("model", "mo", do_model, "model <expression> | none | ?",
            "define the model, then answer its parameter prompts\n"
            "(Enter keeps a default, / keeps it, /* keeps all the rest)", "component"),
    Command("newpar", "new", do_newpar,
            "newpar <n> [value delta min bot top max | = expr | dist(args)]",
            "change parameters: values, links (= 2*p3), or a distribution for\n"
            "fakeit N (uniform, loguniform, normal, lognormal, exponential)",
            "parameter"),
    Command("plot", "pl", do_plot, "plot [data|ldata] [file.png|.pdf|.svg]",
            "plot the last fake data and folded model (PNG and terminal)", "path"),
    Command("quit", "q", do_exit, "quit", "leave the prompt"),
    Command("response", "resp", do_response,
            "response [1:1] <file>|none|default|diagonal",
            "set the response (default: specdsl's built-in CCD response;\n"
            "diagonal: each ARF bin counted in its channel)", "path"),
    Command("save", "sa", do_save, "save [all|model|files] [file.xcm]",
            "write the session as an XSPEC command file", "save"),
    Command("seed", "see", lambda s, a: _set_seed(s, a), "seed <n>",
            "set the random seed (XSPEC: xset seed <n>)"),
    Command("show", "sh", do_show, "show [all|model|parameters|files|fakeit]",
            "show the session", "show"),
    Command("source", "sou", do_source, "source [file]",
            "print the Python/JAX code generated for the model (with a file:\n"
            "run it as a script, as @file does)", "path"),
    Command("thaw", "th", _freeze(False), "thaw <n> [<n> ...]", "thaw parameters",
            "parameter"),
    Command("untie", "unt", do_untie, "untie <n> [<n> ...]", "remove parameter links",
            "parameter"),
    Command("xsect", "xs", do_xsect, "xsect vern",
            "set the photoionisation cross sections (only vern is shipped)",
            "xsect"),
)
# fmt: on
