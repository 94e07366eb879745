"""Redshifted forms of additive components, by XSPEC's convention.

The rest-frame component is evaluated on the observed bin edges times (1 + z)
and every bin is divided by (1 + z) (time dilation): ``zpowerlw``, ``zcutoffpl``,
``zbbody``, ``zbremss``, ``zgauss`` and ``zagauss`` are built that way in XSPEC.
Rest-frame parameters (LineE, kT, HighECut) keep their rest-frame meaning.
"""

from __future__ import annotations

import jax.numpy as jnp

from specdsl.library import continuum, lines, plasma
from specdsl.library.registry import ADDITIVE, ComponentSpec, ParameterSpec, register


def redshift_parameter():
    """XSPEC's Redshift parameter: frozen at 0, limits -0.999 .. 10."""
    return ParameterSpec("Redshift", 0.0, "", 0.01, -0.999, -0.999, 10.0, 10.0, True)


def redshifted(kernel):
    """The kernel of the redshifted component: rest-frame kernel on edges (1 + z)."""

    def redshifted_kernel(edges, constants, Redshift, **params):
        factor = 1.0 + Redshift
        return kernel(edges * factor, constants, **params) / factor

    redshifted_kernel.__doc__ = f"{kernel.__name__} on edges (1 + z), over (1 + z)."
    return redshifted_kernel


def _shifted_power_law(edges, constants, Redshift, PhoIndex):
    """powerlaw on edges (1 + z), over (1 + z): its grid logarithms move by log(1+z)."""
    factor = 1.0 + Redshift
    shifted = dict(constants, log_base=constants["log_base"] + jnp.log(factor))
    return continuum.powerlaw_kernel(edges * factor, shifted, PhoIndex) / factor


def _redshifted_spec(name, rest, description, reference, kernel=None):
    """Register ``name``: ``rest``'s parameters then Redshift, in XSPEC's order."""
    return register(
        ComponentSpec(
            name,
            ADDITIVE,
            rest.parameters + (redshift_parameter(),),
            kernel or redshifted(rest.kernel),
            prepare=rest.prepare,
            description=description,
            reference=reference,
        )
    )


_HEASOFT = "XSPEC 12.9.1 (HEASoft 6.20) Xspec/src/XSFunctions"

zpowerlw = _redshifted_spec(
    "zpowerlw",
    continuum.powerlaw,
    "Redshifted power law: K (E (1+z))^-PhoIndex / (1+z) per observed keV",
    f"XSPEC manual, zpowerlw; {_HEASOFT}/powerLaw.cxx",
    kernel=_shifted_power_law,
)

zcutoffpl = _redshifted_spec(
    "zcutoffpl",
    continuum.cutoffpl,
    "Redshifted cut-off power law (HighECut in the rest frame)",
    "XSPEC manual, zcutoffpl (XSPEC 12.10+; parameters as Sherpa declares them)",
)

zbbody = _redshifted_spec(
    "zbbody",
    continuum.bbody,
    "Redshifted black body, norm L_39 / (D_10 (1+z))^2",
    f"XSPEC manual, zbbody; {_HEASOFT}/xszbod.f",
)

zbremss = _redshifted_spec(
    "zbremss",
    plasma.bremss,
    "Redshifted thermal bremsstrahlung (He/H = 0.085)",
    f"XSPEC manual, zbremss; {_HEASOFT}/xszbrm.f",
)

zgauss = _redshifted_spec(
    "zgauss",
    lines.gaussian,
    "Redshifted Gaussian line (LineE, Sigma in the rest frame)",
    f"XSPEC manual, zgauss; {_HEASOFT}/xszgau.cxx",
)

zagauss = _redshifted_spec(
    "zagauss",
    lines.agauss,
    "Redshifted Gaussian line in wavelength (Angstrom, rest frame)",
    f"XSPEC manual, zagauss; {_HEASOFT}/zagauss.cxx",
)
