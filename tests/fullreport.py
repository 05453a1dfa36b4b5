"""A whole JST-style country survey as a test PDF (cover to references), drawn with reportlab, and
its exact ground truth.

``build_full_report(path, layout)`` typesets a 15-25 page A4 report laid out like the JST Asia-Pacific
Research Center's country surveys, in this order:

1. a cover (report title 『アジア・太平洋主要国の重要技術政策』, issuer, date; no running head or folio);
2. はじめに (a preface about the survey; its sentences are about no country);
3. 目次 over exactly two pages: an entry a line, dot leaders, printed page numbers right-aligned,
   entries indented by level, one entry whose title wraps onto a second line before its leaders,
   roman numbers for the front matter (はじめに …… i, エグゼクティブ・サマリー …… iv);
4. エグゼクティブ・サマリー (``summary=`` paragraphs, or a built-in one);
5. the chapters: one per country, or a chapter 各国の動向 with a section per country (see the
   layouts), with footnotes, one captioned figure and one captioned table;
6. 参考文献 / References (Japanese and English entries, hanging indent).

Every chapter, the summary and the references start a new page. With the built-in summary a
report has 15-18 pages; the real 13-paragraph summary of ../shared makes it 17-20.
Front matter pages are numbered i, ii, iii, ...; body pages from 1 on the first chapter page, so a
printed page number differs from the PDF page index. The typography (line breaker, justification,
footnote markers and areas, figure, table, running heads) is ``reportpdf``'s; the contents page and
its page numbers are computed in two passes (the contents always takes two pages, so the second
pass lays every later page out exactly as the first).

Layouts (``FULL_LAYOUTS``) and how the country text is organised:

* ``chapters``          -- typography of reportpdf ``one_column`` (38 characters, raised-digit
  markers, running head alternating report title / chapter, folios "- 3 -" and "- ii -").
  One chapter per country (level 1 ``第1章　中国``, each on a new page), sections at level 2 in
  the ``1-1.科学技術政策の概要`` form, a closing chapter 総括. Leaders ``……``. The PDF has an
  outline (bookmarks) of every heading, with its level; the only layout that has one.
* ``country_sections``  -- reportpdf ``white_paper`` (36 characters, ※1 markers, running heads and
  folios at the outer edge). 第1章 調査の概要 (1.1-1.3), 第2章 各国の動向 with one level-2 section
  per country ``2.1　中国`` (run on, not starting new pages) and level-3 subsections
  ``（1）科学技術政策の概要``, 第3章 まとめ… (a long title). Leaders ``・・・・``. Contents list levels 1-2.
* ``word_like``         -- reportpdf ``word_like`` (40 characters, （注1） markers, running foot).
  第1章 / 第2章 各国・地域の動向, level-2 regions ``第１節　アジア・太平洋地域`` (full-width
  digits), countries at level 3 in the full-width ``１　中国`` form, each starting a new page.
  Leaders ``......``; the reference list is headed ``References``. Contents list levels 1-3.
* ``decimal``           -- one column of 37 characters, raised-digit markers, running head at the
  left over a rule, folio "3" centred. ``1　調査の背景と目的：…`` (a long title) /
  ``2.1　アジア・太平洋地域`` /
  ``2.1.1　中国`` (countries at level 3, each starting a new page). Leaders ``‥‥``. Contents
  list levels 1-3.

In every layout each country's text has 4 paragraphs: most open without a topic (their subject is
the heading's country), one opens with ANOTHER country as topic (米国は、韓国との…; its sentences'
subject is that country) and one sentence starts with a genitive (米国の輸出管理の強化を踏まえ、政府は…)
that does not change the subject. General chapters (調査の概要, まとめ, 総括), region intros and the
preface are about no single country (subject None).
"""
from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from pdfdraw import GOTHIC, HEIGHT, MIN, WIDTH  # registers the two CID fonts
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas
from reportpdf import (
    _FIG_COUNTRIES,
    _NO_LINE_START,
    _STYLES,
    BODY,
    NOTE_LEADING,
    NOTE_SIZE,
    _body_width,
    _Doc,
    _draw,
    _note_lines,
    _notes_height,
    _Setter,
    _Style,
    _Unit,
)

# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    """A heading as drawn: ``page`` is the 1-based PDF page, ``printed`` that page's folio ("iv", "5")."""

    level: int
    text: str
    page: int
    printed: str = ""


@dataclass(frozen=True)
class ContentsEntry:
    """An entry of the 目次 as printed on the contents pages.

    ``page`` is the value of the printed page number (roman numerals as their value: "iv" is 4;
    ``printed`` tells them apart); ``target`` the 1-based PDF page of the heading it points to;
    ``on_page`` the 1-based PDF page of the contents page the entry is drawn on. ``title`` is the
    whole title (a wrapped title's two lines joined), equal to the heading's text.
    """

    level: int
    title: str
    page: int
    printed: str = ""
    target: int = 0
    on_page: int = 0


@dataclass(frozen=True)
class FullTruth:
    """What ``build_full_report`` drew.

    headings: every heading drawn in the document (not the cover), in order: the front and back
        matter headings (はじめに, 目次, エグゼクティブ・サマリー, 参考文献 / References) at level 1,
        chapters at level 1, sections at 2, subsections at 3.
    contents: every entry of the 目次, in order.
    summary_paragraphs: the executive summary's paragraphs, as drawn (without the indent).
    sentence_subjects: every body sentence of the preface, the summary and the chapters (not
        headings, captions, footnotes, contents, references), in reading order, as drawn without
        footnote markers, with its expected subject: ISO 3166 alpha-2 ("CN", "KR", "US", "AU",
        "IN", "GB", "DE", "FR", "JP") or a region id ("EU", "ASEAN"); None for a sentence about no
        single country. Sentences end at every 。 (as in ``reportpdf``).
    references: the reference list's entries (a wrapped entry's lines joined).
    footnotes: the footnote texts in number order (drawn with the layout's label: 1, ※1, （注1））.
    captions: the figure and table captions.
    furniture: running heads, running feet and folios, page by page (the cover has none).
    pages: the page count.
    """

    headings: list[Heading]
    contents: list[ContentsEntry]
    summary_paragraphs: list[str]
    sentence_subjects: list[tuple[str, str | None]]
    references: list[str]
    footnotes: list[str]
    captions: list[str]
    furniture: list[str]
    pages: int
    title: str = ""
    cover_lines: list[str] = field(default_factory=list)
    page_labels: list[str] = field(default_factory=list)  # folio of each PDF page, "" for the cover
    contents_pages: list[int] = field(default_factory=list)  # 1-based PDF pages of the 目次
    footnote_pages: list[int] = field(default_factory=list)  # 1-based PDF page of each footnote
    markers: list[tuple[int, str]] = field(default_factory=list)  # (footnote number, citing sentence)
    figure_labels: list[str] = field(default_factory=list)
    tables: list[list[tuple[str, ...]]] = field(default_factory=list)
    outline: list[Heading] = field(default_factory=list)  # the PDF's bookmarks; empty when it has none


