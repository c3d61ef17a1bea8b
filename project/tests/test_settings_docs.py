"""The settings tables in the READMEs are written from the settings classes, and stay so."""

import importlib
import inspect
import pkgutil

import svckit
from devkit import settings_docs
from pydantic_settings import BaseSettings


def test_every_settings_table_matches_its_classes() -> None:
    stale = [str(path.relative_to(settings_docs.REPO_ROOT)) for path in settings_docs.stale()]
    assert not stale, f"settings tables out of step in {stale}: run `{settings_docs.COMMAND}`"


def test_every_settings_class_has_a_table() -> None:
    # Every `src/<package>/settings.py` of the workspace, and every svckit module (the log
    # entry's caps are settings too).
    modules = [f"svckit.{info.name}" for info in pkgutil.iter_modules(svckit.__path__)] + [
        f"{path.parent.name}.settings"
        for path in settings_docs.REPO_ROOT.glob("**/src/*/settings.py")
        if ".venv" not in path.parts
    ]
    classes = {
        f"{module}:{name}"
        for module in modules
        for name, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass)
        if issubclass(cls, BaseSettings) and cls.__module__ == module
    }
    assert len(classes) >= 10
    missing = classes - settings_docs.documented()
    assert not missing, f"no README marks a settings table for {sorted(missing)}"
