"""Rule files: YAML parsed with line marks into checked :class:`Rule` objects.

A rule file is one mapping ``rules:`` of rule name -> rule (``docs/rules.md``)::

    rules:
      smooth:
        kind: local
        operator: peppers.operators.filters:BoxFilter
        inputs:  {input: raw_phase}
        outputs: {output: smooth_phase}
        params:  {size: demo.smooth.size}

Everything a hand edit can break is checked here, and every error is one
line that names the file, the line and the rule (``rules/x.yaml, line 7,
rule smooth: ...``): YAML syntax, unknown or missing fields, a field of the
wrong type, names that are not identifiers, a duplicated key, an operator
that does not import or is not an :class:`~peppers.operator.Operator`,
a kind that does not match the operator class, ports the operator does not
have, and command placeholders that name nothing. Whole-set checks (two
rules making one output, missing inputs, cycles) live in
:mod:`peppers.drs.ruleset`.

Storage of outputs (field ``store``): ``raw`` (``images/NAME.raw`` +
``images/NAME.raw.vrt``, the ISCE names, :mod:`peppers.io.run_paths`; the
only choice of local and global rules), ``geotiff`` (``images/NAME.tif``)
or ``product`` (``products/NAME.tif``), the latter two for command rules,
which default to ``geotiff``. Reduction outputs are HKV
keys, not files.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from peppers.errors import RuleError
from peppers.io.run_paths import intermediate_path
from peppers.operator import BASES, operator_class

KINDS = ("local", "global", "reduction", "command")
STORES = ("raw", "geotiff", "product")
FIELDS = ("kind", "operator", "command", "inputs", "outputs", "params", "keep", "store", "doc")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*\Z")
@dataclass(frozen=True)
class Rule:
    """One checked rule.

    Attributes
    ----------
    name : str
        Unique across the loaded rule files.
    kind : str
        ``local``, ``global``, ``reduction`` or ``command``.
    operator : str or None
        ``module:Class`` (not for command rules).
    command : str or None
        The command line with ``{inputs.X}``, ``{outputs.X}``, ``{params.X}``
        ``{run}`` (the run directory) and ``{python}`` (the interpreter
        running peppers) placeholders (command rules only).
    inputs : dict
        Port -> image name.
    outputs : dict
        Port -> image name (HKV key for a reduction).
    params : dict
        Operator parameter -> HKV key; parameters whose :class:`Param`
        declares a ``key`` are added when the rule does not map them.
    keep : bool
        Write the outputs to disk even when they are intermediates of a stream.
    store : str
        How image outputs are stored (see the module docstring).
    doc : str
        One line.
    file : Path
        The rule file.
    line : int
        1-based line of the rule's name in ``file``.
    lines : dict
        Field (``"params.size"``, ``"inputs"``...) -> 1-based line.
    """

    name: str
    kind: str
    operator: str | None
    command: str | None
    inputs: dict[str, str]
    outputs: dict[str, str]
    params: dict[str, str]
    keep: bool = False
    store: str = "raw"
    doc: str = ""
    file: Path = Path("?")
    line: int = 0
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def where(self, what: str | None = None) -> str:
        """``FILE, line N, rule NAME`` (at the line of field ``what`` if known)."""
        line = self.lines.get(what, self.line) if what else self.line
        return f"{self.file}, line {line}, rule {self.name}"

    def error(self, problem: str, what: str | None = None) -> RuleError:
        """A :class:`RuleError` naming this rule's file and line."""
        return RuleError(f"{self.where(what)}: {problem}")

    def operator_class(self) -> type:
        """The operator class (imported; checked when the rule was loaded)."""
        return import_operator(self.operator, self.where("operator"))

    @property
    def version(self) -> str:
        """The operator's ``version``, or a hash of the command line."""
        if self.kind == "command":
            return "cmd-" + hashlib.sha256(str(self.command).encode()).hexdigest()[:12]
        return str(self.operator_class().version)

    def output_path(self, image: str) -> str:
        """Where output image ``image`` is stored, relative to the run root."""
        return image_path(image, self.store)


def image_path(image: str, store: str = "raw") -> str:
    """The run-relative path of a stored image: ``images/X.raw.vrt``, ``images/X.tif``...

    >>> image_path("coherence")
    'images/coherence.raw.vrt'
    """
    return {"raw": intermediate_path(image), "geotiff": f"images/{image}.tif",
            "product": f"products/{image}.tif"}[store]


