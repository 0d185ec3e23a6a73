"""Registration of hwbnn's extension with hls4ml (layers, templates, pass, flow, C++ sources).

hls4ml's extension API keeps process-wide registries; :func:`register` adds, once per process:

- the layer classes ``HwbnnInputThreshold`` and ``HwbnnMvau`` (``register_layer``);
- the pass :data:`~.replace_binary_layers.PASS_NAME` and the flow
  :data:`~.replace_binary_layers.FLOW` holding only it (a config lists the flow before the
  backend's default flow, so it runs before hls4ml's QONNX passes);
- for the Vivado and Vitis backends: the config and function templates, and as custom sources
  (copied into every project these backends write, ``firmware/nnet_utils/``) the HLS library
  headers of ``hls/hwbnn/`` and the glue header ``nnet_hwbnn.h``.
"""

from __future__ import annotations

from pathlib import Path

from hwbnn.codegen.cxx import hls_library_dir

BACKENDS = ("Vivado", "Vitis")
GLUE_HEADER = Path(__file__).resolve().parent / "nnet_hwbnn.h"


def sources() -> list[Path]:
    """The C++ files every project gets: the HLS library headers and the glue header."""
    return [*sorted((hls_library_dir() / "hwbnn").glob("*.hpp")), GLUE_HEADER]


def register() -> None:
    """Register hwbnn's layers, templates, pass, flow and sources with hls4ml (idempotent)."""
    from hls4ml.backends import get_backend
    from hls4ml.model.flow import get_available_flows, register_flow
    from hls4ml.model.layers import layer_map, register_layer
    from hls4ml.model.optimizer import get_available_passes, register_pass

    from hwbnn.codegen.hls4ml_backend.layers import LAYER_CLASSES
    from hwbnn.codegen.hls4ml_backend.replace_binary_layers import (
        FLOW,
        PASS_NAME,
        ReplaceBinaryLayers,
    )
    from hwbnn.codegen.hls4ml_backend.templates import TEMPLATES

    for name, cls in LAYER_CLASSES.items():
        if layer_map.get(name) is not cls:
            register_layer(name, cls)
    passes = set(get_available_passes())
    if PASS_NAME not in passes:
        register_pass(PASS_NAME, ReplaceBinaryLayers)
    if FLOW not in get_available_flows():
        register_flow(FLOW, [PASS_NAME])
    for backend_name in BACKENDS:
        backend = get_backend(backend_name)
        for template in TEMPLATES:
            if f"{backend.name.lower()}:{template().get_name()}" not in passes:
                backend.register_template(template)
        for source in sources():
            backend.register_source(source)
