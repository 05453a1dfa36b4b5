"""Where the cores idle during `jstmine update` on the bench's corpus: a timeline of one run.

    .venv/bin/python bench/corpus_trace.py [--reports 20] [--pages 100] [--rounds 1] [-- OPTIONS …]

Serves the bench's generated corpus (``bench/run.py``'s ``build_corpus``, cached) from a loopback
listing, starts a loopback Prefect server (unless ``PREFECT_API_URL`` is set), and runs
``jstmine update`` as the bench does (``run_update``: a fresh process, fresh output, download
directory and result storage) ``--rounds`` times per variant, the variants alternated (``--variant
NAME=OPTIONS``, e.g. ``--variant plain= --variant w2=--workers 2``; ``--code DIR`` runs a variant's
command with ``DIR`` first on ``PYTHONPATH``: another checkout's code, same libraries). For each run it
prints the wall time, the CPU use of the cores (the bench's measure: the process tree's ``wait4``
CPU over wall time × cores) and the load before, and with ``--timeline`` the CPU the process tree
used in every half second (sampled with psutil: which of the command's process, the forkserver and
the workers used it) and the report task runs' start and end from the Prefect API, relative to
the process's start: where a core idles.

Other engineers' work on the same cores takes CPU from the run, so its CPU use says little about
where the run itself leaves a core idle. The timeline also counts, every sample, the process
tree's threads that are running or waiting for a core (state R in ``/proc/PID/task/*/stat``):
``want`` per half second (capped at the cores), and over the run, *demand*: the mean of
min(those threads, cores) / cores, what the run would use of the cores on an otherwise idle
machine (the samples miss work shorter than a sample's step).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent / "tests")]

from run import build_corpus, corpus_listing, run_update, start_server, stop_server  # noqa: E402


class TreeSampler:
    """CPU seconds of a process tree, per process, every ``step`` seconds (psutil)."""

    def __init__(self, step: float = 0.1):
        self.step, self.samples, self._stop = step, [], threading.Event()
        self.root: psutil.Process | None = None
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.t0 = time.perf_counter()
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            row, runnable = {}, 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                procs = []
            for p in procs:
                try:
                    t = p.cpu_times()
                    row[p.pid] = (t.user + t.system, _role(p, self.root.pid))
                except psutil.Error:
                    continue
                runnable += _runnable_threads(p.pid)
            self.samples.append((time.perf_counter() - self.t0, row, runnable))
            self._stop.wait(self.step)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _runnable_threads(pid: int) -> int:
    """Threads of process ``pid`` running or waiting for a core now (state R); 0 once it is gone."""
    count = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        count += state == b"R"
    return count


def demand(sampler: TreeSampler, cores: int) -> float:
    """Mean of min(runnable threads of the tree, ``cores``) / ``cores`` over the samples: the share
    of the cores the run would use on an otherwise idle machine."""
    wants = [min(n, cores) for _, _, n in sampler.samples]
    return sum(wants) / (len(wants) * cores) if wants else float("nan")


def _role(p: psutil.Process, root: int) -> str:
    if p.pid == root:
        return "update"
    try:
        cmd = " ".join(p.cmdline())
    except psutil.Error:
        return "?"
    if "resource_tracker" in cmd:
        return "tracker"
    if "forkserver" in cmd:  # the server, child of the command; its workers are forked from it
        return "forkserver" if p.ppid() == root else "worker"
    return "worker" if p.ppid() != root else "child"


def timeline(sampler: TreeSampler, bucket: float = 0.5, cores: int = 2) -> list[str]:
    """CPU used per ``bucket`` seconds, by role (cores busy: 1.0 = one core), and the mean of the
    runnable threads (capped at ``cores``) in it."""
    last: dict[int, float] = {}
    buckets: dict[int, dict[str, float]] = {}
    wants: dict[int, list[int]] = {}
    for t, row, runnable in sampler.samples:
        b = int(t / bucket)
        wants.setdefault(b, []).append(min(runnable, cores))
        for pid, (cpu, role) in row.items():
            used = cpu - last.get(pid, 0.0)
            last[pid] = cpu
            buckets.setdefault(b, {}).setdefault(role, 0.0)
            buckets[b][role] += used
    lines = []
    for b in sorted(buckets):
        roles = buckets[b]
        total = sum(roles.values()) / bucket
        bar = "#" * round(total * 20)
        parts = " ".join(f"{r} {v / bucket:.2f}" for r, v in sorted(roles.items()) if v > 0.005)
        want = sum(wants[b]) / len(wants[b])
        lines.append(f"{b * bucket:6.1f}s {total:4.2f} want {want:4.2f} {bar:<42} {parts}")
    return lines


def task_runs(api: str, after: datetime, kind: str = "task_runs") -> list[dict]:
    """The task runs (or flow runs: ``kind``) started after ``after``, from the Prefect API."""
    body = json.dumps({kind: {"start_time": {"after_": after.isoformat()}}, "limit": 200}).encode()
    req = urllib.request.Request(f"{api}/{kind}/filter", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--variant", action="append", default=[], help="NAME=OPTIONS (space-separated); repeatable")
    parser.add_argument("--code", action="append", default=[], help="NAME=DIR: that variant's code comes from DIR")
    parser.add_argument("--timeline", action="store_true")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "jstmine-bench-cache"))
    parser.add_argument("--work", default="")
    args = parser.parse_args()
    variants = [(v.split("=", 1)[0], v.split("=", 1)[1].split()) for v in args.variant] or [("plain", [])]
    code = dict(c.split("=", 1) for c in args.code)
    work = Path(args.work or tempfile.mkdtemp(prefix="jstmine-corpus-trace-"))
    work.mkdir(parents=True, exist_ok=True)
    base = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", JSTMINE_WARM="0",
                PREFECT_HOME=str(work / "prefect-home"))
    server = None
    api = os.environ.get("PREFECT_API_URL")
    if not api:
        server, api, _ = start_server(work / "server-home", work / "server.log")
    from httpserver import HTTPTestServer

    pdfs = build_corpus(args.reports, args.pages, Path(args.cache))
    try:
        with HTTPTestServer() as http:
            sources = corpus_listing(http, pdfs, work)
            for k in range(args.rounds):
                for name, options in variants:
                    env = dict(base, PREFECT_API_URL=api)
                    if name in code:
                        env["PYTHONPATH"] = code[name]
                    sampler = TreeSampler()
                    began = datetime.now().astimezone()
                    hook = sampler.start if args.timeline else None
                    r = run_update(sources, work / f"{name}-{k}", env, work / "update.log", *options,
                                   server_pid=server.pid if server else None, on_start=hook)
                    if args.timeline:
                        sampler.stop()
                    cores = os.cpu_count()
                    print(f"{name} round {k + 1}: {r['wall']:.1f} s, CPU {r['cpu']:.1f} s = "
                          f"{r['cpu'] / (r['wall'] * cores):.0%} of {cores} cores, load before {r['load_before']:.1f}"
                          + (f", Prefect server {r['server_cpu']:.1f} s" if r.get("server_cpu") is not None else "")
                          + (f", demand {demand(sampler, cores):.0%} of the cores" if args.timeline else ""),
                          flush=True)
                    if args.timeline:
                        print("\n".join(timeline(sampler, cores=cores)))
                        t0 = began.timestamp()
                        runs = task_runs(api, began) + task_runs(api, began, "flow_runs")
                        for run in sorted(runs, key=lambda x: x["start_time"] or ""):
                            s = datetime.fromisoformat(run["start_time"]).timestamp() - t0
                            e = datetime.fromisoformat(run["end_time"]).timestamp() - t0 if run["end_time"] else float("nan")
                            c = datetime.fromisoformat(run["created"]).timestamp() - t0
                            print(f"  {s:6.2f} – {e:6.2f}  {run['name']} (created {c:.2f})")
    finally:
        if server is not None:
            stop_server(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
