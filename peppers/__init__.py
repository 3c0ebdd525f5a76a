"""peppers: a production environment for interferometric SAR.

The four parts live in one import namespace:

- :mod:`peppers.hkv` — the hierarchical key-value run database;
- :mod:`peppers.drs` — the make-like dependency run scheduler;
- :mod:`peppers.ppe` — the pull-based tile pipeline engine;
- :mod:`peppers.rmi` — the run monitor.

Array convention, kept everywhere: ``(row, col) == (azimuth, range)``.
"""

__version__ = "0.1.0"
