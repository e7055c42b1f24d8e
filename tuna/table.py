"""Aligned, borderless tables and a little colour, for the commands that must start fast.

rich is the nicer renderer, but importing it costs `show-gpus` and `list` ~80 ms of a ~120 ms
budget (benchmarks/README.md); these tables need only padding and a few ANSI styles.
"""

from __future__ import annotations

import os
import sys

BOLD, GREEN, RED, YELLOW, DIM = "1", "32", "31", "33", "2"


def colour_wanted(stream) -> bool:
    """Colour on a terminal only, and never when NO_COLOR is set (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def style(text: str, code: str | None, on: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if on and code else text


def width(columns: dict[str, list[str]]) -> int:
    """Characters the table needs to show every cell whole (two spaces between columns)."""
    return sum(max(map(len, [header, *cells])) for header, cells in columns.items()) \
        + 2 * (len(columns) - 1)


def render(columns: dict[str, list[str]], colour: bool, right: tuple[str, ...] = (),
           styles: dict[tuple[int, str], str] | None = None) -> list[str]:
    """Lines of a table given as header -> cells; `right`-aligned columns; `styles` colours the
    cell of (row, header)."""
    sizes = {header: max(map(len, [header, *cells])) for header, cells in columns.items()}

    def cell(text: str, header: str, code: str | None) -> str:
        padded = text.rjust(sizes[header]) if header in right else text.ljust(sizes[header])
        return style(padded, code, colour)

    lines = ["  ".join(cell(h, h, BOLD) for h in columns).rstrip()]
    for row in range(len(next(iter(columns.values()), []))):
        lines.append("  ".join(cell(cells[row], h, (styles or {}).get((row, h)))
                               for h, cells in columns.items()).rstrip())
    return lines


def terminal_width(stream=sys.stdout) -> int | None:
    """Columns of the terminal the stream writes to; None when it is not a terminal."""
    if not stream.isatty():
        return None
    import shutil

    return shutil.get_terminal_size().columns


def plural(count: int, noun: str) -> str:
    """'1 service', '2 services'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
