"""Build directories: written atomically, described by a manifest.

A build is assembled in a temporary sibling directory and renamed into place only when every
step succeeded, so a failed or interrupted compile never leaves a directory that looks valid.
``manifest.json`` records what made the build and which steps produced which files.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hwbnn import __version__
from hwbnn.errors import ConfigError

MANIFEST = "manifest.json"


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


def write_manifest(build: Path, **fields: Any) -> Path:
    path = build / MANIFEST
    doc = {"hwbnn": __version__, **fields}
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return path


def read_manifest(build: Path) -> dict[str, Any]:
    path = Path(build) / MANIFEST
    if not path.is_file():
        raise ConfigError(f"{build}: not an hwbnn build directory (no {MANIFEST})")
    return json.loads(path.read_text())


def update_manifest(build: Path, **fields: Any) -> None:
    doc = read_manifest(build)
    doc.update(fields)
    (Path(build) / MANIFEST).write_text(json.dumps(doc, indent=2, default=str) + "\n")
