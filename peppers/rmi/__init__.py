"""RMI, the run monitor: detached runs, live views, one controller, resource queues.

A production run lasts hours; the people who started it log off and come
back. The run monitor makes every run (``pep run make``) observable and
steerable while it runs, and readable after it stopped:

``events``    the structured event log, ``RUN/.peppers/events.jsonl``
``state``     the fold of events into a run's state (streams, rules, ETA)
``status``    that state from the log, with a dead process detected
``control``   pause / resume / abort / threads / cache budget, between tiles
``protocol``  newline-delimited JSON, version 1, 64 KiB per message
``peercred``  who may connect (owner, or the HKV ``rmi.group``)
``server``    the per-run Unix socket, one thread, one controller at a time
``client``    the blocking client of the CLI
``runner``    :class:`MonitoredRun`, which ties the above around a run
``detach``    ``--detach``: the run in its own session, logs in the run
``queue``     first-come queues of shared resources in a spool directory
``process``   process identity (host, pid, start time) and liveness
``view``, ``attach``   the rich terminal view of ``pep monitor attach``

See ``docs/monitor.md``.
"""

from peppers.rmi.control import RunControl
from peppers.rmi.detach import attach_hint, detach, wait_started
from peppers.rmi.events import EventLog, iter_events, last_run
from peppers.rmi.process import ProcessId
from peppers.rmi.queue import ResourceQueue, list_queues
from peppers.rmi.runner import MonitoredRun
from peppers.rmi.state import RunStatus
from peppers.rmi.status import run_status

__all__ = ["EventLog", "MonitoredRun", "ProcessId", "ResourceQueue", "RunControl", "RunStatus",
           "attach_hint", "detach", "iter_events", "last_run", "list_queues", "run_status",
           "wait_started"]
