"""Finds files under templates/, which ships inside the package (see pyproject.toml)."""

from importlib import resources
from pathlib import Path


def read(name: str) -> str:
    packaged = resources.files("tuna").joinpath("templates", name)
    if packaged.is_file():
        return packaged.read_text()
    # A source checkout (or editable install) keeps templates/ beside the package.
    return (Path(__file__).resolve().parent.parent / "templates" / name).read_text()
