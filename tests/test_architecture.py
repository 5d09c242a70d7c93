"""The app graph runs one way (README, "Architecture"): a package imports only packages on its
own layer or below, never another app's views or forms, and no two modules import each other.
Imports inside functions count: they are imports all the same."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

# Lowest first; a package imports only packages on lower layers.
LAYERS: list[tuple[str, ...]] = [
    ("kernel",),
    ("sandbox",),
    ("accounts",),
    ("verification",),
    ("enterprise",),
    ("support",),
    ("hostapi",),
    ("webhooks",),
    ("realname",),
    ("devstack",),
]
LAYER_OF = {package: level for level, packages in enumerate(LAYERS) for package in packages}
# The sandbox vendor is the outside world's stand-in: a service of its own on the kernel. Our
# client for it imports the signing helper it ships, as a real vendor's SDK would be; nothing
# else of ours imports it.
SANDBOX_CLIENTS = {"verification.providers.sandbox", "verification.checks"}
# Modules whose role is to be used by their own app only; the kernel's are made to be shared.
PRIVATE_ROLES = ("views", "forms")
SHARED = {"kernel"}


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in LAYER_OF:
        for path in (BASE_DIR / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(BASE_DIR).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = project_modules()


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> Iterator[str]:
    if node.level:
        base = module.split(".")
        if path.name != "__init__.py":
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    for alias in node.names:
        # ``from package import module`` imports the module; ``from module import name`` the
        # module itself.
        candidate = f"{target}.{alias.name}"
        yield candidate if candidate in MODULES else target


def imports_of(module: str, path: Path) -> set[str]:
    """Every project module ``module`` imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets: Iterator[str] = (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            targets = _resolve(module, path, node)
        else:
            continue
        for target in targets:
            # The nearest project module that is the target or contains it.
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


GRAPH = {module: imports_of(module, path) for module, path in MODULES.items()}


def _package(module: str) -> str:
    return module.split(".")[0]


def test_every_package_is_placed_on_a_layer() -> None:
    top_level = {
        path.parent.name
        for path in BASE_DIR.glob("*/__init__.py")
        if path.parent.name not in {"tests", "bench"}
    }
    assert top_level == set(LAYER_OF), "add the new package to LAYERS (and to the README)"


def upward_imports() -> list[str]:
    problems = []
    for module, targets in GRAPH.items():
        source = _package(module)
        for target in targets:
            destination = _package(target)
            if destination == source:
                continue
            if LAYER_OF[destination] >= LAYER_OF[source]:
                problems.append(f"{module} imports {target}")
    return sorted(problems)


def test_imports_run_one_way() -> None:
    problems = upward_imports()
    assert not problems, "\n".join(problems)


def test_only_the_sandbox_client_imports_the_sandbox() -> None:
    importers = {
        module
        for module, targets in GRAPH.items()
        if _package(module) != "sandbox" and any(_package(t) == "sandbox" for t in targets)
    }
    assert importers <= SANDBOX_CLIENTS, sorted(importers - SANDBOX_CLIENTS)


def test_no_app_imports_another_apps_views_or_forms() -> None:
    problems = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _package(target) not in {_package(module), *SHARED}
        and any(part in PRIVATE_ROLES for part in target.split(".")[1:])
    ]
    assert not problems, "\n".join(sorted(problems))


def test_no_two_modules_import_each_other() -> None:
    pairs = {
        tuple(sorted((module, target)))
        for module, targets in GRAPH.items()
        for target in targets
        if module in GRAPH.get(target, set())
    }
    assert not pairs, "\n".join(" <-> ".join(pair) for pair in sorted(pairs))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from verification.models import PersonalVerification", "verification.models"),
        ("from . import services", "accounts.services"),
        ("from .sms import get_sms_backend", "accounts.sms"),
        ("def f():\n    from enterprise import selectors", "enterprise.selectors"),
    ],
)
def test_the_walk_sees_every_form_of_import(tmp_path: Path, source: str, expected: str) -> None:
    """The rule is only as good as the walk: relative, nested and function-level imports."""
    path = tmp_path / "views.py"
    path.write_text(source)
    assert expected in imports_of("accounts.views", path)
