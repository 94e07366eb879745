"""The ``plot`` command: folded model and data, counts/s/keV against keV.

The data are the loaded spectrum, as XSPEC's ``plot data``: the fake one that
``fakeit`` left loaded (with the model it was made from), or a spectrum read
with ``data`` (with the current model folded through its response).

A PNG (matplotlib, log axes) and a coarse character plot for the terminal. For
display only, adjacent channels are combined until each bin holds at least
``MIN_COUNTS`` counts, and at least 1/``MAX_BINS`` of all counts (or
``MAX_CHANNELS`` channels), much as XSPEC's ``setplot rebin`` does; the files
written by fakeit are never grouped by this. Only channels inside the response's
energy range are shown.
The model is the expected count rate of the first spectrum, background included,
binned the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specdsl.errors import SpecdslError

MIN_COUNTS = 20
MAX_CHANNELS = 64
MAX_BINS = 80


@dataclass(frozen=True)
class PlotBins:
    """Display bins: energy edges (keV), data and model rates, data errors."""

    e_low: np.ndarray
    e_high: np.ndarray
    rate: np.ndarray
    error: np.ndarray
    model: np.ndarray


def plot_bins(result, min_counts: float | None = None) -> PlotBins:
    """Group channels of the first fake spectrum for display, in counts/s/keV."""
    counts = np.asarray(result.counts[0], dtype=np.float64)
    expected = np.asarray(result.expected, dtype=np.float64)
    if min_counts is None:
        min_counts = max(MIN_COUNTS, counts.sum() / MAX_BINS)
    usable = _shown_channels(result)
    starts = _group_starts(counts, usable, min_counts)

    index = np.flatnonzero(usable)
    group = np.cumsum(np.isin(index, starts)) - 1
    summed = np.bincount(group, counts[index])
    model = np.bincount(group, expected[index])
    first = index[np.searchsorted(group, np.arange(group.max() + 1), "left")]
    last = index[np.searchsorted(group, np.arange(group.max() + 1), "right") - 1]
    e_low, e_high = result.e_min[first], result.e_max[last]

    scale = result.exposure * (e_high - e_low)
    # Known shortcoming: Poisson errors from the counts, also for a spectrum
    # read with ``data`` that has STAT_ERR (a net spectrum may be negative).
    rate, error = summed / scale, np.sqrt(np.clip(summed, 0, None)) / scale
    return PlotBins(e_low, e_high, rate, error, model / scale)


def _shown_channels(result) -> np.ndarray:
    """Channels with a positive energy range inside the response's energy grid."""
    low, high = result.energy_range
    usable = (result.e_max > result.e_min) & (result.e_min > 0)
    inside = usable & (result.e_min >= low) & (result.e_max <= high * (1 + 1e-6))
    return inside if inside.any() else usable


def _group_starts(counts, usable, min_counts) -> np.ndarray:
    """First channel of each display bin: enough counts, or MAX_CHANNELS wide."""
    starts = []
    total, width = 0.0, 0
    for channel in np.flatnonzero(usable):
        if width == 0:
            starts.append(channel)
        total += counts[channel]
        width += 1
        if total >= min_counts or width >= MAX_CHANNELS:
            total, width = 0.0, 0
    if width and total < min_counts and len(starts) > 1:
        starts.pop()  # a short last bin joins the one before it
    if not starts:
        raise SpecdslError("nothing to plot: no channel has a positive energy range")
    return np.asarray(starts)


def write_png(result, path: Path, title: str = "") -> Path:
    """Folded model (step line) and fake data (points, Poisson errors), log axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    bins = plot_bins(result)
    figure = Figure(figsize=(7.5, 5.0), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()

    shown = bins.rate > 0
    centre = np.sqrt(bins.e_low * bins.e_high)
    axes.errorbar(
        centre[shown],
        bins.rate[shown],
        yerr=bins.error[shown],
        xerr=[centre[shown] - bins.e_low[shown], bins.e_high[shown] - centre[shown]],
        fmt="o",
        markersize=2.5,
        linewidth=0.8,
        color="tab:blue",
        label=getattr(result, "label", "fake data"),
    )
    edges = np.append(bins.e_low, bins.e_high[-1])
    positive = np.where(bins.model > 0, bins.model, np.nan)
    axes.stairs(
        positive,
        edges,
        baseline=None,
        color="tab:red",
        linewidth=1.2,
        label="folded model"
        + (" + background" if result.background_expected is not None else ""),
    )

    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("Energy (keV)")
    axes.set_ylabel("counts s$^{-1}$ keV$^{-1}$")
    axes.set_title(title, fontsize=10)
    axes.legend(frameon=False)
    figure.tight_layout()
    try:
        figure.savefig(path)
    except OSError as error:
        raise SpecdslError(f"cannot write {path}: {error.strerror or error}") from None
    return path


def terminal_plot(result, width: int = 64, height: int = 16) -> str:
    """A character plot of the same bins: ``*`` data, ``-`` model, log-log axes."""
    bins = plot_bins(result)
    centre = np.sqrt(bins.e_low * bins.e_high)
    values = np.concatenate([bins.rate[bins.rate > 0], bins.model[bins.model > 0]])
    if values.size == 0:
        return "(no positive rate to plot)"

    x_low, x_high = np.log10(bins.e_low[0]), np.log10(bins.e_high[-1])
    y_low, y_high = np.log10(values.min()), np.log10(values.max())
    y_high = y_high if y_high > y_low else y_low + 1.0
    grid = [[" "] * width for _ in range(height)]

    def place(energy, rate, mark):
        column = int((np.log10(energy) - x_low) / (x_high - x_low) * (width - 1))
        row = int((y_high - np.log10(rate)) / (y_high - y_low) * (height - 1))
        if 0 <= column < width and 0 <= row < height and grid[row][column] != "*":
            grid[row][column] = mark

    for energy in np.geomspace(bins.e_low[0], bins.e_high[-1], width * 2):
        at = min(np.searchsorted(bins.e_high, energy), len(bins.model) - 1)
        model = bins.model[at]
        if model > 0:
            place(energy, model, "-")
    for energy, rate in zip(centre, bins.rate, strict=True):
        if rate > 0:
            place(energy, rate, "*")
    label = getattr(result, "label", "fake data")
    return _frame(grid, (x_low, x_high), (y_low, y_high), label)


def _frame(grid, x_range, y_range, label: str = "fake data") -> str:
    top = f"{10 ** y_range[1]:9.3g} |"
    bottom = f"{10 ** y_range[0]:9.3g} |"
    lines = []
    for number, row in enumerate(grid):
        axis = " " * 10 + "|"
        if number == 0:
            axis = top
        elif number == len(grid) - 1:
            axis = bottom
        lines.append(axis + "".join(row))
    width = len(grid[0])
    lines.append(" " * 10 + "+" + "-" * width)
    low, high = f"{10 ** x_range[0]:.3g}", f"{10 ** x_range[1]:.3g} keV"
    lines.append(" " * 11 + low + " " * max(1, width - len(low) - len(high)) + high)
    lines.append(" " * 11 + f"* {label}   - folded model   (counts/s/keV, log-log)")
    return "\n".join(lines)
