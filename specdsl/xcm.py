"""XSPEC command files (``.xcm``): read a saved session's model, write one back.

What XSPEC's ``save`` writes, and this module reads: ``data``, ``response``,
``arf``, ``backgrnd`` lines; settings such as ``abund angr`` and ``xsect vern``;
``model <expression>`` followed by one line per parameter, six numbers (value,
delta, hard min, soft min, soft max, hard max; a delta <= 0 means frozen) or a
link ``= p2``; and later ``newpar`` lines. Other XSPEC commands (``method``,
``cosmo``, ``statistic``, ...) are kept in ``ignored``: they do not change a
simulated spectrum.

Our own additions are written as comments XSPEC skips: ``#specdsl newpar 2
uniform(1, 3)`` records a parameter distribution for ``fakeit N``.

    session = read_xcm("fit.xcm")
    model, table = load_model(session)          # parameters with the saved values
    table.values()                              # {'powerlaw_1.PhoIndex': 1.7, ...}
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from specdsl.errors import OutputError, SpecdslError

SPECDSL_PREFIX = "#specdsl"
FILE_COMMANDS = ("data", "response", "arf", "backgrnd")
SETTINGS = ("abund", "xsect")
GRID_COMMANDS = ("dummyrsp", "energies")
_ABBREVIATIONS = {
    "da": "data",
    "resp": "response",
    "ar": "arf",
    "back": "backgrnd",
    "mo": "model",
    "new": "newpar",
    "ab": "abund",
    "xs": "xsect",
    "du": "dummyrsp",
    "en": "energies",
}


@dataclass
class ParameterLine:
    """One parameter line after ``model``: numbers (``None`` keeps one) or a link."""

    text: str
    fields: tuple[str | None, ...] = ()
    link: str | None = None


@dataclass
class XcmSession:
    """The content of an .xcm file, command by command."""

    path: Path | None = None
    model: str | None = None
    parameters: list[ParameterLine] = field(default_factory=list)
    newpar: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    grids: dict[str, str] = field(default_factory=dict)
    specdsl: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def abund(self) -> str | None:
        return self.settings.get("abund")

    @property
    def xsect(self) -> str | None:
        return self.settings.get("xsect")


def read_xcm(path) -> XcmSession:
    """Read an .xcm file written by XSPEC's ``save`` (or by ours)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise SpecdslError(f"{path}: cannot read: {error.strerror or error}") from None
    return parse_xcm(text, path)


def parse_xcm(text: str, path=None) -> XcmSession:
    """Parse .xcm text; the lines after ``model`` are its parameter lines."""
    session = XcmSession(path=None if path is None else Path(path))
    lines = text.splitlines()
    position = 0
    while position < len(lines):
        line = lines[position].strip()
        position += 1
        if line.lower().startswith(SPECDSL_PREFIX):
            session.specdsl.append(line[len(SPECDSL_PREFIX) :].strip())
            continue
        if not line or line.startswith("#"):
            continue

        command, rest = split_command(line)
        name = full_command(command)
        if name == "model":
            position = _read_model(session, rest.strip(), lines, position)
        elif name == "newpar":
            session.newpar.append(rest.strip())
        elif name in FILE_COMMANDS:
            session.files[name] = strip_spectrum_number(rest)
        elif name in SETTINGS:
            session.settings[name] = rest.strip()
        elif name in GRID_COMMANDS:
            session.grids[name] = rest.strip()
        else:
            session.ignored.append(line)
    return session


def split_command(line: str) -> tuple[str, str]:
    """The command word and the rest, split at the first space or tab (XSPEC's
    Tcl splits words on either)."""
    parts = line.split(None, 1) + ["", ""]
    return parts[0], parts[1]


def full_command(word: str) -> str:
    """The full XSPEC command for a word typed in an .xcm (``mo`` -> ``model``)."""
    lowered = word.lower()
    for abbreviation, name in _ABBREVIATIONS.items():
        if lowered.startswith(abbreviation) and name.startswith(lowered):
            return name
    return lowered


def is_spectrum_number(word: str) -> bool:
    """XSPEC's ``<spectrum>`` or ``<group>:<spectrum>`` (``2``, ``1:2``)."""
    return re.fullmatch(r"\d+(:\d+)?", word) is not None


