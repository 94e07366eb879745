"""User parameter values to arrays: names checked, defaults filled, limits enforced.

Accepted forms: flat dotted names (``{"powerlaw_1.PhoIndex": 1.7}``), nested per
component (``{"powerlaw_1": {"PhoIndex": 1.7}}``) or XSPEC's global indices
(``{2: 1.7}``). Names are case-insensitive. Scalars broadcast against arrays.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from specdsl.errors import ParameterError


def normalize(parameters, values) -> tuple[dict[str, np.ndarray], tuple[int, ...]]:
    """Every parameter of the model as a float64 array of one common batch shape."""
    given = _by_name(parameters, _flatten(values or {}))
    batch_shape = _batch_shape(given)

    filled = {}
    for parameter in parameters:
        value = given.get(parameter.name, parameter.default)
        filled[parameter.name] = np.broadcast_to(value, batch_shape).astype(np.float64)
    return filled, batch_shape


def _flatten(values) -> dict:
    if not isinstance(values, Mapping):
        raise ParameterError(
            "parameters must be a mapping of names to values, "
            f"not {type(values).__name__}"
        )

    flat = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat.update({f"{key}.{name}": inner for name, inner in value.items()})
        else:
            flat[key] = value
    return flat


def _by_name(parameters, flat) -> dict[str, np.ndarray]:
    lookup = {p.name.lower(): p for p in parameters}
    by_index = {p.index: p for p in parameters}

    found = {}
    for key, value in flat.items():
        parameter = (
            by_index.get(key) if isinstance(key, int) else lookup.get(str(key).lower())
        )
        if parameter is None:
            valid = ", ".join(p.name for p in parameters)
            raise ParameterError(f"unknown parameter {key!r}; this model has: {valid}")
        if parameter.link is not None:
            raise ParameterError(
                f"{parameter.name} is linked to other parameters in the model; set "
                "those instead"
            )
        found[parameter.name] = _checked(parameter, value)
    return found


def _checked(parameter, value) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{parameter.name}: expected a number or an array of numbers, "
            f"got {value!r:.60}"
        ) from None

    if not np.all(np.isfinite(array)):
        raise ParameterError(
            f"{parameter.name}: values must be finite (got NaN or inf)"
        )
    spec = parameter.spec
    if np.any(array < spec.hard_min):
        raise ParameterError(
            f"{parameter.name} = {array.min():g} is below its hard limit "
            f"{spec.hard_min:g}"
        )
    if np.any(array > spec.hard_max):
        raise ParameterError(
            f"{parameter.name} = {array.max():g} is above its hard limit "
            f"{spec.hard_max:g}"
        )
    return array


def _batch_shape(given) -> tuple[int, ...]:
    shapes = {name: value.shape for name, value in given.items() if value.ndim > 0}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ParameterError(f"parameter arrays have different shapes: {listed}")
    return next(iter(shapes.values()), ())
