"""Where the prompt's lines come from: a terminal (prompt_toolkit) or a script.

Both kinds answer ``read(prompt, kind)`` with one line, or None when there is no
more input. ``kind`` is ``"command"`` for the main prompt and ``"answer"`` for
the questions a command asks (parameter values, fakeit's prompts), which get no
command history or completion of commands.

A script (stdin that is not a terminal, or an ``@file.xcm``) echoes each prompt
and the line it answers with, so the screen reads like the session it replays.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

HISTORY_ENV = "SPECDSL_HISTORY"


def history_path() -> Path:
    """``$SPECDSL_HISTORY``, else ``$XDG_DATA_HOME/specdsl/history`` (XDG default)."""
    override = os.environ.get(HISTORY_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "specdsl" / "history"


class ScriptInput:
    """Lines of a script, echoed to the console as they are read."""

    interactive = False

    def __init__(
        self,
        lines: Iterable[str],
        console,
        name: str = "<stdin>",
        folder: Path | None = None,
    ):
        self._lines: Iterator[str] = iter(lines)
        self.console = console
        self.name = name
        self.folder = folder
        self.line_number = 0
        self.exhausted = False

    def read(self, prompt: str, kind: str = "command") -> str | None:
        """The next line (without its newline) echoed after ``prompt``; None at end."""
        if self.exhausted:
            return None
        try:
            line = next(self._lines)
        except StopIteration:
            self.exhausted = True
            return None
        self.line_number += 1
        line = line.rstrip("\r\n")
        if kind != "command" or (line.strip() and not line.lstrip().startswith("#")):
            self._echo(prompt, line)
        return line

    def _echo(self, prompt: str, line: str) -> None:
        _echo(self.console, prompt, line)


def _echo(console, prompt: str, line: str) -> None:
    """A line read without being typed, shown after its prompt."""
    from rich.text import Text

    console.print(Text(prompt, style="dim") + Text(line), soft_wrap=True)


class InteractiveInput:
    """A terminal: prompt_toolkit with history, completion and highlighting."""

    interactive = True
    name = "<terminal>"
    folder = None

    def __init__(
        self, session, history: Path | None = None, *, input=None, output=None
    ):
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import InMemoryHistory

        from specdsl.prompt.completion import (
            AnswerCompleter,
            PromptCompleter,
            PromptLexer,
        )

        self.console = session.console
        self._pasted: list[str] = []  # the later lines of a multi-line paste
        options = {"input": input, "output": output}
        self._commands = PromptSession(
            history=_file_history(history or history_path()),
            completer=PromptCompleter(session),
            lexer=PromptLexer(),
            complete_while_typing=False,
            **options,
        )
        self._answers = PromptSession(
            history=InMemoryHistory(),
            completer=AnswerCompleter(),
            complete_while_typing=False,
            **options,
        )

    def read(self, prompt: str, kind: str = "command") -> str | None:
        """A line; None on Ctrl-D (Ctrl-C raises KeyboardInterrupt).

        Several lines pasted at once are read one at a time, each as its own
        command or answer, as a shell would take them.
        """
        if self._pasted:
            line = self._pasted.pop(0)
            _echo(self.console, prompt, line)
            return line
        prompter = self._commands if kind == "command" else self._answers
        try:
            text = prompter.prompt(prompt)
        except EOFError:
            return None
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if len(lines) > 1 and lines[-1] == "":
            lines.pop()  # the paste's own last newline
        self._pasted = lines[1:]
        return lines[0]

    def drop_pasted(self) -> None:
        """Forget pasted lines not read yet (after Ctrl-C)."""
        self._pasted = []


def _file_history(path: Path):
    """History kept in ``path``; in memory only when that file cannot be written."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError:
        return InMemoryHistory()
    if not os.access(path, os.W_OK):
        return InMemoryHistory()
    return FileHistory(str(path))
