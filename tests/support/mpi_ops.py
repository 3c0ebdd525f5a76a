"""Operators for the MPI tests, imported by the ``pep-ppe`` ranks (``support.mpi_ops:Name``).

Kept free of pytest at module level so ranks import it fast. ``Sleepy``
sleeps on the tiles of the top half of the image (a deliberate cost skew
that sleeping makes immune to CPU noise); ``Flaky`` adds one, logs every
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


class Sleepy(LocalOperator):
    """Copies its input; sleeps ``seconds`` on tiles starting above row ``below``."""

    name = "sleepy"
    params = (Param("seconds", float, 0.05, "sleep per slow tile, s"),
              Param("below", int, 0, "tiles starting above this row are slow"))

    def compute(self, inputs, region: Region):
        if region.row < self.below:
            time.sleep(self.seconds)
        return {"output": np.array(inputs["input"])}


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
