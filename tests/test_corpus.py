"""Real model lines from scripts, the XSPEC manual and papers: each compiles to the
components XSPEC would use, or fails naming the XSPEC component we lack."""

import re
from pathlib import Path

import pytest

import specdsl
from specdsl.errors import ModelError
from specdsl.library.registry import LIBRARY

CORPUS = Path(__file__).resolve().parent / "data" / "model_corpus.tsv"
LINES = [
    line.split("\t")
    for line in CORPUS.read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
MISSING = re.compile(r"XSPEC's component '([^']+)'")


def test_corpus_is_large_enough():
    assert len(LINES) >= 100


@pytest.mark.parametrize("expression, source", LINES, ids=[e for e, _ in LINES])
def test_compiles_or_names_the_missing_component(expression, source):
    try:
        model = specdsl.compile(expression)
    except ModelError as error:
        missing = MISSING.search(error.message)
        assert missing, f"{expression!r} ({source}) failed for another reason: {error}"
        assert "is not available in specdsl" in error.message
        assert missing.group(1) not in LIBRARY
        assert (
            expression[error.position :]
            .lower()
            .startswith(expression[error.position : error.position + 2].lower())
        )
        return

    assert model.parameters, expression


@pytest.mark.parametrize(
    "expression, components",
    [
        ("wabs*pow+gauss", ["wabs", "powerlaw", "gaussian"]),
        ("tbabs*(bb+brems)", ["TBabs", "bbody", "bremss"]),
        ("wa(phabs(po)+ga)", ["wabs", "phabs", "powerlaw", "gaussian"]),
        (
            "const*TBabs*Tbabs*cflux*powerlaw",
            ["constant", "TBabs", "TBabs", "cflux", "powerlaw"],
        ),
        ("phabs*wa(po)", ["phabs", "wabs", "powerlaw"]),
        ("tbabs*(bbodyrad + powerlaw)", ["TBabs", "bbodyrad", "powerlaw"]),
    ],
)
def test_components_are_the_ones_xspec_uses(expression, components):
    found = [
        LIBRARY.find(node.name)[1]
        for node in specdsl.nodes.components(specdsl.parse(expression))
    ]

    assert found == components