def strip_spectrum_number(arguments: str) -> str:
    """``'1:1 src.pha'`` -> ``'src.pha'``: drop XSPEC's group:spectrum prefix."""
    words = arguments.split()
    if len(words) > 1 and all(part.isdigit() for part in words[0].split(":")):
        words = words[1:]
    return " ".join(words)


def _read_model(session: XcmSession, expression: str, lines, position: int) -> int:
    """Take the model line and the parameter lines that follow it."""
    session.model = expression
    session.parameters = []
    while position < len(lines) and _is_parameter_line(lines[position]):
        session.parameters.append(parameter_line(lines[position]))
        position += 1
    return position


def _is_parameter_line(line: str) -> bool:
    text = line.strip()
    if not text:
        return False
    first = text.split()[0].split(",")[0]
    if text.startswith(("=", "/")):
        return True
    try:
        float(first)
    except ValueError:
        return False
    return True


def parameter_line(text: str) -> ParameterLine:
    """Read one parameter line: ``= p2`` or up to six numbers."""
    from specdsl.prompt.parameters import split_fields

    stripped = text.strip()
    if stripped.startswith("="):
        return ParameterLine(stripped, link=stripped[1:].strip())
    return ParameterLine(stripped, fields=tuple(split_fields(stripped)))


# ------------------------------------------------------------------- model


def load_model(session: XcmSession):
    """Compile the saved model and set its parameters: ``(model, ParameterTable)``."""
    from specdsl.model import compile
    from specdsl.prompt.parameters import ParameterTable

    if session.model is None:
        raise SpecdslError(f"{session.path or 'the .xcm'}: no model line")
    model = compile(session.model)
    table = ParameterTable(model)
    if len(session.parameters) > len(table):
        raise SpecdslError(
            f"{session.path or 'the .xcm'}: {len(session.parameters)} parameter lines "
            f"for a model with {len(table)} parameters"
        )
    for state, line in zip(table, session.parameters, strict=False):
        if line.link is not None:
            table.set_link(state, line.link)
        else:
            table.set_fields(state, list(line.fields))
    for arguments in session.newpar:
        table.newpar(arguments)
    for command in session.specdsl:
        word, arguments = split_command(command)
        if full_command(word) == "newpar":
            table.newpar(arguments)
    return model, table


# ------------------------------------------------------------------- writing


def format_parameter(state) -> str:
    """One parameter line as XSPEC writes it (value 15 wide, the rest 11)."""
    if state.link is not None:
        return f"= {state.link}"
    value = f"{state.value:>15.15g}"
    rest = (state.delta, state.hard_min, state.soft_min, state.soft_max, state.hard_max)
    return value + "".join(f"{number:>11.6g}" for number in rest)


def format_xcm(
    *,
    expression: str | None = None,
    parameters=(),
    files: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    grids: list[tuple[str, str]] = (),
    seed: int | None = None,
) -> str:
    """The text of an .xcm: file lines, settings, grids, model and parameters.

    ``grids`` are ``(command, arguments)`` lines (``energies``, ``dummyrsp``),
    written in their order, which decides what each line applies to.
    """
    from specdsl.response.observation import DIAGONAL

    lines = []
    order = list(FILE_COMMANDS)
    if (files or {}).get("response") == DIAGONAL:  # it is built on the ARF
        order.remove("response")
        order.insert(order.index("arf") + 1, "response")
    for name in order:
        value = (files or {}).get(name)
        if value:
            number = "1:1 " if name in ("data", "response") else "1 "
            lines.append(f"{name} {number}{value}")
    for name in SETTINGS:
        if (settings or {}).get(name):
            lines.append(f"{name} {settings[name]}")
    if seed is not None:
        lines.append(f"xset seed {seed}")  # the same fakes again
    lines.extend(f"{name} {arguments}" for name, arguments in grids)

    if expression is not None:
        lines.append(f"model  {expression}")
        lines.extend(format_parameter(state) for state in parameters)
        for state in parameters:
            if state.distribution is not None and state.link is None:
                lines.append(
                    f"{SPECDSL_PREFIX} newpar {state.index} {state.distribution!r}"
                )
    return "\n".join(lines) + "\n"


def write_xcm(path, text: str) -> Path:
    """Write .xcm text atomically (temporary file, then rename); ``.xcm`` added."""
    target = Path(path)
    if not target.suffix:
        target = target.with_name(target.name + ".xcm")
    if not target.parent.is_dir():
        raise OutputError(
            f"cannot write {target}: directory {target.parent} is missing"
        )

    temporary = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)
    return target
