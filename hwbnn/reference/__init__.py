"""The bit-exact golden model: executes the IR on packed 64-bit words (numpy bitwise_count).

Every checker (export check, cocotb scoreboard, C-simulation tests) imports this one model.
"""

from hwbnn.reference.executor import (
    Reference,
    ReferenceResult,
    run_layer,
    run_node,
    run_reference,
    to_codes,
)

__all__ = ["Reference", "ReferenceResult", "run_layer", "run_node", "run_reference", "to_codes"]
