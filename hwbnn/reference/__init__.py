"""The bit-exact golden model: executes the IR on packed 64-bit words (XNOR-popcount kernels:
NumPy bitwise_count, the definition, and the same loop compiled by numba).

Every checker (export check, cocotb scoreboard, C-simulation tests) imports this one model.
"""

from hwbnn.reference.codes import to_codes
from hwbnn.reference.executor import (
    Reference,
    ReferenceResult,
    run_layer,
    run_node,
    run_reference,
)

__all__ = ["Reference", "ReferenceResult", "run_layer", "run_node", "run_reference", "to_codes"]
