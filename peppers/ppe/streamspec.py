"""Stream specs: the serialisable description of one stream that every executor runs.

The scheduler (DRS) cuts the stale local rules of a run into *streams* and
writes each as a YAML file, ``RUN/.peppers/streams/<name>.yaml``. The same
file is run in-process by the thread executor (:func:`run_spec`, used by
``pep run make``) and across MPI ranks by ``mpiexec -n N pep-ppe RUN
--stream NAME`` (:mod:`peppers.ppe.mpi`); both rebuild the same
:class:`~peppers.ppe.plan.Plan` from it and share one completion journal,
``RUN/.peppers/streams/<name>.journal``, so a stream killed under threads resumes
under MPI and the other way round.

Format (``peppers-stream/1``)::

    format: peppers-stream/1
    name: stream-1
    tile_shape: [512, 512]
    mem: 512M
    sources: {master_slc: inputs/master.slc.vrt}     # image -> path
    nodes:                                           # topological order
      - name: smooth                                 # the rule name
        operator: peppers.operators.filters:BoxFilter
        params: {size: [5, 5]}                       # resolved values
        inputs: {input: master_slc}                  # port -> image
        outputs: {output: smoothed}                  # port -> image
    targets: {smoothed: images/smoothed.raw.vrt}         # image -> output VRT

Paths are relative to the run root (absolute paths are kept as they are).
A node may read only sources and images of earlier nodes; every image has
one producer; targets are node outputs. :meth:`StreamSpec.validate` checks
all of this, and every error names the file and the field.

The plan signature (which guards the journal) is computed from the paths as
written in the spec, not from where the run directory sits, so a moved run
directory, or ranks that mount it at another place, resume the same journal.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from peppers.errors import StreamSpecError
from peppers.io.atomic import atomic_write_bytes
from peppers.io.source import open_source
from peppers.operator import LocalOperator, Operator, build_operator
from peppers.plain import plain
from peppers.ppe.cache import parse_mem
from peppers.ppe.journal import TileJournal
from peppers.ppe.pipeline import Image, Pipeline
from peppers.ppe.stats import RunStats, TileEvent

FORMAT = "peppers-stream/1"
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATOR = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
_TOP = ("format", "name", "sources", "nodes", "targets", "tile_shape", "mem")
_NODE = ("name", "operator", "params", "inputs", "outputs")


def stream_path(run_root: str | os.PathLike, name: str) -> Path:
    """Where the spec of stream ``name`` lives: ``RUN/.peppers/streams/<name>.yaml``."""
    return Path(run_root) / ".peppers" / "streams" / f"{name}.yaml"


def journal_path(run_root: str | os.PathLike, name: str) -> Path:
    """The completion journal of stream ``name``: ``RUN/.peppers/streams/<name>.journal``.

    Beside the stream spec, not in ``RUN/.peppers/journal/``: that folder is
    the run database's own commit journal, whose recovery reads every file
    in it.
    """
    return Path(run_root) / ".peppers" / "streams" / f"{name}.journal"


@dataclass
class NodeSpec:
    """One local rule of a stream.

    Attributes
    ----------
    name : str
        The rule name (unique in the stream).
    operator : str
        ``"module:Class"`` of a :class:`~peppers.operator.LocalOperator`.
    params : dict
        Resolved parameter values (not HKV keys).
    inputs, outputs : dict
        Operator port -> image name.
    """

    name: str
    operator: str
    params: dict = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    def to_plain(self) -> dict[str, Any]:
        return {"name": self.name, "operator": self.operator, "params": plain(self.params),
                "inputs": dict(self.inputs), "outputs": dict(self.outputs)}


@dataclass
class StreamSpec:
    """A stream: sources, local operator nodes in topological order, targets.

    See the module docstring for the file format.
    """

    name: str
    sources: dict[str, str]
    nodes: list[NodeSpec]
    targets: dict[str, str]
    tile_shape: tuple[int, int] = (512, 512)
    mem: str = "512M"

    # -- files ----------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike) -> "StreamSpec":
        """Read and validate a spec file.

        Raises
        ------
        StreamSpecError
            If the file is missing, is not YAML, or any field is wrong; the
            message names the file and the field.
        """
        import yaml

        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StreamSpecError(str(path), "(file)", "no such stream spec; the scheduler "
                                  "writes it ('pep run make' or 'pep run make --mpi N')") from None
        except (OSError, UnicodeDecodeError) as error:
            raise StreamSpecError(str(path), "(file)", f"cannot read: {error}") from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else "(file)"
            raise StreamSpecError(str(path), where, f"not valid YAML: "
                                  f"{getattr(error, 'problem', None) or error}") from None
        spec = cls.from_plain(data, str(path))
        spec.validate(str(path))
        return spec

    @classmethod
    def from_plain(cls, data: Any, where: str) -> "StreamSpec":
        """A spec from parsed YAML; ``where`` names the file in errors."""
        def fail(field_: str, problem: str) -> StreamSpecError:
            return StreamSpecError(where, field_, problem)

        if not isinstance(data, dict):
            raise fail("(top)", f"expected a mapping with fields {list(_TOP)}, "
                       f"got {type(data).__name__}")
        unknown = sorted(set(map(str, data)) - set(_TOP))
        if unknown:
            raise fail(unknown[0], f"unknown field; known fields: {list(_TOP)}")
        missing = [k for k in _TOP[1:] if k not in data]
        if missing:
            raise fail(missing[0], "missing")
        if data.get("format", FORMAT) != FORMAT:
            raise fail("format", f"expected {FORMAT!r}, got {data['format']!r}")
        nodes = data["nodes"]
        if not isinstance(nodes, list):
            raise fail("nodes", f"expected a list of nodes, got {type(nodes).__name__}")
        parsed = []
        for i, node in enumerate(nodes):
            if not isinstance(node, dict):
                raise fail(f"nodes[{i}]", f"expected a mapping, got {type(node).__name__}")
            extra = sorted(set(map(str, node)) - set(_NODE))
            if extra:
                raise fail(f"nodes[{i}].{extra[0]}", f"unknown field; known: {list(_NODE)}")
            absent = [k for k in ("name", "operator", "inputs", "outputs") if k not in node]
            if absent:
                raise fail(f"nodes[{i}].{absent[0]}", "missing")
            params = node.get("params") or {}
            if not isinstance(params, dict):
                raise fail(f"nodes[{i}].params", f"expected a mapping, got {params!r}")
            parsed.append(NodeSpec(node["name"], node["operator"], params, node["inputs"],
                                   node["outputs"]))
        tile = data["tile_shape"]
        if not (isinstance(tile, list) and len(tile) == 2):
            raise fail("tile_shape", f"expected [rows, cols], got {tile!r}")
        return cls(data["name"], data["sources"], parsed, data["targets"], tuple(tile),
                   data["mem"])

    def to_plain(self) -> dict[str, Any]:
        return {"format": FORMAT, "name": self.name, "tile_shape": list(self.tile_shape),
                "mem": self.mem, "sources": dict(self.sources),
                "nodes": [n.to_plain() for n in self.nodes], "targets": dict(self.targets)}

    def save(self, path: str | os.PathLike) -> None:
        """Validate and write the spec atomically (temporary file, fsync, rename)."""
        import yaml

        self.validate(f"stream {self.name!r}")
        text = "# peppers stream spec, written by the scheduler; run with pep-ppe\n" + \
            yaml.safe_dump(self.to_plain(), sort_keys=False, default_flow_style=None)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, text.encode("utf-8"))

    # -- checks ---------------------------------------------------------------
    def validate(self, where: str | None = None) -> None:
        """Check types, names and wiring.

        Raises
        ------
        StreamSpecError
            Naming ``where`` (default ``stream 'NAME'``) and the field.
        """
        where = where or f"stream {self.name!r}"

        def fail(field_: str, problem: str) -> StreamSpecError:
            return StreamSpecError(where, field_, problem)

        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise fail("name", f"must be letters, digits, '_', '-', '.', got {self.name!r}")
        tile = self.tile_shape
        if (len(tile) != 2 or not all(isinstance(t, int) and not isinstance(t, bool)
                                      and t > 0 for t in tile)):
            raise fail("tile_shape", f"expected two positive integers, got {list(tile)!r}")
        try:
            parse_mem(self.mem)
        except (TypeError, ValueError) as error:
            raise fail("mem", str(error)) from None
        made: dict[str, str] = {}
        for image, path in _mapping(self.sources, "sources", fail).items():
            _image_name(image, f"sources.{image}", fail)
            if not isinstance(path, str) or not path:
                raise fail(f"sources.{image}", f"expected a path, got {path!r}")
            made[image] = "sources"
        if not isinstance(self.nodes, list) or not self.nodes:
            raise fail("nodes", "a stream needs at least one node")
        names: set[str] = set()
        for i, node in enumerate(self.nodes):
            at = f"nodes[{i}]"
            if not isinstance(node.name, str) or not _NAME.fullmatch(node.name):
                raise fail(f"{at}.name", f"must be a rule name, got {node.name!r}")
            if node.name in names:
                raise fail(f"{at}.name", f"rule {node.name!r} appears twice")
            names.add(node.name)
            if not isinstance(node.operator, str) or not _OPERATOR.fullmatch(node.operator):
                raise fail(f"{at}.operator", f"expected 'module:Class', got {node.operator!r}")
            if not isinstance(node.params, dict):
                raise fail(f"{at}.params", f"expected a mapping, got {node.params!r}")
            for port, image in _mapping(node.inputs, f"{at}.inputs", fail).items():
                _image_name(image, f"{at}.inputs.{port}", fail)
                if image not in made:
                    raise fail(f"{at}.inputs.{port}", f"image {image!r} is made by no source "
                               "and no earlier node")
            if not _mapping(node.outputs, f"{at}.outputs", fail):
                raise fail(f"{at}.outputs", "a node needs at least one output")
            for port, image in node.outputs.items():
                _image_name(image, f"{at}.outputs.{port}", fail)
                if image in made:
                    raise fail(f"{at}.outputs.{port}", f"image {image!r} is already made by "
                               f"{made[image]}")
                made[image] = f"nodes[{i}] ({node.name})"
        if not _mapping(self.targets, "targets", fail):
            raise fail("targets", "a stream needs at least one target")
        for image, path in self.targets.items():
            if made.get(image, "sources") == "sources":
                raise fail(f"targets.{image}", f"image {image!r} is not made by a node")
            if not isinstance(path, str) or not path.endswith(".vrt"):
                raise fail(f"targets.{image}", f"expected a path ending in .vrt, got {path!r}")

    # -- building -------------------------------------------------------------
    def build(self, run_root: str | os.PathLike,
              operators: Mapping[str, Operator] | None = None) -> Pipeline:
        """A :class:`~peppers.ppe.pipeline.Pipeline` with the sources, operators and outputs.

        Raises
        ------
        StreamSpecError
            If an operator cannot be imported, is not a local operator, or
            rejects its parameters or ports.
        ImageError
            If a source image cannot be opened (names the file).

        ``operators`` (node name -> instance) are used instead of building
        those nodes' operators again (the scheduler passes the ones it built).
        """
        return self.build_images(run_root, operators)[0]

    def build_images(self, run_root: str | os.PathLike,
                     operators: Mapping[str, Operator] | None = None
                     ) -> tuple[Pipeline, dict[str, Image]]:
        """Like :meth:`build`, also returning every image of the stream by name."""
        where = f"stream {self.name!r}"
        self.validate(where)
        root = Path(run_root)
        p = Pipeline(tile_shape=self.tile_shape, mem=self.mem)
        images: dict[str, Image] = {}
        for image, path in self.sources.items():
            images[image] = p.source(_SpecSource(open_source(root / path), path), name=image)
        for i, node in enumerate(self.nodes):
            op = _instantiate(node, f"nodes[{i}]", where, (operators or {}).get(node.name))
            wired = {port: images[image] for port, image in node.inputs.items()}
            made = p.add(op, name=node.name, **wired)
            made = made if isinstance(made, tuple) else (made,)
            by_port = dict(zip(op.outputs, made))
            for port, image in node.outputs.items():
                images[image] = by_port[port]
        for image, path in self.targets.items():
            p.output(images[image], root / path, name=image)
        return p, images


class _SpecSource:
    """A stored source whose ``path`` is the one written in the spec (for the signature)."""

    def __init__(self, source: Any, path: str) -> None:
        self._source = source
        self.spec = source.spec
        self.path = path

    def read(self, region: Any) -> Any:
        return self._source.read(region)

    def __getattr__(self, name: str) -> Any:
        if name == "_source":
            raise AttributeError(name)
        return getattr(self._source, name)


def _instantiate(node: NodeSpec, at: str, where: str, op: Operator | None = None
                 ) -> LocalOperator:
    """The node's local operator (:func:`~peppers.operator.build_operator`), ports checked.

    ``op``, if given, is the instance the caller already built for this node.
    """
    def fail(part: str, message: str) -> StreamSpecError:
        return StreamSpecError(where, f"{at}.{part}", message)

    if op is None:
        op = build_operator(node.operator, node.params, where, kind="local", error=fail)
    class_name = type(op).__name__
    if set(node.inputs) != set(op.inputs):
        raise StreamSpecError(where, f"{at}.inputs", f"{class_name} has input ports "
                              f"{list(op.inputs)}, the spec wires {sorted(node.inputs)}")
    unknown = sorted(set(node.outputs) - set(op.outputs))
    if unknown:
        raise StreamSpecError(where, f"{at}.outputs.{unknown[0]}", f"{class_name} has output "
                              f"ports {list(op.outputs)}")
    return op


def _mapping(value: Any, name: str, fail: Callable[[str, str], Exception]) -> dict:
    if not isinstance(value, dict):
        raise fail(name, f"expected a mapping, got {value!r}")
    return value


def _image_name(image: Any, name: str, fail: Callable[[str, str], Exception]) -> None:
    if not isinstance(image, str) or not _IDENT.fullmatch(image):
        raise fail(name, f"image names are identifiers, got {image!r}")


def run_spec(spec: StreamSpec, run_root: str | os.PathLike, *, threads: int | None = None,
             mem: int | str | None = None,
             progress: Callable[[TileEvent], None] | None = None, retries: int = 0,
             force: bool = False, echo: Callable[[str], None] | None = None,
             operators: Mapping[str, Operator] | None = None) -> RunStats:
    """Run one stream in this process with the thread executor.

    Parameters
    ----------
    spec : StreamSpec
        The stream.
    run_root : path-like
        The run directory; spec paths are relative to it.
    threads : int, optional
        Worker threads (default all cores).
    mem : int or str, optional
        Tile-cache budget; default the spec's ``mem``.
    progress : callable, optional
        Called with a :class:`~peppers.ppe.stats.TileEvent` per finished tile.
    retries : int
        Tries a failed tile again this many times before stopping.
    force : bool
        Forget the journal first: recompute every tile.
    echo : callable, optional
        Receives the estimate line (default: the ``peppers.ppe`` logger).
    operators : mapping, optional
        Node name -> operator already built for it (see :meth:`StreamSpec.build`).

    Returns
    -------
    RunStats

    Raises
    ------
    StreamSpecError, ImageError, OperatorError
        A bad spec, an unreadable source, or an operator failing on a tile
        (the message names operator and tile); finished tiles stay journaled.
    """
    p = spec.build(run_root, operators)
    p.threads = threads
    if mem is not None:
        p.mem = parse_mem(mem)
    journal = journal_path(run_root, spec.name)
    if force:
        plan = p.plan()
        with TileJournal(journal, signature=plan.signature(), n_tiles=len(plan.tasks)) as j:
            j.reset()
    for path in spec.targets.values():
        (Path(run_root) / path).parent.mkdir(parents=True, exist_ok=True)
    return p.run(journal=journal, progress=progress, retries=retries, echo=echo).stats
