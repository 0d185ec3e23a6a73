"""Threshold derivation at its edges: at every popcount the IR equals the float model (L1)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.change_batchsize import ChangeBatchSize
from qonnx.transformation.infer_shapes import InferShapes
from qonnx_builders import DenseSpec, build_mlp, random_pm1

from hwbnn.export import clean_qonnx
from hwbnn.frontend.lower import InputSpec, lower
from hwbnn.frontend.thresholds import search_thresholds
from hwbnn.reference import Reference

finite = dict(allow_nan=False, allow_infinity=False)
gammas = st.one_of(st.floats(-10, 10, **finite), st.sampled_from([0.0, -1e-6, 1e-6, -3.0]))
variances = st.one_of(st.floats(1e-10, 1e4, **finite), st.sampled_from([1e-12, 1e-8]))
biases = st.one_of(st.floats(-1e6, 1e6, **finite), st.sampled_from([0.0, 1e6, -1e6]))


@st.composite
def hidden_layers(draw):
    n = draw(st.integers(1, 40))
    c = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31))
    gamma = [draw(gammas) for _ in range(c)]
    beta = [draw(biases) for _ in range(c)]
    mean = [draw(st.floats(-n - 2, n + 2, **finite)) for _ in range(c)]
    var = [draw(variances) for _ in range(c)]
    scale = draw(st.sampled_from([1.0, -1.0, 0.5, -2.0, 3.0]))
    shift = draw(st.floats(-2 * n, 2 * n, **finite))
    return n, c, seed, ("bn", gamma, beta, mean, var), scale, shift


def _hidden_activation(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """The first hidden layer's BipolarQuant output, run by qonnx execute_onnx (L1)."""
    wrapper = clean_qonnx(ModelWrapper(onnx.ModelProto.FromString(model.SerializeToString())))
    wrapper = wrapper.transform(ChangeBatchSize(len(x))).transform(InferShapes())
    quants = [n for n in wrapper.graph.node if n.op_type == "BipolarQuant"]
    hidden = [q for q in quants if wrapper.get_initializer(q.input[0]) is None][1]
    ctx = execute_onnx(wrapper, {wrapper.graph.input[0].name: x}, return_full_exec_context=True)
    return ctx[hidden.output[0]] > 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hidden_layers())
def test_ir_equals_float_model_at_every_popcount(params) -> None:
    n, c, seed, bn, scale, shift = params
    rng = np.random.default_rng(seed)
    w1 = random_pm1(rng, (n, c))
    layers = [
        DenseSpec(w1, tail=[bn, ("mul", scale), ("add", shift)]),
        DenseSpec(random_pm1(rng, (c, 3))),
    ]
    model = build_mlp(layers, (1, n))
    net = lower(
        ModelWrapper(onnx.ModelProto.FromString(model.SerializeToString())),
        InputSpec(levels=2, low=-1.0, high=1.0),
    )
    # for channel j and popcount p: input agrees with w1[:, j] in exactly p positions
    frames = []
    for j in range(c):
        for p in range(n + 1):
            x = -w1[:, j].copy()
            x[:p] = w1[:p, j]
            frames.append(x)
    x = np.stack(frames).astype(np.float32)
    ir_bits = Reference(net).run(x, rounding=False)
    ir_hidden = Reference(net).run_codes((x > 0).astype(np.int64), keep_layers=True)
    assert np.array_equal(ir_bits.accumulators, ir_hidden.accumulators)
    assert np.array_equal(ir_hidden.layer_outputs[1], _hidden_activation(model, x))


def test_search_handles_both_directions_and_constants() -> None:
    def channels(v: np.ndarray) -> np.ndarray:
        return np.stack([v >= 3, v <= 2, v >= -100, v > 100, v < 0], axis=1)

    thresholds, negate = search_thresholds(channels, -5, 5, 5, "L", chunk=3)
    assert negate.tolist() == [False, True, False, False, True]
    # negated channels compare v' = low + high - v
    assert thresholds.tolist() == [3, -2, -5, 6, 1]


def test_search_rejects_non_monotone_channel() -> None:
    import pytest

    from hwbnn.errors import ModelError

    with pytest.raises(ModelError, match="channel 1 is not a monotone"):
        search_thresholds(lambda v: np.stack([v >= 1, np.abs(v) >= 2], 1), -4, 4, 2, "L")


@pytest.mark.parametrize("chunk", [1, 4, 4096])  # chunk boundaries inside the steps, or none
def test_search_steps_counts_levels_and_negates_decreasing_channels(chunk: int) -> None:
    from hwbnn.frontend.thresholds import search_steps

    v = np.arange(-6, 7)

    # channel 0: codes floor(v/2) clipped to [-2, 1], with side selections shifted by +-1;
    # channel 1: decreasing in v (its row is negated: v -> -v)
    def table(values: np.ndarray) -> np.ndarray:
        up = np.clip(np.floor(values / 2), -2, 1)
        return np.stack(
            [
                np.stack([np.clip(up - 1, -2, 1), np.clip(up + 1, -2, 1)], -1),
                np.stack([np.clip(-up, -2, 1)] * 2, -1),
            ],
            axis=1,
        )

    t, negate = search_steps(table, -6, 6, np.array([-1, 0, 1]), "unit", chunk=chunk)
    assert negate.tolist() == [False, True]
    for c in range(2):
        for s in range(2):
            counted = -2 + (v[:, None] >= t[c, s][None, :]).sum(1)
            expected = table(v if not negate[c] else -v)[:, c, s]
            assert np.array_equal(counted, expected)


def test_search_steps_refuses_selections_of_opposite_directions() -> None:
    import pytest

    from hwbnn.errors import ModelError
    from hwbnn.frontend.thresholds import search_steps

    def table(values: np.ndarray) -> np.ndarray:
        return np.stack([values >= 0, values < 0], -1)[:, None, :].astype(np.int64)

    with pytest.raises(ModelError, match="channel 0 is not a monotone"):
        search_steps(table, -3, 3, np.array([1]), "unit")
    with pytest.raises(ModelError, match="channel 0 is not a monotone"):  # across chunks
        search_steps(table, -3, 3, np.array([1]), "unit", chunk=1)
