"""Jupyter notebooks (.ipynb, nbformat 4): markdown and code cells as text; outputs dropped.

Outputs are what the code printed, not what the student wrote, and can be huge (images as base64).
Cells are marked the way jupytext's percent format does, so the model and the educator see where
each cell starts and line numbers stay meaningful.
"""

from __future__ import annotations

import json

from grading.errors import ApplicationError
from grading.ingest.text import decode_text, normalise_newlines

MIN_NBFORMAT = 4
CELL_MARKERS = {"markdown": "# %% [markdown]", "code": "# %%", "raw": "# %% [raw]"}


def extract_notebook_text(name: str, content: bytes) -> str:
    """The cells' sources in order, each under its marker; "" when every cell is empty."""
    try:
        notebook = json.loads(decode_text(name, content))
    except (ValueError, RecursionError):
        raise ApplicationError(
            f"{name}: the notebook is damaged (it is not valid JSON); save it again from Jupyter."
        ) from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise ApplicationError(f"{name}: this is not a Jupyter notebook (it has no cells).")
    version = notebook.get("nbformat")
    if not isinstance(version, int) or version < MIN_NBFORMAT:
        raise ApplicationError(
            f"{name}: notebook format {version} is too old; open and save it in Jupyter 4 or later."
        )
    blocks = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in CELL_MARKERS:
            raise ApplicationError(f"{name}: cell {number} of the notebook is damaged.")
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise ApplicationError(f"{name}: cell {number} of the notebook is damaged.")
        if source.strip():
            marker = CELL_MARKERS[cell["cell_type"]]
            blocks.append(f"{marker}\n{normalise_newlines(source).rstrip()}")
    return "\n\n".join(blocks)
