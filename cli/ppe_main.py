"""``pep-ppe RUN --stream NAME | --rule NAME``: a stream or a tiled global rule on MPI ranks.

Started as ``mpiexec -n N pep-ppe RUN --stream NAME`` (``pep run make
--mpi N`` builds that command with :func:`peppers.drs.mpi.launch`),
or alone as one rank. Each rank loads ``RUN/.peppers/streams/NAME.yaml``,
rebuilds the same tile plan and computes the tiles the request strategy
gives it; the completion journal ``RUN/.peppers/streams/NAME.journal`` is shared
with the thread executor, so an interrupted stream resumes under either.
``--rule NAME`` runs a tiled global rule instead (tiled unwrapping,
:mod:`peppers.drs.mpi`): its tiles are spread over the ranks and
rank 0 reconciles them and commits the outputs.

Rank 0 prints the announcement, a per-rank table at the end and the error,
if any; every rank exits with the same status (0 success, 1 a peppers
error, which names the rank and the tile). An unexpected internal error on
one rank aborts the whole job (``MPI_Abort``) so no rank hangs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

EPILOG = """\
examples:
  mpiexec -n 4 pep-ppe myrun --stream stream-1
  mpiexec -n 8 pep-ppe myrun --stream stream-1 --strategy static --threads 2 --mem 1G
  mpiexec -n 4 pep-ppe myrun --rule unwrap        # tiled unwrapping across ranks

The strategy defaults to the run's HKV key ppe.request_strategy (dynamic).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pep-ppe",
        description="Run one stream, or one tiled global rule, of a peppers run across "
                    "the ranks of an MPI job.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", metavar="RUN", help="run directory (shared by all ranks)")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--stream", metavar="NAME",
                      help="stream to run: RUN/.peppers/streams/NAME.yaml")
    what.add_argument("--rule", metavar="NAME",
                      help="tiled global rule to run (tiled unwrapping); rank 0 commits")
    parser.add_argument("--strategy", choices=["static", "round-robin", "dynamic"],
                        default=None, help="how ranks get tiles (default: HKV "
                        "ppe.request_strategy, else dynamic)")
    parser.add_argument("--threads", type=int, default=None, metavar="T",
                        help="threads per rank (default: the node's cores / its ranks)")
    parser.add_argument("--mem", default=None, metavar="SIZE",
                        help="tile-cache budget per rank, e.g. 512M (default: the spec's; "
                        "streams only)")
    parser.add_argument("--chunk", type=int, default=None, metavar="K",
                        help="tasks per round-robin chunk / smallest dynamic chunk")
    parser.add_argument("--retries", type=int, default=0, metavar="R",
                        help="tries a failed tile again R times before stopping")
    parser.add_argument("--force", action="store_true",
                        help="forget the journal and recompute every tile (streams only)")
    parser.add_argument("--stats", default=None, metavar="FILE",
                        help="write the per-rank statistics as JSON (rank 0)")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    parser.add_argument("--debug", action="store_true", help="full tracebacks")
    return parser


def _run(args: argparse.Namespace, comm) -> int:
    import json
    from pathlib import Path

    from peppers.drs.mpi import run_global_mpi, run_setting
    from peppers.io.atomic import atomic_write_bytes
    from peppers.ppe.mpi import agree, run_mpi
    from peppers.ppe.streamspec import StreamSpec, stream_path

    rank = comm.Get_rank()
    if args.strategy is None:
        setting = agree(comm, lambda: run_setting(args.run_dir, "ppe.request_strategy",
                                                  "dynamic") if rank == 0 else None,
                        "reading ppe.request_strategy")
        args.strategy = comm.bcast(setting, root=0)
    loud = rank == 0 and not args.quiet
    echo = print if loud else (lambda line: None)
    if args.rule is not None:
        stats = run_global_mpi(args.run_dir, args.rule, comm=comm, strategy=args.strategy,
                               threads=args.threads, chunk=args.chunk, retries=args.retries,
                               echo=echo)
    else:
        spec = agree(comm, lambda: StreamSpec.load(stream_path(args.run_dir, args.stream)),
                     "loading the stream spec")
        stats = run_mpi(spec, args.run_dir, comm=comm, strategy=args.strategy,
                        threads=args.threads, mem=args.mem, chunk=args.chunk,
                        retries=args.retries, force=args.force, echo=echo)
    if rank == 0:
        if args.stats:
            atomic_write_bytes(Path(args.stats), json.dumps(stats.to_dict(), indent=1).encode())
        if loud:
            print(stats.summary())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pep-ppe`` (every rank); returns the exit status.

    Errors every rank agreed on (:class:`~peppers.errors.MPIRunError`) are
    printed once, by rank 0, and every rank exits 1. Anything else happened
    on one rank alone: it is printed with the rank and the job is aborted.
    """
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    from mpi4py import MPI

    from peppers.errors import MPIRunError

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    # rank 0's work dispatcher thread (dynamic strategy) must get the GIL quickly while
    # rank 0 computes: a shorter switch interval for this process, set here, by the program
    sys.setswitchinterval(min(sys.getswitchinterval(), 5e-4))
    try:
        status = _run(args, comm)
    except MPIRunError as error:
        if args.debug and rank == 0:
            raise
        if rank == 0:
            print(f"pep-ppe: error: {error}", file=sys.stderr, flush=True)
        status = 1
    except Exception as error:  # noqa: BLE001 - one rank alone: the others would hang
        if args.debug:
            import traceback

            traceback.print_exc()
        print(f"pep-ppe: error on rank {rank}: {type(error).__name__}: {error}; aborting "
              "all ranks", file=sys.stderr, flush=True)
        sys.stdout.flush()
        comm.Abort(2)
        status = 2
    sys.stdout.flush()
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
