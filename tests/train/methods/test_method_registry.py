"""The method registry: k=v arguments, composition rules and one-line errors (also from the
command line)."""

from __future__ import annotations

import pytest

from hwbnn.cli import main
from hwbnn.errors import ConfigError
from hwbnn.train.methods import build_method, build_methods


def test_typed_arguments() -> None:
    method = build_method("distill", ["alpha=0.25", "temperature=2", "adversarial=yes"])
    assert (method.args.alpha, method.args.temperature, method.args.adversarial) == (
        0.25,
        2.0,
        True,
    )
    assert method.describe().startswith("distill(alpha=0.25, temperature=2.0")


@pytest.mark.parametrize(
    ("name", "items", "message"),
    [
        ("nope", [], r"unknown training method 'nope'; valid methods: ste, approxsign, swishsign"),
        ("admm", ["rh=1"], r"method 'admm' has no argument 'rh'; valid: rho: float = 0.01"),
        ("admm", ["rho=x"], r"method 'admm' argument rho: expected float, got 'x'"),
        ("admm", ["rho"], r"method 'admm': expected k=v, got 'rho'"),
        ("xnor", ["a=1"], r"method 'xnor' takes no arguments"),
        ("distill", ["adversarial=maybe"], r"expected true or false"),
        ("bn", ["variant=half"], r"expected one of \['batch', 'center', 'none'\]"),
        ("swishsign", ["beta=-1"], r"beta must be > 0"),
    ],
)
def test_bad_method_or_argument(name: str, items: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_method(name, items)


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ([("ste", []), ("approxsign", [])], "'ste' and 'approxsign' both set the estimator"),
        ([("xnor", []), ("xnorpp", [])], "both set the scale"),
        ([("binaryrelax", []), ("admm", [])], "both set the weights"),
        ([("wq_loss", []), ("wq_loss", [])], "'wq_loss' given twice"),
        ([("fp", []), ("approxsign", [])], r"composes only with bn and two_stage"),
    ],
)
def test_composition_errors(specs, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_methods(specs)


def test_composable_methods() -> None:
    methods = build_methods(
        [("approxsign", []), ("distribution_loss", ["lam=0.5"]), ("two_stage", []), ("xnor", [])]
    )
    assert [m.name for m in methods] == ["approxsign", "distribution_loss", "two_stage", "xnor"]
    assert [m.name for m in build_methods([("fp", []), ("bn", []), ("two_stage", [])])] == [
        "fp",
        "bn",
        "two_stage",
    ]


def _error(argv: list[str], capsys) -> str:
    assert main(argv) != 0
    return capsys.readouterr().err


def test_cli_errors(tmp_path, capsys) -> None:
    out = ["--out", str(tmp_path / "run"), "--epochs", "1"]
    err = _error(["train", *out, "--method", "nope"], capsys)
    assert err.startswith("hwbnn: error: unknown training method 'nope'; valid methods: ste,")
    err = _error(["train", *out, "--method", "two_stage", "--method-arg", "lr_factr=2"], capsys)
    assert "method 'two_stage' has no argument 'lr_factr'; valid: lr_factor: float" in err
    with pytest.raises(SystemExit):
        main(["train", *out, "--method-arg", "k=2"])
    assert "--method-arg k=2 must follow a --method NAME" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_cli_method_arguments_bind_in_order() -> None:
    from hwbnn.cli import build_parser

    args = build_parser().parse_args(
        [
            "train",
            "--out",
            "x",
            "--method",
            "approxsign",
            "--method",
            "distribution_loss",
            "--method-arg",
            "lam=0.5",
            "--method",
            "two_stage",
            "--method-arg",
            "distribution_loss.epochs=2",
            "--method-arg",
            "patience=3",
        ]
    )
    assert args.methods == [
        ("approxsign", []),
        ("distribution_loss", ["lam=0.5", "epochs=2"]),
        ("two_stage", ["patience=3"]),
    ]
