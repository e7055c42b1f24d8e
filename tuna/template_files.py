"""Finds files under templates/, which ships inside the package (see pyproject.toml)."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def read(name: str) -> str:
    packaged = _PACKAGE / "templates" / name
    if packaged.is_file():
        return packaged.read_text()
    # A source checkout (or editable install) keeps templates/ beside the package.
    return (_PACKAGE.parent / "templates" / name).read_text()
