"""Accretion-disc continua."""
