"""The ``jstmine`` Typer app and what its commands share: the consoles, failing with a message and
advice, settling an output directory before reading it, printing rows and a run's summary.

The commands live in ``flows.cli`` (run and inspect) and ``flows.cli_editions`` (followed reports,
editions, schedules); both import this module and never each other. ``flows.main`` puts them
together as the ``jstmine`` command.
"""
from __future__ import annotations

import flows  # noqa: F401  (sets Prefect's environment before Prefect is imported)

import os
import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from pipeline.errors import PipelineError
from pipeline.normalize import printable

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Japanese science-policy reports → evidence-backed tables.")


def reader_gone() -> NoReturn:
    """Stop quietly, exit status 0, when stdout's reader went away (``jstmine show … | head``):
    stdout is pointed at /dev/null, where Python flushes it again at exit, and no traceback.
    Click would exit 1 (and a shell's pipefail fail the pipeline) for output nobody wanted to read."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    raise typer.Exit(0)


class _Stdout:
    """sys.stdout as it is at each write (CliRunner swaps it), for rich; a closed pipe ends the
    command quietly (``reader_gone``)."""

    def __getattr__(self, name: str):
        return getattr(sys.stdout, name)

    def write(self, text: str) -> int:
        try:
            return sys.stdout.write(text)
        except BrokenPipeError:
            reader_gone()

    def flush(self) -> None:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            reader_gone()


console = Console(file=_Stdout())
err = Console(stderr=True)


def package_version() -> str:
    """jstmine's version, from the installed package's metadata (pyproject.toml's version)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jstmine")
    except PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"jstmine {package_version()}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", "-V", callback=_print_version, is_eager=True,
                                 help="Print jstmine's version and exit."),
) -> None:
    """Japanese science-policy reports → evidence-backed tables."""


def fail(what: str, todo: str = "", code: int = 1) -> None:
    # Messages quote paths and text from documents: never read them as rich markup.
    err.print(f"[bold red]error:[/] {escape(printable(what))}", soft_wrap=True)
    if todo:
        err.print(f"[yellow]what to do:[/] {escape(printable(todo))}", soft_wrap=True)
    raise typer.Exit(code)


def die(what: str, todo: str = "", code: int = 1) -> NoReturn:
    fail(what, todo, code)
    raise AssertionError("unreachable")  # _fail always raises


INTERRUPTED_EXIT = 130  # 128 + SIGINT, as a shell reports a command ended by Ctrl-C


def interrupted(what: str = "no edition is left half-published") -> NoReturn:
    """Stop a command interrupted by Ctrl-C: a short line on stderr (no traceback), then exit
    ``INTERRUPTED_EXIT``. What the run published before stays as it was; a run again goes on.

    A second Ctrl-C while the process exits is ignored (``flows.launch.main``, the command's
    own process: not here, where a test's in-process call would leave it ignored, and inherited
    by every process started after).

    Parameters:
        what: what became of the outputs (default: "no edition is left half-published": publishing is all or nothing, and the next run settles one cut short).
    """
    err.print(Text(f"interrupted: {what}; run again to go on", style="yellow"), soft_wrap=True)
    raise typer.Exit(INTERRUPTED_EXIT)


def stdout_console(min_width: int = 0) -> Console:
    """The terminal's width; when piped or captured, a wide page so rows are not folded."""
    if sys.stdout.isatty():
        return Console(file=_Stdout())
    try:
        width = int(os.environ.get("COLUMNS") or 200)
    except ValueError:
        width = 200
    return Console(file=_Stdout(), width=max(width, min_width))


def settle(out: Path) -> None:
    """Before reading an output directory: settle what a killed run left (pipeline.publish)."""
    from pipeline.publish import settle_before_reading

    for note in settle_before_reading(out):
        err.print(f"[cyan]note:[/] {escape(printable(note))}", soft_wrap=True)


def resolve_or_die(out: Path, edition: str | None) -> str:
    from pipeline.report import resolve_edition

    settle(out)

    try:
        return resolve_edition(out, edition)
    except PipelineError as exc:
        die(exc.what, exc.todo)


def clip(text: str, cells: int, *, keep: str = "start") -> str:
    """``text`` cut to ``cells`` terminal cells with an ellipsis (Japanese characters are two cells)."""
    from rich.cells import cell_len

    if cell_len(text) <= cells:
        return text
    chars = list(text) if keep == "start" else list(reversed(text))
    out, used = [], 1  # the ellipsis
    for ch in chars:
        used += cell_len(ch)
        if used > cells:
            break
        out.append(ch)
    return "".join(out) + "…" if keep == "start" else "…" + "".join(reversed(out))


