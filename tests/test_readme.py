"""Every example in README.md runs, against the sample edition, and exits as the README says.

The examples are found in the README itself, not listed here: every command line of its ```bash
blocks and every ```python block, so an example added or changed is tested as it is written.
Each runs with bash (a python block with ``.venv/bin/python``) in a directory that stands for
the checkout, made by the fixture ``project``:

* it is a copy of the checkout's files (so a command that writes beside them, such as
  ``scripts/demo.py``, which takes the project's root from its own path, writes into the copy),
  with ``.venv`` a link to the checkout's;
* ``processed/`` and ``raw/`` are what ``make demo`` made there (the edition ``sample``), plus the
  two editions the README's edition examples name: ``fy24_rr02-2025-04-01`` (the sample PDF from
  the listing page's ``#fy24_rr02`` entry) and ``fy24_rr02-2025-06-02`` (the sample with the
  changes of tests/test_editions.py: Korea's 12 technologies become 13, …);
* ``sources.toml`` follows the listing page on a loopback server (tests/httpserver.py) instead of
  JST's site, and a jstmine command that reads the sources file (discover, update) without
  ``--sources`` is given it (its default is the checkout's file, which follows JST's site);
  ``path/to/report.pdf`` is the sample PDF; ``https://…/`` is that server;
* ``127.0.0.1:4200`` (the Prefect server the README starts) is the session's Prefect server on
  loopback (``prefect_api_server`` in tests/conftest.py), and PREFECT_API_URL points at it.

Every example gets a fresh copy of the directory, so one that removes or re-runs an edition does
not change what the next one sees. How an example is run is decided by rules (``plan``), each
saying why:

* ``make test``: not run, as this test is part of it (no recursion);
* ``make demo``: run by the fixture, which builds the sample edition with it; its result is checked;
* a command that starts a long-running server or a Dask cluster (a line ending in ``&``, ``make
  server``, ``prefect server start``, ``jstmine server start|status|stop``, ``dask scheduler|worker``),
  serves until Ctrl-C (``serve``) or needs the Dask scheduler those lines start (``tcp://…``): run
  in its ``--help`` form, which must know every option the example uses (tests/test_schedule.py,
  tests/test_dask.py and tests/test_server.py run them for real against servers on loopback);
* a command that needs the real network (a URL on another host than loopback, in the line or in
  the make target's recipe): run offline, in a network namespace of its own (``unshare -n``, so no
  packet leaves the machine), where the README says what it does: it stops at once with exit
  status 1 (make's 2, "Error 1"), naming the host and the offline alternative ``jstmine run
  --source PATH``;
* everything else: run as written, and must exit 0.
"""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
README_PREFECT = "127.0.0.1:4200"  # the README's Prefect server, mapped to the session's
PLACEHOLDER_URL = "https://…/"  # the README's "some PDF URL", mapped to the loopback server
OFFLINE_STATUS = 1  # README: offline, `run` on a network source "stops at once"
TIMEOUT = 600


# ------------------------------------------------------------------------------------------------
# The examples, as the README writes them


@dataclass(frozen=True)
class Example:
    line: int  # where it starts in README.md
    lang: str  # "bash" (one command line) or "python" (a whole block)
    code: str

    @property
    def id(self) -> str:
        return f"L{self.line}:{re.sub(r'[^A-Za-z0-9_.=-]+', '_', self.code.strip())[:70]}"


def readme_examples(text: str) -> list[Example]:
    """Every command line of the ```bash blocks (lines joined at a trailing backslash; blank and
    comment lines left out) and every ```python block of ``text``."""
    examples: list[Example] = []
    lang, start, body = None, 0, []
    for n, line in enumerate(text.splitlines(), 1):
        fence = re.match(r"^\s*```\s*([A-Za-z]*)\s*$", line)
        if fence and lang is None:
            lang, start, body = (fence.group(1).lower() or "text"), n, []
            continue
        if fence and not fence.group(1):
            if lang in ("bash", "sh", "shell"):
                examples += _command_lines(start, body)
            elif lang == "python":
                examples.append(Example(start + 1, "python", "\n".join(body) + "\n"))
            lang = None
            continue
        if lang is not None:
            body.append(line)
    return examples


