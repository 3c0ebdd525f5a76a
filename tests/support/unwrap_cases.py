"""Synthetic interferograms with known truth for the unwrapping tests and benchmark.

A case is made from (all seeded):

- a true phase: a fractal (power-law spectrum) relief scaled to a given
  largest gradient, plus a fringe ramp;
- a coherence map: a smooth random field mapped into ``[low, high]`` with
  low-coherence patches (coherence ``patch_coherence``);
- speckle with the exact multilook statistics: for each of ``L`` looks a
  pair of circular-Gaussian samples with correlation ``g`` is drawn and the
  products averaged (``z = exp(i phi) mean(s1 conj(s2))``);
- a no-data edge (zeros, as a resampled slave leaves), slanted like one.

:func:`simulated_case` instead takes a pair from the simulator (``pep
simulate``) through stream 1 (``pep init`` + ``pep run make
filtered_interferogram coherence``) and compares with the simulator's
unwrapped flattened phase, averaged over the same multilook blocks.

:func:`score` counts pixels unwrapped exactly right after one integer cycle
offset per component (the most common offset in that component).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TWO_PI = 2 * np.pi


@dataclass
class Case:
    """One synthetic interferogram: ``ifg`` complex64, ``coherence`` float32, ``truth`` float64."""

    name: str
    ifg: np.ndarray
    coherence: np.ndarray
    truth: np.ndarray
    data: np.ndarray   # bool: pixels with data (not the no-data edge)
    looks: float
    #: coherence the score's "coherent" mask uses (default: ``coherence``)
    true_coherence: np.ndarray | None = None


def _smooth_field(shape, rng, beta):
    """Zero-mean field with a power-law spectrum ``|f|^-beta``, unit std."""
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    f = np.hypot(fy, fx)
    f[0, 0] = 1.0
    amp = f ** (-beta)
    amp[0, 0] = 0.0
    spec = amp * (rng.standard_normal(amp.shape) + 1j * rng.standard_normal(amp.shape))
    field = np.fft.irfft2(spec, s=shape)
    return (field - field.mean()) / field.std()


def true_phase(shape, rng, max_slope=1.0, ramp=(0.0, 0.0), beta=1.8):
    """Fractal relief with largest gradient ``max_slope`` rad/px, plus a ramp."""
    relief = _smooth_field(shape, rng, beta)
    g = max(np.abs(np.diff(relief, axis=0)).max(), np.abs(np.diff(relief, axis=1)).max())
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    return relief * (max_slope / g) + ramp[0] * y + ramp[1] * x


def coherence_map(shape, rng, low=0.3, high=0.95, patches=3, patch_coherence=0.1):
    """Smooth coherence in ``[low, high]`` with elliptical low-coherence patches."""
    field = _smooth_field(shape, rng, 3.0)
    field = (field - field.min()) / (field.max() - field.min())
    coh = low + (high - low) * field
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    for _ in range(patches):
        cy, cx = rng.uniform(0.15, 0.85, 2) * shape
        ry, rx = rng.uniform(0.02, 0.06, 2) * min(shape)
        coh[((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 < 1] = patch_coherence
    return coh


def speckle(truth, coh, looks, rng):
    """Multilooked interferogram with exact phase statistics (``looks`` pairs averaged)."""
    acc = np.zeros(truth.shape, np.complex128)
    c = np.sqrt(np.clip(1 - coh ** 2, 0, 1))
    for _ in range(looks):
        s1 = rng.standard_normal(truth.shape) + 1j * rng.standard_normal(truth.shape)
        n = rng.standard_normal(truth.shape) + 1j * rng.standard_normal(truth.shape)
        s2 = coh * s1 + c * n
        acc += s1 * np.conj(s2)
    return np.exp(1j * truth) * acc / (2 * looks)


def make_case(shape=(256, 256), seed=0, *, looks=14, max_slope=1.0, ramp=(0.05, 0.1),
              low=0.3, high=0.95, patches=3, edge=0.04, name=None) -> Case:
    """A complete case; ``edge`` is the no-data fraction of columns on the right."""
    rng = np.random.default_rng(seed)
    truth = true_phase(shape, rng, max_slope, ramp)
    coh = coherence_map(shape, rng, low, high, patches)
    ifg = speckle(truth, coh, looks, rng)
    data = np.ones(shape, bool)
    if edge > 0:
        y = np.arange(shape[0])[:, None]
        start = shape[1] * (1 - edge) - edge * shape[1] * y / shape[0]
        data = np.arange(shape[1])[None, :] < start
    ifg[~data] = 0
    coh = np.where(data, coh, 0.0)
    return Case(name or f"{shape[0]}x{shape[1]}-s{seed}-L{looks}", ifg.astype(np.complex64),
                coh.astype(np.float32), truth, data, looks)


def score(unw, comps, case: Case, coherent=0.3) -> dict:
    """Fractions of pixels unwrapped exactly right (one cycle offset per component).

    Returns ``all`` (over pixels with data) and ``coherent`` (data and
    coherence above ``coherent``); pixels not unwrapped count as wrong.
    """
    n = np.zeros(unw.shape, np.int64)
    ok = comps > 0
    n[ok] = np.rint((unw[ok] - case.truth[ok]) / TWO_PI).astype(np.int64)
    right = np.zeros(unw.shape, bool)
    for lab in np.unique(comps[ok]):
        sel = comps == lab
        vals, counts = np.unique(n[sel], return_counts=True)
        right[sel] = n[sel] == vals[np.argmax(counts)]
    gamma = case.coherence if case.true_coherence is None else case.true_coherence
    coh_mask = case.data & (gamma > coherent)
    return {"all": float(right[case.data].mean()), "coherent": float(right[coh_mask].mean())}


def _blocks(a: np.ndarray, looks: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Means of ``looks`` blocks anchored at (0, 0), ``shape`` of them (the multilook grid)."""
    (la, lr), (h, w) = looks, shape
    return a[:h * la, :w * lr].reshape(h, la, w, lr).mean(axis=(1, 3))