FULL_LAYOUTS = ("chapters", "country_sections", "word_like", "decimal")

REPORT_TITLE = "アジア・太平洋主要国の重要技術政策"


def build_full_report(path: Path, layout: str = "one_column", *, summary: list[str] | None = None,
                      seed: int = 0, body_edits: dict[str, str] | None = None) -> FullTruth:
    """Draw the whole report at ``path`` in ``layout`` and return what it contains.

    ``layout``: one of ``FULL_LAYOUTS`` ("one_column" is taken as "chapters", "white_paper" as
        "country_sections").
    ``summary``: the executive summary's paragraphs (plain text, no markup; long paragraphs are
        fine); a paragraph's expected subject is the country it opens with (中国は、 / 韓国では、 /
        インド政府が / ASEAN加盟国では …), None when it opens with no country name.
    ``seed``: varies the figure's bars and moves the figure by a paragraph.
    ``body_edits``: text replaced in the country chapters (not in the summary), e.g. a count
        changed so that the body disagrees with the summary; each must occur.
    """
    layout = {"one_column": "chapters", "white_paper": "country_sections"}.get(layout, layout)
    if layout not in _LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {FULL_LAYOUTS}")
    lay, rng = _LAYOUTS[layout], random.Random(seed)
    summary = [re.sub(r"\s*\n\s*", "", p.strip()) for p in (summary if summary is not None else _SUMMARY) if p.strip()]
    doc = _Doc(lay.style)
    subjects: list[str | None] = []
    edits = dict(body_edits or {})
    flow = _flow(lay, doc, subjects, summary, rng, edits)
    assert not edits, f"body_edits that occur in no country chapter: {list(edits)}"
    bars = [(rng.randint(4, 24), rng.randint(14, 46)) for _ in _FIG_COUNTRIES]

    # Pass 1 with placeholder numbers finds every heading's page; pass 2 prints the real ones.
    first = _lay_out(lay, doc, flow, bars, toc=None)
    labels = first.labels()
    listed = [i for i, (level, _, _, shown) in enumerate(first.heads) if shown and level in lay.toc_levels]
    toc = [(first.heads[i][0], first.heads[i][1], labels[first.heads[i][2]]) for i in listed]
    setter = _lay_out(lay, doc, flow, bars, toc=toc)
    assert [h[:3] for h in setter.heads] == [h[:3] for h in first.heads], "contents changed the layout"
    assert len(setter.toc_pages) == 2, setter.toc_pages
    furniture = setter.finish()
    labels = setter.labels()

    c = canvas.Canvas(str(path), pagesize=(WIDTH, HEIGHT))
    c.setTitle(REPORT_TITLE)
    c.setAuthor(_ISSUER)
    if lay.outline:
        c.showOutline()
    for ops in setter.pages:
        for op in ops:
            if op[0] == "b":
                _, key, title, level, top = op
                c.bookmarkPage(key, fit="XYZ", left=0, top=top)
                c.addOutlineEntry(title, key, level=level - 1, closed=False)
            else:
                _draw(c, op)
        c.showPage()
    c.save()

    headings = [Heading(level, text, page + 1, labels[page]) for level, text, page, _ in setter.heads]
    contents = [ContentsEntry(level, text, _value(printed), printed, headings[i].page, on + 1)
                for i, (level, text, printed), on in zip(listed, toc, setter.toc_on, strict=True)]
    sentences = doc.sentences
    assert len(subjects) == len(sentences)
    return FullTruth(
        headings=headings,
        contents=contents,
        summary_paragraphs=list(summary),
        sentence_subjects=list(zip(sentences, subjects, strict=True)),
        references=list(setter.refs),
        footnotes=list(doc.notes),
        captions=list(setter.captions),
        furniture=furniture,
        pages=len(setter.pages),
        title=REPORT_TITLE,
        cover_lines=list(setter.cover_lines),
        page_labels=labels,
        contents_pages=[p + 1 for p in setter.toc_pages],
        footnote_pages=[p + 1 for n in range(1, len(doc.notes) + 1)
                        for p, ns in enumerate(setter.notes) if n in ns],
        markers=[(n, sentences[sid]) for n, sid in doc.markers],
        figure_labels=list(setter.figure_labels),
        tables=list(setter.tables),
        outline=list(headings) if lay.outline else [],
    )


def opening_subject(paragraph: str) -> str | None:
    """The country or region a summary paragraph opens with as its topic (中国は、 / 韓国では /
    インド政府が / ASEAN加盟国では / EUは …), or None."""
    for name in sorted(_NAMES, key=len, reverse=True):
        if paragraph.startswith(name):
            rest = paragraph[len(name):]
            if re.match(r"(?:連邦政府|政府|加盟国|加盟各国)?(?:では|には|においては|は|が|も|、)", rest):
                return _NAMES[name]
            return None
    return None


# ---------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------

_ISSUER = "国立研究開発法人科学技術振興機構 アジア・太平洋総合研究センター"
_DATE = "2025年4月"
_FW = "０１２３４５６７８９"


@dataclass(frozen=True)
class _Layout:
    style: _Style
    structure: str  # "chapters": a chapter per country | "sections": 第2章 各国の動向 with sections
    h1: str  # format of a chapter heading: {c} chapter number, {t} title
    h2: str  # {c}, {s} section number, {S} the same in full-width digits, {t}
    h3: str  # {c}, {s}, {n} subsection number, {N} full-width, {t}
    leader: str
    toc_levels: tuple[int, ...] = (1, 2)
    outline: bool = False
    country_level: int = 2  # in "sections": level of the country headings (2, or 3 under regions)
    country_new_page: bool = False
    refs_title: str = "参考文献"
    long_title: str = ""  # the heading with a long title (wraps in the contents): topic | ch1 | region | closing


_CHAPTERS_STYLE = replace(_STYLES["one_column"], fig_caption="図1-1　各国の量子技術への公的投資額",
                          table_caption="表2-1　主要国・地域の重要技術の指定状況")
