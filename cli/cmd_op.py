"""``pep op NAME``: run one operator on image files, bypassing the scheduler.

``pep op --list`` lists the operators (from the operator modules and the
rule files); ``pep op NAME --help`` lists NAME's parameters with type,
default, meaning and the HKV key a run reads them from.

A local operator runs through the tile pipeline engine (``--tile``, ``-j``,
``--mem``); a global operator reads and writes whole images; a reduction
prints its values as YAML. Outputs named ``*.vrt`` are raw images (a
``.raw`` file beside the header), ``*.tif`` GeoTIFFs (the inputs must be
georeferenced). Outputs appear only when complete: each is written in a
hidden folder beside it and renamed into place.

Parameter values are YAML (``--size 5 9``, ``--size "[5, 9]"``,
``--method baran``); ``@KEY`` takes the value of HKV key KEY of the run
(``--run``); a mapping parameter also takes a YAML file. ``--from-run``
takes every parameter the run has a key for, as ``pep run make`` would.
"""

from __future__ import annotations

import argparse

from peppers.cli.common import command_parser

EXAMPLE = ("  pep op --list\n"
           "  pep op box_filter --help\n"
           "  pep op box_filter --size 5 5 --input in.vrt --output out.vrt -j 2\n"
           "  pep --run myrun op multilook --from-run --input images/ifg.raw.vrt --output ml.vrt\n"
           "  pep op unwrap_wls --input interferogram=ifg.vrt --input coherence=coh.vrt "
           "--output unwrapped=unw.vrt")
#: Option names of ``pep op NAME`` itself; a parameter with one of these names
#: gets ``--p-NAME``.
_RESERVED = {"input", "output", "tile", "jobs", "mem", "from_run", "help"}


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(sub, "op", "run one operator on image files (no scheduler)",
                            __doc__, EXAMPLE)
    parser.add_argument("--list", action="store_true", help="list the operators and exit")
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help="operator name, class name, module:Class or rule name")
    parser.add_argument("rest", nargs=argparse.REMAINDER, metavar="...",
                        help="the operator's options: pep op NAME --help")
    parser.set_defaults(_op_parser=parser)
    return parser


# -- the options of one operator ------------------------------------------------------
def _flag(name: str) -> str:
    return ("--p-" if name in _RESERVED else "--") + name.replace("_", "-")


def operator_parser(entry) -> argparse.ArgumentParser:
    """The parser of ``pep op NAME``: the operator's parameters and the run options."""
    from peppers.bounds import describe

    op_cls = entry.cls
    ports = f"inputs: {', '.join(op_cls.inputs)}; outputs: {', '.join(op_cls.outputs) or '-'}"
    parser = argparse.ArgumentParser(
        prog=f"pep op {entry.name}", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"{entry.summary}\n\n{entry.kind} operator {entry.path}; {ports}"
                    + (f"\nused by rules: {', '.join(entry.rules)}" if entry.rules else ""),
        epilog="values are YAML; @KEY reads HKV key KEY of the run (--run)")
    group = parser.add_argument_group("parameters (name, type, default, HKV key)")
    for p in entry.params:
        key = entry.keys.get(p.name)
        bounds = describe(**p.bounds)
        text = (f"{p.doc} [{p.type.__name__}, default {p.default!r}"
                f"{', ' + bounds if bounds else ''}"
                f"{', key ' + key if key else ''}]").replace("%", "%%")
        if p.type is bool:
            group.add_argument(_flag(p.name), dest=f"p_{p.name}", help=text,
                               action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS)
        else:
            group.add_argument(_flag(p.name), dest=f"p_{p.name}", help=text, metavar=p.name.upper(),
                               nargs="+" if p.type in (tuple, list) else None,
                               default=argparse.SUPPRESS)
    io = parser.add_argument_group("images and engine")
    io.add_argument("--input", action="append", metavar="[PORT=]PATH",
                    help="an input image (any raster GDAL opens, or a raw VRT)")
    io.add_argument("--output", action="append", metavar="[PORT=]PATH",
                    help="an output image: *.vrt (raw) or *.tif (GeoTIFF)")
    io.add_argument("--tile", type=int, nargs="+", default=[512], metavar="N",
                    help="tile ROWS [COLS] of a local operator (default 512)")
    io.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                    help="worker threads (default all cores)")
    io.add_argument("--mem", default=None, help="tile-cache budget, e.g. 512M (default 1G)")
    io.add_argument("--from-run", action="store_true",
                    help="take each parameter not given from its HKV key in the run")
    return parser


