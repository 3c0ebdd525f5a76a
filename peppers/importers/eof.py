"""Sentinel-1 orbit files (``AUX_POEORB`` precise, ``AUX_RESORB`` restituted, ``.EOF``).

An Earth Explorer orbit file (ESA "Sentinel-1 POD Products File Format
Specification", S1-RS-MDA-52-7443) lists state vectors in
``Data_Block/List_of_OSVs/OSV``: ``UTC=...`` time, ``X Y Z`` (m) and
``VX VY VZ`` (m/s) in the Earth-fixed frame, with the mission in
``Earth_Explorer_Header/Fixed_Header/Mission`` and the reference frame in
``Variable_Header/Ref_Frame``. :func:`read_eof` returns the state vectors
that cover a requested span with a margin, refusing a file of another
mission, another frame, or one that does not cover the span.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from peppers.errors import SceneError

__all__ = ["OrbitVectors", "read_eof"]


@dataclass(frozen=True)
class OrbitVectors:
    """State vectors: UTC times, ECEF positions (m) and velocities (m/s)."""

    times: tuple[datetime, ...]
    positions: np.ndarray
    velocities: np.ndarray
    source: str


def _utc(text: str) -> datetime:
    text = text.strip()
    if text.startswith("UTC="):
        text = text[4:]
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def read_eof(path: str | Path, start: datetime, stop: datetime, *, mission: str | None = None,
             margin_s: float = 60.0) -> OrbitVectors:
    """The state vectors of an orbit file that cover ``[start, stop]`` with a margin.

    Parameters
    ----------
    path : path
        The ``.EOF`` file.
    start, stop : datetime
        The span the scene needs (tz-aware UTC).
    mission : str, optional
        ``S1A``/``S1B``...: the file's ``Mission`` must match (``Sentinel-1A``).
    margin_s : float
        Seconds kept before ``start`` and after ``stop``.

    Returns
    -------
    OrbitVectors

    Raises
    ------
    SceneError
        Naming the file and the element: unreadable or truncated XML, no
        state vectors, malformed numbers, another mission or frame, uneven
        spacing, or a span that does not cover ``[start - margin, stop + margin]``.
    """
    path = Path(path).absolute()
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise SceneError(path, "(file)", "no such file") from None
    except (ET.ParseError, OSError) as error:
        raise SceneError(path, "(xml)", f"not a readable orbit file (truncated?): {error}") from None
    header = "Earth_Explorer_Header/Fixed_Header"
    file_mission = (root.findtext(f"{header}/Mission") or "").strip()
    if mission is not None and file_mission:
        want = f"Sentinel-1{mission[-1]}" if mission.upper().startswith("S1") else mission
        if file_mission != want:
            raise SceneError(path, f"{header}/Mission",
                             f"is {file_mission!r}, but the product is {mission}")
    frame = (root.findtext("Earth_Explorer_Header/Variable_Header/Ref_Frame") or "EARTH_FIXED")
    if frame.strip() != "EARTH_FIXED":
        raise SceneError(path, "Earth_Explorer_Header/Variable_Header/Ref_Frame",
                         f"is {frame.strip()!r}; expected EARTH_FIXED")
    osvs = root.findall("Data_Block/List_of_OSVs/OSV")
    if not osvs:
        raise SceneError(path, "Data_Block/List_of_OSVs/OSV", "missing: no state vectors")
    lo, hi = start - timedelta(seconds=margin_s), stop + timedelta(seconds=margin_s)
    times, pos, vel = [], [], []
    for i, osv in enumerate(osvs):
        where = f"Data_Block/List_of_OSVs/OSV[{i}]"
        try:
            t = _utc(osv.findtext("UTC") or "")
        except ValueError:
            raise SceneError(path, f"{where}/UTC", f"is {osv.findtext('UTC')!r}; expected "
                                                   "UTC=YYYY-MM-DDTHH:MM:SS.ffffff") from None
        if t < lo or t > hi:
            continue
        values = []
        for tag in ("X", "Y", "Z", "VX", "VY", "VZ"):
            text = osv.findtext(tag)
            try:
                value = float(text)
            except (TypeError, ValueError):
                raise SceneError(path, f"{where}/{tag}", f"is {text!r}; expected a number") from None
            if not math.isfinite(value):
                raise SceneError(path, f"{where}/{tag}", f"is {text!r}; expected a finite number")
            values.append(value)
        times.append(t)
        pos.append(values[:3])
        vel.append(values[3:])
    first = _utc(osvs[0].findtext("UTC") or "")
    last = _utc(osvs[-1].findtext("UTC") or "")
    if not times or times[0] - lo > timedelta(seconds=15) or hi - times[-1] > timedelta(seconds=15):
        raise SceneError(path, "Data_Block/List_of_OSVs",
                         f"covers {first.isoformat()} .. {last.isoformat()}, but the scene needs "
                         f"{lo.isoformat()} .. {hi.isoformat()} ({margin_s:g} s margin): "
                         "the orbit file does not cover the acquisition")
    return OrbitVectors(tuple(times), np.array(pos), np.array(vel), path.name)
