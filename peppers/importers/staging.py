"""Writing an imported scene into OUTDIR with nothing half-written.

An import writes its files (the image VRT, perhaps a raw image, the YAML)
into a hidden staging folder inside OUTDIR, validates the result by loading
it back with the contract reader (:func:`peppers.scene.load_scene`), and only
then renames the files into OUTDIR, the YAML last. A failure at any step
removes the staging folder, so OUTDIR holds either the complete import or
nothing new. A file of the same name already in OUTDIR is refused before
anything is written (``--overwrite`` replaces it).
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from peppers.errors import SceneError
from peppers.io.atomic import atomic_write_bytes, fsync_dir
from peppers.scene import Scene, load_scene, write_scene

__all__ = ["write_import"]


def write_import(outdir: str | os.PathLike, name: str, scene: Scene, *,
                 vrt_xml: Callable[[Path], bytes] | None = None,
                 image: np.ndarray | None = None, overwrite: bool = False) -> Path:
    """Write ``name.yaml`` and its image into ``outdir``, atomically as a set.

    Parameters
    ----------
    outdir : path
        Created if missing.
    name : str
        File stem: ``name.yaml`` and ``name.vrt`` (+ ``name.slc`` for ``image``).
    scene : Scene
        The metadata (its image path is replaced).
    vrt_xml : callable, optional
        ``vrt_xml(final_vrt_path) -> bytes``: a VRT over the original product
        (no copy). Exactly one of ``vrt_xml`` and ``image`` is given.
    image : ndarray, optional
        The image, written as raw complex64 + VRT (``name.slc``, ``name.slc.vrt``).
    overwrite : bool
        Replace existing files of the same names.

    Returns
    -------
    Path
        The final YAML path.

    Raises
    ------
    SceneError
        If a target exists (without ``overwrite``) or the written scene does
        not load back; OUTDIR is then unchanged.
    """
    if (vrt_xml is None) == (image is None):
        raise ValueError("give exactly one of vrt_xml and image")
    outdir = Path(outdir).absolute()
    outdir.mkdir(parents=True, exist_ok=True)
    final_yaml = outdir / f"{name}.yaml"
    names = [f"{name}.yaml"] + ([f"{name}.vrt"] if vrt_xml is not None
                                else [f"{name}.slc", f"{name}.slc.vrt"])
    if not overwrite:
        for n in names:
            if (outdir / n).exists():
                raise SceneError(outdir / n, "(file)", "already exists; remove it or pass "
                                                       "--overwrite")
    stage = outdir / f".import-{name}-{os.getpid()}-{secrets.token_hex(4)}"
    stage.mkdir()
    try:
        staged_yaml = stage / f"{name}.yaml"
        if vrt_xml is not None:
            # the VRT names the original product by absolute path, so it reads the
            # same from the staging folder and from OUTDIR
            staged_vrt = stage / f"{name}.vrt"
            atomic_write_bytes(staged_vrt, vrt_xml(outdir / f"{name}.vrt"))
            write_scene(staged_yaml, replace(scene, image_path=staged_vrt))
        else:
            write_scene(staged_yaml, scene, image)
        load_scene(staged_yaml)  # the contract reader is the judge
        for n in names[1:] + names[:1]:  # the YAML last
            os.replace(stage / n, outdir / n)
        fsync_dir(outdir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return final_yaml
