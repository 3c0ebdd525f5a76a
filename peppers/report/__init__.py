"""The HTML report of a run (``pep report``).

- :mod:`.collect` -- inputs, parameters, rule timings, images, read from the run;
- :mod:`.accuracy` -- a height product against the GCPs (bias, RMS);
- :mod:`.graph` -- the rule graph as a PNG (Graphviz, else drawn with Pillow);
- :mod:`.html` -- the page and its pictures: :func:`write_report`.
"""

from peppers.report.html import Report, write_report

__all__ = ["Report", "write_report"]
