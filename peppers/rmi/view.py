"""The terminal view of ``pep monitor attach``, drawn with rich.

:func:`render` turns a :class:`~peppers.rmi.state.RunStatus` (and who is
connected) into one rich renderable: a header (run, process, state,
controller, observers), a table of streams (state, a progress bar, tiles,
throughput, ETA, cache hit rate), the rules with their state, the per-
operator tile times the ETA is computed from, and the latest log lines; a
footer lists the keys. It is a pure function of its inputs, so it is tested
by rendering to a string.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from rich.console import Group
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from peppers.rmi.state import RunStatus, format_eta

_COLOURS = {"running": "green", "paused": "yellow", "queued": "cyan", "finished": "blue",
            "done": "blue", "failed": "red", "aborted": "magenta", "dead": "red bold"}

OBSERVER_KEYS = "q detach   c ask for control"
CONTROLLER_KEYS = ("q detach   p pause   r resume   a abort   +/- threads   "
                   "]/[ cache x2 / /2   h hand over   c release")


def render(state: RunStatus, *, run: str = "", clients: Sequence[dict[str, Any]] = (),
           me: int | None = None, message: str = "", now: float | None = None) -> Group:
    """The whole view (see the module notes)."""
    now = time.time() if now is None else now
    holder = state.controller
    proc = state.process
    head = Table.grid(padding=(0, 2))
    head.add_row(Text("run", style="bold"), Text(run or "-"),
                 Text("state", style="bold"),
                 Text(state.state, style=_COLOURS.get(state.state, "")))
    head.add_row(Text("process", style="bold"),
                 Text(f"{proc.get('user', '?')}@{proc.get('host', '?')} pid "
                      f"{proc.get('pid', '?')}" if proc else "-"),
                 Text("ETA", style="bold"), Text(format_eta(*state.eta_at(now))))
    control = ("nobody" if not holder else
               f"{holder['user']}@{holder['host']} pid {holder['pid']}"
               + (" (you)" if me is not None and holder.get("id") == me else ""))
    observers = sum(1 for c in clients if not holder or c.get("id") != holder.get("id"))
    head.add_row(Text("control", style="bold"), Text(control),
                 Text("observers", style="bold"), Text(str(observers)))
    if state.queue and state.state == "queued":
        head.add_row(Text("queue", style="bold"),
                     Text(f"{state.queue['resource']}: position {state.queue['position']}"
                          f" behind {state.queue.get('holder') or '?'}"), Text(""), Text(""))
    if state.note:
        head.add_row(Text("note", style="bold"), Text(state.note, style="red"), Text(""),
                     Text(""))
    parts: list[Any] = [Panel(head, title="peppers monitor", border_style="blue")]
    parts.append(_streams(state))
    if state.rules:
        rules = Table(title="rules", title_justify="left", show_edge=False)
        rules.add_column("rule")
        rules.add_column("state")
        for rule, rule_state in state.rules.items():
            rules.add_row(rule, Text(rule_state, style=_COLOURS.get(rule_state, "")))
        parts.append(rules)
    ops = _operators(state)
    if ops is not None:
        parts.append(ops)
    if state.error:
        parts.append(Text(f"error: {state.error}", style="red"))
    parts.append(Panel("\n".join(state.logs) or "(no log lines yet)", title="log",
                       border_style="dim"))
    keys = CONTROLLER_KEYS if holder and me is not None and holder.get("id") == me \
        else OBSERVER_KEYS
    parts.append(Text(keys, style="dim"))
    if message:
        parts.append(Text(message, style="yellow"))
    return Group(*parts)


def _streams(state: RunStatus) -> Table:
    table = Table(title="streams", title_justify="left", show_edge=False)
    for column in ("stream", "state", "progress", "tiles", "tiles/s", "ETA", "cache hits",
                   "threads"):
        table.add_column(column, justify="left" if column in ("stream", "state") else "right")
    if not state.streams:
        table.add_row("-", "(none started)", "", "", "", "", "", "")
    for s in state.streams.values():
        total = max(1, s.total)
        table.add_row(s.name, Text(s.state, style=_COLOURS.get(s.state, "")),
                      ProgressBar(total=total, completed=min(s.done, total), width=24),
                      f"{s.done}/{s.total}", f"{s.throughput:.1f}", format_eta(s.eta),
                      f"{s.hit_rate:.0%}", str(s.threads))
    return table


def _operators(state: RunStatus) -> Table | None:
    rows = [(stream.name, name, tiles, seconds) for stream in state.streams.values()
            for name, (tiles, seconds) in stream.nodes.items()]
    if not rows:
        return None
    table = Table(title="operators (measured)", title_justify="left", show_edge=False)
    for column in ("stream", "operator", "tiles", "ms/tile"):
        table.add_column(column, justify="right" if column in ("tiles", "ms/tile") else "left")
    for stream, name, tiles, seconds in rows:
        table.add_row(stream, name, str(int(tiles)),
                      f"{1000 * seconds / tiles:.1f}" if tiles else "-")
    return table
