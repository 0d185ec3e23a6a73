"""hls4ml projects of binary QONNX models, with hwbnn's exact XNOR-popcount units (hls/).

Plain hls4ml 1.3 computes a Brevitas BNN wrongly (docs/hls4ml.md has the measured causes: the
binary weights are quantized twice and all become +1, BatchNorm thresholds are floored, and
io_stream beats are mis-packed after the input threshold). This extension replaces the binary
layers through hls4ml's extension API, so the project stays an ordinary hls4ml project:

- :mod:`.layers`: hls4ml layer classes ``HwbnnInputThreshold`` and ``HwbnnMvau`` holding the
  exact IR layers of :func:`hwbnn.frontend.lower.lower`;
- :mod:`.templates`: their config (sizes, weight and threshold memories) and function-call
  templates for the Vivado and Vitis backends, calling ``nnet_hwbnn.h`` -> ``hwbnn/mvau.hpp``;
- :mod:`.replace_binary_layers`: the optimizer pass that swaps them in (its contract is in
  that module's docstring); :mod:`.mapping`: segments and folding;
- :mod:`.registry`: registration with hls4ml; :mod:`.project`: config, conversion, the
  ``hwbnn compile --target hls4ml`` generator, reloading a build and the exact C-sim check.

Usage from hls4ml::

    from hwbnn.codegen.hls4ml_backend import build_model, check_csim
    hls_model = build_model(net, folding, "model.onnx", "prj")   # net = hwbnn.frontend.lower...
    hls_model.compile()
    accumulators = hls_model.predict(codes)  # hwbnn.reference.executor.to_codes(net.input, x)

The model input is the hardware's unsigned input codes, the output the last layer's integer
accumulators; the class is ``argmax(out_scale * acc + out_bias)`` of the IR's output layer.
"""

from hwbnn.codegen.hls4ml_backend.project import (
    CsimCheck,
    build_model,
    check_csim,
    convert,
    generate_hls4ml,
    hls_config,
    load_project,
    mapped_network,
    predict_accumulators,
)
from hwbnn.codegen.hls4ml_backend.registry import register

__all__ = [
    "CsimCheck",
    "build_model",
    "check_csim",
    "convert",
    "generate_hls4ml",
    "hls_config",
    "load_project",
    "mapped_network",
    "predict_accumulators",
    "register",
]
