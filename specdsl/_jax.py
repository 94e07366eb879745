"""JAX set-up that specdsl relies on, done once before any array is made.

Models are evaluated in float64: exact bin integrals (powerlaw at PhoIndex = 1,
black bodies on narrow bins) lose digits in float32. This switches JAX's global
``jax_enable_x64`` flag on, as jaxspec does.
"""

import jax

jax.config.update("jax_enable_x64", True)
