"""Compatibility name of :mod:`peppers.operator` (and :mod:`peppers.image`); import from those."""

from peppers.image import ImageSink, ImageSource, ImageSpec, Region
from peppers.operator import (EDGE_MODES, KINDS, GlobalOperator, LocalOperator, Operator, Param,
                              ReductionOperator)

__all__ = ["EDGE_MODES", "KINDS", "GlobalOperator", "ImageSink", "ImageSource", "ImageSpec",
           "LocalOperator", "Operator", "Param", "ReductionOperator", "Region"]
