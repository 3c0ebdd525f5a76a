"""A tiny external program for command-rule tests: ``python drs_tools.py to_tiff IN OUT``.

Copies band 1 of any raster GDAL opens into a GeoTIFF (``fail`` exits 3).
``held GATE IN OUT`` does the same after starting a child process, writing
both pids to ``GATE.pids`` and waiting until the :class:`~support.gate.Gate`
file ``GATE`` is open (a command rule held mid-way, with a process group
for a stopped make to stop).
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv[0] == "fail":
        print("drs_tools: failing on purpose", file=sys.stderr)
        return 3
    if argv[0] == "held":
        _hold(argv[1])
        argv = argv[1:]
    import rasterio

    with rasterio.open(argv[1]) as src:
        data = src.read(1)
        profile = {"driver": "GTiff", "height": data.shape[0], "width": data.shape[1],
                   "count": 1, "dtype": data.dtype.name}
    with rasterio.open(argv[2], "w", **profile) as dst:
        dst.write(data, 1)
    return 0


def _hold(gate: str) -> None:
    import os
    import subprocess
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from support.gate import Gate

    child = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
    pids = Path(gate + ".pids")
    tmp = pids.with_name(f".{pids.name}.tmp")
    tmp.write_text(f"{os.getpid()} {child.pid}\n")
    os.replace(tmp, pids)
    Gate(gate).wait(0)
    child.kill()
    child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
