"""The ``specdsl`` command line: ``fakeit`` and ``show``.

Heavy imports happen inside the commands so ``specdsl --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
import time

from specdsl.errors import ROW_SPELLINGS, ModelSyntaxError, SpecdslError, respell
from specdsl.output.temporary import published, remove_pending, take_published
from specdsl.runtime.interrupt import (
    ask_to_stop,
    clear,
    deferred,
    should_raise,
    single_stop,
)


def entry() -> None:
    """The ``specdsl`` script: `main`, then exit; a signal after the work is done
    (while Python shuts down) no longer changes the outcome."""
    import signal

    status = main()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)
    raise SystemExit(status)


def main(argv: list[str] | None = None) -> int:
    """Run one ``specdsl`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    saved = _terminate_like_interrupt()
    take_published()
    try:
        status = args.run(args)
        sys.stdout.flush()  # a closed pipe is found here, not at shutdown
        return status
    except BrokenPipeError:
        return _pipe_closed()
    except SpecdslError as error:
        _report(error)
        return 2
    except KeyboardInterrupt:
        return _interrupted(None)
    finally:
        remove_pending()
        _restore(saved)


def _pipe_closed() -> int:
    """The reader went away (``| head``): stop quietly, as Unix tools do.

    Output still buffered goes to /dev/null so that Python's final flush does not
    fail again; status 1, as Python's docs advise and rich does for its output.
    """
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass  # not a real file (embedded use, tests): nothing to silence
    finally:
        os.close(devnull)
    return 1


def _terminate_like_interrupt() -> dict:
    """SIGTERM and Ctrl-C unwind the same way, so temporary files are removed.

    The request is recorded too (``specdsl.runtime.interrupt``): JAX drops a
    KeyboardInterrupt raised inside its own callbacks, and the simulation loop
    checks the record between chunks. Returns the handlers it replaced.
    """
    import signal

    saved = {}
    try:
        for number in (signal.SIGTERM, signal.SIGINT):
            saved[number] = signal.signal(number, _interrupt)
    except ValueError:  # not the main thread (embedded use): leave it alone
        pass
    return saved


def _interrupt(signum, frame) -> None:
    """Record the stop; raise it unless a step must finish first, Python would
    drop the exception where it lands (the loop's checks then take it) or a job
    is already stopping (see `specdsl.runtime.interrupt.single_stop`)."""
    ask_to_stop(signum)
    if should_raise(frame):
        raise KeyboardInterrupt


def _restore(saved: dict) -> None:
    """Put back the signal handlers that were there before `main`."""
    import signal

    for number, handler in saved.items():
        signal.signal(number, handler)


def _interrupted(job) -> int:
    """After a stop: remove unfinished files and say which complete ones are kept."""
    remove_pending()
    message = stop_summary(job, published())
    _console(stderr=True).print(message, style="yellow", markup=False)
    return _interrupted_status()


def stop_summary(job, written) -> str:
    """What a stopped command leaves: the complete files (of a job, those kept
    from before too), and how to finish the job."""
    from specdsl.output.stream import is_params_file

    files = [path for path in written if not is_params_file(path)]
    kept = [*getattr(job, "skipped", ()), *files]
    if not kept:
        return "interrupted: nothing was written"
    if job is None or not job.n_parts:
        return f"interrupted: after writing {kept[-1]}"
    return (
        f"interrupted: {len(kept)} of {job.n_parts} file(s) complete and kept "
        f"({_listed(kept)}); run the same command with --resume to write the rest"
    )


def _listed(paths, most: int = 4) -> str:
    """File names, the first and last few when there are many."""
    names = [getattr(path, "name", str(path)) for path in paths]
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:2])}, ... {', '.join(names[-2:])}"


def _interrupted_status() -> int:
    """128 + the signal that stopped us (SIGINT when Ctrl-C came as an exception)."""
    import signal

    return 128 + (clear() or signal.SIGINT)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="specdsl",
        description="Compile XSPEC model expressions; fake spectra through responses.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_fakeit(commands)
    _add_show(commands)
    return parser


def _add_fakeit(commands) -> None:
    fakeit = commands.add_parser(
        "fakeit",
        help="simulate spectra and write them as OGIP PHA",
        description="Simulate spectra of a model through a response and write a PHA "
        "file "
        "(type I for one spectrum, type II for several). Without a spectrum or --rmf "
        "the built-in default response is used.",
    )
    fakeit.add_argument(
        "spectrum",
        nargs="?",
        help="PHA file whose response, ARF and "
        "exposure to use (RESPFILE/ANCRFILE resolved beside it)",
    )
    fakeit.add_argument(
        "--model",
        "-m",
        help='e.g. "tbabs*(powerlaw+bbodyrad)"; without it the interactive prompt '
        "opens (commands from a terminal, a pipe, or SPECTRUM=@session.xcm)",
    )
    fakeit.add_argument(
        "--count",
        "-n",
        type=int,
        help="number of spectra (default 1, or the rows of --table)",
    )
    fakeit.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value or distribution, e.g. powerlaw_1.PhoIndex=uniform(1,3) or, by "
        "XSPEC's global index as 'specdsl show' numbers them, 2=1.7; once per "
        "parameter; others stay at their defaults",
    )
    fakeit.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    fakeit.add_argument(
        "--exposure",
        type=float,
        help="exposure time in s (default: the spectrum's EXPOSURE; 10 ks for the "
        "default response; 1 s, as XSPEC's fakeit, for --rmf without a spectrum)",
    )
    fakeit.add_argument(
        "--no-counting-statistics",
        dest="counting_statistics",
        action="store_false",
        help="write expected counts, no Poisson draw",
    )
    fakeit.add_argument(
        "--rmf",
        help="response matrix (overrides RESPFILE); 'diagonal' for an ideal "
        "detector on the ARF's grid",
    )
    fakeit.add_argument(
        "--arf", help="ancillary response (overrides ANCRFILE); 'none' to leave it out"
    )
    fakeit.add_argument(
        "--no-background",
        action="store_true",
        help="ignore the spectrum's BACKFILE (it is never faked here; without this "
        "option a BACKFILE that is not there is reported as a warning)",
    )
    fakeit.add_argument(
        "--output", "-o", help="output PHA file (default: <spectrum>.fak)"
    )
    fakeit.add_argument(
        "--clobber", action="store_true", help="overwrite the output file"
    )
    fakeit.add_argument("--batch-size", type=int, default=2048, help=argparse.SUPPRESS)
    _add_scale_options(fakeit)
    fakeit.set_defaults(run=_run_fakeit)


def _add_scale_options(fakeit) -> None:
    """Options of large jobs: inputs, output layout, resuming, several processes."""
    fakeit.add_argument(
        "--table",
        metavar="FILE",
        help="parameter values, one column per parameter: CSV with a header line, "
        ".npz, or a structured .npy",
    )
    fakeit.add_argument(
        "--design",
        choices=("random", "sobol", "lhs"),
        default="random",
        help="sample the --param distributions at random (default), on a scrambled "
        "Sobol sequence or a Latin hypercube",
    )
    fakeit.add_argument(
        "--grouped",
        action="store_true",
        help="sum the spectrum's GROUPING groups, leaving out bad QUALITY channels",
    )
    fakeit.add_argument(
        "--format",
        choices=("pha", "npy"),
        help="OGIP type II PHA (default) or .npy counts plus .params.npz",
    )
    fakeit.add_argument(
        "--part-size",
        type=int,
        metavar="N",
        help="spectra per file; larger jobs are split into <name>-0000.<ext>, ... "
        "(default: 100000, or fewer so a file stays under 1 GiB)",
    )
    fakeit.add_argument(
        "--resume",
        action="store_true",
        help="keep the complete files of an interrupted run and write the rest",
    )
    fakeit.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: when stderr is a terminal)",
    )
    fakeit.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        help="run as one of several processes (jax.distributed); each writes its "
        "share of the files",
    )
    fakeit.add_argument("--num-processes", type=int, help="processes in the job")
    fakeit.add_argument("--process-id", type=int, help="this process, 0 .. n-1")
    fakeit.add_argument("--threads", type=int, help=argparse.SUPPRESS)


def _add_show(commands) -> None:
    show = commands.add_parser("show", help="print a model's components and parameters")
    show.add_argument("expression", help='e.g. "tbabs*(powerlaw+bbodyrad)"')
    show.add_argument(
        "--source", action="store_true", help="also print the generated code"
    )
    show.set_defaults(run=_run_show)

    compiled = commands.add_parser("compile", help="compile a model; print its code")
    compiled.add_argument("expression", help='e.g. "tbabs*(powerlaw+bbodyrad)"')
    compiled.add_argument(
        "--source", action="store_true", help="print the generated code"
    )
    compiled.add_argument(
        "--json", action="store_true", help="print the syntax tree as JSON"
    )
    compiled.set_defaults(run=_run_compile)


def _run_show(args) -> int:
    from specdsl.display import component_tree, parameter_table
    from specdsl.model import compile

    model = compile(args.expression)
    console = _console()
    console.print(component_tree(model))
    console.print(parameter_table(model))
    if args.source:
        _print_source(console, model)
    return 0


def _run_compile(args) -> int:
    from specdsl.model import compile

    model = compile(args.expression)
    console = _console()
    if args.json:
        from specdsl.syntax.visitor import to_json

        print(to_json(model.tree, indent=2))
    if args.source or not args.json:
        _print_source(console, model)
    return 0


def _print_source(console, model) -> None:
    """The generated code, highlighted on a terminal and plain (copyable) elsewhere."""
    if not console.is_terminal:
        print(model.source, end="")
        return
    from rich.syntax import Syntax

    console.print(Syntax(model.source, "python"), soft_wrap=True)


def _run_fakeit(args) -> int:
    if args.model is None:
        from specdsl.prompt import run_prompt

        if args.no_background:
            raise SpecdslError(
                "--no-background applies to runs with --model; at the prompt, type "
                "'backgrnd none' after loading the data"
            )
        _refuse_job_options(args)
        if args.seed < 0:
            raise SpecdslError(f"--seed must be an integer >= 0, got {args.seed}")
        return run_prompt(args.spectrum, rmf=args.rmf, arf=args.arf, seed=args.seed)
    from specdsl.runtime.job import FakeitJob

    if args.count is not None and args.count < 1:
        raise SpecdslError(f"--count must be at least 1, got {args.count}")
    job = FakeitJob(
        expression=args.model,
        spectrum=args.spectrum,
        rmf=args.rmf,
        arf=args.arf,
        count=args.count,
        params=args.param,
        seed=args.seed,
        exposure=args.exposure,
        counting_statistics=args.counting_statistics,
        output=args.output,
        clobber=args.clobber,
        batch_size=args.batch_size,
        grouped=args.grouped,
        format=args.format,
        part_size=args.part_size,
        resume=args.resume,
        table=args.table,
        design=args.design,
        coordinator=args.coordinator,
        num_processes=args.num_processes,
        process_id=args.process_id,
        threads=args.threads,
        no_background=args.no_background,
        on_warning=_warn,
    )
    started = time.perf_counter()
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    with single_stop():  # a second signal cannot cut the message short
        try:
            path = job.run(progress=progress)
        except KeyboardInterrupt:
            return _interrupted(job)
    try:
        with deferred():  # the job is done: a late Ctrl-C waits for the summary
            _console().print(_summary(job, path, time.perf_counter() - started))
    except KeyboardInterrupt:
        clear()  # and changes nothing: every file is complete
    return 0


# What the prompt takes from the command line; every other option needs --model.
_PROMPT_OPTIONS = {"command", "run", "model", "spectrum", "rmf", "arf", "seed"}


def _refuse_job_options(args) -> None:
    """Without --model the prompt opens: refuse the options it would drop."""
    defaults = vars(_parser().parse_args(["fakeit"]))
    given = [
        _spelled(name, value)
        for name, value in vars(args).items()
        if name not in _PROMPT_OPTIONS and value != defaults.get(name)
    ]
    if given:
        raise SpecdslError(
            f"{', '.join(given)} need --model EXPRESSION: they belong to a "
            "command-line job; for the interactive prompt run 'specdsl fakeit' "
            "alone (a spectrum, --rmf, --arf and --seed are taken there)"
        )


def _spelled(name: str, value) -> str:
    """An option as typed: counting_statistics -> --no-counting-statistics."""
    if name == "counting_statistics" or value is False:
        return "--no-" + name.replace("_", "-")
    return "--" + name.replace("_", "-")


def _summary(job, path, seconds: float) -> str:
    """What this process wrote (its share, when several processes run the job)."""
    done = job.spectra_written
    files = job.written or [path]
    where = f"[bold]{files[0]}[/]"
    if len(files) > 1:
        where += f" and {len(files) - 1} more file(s)"
    if job.skipped:
        where += f" ({len(job.skipped)} complete file(s) kept from before)"
    cluster = job.cluster
    who = ""
    if cluster is not None and cluster.num_processes > 1:
        who = f"process {cluster.process_id} of {cluster.num_processes}: "
        if done == 0 and not job.skipped:
            return f"{who}nothing to write: the job's files are the others' share"
    return (
        f"{who}wrote {done} spectr{'um' if done == 1 else 'a'} x "
        f"{job.n_channels} channels to {where} ({seconds:.2f} s)"
    )


def _warn(message: str) -> None:
    """One warning line on stderr; the run goes on."""
    _console(stderr=True).print(
        f"warning: {cli_spelling(message)}",
        style="yellow",
        markup=False,
        soft_wrap=True,
    )


# Hints in error messages are written in the Python API's spelling (keyword
# arguments); on the command line they name its options instead. Applied in
# order, first the whole phrases that have no one-to-one option.
_CLI_SPELLINGS = (
    (
        r"pass background='[^']*' to give the file, or background=False to go "
        r"without",
        "--no-background ignores it",
    ),
    (r"\(Observation\.default\(exposure=\.\.\.\)\)", "(no spectrum and no --rmf)"),
    (r"\bclobber=True\b", "--clobber"),
    (r"\bbackground=False\b", "--no-background"),
    (r"\barf=False\b", "--arf none"),
    (r"\bpoisserr=False\b", "--no-counting-statistics"),
    (r"\bcounting_statistics=False\b", "--no-counting-statistics"),
    (r"\bgrouped=True\b", "--grouped"),
    (r"\b(rmf|arf)='([^']*)'", r"--\1 \2"),
    (r"\b(rmf|arf)=\.\.\.", r"--\1 FILE"),
    (r"\bexposure=\.\.\.", "--exposure SECONDS"),
    *ROW_SPELLINGS,
)


def cli_spelling(message: str) -> str:
    """A message with the Python API's argument spelling turned into CLI options."""
    return respell(message, _CLI_SPELLINGS)


def _report(error: SpecdslError) -> None:
    from rich.panel import Panel
    from rich.text import Text

    syntax = isinstance(error, ModelSyntaxError)
    title = "model error" if syntax else type(error).__name__
    text = str(error) if syntax else cli_spelling(str(error))
    _console(stderr=True).print(
        Panel(
            Text(text),
            title=title,
            border_style="red",
            title_align="left",
            expand=False,
        )
    )


def _console(stderr: bool = False):
    """A rich console; written to a pipe or log it is wide, so names are not cut."""
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, width=160)
    return console


if __name__ == "__main__":
    entry()
