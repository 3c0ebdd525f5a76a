"""``make``: plan the steps a target needs, run them, record every rule in HKV.

Policy
------
:func:`plan_make` loads the rules, finds the stale ones with their reasons
(:mod:`~peppers.drs.stale`) and cuts them into steps
(:mod:`~peppers.drs.streams`); it writes nothing, so ``--dry-run`` is just
a plan printed. :class:`Maker` runs a plan: a step starts when every step
it waits for is done; up to ``parallel`` independent steps run side by
side (each with its share of the threads and of the memory budget).
Streams are saved as :class:`~peppers.ppe.streamspec.StreamSpec` files and
run from them: in this process (``spec.build`` and the thread executor, with
the journal of :func:`stream_journal`) or by ``mpiexec -n N pep-ppe RUN
--stream NAME``; boundaries run through :mod:`~peppers.drs.boundary`.

Resume: a stream's spec is saved with an *attempt key* (the spec text and
the size and mtime of its sources). If the previous attempt of that stream
was interrupted and its key is unchanged, the tile journal is resumed;
otherwise the journal is reset, so a journal never mixes tiles computed
from different data. The key file is removed when the stream is recorded.

Recording: when a step finishes, each of its rules is recorded under
``drs.rules.<rule>`` in its own HKV transaction -- one audit entry per rule
-- with the parameter hashes and input identities captured when the step
started. On failure the maker starts nothing new, lets running steps
finish (and records them), and raises :class:`MakeError` with the report:
what finished, what failed and what never started.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from peppers.drs import boundary
from peppers.drs.logged import run_logged
from peppers.drs.mpi import launch, supports_mpi
from peppers.drs.resolve import SpecOracle, make_operator, stream_spec
from peppers.drs.ruleset import RuleSet
from peppers.drs.signatures import image_files
from peppers.drs.stale import TRIGGERS, Analysis, analyse
from peppers.drs.state import RunState, now_utc, recipe_token
from peppers.drs.streams import Step, cut
from peppers.errors import MakeError, RunAborted
from peppers.hkv import RunDatabase
from peppers.hkv.locks import FileLock
from peppers.io.atomic import atomic_write_bytes, sweep_temporaries
from peppers.io.run_paths import migrate_legacy_headers
from peppers.ppe import DEFAULT_MEM, DEFAULT_TILE, default_threads, parse_mem
from peppers.ppe.engine import stop_requested
from peppers.ppe.journal import TileJournal
from peppers.ppe.streamspec import journal_path, run_spec, stream_path


#: Seconds the make's main thread waits on its steps before it looks at signals again.
SIGNAL_POLL = 0.2


class Display(Protocol):
    """Where a running make reports (the command line's progress view)."""

    def start(self, step: Step, total: int | None) -> None: ...

    def advance(self, step: Step, done: int, total: int) -> None: ...

    def finish(self, step: Step, ok: bool, text: str) -> None: ...


@dataclass
class MakePlan:
    """What :func:`plan_make` found: the analysis, the steps, the stream settings."""

    rules: RuleSet
    state: RunState
    targets: list[str]
    analysis: Analysis
    steps: list[Step]
    tile_shape: tuple[int, int]
    mem: str
    threads: int

    def oracle(self) -> SpecOracle:
        return SpecOracle(self.rules, self.state, set(self.analysis.stale))

    def estimates(self) -> list[dict[str, Any]]:
        """Each step with the seconds its rules took in the run's last make (the monitor's ETA).

        ``{step, kind, rules, expected}``; ``expected`` is the recorded wall
        seconds of a boundary rule, the recorded operator seconds of a
        stream's rules over the threads, or None when a rule has no record.
        """
        out = []
        for step in self.steps:
            seconds = [(self.state.records.get(rule) or {}).get("seconds") for rule in step.rules]
            known = all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in seconds)
            expected = float(sum(seconds)) if known and seconds else None
            if expected is not None and step.kind == "stream":
                expected /= max(1, self.threads)
            out.append({"step": step.name, "kind": step.kind, "rules": list(step.rules),
                        "expected": expected})
        return out


