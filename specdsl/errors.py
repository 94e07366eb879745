"""The exceptions specdsl raises: one family, each message actionable on its own."""

from __future__ import annotations


class SpecdslError(Exception):
    """Base class of every error specdsl raises on purpose."""


# Whitespace a terminal would not show one column wide.
_BLANKS = {ord(c): " " for c in "\t\n\r\v\f"}


class ModelSyntaxError(SpecdslError):
    """A model expression that cannot be read, shown with a caret under the fault."""

    def __init__(self, message: str, expression: str, position: int, hint: str = ""):
        self.message = message
        self.expression = expression
        self.position = position
        self.hint = hint
        super().__init__(self._render())

    @property
    def caret_line(self) -> str:
        return " " * self.position + "^"

    def excerpt(self, width: int = 100) -> tuple[str, str]:
        """The expression line and caret line, cut to a window around a long fault.

        Tabs and line breaks are shown as one blank each, so the caret stays under
        the character it points at.
        """
        text, position = self.expression.translate(_BLANKS), self.position
        if len(text) <= width:
            return text, self.caret_line
        start = max(0, min(position - width // 2, len(text) - width))
        shown = text[start : start + width]
        prefix = "..." if start > 0 else ""
        suffix = "..." if start + width < len(text) else ""
        return prefix + shown + suffix, " " * (len(prefix) + position - start) + "^"

    def _render(self) -> str:
        return self.render()

    def render(self, width: int = 100) -> str:
        """Message, expression and caret; the expression is cut to ``width``
        characters around the fault, so a narrow panel never wraps it."""
        line, caret = self.excerpt(width)
        lines = [self.message, "", "    " + line, "    " + caret]
        if self.hint:
            lines += ["", self.hint]
        return "\n".join(lines)


class ModelError(ModelSyntaxError):
    """A well-formed expression that breaks a model rule (kinds, additive count)."""


class ParameterError(SpecdslError):
    """A parameter name, value or shape that the model cannot take."""


class OGIPError(SpecdslError):
    """An OGIP file that is missing, unreadable or inconsistent; names file, field."""

    def __init__(self, path, message: str, field: str | None = None):
        self.path = str(path)
        self.field = field
        where = f"{self.path}" + (f" [{field}]" if field else "")
        super().__init__(f"{where}: {message}")


class OutputError(SpecdslError):
    """An output file that cannot or must not be written (exists, unwritable)."""


# Hints about type II rows, in the command line's and the prompt's spelling
# (``file{n}``): the Python API says ``row=``.
ROW_SPELLINGS = (
    (
        r"choose one with row=1\.\.(\d+) \(XSPEC's '([^']*)'\)",
        r"choose one as '\2' with n from 1 to \1",
    ),
    (r"\brow=(\d+) given", r"row {\1} given"),
)


def spectrum_label(index: int) -> str:
    """A spectrum of a batch as messages name it: counted from 1, as SPEC_NUM
    counts the rows of a type II file, with its 0-based index into the
    parameter arrays."""
    return f"spectrum {index + 1} (index {index})"


def respell(message: str, spellings) -> str:
    """``message`` with each (pattern, replacement) of ``spellings`` applied."""
    import re

    for pattern, replacement in spellings:
        message = re.sub(pattern, replacement, message)
    return message
