"""The ``process_report`` flow: a report's source → published, validated tables.

    acquire → extract → segment → tokenize → tag → attribute → facts, relations, policies,
    key terms → summary claims → build tables → check findings → publish → HTML report

The summary claims are what the report's executive summary states: read with the same stages
from the PDF's summary chapter and, when the source is the report's announcement page, from the
page's summary too; an expectations file adds to them or overrides them. The findings check says
for each whether the body chapters support it, say nothing about it, or say otherwise.

Each stage is a task over a pure function of ``pipeline``. Only acquire is retried (the network
is flaky; code is not). Every stage after acquire is cached on the PDF's sha256 plus the stage
versions and configuration of it and everything upstream, so an unchanged re-run reuses them;
and a PDF whose edition is already published with the same pipeline is not processed at all.

The flows say how far they have got to ``flows.progress.current()`` (what ``jstmine run`` and
``update`` show); nothing of it is a task parameter, so it changes no cache key.
"""
from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Completed, Failed
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import opaque

from flows.heartbeats import no_heartbeat_join
from flows.memory import release_free_memory
from flows.progress import current as current_progress
from flows.progress import page_callback
from flows.report_charts import ChartProcess
from flows.results import ZstdSerializer
from flows.stage_cache import is_cached
from flows.warmup import LIBRARIES as WARM_UP_LIBRARIES
from flows.warmup import WAIT_SECONDS as WARM_UP_WAIT_SECONDS
from flows.warmup import WarmUp, import_step
from pipeline import STAGE_VERSIONS, __version__
from pipeline.acquire import AcquireConfig, Acquired, acquire, normalize_allowed_hosts
from pipeline.analyses import default_settings_path
from pipeline.attribute import Attribution, attribute
from pipeline.claims import (
    ANNOUNCEMENT_PAGE,
    SUMMARY_CHAPTER,
    ClaimSet,
    announcement_document,
    compare_summaries,
    load_expectations,
    merge_claims,
    summary_claims,
    summary_paragraphs,
)
from pipeline.editions import edition_name, is_up_to_date, previous_edition, published, slug
from pipeline.errors import TransientAcquireError
from pipeline.extract import ExtractConfig, ExtractedDocument, extract_pdf
from pipeline.facts import PolicyFact, extract_facts
from pipeline.findings import Finding, check_claims
from pipeline.keyterms import KeyTerms, key_terms, load_keyterm_config
from pipeline.lexicon import default_lexicon_path, load_lexicon
from pipeline.ner_audit import LexiconGap, lexicon_gaps, load_ner
from pipeline.policies import Policy, extract_policies
from pipeline.publish import check_edition_name, check_new_edition_name, output_lock, publish
from pipeline.relations import Relation, extract_relations
from pipeline.rules import Rules, default_rules_path, load_rules
from pipeline.segment import Segmented, segment
from pipeline.source import SourceRef, parse_source
from pipeline.tables import (
    build_analysis_tables,
    build_tables,
    claims_tables,
    findings_check_table,
    khcoder_tables,
    lexicon_gaps_table,
    page_problems_of_cell,
    page_sources,
)
from pipeline.tag import Mention, build_tagger, ocr_sentence_texts, tag_tokens
from pipeline.tokenize import TokenizeConfig, tokenize_sentences


no_heartbeat_join()  # a run ends without waiting up to a second for its heartbeat thread (flows.heartbeats)


@dataclass(frozen=True)
class RunConfig:
    """Everything that changes a run's outputs, as data (so it can be hashed into cache keys)."""

    extract: ExtractConfig = field(default_factory=ExtractConfig)
    tokenize: TokenizeConfig = field(default_factory=TokenizeConfig)
    lexicon_path: str = ""  # empty: the lexicon shipped in the package
    keyterms_path: str = ""  # empty: pipeline/data/keyterms.toml
    rules_path: str = ""  # empty: pipeline/data/findings.toml (jstmine run --rules FILE)
    expectations_path: str = ""  # empty: only the claims read from the summary are checked
    ner_audit: bool = False  # also run GiNZA's NER to list places the lexicon misses (slow)

    def lexicon_file(self) -> Path:
        return Path(self.lexicon_path) if self.lexicon_path else default_lexicon_path()

    def keyterms_file(self) -> Path:
        return Path(self.keyterms_path) if self.keyterms_path else _data_file("keyterms.toml")

    def rules_file(self) -> Path:
        return Path(self.rules_path) if self.rules_path else default_rules_path()


def _data_file(name: str) -> Path:
    return default_lexicon_path().with_name(name)


def default_expectations(source: SourceRef, report_id: str | None = None) -> Path | None:
    """The expectations file of the report a source names (#fy24_rr02), if the project has one."""
    name = report_id or source.entry_id
    candidate = _data_file("expectations") / f"{name}.yaml"
    return candidate if name and candidate.is_file() else None


@dataclass(frozen=True)
class RunSummary:
    edition: str
    output: str
    database: str
    sha256: str
    pages: int
    sentences: int
    tokens: int
    mentions: int
    country_technology: list[dict]
    problems: list[str]
    not_modified: bool
    facts: int = 0
    relations: int = 0
    policies: int = 0
    findings: dict[str, int] = field(default_factory=dict)  # status → count
    contradicted: list[str] = field(default_factory=list)
    unchanged: bool = False  # already published from the same content and pipeline: nothing was done
    notes: list[str] = field(default_factory=list)  # what the analyst should know about the check
    report: str = ""  # the edition's report.html; "" when it could not be written (or is not there)


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:24]


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Not max_page_drawings: it decides whether a page's tables and figures are looked for (in the key).
EXTRACT_LIMITS = ("max_stream_mb", "max_worker_memory_mb")


