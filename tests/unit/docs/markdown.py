"""Reading the project's Markdown (README.md, docs/*.md) for the docs tests: fenced
code blocks, inline code, tables, links and headings with GitHub's anchor slugs."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@dataclass(frozen=True)
class Block:
    """A fenced code block: its language (may be empty), first line number, lines."""

    lang: str
    line: int
    lines: tuple[str, ...]


def split_fences(text: str) -> tuple[list[Block], list[tuple[int, str]]]:
    """The fenced code blocks, and the other lines (numbered from 1) as prose."""
    blocks: list[Block] = []
    prose: list[tuple[int, str]] = []
    fence: str | None = None
    lang, start, body = "", 0, []
    for number, line in enumerate(text.splitlines(), 1):
        match = _FENCE.match(line)
        if fence is None and match:
            fence, lang, start, body = match.group(1), match.group(2), number, []
        elif fence is not None and line.strip().startswith(fence) and not line.strip()[3:]:
            blocks.append(Block(lang, start + 1, tuple(body)))
            fence = None
        elif fence is not None:
            body.append(line)
        else:
            prose.append((number, line))
    assert fence is None, f"a code block opened at line {start} is never closed"
    return blocks, prose


def prose_text(text: str) -> str:
    """The text outside fenced code blocks (line numbers lost)."""
    return "\n".join(line for _, line in split_fences(text)[1])


def inline_code(text: str) -> list[str]:
    """Every inline code span outside fenced blocks (a span may wrap a line)."""
    return re.findall(r"`([^`]+)`", prose_text(text))


def tables(text: str) -> list[list[list[str]]]:
    """Every table outside fenced blocks, as rows of stripped cells (the header row
    first, the ``---`` row dropped)."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for _, line in [*split_fences(text)[1], (0, "")]:
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", stripped[1:-1])]
            if not all(re.fullmatch(r":?-{3,}:?", cell) for cell in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def table_with_header(path: Path, *first_cells: str) -> list[list[str]]:
    """The one table of ``path`` whose header starts with ``first_cells``."""
    matches = [table for table in tables(path.read_text())
               if tuple(table[0][:len(first_cells)]) == first_cells]
    assert len(matches) == 1, (f"{rel(path)}: expected one table whose header starts "
                               f"{first_cells}, found {len(matches)}")
    return matches[0]


def code_names(cell: str) -> list[str]:
    """The names a cell writes as inline code: `local-process`, `noop`..."""
    return re.findall(r"`([^`]+)`", cell)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: markup dropped, lowercased, every
    character but letters, digits, ``-``, ``_`` and spaces removed, spaces to ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings; a repeated one gets ``-1``, ``-2``..."""
    seen: Counter[str] = Counter()
    found: set[str] = set()
    for _, line in split_fences(path.read_text())[1]:
        match = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(2))
            found.add(base if not seen[base] else f"{base}-{seen[base]}")
            seen[base] += 1
    return found


def links(path: Path) -> list[tuple[int, str]]:
    """Every inline link and image target outside code (link text may wrap a line),
    with its line number."""
    text = path.read_text()
    kept = dict(split_fences(text)[1])
    lines = [kept.get(number, "") for number in range(1, len(text.splitlines()) + 1)]
    prose = re.sub(r"`[^`]*`", lambda m: re.sub(r"[^\n]", " ", m.group(0)), "\n".join(lines))
    return [(prose.count("\n", 0, match.start()) + 1, match.group(1))
            for match in re.finditer(
                r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", prose)]
