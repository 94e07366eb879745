"""Tab completion and highlighting at the prompt (prompt_toolkit).

Completed: command names; component names after ``model`` (at the word being
typed inside the expression); parameter numbers and names after ``newpar``,
``freeze``, ``thaw``, ``untie`` and distribution names after the number; file
paths after ``data``, ``response``, ``arf``, ``backgrnd``, ``save``, ``@`` and
``fakeit``; the sub-options of ``show``, ``abund``, ``xsect`` and ``help``; after
``energies``: ``extend``, ``reset`` or a file, ``low``/``high`` after ``extend``,
and ``log``/``lin`` where a range's binning goes.
Highlighted: the command word (red when unknown) and, in a ``model`` line, each
component name (green when the library knows it, red when not) and operator.
"""

from __future__ import annotations

import re

from prompt_toolkit.completion import Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.lexers import Lexer

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*|[*+()]|\s+|.")
_MODEL_BREAK = re.compile(r"[*+()\s]")
ABUNDANCE_TABLES = ("angr", "aspl", "feld", "aneb", "grsa", "wilm", "lodd", "lpgp")
CROSS_SECTIONS = ("vern",)  # the ones shipped (specdsl.library.settings)
SHOW_OPTIONS = ("all", "model", "parameters", "files", "data", "fakeit")
ENERGIES_KEYWORDS = ("extend", "reset")


class PromptCompleter(Completer):
    """Completes the main prompt's command lines for one session."""

    def __init__(self, session):
        self.session = session
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document, complete_event):
        from specdsl.prompt.commands import COMMANDS, lookup

        text = document.text_before_cursor
        if text.startswith("@"):
            yield from self._paths(text[1:], complete_event)
            return
        if " " not in text.lstrip():
            yield from _starting(text.strip(), [c.name for c in COMMANDS])
            return

        word, _, rest = text.lstrip().partition(" ")
        command = lookup(word)
        if command is not None:
            yield from self._arguments(command, rest, complete_event)

    def _arguments(self, command, rest: str, event):
        kind = command.argument
        current = rest.split(" ")[-1]
        if kind == "component":
            token = _MODEL_BREAK.split(rest)[-1]
            yield from _starting(token, _component_names())
        elif kind == "parameter":
            yield from self._parameters(rest, current)
        elif kind == "path":
            yield from self._paths(path_argument(rest), event)
        elif kind == "fakeit":
            yield from _starting(current, ["nowrite", "none"])
            yield from self._paths(current, event)
        elif kind == "energies":
            yield from self._energies(rest, current, event)
        elif kind in _CHOICES:
            yield from _starting(current, _CHOICES[kind]())

    def _parameters(self, rest: str, current: str):
        from specdsl.runtime.distributions import DISTRIBUTIONS

        table = self.session.table
        if table is None:
            return
        if len(rest.split(" ")) <= 1:
            names = [str(s.index) for s in table] + [s.name for s in table]
            yield from _starting(current, names)
        else:
            yield from _starting(current, [f"{name}(" for name in DISTRIBUTIONS])

    def _energies(self, rest: str, current: str, event):
        """``extend``, ``reset`` or a file; then ``low``/``high``, ``log``/``lin``."""
        words = rest.split()
        before = words[:-1] if rest and not rest[-1].isspace() else words
        position = len(before)
        if position == 0:
            yield from _starting(current, ENERGIES_KEYWORDS)
            if current and not _numeric(current):
                yield from self._paths(current, event)
        elif before[0].lower() == "extend":
            choices = {1: ("low", "high"), 4: ("log", "lin")}.get(position, ())
            yield from _starting(current, choices)
        elif _numeric(before[0]) and position % 3 == 0:
            yield from _starting(current, ("log", "lin"))

    def _paths(self, word: str, event):
        yield from self.paths.get_completions(Document(word), event)


class AnswerCompleter(Completer):
    """Answers to a command's questions: file paths (response, ARF, file name)."""

    def __init__(self):
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document, complete_event):
        name = _unquoted(document.text_before_cursor.lstrip())
        yield from self.paths.get_completions(Document(name), complete_event)


def path_argument(rest: str) -> str:
    """The file name being typed after a command: all of the rest, spaces
    included (``data my data/obs``), less XSPEC's spectrum number (``1:1``)."""
    from specdsl.xcm import is_spectrum_number

    words = rest.lstrip().split(" ", 1)
    if len(words) == 2 and is_spectrum_number(words[0]):
        rest = words[1]
    return _unquoted(rest.lstrip())


def _unquoted(text: str) -> str:
    """A file name typed with an opening quote, without it."""
    return text[1:] if text[:1] in "'\"" else text


class PromptLexer(Lexer):
    """Colours the command word and, in model lines, components and operators."""

    def lex_document(self, document):
        lines = document.lines

        def line(number: int):
            return highlight(lines[number])

        return line


def highlight(text: str) -> list[tuple[str, str]]:
    """(style, text) fragments of one command line."""
    from specdsl.prompt.commands import lookup

    match = re.match(r"(\s*)(\S*)(.*)", text)
    space, word, rest = match.groups()
    if not word:
        return [("", text)]
    command = lookup(word) if not word.startswith("@") else None
    known = command is not None or word.startswith("@")
    fragments = [("", space), ("bold ansicyan" if known else "ansired", word)]
    if command is not None and command.argument == "component":
        fragments.extend(_model_fragments(rest))
    else:
        fragments.append(("", rest))
    return fragments


def _model_fragments(expression: str) -> list[tuple[str, str]]:
    fragments = []
    for token in _WORD.findall(expression):
        if token in "*+()":
            style = "ansiyellow"
        elif token[0].isalpha() or token[0] == "_":
            style = "ansigreen" if _known_component(token) else "ansired underline"
        else:
            style = ""
        fragments.append((style, token))
    return fragments


def _known_component(name: str) -> bool:
    """Whether a name is a component (True until the library is loaded, so a
    keystroke never waits for JAX nor imports it beside the warm-up thread)."""
    from specdsl.prompt import warmup

    if not warmup.ready():
        return True
    from specdsl.library.registry import LIBRARY

    _component_names()  # registers the built-in library
    return LIBRARY.lookup(name) is not None


def _component_names() -> list[str]:
    from specdsl.prompt import warmup

    warmup.wait()  # JAX must not be imported from two threads at once
    import specdsl.library  # noqa: F401  (registers the built-in components)
    from specdsl.library.registry import LIBRARY

    return LIBRARY.names()


def _abundance_tables() -> list[str]:
    try:
        from specdsl.library.settings import abundance_names
    except ImportError:
        return list(ABUNDANCE_TABLES)
    return list(abundance_names())


def _command_names() -> list[str]:
    from specdsl.prompt.commands import COMMANDS

    return [command.name for command in COMMANDS]


_CHOICES = {
    "show": lambda: list(SHOW_OPTIONS),
    "abund": lambda: _abundance_tables(),
    "xsect": lambda: list(CROSS_SECTIONS),
    "command": _command_names,
    "save": lambda: ["all", "model", "files"],
}


def _numeric(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _starting(prefix: str, names) -> list[Completion]:
    lowered = prefix.lower()
    return [
        Completion(name, start_position=-len(prefix))
        for name in names
        if name.lower().startswith(lowered)
    ]