def page_digest(acquired: Acquired) -> str:
    """The announcement page's summary as a hash ("" when the source gave none): it changes the
    claims, so it is part of their cache key and of the run key."""
    announcement = getattr(acquired, "announcement", None)
    if announcement is None or not announcement.summary:
        return ""
    return _digest(announcement.summary_heading, list(announcement.summary))


@lru_cache(maxsize=64)
def stage_keys(sha256: str, config: RunConfig, page: str = "") -> dict[str, str]:
    """Cache key of each stage: the content, plus the version and configuration of it and its upstream.

    ``page`` is the announcement page's summary digest (``page_digest``). ``run`` covers every
    stage: an edition published under the same run key is up to date.
    """
    rules = _file_hash(config.rules_file())
    expectations = _file_hash(Path(config.expectations_path)) if config.expectations_path else ""
    own = {
        # Resource limits never change what is extracted, only whether it can be: not in the key.
        "extract": {k: v for k, v in asdict(config.extract).items() if k not in EXTRACT_LIMITS},
        "segment": {},
        "tokenize": asdict(config.tokenize),
        "tag": {"lexicon": _file_hash(config.lexicon_file())},
        "attribute": {},
        "facts": {"rules": rules},
        "relations": {"rules": rules},
        "policies": {"rules": rules},
        "keyterms": {"settings": _file_hash(config.keyterms_file())},
        "claims": {"rules": rules, "expectations": expectations, "page": page},
        "analyses": {"settings": _file_hash(default_settings_path())},
    }
    keys, chain = {}, [sha256, __version__]
    for stage in STAGE_VERSIONS:
        chain += [stage, STAGE_VERSIONS[stage], own[stage]]
        keys[stage] = f"{stage}-{_digest(*chain)}"
    keys["run"] = _digest(*chain, "ner_audit", config.ner_audit)
    return keys


def _cache_key(stage: str):
    """Key a task on the acquired PDF's sha256 (and page summary) and the run configuration."""

    def key(context, parameters) -> str:
        acquired = parameters["acquired"]
        return stage_keys(acquired.sha256, parameters["config"], page_digest(acquired))[stage]

    return key


def _is_transient(task, task_run, state) -> bool:
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, TransientAcquireError)


# Network faults and 5xx are retried with growing delays; 4xx, not-a-PDF and too-large are not.
ACQUIRE_RETRIES = 3
ACQUIRE_RETRY_DELAYS: list[float] = exponential_backoff(backoff_factor=3)(ACQUIRE_RETRIES)  # 3, 6, 12 s


@task(
    name="acquire",
    retries=ACQUIRE_RETRIES,
    retry_delay_seconds=ACQUIRE_RETRY_DELAYS,
    retry_jitter_factor=0.5,
    retry_condition_fn=_is_transient,
)
def acquire_task(source: SourceRef, config: AcquireConfig) -> Acquired:
    return acquire(source, config)


def _cached(stage: str) -> dict:
    # Persisted compressed (flows.results), and not also kept in Prefect's in-memory result cache,
    # which would hold every stage's output until the process ends: the flow lets each go once
    # no later stage needs it (``finish``), so memory does not grow with the report's length.
    return dict(name=stage, cache_key_fn=_cache_key(stage), persist_result=True,
                result_serializer=ZstdSerializer(), cache_result_in_memory=False)


# Processes extract_task reads a document's pages with (None: extract_pdf's choice, one per CPU).
# A process that runs whole reports side by side with others (flows.corpus) sets 1: it reads its
# report's pages itself. How the pages are read never changes what is extracted.
EXTRACT_WORKERS: int | None = None


@task(**_cached("extract"))
def extract_task(acquired: Acquired, config: RunConfig) -> ExtractedDocument:
    # The page callback is the process's progress display (flows.progress), not a parameter: it
    # never enters the cache key, and on a Dask worker it is None.
    doc = extract_pdf(Path(acquired.path), config.extract, progress=page_callback(), workers=EXTRACT_WORKERS)
    logger = get_run_logger()
    for line in problem_lines([(p.page, p.kind, p.detail) for p in doc.problems]):
        logger.warning("%s", line)
    return doc


def page_ranges(pages: list[int]) -> str:
    """``[2, 3, 4, 7, 9, 10]`` → ``"2–4, 7, 9–10"``."""
    runs: list[list[int]] = []  # [first, last] of each run of consecutive pages
    for page in sorted(set(pages)):
        if runs and page == runs[-1][1] + 1:
            runs[-1][1] = page
        else:
            runs.append([page, page])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def problem_lines(problems: list[tuple[int, str, str]], *, spell_out: int = 3) -> list[str]:
    """One line per kind of page problem: how many pages, the pages as ranges, how many problems
    when a page has several (``font_refused`` is one per font), and the first page's detail. A kind
    with no more than ``spell_out`` problems keeps a line per problem (its details differ).

    Parameters:
        problems: (page, kind, detail) of each page problem.
        spell_out: up to this many pages of a kind are listed one by one.
    """
    by_kind: dict[str, list[tuple[int, str]]] = {}
    for page, kind, detail in problems:
        by_kind.setdefault(kind, []).append((page, detail))
    lines = []
    for kind, found in by_kind.items():
        found.sort()
        if len(found) <= spell_out:
            lines += [f"page {page}: {kind} ({detail})" for page, detail in found]
        else:
            pages = sorted({page for page, _ in found})
            where = f"{len(pages)} pages {page_ranges(pages)}" if len(pages) > 1 else f"page {pages[0]}"
            count = f", {len(found)} in all" if len(found) > len(pages) else ""
            lines.append(f"{where}: {kind}{count} (page {found[0][0]}: {found[0][1]})")
    return lines


