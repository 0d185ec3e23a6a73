"""Simulation support: cocotb runner helper, AXI4-Stream source/sink, stream packing."""
