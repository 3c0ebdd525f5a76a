"""Geometry: the WGS84 ellipsoid, orbits and zero-Doppler radar mapping.

- :mod:`~peppers.geometry.ellipsoid`: geodetic <-> ECEF, local ENU frames;
- :mod:`~peppers.geometry.orbit`: :class:`Orbit`, Hermite-interpolated state vectors;
- :mod:`~peppers.geometry.kepler`: analytic Keplerian orbits (simulator, tests);
- :mod:`~peppers.geometry.zero_doppler`: ``geo2rdr``, ``rdr2geo``, pixel <-> ground;
- :mod:`~peppers.geometry.surface` and :mod:`~peppers.geometry.dem`: intersecting
  lines of sight with a DEM.

Import the modules themselves (this package imports nothing, so that light
callers such as command modules stay light). See ``docs/geometry.md``.
"""
