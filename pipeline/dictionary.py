"""Data dictionary: every published table and column, described, from the table specs.

Input: ``pipeline.tables.SPECS`` (names, types, required columns, keys) and the descriptions
below, keyed by table then column. Output: the dictionary as rows (``dictionary``), as Markdown
(``markdown``, committed as ``docs/data-dictionary.md``) or as JSON (``as_json``), and the list
of columns that have no description (``missing_descriptions``, which a test keeps empty). Pure.

A new table or column needs its description here: the test names each one that lacks it.
Regenerate the committed file with ``.venv/bin/python -m pipeline.dictionary``.
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pyarrow as pa

from pipeline.publish import LATEST_EDITIONS, LATEST_PREFIX
from pipeline.tables import SPECS, TableSpec
from pipeline.timestamps import DATE_FORMAT, TIMESTAMP_FORMAT

DOCS_PATH = Path("docs") / "data-dictionary.md"
REGENERATE = ".venv/bin/python -m pipeline.dictionary"

# What holds for every table; the Markdown opens with it.
CONVENTIONS = f"""\
- **edition**: every table has an `edition` column, the name of the edition the row belongs to
  (`fy24_rr02-2025-04-01`); the database holds every edition's rows, so filter or join on it.
- **ids are per edition**: numeric ids (`sentence_id`, `paragraph_id`, `section_id`, `mention_id`,
  `fact_id`, `relation_id`, `policy_id`, `footnote_id`, `entry_id`, `difference_id`, `token_index` …)
  are numbered from 0 in document order each time an edition is processed. They are stable only
  within an edition: the same sentence may have another id in another edition. Join on
  (`edition`, id), and compare editions by content (country, technology, item, text), never by id.
  `claim_id` is the exception: it is made from the claim itself (`tech-KR-ai`, `fact-KR-12-国家戦略技術`).
- **pages** are the PDF's pages counted from 1 (what a PDF viewer's page box shows), not the
  numbers printed on the pages (those are `contents.printed_page`).
- **character offsets** (`char_start`, `char_end`) count Unicode characters (code points) of the
  sentence's text as published (NFKC), from 0; the end is exclusive (`text[char_start:char_end]`).
- **times** are text, {TIMESTAMP_FORMAT} (`2026-12-06T17:30:00+00:00`); **dates** are text, {DATE_FORMAT}.
  Editions written by an older jstmine (`fetched_at` ending in `Z`, `last_modified` as the HTTP
  header): the database's rows are rewritten in this format at the next publish, the report and
  `jstmine diff` read their files in it (`pipeline/schema_history.py`); the files themselves keep
  what was written.
- **countries and regions** are the lexicon's ids (`pipeline/data/lexicon.toml`): ISO 3166-1 alpha-2
  for countries (`KR`, `US`, `JP`), the lexicon's ids for regions (`EU`, `ASEAN`) and frameworks
  (`QUAD`, `G7`); **technologies** are the lexicon's ids (`quantum`, `ai`, finer ones such as `generative_ai`).
- **empty** (null) means not known or not applicable, as each column says. Integer columns with
  empties are nullable: read them in pandas with `dtype_backend="numpy_nullable"` (README) or they
  become float64.
