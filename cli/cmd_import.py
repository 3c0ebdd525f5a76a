"""``pep import``: convert a real SAR product to the ``peppers-slc/2`` contract.

One subcommand per product family; each writes ``NAME.yaml`` and an image
(a VRT over the original raster, no copy) into OUTDIR, atomically: a bad
input is one line naming the file and the field, and OUTDIR is left as it
was. The written YAML is what ``pep init --master/--slave`` takes.

- ``pep import nisar FILE.h5 OUTDIR [--frequency A|B] [--polarization HH]``:
  NISAR L1 RSLC HDF5 and products in its layout (``docs/import-nisar.md``);
- ``pep import s1 SAFE_OR_ZIP OUTDIR --swath 1|2|3 --polarization vv
  [--burst N | --bursts I-J] [--orbit EOF]``, or with loose files
  ``--annotation X.xml --measurement Y.tiff [--measurement-offset LINE SAMPLE]``:
  Sentinel-1 IW SLC bursts (``docs/import-sentinel1.md``).
"""

from __future__ import annotations

import argparse

EXAMPLE = """\
examples:
  pep import nisar SanAnd_138.h5 scenes --frequency A --polarization HH
  pep import s1 S1A_IW_SLC__1SDV_....SAFE scenes --swath 3 --polarization vv --burst 7 \\
      --orbit S1A_OPER_AUX_POEORB_....EOF
  pep import s1 - scenes --swath 3 --polarization vv --burst 7 \\
      --annotation s1a-iw3-slc-vv-....xml --measurement crop.tiff --measurement-offset 9799 10999
"""


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "import", help="convert a NISAR RSLC or Sentinel-1 IW SLC product to peppers-slc/2",
        description=__doc__, epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = parser.add_subparsers(dest="product", metavar="PRODUCT", required=True)
    nisar = kinds.add_parser("nisar", help="NISAR L1 RSLC HDF5 (science/LSAR/SLC/...)",
                             description="Import one frequency and polarisation of a NISAR "
                                         "RSLC HDF5 file.")
    nisar.add_argument("file", metavar="FILE.h5")
    nisar.add_argument("outdir", metavar="OUTDIR")
    nisar.add_argument("--frequency", default="A", choices=["A", "B", "a", "b"])
    nisar.add_argument("--polarization", default="HH", metavar="POL", help="HH, HV, VH or VV")
    nisar.add_argument("--name", help="output file stem (default FILE_FREQ_POL)")
    nisar.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    s1 = kinds.add_parser("s1", help="Sentinel-1 IW SLC burst(s)",
                          description="Import one burst, or a range of bursts (debursted), of "
                                      "one swath of a Sentinel-1 IW SLC.")
    s1.add_argument("source", metavar="SAFE_DIR_OR_ZIP",
                    help="the SAFE folder or zip; '-' with --annotation and --measurement")
    s1.add_argument("outdir", metavar="OUTDIR")
    s1.add_argument("--swath", type=int, required=True, choices=[1, 2, 3])
    s1.add_argument("--polarization", default="vv", metavar="POL")
    group = s1.add_mutually_exclusive_group()
    group.add_argument("--burst", type=int, metavar="N", help="one burst, 1-based")
    group.add_argument("--bursts", metavar="I-J", help="bursts I..J (1-based), debursted")
    s1.add_argument("--orbit", metavar="EOF", help="POEORB/RESORB orbit file replacing the "
                                                   "annotation's state vectors")
    s1.add_argument("--annotation", metavar="X.xml", help="loose annotation XML")
    s1.add_argument("--measurement", metavar="Y.tiff", help="loose measurement GeoTIFF")
    s1.add_argument("--measurement-offset", nargs=2, type=int, default=(0, 0),
                    metavar=("LINE", "SAMPLE"),
                    help="0-based swath line and sample of the measurement's first pixel "
                         "(for a crop; default 0 0)")
    s1.add_argument("--name", help="output file stem")
    s1.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    return parser


def run(args: argparse.Namespace) -> int:
    if args.product == "nisar":
        from peppers.importers.nisar import import_nisar

        path = import_nisar(args.file, args.outdir, frequency=args.frequency,
                            polarization=args.polarization, name=args.name,
                            overwrite=args.overwrite)
    else:
        from peppers.importers.sentinel1 import import_s1

        source = None if args.source == "-" else args.source
        path = import_s1(source, args.outdir, swath=args.swath, polarization=args.polarization,
                         burst=args.burst, bursts=args.bursts, orbit=args.orbit,
                         annotation=args.annotation, measurement=args.measurement,
                         measurement_offset=tuple(args.measurement_offset), name=args.name,
                         overwrite=args.overwrite)
    print(path)
    return 0
