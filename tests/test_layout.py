"""The library's layout: the folders are its layers, and imports flow one way between them.

A module may import modules of its own folder and of the layers below it, never above:

    backend, files, notebook  <-  data  <-  scoring  <-  models  <-  training  <-  pretrained, train, classify

``viz`` stands beside them and reads only ``data`` and ``scoring``. The layers come from the
folders themselves, so a new module is checked the moment it is added.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parent.parent / "oneshot_lib"
FOUNDATION = "foundation"  # the modules at the top of the package that others build on
ENTRY_POINTS = {"pretrained", "train", "classify"}  # the modules at the top of the package that build on everything
LAYERS = (FOUNDATION, "data", "scoring", "models", "training", "entry points")
MAY_IMPORT = {layer: set(LAYERS[: index + 1]) for index, layer in enumerate(LAYERS)} | {
    "viz": {FOUNDATION, "data", "scoring", "viz"},
}


def module_name(path: Path) -> str:
    """``oneshot_lib.scoring.evaluate`` for ``oneshot_lib/scoring/evaluate.py``."""
    parts = path.relative_to(LIBRARY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and (LIBRARY / parts[1]).is_dir()):
        return parts[1]
    if len(parts) == 1:
        return FOUNDATION  # the package's own __init__: short names only
    return "entry points" if parts[1] in ENTRY_POINTS else FOUNDATION


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in LIBRARY.rglob("*.py")}


def library_imports(path: Path) -> set[str]:
    """The oneshot_lib modules (or packages) that ``path`` imports at its top level or inside functions."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("oneshot_lib"):
            assert node.level == 0, f"{path}: relative import; the library imports absolutely"
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                imported.add(child if child in modules() else node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names if alias.name.startswith("oneshot_lib"))
    return imported


def import_graph() -> dict[str, set[str]]:
    return {name: library_imports(path) - {name} for name, path in modules().items()}


def test_every_module_imports_only_its_own_layer_and_those_below():
    upward = [
        f"{module} ({layer_of(module)}) imports {imported} ({layer_of(imported)})"
        for module, imports in import_graph().items()
        if module != "oneshot_lib"
        for imported in imports
        if layer_of(imported) not in MAY_IMPORT[layer_of(module)]
    ]
    assert not upward, "imports that run up the layers:\n" + "\n".join(upward)


def test_every_folder_is_a_known_layer():
    folders = {path.name for path in LIBRARY.iterdir() if (path / "__init__.py").is_file()}
    assert folders == set(MAY_IMPORT) - {FOUNDATION, "entry points"}


def test_no_import_circle():
    graph = import_graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            pytest.fail(f"import circle: {' -> '.join(path[path.index(module) :] + [module])}")
        if module in done:
            return
        for imported in graph.get(module, ()):
            if imported != "oneshot_lib":
                visit(imported, path + [module])
        done.add(module)

    for module in graph:
        visit(module, [])


def private_names_crossing(source: str) -> list[str]:
    """What ``source`` takes of another library module that is private (a leading underscore):
    ``from oneshot_lib.x import _name``, or ``module._name`` on a library module it imported."""
    tree = ast.parse(source)
    library_modules = set(modules())
    imported_modules = {}  # local name -> library module
    crossing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("oneshot_lib"):
            for alias in node.names:
                if alias.name.startswith("_"):
                    crossing.append(f"imports {alias.name} from {node.module}")
                if f"{node.module}.{alias.name}" in library_modules:
                    imported_modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("oneshot_lib") and alias.asname:
                    imported_modules[alias.asname] = alias.name
    for node in sorted(ast.walk(tree), key=lambda node: getattr(node, "lineno", 0)):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported_modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            crossing.append(
                f"uses {node.value.id}.{node.attr} of {imported_modules[node.value.id]} (line {node.lineno})"
            )
    return crossing


def test_no_private_name_crosses_a_module_boundary():
    crossing = [
        f"{module} {what}" for module, path in modules().items() for what in private_names_crossing(path.read_text())
    ]
    assert not crossing, "\n".join(crossing)


def test_a_private_name_taken_from_an_imported_module_is_caught():
    source = (
        "from oneshot_lib.models import conv4\n"
        "import oneshot_lib.scoring.evaluate as evaluate\n"
        "from oneshot_lib.scoring.shifts import _hidden\n"
        "conv4._check_labels(1)\nevaluate._rule\nconv4.__name__\nconv4.prepare_images\n"
    )
    assert private_names_crossing(source) == [
        "imports _hidden from oneshot_lib.scoring.shifts",
        "uses conv4._check_labels of oneshot_lib.models.conv4 (line 4)",
        "uses evaluate._rule of oneshot_lib.scoring.evaluate (line 5)",
    ]


def test_every_import_stands_at_the_top_of_its_module():
    for path in LIBRARY.rglob("*.py"):
        body = ast.parse(path.read_text()).body
        first_definition = next(
            (i for i, node in enumerate(body) if isinstance(node, ast.FunctionDef | ast.ClassDef)), len(body)
        )
        late = [node.lineno for node in body[first_definition:] if isinstance(node, ast.Import | ast.ImportFrom)]
        assert not late, f"{path.name} imports at line(s) {late}, after its first definition"


def test_the_short_names_a_chapter_types_are_the_modules_of_those_names():
    import oneshot_lib

    for name, folder in oneshot_lib.MODULES.items():
        assert (LIBRARY / folder / f"{name}.py").is_file(), f"oneshot_lib.{name} points at a missing module"


def test_the_readme_draws_every_folder_in_the_order_of_the_layers():
    readme = (LIBRARY.parent / "README.md").read_text()
    block = readme.split("oneshot_lib/       the library")[1].split("  checkpoints/")[0]
    drawn = [line.split()[0].rstrip("/") for line in block.splitlines()[1:] if line.startswith("  ") and line[2] != " "]
    folders = [name for name in drawn if (LIBRARY / name).is_dir()]
    assert folders == ["training", "models", "viz", "scoring", "data"]
