"""Values of the run database: what may be stored and how it is written.

The value types are int, float (``nan`` and ``inf`` included), str, bool,
None, lists, mappings with str keys, UTC datetimes and :class:`ImageRef`.
:func:`normalize` turns what a caller hands in into exactly these types
(tuples become lists, numpy scalars become Python scalars, aware datetimes
become UTC) and refuses anything else, naive datetimes included, so that
what is written is what comes back.

YAML is the text form (see :mod:`peppers.hkv.records` for record files):
plain YAML 1.1 through PyYAML's safe loader, plus one tag, ``!image``, for
image references::

    dem: !image {path: images/dem.raw, sha256: 9f86..., size: 4096,
                 mtime: 2024-05-01T12:00:00+00:00}

:func:`value_text` is the one-line YAML of a value (the audit trail and the
command line print it) and :func:`value_hash` its content hash: the sha256
of the canonical one-line YAML with mapping keys sorted, so equal values
(``nan`` included) hash equal.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import math
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from peppers.errors import RecordError

_LOADER_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER_BASE = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
UTC = _dt.timezone.utc
IMAGE_TAG = "!image"


@dataclass(frozen=True)
class ImageRef:
    """A reference to a binary file inside the run directory.

    Images are never copied into records or snapshots: a record holds this
    reference, and the content hash (when known) says which bytes it meant.

    Parameters
    ----------
    path : str
        Path relative to the run root, with ``/`` separators, inside the run
        (no absolute paths, no ``..``), e.g. ``images/ifg.raw``.
    sha256 : str or None
        Hex sha256 of the file's bytes, or None if not computed.
    size : int or None
        File size in bytes.
    mtime : datetime or None
        Modification time (UTC) when the reference was taken.

    Raises
    ------
    ValueError
        If the path is absolute or leaves the run, the hash is not 64 lower-case
        hex digits, the size is negative, or the time is naive.
    """

    path: str
    sha256: str | None = None
    size: int | None = None
    mtime: _dt.datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", check_relative(self.path))
        if self.sha256 is not None and not (isinstance(self.sha256, str)
                                            and _HEX64.match(self.sha256)):
            raise ValueError(f"ImageRef {self.path}: sha256 must be 64 lower-case hex digits, "
                             f"got {self.sha256!r}")
        if self.size is not None:
            if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 0:
                raise ValueError(f"ImageRef {self.path}: size must be an int >= 0, "
                                 f"got {self.size!r}")
        if self.mtime is not None:
            object.__setattr__(self, "mtime", utc_datetime(self.mtime, f"ImageRef {self.path}"))


def check_relative(path: object) -> str:
    """Validate a path inside the run: relative, POSIX, not leaving the root.

    Returns the normalised path (``a//b/./c`` -> ``a/b/c``).

    Raises
    ------
    ValueError
        If ``path`` is not a non-empty string, is absolute, or climbs out.
    """
    if not isinstance(path, str) or not path or "\\" in path or "\x00" in path:
        raise ValueError(f"path {path!r} must be a non-empty POSIX path relative to the run root")
    if path.startswith("/"):
        raise ValueError(f"path {path!r} is absolute; paths in a run are relative to its root "
                         "so that the run can be moved")
    norm = posixpath.normpath(path)
    if norm == "." or norm == ".." or norm.startswith("../"):
        raise ValueError(f"path {path!r} leaves the run directory")
    return norm


def utc_datetime(value: _dt.datetime, where: str) -> _dt.datetime:
    """An aware datetime converted to UTC; naive ones are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{where}: datetime {value.isoformat()} has no time zone; "
                         "store UTC datetimes, e.g. datetime.now(timezone.utc)")
    return value.astimezone(UTC)


class _Invalid(ValueError):
    """A value that cannot be stored; ``args[0]`` says where and why."""


def normalize(value: Any, where: str = "value") -> Any:
    """Return ``value`` in exactly the stored types, or raise.

    Parameters
    ----------
    value : object
        What a caller wants to store.
    where : str
        Shown in messages (usually the key).

    Returns
    -------
    object
        An equal value made of int, float, str, bool, None, list, dict with
        str keys, UTC datetime and ImageRef only.

    Raises
    ------
    RecordError
        Naming ``where`` and the position inside the value, for a type that
        cannot be stored (naive datetime, date, set, bytes, array, ...).
    """
    try:
        return _normalize(value, "")
    except _Invalid as error:
        raise RecordError(f"{where}: {error.args[0]}") from None


