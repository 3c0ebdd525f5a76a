"""Importers: real SAR products to the ``peppers-slc/2`` contract.

One module per product family, each turning a product into a validated
:class:`~peppers.scene.Scene` and an image (a VRT over the original raster
where GDAL can address it), written into an output folder atomically
(:mod:`~peppers.importers.staging`):

- :mod:`~peppers.importers.nisar`: NISAR L1 RSLC HDF5 (``science/LSAR/SLC``),
  and products in that layout (UAVSAR, reprocessed missions);
- :mod:`~peppers.importers.sentinel1`: Sentinel-1 IW SLC bursts (SAFE folder,
  zip, or loose annotation + measurement files), with
  :mod:`~peppers.importers.s1_annotation` (the annotation XML) and
  :mod:`~peppers.importers.eof` (precise / restituted orbit files).

Every refusal is a :class:`~peppers.errors.SceneError` naming the product
file and the field (HDF5 dataset path, XML element path). See
``docs/import-nisar.md`` and ``docs/import-sentinel1.md``.
"""
