"""Thermal plasma continua (bremsstrahlung)."""
