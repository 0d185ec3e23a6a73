"""Run by tests/train/test_distributed.py under ``torchrun --nproc-per-node 2``: one epoch of
digits in float64 through :func:`hwbnn.train.train` (rank 0 saves the state dict), then the
unchanged ``hwbnn train`` command in float32 (rank 0 writes its output directory)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import torch

from hwbnn.data import load_dataset
from hwbnn.nn import model_config
from hwbnn.train import TrainConfig, distributed, train

BATCH = 64  # the global batch: 32 per process with two processes


def train_digits_f64() -> dict[str, torch.Tensor]:
    """One epoch of digits-mlp, seed 0, in float64 (rounding 1e-16: the two runs' sums in
    another order stay far from every sign's threshold); the trained weights."""
    torch.set_default_dtype(torch.float64)
    try:
        data = load_dataset("digits")
        data = dataclasses.replace(
            data, x_train=data.x_train.astype("float64"), x_test=data.x_test.astype("float64")
        )
        config = model_config(
            "digits-mlp",
            data.image_shape,
            data.classes,
            data.levels,
            data.input_bits,
            "binary",
            None,
        )
        result = train(config, data, TrainConfig(epochs=1, batch_size=BATCH, progress=False))
        wrapped = [m for m in result.model.modules() if "forward" in vars(m)]
        assert not wrapped, f"BatchNorm forwards left patched: {wrapped}"
        return result.model.state_dict()
    finally:
        torch.set_default_dtype(torch.float32)


if __name__ == "__main__":
    from hwbnn.cli import main

    out = Path(sys.argv[1])
    job = distributed.start()
    assert job is not None and job.world_size == 2, "run under torchrun --nproc-per-node 2"
    state = train_digits_f64()
    if job.is_main:
        torch.save(state, out / "float64.pt")
    sys.exit(
        main(["train", "--epochs", "1", "--batch-size", str(BATCH), "--out", str(out / "cli")])
    )
