"""``pep monitor``: watch, steer and summarise a run, live or finished.

``attach``   a live terminal view of the run (rules and streams, tile
             progress, throughput, ETA, cache hit rate, the latest log
             lines); any number of people may attach; ``q`` detaches and
             the run goes on. ``--control`` also takes the control lock
             (one controller at a time; refused, naming the holder, when
             someone else has it).
``status``   a one-shot summary from the run's event log, which works with
             no live process and says when the process died (``--json``
             for scripts).
``pause``, ``resume``, ``abort``, ``threads N``, ``mem SIZE``
             one-shot commands: each takes control for a moment, sends the
             command and gives control back. Pause lets running tiles
             finish and starts no new ones; abort stops cleanly and
             ``pep run make`` resumes later.

Access: only the run's owner, or members of the group named by the HKV key
``rmi.group``, may connect (the socket is mode 0600 and the kernel's peer
credentials are checked). See docs/monitor.md.
"""

from __future__ import annotations

import argparse

from peppers.cli.common import command_parser


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(
        sub, "monitor", "watch, steer or summarise a (detached) run", __doc__,
        "  pep --run myrun monitor attach\n"
        "  pep --run myrun monitor attach --control\n"
        "  pep --run myrun monitor status --json\n"
        "  pep --run myrun monitor pause")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    attach = actions.add_parser("attach", help="live view; q detaches")
    attach.add_argument("--control", action="store_true",
                        help="take the control lock (pause/resume/abort/threads/mem keys)")
    status = actions.add_parser("status", help="one-shot summary from the event log")
    status.add_argument("--json", action="store_true", help="print the state as JSON")
    for name, text in (("pause", "running tiles finish, no new ones start"),
                       ("resume", "start tiles again"),
                       ("abort", "stop cleanly; 'pep run make' resumes")):
        actions.add_parser(name, help=text)
    threads = actions.add_parser("threads", help="change the thread count on the fly")
    threads.add_argument("value", type=int, metavar="N")
    mem = actions.add_parser("mem", help="change the tile-cache budget on the fly")
    mem.add_argument("value", metavar="SIZE", help="e.g. 1G, 512M")
    return parser


def run(args: argparse.Namespace) -> int:
    from peppers.cli.common import run_dir

    root = run_dir(args)
    if args.action == "status":
        return _status(root, args.json)
    if args.action == "attach":
        from peppers.rmi.attach import attach

        return attach(root, control=args.control)
    return _command(root, args.action, getattr(args, "value", None))


def _status(root, as_json: bool) -> int:
    import json

    from peppers.rmi.status import run_status

    state = run_status(root)
    if as_json:
        print(json.dumps(state.to_dict(), indent=2, default=str))
    else:
        print(state.summary())
    return 0 if state.state != "dead" else 3


def _command(root, action: str, value) -> int:
    from peppers.rmi.client import MonitorClient

    with MonitorClient.connect(root, role="control") as client:
        client.request("control", action="take")
        fields = {"action": action} if value is None else {"action": action, "value": value}
        client.request("command", **fields)
        client.request("control", action="release")
    print(f"{action}" + ("" if value is None else f" {value}") + f": sent to {root}")
    return 0
