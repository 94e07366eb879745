"""Rewrite the component table in README.md from the library's declarations.

    python scripts/component_table.py

The table sits between the two marker comments in README.md; tests/test_readme.py
checks that every registered component is listed.
"""

from pathlib import Path

import specdsl.library as library

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- components:start -->", "<!-- components:end -->"


def table() -> str:
    rows = ["| component | kind | parameters | reference |", "|---|---|---|---|"]
    kinds = {"additive": 0, "multiplicative": 1, "convolution": 2}
    specs = sorted(library.LIBRARY, key=lambda s: (kinds[s.kind], s.name.lower()))
    for spec in specs:
        parameters = ", ".join(
            f"{p.name} [{p.unit}]" if p.unit.strip() else p.name
            for p in spec.all_parameters
        )
        reference = (spec.reference or spec.description).replace("|", "/")
        rows.append(f"| `{spec.name}` | {spec.kind} | {parameters} | {reference} |")
    return "\n".join(rows)


def main() -> None:
    text = README.read_text()
    before, rest = text.split(START)
    _, after = rest.split(END)
    README.write_text(f"{before}{START}\n{table()}\n{END}{after}")
    print(f"{len(list(library.LIBRARY))} components written to {README}")


if __name__ == "__main__":
    main()
