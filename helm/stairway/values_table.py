"""README.md's values table, built from the `# --` comments in values.yaml (helm-docs' convention).

    python helm/stairway/values_table.py           # rewrite the table in README.md
    python helm/stairway/values_table.py --check   # exit 1 when README.md's table is stale

A `# -- description` comment documents the key on the line below it; plain `#` lines right after it
continue the description, and `# -- (type) description` names a type the default cannot show.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parent
START = "<!-- values-table:start -->"
END = "<!-- values-table:end -->"
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_-]+):(?: |$)")
DOC_LINE = re.compile(r"^ *# -- (?:\((?P<type>[^)]+)\) )?(?P<text>.*)$")
MORE_LINE = re.compile(r"^ *#(?: (?P<text>.*))?$")
TYPES = ((bool, "bool"), (int, "int"), (float, "float"), (str, "string"), (list, "list"), (dict, "object"))

KeyPath = tuple[str, ...]


@dataclass(frozen=True)
class Doc:
    """What a `# --` comment says about one key."""

    type: str | None
    description: str


def documented(values_yaml: str) -> dict[KeyPath, Doc]:
    """Each documented key (its path from the top) and what its comment says."""
    docs: dict[KeyPath, Doc] = {}
    parents: list[tuple[int, str]] = []
    pending: tuple[str | None, list[str]] | None = None
    for line in values_yaml.splitlines():
        if doc := DOC_LINE.match(line):
            pending = (doc["type"], [doc["text"]])
        elif pending is not None and (more := MORE_LINE.match(line)):
            pending[1].append(more["text"] or "")
        elif key := KEY_LINE.match(line):
            indent = len(key["indent"])
            while parents and parents[-1][0] >= indent:
                parents.pop()
            parents.append((indent, key["key"]))
            if pending is not None:
                docs[tuple(name for _, name in parents)] = Doc(pending[0], " ".join(pending[1]).strip())
            pending = None
        else:
            pending = None
    return docs


def leaves(values: Any, path: KeyPath = ()) -> list[KeyPath]:
    """Every value's path, down to scalars, lists and empty maps."""
    if isinstance(values, dict) and values:
        return [leaf for key, value in values.items() for leaf in leaves(value, (*path, key))]
    return [path]


def undocumented(values: dict[str, Any], docs: dict[KeyPath, Doc]) -> list[str]:
    """Values that neither their own comment nor a parent's describes."""
    return [
        ".".join(leaf)
        for leaf in leaves(values)
        if not any(leaf[:length] in docs for length in range(1, len(leaf) + 1))
    ]


def _type(value: Any) -> str:
    return next(name for kind, name in TYPES if isinstance(value, kind))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(values_yaml: str) -> str:
    """The Markdown table: key, type, default and description of every documented value."""
    values = yaml.safe_load(values_yaml)
    rows = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    for path, doc in documented(values_yaml).items():
        default = values
        for key in path:
            default = default[key]
        shown = _cell(json.dumps(default, ensure_ascii=False))
        rows.append(f"| {'.'.join(path)} | {doc.type or _type(default)} | `{shown}` | {_cell(doc.description)} |")
    return "\n".join(rows)


def with_table(readme: str, values_yaml: str) -> str:
    """README.md's text with the table between its markers replaced by the current one."""
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{table(values_yaml)}\n{END}{after}"


def main(argv: list[str]) -> int:
    """Rewrite README.md's table, or with --check say whether it is current."""
    values_yaml = (CHART / "values.yaml").read_text(encoding="utf-8")
    missing = undocumented(yaml.safe_load(values_yaml), documented(values_yaml))
    if missing:
        print(f"values.yaml: no `# --` comment describes {', '.join(missing)}", file=sys.stderr)
        return 1
    readme_path = CHART / "README.md"
    readme = readme_path.read_text(encoding="utf-8")
    current = with_table(readme, values_yaml)
    if argv[1:] == ["--check"]:
        if current != readme:
            print("README.md's values table is stale: run python helm/stairway/values_table.py", file=sys.stderr)
            return 1
        return 0
    readme_path.write_text(current, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