- **lists** (`list<…>`) are Parquet and database lists; the CSV files write them as `a;b;c`.
"""

TABLES: dict[str, str] = {
    "documents": "One row per processed PDF: where it came from, when, and what the run made of it.",
    "pages": "One row per page of the PDF.",
    "sections": "One row per heading, with its place in the document's structure (section 0: the text before the first heading).",
    "sentences": "One row per sentence (or heading, caption, footnote, figure label, reference entry).",
    "tokens": "One row per Sudachi token of a sentence.",
    "mentions": "One row per mention of a country, region, framework or technology (the lexicon's tagging).",
    "country_technology": "One row per (subject, broad technology): the technology mentions in the subject's passages.",
    "policy_facts": "One row per designation of a set of technologies, industries or areas (as the summary states it and as the body states it).",
    "relations": "One row per (subject, other party, relation) a sentence states.",
    "policies": "One row per named strategy, framework, concept or list in 「」 or 『』.",
    "keyterms": "One row per (subject, rank): the subject's most distinctive words by TF-IDF.",
    "country_similarity": "One row per ordered pair of subjects: how alike their vocabularies are, and the words they share most.",
    "summary_claims": "One row per claim the executive summary (or the announcement page, or an expectations file) states.",
    "summary_comparison": "One row per paragraph where the announcement page's summary and the PDF's summary chapter differ.",
    "findings_check": "One row per claim: whether the body chapters support it.",
    "lexicon_gaps": "One row per place or organisation GiNZA's NER finds and the lexicon does not cover (only with --ner-audit).",
    "pdf_tables": "One row per cell of a table found in the PDF.",
    "contents": "One row per entry of the contents page (目次) or the PDF's outline (bookmarks).",
    "footnotes": "One row per footnote, with the sentences that cite it.",
    "cooccurrence_nodes": "One row per node of the co-occurrence network (KH Coder's 共起ネットワーク): a country or region, or a broad technology.",
    "cooccurrence_edges": "One row per kept edge of the co-occurrence network: two nodes named in the same sentences, weighted by the Jaccard index.",
    "correspondence": "One row per point of the correspondence analysis (対応分析) of the country × technology crosstab (body sentences, as crosstab_residuals): a country (row) or a technology (column).",
    "crosstab_residuals": "One row per cell of the country × technology crosstab, with its adjusted residual against independence (χ² test). The crosstab counts body and heading sentences outside the executive summary (which restates the body), and leaves out countries and technologies in fewer than [crosstab] min_sentences of them (pipeline/data/analyses.toml, KH Coder's minimum frequency).",
    "word_frequencies": "One row per (part-of-speech group, term): frequency lists by part of speech (品詞別頻度), as KH Coder gives them.",
}

_ED = "The edition the row belongs to (see the conventions above)."
_SUBJECT = ("The subject: the country or region (lexicon id) whose policy the passage describes "
            "(pipeline/attribute.py); empty when the passage has none.")
_SUBJECT_SOURCE = ("How the subject was decided: `paragraph` (the paragraph opens with it as its topic), "
                   "`heading` (a heading naming one country), `sentence` (the sentence opens with other places "
                   "than its paragraph's as its own topic, また、中国では…: with one, it is the subject; with several, "
                   "米国や欧州も…, the subject is empty), `none` (no subject).")
_PAGE = "PDF page (from 1) where the sentence starts."
_EVIDENCE = "The sentence's text (as in `sentences.text`), the evidence for the row."
_IN_SUMMARY = "Whether the sentence is in the executive summary (sections of role `summary`); summary and body are kept apart so one can be checked against the other."
_SENTENCE = "The sentence stating it (`sentences.sentence_id`, per edition)."
_COUNT = "How many items the set has (12 in 12の国家戦略技術); empty when the text gives no number."
_YEAR = "The year of the designation, western calendar (令和4年 → 2022); empty when none is given."
_YEAR_QUALIFIER = "`in` (designated that year) or `since` (以降: from that year on); empty when there is no year."
_PART_OF = "For a part of a set (4 of the 10): the size of the whole (10); empty otherwise."
_UPDATE = "How often, in years, the list is revised (2年ごとに → 2); empty when not stated."

DESCRIPTIONS: dict[str, dict[str, str]] = {
    "documents": {
        "edition": _ED,
        "sha256": "SHA-256 of the PDF's bytes (hex): the edition's content.",
        "report_id": "The report's id on its listing page (the entry's id, `fy24_rr02`); empty for a PDF URL or a local path.",
        "report_title": "The report's title as its listing entry or announcement page gives it; empty when there is none.",
        "published": f"The publication date the listing entry or announcement page gives: {DATE_FORMAT}; empty when it gives none.",
        "run_key": "Digest of the PDF's sha256, jstmine's and every stage's version and the run's settings: an edition published again with the same run_key is up to date.",
        "source": "The source as given to `jstmine run` or `sources.toml` (a URL, with #entry for a listing page, or a path).",
        "url": "The PDF's URL (after following a listing or announcement page); empty for a local path.",
        "final_url": "The PDF's URL after redirects; empty for a local path.",
        "raw_path": "Where the PDF is stored (`raw/<host>[-<entry>]-<sha256>.pdf`, or the local file).",
        "bytes": "Size of the PDF in bytes.",
        "etag": "The server's ETag for the PDF, sent back as If-None-Match on the next fetch; empty when none.",
        "last_modified": f"The server's Last-Modified for the PDF, converted to a {TIMESTAMP_FORMAT}; empty when the server sent none (the header as sent stays in raw/manifest.jsonl).",
        "fetched_at": f"When the PDF was fetched (or the stored copy confirmed by a 304): {TIMESTAMP_FORMAT}.",
        "processed_at": f"When the run that published the edition processed it: {TIMESTAMP_FORMAT}.",
        "title": "The PDF's own Title metadata; empty when it has none.",
        "pages": "Number of pages of the PDF.",
        "pages_without_text": "Pages (from 1) that have no text layer (scanned images) and were not read by OCR (`--ocr off`, or a blank page): nothing was read from them.",
        "pages_with_unmapped_glyphs": "Pages (from 1) where many glyphs have no Unicode mapping (come out as (cid:N)).",
        "sentences": "Number of rows of `sentences` for the edition.",
        "tokens": "Number of rows of `tokens` for the edition.",
        "mentions": "Number of rows of `mentions` for the edition.",
        "pipeline_version": "jstmine's version that processed the edition.",
        "lexicon_version": "The `version` of the lexicon file used.",
        "config": "The run's settings as JSON: extraction and tokenizer settings, the lexicon, key-term, rules and expectations files (empty: the packaged ones), whether the NER audit ran.",
    },
    "pages": {
        "edition": _ED,
        "page": "PDF page number, from 1.",
        "width": "Page width in PDF points (1/72 inch; A4 is 595).",
        "height": "Page height in PDF points (1/72 inch; A4 is 842).",
        "chars": "Characters of body text on the page after clean-up (furniture removed).",
        "has_text_layer": "Whether the page has text to read (false for a scanned image).",
        "unmapped_share": "Share (0 to 1) of the page's glyphs that have no Unicode mapping ((cid:N)).",
        "column_count": "Text columns on the page (1 for one column; tiers for vertical writing); 0 when the page has no text.",
        "problem": "`font_refused: …` for each font the reference reader refused on the page (a hostile or damaged font: the text set in it was left out; the detail names the font and why; past five fonts on a page, one more counts the others), `no_text_layer: …`, `unmapped_glyphs: …` or `ocr_found_nothing: …` with a detail, and `too_many_drawings: …` when the page drew too many images and paths for its tables and figures to be looked for (joined by `; ` when the page has several); empty when the page read well.",
        "removed_lines": "Page furniture removed from the text: running heads and feet, page numbers, chapter tabs, furigana.",
        "text_source": "How the page's text was obtained: `text_layer` (the PDF's own text) or `ocr` (read by OCR from the rendered page: no text layer, more unmapped glyphs than the threshold, or `--ocr force`).",
        "ocr_engine": "The OCR engine and its version (`tesseract 5.3.0`) on an `ocr` page; empty otherwise.",
        "ocr_language": "The OCR model on an `ocr` page: `jpn` (horizontal writing) or `jpn_vert` (vertical writing, 縦書き); empty otherwise.",
        "ocr_confidence": "Mean confidence (0 to 100) OCR gave the words it kept on the page; empty on `text_layer` pages and when OCR found no text.",
    },
    "sections": {
        "edition": _ED,
        "section_id": "The section's id (per edition, in document order; 0 is the text before the first heading).",
        "level": "Heading level: 1 chapter, 2 section, 3 and more below (0 for section 0).",
        "heading": "The heading's text.",
        "path": "The headings from the chapter down to this one, joined by ` > ` (`第4章 韓国 > 4.1 …`).",
        "parent_id": "The enclosing section's `section_id`; empty for a chapter and section 0.",
        "page": "PDF page (from 1) of the heading.",
        "subject": "The country or region the heading names (it becomes the subject of the section's text); empty when none.",
        "listed": "Whether the contents page or the PDF outline lists the heading; empty when the document has neither (and for section 0).",
        "role": "`summary` (the executive summary and what is under it), `references` (a reference list), or empty text for any other section.",
    },
    "sentences": {
        "edition": _ED,
        "sentence_id": "The sentence's id (per edition, in reading order, from 0).",
        "paragraph_id": "The paragraph (block) it belongs to (per edition, in reading order).",
        "section_id": "The section it is in (`sections.section_id`).",
        "page": _PAGE,
        "position_in_paragraph": "Position of the sentence within its paragraph, from 0.",
        "kind": "`body`, `heading`, `caption`, `footnote`, `figure_text` or `reference` (README: kinds); only body and heading text has a subject.",
        "text": "The sentence's text: NFKC-normalized, lines joined, footnote markers removed.",
        "subject": _SUBJECT,
        "subject_source": _SUBJECT_SOURCE,
        "in_summary": "Whether the sentence is in the executive summary (sections of role `summary`).",
        "text_source": "How the text of its page was obtained (`pages.text_source`): `text_layer`, or `ocr` when the page was read by OCR (check OCR rows against the page image: `pages.ocr_confidence`).",
    },
    "tokens": {
        "edition": _ED,
        "sentence_id": "The sentence the token is in (`sentences.sentence_id`).",
        "token_index": "Position of the token within its sentence, from 0.",
        "surface": "The token as it is written in the sentence.",
        "normalized": "Sudachi's normalized form (ＡＩ → AI, spelling variants unified): what the lexicon and key terms match on.",
        "dictionary_form": "Sudachi's dictionary form (a verb's or adjective's base form: 進め → 進める).",
        "pos": "Part of speech, Sudachi's first field (名詞, 動詞, 形容詞, 助詞 …).",
        "pos_detail": "The remaining POS fields joined by `-`, `*` left out (普通名詞-サ変可能, 固有名詞-地名-国).",
        "reading": "Sudachi's reading, in katakana.",
        "char_start": "Offset of the token's first character in the sentence's text (from 0).",
        "char_end": "Offset just past the token's last character (exclusive).",
    },
    "mentions": {
        "edition": _ED,
        "mention_id": "The mention's id (per edition, in reading order, from 0).",
        "sentence_id": "The sentence it is in (`sentences.sentence_id`).",
        "paragraph_id": "The paragraph it is in (`sentences.paragraph_id`).",
        "section_id": "The section it is in (`sections.section_id`).",
        "page": _PAGE,
        "char_start": "Offset of the mention's first character in the sentence's text (from 0).",
        "char_end": "Offset just past the mention's last character (exclusive).",
        "text": "The mention as written (韓国, 量子コンピュータ, 米 in 米日韓).",
        "label": "`COUNTRY`, `REGION`, `FRAMEWORK` or `TECHNOLOGY`.",
        "id": "The lexicon id it stands for (ISO alpha-2 country, region, framework or technology id).",
        "top": "For a technology, its broad technology (generative_ai → ai); the id itself for anything else.",
        "via": "`lexicon` (an alias matched on Sudachi tokens) or `abbreviation` (one character of a fused bloc such as 米日韓).",
        "subject": _SUBJECT,
        "subject_source": _SUBJECT_SOURCE,
        "kind": "The kind of its sentence (`sentences.kind`).",
        "text_source": "How the text of its page was obtained (`pages.text_source`): `text_layer`, or `ocr` when the page was read by OCR (check OCR rows against the page image: `pages.ocr_confidence`).",
        "approximate": "True when the alias was matched with one character misread, dropped or added (先端セシング for 先端センシング): only in sentences of pages read by OCR, only for aliases of 5 characters or more, never where the span is as close to another entry's alias (`pipeline.tag.approximate_mentions`); False for every exact match and every text-layer page.",
    },
    "country_technology": {
        "edition": _ED,
        "country": "The subject (country or region id) in whose passages the technology is named.",
        "technology": "The broad technology's id (`quantum`, `ai` …).",
        "technology_name": "The broad technology's name in the lexicon.",
        "mentions": "Number of mentions of the technology (or of a finer item of it) in the subject's passages.",
        "sentences": "Number of distinct sentences with those mentions (≤ mentions).",
        "pages": "The PDF pages of those mentions, ascending.",
        "items": "The finer technologies named (ids below the broad one: generative_ai under ai); empty list when only the broad one is named.",
        "sentence_ids": "Every sentence with such a mention (`sentences.sentence_id`), ascending.",
        "evidence_page": "PDF page of the first such sentence.",
        "evidence": "The first such sentence's text.",
    },
    "policy_facts": {
        "edition": _ED,
        "fact_id": "The fact's id (per edition, from 0).",
        "country": "The subject whose designation it is (country or region id).",
        "item_count": _COUNT,
        "year": _YEAR,
        "year_qualifier": _YEAR_QUALIFIER,
        "item": "The noun counted or designated (国家戦略技術, 優先技術分野, 重要技術 …), as written.",
        "part_of": _PART_OF,
        "policy": "The named policy the designation belongs to (重要・新興技術(CET)国家戦略); empty when none is named.",
        "administration": "The administration named with it (トランプ政権); empty when none.",
        "update_every_years": _UPDATE,
        "technologies": "The broad technology ids named in the same sentence.",
        "page": _PAGE,
        "sentence_id": _SENTENCE,
        "also_in": "Other sentences (ids) that state the same country, count and item.",
        "evidence": _EVIDENCE,
        "in_summary": _IN_SUMMARY,
        "text_source": "How the text of its page was obtained (`pages.text_source`): `text_layer`, or `ocr` when the page was read by OCR (check OCR rows against the page image: `pages.ocr_confidence`).",
    },
    "relations": {
        "edition": _ED,
        "relation_id": "The relation's id (per edition, from 0).",
        "subject": "The subject (country or region id) that has the relation.",
        "other": "The other party's id (country, region or framework).",
        "other_label": "What the other party is: `COUNTRY`, `REGION` or `FRAMEWORK`.",
        "relation": "`partner`, `competitor`, `framework` (a framework the subject is in) or `other`.",
        "cue": "The word that decided the relation (連携, 競争相手 …), or the framework's name.",
        "via": "How it was decided: `cue`, `framework`, `framework member` or `sentence` (a cue elsewhere in the sentence).",
        "page": _PAGE,
        "sentence_id": _SENTENCE,
        "evidence": _EVIDENCE,
        "in_summary": _IN_SUMMARY,
        "text_source": "How the text of its page was obtained (`pages.text_source`): `text_layer`, or `ocr` when the page was read by OCR (check OCR rows against the page image: `pages.ocr_confidence`).",
    },
    "policies": {
        "edition": _ED,
        "policy_id": "The named policy's id (per edition, from 0).",
        "subject": _SUBJECT,
        "name": "The name inside 「」 or 『』.",
        "type": "`strategy`, `framework`, `concept` or `list`, from the words of the name (findings.toml).",
        "page": _PAGE,
        "sentence_id": _SENTENCE,
        "evidence": _EVIDENCE,
    },
    "keyterms": {
        "edition": _ED,
        "country": "The subject (country or region id); its sentences are one document of the TF-IDF.",
        "rank": "1 for the subject's most distinctive term, then 2, 3 … (up to top_n of keyterms.toml).",
        "term": "The term: a noun, counted by its Sudachi normalized form and written as the document spells it most (自強, not Sudachi's 自彊); no place name, no noun usable as an adverb (うち, 今後), no verb, no short Latin fragment (pipeline/data/keyterms.toml, pipeline/tokenfilter.py).",
        "score": "TF-IDF weight of the term for the subject: (1 + ln frequency) × idf, the subject's vector scaled to length 1, so 0 to 1; higher is more distinctive.",
        "frequency": "How often the term occurs in the subject's sentences.",
    },
    "country_similarity": {
        "edition": _ED,
        "country": "One subject (country or region id).",
        "other": "Another subject; every pair appears in both orders.",
        "similarity": "Cosine similarity of the two subjects' TF-IDF vectors (keyterms.score over all their terms): 0 = no term in common, 1 = the same profile. It is the sum, over the terms both use, of the product of their two weights.",
        "shared_terms": "The terms that contribute most to the similarity (largest product of the two weights first), at most five; empty list when the two share none.",
    },
    "summary_claims": {
        "edition": _ED,
        "claim_id": "The claim's id, made from its content (`tech-KR-ai`, `fact-KR-12-国家戦略技術`, `rel-US-competitor-CN`; `-2` … when taken): the same claim has the same id in every edition.",
        "kind": "`technology` (the subject names a broad technology), `fact` (a designation) or `relation`.",
        "country": "The subject the claim is about (country or region id).",
        "claim": "The claim in a line (`KR names ai`, `KR: 12 国家戦略技術 (2022)`, `US competitor CN`).",
        "technology": "For a technology claim: the broad technology id; empty otherwise.",
        "item_count": "For a fact: " + _COUNT[0].lower() + _COUNT[1:],
        "year": "For a fact: " + _YEAR[0].lower() + _YEAR[1:],
        "year_qualifier": "For a fact: " + _YEAR_QUALIFIER,
        "item": "For a fact: the noun designated (国家戦略技術 …); empty otherwise.",
        "aliases": "For a fact: the other nouns the same set goes by (the summary's own, and the equivalents of findings.toml).",
        "part_of": "For a fact: " + _PART_OF[0].lower() + _PART_OF[1:],
        "update_every_years": "For a fact: " + _UPDATE[0].lower() + _UPDATE[1:],
        "other": "For a relation: the other party's id; empty otherwise.",
        "relation": "For a relation: `partner`, `competitor`, `framework` or `other`; empty otherwise.",
        "origin": "Where the claim comes from: `summary_chapter`, `announcement_page` or `expectations_file`.",
        "stated_in": "Every source stating the claim, in that order.",
        "page": "PDF page where the summary states it; empty when only the announcement page or a file does.",
        "sentence_id": "The summary sentence stating it (`sentences.sentence_id`, per edition); empty as for page.",
        "evidence": "That sentence's text; empty as for page.",
    },
    "summary_comparison": {
        "edition": _ED,
        "difference_id": "The difference's id (per edition, from 0).",
        "status": "`changed` (both have the paragraph, worded differently), `only_page` or `only_chapter`.",
        "page_text": "The announcement page's paragraph; empty for only_chapter.",
        "chapter_text": "The PDF summary chapter's paragraph; empty for only_page.",
        "chapter_page": "PDF page of the chapter's paragraph; empty for only_page.",
        "similarity": "How alike the two paragraphs are, 0 to 1 (difflib's ratio of matching characters); 0 when one side is missing.",
    },
    "findings_check": {
        "edition": _ED,
        "claim_id": "The claim checked (`summary_claims.claim_id`).",
        "kind": "`technology`, `fact` or `relation`.",
        "country": "The subject the claim is about.",
        "claim": "The claim in a line.",
        "origin": "Where the claim comes from (`summary_claims.origin`).",
        "status": "`matched` (the body chapters support it), `missing` (they say nothing about it) or `contradicted` (they say otherwise).",
        "detail": "Why, in a sentence (pages, the count or year the body gives, …); a value the claim states is attributed to its origin (the summary, the announcement page, the expectations file).",
        "detail_ja": "The same in Japanese, as the report shows it (本文の 4 文が挙げている（p. 6）); empty in editions made before it.",
        "summary_page": "The summary's side: PDF page where the claim is stated; empty when not in the PDF.",
        "summary_sentence_id": "The summary's side: the sentence stating it (`sentences.sentence_id`).",
        "summary_evidence": "The summary's side: that sentence's text.",
        "evidence_table": "The body's side: the table of the row that supports or contradicts it (country_technology, mentions, policy_facts, relations); empty when missing.",
        "evidence_row": "The body's side: the row in evidence_table (its id column: mention_id, fact_id, relation_id; for country_technology the row's position in the edition's table, from 0).",
        "page": "The body's side: PDF page of the evidence sentence.",
        "sentence_id": "The body's side: the evidence sentence (`sentences.sentence_id`).",
        "evidence": "The body's side: the evidence sentence's text.",
    },
    "lexicon_gaps": {
        "edition": _ED,
        "text": "The name GiNZA found, as written.",
        "ner_label": "GiNZA's NER label (Country, GPE_Other, International_Organization, Government).",
        "occurrences": "How many times it was found.",
        "sentence_ids": "The sentences it was found in.",
        "page": "PDF page of the first of them.",
        "evidence": "The first of them's text.",
    },
    "pdf_tables": {
        "edition": _ED,
        "page": "PDF page of the table.",
        "table_index": "The table's position on its page, from 0.",
        "table_row": "The cell's row within the table, from 0.",
        "table_column": "The cell's column within the table, from 0.",
        "text": "The cell's text (empty text for an empty cell).",
        "caption": "The table's caption (表2-1 …), when one is found next to it; empty otherwise.",
    },
    "contents": {
        "edition": _ED,
        "entry_id": "The entry's id (per edition: the contents page's entries first, then the outline's).",
        "source": "`contents_page` (an entry printed on the contents page) or `outline` (a bookmark of the PDF).",
        "page": "For a contents_page entry: the PDF page the entry is printed on; for an outline entry: the PDF page it points to (empty when it cannot be resolved).",
        "level": "1 chapter, 2 section, 3 and more below (from its numbering or indent; the outline's depth).",
        "title": "The entry's title, without leader dots and page number.",
        "printed_page": "The page number printed after the entry (`5`, `ii`), as text; empty when none (and for the outline).",
        "section_id": "The section whose heading the entry names (`sections.section_id`); empty: listed but not found in the body.",
    },
    "cooccurrence_nodes": {
        "edition": _ED,
        "node_id": "The lexicon id of the country, region or broad technology (KR, quantum).",
        "node_label": "Its display name (韓国, 量子技術).",
        "node_kind": "`country` (a country or region) or `technology` (a broad technology).",
        "frequency": "Sentences of kind body or heading that name it (pipeline/data/analyses.toml says which kinds count).",
        "degree": "How many kept edges (cooccurrence_edges) touch this node.",
    },
    "cooccurrence_edges": {
        "edition": _ED,
        "node_a": "One node's id (node_a < node_b, so each pair appears once).",
        "node_b": "The other node's id.",
        "cooccurrences": "Sentences (of the counted kinds) that name both.",
        "jaccard_index": "Sentences with both ÷ sentences with either, 0 < value ≤ 1.",
        "edge_rank": "1 for the strongest edge (by Jaccard index, ties broken by co-occurrences, then ids); only the strongest edges are kept (analyses.toml).",
    },
    "correspondence": {
        "edition": _ED,
        "point_kind": "`country` (a row of the crosstab) or `technology` (a column).",
        "point_id": "The lexicon id of the country or technology.",
        "point_label": "Its display name.",
        "dim1": "Principal coordinate on the first dimension (prince.CA).",
        "dim2": "Principal coordinate on the second dimension; empty when the crosstab has only one dimension.",
        "mass": "The point's share of all counts (its row or column total ÷ the grand total).",
        "share_dim1": "Share of the total inertia the first dimension explains (0–1, the same on every row).",
        "share_dim2": "Share of the total inertia the second dimension explains; empty with one dimension.",
    },
    "crosstab_residuals": {
        "edition": _ED,
        "country": "The subject's lexicon id (a row of the crosstab).",
        "country_name": "Its display name.",
        "technology": "The broad technology's lexicon id (a column).",
        "technology_name": "Its display name.",
        "observed": "Body sentences of the subject's passages naming the technology: mentions (subject, broad technology) joined to sentences of kind body or heading with in_summary false, distinct sentences counted (0 when none). Unlike country_technology.sentences, the executive summary's sentences are not counted.",
        "expected": "The count expected if subject and technology were independent (row total × column total ÷ grand total).",
        "residual": "Adjusted (standardised) residual (O−E)/√(E(1−row share)(1−column share)); |value| ≥ 1.96 is significant at 5 % where expected ≥ 5 (below, the normal approximation does not hold and the report does not mark the cell significant).",
        "chi_square": "The χ² statistic of the whole crosstab (no continuity correction; the same on every row).",
        "dof": "Its degrees of freedom, (rows − 1) × (columns − 1).",
        "p_value": "Its p-value; weak when many expected counts are below 5 (the report says so).",
    },
    "word_frequencies": {
        "edition": _ED,
        "pos_group": "The part-of-speech group (名詞, サ変名詞, 固有名詞, 地名, 人名, 動詞, 形容詞 …) from Sudachi's POS, by the rules of pipeline/data/analyses.toml.",
        "term": "The term: counted by the token's Sudachi normalized form, written as the document spells it most (its dictionary form: 自強, not Sudachi's 自彊; 進める); short Latin fragments (cet) left out.",
        "frequency": "Its occurrences in the counted sentences.",
        "sentences": "Sentences containing it.",
        "term_rank": "Its rank within the group, 1 for the most frequent.",
    },
    "footnotes": {
        "edition": _ED,
        "footnote_id": "The footnote's id (per edition, from 0).",
        "page": "PDF page of the footnote.",
        "number": "The footnote's number or mark as printed (`1`, `12`, `※2`), as text.",
        "text": "The footnote's text.",
        "sentence_id": "The footnote's own sentence (kind `footnote`) in `sentences`.",
        "cited_by": "The sentences whose footnote marker cites it, in order; empty list when none is found.",
        "citing_page": "PDF page of the first citing sentence; empty when none.",
        "citing_sentence": "The first citing sentence's text; empty when none.",
    },
}


@dataclass(frozen=True)
class Column:
    table: str
    name: str
    type: str  # Arrow type as the Parquet files have it (string, int32, list<int32> …)
    required: bool  # never empty (null)
    key: bool  # part of the columns that identify a row within an edition
    description: str


def type_name(typ: pa.DataType) -> str:
    """A column type in a short form: ``string``, ``int32``, ``list<int32>``, ``bool``.

    Parameters:
        typ: the Arrow type of a spec's field.
    """
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return f"list<{type_name(typ.value_type)}>"
    if pa.types.is_floating(typ):
        return f"float{typ.bit_width}"  # Arrow says float / double
    return "string" if pa.types.is_string(typ) else str(typ)


def missing_descriptions(specs: dict[str, TableSpec] | None = None,
                         descriptions: dict[str, dict[str, str]] | None = None,
                         tables: dict[str, str] | None = None) -> list[str]:
    """Every table (``table``) and column (``table.column``) of ``specs`` that has no description
    (empty: the dictionary is complete).

    Parameters:
        specs: the table specs (``pipeline.tables.SPECS`` when None).
        descriptions: table → column → description (``DESCRIPTIONS`` when None).
        tables: table → description (``TABLES`` when None).
    """
    specs = SPECS if specs is None else specs
    descriptions = DESCRIPTIONS if descriptions is None else descriptions
    tables = TABLES if tables is None else tables
    missing = []
    for name, spec in specs.items():
        if not (tables.get(name) or "").strip():
            missing.append(name)
        for f in spec.schema:
            if not (descriptions.get(name, {}).get(f.name) or "").strip():
                missing.append(f"{name}.{f.name}")
    return missing


def described_but_absent(specs: dict[str, TableSpec] | None = None,
                         descriptions: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Descriptions of tables or columns that no spec has (``table.column``): left behind by a
    rename or a removal.

    Parameters:
        specs: the table specs (``pipeline.tables.SPECS`` when None).
        descriptions: table → column → description (``DESCRIPTIONS`` when None).
    """
    specs = SPECS if specs is None else specs
    descriptions = DESCRIPTIONS if descriptions is None else descriptions
    return [f"{t}.{c}" for t, cols in descriptions.items() for c in cols
            if t not in specs or c not in specs[t].schema.names]


