"""The step runner: digests, reuse, resume after a failure or Ctrl-C, slices and forcing."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwbnn.build import step_records
from hwbnn.errors import ConfigError, HwbnnError
from hwbnn.pipeline.config import RunConfig, TrainOptions
from hwbnn.pipeline.runner import Context, Step, StepResult, describe, run_steps


class Recorder:
    """Three steps: ``a`` writes a.txt from the config's epochs, ``b`` copies it to b.txt,
    ``c`` (after b) writes c.txt; each call is logged, ``fail`` makes a step raise."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: dict[str, BaseException] = {}

    def step(self, name: str, body) -> Step:  # noqa: ANN001
        def run(ctx: Context) -> StepResult:
            self.calls.append(name)
            if name in self.fail:
                raise self.fail[name]
            body(ctx)
            return StepResult(f"{name} done", {"name": name})

        return run  # type: ignore[return-value]

    def flow(self) -> tuple[Step, ...]:
        def a(ctx: Context) -> None:
            (ctx.build / "a.txt").write_text(str(ctx.cfg.train.epochs))

        def b(ctx: Context) -> None:
            (ctx.build / "b.txt").write_text((ctx.build / "a.txt").read_text())

        def c(ctx: Context) -> None:
            (ctx.build / "c.txt").write_text("c")

        return (
            Step(
                "a",
                "make a",
                self.step("a", a),
                config=lambda ctx: ctx.cfg.train.epochs,
                outputs=("a.txt",),
            ),
            Step(
                "b",
                "copy a",
                self.step("b", b),
                inputs=lambda ctx: [ctx.build / "a.txt"],
                outputs=("b.txt",),
            ),
            Step("c", "after b", self.step("c", c), after=("b",), outputs=("c.txt",)),
        )


def _ctx(build: Path, epochs: int = 1) -> Context:
    build.mkdir(exist_ok=True)
    lines: list[str] = []
    ctx = Context(RunConfig(out=build, train=TrainOptions(epochs=epochs)), build, say=lines.append)
    ctx.extra["lines"] = lines
    return ctx


def test_second_run_reuses_every_step(tmp_path: Path) -> None:
    rec = Recorder()
    runs = run_steps(rec.flow(), _ctx(tmp_path))
    assert [r.status for r in runs] == ["ran"] * 3 and rec.calls == ["a", "b", "c"]
    runs = run_steps(rec.flow(), _ctx(tmp_path))
    assert [r.status for r in runs] == ["reused"] * 3 and rec.calls == ["a", "b", "c"]
    assert set(step_records(tmp_path)) == {"a", "b", "c"}


def test_changed_config_reruns_the_step_and_those_whose_inputs_changed(tmp_path: Path) -> None:
    rec = Recorder()
    run_steps(rec.flow(), _ctx(tmp_path, epochs=1))
    rec.calls.clear()
    run_steps(rec.flow(), _ctx(tmp_path, epochs=2))
    # a's config changed; a.txt changed, so b reruns; b's digest changed, so c reruns
    assert rec.calls == ["a", "b", "c"]
    rec.calls.clear()
    (tmp_path / "a.txt").write_text("edited")
    run_steps(rec.flow(), _ctx(tmp_path, epochs=2))
    assert rec.calls == ["b", "c"]


def test_failed_step_is_not_recorded_and_the_rerun_resumes_there(tmp_path: Path) -> None:
    rec = Recorder()
    rec.fail["b"] = HwbnnError("boom")
    with pytest.raises(HwbnnError, match="boom"):
        run_steps(rec.flow(), _ctx(tmp_path))
    assert set(step_records(tmp_path)) == {"a"}
    rec.fail.clear()
    rec.calls.clear()
    run_steps(rec.flow(), _ctx(tmp_path))
    assert rec.calls == ["b", "c"]


def test_interrupted_step_says_how_to_resume(tmp_path: Path) -> None:
    rec = Recorder()
    run_steps(rec.flow(), _ctx(tmp_path))
    rec.fail["c"] = KeyboardInterrupt()
    ctx = _ctx(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_steps(rec.flow(), ctx, start="c")
    assert "interrupted in step c" in ctx.extra["lines"][-1]
    assert "c" not in step_records(tmp_path)
    rec.fail.clear()
    rec.calls.clear()
    run_steps(rec.flow(), _ctx(tmp_path))
    assert rec.calls == ["c"]


def test_missing_output_reruns_a_recorded_step(tmp_path: Path) -> None:
    rec = Recorder()
    run_steps(rec.flow(), _ctx(tmp_path))
    (tmp_path / "c.txt").unlink()
    rec.calls.clear()
    run_steps(rec.flow(), _ctx(tmp_path))
    assert rec.calls == ["c"]


def test_slices_force_and_missing_predecessors(tmp_path: Path) -> None:
    rec = Recorder()
    with pytest.raises(ConfigError, match="step b needs .*a.txt"):
        run_steps(rec.flow(), _ctx(tmp_path), start="b")
    run_steps(rec.flow(), _ctx(tmp_path), stop="a")
    assert rec.calls == ["a"]
    with pytest.raises(ConfigError, match="step c needs step b"):
        run_steps(rec.flow(), _ctx(tmp_path), start="c")
    run_steps(rec.flow(), _ctx(tmp_path), start="b")
    assert rec.calls == ["a", "b", "c"]
    run_steps(rec.flow(), _ctx(tmp_path), start="b", stop="b")  # --from forces its step
    assert rec.calls == ["a", "b", "c", "b"]
    with pytest.raises(ConfigError, match="unknown step 'x'; the steps are a, b, c"):
        run_steps(rec.flow(), _ctx(tmp_path), start="x")
    with pytest.raises(ConfigError, match="step c comes after step a"):
        run_steps(rec.flow(), _ctx(tmp_path), start="c", stop="a")


def test_describe_shows_each_steps_state(tmp_path: Path) -> None:
    rec = Recorder()
    run_steps(rec.flow(), _ctx(tmp_path), stop="b")
    (tmp_path / "a.txt").write_text("edited")
    lines = describe(rec.flow(), _ctx(tmp_path))
    assert "finished" in lines[0] and "changed" not in lines[0]
    assert "inputs changed since" in lines[1]
    assert lines[2].rstrip().endswith("not run")
