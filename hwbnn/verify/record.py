"""The verification record: one per (level, engine), kept in ``BUILD/verification.json``.

Every level of the ladder (DESIGN.md: L0 torch, L1 QONNX, L2 reference, L3 C-sim, L4 RTL sim,
L5 netlist sim) and the host driver's round trip through the simulated board top writes one
:class:`VerificationRecord` with :func:`record_result`; the report and the API read them back
with :func:`read_results` and nothing else. The file is a JSON object
``{"format": 1, "records": [...]}``, rewritten atomically (temporary file + ``os.replace``), so a
reader never sees half a file. A record is replaced by the next one of the same level and engine.
"""

from __future__ import annotations

import datetime
import enum
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from hwbnn.errors import HwbnnError

VERIFICATION = "verification.json"
FORMAT = 1
#: keys of ``details`` that list protocol or framing errors; any entry makes a record fail
ERROR_KEYS = ("framing_errors", "protocol_errors")


class Level(enum.Enum):
    """The verification ladder of DESIGN.md, plus the board driver round trip."""

    L0 = "L0"  # torch (Brevitas) labels
    L1 = "L1"  # QONNX execute_onnx labels
    L2 = "L2"  # IR reference (and its accumulators vs torch's last-layer dot products)
    L3 = "L3"  # C-sim: engine "g++" (--target hls) or "hls4ml" (--target hls4ml)
    L4 = "L4"  # RTL sim: engine "icarus", "verilator" or "vitis-rtl/<simulator>"
    L5 = "L5"  # post-synthesis netlist sim: engine e.g. "netlist-ice40/verilator"
    DRIVER = "driver"  # host driver through the simulated board top: engine "uart/icarus"

    @property
    def title(self) -> str:
        """What the level checks, for tables."""
        return LEVEL_TITLES[self]


LEVEL_TITLES = {
    Level.L0: "L0 torch (Brevitas)",
    Level.L1: "L1 QONNX execute_onnx",
    Level.L2: "L2 reference",
    Level.L3: "L3 C-simulation",
    Level.L4: "L4 RTL simulation",
    Level.L5: "L5 netlist simulation",
    Level.DRIVER: "host driver round trip",
}


class VerificationFileError(HwbnnError):
    """BUILD/verification.json exists but cannot be read."""


@dataclass(frozen=True)
class VerificationRecord:
    """One verification run of one level on one engine.

    ``mismatches`` counts the compared frames whose outputs differ from the reference (0 is a
    pass); ``first_mismatch`` is the judge's one-line description of the first of them.
    ``details`` holds level-specific JSON-able extras; lists under ``framing_errors`` or
    ``protocol_errors`` make the record fail even with no mismatching frame.
    """

    level: Level
    engine: str
    frames: int
    mismatches: int
    first_mismatch: str | None
    accuracy: float | None = None
    cycles_per_frame: float | None = None
    latency_cycles: int | None = None
    seconds: float | None = None
    date: str = ""
    command: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No mismatching frame and no protocol or framing error."""
        return self.mismatches == 0 and not any(self.details.get(k) for k in ERROR_KEYS)

    @property
    def problem(self) -> str | None:
        """One line saying why the record is not ok (None when it is)."""
        if self.first_mismatch is not None and self.mismatches:
            return self.first_mismatch
        for key in ERROR_KEYS:
            errors = self.details.get(key)
            if errors:
                return f"{key.replace('_', ' ')[:-1]}: {errors[0]}"
        return None if self.ok else f"{self.mismatches} of {self.frames} frames differ"

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["level"] = self.level.value
        doc["ok"] = self.ok
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> VerificationRecord:
        names = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in doc.items() if k in names}
        values["level"] = Level(doc["level"])
        values["details"] = dict(doc.get("details") or {})
        return cls(**values)


def _path(build: Path) -> Path:
    return Path(build) / VERIFICATION


def read_results(build: Path) -> list[VerificationRecord]:
    """The build's records in ladder order ([] when there is no verification.json)."""
    path = _path(build)
    try:
        doc = json.loads(path.read_text())
        records = [VerificationRecord.from_dict(r) for r in doc["records"]]
    except FileNotFoundError:
        return []
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise VerificationFileError(
            f"{path}: not a verification record file ({type(exc).__name__}: {exc}); delete it "
            f"and run the verification again"
        ) from None
    return _in_order(records)


def _in_order(records: list[VerificationRecord]) -> list[VerificationRecord]:
    order = list(Level)
    return sorted(records, key=lambda r: (order.index(r.level), r.engine))


def _write(build: Path, records: list[VerificationRecord]) -> None:
    path = _path(build)
    doc = {"format": FORMAT, "records": [r.to_dict() for r in _in_order(records)]}
    scratch = path.with_name(f".{VERIFICATION}.tmp{os.getpid()}")
    scratch.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(scratch, path)


def default_command() -> str:
    """The command line of this process, as a record's ``command`` when none is given."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else ""


def record_result(build: Path, record: VerificationRecord) -> VerificationRecord:
    """Store ``record`` in BUILD/verification.json, replacing the one of the same level and
    engine; fill its date (now, ISO 8601 UTC) and command (this process's) when empty.

    Returns the stored record.
    """
    if not Path(build).is_dir():
        raise HwbnnError(f"{build}: no such build directory; cannot record {record.level.value}")
    stored = replace(
        record,
        date=record.date or datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        command=record.command or default_command(),
    )
    kept = [r for r in read_results(build) if (r.level, r.engine) != (stored.level, stored.engine)]
    _write(build, [*kept, stored])
    return stored


def clear_results(build: Path, levels: Iterable[Level]) -> list[VerificationRecord]:
    """Remove the records of ``levels`` (a recompile made them stale); return the removed."""
    drop = set(levels)
    records = read_results(build)
    removed = [r for r in records if r.level in drop]
    if removed:
        _write(build, [r for r in records if r.level not in drop])
    return removed


class VerificationFailed(HwbnnError):
    """A verification ran and its outputs differ from the reference (raised by the API and
    the CLI, never by the level runners, which return their record)."""

    def __init__(self, record: VerificationRecord) -> None:
        self.record = record
        what = f"{record.level.title} ({record.engine})"
        reason = record.problem or "failed"
        super().__init__(
            f"{what}: {record.mismatches} of {record.frames} frames differ from the reference; "
            f"first: {reason}"
            if record.mismatches
            else f"{what}: {reason}"
        )
