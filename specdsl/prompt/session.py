"""The state of one ``specdsl fakeit`` prompt session, and its command loop.

A session holds what XSPEC holds for fakeit: the loaded spectrum and the
response, ARF and background chosen for it (or a dummy response), the model with
its parameters, the ``abund``/``xsect`` settings, and the last fake spectra (for
``plot``). Commands come from a stack of inputs: the terminal or a piped script
at the bottom, an ``@file.xcm`` on top while it runs; a command's own questions
are answered from the same input, as in XSPEC.

As in XSPEC, ``fakeit`` replaces the loaded spectrum with the fake one (also
with ``nowrite``): the data set becomes the ``.fak`` spectrum, in memory, with
the response and ARF it was made through, its exposure and correction norm, and
the simulated background as its background. The next ``fakeit`` starts from it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specdsl.errors import OGIPError, SpecdslError
from specdsl.prompt.responses import (
    XSPEC_EXTENSION,
    XSPEC_RANGES,
    EnergyGrid,
    ExtendedEnergies,
)
from specdsl.runtime import interrupt

PROMPT = "specdsl> "
MAX_SCRIPT_DEPTH = 16
XSPEC_SETTINGS = {"abund": "angr", "xsect": "vern"}  # Xspec.init (6.20), fallback
# What ``response``, ``arf``, ``backgrnd`` and ``dummyrsp`` set on a session.
CHOICES = ("response_path", "response_removed", "builtin_response", "arf_choice",
           "background_choice", "dummy_active")  # fmt: skip


@dataclass
class FakeData:
    """A fake spectrum loaded as the data set, as XSPEC's fakeit leaves it.

    ``observation`` is the response it was made through with the fake counts,
    exposure, scales and background (the simulated one) in place of the data's.
    """

    path: Path  # the .fak name given at the prompt (written or not)
    observation: object
    correction: float
    written: bool
    counting_statistics: bool
    through_dummy: bool  # made through the dummy response
    energies: object | None  # the ``energies`` setting it was made with
    row: int | None = None  # spectrum 1 of a type II batch
    result: FakeResult | None = None  # what fakeit made (for plot)

    @property
    def name(self) -> str:
        """The data set's name: ``3c.fak``, or ``b.fak{1}`` for a batch."""
        return self.path.name + ("" if self.row is None else f"{{{self.row}}}")


@dataclass
class FakeResult:
    """What the last ``fakeit`` made: enough to plot it and to describe it."""

    counts: np.ndarray  # (n_spectra, channels)
    expected: np.ndarray  # (channels,) expected total counts of spectrum 1
    background_expected: np.ndarray | None  # (channels,) in the source spectrum
    e_min: np.ndarray
    e_max: np.ndarray
    energy_range: tuple[float, float]
    exposure: float
    counting_statistics: bool
    expression: str
    parameters: dict = dataclasses.field(default_factory=dict)
    files: tuple[Path, ...] = ()
    label: str = "fake data"  # "data" for a spectrum read with ``data``


