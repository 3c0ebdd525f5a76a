"""The operator registry: name -> operator class, for ``pep op NAME``.

Two places say which operators exist:

1. the modules of :mod:`peppers.operators` (every public module, walked
   recursively): each concrete :class:`~peppers.operator.Operator`
   subclass defined there with a ``name``;
2. the rule files (packaged ``rules/*.yaml`` and, in a run, the run's
   ``rules/*.yaml``): each ``operator: module:Class`` they name -- so an
   operator living outside peppers that a run's rules use is found too.

An :class:`Entry` knows its class, the rules that use it and, per
parameter, the HKV key a run reads it from (the :class:`Param` ``key``, else
the key the first rule using the operator maps it to), so ``pep op NAME
--from-run`` takes the run's values as ``pep run make`` would.

Lookups (:func:`lookup`) accept the operator name (``box_filter``), the
class name (``BoxFilter``), ``module:Class``, or the name of a rule that uses
it (``multilook_coherence``). What cannot be imported is not hidden: it is
listed in :attr:`Registry.problems` (``pep op --list`` prints them).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

from peppers.errors import OperatorError, RuleError
from peppers.operator import Operator, Param


@dataclass
class Entry:
    """One operator of the registry.

    Attributes
    ----------
    name : str
        The operator's ``name``.
    cls : type
        The operator class.
    rules : list of str
        Rules that use it.
    keys : dict
        Parameter name -> HKV key it is read from in a run.
    """

    name: str
    cls: type
    rules: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """``module:Class``."""
        return f"{self.cls.__module__}:{self.cls.__name__}"

    @property
    def kind(self) -> str:
        return str(self.cls.kind)

    @property
    def summary(self) -> str:
        """First line of the class docstring."""
        doc = inspect.getdoc(self.cls) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    @property
    def params(self) -> tuple[Param, ...]:
        return tuple(self.cls.params)


@dataclass
class Registry:
    """Operators by name, and what could not be loaded."""

    entries: dict[str, Entry] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, cls: type, where: str) -> Entry | None:
        """Register ``cls`` (found at ``where``); a clash of names is a problem."""
        name = str(cls.name or "")
        if not name or name.startswith("_"):
            return None
        entry = self.entries.get(name)
        if entry is None:
            entry = self.entries[name] = Entry(name, cls)
            entry.keys = {p.name: p.key for p in cls.params if p.key}
        elif entry.cls is not cls:
            self.problems.append(f"{where}: operator name {name!r} is taken by {entry.path}; "
                                 f"{cls.__module__}:{cls.__name__} is not listed")
            return None
        return entry


def _concrete_operators(module) -> list[type]:
    return [cls for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Operator) and cls.__module__ == module.__name__
            and not inspect.isabstract(cls)]


def _scan_package(registry: Registry) -> None:
    import peppers.operators as package

    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        if any(part.startswith("_") for part in info.name.split(".")[2:]):
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception as error:  # noqa: BLE001 - reported, the rest still load
            registry.problems.append(f"{info.name}: cannot import ({type(error).__name__}: "
                                     f"{error})")
            continue
        for cls in _concrete_operators(module):
            registry.add(cls, info.name)


def _scan_rules(registry: Registry, run_root: Path | None, package: bool) -> None:
    from peppers.drs.rules import parse_rule_file
    from peppers.drs.ruleset import packaged_variants, rule_files

    variants = packaged_variants() if package else []
    for layer in rule_files(run_root, package=package, variants=variants):
        for path in layer:
            try:
                rules = parse_rule_file(path)
            except RuleError as error:  # names file and line; the other files still load
                registry.problems.append(str(error))
                continue
            for rule in rules:
                if rule.kind == "command" or not rule.operator:
                    continue
                try:
                    cls = rule.operator_class()
                except RuleError as error:
                    registry.problems.append(str(error))
                    continue
                entry = registry.add(cls, rule.where("operator"))
                if entry is None:
                    continue
                entry.rules.append(rule.name)
                for param, key in rule.params.items():
                    entry.keys.setdefault(param, key)


def discover(run_root: Path | None = None, *, package_rules: bool = True) -> Registry:
    """Build the registry from the operator modules and the rule files.

    Parameters
    ----------
    run_root : Path, optional
        A run directory whose ``rules/*.yaml`` are read too.
    package_rules : bool
        Read the packaged rule files.

    Returns
    -------
    Registry
    """
    registry = Registry()
    _scan_package(registry)
    _scan_rules(registry, run_root, package_rules)
    registry.entries = dict(sorted(registry.entries.items()))
    return registry


def lookup(registry: Registry, name: str) -> Entry:
    """The entry called ``name`` (operator, class, ``module:Class`` or rule name).

    Raises
    ------
    OperatorError
        If nothing matches; the message suggests close names.
    """
    if name in registry.entries:
        return registry.entries[name]
    for entry in registry.entries.values():
        if name in (entry.cls.__name__, entry.path) or name in entry.rules:
            return entry
    if ":" in name:
        from peppers.drs.rules import import_operator

        try:
            cls = import_operator(name, f"pep op {name}")
        except RuleError as error:
            raise OperatorError(str(error)) from None
        return Entry(str(cls.name or cls.__name__), cls,
                     keys={p.name: p.key for p in cls.params if p.key})
    names = sorted({*registry.entries, *(e.cls.__name__ for e in registry.entries.values()),
                    *(r for e in registry.entries.values() for r in e.rules)})
    close = difflib.get_close_matches(name, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise OperatorError(f"pep op: unknown operator {name!r}{hint} ('pep op --list' lists them)")