@dataclass
class MakeReport:
    """What a make did: steps done (name -> seconds), failed, not started."""

    done: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    not_started: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{len(self.done)} step(s) done"]
        if self.failed:
            parts.append("failed: " + "; ".join(f"{k}: {v}" for k, v in self.failed.items()))
        if self.not_started:
            parts.append("not started: " + ", ".join(self.not_started))
        return "; ".join(parts)


def plan_make(db: RunDatabase, targets: list[str], *, force: bool = False,
              triggers: tuple[str, ...] = TRIGGERS, package: bool | None = None,
              threads: int | None = None, mem: str | None = None) -> MakePlan:
    """Load the rules, analyse staleness, cut steps; nothing is written.

    Parameters
    ----------
    db : RunDatabase
    targets : list of str
        Rules, images or reduction keys.
    force, triggers
        See :func:`peppers.drs.stale.analyse`.
    package : bool, optional
        Load the packaged rules (default: HKV ``drs.package_rules``, else True).
    threads, mem
        Override ``ppe.threads`` and ``ppe.memory``.

    Raises
    ------
    RuleError
        Malformed rules, unknown targets, missing inputs or parameters.
    """
    rules = RuleSet.for_run(db, package=package)
    state = RunState(db)
    analysis = analyse(rules, state, list(targets), force=force, triggers=tuple(triggers))
    steps = cut(rules, state, analysis)
    tile = tuple(db.get("ppe.tile_shape", list(DEFAULT_TILE)))
    mem = str(mem or db.get("ppe.memory", DEFAULT_MEM))
    threads = int(threads or db.get("ppe.threads", 0) or default_threads())
    return MakePlan(rules, state, list(targets), analysis, steps, (int(tile[0]), int(tile[1])),
                    mem, threads)


