"""Running one operator on image files, outside the scheduler (``pep op NAME``).

The three kinds run through the one operator-run layer,
:mod:`peppers.ppe.runner` (staging, atomic commit, failure wrapping), which
the scheduler's boundary rules and MPI rank 0 use too; a reduction's values
come back here as YAML text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import yaml

from peppers.operator import ReductionOperator
from peppers.ppe import runner
from peppers.ppe.runner import run_global, run_local

__all__ = ["plain", "run_global", "run_local", "run_reduction"]


def plain(value: Any) -> Any:
    """``value`` with numpy scalars and arrays turned into YAML-safe Python."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_reduction(op: ReductionOperator, inputs: Mapping[str, Path]) -> str:
    """Run reduction ``op`` (:func:`peppers.ppe.runner.run_reduction`); its values as YAML.

    Raises
    ------
    OperatorError
        The operator failed, or returned something other than a mapping.
    """
    result = runner.run_reduction(op, inputs)
    return yaml.safe_dump(plain(result), sort_keys=False, default_flow_style=None)
