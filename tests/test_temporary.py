"""Temporary names are recorded before the file exists, so an interrupt cleans up."""

from specdsl.output.pha import publish
from specdsl.output.temporary import remove_pending, temporary_name


def test_unfinished_temporaries_are_removed(tmp_path):
    remove_pending()
    target = tmp_path / "out.pha"
    started = temporary_name(target)
    started.write_bytes(b"half")
    never_created = temporary_name(tmp_path / "other.pha")

    removed = remove_pending()

    assert removed == [started]
    assert not started.exists() and not never_created.exists()
    assert started.name.startswith(".out.pha.") and started.suffix == ".tmp"


def test_published_files_are_forgotten(tmp_path):
    remove_pending()
    target = tmp_path / "out.pha"
    temporary = temporary_name(target)
    temporary.write_bytes(b"whole")

    publish(temporary, target, clobber=False)

    assert remove_pending() == []
    assert target.read_bytes() == b"whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pha"]