_SECTIONS_STYLE = replace(_STYLES["white_paper"], fig_caption="第1-1図　各国の量子技術への公的投資額",
                          table_caption="第2-1表　主要国・地域の重要技術の指定状況")
_WORD_STYLE = replace(_STYLES["word_like"], foot_text="アジア・太平洋総合研究センター",
                      fig_caption="図1　各国の量子技術への公的投資額の推移",
                      table_caption="表1　主要国・地域の重要技術の指定状況")
_DECIMAL_STYLE = replace(_STYLES["one_column"], chars=37, head="title", head_align="left", head_rule=True,
                         folio="{n}", furigana=False, fig_caption="図1.1　各国の量子技術への公的投資額",
                         fig_caption_above=True, table_caption="表2.1　主要国・地域の重要技術の指定状況")

_LAYOUTS = {
    "chapters": _Layout(_CHAPTERS_STYLE, "chapters", h1="第{c}章　{t}", h2="{c}-{s}.{t}", h3="",
                        leader="…", toc_levels=(1, 2), outline=True, long_title="topic"),
    "country_sections": _Layout(_SECTIONS_STYLE, "sections", h1="第{c}章　{t}", h2="{c}.{s}　{t}",
                                h3="（{n}）{t}", leader="・", toc_levels=(1, 2), country_level=2,
                                long_title="closing"),
    "word_like": _Layout(_WORD_STYLE, "sections", h1="第{c}章　{t}", h2="第{S}節　{t}", h3="{N}　{t}",
                         leader=".", toc_levels=(1, 2, 3), country_level=3, country_new_page=True,
                         refs_title="References",
                         long_title="region"),
    "decimal": _Layout(_DECIMAL_STYLE, "sections", h1="{c}　{t}", h2="{c}.{s}　{t}", h3="{c}.{s}.{n}　{t}",
                       leader="‥", toc_levels=(1, 2, 3), country_level=3, country_new_page=True,
                       long_title="ch1"),
}


def _num(fmt: str, t: str, c: int = 0, s: int = 0, n: int = 0) -> str:
    return fmt.format(c=c, s=s, S=_FW[s], n=n, N=_FW[n], t=t)


# ---------------------------------------------------------------------------------------------
# The text
# ---------------------------------------------------------------------------------------------

_SAME = "="  # a paragraph's subject: the country of the heading it sits under

