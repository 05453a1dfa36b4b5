"""The ``process_report`` flow: a report's source → published, validated tables.

    acquire → extract → segment → tokenize → tag → attribute → publish

Each stage is a task over a pure function of ``pipeline``. Only acquire is retried (the network
is flaky; code is not). Every stage after acquire is cached on the PDF's sha256 plus the stage
versions and configuration of it and everything upstream, so an unchanged re-run reuses them.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.states import Completed, Failed
from prefect.tasks import exponential_backoff

from pipeline import STAGE_VERSIONS, __version__
from pipeline.acquire import AcquireConfig, Acquired, acquire
from pipeline.attribute import Attribution, attribute
from pipeline.errors import TransientAcquireError
from pipeline.extract import ExtractConfig, ExtractedDocument, extract_pdf
from pipeline.facts import PolicyFact, extract_facts
from pipeline.findings import Finding, check_findings, load_expectations
from pipeline.keyterms import KeyTerms, key_terms, load_keyterm_config
from pipeline.lexicon import default_lexicon_path, load_lexicon
from pipeline.policies import Policy, extract_policies
from pipeline.publish import check_edition_name, output_lock, publish
from pipeline.relations import Relation, extract_relations
from pipeline.segment import Segmented, segment
from pipeline.tables import build_analysis_tables, build_tables, findings_check_table
from pipeline.tag import Mention, build_tagger, tag_tokens
from pipeline.tokenize import TokenizeConfig, tokenize_sentences


@dataclass(frozen=True)
class RunConfig:
    """Everything that changes a run's outputs, as data (so it can be hashed into cache keys)."""

    extract: ExtractConfig = field(default_factory=ExtractConfig)
    tokenize: TokenizeConfig = field(default_factory=TokenizeConfig)
    lexicon_path: str = ""  # empty: the lexicon shipped in the package
    keyterms_path: str = ""  # empty: pipeline/data/keyterms.toml
    findings_rules_path: str = ""  # empty: pipeline/data/findings.toml

    def lexicon_file(self) -> Path:
        return Path(self.lexicon_path) if self.lexicon_path else default_lexicon_path()

    def keyterms_file(self) -> Path:
        return Path(self.keyterms_path) if self.keyterms_path else _data_file("keyterms.toml")

    def findings_rules_file(self) -> Path:
        return Path(self.findings_rules_path) if self.findings_rules_path else _data_file("findings.toml")


def _data_file(name: str) -> Path:
    return default_lexicon_path().with_name(name)


def default_expectations(source: str) -> Path | None:
    """The expectations file of the report a listing-page source names (#fy24_rr02), if we have one."""
    fragment = urlparse(source).fragment
    candidate = _data_file("expectations") / f"{fragment}.yaml"
    return candidate if fragment and candidate.is_file() else None


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


def _digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:24]


