"""A stop request survives a KeyboardInterrupt that a library swallowed."""

import pytest

from specdsl.runtime import interrupt


def test_a_recorded_stop_ends_the_job_before_it_writes(tmp_path):
    from specdsl.runtime.job import FakeitJob

    job = FakeitJob(expression="powerlaw", count=3, output=str(tmp_path / "s.pha"))
    interrupt.ask_to_stop(15)  # as if SIGTERM's exception had been dropped
    try:
        with pytest.raises(KeyboardInterrupt):
            job.run()
    finally:
        assert interrupt.clear() == 15
    assert list(tmp_path.iterdir()) == []
    assert "simulate" not in job.timings


def test_a_cleared_request_stops_nothing():
    interrupt.ask_to_stop(2)
    assert interrupt.clear() == 2

    interrupt.check()  # no exception
    assert interrupt.clear() is None


@pytest.fixture
def cli_handlers():
    """The command line's SIGINT/SIGTERM handlers, restored afterwards."""
    import signal

    from specdsl.cli import _terminate_like_interrupt

    saved = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    _terminate_like_interrupt()
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)
    interrupt.clear()


def test_a_signal_during_a_deferred_step_is_raised_when_it_ends(cli_handlers):
    import os
    import signal

    steps = []
    with pytest.raises(KeyboardInterrupt):
        with interrupt.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("after the signal")
    assert steps == ["after the signal"]
    assert interrupt.clear() == signal.SIGTERM


def test_a_file_renamed_when_the_stop_came_is_whole_and_recorded(
    cli_handlers, tmp_path, monkeypatch
):
    import os
    import signal

    import numpy as np

    from specdsl.output import pha
    from specdsl.output.temporary import take_published

    place = pha._place

    def place_then_signal(temporary, target, clobber):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the rename begins
        place(temporary, target, clobber)

    monkeypatch.setattr(pha, "_place", place_then_signal)
    target = tmp_path / "one.pha"
    take_published()
    with pytest.raises(KeyboardInterrupt):
        pha.write_pha(target, np.arange(8), channels=np.arange(8), exposure=1.0)

    assert take_published() == [target]
    assert [p.name for p in tmp_path.iterdir()] == ["one.pha"]
    assert pha.fits.getdata(target, "SPECTRUM")["COUNTS"].tolist() == list(range(8))


def test_a_stop_during_the_summary_of_a_finished_job_changes_nothing(
    tmp_path, monkeypatch, capsys
):
    import os
    import signal

    from specdsl import cli

    summary = cli._summary

    def summary_then_ctrl_c(*args):
        os.kill(os.getpid(), signal.SIGINT)
        return summary(*args)

    monkeypatch.setattr(cli, "_summary", summary_then_ctrl_c)
    before = signal.getsignal(signal.SIGINT)
    status = cli.main(["fakeit", "-m", "powerlaw", "-o", str(tmp_path / "one.pha")])

    out, err = capsys.readouterr()
    assert status == 0 and "wrote 1 spectrum" in out and "interrupted" not in err
    assert (tmp_path / "one.pha").is_file()
    assert signal.getsignal(signal.SIGINT) is before  # main put its handler back
    assert interrupt.clear() is None


def test_a_signal_inside_a_gc_callback_is_recorded_not_dropped(cli_handlers):
    """Python prints and drops an exception raised in a gc callback (JAX has one):
    the stop is only recorded there, for the loop's next check."""
    import gc
    import os
    import signal
    import sys

    dropped, raised = [], []

    def callback(phase, info):
        if phase == "start" and not raised:
            raised.append(True)
            os.kill(os.getpid(), signal.SIGTERM)  # lands while the callback runs
            raised.append(sum(range(1000)))  # a few bytecodes: the handler runs

    hook, sys.unraisablehook = sys.unraisablehook, dropped.append
    gc.callbacks.append(callback)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(callback)
        sys.unraisablehook = hook

    assert dropped == []
    assert raised == [True, 499500]  # the callback ran to its end
    with pytest.raises(KeyboardInterrupt):
        interrupt.check()
    assert interrupt.clear() == signal.SIGTERM
