"""SBAS network inversion (operators/timeseries.py) against synthetic truth."""

import numpy as np
import pytest

from peppers.operators.timeseries import (design_matrix, invert_network, phase_crb,
                                          rereference, sequential_network)

WAVELENGTH = 0.05546576
DAYS = np.array([0.0, 12.0, 24.0, 48.0, 60.0, 84.0, 96.0, 120.0])


def _truth(pixels, rng):
    """Displacement per date (N, P): a linear rate + seasonal term + per-pixel jitter."""
    rate = rng.uniform(-0.03, 0.03, pixels)              # m/yr
    season = rng.uniform(0, 0.01, pixels)
    years = DAYS / 365.25
    disp = rate[None] * years[:, None] + season[None] * np.sin(2 * np.pi * years)[:, None]
    return disp - disp[0]


def _phases(disp, pairs):
    scale = -4 * np.pi / WAVELENGTH
    return np.stack([scale * (disp[j] - disp[i]) for i, j in pairs])


def _fit_velocity(disp):
    years = (DAYS - DAYS.mean()) / 365.25
    return (years @ disp) / np.sum(years ** 2)


def test_exact_network_recovers_truth():
    rng = np.random.default_rng(1)
    pairs = sequential_network(len(DAYS), 3)
    disp = _truth(500, rng)
    out = invert_network(_phases(disp, pairs), DAYS, pairs, WAVELENGTH)
    np.testing.assert_allclose(out.displacement, disp, atol=1e-12)
    np.testing.assert_allclose(out.velocity, _fit_velocity(disp), atol=1e-12)
    np.testing.assert_allclose(out.temporal_coherence, 1.0, atol=1e-12)
    assert (out.rank == len(DAYS) - 1).all() and (out.used == len(pairs)).all()


def test_sign_positive_towards_satellite():
    # phi = arg(z_i conj z_j) falls by 4 pi / lambda per metre of uplift of date j
    pairs = [(0, 1)]
    out = invert_network(np.array([[-4 * np.pi / WAVELENGTH * 0.01]]), [0, 12], pairs,
                         WAVELENGTH)
    assert out.displacement[1, 0] == pytest.approx(0.01)
    assert out.velocity[0] > 0


@pytest.mark.parametrize("weighted", [False, True])
def test_noise_statistics_match_propagated_sigma(weighted):
    rng = np.random.default_rng(2)
    pairs = sequential_network(len(DAYS), 3)
    pixels = 20000
    disp = _truth(pixels, rng)
    coh = rng.uniform(0.3, 0.9, (len(pairs), pixels))
    sigma = phase_crb(coh, 25)
    noisy = _phases(disp, pairs) + rng.standard_normal(sigma.shape) * sigma
    out = invert_network(noisy, DAYS, pairs, WAVELENGTH, sigma, weighted=weighted)
    z_vel = (out.velocity - _fit_velocity(disp)) / out.velocity_std
    assert abs(np.mean(z_vel)) < 0.05
    assert np.std(z_vel) == pytest.approx(1.0, abs=0.03)
    z_disp = (out.displacement[1:] - disp[1:]) / out.displacement_std[1:]
    assert np.std(z_disp, axis=1) == pytest.approx(np.ones(len(DAYS) - 1), abs=0.04)
    assert np.all(out.displacement_std[0] == 0)


def test_weighting_lowers_the_propagated_sigma():
    rng = np.random.default_rng(3)
    pairs = sequential_network(len(DAYS), 3)
    coh = rng.uniform(0.2, 0.95, (len(pairs), 2000))
    sigma = phase_crb(coh, 16)
    phase = np.zeros_like(sigma)
    plain = invert_network(phase, DAYS, pairs, WAVELENGTH, sigma)
    best = invert_network(phase, DAYS, pairs, WAVELENGTH, sigma, weighted=True)
    assert np.all(best.velocity_std <= plain.velocity_std * (1 + 1e-9))
    assert np.median(best.velocity_std / plain.velocity_std) < 0.95