def _command_lines(start: int, body: list[str]) -> list[Example]:
    out, pending, first = [], "", 0
    for offset, line in enumerate(body, 1):
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        first = first or start + offset
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append(Example(first, "bash", (pending + line).strip()))
        pending, first = "", 0
    return out


def strip_comment(command: str) -> str:
    """``command`` without a trailing ``# comment`` (a # outside quotes, after a blank)."""
    quote = None
    for i, ch in enumerate(command):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or command[i - 1].isspace()):
            return command[:i].rstrip()
    return command.rstrip()


EXAMPLES = readme_examples(README.read_text(encoding="utf-8"))


def test_the_readme_has_examples_of_every_kind():
    # The parser finds what the README shows: the make targets, jstmine's commands, SQL, Python.
    commands = [strip_comment(e.code) for e in EXAMPLES if e.lang == "bash"]
    assert "make demo" in commands and "make test" in commands
    assert any(c.startswith(".venv/bin/jstmine sql ") for c in commands)
    assert any(c.startswith(".venv/bin/python -c ") for c in commands)
    assert len({c.split()[1] for c in commands if c.startswith(".venv/bin/jstmine ")}) >= 8


# ------------------------------------------------------------------------------------------------
# How each example runs


@dataclass(frozen=True)
class Plan:
    how: str  # "skip", "demo", "help", "offline", "run", "export"
    why: str
    command: str = ""  # what runs (bash), with the README's addresses mapped


def make_recipe(target: str, cwd: Path) -> str:
    """What ``make TARGET`` would run (``make -n``: its recipe and those of the targets it depends
    on that are not up to date), one command a line."""
    shown = subprocess.run(["make", "-n", target], cwd=cwd, capture_output=True, text=True, timeout=60,
                           env=subprocess_env(None))
    assert shown.returncode == 0, shown.stderr
    return "\n".join(ln for ln in shown.stdout.splitlines() if ln.strip() and not ln.lstrip().startswith("#"))


def network_hosts(command: str) -> list[str]:
    """Hosts of the URLs in ``command`` that are not on this machine (nor the README's placeholder)."""
    hosts = re.findall(r"https?://([^/\s:'\"#]+)", command)
    return [h for h in hosts if h not in ("127.0.0.1", "localhost", "…")]


LONG_RUNNING = (
    (re.compile(r"&\s*$"), "runs in the background (a server or worker) until stopped"),
    (re.compile(r"\bprefect server start\b"), "starts a Prefect server that runs until Ctrl-C"),
    (re.compile(r"\bdask (scheduler|worker)\b"), "starts a Dask scheduler or worker that runs until stopped"),
    (re.compile(r"\bjstmine serve\b"), "serves its deployment until Ctrl-C (tests/test_schedule.py runs it)"),
    (re.compile(r"\bjstmine server (start|status|stop)\b"),
     "starts, asks after or stops the background Prefect server (tests/test_server.py runs them)"),
    (re.compile(r"tcp://"), "needs the Dask scheduler the README starts before it (tests/test_dask.py runs it)"),
)


def plan(example: Example, project: Path, loopback: str, prefect_url: str) -> Plan:
    """How ``example`` is run, and why (see the module's docstring)."""
    if example.lang == "python":
        return Plan("run", "a Python example", example.code)
    command = strip_comment(example.code)
    words = shlex.split(command)
    mapped = command.replace(PLACEHOLDER_URL, loopback + "/").replace(f"http://{README_PREFECT}/api", prefect_url)
    if words[:1] == ["make"] and len(words) == 2:
        target = words[1]
        recipe = make_recipe(target, project)
        if re.search(r"\bpytest\b", recipe):
            return Plan("skip", f"make {target} runs the test suite, this test among them: not run (no recursion)")
        if target == "demo":
            return Plan("demo", "make demo builds the sample edition: the fixture runs it, and its result is checked")
        looked_at = recipe
    else:
        looked_at = command
    for pattern, why in LONG_RUNNING:
        line = next((ln for ln in looked_at.splitlines() if pattern.search(ln)), None)
        if line is not None:  # the line of the recipe that starts it, in its --help form
            return Plan("help", why, re.sub(r"&\s*$", "", line.replace(f"http://{README_PREFECT}/api", prefect_url))
                        .rstrip() + " --help")
    if network_hosts(looked_at):
        return Plan("offline", f"needs {', '.join(network_hosts(looked_at))} (the real network): run offline", mapped)
    if words[:1] == ["export"]:
        return Plan("export", "sets a variable for the commands after it (PREFECT_API_URL is already the session's)", mapped)
    if reads_default_sources(words):
        return Plan("run", "runs against the sample edition, following the loopback site's listing page",
                    mapped + " --sources sources.toml")
    return Plan("run", "runs against the sample edition", mapped)