@task(**_cached("segment"))
def segment_task(acquired: Acquired, config: RunConfig, extracted: ExtractedDocument) -> Segmented:
    return segment(extracted)


@task(**_cached("tokenize"))
def tokenize_task(acquired: Acquired, config: RunConfig, segmented: Segmented) -> pa.Table:
    return tokenize_sentences(segmented.sentences, config.tokenize)


@lru_cache(maxsize=2)
def _built_tagger(lexicon_file: str, mode: str, dictionary: str):
    lexicon = load_lexicon(Path(lexicon_file))
    return lexicon, build_tagger(lexicon, TokenizeConfig(mode=mode, dictionary=dictionary))


_TAGGER_LOCK = threading.Lock()


def _tagger(lexicon_file: str, mode: str, dictionary: str):
    """The lexicon and its spaCy pipeline, built once per process (and per Dask worker): a
    caller that comes while another thread builds it (``flows.warmup``) waits for that one."""
    with _TAGGER_LOCK:
        return _built_tagger(lexicon_file, mode, dictionary)


def warm_up(config: RunConfig) -> WarmUp:
    """What the stages after extraction load on first use, started loading in a background
    thread (``flows.warmup``): the tagger, the libraries key terms and the analysis tables
    import, the HTML report's template. ``config``: the run's (its lexicon and tokenizer settings)."""
    tagger = ("the language model", lambda: _tagger(str(config.lexicon_file()), config.tokenize.mode,
                                                    config.tokenize.dictionary))
    return WarmUp([tagger, *(import_step(m, name) for m, name in WARM_UP_LIBRARIES),
                   ("the report template", _report_template)]).start()


def wait_for_warm_up(warm: WarmUp | None, label: str) -> None:
    """Wait (up to ``flows.warmup.WAIT_SECONDS``) for ``warm`` (None: none was started), the
    progress display saying "loading libraries" meanwhile; the run's log says what it loaded
    and how long the stages waited (at warning level when a step failed or it was not done).

    Parameters:
        warm: the run's warm-up (``warm_up``), or None.
        label: the report's name in the progress display.
    """
    if warm is None:
        return
    done = warm.wait(WARM_UP_WAIT_SECONDS, on_wait=lambda: current_progress().stage(label, "loading libraries"))
    logger = get_run_logger()
    if not done:
        logger.warning("the background loading is not done after %.0f s: the stages go on, loading what they "
                       "need themselves (%s)", WARM_UP_WAIT_SECONDS, warm.summary())
    else:
        (logger.warning if warm.failed else logger.info)("%s", warm.summary())


def _report_template():
    from pipeline.report import load_template

    return load_template()


def _lexicon(config: RunConfig):
    return _tagger(str(config.lexicon_file()), config.tokenize.mode, config.tokenize.dictionary)[0]


@task(**_cached("tag"))
def tag_task(acquired: Acquired, config: RunConfig, tokens: pa.Table, segmented: Segmented,
             extracted: ExtractedDocument) -> list[Mention]:
    """The sentences of pages read by OCR (``ocr_sentence_texts``, from ``segmented`` and the pages'
    text sources in ``extracted``) are matched with one character error allowed as well. Computed
    here, in the task, because the stage outputs are futures when the stages run on Dask."""
    lexicon, nlp = _tagger(str(config.lexicon_file()), config.tokenize.mode, config.tokenize.dictionary)
    return tag_tokens(nlp, lexicon, tokens, ocr_sentence_texts(segmented.sentences, page_sources(extracted)))


@task(**_cached("attribute"))
def attribute_task(acquired: Acquired, config: RunConfig, segmented: Segmented, mentions: list[Mention]) -> Attribution:
    return attribute(segmented, mentions, _lexicon(config))


def _rules(config: RunConfig) -> Rules:
    return load_rules(config.rules_file())


@task(**_cached("facts"))
def facts_task(acquired: Acquired, config: RunConfig, segmented: Segmented, tokens: pa.Table, attribution: Attribution) -> list[PolicyFact]:
    return extract_facts(segmented, tokens, attribution, _lexicon(config), _rules(config).facts)


@task(**_cached("relations"))
def relations_task(acquired: Acquired, config: RunConfig, segmented: Segmented, attribution: Attribution) -> list[Relation]:
    return extract_relations(segmented, attribution, _lexicon(config), _rules(config).relations)


@task(**_cached("policies"))
def policies_task(acquired: Acquired, config: RunConfig, segmented: Segmented, attribution: Attribution) -> list[Policy]:
    return extract_policies(segmented, attribution, _lexicon(config), _rules(config).policies)


@task(**_cached("claims"))
def claims_task(acquired: Acquired, config: RunConfig, segmented: Segmented, attribution: Attribution,
                facts: list[PolicyFact], relations: list[Relation]) -> ClaimSet:
    """What the executive summary states: the PDF's summary chapter, the announcement page's
    summary (read with the same stages), and the expectations file's claims over them."""
    lexicon, nlp = _tagger(str(config.lexicon_file()), config.tokenize.mode, config.tokenize.dictionary)
    rules = _rules(config)
    chapter = summary_claims(SUMMARY_CHAPTER, segmented, attribution, facts, relations, lexicon, rules.claims)
    page: list = []
    differences: list = []
    announcement = getattr(acquired, "announcement", None)
    if announcement is not None and announcement.summary:
        doc = segment(announcement_document(announcement.summary, announcement.summary_heading))
        tokens = tokenize_sentences(doc.sentences, config.tokenize)
        attributed = attribute(doc, tag_tokens(nlp, lexicon, tokens), lexicon)
        page = summary_claims(ANNOUNCEMENT_PAGE, doc, attributed,
                              extract_facts(doc, tokens, attributed, lexicon, rules.facts),
                              extract_relations(doc, attributed, lexicon, rules.relations), lexicon, rules.claims,
                              whole_document=True)
        in_pdf = summary_paragraphs(segmented)
        if in_pdf:
            differences = compare_summaries(list(announcement.summary), in_pdf)
    file = load_expectations(config.expectations_path, lexicon) if config.expectations_path else []
    claims = merge_claims(page, chapter, file, rules.claims)
    return ClaimSet(tuple(claims), tuple(differences), has_chapter=bool(summary_paragraphs(segmented)),
                    has_page=bool(announcement is not None and announcement.summary))