def _normalize(value: Any, inner: str) -> Any:
    kind = type(value)
    if value is None or kind in (bool, int, float):
        return value
    if kind is str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Invalid(f"{inner or 'the value'} is a str that is not valid Unicode "
                           "(lone surrogate)") from None
        return value
    if isinstance(value, ImageRef):
        return value
    if isinstance(value, _dt.datetime):
        try:
            return utc_datetime(value, inner or "the value")
        except ValueError as error:
            raise _Invalid(str(error)) from None
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return _normalize(str(value), inner)
    if isinstance(value, (list, tuple)):
        return [_normalize(v, f"{inner}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise _Invalid(f"mapping key {k!r} at {inner or 'the top'} is a "
                               f"{type(k).__name__}; mapping keys must be str")
            out[str(k)] = _normalize(v, f"{inner}[{k!r}]")
        return out
    if getattr(value, "shape", None) == () and hasattr(value, "item"):  # numpy scalar
        return _normalize(value.item(), inner)
    hint = " (use .tolist())" if hasattr(value, "tolist") else ""
    if isinstance(value, _dt.date):
        hint = " (store a UTC datetime instead of a date)"
    raise _Invalid(f"{inner or 'the value'} is a {kind.__name__}, which the run database "
                   f"cannot store{hint}; use int, float, str, bool, None, list, dict, "
                   "UTC datetime or ImageRef")


# -- YAML ---------------------------------------------------------------------
class Loader(_LOADER_BASE):  # type: ignore[misc,valid-type]
    """PyYAML's safe loader plus the ``!image`` tag."""


class Dumper(_DUMPER_BASE):  # type: ignore[misc,valid-type]
    """PyYAML's safe dumper plus ImageRef, tuples and UTC datetimes."""


def _construct_image(loader: Loader, node: yaml.Node) -> ImageRef:
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(
            None, None, "!image needs a mapping {path: ..., sha256: ..., size: ..., mtime: ...}",
            node.start_mark)
    fields = loader.construct_mapping(node, deep=True)
    unknown = set(fields) - {"path", "sha256", "size", "mtime"}
    if unknown or "path" not in fields:
        raise yaml.constructor.ConstructorError(
            None, None, f"!image takes path (required), sha256, size, mtime; got "
            f"{sorted(map(str, fields))}", node.start_mark)
    try:
        return ImageRef(**fields)
    except (TypeError, ValueError) as error:
        raise yaml.constructor.ConstructorError(None, None, str(error), node.start_mark) from None


def _represent_image(dumper: Dumper, ref: ImageRef) -> yaml.Node:
    fields = {"path": ref.path}
    for name in ("sha256", "size", "mtime"):
        if getattr(ref, name) is not None:
            fields[name] = getattr(ref, name)
    return dumper.represent_mapping(IMAGE_TAG, fields, flow_style=True)


def _represent_datetime(dumper: Dumper, value: _dt.datetime) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp",
                                   value.astimezone(UTC).isoformat())


Loader.add_constructor(IMAGE_TAG, _construct_image)
Dumper.add_representer(ImageRef, _represent_image)
Dumper.add_representer(tuple, Dumper.represent_list)
Dumper.add_representer(_dt.datetime, _represent_datetime)

#: Keyword arguments of every dump: readable Unicode, no line folding.
DUMP_OPTIONS = {"Dumper": Dumper, "allow_unicode": True, "width": 1 << 16}


def value_text(value: Any, *, sort_keys: bool = False) -> str:
    """The one-line (flow) YAML text of a stored value.

    Examples
    --------
    >>> value_text([5, 5])
    '[5, 5]'
    >>> value_text(float("nan"))
    '.nan'
    """
    text = yaml.dump(value, default_flow_style=True, sort_keys=sort_keys, **DUMP_OPTIONS)
    if text.endswith("\n...\n"):
        text = text[:-5]
    return text.rstrip("\n")


def parse_value(text: str, where: str = "value") -> Any:
    """Parse YAML text (e.g. from the command line) into a stored value.

    Raises
    ------
    RecordError
        If the text is not YAML or holds a type that cannot be stored; the
        message names ``where`` and the line and column.
    """
    try:
        value = yaml.load(text, Loader=Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RecordError(f"{where}: not valid YAML{place}: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise RecordError(f"{where}: not valid YAML: {error}") from None
    return normalize(value, where)


def value_hash(value: Any) -> str:
    """Hex sha256 of a value's canonical text (mapping keys sorted)."""
    return hashlib.sha256(value_text(value, sort_keys=True).encode("utf-8")).hexdigest()


def same_value(a: Any, b: Any) -> bool:
    """Equality that treats ``nan`` as equal to itself (by canonical text)."""
    if type(a) is float and type(b) is float and not (math.isnan(a) or math.isnan(b)):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return value_text(a, sort_keys=True) == value_text(b, sort_keys=True)