def reads_default_sources(words: list[str]) -> bool:
    """Whether ``words`` is a jstmine command that reads the sources file and is given none: it
    would read the checkout's sources.toml (JST's site), so it is given the project's."""
    import typer

    from flows.main import app

    if not words or not words[0].endswith("bin/jstmine") or len(words) < 2 or "--sources" in words:
        return False
    command = typer.main.get_command(app).commands.get(words[1])
    return command is not None and any("--sources" in param.opts for param in command.params)


def test_examples_are_found_and_each_planned_by_its_rule():
    text = "\n".join([
        "Some prose with `jstmine inline` code.", "```bash", "# a comment line", "",
        ".venv/bin/jstmine show pages \\", "    --limit 3        # joined at the backslash",
        "make test", "make run", ".venv/bin/dask scheduler --port 8786 &",
        ".venv/bin/jstmine run --source https://example.org/r.pdf", ".venv/bin/jstmine run --source https://…/r.pdf",
        "export PREFECT_API_URL=http://127.0.0.1:4200/api", ".venv/bin/jstmine discover", "```",
        "```python", "import duckdb", "print(1)", "```", "```text", "not run", "```"])
    examples = readme_examples(text)
    assert [e.lang for e in examples] == ["bash"] * 8 + ["python"]
    assert examples[0].line == 5 and strip_comment(examples[0].code) == ".venv/bin/jstmine show pages      --limit 3"
    plans = [plan(e, ROOT, "http://127.0.0.1:1", "http://127.0.0.1:2/api") for e in examples]
    assert [p.how for p in plans] == ["run", "skip", "offline", "help", "offline", "run", "export", "run", "run"]
    assert plans[3].command == ".venv/bin/dask scheduler --port 8786 --help"
    assert "example.org" in plans[4].why and plans[5].command.endswith("http://127.0.0.1:1/r.pdf")
    assert plans[6].command == "export PREFECT_API_URL=http://127.0.0.1:2/api"
    assert plans[7].command == ".venv/bin/jstmine discover --sources sources.toml"
    assert plans[8].command == "import duckdb\nprint(1)\n"


# ------------------------------------------------------------------------------------------------
# The directory standing for the checkout


@dataclass
class Project:
    path: Path
    env: dict[str, str]
    loopback: str
    prefect_url: str
    demo: subprocess.CompletedProcess

    def copy(self, dest: Path) -> Path:
        shutil.copytree(self.path, dest, symlinks=True)
        return dest