def dictionary(table: str | None = None, specs: dict[str, TableSpec] | None = None) -> list[Column]:
    """The dictionary's rows: every column of every table (or of ``table``), in the specs' order.

    Parameters:
        table: one table's name, or None for all.
        specs: the table specs (``pipeline.tables.SPECS`` when None).

    Raises ``KeyError`` naming the table when ``table`` is not one of them.
    """
    specs = SPECS if specs is None else specs
    if table is not None and table not in specs:
        raise KeyError(table)
    names = [table] if table is not None else list(specs)
    return [Column(name, f.name, type_name(f.type), f.name in specs[name].required, f.name in specs[name].key,
                   DESCRIPTIONS.get(name, {}).get(f.name, ""))
            for name in names for f in specs[name].schema]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(table: str | None = None, specs: dict[str, TableSpec] | None = None) -> str:
    """The dictionary as Markdown: the conventions, then per table its description and a
    column | type | required | description table (``docs/data-dictionary.md`` is this for all).

    Parameters:
        table: one table's name, or None for the whole dictionary (with the conventions).
        specs: the table specs (``pipeline.tables.SPECS`` when None).
    """
    specs = SPECS if specs is None else specs
    rows = dictionary(table, specs)
    out: list[str] = []
    if table is None:
        out += ["# Data dictionary", "",
                f"Generated from the table specs (`pipeline/tables.py`) and the descriptions in "
                f"`pipeline/dictionary.py` by `{REGENERATE}`; do not edit by hand. The same is "
                "printed by `jstmine schema [TABLE] [--format table|markdown|json]`.", "",
                "Every table is in `processed/<edition>/<table>.parquet` and `.csv`, and in "
                "`processed/jstmine.duckdb` with every edition's rows. The database also has "
                "`publish_log` (`edition`, `run`, `published_at`, a time as below): which run "
                "directory's rows it holds for each edition, bookkeeping for publishing.", "",
                "## Conventions", "", CONVENTIONS.rstrip(), "", "## Tables", ""]
        out += [f"- [`{name}`](#{name}): {_cell(TABLES.get(name, ''))}" for name in specs]
        out += ["", "And the database's [views](#views): `latest_editions` and `latest_<table>`, each "
                "report's latest edition.", ""]
    for name in dict.fromkeys(c.table for c in rows):
        spec = specs[name]
        out += [f"## {name}", "", TABLES.get(name, ""), "",
                f"Key (unique within an edition): {', '.join(f'`{k}`' for k in spec.key)}.", "",
                "| column | type | required | description |", "|---|---|---|---|"]
        out += [f"| `{c.name}` | {c.type} | {'yes' if c.required else ''} | {_cell(c.description)} |"
                for c in rows if c.table == name]
        out.append("")
    if table is None:
        out.append(views_markdown(specs=specs))
    return "\n".join(out)


