"""Stream 1 end to end on simulated scenes, against the simulator's truth (issue 9).

Two pairs from ``pep simulate`` go through ``pep init`` and ``pep run make
filtered_interferogram coherence`` (the real rules of ``rules/insar.yaml``;
the intermediates the checks need are asked for by name, so the stream
writes them too):

* ``relief``: 1000 x 600, bperp 150 m, the default fractal relief (reduced to
  avoid layover), background coherence 0.8 with patches at 0.5, SNR 40 dB
  (thermal coherence 0.9999, so the true coherence is the chosen one);
* ``fringe``: 1000 x 600, bperp 1650 m (flat-earth fringe ~0.25 cycles per
  range pixel, spectral shift 0.25 of the 0.85 band), 10 m of relief,
  background 0.9 with patches at 0.3.

Counting independent samples. The SLCs are band-limited (85 % of the
sampling rate per axis, Kaiser-weighted; the range common-band filter
narrows the range band further by the fringe frequency), so neighbouring
pixels are correlated. The equivalent number of independent samples of an
``a x b`` window is ``N_eff = (a b)^2 / sum_{p,q in window} |rho(p - q)|^2``
(the equivalent number of looks of correlated speckle), with ``rho`` the
normalised autocorrelation measured on the chain's own ``master_filtered``
and ``slave_resampled``. It is used for Touzi's ``E|gamma_hat|`` (5 x 5
coherence window) and for the Cramer-Rao bound of the multilooked phase
(``L = N_eff`` of the 5 x 5 look block).

The chip-offset bound is Bamler & Eineder's for ``N`` pixels at Nyquist,
scaled for band-limited data: a chip holds ``N B_a B_c`` independent samples
and only the common band carries the shift (``B_a`` = 0.85 in azimuth,
``B_c`` = 0.85 - |f| in range for the range fringe ``f`` of the unfiltered
pair), so ``sigma_az = sigma_BE / (B_a^1.5 B_c^0.5)`` and ``sigma_rg =
sigma_BE / (B_a^0.5 B_c^1.5)`` (Carter's time-delay bound integrated over the
common band; ``1 / 0.85^2 = 1.38`` without spectral shift).

The simulator's ``truth/coherence`` is the chosen coherence times the thermal
term: what an ideal common-band filter would leave if the impulse response's
spectrum were flat. Its band edges are soft (Kaiser-windowed sinc), so the two
spectra still differ in weight inside the common band, and an ideal filter
leaves ``c(f) = int_C H(k) H(k - f) / sqrt(int_C H^2(k) int_C H^2(k - f))``
of it (:func:`common_band_factor`: 0.9989 at f = 0.02, 0.989 at f = 0.25 cycles
per pixel). The true coherence of the filtered pair is ``truth * c(f)`` with
``f`` the range fringe of the unflattened truth phase.

Pixels whose slave position falls outside the slave image (the strips that
the slave does not see: range offset ~ -26 px, azimuth offset ~ -4 px) carry
no interferometric signal and are left out of the coherence and phase checks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from peppers.hkv import RunDatabase
from peppers.operators.coherence import expected_sample_coherence, phase_crb
from peppers.operators.coregister import bamler_eineder_sigma
from peppers.operators.resample import polynomial_powers
from peppers.operators.simulate.truth import read_truth_raster
from scipy import ndimage

from peppers.io.raw import RawImage
from peppers.ppe.region import Region
from support.drs import pep

BANDWIDTH = 0.85
#: scene -> (background coherence, patch coherence, other ``pep simulate`` options)
SCENES = {
    "relief": (0.8, 0.5, ["--seed", "3"]),
    "fringe": (0.9, 0.3, ["--seed", "5", "--bperp", "1650", "--relief", "10"]),
}
TARGETS = ("filtered_interferogram", "coherence", "interferogram_multilooked",
           "coherence_single_look", "master_filtered", "slave_resampled", "fringe_range",
           "interferogram")


def make_run(folder: Path, name: str, tile: str | None = None, threads: int = 2) -> Path:
    """``pep init NAME`` on ``folder/sim`` and make the stream-1 targets."""
    pep("init", name, "--master", "sim/master.yaml", "--slave", "sim/slave.yaml", cwd=folder)
    if tile:
        pep("--run", name, "set", "ppe.tile_shape", tile, cwd=folder)
    pep("--run", name, "run", "make", *TARGETS, "-j", str(threads), cwd=folder)
    return folder / name


def image(run: Path, name: str) -> np.ndarray:
    """A whole image of the run."""
    with RawImage.open(run / "images" / f"{name}.raw.vrt") as img:
        return img.read(Region.full(img.spec.shape))


def simulate_and_make(tmp_path_factory, name: str) -> tuple[str, Path, Path]:
    """(name, simulation folder, run folder) of one simulated scene, stream 1 made."""
    folder = tmp_path_factory.mktemp(f"stream1-{name}")
    background, patches, options = SCENES[name]
    pep("simulate", "sim", "--lines", "1000", "--samples", "600", "--snr", "40",
        "--coherence", str(background), "--low-coherence", str(patches), *options, cwd=folder)
    return name, folder / "sim", make_run(folder, "run")


@pytest.fixture(scope="module")
def relief(tmp_path_factory):
    """The ``relief`` scene (gamma 0.8 / 0.5, bperp 150 m), stream 1 made."""
    return simulate_and_make(tmp_path_factory, "relief")


@pytest.fixture(scope="module")
def fringe(tmp_path_factory):
    """The ``fringe`` scene (gamma 0.9 / 0.3, bperp 1650 m), stream 1 made."""
    return simulate_and_make(tmp_path_factory, "fringe")


@pytest.fixture(params=sorted(SCENES))
def scene(request):
    """Each scene in turn."""
    return request.getfixturevalue(request.param)


# -- truth and sample counting -------------------------------------------------------
def overlap(sim: Path, margin: int = 6) -> np.ndarray:
    """Master pixels whose slave position lies ``margin`` px inside the slave image."""
    az = read_truth_raster(sim, "azimuth_offset")
    rg = read_truth_raster(sim, "range_offset")
    rows, cols = np.mgrid[0:az.shape[0], 0:az.shape[1]]
    return ((rows + az >= margin) & (rows + az <= az.shape[0] - 1 - margin)
            & (cols + rg >= margin) & (cols + rg <= az.shape[1] - 1 - margin))


def autocorrelation(x: np.ndarray, lags: int = 6) -> np.ndarray:
    """Normalised complex autocorrelation ``rho[i + lags, j + lags]`` for ``|i|, |j| <= lags``."""
    power = np.mean(np.abs(x) ** 2)
    rho = np.empty((2 * lags + 1, 2 * lags + 1), complex)
    rows, cols = x.shape
    for i in range(-lags, lags + 1):
        for j in range(-lags, lags + 1):
            a = x[max(0, i):rows + min(0, i), max(0, j):cols + min(0, j)]
            b = x[max(0, -i):rows + min(0, -i), max(0, -j):cols + min(0, -j)]
            rho[i + lags, j + lags] = np.mean(a * np.conj(b)) / power
    return rho


def effective_samples(rho: np.ndarray, window: tuple[int, int]) -> float:
    """``(a b)^2 / sum over pixel pairs of |rho|^2`` for an ``a x b`` window."""
    lags = rho.shape[0] // 2
    a, b = window
    assert a <= lags + 1 and b <= lags + 1
    total = sum((a - abs(i)) * (b - abs(j)) * abs(rho[lags + i, lags + j]) ** 2
                for i in range(1 - a, a) for j in range(1 - b, b))
    return (a * b) ** 2 / total


def slc_autocorrelation(sim: Path, run: Path) -> np.ndarray:
    """Mean autocorrelation of the chain's filtered master and resampled slave."""
    inner = ndimage.binary_erosion(overlap(sim), iterations=30)
    rows, cols = np.nonzero(inner)
    box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    return 0.5 * (autocorrelation(image(run, "master_filtered")[box])
                  + autocorrelation(image(run, "slave_resampled")[box]))


