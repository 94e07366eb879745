"""XSPEC parameter links (``newpar 5 = 2*p3``), parsed and evaluated without ``eval``.

The expression is read by Python's ``ast`` module and only a whitelist of node
types is accepted: numbers, ``p<N>`` names, dotted parameter names
(``powerlaw_1.PhoIndex``), ``+ - * / **`` (``^`` is read as ``**``), unary minus
and XSPEC's functions (EXP, SIN, SIND, COS, COSD, TAN, TAND, LOG (base 10), LN,
SQRT, ABS, INT, ASIN, ACOS, MAX(a, b), MIN(a, b)). Evaluation walks the tree with
numpy, so one link serves a whole batch of spectra.

As in XSPEC, a bare integer that is a valid parameter number means that parameter
(``= 2*3`` is p2 * p3); write ``2.`` for the constant.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Mapping

import numpy as np

from specdsl.errors import ParameterError

_ALLOWED_CHARACTERS = re.compile(r"^[A-Za-z0-9_.+\-*/^() ,\t]*$")
_PARAMETER_NAME = re.compile(r"^[pP](\d+)$")

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {
    "exp": (1, np.exp),
    "sin": (1, np.sin),
    "sind": (1, lambda x: np.sin(np.radians(x))),
    "cos": (1, np.cos),
    "cosd": (1, lambda x: np.cos(np.radians(x))),
    "tan": (1, np.tan),
    "tand": (1, lambda x: np.tan(np.radians(x))),
    "log": (1, np.log10),
    "ln": (1, np.log),
    "sqrt": (1, np.sqrt),
    "abs": (1, np.abs),
    "int": (1, np.trunc),
    "asin": (1, np.arcsin),
    "acos": (1, np.arccos),
    "max": (2, np.maximum),
    "min": (2, np.minimum),
}


class LinkExpression:
    """A parameter link: the parsed expression, the parameters it reads, its text."""

    def __init__(self, tree: ast.expr, references: frozenset[int]):
        self._tree = tree
        self.references = references

    @classmethod
    def parse(
        cls, text: str, n_parameters: int, names: Mapping[str, int] | None = None
    ) -> LinkExpression:
        """Read ``text`` (what follows ``=``); names map lower-case dotted names."""
        source = text.strip()
        if not source:
            raise ParameterError("a link needs an expression after '=', e.g. = p2")
        if not _ALLOWED_CHARACTERS.match(source):
            bad = next(c for c in source if not _ALLOWED_CHARACTERS.match(c))
            message = f"invalid character {bad!r} in link"
            raise ParameterError(_caret(message, source, source.index(bad)))
        try:
            parsed = ast.parse(source.replace("^", "**"), mode="eval")
        except SyntaxError as error:
            where = max(0, (error.offset or 1) - 1)
            raise ParameterError(
                _caret("cannot read the link expression", source, where)
            ) from None

        lowered = {key.lower(): value for key, value in (names or {}).items()}
        builder = _Builder(source, n_parameters, lowered)
        tree = builder.visit(parsed.body)
        return cls(tree, frozenset(builder.references))

    def evaluate(self, values: Mapping[int, object]):
        """The linked value from parameter values by index (scalars or arrays)."""
        with np.errstate(all="ignore"):
            return _evaluate(self._tree, values)

    def __str__(self) -> str:
        return ast.unparse(self._tree).replace(" ** ", "^")

    def __repr__(self) -> str:
        return f"LinkExpression({str(self)!r})"


class _Builder(ast.NodeTransformer):
    """Check every node against the whitelist; parameters become ``p<N>`` names."""

    def __init__(self, source: str, n_parameters: int, names: dict[str, int]):
        self.source = source
        self.n_parameters = n_parameters
        self.names = names
        self.references: set[int] = set()

    def generic_visit(self, node):
        where = max(0, getattr(node, "col_offset", 0))
        message = f"{type(node).__name__} is not allowed in a link"
        raise ParameterError(_caret(message, self.source, where))

    def visit_BinOp(self, node):
        if type(node.op) not in _BINARY:
            return self.generic_visit(node)
        return ast.BinOp(self.visit(node.left), node.op, self.visit(node.right))

    def visit_UnaryOp(self, node):
        if type(node.op) not in _UNARY:
            return self.generic_visit(node)
        return ast.UnaryOp(node.op, self.visit(node.operand))

    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.generic_visit(node)
        if isinstance(value, int) and 1 <= value <= self.n_parameters:
            return self._reference(value, node)
        return ast.Constant(float(value))

    def visit_Name(self, node):
        match = _PARAMETER_NAME.match(node.id)
        if match:
            return self._reference(int(match.group(1)), node)
        if node.id.lower() in self.names:
            return self._reference(self.names[node.id.lower()], node)
        message = f"unknown name {node.id!r}: write parameters as p<N>"
        raise ParameterError(_caret(message, self.source, node.col_offset))

    def visit_Attribute(self, node):
        dotted = _dotted(node)
        if dotted is None or dotted.lower() not in self.names:
            message = f"unknown parameter {dotted or '?'!r}"
            raise ParameterError(_caret(message, self.source, node.col_offset))
        return self._reference(self.names[dotted.lower()], node)

    def visit_Call(self, node):
        name = node.func.id.lower() if isinstance(node.func, ast.Name) else ""
        if name not in _FUNCTIONS or node.keywords:
            message = f"unknown function {ast.unparse(node.func)!r}"
            raise ParameterError(_caret(message, self.source, node.col_offset))
        arity, _ = _FUNCTIONS[name]
        if len(node.args) != arity:
            message = f"{name.upper()} takes {arity} argument(s)"
            raise ParameterError(_caret(message, self.source, node.col_offset))
        return ast.Call(ast.Name(name.upper()), [self.visit(a) for a in node.args], [])

    def _reference(self, index: int, node) -> ast.Name:
        if not 1 <= index <= self.n_parameters:
            message = (
                f"there is no parameter {index} (the model has {self.n_parameters})"
            )
            raise ParameterError(_caret(message, self.source, node.col_offset))
        self.references.add(index)
        return ast.Name(f"p{index}")


def _dotted(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _evaluate(node, values):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return values[int(node.id[1:])]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](
            _evaluate(node.left, values), _evaluate(node.right, values)
        )
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, values))
    _, function = _FUNCTIONS[node.func.id.lower()]
    return function(*(_evaluate(argument, values) for argument in node.args))


def _caret(message: str, source: str, position: int) -> str:
    return f"{message}\n\n    = {source}\n      {' ' * position}^"
