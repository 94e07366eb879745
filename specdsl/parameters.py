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
    given = _by_name(parameters, _flatten({} if values is None else values))
    batch_shape = _batch_shape(given)

    filled = {}
    for parameter in parameters:
        value = given.get(parameter.name, parameter.default)
        filled[parameter.name] = np.broadcast_to(value, batch_shape).astype(np.float64)
    return filled, batch_shape


def _flatten(values) -> list[tuple[object, object]]:
    """(key, value) pairs, nested per-component mappings spelled out as dotted names."""
    if not isinstance(values, Mapping):
        raise ParameterError(
            "parameters must be a mapping of names to values, "
            f"not {type(values).__name__}"
        )

    flat = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat.extend((f"{key}.{name}", inner) for name, inner in value.items())
        else:
            flat.append((key, value))
    return flat


def names_lookup(parameters) -> dict:
    """Parameters by lower-cased dotted name, and by a table model's own names
    for them (``ephabs_1.None`` for ``ephabs_1.None_``)."""
    lookup = {p.name.lower(): p for p in parameters}
    for parameter in parameters:
        for alias in parameter.spec.aliases:
            lookup.setdefault(f"{parameter.component}.{alias}".lower(), parameter)
    return lookup


def _by_name(parameters, flat) -> dict[str, np.ndarray]:
    lookup = names_lookup(parameters)
    by_index = {p.index: p for p in parameters}

    found = {}
    spelled = {}
    for key, value in flat:
        parameter = _lookup(key, lookup, by_index)
        if parameter is None:
            valid = ", ".join(p.name for p in parameters)
            raise ParameterError(f"unknown parameter {key!r}; this model has: {valid}")
        if parameter.name in spelled:
            raise ParameterError(
                f"{parameter.name} is given twice (as {spelled[parameter.name]!r} "
                f"and {key!r}); give each parameter once"
            )
        spelled[parameter.name] = key
        if parameter.link is not None:
            raise ParameterError(
                f"{parameter.name} is linked to other parameters in the model; set "
                "those instead"
            )
        found[parameter.name] = _checked(parameter, value)
    return found


def _lookup(key, lookup: dict, by_index: dict):
    """The parameter a key names: a global index (int) or a case-blind name."""
    if isinstance(key, bool):
        return None  # True is an int to Python, but never a parameter index
    if isinstance(key, (int, np.integer)):
        return by_index.get(int(key))
    if not isinstance(key, str):
        return None
    return lookup.get(key.strip().lower())


def _checked(parameter, value) -> np.ndarray:
    """The values as float64, refusing text, complex, NaN/inf and the hard limits."""
    array = _as_numbers(parameter, value)

    bad = ~np.isfinite(array)
    if bad.any():
        raise ParameterError(
            f"{parameter.name}{_at(bad)}: values must be finite "
            f"(got {array[bad].flat[0]})"
        )
    spec = parameter.spec
    below = array < spec.hard_min
    if below.any():
        raise ParameterError(
            f"{parameter.name}{_at(below)} = {array[below].flat[0]:g} is below its "
            f"hard limit {spec.hard_min:g}"
        )
    above = array > spec.hard_max
    if above.any():
        raise ParameterError(
            f"{parameter.name}{_at(above)} = {array[above].flat[0]:g} is above its "
            f"hard limit {spec.hard_max:g}"
        )
    return array


def _as_numbers(parameter, value) -> np.ndarray:
    """A number or array of real numbers as float64; text and booleans are refused."""
    wrong = f"{parameter.name}: expected a number or an array of numbers, got "
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise ParameterError(wrong + f"{value!r:.60}")
    if type(value).__name__.endswith("Tracer"):  # jax, not imported here
        raise ParameterError(
            wrong + "a traced JAX value: under jit, grad or vmap call "
            "model.function(params, edges, model.prepare(edges)), which is pure"
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise ParameterError(wrong + f"{value!r:.60}") from None
    if array.size == 0:
        raise ParameterError(f"{parameter.name}: the array of values is empty")
    if array.dtype.kind not in "iuf" and not (
        array.dtype.kind == "O" and array.size and _all_real(array)
    ):
        raise ParameterError(wrong + f"{value!r:.60} (dtype {array.dtype})")
    try:
        return np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(wrong + f"{value!r:.60}") from None


def _all_real(array: np.ndarray) -> bool:
    """Whether an object array holds only real numbers (e.g. Python ints and floats)."""
    return all(
        isinstance(item, (int, float, np.integer, np.floating))
        and not isinstance(item, (bool, np.bool_))
        for item in array.flat
    )


def _at(mask: np.ndarray) -> str:
    """'[i]' (or '[i, j]') of the first offending element of an array; '' for 0-d."""
    if mask.ndim == 0:
        return ""
    index = ", ".join(str(int(i)) for i in np.argwhere(mask)[0])
    return f"[{index}]"


def _batch_shape(given) -> tuple[int, ...]:
    """The one shape every array parameter shares (scalars broadcast against it)."""
    shapes = {name: value.shape for name, value in given.items() if value.ndim > 0}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ParameterError(
            f"parameter arrays have different shapes: {listed}; give every array "
            "parameter the same batch shape (one value per spectrum)"
        )
    return next(iter(shapes.values()), ())
