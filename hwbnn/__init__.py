"""hwbnn: binarized neural networks from training to verified FPGA hardware."""

__version__ = "0.1.0"
