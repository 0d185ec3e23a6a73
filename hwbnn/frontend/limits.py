"""The bounds lowering puts on a model, so that a hostile or broken file ends in an error
instead of unbounded memory or time. Real models stay far below them: CNV's largest tensor
is 64 x 30 x 30 = 57,600 elements, LFC's largest weight matrix 1024 x 1024, an MNIST input
784 codes of 256 levels.
"""

from __future__ import annotations

#: a model file and the external data it names (protobuf's limit)
MAX_MODEL_BYTES = 2**31 - 1
#: elements of any tensor, declared, inferred or evaluated: 64 MiB of float32
MAX_TENSOR_ELEMENTS = 2**24
#: values of one channel's accumulator that lowering evaluates the model at
MAX_ACCUMULATOR_VALUES = 2**24
#: input codes (10 bits): lowering runs the input stage once per code
MAX_INPUT_LEVELS = 2**10


def rows_per_chunk(width: int, rows: int = 4096) -> int:
    """How many rows of ``width`` values to evaluate at once: ``rows``, fewer for wide layers,
    so one evaluation stays within MAX_TENSOR_ELEMENTS."""
    return max(1, min(rows, MAX_TENSOR_ELEMENTS // max(1, width)))
