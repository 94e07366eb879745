"""Parameter links: one reader of link expressions, evaluated and printed.

A link makes a parameter a function of others: numbers, parameters, ``+ - * /``,
``**`` or ``^`` and XSPEC's link functions (EXP SIN SIND COS COSD TAN TAND LOG
(base 10) LN SQRT ABS INT ASIN ACOS MEAN MAX MIN). The text is read by the model
grammar's ``expression`` rule (``specdsl.syntax.parser.parse_value``), the same
rule that reads links inside a model expression
(``powerlaw(PhoIndex==powerlaw_1.PhoIndex)``), so there is one parser and
nothing here calls ``eval``.

``parse_link`` checks a link against a model's parameters (``p<N>`` or dotted
names) and, as an option, applies XSPEC's ``newpar`` rule that a bare integer
that is a valid parameter number means that parameter (``newpar 5 = 2*3`` is
p2 * p3; write ``2.`` for the constant). The value tree is then evaluated with
jax.numpy inside a compiled model (``to_source``/``namespace``) or with numpy by
the prompt's parameter table, one link for a whole batch of spectra.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

import jax.numpy as jnp
import numpy as np

from specdsl.errors import ModelSyntaxError, ParameterError
from specdsl.syntax import nodes

# How many arguments each link function takes (None: any number, at least one).
ARITY = {
    "exp": 1, "sin": 1, "sind": 1, "cos": 1, "cosd": 1, "tan": 1, "tand": 1,
    "log": 1, "ln": 1, "sqrt": 1, "abs": 1, "int": 1, "asin": 1, "acos": 1,
    "mean": None, "max": 2, "min": 2,
}  # fmt: skip

_ALLOWED_CHARACTERS = re.compile(r"[A-Za-z0-9_.+\-*/^() ,\t]*")
_PARAMETER_NUMBER = re.compile(r"[pP](\d+)")
_WORD = re.compile(r"[A-Za-z_]\w*(?:\.\w+)*")
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}


def _functions(xp) -> dict:
    """XSPEC's link functions over one array module (numpy or jax.numpy)."""
    return {
        "exp": xp.exp,
        "sin": xp.sin,
        "sind": lambda x: xp.sin(xp.deg2rad(x)),
        "cos": xp.cos,
        "cosd": lambda x: xp.cos(xp.deg2rad(x)),
        "tan": xp.tan,
        "tand": lambda x: xp.tan(xp.deg2rad(x)),
        "log": xp.log10,  # XSPEC's LOG is base 10
        "ln": xp.log,
        "sqrt": xp.sqrt,
        "abs": xp.abs,
        "int": xp.trunc,
        "asin": xp.arcsin,
        "acos": xp.arccos,
        "mean": lambda *xs: sum(xs) / len(xs),
        "max": xp.maximum,
        "min": xp.minimum,
    }


FUNCTIONS = _functions(jnp)
NUMPY_FUNCTIONS = _functions(np)

OPERATORS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


# ------------------------------------------------------------------ evaluate


def evaluate(value: nodes.Node, values: Mapping, functions: Mapping = FUNCTIONS):
    """The value of a link tree, given the values of the parameters it names.

    ``functions`` picks the array module: jax.numpy (default) or NUMPY_FUNCTIONS.
    """
    if isinstance(value, nodes.Number):
        return value.value
    if isinstance(value, nodes.Reference):
        return values[value.name]
    if isinstance(value, nodes.Function):
        arguments = (evaluate(a, values, functions) for a in value.arguments)
        return functions[value.name](*arguments)
    if len(value.operands) == 1:
        return -evaluate(value.operands[0], values, functions)
    left, right = (evaluate(operand, values, functions) for operand in value.operands)
    return OPERATORS[value.operator](left, right)


