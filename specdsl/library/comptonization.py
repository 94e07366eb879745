"""Comptonisation continua."""