class Session:
    """One prompt session: files, model, parameters, settings and the last fake."""

    def __init__(self, console=None, *, cwd=None, seed: int = 0):
        from rich.console import Console

        self.console = console or Console(highlight=False)
        self.cwd = Path(cwd or os.getcwd())
        self.inputs: list = []
        self.running = True
        self.errors = 0

        self.data_path: Path | None = None
        self.data_corrscal = 1.0
        self.response_path: Path | str | None = None  # str: DIAGONAL
        self.response_removed = False  # ``response none`` with a spectrum loaded
        self.builtin_response = False
        self.arf_choice: Path | bool | None = None  # None: the header's ANCRFILE
        self.background_choice: Path | bool | None = None  # None: BACKFILE
        self.dummy_grid = EnergyGrid()
        self.dummyrsp_grid = EnergyGrid()  # dummyrsp's: what energies reset restores
        self.dummy_channels = (0.0, 0.0)
        self.dummy_active = False
        self.dummy_dropped_background = False
        # ``energies``: EnergyGrid, RangeGrid, FileGrid or ExtendedEnergies; the
        # ranges and the extension last entered are the next call's defaults.
        self.energies = None
        self.energy_ranges: tuple[EnergyGrid, ...] = XSPEC_RANGES
        self.extension_default = XSPEC_EXTENSION
        self.fake: FakeData | None = None
        self._observation = None

        self.model = None
        self.table = None
        self._settings: dict[str, str] | None = None
        self.seed = seed  # as xset seed set it
        self.next_seed = seed  # where the next fakeit's draws start from
        self.last: FakeResult | None = None
        self.where: str | None = None  # the script line of the running command
        self.fold_cache = None

    @property
    def settings(self) -> dict[str, str]:
        """``abund`` and ``xsect`` in force (read on first use: loads the library)."""
        if self._settings is None:
            self._settings = current_settings()
        return self._settings

    # ------------------------------------------------------------ input

    @property
    def interactive(self) -> bool:
        return bool(self.inputs) and self.inputs[-1].interactive

    def ask(self, prompt: str) -> str:
        """A command's question, answered by the innermost input that has lines;
        a SpecdslError when every input has ended (the command stops there)."""
        for source in reversed(self.inputs):
            answer = source.read(prompt, "answer")
            if answer is not None:
                return answer
        raise SpecdslError(
            f"the input ended at the question {prompt.strip()!r}: the command "
            "stopped without its answers"
        )

    def run(self, source) -> None:
        """Read and run commands from ``source`` until it ends or ``exit``."""
        from specdsl.prompt.commands import dispatch

        if len(self.inputs) >= MAX_SCRIPT_DEPTH:
            raise SpecdslError(f"scripts nested more than {MAX_SCRIPT_DEPTH} deep")
        self.inputs.append(source)
        try:
            while self.running:
                try:
                    line = source.read(PROMPT, "command")
                except KeyboardInterrupt:
                    if interrupt.terminating():
                        raise  # SIGTERM ends the session
                    continue  # Ctrl-C at an empty prompt: a fresh prompt
                if line is None:
                    break
                self.where = _script_line(source)
                dispatch(self, line)
        finally:
            self.inputs.pop()

    def path(self, text: str) -> Path:
        """A file named at the prompt: from the working directory, else beside the
        script being run (so an .xcm finds files saved next to it); a type II
        row (``file{2}``) stays on the name, and a missing ``file`` may be
        ``file.gz``, as CFITSIO looks for it under XSPEC."""
        named = Path(text.strip().strip("'\"")).expanduser()
        places = [Path()] if named.is_absolute() else [self.cwd]
        for source in reversed(self.inputs):
            folder = getattr(source, "folder", None)
            if folder is not None and not named.is_absolute():
                places.append(folder)
        for place in places:
            for candidate in _with_gz(place / named):
                if _file_there(candidate):
                    return candidate
        return places[0] / named

    # ------------------------------------------------------------ files

    def response_choice(self, text: str) -> Path | str:
        """A ``response`` answer: a file, or ``diagonal`` (an ideal detector on
        the ARF's grid, for a spectrum that comes without an RMF)."""
        from specdsl.response.observation import DIAGONAL

        return DIAGONAL if text.strip().lower() == DIAGONAL else self.path(text)

    def load_data(self, path: Path) -> None:
        """XSPEC's ``data``: a spectrum; its header links hold unless overridden."""
        from specdsl.response.ogip import read_pha, split_row_suffix

        file, row = split_row_suffix(path, None)
        spectrum = read_pha(file, row=row)
        self._replace_data(path, _scalar(spectrum.corrscal, 1.0))

    def load_fake(self, fake: FakeData) -> None:
        """XSPEC's fakeit: the fake spectrum becomes the loaded data set."""
        self._replace_data(fake.path, fake.correction)
        self.fake = fake

    def unload_data(self) -> None:
        """``data none``: no spectrum loaded (the response choices stay)."""
        self.data_path = None
        self.fake = None
        self.forget_observation()

    def _replace_data(self, path: Path, corrscal: float) -> None:
        """A new data set: choices made for the previous one no longer hold."""
        self.data_path = path
        self.fake = None
        self.response_path = None
        self.response_removed = False
        self.arf_choice = None
        self.background_choice = None
        self.builtin_response = False
        self.dummy_active = False
        self.data_corrscal = corrscal
        self.forget_observation()

    def choices(self) -> dict:
        """The response, ARF, background and dummy choices, to restore later."""
        return {name: getattr(self, name) for name in CHOICES}

    def restore_choices(self, saved: dict) -> None:
        """Undo the choices made since ``choices()`` was taken."""
        for name, value in saved.items():
            setattr(self, name, value)
        self.forget_observation()

    @property
    def data_name(self) -> str | None:
        """The loaded data set's name (``src.pha``, ``3c.fak``), or None."""
        if self.fake is not None:
            return self.fake.name
        return None if self.data_path is None else self.data_path.name

    def forget_observation(self) -> None:
        self._observation = None

    def observation(self):
        """The Observation fakeit folds through, or None when no response is set."""
        if self._observation is None:
            self._observation = self._build_observation()
        return self._observation

    def _build_observation(self):
        from specdsl.response.observation import Observation

        if self.dummy_active:
            observation = self._dummy_observation()
            if isinstance(self.energies, ExtendedEnergies):
                return self.on_model_energies(observation)
            return observation
        if self.response_removed:
            raise OGIPError(
                self.data_path,
                "no response: removed with  response none",
                field="RESPFILE",
            )
        if self.fake is not None:
            return self._fake_observation()
        if self.data_path is not None:
            observation = Observation.from_pha(
                self.data_path,
                rmf=self.response_path,
                arf=self.arf_choice,
                background=self.background_choice,
            )
        elif self.response_path is not None:
            arf = self.arf_choice if isinstance(self.arf_choice, Path) else None
            observation = self._with_background(
                Observation.from_response(self.response_path, arf)
            )
        elif self.builtin_response:
            observation = self._with_background(Observation.default(exposure=1.0))
        else:
            return None
        return self.on_model_energies(observation)

    def _dummy_observation(self):
        """The dummy response, standing in for a loaded spectrum's response.

        ``dummy_dropped_background`` records that the spectrum's background was
        left out, its channels not being the dummy's.
        """
        from specdsl.prompt.responses import dummy_response

        dummy = dummy_response(self.dummy_grid, *self.dummy_channels)
        spectrum = self._loaded_spectrum()
        self.dummy_dropped_background = False
        if spectrum is None:
            return self._with_background(dummy)
        observation = _dummy_with_spectrum(dummy, spectrum)
        fits = spectrum.n_channels == dummy.n_channels
        if observation.background is None and fits:
            observation = self._with_background(observation)
        had = (
            getattr(spectrum, "background", None) is not None
            or bool(spectrum.backfile)
            or isinstance(self.background_choice, Path)
        )
        self.dummy_dropped_background = (
            had and not fits and self.background_choice is not False
        )
        return observation

    def _loaded_spectrum(self):
        """The loaded data or fake, which a dummy response supersedes but keeps.

        A spectrum whose response cannot be used is read alone: ``dummyrsp`` is
        XSPEC's way to fake or fit uncalibrated data.
        """
        from specdsl.response.observation import Observation
        from specdsl.response.ogip import read_pha, split_row_suffix

        if self.fake is not None:
            return self.fake.observation
        if self.data_path is None:
            return None
        if not self.response_removed:
            try:
                return Observation.from_pha(
                    self.data_path,
                    rmf=self.response_path,
                    arf=self.arf_choice,
                    background=self.background_choice,
                )
            except OGIPError:
                pass
        file, row = split_row_suffix(self.data_path, None)
        return read_pha(file, row=row)

    def on_model_energies(self, observation):
        """The observation with the model evaluated on the ``energies`` grid."""
        from specdsl.prompt.responses import regrid

        if self.energies is None:
            return observation
        edges = self.energies.model_edges(observation.energy_edges)
        if isinstance(self.energies, ExtendedEnergies) and len(edges) == len(
            observation.energy_edges
        ):
            return observation  # extensions that reach past neither end
        return regrid(observation, edges)

    def _fake_observation(self):
        """The loaded fake spectrum, with responses or background chosen since."""
        fake = self.fake
        observation = fake.observation
        changed = self.response_path is not None or self.arf_choice is not None
        if changed or self.builtin_response or self.energies != fake.energies:
            observation = self._fake_on_new_response(observation)
        if self.background_choice is False:
            observation = dataclasses.replace(
                observation, background=None, background_path=None
            )
        elif isinstance(self.background_choice, Path):
            observation = attach_background(
                observation, self.background_choice, adopt_scales=False
            )
        return observation

    def _fake_on_new_response(self, fake_observation):
        """The fake's counts, exposure and background on the response now chosen."""
        from specdsl.response.observation import Observation

        rmf = self.response_path or fake_observation.rmf_path
        arf = fake_observation.arf_path
        if self.arf_choice is not None:
            arf = self.arf_choice if isinstance(self.arf_choice, Path) else None
        if self.builtin_response:
            response = Observation.default(exposure=1.0)
        elif rmf is None:
            raise SpecdslError(
                f"{self.fake.name} was made through the dummy or built-in response: "
                "give a response file (response <file>) before changing its ARF "
                "or energies"
            )
        else:
            response = Observation.from_response(rmf, arf)
        response = self.on_model_energies(response)
        return _with_spectrum(response, fake_observation, self.fake.name)

    def _with_background(self, observation):
        """Attach a ``backgrnd`` file to an observation built without a spectrum."""
        if not isinstance(self.background_choice, Path):
            return observation
        return attach_background(observation, self.background_choice)

    # ------------------------------------------------------------ model

    def set_model(self, expression: str):
        """Compile a model; the previous one stays if this one has an error."""
        from specdsl.model import compile
        from specdsl.prompt.parameters import ParameterTable

        model = compile(self._tables_found(expression))
        self.model = model
        self.table = ParameterTable(model)
        return model

    def _tables_found(self, expression: str) -> str:
        """The expression with each table model's file named in full, found as
        ``data`` files are (the working directory, else beside the script), so
        that ``save`` gives a path that works from anywhere."""
        from specdsl.syntax import nodes
        from specdsl.syntax.parser import parse

        tables = [n for n in nodes.components(parse(expression))
                  if isinstance(n, nodes.Table)]  # fmt: skip
        for table in sorted(tables, key=lambda node: -node.start):
            opened = expression.index("{", table.start) + 1
            closed = expression.index("}", opened)
            found = str(self.path(table.path))
            expression = expression[:opened] + found + expression[closed:]
        return expression

    def require_model(self):
        if self.model is None:
            raise SpecdslError(
                "Cannot create fake data. There are no active models: "
                "define one with e.g.  model tbabs*powerlaw"
            )
        return self.model

    def run_seeds(self) -> tuple[int, int]:
        """This fakeit's seed and the next link of the chain that starts at the
        seed xset seed set; saving ``next_seed`` lets @file make the next fake."""
        sequence = np.random.SeedSequence(self.next_seed)
        run, following = sequence.generate_state(2, np.uint64)
        return int(run), int(following)