def cell_text(value, max_width: int) -> Text:
    if value is None:
        return Text("")
    if isinstance(value, bool):
        s = "true" if value else "false"
    elif isinstance(value, float):
        s = f"{value:.4g}"
    elif isinstance(value, (list, tuple)):
        s = ", ".join("" if v is None else str(v) for v in value)
    elif isinstance(value, dict):
        s = ", ".join(f"{k}: {v}" for k, v in value.items())
    else:
        s = str(value)
    return Text(clip(printable(" ".join(s.split("\n"))), max_width))


def print_rows(console: Console, columns: list[str], rows: list[tuple], *, title: str, caption: str,
                max_width: int) -> None:
    """A table; when it is far too wide for the console, one block of column: value lines per row."""
    from rich.cells import cell_len

    cells = [[cell_text(v, max_width) for v in row] for row in rows]
    natural = sum(max([cell_len(name)] + [min(t.cell_len, max_width) for t in (r[i] for r in cells)]) + 3
                  for i, name in enumerate(columns))
    if title:
        console.print(Text(title, style="bold"))
    if rows and natural > console.width:
        for n, row in enumerate(cells, 1):
            block = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 0))
            block.add_column(style="bold", no_wrap=True)
            block.add_column(overflow="fold")
            for name, value in zip(columns, row, strict=True):
                block.add_row(Text(printable(name)), value)
            console.print(Text(f"─── row {n} ───", style="dim"))
            console.print(block)
        caption += "; one block per row, as the columns do not fit (pick some with --columns)"
    else:
        table = Table(header_style="bold")
        for i, name in enumerate(columns):
            values = [r[i] for r in rows if r[i] is not None]
            numeric = bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            table.add_column(Text(printable(name)), justify="right" if numeric else "left", overflow="fold")
        for row in cells:
            table.add_row(*row)
        console.print(table)
    if caption:
        console.print(Text(caption, style="dim"), soft_wrap=True)


def print_unbroken(columns: list[str], rows: list[list], *, title: str, unbroken: tuple[str, ...] = ()) -> None:
    """A table on stdout whose ``unbroken`` columns (URLs) are never folded over lines: piped, the
    page is as wide as the table; on a terminal too narrow for it, one block per row, each value
    on a line of its own (the terminal may wrap it, but the text is not broken).

    Parameters:
        columns: the column names.
        rows: the rows, one value per column (text from documents: made printable here).
        title: a line above the table.
        unbroken: the columns never to fold.
    """
    from rich.cells import cell_len

    texts = [["" if v is None else printable(v) for v in row] for row in rows]
    natural = sum(max([cell_len(name)] + [cell_len(r[i]) for r in texts]) + 3 for i, name in enumerate(columns)) + 1
    out = stdout_console(min_width=natural)
    if natural <= out.width:
        table = Table(title=Text(printable(title)), header_style="bold")
        for name in columns:
            table.add_column(Text(name), no_wrap=name in unbroken, overflow="ignore" if name in unbroken else "fold")
        for row in texts:
            table.add_row(*(Text(v) for v in row))
        out.print(table)
        return
    out.print(Text(printable(title), style="bold"))
    for n, row in enumerate(texts, 1):
        out.print(Text(f"─── {n} ───", style="dim"))
        for name, value in zip(columns, row, strict=True):
            out.print(Text.assemble((f"{name}: ", "bold"), value), soft_wrap=True)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def quote_identifier(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def escape_markup(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def print_summary(summary) -> None:
    console.print(f"[bold green]done:[/] edition [bold]{escape(summary.edition)}[/] — {summary.pages} pages, "
                  f"{summary.sentences} sentences, {summary.tokens} tokens, {summary.mentions} mentions")
    if summary.not_modified:
        console.print("the server said the PDF is unchanged: the stored copy was used")
    table = Table(title="country × technology (mentions)")
    table.add_column("country")
    table.add_column("technologies")
    by_country: dict[str, list[str]] = {}
    for r in summary.country_technology:
        by_country.setdefault(r["country"], []).append(f"{r['technology']} ({r['mentions']})")
    for country, techs in sorted(by_country.items()):
        table.add_row(country, ", ".join(techs))
    console.print(table)
    console.print(f"{summary.facts} policy facts, {summary.relations} relations, {summary.policies} named policies")
    if summary.findings:
        console.print("findings check (the summary's claims against the body): "
                      + ", ".join(f"{n} {s}" for s, n in summary.findings.items()))
    for note in getattr(summary, "notes", []):
        console.print(f"[cyan]note:[/] {escape(printable(note))}")
    for c in summary.contradicted:
        console.print(f"[red]contradicted:[/] {escape(printable(c))}")
    for p in summary.problems:
        console.print(f"[yellow]warning:[/] {escape(printable(p))}")
    console.print(Text(f"tables:   {printable(summary.output)}/  (Parquet and CSV)"))
    console.print(Text(f"database: {printable(summary.database)}"))