class Maker:
    """Runs the steps of a :class:`MakePlan` (see the module docstring).

    Parameters
    ----------
    plan : MakePlan
    parallel : int
        Independent steps run at the same time.
    mpi : int, optional
        Run streams (and tiled global rules, :mod:`peppers.drs.mpi`) with
        ``mpiexec -n mpi pep-ppe`` instead of threads.
    display : Display, optional
        Progress reporting.
    """

    def __init__(self, plan: MakePlan, *, parallel: int = 1, mpi: int | None = None,
                 display: Display | None = None) -> None:
        self.plan = plan
        self.state = plan.state
        self.rules = plan.rules
        self.parallel = max(1, int(parallel))
        self.mpi = mpi
        self.display = display
        self._lock = threading.Lock()
        self.report = MakeReport()
        self._recipes: dict[str, str] = {}

    # -- the loop -------------------------------------------------------------------
    def run(self) -> MakeReport:
        """Run every step; return the report.

        Raises
        ------
        MakeError
            A step failed; the message is the report, ``__cause__`` the error.
        """
        lock = FileLock(self.state.root / ".peppers" / "locks" / "drs-make.lock", timeout=0)
        with lock:
            sweep_run_temporaries(self.state.root)
            migrate_legacy_headers(self.state.root / "images")
            with self._lock:
                self.state.save_hashes()
            return self._loop()

    def _loop(self) -> MakeReport:
        waiting = list(self.plan.steps)
        running: dict[Future, Step] = {}
        first_error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            while waiting or running:
                ready = [s for s in waiting if s.after <= set(self.report.done)]
                while first_error is None and ready and len(running) < self.parallel:
                    step = ready.pop(0)
                    waiting.remove(step)
                    running[pool.submit(self._timed, step)] = step
                if not running:
                    break
                # a timeout, so the main thread runs Python's signal handlers (a stop
                # by SIGTERM/SIGINT) while steps run: a signal the kernel gave another
                # thread would not wake an endless wait
                finished, _ = wait(running, timeout=SIGNAL_POLL, return_when=FIRST_COMPLETED)
                for future in finished:
                    step = running.pop(future)
                    error = future.exception()
                    if error is None:
                        self.report.done[step.name] = future.result()
                    else:
                        self.report.failed[step.name] = str(error)
                        first_error = first_error or error
        self.report.not_started = [s.name for s in waiting]
        if first_error is not None:
            raise MakeError(f"make stopped: {self.report.summary()}; completed rules are "
                            "recorded, run 'pep run make' again to resume") from first_error
        return self.report

    def _timed(self, step: Step) -> float:
        start = time.perf_counter()
        prepared = self._prepare(step)
        try:
            outputs = self._execute(step)
        except BaseException as error:
            if self.display is not None:
                self.display.finish(step, False, f"{type(error).__name__}: {error}")
            raise
        seconds = time.perf_counter() - start
        self._record(step, prepared, outputs, seconds)
        if self.display is not None:
            self.display.finish(step, True, f"{seconds:.2f} s")
        return seconds

    # -- records ---------------------------------------------------------------------
    def _prepare(self, step: Step) -> dict[str, dict[str, Any]]:
        """Parameter states, input identities and recipes of the step's rules, now."""
        prepared = {}
        with self._lock:
            for name in step.rules:
                rule = self.rules.rules[name]
                params = {p: self.state.param_state(k) for p, k in rule.params.items()}
                inputs = {}
                for image in rule.inputs.values():
                    maker = self.rules.image_maker.get(image)
                    if maker is None:
                        inputs[image] = self.state.signer.identity(
                            self.state.input_abspath(image))
                    else:
                        recipe = self._recipes.get(maker) or (
                            self.state.record(maker) or {}).get("recipe")
                        inputs[image] = {"recipe": recipe}
                version = rule.version
                recipe = recipe_token(rule, version, params, inputs)
                self._recipes[name] = recipe
                prepared[name] = {"kind": rule.kind, "operator": rule.operator or rule.command,
                                  "version": version, "params": params, "inputs": inputs,
                                  "recipe": recipe, "stream": step.name
                                  if step.kind == "stream" else None}
        return prepared

    def _record(self, step: Step, prepared: dict[str, dict[str, Any]],
                outputs: dict[str, Any], seconds: float) -> None:
        stats = self.report.stats.get(step.name)
        with self._lock:
            for name in step.rules:
                rule = self.rules.rules[name]
                record = dict(prepared[name])
                outs = {}
                for image in rule.outputs.values():
                    if rule.kind == "reduction":
                        outs[image] = {"key": image}
                    elif image in step.targets:
                        outs[image] = self.state.signer.identity(
                            self.state.root / rule.output_path(image))
                    else:
                        outs[image] = {"memory": record["recipe"]}
                own = seconds
                if stats is not None and name in stats.nodes:
                    own = stats.nodes[name].seconds
                record.update(outputs=outs, finished=now_utc(), seconds=round(own, 6))
                where = f"stream {step.name}" if step.kind == "stream" else step.kind
                self.state.commit_record(
                    rule, record, extra=outputs if rule.kind == "reduction" else None,
                    message=f"pep run make: rule {name} ({where}) done in {own:.2f} s")

    # -- execution -------------------------------------------------------------------
    def _execute(self, step: Step) -> dict[str, Any]:
        rule = self.rules.rules[step.rules[0]]
        if step.kind == "stream":
            self._run_stream(step)
            return {}
        if self.display is not None:
            self.display.start(step, None)
        if step.kind == "global":
            if self.mpi and self._global_on_mpi(rule):
                self._mpi_launch(step, rule.name, rule=True)
            else:
                boundary.run_global(rule, self.rules, self.state)
        elif step.kind == "reduction":
            return boundary.run_reduction(rule, self.rules, self.state)
        else:
            boundary.run_command(rule, self.rules, self.state)
        return {}

    def _share(self) -> tuple[int, int]:
        share = min(self.parallel, max(1, len(self.plan.steps)))
        return max(1, self.plan.threads // share), parse_mem(self.plan.mem) // share

    def _run_stream(self, step: Step) -> None:
        root = self.state.root
        spec = stream_spec(step, self.rules, self.state, self.plan.tile_shape, self.plan.mem)
        path = stream_path(root, step.name)
        spec.save(path)
        key_file = path.with_suffix(".key")
        key = self._attempt_key(path, step)
        resume = key_file.exists() and key_file.read_text() == key
        atomic_write_bytes(key_file, key.encode())
        if self.display is not None:
            self.display.start(step, None)
        if self.mpi:
            if not resume:
                _reset_journal(spec, root)
            self._mpi_launch(step, step.name)
        else:
            self.report.stats[step.name] = self._thread_stream(step, spec, resume)
        for image in step.memory:
            maker = self.rules.rules[self.rules.image_maker[image]]
            _remove_image(root / maker.output_path(image))
        key_file.unlink()

    def _thread_stream(self, step: Step, spec: Any, resume: bool) -> Any:
        """Run a stream in this process: :func:`~peppers.ppe.streamspec.run_spec`.

        The journal is the one MPI ranks share (:func:`stream_journal`); the
        operators are the instances this make already built for the rules.
        """
        threads, mem = self._share()
        with self._lock:
            operators = {name: make_operator(self.rules.rules[name], self.state)
                         for name in step.rules}

        def progress(event: Any) -> None:
            if self.display is not None:
                self.display.advance(step, event.done, event.total)

        return run_spec(spec, self.state.root, threads=threads, mem=mem, progress=progress,
                        force=not resume, echo=lambda line: None, operators=operators)

    def _attempt_key(self, spec_path: Path, step: Step) -> str:
        text = spec_path.read_bytes()
        sources = []
        for image, rel in sorted(step.sources.items()):
            for file in _files(self.state.root / rel):
                info = os.stat(file)
                sources.append(f"{image} {file} {info.st_size} {info.st_mtime_ns}")
        return hashlib.sha256(text + "\n".join(sources).encode()).hexdigest()

    def _global_on_mpi(self, rule: Any) -> bool:
        """Whether global ``rule`` splits into tiles for MPI ranks (tiled unwrapping)."""
        with self._lock:
            return supports_mpi(make_operator(rule, self.state))

    def _mpi_launch(self, step: Step, name: str, rule: bool = False) -> None:
        """``mpiexec -n N pep-ppe RUN --stream NAME`` (or ``--rule NAME``), logged."""
        threads, mem = self._share()
        command = [str(c) for c in launch(self.state.root, name, self.mpi,
                                                  threads=1, mem=None if rule else mem,
                                                  rule=rule)]
        done = run_logged(command, self.state.root / ".peppers" / "logs" / f"{step.name}.log",
                          stop=stop_requested)
        if done.stopped:
            raise RunAborted(f"{step.name}: stopped ('{' '.join(command)}' got SIGTERM); "
                             "'pep run make' resumes it")
        if done.status != 0:
            raise MakeError(f"{step.name}: '{' '.join(command)}' exited with status "
                            f"{done.status}: {done.last_line} (log: {done.log})")


def sweep_run_temporaries(root: Path) -> list[Path]:
    """Remove what killed makes left staged in ``images/`` and ``products/``.

    Run under the make lock, so no other make of this run is writing; a
    temporary whose writer still lives is kept (:func:`sweep_temporaries`).
    One level of sub-folders is swept too (a product set's folder).
    """
    removed = []
    for folder in (root / "images", root / "products"):
        if not folder.is_dir():
            continue
        removed += sweep_temporaries(folder)
        removed += [path for sub in folder.iterdir()
                    if sub.is_dir() and not sub.name.startswith(".")
                    for path in sweep_temporaries(sub)]
    return removed


def stream_journal(root: Path, name: str) -> Path:
    """The tile journal of a stream: the same file for threads and MPI ranks."""
    return journal_path(root, name)


def _files(path: Path) -> list[Path]:
    return [p for p in image_files(path) if p.exists()]


def _remove_image(vrt: Path) -> None:
    """Remove a stored image that is now only an in-memory intermediate."""
    for file in _files(vrt):
        file.unlink()


def _reset_journal(spec: Any, root: Path) -> None:
    plan = spec.build(root).plan()
    with TileJournal(journal_path(root, spec.name), signature=plan.signature(),
                     n_tiles=len(plan.tasks)) as journal:
        journal.reset()


def make(db: RunDatabase, targets: list[str], *, force: bool = False,
         triggers: tuple[str, ...] = TRIGGERS, threads: int | None = None,
         mem: str | None = None, parallel: int = 1, mpi: int | None = None,
         display: Display | None = None, package: bool | None = None) -> MakeReport:
    """Plan and run in one call (the Python face of ``pep run make``).

    Returns
    -------
    MakeReport

    Raises
    ------
    RuleError
        A rule problem found while planning.
    MakeError
        A step failed (completed rules stay recorded).
    """
    plan = plan_make(db, targets, force=force, triggers=triggers, package=package,
                     threads=threads, mem=mem)
    return Maker(plan, parallel=parallel, mpi=mpi, display=display).run()

