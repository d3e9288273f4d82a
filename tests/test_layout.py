"""The package's layers (README, "Layout"): every import of qbjax code, lazy ones included,
runs down the list or within one layer, and no module reaches for another's private names."""

import ast
from pathlib import Path

import qbjax

PACKAGE = Path(qbjax.__file__).parent
# bottom to top; a module's layer is its first component below qbjax
LAYERS = (
    {"_checks", "_version", "precision", "memory", "devices", "program_cache"},
    {"operators"},
    {"kernels"},
    {"models"},
    {"measures"},
    {"engines"},
    {"tasks"},
    {"open"},
    {"app"},
    {"__init__", "__main__"},
)


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return next(i for i, names in enumerate(LAYERS) if top in names)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path):
    """(imported qbjax module, imported names) of every `from ... import` in a file."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            if target.startswith("qbjax"):
                yield target, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("qbjax"):
                    yield alias.name, []


def _files():
    return sorted(PACKAGE.rglob("*.py"))


def test_layers_cover_every_module():
    for path in _files():
        _layer(_module_name(path) if path.name != "__main__.py" else "qbjax.__main__")


def test_no_import_runs_up():
    upward = []
    for path in _files():
        here = _layer(_module_name(path))
        for target, names in _imports(path):
            # `from .. import x` imports the module qbjax.x: its layer is x's
            targets = [f"{target}.{n}" for n in names] if target == "qbjax" else [target]
            for module in targets:
                if module != "qbjax" and _layer(module) > here:
                    upward.append(f"{path.relative_to(PACKAGE.parent)} imports {module}")
    assert upward == []


def test_no_module_imports_private_names_of_another():
    modules = {_module_name(path) for path in _files()}
    private = []
    for path in _files():
        for target, names in _imports(path):
            for name in names:
                if name.startswith("_") and not name.startswith("__") and f"{target}.{name}" not in modules:
                    private.append(f"{path.relative_to(PACKAGE.parent)}: {name} from {target}")
    assert private == []


def test_every_name_the_readme_documents_is_there():
    import re

    readme = (PACKAGE.parent / "README.md").read_text()
    documented = sorted(set(re.findall(r"qbjax\.([A-Za-z_]\w*)", readme)))
    assert len(documented) > 20
    assert [name for name in documented if not hasattr(qbjax, name)] == []
