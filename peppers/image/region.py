"""Regions and tile grids: the vocabulary of the tile engine.

A :class:`Region` is a rectangle of pixels, ``(row, col, height, width)``,
half-open like Python slices; ``(row, col) == (azimuth, range)``. It may lie
partly or wholly outside an image: operators ask for their input region
(output tile plus halo, or the bounding box of a geometric mapping) without
caring about edges, and the engine clips it and fills the rest according to
the operator's edge mode.

A :class:`TileGrid` cuts an image of a given shape into tiles of a nominal
shape; tiles on the last row and column may be smaller. Tiles are numbered
row-major; ``grid.tile(i)`` and ``grid.index_of(region)`` convert.

Both are small frozen value objects (compare rasterio's ``Window``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True, order=True)
class Region:
    """A rectangle of pixels, half-open: rows ``[row, row + height)``.

    Parameters
    ----------
    row, col : int
        Top-left pixel; may be negative (outside the image).
    height, width : int
        Size in pixels; zero means empty.

    Examples
    --------
    >>> r = Region(10, 20, 30, 40)
    >>> r.slices
    (slice(10, 40, None), slice(20, 60, None))
    >>> r.grow(2).clip((35, 100))
    Region(row=8, col=18, height=27, width=44)
    """

    row: int
    col: int
    height: int
    width: int

    def __post_init__(self) -> None:
        for name in ("row", "col", "height", "width"):
            value = getattr(self, name)
            if not isinstance(value, int):
                object.__setattr__(self, name, int(value))
        if self.height < 0 or self.width < 0:
            raise ValueError(f"Region size must be >= 0, got {self.height=} {self.width=}")

    # -- construction -------------------------------------------------------
    @classmethod
    def full(cls, shape: tuple[int, int]) -> "Region":
        """The region covering a whole image of ``shape``."""
        return cls(0, 0, int(shape[0]), int(shape[1]))

    @classmethod
    def from_bounds(cls, row_start: int, row_stop: int, col_start: int, col_stop: int) -> "Region":
        """Region from half-open bounds; empty if a stop is before its start."""
        return cls(row_start, col_start, max(0, row_stop - row_start), max(0, col_stop - col_start))

    @classmethod
    def from_slices(cls, rows: slice, cols: slice) -> "Region":
        """Region from two slices with explicit, non-negative starts and stops."""
        return cls.from_bounds(rows.start, rows.stop, cols.start, cols.stop)

    # -- derived values -----------------------------------------------------
    @property
    def row_stop(self) -> int:
        return self.row + self.height

    @property
    def col_stop(self) -> int:
        return self.col + self.width

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def size(self) -> int:
        """Number of pixels."""
        return self.height * self.width

    @property
    def is_empty(self) -> bool:
        return self.height == 0 or self.width == 0

    @property
    def slices(self) -> tuple[slice, slice]:
        """Slices selecting this region from an array that starts at (0, 0)."""
        return (slice(self.row, self.row_stop), slice(self.col, self.col_stop))

    # -- algebra ------------------------------------------------------------
    def intersection(self, other: "Region") -> "Region":
        """The overlap of two regions (possibly empty, placed at self's corner)."""
        r0, r1 = max(self.row, other.row), min(self.row_stop, other.row_stop)
        c0, c1 = max(self.col, other.col), min(self.col_stop, other.col_stop)
        if r1 <= r0 or c1 <= c0:
            return Region(self.row, self.col, 0, 0)
        return Region(r0, c0, r1 - r0, c1 - c0)

    def union(self, other: "Region") -> "Region":
        """The smallest region containing both (an empty region adds nothing)."""
        if self.is_empty:
            return other
        if other.is_empty:
            return self
        return Region.from_bounds(
            min(self.row, other.row), max(self.row_stop, other.row_stop),
            min(self.col, other.col), max(self.col_stop, other.col_stop),
        )

    def contains(self, other: "Region") -> bool:
        """True if ``other`` lies inside this region (an empty one always does)."""
        if other.is_empty:
            return True
        return (self.row <= other.row and other.row_stop <= self.row_stop
                and self.col <= other.col and other.col_stop <= self.col_stop)

    def grow(self, rows: int, cols: int | None = None) -> "Region":
        """Enlarge by a halo of ``rows`` above and below, ``cols`` left and right."""
        cols = rows if cols is None else cols
        return Region(self.row - rows, self.col - cols, self.height + 2 * rows, self.width + 2 * cols)

    def shift(self, rows: int, cols: int) -> "Region":
        return Region(self.row + rows, self.col + cols, self.height, self.width)

    def clip(self, shape: tuple[int, int]) -> "Region":
        """The part of this region inside an image of ``shape``."""
        return self.intersection(Region.full(shape))

    def relative_to(self, outer: "Region") -> tuple[slice, slice]:
        """Slices that select this region out of an array holding ``outer``.

        Raises
        ------
        ValueError
            If this region is not inside ``outer``.
        """
        if not outer.contains(self):
            raise ValueError(f"{self} is not inside {outer}")
        r, c = self.row - outer.row, self.col - outer.col
        return (slice(r, r + self.height), slice(c, c + self.width))


@dataclass(frozen=True)
class TileGrid:
    """An image of ``shape`` cut into tiles of ``tile_shape`` (row-major order).

    Examples
    --------
    >>> g = TileGrid((100, 250), (64, 128))
    >>> g.grid_shape, len(g)
    ((2, 2), 4)
    >>> g.tile(3)
    Region(row=64, col=128, height=36, width=122)
    """

    shape: tuple[int, int]
    tile_shape: tuple[int, int]

    def __post_init__(self) -> None:
        shape = (int(self.shape[0]), int(self.shape[1]))
        tile = (int(self.tile_shape[0]), int(self.tile_shape[1]))
        if min(shape) < 0 or min(tile) <= 0:
            raise ValueError(f"TileGrid needs shape >= 0 and tile_shape > 0, got {shape=} {tile=}")
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "tile_shape", tile)

    @property
    def grid_shape(self) -> tuple[int, int]:
        """Number of tiles along rows and columns."""
        return (math.ceil(self.shape[0] / self.tile_shape[0]),
                math.ceil(self.shape[1] / self.tile_shape[1]))

    def __len__(self) -> int:
        n_rows, n_cols = self.grid_shape
        return n_rows * n_cols

    def __iter__(self) -> Iterator[Region]:
        for i in range(len(self)):
            yield self.tile(i)

    def tile_at(self, tile_row: int, tile_col: int) -> Region:
        """The tile in grid row ``tile_row`` and grid column ``tile_col``."""
        n_rows, n_cols = self.grid_shape
        if not (0 <= tile_row < n_rows and 0 <= tile_col < n_cols):
            raise IndexError(f"tile ({tile_row}, {tile_col}) outside grid {self.grid_shape}")
        th, tw = self.tile_shape
        return Region.from_bounds(
            tile_row * th, min((tile_row + 1) * th, self.shape[0]),
            tile_col * tw, min((tile_col + 1) * tw, self.shape[1]),
        )

    def tile(self, index: int) -> Region:
        """The tile with row-major number ``index``."""
        n_cols = self.grid_shape[1]
        if not 0 <= index < len(self):
            raise IndexError(f"tile {index} outside grid of {len(self)} tiles")
        return self.tile_at(index // n_cols, index % n_cols)

    def position(self, index: int) -> tuple[int, int]:
        """Grid (row, col) of tile number ``index``."""
        return divmod(index, self.grid_shape[1])

    def index_of(self, region: Region) -> int:
        """Number of the tile that ``region`` is exactly; ValueError otherwise."""
        th, tw = self.tile_shape
        if region.row % th or region.col % tw:
            raise ValueError(f"{region} is not a tile of {self}")
        index = (region.row // th) * self.grid_shape[1] + region.col // tw
        if self.tile(index) != region:
            raise ValueError(f"{region} is not a tile of {self}")
        return index

    def covering(self, region: Region) -> list[int]:
        """Numbers of the tiles that intersect ``region`` (clipped to the image)."""
        clipped = region.clip(self.shape)
        if clipped.is_empty:
            return []
        th, tw = self.tile_shape
        n_cols = self.grid_shape[1]
        rows = range(clipped.row // th, (clipped.row_stop - 1) // th + 1)
        cols = range(clipped.col // tw, (clipped.col_stop - 1) // tw + 1)
        return [r * n_cols + c for r in rows for c in cols]
