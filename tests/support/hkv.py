"""Shared strategies and helpers for the HKV tests (and tests of the helpers).

The HKV tests import from here: key and value strategies for
hypothesis, an exact equality that treats ``nan`` as equal to itself and
distinguishes ``1`` from ``1.0`` and ``True``, and a fresh-run context.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import tempfile
from pathlib import Path

from hypothesis import strategies as st

from peppers.hkv import ImageRef, RunDatabase

UTC = dt.timezone.utc

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,7}", fullmatch=True)
key_paths = st.lists(identifiers, min_size=1, max_size=4).map(".".join)

datetimes = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                         timezones=st.just(UTC))
image_refs = st.builds(
    ImageRef,
    path=st.lists(st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}", fullmatch=True)
                  .filter(lambda p: p not in (".", "..")), min_size=1, max_size=3).map("/".join),
    sha256=st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    size=st.none() | st.integers(0, 2 ** 40),
    mtime=st.none() | datetimes)
scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
           | datetimes | image_refs)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)


def same(a, b) -> bool:
    """Exact structural equality: types must match; nan equals nan; -0.0 != 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, dt.datetime):
        return a == b and a.utcoffset() == b.utcoffset() == dt.timedelta(0)
    return a == b


@contextlib.contextmanager
def fresh_run(parameters=None):
    """A new run in a temporary directory (usable inside hypothesis examples)."""
    with tempfile.TemporaryDirectory() as folder:
        yield RunDatabase.create(Path(folder) / "run", parameters)
