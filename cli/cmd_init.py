"""``pep init``: create a run from a master and a slave scene.

Checks both scenes against the ``peppers-slc/1`` contract (metadata and
image), that they form a pair (same look side and wavelength), and the
optional ground control points and reference DEM; only then creates the run
directory with the default parameter set (``peppers/parameters.yaml``, every
key documented; change one with ``pep set``) and records the inputs under
``inputs.*``. A bad input is one line naming the file and the field, and no
run is created.
"""

from __future__ import annotations

import argparse

EXAMPLE = """\
example:
  pep init myrun --master sim/master.yaml --slave sim/slave.yaml \\
      --gcps sim/gcps.yaml --reference-dem sim/dem.tif
  pep --run myrun get inputs.master.sensor.wavelength_m
"""


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "init",
        help="create a run from a master and a slave scene (peppers-slc/1)",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN", help="the run directory to create")
    parser.add_argument("--master", required=True, metavar="M.yaml",
                        help="metadata of the master (reference) scene")
    parser.add_argument("--slave", required=True, metavar="S.yaml",
                        help="metadata of the slave (secondary) scene")
    parser.add_argument("--gcps", metavar="G.yaml",
                        help="ground control points: gcps: [{lat, lon, height_m}, ...]")
    parser.add_argument("--reference-dem", metavar="DEM.tif",
                        help="a reference DEM: any GDAL raster with a CRS, ellipsoidal metres")
    return parser


def default_parameters() -> dict:
    """The declared parameter set of a new run, from ``peppers/parameters.yaml``.

    Returns
    -------
    dict
        ``key -> {"type": ..., "default": ..., "doc": ...}``.
    """
    from importlib import resources

    import yaml

    text = resources.files("peppers").joinpath("parameters.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def run(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    from peppers.hkv import RunDatabase
    from peppers.scene import check_reference_dem, load_gcps, load_scene
    from peppers.scene.inputs import check_pair, input_path, record_inputs

    master = load_scene(args.master)
    slave = load_scene(args.slave)
    check_pair(master, slave)
    gcps = None
    if args.gcps:
        gcps = (Path(args.gcps).absolute(), load_gcps(args.gcps))
    dem = check_reference_dem(args.reference_dem) if args.reference_dem else None

    run_dir = Path(args.run_dir).absolute()
    existed = run_dir.exists()
    db = RunDatabase.create(run_dir, parameters=default_parameters())
    try:
        db.record_command(list(args.argv))
        record_inputs(db, master=master, slave=slave, gcps=gcps, dem=dem)
        if dem is not None:  # the DEM-assisted rules (peppers.drs.ruleset, rule variants)
            db.set("drs.rule_variants", ["reference_dem"])
    except BaseException:
        if not existed:  # never leave a half-made run behind
            shutil.rmtree(run_dir, ignore_errors=True)
        raise

    print(f"created run {args.run_dir}")
    for role, scene in (("master", master), ("slave", slave)):
        print(f"  {role:<7} {scene.sensor_name}, {scene.lines} x {scene.samples} "
              f"(lines x samples), {scene.look_side}-looking, "
              f"{scene.azimuth_time(0):%Y-%m-%dT%H:%M:%S}Z, "
              f"{input_path(scene.yaml_path, run_dir)}")
    if gcps is not None:
        print(f"  gcps    {len(gcps[1])} points, {input_path(gcps[0], run_dir)}")
    if dem is not None:
        print(f"  dem     {dem.shape[0]} x {dem.shape[1]}, {dem.crs}, "
              f"{input_path(dem.path, run_dir)}")
    print(f"  {len(default_parameters())} parameters at their defaults "
          "(pep get KEY, pep set KEY VALUE)")
    print(f"inspect: pep --run {args.run_dir} get inputs.master.sensor")
    return 0
