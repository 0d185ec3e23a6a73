"""Binary neural architecture search: BNAS (Chen et al., AAAI 2020) and CP-NAS (Zhuo et al.,
IJCAI 2020) over the binary DARTS cells of :mod:`hwbnn.nn.genotype`, on PC-DARTS' partial
channels (Xu et al., ICLR 2020), with an optional FPGA cost term from the project's resource
model (docs/search.md).

- :mod:`~hwbnn.search.partial`: partial channels, channel shuffle, edge normalisation;
- :mod:`~hwbnn.search.supernet`: the architecture parameters and the supernet;
- :mod:`~hwbnn.search.reduce`: the reduction schedule, BNAS' score, CP-NAS' indicator;
- :mod:`~hwbnn.search.losses`: CP-NAS' kernel-level Child-Parent loss and the centre loss;
- :mod:`~hwbnn.search.bnas`, :mod:`~hwbnn.search.cpnas`: the two methods;
- :mod:`~hwbnn.search.cost`: the LUTs of each operation at a target cycles/frame;
- :mod:`~hwbnn.search.derive`: the genotype from the architecture weights;
- :mod:`~hwbnn.search.loop`: the loop, its checkpoints and resumption.
"""

from hwbnn.search.config import Method, SearchConfig
from hwbnn.search.loop import run_search

__all__ = ["Method", "SearchConfig", "run_search"]
