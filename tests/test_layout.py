"""The library's layout: imports flow one way, and model modules know nothing of training."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parent.parent / "oneshot_lib"
#: The modules that hold models, their maths, streams and scorers: they must not know how runs train.
MODEL_MODULES = ("siamese", "episodic", "transfer", "conv4", "pairs", "selfsupervised", "metalearning")
TRAINING_MODULES = {"config", "kinds", "optimizers", "callbacks", "run_folder", "trainer", "train", "pretrained"}


def library_imports(path: Path) -> set[str]:
    """Names of the oneshot_lib modules that ``path`` imports (relatively or absolutely)."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1 or module.startswith("oneshot_lib"):
                base = module.removeprefix("oneshot_lib").lstrip(".")
                if base:
                    imported.add(base.split(".")[0])
                else:  # from . import a, b
                    imported.update(alias.name for alias in node.names)
    return imported


def import_graph() -> dict[str, set[str]]:
    modules = {path.stem: path for path in LIBRARY.glob("*.py") if path.stem != "__init__"}
    return {name: library_imports(path) & set(modules) for name, path in modules.items()}


def test_no_import_circle():
    graph = import_graph()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            pytest.fail(f"import circle: {' -> '.join(path[path.index(module):] + [module])}")
        if module in done:
            return
        for imported in graph[module]:
            visit(imported, path + [module])
        done.add(module)

    for module in graph:
        visit(module, [])


@pytest.mark.parametrize("module", MODEL_MODULES)
def test_model_modules_know_nothing_of_training(module):
    assert not library_imports(LIBRARY / f"{module}.py") & TRAINING_MODULES


def test_every_import_stands_at_the_top_of_its_module():
    for path in LIBRARY.glob("*.py"):
        body = ast.parse(path.read_text()).body
        first_definition = next(
            (i for i, node in enumerate(body) if isinstance(node, ast.FunctionDef | ast.ClassDef)), len(body)
        )
        late = [node.lineno for node in body[first_definition:] if isinstance(node, ast.Import | ast.ImportFrom)]
        assert not late, f"{path.name} imports at line(s) {late}, after its first definition"


def test_the_readme_lists_every_module_above_the_ones_it_imports():
    readme = (LIBRARY.parent / "README.md").read_text()
    block = readme.split("oneshot_lib/       the library")[1].split("  checkpoints/")[0]
    order = [line.split()[0].removesuffix(".py") for line in block.splitlines()[1:] if line.strip()]
    graph = import_graph()
    assert sorted(order) == sorted(graph)
    position = {module: index for index, module in enumerate(order)}
    upward = [(module, up) for module, deps in graph.items() for up in deps if position[up] < position[module]]
    assert not upward, f"modules that import one listed above them: {upward}"
