"""The offline demo: build the sample edition, serve it on loopback, run the full flow on it.

Acquire downloads over real HTTP (from a server this script starts and stops on 127.0.0.1),
so every stage runs as it would on the JST site: resolve the listing page's #fy24_rr02 entry,
download, extract, tokenize, tag, publish.
"""
from __future__ import annotations

import functools
import os
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))

from samples.build import LISTING_FRAGMENT, build_listing_html, build_sample_pdf, listing_entries  # noqa: E402


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the flow logs what matters
        pass


def main() -> int:
    from flows.main import app

    with tempfile.TemporaryDirectory(prefix="jstmine-demo-") as site:
        site_dir = Path(site)
        pdf = build_sample_pdf(site_dir / "sample-report.pdf")
        build_listing_html(listing_entries(pdf.name), site_dir / "report_2022.html")
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=site))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_address[1]}/report_2022.html#{LISTING_FRAGMENT}"
        print(f"serving the sample edition at {url}")
        try:
            code = _call(app, ["run", "--source", url, "--edition", "sample"])
        finally:
            server.shutdown()
            server.server_close()
    # `run` ends by writing the analyst's view of it, the HTML report, and prints its path.
    return code


def _call(app, args: list[str]) -> int:
    try:
        result = app(args, standalone_mode=False)
    except SystemExit as exc:  # typer.Exit from a failed command
        return int(exc.code or 0)
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
