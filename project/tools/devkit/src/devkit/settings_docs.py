"""Each README's settings table, written from the settings classes it names.

A README marks its table with the classes it documents, dotted `module:Class`:

    <!-- settings: broker_service.settings:BrokerSettings svckit.contract:EntryLimits -->
    ...the generated table...
    <!-- /settings -->

Each row is a field the class itself declares (an inherited field only when the class sets
its own default): its environment variable, its default and its `Field(description=...)`
(the nearest in the class's ancestry, so `PORT` keeps the base's words).

    uv run --frozen python -m devkit.settings_docs           # rewrite the tables
    uv run --frozen python -m devkit.settings_docs --check   # name the READMEs out of step
"""

import argparse
import importlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from pydantic import SecretStr
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

REPO_ROOT = Path(__file__).resolve().parents[5]
COMMAND = "make -C project settings-docs"

BLOCK = re.compile(
    r"(?P<open><!-- settings: (?P<classes>[^>]*?) -->\n)(?P<table>.*?)"
    r"(?P<close><!-- /settings -->)",
    re.DOTALL,
)


def _load(dotted: str) -> type[BaseSettings]:
    module, _, name = dotted.partition(":")
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, BaseSettings)):
        raise TypeError(f"{dotted} is not a pydantic-settings class")
    return cls


def _description(cls: type[BaseSettings], name: str) -> str:
    for klass in cls.__mro__:
        fields = getattr(klass, "__pydantic_fields__", {})
        if name in fields and fields[name].description:
            return " ".join(str(fields[name].description).split())
    raise ValueError(f"{cls.__module__}.{cls.__name__}.{name} has no Field(description=...)")


def _default(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        value = value.relative_to(REPO_ROOT) if value.is_relative_to(REPO_ROOT) else value
    if isinstance(value, list | tuple):
        value = ",".join(map(str, value))
    return f"`{value}`" if str(value) else "empty"


def rows(cls: type[BaseSettings]) -> Iterator[str]:
    """One table row per field the class declares itself."""
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    own = vars(cls).get("__annotations__", {})
    for name, field in cls.model_fields.items():
        if name not in own:
            continue
        if field.default_factory is not None:
            default = _default(field.default_factory())  # type: ignore[call-arg]
        elif field.default is PydanticUndefined:
            default = "required"
        else:
            default = _default(field.default)
        meaning = _description(cls, name).replace("|", "\\|")
        yield f"| `{prefix}{name.upper()}` | {default} | {meaning} |"


def table(classes: str) -> str:
    lines = [
        f"<!-- written by `{COMMAND}` from the classes' Field(description=...): edit those -->",
        "| env var | default | meaning |",
        "| --- | --- | --- |",
    ]
    for dotted in classes.split():
        lines.extend(rows(_load(dotted)))
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    """The README with every marked table written anew."""
    return BLOCK.sub(
        lambda m: m["open"] + table(m["classes"]) + m["close"],
        text,
    )


def readmes(root: Path = REPO_ROOT) -> Iterator[Path]:
    """Every README.md in the repository that marks a settings table."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "node_modules")
        if "README.md" in files:
            path = Path(folder) / "README.md"
            if BLOCK.search(path.read_text(encoding="utf-8")):
                yield path


def documented(root: Path = REPO_ROOT) -> set[str]:
    """Every `module:Class` some README's table documents."""
    return {
        dotted
        for path in readmes(root)
        for match in BLOCK.finditer(path.read_text(encoding="utf-8"))
        for dotted in match["classes"].split()
    }


def stale(root: Path = REPO_ROOT) -> list[Path]:
    """The READMEs whose tables differ from their classes."""
    return [
        path for path in readmes(root) if render(text := path.read_text(encoding="utf-8")) != text
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args()
    if args.check:
        out_of_step = stale()
        for path in out_of_step:
            print(f"{path.relative_to(REPO_ROOT)}: settings table out of step; run `{COMMAND}`")
        return 1 if out_of_step else 0
    for path in readmes():
        text = path.read_text(encoding="utf-8")
        if (new := render(text)) != text:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
