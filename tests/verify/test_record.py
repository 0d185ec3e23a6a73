"""BUILD/verification.json: one record per (level, engine), replaced atomically, read back
equal, cleared by level; an unreadable file is a one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwbnn.errors import HwbnnError
from hwbnn.verify.record import (
    VERIFICATION,
    Level,
    VerificationFileError,
    VerificationRecord,
    clear_results,
    read_results,
    record_result,
)


def _record(level: Level, engine: str, mismatches: int = 0, **kw) -> VerificationRecord:
    return VerificationRecord(level, engine, 10, mismatches, None if not mismatches else "x", **kw)


def test_round_trip_and_replacement(tmp_path: Path) -> None:
    assert read_results(tmp_path) == []
    stored = record_result(tmp_path, _record(Level.L4, "icarus", cycles_per_frame=4.0))
    assert stored.date.endswith("+00:00") and stored.command  # filled in
    record_result(tmp_path, _record(Level.L2, "numpy", accuracy=0.5, command="eval"))
    record_result(tmp_path, _record(Level.L4, "verilator", details={"phases": [{"a": 1}]}))
    again = record_result(tmp_path, _record(Level.L4, "icarus", mismatches=3))
    records = read_results(tmp_path)
    assert [(r.level, r.engine) for r in records] == [
        (Level.L2, "numpy"),
        (Level.L4, "icarus"),
        (Level.L4, "verilator"),
    ]
    assert records[1] == again and not again.ok and records[0].command == "eval"
    assert records[2].details == {"phases": [{"a": 1}]}
    doc = json.loads((tmp_path / VERIFICATION).read_text())
    assert doc["format"] == 1 and [r["ok"] for r in doc["records"]] == [True, False, True]
    assert not list(tmp_path.glob(".*tmp*"))  # written through a temporary file


def test_ok_needs_no_protocol_or_framing_error() -> None:
    assert _record(Level.L4, "icarus", details={"framing_errors": []}).ok
    bad = _record(Level.L4, "icarus", details={"protocol_errors": ["tvalid dropped"]})
    assert not bad.ok and bad.problem == "protocol error: tvalid dropped"


def test_clear_results(tmp_path: Path) -> None:
    for level, engine in ((Level.L2, "numpy"), (Level.L3, "g++"), (Level.L4, "icarus")):
        record_result(tmp_path, _record(level, engine))
    removed = clear_results(tmp_path, [Level.L3, Level.L4, Level.L5])
    assert [r.level for r in removed] == [Level.L3, Level.L4]
    assert [r.level for r in read_results(tmp_path)] == [Level.L2]
    assert clear_results(tmp_path, [Level.L5]) == []


def test_bad_file_and_missing_build(tmp_path: Path) -> None:
    (tmp_path / VERIFICATION).write_text("{not json")
    with pytest.raises(VerificationFileError, match="not a verification record file"):
        read_results(tmp_path)
    with pytest.raises(HwbnnError, match="no such build directory"):
        record_result(tmp_path / "nothing", _record(Level.L2, "numpy"))
