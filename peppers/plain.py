"""Plain Python data for YAML and JSON: numpy scalars and arrays, tuples, mappings.

One converter for everything peppers writes as YAML from computed values
(reduction results of ``pep op``, stream specs, the simulator's truth):
numpy scalars become Python numbers, arrays nested lists, tuples lists,
mapping keys strings. Anything else is returned unchanged, so the YAML
dumper still refuses what it cannot write.

>>> import numpy as np
>>> plain({"mean": np.float32(0.5), "shape": (2, 3), 1: np.arange(3)})
{'mean': 0.5, 'shape': [2, 3], '1': [0, 1, 2]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def plain(value: Any) -> Any:
    """``value`` with numpy scalars/arrays, tuples and mapping keys made YAML-safe.

    Parameters
    ----------
    value : object
        Nested mappings, lists and tuples of anything.

    Returns
    -------
    object
        The same structure of dict (str keys), list, and Python scalars.
    """
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy array or scalar
        return plain(value.tolist())
    return value
