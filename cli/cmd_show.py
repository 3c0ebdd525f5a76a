"""``pep show IMAGE_OR_KEY``: a quicklook PNG of an image.

IMAGE_OR_KEY is an image of the run (``images/NAME.raw.vrt``, ``images/NAME.tif``
or ``products/NAME.tif``), a run input (``master_slc``, ``slave_slc``,
``reference_dem``), an HKV key whose value is a path, or any raster file.
The picture is read decimated in bounded memory (large images are never
loaded whole) and coloured by kind: cyclic colours for phase, grey for
amplitude (dB) and coherence (0..1), shaded relief for heights; with a
colour bar, a scale bar (from the geotransform, or from the master scene
for radar-geometry images) and a title. No-data pixels are transparent.
Details: docs/pictures.md.
"""

from __future__ import annotations

import argparse

from peppers.cli.common import command_parser

KIND_CHOICES = ("auto", "phase", "unwrapped", "amplitude", "coherence", "height", "value",
                "labels", "mask")


def add_parser(sub) -> argparse.ArgumentParser:
    parser = command_parser(
        sub, "show", "write a quicklook PNG of an image (phase, amplitude, coherence, height)",
        __doc__,
        "  pep --run myrun show filtered_interferogram -o ifg.png\n"
        "  pep --run myrun show geocoded_dem --kind height\n"
        "  pep show /data/scene/master.slc.vrt --kind amplitude --max-size 600")
    parser.add_argument("image", metavar="IMAGE_OR_KEY",
                        help="image name in the run, run input, HKV key, or raster path")
    parser.add_argument("-o", "--output", default=None, metavar="OUT.png",
                        help="PNG to write (default NAME.png in the current directory)")
    parser.add_argument("--kind", choices=KIND_CHOICES, default="auto",
                        help="what the image holds (default: guessed from name and type)")
    parser.add_argument("--max-size", type=int, default=800, metavar="PIXELS",
                        help="largest side of the picture before enlarging (default 800)")
    parser.add_argument("--method", choices=("auto", "mean", "nearest"), default="auto",
                        help="decimation: mean of each cell (reads every pixel), nearest "
                             "(reads one row per cell), auto (mean up to 256 MiB)")
    parser.add_argument("--title", default=None, help="title (default: the image name)")
    parser.add_argument("--rewrap", type=float, default=None, metavar="RAD",
                        help="unwrapped phase: show it re-wrapped, RAD radians per colour "
                             "cycle (e.g. 6.283 for the fringes); default continuous")
    return parser


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from peppers.cli.common import open_run, run_dir
    from peppers.errors import HKVError, ImageError
    from peppers.pictures import quicklook
    from peppers.pictures.locate import image_name, resolve_image

    if args.max_size < 1:
        raise ImageError(f"pep show: --max-size must be >= 1, got {args.max_size}")
    try:
        db = open_run(args)
    except HKVError:
        db = None  # any raster path works outside a run
    root = Path(db.root) if db is not None else run_dir(args)
    path = resolve_image(args.image, root, db)
    output = Path(args.output) if args.output else Path(f"{image_name(path)}.png")
    if output.suffix.lower() != ".png":
        raise ImageError(f"{output}: pep show writes PNG; name the file *.png")
    result = quicklook(path, output, kind=args.kind, title=args.title,
                       max_size=args.max_size, db=db, method=args.method, rewrap=args.rewrap)
    scale = (f"{result.metres_per_pixel:.3g} m/pixel" if result.metres_per_pixel
             else "scale unknown")
    print(f"wrote {result.path} ({result.kind}, {result.source_shape[0]} x "
          f"{result.source_shape[1]} -> {result.shape[0]} x {result.shape[1]}, {scale})")
    return 0
