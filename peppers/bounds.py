"""Bounds of declared parameters: ``ge``, ``gt``, ``le``, ``choices``.

One check, used by both declarations of a parameter: the operator's
:class:`~peppers.operator.Param` (when an operator is built) and the run's
parameter set (:mod:`peppers.hkv.schema`, when a value is stored, e.g. by
``pep set``). A bound on a list applies to every item, so ``ge: 1`` on a
window ``[rows, cols]`` asks both to be at least 1.

>>> violation([-1, 5], ge=1)
'item -1 must be >= 1 (bound ge: 1)'
>>> violation(0.5, gt=0, le=1) is None
True
>>> violation("sinc", choices=("nearest", "bilinear"))
"'sinc' must be one of nearest, bilinear (bound choices)"
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: The bound names, in the order they are written and checked.
BOUNDS = ("ge", "gt", "le", "choices")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def violation(value: Any, *, ge: float | None = None, gt: float | None = None,
              le: float | None = None, choices: Sequence[Any] | None = None) -> str | None:
    """What is wrong with ``value`` under the bounds, or None if it keeps them.

    Parameters
    ----------
    value : object
        A scalar, or a list / tuple whose items are checked one by one
        (nested lists too). Non-numbers are not compared with ``ge``, ``gt``
        and ``le`` (the type check is the schema's job).
    ge, gt, le : float, optional
        ``value >= ge``, ``value > gt``, ``value <= le``.
    choices : sequence, optional
        The allowed values.

    Returns
    -------
    str or None
        One phrase naming the offending value and the bound.
    """
    if isinstance(value, (list, tuple)):
        for item in value:
            problem = violation(item, ge=ge, gt=gt, le=le, choices=choices)
            if problem is not None:
                return problem if problem.startswith("item ") else f"item {problem}"
        return None
    if choices is not None and value not in choices:
        return f"{value!r} must be one of {', '.join(map(str, choices))} (bound choices)"
    if _number(value):
        if ge is not None and not value >= ge:
            return f"{value!r} must be >= {ge!r} (bound ge: {ge!r})"
        if gt is not None and not value > gt:
            return f"{value!r} must be > {gt!r} (bound gt: {gt!r})"
        if le is not None and not value <= le:
            return f"{value!r} must be <= {le!r} (bound le: {le!r})"
    return None


def describe(*, ge: float | None = None, gt: float | None = None, le: float | None = None,
             choices: Sequence[Any] | None = None) -> str:
    """The bounds as a short text for help screens ("" without bounds).

    >>> describe(ge=1)
    '>= 1'
    >>> describe(gt=0, le=1)
    '> 0, <= 1'
    >>> describe(choices=["mcf", "wls"])
    'one of mcf, wls'
    """
    parts = []
    if ge is not None:
        parts.append(f">= {ge!r}")
    if gt is not None:
        parts.append(f"> {gt!r}")
    if le is not None:
        parts.append(f"<= {le!r}")
    if choices is not None:
        parts.append(f"one of {', '.join(map(str, choices))}")
    return ", ".join(parts)
