"""``hwbnn search``: binary architecture search (BNAS or CP-NAS) writing ``S/genotype.json``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

#: command-line option -> SearchConfig field (None: the option was not given, the config's
#: default applies; the parser stays free of torch, which hwbnn.search imports)
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

    given = {field: getattr(args, dest) for dest, field in FIELDS.items()}
    cfg = SearchConfig(**{k: v for k, v in given.items() if v is not None})
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
        f"{' (resumed)' if resumed else ''}; wrote {out / 'genotype.json'}"
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
    p.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    p.add_argument("--data-dir", type=Path, help="directory holding the MNIST files")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output directory: genotype.json, and search_state.pt after every epoch (a "
        "search started again with the same options resumes from it)",
    )
    p.add_argument("--seed", type=int, help="seed of the split, weights and samples [0]")
    p.add_argument("--epochs", type=int, help="search epochs [14]")
    p.add_argument("--warmup", type=int, help="epochs before the first reduction [3]")
    p.add_argument("--every", type=int, help="epochs between reductions [2]")
    p.add_argument("--channels", type=int, help="channels per node of the first cell [8]")
    p.add_argument("--stem-channels", type=int, help="channels of the stem [16]")
    p.add_argument("--steps", type=int, help="intermediate nodes per cell [2]")
    p.add_argument(
        "--partial-channels", type=int, metavar="K", help="PC-DARTS: 1/K of the channels [2]"
    )
    p.add_argument("--batch-size", type=int, help="batch size [64]")
    p.add_argument(
        "--cost-weight",
        type=float,
        help="weight of the FPGA cost term (normalised LUTs of the operations) [0: off]",
    )
    p.add_argument(
        "--cycles", type=int, help="target cycles/frame at which the operations are priced [1024]"
    )
    p.set_defaults(handler=cmd_search)
