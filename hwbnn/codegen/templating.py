"""The one Jinja2 set-up of the code generators: StrictUndefined, no escaping, tidy blocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2


def render_file(directory: Path, name: str, **context: Any) -> str:
    """Render template ``directory/name``; a variable missing from ``context`` raises
    jinja2.UndefinedError (StrictUndefined), so nothing is ever spliced in as empty text."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    return env.get_template(name).render(**context)
