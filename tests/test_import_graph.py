"""The project's import graph: no circles, and the layers import one way (DESIGN.md).

Reads every module's imports (function-level ones too; `if TYPE_CHECKING:` blocks are type
hints, not imports) without running them.
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("estimator_lib", "components", "console", "model_names", "pipelines", "serving",
            "examples")


def _modules() -> dict[str, str]:
    modules = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                    modules[module.removesuffix(".__init__")] = path
    return modules


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: str) -> set[str]:
    found, pending = set(), [ast.parse(open(path).read())]
    while pending:
        node = pending.pop()
        if _type_checking(node):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {module: {d for d in _imports(path) if d in modules and d != module
                     and not module.startswith(d + ".")}
            for module, path in modules.items()}


def _cycles(graph):
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def test_no_module_imports_itself_round_a_circle(graph):
    assert _cycles(graph) == []


@pytest.mark.parametrize("lower, upper", [
    ("estimator_lib", ("components", "pipelines", "serving", "examples")),
    ("model_names", ("estimator_lib", "components", "console", "pipelines", "serving",
                     "examples")),
    ("serving", ("components", "pipelines")),
    ("components.artifacts", ("components.model", "components.ingest", "components.transform",
                              "components.trainer", "components.evaluator",
                              "components.pusher", "pipelines")),
    ("components.model", ("components.ingest", "components.transform", "components.trainer",
                          "components.evaluator", "components.pusher", "pipelines")),
    ("components", ("pipelines",)),
])
def test_layers_import_one_way(graph, lower, upper):
    wrong = sorted((module, d) for module, deps in graph.items() if module.startswith(lower)
                   for d in deps if d.startswith(upper))
    assert wrong == []


def test_steps_meet_only_through_artifacts(graph):
    steps = ("ingest", "transform", "trainer", "evaluator", "pusher")
    wrong = sorted((module, d) for module, deps in graph.items() for d in deps
                   for step in steps if module.startswith(f"components.{step}.")
                   and any(d.startswith(f"components.{other}") for other in steps
                           if other != step))
    assert wrong == []