def _parse_value(p, raw, db, where: str):
    """The value of parameter ``p`` from its option text (see the module docstring)."""
    from pathlib import Path

    import yaml

    from peppers.errors import OperatorError

    items = raw if isinstance(raw, list) else [raw]
    if isinstance(raw, bool):
        return raw
    if len(items) == 1 and str(items[0]).startswith("@"):
        if db is None:
            raise OperatorError(f"{where}: {items[0]} reads the run's HKV; no run here "
                                "(give --run DIR)")
        return db.get(items[0][1:])
    try:
        if p.type is str:
            return items[0]
        if p.type is dict and Path(items[0]).is_file():
            value = yaml.safe_load(Path(items[0]).read_text(encoding="utf-8"))
        elif p.type in (tuple, list):
            value = [yaml.safe_load(x) for x in items]
            if len(value) == 1 and isinstance(value[0], list):
                value = value[0]
            elif len(value) == 1 and isinstance(value[0], str) and "," in value[0]:
                value = [yaml.safe_load(x) for x in value[0].split(",")]
        else:
            value = yaml.safe_load(items[0])
    except (yaml.YAMLError, OSError) as error:
        reason = getattr(error, "problem", None) or getattr(error, "strerror", None) or error
        raise OperatorError(f"{where}: cannot read {' '.join(map(str, items))!r} "
                            f"as YAML: {reason}") from None
    return value


def operator_values(entry, opts: argparse.Namespace, db) -> dict:
    """Parameter name -> value: options given, else the run's keys (``--from-run``)."""
    from peppers.errors import OperatorError
    from peppers.hkv import ABSENT

    values = {}
    for p in entry.params:
        where = f"pep op {entry.name} {_flag(p.name)}"
        if hasattr(opts, f"p_{p.name}"):
            value = _parse_value(p, getattr(opts, f"p_{p.name}"), db, where)
        elif opts.from_run and db is not None and p.name in entry.keys:
            value = db.get(entry.keys[p.name], ABSENT)
            if value is ABSENT:
                continue
        else:
            continue
        try:
            values[p.name] = p.coerce(value, entry.name)
        except (TypeError, ValueError) as error:
            raise OperatorError(f"{where}: {error}") from None
    return values


def _ports(pairs: list[str] | None, declared: tuple[str, ...], what: str, name: str) -> dict:
    """``PORT=PATH`` strings (or one bare PATH for a one-port operator) -> {port: Path}."""
    from pathlib import Path

    from peppers.errors import OperatorError

    ports: dict[str, Path] = {}
    for text in pairs or []:
        port, sep, path = text.partition("=")
        if not sep or port not in declared and len(declared) == 1:
            if len(declared) != 1:
                raise OperatorError(f"pep op {name}: --{what} {text!r} needs PORT=PATH; "
                                    f"{what} ports: {', '.join(declared) or '(none)'}")
            port, path = declared[0], text
        if port not in declared:
            raise OperatorError(f"pep op {name}: unknown {what} port {port!r}; "
                                f"{what} ports: {', '.join(declared) or '(none)'}")
        if port in ports:
            raise OperatorError(f"pep op {name}: --{what} {port} given twice")
        ports[port] = Path(path)
    return ports


# -- the command ----------------------------------------------------------------------
def _print_list(registry) -> None:
    width = max((len(n) for n in registry.entries), default=4)
    for entry in registry.entries.values():
        rules = f" [rules: {', '.join(entry.rules)}]" if entry.rules else ""
        print(f"{entry.name:<{width}}  {entry.kind:<9}  {entry.summary}{rules}")
    for problem in registry.problems:
        print(f"warning: {problem}")


def _make_operator(entry, values: dict):
    from peppers.errors import OperatorError, PeppersError

    try:
        return entry.cls(**values)
    except PeppersError:
        raise
    except (TypeError, ValueError) as error:
        raise OperatorError(f"pep op {entry.name}: {error}") from None


def run(args: argparse.Namespace) -> int:
    from peppers.cli.common import open_run, run_dir
    from peppers.errors import OperatorError
    from peppers.cli.registry import discover, lookup

    root = run_dir(args)
    in_run = (root / ".peppers").is_dir()
    if args.list:
        _print_list(discover(root if in_run else None))
        return 0
    if args.name is None:
        args._op_parser.print_help()
        return 0
    entry = lookup(discover(root if in_run else None), args.name)
    opts = operator_parser(entry).parse_args(args.rest)
    wants_run = opts.from_run or any(
        str(v[0] if isinstance(v, list) else v).startswith("@")
        for k, v in vars(opts).items() if k.startswith("p_") and not isinstance(v, bool))
    db = open_run(args) if wants_run else None
    op = _make_operator(entry, operator_values(entry, opts, db))
    inputs = _ports(opts.input, tuple(op.inputs), "input", entry.name)
    missing = [p for p in op.inputs if p not in inputs]
    if missing:
        raise OperatorError(f"pep op {entry.name}: missing --input for port(s) "
                            f"{', '.join(missing)} (give --input PORT=PATH)")
    outputs = _ports(opts.output, tuple(op.outputs), "output", entry.name)
    if op.kind != "reduction" and not outputs:
        raise OperatorError(f"pep op {entry.name}: give at least one --output "
                            f"[PORT=]PATH.vrt|.tif; output ports: {', '.join(op.outputs)}")
    from peppers.cli.standalone import run_global, run_local, run_reduction

    if op.kind == "local":
        tile = (opts.tile[0], opts.tile[-1])
        stats = run_local(op, inputs, outputs, tile_shape=tile, threads=opts.jobs,
                          mem=opts.mem, echo=print)
        print(stats.summary())
    elif op.kind == "global":
        run_global(op, inputs, outputs)
    else:
        print(run_reduction(op, inputs), end="")
        return 0
    for port, path in outputs.items():
        print(f"wrote {path} ({port})")
    return 0
