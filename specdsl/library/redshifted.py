"""Redshifted forms of additive components."""
