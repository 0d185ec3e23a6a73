"""``hwbnn search``: binary architecture search (BNAS or CP-NAS) writing ``S/genotype.json``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: command-line option -> SearchConfig field; the option defaults repeat SearchConfig's (the
#: parser stays free of torch, which hwbnn.search imports; tests/search/test_loop.py checks
#: that they agree)
FIELDS = {
    "method": "method",
    "dataset": "dataset",
    "seed": "seed",
    "epochs": "epochs",
    "warmup": "warmup",
    "every": "every",
    "channels": "channels",
    "stem_channels": "stem_channels",
    "steps": "steps",
    "partial_channels": "k",
    "batch_size": "batch_size",
    "cost_weight": "cost_weight",
    "cycles": "cycles",
}


def cmd_search(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.search.config import SearchConfig
    from hwbnn.search.loop import STATE_FILE, run_search

    cfg = SearchConfig(**{field: getattr(args, dest) for dest, field in FIELDS.items()})
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        from hwbnn.errors import ConfigError

        raise ConfigError(f"{out}: exists and is not a directory; choose another --out")
    resumed = (out / STATE_FILE).exists()
    genotype = run_search(cfg, out, args.data_dir, progress=not args.json)
    record = genotype.search

    def cell(kind: str) -> str:
        nodes = genotype.to_dict()[kind]
        return "; ".join(" + ".join(f"{op}({src})" for op, src in node) for node in nodes)

    print(
        f"hwbnn search {cfg.method.value}: normal [{cell('normal')}], reduce "
        f"[{cell('reduce')}]; cells' estimated {record['estimated_cell_luts']} LUTs at "
        f"{cfg.cycles} cycles/frame; supernet val accuracy "
        f"{record['supernet_val_accuracy']:.3f}; {record['wall_time_s']} s"
        f"{' (resumed)' if resumed else ''}; wrote {out / 'genotype.json'} and cells.png"
    )
    print(
        "the synthesized cost needs the trained network: hwbnn run --genotype "
        f"{out / 'genotype.json'} --out BUILD (yosys' counts in BUILD/report.json)"
    )
    return {
        "genotype": str(out / "genotype.json"),
        "method": cfg.method.value,
        "estimated_cell_luts": record["estimated_cell_luts"],
        "supernet_val_accuracy": record["supernet_val_accuracy"],
        "wall_time_s": record["wall_time_s"],
        "resumed": resumed,
    }


def register(add) -> None:  # noqa: ANN001 - the parser factory of hwbnn.cli.build_parser
    p = add(
        "search",
        "search a binary cell architecture (BNAS or CP-NAS) and write S/genotype.json",
        "hwbnn search --method bnas --dataset digits --out runs/search",
    )
    p.add_argument("--method", choices=("bnas", "cpnas"), default="bnas", help="search method")
    p.add_argument(
        "--dataset",
        choices=("digits", "mnist"),
        default="digits",
        help="data set (its training split; mnist reads the IDX files in --data-dir)",
    )
    p.add_argument("--data-dir", type=Path, help="directory holding the MNIST files")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output directory: genotype.json, cells.png (a picture of the cells), and "
        "search_state.pt after every epoch (a search started again with the same options "
        "resumes from it)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the split, weights and samples")
    p.add_argument("--epochs", type=int, default=14, help="search epochs")
    p.add_argument("--warmup", type=int, default=3, help="epochs before the first reduction")
    p.add_argument("--every", type=int, default=2, help="epochs between reductions")
    p.add_argument("--channels", type=int, default=8, help="channels per node of the first cell")
    p.add_argument("--stem-channels", type=int, default=16, help="channels of the stem")
    p.add_argument("--steps", type=int, default=2, help="intermediate nodes per cell")
    p.add_argument(
        "--partial-channels", type=int, default=2, metavar="K", help="PC-DARTS: 1/K of the channels"
    )
    p.add_argument("--batch-size", type=int, default=64, help="batch size")
    p.add_argument(
        "--cost-weight",
        type=float,
        default=0.0,
        help="weight of the FPGA cost term: the architecture loss adds it times the operations' "
        "normalised LUTs, and abandoning weighs each score by exp(-weight * LUTs / dearest); "
        "0.03 to 0.1 trade accuracy for LUTs on digits (docs/search.md); 0: off",
    )
    p.add_argument(
        "--cycles",
        type=int,
        default=1024,
        help="target cycles/frame at which the operations are priced",
    )
    p.set_defaults(handler=cmd_search)
