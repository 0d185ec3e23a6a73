"""QONNX -> hardware IR: graph reading, lowering passes, exact thresholds."""
