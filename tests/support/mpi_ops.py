"""Operators for the MPI tests, imported by the ``pep-ppe`` ranks (``support.mpi_ops:Name``).

Kept free of pytest at module level so ranks import it fast. ``Skewed``
makes the tiles of the top half of the image slow on rank 0 -- not by a
sleep but by a state: there they wait until another rank has computed a
tile -- and logs ``rank row col`` per tile, so a test reads which rank
computed what, whatever the load; ``Flaky`` adds one, logs every
tile it computes, and raises on one tile while ``$PEPPERS_TEST_FAIL`` names
its row (the failure test switches it off for the rerun); ``FailingUnwrap``
is tiled MCF unwrapping that fails on the MPI rank ``$PEPPERS_TEST_FAIL_RANK``.
"""

from __future__ import annotations

import os
import time

import numpy as np
from peppers.operators.unwrap.unwrappers import UnwrapMCF

from peppers.ppe.operator import LocalOperator, Param
from peppers.ppe.region import Region


class Skewed(LocalOperator):
    """Copies its input; appends ``rank row col`` per tile to ``$PEPPERS_TEST_LOG``.

    On rank 0 (``$PMI_RANK``), a tile starting above row ``below`` first
    waits until the log holds a tile of another rank (at most ``deadline``
    seconds, then :class:`TimeoutError`): rank 0 is stuck on the top half
    for as long as the others need to start, a cost skew made of a state,
    which CPU load cannot shift.
    """

    name = "skewed"
    params = (Param("below", int, 0, "tiles starting above this row wait on rank 0"),
              Param("deadline", float, 600.0, "seconds a waiting tile waits at most"))

    def compute(self, inputs, region: Region):
        rank = os.environ.get("PMI_RANK", "0")
        log = os.environ["PEPPERS_TEST_LOG"]
        if rank == "0" and region.row < self.below:
            end = time.monotonic() + self.deadline
            while not _others_in(log):
                if time.monotonic() > end:
                    raise TimeoutError(f"{log}: no other rank computed a tile in "
                                       f"{self.deadline:g} s")
                time.sleep(0.005)
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{rank} {region.row} {region.col}\n".encode())
        os.close(fd)
        return {"output": np.array(inputs["input"])}


def _others_in(log: str) -> bool:
    try:
        with open(log) as lines:
            return any(not line.startswith("0 ") for line in lines)
    except FileNotFoundError:
        return False


class Flaky(LocalOperator):
    """Adds one; appends ``row col`` per computed tile to ``$PEPPERS_TEST_LOG``; fails on demand."""

    name = "flaky"
    halo = (1, 1)

    def compute(self, inputs, region: Region):
        fail = os.environ.get("PEPPERS_TEST_FAIL")
        if fail is not None and (region.row, region.col) == tuple(map(int, fail.split(","))):
            raise RuntimeError("deliberate failure")
        log = os.environ.get("PEPPERS_TEST_LOG")
        if log:
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.write(fd, f"{region.row} {region.col}\n".encode())
            os.close(fd)
        time.sleep(0.01)
        return {"output": inputs["input"][1:-1, 1:-1] + 1}


def _fail_on_rank(data, coherence, **params):
    """``unwrap_mcf``, except on the MPI rank named by ``$PEPPERS_TEST_FAIL_RANK``."""
    from peppers.operators.unwrap.mcf import unwrap_mcf

    if os.environ.get("PMI_RANK", "0") == os.environ.get("PEPPERS_TEST_FAIL_RANK"):
        raise RuntimeError("deliberate unwrapping failure")
    return unwrap_mcf(data, coherence, **params)


class FailingUnwrap(UnwrapMCF):
    """Tiled MCF unwrapping whose tiles fail on one MPI rank (``$PEPPERS_TEST_FAIL_RANK``)."""

    name = "failing_unwrap"
    solver = staticmethod(_fail_on_rank)
