"""File identity: the sha256 of a file's bytes, read in blocks.

One hasher for every place that names a file by its content: the run
database's image references and snapshots (:mod:`peppers.hkv`), the
scheduler's file signatures (:mod:`peppers.drs.signatures`) and the input
records ``pep init`` keeps (:mod:`peppers.scene.inputs`).
"""

from __future__ import annotations

import hashlib
import os

#: Bytes read at a time (4 MiB).
BLOCK = 1 << 22


def sha256_file(path: str | os.PathLike, block: int = BLOCK) -> str:
    """Hex sha256 of the bytes of ``path``, read ``block`` bytes at a time.

    Raises
    ------
    OSError
        If the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()