@task(**_cached("keyterms"))
def keyterms_task(acquired: Acquired, config: RunConfig, tokens: pa.Table, attribution: Attribution) -> KeyTerms:
    return key_terms(tokens, attribution, load_keyterm_config(config.keyterms_file()), load_lexicon(config.lexicon_file()))


@task(name="ner-audit", persist_result=True,
      cache_key_fn=lambda context, p: "ner-audit-" + stage_keys(p["acquired"].sha256, p["config"])["tag"])
def ner_audit_task(acquired: Acquired, config: RunConfig, segmented: Segmented, mentions: list[Mention]) -> list[LexiconGap]:
    return lexicon_gaps(load_ner(), segmented.sentences, mentions)


# Tasks that run every time: no cache policy, so Prefect does not hash their inputs (the whole
# stage outputs and tables: about a second on a 300-page report) for a key nothing reads.
_UNCACHED = dict(cache_policy=NO_CACHE)


@task(name="build-tables", **_UNCACHED)
def build_tables_task(edition: str, acquired: Acquired, config: RunConfig, stages: dict) -> dict[str, pa.Table]:
    tables = build_tables(
        edition=edition,
        acquired=acquired,
        extracted=stages["extracted"],
        segmented=stages["segmented"],
        tokens=stages["tokens"],
        attribution=stages["attribution"],
        lexicon=_lexicon(config),
        processed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        pipeline_version=__version__,
        config=json.dumps(asdict(config), sort_keys=True, default=str),
        run_key=stage_keys(acquired.sha256, config, page_digest(acquired))["run"],
    )
    tables.update(build_analysis_tables(edition=edition, facts=stages["facts"], relations=stages["relations"],
                                        policies=stages["policies"], keyterms=stages["keyterms"],
                                        page_sources=page_sources(stages["extracted"])))
    tables["lexicon_gaps"] = lexicon_gaps_table(edition, stages.get("lexicon_gaps") or [])
    tables.update(claims_tables(edition, stages["claims"]))
    return tables


@task(name="analysis-tables", **_UNCACHED)
def analysis_tables_task(edition: str, tables: dict[str, pa.Table], config: RunConfig) -> dict[str, pa.Table]:
    """KH Coder's analyses of the built tables (``khcoder_tables``). A task of its own, run once
    ``finish`` has let the stage outputs go: it is build-tables' largest working memory."""
    return khcoder_tables(edition, tables, _lexicon(config))


@task(name="check-findings", **_UNCACHED)
def check_findings_task(edition: str, tables: dict[str, pa.Table], claim_set: ClaimSet, config: RunConfig) -> list[Finding]:
    """Each claim of the summary against what the body chapters say."""
    if not claim_set.claims:
        return []
    needed = ("sentences", "mentions", "country_technology", "policy_facts", "relations")
    columns = {"sentences": ["sentence_id", "page", "kind", "text", "subject", "in_summary"],
               "mentions": ["mention_id", "sentence_id", "char_start", "char_end", "text", "label", "top", "subject"]}
    rows = {n: tables[n].select(columns[n]).to_pylist() if n in columns else tables[n].to_pylist() for n in needed}
    findings = check_claims(claim_set.claims, rows, _rules(config).claims)
    logger = get_run_logger()
    for f in findings:
        if f.status == "contradicted":  # the summary and the run's final state name it: kept off the console
            logger.info("%s: %s (%s)", f.status, f.claim, f.detail)
        elif f.status != "matched":
            logger.warning("%s: %s (%s)", f.status, f.claim, f.detail)
    return findings


@task(name="publish", **_UNCACHED)
def publish_task(edition: str, out_dir: str, tables: dict[str, pa.Table]) -> str:
    return str(publish(tables, Path(out_dir), edition))


