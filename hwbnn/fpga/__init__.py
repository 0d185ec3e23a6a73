"""FPGA flows: yosys / nextpnr / Vivado drivers, boards, resource estimate, board top."""
