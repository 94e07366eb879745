"""Numerics shared by kernels: gradient-safe forms of functions with removable holes."""

from __future__ import annotations

import jax.numpy as jnp


def safe_where(condition, value_if, value_else):
    """``jnp.where`` for values computed on guarded inputs (keeps gradients finite)."""
    return jnp.where(condition, value_if, value_else)


def exprel(z):
    """(exp(z) - 1) / z, equal to 1 at z = 0, accurate and differentiable near it."""
    small = jnp.abs(z) < 1e-8
    z_safe = jnp.where(small, 1.0, z)
    return jnp.where(small, 1.0 + 0.5 * z, jnp.expm1(z_safe) / z_safe)
