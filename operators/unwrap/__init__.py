"""Phase unwrapping: residues, masks, three solvers, tiling and hole filling.

Conventions (kept in every module): images are ``(rows, cols)`` =
``(azimuth, range)``; a wrapped phase lies in ``(-pi, pi]``; the *row
gradient* ``dr[i, j]`` is the wrapped difference ``psi[i+1, j] - psi[i, j]``
(shape ``(M-1, N)``) and the *column gradient* ``dc[i, j]`` is
``psi[i, j+1] - psi[i, j]`` (shape ``(M, N-1)``). The 2 x 2 loop ``(i, j)``
has pixels ``(i, j), (i, j+1), (i+1, j+1), (i+1, j)`` (counter-clockwise in
the ``(col, row)`` plane drawn with rows downwards is clockwise; the sign
convention is fixed once in :mod:`.residues`).

Solvers
-------
:func:`unwrap_mcf`
    Minimum-cost flow (Costantini 1998) with a numba successive-shortest-path
    solver on the residue network.
:func:`unwrap_wls`
    Weighted least squares (Ghiglia & Romero 1994), PCG with a DCT Poisson
    preconditioner, made congruent with the wrapped phase.
:func:`unwrap_branch_cut`
    Goldstein, Zebker & Werner (1988) branch cuts and flood fill.
:func:`unwrap_tiled`
    Any of the three on overlapping tiles in threads, reconciled by integer
    cycle offsets on the tile-component graph.

Every solver returns ``(unwrapped float32 with NaN where not unwrapped,
components int32 with 0 where not unwrapped)``.
"""

from peppers.operators.unwrap.branch_cut import unwrap_branch_cut
from peppers.operators.unwrap.fill import fill_holes
from peppers.operators.unwrap.mcf import unwrap_mcf
from peppers.operators.unwrap.unwrappers import UnwrapBranchCut, UnwrapMCF, UnwrapWLS
from peppers.operators.unwrap.tiled import unwrap_tiled
from peppers.operators.unwrap.wls import unwrap_wls

__all__ = ["unwrap_mcf", "unwrap_wls", "unwrap_branch_cut", "unwrap_tiled", "fill_holes",
           "UnwrapMCF", "UnwrapWLS", "UnwrapBranchCut"]
