"""Several processes (hosts) on one job, through JAX's multi-controller runtime.

Every process runs the same command with the coordinator's address, the number
of processes and its own id; ``jax.distributed.initialize`` connects them.
Each process then simulates and writes its share of the job's parts on its own
local devices: part k belongs to process k mod n. No data crosses processes,
so the spectra are the same whatever the number of processes. The processes
only exchange a few words through the coordinator's key-value store: the job's
fingerprint before writing, and at the end (or when stopped) how each ended.

Known shortcoming: a process killed outright (SIGKILL) says nothing; the others
learn of it only from JAX's own heartbeat checks.
"""

from __future__ import annotations

import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass

from specdsl.errors import OutputError, ParameterError, SpecdslError
from specdsl.runtime import interrupt

POLL_MS = 500  # a wait for the other processes checks for Ctrl-C this often
WAIT_S = 3600.0  # the longest one process waits for the others


@dataclass(frozen=True)
class Cluster:
    """This process's place among the job's processes."""

    process_id: int = 0
    num_processes: int = 1

    def owns(self, part_index: int) -> bool:
        """Whether this process writes part ``part_index``."""
        return part_index % self.num_processes == self.process_id


def connect(coordinator: str | None, num_processes: int | None, process_id: int | None):
    """Join the job's processes (one process when no coordinator is given)."""
    if coordinator is None:
        if (num_processes or 1) != 1 or process_id not in (None, 0):
            raise ParameterError(
                "--num-processes and --process-id need --coordinator HOST:PORT"
            )
        return Cluster()
    if num_processes is None or process_id is None:
        raise ParameterError(
            "--coordinator needs --num-processes and --process-id as well"
        )
    if not 0 <= process_id < num_processes:
        raise ParameterError(
            f"--process-id must be in 0..{num_processes - 1}, got {process_id}"
        )

    import jax

    with _signal_handlers_kept():
        jax.distributed.initialize(
            coordinator_address=coordinator,
            num_processes=num_processes,
            process_id=process_id,
        )
    return Cluster(jax.process_index(), jax.process_count())


@contextmanager
def _signal_handlers_kept():
    """JAX's preemption notifier takes SIGTERM over when it connects: give it
    back, so that SIGTERM stops one process of a job as it stops a lone one."""
    numbers = (signal.SIGTERM, signal.SIGINT)
    saved = {number: signal.getsignal(number) for number in numbers}
    try:
        yield
    finally:
        for number, handler in saved.items():
            try:
                if handler is not None:
                    signal.signal(number, handler)
            except ValueError:  # not the main thread: nothing was installed
                pass


def agree(cluster: Cluster, job_id: str) -> None:
    """Refuse to write when another process runs another job (other options or
    files): the parts of two jobs would be mixed under one name."""
    if cluster.num_processes == 1:
        return
    client = _client()
    client.key_value_set(f"specdsl/job/{cluster.process_id}", job_id)
    for other in range(cluster.num_processes):
        if _wait_for(client, f"specdsl/job/{other}", other) != job_id:
            raise ParameterError(
                f"process {other} of this job runs a different job (another model, "
                "option or file): give every process the same command, apart from "
                "--process-id; nothing was written"
            )


def finish(cluster: Cluster) -> None:
    """Say this process is done and wait for the others; an error if one of
    them was stopped (its parts are missing)."""
    if cluster.num_processes == 1:
        return
    client = _client()
    client.key_value_set(f"specdsl/end/{cluster.process_id}", "done")
    for other in range(cluster.num_processes):
        if _wait_for(client, f"specdsl/end/{other}", other) == "stopped":
            raise _peer_stopped(other)


def check_peers(cluster: Cluster) -> None:
    """Between parts: stop this process too when another one was stopped."""
    if cluster.num_processes == 1:
        return
    for key, state in _client().key_value_dir_get("specdsl/end/"):
        if state == "stopped":
            raise _peer_stopped(int(key.rsplit("/", 1)[1]))


def announce_stop(cluster: Cluster) -> None:
    """Tell the other processes that this one stopped before its end (best
    effort: the coordinator may be gone already)."""
    if cluster.num_processes == 1:
        return
    try:
        _client().key_value_set(f"specdsl/end/{cluster.process_id}", "stopped")
    except Exception:  # noqa: BLE001 - JAX's runtime errors have no finer type
        pass


def _ended(client, other: int) -> str | None:
    """How process ``other`` ended, if it has said so yet."""
    try:
        return client.key_value_try_get(f"specdsl/end/{other}")
    except Exception:  # noqa: BLE001 - NOT_FOUND: not ended yet
        return None


def _peer_stopped(other: int) -> OutputError:
    return OutputError(
        f"process {other} of this job was stopped before it finished; the complete "
        "parts are kept: run the same commands again with --resume to finish"
    )


def _client():
    from jax._src import distributed

    return distributed.global_state.client


def _wait_for(client, key: str, other: int) -> str:
    """The value process ``other`` sets under ``key``, waited for in short steps
    so that Ctrl-C and SIGTERM still stop this process, and that a stop of
    ``other`` (before it got there) ends the wait."""
    deadline = time.monotonic() + WAIT_S
    while True:
        interrupt.check()
        try:
            return client.blocking_key_value_get(key, POLL_MS)
        except Exception as error:  # noqa: BLE001 - JaxRuntimeError
            if "DEADLINE_EXCEEDED" not in str(error):
                raise SpecdslError(
                    f"lost contact with the job's other processes: {error}"
                ) from None
        if _ended(client, other) == "stopped":
            raise _peer_stopped(other)
        if time.monotonic() > deadline:
            raise SpecdslError(
                f"waited {WAIT_S:.0f} s for the job's other processes ({key}); "
                "is every process of the job running?"
            )
