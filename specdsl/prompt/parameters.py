"""The model's parameters at the prompt: values, fit deltas, limits, links, draws.

XSPEC's per-parameter record is six numbers (value, delta, hard min, soft min,
soft max, hard max); a delta of zero or below means frozen. A parameter may
instead be linked (``= 2*p3``) to others, or, our extension, drawn from a
distribution (``uniform(1, 3)``) when ``fakeit N`` makes a batch.

Answers to a parameter prompt, or the arguments of ``newpar <n> ...``:
``''`` or ``/`` keeps the parameter; numbers separated by blanks or commas set the
fields in order (an empty field between commas, or ``/``, keeps that one);
``= expr`` links; ``name(args)`` sets a distribution.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from specdsl.errors import ParameterError
from specdsl.links import LinkExpression
from specdsl.runtime.distributions import (
    DISTRIBUTIONS,
    Distribution,
    draw,
    parse_distribution,
    reach_problem,
)

FIELDS = ("value", "delta", "hard_min", "soft_min", "soft_max", "hard_max")
_CALL = re.compile(r"^\s*([A-Za-z_]+)\s*\(")
_RANGE = re.compile(r"^(\d+)(?:\s*-\s*(\d+))?$")


@dataclass
class ParameterState:
    """One parameter's current record; ``name`` is the dotted specdsl name."""

    index: int
    name: str
    component: str
    label: str
    unit: str
    value: float
    delta: float
    hard_min: float
    soft_min: float
    soft_max: float
    hard_max: float
    link: LinkExpression | None = None
    distribution: Distribution | None = None

    @property
    def frozen(self) -> bool:
        return self.delta <= 0

    @property
    def prompt(self) -> str:
        """XSPEC's parameter prompt: ``2:powerlaw:PhoIndex>``."""
        return f"{self.index}:{self.component}:{self.label}> "

    def fields(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in FIELDS)


