import ast
import subprocess
import sys
from pathlib import Path

import texplain_widgets


def test_public_api_resolves_every_name():
    for name in texplain_widgets.__all__:
        assert getattr(texplain_widgets, name) is not None
    assert texplain_widgets.TExplain.__module__ == "texplain_widgets.model.texplain"


def test_import_is_light():
    code = "import sys, texplain_widgets; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lazy_names_are_the_objects_not_same_named_modules():
    from texplain_widgets import attribution, widgets

    for package in (texplain_widgets, attribution, widgets):
        for name in package.__all__:
            if not name[0].isupper() or name in ("METHODS",):
                value = getattr(package, name)
                assert not isinstance(value, type(sys)), f"{package.__name__}.{name} is a module"
    assert callable(attribution.overlay) and callable(texplain_widgets.overlay)


PACKAGE = Path(texplain_widgets.__file__).parent


def _imports(path: Path) -> set[str]:
    """The package modules a module imports, at any depth of its code (lazy imports count)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            names = [f"{target}.{alias.name}" for alias in node.names]
            found |= {name for name in [target, *names] if _module_path(name)}
    return found - {module}


def _module_path(name: str) -> Path | None:
    path = PACKAGE.parent.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def test_no_import_cycles_between_modules():
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name != "__init__.py":  # packages only re-export (lazily) what their modules define
            name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
            graph[name] = {m for m in _imports(path) if not m.endswith("__init__")}
    graph = {name: {m for m in targets if m in graph} for name, targets in graph.items()}
    done, cycles = set(), []

    def visit(name, trail):
        if name in trail:
            cycles.append(trail[trail.index(name) :] + [name])
            return
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


def test_no_module_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, f"split these modules: {long}"


#: The data's way, from the bottom up: a module imports only from its own stage or those before it.
STAGES = [
    ["errors"],
    ["data", "words"],
    ["model"],
    ["attribution"],
    ["demo", "model_names"],
    ["runs"],
    ["mitigation"],
    ["widgets"],
    ["cli", "magic", "__init__"],
]


def _stage(module: str) -> int:
    part = module.split(".")[1] if "." in module else "__init__"
    return next(i for i, names in enumerate(STAGES) if part in names)


def test_imports_follow_the_data_s_way():
    """docs/architecture.md draws these stages; an import from a later stage is a wrong turn."""
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for target in _imports(path):
            if target.split(".")[1:2] and _stage(target) > _stage(module):
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the stages: " + "; ".join(sorted(wrong))
