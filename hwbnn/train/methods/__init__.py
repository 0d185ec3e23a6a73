"""Training methods from the binary-network literature, each deployable on hwbnn's hardware.

``hwbnn train --method NAME [--method-arg k=v ...] [--method NAME2 ...]`` selects them; each
``--method-arg`` belongs to the ``--method`` before it (or names it: ``NAME.k=v``). Every method
trains the same XNOR-popcount network: per-channel scales are exported as a ``Mul`` after the
exact +-1 MatMul and fold into the integer thresholds, and methods that change only training
(estimators, losses, schedules, initialisations) export the same graph as the baseline.

Composition: methods apply in the order given; loss terms add up; every other contribution has a
*slot* that at most one method may fill:

========== ==================================================================
slot       methods
========== ==================================================================
estimator  ste (the default clipped STE), approxsign, swishsign
scale      xnor, xnorpp
weights    binaryrelax, admm, bwnh, cbcn, dbf (they own the forward weights / init)
lr         two_stage (it owns the learning rate and the clipping)
norm       bn
precision  fp (composes only with bn and two_stage)
========== ==================================================================

Losses (distribution_loss, wq_loss, projection_loss, distill) compose with everything binary,
e.g. ``--method approxsign --method distribution_loss --method two_stage``. ``ci_bcnn`` (channel
interactions after the convolutions) has no slot: it composes with every method that keeps the
convolutions' outputs integer (not dbf, not xnorpp on a conv net).
"""

from __future__ import annotations

from collections.abc import Sequence

from hwbnn.errors import ConfigError
from hwbnn.train.methods.admm import ADMM
from hwbnn.train.methods.approxsign import ApproxSign
from hwbnn.train.methods.base import Method, Slot, check_composition, describe_args
from hwbnn.train.methods.binaryrelax import BinaryRelax
from hwbnn.train.methods.bn import BatchNormVariant
from hwbnn.train.methods.bwnh import BWNH
from hwbnn.train.methods.cbcn import CBCN
from hwbnn.train.methods.ci_bcnn import CIBCNN
from hwbnn.train.methods.dbf import DeterministicBinaryFilters
from hwbnn.train.methods.distill import Distill
from hwbnn.train.methods.distribution_loss import DistributionLoss
from hwbnn.train.methods.fp import FullPrecision
from hwbnn.train.methods.projection_loss import ProjectionLoss
from hwbnn.train.methods.ste import ClippedSTE
from hwbnn.train.methods.swishsign import SwishSign
from hwbnn.train.methods.two_stage import TwoStage
from hwbnn.train.methods.wq_loss import WeightQuantLoss
from hwbnn.train.methods.xnor import XnorNet
from hwbnn.train.methods.xnorpp import XnorNetPP

METHODS: dict[str, type[Method]] = {
    cls.name: cls
    for cls in (
        ClippedSTE,
        ApproxSign,
        SwishSign,
        XnorNet,
        XnorNetPP,
        BinaryRelax,
        ADMM,
        DistributionLoss,
        WeightQuantLoss,
        ProjectionLoss,
        Distill,
        BatchNormVariant,
        TwoStage,
        BWNH,
        CBCN,
        DeterministicBinaryFilters,
        CIBCNN,
        FullPrecision,
    )
}


def method_list() -> str:
    """``name: summary`` of every method, one per line."""
    return "\n".join(f"{name}: {cls.summary}" for name, cls in METHODS.items())


def build_method(name: str, items: Sequence[str] = ()) -> Method:
    """The method ``name`` with arguments from ``k=v`` strings (ConfigError listing the valid
    methods or arguments otherwise)."""
    cls = METHODS.get(name)
    if cls is None:
        raise ConfigError(f"unknown training method {name!r}; valid methods: {', '.join(METHODS)}")
    return cls.from_strings(list(items))


def build_methods(specs: Sequence[tuple[str, Sequence[str]]]) -> tuple[Method, ...]:
    """Methods from ``(name, [k=v, ...])`` pairs, checked for composition."""
    return check_composition(tuple(build_method(name, items) for name, items in specs))


__all__ = [
    "METHODS",
    "Method",
    "Slot",
    "build_method",
    "build_methods",
    "check_composition",
    "describe_args",
    "method_list",
]
