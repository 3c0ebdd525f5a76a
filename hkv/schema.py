"""Declared parameters: their types, defaults and documentation.

A run is created with a parameter set, a mapping ``key -> {type, default,
doc}`` plus optional bounds ``ge``, ``gt``, ``le``, ``choices`` (see
:mod:`peppers.bounds`; on a list they apply to every item). It is stored in ``.peppers/parameters.yaml``; the defaults are
written as the keys' first values and the docs as comments above them in
the record files. Every value of a declared key -- set through the API, on
the command line, or typed into a record by hand -- is checked against its
type and bounds; keys that are not declared (results written by rules, notes) take any
storable value.

Type expressions
----------------
``int``, ``float`` (an int is accepted and stored as a float), ``str``,
``bool``, ``null``, ``datetime`` (UTC), ``image`` (an ImageRef),
``mapping``, ``list`` (any items), ``any``; ``list[T]`` for a list whose
items are all of type ``T``; ``T1 | T2`` for either. Examples: ``int``,
``list[int]``, ``float | null``, ``list[list[float]]``.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from peppers.bounds import BOUNDS, violation
from peppers.errors import HKVError, RecordError
from peppers.hkv.keys import split_key
from peppers.hkv.values import ImageRef, normalize, value_text

#: A checker returns the (possibly coerced) value or raises ``_Mismatch``.
Checker = Callable[[Any], Any]
_LIST = re.compile(r"list\[(.*)\]\Z")


class _Mismatch(ValueError):
    pass


def _exact(*types: type) -> Checker:
    def check(value: Any) -> Any:
        if type(value) in types:
            return value
        raise _Mismatch
    return check


def _float(value: Any) -> Any:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise _Mismatch


def _any(value: Any) -> Any:
    return value


_BASES: dict[str, Checker] = {
    "int": _exact(int), "float": _float, "str": _exact(str), "bool": _exact(bool),
    "null": _exact(type(None)), "datetime": _exact(_dt.datetime), "image": _exact(ImageRef),
    "mapping": _exact(dict), "list": _exact(list), "any": _any,
}


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "[") - (ch == "]")
        if depth < 0:
            raise ValueError("unbalanced ']'")
        if ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise ValueError("unbalanced '['")
    parts.append(text[start:])
    return [p.strip() for p in parts]


@functools.lru_cache(maxsize=512)
def compile_type(expr: str) -> Checker:
    """Compile a type expression (see the module docstring) into a checker.

    Raises
    ------
    ValueError
        If ``expr`` is not a valid type expression.
    """
    if not isinstance(expr, str) or not expr.strip():
        raise ValueError(f"type {expr!r} must be a non-empty string such as 'int' or 'list[float]'")
    alternatives = _split_top(expr.strip(), "|")
    if len(alternatives) > 1:
        checkers = [compile_type(a) for a in alternatives]

        def check_any_of(value: Any) -> Any:
            for checker in checkers:
                try:
                    return checker(value)
                except _Mismatch:
                    continue
            raise _Mismatch
        return check_any_of
    name = alternatives[0]
    match = _LIST.match(name)
    if match:
        item = compile_type(match.group(1))

        def check_list(value: Any) -> Any:
            if type(value) is not list:
                raise _Mismatch
            return [item(v) for v in value]
        return check_list
    if name in _BASES:
        return _BASES[name]
    raise ValueError(f"unknown type {name!r}; use one of {', '.join(sorted(_BASES))}, "
                     "list[T] or T1 | T2")


@dataclass(frozen=True)
class Parameter:
    """One declared parameter.

    Attributes
    ----------
    key : str
        Its key path.
    type : str
        Its type expression.
    default : object
        Its default value (already checked), or :data:`NO_DEFAULT`.
    doc : str
        One or more lines of documentation.
    bounds : dict
        ``ge``, ``gt``, ``le``, ``choices`` that are set (see :mod:`peppers.bounds`).
    """

    key: str
    type: str
    default: Any
    doc: str
    bounds: Mapping[str, Any] = field(default_factory=dict)

    def check(self, value: Any) -> Any:
        """Return ``value`` (coerced, e.g. int -> float) if it has this type.

        Raises
        ------
        RecordError
            Naming the key, the declared type and the value seen, or the
            bound the value breaks.
        """
        try:
            checked = compile_type(self.type)(value)
        except _Mismatch:
            raise RecordError(f"key {self.key}: expected {self.type}, got "
                              f"{value_text(value)} ({type(value).__name__}); "
                              f"{self.doc.splitlines()[0] if self.doc else ''}".rstrip("; "))\
                from None
        problem = violation(checked, **self.bounds) if self.bounds else None
        if problem is not None:
            raise RecordError(f"key {self.key}: {problem}")
        return checked


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


#: Marks a declared parameter without a default value.
NO_DEFAULT: Any = _NoDefault()


class Schema:
    """The declared parameter set of a run (possibly empty).

    Parameters
    ----------
    parameters : mapping, optional
        ``key -> {"type": str, "default": value, "doc": str}``; ``type`` is
        required, ``default`` and ``doc`` are optional.

    Raises
    ------
    HKVError
        If a key is malformed, a type expression is invalid, a default does
        not have its declared type, or one key lies below another.
    """

    def __init__(self, parameters: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.parameters: dict[str, Parameter] = {}
        for key, spec in (parameters or {}).items():
            self.parameters[key] = _parameter(key, spec)
        keys = sorted(self.parameters)
        for a, b in zip(keys, keys[1:]):
            if b.startswith(a + "."):
                raise HKVError(f"parameters: {a} is declared as a value and also has "
                               f"parameter {b} below it; a key is a value or a group, not both")

    def __contains__(self, key: str) -> bool:
        return key in self.parameters

    def __len__(self) -> int:
        return len(self.parameters)

    def check(self, key: str, value: Any) -> Any:
        """The checked value of ``key`` (unchanged if ``key`` is not declared)."""
        parameter = self.parameters.get(key)
        return value if parameter is None else parameter.check(value)

    def doc(self, key: str) -> str:
        """The documentation of ``key`` ("" if undeclared)."""
        parameter = self.parameters.get(key)
        return parameter.doc if parameter else ""

    def namespaces(self) -> frozenset[str]:
        """First components of the declared keys (``insar``, ``ppe``, ``products``).

        Inside these, a key must be declared to be set by hand (see
        :meth:`undeclared`); every other namespace (``user.*`` for notes and
        free settings) takes any key.
        """
        return frozenset(key.split(".", 1)[0] for key in self.parameters)

    def undeclared(self, key: str) -> str | None:
        """Why ``key`` may not be set by hand, or None if it may.

        A key is refused when it lies in a declared namespace (see
        :meth:`namespaces`) without being declared; the answer names the
        closest declared keys (``difflib``).

        >>> schema = Schema({"insar.coherence.window": {"type": "list[int]"}})
        >>> print(schema.undeclared("insar.coherenc.window"))  # doctest: +ELLIPSIS
        insar.coherenc.window is not a declared parameter; did you mean insar.coherence.window? ...
        >>> schema.undeclared("user.note") is None
        True
        """
        if key in self.parameters or key.split(".", 1)[0] not in self.namespaces():
            return None
        close = difflib.get_close_matches(key, list(self.parameters), n=3, cutoff=0.6)
        space = key.split(".", 1)[0]
        hint = (f"; did you mean {' or '.join(close)}?" if close
                else f"; 'pep get {space}' lists the declared {space}.* keys")
        return f"{key} is not a declared parameter{hint} (free keys go under user.*)"

    def defaults(self) -> dict[str, Any]:
        """Key -> default for every parameter that has one."""
        return {k: p.default for k, p in self.parameters.items() if p.default is not NO_DEFAULT}

    def to_plain(self) -> dict[str, dict[str, Any]]:
        """The parameter set as plain data (for ``parameters.yaml``)."""
        out = {}
        for key, p in sorted(self.parameters.items()):
            entry: dict[str, Any] = {"type": p.type}
            if p.default is not NO_DEFAULT:
                entry["default"] = p.default
            entry.update(p.bounds)
            if p.doc:
                entry["doc"] = p.doc
            out[key] = entry
        return out


def _parameter(key: str, spec: Mapping[str, Any]) -> Parameter:
    split_key(key)
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise HKVError(f"parameters: {key}: needs a mapping with at least 'type' "
                       f"(and optionally 'default', 'doc'), got {spec!r}")
    unknown = set(spec) - {"type", "default", "doc", *BOUNDS}
    if unknown:
        raise HKVError(f"parameters: {key}: unknown field(s) {sorted(map(str, unknown))}; "
                       f"allowed: type, default, doc, {', '.join(BOUNDS)}")
    if not isinstance(spec["type"], str):
        raise HKVError(f"parameters: {key}: type must be a string such as 'int' or "
                       f"'list[float]', got {spec['type']!r}")
    try:
        compile_type(spec["type"])
    except ValueError as error:
        raise HKVError(f"parameters: {key}: {error}") from None
    doc = spec.get("doc") or ""
    if not isinstance(doc, str):
        raise HKVError(f"parameters: {key}: doc must be a string, got {type(doc).__name__}")
    bounds = {b: spec[b] for b in BOUNDS if spec.get(b) is not None}
    for b, bound in bounds.items():
        ok = (isinstance(bound, list) and bool(bound)) if b == "choices" else \
            (isinstance(bound, (int, float)) and not isinstance(bound, bool))
        if not ok:
            raise HKVError(f"parameters: {key}: {b} must be "
                           f"{'a non-empty list' if b == 'choices' else 'a number'}, got {bound!r}")
    parameter = Parameter(key, spec["type"].strip(), NO_DEFAULT, doc.strip(), bounds)
    if "default" in spec:
        default = parameter.check(normalize(spec["default"], f"parameters: {key}: default"))
        parameter = Parameter(key, parameter.type, default, parameter.doc, bounds)
    return parameter