def _file_there(path: Path) -> bool:
    """Whether ``path`` (less a ``{row}`` suffix) names something on disk."""
    from specdsl.response.ogip import split_row_suffix

    return split_row_suffix(path, None)[0].exists()


def _with_gz(path: Path):
    """``path``, then ``file.gz`` for ``file`` (a ``{row}`` suffix kept last)."""
    from specdsl.response.ogip import split_row_suffix

    yield path
    file, row = split_row_suffix(path, None)
    if file.name:
        yield file.with_name(file.name + ".gz" + ("" if row is None else f"{{{row}}}"))


def _script_line(source) -> str | None:
    """``session.xcm, line 4`` for a command read from a script; None at a terminal."""
    if source.interactive:
        return None
    name = Path(source.name).name if source.name != "<stdin>" else "stdin"
    return f"{name}, line {source.line_number}"


def current_settings() -> dict[str, str]:
    """``abund`` and ``xsect`` in force (specdsl.library.settings when present)."""
    try:
        from specdsl.library import settings
    except ImportError:
        return dict(XSPEC_SETTINGS)
    return {"abund": settings.abundance(), "xsect": settings.cross_section()}


def attach_background(
    observation, path: Path, *, adopt_scales: bool = True, spectrum=None
):
    """The observation with the background spectrum in ``path`` (its own
    exposure, BACKSCAL and AREASCAL; the source's response).

    A source not based on data has no region of its own: with ``adopt_scales``
    it takes the background's BACKSCAL and AREASCAL, so the background file is
    the background expected in the source spectrum (scaled by exposure only).
    """
    from specdsl.response.ogip import read_pha

    if spectrum is None:  # else read already, as ``path``
        spectrum = read_pha(path, origin="backgrnd")
    if spectrum.n_channels != observation.n_channels:
        raise OGIPError(
            path,
            f"channel counts differ: background has {spectrum.n_channels} channels "
            f"but the response has {observation.n_channels}",
            field="DETCHANS",
        )
    if spectrum.exposure is None or not spectrum.exposure > 0:
        raise OGIPError(path, "the background needs an EXPOSURE > 0", "EXPOSURE")
    background = dataclasses.replace(
        observation,
        counts=spectrum.counts,
        exposure=float(spectrum.exposure),
        backscal=spectrum.backscal,
        areascal=spectrum.areascal,
        spectrum_path=spectrum.path,
        background=None,
        background_path=None,
    )
    scales = {}
    if adopt_scales:
        scales = {"backscal": background.backscal, "areascal": background.areascal}
    return dataclasses.replace(
        observation, background=background, background_path=path, **scales
    )


