"""Parameter distributions written as text: ``uniform(0.1, 0.4)``, ``exponential(0.3)``.

Random draws: each parameter draws from its own generators, seeded by (seed,
the parameter's XSPEC index, block), where a block is ``BLOCK`` consecutive
spectra. So adding or removing one parameter's distribution leaves the others
unchanged, and any range of spectra can be drawn alone with the same values
(bounded memory for streamed jobs, shares for several processes).

Designs: ``quantile(u)`` maps points of the unit cube (a Latin hypercube or a
Sobol sequence) through each distribution's inverse CDF.
"""

from __future__ import annotations

import re

import numpy as np

from specdsl.errors import ParameterError

_CALL = re.compile(r"\s*([A-Za-z_]+)\s*\(([^()]*)\)\s*\Z")
U_FLOOR = 2.0**-31  # half the cell of scipy's 30-bit Sobol points

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

    def quantile(self, u: np.ndarray) -> np.ndarray:
        """The inverse CDF at ``u`` in [0, 1): maps a design's unit cube to values.

        A scrambled Sobol sequence puts one point at exactly 0 in each dimension
        (its 30 bits cut off the rest): ``u`` is raised to ``U_FLOOR``, the middle
        of that first cell, so a normal gets a finite value and a lognormal one
        above 0.
        """
        u = np.maximum(np.asarray(u, dtype=np.float64), U_FLOOR)
        if self.name == "fixed":
            return np.full(u.shape, self.arguments[0])
        if self.name == "uniform":
            low, high = self.arguments
            return low + (high - low) * u
        if self.name == "loguniform":
            low, high = np.log(self.arguments)
            return np.exp(low + (high - low) * u)
        if self.name == "exponential":
            return -self.arguments[0] * np.log1p(-u)

        from scipy.special import ndtri

        mean, sigma = self.arguments
        normal = mean + sigma * ndtri(u)
        return np.exp(normal) if self.name == "lognormal" else normal

    def outside(self, low: float, high: float) -> float:
        """The probability of a draw below ``low`` or above ``high``."""
        from scipy.special import ndtr

        if self.name in ("fixed", "uniform", "loguniform"):
            first, last = self.arguments[0], self.arguments[-1]
            return float(first < low or last > high)  # any draw may land there
        if self.name == "exponential":
            scale = self.arguments[0]
            below = -np.expm1(-low / scale) if low > 0 else 0.0
            above = np.exp(-high / scale) if high > 0 else 1.0
            return float(min(1.0, below + above))
        mean, sigma = self.arguments
        if self.name == "lognormal":  # the same in log space
            low = np.log(low) if low > 0 else -np.inf
            high = np.log(high) if high > 0 else -np.inf
        return float(ndtr((low - mean) / sigma) + ndtr((mean - high) / sigma))

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{a:g}' for a in self.arguments)})"


# An unbounded distribution is refused when this many of a job's draws are
# expected past a hard limit (a job stops at the first one).
MAX_EXPECTED_OUTSIDE = 1e-3


def reach_problem(distribution, low: float, high: float, count: int) -> str | None:
    """Why ``count`` draws would go past the hard limits [low, high], or None: a
    range crossing them, or a tail likely to reach them in that many draws."""
    if distribution.name == "fixed":
        return None  # one value: checked as values are
    chance = distribution.outside(low, high)
    expected = chance * count
    if expected < MAX_EXPECTED_OUTSIDE:
        return None
    limits = f"[{low:g}, {high:g}]"
    if distribution.name in ("uniform", "loguniform"):
        return f"{distribution!r} reaches past the hard limits {limits}"
    share = f", about {expected:.3g} of {count} spectra" if count > 1 else ""
    return (
        f"{distribution!r} puts a draw past the hard limits {limits} with "
        f"probability {chance:.3g}{share}; narrow it (the job would stop at the "
        "first such draw)"
    )


def parse_distribution(text: str, where: str = "") -> Distribution:
    """``"uniform(1, 3)"`` or a plain number (a fixed value)."""
    label = f"{where}: " if where else ""
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not np.isfinite(value):
            raise ParameterError(f"{label}a fixed value must be finite, got {text!r}")
        return Distribution("fixed", (value,))

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
    _check_arguments(name, arguments, f"{label}{text.strip()}")
    return Distribution(name, arguments)


def _check_arguments(name: str, arguments: tuple[float, ...], where: str) -> None:
    """Refuse arguments the distribution cannot take, before anything is drawn."""
    if not all(np.isfinite(arguments)):
        raise ParameterError(f"{where}: arguments must be finite numbers")
    if name in ("uniform", "loguniform") and not arguments[0] < arguments[1]:
        raise ParameterError(f"{where}: low must be below high")
    if name == "loguniform" and not arguments[0] > 0:
        raise ParameterError(f"{where}: loguniform needs 0 < low < high")
    if name in ("normal", "lognormal") and not arguments[1] > 0:
        raise ParameterError(f"{where}: the width must be > 0")
    if name == "exponential" and not arguments[0] > 0:
        raise ParameterError(f"{where}: the scale must be > 0")


def _numbers(text: str, where: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",")) if text.strip() else ()
    except ValueError:
        raise ParameterError(
            f"{where}: arguments must be numbers, got {text!r}"
        ) from None


BLOCK = 4096


def draw(distributions: dict, count: int, seed: int, order: list[str]) -> dict:
    """``count`` values of each named distribution; ``order`` lists the model's
    parameter names in XSPEC order (a name's index there + 1 is its XSPEC index).
    """
    indices = {name: order.index(name) + 1 for name in distributions}
    return draw_range(distributions, 0, count, seed, indices)


def draw_range(
    distributions: dict, first: int, stop: int, seed: int, indices: dict
) -> dict:
    """Values of spectra ``first .. stop - 1`` for each named distribution.

    ``indices`` gives each name's XSPEC parameter index; spectrum i's value comes
    from the stream seeded by (seed, index, i // BLOCK), position i % BLOCK.
    """
    drawn = {}
    blocks = range(first // BLOCK, -(-stop // BLOCK)) if stop > first else range(0)
    for name, distribution in distributions.items():
        parts = []
        for block in blocks:
            stream = np.random.default_rng([seed, indices[name], block])
            values = distribution.sample(stream, BLOCK)
            lo = max(first - block * BLOCK, 0)
            hi = min(stop - block * BLOCK, BLOCK)
            parts.append(values[lo:hi])
        drawn[name] = np.concatenate(parts) if parts else np.empty(0)
    return drawn
