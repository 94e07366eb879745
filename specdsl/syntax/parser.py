"""Text to syntax tree, with one error type that points at the fault."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path

import lark

from specdsl.errors import ModelSyntaxError
from specdsl.syntax import nodes

MAX_LENGTH = 20_000
MAX_DEPTH = 99  # XSPEC's own limit on nested sub-expressions
PUNCTUATION = set("()+-*/^=,.{}<>_ \t\n\r")


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    return lark.Lark(
        _grammar_text(),
        parser="lalr",
        start=["start", "expression"],
        propagate_positions=True,
        maybe_placeholders=False,
    )


def _grammar_text() -> str:
    """The grammar ships inside the package; a source checkout keeps it at the top."""
    shipped = resources.files("specdsl") / "grammar" / "model.lark"
    if shipped.is_file():
        return shipped.read_text()
    return (Path(__file__).resolve().parents[2] / "grammar" / "model.lark").read_text()


def parse(text: str) -> nodes.Node:
    """Parse an XSPEC model expression into a syntax tree."""
    return _parse(text, "start")


def parse_value(text: str) -> nodes.Node:
    """Parse a parameter value or link: ``"1.7"``, ``"powerlaw_1.PhoIndex * 2"``."""
    return _parse(text.removeprefix("="), "expression")


def _parse(text: str, start: str) -> nodes.Node:
    if not isinstance(text, str):
        raise TypeError(
            f"a model expression must be a string, not {type(text).__name__}"
        )

    _check_text(text)
    try:
        tree = _parser().parse(text, start=start)
    except lark.exceptions.UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    try:
        with _recursion_room(20 * MAX_DEPTH):
            return _Builder(text).transform(tree)
    except lark.exceptions.VisitError as error:
        if isinstance(error.orig_exc, RecursionError):
            raise too_deep(text) from None
        raise error.orig_exc from None
    except RecursionError:
        raise too_deep(text) from None


def too_deep(text: str) -> ModelSyntaxError:
    """The error for input nested beyond what the compiler's recursion allows."""
    return ModelSyntaxError(
        "the expression is nested too deeply (operators or parentheses)", text, 0
    )


