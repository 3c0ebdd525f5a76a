"""The MPI executor: one stream's tile plan spread over the ranks of an MPI job.

``mpiexec -n N pep-ppe RUN --stream NAME`` starts N copies; each loads the
same :class:`~peppers.ppe.streamspec.StreamSpec`, rebuilds the same
deterministic :class:`~peppers.ppe.plan.Plan` and runs its share of the
tasks with the ordinary engine (:func:`~peppers.ppe.engine.run_stream`, a
thread pool per rank: *hybrid* MPI x threads). No pixels travel through
MPI: each rank reads what its tiles need from the shared run directory and
writes its own tiles into the shared raw images (positional writes,
disjoint byte ranges), exactly as threads do on one machine. Only task
indices, a stop signal and the final statistics are messages.

Phases (every rank)
-------------------
1. **Setup.** Build the stream and its plan; the ranks agree that every
   one built it and that the plan signatures match (a collective check, so
   a bad spec is one error, never a hang).
2. **Open.** Rank 0 opens the journal (``RUN/.peppers/streams/NAME.journal``,
   writer ``"0"``), decides resume or fresh start (as the thread executor
   does), creates or reopens the target images and broadcasts the tasks
   still to do. Then every other rank opens the images for writing and its
   own journal writer file (its rank number).
3. **Work.** The request strategy (:mod:`peppers.ppe.strategies`) gives
   each rank its tasks: fixed shares (``static``, ``round-robin``) or
   chunks asked of rank 0's dispatcher thread (``dynamic``; rank 0 computes
   too). Each finished tile is flushed, then journaled, by its own rank.
4. **Finish.** A barrier; the outcomes are gathered; only when every rank
   succeeded does rank 0 check the union of the journal and mark it
   complete. An output is complete only after every rank has finished.

Failure: a rank whose task raises (after ``retries``) sends a *stop*
message to every other rank; they stop starting tiles, journal the ones
they finished, and all ranks raise :class:`~peppers.errors.MPIRunError`
naming the failed rank, its host and the operator and tile. Running again
resumes from the journal.

Modules: :mod:`~peppers.ppe.mpi.launch` (the ``mpiexec`` command),
:mod:`~peppers.ppe.mpi.comm` (channel, agreement, quiet waits: waiting
never spins), :mod:`~peppers.ppe.mpi.share` (work sharing by strategy),
:mod:`~peppers.ppe.mpi.stats` (per-rank statistics),
:mod:`~peppers.ppe.mpi.stream` (a stream's tiles, :func:`run_mpi`) and
:mod:`~peppers.ppe.mpi.tiled` (a tiled global operator's tiles,
:func:`run_tiled`). The site configuration is :mod:`peppers.ppe.site`;
opening a global rule of a run for MPI is the scheduler's
(:mod:`peppers.drs.mpi`).
"""

from peppers.ppe.mpi.comm import Channel, agree, node_threads, poll, quiet_barrier, ranks_text
from peppers.ppe.mpi.launch import DEFAULT_LAUNCHER, launch_command
from peppers.ppe.mpi.share import share_work
from peppers.ppe.mpi.stats import MPIStats, RankStats
from peppers.ppe.mpi.stream import run_mpi
from peppers.ppe.mpi.tiled import Finisher, TiledGlobal, is_tiled, run_tiled, tiled_job
from peppers.ppe.site import site_setting

__all__ = ["Channel", "DEFAULT_LAUNCHER", "Finisher", "MPIStats", "RankStats", "TiledGlobal",
           "agree", "is_tiled", "launch_command", "node_threads", "poll", "quiet_barrier",
           "ranks_text", "run_mpi", "run_tiled", "share_work", "site_setting", "tiled_job"]
