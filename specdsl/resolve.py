"""Syntax tree to model tree: names bound, XSPEC rules checked, parameters numbered."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from specdsl.errors import ModelError
from specdsl.library.registry import (
    ADDITIVE,
    LIBRARY,
    ComponentSpec,
    Library,
    ParameterSpec,
)
from specdsl.syntax import nodes


@dataclass(frozen=True)
class Parameter:
    """A parameter of one component in one model: ``powerlaw_1.PhoIndex``, index 2."""

    index: int
    component: str
    spec: ParameterSpec

    @property
    def name(self) -> str:
        return f"{self.component}.{self.spec.name}"


@dataclass(frozen=True)
class ComponentUse:
    """One occurrence of a library component in the expression."""

    label: str
    index: int
    spec: ComponentSpec
    node: nodes.Component


@dataclass(frozen=True)
class Resolved:
    """A checked model: the tree with each name bound, plus the parameter table."""

    expression: str
    tree: nodes.Node
    components: tuple[ComponentUse, ...]
    parameters: tuple[Parameter, ...]

    def use_of(self, node: nodes.Component) -> ComponentUse:
        return self.components[_position(self.tree, node)]


def resolve(tree: nodes.Node, expression: str, library: Library = LIBRARY) -> Resolved:
    """Bind names, check kinds and number components and parameters as XSPEC does."""
    uses = _bind_names(tree, expression, library)
    kinds = {id(use.node): use.spec.kind for use in uses}

    if not _check_kinds(tree, kinds, expression):
        raise ModelError(
            "the model has no additive component: a model needs at least one source "
            "of photons (e.g. powerlaw, bbodyrad)",
            expression,
            tree.start,
        )
    return Resolved(expression, tree, tuple(uses), _number_parameters(uses))


def _bind_names(tree, expression, library) -> list[ComponentUse]:
    counts: dict[str, int] = {}
    uses = []
    for index, node in enumerate(nodes.components(tree), start=1):
        spec = library.lookup(node.name)
        if spec is None:
            raise _unknown_name(node, expression, library)
        key = spec.name.lower()
        counts[key] = counts.get(key, 0) + 1
        uses.append(ComponentUse(f"{key}_{counts[key]}", index, spec, node))
    return uses


def _unknown_name(node, expression, library) -> ModelError:
    names = library.names()
    close = difflib.get_close_matches(
        node.name.lower(), [n.lower() for n in names], n=3
    )
    spelled = [name for name in names if name.lower() in close]
    hint = f"Did you mean {' or '.join(spelled)}?" if spelled else ""
    return ModelError(
        f"unknown model component {node.name!r}", expression, node.start, hint
    )


def _check_kinds(node, kinds, expression) -> bool:
    """True when the node is additive; raises on XSPEC's illegal combinations."""
    if isinstance(node, nodes.Component):
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

    additive = [f for f in node.factors if _check_kinds(f, kinds, expression)]
    if len(additive) > 1:
        raise ModelError(
            "an additive component cannot multiply another additive component",
            expression,
            additive[1].start,
            "Add sources with '+'; multiply them only by multiplicative components.",
        )
    return bool(additive)


def _number_parameters(uses) -> tuple[Parameter, ...]:
    parameters = []
    for use in uses:
        for spec in use.spec.all_parameters:
            parameters.append(Parameter(len(parameters) + 1, use.label, spec))
    return tuple(parameters)


def _position(tree, node) -> int:
    for index, candidate in enumerate(nodes.components(tree)):
        if candidate is node:
            return index
    raise KeyError(node)