@contextmanager
def _recursion_room(frames: int):
    """Enough stack for the tree builder on deeply nested (but legal) input."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, frames + 200))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def _check_text(text: str) -> None:
    """Faults that are clearer found before parsing: emptiness, characters, nesting."""
    if not text.strip():
        raise ModelSyntaxError("the model expression is empty", text, 0)
    if len(text) > MAX_LENGTH:
        raise ModelSyntaxError(
            f"the model expression is {len(text)} characters long; the limit is "
            f"{MAX_LENGTH}",
            text[:60] + "...",
            60,
        )

    for position, char in enumerate(text):
        if not (char.isascii() and char.isalnum()) and char not in PUNCTUATION:
            raise ModelSyntaxError(
                f"invalid character {char!r} in the model expression",
                text,
                position,
                "Model expressions use component names, '+', '*', parentheses and, "
                "inside a component's parentheses, numbers and parameter names.",
            )
    _check_parentheses(text)


def _check_parentheses(text: str) -> None:
    opened: list[int] = []
    brace = None  # where the '{' of a table's file name opened
    for position, char in enumerate(text):
        if char == "{" and brace is None:
            brace = position
        elif char == "}" and brace is None:
            raise ModelSyntaxError("'}' has no matching '{'", text, position)
        elif char == "}":
            brace = None
        elif brace is not None:
            continue
        elif char == "(":
            opened.append(position)
            if len(opened) > MAX_DEPTH:
                raise ModelSyntaxError(
                    f"parentheses nest more than {MAX_DEPTH} deep", text, position
                )
        elif char == ")" and not opened:
            raise ModelSyntaxError("')' has no matching '('", text, position)
        elif char == ")":
            opened.pop()
    if brace is not None:
        raise ModelSyntaxError(
            "'{' is never closed: a table model is written atable{file}", text, brace
        )
    if opened:
        raise ModelSyntaxError("'(' is never closed", text, opened[-1])


def _syntax_error(
    text: str, error: lark.exceptions.UnexpectedInput
) -> ModelSyntaxError:
    token = getattr(error, "token", None)

    if isinstance(error, lark.exceptions.UnexpectedEOF) or (
        token is not None and token.type == "$END"
    ):
        last = len(text.rstrip()) - 1
        return ModelSyntaxError(
            f"the expression ends with {text[last]!r}: something must follow it",
            text,
            last,
        )

    position = getattr(error, "pos_in_stream", None) or 0
    if token is not None and token.start_pos is not None:
        position = token.start_pos
    position = min(position, len(text) - 1)
    return ModelSyntaxError(_unexpected_message(text, position), text, position)


def _unexpected_message(text: str, position: int) -> str:
    char = text[position]
    before = text[:position].rstrip()[-1:]

    if char == ")" and before == "(":
        return "empty parentheses: '()' must hold a model"
    if char in "+*" and before in ("", "(", "+", "*"):
        return f"{char!r} needs a component or '(' on its left"
    if char == ")" and before in ("=", ","):
        return f"a value must follow {before!r}"
    if char == ")":
        return f"{before!r} needs a component or '(' on its right"
    if char in "-/^":
        return f"{char!r} is only allowed in parameter values, inside a component's ()"
    if char in "=,":
        return (
            f"unexpected {char!r}: parameter values are written name(param=value, ...)"
        )
    if char in "{}":
        return f"unexpected {char!r}: a table model is written atable{{file}}"
    if char in "<>":
        return f"unexpected {char!r}: a component's number is written powerlaw<2>"
    return f"unexpected {char!r}"


def _arguments(rest: tuple) -> tuple:
    """A component's arguments; XSPEC's ``<n>`` numbering is dropped (the
    components are numbered again from their order)."""
    for item in rest:
        if not isinstance(item, lark.Token):
            return tuple(item)
    return ()


@lark.v_args(meta=True, inline=True)
class _Builder(lark.Transformer):
    """Lark tree to our nodes; juxtaposed names are refused here."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    # --- the model ---

    def component(self, meta, name, *rest):
        return nodes.Component(
            meta.start_pos, meta.end_pos, str(name), _arguments(rest)
        )

    def table(self, meta, kind, path, *rest):
        return nodes.Table(
            meta.start_pos, meta.end_pos, str(kind), str(path), _arguments(rest)
        )

    def group(self, meta, inner):
        return inner

    def sum(self, meta, *children):
        terms = tuple(child for child in children if isinstance(child, nodes.Node))
        return (
            terms[0]
            if len(terms) == 1
            else nodes.Sum(meta.start_pos, meta.end_pos, terms)
        )

    def product(self, meta, *children):
        factors = []
        for previous, child in zip((None,) + children, children, strict=False):
            if not isinstance(child, nodes.Node):
                continue
            if isinstance(previous, nodes.Node):
                self._check_juxtaposed(previous, child)
            factors.append(child)
        if len(factors) == 1:
            return factors[0]
        return nodes.Product(meta.start_pos, meta.end_pos, tuple(factors))

    def _check_juxtaposed(self, left: nodes.Node, right: nodes.Node):
        """Juxtaposition multiplies only next to a parenthesis, as in XSPEC."""
        between = self.text[left.end : right.start]
        if "(" in between or ")" in between or self.text[left.end - 1] == ")":
            return
        raise ModelSyntaxError(
            f"two component names side by side: {self.text[left.start : left.end]!r} "
            f"and {self.text[right.start : right.end]!r}",
            self.text,
            right.start,
            "Join components with '*' (multiply) or '+' (add).",
        )

    # --- arguments ---

    def arguments(self, meta, *arguments):
        return arguments

    def named_argument(self, meta, name, *rest):
        return nodes.Argument(meta.start_pos, meta.end_pos, str(name), rest[-1])

    def positional_argument(self, meta, *rest):
        return nodes.Argument(meta.start_pos, meta.end_pos, None, rest[-1])

    # --- values ---

    def number(self, meta, token):
        return nodes.Number(meta.start_pos, meta.end_pos, float(token))

    def reference(self, meta, token):
        return nodes.Reference(meta.start_pos, meta.end_pos, str(token))

    def function(self, meta, name, *arguments):
        return nodes.Function(
            meta.start_pos, meta.end_pos, str(name).lower(), arguments
        )

    def negate(self, meta, _sign, operand):
        if isinstance(operand, nodes.Number):
            return nodes.Number(meta.start_pos, meta.end_pos, -operand.value)
        return nodes.Operation(meta.start_pos, meta.end_pos, "-", (operand,))

    def signed(self, meta, _sign, operand):
        return operand

    def _binary(self, meta, left, operator, right):
        symbol = "**" if str(operator) in ("**", "^") else str(operator)
        return nodes.Operation(meta.start_pos, meta.end_pos, symbol, (left, right))

    add = subtract = multiply = divide = power = _binary