def import_operator(spec: str | None, where: str) -> type:
    """Import ``module:Class`` and check that it is an Operator subclass.

    :func:`peppers.operator.operator_class` with the refusal as a rule error.

    Raises
    ------
    RuleError
        Naming ``where``, if the text is malformed, the import fails, or the
        object is not an operator class.
    """
    return operator_class(spec, where, error=rule_error(where))


def rule_error(where: str):
    """The error factory of :func:`peppers.operator.build_operator` for a rule at ``where``."""
    return lambda part, message: RuleError(f"{where}: {message}")


# -- parsing --------------------------------------------------------------------------
def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: yaml.Node, where: str, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
    """The pairs of a mapping node, refusing other nodes and duplicated keys."""
    if not isinstance(node, yaml.MappingNode):
        raise RuleError(f"{where}: {what} must be a mapping")
    seen: dict[str, int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise RuleError(f"{where.split(', line')[0]}, line {_line(key)}: {what}: keys "
                            "must be plain names")
        if key.value in seen:
            raise RuleError(f"{where.split(', line')[0]}, line {_line(key)}: {what}: "
                            f"{key.value!r} is given twice (first on line {seen[key.value]})")
        seen[key.value] = _line(key)
    return node.value


def _scalar(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_object(node, deep=True)


def _names(loader: yaml.SafeLoader, node: yaml.Node, file: Path, rule: str, what: str,
           lines: dict[str, int], value_pattern: re.Pattern, value_kind: str) -> dict[str, str]:
    """A ``{name: identifier}`` mapping field (inputs, outputs, params)."""
    where = f"{file}, line {_line(node)}, rule {rule}"
    out = {}
    for key, value in _mapping(node, where, what):
        at = f"{file}, line {_line(key)}, rule {rule}"
        if not NAME.match(key.value):
            raise RuleError(f"{at}: {what}: {key.value!r} is not a port or parameter name "
                            "(letters, digits, '_')")
        text = _scalar(loader, value)
        if not isinstance(text, str) or not value_pattern.match(text):
            raise RuleError(f"{at}: {what}.{key.value} must be {value_kind}, got {text!r}")
        out[key.value] = text
        lines[f"{what}.{key.value}"] = _line(key)
    return out


def parse_rule_file(path: Path, text: str | None = None) -> list[Rule]:
    """Parse and check one rule file.

    Parameters
    ----------
    path : Path
        The file (named in messages).
    text : str, optional
        Its content; read from ``path`` when omitted.

    Returns
    -------
    list of Rule
        In file order.

    Raises
    ------
    RuleError
        ``FILE, line N[, rule R]: problem`` for anything malformed.
    """
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise RuleError(f"{path}: cannot read rule file ({error})") from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise RuleError(f"{path}, line {mark.line + 1 if mark else 1}: not valid YAML: "
                        f"{error.problem or error.context}") from None
    finally:
        loader.dispose()
    if root is None:
        return []
    top = _mapping(root, f"{path}, line {_line(root)}", "a rule file")
    rules: list[Rule] = []
    for key, value in top:
        if key.value != "rules":
            raise RuleError(f"{path}, line {_line(key)}: unknown top-level field "
                            f"{key.value!r}; a rule file holds one mapping 'rules:'")
        if isinstance(value, yaml.ScalarNode) and value.value in ("", "~", "null"):
            continue
        for name_node, body in _mapping(value, f"{path}, line {_line(value)}", "rules"):
            rules.append(_parse_rule(loader, path, name_node, body))
    return rules


def _parse_rule(loader: yaml.SafeLoader, path: Path, name_node: yaml.Node,
                body: yaml.Node) -> Rule:
    name = name_node.value
    where = f"{path}, line {_line(name_node)}, rule {name}"
    if not NAME.match(name):
        raise RuleError(f"{where}: a rule name must be an identifier (letters, digits, '_')")
    lines: dict[str, int] = {}
    raw: dict[str, Any] = {}
    for key, value in _mapping(body, where, "a rule"):
        at = f"{path}, line {_line(key)}, rule {name}"
        if key.value not in FIELDS:
            raise RuleError(f"{at}: unknown field {key.value!r}; known fields: "
                            f"{', '.join(FIELDS)}")
        lines[key.value] = _line(key)
        if key.value in ("inputs", "outputs", "params"):
            raw[key.value] = value
        else:
            raw[key.value] = _scalar(loader, value)
    kind = raw.get("kind")
    if kind not in KINDS:
        raise RuleError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    image = (KEY, "an HKV key") if kind == "reduction" else (NAME, "an image name (identifier)")
    fields: dict[str, dict[str, str]] = {}
    for what in ("inputs", "outputs", "params"):
        node = raw.get(what)
        if node is None:
            fields[what] = {}
            continue
        if what == "outputs":
            pattern, label = image
        elif what == "inputs":
            pattern, label = NAME, "an image name (identifier)"
        else:
            pattern, label = KEY, "an HKV key"
        fields[what] = _names(loader, node, path, name, what, lines, pattern, label)
    if not fields["outputs"]:
        raise RuleError(f"{where}: a rule needs at least one output (field 'outputs')")
    for flag, typ in (("keep", bool), ("doc", str), ("store", str), ("operator", str),
                      ("command", str)):
        if flag in raw and not isinstance(raw[flag], typ):
            raise RuleError(f"{path}, line {lines[flag]}, rule {name}: {flag} must be a "
                            f"{typ.__name__}, got {raw[flag]!r}")
    store = raw.get("store", "geotiff" if kind == "command" else "raw")
    rule = Rule(name=name, kind=kind, operator=raw.get("operator"), command=raw.get("command"),
                inputs=fields["inputs"], outputs=fields["outputs"], params=fields["params"],
                keep=bool(raw.get("keep", False)), store=store, doc=raw.get("doc", ""),
                file=path, line=_line(name_node), lines=lines)
    if kind == "command":
        return _check_command(rule)
    return _check_operator(rule)


def _check_command(rule: Rule) -> Rule:
    if rule.operator is not None:
        raise rule.error("a command rule has no operator (use 'command:')", "operator")
    if not rule.command:
        raise rule.error("a command rule needs 'command:' (a command line)")
    if rule.store == "raw" or rule.store not in STORES:
        raise rule.error(f"store of a command rule must be geotiff or product, got "
                         f"{rule.store!r}", "store")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(rule.command) if f is not None]
    except ValueError as error:
        raise rule.error(f"command: {error}", "command") from None
    known = {"inputs": rule.inputs, "outputs": rule.outputs, "params": rule.params}
    for name in fields:
        group, _, item = name.partition(".")
        if name in ("run", "python") or (group in known and item in known[group]):
            continue
        raise rule.error(f"command placeholder {{{name}}} names nothing; use {{run}}, {{python}}, "
                         + ", ".join(f"{{{g}.{k}}}" for g, m in known.items() for k in m),
                         "command")
    return rule


def _check_operator(rule: Rule) -> Rule:
    if rule.command is not None:
        raise rule.error(f"a {rule.kind} rule has no command (only command rules do)",
                         "command")
    if rule.operator is None:
        raise rule.error(f"a {rule.kind} rule needs 'operator: module:Class'")
    if rule.store != "raw":
        raise rule.error(f"store of a {rule.kind} rule must be raw (images/NAME.raw.vrt), got "
                         f"{rule.store!r}", "store")
    cls = import_operator(rule.operator, rule.where("operator"))
    base = BASES[rule.kind]
    if not issubclass(cls, base):
        raise rule.error(f"kind is {rule.kind} but {rule.operator} is a "
                         f"{getattr(cls, 'kind', '?')} operator (not a {base.__name__})", "kind")
    if set(rule.inputs) != set(cls.inputs):
        raise rule.error(f"inputs map ports {sorted(rule.inputs)} but {cls.__name__} has "
                         f"input ports {list(cls.inputs)}", "inputs")
    if rule.kind != "reduction":
        extra = sorted(set(rule.outputs) - set(cls.outputs))
        if extra:
            raise rule.error(f"outputs name ports {extra} that {cls.__name__} does not have "
                             f"(its outputs: {list(cls.outputs)})", "outputs")
    declared = {p.name: p for p in cls.params}
    extra = sorted(set(rule.params) - set(declared))
    if extra:
        raise rule.error(f"params name {extra}, which {cls.__name__} does not declare "
                         f"(its parameters: {sorted(declared)})", "params")
    implied = {p.name: p.key for p in cls.params if p.key and p.name not in rule.params}
    if implied:
        object.__setattr__(rule, "params", {**rule.params, **implied})
    return rule
