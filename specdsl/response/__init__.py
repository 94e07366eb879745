"""Observation and response stage: OGIP readers and the `Observation` folding needs."""

from specdsl.response.observation import Observation
from specdsl.response.ogip import (
    EffectiveArea,
    Redistribution,
    Spectrum,
    read_arf,
    read_pha,
    read_rmf,
)

__all__ = [
    "EffectiveArea",
    "Observation",
    "Redistribution",
    "Spectrum",
    "read_arf",
    "read_pha",
    "read_rmf",
]