def common_band_factor(fringe: float, bandwidth: float = BANDWIDTH) -> float:
    """Coherence an ideal range common-band filter leaves at ``fringe`` cycles/px.

    The simulator's impulse response (its default support and window) is
    transformed on a fine grid; the two spectra, shifted by ``fringe``, are
    correlated over their common band ``[-B/2 + f, B/2]`` (``f >= 0``).
    """
    from peppers.operators.simulate.irf import ImpulseResponse

    n, step = 1 << 14, 1.0 / 32
    x = (np.arange(n) - n // 2) * step
    spectrum = np.abs(np.fft.fftshift(np.fft.fft(np.fft.ifftshift(
        ImpulseResponse(bandwidth=bandwidth)(x)))))
    k = np.fft.fftshift(np.fft.fftfreq(n, step))
    f = abs(fringe)
    shifted = np.interp(k - f, k, spectrum)
    band = (k >= -bandwidth / 2 + f) & (k <= bandwidth / 2)
    a, b = spectrum[band], shifted[band]
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


def range_fringe(sim: Path) -> np.ndarray:
    """Range fringe of the unflattened truth phase, cycles per pixel."""
    return np.gradient(read_truth_raster(sim, "phase_unflattened"), axis=1) / (2 * np.pi)


def homogeneous(truth: np.ndarray, value: float, ok: np.ndarray, size: int) -> np.ndarray:
    """Pixels whose ``size x size`` neighbourhood has true coherence ``value`` (+-0.002)."""
    near = np.abs(truth - value) < 0.002
    return ndimage.minimum_filter(near & ok, size).astype(bool)


def blocks(a: np.ndarray, looks: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Sums of ``looks`` blocks anchored at (0, 0), ``shape`` of them."""
    (la, lr), (h, w) = looks, shape
    return a[:h * la, :w * lr].reshape(h, la, w, lr).sum(axis=(1, 3))


# -- coregistration -------------------------------------------------------------------
def offset_model(offsets: dict, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The fitted offset polynomials (azimuth, range) evaluated on every pixel."""
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    u = (rows - offsets["center"][0]) / offsets["scale"][0]
    v = (cols - offsets["center"][1]) / offsets["scale"][1]
    out = []
    for coeffs in (offsets["row_coeffs"], offsets["col_coeffs"]):
        pu, pv = polynomial_powers(len(coeffs))
        out.append(sum(c * u ** p * v ** q for c, p, q in zip(coeffs, pu, pv)))
    return out[0], out[1]


def test_offset_polynomials_match_truth(scene):
    """Fitted offsets within 0.05 px RMS of the truth over the whole image."""
    name, sim, run = scene
    offsets = RunDatabase.open(run).get("insar.coregistration.offsets")
    az, rg = read_truth_raster(sim, "azimuth_offset"), read_truth_raster(sim, "range_offset")
    model_az, model_rg = offset_model(offsets, az.shape)
    rms = (np.sqrt(np.mean((model_az - az) ** 2)), np.sqrt(np.mean((model_rg - rg) ** 2)))
    print(f"\n{name}: offset RMS vs truth {rms[0]:.4f} px (azimuth), {rms[1]:.4f} px (range); "
          f"{offsets['n_accepted']} of {offsets['n_chips']} chips")
    assert max(rms) < 0.05
    assert abs(np.mean(az)) > 1 and abs(np.mean(rg)) > 10    # real offsets were found


def chip_errors(sim: Path, run: Path) -> dict[str, np.ndarray]:
    """Chips on gamma = 0.8 ground the slave sees: offset minus the truth mean under the chip."""
    db = RunDatabase.open(run)
    chips = db.get("insar.coregistration.offsets")["chips"]
    size = db.get("insar.coregistration.chip_size")
    truth = {k: read_truth_raster(sim, k) for k in
             ("azimuth_offset", "range_offset", "coherence")}
    fringe = range_fringe(sim)
    ok = overlap(sim)
    out: dict[str, list] = {"az": [], "rg": [], "gamma": [], "fringe": []}
    for k, status in enumerate(chips["status"]):
        # accepted or culled: every chip that passed the SNR/correlation tests, so the
        # w-test (which culls by residual) does not select the small errors
        if status not in ("accepted", "culled"):
            continue
        r0 = round(chips["row"][k] - (size[0] - 1) / 2)
        c0 = round(chips["col"][k] - (size[1] - 1) / 2)
        box = (slice(r0, r0 + size[0]), slice(c0, c0 + size[1]))
        gamma = truth["coherence"][box]
        if np.abs(gamma - 0.8).max() > 0.002 or not ok[box].all():
            continue
        out["az"].append(chips["row_offset"][k] - truth["azimuth_offset"][box].mean())
        out["rg"].append(chips["col_offset"][k] - truth["range_offset"][box].mean())
        out["gamma"].append(gamma.mean())
        out["fringe"].append(abs(fringe[box].mean()))
    return {k: np.asarray(v) for k, v in out.items()} | {"n_pixels": size[0] * size[1]}


def test_chip_scatter_near_bamler_eineder_bound(relief):
    """Per-chip offsets at gamma = 0.8 scatter at most 1.5x the band-limited bound."""
    _, sim, run = relief
    e = chip_errors(sim, run)
    assert len(e["az"]) > 200
    sigma = bamler_eineder_sigma(e["gamma"], e["n_pixels"])
    common = BANDWIDTH - e["fringe"]
    bound = {"az": sigma / (BANDWIDTH ** 1.5 * common ** 0.5),
             "rg": sigma / (BANDWIDTH ** 0.5 * common ** 1.5)}
    for axis in ("az", "rg"):
        ratio = np.sqrt(np.mean((e[axis] / bound[axis]) ** 2))
        raw = np.sqrt(np.mean((e[axis] / sigma) ** 2))
        print(f"\n{axis}: {len(e[axis])} chips, RMS error {np.sqrt(np.mean(e[axis] ** 2)):.5f} px, "
              f"bias {np.mean(e[axis]):+.5f}; {ratio:.2f} x the band-limited bound "
              f"{np.mean(bound[axis]):.5f}, {raw:.2f} x the Nyquist formula {np.mean(sigma):.5f}")
        assert ratio <= 1.5
        assert abs(np.mean(e[axis])) < 0.25 * np.mean(bound[axis])


# -- coherence ------------------------------------------------------------------------
def test_coherence_matches_touzi_expectation(scene):
    """5 x 5 slope-compensated coherence on homogeneous patches: E|gamma_hat| +- 0.02."""
    name, sim, run = scene
    truth = read_truth_raster(sim, "coherence")
    ok = ndimage.binary_erosion(overlap(sim), iterations=4)
    window = tuple(RunDatabase.open(run).get("insar.coherence.window"))
    n_eff = effective_samples(slc_autocorrelation(sim, run), window)
    estimate = image(run, "coherence_single_look")
    fringe = range_fringe(sim)
    assert window == (5, 5) and 12 < n_eff < 25
    for chosen in SCENES[name][:2]:
        where = homogeneous(truth, chosen, ok, 7)
        assert where.sum() > 5000
        f = float(np.median(fringe[where]))
        gamma = chosen * common_band_factor(f)
        mean = float(estimate[where].mean())
        expected = expected_sample_coherence(gamma, n_eff)
        print(f"\n{name}: gamma {chosen} x {gamma / chosen:.4f} (f {f:+.3f}): mean estimate "
              f"{mean:.4f} over {where.sum()} px; E|g| {expected:.4f} (N_eff {n_eff:.1f}), "
              f"{expected_sample_coherence(chosen, 25):.4f} (chosen gamma, N = 25)")
        assert abs(mean - expected) <= 0.02


def test_slope_compensation_keeps_coherence_with_quarter_cycle_fringe(fringe):
    """Flat earth left in (0.25 cycles/px in range): coherence within 0.03 of flattened."""
    _, sim, run = fringe
    truth = read_truth_raster(sim, "coherence")
    ok = ndimage.binary_erosion(overlap(sim), iterations=4)
    flat = image(run, "coherence_single_look")
    assert np.median(np.abs(image(run, "fringe_range")[ok])) < 0.02
    db = RunDatabase.open(run)
    try:
        pep("--run", "run", "set", "insar.interferogram.flat_earth", "false", cwd=run.parent)
        pep("--run", "run", "run", "make", "coherence_single_look", "fringe_range", cwd=run.parent)
        sloped, measured = image(run, "coherence_single_look"), image(run, "fringe_range")
        pep("--run", "run", "set", "insar.coherence.slope_compensation", "false", cwd=run.parent)
        pep("--run", "run", "run", "make", "coherence_single_look", cwd=run.parent)
        plain = image(run, "coherence_single_look")
    finally:
        pep("--run", "run", "set", "insar.interferogram.flat_earth", "true", cwd=run.parent)
        pep("--run", "run", "set", "insar.coherence.slope_compensation", "true", cwd=run.parent)
        pep("--run", "run", "run", "make", *TARGETS, cwd=run.parent)
    assert db.get("insar.interferogram.flat_earth") is True
    fringe_cycles = float(np.median(np.abs(measured[ok])))
    assert 0.23 < fringe_cycles < 0.27
    for gamma in (0.9, 0.3):
        where = homogeneous(truth, gamma, ok, 7)
        means = [float(c[where].mean()) for c in (flat, sloped, plain)]
        print(f"\ngamma {gamma}: fringe {fringe_cycles:.3f} cycles/px; coherence flattened "
              f"{means[0]:.4f}, with the fringe {means[1]:.4f} (compensated), "
              f"{means[2]:.4f} (not compensated)")
        assert abs(means[1] - means[0]) <= 0.03
        if gamma == 0.9:                  # uncompensated, the fringe does matter
            assert means[2] < means[0] - 0.3


# -- phase noise ----------------------------------------------------------------------
def test_multilooked_phase_error_near_cramer_rao(scene):
    """Multilooked flattened phase vs truth: RMS within 20 % of the CRB (L = N_eff)."""
    name, sim, run = scene
    truth = read_truth_raster(sim, "coherence")
    phase = read_truth_raster(sim, "phase_flattened")
    intensity = read_truth_raster(sim, "intensity")
    multilooked = image(run, "interferogram_multilooked")
    looks = (truth.shape[0] // multilooked.shape[0], truth.shape[1] // multilooked.shape[1])
    n_eff = effective_samples(slc_autocorrelation(sim, run), looks)
    # truth of a block: the intensity-weighted mean phasor of the flattened phase
    reference = np.angle(blocks(intensity * np.exp(1j * phase), looks, multilooked.shape))
    error = np.angle(multilooked * np.exp(-1j * reference))
    inside = blocks(overlap(sim).astype(float), looks, multilooked.shape) == looks[0] * looks[1]
    chosen = SCENES[name][0]
    block_gamma = blocks(truth, looks, multilooked.shape) / (looks[0] * looks[1])
    where = inside & ndimage.binary_erosion(np.abs(block_gamma - chosen) < 0.003)
    f = float(np.median(blocks(range_fringe(sim), looks, multilooked.shape)[where]
                        / (looks[0] * looks[1])))
    gamma = chosen * common_band_factor(f)
    assert where.sum() > 10000 and gamma >= 0.79
    rms = float(np.sqrt(np.mean(error[where] ** 2)))
    bound = phase_crb(gamma, n_eff)
    print(f"\n{name}: gamma {chosen} x {gamma / chosen:.4f}, looks {looks[0]}x{looks[1]} "
          f"(L {looks[0] * looks[1]}, N_eff {n_eff:.1f}): phase RMS {rms:.4f} rad over "
          f"{where.sum()} px, CRB {bound:.4f} ({rms / bound:.3f} x; "
          f"{rms / phase_crb(chosen, looks[0] * looks[1]):.3f} x the CRB of the chosen gamma "
          f"with L), mean {np.mean(error[where]):+.4f}")
    assert 0.8 * bound <= rms <= 1.2 * bound
    assert abs(np.mean(error[where])) < 0.1 * bound


# -- tiles and threads ----------------------------------------------------------------
def test_same_results_for_other_tiles_and_one_thread(relief):
    """A second run, tiles 200 x 136 and 1 thread, gives bit-identical images and offsets."""
    run = relief[2]
    other = make_run(run.parent, "run_tiles", tile="[200, 136]", threads=1)
    first, second = RunDatabase.open(run), RunDatabase.open(other)
    assert first.get("ppe.tile_shape") != second.get("ppe.tile_shape")
    assert (first.get("insar.coregistration.offsets")
            == second.get("insar.coregistration.offsets"))
    for name in TARGETS:
        np.testing.assert_array_equal(image(other, name), image(run, name), err_msg=name)


# -- adaptive filter and slope-aware multilook (issue 15) -------------------------------
def test_filter_never_worse_than_the_multilook_on_coherent_ground(scene):
    """Coherent ground: the default Goldstein filter lowers the phase error of its input.

    The error of the filtered (``filtered_interferogram``) and unfiltered
    (``interferogram_multilooked``) multilooked phase against the block truth,
    over blocks of true coherence >= 0.6; at the patch coherence the filter
    must help too (it is there for the unwrapping).
    """
    name, sim, run = scene
    truth = read_truth_raster(sim, "coherence")
    phase = read_truth_raster(sim, "phase_flattened")
    intensity = read_truth_raster(sim, "intensity")
    multilooked = image(run, "interferogram_multilooked")
    filtered = image(run, "filtered_interferogram")
    looks = (truth.shape[0] // multilooked.shape[0], truth.shape[1] // multilooked.shape[1])
    reference = np.angle(blocks(intensity * np.exp(1j * phase), looks, multilooked.shape))
    inside = blocks(overlap(sim).astype(float), looks, multilooked.shape) == looks[0] * looks[1]
    inside = ndimage.binary_erosion(inside, iterations=3)
    gamma = blocks(truth, looks, multilooked.shape) / (looks[0] * looks[1])
    rms = {}
    for label, where in (("coherent", inside & (gamma >= 0.6)), ("patch", inside & (gamma < 0.55))):
        assert where.sum() > 300
        rms[label] = [float(np.sqrt(np.mean(np.angle(z * np.exp(-1j * reference))[where] ** 2)))
                      for z in (multilooked, filtered)]
    print(f"\n{name}: phase RMS multilooked / filtered: coherent {rms['coherent'][0]:.4f} / "
          f"{rms['coherent'][1]:.4f} rad, patches {rms['patch'][0]:.4f} / {rms['patch'][1]:.4f}")
    assert rms["coherent"][1] < rms["coherent"][0]
    assert rms["patch"][1] < 0.8 * rms["patch"][0]


def test_filter_and_slope_multilook_hold_on_a_differential_interferogram(scene):
    """Topographic phase of a coarser DEM removed (truth low-passed, sigma 6 px).

    The residual fringe is slow: slope-aware multilooking must not lose to the
    box average, and the default filter must still beat the multilook on
    coherent ground (the chain of the DEM-assisted issue filters such
    interferograms).
    """
    from peppers.operators.adaptive import AdaptiveFilter
    from peppers.operators.multilook import FringeMultilook, Multilook
    from peppers.operators.slope import FringeSlope
    from peppers.ppe import apply

    name, sim, run = scene
    phase = read_truth_raster(sim, "phase_flattened")
    topo = ndimage.gaussian_filter(phase, 6)
    ifg = (image(run, "interferogram") * np.exp(-1j * topo)).astype(np.complex64)
    multilooked = image(run, "interferogram_multilooked")
    looks = (phase.shape[0] // multilooked.shape[0], phase.shape[1] // multilooked.shape[1])
    rows, cols = apply(FringeSlope(), ifg, threads=2)
    box = apply(Multilook(looks=looks), ifg, threads=2)
    aware = apply(FringeMultilook(looks=looks), ifg, slope_rows=rows, slope_cols=cols, threads=2)
    coh = image(run, "coherence")
    filtered = apply(AdaptiveFilter(), interferogram=aware, coherence=coh, threads=2)
    intensity = read_truth_raster(sim, "intensity")
    reference = np.angle(blocks(intensity * np.exp(1j * (phase - topo)), looks, box.shape))
    inside = blocks(overlap(sim).astype(float), looks, box.shape) == looks[0] * looks[1]
    gamma = blocks(read_truth_raster(sim, "coherence"), looks, box.shape) / (looks[0] * looks[1])
    where = ndimage.binary_erosion(inside, iterations=3) & (gamma >= 0.6)
    rms = [float(np.sqrt(np.mean(np.angle(z * np.exp(-1j * reference))[where] ** 2)))
           for z in (box, aware, filtered)]
    print(f"\n{name} differential: box {rms[0]:.4f}, slope-aware {rms[1]:.4f}, "
          f"filtered {rms[2]:.4f} rad")
    assert rms[1] <= 1.01 * rms[0]
    assert rms[2] < rms[1]