# code: (heading name, [(topic, paragraph with reportpdf markup, subject)])
# topics: "policy" 科学技術政策の概要, "tech" 重要技術の指定と育成, "coop" 国際協力
_COUNTRIES: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "CN": ("中国", [
        ("policy", ("科学技術の「自立自強」は、第14次5か年計画[[「中華人民共和国国民経済和社会発展第十四個五"
                    "年規劃和2035年遠景目標綱要」（2021年3月、全国人民代表大会）。]]の中心的な方針とされてい"
                    "る。同計画では、人工知能、量子情報、集積回路、脳科学、遺伝子技術など7つの分野が最先端の"
                    "科学技術領域として掲げられた。2023年には中央科学技術委員会が新たに設置され、政策の統括体"
                    "制が改められた。"), _SAME),
        ("tech", ("2024年には「8大新興技術産業」と「9大未来産業」が定められ、地方政府による支援策も相次いでい"
                  "る。米国の輸出管理の強化を踏まえ、政府は半導体の製造装置と材料の国産化を急いでいる。国家集"
                  "積回路産業投資基金の第3期として、約3440億元の基金も設立された。"), _SAME),
        ("coop", ("米国は、中国を戦略的競争相手と位置付け、先端半導体の対中輸出規制を2022年10月に導入した。そ"
                  "の後も規制の対象となる製造装置の範囲を段階的に広げている。"), "US"),
        ("coop", ("国際協力においては、「人類運命共同体」の概念の下で、一帯一路の参加国との科学技術協力を拡大"
                  "している[[2023年11月に重慶で第1回の一帯一路科学技術交流大会が開催された。]]。世界の科学技"
                  "術の発展に「中国の力」を加えるとの方針も示されている。2024年には、新興国の研究者を対象とす"
                  "る招へい事業の規模も拡大された。"), _SAME),
    ]),
    "KR": ("韓国", [
        ("policy", ("科学技術情報通信部は、2022年10月に国家戦略技術育成方案[[「国家戦略技術育成方案」（2022年"
                    "10月、科学技術情報通信部）。半導体・ディスプレイ、二次電池、次世代原子力、量子など12分野"
                    "を指す。]]を公表した。同方案は、12の技術を国家戦略技術として位置付け、研究開発投資を重点"
                    "的に配分する方針を示した。戦略技術ごとに、達成すべき技術水準と工程表が定められている。"), _SAME),
        ("tech", ("指定された技術には、半導体・ディスプレイ、二次電池、先端バイオ、量子などが含まれる。中国の"
                  "技術水準の急速な向上を踏まえ、政府は2023年に技術流出の防止策を強化した。国家先端戦略産業法"
                  "に基づき、指定技術の海外移転には事前の承認が必要となっている。"), _SAME),
        ("coop", ("米国は、韓国との量子技術協力を2023年4月の首脳会談で確認し、両国の研究機関による共同研究を"
                  "支援している。"), "US"),
        ("coop", ("2024年には、欧州の研究枠組み計画であるホライズン・ヨーロッパへの準参加が決まった。政府は、"
                  "国際共同研究への投資を2027年までに研究開発予算全体の1割に拡大する計画を示している。主要国"
                  "の研究機関との人材交流を支援する事業も、2024年度から拡充されている。"), _SAME),
    ]),
    "US": ("米国", [
        ("policy", ("トランプ政権は2020年10月に「重要・新興技術国家戦略」を策定し、20の技術分野を優先分野に指"
                    "定した[[National Strategy for Critical and Emerging Technologies（2020年10月、ホワイトハ"
                    "ウス）。]]。技術の一覧は国家科学技術会議が2年ごとに見直しており、2024年2月の改訂版では18"
                    "分野が挙げられている。一覧は、政府機関が研究開発や輸出管理の優先順位を定める際の参考とし"
                    "て用いられている。"), _SAME),
        ("tech", ("人工知能と量子技術については、分野ごとの振興法と国家戦略が整備されている。2022年に成立した"
                  "CHIPS・科学法により、半導体の国内製造の支援に約527億ドルが計上された。同法はまた、国立科学"
                  "財団に技術・イノベーション・連携局を新設し、重要技術の実用化を支援する役割を与えた。"), _SAME),
        ("tech", ("中国の軍民融合戦略を踏まえ、商務省は先端半導体と製造装置の輸出管理を段階的に強化している。"
                  "懸念国の特定技術分野への対外投資を規制する制度[[財務省の対外投資規則。半導体、量子、人工知"
                  "能の3分野を対象とする。]]も、2025年1月に施行された。"), _SAME),
        ("coop", ("インドは、米国との「重要・新興技術イニシアティブ」を2023年1月に開始し、半導体や宇宙分野で"
                  "の協力を進めている。"), "IN"),
    ]),
    "AU": ("オーストラリア", [
        ("policy", ("産業科学資源省は、2023年5月に国家量子戦略[[「National Quantum Strategy」（2023年5月、産"
                    "業科学資源省）。]]を公表した。同戦略は、2045年までに量子産業の規模を60億豪ドルに拡大する"
                    "見通しを示している。政府は、量子計算機の開発を進める企業に対して、約9億豪ドルの出資を202"
                    "4年に決定した。"), _SAME),
        ("tech", ("2023年には国益のための重要技術リストが改訂され、AI技術、量子技術、バイオテクノロジーなど7"
                  "つの技術分野が示された。中国の影響力の拡大を踏まえ、大学における外国干渉への対策指針も2021"
                  "年に改訂された。リストは、研究開発の重点化だけでなく、査証の審査や輸出管理にも活用されてい"
                  "る。"), _SAME),
        ("coop", "英国は、オーストラリアとの間で2024年に重要技術の研究協力に関する覚書を締結した。", "GB"),
        ("coop", ("AUKUSの枠組みの下で、政府は英米両国と量子技術や人工知能の共同開発を進めている。同志国との"
                  "間では、重要技術の研究成果の利用に関する連携も強化されている。"), _SAME),
    ]),
    "IN": ("インド", [
        ("policy", ("これまでに公表された政策文書では、新興技術の明確な定義は示されていない。一方で、2021年以"
                    "降、人工知能、量子技術、半導体、バイオテクノロジーに関する国家戦略が相次いで策定された。"
                    "2023年には国家研究財団法が成立し、大学の研究を支援する新たな資金配分機関が設けられた。"), _SAME),
        ("tech", ("2023年4月には国家量子ミッションが承認され、8年間で約600億ルピーを投じる方針が示された[[科"
                  "学技術省「National Quantum Mission」（2023年4月）。]]。半導体ミッションでは、約7600億ルピ"
                  "ーの支援策が用意されている。人工知能については、2024年3月に約1037億ルピー規模のインドAIミ"
                  "ッションが承認された。"), _SAME),
        ("coop", "日本は、インドとの間で2023年に半導体サプライチェーンに関する協力覚書に署名した。", "JP"),
        ("coop", ("米国の対中政策の変化を踏まえ、政府は民主的価値を共有する国々との科学技術協力を重視している"
                  "。クアッドの枠組みでも、重要・新興技術の作業部会に参加している。"), _SAME),
    ]),
    "ASEAN": ("ASEAN", [
        ("policy", ("加盟国の多くは、人工知能をはじめとする先端的なデジタル分野を重要な新興技術と認識している"
                    "。2024年2月には、人工知能のガバナンスと倫理に関する指針[[「ASEAN Guide on AI Governance "
                    "and Ethics」（2024年2月、ASEANデジタル大臣会合）。]]が採択された。域内では、デジタル人材"
                    "の育成を目的とする共同の研修事業も始まっている。"), _SAME),
        ("tech", ("中国の関与が強まるなか、加盟国は域内のデジタル経済枠組み協定の交渉を進めている。熱帯資源を"
                  "活かしたグリーン分野の研究開発も重視されている。"), _SAME),
        ("coop", "韓国は、2024年にASEANとの関係を包括的戦略的パートナーシップに格上げした。", "KR"),
        ("coop", ("ASEAN科学技術イノベーション行動計画の下で、域内の研究者の交流や共同研究が進められている。"
                  "医療、農業、バイオテクノロジーのスマート化も、人工知能に牽引されて進んでいる。"), _SAME),
    ]),
    "GB": ("英国", [
        ("policy", ("スナク政権は、2023年3月に「科学技術枠組み」を策定した[[「The UK Science and Technology F"
                    "ramework」（2023年3月、科学・イノベーション・技術省）。]]。同枠組みは、人工知能、工学生"
                    "物学、将来通信、半導体、量子技術の5つを重要技術として特定している。同年には科学・イノベ"
                    "ーション・技術省が新設され、重要技術の政策を一元的に担うこととなった。"), _SAME),
        ("tech", ("5つの重要技術ごとに分野別の戦略が整備されており、2023年には国家量子戦略と国家半導体戦略が"
                  "公表された。中国の研究機関との共同研究については、研究セキュリティの観点から大学向けの助言"
                  "が強化された。"), _SAME),
        ("coop", "米国は、英国と人工知能の安全性評価で協力する覚書を2024年4月に締結した。", "US"),
        ("coop", ("国際協力では、同盟国や同志国との国際パートナーシップを重視している。2023年11月には、人工知"
                  "能の安全性に関する初の国際サミットを主催した。"), _SAME),
    ]),
    "DE": ("ドイツ", [
        ("policy", ("連邦政府は、新興技術について明確な定義を示していない。一方で、2023年の未来研究・イノベー"
                    "ション戦略[[「Zukunftsstrategie Forschung und Innovation」（2023年2月、連邦教育研究省）"
                    "。]]では、半導体、人工知能、量子技術などがキーテクノロジーとして挙げられている。"), _SAME),
        ("policy", "フランスは、ドイツとの間で人工知能の共同研究を推進することで2024年に合意した。", "FR"),
        ("tech", ("中国の影響力の拡大を踏まえ、連邦教育研究省は2023年に中国との協力に関する指針を改めた。外国"
                  "直接投資の審査では、半導体やバイオテクノロジーなど通知義務の対象となる技術分野が拡大された"
                  "。2023年7月には、初めての対中戦略が連邦政府によって策定された。"), _SAME),
        ("coop", ("価値を共有するパートナーとの重要分野の協力は、今後も強化される見込みである。リスクと機会の"
                  "均衡のとれた協力のあり方を模索する姿勢も見せている。"), _SAME),
    ]),
    "EU": ("EU", [
        ("policy", ("欧州委員会は、2023年10月に経済安全保障上重要な10の技術分野に関する勧告を発表した[[Commis"
                    "sion Recommendation C(2023) 6689（2023年10月3日）。]]。このうち、先端半導体、人工知能、"
                    "量子技術、バイオテクノロジーの4分野は、特に差し迫ったリスクをもたらす可能性が高いとされ"
                    "た。"), _SAME),
        ("tech", ("2023年には欧州半導体法が成立し、世界の半導体生産に占める域内の割合を2030年までに20％に高め"
                  "る目標が掲げられた。2024年には人工知能法も制定された。欧州半導体法の下では、官民で430億ユ"
                  "ーロ以上の投資を動員する計画が示されている。"), _SAME),
        ("coop", ("日本は、EUとの間でデジタルパートナーシップを2022年に立ち上げ、半導体や量子技術の協力を進め"
                  "ている。"), "JP"),
        ("coop", ("米国の技術安全保障政策の動向を踏まえ、研究セキュリティの強化に関する理事会勧告が2024年5月"
                  "に採択された。研究・イノベーションの国際協力の原則を、多国間で共有する取組も進めている。"), _SAME),
    ]),
}