def to_source(value: nodes.Node) -> str:
    """Python source computing the link from ``params`` (functions: ``link_<name>``)."""
    if isinstance(value, nodes.Number):
        return repr(value.value)
    if isinstance(value, nodes.Reference):
        return f"params[{value.name!r}]"
    if isinstance(value, nodes.Function):
        arguments = ", ".join(to_source(a) for a in value.arguments)
        return f"link_{value.name}({arguments})"
    if len(value.operands) == 1:
        return f"-({to_source(value.operands[0])})"
    left, right = (to_source(operand) for operand in value.operands)
    return f"({left} {value.operator} {right})"


def namespace() -> dict:
    """The names generated link code refers to."""
    return {f"link_{name}": function for name, function in FUNCTIONS.items()}


def to_xspec(value: nodes.Node) -> str:
    """The link as XSPEC writes it after ``=``: ``p2 * p3 + 10.0``, ``LOG(p1)^2.0``.

    Numbers are written as floats (``10.0``, ``1e-05``), never as bare integers,
    so the text reads back as the same link under the bare-integer rule too.
    """
    if isinstance(value, nodes.Number):
        return repr(float(value.value))
    if isinstance(value, nodes.Reference):
        return value.name
    if isinstance(value, nodes.Function):
        arguments = ", ".join(to_xspec(a) for a in value.arguments)
        return f"{value.name.upper()}({arguments})"
    if len(value.operands) == 1:
        return "-" + _operand(value.operands[0], _PRECEDENCE["neg"], right=True)

    level = _PRECEDENCE[value.operator]
    left, right = value.operands
    power = value.operator == "**"
    left_text = _operand(left, level, right=power)  # ** groups to the right
    right_text = _operand(right, level, right=not power)
    return (
        f"{left_text}^{right_text}"
        if power
        else f"{left_text} {value.operator} {right_text}"
    )


def _operand(node: nodes.Node, level: int, right: bool) -> str:
    text = to_xspec(node)
    if isinstance(node, nodes.Operation):
        unary = len(node.operands) == 1
        inner = _PRECEDENCE["neg"] if unary else _PRECEDENCE[node.operator]
        if inner < level or (inner == level and right):
            return f"({text})"
    if isinstance(node, nodes.Number) and node.value < 0:
        return f"({text})"
    return text


# ------------------------------------------------------------------- parse


class LinkExpression:
    """A link over a model's parameters by XSPEC number: tree, references, text.

    ``tree`` names parameters ``p<N>``; ``references`` holds those numbers.
    """

    def __init__(self, tree: nodes.Node, references: frozenset[int]):
        self.tree = tree
        self.references = references

    @classmethod
    def parse(
        cls,
        text: str,
        n_parameters: int,
        names: Mapping[str, int] | None = None,
        *,
        bare_integers: bool = True,
    ) -> LinkExpression:
        """XSPEC's ``newpar n = <text>``: ``parse_link`` with the bare-integer rule."""
        return parse_link(text, n_parameters, names, bare_integers=bare_integers)

    def evaluate(self, values: Mapping[int, object]):
        """The linked value from parameter values by number (scalars or arrays)."""
        named = {f"p{index}": values[index] for index in self.references}
        with np.errstate(all="ignore"):
            return evaluate(self.tree, named, NUMPY_FUNCTIONS)

    def __str__(self) -> str:
        return to_xspec(self.tree)

    def __repr__(self) -> str:
        return f"LinkExpression({str(self)!r})"


def parse_link(
    text: str,
    n_parameters: int,
    names: Mapping[str, int] | None = None,
    *,
    bare_integers: bool = False,
) -> LinkExpression:
    """Read a link over parameters 1..n_parameters; a caret marks any fault.

    Parameters are written ``p<N>`` or by a name in ``names`` (dotted name ->
    number, any case). With ``bare_integers`` (XSPEC's ``newpar``), an integer
    written without a decimal point that is a valid parameter number is that
    parameter. Raises ParameterError.
    """
    source = str(text).strip()
    if not source:
        raise ParameterError("a link needs an expression after '=', e.g. = p2")
    if not _ALLOWED_CHARACTERS.fullmatch(source):
        bad = next(c for c in source if not _ALLOWED_CHARACTERS.fullmatch(c))
        message = f"invalid character {bad!r} in link"
        raise ParameterError(_caret(message, source, source.index(bad)))

    tree = _read(source)
    lowered = {key.lower(): value for key, value in (names or {}).items()}
    resolver = _Resolver(source, n_parameters, lowered, bare_integers)
    resolved = resolver.visit(tree)
    return LinkExpression(resolved, frozenset(resolver.references))


