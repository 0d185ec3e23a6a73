"""Build reports: ``hwbnn report BUILD`` writes ``BUILD/report/index.html`` with PNG plots."""

from hwbnn.report.build_report import write_build_report

__all__ = ["write_build_report"]