_CHAPTER_ORDER = ("CN", "KR", "US", "AU", "IN", "ASEAN", "GB", "DE", "EU")
_REGIONS = (("アジア・太平洋地域", ("CN", "KR", "AU", "IN", "ASEAN"),
             ("本節では、アジア・太平洋地域の5か国・地域について、科学技術政策の概要、重要技術の指定、"
             "国際協力の状況を順に整理する。")),
            ("欧米", ("US", "GB", "DE", "EU"),
             "本節では、欧米の4か国・地域について、前節と同じ観点から政策の動向を整理する。"))
_TOPICS = {"policy": "科学技術政策の概要", "tech": "重要技術の指定と育成", "coop": "国際協力"}
_LONG_TOPIC = "重要技術の育成と保護：国家戦略技術の指定と技術流出防止に向けた法制度の整備"
_LONG_REGION = "アジア・太平洋地域の主要国・地域（中国、韓国、オーストラリア、インド、ASEAN）"

_PREFACE = [
    ("本報告書は、アジア・太平洋地域を中心とする主要国・地域の重要技術政策について、公開情報に基づいて調査し"
     "た結果をまとめたものである。調査の目的は、アジア・太平洋地域との科学技術協力の基盤の構築に資する情報を"
     "、関係者に広く提供することにある。"),
    ("調査の対象期間は、原則として2020年から2025年1月までとした。本報告書が、政策の立案や国際協力の検討の一助"
     "となれば幸いである。"),
]

_SUMMARY = [
    ("重要技術をめぐる国際的な競争が激しさを増すなか、本報告書はアジア・太平洋を中心とする9か国・地域の政策動"
     "向を調査した。各国・地域の概要は以下のとおりである。"),
    ("中国は、科学技術の「自立自強」の方針の下、重要新興技術の国内育成を強調している。2024年には「8大新興技術"
     "産業」と「9大未来産業」を定め、半導体の製造装置や材料の国産化を急いでいる。"),
    ("韓国では、2022年に12の国家戦略技術が指定され、研究開発投資が重点的に配分されている。技術流出の防止に向"
     "けた法制度の強化も進んでいる。"),
    ("米国は2020年に「重要・新興技術国家戦略」を策定し、20の優先技術分野を指定した。技術の一覧は2年ごとに見直"
     "されており、2024年の改訂版では18分野が挙げられている。"),
    ("オーストラリアは、2023年に7つの技術分野からなる重要技術リストを公表した。AUKUSの下で、量子技術や人工知"
     "能の共同開発も進めている。"),
    ("インドは、2021年以降に人工知能、量子技術、半導体などの国家戦略を相次いで策定した。2023年には国家量子ミ"
     "ッションを承認し、8年間で約600億ルピーを投じる方針を示した。"),
    ("EUは2023年に経済安全保障上重要な10の技術分野を特定し、加盟国にリスク評価を求めた。このうち4分野は、特に"
     "差し迫ったリスクをもたらすとされている。"),
    ("ASEAN加盟国では、人工知能をはじめとするデジタル分野が重要な新興技術と認識されている。熱帯資源を活かした"
     "グリーン分野の研究開発も重視されている。"),
]

# The general chapters (about no single country).
_CH1_TITLE = "調査の概要"
_CH1_LONG = "調査の背景と目的：重要技術をめぐる国際競争と本報告書の調査対象・方法"
_CH1 = [
    ("調査の背景", [
        ("国家の経済発展と安全保障において、新興技術の重要性が近年著しく高まっている。主要国・地域は、技術の"
         "開発と利用をめぐって激しい競争を展開している。"),
        ("新興技術の範囲は、国・地域によって異なる。重要技術、重要新興技術、キーテクノロジーなど様々な用語が"
         "用いられているため、本報告書では原則として「新興技術」の語を用いる。"),
        ("特に、人工知能、量子技術、半導体、バイオテクノロジーの4分野は、多くの国・地域で重点分野とされている"
         "。これらの分野では、研究開発への公的投資に加えて、技術の流出を防ぐための規制も強化されている。"),
        ("新興技術には、軍事と民生の両方に利用できる性格を持つものが多い。そのため、研究開発の振興と技術の保"
         "護を一体として進める政策が、多くの国・地域で採られるようになった。"),
        ("研究の国際化が進むなかで、研究セキュリティの確保も重要な課題となっている。大学や研究機関には、国際"
         "共同研究のリスクを自ら評価し、管理することが求められている。"),
    ]),
    ("調査の対象と方法", [
        ("調査は、各国・地域の政府文書、法令、予算資料などの公開情報に基づいて行った[[本報告書の情報は、特に"
         "断りのない限り2025年1月末時点のものである。]]。対象とした国・地域は、アジア・太平洋の5か国・地域と"
         "欧米の4か国・地域である。"),
        ("各国・地域の政策は、政策の枠組み、重要技術の指定、国際協力の三つの観点から整理した。量子技術への公"
         "的投資の規模は、国・地域によって大きく異なる。"),
    ]),
    ("報告書の構成", [
        ("次章では、調査の対象とした国・地域ごとに、政策の枠組み、重要技術の指定、国際協力の動向を整理する。"
         "最後の章では、各国・地域の動向を比較し、今後の論点をまとめる。"),
        ("なお、各国・地域の通貨による金額は、原則として原文の表記のまま記載した。政策文書の名称は、公式の日"
         "本語訳がある場合はそれに従い、ない場合は筆者が訳出した。"),
        ("技術分野の区分は、各国・地域の政策文書の区分に従っている。そのため、同じ名称の分野であっても、その"
         "範囲は国・地域によって異なる場合がある。"),
    ]),
]
_CH2_TITLE = "各国の動向"
_CH2_TITLE_WORD = "各国・地域の動向"
_CH2_INTRO = "本章では、調査の対象とした9か国・地域の動向を、政策の枠組み、重要技術の指定、国際協力の順に整理する。"
_CLOSING_TITLE = "まとめ"
_CLOSING_TITLE_CHAPTERS = "総括"
_CLOSING_LONG = "まとめと今後の課題：開かれた研究環境と研究セキュリティの両立に向けた論点"
_CLOSING = [
    ("本調査では、主要国・地域が重要技術の指定と支援を急速に拡大していることが確認された。いずれの国・地域も"
     "、研究開発の支援にとどまらず、技術の保護や人材の確保を含む総合的な政策を展開している。"),
    ("一方で、技術の保護を重視する政策は、国際的な研究協力を妨げるおそれもある。開かれた研究環境と研究セキュ"
     "リティをどう両立させるかが、今後の重要な論点となる。"),
    ("重要技術の一覧は、多くの国・地域で定期的に見直されている。技術の進展が速い分野では、一覧の改訂の頻度そ"
     "のものが政策の重要な要素となりつつある。"),
    ("アジア・太平洋地域では、同志国との二国間の協力に加えて、多国間の枠組みを通じた協力も広がっている。こう"
     "した枠組みを活用した研究協力の拡大が期待される。"),
]