def _not_copied(directory: str, names: list[str]) -> set[str]:
    """What the copy of the checkout leaves out: the virtual environment (linked instead), git's
    and the tools' caches, and the outputs (the fixture makes its own)."""
    left_out = {"__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
    if Path(directory).resolve() == ROOT:
        left_out |= {".venv", ".git", "processed", "raw", "build", ".prefect"}
    return {n for n in names if n in left_out or n.endswith(".egg-info")}


def run_bash(command: str, cwd: Path, env: dict[str, str], *, offline: bool = False) -> subprocess.CompletedProcess:
    args = ["bash", "-c", command]
    if offline:
        args = ["unshare", "--net", "--"] + args
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def project(prefect_api_server, tmp_path_factory) -> Project:
    from httpserver import HTTPTestServer
    from samples.build import LISTING_FRAGMENT, build_listing_html, build_sample_pdf, listing_entries
    from test_editions import second_edition_text

    tmp = tmp_path_factory.mktemp("readme")
    root = tmp / "jstmine"
    shutil.copytree(ROOT, root, symlinks=True, ignore=_not_copied)
    (root / ".venv").symlink_to(ROOT / ".venv")
    (root / "processed").mkdir(exist_ok=True)
    (root / "raw").mkdir(exist_ok=True)
    env = prefect_api_server.env(PREFECT_HOME=str(tmp / "prefect-home"), COLUMNS="200", NO_COLOR="1")

    # make demo, as the README's first command: processed/sample
    demo = run_bash("make demo", root, env)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]

    # The loopback site: the listing page with the sample PDF under #fy24_rr02, and the README's
    # placeholder PDF URL; sources.toml follows it.
    site = tmp / "site"
    pdf = build_sample_pdf(site / "sample-report.pdf")
    second_text = site / "second_edition.md"
    second_text.parent.mkdir(parents=True, exist_ok=True)
    second_text.write_text(second_edition_text(), encoding="utf-8")
    second = build_sample_pdf(site / "second.pdf", source=second_text)
    listing = build_listing_html(listing_entries("sample-report.pdf"), site / "report_2022.html")
    server = HTTPTestServer().start()
    server.serve_pdf("/investigation/sample-report.pdf", pdf.read_bytes(), etag='"v1"')
    server.serve_pdf("/report.pdf", pdf.read_bytes())
    listing_url = server.serve_html("/investigation/report_2022.html", listing.read_text(encoding="utf-8"))
    (root / "sources.toml").write_text(
        f'[[source]]\nname = "loopback"\nlisting = "{listing_url}"\nentries = ["{LISTING_FRAGMENT}"]\n', encoding="utf-8")
    (root / "path" / "to").mkdir(parents=True)
    shutil.copy2(pdf, root / "path" / "to" / "report.pdf")
    try:
        # The two editions the README's edition examples name.
        jstmine = ".venv/bin/jstmine run --source {} --edition {}"
        for source, edition in ((f"{listing_url}#{LISTING_FRAGMENT}", "fy24_rr02-2025-04-01"),
                                (str(second), "fy24_rr02-2025-06-02")):
            done = run_bash(jstmine.format(shlex.quote(source), edition), root, env)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        yield Project(root, env, server.base_url, prefect_api_server.url, demo)
    finally:
        server.stop()


def can_go_offline() -> bool:
    try:
        return subprocess.run(["unshare", "--net", "--", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


# ------------------------------------------------------------------------------------------------
# The test


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_readme_example(example: Example, project: Project, tmp_path):
    how = plan(example, project.path, project.loopback, project.prefect_url)
    where = f"README.md line {example.line}: {example.code.strip()}"
    if how.how == "skip":
        pytest.skip(how.why)
    if how.how == "demo":
        out = project.demo.stdout
        assert project.demo.returncode == 0
        assert "processed/sample" in out and "processed/jstmine.duckdb" in out, out[-2000:]  # where the tables are
        for name in ("country_technology.parquet", "country_technology.csv", "report.html"):
            assert (project.path / "processed" / "sample" / name).is_file(), name
        return

    cwd = project.copy(tmp_path / "jstmine")
    if how.how == "run" and example.lang == "python":
        (cwd / "example.py").write_text(how.command, encoding="utf-8")
        done = run_bash(".venv/bin/python example.py", cwd, project.env)
    elif how.how == "offline":
        if not can_go_offline():
            pytest.skip("cannot make a network namespace here (unshare --net) to run it offline")
        done = run_bash(how.command, cwd, project.env, offline=True)
    else:
        done = run_bash(how.command, cwd, project.env)
    output = done.stdout + done.stderr
    shown = f"{where}\nran: {how.command}\nexit status {done.returncode}\n{output[-4000:]}"

    if how.how == "help":
        assert done.returncode == 0, shown
        used = {w.split("=")[0] for w in shlex.split(how.command) if w.startswith("--") and w != "--help"}
        missing = [o for o in sorted(used) if o not in output]
        assert not missing, f"the example uses {missing}, which its --help does not know ({how.why})\n{shown}"
    elif how.how == "offline":
        is_make = how.command.startswith("make ")
        assert done.returncode == (2 if is_make else OFFLINE_STATUS), shown
        if is_make:
            assert f"Error {OFFLINE_STATUS}" in output, shown
        message = " ".join(output.split())
        host = network_hosts(make_recipe(how.command.split()[1], cwd) if is_make else how.command)[0]
        assert "seems offline" in message and host in message and "jstmine run --source PATH" in message, shown
    else:
        if done.returncode == 127:
            shown += ("\n(command not found: the README's commands run from the checkout, as .venv/bin/jstmine, "
                      "without an activated virtual environment)")
        assert done.returncode == 0, shown
