"""The layout's rules, read from the source: no import cycles, arrows that follow the data flow, small modules."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "twitapp"
MAX_LINES = 400

#: Layers in the order data flows; a module may import its own layer and those before it, never a later one.
LAYERS = [
    {"config", "exceptions", "formatting", "extensions", "responses", "log", "redis_client"},
    {"models", "sources"},
    {"services", "authorship"},
    {"runtime"},
    {"tasks"},
    {"security", "errors", "cli", "web", "api"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """The twitapp modules that ``path`` imports, at module level or inside functions."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("twitapp"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("twitapp"):
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    return {module_name(p): imported_modules(p) for p in PACKAGE.rglob("*.py")}


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "twitapp"


def layer_of(module: str) -> int | None:
    return next((i for i, names in enumerate(LAYERS) if top(module) in names), None)


def test_no_module_imports_itself_through_others():
    edges = graph()
    # module-level imports only would be stricter; deferred imports are allowed to point back to the app
    # factory (``twitapp``) alone, which builds the app for a worker started without Flask.
    edges = {m: {t for t in targets if t != "twitapp"} for m, targets in edges.items()}
    cycles = []

    def visit(node: str, stack: list[str], seen: set[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in stack:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in seen:
                seen.add(nxt)
                visit(nxt, [*stack, nxt], seen)

    for start in sorted(edges):
        visit(start, [start], {start})

    # a package's __init__ re-exporting its submodules is not a cycle of behaviour
    def nested(a: str, b: str) -> bool:
        return a.startswith(b + ".") or b.startswith(a + ".")

    real = [c for c in cycles if not any(nested(a, b) for a, b in itertools.pairwise(c))]
    assert not real, "import cycles: " + "; ".join(" -> ".join(c) for c in real[:5])


def test_imports_follow_the_data_flow():
    wrong = []
    for module, targets in graph().items():
        here = layer_of(module)
        for target in targets:
            there = layer_of(target)
            if here is not None and there is not None and there > here:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the data flow: " + ", ".join(sorted(wrong))


def test_the_api_does_not_import_the_pages():
    offenders = [m for m, targets in graph().items() if top(m) == "api" and any(top(t) == "web" for t in targets)]
    assert not offenders


def test_no_module_is_over_400_lines():
    sizes = {p.relative_to(PACKAGE): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")}
    assert not {str(p): n for p, n in sizes.items() if n > MAX_LINES}
