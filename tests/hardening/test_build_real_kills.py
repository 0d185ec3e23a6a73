"""A real ``hwbnn run`` killed in training (Ctrl-C), in RTL simulation (SIGTERM) and in place
and route (Ctrl-C, yowasp nextpnr for the iCE40 UP5K), then run to the end: each kill exits
130/143 with no process left behind, leaves the build marked incomplete with the killed step
``interrupted``, readers refuse the build, and each rerun of the same command resumes at the
killed step (asserted from what each run printed)."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest
from build_helpers import manifest, start, status, wait_for

from hwbnn.cli import main

RUN = [
    "run",
    "--hidden",
    "16",
    "--epochs",
    "5",
    "--target-cycles",
    "256",
    "--sim-frames",
    "10",
    "--board",
    "icebreaker",
    "--tools",
    "yowasp",
]
STEPS = ["train", "export", "compile", "verify", "simulate", "bitstream"]


def group(pgid: int) -> list[str]:
    """The command lines of the live processes of process group ``pgid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(cmdline)
    return found


def steps_run(stdout: str) -> dict[str, str]:
    """What a run printed for each step: ``ran``, ``reused`` or ``started``."""
    seen = {}
    for line in stdout.splitlines():
        match = re.match(r"^  (\w+)\s+(done in|reused|\w.* \.\.\.$)", line)
        if match and match.group(1) in STEPS:
            word = match.group(2)
            seen[match.group(1)] = {"done in": "ran", "reused": "reused"}.get(word, "started")
    return seen


def kill_run(
    build: Path, step: str, child: str | None, sig: signal.Signals, whole_group: bool
) -> str:
    """Start ``hwbnn run`` in its own process group; once ``step`` runs (and a process whose
    command line holds ``child``, if given, is up), send ``sig`` to the whole group (as a
    terminal's Ctrl-C does) or to hwbnn only (as ``kill`` does). Check the exit status and that
    the group is gone; return what the run printed."""
    proc = start(
        [sys.executable, "-m", "hwbnn.cli", *RUN, "--out", str(build)], start_new_session=True
    )
    wait_for(lambda: status(build).get(step) == "running", proc, f"step {step}", timeout=600)
    if child is not None:
        wait_for(lambda: any(child in c for c in group(proc.pid)), proc, child, timeout=600)
    if whole_group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, (out, err)
    assert err.strip().splitlines()[-1].startswith("hwbnn: "), err
    deadline = time.monotonic() + 20
    while group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert group(proc.pid) == [], "processes left running after the kill"
    doc = manifest(build)
    assert doc["state"] == "incomplete"
    assert status(build)[step] == "interrupted"
    assert step not in doc["steps"]
    return out


def refuses(argv: list[str], capsys: pytest.CaptureFixture[str], step: str) -> None:
    assert main(argv) == 1, argv
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"incomplete build: step {step} was interrupted" in err[0], err


@pytest.mark.slow
def test_kills_in_training_simulation_and_place_and_route_resume_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build = tmp_path / "build"
    # Ctrl-C in training: nothing else ran, no checkpoint
    out = kill_run(build, "train", None, signal.SIGINT, whole_group=True)
    assert steps_run(out) == {"train": "started"}
    assert not (build / "train" / "model.pt").exists()
    assert status(build) == {"train": "interrupted", **{s: "pending" for s in STEPS[1:]}}
    refuses(["eval", str(build)], capsys, "train")
    # SIGTERM in the simulation: training ran again (it had not finished), then the rest
    out = kill_run(build, "simulate", "vvp", signal.SIGTERM, whole_group=False)
    assert steps_run(out) == {**{s: "ran" for s in STEPS[:4]}, "simulate": "started"}
    refuses(["eval", str(build)], capsys, "simulate")
    refuses(["report", str(build)], capsys, "simulate")
    # Ctrl-C in place and route: the finished steps reused, the simulation run again
    out = kill_run(build, "bitstream", "nextpnr", signal.SIGINT, whole_group=True)
    assert steps_run(out) == {
        **{s: "reused" for s in STEPS[:4]},
        "simulate": "ran",
        "bitstream": "started",
    }
    assert not (build / "bitstream" / "icebreaker").exists()
    refuses(["report", str(build)], capsys, "bitstream")
    # the same command again: only place and route runs, the build is complete
    proc = start([sys.executable, "-m", "hwbnn.cli", *RUN, "--out", str(build), "--json"])
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])["steps"]
    ran = {name: step["status"] for name, step in summary.items()}
    assert ran == {**{s: "reused" for s in STEPS[:5]}, "csim": "not applicable", "bitstream": "ran"}
    assert manifest(build)["state"] == "complete"
    assert set(status(build).values()) == {"complete"}
    assert (build / "bitstream" / "icebreaker" / "hwbnn_board_top.bin").is_file()
