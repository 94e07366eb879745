"""specdsl: XSPEC model strings compiled to JAX; fake spectra through OGIP responses.

    import specdsl
    obs = specdsl.Observation.from_pha("obs_1.pha")
    model = specdsl.compile("tbabs*(powerlaw+bbodyrad)")
    spectra = specdsl.fakeit(obs, model, {"powerlaw_1.PhoIndex": [1.5, 2.0]}, seed=42)

Heavy modules (JAX, astropy) load on first use, so ``import specdsl`` is cheap.
"""

from __future__ import annotations

import importlib
import os
import sys

__version__ = "0.1.0"

# Models are evaluated in float64 (specdsl._jax): arrays a user makes with
# jax.numpy after ``import specdsl`` must be float64 too. JAX not loaded yet
# reads the flag from the environment when it is, so JAX need not load here.
if "jax" in sys.modules:
    importlib.import_module("specdsl._jax")
else:
    os.environ.setdefault("JAX_ENABLE_X64", "1")

_EXPORTS = {
    "compile": "specdsl.model",
    "Model": "specdsl.model",
    "parse": "specdsl.syntax.parser",
    "parse_value": "specdsl.syntax.parser",
    "to_string": "specdsl.syntax.printer",
    "NodeVisitor": "specdsl.syntax.visitor",
    "NodeTransformer": "specdsl.syntax.visitor",
    "to_json": "specdsl.syntax.visitor",
    "from_json": "specdsl.syntax.visitor",
    "nodes": "specdsl.syntax",
    "Observation": "specdsl.response.observation",
    "FoldedModel": "specdsl.fold",
    "fakeit": "specdsl.runtime.fakeit",
    "fakeit_for_multiple_parameters": "specdsl.runtime.fakeit",
    "write_pha": "specdsl.output.pha",
    "ComponentSpec": "specdsl.library.registry",
    "ParameterSpec": "specdsl.library.registry",
    "register": "specdsl.library.registry",
    "component": "specdsl.library.registry",
    "SpecdslError": "specdsl.errors",
    "ModelSyntaxError": "specdsl.errors",
    "ModelError": "specdsl.errors",
    "ParameterError": "specdsl.errors",
    "OGIPError": "specdsl.errors",
    "OutputError": "specdsl.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'specdsl' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