def stage_keys(sha256: str, config: RunConfig) -> dict[str, str]:
    """Cache key of each stage: the content, plus the version and configuration of it and its upstream."""
    def file_hash(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    own = {
        "extract": asdict(config.extract),
        "segment": {},
        "tokenize": asdict(config.tokenize),
        "tag": {"lexicon": file_hash(config.lexicon_file())},
        "attribute": {},
        "facts": {"rules": file_hash(config.findings_rules_file())},
        "relations": {},
        "policies": {},
        "keyterms": {"settings": file_hash(config.keyterms_file())},
    }
    keys, chain = {}, [sha256, __version__]
    for stage in STAGE_VERSIONS:
        chain += [stage, STAGE_VERSIONS[stage], own[stage]]
        keys[stage] = f"{stage}-{_digest(*chain)}"
    return keys


def _key_from(context, parameters) -> str:
    return parameters["cache_key"]


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
def acquire_task(source: str, config: AcquireConfig) -> Acquired:
    return acquire(source, config)


_CACHED = dict(cache_key_fn=_key_from, persist_result=True)


@task(name="extract", **_CACHED)
def extract_task(path: str, config: ExtractConfig, cache_key: str) -> ExtractedDocument:
    doc = extract_pdf(Path(path), config)
    if doc.problems:
        logger = get_run_logger()
        for p in doc.problems:
            logger.warning("page %d: %s (%s)", p.page, p.kind, p.detail)
    return doc


@task(name="segment", **_CACHED)
def segment_task(extracted: ExtractedDocument, cache_key: str) -> Segmented:
    return segment(extracted)


@task(name="tokenize", **_CACHED)
def tokenize_task(segmented: Segmented, config: TokenizeConfig, cache_key: str) -> pa.Table:
    return tokenize_sentences(segmented.sentences, config)


@lru_cache(maxsize=2)
def _tagger(lexicon_file: str, mode: str, dictionary: str):
    """The spaCy pipeline and lexicon, built once per process."""
    lexicon = load_lexicon(Path(lexicon_file))
    return lexicon, build_tagger(lexicon, TokenizeConfig(mode=mode, dictionary=dictionary))


@task(name="tag", **_CACHED)
def tag_task(tokens: pa.Table, lexicon_file: str, config: TokenizeConfig, cache_key: str) -> list[Mention]:
    lexicon, nlp = _tagger(lexicon_file, config.mode, config.dictionary)
    return tag_tokens(nlp, lexicon, tokens)


@task(name="attribute", **_CACHED)
def attribute_task(segmented: Segmented, mentions: list[Mention], lexicon_file: str, cache_key: str) -> Attribution:
    return attribute(segmented, mentions, load_lexicon(Path(lexicon_file)))


@task(name="facts", **_CACHED)
def facts_task(segmented: Segmented, tokens: pa.Table, attribution: Attribution, lexicon_file: str, cache_key: str) -> list[PolicyFact]:
    return extract_facts(segmented, tokens, attribution, load_lexicon(Path(lexicon_file)))


@task(name="relations", **_CACHED)
def relations_task(segmented: Segmented, attribution: Attribution, lexicon_file: str, cache_key: str) -> list[Relation]:
    return extract_relations(segmented, attribution, load_lexicon(Path(lexicon_file)))


@task(name="policies", **_CACHED)
def policies_task(segmented: Segmented, attribution: Attribution, lexicon_file: str, cache_key: str) -> list[Policy]:
    return extract_policies(segmented, attribution, load_lexicon(Path(lexicon_file)))


@task(name="keyterms", **_CACHED)
def keyterms_task(tokens: pa.Table, attribution: Attribution, settings_file: str, cache_key: str) -> KeyTerms:
    return key_terms(tokens, attribution, load_keyterm_config(Path(settings_file)))


@task(name="build-tables")
def build_tables_task(
    edition: str,
    acquired: Acquired,
    extracted: ExtractedDocument,
    segmented: Segmented,
    tokens: pa.Table,
    attribution: Attribution,
    facts: list[PolicyFact],
    relations: list[Relation],
    policies: list[Policy],
    keyterms: KeyTerms,
    lexicon_file: str,
    config: RunConfig,
) -> dict[str, pa.Table]:
    tables = build_tables(
        edition=edition,
        acquired=acquired,
        extracted=extracted,
        segmented=segmented,
        tokens=tokens,
        attribution=attribution,
        lexicon=load_lexicon(Path(lexicon_file)),
        processed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        pipeline_version=__version__,
        config=json.dumps(asdict(config), sort_keys=True, default=str),
    )
    tables.update(build_analysis_tables(edition=edition, facts=facts, relations=relations, policies=policies, keyterms=keyterms))
    return tables


@task(name="check-findings")
def check_findings_task(edition: str, tables: dict[str, pa.Table], expectations_file: str) -> list[Finding]:
    """The report's stated findings against what was extracted (nothing to check without a file)."""
    if not expectations_file:
        return []
    needed = ("sections", "sentences", "country_technology", "policy_facts", "relations")
    findings = check_findings(load_expectations(Path(expectations_file)), {n: tables[n].to_pylist() for n in needed})
    logger = get_run_logger()
    for f in findings:
        if f.status != "matched":
            logger.warning("%s: %s (%s)", f.status, f.claim, f.detail)
    return findings


@task(name="publish")
def publish_task(edition: str, out_dir: str, tables: dict[str, pa.Table]) -> str:
    return str(publish(tables, Path(out_dir), edition))


def default_edition(source: str) -> str:
    """A readable edition name from the source: the listing entry id, else the file name."""
    parsed = urlparse(source)
    if parsed.scheme in ("http", "https") and parsed.fragment:
        name = parsed.fragment
    else:
        name = Path(parsed.path if parsed.scheme else source).stem or "report"
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "report"
    return name


def _artifact_key(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:60] or "report"


@flow(name="process-report", log_prints=True)
def process_report(
    source: str,
    edition: str | None = None,
    out_dir: str = "processed",
    raw_dir: str = "raw",
    tokenizer_mode: str = "C",
    lexicon_path: str = "",
    expectations: str | None = None,
):
    """Acquire a report, extract and tag it, publish its tables under ``out_dir/edition``.

    ``expectations``: a findings file to check against; None picks the report's own when the
    source names a known report (#fy24_rr02); "" checks nothing. A contradicted finding fails
    the run, after the tables and the check are published, so the analyst can see why.
    """
    edition = check_edition_name(edition or default_edition(source))
    config = RunConfig(tokenize=TokenizeConfig(mode=tokenizer_mode), lexicon_path=lexicon_path)
    lexicon_file = str(config.lexicon_file())
    if expectations is None:
        found = default_expectations(source)
        expectations = str(found) if found else ""

    # One run at a time per output directory: a second one stops at once with a clear message.
    with output_lock(Path(out_dir)):
        acquired = acquire_task(source, AcquireConfig(raw_dir=Path(raw_dir)))
        keys = stage_keys(acquired.sha256, config)
        extracted = extract_task(str(acquired.path), config.extract, cache_key=keys["extract"])
        segmented = segment_task(extracted, cache_key=keys["segment"])
        tokens = tokenize_task(segmented, config.tokenize, cache_key=keys["tokenize"])
        mentions = tag_task(tokens, lexicon_file, config.tokenize, cache_key=keys["tag"])
        attribution = attribute_task(segmented, mentions, lexicon_file, cache_key=keys["attribute"])
        facts = facts_task(segmented, tokens, attribution, lexicon_file, cache_key=keys["facts"])
        relations = relations_task(segmented, attribution, lexicon_file, cache_key=keys["relations"])
        policies = policies_task(segmented, attribution, lexicon_file, cache_key=keys["policies"])
        keyterms = keyterms_task(tokens, attribution, str(config.keyterms_file()), cache_key=keys["keyterms"])
        tables = build_tables_task(edition, acquired, extracted, segmented, tokens, attribution,
                                   facts, relations, policies, keyterms, lexicon_file, config)
        findings = check_findings_task(edition, tables, expectations)
        tables["findings_check"] = findings_check_table(edition, findings)
        publish_task(edition, out_dir, tables)

    ct = tables["country_technology"].to_pylist()
    problems = [f"page {p.page}: {p.kind} ({p.detail})" for p in extracted.problems]
    summary = RunSummary(
        edition=edition,
        output=str(Path(out_dir) / edition),
        database=str(Path(out_dir) / "jstmine.duckdb"),
        sha256=acquired.sha256,
        pages=len(extracted.pages),
        sentences=len(segmented.sentences),
        tokens=tokens.num_rows,
        mentions=len(mentions),
        country_technology=[{k: r[k] for k in ("country", "technology", "mentions", "sentences", "pages")} for r in ct],
        problems=problems,
        not_modified=acquired.not_modified,
        facts=len(facts),
        relations=len(relations),
        policies=len(policies),
        findings={s: sum(f.status == s for f in findings) for s in ("matched", "missing", "contradicted") if findings},
        contradicted=[f"{f.claim}: {f.detail}" for f in findings if f.status == "contradicted"],
    )
    _publish_artifacts(summary, ct, tables, findings)
    if summary.contradicted:
        return Failed(
            message=f"{len(summary.contradicted)} findings contradicted (tables and the check are published "
                    f"in {summary.output}): " + "; ".join(summary.contradicted),
            data=summary,
        )
    return Completed(data=summary)


def _publish_artifacts(summary: RunSummary, ct: list[dict], tables: dict[str, pa.Table], findings: list[Finding]) -> None:
    key = _artifact_key(summary.edition)
    facts = tables["policy_facts"].to_pylist()
    if facts:
        create_table_artifact(
            key=f"policy-facts-{key}",
            table=[{k: r[k] for k in ("country", "count", "year", "item", "policy", "administration", "page")} for r in facts],
            description=f"Policy facts for edition {summary.edition}",
        )
    if findings:
        create_table_artifact(
            key=f"findings-check-{key}",
            table=[{"status": f.status, "claim": f.claim, "detail": f.detail, "page": f.page,
                    "body": f.body_support or ""} for f in findings],
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
        *([f"- findings check: " + ", ".join(f"{n} {s}" for s, n in summary.findings.items())] if summary.findings else []),
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
