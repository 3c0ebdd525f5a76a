"""What an MPI run did: per-rank statistics and the merged engine statistics."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from peppers.ppe.stats import NodeStats, RunStats


@dataclass
class RankStats:
    """What one rank did. Seconds are wall time on that rank.

    ``setup``: build, open and agree; ``work``: computing its tiles;
    ``request``: waiting for the dispatcher's answers (dynamic); ``idle``:
    waiting at the final barrier for slower ranks (load imbalance);
    ``finish``: rank 0's reconciliation and commit of a global rule.
    """

    rank: int
    host: str
    threads: int
    tasks: int = 0
    chunks: int = 0
    computations: dict[str, int] = field(default_factory=dict)
    compute_seconds: dict[str, float] = field(default_factory=dict)
    setup: float = 0.0
    work: float = 0.0
    request: float = 0.0
    idle: float = 0.0
    finish: float = 0.0
    outcome: str = "ok"
    error: str = ""

    def add(self, stats: RunStats) -> None:
        """Count the operator computations of one finished chunk (tiles count as they finish)."""
        self.chunks += 1
        for name, node in stats.nodes.items():
            self.computations[name] = self.computations.get(name, 0) + node.tiles
            self.compute_seconds[name] = self.compute_seconds.get(name, 0.0) + node.seconds


@dataclass
class MPIStats:
    """A whole MPI run: the merged :class:`RunStats` and every rank's :class:`RankStats`.

    ``what`` is ``"stream"`` (a stream of tiles) or ``"rule"`` (a tiled
    global rule, :mod:`peppers.ppe.mpi.tiled`).
    """

    stream: str
    strategy: str
    total: int
    todo: int
    wall_seconds: float
    ranks: list[RankStats]
    what: str = "stream"

    def run_stats(self) -> RunStats:
        """The merged engine statistics (tiles and compute seconds summed over ranks)."""
        stats = RunStats(total=self.total, run=sum(r.tasks for r in self.ranks),
                         skipped=self.total - self.todo,
                         threads=sum(r.threads for r in self.ranks),
                         wall_seconds=self.wall_seconds)
        for r in self.ranks:
            for name, tiles in r.computations.items():
                node = stats.nodes.setdefault(name, NodeStats())
                node.tiles += tiles
                node.seconds += r.compute_seconds.get(name, 0.0)
        return stats

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.what, "stream": self.stream, "strategy": self.strategy,
                "total": self.total, "todo": self.todo, "wall_seconds": self.wall_seconds,
                "ranks": [asdict(r) for r in self.ranks]}

    def summary(self) -> str:
        """A table: one line per rank, then the totals."""
        lines = [(f"{self.what} {self.stream!r}: {self.todo} of {self.total} tiles on "
                  f"{len(self.ranks)} rank(s), strategy {self.strategy}, "
                  f"{self.wall_seconds:.2f} s"),
                 ("  rank host             thr tiles chunks  setup s   work s  request s"
                  "  idle s  computations")]
        for r in self.ranks:
            lines.append(f"  {r.rank:4d} {r.host[:16]:<16} {r.threads:3d} {r.tasks:5d} "
                         f"{r.chunks:6d} {r.setup:8.2f} {r.work:8.2f} {r.request:10.3f} "
                         f"{r.idle:7.2f}  {sum(r.computations.values())}")
        if self.what == "rule":
            lines.append(f"  rank 0 reconciled, stitched and committed in "
                         f"{self.ranks[0].finish:.2f} s")
        return "\n".join(lines)
