"""Syntax tree to model tree: names bound, XSPEC rules checked, parameters numbered.

Also applies specdsl's extension: inline values become the parameters' starting
values and inline links (or links given in Python) make a parameter a function
of others, evaluated inside the generated function.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from specdsl.errors import ModelError, SpecdslError
from specdsl.library.registry import (
    ADDITIVE,
    CONVOLUTION,
    LIBRARY,
    ComponentSpec,
    Library,
    ParameterSpec,
)
from specdsl.syntax import nodes

TABLE_KINDS = ("atable", "mtable", "etable")
MAX_COMPONENTS = 1000  # far beyond any real model; keeps generated code compilable

# XSPEC's link functions (newpar) and how many arguments each takes.
LINK_FUNCTIONS = {
    "exp": 1, "sin": 1, "sind": 1, "cos": 1, "cosd": 1, "tan": 1, "tand": 1,
    "log": 1, "ln": 1, "sqrt": 1, "abs": 1, "int": 1, "asin": 1, "acos": 1,
    "mean": None, "max": 2, "min": 2,
}  # fmt: skip


@dataclass(frozen=True)
class Parameter:
    """A parameter of one component in one model: ``powerlaw_1.PhoIndex``, index 2.

    ``default`` is the starting value (an inline value, else the component's);
    ``link`` makes the parameter a function of others: a value tree over
    ``Reference`` nodes (already resolved to full names) or a Python callable.
    """

    index: int
    component: str
    spec: ParameterSpec
    default: float
    link: nodes.Node | Callable | None = None

    @property
    def name(self) -> str:
        return f"{self.component}.{self.spec.name}"


@dataclass(frozen=True)
class ComponentUse:
    """One occurrence of a library component in the expression."""

    label: str
    index: int
    spec: ComponentSpec
    node: nodes.Component | nodes.Table


@dataclass(frozen=True)
class Resolved:
    """A checked model: the tree with each name bound, plus the parameter table."""

    expression: str
    tree: nodes.Node
    components: tuple[ComponentUse, ...]
    parameters: tuple[Parameter, ...]
    link_order: tuple[str, ...] = ()

    def use_of(self, node) -> ComponentUse:
        """The component use of a Component or Table node of this tree."""
        if not hasattr(self, "_uses"):
            object.__setattr__(self, "_uses", {id(u.node): u for u in self.components})
        return self._uses[id(node)]


def resolve(
    tree: nodes.Node, expression: str, library: Library = LIBRARY, links=None
) -> Resolved:
    """Bind names, check kinds, number parameters and apply values and links."""
    uses = _bind_names(tree, expression, library)
    kinds = {id(use.node): use.spec.kind for use in uses}

    if not _check_kinds(tree, kinds, expression):
        raise ModelError(
            "the model has no additive component: a model needs at least one source "
            "of photons (e.g. powerlaw, bbodyrad)",
            expression,
            tree.start,
        )
    parameters = _number_parameters(uses)
    parameters = _apply_arguments(parameters, uses, expression)
    parameters = _apply_api_links(parameters, links or {}, expression)
    order = _link_order(parameters, expression)
    return Resolved(expression, tree, tuple(uses), parameters, order)


# --- names ---------------------------------------------------------------------


def _bind_names(tree, expression, library) -> list[ComponentUse]:
    found = nodes.components(tree)
    if len(found) > MAX_COMPONENTS:
        raise ModelError(
            f"the model has {len(found)} components; specdsl compiles at most "
            f"{MAX_COMPONENTS}",
            expression,
            found[MAX_COMPONENTS].start,
        )

    counts: dict[str, int] = {}
    uses = []
    for index, node in enumerate(found, start=1):
        spec = _spec_of(node, expression, library)
        key = spec.name.lower()
        counts[key] = counts.get(key, 0) + 1
        uses.append(ComponentUse(f"{key}_{counts[key]}", index, spec, node))
    return uses


def _spec_of(node, expression, library) -> ComponentSpec:
    if isinstance(node, nodes.Table):
        return _table_spec(node, expression)

    spec, name = library.find(node.name)
    if spec is not None:
        return spec
    if name is not None:
        what = (
            f"XSPEC's component {name!r}"
            if name.lower() == node.name.lower()
            else f"{node.name!r} is XSPEC's component {name!r}, which"
        )
        raise ModelError(
            f"{what} is not available in specdsl (yet)",
            expression,
            node.start,
            _not_provided_hint(name, library),
        )
    raise _unknown_name(node, expression, library)


def _not_provided_hint(name: str, library) -> str:
    close = _close_names(name, library)
    return f"Available components close to it: {', '.join(close)}." if close else ""


def _unknown_name(node, expression, library) -> ModelError:
    close = _close_names(node.name, library)
    hint = f"Did you mean {' or '.join(close)}?" if close else ""
    if len(node.name) < 2:
        hint = "Component names and abbreviations need at least two letters. " + hint
    return ModelError(
        f"unknown model component {node.name!r}", expression, node.start, hint.strip()
    )


def _close_names(typed: str, library) -> list[str]:
    names = library.names()
    close = difflib.get_close_matches(typed.lower(), [n.lower() for n in names], n=3)
    return [name for name in names if name.lower() in close]


def _table_spec(node: nodes.Table, expression: str) -> ComponentSpec:
    kinds = [k for k in TABLE_KINDS if k.startswith(node.kind.lower())]
    if len(kinds) != 1:
        raise ModelError(
            f"{node.kind!r} before {{...}} is not a table model: write atable{{file}}, "
            "mtable{file} or etable{file}",
            expression,
            node.start,
        )

    from specdsl.library.tables import table_component

    try:
        return table_component(kinds[0], node.path)
    except SpecdslError as error:
        raise ModelError(
            f"cannot use table model {node.path!r}: {error}", expression, node.start
        ) from None


# --- kinds ---------------------------------------------------------------------


def _check_kinds(node, kinds, expression) -> bool:
    """True when the node is additive; raises on XSPEC's illegal combinations."""
    if isinstance(node, (nodes.Component, nodes.Table)):
        if kinds[id(node)] == CONVOLUTION:
            raise _convolution_alone(node, expression)
        return kinds[id(node)] == ADDITIVE

    if isinstance(node, nodes.Sum):
        for term in node.terms:
            if not _check_kinds(term, kinds, expression):
                raise ModelError(
                    "each '+' term must contain an additive component; this one only "
                    "multiplies",
                    expression,
                    term.start,
                )
        return True

    return _check_product(node, kinds, expression)


def _check_product(node: nodes.Product, kinds, expression) -> bool:
    last = node.factors[-1]
    if kinds.get(id(last)) == CONVOLUTION:
        raise _convolution_alone(last, expression)

    additive = []
    for factor in node.factors:
        if kinds.get(id(factor)) == CONVOLUTION:
            continue
        if _check_kinds(factor, kinds, expression):
            additive.append(factor)
    if len(additive) > 1:
        raise ModelError(
            "an additive component cannot multiply another additive component",
            expression,
            additive[1].start,
            "Add sources with '+'; multiply them only by multiplicative components.",
        )
    return bool(additive)


def _convolution_alone(node, expression) -> ModelError:
    return ModelError(
        f"convolution component {node.name!r} must be followed by what it acts on",
        expression,
        node.start,
        "A convolution acts on everything to its right in its product, e.g. "
        "cflux*tbabs*(powerlaw+gaussian).",
    )


# --- parameters, values and links ------------------------------------------------


def _number_parameters(uses) -> tuple[Parameter, ...]:
    parameters = []
    for use in uses:
        for spec in use.spec.all_parameters:
            parameters.append(
                Parameter(len(parameters) + 1, use.label, spec, spec.default)
            )
    return tuple(parameters)


def _apply_arguments(parameters, uses, expression) -> tuple[Parameter, ...]:
    by_name = {p.name: p for p in parameters}
    for use in uses:
        own = [p for p in parameters if p.component == use.label]
        for argument, parameter in _match_arguments(use, own, expression):
            updated = _with_value(parameter, argument.value, parameters, expression)
            by_name[parameter.name] = updated
    return tuple(by_name[p.name] for p in parameters)


def _match_arguments(use, own, expression):
    """Pair each inline argument with the parameter it sets."""
    matched: dict[str, nodes.Argument] = {}
    for position, argument in enumerate(use.node.arguments):
        parameter = _argument_target(use, own, position, argument, expression)
        if parameter.name in matched:
            raise ModelError(
                f"{parameter.name} is given twice", expression, argument.start
            )
        matched[parameter.name] = argument
        yield argument, parameter


def _argument_target(use, own, position, argument, expression) -> Parameter:
    if argument.name is None:
        if position >= len(own):
            raise ModelError(
                f"{use.spec.name} has {len(own)} parameters; this value is one too "
                "many",
                expression,
                argument.start,
            )
        return own[position]

    for parameter in own:
        if parameter.spec.name.lower() == argument.name.lower():
            return parameter
    valid = ", ".join(p.spec.name for p in own)
    raise ModelError(
        f"{use.spec.name} has no parameter {argument.name!r}; "
        f"its parameters are {valid}",
        expression,
        argument.start,
    )


def _with_value(parameter, value, parameters, expression) -> Parameter:
    resolved = _resolve_references(value, parameters, expression)
    if _references(resolved):
        return replace(parameter, link=resolved)

    number = evaluate_constant(resolved)
    spec = parameter.spec
    if not math.isfinite(number):
        raise ModelError(
            f"{parameter.name}: the value is not a finite real number (division "
            "by zero, overflow or a complex power?)",
            expression,
            value.start,
        )
    if not spec.hard_min <= number <= spec.hard_max:
        raise ModelError(
            f"{parameter.name} = {number:g} is outside its hard limits "
            f"[{spec.hard_min:g}, {spec.hard_max:g}]",
            expression,
            value.start,
        )
    return replace(parameter, default=number)


def _resolve_references(value, parameters, expression) -> nodes.Node:
    """Check functions and rewrite every reference to a parameter's full name."""
    if isinstance(value, nodes.Reference):
        return replace(value, name=_referenced(value, parameters, expression).name)
    if isinstance(value, nodes.Function):
        _check_function(value, expression)
    if isinstance(value, (nodes.Operation, nodes.Function)):
        field = "operands" if isinstance(value, nodes.Operation) else "arguments"
        children = tuple(
            _resolve_references(child, parameters, expression)
            for child in getattr(value, field)
        )
        return replace(value, **{field: children})
    return value


def _referenced(reference: nodes.Reference, parameters, expression) -> Parameter:
    text = reference.name.lower()
    for parameter in parameters:
        if parameter.name.lower() == text or f"p{parameter.index}" == text:
            return parameter
    valid = ", ".join(p.name for p in parameters)
    raise ModelError(
        f"unknown parameter {reference.name!r} in a link; this model has: {valid} "
        f"(or p1..p{len(parameters)})",
        expression,
        reference.start,
    )


def _check_function(node: nodes.Function, expression: str) -> None:
    if node.name not in LINK_FUNCTIONS:
        known = ", ".join(sorted(LINK_FUNCTIONS))
        raise ModelError(
            f"unknown function {node.name!r}; links may use {known}",
            expression,
            node.start,
        )
    arity = LINK_FUNCTIONS[node.name]
    if arity is not None and len(node.arguments) != arity:
        raise ModelError(
            f"{node.name} takes {arity} argument(s), got {len(node.arguments)}",
            expression,
            node.start,
        )


def _references(value) -> list[str]:
    if isinstance(value, nodes.Reference):
        return [value.name]
    found = []
    for child in value.children:
        found.extend(_references(child))
    return found


def evaluate_constant(value: nodes.Node) -> float:
    """The number a value tree without references stands for (no ``eval``);
    NaN where the arithmetic fails (``1/0``, ``2**1024``, ``(-8)**(1/3)``)."""
    import numpy as np

    from specdsl.links import NUMPY_FUNCTIONS, evaluate

    try:
        with np.errstate(all="ignore"):
            number = complex(evaluate(value, {}, NUMPY_FUNCTIONS))
    except (ArithmeticError, TypeError, ValueError):
        return math.nan
    return number.real if number.imag == 0 else math.nan


def _apply_api_links(parameters, links, expression) -> tuple[Parameter, ...]:
    """Links given in Python: ``{"powerlaw_2.PhoIndex": "powerlaw_1.PhoIndex * 2"}``
    or a callable taking the dict of parameter values."""
    if not links:
        return parameters

    from specdsl.syntax.parser import parse_value

    by_name = {p.name.lower(): p for p in parameters}
    updated = {p.name: p for p in parameters}
    for name, link in links.items():
        parameter = by_name.get(str(name).lower())
        if parameter is None:
            valid = ", ".join(p.name for p in parameters)
            raise ModelError(
                f"cannot link unknown parameter {name!r}; this model has: {valid}",
                expression,
                0,
            )
        if callable(link):
            updated[parameter.name] = replace(parameter, link=link)
            continue
        value = parse_value(str(link))
        updated[parameter.name] = _with_value(parameter, value, parameters, str(link))
    return tuple(updated[p.name] for p in parameters)


def _link_order(parameters, expression) -> tuple[str, ...]:
    """Linked parameters in an order where each comes after what it depends on."""
    linked = {p.name: p for p in parameters if p.link is not None}
    order: list[str] = []
    visiting: list[str] = []

    def visit(name):
        if name in order or name not in linked:
            return
        if name in visiting:
            cycle = " -> ".join(visiting[visiting.index(name) :] + [name])
            raise ModelError(f"parameter links form a cycle: {cycle}", expression, 0)
        visiting.append(name)
        link = linked[name].link
        if isinstance(link, nodes.Node):
            dependencies = _references(link)
        else:
            dependencies = _callable_references(name, link, parameters, expression)
        for dependency in dependencies:
            visit(dependency)
        visiting.pop()
        order.append(name)

    for name in linked:
        visit(name)
    return tuple(order)


class _ReadRecord(Mapping):
    """The parameter values a callable link is given, noting which it reads."""

    def __init__(self, values: dict):
        self.values = values
        self.read: list[str] = []

    def __getitem__(self, name):
        value = self.values[name]  # KeyError: a name the model does not have
        self.read.append(name)
        return value

    def __iter__(self):
        return iter(self.values)

    def __len__(self):
        return len(self.values)


def _callable_references(name, link, parameters, expression) -> list[str]:
    """The parameters a Python link reads, found by calling it once on the
    defaults, so that links run after what they depend on (cycles refused)."""
    record = _ReadRecord({p.name: p.default for p in parameters})
    try:
        link(record)
    except KeyError as error:
        valid = ", ".join(p.name for p in parameters)
        raise ModelError(
            f"the Python link of {name} reads {error.args[0]!r}, which this model "
            f"does not have; its parameters are: {valid}",
            expression,
            0,
        ) from None
    except Exception as error:  # the user's code: say whose it is
        raise ModelError(
            f"the Python link of {name} failed on the default values: "
            f"{type(error).__name__}: {error}",
            expression,
            0,
        ) from None
    return list(dict.fromkeys(record.read))
