"""Resume: SIGKILL a stream mid-run, run it again: same output, done tiles not redone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from peppers.io.raw import RawImage
from peppers.operators.filters import BoxFilter
from peppers.ppe.operator import ImageSpec
from peppers.ppe.region import Region
from peppers.ppe.testing import whole_image
from support.gate import Gate

SCRIPT = textwrap.dedent('''
    import os, sys
    import numpy as np
    from peppers.operators.filters import BoxFilter
    from peppers.ppe import LocalOperator, Pipeline
    from peppers.ppe.journal import TileJournal

    from support.gate import Gate

    class Logged(LocalOperator):
        """Adds one; logs every tile it computes (to $PPE_LOG), behind a gate."""
        name = "logged"

        def compute(self, inputs, region):
            Gate(os.path.join(work, "gate")).wait(region.row)
            fd = os.open(os.environ["PPE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.write(fd, f"{region.row} {region.col}\\n".encode())
            os.close(fd)
            return {"output": inputs["input"] + 1}

    mode, work = sys.argv[1], sys.argv[2]
    os.environ["PPE_LOG"] = os.path.join(work, mode + ".log")
    p = Pipeline(tile_shape=(32, 32), threads=2)
    box = p.add(BoxFilter(size=(5, 5)), p.source(os.path.join(work, "in.vrt")))
    p.output(p.add(Logged(), box), os.path.join(work, "out.vrt"))
    if mode == "done":
        plan = p.plan()
        journal = TileJournal(os.path.join(work, "out.journal"), signature=plan.signature(),
                              n_tiles=len(plan.tasks))
        print(" ".join(f"{plan.tile(*plan.tasks[k]).row},{plan.tile(*plan.tasks[k]).col}"
                       for k in sorted(journal.done())), journal.is_complete())
    else:
        result = p.run(journal=os.path.join(work, "out.journal"), sync_every=0.05)
        print(result.stats.run, result.stats.skipped)
''')


def _tiles(path) -> list[tuple[int, int]]:
    return [tuple(map(int, line.split())) for line in path.read_text().splitlines()]


def test_sigkill_then_resume(tmp_path, rng):
    image = rng.normal(size=(256, 192)).astype("float32")
    with RawImage.create(tmp_path / "in.vrt", ImageSpec(image.shape, "float32")) as src:
        src.write(Region.full(image.shape), image)
        src.flush()
    script = tmp_path / "stream.py"
    script.write_text(SCRIPT)
    run = [sys.executable, str(script)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))

    gate = Gate(tmp_path / "gate").open_to(128)  # 24 of 48 tiles; the rest wait for the kill
    killed = subprocess.Popen(run + ["first", str(tmp_path)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    writer = tmp_path / "out.journal.0"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and killed.poll() is None:
        if writer.exists() and writer.read_text().count("done") >= 8:
            break
        time.sleep(0.02)
    assert killed.poll() is None, killed.stderr.read().decode()
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    killed.stderr.close()

    check = subprocess.run(run + ["done", str(tmp_path)], env=env, capture_output=True,
                           text=True, check=True)
    listed, complete = check.stdout.split()[:-1], check.stdout.split()[-1]
    done = {tuple(map(int, t.split(","))) for t in listed}
    assert complete == "False" and 8 <= len(done) <= 24
    assert done <= set(_tiles(tmp_path / "first.log"))

    gate.open()
    again = subprocess.run(run + ["second", str(tmp_path)], env=env, capture_output=True,
                           text=True, check=True)
    ran, skipped = map(int, again.stdout.split())
    recomputed = _tiles(tmp_path / "second.log")
    assert not done & set(recomputed)                 # finished tiles were not recomputed
    assert len(recomputed) == ran == 48 - len(done) and skipped == len(done)

    expected = whole_image(BoxFilter(size=(5, 5)), input=image)["output"] + 1
    np.testing.assert_allclose(RawImage.open(tmp_path / "out.vrt").read(Region.full(image.shape)),
                               expected, rtol=1e-6)
    final = subprocess.run(run + ["done", str(tmp_path)], env=env, capture_output=True,
                           text=True, check=True)
    assert final.stdout.split()[-1] == "True"