_REFERENCES = [
    "内閣府（2023）「統合イノベーション戦略2023」",
    "文部科学省（2024）「令和6年版科学技術・イノベーション白書」",
    "科学技術振興機構研究開発戦略センター（2024）「研究開発の俯瞰報告書 主要国の研究開発戦略（2024年）」",
    "国務院（2021）「中華人民共和国国民経済和社会発展第十四個五年規劃和2035年遠景目標綱要」",
    "科学技術情報通信部（2022）「国家戦略技術育成方案」",
    ("U.S. White House (2024), \"Critical and Emerging Technologies List Update\", National Science and Technol"
     "ogy Council."),
    'Department of Industry, Science and Resources (2023), "National Quantum Strategy", Australian Government.',
    'Department for Science, Innovation and Technology (2023), "The UK Science and Technology Framework".',
    ("European Commission (2023), \"Commission Recommendation on critical technology areas for the EU's econo"
     "mic security for further risk assessment with Member States\"."),
    'Federal Ministry of Education and Research (2023), "Future Research and Innovation Strategy".',
    'Department of Science and Technology, Government of India (2023), "National Quantum Mission".',
    'ASEAN Secretariat (2024), "ASEAN Guide on AI Governance and Ethics".',
]

# Country names a summary paragraph may open with (longest match first).
_NAMES = {
    "中国": "CN", "中華人民共和国": "CN", "韓国": "KR", "大韓民国": "KR", "米国": "US", "アメリカ": "US",
    "英国": "GB", "イギリス": "GB", "ドイツ": "DE", "フランス": "FR", "オーストラリア": "AU", "豪州": "AU",
    "インド": "IN", "日本": "JP", "わが国": "JP", "我が国": "JP", "台湾": "TW", "シンガポール": "SG",
    "ベトナム": "VN", "インドネシア": "ID", "タイ": "TH", "マレーシア": "MY", "フィリピン": "PH",
    "ロシア": "RU", "カナダ": "CA", "ニュージーランド": "NZ", "EU": "EU", "欧州連合": "EU",
    "ASEAN": "ASEAN", "東南アジア諸国連合": "ASEAN",
}


# ---------------------------------------------------------------------------------------------
# The flow: items in reading order
# ---------------------------------------------------------------------------------------------


def _flow(lay: _Layout, doc: _Doc, subjects: list[str | None], summary: list[str],
          rng: random.Random, edits: dict[str, str]) -> list[tuple]:
    """The report's items in reading order; ``edits`` are applied to the country chapters, and
    each edit that was applied is taken out of it."""
    flow: list[tuple] = [("cover",), ("newpage", "front")]

    def para(text: str, subject: str | None, plain: bool = False) -> None:
        before = len(doc.sentences)
        flow.append(("p", _parse_plain(doc, text) if plain else doc.parse(text)))
        subjects.extend([subject] * (len(doc.sentences) - before))

    def head(level: int, text: str, listed: bool = True) -> None:
        flow.append(("h", level, text, listed))

    head(1, "はじめに")
    for text in _PREFACE:
        para(text, None)
    flow.append(("newpage", "front"))
    head(1, "目次", listed=False)
    flow.append(("toc",))
    flow.append(("newpage", "front"))
    head(1, "エグゼクティブ・サマリー")
    for text in summary:
        para(text, opening_subject(text), plain=True)

    figure_at = rng.choice((1, 2))  # after this paragraph of the figure's section

    def country(code: str, fmt_topic: str | None, numbers: dict, figure: bool) -> None:
        topic, k = None, 0
        for count, (tkey, text, subject) in enumerate(_COUNTRIES[code][1], 1):
            for old in [o for o in edits if o in text]:
                text = text.replace(old, edits.pop(old))
            if fmt_topic and tkey != topic:
                topic, k = tkey, k + 1
                title = _LONG_TOPIC if (lay.long_title == "topic" and code == "KR" and tkey == "tech") else _TOPICS[tkey]
                head(numbers["level"] + 1, _num(fmt_topic, title, c=numbers["c"], s=numbers.get("s", k), n=k))
            para(text, code if subject == _SAME else subject)
            if figure and count == figure_at:
                flow.append(("figure",))
            if code == "KR" and count == 1:
                flow.append(("table",))

    if lay.structure == "chapters":
        for c, code in enumerate(_CHAPTER_ORDER, 1):
            flow.append(("newpage", "body"))
            head(1, _num(lay.h1, _COUNTRIES[code][0], c=c))
            country(code, lay.h2, {"level": 1, "c": c}, figure=code == "CN")
        flow.append(("newpage", "body"))
        head(1, _num(lay.h1, _CLOSING_TITLE_CHAPTERS, c=len(_CHAPTER_ORDER) + 1))
        for text in _CLOSING:
            para(text, None)
    else:
        flow.append(("newpage", "body"))
        head(1, _num(lay.h1, _CH1_LONG if lay.long_title == "ch1" else _CH1_TITLE, c=1))
        for s, (title, paragraphs) in enumerate(_CH1, 1):
            head(2, _num(lay.h2, title, c=1, s=s))
            for k, text in enumerate(paragraphs, 1):
                para(text, None)
                if s == 2 and k == figure_at:
                    flow.append(("figure",))
        flow.append(("newpage", "body"))
        head(1, _num(lay.h1, _CH2_TITLE_WORD if lay.country_level == 3 else _CH2_TITLE, c=2))
        if lay.country_level == 2:
            para(_CH2_INTRO, None)
            for s, code in enumerate(_CHAPTER_ORDER, 1):
                head(2, _num(lay.h2, _COUNTRIES[code][0], c=2, s=s))
                country(code, lay.h3, {"level": 2, "c": 2, "s": s}, figure=False)
        else:
            for s, (region, codes, intro) in enumerate(_REGIONS, 1):
                if s > 1 and lay.country_new_page:
                    flow.append(("newpage", "body"))
                title = _LONG_REGION if (lay.long_title == "region" and s == 1) else region
                head(2, _num(lay.h2, title, c=2, s=s))
                para(intro, None)
                for n, code in enumerate(codes, 1):
                    if lay.country_new_page and n > 1:
                        flow.append(("newpage", "body"))
                    head(3, _num(lay.h3, _COUNTRIES[code][0], c=2, s=s, n=n))
                    country(code, None, {"level": 3, "c": 2}, figure=False)
        flow.append(("newpage", "body"))
        head(1, _num(lay.h1, _CLOSING_LONG if lay.long_title == "closing" else _CLOSING_TITLE, c=3))
        for text in _CLOSING:
            para(text, None)
    flow.append(("newpage", "body"))
    head(1, lay.refs_title)
    flow.extend(("ref", text) for text in _REFERENCES)
    return flow


