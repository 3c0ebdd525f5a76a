"""Small valid ``peppers-slc/1`` scenes for tests, and ways to break them.

The orbit is an exact circular orbit (700 km altitude, 98 deg inclination)
in an inertial frame, rotated into ECEF with the Earth's rotation; positions
and velocities are analytic, so they are mutually consistent exactly as a
real ECEF orbit's are. Independent of :mod:`peppers.geometry` on purpose:
the scene tests must not depend on the code that they feed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

from peppers.scene import Scene, write_scene

GM = 3.986004418e14          # m^3 / s^2, WGS84
OMEGA_EARTH = 7.2921150e-5   # rad / s
EARTH_RADIUS = 6378137.0     # m
T0 = datetime(2026, 3, 1, 5, 12, 3, tzinfo=timezone.utc)


def circular_orbit(times_s: np.ndarray, *, altitude_m: float = 700e3,
                   inclination_deg: float = 98.0, raan_deg: float = 30.0,
                   phase_deg: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    """ECEF positions and velocities of a circular orbit at ``times_s``.

    Returns
    -------
    positions, velocities : ndarray of shape (n, 3)
    """
    t = np.asarray(times_s, dtype=np.float64)
    a = EARTH_RADIUS + altitude_m
    n = np.sqrt(GM / a**3)
    u = np.radians(phase_deg) + n * t
    inc, raan = np.radians(inclination_deg), np.radians(raan_deg)
    # inertial: rotate the orbital-plane circle by inclination and RAAN
    x_p, y_p = a * np.cos(u), a * np.sin(u)
    vx_p, vy_p = -a * n * np.sin(u), a * n * np.cos(u)

    def to_inertial(x, y):
        return np.stack([x * np.cos(raan) - y * np.cos(inc) * np.sin(raan),
                         x * np.sin(raan) + y * np.cos(inc) * np.cos(raan),
                         y * np.sin(inc)], axis=-1)

    r_i, v_i = to_inertial(x_p, y_p), to_inertial(vx_p, vy_p)
    theta = OMEGA_EARTH * t
    c, s = np.cos(theta), np.sin(theta)
    r = np.stack([c * r_i[:, 0] + s * r_i[:, 1], -s * r_i[:, 0] + c * r_i[:, 1], r_i[:, 2]], -1)
    v_rot = np.stack([c * v_i[:, 0] + s * v_i[:, 1], -s * v_i[:, 0] + c * v_i[:, 1], v_i[:, 2]], -1)
    v = v_rot - np.cross([0.0, 0.0, OMEGA_EARTH], r)
    return r, v


def make_scene(*, lines: int = 40, samples: int = 24, n_vectors: int = 9,
               spacing_s: float = 10.0, line_interval_s: float = 0.000604,
               first_line_utc: datetime = T0, **overrides: Any) -> Scene:
    """A valid scene, the image centred in the span of its state vectors.

    Keyword arguments after the named ones replace :class:`Scene` fields.
    """
    duration = (lines - 1) * line_interval_s
    start = duration / 2 - spacing_s * (n_vectors - 1) / 2
    # whole microseconds, so times round-trip through the contract's strings exactly
    offsets = [timedelta(microseconds=round((start + k * spacing_s) * 1e6))
               for k in range(n_vectors)]
    times = [first_line_utc + o for o in offsets]
    positions, velocities = circular_orbit(np.array([o / timedelta(seconds=1) for o in offsets]))
    fields = dict(sensor_name="SIM-C", wavelength_m=0.05546576, look_side="right",
                  lines=lines, samples=samples, first_line_utc=first_line_utc,
                  line_interval_s=line_interval_s, first_sample_m=830000.0,
                  sample_spacing_m=2.329562, orbit_utc=times, positions_m=positions,
                  velocities_mps=velocities)
    fields.update(overrides)
    return Scene(**fields)


def random_image(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Circular complex Gaussian speckle, complex64, with a fixed seed."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def write_test_scene(directory: Path, name: str = "master", *, seed: int = 0,
                     scene: Scene | None = None, **kwargs: Any) -> Path:
    """Write a valid scene ``directory/name.yaml`` (+ image); return the YAML path."""
    scene = make_scene(**kwargs) if scene is None else scene
    yaml_path = Path(directory) / f"{name}.yaml"
    write_scene(yaml_path, scene, random_image(scene.shape, seed))
    return yaml_path


def edit_yaml(yaml_path: Path, mutate: Callable[[dict], None]) -> Path:
    """Load the YAML as plain data, apply ``mutate`` in place, write it back."""
    doc = yaml.safe_load(Path(yaml_path).read_text())
    mutate(doc)
    Path(yaml_path).write_text(yaml.safe_dump(doc, sort_keys=False))
    return Path(yaml_path)


def scene_pair(lines: int, samples: int, *, along: float = 130.0, up: float = 150.0):
    """Master and slave scenes; the slave orbit displaced by a fixed ECEF baseline."""
    master = make_scene(lines=lines, samples=samples)
    p, v = master.positions_m, master.velocities_mps
    radial = p[4] / np.linalg.norm(p[4])
    cross = np.cross(v[4], radial)
    cross /= np.linalg.norm(cross)
    slave = make_scene(lines=lines, samples=samples, positions_m=p + up * radial + along * cross,
                       velocities_mps=v)
    return master, slave