def submit_stages(acquired, config: RunConfig, *, submit: bool, label: str = "", on_extracted=None,
                  run=None) -> dict:
    """The stages of one report. ``submit=True`` hands them to the flow's task runner as futures
    (several reports then run side by side, e.g. on Dask); otherwise they run here, in order.
    ``label``: the report's name in the progress display (``flows.progress``). ``on_extracted``:
    called with nothing once the extract stage is done (or submitted), or None. ``run``: what
    runs each stage here instead of a task run of its own, ``run(task, acquired, config,
    *stage_outputs) -> output`` (``flows.stage_cache.StageRunner``: inside a report's one task run), or
    None."""
    if submit:
        current_progress().stage(label, "stages submitted to the task runner")

    def call(t, acquired, config, *stage_outputs):
        if submit:  # futures must stay visible, so the runner can order the tasks
            return t.submit(acquired, config, *stage_outputs)
        current_progress().stage(label, t.name)
        # Values, not futures: opaque() spares Prefect walking every object inside them before
        # each task (seconds on a long report); they reach the task unchanged.
        if run is not None:
            output = run(t, acquired, config, *stage_outputs)
        else:
            output = t(acquired, config, *(opaque(o) for o in stage_outputs))
        release_free_memory()  # the stage's working memory, back to the system (flows.memory)
        return output

    extracted = call(extract_task, acquired, config)
    if on_extracted is not None:
        on_extracted()
    segmented = call(segment_task, acquired, config, extracted)
    if not submit:  # segmented holds the text now: the document's own copy can go (not a future's)
        extracted = extracted.without_text()
    tokens = call(tokenize_task, acquired, config, segmented)
    mentions = call(tag_task, acquired, config, tokens, segmented, extracted)
    attribution = call(attribute_task, acquired, config, segmented, mentions)
    out = {
        "extracted": extracted,
        "segmented": segmented,
        "tokens": tokens,
        "mentions": mentions,
        "attribution": attribution,
        "facts": call(facts_task, acquired, config, segmented, tokens, attribution),
        "relations": call(relations_task, acquired, config, segmented, attribution),
        "policies": call(policies_task, acquired, config, segmented, attribution),
        "keyterms": call(keyterms_task, acquired, config, tokens, attribution),
    }
    out["claims"] = call(claims_task, acquired, config, segmented, attribution, out["facts"], out["relations"])
    if config.ner_audit:
        out["lexicon_gaps"] = call(ner_audit_task, acquired, config, segmented, mentions)
    return out


def resolve(stages: dict) -> dict:
    return {k: (v.result() if hasattr(v, "result") and hasattr(v, "wait") else v) for k, v in stages.items()}


def default_edition(source: SourceRef) -> str:
    """A readable report id from the source: the listing entry id, else the file name."""
    return slug(source.name())


def choose_edition(source: SourceRef, acquired: Acquired, out_dir: Path,
                   claimed: dict[str, tuple[str, str]] | None = None) -> str:
    """``<report id>-<publication date>`` (else the fetch date); same content, same edition.
    ``claimed``: names given earlier in the same run, not published yet (``edition_name``)."""
    return edition_name(report_id_of(source, acquired), acquired.published or acquired.fetched_at[:10],
                        acquired.sha256, published(out_dir), claimed)


def report_id_of(source: SourceRef, acquired: Acquired) -> str:
    """The report id an edition of ``acquired`` is named after: the listing entry's id, else one
    made from the source (``default_edition``)."""
    return acquired.report_id or default_edition(source)


def _artifact_key(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:60] or "report"


def prepare(source: SourceRef, edition: str | None, out_dir: str, acquired: Acquired, config: RunConfig,
            claimed: dict[str, tuple[str, str]] | None = None) -> tuple[str, bool]:
    """The edition's name, and whether it is already published from this content and pipeline.
    ``claimed``: edition name → (sha256, report id) of the editions this run named before and has
    not published yet (``update``: they are named before any is published); the name chosen is
    added to it. None: none."""
    edition = check_edition_name(edition or choose_edition(source, acquired, Path(out_dir), claimed))
    if claimed is not None:
        claimed.setdefault(edition, (acquired.sha256, report_id_of(source, acquired)))
    run_key = stage_keys(acquired.sha256, config, page_digest(acquired))["run"]
    up_to_date = is_up_to_date(published(Path(out_dir)), edition, acquired.sha256, run_key)
    return edition, up_to_date


def finish(edition: str, out_dir: str, acquired: Acquired, config: RunConfig, stages: dict,
           label: str = "", write=None, charts: ChartProcess | None = None) -> tuple[RunSummary, dict, list]:
    """Build, check and publish one report's tables, then write its HTML report (in the flow's
    process, under its lock). ``stages``: ``submit_stages``'s outputs, resolved; emptied once the
    tables are built (``RETURNED_TABLES``); or a ``Built`` (``build_edition``, run where the
    stages ran): then only published here. ``label``: the report's name in the progress display.
    ``write``: what writes the report, ``(out_dir, edition) -> path or None`` (None:
    ``write_report``, here; ``update`` hands it to a worker process when reports run side by side).
    A report written here has its charts drawn by a child process (``flows.report_charts``) from
    the analysis tables while the findings are checked and the tables published: ``charts``, one
    started earlier (the caller closes it), or None: one is started here (and closed here)."""
    # started first: it imports the charts' libraries while the tables are built
    own = charts is None and write is None
    if own:
        charts = ChartProcess(log=get_run_logger().info)
    try:
        return _finish(edition, out_dir, acquired, config, stages, label,
                       write or functools.partial(write_report, drawn=charts), charts if write is None else None)
    finally:
        if own:
            charts.close()  # ended and reaped, whatever happened


@dataclass
class Built:
    """One edition's tables built and its findings checked from its stages (``build_edition``),
    not yet published: what a worker process that ran the stages hands to the flow's process,
    which only publishes it (``finish``). ``counts``: the ``RunSummary`` fields read from the
    stages; ``claim_set``: the report's claims (its notes)."""

    tables: dict
    findings: list
    counts: dict
    claim_set: ClaimSet


