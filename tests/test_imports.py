"""The package's shape: no import cycles, light pure functions, small modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import oneshot_lightning

PACKAGE = Path(oneshot_lightning.__file__).parent
#: The longest a package module may grow before it is split by responsibility.
MAX_LINES = 300


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path) -> set[str]:
    """Package modules ``path`` imports when it runs (function-level ones too; not for types)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # "from package import module" imports the module too.
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] == "oneshot_lightning"}


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        # Importing a.b.c runs a.b first, except for a's own packages (Python's normal order).
        targets = set()
        for target in runtime_imports(path):
            parts = target.split(".")
            targets |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        graph[name] = {t for t in targets if t in modules and t != name and t not in ancestors}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "oneshot_lightning.cli" in graph["oneshot_lightning.api"]  # the graph sees imports
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_pure_functions_load_without_lightning() -> None:
    code = (
        "import sys, oneshot_lightning.functional; "
        "print(sorted(m for m in sys.modules if m.startswith(('lightning', 'jsonargparse'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


def test_the_package_face_loads_the_api_on_first_use() -> None:
    assert oneshot_lightning.Restorer.__name__ == "Restorer"
    assert callable(oneshot_lightning.train)


def test_no_package_module_is_longer_than_the_limit() -> None:
    lengths = {
        str(path.relative_to(PACKAGE)): len(path.read_text().splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert {path: n for path, n in lengths.items() if n > MAX_LINES} == {}


def test_models_and_data_do_not_import_each_other() -> None:
    graph = import_graph()
    for name, targets in graph.items():
        for side, other in (("models", "data"), ("data", "models")):
            if name.startswith(f"oneshot_lightning.{side}"):
                reach = {t for t in targets if t.startswith(f"oneshot_lightning.{other}")}
                assert not reach, f"{name} imports {reach}"
