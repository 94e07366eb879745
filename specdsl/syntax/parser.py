"""Text to syntax tree, with one error type that points at the fault."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import lark

from specdsl.errors import ModelSyntaxError
from specdsl.syntax.nodes import Component, Node, Product, Sum

ALLOWED_PUNCTUATION = set("()+* \t\n_")


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    return lark.Lark(
        _grammar_text(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=False,
    )


def _grammar_text() -> str:
    """The grammar ships inside the package; a source checkout keeps it at the top."""
    shipped = resources.files("specdsl") / "grammar" / "model.lark"
    if shipped.is_file():
        return shipped.read_text()
    return (Path(__file__).resolve().parents[2] / "grammar" / "model.lark").read_text()


def parse(text: str) -> Node:
    """Parse an XSPEC model expression into a syntax tree."""
    if not isinstance(text, str):
        raise TypeError(
            f"a model expression must be a string, not {type(text).__name__}"
        )

    _check_characters(text)
    _check_parentheses(text)
    try:
        tree = _parser().parse(text)
    except lark.exceptions.UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    try:
        return _Builder(text).transform(tree)
    except lark.exceptions.VisitError as error:
        raise error.orig_exc from None


def _check_characters(text: str) -> None:
    if not text.strip():
        raise ModelSyntaxError("the model expression is empty", text, 0)

    for position, char in enumerate(text):
        if not (char.isascii() and char.isalnum()) and char not in ALLOWED_PUNCTUATION:
            raise ModelSyntaxError(
                f"invalid character {char!r} in the model expression",
                text,
                position,
                "Model expressions use component names, '+', '*' and parentheses.",
            )


def _check_parentheses(text: str) -> None:
    opened: list[int] = []
    for position, char in enumerate(text):
        if char == "(":
            opened.append(position)
        elif char == ")" and not opened:
            raise ModelSyntaxError("')' has no matching '('", text, position)
        elif char == ")":
            opened.pop()
    if opened:
        raise ModelSyntaxError("'(' is never closed", text, opened[-1])


def _syntax_error(
    text: str, error: lark.exceptions.UnexpectedInput
) -> ModelSyntaxError:
    position = min(getattr(error, "pos_in_stream", None) or 0, len(text))
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

    if token is not None and token.start_pos is not None:
        position = token.start_pos
    return ModelSyntaxError(_unexpected_message(text, position), text, position)


def _unexpected_message(text: str, position: int) -> str:
    char = text[position] if position < len(text) else ""
    before = text[:position].rstrip()[-1:] if text[:position].strip() else ""

    if char == ")" and before == "(":
        return "empty parentheses: '()' must hold a model"
    if char in "+*" and before in ("", "(", "+", "*"):
        return f"{char!r} needs a component or '(' on its left"
    if char == ")":
        return f"{before!r} needs a component or '(' on its right"
    return f"unexpected {char!r}"


@lark.v_args(meta=True, inline=True)
class _Builder(lark.Transformer):
    """Lark tree to our nodes; juxtaposed names are refused here."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def component(self, meta, name):
        return Component(meta.start_pos, meta.end_pos, str(name))

    def group(self, meta, inner):
        return inner

    def sum(self, meta, *children):
        terms = tuple(child for child in children if isinstance(child, Node))
        return terms[0] if len(terms) == 1 else Sum(meta.start_pos, meta.end_pos, terms)

    def product(self, meta, *children):
        factors = []
        for previous, child in zip((None,) + children, children, strict=False):
            if not isinstance(child, Node):
                continue
            if isinstance(previous, Node):
                self._check_juxtaposed(previous, child)
            factors.append(child)
        if len(factors) == 1:
            return factors[0]
        return Product(meta.start_pos, meta.end_pos, tuple(factors))

    def _check_juxtaposed(self, left: Node, right: Node):
        """Juxtaposition multiplies only next to a parenthesis, as in XSPEC."""
        if (
            "(" in self.text[left.end : right.start]
            or ")" in self.text[left.end : right.start]
        ):
            return
        raise ModelSyntaxError(
            f"two component names side by side: {self.text[left.start : left.end]!r} "
            f"and {self.text[right.start : right.end]!r}",
            self.text,
            right.start,
            "Join components with '*' (multiply) or '+' (add).",
        )
