"""The packages stack in layers: `agent` uses `display_layouts` and `firmware_bridge`,
never the reverse, and no package's modules import one another in a circle (issue 11).

Read from the source with `ast`, not by importing: every `import` counts wherever it
stands — at the top, inside a function, or under `if TYPE_CHECKING:` — because each one
is a dependency a reader has to follow and a change can turn into a run-time cycle.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Import:
    source: str  # the importing module
    target: str  # the module imported (a package's own module when `from p import m`)
    where: str  # file:line


def module_files(package: str, root: Path = ROOT) -> dict[str, Path]:
    """Every module of `package` by its dotted name (`p.sub` for `p/sub/__init__.py`)."""
    base = root / package
    modules = {}
    for path in sorted(base.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports_of(package: str, root: Path = ROOT) -> list[Import]:
    """Every import statement in `package`, resolved to the module it names."""
    modules = module_files(package, root)
    found = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            where = f"{path.relative_to(root).as_posix()}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                found += [Import(name, alias.name, where) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(name, is_package, node.module, node.level)
                for alias in node.names:
                    # `from p import m` imports the module p.m when there is one.
                    member = f"{base}.{alias.name}"
                    found.append(Import(name, member if member in modules else base, where))
    return found


def _absolute(module: str, is_package: bool, target: str | None, level: int) -> str:
    if level == 0:
        return target or ""
    parts = module.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (level - 1)]
    return ".".join([*anchor, *([target] if target else [])])


def upward_imports(package: str, above: tuple[str, ...], root: Path = ROOT) -> list[str]:
    """Imports from `package` into any of the packages `above` it."""
    return [
        f"{found.where}: {found.source} imports {found.target}"
        for found in imports_of(package, root)
        if found.target.split(".")[0] in above
    ]


def import_cycles(package: str, root: Path = ROOT) -> list[list[str]]:
    """Each set of `package`'s modules that import one another in a circle, as one
    circle through it (a → b → … → a); [] when the imports form a tree."""
    modules = module_files(package, root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for found in imports_of(package, root):
        if found.target in modules and found.target != found.source:
            graph[found.source].add(found.target)
    return [_circle(component, graph) for component in _strongly_connected(graph)]


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; only components of more than one module are returned."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _circle(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One path from the component's first module back to it, inside the component."""
    start = component[0]
    members = set(component)
    paths = [[start]]
    seen = {start}
    while paths:  # breadth first: the shortest circle reads best in a failure
        path = paths.pop(0)
        for target in sorted(graph[path[-1]] & members):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                paths.append([*path, target])
    return component  # unreachable for a strongly connected component


def _readable(cycles: list[list[str]]) -> list[str]:
    return [" → ".join(cycle) for cycle in cycles]


# --- the checker itself ------------------------------------------------------------------


def test_the_checker_finds_a_cycle_and_an_upward_import(tmp_path: Path) -> None:
    """The checks below pass only if they can fail: a package made to break both rules."""
    package = tmp_path / "lower"
    (package / "zones").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "zones" / "__init__.py").write_text("from lower.zones.base import Zone\n")
    (package / "model.py").write_text("from lower.zones.base import parse_color\n")
    (package / "zones" / "base.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from lower.paint import Paint\n"
    )
    (package / "paint.py").write_text(
        "from . import model\n\ndef later():\n    from upper.messages import ImageRef\n"
    )
    cycles = _readable(import_cycles("lower", tmp_path))
    upward = upward_imports("lower", ("upper",), tmp_path)
    assert cycles == ["lower.model → lower.zones.base → lower.paint → lower.model"]
    assert upward == ["lower/paint.py:4: lower.paint imports upper.messages"]


# --- the rules ---------------------------------------------------------------------------


def test_display_layouts_imports_nothing_above_it() -> None:
    """The renderer and the layouts are the bottom layer: the agent and the serial bridge
    use them, so they may not use either (a shared fact lives down here)."""
    assert upward_imports("display_layouts", ("agent", "firmware_bridge")) == []


def test_display_layouts_has_no_import_cycles() -> None:
    assert _readable(import_cycles("display_layouts")) == []


def test_firmware_bridge_imports_nothing_from_the_agent() -> None:
    assert upward_imports("firmware_bridge", ("agent",)) == []


def test_firmware_bridge_has_no_import_cycles() -> None:
    assert _readable(import_cycles("firmware_bridge")) == []


def test_agent_has_no_import_cycles() -> None:
    assert _readable(import_cycles("agent")) == []


def test_nothing_below_the_fleet_imports_it() -> None:
    """`fleet` (the city's side) sits on top: it reads the agent's models, topic table,
    CAP reader and signing; a board must never load it (nor FastAPI or SQLAlchemy)."""
    for package in ("agent", "display_layouts", "firmware_bridge", "signage_base"):
        assert upward_imports(package, ("fleet",)) == []


def test_fleet_has_no_import_cycles() -> None:
    assert _readable(import_cycles("fleet")) == []
