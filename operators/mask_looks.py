"""Layover/shadow mask on the multilooked grid.

A multilooked pixel averages ``la x lr`` master pixels; if any of them lies
in layover or shadow its value holds (or is) an echo of another ground
patch, so the multilooked pixel is flagged: the code of the block is its
largest code (0 clear, 1 layover, 2 shadow; a block with both is shadow).
This is the conservative "any" rule MintPy applies to masks when it
multilooks them (``multilook.py --method max`` for a shadow/layover mask),
and what makes the claim "no geocoded value comes from a layover pixel"
true on the multilooked grid as well.

Blocks are anchored to the image as in
:class:`~peppers.operators.multilook.Multilook` (same grid: with the scene
given the azimuth looks are :func:`~peppers.operators.multilook.square_looks`).
"""

from __future__ import annotations

from typing import ClassVar, Mapping

import numpy as np

from peppers.image import ImageSpec, Region
from peppers.operators.multilook import Multilook

__all__ = ["MultilookMask"]


class MultilookMask(Multilook):
    """Largest code of each ``la x lr`` block of a uint8 mask (module docstring).

    Parameters and grid as :class:`~peppers.operators.multilook.Multilook`
    (``looks``; with ``scene`` the azimuth looks make square pixels).

    Examples
    --------
    >>> from peppers.operators._arrays import apply_local
    >>> mask = np.zeros((4, 4), np.uint8); mask[0, 1] = 1; mask[3, 3] = 2
    >>> apply_local(MultilookMask(looks=(2, 2)), {"input": mask})["output"].tolist()
    [[1, 0], [0, 2]]
    """

    name: ClassVar[str] = "multilook_mask"

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        spec = input_specs["input"]
        shape = (spec.shape[0] // self.looks[0], spec.shape[1] // self.looks[1])
        return {"output": ImageSpec(shape, np.uint8, 0, None)}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        la, lr = self.looks
        h, w = output_region.shape
        x = np.asarray(inputs["input"])[:h * la, :w * lr]
        x = np.where(np.isfinite(x), x, 0).astype(np.uint8) if x.dtype.kind == "f" else x
        if not x.size:
            return {"output": np.zeros((h, w), np.uint8)}
        return {"output": x.reshape(h, la, w, lr).max(axis=(1, 3)).astype(np.uint8)}
