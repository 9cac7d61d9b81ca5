"""Where a chapter runs: live in a kernel a reader drives (JupyterLab), or executed by the book's builder for
the static site (``colorlib.book`` sets :data:`SITE_ENV`), where nothing can move. Imports nothing heavy, so
that the command line and the GPU run can use it without the notebook packages."""

from __future__ import annotations

import os

SITE_ENV = "COLORBOOK_SITE"  # set to 1 by the book's builder: the chapter is being executed for the static site


def on_site() -> bool:
    """Whether this process executes a chapter for the static site (no one can move a widget there)."""
    return os.environ.get(SITE_ENV) == "1"


def progress(*args, **kwargs):
    """The library's progress bar: ``tqdm.auto`` (a widget in a notebook, text in a terminal), and none at all
    when a chapter is executed for the site, where a frozen bar would be a dead widget on the page."""
    from tqdm.auto import tqdm

    if on_site():
        kwargs["disable"] = True
    return tqdm(*args, **kwargs)