def as_json(table: str | None = None, specs: dict[str, TableSpec] | None = None) -> str:
    """The dictionary as JSON: ``{"tables": [{"name", "description", "key", "columns": [...]}]}``.

    Parameters:
        table: one table's name, or None for all.
        specs: the table specs (``pipeline.tables.SPECS`` when None).
    """
    specs = SPECS if specs is None else specs
    rows = dictionary(table, specs)
    tables = [{"name": name, "description": TABLES.get(name, ""), "key": list(specs[name].key),
               "columns": [{k: v for k, v in asdict(c).items() if k != "table"} for c in rows if c.table == name]}
              for name in dict.fromkeys(c.table for c in rows)]
    result = {"conventions": CONVENTIONS, "tables": tables}
    if table is None:
        result["views"] = [{"name": name, "description": text, "latest": LATEST_RULE,
                            "columns": [{k: v for k, v in asdict(c).items() if k != "table"} for c in view_columns(name, specs)]}
                           for name, text in views(specs).items()]
    return json.dumps(result, ensure_ascii=False, indent=2)


def view_as_json(view: str, specs: dict[str, TableSpec] | None = None) -> str:
    """One view as JSON: ``{"views": [{"name", "description", "latest", "columns": [...]}]}``.

    Parameters:
        view: a name ``views`` lists.
        specs: the table specs (``pipeline.tables.SPECS`` when None).
    """
    specs = SPECS if specs is None else specs
    described = views(specs)
    if view not in described:
        raise KeyError(view)
    return json.dumps({"views": [{"name": view, "description": described[view], "latest": LATEST_RULE,
                                  "columns": [{k: v for k, v in asdict(c).items() if k != "table"}
                                              for c in view_columns(view, specs)]}]}, ensure_ascii=False, indent=2)