def canonical_expression(model, numbered: bool = False) -> str:
    """The model with XSPEC's component names: ``TBabs*(powerlaw+bbodyrad)``;
    ``numbered`` adds XSPEC's component numbers, ``TBabs<1>*(powerlaw<2>...)``."""
    from specdsl.syntax import nodes

    uses = {id(use.node): use for use in model.resolved.components}

    def render(node, parent=None) -> str:
        if id(node) in uses:
            use = uses[id(node)]
            name = use.spec.name
            if not isinstance(node, nodes.Component):  # a table: atable{file}
                name = f"{node.kind}{{{node.path}}}"
            return f"{name}<{use.index}>" if numbered else name
        if isinstance(node, nodes.Sum):
            text = "+".join(render(term, node) for term in node.terms)
            return f"({text})" if parent is not None else text
        text = "*".join(render(factor, node) for factor in node.factors)
        return f"({text})" if isinstance(parent, nodes.Product) else text

    return render(model.tree)


def _with_spectrum(response, spectrum, name: str):
    """``response`` carrying the counts, exposure, scales and background of
    ``spectrum`` (an Observation); the channel counts must agree."""
    if response.n_channels != spectrum.n_channels:
        raise OGIPError(
            response.rmf_path or name,
            f"channel counts differ: {name} has {spectrum.n_channels} channels but "
            f"the response has {response.n_channels}",
            field="DETCHANS",
        )
    fields = (
        "exposure", "backscal", "areascal", "counts", "grouping", "quality",
        "background", "background_path", "spectrum_path", "row",
    )  # fmt: skip
    keywords = {**response.keywords, **spectrum.keywords}
    values = {name: getattr(spectrum, name) for name in fields}
    return dataclasses.replace(response, keywords=keywords, **values)


def _dummy_with_spectrum(dummy, spectrum):
    """The dummy response in place of ``spectrum``'s, as XSPEC's ``dummyrsp``
    supersedes a loaded spectrum's response: the spectrum's exposure, scales,
    name and, where the channels agree, its counts and background stay."""
    from specdsl.response.ogip import Spectrum

    values = {
        "exposure": float(spectrum.exposure or 1.0),
        "spectrum_path": (
            spectrum.path if isinstance(spectrum, Spectrum) else spectrum.spectrum_path
        ),
        "row": spectrum.row,
    }
    same = spectrum.n_channels == dummy.n_channels
    for name in ("backscal", "areascal"):
        value = getattr(spectrum, name)
        if np.ndim(value) == 0 or same:
            values[name] = value
    if same:
        values.update(
            counts=spectrum.counts,
            grouping=spectrum.grouping,
            quality=spectrum.quality,
            background=getattr(spectrum, "background", None),
            background_path=getattr(spectrum, "background_path", None),
        )
    return dataclasses.replace(dummy, **values)


def _scalar(value, default: float) -> float:
    array = np.asarray(value, dtype=np.float64)
    return float(array) if array.ndim == 0 else default
