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