# ------------------------------------------------------------------------------------ the views

# How the database's latest_* views decide (pipeline.publish.refresh_latest_views).
LATEST_RULE = (
    "Each report's most recent edition. A report is the documents row's `report_id`; an edition "
    "without one (a run on a local PDF) belongs to the report of its PDF's `sha256`, so the same PDF "
    "processed as several editions counts once. Of a report's editions the latest is the one with "
    "the latest `published` date, then the latest `processed_at`, then the greatest edition name "
    "(what `jstmine editions list` flags as latest). The views are re-created with the rows, in "
    "the same transaction, after every publish and removal.")

_LATEST_EDITIONS_COLUMNS = {
    "edition": "The report's latest edition (an edition name, as in every table's `edition`).",
    "report_id": "The report's id (`documents.report_id`); empty for a local PDF's report, which is its `sha256`.",
}


def views(specs: dict[str, TableSpec] | None = None) -> dict[str, str]:
    """The database's views (only in ``processed/jstmine.duckdb``, not in the edition
    directories): name → what it selects; ``latest_editions`` first, then ``latest_<table>`` for
    every table, in the specs' order.

    Parameters:
        specs: the table specs (``pipeline.tables.SPECS`` when None).
    """
    specs = SPECS if specs is None else specs
    out = {LATEST_EDITIONS: "One row per report: its latest edition."}
    out |= {LATEST_PREFIX + name: f"The rows of `{name}` from each report's latest edition (the editions "
                                  f"`{LATEST_EDITIONS}` names); its columns are those of `{name}`."
            for name in specs}
    return out


