"""The amplitude operator of the products: multilooked amplitude of an SLC.

:class:`MultilookAmplitude` gives the amplitude image that is geocoded with
the DEM: ``sqrt`` of the block mean of ``|slc|^2`` on the multilooked grid.
The GeoTIFF export of map images is :mod:`peppers.operators.export`; the
accuracy of a DEM product against a simulation's truth is
:mod:`peppers.report.truth`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from peppers.image import ImageSpec, Region
from peppers.operators.multilook import Multilook

__all__ = ["MultilookAmplitude"]


class MultilookAmplitude(Multilook):
    """Amplitude ``sqrt(mean |z|^2)`` over the multilook blocks of an SLC.

    Parameters
    ----------
    looks, scene
        As :class:`~peppers.operators.multilook.Multilook` (square looks
        from the scene).

    Examples
    --------
    >>> import numpy as np
    >>> from peppers.operators._arrays import apply_local
    >>> z = np.array([[3 + 4j, 0], [0, 0]], dtype=np.complex64)
    >>> apply_local(MultilookAmplitude(looks=(2, 2)), {"input": z})["output"].tolist()
    [[2.5]]
    """

    name: ClassVar[str] = "multilook_amplitude"

    def output_spec(self, input_specs: Mapping[str, ImageSpec]) -> dict[str, ImageSpec]:
        spec = input_specs["input"]
        shape = (spec.shape[0] // self.looks[0], spec.shape[1] // self.looks[1])
        return {"output": ImageSpec(shape, np.float32, float("nan"))}

    def compute(self, inputs: Mapping[str, np.ndarray],
                output_region: Region) -> dict[str, np.ndarray]:
        z = inputs["input"]
        power = (z.real.astype(np.float32) ** 2 + z.imag.astype(np.float32) ** 2) \
            if np.iscomplexobj(z) else np.asarray(z, dtype=np.float32) ** 2
        mean = super().compute({"input": power}, output_region)["output"]
        return {"output": np.sqrt(mean, dtype=np.float32)}
