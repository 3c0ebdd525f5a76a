"""Running one operator on image files, outside the scheduler (``pep op NAME``).

The three kinds run through the one operator-run layer,
:mod:`peppers.ppe.runner` (staging, atomic commit, failure wrapping), which
the scheduler's boundary rules and MPI rank 0 use too; a reduction's values
come back here as YAML text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import yaml

from peppers.operator import ReductionOperator
from peppers.plain import plain
from peppers.ppe import runner
from peppers.ppe.runner import run_global, run_local

__all__ = ["run_global", "run_local", "run_reduction"]


def run_reduction(op: ReductionOperator, inputs: Mapping[str, Path]) -> str:
    """Run reduction ``op`` (:func:`peppers.ppe.runner.run_reduction`); its values as YAML.

    Raises
    ------
    OperatorError
        The operator failed, or returned something other than a mapping.
    """
    result = runner.run_reduction(op, inputs)
    return yaml.safe_dump(plain(result), sort_keys=False, default_flow_style=None)
