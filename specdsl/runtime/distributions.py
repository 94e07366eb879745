"""Parameter distributions written as text: ``uniform(0.1, 0.4)``, ``exponential(0.3)``.

Each parameter draws from its own generator, seeded by (seed, parameter index),
so adding or removing one parameter's distribution leaves the others unchanged.
"""

from __future__ import annotations

import re

import numpy as np

from specdsl.errors import ParameterError

_CALL = re.compile(r"\s*([A-Za-z_]+)\s*\(([^()]*)\)\s*\Z")

# name -> (argument names, sampler(generator, size, *args))
DISTRIBUTIONS = {
    "uniform": (("low", "high"), lambda g, n, a, b: g.uniform(a, b, n)),
    "loguniform": (
        ("low", "high"),
        lambda g, n, a, b: np.exp(g.uniform(np.log(a), np.log(b), n)),
    ),
    "normal": (("mean", "sigma"), lambda g, n, m, s: g.normal(m, s, n)),
    "lognormal": (("mean_log", "sigma_log"), lambda g, n, m, s: g.lognormal(m, s, n)),
    "exponential": (("scale",), lambda g, n, s: g.exponential(s, n)),
}


class Distribution:
    """A named distribution with its arguments, parsed from text without ``eval``."""

    def __init__(self, name: str, arguments: tuple[float, ...]):
        self.name = name
        self.arguments = arguments

    def sample(self, generator: np.random.Generator, size: int) -> np.ndarray:
        if self.name == "fixed":
            return np.full(size, self.arguments[0])
        _, sampler = DISTRIBUTIONS[self.name]
        return np.asarray(sampler(generator, size, *self.arguments), dtype=np.float64)

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{a:g}' for a in self.arguments)})"


def parse_distribution(text: str, where: str = "") -> Distribution:
    """``"uniform(1, 3)"`` or a plain number (a fixed value)."""
    label = f"{where}: " if where else ""
    try:
        return Distribution("fixed", (float(text),))
    except ValueError:
        pass

    match = _CALL.match(text)
    if not match or match.group(1).lower() not in DISTRIBUTIONS:
        known = ", ".join(f"{n}({', '.join(a)})" for n, (a, _) in DISTRIBUTIONS.items())
        raise ParameterError(
            f"{label}cannot read {text!r}: give a number or one of {known}"
        )

    name = match.group(1).lower()
    names, _ = DISTRIBUTIONS[name]
    arguments = _numbers(match.group(2), f"{label}{name}")
    if len(arguments) != len(names):
        raise ParameterError(
            f"{label}{name} takes {len(names)} argument(s) ({', '.join(names)}), "
            f"got {len(arguments)}"
        )
    return Distribution(name, arguments)


def _numbers(text: str, where: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",")) if text.strip() else ()
    except ValueError:
        raise ParameterError(
            f"{where}: arguments must be numbers, got {text!r}"
        ) from None


def draw(distributions: dict, count: int, seed: int, order: list[str]) -> dict:
    """Sample ``count`` values of each named distribution, reproducibly."""
    drawn = {}
    for name, distribution in distributions.items():
        stream = np.random.default_rng([seed, order.index(name)])
        drawn[name] = distribution.sample(stream, count)
    return drawn
