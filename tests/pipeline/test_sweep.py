"""``hwbnn sweep``: the 4-point sweep (2 foldings x 2 seeds, digits, no bitstream) killed after
its first point and run again finishes only the other three, and gives the same table as the
same sweep on a local Ray instance that the test starts and stops; a failed point is kept
failed until ``--retry-failed``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwbnn.pipeline.sweep import COLUMNS, RUN_COLUMNS, LocalPool, RayCluster, run_sweep
from hwbnn.pipeline.sweep_spec import load_spec

SPEC = """
out = "{out}"
[grid]
seeds = [0, 1]
foldings = {foldings}
[train]
epochs = 1
hidden = [32]
[compile]
target = "ir"
"""
#: what a point measured, not how or where it ran
MEASURED = [c for c in COLUMNS if c not in RUN_COLUMNS]


def _spec(tmp_path: Path, out: str, foldings: str = "[16, 64]", seeds: str = "[0, 1]") -> Path:
    path = tmp_path / f"{out}.toml"
    text = SPEC.format(out=out, foldings=foldings).replace("seeds = [0, 1]", f"seeds = {seeds}")
    path.write_text(text)
    return path


def _sweep(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hwbnn.cli", "sweep", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the pool's workers are killed with it
    )


def _quiet(line: str) -> None:
    pass


@pytest.mark.slow
def test_killed_sweep_resumes_and_ray_gives_the_same_table(tmp_path: Path) -> None:
    spec_path = _spec(tmp_path, "local")
    results = tmp_path / "local" / "results"
    proc = _sweep(str(spec_path), "--workers", "1")
    deadline = time.monotonic() + 600
    while not (results.is_dir() and any(results.glob("*.json"))):
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "no point finished in 10 minutes"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    finished = {p: p.read_bytes() for p in results.glob("*.json")}  # the first (rarely two)
    assert 1 <= len(finished) < 4
    assert all(json.loads(text)["status"] == "done" for text in finished.values())

    again = _sweep(str(spec_path), "--workers", "1")  # one process: less CPU in CI
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err[-2000:]
    summary = json.loads(out.splitlines()[-1])
    assert summary["ran"] == 4 - len(finished) and summary["failed"] == 0, out
    assert all(p.read_bytes() == text for p, text in finished.items())  # not run again
    local = json.loads((tmp_path / "local" / "results.json").read_text())["rows"]
    assert [r["status"] for r in local] == ["done"] * 4
    assert len(list((tmp_path / "local" / "train").iterdir())) == 2  # one training per seed
    assert (tmp_path / "local" / "results.csv").read_text().count("\n") == 5
    assert (tmp_path / "local" / "report" / "pareto.png").is_file()

    import ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_sweep(
            load_spec(_spec(tmp_path, "ray")), RayCluster("auto"), progress=False, say=_quiet
        )
    finally:
        ray.shutdown()
    assert [{k: r[k] for k in MEASURED} for r in remote.rows] == [
        {k: r[k] for k in MEASURED} for r in local
    ]
    assert all(r["build"].startswith(str(tmp_path / "ray" / "points")) for r in remote.rows)


@pytest.mark.slow
def test_failed_point_is_kept_until_retry_failed(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, "retry", foldings='["fold.json"]', seeds="[0]"))
    first = run_sweep(spec, LocalPool(1), progress=False, say=_quiet)
    (row,) = first.failed
    assert "fold.json" in row["error"] and row["accuracy"] is None
    assert row["notes"]["accuracy"] == "the point failed"

    import hwbnn

    (train,) = (tmp_path / "retry" / "train").iterdir()  # the training itself succeeded
    hwbnn.compile(train / "model.onnx", tmp_path / "ir", target="ir", target_cycles=16)
    (tmp_path / "fold.json").write_text((tmp_path / "ir" / "folding.json").read_text())
    kept = run_sweep(spec, LocalPool(1), progress=False, say=_quiet)
    assert (kept.ran, kept.skipped_failed, len(kept.failed)) == (0, 1, 1)
    retried = run_sweep(spec, LocalPool(1), retry_failed=True, progress=False, say=_quiet)
    assert retried.ran == 1 and not retried.failed
    assert retried.rows[0]["cycles_per_frame"] == 16
