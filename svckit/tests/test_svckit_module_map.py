"""svckit's docstring is its map: every module of the package is named there."""

import pkgutil

import svckit


def test_the_module_map_names_every_module() -> None:
    modules = {info.name for info in pkgutil.iter_modules(svckit.__path__)}
    missing = sorted(name for name in modules if f"- `{name}`:" not in (svckit.__doc__ or ""))
    assert not missing, f"svckit/__init__.py's module map does not name {missing}"