def build_edition(edition: str, acquired: Acquired, config: RunConfig, stages: dict, label: str = "",
                  charts: ChartProcess | None = None, run=None) -> Built:
    """Build an edition's tables from ``stages`` (``submit_stages``'s outputs, resolved; emptied
    once the tables are built) and check its findings: ``finish``'s work before it publishes, in
    the process that calls it (a worker that ran the stages, when reports run side by side).

    Parameters: ``edition`` (its name), ``acquired`` (the PDF), ``config`` (the run's),
    ``stages``, ``label`` (the report's name in the progress display), ``charts`` (the child
    drawing the report's charts, sent the analysis tables; None: none), ``run`` (what runs its
    three tasks here instead of task runs of their own, ``run(task, *arguments)``, as
    ``submit_stages`` takes it; None: task runs)."""
    progress = current_progress()
    progress.stage(label, "build-tables")
    tables = (run(build_tables_task, edition, acquired, config, stages) if run is not None
              else build_tables_task(edition, acquired, config, opaque(stages)))
    counts = _stage_counts(stages)
    claim_set = stages["claims"]
    stages.clear()  # the tables hold what is published: the stage outputs can go (see below)
    release_free_memory()
    tables.update(run(analysis_tables_task, edition, tables, config) if run is not None
                  else analysis_tables_task(edition, opaque(tables), config))
    if charts is not None:
        charts.send(tables)
    release_free_memory()
    progress.stage(label, "check-findings")
    findings = (run(check_findings_task, edition, tables, claim_set, config) if run is not None
                else check_findings_task(edition, opaque(tables), opaque(claim_set), config))
    tables["findings_check"] = findings_check_table(edition, findings)
    release_free_memory()
    return Built(tables, findings, counts, claim_set)


def _finish(edition: str, out_dir: str, acquired: Acquired, config: RunConfig, stages, label: str,
            write, charts: ChartProcess | None) -> tuple[RunSummary, dict, list]:
    """``finish``'s work; ``charts``: the child drawing the report's charts, sent the analysis tables."""
    progress = current_progress()
    if isinstance(stages, Built):  # built where the stages ran (flows.corpus): the charts' child gets its tables now
        built = stages
        if charts is not None:
            charts.send(built.tables)
    else:
        built = build_edition(edition, acquired, config, stages, label, charts)
    tables, findings, counts, claim_set = built.tables, built.findings, built.counts, built.claim_set
    progress.stage(label, "publish")
    publish_task(edition, out_dir, opaque(tables))
    for name in [n for n in tables if n not in RETURNED_TABLES]:
        del tables[name]  # the HTML report reads the published files
    release_free_memory()
    progress.stage(label, "report")
    report = write(out_dir, edition)
    summary = RunSummary(
        edition=edition,
        output=str(Path(out_dir) / edition),
        database=str(Path(out_dir) / "jstmine.duckdb"),
        sha256=acquired.sha256,
        **counts,
        country_technology=_ct_rows(tables["country_technology"].to_pylist()),
        not_modified=acquired.not_modified,
        findings={s: sum(f.status == s for f in findings) for s in ("matched", "missing", "contradicted")} if findings else {},
        contradicted=[f"{f.claim}: {f.detail}" for f in findings if f.status == "contradicted"],
        notes=claim_notes(claim_set),
        report=str(report) if report else "",
    )
    return summary, tables, findings


# What ``finish`` returns of the published tables (the run's artifacts show them); it lets the
# rest go once published, and the stage outputs once the tables are built (it empties the
# ``stages`` it is given), so that a long report's are not all alive while it is published and
# its HTML report written. Prefect keeps none of them either (``cache_result_in_memory=False``).
RETURNED_TABLES = ("country_technology", "policy_facts", "findings_check")


def _stage_counts(stages: dict) -> dict:
    """The ``RunSummary`` fields read from the stage outputs: what ``finish`` keeps of them."""
    extracted = stages["extracted"]
    return dict(
        pages=len(extracted.pages),
        sentences=len(stages["segmented"].sentences),
        tokens=stages["tokens"].num_rows,
        mentions=len(stages["mentions"]),
        problems=problem_lines([(p.page, p.kind, p.detail) for p in extracted.problems]),
        facts=len(stages["facts"]),
        relations=len(stages["relations"]),
        policies=len(stages["policies"]),
    )


_LATEST = object()


def write_report(out_dir: str, edition: str, previous=_LATEST, drawn=None) -> Path | None:
    """The new edition's HTML report, showing what changed since the report's previous edition
    when there is one (``previous``: that edition, or None; by default the one published before
    it now). A report that cannot be written is a warning: the tables are published. ``drawn``:
    its charts drawn beforehand (``flows.report_charts.ChartProcess``), or None: drawn here."""
    logger = get_run_logger()
    try:
        from pipeline.report import render_report

        if previous is _LATEST:
            previous = previous_edition(published(Path(out_dir)), edition)
        path = render_report(Path(out_dir), edition, previous=previous, drawn=drawn)
    except Exception as exc:  # noqa: BLE001 (the report is a by-product: never fail the run for it)
        logger.warning("%s: could not write the HTML report (%s: %s); the tables are published; "
                       "write it later with: jstmine report --edition %s --out %s",
                       edition, type(exc).__name__, exc, edition, out_dir)
        return None
    logger.info("%s: report %s%s", edition, path, f" (changes since {previous})" if previous else "")
    return path


def outcome_text(summary: RunSummary) -> str:
    """How a report ended, for the progress display."""
    if summary.unchanged:
        return "unchanged, nothing processed"
    n = len(summary.contradicted)
    return f"{n} finding{'' if n == 1 else 's'} contradicted" if n else "done"


def _ct_rows(rows: list[dict]) -> list[dict]:
    return [{k: r[k] for k in ("country", "technology", "mentions", "sentences", "pages")} for r in rows]


