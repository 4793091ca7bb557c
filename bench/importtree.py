"""`python -X importtime` output as a tree of the largest cumulative imports.

Python prints one line per import when it finishes, a child before its parent and two
spaces deeper: `import time: self [us] | cumulative | <indent>name`. Lines that are not
import lines (the agent's own log on the same stderr) are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)\s*$")


@dataclass
class Import:
    name: str
    self_us: int
    cumulative_us: int
    children: list[Import] = field(default_factory=list)


def parse_importtime(text: str) -> list[Import]:
    """The top-level imports, in the order they finished, each with its children."""
    pending: dict[int, list[Import]] = {}  # finished imports not yet given to a parent
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        level = len(match.group(3)) // 2
        node = Import(match.group(4), int(match.group(1)), int(match.group(2)))
        node.children = pending.pop(level + 1, [])
        pending.setdefault(level, []).append(node)
    return pending.get(0, [])


def total_us(roots: list[Import]) -> int:
    return sum(node.cumulative_us for node in roots)


def render_tree(
    roots: list[Import], *, limit: int = 25, min_share: float = 0.02, depth: int = 4
) -> str:
    """The largest imports (cumulative), biggest first, children indented under their
    parent; only those of at least `min_share` of the whole, at most `limit` lines."""
    whole = max(1, total_us(roots))
    lines = [f"  all imports: {whole / 1000:.0f} ms cumulative"]

    def walk(nodes: list[Import], level: int) -> None:
        for node in sorted(nodes, key=lambda n: n.cumulative_us, reverse=True):
            if len(lines) > limit or node.cumulative_us < min_share * whole:
                return
            share = 100 * node.cumulative_us / whole
            lines.append(
                f"  {'  ' * level}{node.name}: {node.cumulative_us / 1000:.1f} ms"
                f" ({share:.0f} %, self {node.self_us / 1000:.1f} ms)"
            )
            if level + 1 < depth:
                walk(node.children, level + 1)

    walk(roots, 0)
    return "\n".join(lines)
