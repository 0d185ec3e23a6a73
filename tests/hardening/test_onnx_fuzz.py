"""Fuzzed ONNX files through ``hwbnn compile`` (issue 17, part 1).

Hypothesis mutates four seed models (:mod:`onnx_fuzz`): graph edits, external data, damaged
bytes. Every file goes through the command line in one long-lived worker process
(:mod:`onnx_worker`) under a per-file deadline, a memory limit and a monitor of files opened
outside the model's folder. Each file must end in one of two ways: compiled, and then agreeing
exactly (labels) with qonnx execute_onnx on random input codes; or a one-line
``hwbnn: error: ...`` with exit status 1 and no build directory. A traceback, a crash, a hang,
a read of the sentinel file outside the folder, or a disagreement fails the test, which
lists every such file with its mutation. Shrinking is off: the mutation names the case.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from onnx_fuzz import Seeds, byte_cases, external_cases, graph_cases
from onnx_worker import GOOD, MODEL, OUTSIDE_FILE, Case, CompileWorker, OpenMonitor, Outcome

#: generated files per kind of mutation (1,000 in all)
FUZZ_COUNTS = {"graph": 600, "external": 200, "bytes": 200}


@pytest.fixture(scope="module")
def worker() -> Iterator[CompileWorker]:
    w = CompileWorker(deadline=30)
    yield w
    w.stop()


@pytest.fixture(scope="module")
def seeds(worker: CompileWorker, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return Seeds(worker.seeds(tmp_path_factory.mktemp("seeds")))


def test_open_monitor_sees_a_sentinel_through_a_link(tmp_path: Path) -> None:
    """The file-access check of the fuzz test can fail: an open of the sentinel, directly or
    through a symbolic link in the model's folder, is recorded; other opens are not."""
    sentinel = tmp_path / OUTSIDE_FILE
    sentinel.write_bytes(b"secret")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "link.bin").symlink_to(sentinel)
    monitor = OpenMonitor()
    monitor.arm({str(sentinel.resolve())})
    monitor("open", (str(tmp_path / "model" / "other.bin"), "rb", 0))
    monitor("open", (3, "rb", 0))  # a file descriptor
    assert monitor.opened == []
    monitor("open", (str(tmp_path / "model" / "link.bin"), "rb", 0))
    monitor("open", (sentinel, "rb", 0))
    assert monitor.opened == [str(sentinel.resolve())] * 2


def _fuzz(worker: CompileWorker, strategy: st.SearchStrategy[Case], count: int) -> Counter[str]:
    """Run ``count`` generated cases; the outcome counts, and an assertion listing failures."""
    counts: Counter[str] = Counter()
    failures: list[str] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(case: Case) -> None:
        outcome = worker.run(case)
        counts[outcome.kind + (" (must refuse)" if case.refuse else "")] += 1
        if outcome.kind not in GOOD or (case.refuse and outcome.kind != "error"):
            failures.append(f"{case.name}: {outcome.kind}: {outcome.detail}")

    run()
    assert not failures, f"{len(failures)} of {sum(counts.values())} files failed:\n" + "\n".join(
        failures[:20]
    )
    return counts


@pytest.mark.slow
def test_fuzzed_models_compile_or_fail_cleanly(
    worker: CompileWorker, seeds: dict[str, bytes]
) -> None:
    outcomes = {name: worker.run(Case(name, {MODEL: data})) for name, data in seeds.items()}
    assert outcomes == {name: Outcome("compiled") for name in seeds}  # the unmutated seeds
    strategies = {
        "graph": graph_cases(seeds),
        "external": external_cases(seeds),
        "bytes": byte_cases(seeds),
    }
    total: Counter[str] = Counter()
    for kind, count in FUZZ_COUNTS.items():
        counts = _fuzz(worker, strategies[kind], count)
        print(f"{kind}: {dict(counts)}")
        total.update(counts)
    print(f"all: {dict(total)}")
    assert sum(total.values()) >= sum(FUZZ_COUNTS.values())
    # both ends were exercised, and files pointing outside the model's folder were refused
    assert total["compiled"] > 0 and total["error"] > 0 and total["error (must refuse)"] > 0
