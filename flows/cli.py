"""``jstmine``: the command line over the flows.

    jstmine run --source URL|PATH [--edition NAME] [--out DIR]
"""
from __future__ import annotations

import flows  # noqa: F401  (sets Prefect's environment before Prefect is imported)

import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

import typer
from rich.console import Console
from rich.table import Table

from pipeline.errors import PipelineError

DEFAULT_SOURCE = "https://spap.jst.go.jp/investigation/report_2022.html#fy24_rr02"

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Japanese science-policy reports → evidence-backed tables.")
console = Console()
err = Console(stderr=True)


@app.callback()
def _main() -> None:
    """Japanese science-policy reports → evidence-backed tables."""


def _fail(what: str, todo: str = "", code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {what}")
    if todo:
        err.print(f"[yellow]what to do:[/] {todo}")
    raise typer.Exit(code)


def check_reachable(source: str, timeout: float = 5.0) -> None:
    """Fail fast, before Prefect starts, when a URL's host cannot even be resolved (offline)."""
    parsed = urlparse(source)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return
    socket.setdefaulttimeout(timeout)
    try:
        socket.getaddrinfo(parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80))
    except OSError as exc:
        _fail(
            f"cannot reach {parsed.hostname} to download {source} ({exc.strerror or exc}); this machine seems offline",
            "connect to the network and run again, or process a PDF you already have: "
            "jstmine run --source PATH/TO/report.pdf (make demo runs the offline sample edition)",
        )
    finally:
        socket.setdefaulttimeout(None)


@app.command()
def run(
    source: str = typer.Option(DEFAULT_SOURCE, help="PDF URL, listing-page URL with #entry-id, or a local PDF path."),
    edition: str = typer.Option(None, help="Edition name (directory under --out). Default: from the source."),
    out: Path = typer.Option(Path("processed"), help="Output directory."),
    raw: Path = typer.Option(Path("raw"), help="Where downloaded PDFs and their manifest are kept."),
    mode: str = typer.Option("C", help="Sudachi split mode: A, B or C."),
    lexicon: Path = typer.Option(None, help="A lexicon TOML to use instead of the packaged one."),
) -> None:
    """Download (or read) a report, extract, tokenize and tag it, and publish its tables."""
    check_reachable(source)
    with console.status(f"Processing {source} (Prefect is starting; this takes a few seconds)…"):
        from flows.process_report import process_report

        try:
            summary = process_report(
                source=source,
                edition=edition,
                out_dir=str(out),
                raw_dir=str(raw),
                tokenizer_mode=mode,
                lexicon_path=str(lexicon) if lexicon else "",
            )
        except PipelineError as exc:
            _fail(exc.what, exc.todo)
        except Exception as exc:  # a bug, not bad input: say so
            _fail(f"unexpected {type(exc).__name__}: {exc}", "this is a bug in jstmine; report it with the command you ran", code=2)
    print_summary(summary)


def print_summary(summary) -> None:
    console.print(f"[bold green]done:[/] edition [bold]{summary.edition}[/] — {summary.pages} pages, "
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
    for p in summary.problems:
        console.print(f"[yellow]warning:[/] {p}")
    console.print(f"tables:   {summary.output}/  (Parquet and CSV)")
    console.print(f"database: {summary.database}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
