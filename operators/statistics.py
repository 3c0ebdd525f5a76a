"""Whole-image statistics as boundary operators (used by the rule-file examples and docs).

``RemoveMean`` (global)
    Subtracts the mean of the valid pixels of the whole image: a true
    whole-image dependency, so it cannot run inside a stream. It reads and
    writes in strips, so memory stays bounded by the strip height.
``ImageStats`` (reduction)
    Mean, standard deviation, minimum, maximum and valid-pixel count of an
    image, for HKV (``outputs: {stats: some.key}`` stores the mapping).

Both skip NaN pixels and the image's no-data value. Means and variances
are accumulated in float64 over strips (Chan et al.'s pairwise update, so
the result does not depend on the strip height beyond rounding).

References
----------
T. F. Chan, G. H. Golub, R. J. LeVeque, "Updating formulae and a pairwise
algorithm for computing sample variances", COMPSTAT 1982, eq. 2.1.
"""

from __future__ import annotations

from typing import Any, ClassVar, Iterator, Mapping

import numpy as np

from peppers.image import ImageSink, ImageSource, ImageSpec, Region
from peppers.operator import GlobalOperator, Param, ReductionOperator


def _strips(shape: tuple[int, int], rows: int) -> Iterator[Region]:
    for row in range(0, shape[0], rows):
        yield Region(row, 0, min(rows, shape[0] - row), shape[1])


def _valid(block: np.ndarray, nodata: Any) -> np.ndarray:
    mask = np.isfinite(block)
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        mask &= block != nodata
    return mask


def moments(source: ImageSource, rows: int) -> tuple[int, float, float, float, float]:
    """``(count, mean, M2, min, max)`` of the valid pixels, strip by strip.

    ``M2`` is the sum of squared deviations from the mean (variance = M2 / count).
    """
    count, mean, m2 = 0, 0.0, 0.0
    low, high = np.inf, -np.inf
    for strip in _strips(source.spec.shape, rows):
        block = source.read(strip)
        values = block[_valid(block, source.spec.nodata)].astype(np.float64)
        if values.size == 0:
            continue
        n_b, mean_b = values.size, float(values.mean())
        m2_b = float(((values - mean_b) ** 2).sum())
        delta, total = mean_b - mean, count + n_b
        mean += delta * n_b / total
        m2 += m2_b + delta * delta * count * n_b / total
        count = total
        low, high = min(low, float(values.min())), max(high, float(values.max()))
    return count, mean, m2, low, high


class RemoveMean(GlobalOperator):
    """Subtract the whole-image mean of the valid pixels (a global operator).

    Examples
    --------
    >>> from peppers.io.source import ArraySource
    >>> src = ArraySource(np.arange(6, dtype="float32").reshape(2, 3))
    >>> out = ArraySource(np.zeros((2, 3), "float32"))
    >>> RemoveMean(strip_rows=1).run({"input": src}, {"output": out})
    >>> out.array
    array([[-2.5, -1.5, -0.5],
           [ 0.5,  1.5,  2.5]], dtype=float32)
    """

    name: ClassVar[str] = "remove_mean"
    params = (Param("strip_rows", int, 256, "rows read and written at a time"),)

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        spec = input_specs["input"]
        return {"output": ImageSpec(spec.shape, np.float32, np.nan, spec.geo)}

    def run(self, sources: Mapping[str, ImageSource], sinks: Mapping[str, ImageSink]) -> None:
        source, sink = sources["input"], sinks["output"]
        count, mean, *_ = moments(source, self.strip_rows)
        for strip in _strips(source.spec.shape, self.strip_rows):
            block = source.read(strip)
            out = np.where(_valid(block, source.spec.nodata), block.astype(np.float64) - mean,
                           np.nan)
            sink.write(strip, out.astype(np.float32))


class ImageStats(ReductionOperator):
    """Statistics of the valid pixels of an image, for HKV (a reduction).

    Examples
    --------
    >>> from peppers.io.source import ArraySource
    >>> ImageStats().reduce({"input": ArraySource(np.array([[1.0, 3.0]]))})["stats"]
    {'count': 2, 'mean': 2.0, 'std': 1.0, 'min': 1.0, 'max': 3.0}
    """

    name: ClassVar[str] = "image_stats"
    inputs: ClassVar[tuple[str, ...]] = ("input",)
    params = (Param("strip_rows", int, 256, "rows read at a time"),)

    def reduce(self, sources: Mapping[str, ImageSource]) -> dict[str, Any]:
        count, mean, m2, low, high = moments(sources["input"], self.strip_rows)
        if count == 0:
            return {"stats": {"count": 0, "mean": None, "std": None, "min": None, "max": None}}
        return {"stats": {"count": count, "mean": mean, "std": float(np.sqrt(m2 / count)),
                          "min": low, "max": high}}