def unchanged_summary(edition: str, out_dir: str, acquired: Acquired) -> RunSummary:
    """What is published for an edition that needs no work, read back from its files."""
    d = Path(out_dir) / edition
    doc = pq.read_table(d / "documents.parquet").to_pylist()[0]
    findings = pq.read_table(d / "findings_check.parquet").to_pylist() if (d / "findings_check.parquet").exists() else []
    counts = {name: pq.read_metadata(d / f"{name}.parquet").num_rows for name in ("policy_facts", "relations", "policies")
              if (d / f"{name}.parquet").exists()}
    problems = pq.read_table(d / "pages.parquet", columns=["page", "problem"]).to_pylist()
    return RunSummary(
        edition=edition, output=str(d), database=str(Path(out_dir) / "jstmine.duckdb"), sha256=acquired.sha256,
        pages=doc["pages"], sentences=doc["sentences"], tokens=doc["tokens"], mentions=doc["mentions"],
        country_technology=_ct_rows(pq.read_table(d / "country_technology.parquet").to_pylist()),
        problems=problem_lines([(p["page"], kind, detail) for p in problems
                                for kind, detail in page_problems_of_cell(p["problem"])]),
        not_modified=acquired.not_modified, facts=counts.get("policy_facts", 0),
        relations=counts.get("relations", 0), policies=counts.get("policies", 0),
        findings={s: sum(f["status"] == s for f in findings) for s in ("matched", "missing", "contradicted")} if findings else {},
        contradicted=[f"{f['claim']}: {f['detail']}" for f in findings if f["status"] == "contradicted"],
        unchanged=True,
        report=str(d / "report.html") if (d / "report.html").is_file() else "",
    )


def claim_notes(claim_set: ClaimSet) -> list[str]:
    """What the analyst should know about where the checked claims come from."""
    notes = []
    if not claim_set.claims and (claim_set.has_chapter or claim_set.has_page):
        notes.append("the executive summary states no claim the rules read (no technology, designation or relation "
                     "of a country or region): nothing was checked")
    elif not claim_set.claims:
        notes.append("no executive summary was found (no top-level section headed 要旨, エグゼクティブ・サマリー, 要約, "
                     "概要 or Summary), and no announcement page or expectations file gave claims: nothing was checked")
    elif claim_set.has_page and not claim_set.has_chapter:
        notes.append("the PDF has no summary chapter: the claims are those of the announcement page's summary")
    elif not claim_set.has_chapter:
        notes.append("no executive summary chapter was found in the PDF (no top-level section headed 要旨, "
                     "エグゼクティブ・サマリー, 要約, 概要 or Summary): the expectations file's claims are checked "
                     "against the whole document")
    if claim_set.differences:
        by = {s: sum(d.status == s for d in claim_set.differences) for s in ("changed", "only_page", "only_chapter")}
        page_only = sum(1 for c in claim_set.claims if c.origin == ANNOUNCEMENT_PAGE and SUMMARY_CHAPTER not in c.stated_in)
        chapter_only = sum(1 for c in claim_set.claims if c.origin == SUMMARY_CHAPTER)
        notes.append(f"the announcement page's summary differs from the PDF's summary chapter: {by['changed']} paragraphs "
                     f"changed, {by['only_page']} only on the page, {by['only_chapter']} only in the PDF; "
                     f"{page_only} claims only on the page, {chapter_only} only in the PDF (see summary_comparison)")
    return notes


def run_config(tokenizer_mode: str, lexicon_path: str, expectations: str | None, source: SourceRef,
               acquired: Acquired | None = None, ner_audit: bool = False, rules_path: str = "",
               extract_limits: dict | None = None) -> RunConfig:
    if expectations is None:
        found = default_expectations(source, acquired.report_id if acquired else None)
        expectations = str(found) if found else ""
    return RunConfig(extract=ExtractConfig(**(extract_limits or {})), tokenize=TokenizeConfig(mode=tokenizer_mode),
                     lexicon_path=lexicon_path, expectations_path=expectations, ner_audit=ner_audit,
                     rules_path=rules_path)


def final_state(summary: RunSummary):
    if summary.contradicted:
        return Failed(
            message=f"{len(summary.contradicted)} findings contradicted (tables and the check are published "
                    f"in {summary.output}): " + "; ".join(summary.contradicted),
            data=summary,
        )
    return Completed(data=summary)


