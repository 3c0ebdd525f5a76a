"""The rule set of a run and its dependency graph (networkx).

Rules come from the rule files shipped with peppers (``rules/*.yaml``, the
package ``peppers.rules``) and from the run's own ``RUN/rules/*.yaml``, read
in that order, each folder sorted by name. A run rule with the name of a
packaged rule replaces it (``rule.file`` says which file won); two files of
the same folder defining one name is an error. A run can leave the packaged
rules out with ``drs.package_rules: false``.

Between the two, the packaged *variants* the run names in
``drs.rule_variants`` (a list; ``pep init --reference-dem`` writes
``[reference_dem]``): each is a folder ``rules/VARIANT/*.yaml`` whose rules
replace packaged rules of the same name, e.g. the DEM-assisted versions of
coregistration and geocoding. ``pep set drs.rule_variants []`` goes back to
the plain chain; the rules that changed are then stale.

Data and edges
--------------
A rule reads *images* (``inputs``) and *HKV keys* (``params``) and makes
images (local, global, command rules) or keys (reductions). The graph has
one node per rule and an edge ``P -> C`` when ``C`` reads an image ``P``
makes, or a key equal to, inside or above a key ``P`` makes; the edge
carries the names (``via``). An image no rule makes is a *run input*
(:mod:`peppers.drs.state`).

Whole-set checks, each naming the files and lines: two rules making one
image or overlapping keys; a cycle, printed ``a -> b -> a``; and, for the
part a target needs, inputs that are neither made by a rule nor run inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx

from peppers.drs.rules import Rule, parse_rule_file
from peppers.errors import RuleError


def package_folder() -> Path:
    """The folder of the packaged rule files (package ``peppers.rules``)."""
    return Path(str(resources.files("peppers.rules")))


def packaged_variants() -> list[str]:
    """Names of the packaged rule variants (the folders of ``peppers.rules``)."""
    folder = package_folder()
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


def rule_files(run_root: Path | None, *, package: bool = True,
               variants: Iterable[str] = ()) -> list[list[Path]]:
    """Rule files in load order: ``[[packaged...], [variant...]..., [run's...]]`` (each sorted).

    Raises
    ------
    RuleError
        A variant that is not a packaged one.
    """
    layers: list[list[Path]] = []
    if package:
        folder = package_folder()
        layers.append(sorted(folder.glob("*.yaml")))
        for variant in variants:
            if variant not in packaged_variants():
                raise RuleError(f"drs.rule_variants: no packaged rule variant {variant!r} "
                                f"(there are: {', '.join(packaged_variants()) or 'none'})")
            layers.append(sorted((folder / variant).glob("*.yaml")))
    if run_root is not None:
        layers.append(sorted((Path(run_root) / "rules").glob("*.yaml")))
    return layers


def _overlap(a: str, b: str) -> bool:
    """Whether HKV keys ``a`` and ``b`` are equal or one lies below the other."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


class RuleSet:
    """Checked rules with their dependency graph.

    Parameters
    ----------
    rules : iterable of Rule
        Rules with unique names.

    Raises
    ------
    RuleError
        Two rules make one output, or the rules form a cycle.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: dict[str, Rule] = {}
        for rule in rules:
            if rule.name in self.rules:
                first = self.rules[rule.name]
                raise rule.error(f"rule {rule.name!r} is defined twice (also {first.where()})")
            self.rules[rule.name] = rule
        #: Image name -> the rule making it.
        self.image_maker: dict[str, str] = {}
        #: HKV key -> the reduction making it.
        self.key_maker: dict[str, str] = {}
        for rule in self.rules.values():
            for port, out in rule.outputs.items():
                if rule.kind == "reduction":
                    for key, other in self.key_maker.items():
                        if _overlap(key, out):
                            raise rule.error(
                                f"output key {out} overlaps key {key} made by rule {other} "
                                f"({self.rules[other].where()}); two rules make one output",
                                f"outputs.{port}")
                    self.key_maker[out] = rule.name
                else:
                    if out in self.image_maker:
                        other = self.rules[self.image_maker[out]]
                        raise rule.error(f"output {out} is also made by rule {other.name} "
                                         f"({other.where()}); two rules make one output",
                                         f"outputs.{port}")
                    self.image_maker[out] = rule.name
        self.graph = nx.DiGraph()
        self.graph.add_nodes_from(self.rules)
        for rule in self.rules.values():
            for image in rule.inputs.values():
                maker = self.image_maker.get(image)
                if maker is not None:
                    self._edge(maker, rule.name, image)
            for key in rule.params.values():
                for maker in self.key_makers(key):
                    self._edge(maker, rule.name, key)
        self._check_cycles()

    @classmethod
    def load(cls, run_root: Path | None = None, *, package: bool = True,
             extra: Iterable[Path] = (), variants: Iterable[str] = ()) -> "RuleSet":
        """Read the packaged rules, the variants, the run's (each overriding by name), ``extra``.

        Raises
        ------
        RuleError
            For any malformed file or rule, or a whole-set problem.
        """
        layers = rule_files(run_root, package=package, variants=variants)
        layers.append([Path(p) for p in extra])
        merged: dict[str, Rule] = {}
        for files in layers:
            layer: dict[str, Rule] = {}
            for path in files:
                for rule in parse_rule_file(path):
                    if rule.name in layer:
                        raise rule.error(f"rule {rule.name!r} is defined twice (also "
                                         f"{layer[rule.name].where()})")
                    layer[rule.name] = rule
            merged.update(layer)
        return cls(merged.values())

    @classmethod
    def for_run(cls, db: Any, *, package: bool | None = None) -> "RuleSet":
        """The rule set of run ``db``: its ``drs.package_rules`` and ``drs.rule_variants``.

        Parameters
        ----------
        db : RunDatabase
        package : bool, optional
            Override ``drs.package_rules`` (default True).

        Raises
        ------
        RuleError
            As :meth:`load`; ``drs.rule_variants`` not a list of packaged variants.
        """
        if package is None:
            package = bool(db.get("drs.package_rules", True))
        variants = db.get("drs.rule_variants", [])
        if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
            raise RuleError(f"drs.rule_variants: {variants!r} is not a list of variant names")
        return cls.load(db.root, package=package, variants=variants)

    # -- graph ----------------------------------------------------------------------
    def _edge(self, maker: str, reader: str, via: str) -> None:
        if self.graph.has_edge(maker, reader):
            self.graph.edges[maker, reader]["via"].append(via)
        else:
            self.graph.add_edge(maker, reader, via=[via])

    def key_makers(self, key: str) -> list[str]:
        """The reductions whose output keys overlap ``key``."""
        return sorted({r for k, r in self.key_maker.items() if _overlap(k, key)})

    def _check_cycles(self) -> None:
        try:
            cycle = nx.find_cycle(self.graph)
        except nx.NetworkXNoCycle:
            return
        names = [a for a, _ in cycle] + [cycle[0][0]]
        first = self.rules[names[0]]
        links = "; ".join(f"{b} reads {', '.join(self.graph.edges[a, b]['via'])} made by {a}"
                          for a, b in cycle)
        raise first.error(f"rules form a cycle: {' -> '.join(names)} ({links})")

    def resolve_target(self, target: str) -> tuple[str, str | None]:
        """``(rule, image or None)`` for a target: a rule, an image, or an HKV key.

        Raises
        ------
        RuleError
            If no rule is named so or makes it.
        """
        if target in self.image_maker:
            return self.image_maker[target], target
        if target in self.rules:
            return target, None
        makers = self.key_makers(target)
        if len(makers) == 1:
            return makers[0], None
        known = sorted(self.image_maker)[:12]
        raise RuleError(f"make target {target!r}: no rule is named so or makes it (images "
                        f"made by rules: {', '.join(known)}{' ...' if len(self.image_maker) > 12 else ''})")

    def needed(self, rules: Iterable[str]) -> list[str]:
        """``rules`` and everything they depend on, in a topological order."""
        wanted: set[str] = set()
        for name in rules:
            wanted.add(name)
            wanted |= nx.ancestors(self.graph, name)
        order = nx.lexicographical_topological_sort(self.graph.subgraph(wanted))
        return list(order)

    def check_inputs(self, names: Iterable[str], is_run_input: Callable[[str], bool]) -> None:
        """Every input image of ``names`` is made by a rule or is a run input.

        Raises
        ------
        RuleError
            Naming the rule's file and line, the port and the image.
        """
        for name in names:
            rule = self.rules[name]
            for port, image in rule.inputs.items():
                if image not in self.image_maker and not is_run_input(image):
                    raise rule.error(
                        f"input {port}: image {image!r} is made by no rule and is not a run "
                        f"input (record it under HKV inputs.{image}.path, or add a rule "
                        "making it)", f"inputs.{port}")

    def readers(self, image: str) -> list[str]:
        """Rules reading image ``image``."""
        return sorted(r.name for r in self.rules.values() if image in r.inputs.values())
