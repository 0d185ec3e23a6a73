"""Training of binary networks."""

from hwbnn.train.checkpoint import load_checkpoint, save_checkpoint
from hwbnn.train.trainer import TrainConfig, TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "load_checkpoint", "save_checkpoint", "train"]
