"""The Pipeline Processing Engine: pull-based tile pipelines over bounded caches.

The script layer (:mod:`peppers.ppe.pipeline`) is the front door::

    from peppers.ppe import Pipeline
    p = Pipeline(tile_shape=(512, 512), mem="512M")
    p.output(p.add(SomeOperator(), p.source("in.vrt")), "out.vrt")
    p.run(journal="out.journal")

Beneath it: :mod:`~peppers.ppe.graph` (nodes), :mod:`~peppers.ppe.plan`
(tile requests, refcounts), :mod:`~peppers.ppe.estimate` (memory model),
:mod:`~peppers.ppe.cache` (tile caches), :mod:`~peppers.ppe.engine` (the
driver and the pull), :mod:`~peppers.ppe.executor` (threads), and
:mod:`~peppers.ppe.edges` (edge modes). See ``docs/ppe.md``.
"""

from peppers.image import ImageSpec, Region, TileGrid
from peppers.operator import GlobalOperator, LocalOperator, Operator, Param, ReductionOperator
from peppers.ppe.cache import DEFAULT_MEM, parse_mem
from peppers.ppe.engine import run_stream
from peppers.ppe.estimate import Estimate
from peppers.ppe.executor import Executor, SerialExecutor, ThreadExecutor, default_threads
from peppers.ppe.graph import Graph, Ref
from peppers.ppe.pipeline import Image, Pipeline, Result, apply
from peppers.ppe.plan import DEFAULT_TILE, Plan
from peppers.ppe.stats import RunStats, TileEvent

__all__ = [
    "DEFAULT_MEM", "DEFAULT_TILE", "Estimate", "Executor", "GlobalOperator", "Graph", "Image",
    "ImageSpec", "LocalOperator", "Operator", "Param", "Pipeline", "Plan", "Ref",
    "ReductionOperator", "Region", "Result", "RunStats", "SerialExecutor", "ThreadExecutor",
    "TileEvent", "TileGrid", "apply", "default_threads", "parse_mem", "run_stream",
]
