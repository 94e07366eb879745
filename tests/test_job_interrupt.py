"""A stopped command-line job says which complete files it kept and how to finish,
even when a second signal follows the first (SIGTERM sent twice, Ctrl-C twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from specdsl import cli
from specdsl.runtime import interrupt


def test_the_summary_names_the_kept_files_and_suggests_resume():
    job = SimpleNamespace(skipped=[Path("out/k-0000.pha")], n_parts=4)
    written = [Path("out/k-0001.pha"), Path("out/k-0001.params.npz")]

    message = cli.stop_summary(job, written)

    assert message.startswith("interrupted: 2 of 4 file(s) complete and kept")
    assert "(k-0000.pha, k-0001.pha)" in message
    assert "run the same command with --resume" in message


def test_the_summary_of_many_files_names_the_first_and_last():
    job = SimpleNamespace(skipped=[], n_parts=20)
    written = [Path(f"k-{k:04d}.pha") for k in range(9)]

    message = cli.stop_summary(job, written)

    assert "9 of 20" in message and "k-0000.pha, k-0001.pha, ... k-0007.pha" in message


def test_the_summary_without_files_or_parts():
    assert cli.stop_summary(None, []) == "interrupted: nothing was written"
    one = SimpleNamespace(skipped=[], n_parts=0)
    assert cli.stop_summary(one, [Path("a.fak")]) == "interrupted: after writing a.fak"


def test_a_second_sigterm_during_the_summary_keeps_its_message(
    tmp_path, monkeypatch, capsys
):
    from specdsl.output import pha

    publish, remove_pending = pha.publish, cli.remove_pending
    published, again = [], []

    def publish_then_sigterm(temporary, target, clobber):
        publish(temporary, target, clobber)
        published.append(target)
        if len(published) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # the first stop, after 2 parts

    def sigterm_then_remove():
        if not again:
            again.append(True)
            os.kill(os.getpid(), signal.SIGTERM)  # the second, as the message starts
        return remove_pending()

    monkeypatch.setattr(pha, "publish", publish_then_sigterm)
    monkeypatch.setattr(cli, "remove_pending", sigterm_then_remove)
    output = tmp_path / "k.pha"
    arguments = ["-m", "powerlaw", "-n", "50", "--part-size", "10", "-o", str(output)]
    status = cli.main(["fakeit", *arguments])

    err = capsys.readouterr().err
    assert status == 128 + signal.SIGTERM
    assert again == [True]
    assert "Traceback" not in err and "nothing was written" not in err
    assert "interrupted: 2 of 5 file(s) complete and kept (k-0000.pha, k-0001.pha)" in (
        " ".join(err.split())
    )
    assert "--resume" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k-0000.pha", "k-0001.pha"]
    assert interrupt.clear() is None


def test_two_sigterms_in_a_row_keep_the_complete_parts(tmp_path):
    command = [sys.executable, "-m", "specdsl.cli", "fakeit", "-m"]
    command += ["tbabs*(powerlaw+bbodyrad)", "-n", "20000", "--part-size", "2000"]
    command += ["-o", str(tmp_path / "big.fak.gz")]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("big-*.fak.gz")) and process.poll() is None:
        assert time.monotonic() < deadline, "no part was ever written"
        time.sleep(0.01)
    assert process.poll() is None, "the job ended before it could be stopped"
    process.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)

    kept = sorted(p.name for p in tmp_path.iterdir())
    assert process.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in err
    assert f"interrupted: {len(kept)} of 10 file(s) complete and kept" in err
    assert kept[0] in err and "--resume" in err
    assert kept and all(name.startswith("big-") for name in kept)
