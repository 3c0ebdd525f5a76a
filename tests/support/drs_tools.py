"""A tiny external program for command-rule tests: ``python drs_tools.py to_tiff IN OUT``.

Copies band 1 of any raster GDAL opens into a GeoTIFF (``fail`` exits 3).
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv[0] == "fail":
        print("drs_tools: failing on purpose", file=sys.stderr)
        return 3
    import rasterio

    with rasterio.open(argv[1]) as src:
        data = src.read(1)
        profile = {"driver": "GTiff", "height": data.shape[0], "width": data.shape[1],
                   "count": 1, "dtype": data.dtype.name}
    with rasterio.open(argv[2], "w", **profile) as dst:
        dst.write(data, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