def _parse_plain(doc: _Doc, text: str) -> list[_Unit]:
    """A caller's paragraph without markup: every character drawn as given."""
    units, current = [_Unit("c", "\u3000", -1)], []
    for ch in text:
        units.append(_Unit("c", ch, len(doc.sentences)))
        current.append(ch)
        if ch == "。":
            doc.sentences.append("".join(current))
            current = []
    if current:
        doc.sentences.append("".join(current))
    return units


# ---------------------------------------------------------------------------------------------
# The typesetter: reportpdf's, with a cover, page kinds, levelled headings, contents, references
# ---------------------------------------------------------------------------------------------


def _lay_out(lay: _Layout, doc: _Doc, flow: list[tuple], bars, toc) -> _FullSetter:
    reserve: dict[int, float] = {}
    for _ in range(20):
        setter = _FullSetter(lay, doc, reserve, bars, toc)
        setter.run(flow)
        short = setter.overlapping_pages()
        if not short:
            break
        for p in short:
            reserve[p] = max(reserve.get(p, 0), _notes_height(lay.style, doc, setter.notes[p]))
    return setter


_ROMAN = ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def _roman(n: int) -> str:
    out = ""
    for value, digits in _ROMAN:
        while n >= value:
            out, n = out + digits, n - value
    return out


def _value(printed: str) -> int:
    if printed.isdigit():
        return int(printed)
    return next(n for n in range(1, 40) if _roman(n) == printed)


