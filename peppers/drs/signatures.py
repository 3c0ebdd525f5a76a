"""File signatures: cheap identity first (size and mtime), content hash only when needed.

An image on disk is one file (a GeoTIFF) or two (a raw VRT header and its
``.raw`` pixels). Its *identity* as recorded by the scheduler is::

    {files: [{path: images/x.raw.vrt, size: 812, mtime_ns: 1718..., sha256: ...}, ...]}

or, for an intermediate that stayed in memory inside a stream,
``{memory: TOKEN}`` where ``TOKEN`` is the recipe hash of the rule that
made it (:func:`peppers.drs.state.recipe_token`).

Comparing a recorded identity with the file now (:meth:`Signer.compare`):

1. same path, size and mtime for every file: unchanged, nothing is read;
2. otherwise the content hash decides: unchanged (the file was only
   touched) when it equals the recorded hash, changed when it differs.

An intermediate of a run made before the ISCE naming (header
``images/NAME.vrt``, recorded so) compares equal to its record whether the
next make has renamed it to ``images/NAME.raw.vrt`` yet or not
(:mod:`peppers.io.run_paths`).

A hash is computed at most once per ``(path, size, mtime)`` and only when
no record already knows it: the scheduler's records of rule outputs, its
``drs.inputs.*`` cache of run inputs, and ``pep init``'s ``inputs.*.files``
all feed :meth:`Signer.learn`. So an image whose size and mtime match a
record is never hashed, however large (the doit lesson: md5 of every file
on every run does not scale).
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any, Iterable

from peppers.errors import ImageError
from peppers.files import sha256_file
from peppers.io.run_paths import find_intermediate, same_image_path
from peppers.io.vrt import parse_vrt


def image_files(path: Path) -> list[Path]:
    """The files of an image: a raw VRT and its raw file, or the one file."""
    path = Path(path)
    if path.suffix.lower() == ".vrt" and path.exists():
        try:
            return [path, Path(parse_vrt(path).source)]
        except ImageError:
            return [path]
    return [path]


def _mtime_ns(value: Any) -> int | None:
    """mtime in ns from a record (int ns, or a datetime with microseconds)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, _dt.datetime):
        return int(round(value.timestamp() * 1e6)) * 1000
    return None


class Signer:
    """Signatures of files under one run root, with a hash cache.

    Parameters
    ----------
    root : Path
        The run root; relative paths are resolved against it.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._hashes: dict[tuple[str, int, int], str] = {}
        #: Hashes computed by this object (``(path, size, mtime_ns) -> sha``).
        self.computed: dict[tuple[str, int, int], str] = {}

    def _abs(self, path: str | Path) -> Path:
        return Path(os.path.normpath(self.root / path))

    def relative(self, path: Path) -> str:
        """``path`` relative to the run root when inside it, else absolute."""
        path = Path(os.path.normpath(path))
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def learn(self, files: Iterable[dict[str, Any]]) -> None:
        """Remember the hashes of recorded file signatures (``path size mtime sha256``)."""
        for entry in files or ():
            if not isinstance(entry, dict):
                continue
            mtime = _mtime_ns(entry.get("mtime_ns", entry.get("mtime")))
            sha, size = entry.get("sha256"), entry.get("size")
            if sha and isinstance(size, int) and mtime is not None and entry.get("path"):
                self._hashes[(str(self._abs(entry["path"])), size, mtime)] = sha

    def stat(self, path: Path) -> dict[str, Any] | None:
        """``{path, size, mtime_ns}`` of a file, or None if it does not exist."""
        try:
            info = os.stat(self._abs(path))
        except FileNotFoundError:
            return None
        return {"path": self.relative(self._abs(path)), "size": info.st_size,
                "mtime_ns": info.st_mtime_ns}

    def sha(self, entry: dict[str, Any]) -> str:
        """The content hash of the file ``entry`` describes (cached; computed if unknown)."""
        key = (str(self._abs(entry["path"])), entry["size"], entry["mtime_ns"])
        digest = self._hashes.get(key)
        if digest is None:
            digest = self._hashes[key] = self.computed[key] = sha256_file(self._abs(entry["path"]))
        return digest

    def known_sha(self, entry: dict[str, Any]) -> str | None:
        """The cached hash of ``entry`` without computing one."""
        return self._hashes.get((str(self._abs(entry["path"])), entry["size"], entry["mtime_ns"]))

    def identity(self, path: Path, *, with_hash: bool = True) -> dict[str, Any] | None:
        """The identity ``{files: [...]}`` of the image at ``path``; None if missing."""
        entries = []
        for file in image_files(self._abs(path)):
            entry = self.stat(file)
            if entry is None:
                return None
            if with_hash:
                entry["sha256"] = self.sha(entry)
            entries.append(entry)
        return {"files": entries}

    def compare(self, recorded: Any, path: Path) -> tuple[bool, str]:
        """Whether the image at ``path`` is still what ``recorded`` describes.

        Returns
        -------
        (bool, str)
            ``(True, "")`` when unchanged (possibly touched); ``(False,
            why)`` when missing, moved or changed in content.
        """
        if not isinstance(recorded, dict) or not isinstance(recorded.get("files"), list):
            return False, "was not on disk when last used"
        files = image_files(find_intermediate(self._abs(path)))
        old = recorded["files"]
        if len(files) != len(old):
            return False, "has a different set of files"
        touched = False
        for file, before in zip(files, old):
            now = self.stat(file)
            if now is None:
                return False, f"{self.relative(self._abs(file))} is missing"
            if not same_image_path(now["path"], before.get("path")):
                return False, f"is now {now['path']} (was {before.get('path')})"
            if now["size"] == before.get("size") and now["mtime_ns"] == _mtime_ns(
                    before.get("mtime_ns", before.get("mtime"))):
                continue
            if not before.get("sha256"):
                return False, f"{now['path']} changed (size or time) and has no recorded hash"
            if now["size"] != before.get("size") or self.sha(now) != before["sha256"]:
                return False, f"{now['path']} changed in content"
            touched = True
        return True, "touched, content unchanged" if touched else ""
