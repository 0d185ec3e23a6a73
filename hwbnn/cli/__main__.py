"""``python -m hwbnn.cli``: the ``hwbnn`` command."""

import sys

from hwbnn.cli import main

sys.exit(main())
