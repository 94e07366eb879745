"""The interactive ``specdsl fakeit`` prompt: XSPEC's fakeit session, scriptable.

``specdsl fakeit`` with no ``--model`` opens it. In a terminal it reads commands
with prompt_toolkit (history in ``$XDG_DATA_HOME/specdsl/history``, Tab
completion, highlighting); from a pipe or file (``specdsl fakeit < session.txt``)
it runs the same commands without a terminal and echoes them, and
``specdsl fakeit @session.xcm`` runs a saved session first. See
``specdsl.prompt.commands`` for the commands.
"""

from __future__ import annotations

import sys

from specdsl.prompt import warmup
from specdsl.prompt.session import Session

__all__ = ["Session", "run_prompt"]


def _terminal(session, history):
    """The terminal's input; a Ctrl-C while it is being set up (the banner is
    already shown) is taken as one at an empty prompt."""
    from specdsl.prompt.inputs import InteractiveInput
    from specdsl.runtime import interrupt

    while True:
        try:
            return InteractiveInput(session, history)
        except KeyboardInterrupt:
            if interrupt.terminating():
                raise
            interrupt.clear()


BANNER = (
    "specdsl fakeit: XSPEC's commands for fake spectra (data, response, model, "
    "newpar, fakeit, plot, save, ...). help lists them; Tab completes; "
    "Ctrl-D or exit leaves."
)


def run_prompt(
    spectrum: str | None = None,
    *,
    rmf: str | None = None,
    arf: str | None = None,
    seed: int = 0,
    stdin=None,
    console=None,
    interactive: bool | None = None,
    history=None,
) -> int:
    """Run a prompt session; returns 0, or 1 when a scripted session had errors.

    ``spectrum`` is loaded first (``@file`` runs a script instead); then commands
    come from the terminal, or from ``stdin`` when it is not one.
    """
    from specdsl.prompt.commands import dispatch
    from specdsl.prompt.inputs import ScriptInput

    stdin = sys.stdin if stdin is None else stdin
    if interactive is None:
        interactive = stdin.isatty() and sys.stdout.isatty()
    session = Session(console, seed=seed)

    for command, value in (("data", spectrum), ("response", rmf), ("arf", arf)):
        if value and command == "data" and value.startswith("@"):
            dispatch(session, value)
        elif value:
            dispatch(session, f"{command} {value}")

    if interactive:
        warmup.start()  # the first command is quick
        session.console.print(BANNER, style="dim", markup=False)
        session.run(_terminal(session, history))
        return 0
    if session.running:
        session.run(ScriptInput(stdin, session.console))
    return 1 if session.errors else 0
