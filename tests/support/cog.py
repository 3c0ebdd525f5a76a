"""Checks every peppers product passes: a valid COG with units and descriptions."""

from __future__ import annotations

from pathlib import Path

import rasterio


def assert_valid_product(path: str | Path) -> None:
    """``rio cogeo validate`` passes (no errors, no warnings) and every band says what it is."""
    from rio_cogeo.cogeo import cog_validate

    valid, errors, warnings = cog_validate(str(path), quiet=True)
    assert valid and not errors and not warnings, (path, errors, warnings)
    with rasterio.open(path) as ds:
        assert all(ds.units) and all(ds.descriptions), (path, ds.units, ds.descriptions)
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG", path
