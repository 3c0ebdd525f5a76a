"""HKV, the run database of peppers (imported as ``peppers.hkv``).

A run directory holds human-editable YAML records under hierarchical dotted
keys (``insar.coherence.window``), references to binary images, and a
private ``.peppers/`` folder with locks, the commit journal, per-key stamps,
history snapshots and the audit trail. ``docs/run-directory.md`` describes
the layout and the guarantees; the modules are:

``keys``         key syntax and which record file holds a key
``values``       the storable types, ImageRef, the YAML codec, value hashes
``schema``       declared parameters and their type expressions
``records``      record files: parse (with line numbers), render, cache, stamps
``locks``        flock-based locks and the lock order
``storage``      atomic replacement, the journal, crash recovery
``audit``        the append-only audit trail
``view``         reads, with a transaction's pending changes overlaid
``transaction``  all-or-nothing groups of changes
``history``      content-addressed snapshots, diff, restore
``database``     :class:`RunDatabase`, tying it together

Examples
--------
>>> import tempfile
>>> from peppers.hkv import RunDatabase
>>> db = RunDatabase.create(tempfile.mkdtemp() + "/run",
...                         {"insar.looks": {"type": "int", "default": 4, "doc": "Looks."}})
>>> db.set("insar.coherence.window", [5, 5])
>>> db.get("insar")
{'coherence': {'window': [5, 5]}, 'looks': 4}
"""

from peppers.hkv.audit import ABSENT, AuditEntry, Change
from peppers.hkv.database import KeyStamp, RunDatabase
from peppers.hkv.history import SnapshotInfo
from peppers.hkv.values import ImageRef

__all__ = ["ABSENT", "AuditEntry", "Change", "ImageRef", "KeyStamp", "RunDatabase",
           "SnapshotInfo"]
