"""``jstmine schema``: the data dictionary (every table and column, its type and meaning).

    jstmine schema [TABLE] [--format table|markdown|json]

The dictionary is ``pipeline.dictionary`` (generated from the table specs; the same as
docs/data-dictionary.md). Reads no output directory: it describes what any edition has.
"""
from __future__ import annotations

import flows  # noqa: F401  (sets Prefect's environment before Prefect is imported)

from enum import Enum

import typer
from rich.table import Table
from rich.text import Text

from flows.app import app, die, stdout_console


class SchemaFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"


@app.command()
def schema(
    table: str = typer.Argument(None, help="One table (documents, sentences, mentions …) or view (latest_editions, "
                                           "latest_mentions …); default: every table and view."),
    fmt: SchemaFormat = typer.Option(SchemaFormat.table, "--format", "-f",
                                     help="table (on the terminal), markdown (as docs/data-dictionary.md) or json."),
) -> None:
    """Print the data dictionary: every table's columns with their type, whether they can be
    empty, and what they mean (ids, units, date formats)."""
    from pipeline.dictionary import (CONVENTIONS, LATEST_RULE, TABLES, as_json, dictionary, markdown, view_as_json,
                                     view_columns, views, views_markdown)
    from pipeline.tables import SPECS

    view = table is not None and table in views()
    if table is not None and table not in SPECS and not view:
        die(f"there is no table or view {table!r}", f"name one of: {', '.join(SPECS)}, or a view: latest_editions, "
                                                    "latest_<table> (or none for every table)")
    if fmt is SchemaFormat.markdown:
        typer.echo(views_markdown(table) if view else markdown(table))
        return
    if fmt is SchemaFormat.json:
        typer.echo(view_as_json(table) if view else as_json(table))
        return
    if view:
        _print_columns(f"{table} (view): {views()[table]}", LATEST_RULE, view_columns(table))
        return
    console = stdout_console(min_width=100)
    if table is None:
        console.print(Text(CONVENTIONS.rstrip()))
        console.print()
    rows = dictionary(table)
    for name in dict.fromkeys(c.table for c in rows):
        out = Table(title=Text(f"{name}: {TABLES.get(name, '')}", style="bold"), title_justify="left",
                    caption=Text(f"key (unique within an edition): {', '.join(SPECS[name].key)}"),
                    caption_justify="left", header_style="bold", expand=True)
        out.add_column("column", no_wrap=True)
        out.add_column("type", no_wrap=True)
        out.add_column("required", no_wrap=True)
        out.add_column("description", ratio=1, overflow="fold")
        for c in rows:
            if c.table == name:
                out.add_row(Text(c.name), Text(c.type), "yes" if c.required else "", Text(c.description))
        console.print(out)


def _print_columns(title: str, caption: str, columns) -> None:
    """One table (or view) of the dictionary on the terminal: its columns, type, required, description."""
    out = Table(title=Text(title, style="bold"), title_justify="left", caption=Text(caption), caption_justify="left",
                header_style="bold", expand=True)
    out.add_column("column", no_wrap=True)
    out.add_column("type", no_wrap=True)
    out.add_column("required", no_wrap=True)
    out.add_column("description", ratio=1, overflow="fold")
    for c in columns:
        out.add_row(Text(c.name), Text(c.type), "yes" if c.required else "", Text(c.description))
    stdout_console(min_width=100).print(out)