def simulated_case(folder, *, seed: int, looks: int = 4, filtered: bool = True,
                   margin: int = 6, name: str | None = None, **config) -> Case:
    """A simulated pair run through stream 1, with the truth on the multilooked grid.

    Parameters
    ----------
    folder : path
        Empty working folder (``sim/`` and ``run/`` are made in it).
    seed : int
        Simulator seed.
    looks : int
        ``insar.multilook.looks`` range looks (azimuth looks make square pixels).
    filtered : bool
        Unwrap the Goldstein-filtered interferogram (the ``unwrap`` rule's
        input) rather than the plain multilooked one.
    margin : int
        Pixels the slave position must lie inside the slave image; blocks
        with any master pixel outside are the masked no-data edge.
    **config
        :class:`peppers.operators.simulate.SimulationConfig` fields.

    Returns
    -------
    Case
        ``ifg`` and ``coherence`` from the run (zero on the no-data edge),
        ``truth`` the block mean of ``truth/phase_flattened``,
        ``true_coherence`` the block mean of ``truth/coherence``, ``looks``
        the equivalent looks the ``unwrap`` rule derives.
    """
    from pathlib import Path

    from peppers.cli.main import main
    from peppers.hkv import RunDatabase
    from peppers.io.raw import RawImage
    from peppers.operators.simulate import SimulationConfig, simulate
    from peppers.operators.simulate.truth import read_truth_raster
    from peppers.operators.unwrap.unwrappers import equivalent_looks
    from peppers.ppe.region import Region

    folder = Path(folder)
    sim = simulate(folder / "sim", SimulationConfig(seed=seed, threads=2, **config)).folder
    run = folder / "run"
    target = "filtered_interferogram" if filtered else "interferogram_multilooked"
    for argv in (["init", str(run), "--master", str(sim / "master.yaml"),
                  "--slave", str(sim / "slave.yaml")],
                 ["--run", str(run), "set", "insar.multilook.looks", f"[{looks}, {looks}]"],
                 ["--run", str(run), "run", "make", target, "coherence", "-j", "2"]):
        if main(argv) != 0:
            raise RuntimeError(f"pep {' '.join(argv)} failed")
    arrays = {}
    for image in (target, "coherence"):
        with RawImage.open(run / "images" / f"{image}.raw.vrt") as img:
            arrays[image] = img.read(Region.full(img.spec.shape))
    shape = arrays["coherence"].shape
    az = read_truth_raster(sim, "azimuth_offset")
    rg = read_truth_raster(sim, "range_offset")
    block = (az.shape[0] // shape[0], az.shape[1] // shape[1])
    rows, cols = np.mgrid[0:az.shape[0], 0:az.shape[1]]
    seen = ((rows + az >= margin) & (rows + az <= az.shape[0] - 1 - margin)
            & (cols + rg >= margin) & (cols + rg <= az.shape[1] - 1 - margin))
    data = _blocks(seen.astype(float), block, shape) == 1.0
    truth = _blocks(read_truth_raster(sim, "phase_flattened").astype(np.float64), block, shape)
    gamma = _blocks(read_truth_raster(sim, "coherence").astype(np.float64), block, shape)
    ifg = np.where(data, arrays[target], 0).astype(np.complex64)
    coh = np.where(data, np.nan_to_num(arrays["coherence"]), 0).astype(np.float32)
    db = RunDatabase.open(run)
    nlooks = equivalent_looks(db.get("inputs.master"), db.get("insar.multilook.looks"))
    return Case(name or f"sim-s{seed}-{block[0]}x{block[1]}", ifg, coh, truth, data, nlooks,
                gamma.astype(np.float32))
