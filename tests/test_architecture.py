"""The interfaces (API, web, command line) reach each stage through its package's public
entry points only, never through its modules: what ARCHITECTURE.md promises."""

import ast
from pathlib import Path

import caseline

SOURCE = Path(caseline.__file__).parent
INTERFACES = ("api", "web", "cli")
SHARED = {"config", "errors", "db"}  # leaves every layer may import


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        (n.lineno, a.name) for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    ]
    found += [
        (n.lineno, n.module)
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module and n.level == 0
    ]
    return sorted((line, name) for line, name in found if name.startswith("caseline."))


def test_interfaces_import_stages_only_through_their_packages() -> None:
    modules = [p for name in INTERFACES for p in (SOURCE / name).rglob("*.py")]
    modules.append(SOURCE / "server.py")
    assert len(modules) > 10
    reaching_in = [
        f"{path.relative_to(SOURCE)}:{line} imports {name}"
        for path in modules
        for line, name in _imports(path)
        if len(parts := name.split(".")) > 2 and parts[1] not in (*INTERFACES, *SHARED)
    ]
    assert reaching_in == []


def test_the_check_sees_a_module_reaching_in(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from caseline.resolve.explain import explain_pair\nimport caseline.cases\n")
    assert _imports(probe) == [(1, "caseline.resolve.explain"), (2, "caseline.cases")]
