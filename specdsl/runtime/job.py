"""One fakeit run from start to finish, stage by stage, as the command line runs it.

The stages (read, compile, simulate, write) are timed so the benchmark script
and a curious user can see where the seconds go.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from specdsl.errors import ParameterError

_COPIED_KEYWORDS = ("TELESCOP", "INSTRUME", "FILTER", "CHANTYPE")


@dataclass
class FakeitJob:
    """Everything one ``specdsl fakeit`` run needs, with per-stage timings."""

    expression: str
    spectrum: str | None = None
    rmf: str | None = None
    arf: str | None = None
    count: int = 1
    params: list[str] = field(default_factory=list)
    seed: int = 0
    exposure: float | None = None
    counting_statistics: bool = True
    output: str | None = None
    clobber: bool = False
    batch_size: int = 2048
    timings: dict[str, float] = field(default_factory=dict)
    n_channels: int = 0

    def run(self, progress: bool = False) -> Path:
        """Read, compile, simulate and write; returns the path written."""
        from specdsl.output.pha import check_output, write_pha

        with self._stage("read"):
            observation = self._observation()
        output = Path(self.output or _default_output(self.spectrum, observation))
        check_output(output, self.clobber)

        with self._stage("compile"):
            folded = self._folded(observation)
            values = self._values(folded.model)
        with self._stage("simulate"):
            spectra = self._simulate(folded, values, progress)
        with self._stage("write"):
            path = write_pha(
                output,
                spectra[0] if self.count == 1 else spectra,
                clobber=self.clobber,
                **self._header(folded, values),
            )
        return path

    def _observation(self):
        from specdsl.response.observation import Observation

        if self.spectrum:
            return Observation.from_pha(self.spectrum, rmf=self.rmf, arf=self.arf)
        if self.rmf:
            return Observation.from_response(self.rmf, self.arf)
        if self.arf:
            raise ParameterError("--arf needs --rmf or a spectrum to go with it")
        return Observation.default()

    def _folded(self, observation):
        from specdsl.fold import FoldedModel
        from specdsl.model import compile

        if self.exposure is not None and not self.exposure > 0:
            raise ParameterError(f"--exposure must be > 0 s, got {self.exposure:g}")
        model = compile(self.expression)
        folded = FoldedModel(model, observation, exposure=self.exposure)
        self.n_channels = folded.n_bins
        return folded

    def _values(self, model) -> dict[str, np.ndarray]:
        """Each parameter as ``count`` values: drawn, fixed, or the default."""
        from specdsl import parameters as _parameters
        from specdsl.runtime.distributions import draw, parse_distribution

        distributions = {}
        for item in self.params:
            name, sep, text = item.partition("=")
            if not sep:
                raise ParameterError(f"--param {item!r}: write it as NAME=VALUE")
            distributions[name.strip()] = parse_distribution(
                text, f"--param {name.strip()}"
            )

        order = [str(name) for name in distributions]
        drawn = draw(distributions, self.count, self.seed, order)
        values, _ = _parameters.normalize(model.parameters, drawn)
        return {
            name: np.broadcast_to(v, (self.count,)).copy() for name, v in values.items()
        }

    def _simulate(self, folded, values, progress: bool) -> np.ndarray:
        from specdsl.runtime.fakeit import iter_spectra

        dtype = np.int32 if self.counting_statistics else np.float64
        spectra = np.empty((self.count, folded.n_bins), dtype=dtype)
        blocks = iter_spectra(
            folded, values, self.seed, self.counting_statistics, self.batch_size
        )
        with _progress(progress, self.count) as advance:
            for start, block in blocks:
                spectra[start : start + len(block)] = block
                advance(len(block))
        return spectra

    def _header(self, folded, values) -> dict:
        obs = folded.observation
        header = {
            "channels": obs.channels,
            "exposure": folded.exposure,
            "keywords": self._keywords(obs),
            "poisserr": self.counting_statistics,
            "respfile": _name(obs.rmf_path),
            "ancrfile": _name(obs.arf_path),
            "backscal": obs.backscal,
            "areascal": obs.areascal,
        }
        if self.count > 1:
            header["parameters"] = values
        return header

    def _keywords(self, obs) -> dict:
        """Instrument keywords copied through, plus XSPEC's record of the fake."""
        copied = {k: v for k, v in obs.keywords.items() if k in _COPIED_KEYWORDS}
        copied["FKSRC001"] = self.expression
        copied["FKRSP001"] = _name(obs.rmf_path) or "specdsl default response"
        if obs.arf_path:
            copied["FKARF001"] = _name(obs.arf_path)
        return copied

    @contextmanager
    def _stage(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = time.perf_counter() - started


def _default_output(spectrum, observation) -> str:
    """XSPEC's default: the spectrum's (or response's) name with ``.fak``."""
    source = spectrum or observation.rmf_path
    return Path(source).name.split(".")[0] + ".fak" if source else "specdsl_default.fak"


def _name(path) -> str | None:
    return Path(path).name if path else None


@contextmanager
def _progress(enabled: bool, total: int):
    if not enabled or total < 2:
        yield lambda n: None
        return

    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("simulating", total=total)
        yield lambda n: bar.update(task, advance=n)
