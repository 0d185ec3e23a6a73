"""Build directories: described by ``manifest.json``, with a record of every finished step.

A build directory is the interface between steps (DESIGN.md). ``manifest.json`` records what
made the build (source model, hwbnn version, what each generator wrote) and, under ``steps``,
every step that finished: the digest of its inputs, when it finished, how long it took and its
summary. A step is recorded only after it succeeded, and its record is removed before it runs
again, so a build interrupted in a step never looks as if that step had finished.

:func:`atomic_build` assembles a new build in a temporary sibling directory and renames it into
place only when every step succeeded, so a failed ``hwbnn compile`` into a fresh directory
leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hwbnn import __version__
from hwbnn.errors import ConfigError

MANIFEST = "manifest.json"
STEPS = "steps"


@contextlib.contextmanager
def atomic_build(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary directory that replaces ``target`` on success."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{target}: exists and is not a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        if not (target / MANIFEST).is_file() and any(target.iterdir()):
            shutil.rmtree(tmp, ignore_errors=True)
            raise ConfigError(f"{target}: not an hwbnn build directory; refusing to overwrite it")
        shutil.rmtree(target)
    tmp.rename(target)


def _write(build: Path, doc: dict[str, Any]) -> Path:
    path = Path(build) / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    os.replace(tmp, path)
    return path


def write_manifest(build: Path, **fields: Any) -> Path:
    """A new manifest with ``fields`` (keeps the step records of an existing one)."""
    old = read_manifest(build) if (Path(build) / MANIFEST).is_file() else {}
    steps = old.get(STEPS) if isinstance(old.get(STEPS), dict) else {}
    return _write(build, {"hwbnn": __version__, **fields, STEPS: steps})


def read_manifest(build: Path) -> dict[str, Any]:
    path = Path(build) / MANIFEST
    if not path.is_file():
        raise ConfigError(f"{build}: not an hwbnn build directory (no {MANIFEST})")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: corrupt ({exc}); recompile into a fresh directory") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: corrupt (not a JSON object); recompile")
    return doc


def update_manifest(build: Path, **fields: Any) -> None:
    doc = read_manifest(build) if (Path(build) / MANIFEST).is_file() else {"hwbnn": __version__}
    doc.update(fields)
    _write(build, doc)


def step_records(build: Path) -> dict[str, dict[str, Any]]:
    """The finished steps of a build: name -> {digest, finished, seconds, summary}."""
    if not (Path(build) / MANIFEST).is_file():
        return {}
    steps = read_manifest(build).get(STEPS)
    return steps if isinstance(steps, dict) else {}


def _steps(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    steps = doc.get(STEPS)
    return steps if isinstance(steps, dict) else {}


def record_step(
    build: Path, name: str, digest: str, seconds: float, summary: dict[str, Any]
) -> None:
    """Record that step ``name`` finished on inputs of ``digest``."""
    doc: dict[str, Any] = {"hwbnn": __version__}
    if (Path(build) / MANIFEST).is_file():
        doc = read_manifest(build)
    steps = _steps(doc)
    steps[name] = {
        "digest": digest,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 2),
        "summary": summary,
    }
    doc[STEPS] = steps
    _write(build, doc)


def forget_steps(build: Path, names: Iterable[str]) -> list[str]:
    """Remove the records of steps ``names`` (before they run again); return those removed."""
    if not (Path(build) / MANIFEST).is_file():
        return []
    doc = read_manifest(build)
    steps = _steps(doc)
    removed = [name for name in names if steps.pop(name, None) is not None]
    if removed:
        doc[STEPS] = steps
        _write(build, doc)
    return removed


def require_step(build: Path, name: str, what: str) -> dict[str, Any]:
    """The record of step ``name``, or a ConfigError saying ``what`` is missing and what to run."""
    record = step_records(build).get(name)
    if record is None:
        raise ConfigError(
            f"{build}: step {name} has not finished in this build ({what}); "
            f"rerun it (hwbnn run --out {build} --from {name})"
        )
    return record