class ParameterTable:
    """Every parameter of one model, numbered as XSPEC numbers them.

    Parameters linked inside the model expression (``powerlaw(PhoIndex==p1)``)
    get the same link here, for display and ``save``; the model computes them.
    """

    def __init__(self, model):
        self.model = model
        self.states = [_initial_state(p, model) for p in model.parameters]
        self._names = {s.name.lower(): s.index for s in self.states}
        self.in_model = {p.name for p in model.parameters if _model_link(p)}
        for parameter in model.parameters:
            if _model_link(parameter) is not None:
                self._adopt_link(parameter)

    def _adopt_link(self, parameter) -> None:
        from specdsl.syntax.printer import to_string

        link = _model_link(parameter)
        if callable(link):
            return
        state = self.get(parameter.name)
        state.link = LinkExpression.parse(
            to_string(link), len(self.states), self._names, bare_integers=False
        )

    def model_values(self, values: dict) -> dict:
        """``values`` without the parameters the model computes from its own links."""
        return {name: v for name, v in values.items() if name not in self.in_model}

    def __len__(self) -> int:
        return len(self.states)

    def __iter__(self):
        return iter(self.states)

    def get(self, reference) -> ParameterState:
        """A parameter by XSPEC index (``3``, ``'3'``, ``'p3'``) or dotted name."""
        text = str(reference).strip()
        key = text[1:] if text[:1] in "pP" and text[1:].isdigit() else text
        if key.isdigit() and 1 <= int(key) <= len(self.states):
            return self.states[int(key) - 1]
        if text.lower() in self._names:
            return self.states[self._names[text.lower()] - 1]
        raise ParameterError(
            f"no parameter {text!r}: this model has parameters 1 to "
            f"{len(self.states)} ({', '.join(s.name for s in self.states)})"
        )

    def indices(self, text: str) -> list[int]:
        """XSPEC's index list: ``2``, ``2-4``, ``2,5``, ``2 5``, or dotted names."""
        found: list[int] = []
        for part in re.split(r"[,\s]+", re.sub(r"\s*-\s*", "-", text.strip())):
            match = _RANGE.match(part.strip())
            if not match:
                found.append(self.get(part).index)
                continue
            low = int(match.group(1))
            high = int(match.group(2) or low)
            if high < low:
                raise ParameterError(f"empty parameter range {part.strip()!r}")
            found.extend(self.get(i).index for i in range(low, high + 1))
        return found

    # -------------------------------------------------------------- changes

    def newpar(self, arguments: str) -> list[ParameterState]:
        """XSPEC's ``newpar <indices> [answer]``; returns those left to prompt for."""
        match = re.match(r"^\s*([^\s=]+)\s*(.*)$", arguments)
        if not match:
            raise ParameterError("newpar needs a parameter number, e.g. newpar 2 1.7")
        states = [self.get(i) for i in self.indices(match.group(1))]
        answer = match.group(2).strip()
        if not answer:
            return states
        for state in states:
            self.apply(state, answer)
        return []

    def apply(self, state: ParameterState, answer: str) -> None:
        """Apply one answer: fields, ``= link``, ``dist(args)``; ``''``/``/`` keep."""
        text = answer.strip()
        if text in ("", "/"):
            return
        if state.name in self.in_model:
            raise ParameterError(
                f"{state.index}:{state.name} is linked in the model expression; "
                "change the model to change it"
            )
        if text.startswith("="):
            self.set_link(state, text[1:])
            return
        call = _CALL.match(text)
        if call and call.group(1).lower() in DISTRIBUTIONS:
            self.set_distribution(state, text)
            return
        self.set_fields(state, split_fields(text))

    def set_fields(self, state: ParameterState, fields: list[str | None]) -> None:
        """Set value, delta and limits in order; ``None`` keeps a field."""
        if len(fields) > len(FIELDS):
            raise ParameterError(
                f"{state.index}:{state.name}: at most {len(FIELDS)} numbers "
                "(value, delta, hard min, soft min, soft max, hard max)"
            )
        updated = dict(zip(FIELDS, state.fields(), strict=True))
        for name, text in zip(FIELDS, fields, strict=False):
            if text is not None:
                updated[name] = _number(text, f"{state.index}:{state.name} {name}")
        _check_limits(state, updated)

        for name, value in updated.items():
            setattr(state, name, value)
        if fields and fields[0] is not None:
            state.link = None
            state.distribution = None

    def set_link(self, state: ParameterState, text: str) -> None:
        """Tie the parameter to an expression of others (XSPEC's ``newpar n = ...``)."""
        link = LinkExpression.parse(text, len(self.states), self._names)
        if state.index in self._reach(link.references):
            raise ParameterError(
                f"p{state.index} = {link} would link parameter {state.index} to itself"
            )
        previous = state.link
        state.link = link
        try:
            value = float(np.asarray(self._evaluate_link(state, self._scalars())))
        except ParameterError:
            state.link = previous
            raise
        state.value = value
        state.distribution = None

    def check_reach(self, count: int) -> None:
        """Before ``fakeit N``: no distribution likely to draw past a hard limit
        in ``count`` draws (the batch would stop after all its questions)."""
        for state in self.states:
            if state.distribution is not None and state.link is None:
                _check_range(state, state.distribution, count)

    def set_distribution(self, state: ParameterState, text: str) -> None:
        """Draw the parameter from a distribution when fakeit makes spectra."""
        distribution = parse_distribution(text, f"parameter {state.index}")
        _check_range(state, distribution)
        state.distribution = distribution
        state.link = None

    def untie(self, state: ParameterState) -> None:
        """Remove a link, keeping the value it had."""
        if state.link is not None:
            state.value = float(np.asarray(self._evaluate_link(state, self._scalars())))
        state.link = None

    # -------------------------------------------------------------- values

    def values(
        self, count: int | None = None, seed: int = 0, *, sample: bool = True
    ) -> dict[str, np.ndarray]:
        """Each parameter by dotted name: ``count`` values drawn and linked.

        Without ``count``, current values (distributions ignored) as 0-d arrays;
        ``sample=False`` ignores the distributions for ``count`` values too.
        """
        size = 1 if count is None else count
        base = {s.index: np.full(size, s.value) for s in self.states}
        if count is not None and sample:
            order = [s.name for s in self.states]
            distributions = {
                s.name: s.distribution
                for s in self.states
                if s.distribution is not None and s.link is None
            }
            for name, drawn in draw(distributions, size, seed, order).items():
                base[self._names[name.lower()]] = drawn

        for state in self._link_order():
            base[state.index] = np.broadcast_to(
                np.asarray(self._evaluate_link(state, base), dtype=np.float64), size
            ).copy()
        if count is None:
            return {s.name: base[s.index][0] for s in self.states}
        return {s.name: base[s.index] for s in self.states}

    def _scalars(self) -> dict[int, np.ndarray]:
        current = self.values()
        return {s.index: current[s.name] for s in self.states}

    def _evaluate_link(self, state: ParameterState, values) -> np.ndarray:
        result = np.asarray(state.link.evaluate(values), dtype=np.float64)
        if not np.all(np.isfinite(result)):
            raise ParameterError(
                f"the link p{state.index} = {state.link} gives a value that is not "
                "finite"
            )
        return result

    def _link_order(self) -> list[ParameterState]:
        """Linked parameters, each after the linked parameters it reads."""
        ordered: list[ParameterState] = []
        placed: set[int] = set()
        pending = [s for s in self.states if s.link is not None]
        while pending:
            waiting = {s.index for s in pending}
            ready = [s for s in pending if not (s.link.references - placed) & waiting]
            if not ready:
                raise ParameterError("the parameter links form a loop")
            ordered.extend(ready)
            placed.update(s.index for s in ready)
            pending = [s for s in pending if s not in ready]
        return ordered

    def _reach(self, start: frozenset[int]) -> set[int]:
        """Every parameter reachable from ``start`` through existing links."""
        seen: set[int] = set()
        todo = list(start)
        while todo:
            index = todo.pop()
            if index in seen:
                continue
            seen.add(index)
            link = self.states[index - 1].link
            if link is not None:
                todo.extend(link.references)
        return seen


