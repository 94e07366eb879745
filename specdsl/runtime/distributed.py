"""Several processes (hosts) on one job, through JAX's multi-controller runtime.

Every process runs the same command with the coordinator's address, the number
of processes and its own id; ``jax.distributed.initialize`` connects them.
Each process then simulates and writes its share of the job's parts on its own
local devices: part k belongs to process k mod n. No data crosses processes,
so the spectra are the same whatever the number of processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from specdsl.errors import ParameterError


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

    jax.distributed.initialize(
        coordinator_address=coordinator,
        num_processes=num_processes,
        process_id=process_id,
    )
    return Cluster(jax.process_index(), jax.process_count())


def barrier(cluster: Cluster, name: str, timeout_s: float = 3600.0) -> None:
    """Wait until every process of the job has reached this point."""
    if cluster.num_processes == 1:
        return
    from jax._src import distributed

    client = distributed.global_state.client
    client.wait_at_barrier(name, int(timeout_s * 1000))
