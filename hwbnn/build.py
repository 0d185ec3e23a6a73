"""Build directories: described by ``manifest.json``, replaced without ever losing the old one.

A build directory is the interface between steps (DESIGN.md). ``manifest.json`` records what
made the build (source model, hwbnn version, what each generator wrote) and:

- ``steps``: every step that finished, with the digest of its inputs, when it finished, how
  long it took, its summary, the sha256 of each input it read (``inputs``) and the versions of
  the tools it ran (``tools``). A step's record is removed before it runs again, so a build
  interrupted in a step never looks as if that step had finished.
- ``flow``: the step list in flow order, each with its ``status``: ``pending`` (planned by
  ``hwbnn run``, not started), ``running`` (started by process ``pid`` on ``host``; still so
  after a SIGKILL or a power cut), ``complete``, ``failed`` (with its one-line ``error``) or
  ``interrupted`` (stopped by SIGINT or SIGTERM, named in ``error``).
- ``state``: ``complete`` (every listed step done), ``failed`` (a step failed with an error;
  what it wrote is consistent, the step just did not succeed), or ``incomplete`` (a step is
  running, was killed or interrupted, or has not run yet: files may be half written).
  :func:`require_complete` refuses an incomplete build with a one-line message that names the
  step and the command that resumes it.
- ``inputs`` and ``tools``: the union of the finished steps' inputs and tools, plus hwbnn's and
  Python's versions.

:func:`atomic_build` assembles a new build in a temporary sibling directory and moves it into
place only when every step succeeded, so a failed ``hwbnn compile`` into a fresh directory
leaves nothing behind. An existing build is replaced by :func:`replace_directory` in three
renames that keep a complete build on disk at every instant; a process killed anywhere in
between leaves one of these states, which :func:`recover` (run by the next ``atomic_build`` of
the same target and by every reader that finds no manifest) resolves:

==========================================  =================================================
on disk after the kill                      recovery
==========================================  =================================================
``T`` (old) + ``.T.tmp-PID-*`` (partial)    remove the temporary directory: ``T`` is the old
``.T.old-PID-*`` (old) + tmp (new), no T    rename the old build back to ``T``, remove tmp
``T`` (new) + ``.T.old-PID-*`` (old)        remove the old build (it was being removed)
==========================================  =================================================

Directories of a process that is still alive (``PID``) are left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hwbnn import __version__
from hwbnn.errors import ConfigError

MANIFEST = "manifest.json"
STEPS = "steps"
FLOW = "flow"
#: the status of a step (``flow``) and the state of a build (``state``)
PENDING, RUNNING, INTERRUPTED, FAILED = "pending", "running", "interrupted", "failed"
COMPLETE, INCOMPLETE = "complete", "incomplete"


class IncompleteBuild(ConfigError):
    """A build whose last run was killed, interrupted or is still running."""


# --- replacing a build directory ---------------------------------------------------------------


def _aside_name(target: Path, tag: str) -> str:
    return f".{target.name}.{tag}-{os.getpid()}-"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def recover(target: Path) -> list[str]:
    """Finish or undo a replacement of ``target`` that a killed process left (module docstring);
    return what was done, one phrase each."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(tmp|old)-(\d+)-")
    leftovers: dict[str, list[Path]] = {"tmp": [], "old": []}
    for path in sorted(target.parent.iterdir()):
        match = pattern.match(path.name)
        if match and path.is_dir() and not _alive(int(match.group(2))):
            leftovers[match.group(1)].append(path)
    done: list[str] = []
    for old in leftovers["old"]:
        if not target.exists():
            old.rename(target)
            done.append(f"restored {target} from {old.name}")
        else:
            shutil.rmtree(old)
            done.append(f"removed the replaced build {old.name}")
    for tmp in leftovers["tmp"]:
        shutil.rmtree(tmp)
        done.append(f"removed the unfinished build {tmp.name}")
    return done


def replace_directory(new: Path, target: Path) -> None:
    """Move directory ``new`` to ``target``, replacing it; a complete build is on disk at every
    instant (the old one aside, then the new one in place), whatever interrupts this."""
    new, target = Path(new), Path(target)
    if not target.exists():
        new.rename(target)
        return
    aside = target.with_name(_aside_name(target, "old") + secrets.token_hex(4))
    try:
        target.rename(aside)
        new.rename(target)
    except BaseException:
        # an error or a signal between the two renames: put the old build back
        if aside.exists() and not target.exists():
            aside.rename(target)
        raise
    shutil.rmtree(aside)