def _read(source: str) -> nodes.Node:
    """The value tree from the grammar; its syntax errors re-raised with a caret."""
    from specdsl.syntax.parser import parse_value

    try:
        return parse_value(source)
    except ModelSyntaxError as error:
        position = min(max(error.position, 0), len(source) - 1)
        message = _grammar_message(source, position, error.message)
        raise ParameterError(message) from None


def _grammar_message(source: str, position: int, detail: str) -> str:
    """Name the word the grammar stopped at, when it stopped inside one."""
    for match in _WORD.finditer(source):
        if match.start() <= position < match.end():
            word = match.group()
            if "." in word:
                return _caret(f"unknown parameter {word!r}", source, match.start())
            message = (
                f"cannot read the link expression: unexpected {word!r} (links are "
                "arithmetic on numbers, p<N> and parameter names)"
            )
            return _caret(message, source, match.start())
    return _caret(f"cannot read the link expression: {detail}", source, position)


class _Resolver:
    """Check functions and parameters; rewrite every parameter as ``p<N>``."""

    def __init__(self, source, n_parameters, names, bare_integers):
        self.source = source
        self.n_parameters = n_parameters
        self.names = names
        self.bare_integers = bare_integers
        self.references: set[int] = set()

    def visit(self, node: nodes.Node) -> nodes.Node:
        if isinstance(node, nodes.Number):
            return self._number(node)
        if isinstance(node, nodes.Reference):
            return self._reference(node)
        if isinstance(node, nodes.Function):
            self._check_function(node)
            return replace(node, arguments=tuple(self.visit(a) for a in node.arguments))
        return replace(node, operands=tuple(self.visit(o) for o in node.operands))

    def _number(self, node: nodes.Number) -> nodes.Node:
        """XSPEC's rule: ``3`` (not ``3.``) is parameter 3 when there is one."""
        written = self.source[node.start : node.end].lstrip("+- \t")
        if not (self.bare_integers and written.isdigit()):
            return node
        index = int(written)
        if not 1 <= index <= self.n_parameters:
            return node
        reference = self._indexed(index, node)
        if node.value < 0:
            return nodes.Operation(node.start, node.end, "-", (reference,))
        return reference

    def _reference(self, node: nodes.Reference) -> nodes.Reference:
        match = _PARAMETER_NUMBER.fullmatch(node.name)
        if match:
            return self._indexed(int(match.group(1)), node)
        if node.name.lower() in self.names:
            return self._indexed(self.names[node.name.lower()], node)
        if "." in node.name:
            message = f"unknown parameter {node.name!r}"
        else:
            message = f"unknown name {node.name!r}: write parameters as p<N>"
        raise ParameterError(_caret(message, self.source, node.start))

    def _indexed(self, index: int, node: nodes.Node) -> nodes.Reference:
        if not 1 <= index <= self.n_parameters:
            message = (
                f"there is no parameter {index} (the model has {self.n_parameters})"
            )
            raise ParameterError(_caret(message, self.source, node.start))
        self.references.add(index)
        return nodes.Reference(node.start, node.end, f"p{index}")

    def _check_function(self, node: nodes.Function) -> None:
        if node.name not in ARITY:
            known = ", ".join(name.upper() for name in ARITY)
            message = f"unknown function {node.name!r}; links may use {known}"
            raise ParameterError(_caret(message, self.source, node.start))
        arity = ARITY[node.name]
        if arity is not None and len(node.arguments) != arity:
            message = f"{node.name.upper()} takes {arity} argument(s)"
            raise ParameterError(_caret(message, self.source, node.start))


def _caret(message: str, source: str, position: int) -> str:
    return f"{message}\n\n    = {source}\n      {' ' * position}^"
