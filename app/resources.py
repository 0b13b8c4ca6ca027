"""Where the page's files are: inside the installed package (app/static, app/templates, put
there by setup.py), or beside app/ in a source checkout and an editable install."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def page_files(name: str) -> Path:
    """The folder `name` ("static" or "templates")."""
    shipped = resources.files("app") / name
    if shipped.is_dir():
        return Path(str(shipped))
    local = CHECKOUT / name
    if (CHECKOUT / "pyproject.toml").is_file() and local.is_dir():
        return local
    raise RuntimeError(
        f"the page's {name}/ folder is missing from the installed package ({shipped}); reinstall cnn-playground"
    )
