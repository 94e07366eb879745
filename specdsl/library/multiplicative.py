"""Multiplicative components other than absorbers: cut-offs, edges, line absorption."""
