"""The state of a run, folded from its events: what ``status`` and ``attach`` show.

:class:`RunStatus` starts empty and :meth:`RunStatus.apply` folds events into
it, one at a time, in the order they were written. The same fold runs in
three places -- ``pep monitor status`` over the log file, the monitor
server over the events as they happen, and every attached client over the
snapshot it received plus the events pushed after it -- so all three agree.

Run states: *none* (no run yet), *queued* (waiting for a shared resource),
*running*, *paused*, *finished*, *failed*, *aborted*, and *dead*: the log
has no ``run_end`` and the recorded process is not alive (killed, crashed,
machine rebooted); ``pep run make`` resumes it from the tile journals.

ETA
---
From measured per-operator tile times, not from wall-clock rate alone
(which a pause or a slow start would skew): a stream that ran ``n`` tasks
spent ``S_k`` compute seconds in operator ``k``, so one more task costs
about ``c = sum_k S_k / n`` seconds of one thread, and its ``R`` remaining
tasks take ``R * c / threads``.

A run's ETA adds every unfinished step of its plan (the ``plan`` event the
make writes first): running streams as above; a running boundary rule
(a global rule such as coregistration, a reduction, a command rule) and a
step not started yet by the seconds the same rules took in the run's last
make (``expected``: wall seconds of a boundary rule, operator seconds over
the threads of a stream), less the time the rule has run so far. A part
with no measurement yet (a first make, a stream before its first tile, a
rule running past its expected time) makes the ETA *incomplete*:
:meth:`RunStatus.eta_at` returns the known part as a lower bound and the
view prints ``>= 1m05s``, or ``?`` when nothing is known -- never ``0s``
while work is left (it used to read 0 s during coregistration: no stream
was running, so the sum over running streams was empty). Steps a parallel
make runs side by side are summed, so the ETA is then an upper estimate.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

TERMINAL = ("finished", "failed", "aborted", "dead")
LOG_LINES = 12


@dataclass
class StreamState:
    """Progress of one stream."""

    name: str
    rules: list[str] = field(default_factory=list)
    state: str = "running"
    done: int = 0
    total: int = 0
    skipped: int = 0
    elapsed: float = 0.0
    threads: int = 1
    hit_rate: float = 0.0
    nodes: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ran(self) -> int:
        """Tasks computed in this run (journaled ones not counted)."""
        return max(0, self.done - self.skipped)

    @property
    def throughput(self) -> float:
        """Tasks per second so far."""
        return self.ran / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def task_cost(self) -> float | None:
        """Compute seconds of one task, summed over operators (None before the first)."""
        if not self.ran or not self.nodes:
            return None
        return sum(seconds for _, seconds in self.nodes.values()) / self.ran

    @property
    def eta(self) -> float | None:
        """Seconds left (see the module notes); 0 when done, None when unknown."""
        left = self.total - self.done
        if left <= 0 or self.state in TERMINAL:
            return 0.0
        cost = self.task_cost
        return None if cost is None else left * cost / max(1, self.threads)


@dataclass
class RunStatus:
    """A run as its events describe it; see the module notes."""

    state: str = "none"
    process: dict[str, Any] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    updated: float = 0.0
    error: str = ""
    streams: dict[str, StreamState] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)
    logs: deque = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    controller: dict[str, Any] | None = None
    queue: dict[str, Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    #: step name -> {kind, rules, expected}, from the ``plan`` event
    plan: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: rule -> time of its ``rule_start``
    rule_started: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fold(cls, events: Iterable[dict[str, Any]]) -> "RunStatus":
        state = cls()
        for event in events:
            state.apply(event)
        return state

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one event in (unknown kinds are ignored)."""
        kind = event.get("kind")
        self.updated = float(event.get("t", self.updated))
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            try:
                handler(event)
            except (KeyError, TypeError, ValueError, AttributeError):
                self.logs.append(f"(unreadable {kind} event skipped)")

    def _on_run_start(self, e: dict[str, Any]) -> None:
        self.__init__()
        self.updated = float(e.get("t", 0.0))
        self.state = "running"
        self.process = dict(e.get("process") or {})
        self.argv = list(e.get("argv") or [])
        self.started = self.updated
        self.settings = dict(e.get("settings") or {})

    def _on_queue(self, e: dict[str, Any]) -> None:
        self.queue = {"resource": e["resource"], "position": e.get("position"),
                      "holder": e.get("holder")}
        self.state = "queued" if e.get("position") else "running"

    def _on_run_end(self, e: dict[str, Any]) -> None:
        status = e.get("status", "ok")
        self.state = {"ok": "finished"}.get(status, status)
        self.error = e.get("error") or ""
        self.ended = self.updated
        self.controller = None

    def _on_stream_start(self, e: dict[str, Any]) -> None:
        name = e["stream"]
        self.streams[name] = StreamState(name, list(e.get("rules") or []), "running",
                                         int(e.get("skipped", 0)), int(e.get("total", 0)),
                                         int(e.get("skipped", 0)), 0.0,
                                         int(e.get("threads", 1)))
        for rule in self.streams[name].rules:
            self.rules[rule] = "running"

    def _on_stream_end(self, e: dict[str, Any]) -> None:
        stream = self.streams.setdefault(e["stream"], StreamState(e["stream"]))
        stream.state = {"ok": "done"}.get(e.get("status", "ok"), e.get("status"))
        if "hit_rate" in e:
            stream.hit_rate = float(e["hit_rate"])
        for rule in stream.rules:
            if self.rules.get(rule) in ("running", "paused"):
                self.rules[rule] = stream.state

    def _on_plan(self, e: dict[str, Any]) -> None:
        self.plan = {}
        for step in e["steps"]:
            expected = step.get("expected")
            self.plan[str(step["step"])] = {
                "kind": str(step.get("kind", "stream")), "rules": list(step.get("rules") or []),
                "expected": None if expected is None else float(expected)}

    def _on_rule_start(self, e: dict[str, Any]) -> None:
        self.rules[e["rule"]] = "running"
        self.rule_started[e["rule"]] = self.updated

    def _on_rule_end(self, e: dict[str, Any]) -> None:
        self.rules[e["rule"]] = {"ok": "done"}.get(e.get("status", "ok"), e.get("status"))

    def _on_tile(self, e: dict[str, Any]) -> None:
        stream = self.streams.setdefault(e["stream"], StreamState(e["stream"]))
        stream.done, stream.total = int(e["done"]), int(e["total"])
        stream.elapsed = float(e.get("elapsed", stream.elapsed))
        stream.threads = int(e.get("threads", stream.threads))
        stream.hit_rate = float(e.get("hit_rate", stream.hit_rate))
        stream.nodes = {str(k): [float(v[0]), float(v[1])] for k, v in
                        (e.get("nodes") or {}).items()}

    def _on_stream_settings(self, e: dict[str, Any]) -> None:
        stream = self.streams.setdefault(e["stream"], StreamState(e["stream"]))
        stream.threads = int(e.get("threads", stream.threads))

    def _on_control(self, e: dict[str, Any]) -> None:
        action = e["action"]
        if action in ("pause", "resume") and self.state in ("running", "paused"):
            self.state = "paused" if action == "pause" else "running"
            self._moving_to(self.state)
        elif action in ("threads", "mem"):
            self.settings[action] = e.get("value")
        self.logs.append(f"control: {action}"
                         + (f" {e['value']}" if e.get("value") is not None else "")
                         + (f" by {e['by']}" if e.get("by") else ""))

    def _on_controller(self, e: dict[str, Any]) -> None:
        self.controller = e.get("holder")

    def _on_log(self, e: dict[str, Any]) -> None:
        self.logs.append(f"{e.get('level', 'INFO')}: {e.get('message', '')}")

    def _on_error(self, e: dict[str, Any]) -> None:
        self.error = str(e.get("message", ""))
        self.logs.append(f"ERROR: {self.error}")

    # -- derived ----------------------------------------------------------------
    @property
    def eta(self) -> float | None:
        """Seconds left (see the module notes); None while any part is not measured yet."""
        seconds, complete = self.eta_at(self.updated)
        return seconds if complete else None

    def eta_at(self, now: float) -> tuple[float, bool]:
        """``(seconds, complete)`` at time ``now``: the known part, and whether it is all.

        See the module notes. A finished run gives ``(0.0, True)``.
        """
        if self.state in TERMINAL:
            return 0.0, True
        total, complete = 0.0, True
        in_streams = {r for s in self.streams.values() for r in s.rules}
        for stream in self.streams.values():
            if stream.state in TERMINAL + ("done",):
                continue
            if stream.eta is None:
                complete = False
            else:
                total += stream.eta
        expected = {rule: step["expected"] for step in self.plan.values()
                    if step["kind"] != "stream" for rule in step["rules"]}
        for rule, state in self.rules.items():
            if state not in ("running", "paused") or rule in in_streams:
                continue
            ran = max(0.0, now - self.rule_started.get(rule, now))
            cost = expected.get(rule)
            if cost is None or ran > cost:
                complete = False
            else:
                total += cost - ran
        for name, step in self.plan.items():
            if name in self.streams or any(r in self.rules for r in step["rules"]):
                continue
            if step["expected"] is None:
                complete = False
            else:
                total += step["expected"]
        return total, complete

    def mark_dead(self, why: str) -> None:
        """The run's process is gone without a ``run_end``."""
        self.state = "dead"
        self.note = why
        self._moving_to("dead")

    def _moving_to(self, state: str) -> None:
        """Streams and rules still under way take the run's new state."""
        for stream in self.streams.values():
            if stream.state in ("running", "paused"):
                stream.state = state
        for rule, now in self.rules.items():
            if now in ("running", "paused"):
                self.rules[rule] = state

    # -- (de)serialisation ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["logs"] = list(self.logs)
        data["eta"] = self.eta
        for name, stream in self.streams.items():
            data["streams"][name].update(eta=stream.eta, throughput=stream.throughput)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunStatus":
        """Rebuild from :meth:`to_dict` (the snapshot a subscriber receives)."""
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        state = cls(**{k: v for k, v in fields.items() if k not in ("streams", "logs")})
        state.logs.extend(data.get("logs") or [])
        names = StreamState.__dataclass_fields__
        for name, stream in (data.get("streams") or {}).items():
            state.streams[name] = StreamState(**{k: v for k, v in stream.items() if k in names})
        return state

    def summary(self, now: float | None = None) -> str:
        """A few lines for the terminal: state, process, streams with progress and ETA."""
        now = time.time() if now is None else now
        proc = self.process
        who = (f"{proc.get('user', '?')}@{proc.get('host', '?')} pid {proc.get('pid', '?')}"
               if proc else "no process recorded")
        lines = [f"run: {self.state}" + (f" ({self.note})" if self.note else ""),
                 f"process: {who}, started {_ago(now - self.started) if self.started else '-'}"]
        if self.queue:
            lines.append(f"queue: {self.queue['resource']} position {self.queue['position']}")
        if self.controller:
            lines.append(f"controller: {_holder(self.controller)}")
        for s in self.streams.values():
            lines.append(f"stream {s.name}: {s.state}, {s.done}/{s.total} tiles "
                         f"({s.skipped} resumed), {s.throughput:.1f} tiles/s, "
                         f"ETA {format_eta(s.eta)}, cache hit rate {s.hit_rate:.0%}")
        for rule, state in self.rules.items():
            lines.append(f"  rule {rule}: {state}")
        if self.error:
            lines.append(f"error: {self.error}")
        if self.state not in TERMINAL:
            lines.append(f"ETA: {format_eta(*self.eta_at(now))}")
        return "\n".join(lines)


def format_eta(seconds: float | None, complete: bool = True) -> str:
    """``1h02m``, ``3m05s``, ``12s`` or ``?``; ``>= 12s`` for an incomplete (lower-bound) ETA."""
    if seconds is None or (not complete and seconds <= 0):
        return "?"
    if not complete:
        return ">= " + format_eta(seconds)
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def _ago(seconds: float) -> str:
    return f"{format_eta(max(0.0, seconds))} ago"


def _holder(holder: dict[str, Any]) -> str:
    return f"{holder.get('user', '?')}@{holder.get('host', '?')} pid {holder.get('pid', '?')}"