class _FullSetter(_Setter):
    def __init__(self, lay: _Layout, doc: _Doc, reserve: dict[int, float], bars, toc):
        super().__init__(lay.style, doc, reserve, bars)
        self.lay, self.toc = lay, toc
        self.kind = "cover"
        self.kinds = ["cover"]
        self.heads: list[tuple[int, str, int, bool]] = []  # level, text, page index, in the contents
        self.refs: list[str] = []
        self.cover_lines: list[str] = []
        self.toc_pages: list[int] = []
        self.toc_on: list[int] = []  # page index of each contents entry

    def next_region(self) -> None:
        super().next_region()
        self.kinds.append(self.kind)

    def labels(self) -> list[str]:
        out, counts = [], {"front": 0, "body": 0}
        for kind in self.kinds:
            if kind == "cover":
                out.append("")
                continue
            counts[kind] += 1
            out.append(_roman(counts[kind]) if kind == "front" else str(counts[kind]))
        return out

    # --- items --------------------------------------------------------------------------------
    def do_newpage(self, kind: str) -> None:
        self.kind = kind
        if self.pages[-1]:
            self.next_region()
        else:
            self.kinds[-1] = kind

    def do_cover(self) -> None:
        width = _body_width(self.s)

        def centred(text: str, font: str, size: float, y: float) -> None:
            self.emit([("s", self.left + (width - stringWidth(text, font, size)) / 2, y, text, font, size)])
            self.cover_lines.append(text)

        self.emit([("l", self.left, HEIGHT * 0.70, self.left + width, HEIGHT * 0.70, 1.2)])
        centred("調査報告書", GOTHIC, 14, HEIGHT * 0.66)
        centred(f"『{REPORT_TITLE}』", GOTHIC, 20, HEIGHT * 0.60)
        self.emit([("l", self.left, HEIGHT * 0.56, self.left + width, HEIGHT * 0.56, 1.2)])
        centred(_DATE, MIN, 12, HEIGHT * 0.25)
        centred(_ISSUER, MIN, 11, HEIGHT * 0.20)

    def do_h(self, level: int, text: str, listed: bool) -> None:
        if level == 1:
            self.chapter = text
        y0, p0 = self.y, self.page
        size, before, after = {1: (14.0, 14, 8), 2: (12.0, 10, 4), 3: (BODY, 6, 2)}[level]
        self._heading(text, size, before, after)
        if self.lay.outline:
            top = y0 if self.page == p0 else HEIGHT - self.s.top
            self.emit([("b", f"h{len(self.heads)}", text, level, top + 4)])
        self.heads.append((level, text, self.page, listed))

    def do_ref(self, text: str) -> None:
        size, leading, hang = 9.5, 15.0, 2 * 9.5
        width = _body_width(self.s)
        for k, line in enumerate(_wrap_words(text, MIN, size, width, width - hang)):
            self.need(leading)
            self.emit([("s", self.x0 + (hang if k else 0), self.y - size, line, MIN, size)])
            self.y -= leading
            self.reached()
        self.y -= 3
        self.refs.append(text)

    def do_toc(self) -> None:
        """The contents: exactly two pages (the first filled, or cut after 60% of the entries
        when all would fit on one)."""
        entries = self.toc or [(level, text, "000") for level, text, _, listed in self._all_heads()
                               if listed and level in self.lay.toc_levels]
        size, leading, gap = BODY, 19.0, 8.0
        width = _body_width(self.s)
        blocks = [self._toc_entry(level, title, printed, width, size) for level, title, printed in entries]
        heights = [len(b) * leading + (gap if level == 1 and k else 0)
                   for k, ((level, _, _), b) in enumerate(zip(entries, blocks, strict=True))]
        room = self.y - self.bottom()
        fit, used = 0, 0.0
        while fit < len(blocks) and used + heights[fit] <= room:
            used, fit = used + heights[fit], fit + 1
        cut = fit if fit < len(blocks) else math.ceil(len(blocks) * 0.6)
        self.toc_pages.append(self.page)
        for k, ((level, _, _), block) in enumerate(zip(entries, blocks, strict=True)):
            if k == cut:
                self.next_region()
                self.toc_pages.append(self.page)
            elif level == 1 and k:
                self.y -= gap
            for ops in block:
                self.emit(_shift(ops, self.y - size))
                self.y -= leading
            self.reached()
            self.toc_on.append(self.page)

    def _all_heads(self) -> list[tuple[int, str, int, bool]]:
        """Pass 1 draws the contents before the headings exist: take them from the flow."""
        return [(level, text, 0, listed) for _, level, text, listed in self._flow_heads]

    def run(self, flow: list[tuple]) -> None:
        self._flow_heads = [item for item in flow if item[0] == "h"]
        super().run(flow)

    def _toc_entry(self, level: int, title: str, printed: str, width: float, size: float) -> list[list[tuple]]:
        """The lines of one entry, each a list of ops with y = 0 for the baseline."""
        font = GOTHIC if level == 1 else MIN
        x = self.left + (level - 1) * size
        right = self.left + width
        lw = stringWidth(self.lay.leader, MIN, size)
        room = right - stringWidth("viii", MIN, size) - 4 - 3 * lw - x
        lines, rest = [], title
        while stringWidth(rest, font, size) > room:
            k = len(rest)
            while stringWidth(rest[:k], font, size) > room:
                k -= 1
            while k > 1 and rest[k] in _NO_LINE_START:
                k -= 1
            lines.append(rest[:k])
            rest = rest[k:]
        lines.append(rest)
        out = [[("s", x + (2 * size if i else 0), 0.0, line, font, size)] for i, line in enumerate(lines[:-1])]
        lx = x + (2 * size if len(lines) > 1 else 0)
        tw = stringWidth(lines[-1], font, size)
        nw = stringWidth(printed, MIN, size)
        n = max(3, int((right - nw - 4 - (lx + tw + 4)) / lw))
        out.append([("s", lx, 0.0, lines[-1], font, size),
                    ("s", right - nw - 4 - n * lw, 0.0, self.lay.leader * n, MIN, size),
                    ("s", right - nw, 0.0, printed, MIN, size)])
        return out

    # --- page furniture and footnotes ---------------------------------------------------------
    def finish(self) -> list[str]:
        s, width, furniture = self.s, _body_width(self.s), []
        for p, (ops, label) in enumerate(zip(self.pages, self.labels(), strict=True)):
            if not label:  # the cover
                continue
            odd = _value(label) % 2 == 1
            head = REPORT_TITLE
            if s.head == "alternate" and not odd:
                head = self.page_chapter.get(p, self.chapter) or REPORT_TITLE
            align = {"outer": "right" if odd else "left"}.get(s.head_align, s.head_align)
            hy = HEIGHT - s.top + 30
            ops.append(("s", self._aligned(head, 8.5, align, width), hy, head, MIN, 8.5))
            if s.head_rule:
                ops.append(("l", self.left, hy - 5, self.left + width, hy - 5, 0.5))
            folio = s.folio.format(n=label)
            falign = {"outer": "right" if odd else "left"}.get(s.folio_align, s.folio_align)
            ops.append(("s", self._aligned(folio, 9, falign, width), 34, folio, MIN, 9))
            furniture += [head, folio]
            if s.foot_text:
                ops.append(("s", self.left, 34, s.foot_text, MIN, 8))
                furniture.append(s.foot_text)
            if self.notes[p]:
                y = s.bottom + _notes_height(s, self.doc, self.notes[p])
                ops.append(("l", self.left, y - 4, self.left + width / 3, y - 4, 0.5))
                y -= 14
                for number in self.notes[p]:
                    label_, indent, texts = _note_lines(s, self.doc, number)
                    for i, text in enumerate(texts):
                        y -= NOTE_LEADING
                        if i == 0:
                            ops.append(("s", self.left, y + 2, label_, MIN, NOTE_SIZE))
                        ops.append(("s", self.left + indent, y + 2, text, MIN, NOTE_SIZE))
        return furniture


def _shift(ops: list[tuple], y: float) -> list[tuple]:
    return [(kind, x, y, *rest) for kind, x, _, *rest in ops]


def _wrap_words(text: str, font: str, size: float, first: float, rest: float) -> list[str]:
    """Greedy line breaking that keeps Latin words whole (a line may end in a space)."""
    lines, start = [], 0
    while start < len(text):
        room = first if not lines else rest
        end, used = start, 0.0
        while end < len(text) and used + stringWidth(text[end], font, size) <= room + 0.01:
            used += stringWidth(text[end], font, size)
            end += 1
        if end >= len(text):
            lines.append(text[start:])
            break
        cut = end
        while cut > start + 1 and not _can_break(text, cut):
            cut -= 1
        if cut == start + 1:
            cut = end
        lines.append(text[start:cut])
        start = cut
    return lines


def _can_break(text: str, i: int) -> bool:
    """May a line start at text[i]?"""
    prev, ch = text[i - 1], text[i]
    if ch == " " or ch in _NO_LINE_START or ch in ",.)\"'":
        return False
    if prev == " ":
        return True
    latin = prev.isascii() and prev != " " and ch.isascii()
    return not latin and prev not in "「（(\""


if __name__ == "__main__":
    import tempfile

    import pdfplumber

    out = Path(tempfile.mkdtemp(prefix="fullreport-"))
    for name in FULL_LAYOUTS:
        pdf = out / f"{name}.pdf"
        truth = build_full_report(pdf, name)
        with pdfplumber.open(pdf) as doc:
            n_pages = len(doc.pages)
        subjects = [s for _, s in truth.sentence_subjects]
        print(f"=== {name}: {n_pages} pages ({pdf}); {len(truth.headings)} headings, "
              f"{len(truth.contents)} contents entries on PDF pages {truth.contents_pages}, "
              f"{len(truth.summary_paragraphs)} summary paragraphs, {len(subjects)} sentences "
              f"({subjects.count(None)} about no country), {len(truth.footnotes)} footnotes, "
              f"{len(truth.references)} references, outline: {bool(truth.outline)}")
        print("    page labels:", " ".join(label or "-" for label in truth.page_labels))