def test_nan_drops_the_interferogram_for_that_pixel_only():
    rng = np.random.default_rng(4)
    pairs = sequential_network(len(DAYS), 3)
    disp = _truth(3, rng)
    phase = _phases(disp, pairs)
    phase[2, 1] = np.nan
    phase[5, 1] = 1e3          # would be a blunder; it is masked out below
    phase[5, 1] = np.nan
    out = invert_network(phase, DAYS, pairs, WAVELENGTH)
    np.testing.assert_allclose(out.displacement, disp, atol=1e-12)
    assert out.used.tolist() == [len(pairs), len(pairs) - 2, len(pairs)]


def test_disconnected_subsets_take_the_minimum_norm_solution():
    days = [0.0, 10.0, 20.0, 30.0]
    pairs = [(0, 1), (2, 3)]                      # interval 1-2 has no interferogram
    phase = np.array([[1.0], [3.0]])
    out = invert_network(phase, days, pairs, WAVELENGTH)
    b = design_matrix(days, pairs)
    v = np.linalg.lstsq(b, phase[:, 0], rcond=None)[0]       # minimum-norm LS
    cum = np.concatenate([[0.0], np.cumsum(v * np.diff(days))])
    np.testing.assert_allclose(out.displacement[:, 0], -WAVELENGTH / (4 * np.pi) * cum,
                               atol=1e-15)
    assert out.rank[0] == 2
    assert v[1] == pytest.approx(0.0)


def test_temporal_coherence_flags_an_unwrapping_error():
    rng = np.random.default_rng(5)
    pairs = sequential_network(len(DAYS), 3)
    disp = _truth(2, rng)
    phase = _phases(disp, pairs)
    phase[4, 1] += 2 * np.pi                      # one cycle slip in one interferogram
    out = invert_network(phase, DAYS, pairs, WAVELENGTH)
    assert out.temporal_coherence[0] == pytest.approx(1.0)
    assert out.temporal_coherence[1] < 0.9


def test_rereference_removes_each_interferogram_constant():
    rng = np.random.default_rng(6)
    stack = rng.standard_normal((3, 20, 30))
    shifted = stack + np.array([5.0, -2.0, 7.0])[:, None, None]
    a, b = rereference(stack, 10, 12), rereference(shifted, 10, 12)
    np.testing.assert_allclose(a, b, atol=1e-12)
    assert np.allclose(np.mean(a[:, 8:13, 10:15], axis=(1, 2)), 0)
    stack[1, 8:13, 10:15] = np.nan
    with pytest.raises(ValueError, match=r"interferogram\(s\) \[1\]"):
        rereference(stack, 10, 12)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="increasing"):
        design_matrix([0, 0], [(0, 1)])
    with pytest.raises(ValueError, match="pair 0"):
        design_matrix([0, 1], [(1, 0)])
    with pytest.raises(ValueError, match="weighted"):
        invert_network(np.zeros((1, 2)), [0, 1], [(0, 1)], WAVELENGTH, weighted=True)


