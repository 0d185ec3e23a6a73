"""Build reports: ``hwbnn report BUILD`` writes ``BUILD/report/index.html`` with PNG plots;
``hwbnn sweep`` writes ``SWEEP/report/index.html`` (hwbnn.report.sweep_report)."""

from hwbnn.report.build_report import write_build_report
from hwbnn.report.sweep_report import write_sweep_report

__all__ = ["write_build_report", "write_sweep_report"]