@flow(name="process-report", log_prints=True)
def process_report(
    source: str,
    edition: str | None = None,
    out_dir: str = "processed",
    raw_dir: str = "raw",
    tokenizer_mode: str = "C",
    lexicon_path: str = "",
    expectations: str | None = None,
    ner_audit: bool = False,
    timeout: float | None = None,
    max_mb: float | None = None,
    rules: str = "",
    deadline: float | None = None,
    allow_hosts: list[str] | None = None,
    max_stream_mb: float | None = None,
    max_worker_memory_mb: float | None = None,
    max_page_drawings: int | None = None,
    ocr: str = "auto",
    engine: str = "pdfium",
):
    """Acquire a report, extract and tag it, publish its tables under ``out_dir/<edition>``.

    ``edition``: None names it ``<report id>-<publication date>``. The claims of the report's
    executive summary (its summary chapter; its announcement page, when that is the source) are
    checked against its body chapters. ``expectations``: a file of claims that adds to them or
    overrides them; None picks the report's own when the project has one (fy24_rr02); "" none.
    ``rules``: a findings.toml to use instead of the packaged one. ``deadline``: seconds a whole
    download may take (None: AcquireConfig's default). ``allow_hosts``: hosts or domains a listing
    or announcement page may send the download to besides its own site. ``max_stream_mb``,
    ``max_worker_memory_mb``: extraction's resource limits (None: ExtractConfig's). ``max_page_drawings``:
    pages drawing more images and paths are read as text only (None: ExtractConfig's). ``ocr``: "auto",
    "off" or "force", OCR of pages without a usable text layer (ExtractConfig.ocr). ``engine``: "pdfium"
    or "pdfplumber", what reads the glyphs (ExtractConfig.engine). A contradicted finding
    fails the run, after the tables, the check and the HTML report are published, so the analyst can
    see why. An edition already published from the same content and pipeline is not processed
    again: the run is Completed ("up to date"), whatever its published findings check says.
    """
    ref = parse_source(source)  # the flow is an entry point too (deployments): read its inputs here
    if edition:
        check_new_edition_name(edition, Path(out_dir))  # refused here, not after the processing
    label = edition or default_edition(ref)
    progress = current_progress()
    progress.start(label)
    # One run at a time per output directory: a second one stops at once with a clear message.
    with output_lock(Path(out_dir)):
        progress.stage(label, "acquire")
        acquired = acquire_task(ref, AcquireConfig(
            raw_dir=Path(raw_dir),
            # download limits (``jstmine run --timeout / --max-mb / --deadline / --allow-host``);
            # None keeps AcquireConfig's defaults
            **({} if timeout is None else {"connect_timeout": timeout, "read_timeout": timeout}),
            **({} if max_mb is None else {"max_bytes": int(max_mb * 1024 * 1024)}),
            **({} if deadline is None else {"deadline": deadline}),
            allowed_hosts=normalize_allowed_hosts(allow_hosts or [], "allow_hosts"),
        ))
        config = run_config(tokenizer_mode, lexicon_path, expectations, ref, acquired, ner_audit, rules,
                            extract_limits={k: v for k, v in (("max_stream_mb", max_stream_mb),
                                                              ("max_worker_memory_mb", max_worker_memory_mb),
                                                              ("max_page_drawings", max_page_drawings),
                                                              ("ocr", ocr), ("engine", engine))
                                            if v is not None})
        edition, up_to_date = prepare(ref, edition, out_dir, acquired, config)
        if up_to_date:
            get_run_logger().info("edition %s is up to date (same content, same pipeline): nothing to do", edition)
            summary = unchanged_summary(edition, out_dir, acquired)
            progress.finish(label, outcome_text(summary))
            return Completed(data=summary, message="up to date")
        # The report's charts' child starts once the pages are read: it imports its libraries on
        # the core the next stages leave idle (flows.report_charts).
        charts: list[ChartProcess] = []
        # While the pages are read, a thread loads what the next stages load on first use
        # (flows.warmup); not when they are not read (the extract stage cached).
        warm = None if is_cached(extract_task, acquired, config) else warm_up(config)

        def extracted() -> None:
            charts.append(ChartProcess(log=get_run_logger().info))
            # The stages start once it is done: two threads importing the same modules (pandas,
            # narwhals) can deadlock, and everything it loads is what they would load first.
            wait_for_warm_up(warm, label)

        try:
            stages = submit_stages(acquired, config, submit=False, label=label, on_extracted=extracted)
            summary, tables, findings = finish(edition, out_dir, acquired, config, stages, label=label,
                                               charts=charts[0] if charts else None)
        finally:
            for child in charts:
                child.close()
            if warm is not None:  # not left running by a failed extraction (done already otherwise)
                warm.join(WARM_UP_WAIT_SECONDS)
    _publish_artifacts(summary, tables, findings)
    progress.finish(label, outcome_text(summary))
    return final_state(summary)


def _publish_artifacts(summary: RunSummary, tables: dict[str, pa.Table], findings: list[Finding]) -> None:
    key = _artifact_key(summary.edition)
    ct = tables["country_technology"].to_pylist()
    facts = tables["policy_facts"].to_pylist()
    if facts:
        create_table_artifact(
            key=f"policy-facts-{key}",
            table=[{k: r[k] for k in ("country", "item_count", "year", "item", "policy", "administration", "page")} for r in facts],
            description=f"Policy facts for edition {summary.edition}",
        )
    if findings:
        create_table_artifact(
            key=f"findings-check-{key}",
            table=[{"status": f.status, "claim": f.claim, "origin": f.origin, "detail": f.detail,
                    "summary page": f.summary_page, "body page": f.page} for f in findings],
            description=f"Findings check for edition {summary.edition}",
        )
    create_table_artifact(
        key=f"country-technology-{key}",
        table=[{"country": r["country"], "technology": r["technology"], "mentions": r["mentions"],
                "sentences": r["sentences"], "pages": ", ".join(map(str, r["pages"])),
                "evidence_page": r["evidence_page"], "evidence": r["evidence"][:80]} for r in ct],
        description=f"Country × technology for edition {summary.edition}",
    )
    create_markdown_artifact(key=f"summary-{key}", markdown=summary_markdown(summary),
                             description=f"Run summary for edition {summary.edition}")


def summary_markdown(summary: RunSummary) -> str:
    by_country: dict[str, list[str]] = {}
    for r in summary.country_technology:
        by_country.setdefault(r["country"], []).append(r["technology"])
    lines = [
        f"# {summary.edition}",
        "",
        f"- PDF sha256 `{summary.sha256[:16]}…`{' (unchanged on the server: stored copy used)' if summary.not_modified else ''}",
        f"- {summary.pages} pages, {summary.sentences} sentences, {summary.tokens} tokens, {summary.mentions} mentions",
        f"- {summary.facts} policy facts, {summary.relations} relations, {summary.policies} named policies",
        *(["- findings check: " + ", ".join(f"{n} {s}" for s, n in summary.findings.items())] if summary.findings else []),
        f"- tables: `{summary.output}/` (Parquet and CSV); database: `{summary.database}`",
        "",
        "| country | technologies |",
        "|---|---|",
        *[f"| {c} | {', '.join(ts)} |" for c, ts in sorted(by_country.items())],
    ]
    if summary.contradicted:
        lines += ["", "## Contradicted findings", *[f"- {c}" for c in summary.contradicted]]
    if summary.problems:
        lines += ["", "## Pages with problems", *[f"- {p}" for p in summary.problems]]
    return "\n".join(lines) + "\n"