@contextlib.contextmanager
def atomic_build(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary directory that replaces ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    _check_replaceable(target)
    tmp = Path(tempfile.mkdtemp(prefix=_aside_name(target, "tmp"), dir=target.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp's 0700 would become the finished build's mode
    try:
        yield tmp
        _check_replaceable(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_directory(tmp, target)


def _umask() -> int:
    """The process's file mode creation mask (reading it means setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_replaceable(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{target}: exists and is not a directory")
    if target.is_dir() and not (target / MANIFEST).is_file() and any(target.iterdir()):
        raise ConfigError(f"{target}: not an hwbnn build directory; refusing to overwrite it")


# --- the manifest -------------------------------------------------------------------------------


def has_manifest(build: Path) -> bool:
    """Whether ``build`` has a manifest, after recovering an interrupted replacement of it."""
    path = Path(build) / MANIFEST
    if not path.is_file():
        recover(Path(build))
    return path.is_file()


def _write(build: Path, doc: dict[str, Any]) -> Path:
    path = Path(build) / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    os.replace(tmp, path)
    return path


def write_manifest(build: Path, **fields: Any) -> Path:
    """A new manifest with ``fields`` (keeps the step records of an existing one)."""
    old = read_manifest(build) if (Path(build) / MANIFEST).is_file() else {}
    steps = old.get(STEPS) if isinstance(old.get(STEPS), dict) else {}
    kept = {k: old[k] for k in (FLOW, "state", "inputs", "tools") if k in old}
    return _write(build, {"hwbnn": __version__, **fields, **kept, STEPS: steps})


def read_manifest(build: Path) -> dict[str, Any]:
    path = Path(build) / MANIFEST
    if not has_manifest(build):
        raise ConfigError(f"{build}: not an hwbnn build directory (no {MANIFEST})")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: corrupt ({exc}); recompile into a fresh directory") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: corrupt (not a JSON object); recompile")
    return doc


def _read_or_new(build: Path) -> dict[str, Any]:
    return read_manifest(build) if has_manifest(build) else {"hwbnn": __version__, STEPS: {}}


def update_manifest(build: Path, **fields: Any) -> None:
    doc = _read_or_new(build)
    doc.update(fields)
    _write(build, doc)


def _steps(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    steps = doc.get(STEPS)
    return steps if isinstance(steps, dict) else {}


def step_records(build: Path) -> dict[str, dict[str, Any]]:
    """The finished steps of a build: name -> {digest, finished, seconds, summary, ...}."""
    if not has_manifest(build):
        return {}
    return _steps(read_manifest(build))


def forget_steps(build: Path, names: Iterable[str]) -> list[str]:
    """Remove the records of steps ``names`` (before they run again); return those removed."""
    if not has_manifest(build):
        return []
    doc = read_manifest(build)
    steps = _steps(doc)
    removed = [name for name in names if steps.pop(name, None) is not None]
    if removed:
        doc[STEPS] = steps
        _write(build, doc)
    return removed


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- step status ---------------------------------------------------------------------------------


def flow_status(build: Path) -> list[dict[str, Any]]:
    """The step list of the build with each step's status (``flow`` in the manifest)."""
    if not has_manifest(build):
        return []
    flow = read_manifest(build).get(FLOW)
    return [e for e in flow if isinstance(e, dict)] if isinstance(flow, list) else []


def build_state(flow: Sequence[dict[str, Any]]) -> str:
    """``complete``, ``failed`` or ``incomplete`` (module docstring)."""
    statuses = {e.get("status") for e in flow}
    if statuses & {RUNNING, INTERRUPTED}:
        return INCOMPLETE
    if FAILED in statuses:
        return FAILED
    return INCOMPLETE if PENDING in statuses else COMPLETE


def _set_status(
    doc: dict[str, Any], entries: dict[str, dict[str, Any]], order: Sequence[str]
) -> None:
    """Put ``entries`` (name -> status entry) into ``doc``'s flow, in ``order``."""
    flow = {e["step"]: e for e in doc.get(FLOW, []) if isinstance(e, dict) and "step" in e}
    flow.update({name: {"step": name, **entry} for name, entry in entries.items()})
    rank = {name: i for i, name in enumerate(order)}
    doc[FLOW] = sorted(flow.values(), key=lambda e: rank.get(e["step"], len(rank)))
    doc["state"] = build_state(doc[FLOW])


def plan_steps(build: Path, names: Sequence[str], order: Sequence[str], command: str) -> None:
    """Mark steps ``names`` pending unless they finished (``hwbnn run`` before its first step)."""
    doc = _read_or_new(build)
    done = _steps(doc)
    entries = {
        n: {"status": COMPLETE, "finished": done[n].get("finished")}
        if n in done
        else {"status": PENDING, "command": command}
        for n in names
    }
    _set_status(doc, entries, order)
    _write(build, doc)


def start_step(build: Path, name: str, order: Sequence[str], command: str) -> None:
    """Mark step ``name`` running in this process (a SIGKILL leaves it so: incomplete) and
    remove its record, in one write."""
    doc = read_manifest(build)
    _steps(doc).pop(name, None)
    entry = {
        "status": RUNNING,
        "started": _now(),
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
    }
    _set_status(doc, {name: entry}, order)
    _write(build, doc)


def fail_step(
    build: Path, name: str, order: Sequence[str], error: str, interrupted: bool, command: str
) -> None:
    """Mark step ``name`` failed by an error, or ``interrupted`` by a signal (named in
    ``error``)."""
    doc = read_manifest(build)
    status = INTERRUPTED if interrupted else FAILED
    entry = {"status": status, "finished": _now(), "error": error, "command": command}
    _set_status(doc, {name: entry}, order)
    _write(build, doc)


def record_step(
    build: Path,
    name: str,
    digest: str,
    seconds: float,
    summary: dict[str, Any],
    *,
    inputs: dict[str, str] | None = None,
    tools: dict[str, str] | None = None,
    order: Sequence[str] = (),
) -> None:
    """Record that step ``name`` finished on inputs of ``digest`` (status ``complete``), with the
    sha256 of each input it read and the versions of the tools it ran."""
    doc = _read_or_new(build)
    steps = _steps(doc)
    finished = _now()
    steps[name] = {
        "digest": digest,
        "finished": finished,
        "seconds": round(seconds, 2),
        "summary": summary,
        "inputs": dict(inputs or {}),
        "tools": dict(tools or {}),
    }
    doc[STEPS] = steps
    doc["inputs"] = {**doc.get("inputs", {}), **(inputs or {})}
    python = sys.version.split()[0]
    doc["tools"] = {**doc.get("tools", {}), "hwbnn": __version__, "python": python, **(tools or {})}
    _set_status(doc, {name: {"status": COMPLETE, "finished": finished}}, order)
    _write(build, doc)


def _live(entry: dict[str, Any]) -> bool:
    """Whether the step of ``entry`` is running now in another process on this machine."""
    pid = entry.get("pid")
    return (
        entry.get("status") == RUNNING
        and entry.get("host") == socket.gethostname()
        and isinstance(pid, int)
        and pid != os.getpid()
        and _alive(pid)
    )


def require_not_running(build: Path) -> None:
    """Refuse a build that another live process is working on (two writers would mix files)."""
    for entry in flow_status(build):
        if _live(entry):
            raise IncompleteBuild(
                f"{build}: step {entry['step']} is running in process {entry['pid']} (started "
                f"{entry.get('started')}); wait for it to finish or stop it"
            )


def require_complete(build: Path, allow: Iterable[str] = ()) -> None:
    """Refuse a build that another process is working on, or whose steps (other than
    ``allow``: the steps about to run again) did not finish: IncompleteBuild naming the step
    and the command that resumes it."""
    require_not_running(build)
    allowed = set(allow)
    rest = [e for e in flow_status(build) if e.get("step") not in allowed]
    if build_state(rest) != INCOMPLETE:
        return
    killed = [e for e in rest if e.get("status") == RUNNING]
    interrupted = [e for e in rest if e.get("status") == INTERRUPTED]
    pending = [e for e in rest if e.get("status") == PENDING]
    entry = (killed or interrupted or pending)[0]
    resume = entry.get("command") or f"hwbnn run --out {build}"
    if killed:
        why = f"step {entry['step']} was killed before it finished (started {entry.get('started')})"
    elif interrupted:
        why = f"step {entry['step']} was interrupted ({entry.get('error')})"
    else:
        why = f"step {entry['step']} has not run (the run stopped before it)"
    raise IncompleteBuild(f"{build}: incomplete build: {why}; resume with: {resume}")


def require_step(build: Path, name: str, what: str) -> dict[str, Any]:
    """The record of step ``name``, or a ConfigError saying ``what`` is missing and what to run."""
    record = step_records(build).get(name)
    if record is None:
        raise ConfigError(
            f"{build}: step {name} has not finished in this build ({what}); "
            f"rerun it (hwbnn run --out {build} --from {name})"
        )
    return record