def view_columns(view: str, specs: dict[str, TableSpec] | None = None) -> list[Column]:
    """The columns of the view ``view`` (``latest_editions``: edition, report_id;
    ``latest_<table>``: the table's columns), as dictionary rows whose ``table`` is the view.

    Parameters:
        view: a name ``views`` lists.
        specs: the table specs (``pipeline.tables.SPECS`` when None).

    Raises ``KeyError`` naming the view when it is none.
    """
    specs = SPECS if specs is None else specs
    if view not in views(specs):
        raise KeyError(view)
    if view == LATEST_EDITIONS:
        return [Column(view, name, "string", name == "edition", name == "edition", text)
                for name, text in _LATEST_EDITIONS_COLUMNS.items()]
    return [replace(c, table=view) for c in dictionary(view.removeprefix(LATEST_PREFIX), specs)]


def views_markdown(view: str | None = None, specs: dict[str, TableSpec] | None = None) -> str:
    """The views as Markdown: how latest is decided, ``latest_editions``'s columns and what each
    ``latest_<table>`` selects (for one ``view``: its description and columns).

    Parameters:
        view: one view's name, or None for the Views section of the whole dictionary.
        specs: the table specs (``pipeline.tables.SPECS`` when None).
    """
    specs = SPECS if specs is None else specs
    described = views(specs)
    header = ["| column | type | required | description |", "|---|---|---|---|"]

    def columns(name: str) -> list[str]:
        return header + [f"| `{c.name}` | {c.type} | {'yes' if c.required else ''} | {_cell(c.description)} |"
                         for c in view_columns(name, specs)]

    if view is not None:
        if view not in described:
            raise KeyError(view)
        return "\n".join([f"## {view} (view)", "", described[view], "", LATEST_RULE, "", *columns(view), ""])
    out = ["## Views", "",
           "Only in `processed/jstmine.duckdb` (not in the edition directories): views over every "
           "edition's rows that keep those of each report's latest edition, for queries across "
           "reports without counting a report twice.", "", LATEST_RULE, "",
           f"### {LATEST_EDITIONS}", "", described[LATEST_EDITIONS], "", *columns(LATEST_EDITIONS), "",
           f"### `{LATEST_PREFIX}<table>`", "", "One for every table the database has (`lexicon_gaps` only once a run "
           "made it).", "", "| view | selects |", "|---|---|"]
    out += [f"| `{name}` | {_cell(text)} |" for name, text in described.items() if name != LATEST_EDITIONS]
    out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    # Regenerate docs/data-dictionary.md (from the repository's root).
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1].startswith("-")):
        sys.exit(f"usage: {REGENERATE} [OUTPUT.md]  (default: {DOCS_PATH}, from the repository's root)")
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / DOCS_PATH
    target.write_text(markdown(), encoding="utf-8")
    print(f"wrote {target}")
