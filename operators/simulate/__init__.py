"""The scene simulator: a physically faithful interferometric SAR pair with its truth.

``simulate(outdir, SimulationConfig(...))`` (or ``pep simulate OUTDIR``) writes
a master and a slave scene in the ``peppers-slc/1`` contract, a fractal DEM,
ground control points and the truth (unwrapped phase, offsets, coherence,
heights on the radar grid) described by ``truth.yaml``. See
``docs/simulator.md``.
"""

from peppers.operators.simulate.config import SimulationConfig
from peppers.operators.simulate.pair import SimulationResult, simulate

__all__ = ["SimulationConfig", "SimulationResult", "simulate"]
