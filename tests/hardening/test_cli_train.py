"""`hwbnn train --out DIR` writes DIR only when training succeeds (issue 17: "a failed train
leaves an empty --out"): it trains into a staging directory next to DIR and renames it into
place at the end. A run that fails (a data error before training, an error or Ctrl-C during
it) leaves no DIR, no staging directory and no parent directory it made; a previous DIR is
left exactly as it was. The commands run through the CLI's ``main()``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from test_cli_inputs import assert_refused, run

from hwbnn.errors import DataError

TRAIN = ["train", "--model", "digits-mlp", "--hidden", "8", "--epochs", "1", "--json"]


def _left_over(parent: Path) -> list[str]:
    """Entries of ``parent`` (staging directories start with a dot)."""
    return sorted(p.name for p in parent.iterdir()) if parent.exists() else []


def _failing_train(exc: BaseException):  # noqa: ANN202
    """A stand-in for hwbnn.train.train that fails as a real run can: after the output
    directory was made and while the model trains."""

    def train(*args: object, **kwargs: object) -> None:
        raise exc

    return train


@pytest.mark.parametrize(
    ("failure", "status", "line"),
    [
        (DataError("diverged: loss is NaN at epoch 3"), 1, "hwbnn: error: diverged"),
        (KeyboardInterrupt(), 130, "hwbnn: interrupted"),
    ],
    ids=["error", "ctrl-c"],
)
def test_a_run_failing_while_training_leaves_no_out(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    failure: BaseException,
    status: int,
    line: str,
) -> None:
    import hwbnn.train

    monkeypatch.setattr(hwbnn.train, "train", _failing_train(failure))
    out = tmp_path / "runs" / "new" / "sfc"
    got, _, err = run([*TRAIN, "--out", str(out)], capfd)
    assert got == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line) and "Traceback" not in err, err
    assert not (tmp_path / "runs").exists()  # neither --out nor the parents made for it
    # a previous run's --out is kept as it was
    out = tmp_path / "old"
    out.mkdir()
    (out / "model.pt").write_bytes(b"the previous checkpoint")
    got, _, err = run([*TRAIN, "--out", str(out)], capfd)
    assert got == status, err
    assert _left_over(tmp_path) == ["old"] and _left_over(out) == ["model.pt"]
    assert (out / "model.pt").read_bytes() == b"the previous checkpoint"


def test_a_run_failing_on_its_data_leaves_no_out(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    missing = tmp_path / "no-such-dir"
    status, _, err = run(
        [*TRAIN, "--dataset", "mnist", "--data-dir", str(missing), "--out", str(out)], capfd
    )
    assert_refused(status, err, str(missing))
    assert _left_over(tmp_path) == []
    (tmp_path / "file").write_text("x")
    status, _, err = run([*TRAIN, "--out", str(tmp_path / "file")], capfd)
    assert_refused(status, err, str(tmp_path / "file"), "not a directory")
    assert _left_over(tmp_path) == ["file"]


def test_a_successful_run_writes_out_with_the_usual_mode(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new" / "run"
    status, stdout, err = run([*TRAIN, "--out", str(out)], capfd)
    assert status == 0, err
    assert _left_over(out.parent) == ["run"]  # no staging directory left
    assert {"model.pt", "metrics.json"} <= set(_left_over(out))
    assert f"checkpoint {out / 'model.pt'}" in stdout
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask  # as mkdir makes it


def test_a_second_run_replaces_its_files_and_keeps_the_others(tmp_path: Path) -> None:
    from hwbnn.cli.train import staged_output

    out = tmp_path / "run"
    out.mkdir()
    (out / "model.pt").write_text("old")
    (out / "notes.txt").write_text("mine")
    with staged_output(out) as staging:
        assert staging.parent == tmp_path and staging.name.startswith(".run.tmp-")
        (staging / "model.pt").write_text("new")
        (staging / "metrics.json").write_text("{}")
    assert _left_over(tmp_path) == ["run"]
    assert _left_over(out) == ["metrics.json", "model.pt", "notes.txt"]
    assert (out / "model.pt").read_text() == "new" and (out / "notes.txt").read_text() == "mine"
