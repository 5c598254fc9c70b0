"""``stackup schema plan|saved-plan|progress``: the JSON Schemas (draft 2020-12) of what stackup
prints for pipelines, so that a policy check or a parser can validate what it reads.

Pipeline position: CLI only; the schemas are package data (``stackup/schemas/*.json``), checked
against real output by the tests. ``saved-plan`` refers to the plan's schema by its ``$id``; the
printed document embeds it under ``$defs``, so that it validates on its own.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import click

SCHEMAS = {"plan": "plan.json", "saved-plan": "saved-plan.json",
           "progress": "progress-event.json"}


def schema(name: str) -> dict[str, Any]:
    """The named schema, self-contained (``saved-plan`` with the plan's schema embedded)."""
    def read(file: str) -> dict[str, Any]:
        text = resources.files("stackup").joinpath("schemas", file).read_text(encoding="utf-8")
        found: dict[str, Any] = json.loads(text)
        return found

    document = read(SCHEMAS[name])
    if name == "saved-plan":
        embedded = read(SCHEMAS["plan"])
        embedded.pop("$schema", None)
        document.setdefault("$defs", {})["plan"] = embedded
    return document


@click.command("schema")
@click.argument("name", type=click.Choice(sorted(SCHEMAS)))
def schema_cmd(name: str) -> None:
    """Print the JSON Schema of the plan JSON, a saved plan or the progress events."""
    click.echo(json.dumps(schema(name), indent=2, ensure_ascii=False))