def split_fields(text: str) -> list[str | None]:
    """``'1.5,,0 0'`` -> ``['1.5', None, '0', '0']``; ``/`` also keeps a field."""
    fields: list[str | None] = []
    for piece in text.split(","):
        words = piece.split()
        if not words:
            fields.append(None)
        fields.extend(None if word == "/" else word for word in words)
    while fields and fields[-1] is None:
        fields.pop()
    return fields


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ParameterError(f"{where}: cannot read {text!r} as a number") from None
    if not np.isfinite(value):
        raise ParameterError(f"{where}: {text!r} is not a finite number")
    return value


def _check_limits(state: ParameterState, fields: dict[str, float]) -> None:
    low, high = fields["hard_min"], fields["hard_max"]
    if not fields["hard_min"] <= fields["soft_min"] <= fields["soft_max"] <= high:
        raise ParameterError(
            f"{state.index}:{state.name}: limits must satisfy hard min <= soft min "
            f"<= soft max <= hard max, got {low:g}, {fields['soft_min']:g}, "
            f"{fields['soft_max']:g}, {high:g}"
        )
    if not low <= fields["value"] <= high:
        raise ParameterError(
            f"{state.index}:{state.name} = {fields['value']:g} is outside its hard "
            f"limits [{low:g}, {high:g}]"
        )


def _check_range(state: ParameterState, distribution, count: int = 1) -> None:
    """A distribution that would draw past the hard limits: refused at
    ``newpar`` (a range crossing them, or most single draws past them), and
    for ``count`` draws at ``fakeit N``, before its questions."""
    problem = reach_problem(distribution, state.hard_min, state.hard_max, count)
    if problem is not None:
        raise ParameterError(f"parameter {state.index} ({state.name}): {problem}")


def _model_link(parameter):
    return getattr(parameter, "link", None)


def _initial_state(parameter, model) -> ParameterState:
    spec = parameter.spec
    component = _canonical_component(parameter.component, model)
    delta = abs(spec.delta) or 0.01
    return ParameterState(
        index=parameter.index,
        name=parameter.name,
        component=component,
        label=spec.name,
        unit=spec.unit,
        value=float(getattr(parameter, "default", spec.default)),
        delta=-delta if spec.frozen else delta,
        hard_min=float(spec.hard_min),
        soft_min=float(spec.soft_min),
        soft_max=float(spec.soft_max),
        hard_max=float(spec.hard_max),
    )


def _canonical_component(label: str, model) -> str:
    for use in model.resolved.components:
        if use.label == label:
            return use.spec.name
    return label