def test_local_operator_over_tiles_equals_the_kernel(tmp_path):
    """The PPE operator (tiles of 32 x 48 on 2 threads) equals invert_network on the whole image."""
    from peppers.drs.rules import parse_rule_file
    from peppers.operator import build_operator
    from peppers.ppe.pipeline import apply

    rng = np.random.default_rng(7)
    pairs = sequential_network(len(DAYS), 2)
    shape = (70, 90)
    disp = _truth(shape[0] * shape[1], rng)
    coh = rng.uniform(0.5, 0.95, (len(pairs),) + shape)
    sigma = phase_crb(coh, 9)
    offsets = rng.uniform(-3, 3, len(pairs))               # per-pair unwrapping constants
    phase = _phases(disp, pairs).reshape((len(pairs),) + shape)
    phase = phase + rng.standard_normal(phase.shape) * sigma + offsets[:, None, None]
    phase[3, 10:20, 30:40] = np.nan                       # outside a connected component
    spec = f"peppers.operators.timeseries:SbasInversion_m{len(pairs)}_n{len(DAYS)}"
    op = build_operator(spec, {"days": DAYS.tolist(), "pairs": [list(p) for p in pairs],
                               "wavelength_m": WAVELENGTH, "looks": 9.0,
                               "reference": {"phase_rad": offsets.tolist()},
                               "min_temporal_coherence": 0.0}, "test")
    ports = {f"phase_{k}": phase[k].astype(np.float32) for k in range(len(pairs))}
    ports.update({f"coherence_{k}": coh[k].astype(np.float32) for k in range(len(pairs))})
    outs = dict(zip(op.outputs, apply(op, tile_shape=(32, 48), threads=2, **ports)))
    ref = invert_network(phase.astype(np.float32) - offsets[:, None, None].astype(np.float32),
                         DAYS, pairs, WAVELENGTH,
                         phase_crb(coh.astype(np.float32), 9))
    np.testing.assert_allclose(outs["velocity"], ref.velocity, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(outs["velocity_std"], ref.velocity_std, rtol=1e-4)
    np.testing.assert_allclose(outs["displacement_5"], ref.displacement[5], rtol=1e-4, atol=1e-7)
    z = (outs["velocity"] - _fit_velocity(disp).reshape(shape)) / outs["velocity_std"]
    assert np.std(z) == pytest.approx(1.0, abs=0.05)
    # a rule file can name the class; its ports are checked like any operator's
    ins = ", ".join([f"phase_{k}: unw_{k}" for k in range(len(pairs))]
                    + [f"coherence_{k}: coh_{k}" for k in range(len(pairs))])
    rule = tmp_path / "ts.yaml"
    rule.write_text(f"rules:\n  timeseries:\n    kind: local\n    operator: {spec}\n"
                    f"    inputs: {{{ins}}}\n    outputs: {{velocity: velocity}}\n")
    (parsed,) = parse_rule_file(rule)
    assert parsed.name == "timeseries"
    with pytest.raises(Exception, match="network of"):
        build_operator(spec, {"days": [0.0, 1.0], "pairs": [[0, 1]]}, "test")


def test_network_specs():
    from peppers.operators.timeseries import network_from_spec
    assert network_from_spec("sequential:3", DAYS) == sequential_network(len(DAYS), 3)
    assert len(network_from_spec("sequential:3", DAYS)) == 18
    assert len(network_from_spec("all", DAYS)) == 28
    bperp = [0, 40, -30, 200, 180, 10, 0, 50]
    pairs = network_from_spec("sbas:50,100", DAYS, bperp)
    assert pairs and all(DAYS[j] - DAYS[i] <= 50 and abs(bperp[j] - bperp[i]) <= 100
                         for i, j in pairs)
    assert (2, 3) not in pairs and (3, 4) in pairs
    for bad in ("sequential:0", "sequential:x", "sbas:5", "ring", "all:2"):
        with pytest.raises(ValueError, match="expected sequential:N"):
            network_from_spec(bad, DAYS, bperp)
    with pytest.raises(ValueError, match="one perpendicular baseline per date"):
        network_from_spec("sbas:50,100", DAYS)


def test_network_reference_reduction():
    from peppers.errors import OperatorError
    from peppers.operator import build_operator
    from peppers.operators.timeseries import choose_reference

    class Source:
        def __init__(self, array):
            from peppers.image import ImageSpec
            self.array, self.spec = array, ImageSpec(array.shape, array.dtype)

        def read(self, region):
            return self.array[region.row:region.row + region.height,
                              region.col:region.col + region.width]

    rng = np.random.default_rng(8)
    phase = rng.standard_normal((3, 40, 50)) + np.array([1.0, 2.0, 3.0])[:, None, None]
    coh = np.full((3, 40, 50), 0.5)
    coh[:, 30, 20] = 0.99                       # best pixel, but its window is incomplete:
    phase[1, 31, 21] = np.nan
    coh[:, 10, 15] = 0.9                        # best with a whole valid window
    assert choose_reference(phase, coh) == (10, 15)
    op = build_operator("peppers.operators.timeseries:NetworkReference_m3", {}, "test")
    ports = {f"phase_{k}": Source(phase[k]) for k in range(3)}
    ports.update({f"coherence_{k}": Source(coh[k]) for k in range(3)})
    res = op.reduce(ports)["result"]
    assert (res["row"], res["col"]) == (10, 15)
    np.testing.assert_allclose(res["phase_rad"], phase[:, 8:13, 13:18].mean(axis=(1, 2)))
    phase[:, 0:5, 0:5] = np.nan
    fixed = build_operator("peppers.operators.timeseries:NetworkReference_m3",
                           {"pixel": [2, 2]}, "test")
    with pytest.raises(OperatorError, match=r"reference pixel \(2, 2\) is invalid"):
        fixed.reduce(ports)


def test_network_rules_run_in_the_scheduler(tmp_path):
    """Reference reduction + SBAS inversion as rules: `make velocity velocity_std` runs both, then nothing."""
    from support.drs import finished, read_image, rerun, write_image

    from peppers.drs import make
    from peppers.hkv import RunDatabase

    rng = np.random.default_rng(9)
    days = DAYS[:5]
    pairs = sequential_network(len(days), 2)
    shape = (48, 64)
    years = days / 365.25
    rate = np.linspace(-0.02, 0.02, shape[1])[None, :].repeat(shape[0], 0).ravel()
    disp = rate[None] * years[:, None]
    coh = np.full((len(pairs),) + shape, 0.7)
    sigma = phase_crb(coh, 16)
    phase = _phases(disp, pairs).reshape((len(pairs),) + shape)
    phase += rng.standard_normal(phase.shape) * sigma + rng.uniform(-5, 5, len(pairs))[:, None,
                                                                                     None]
    root = tmp_path / "run"
    db = RunDatabase.create(root)
    (root / "data").mkdir()
    ins = []
    for k in range(len(pairs)):
        for what, arr in (("unw", phase[k]), ("coh", coh[k])):
            write_image(root / "data" / f"{what}_{k}.vrt", arr.astype(np.float32))
            db.set(f"inputs.{what}_{k}.path", f"data/{what}_{k}.vrt")
        ins += [f"phase_{k}: unw_{k}", f"coherence_{k}: coh_{k}"]
    for key, value in {"stack.days": days.tolist(), "stack.pairs": [list(p) for p in pairs],
                       "stack.wavelength_m": WAVELENGTH, "stack.looks": 16.0,
                       "stack.min_temporal_coherence": 0.0, "drs.package_rules": False,
                       "ppe.tile_shape": [32, 32], "ppe.threads": 2}.items():
        db.set(key, value)
    m, n = len(pairs), len(days)
    (root / "rules").mkdir()
    (root / "rules" / "stack.yaml").write_text(f"""rules:
  network_reference:
    kind: reduction
    operator: peppers.operators.timeseries:NetworkReference_m{m}
    inputs: {{{", ".join(ins)}}}
    outputs: {{result: stack.reference}}
  timeseries:
    kind: local
    operator: peppers.operators.timeseries:SbasInversion_m{m}_n{n}
    inputs: {{{", ".join(ins)}}}
    outputs: {{velocity: velocity, velocity_std: velocity_std, displacement_4: displacement_4}}
    params: {{days: stack.days, pairs: stack.pairs, wavelength_m: stack.wavelength_m,
             looks: stack.looks, reference: stack.reference,
             min_temporal_coherence: stack.min_temporal_coherence}}
""")
    make(db, ["velocity", "velocity_std"], threads=2)
    first = finished(db)
    assert set(first) == {"network_reference", "timeseries"}
    from peppers.drs.rules import image_path
    vel = read_image(root / image_path("velocity"))
    std = read_image(root / image_path("velocity_std"))
    ref = db.get("stack.reference")
    err = (vel - rate.reshape(shape)) - (vel - rate.reshape(shape))[ref["row"], ref["col"]]
    z = err / std
    assert np.std(z) == pytest.approx(1.0, abs=0.1)
    make(db, ["velocity", "velocity_std"], threads=2)
    assert rerun(first, finished(db)) == set()
