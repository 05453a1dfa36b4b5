"""Report-shaped Japanese test PDFs, drawn with reportlab, and the ground truth an extractor must recover.

``build_report_pdf(path, layout)`` typesets a 4-6 page A4 policy report (title and date line,
numbered headings, justified 10.5 pt Mincho paragraphs, footnote markers and footnotes, a figure
with labels inside, a ruled table, running heads and page numbers; in ``two_column`` also a boxed
コラム) and returns a ``Truth`` describing exactly what was drawn.

The text is typeset on the canvas by a small line breaker (rather than platypus) so that the
truth is known exactly: which page each footnote lands on, which sentences cross a page or
column break. Paragraph text uses two kinds of inline markup (also accepted in ``paragraphs=``):

* ``国家戦略技術[[脚注の本文]]`` -- a footnote reference right after 国家戦略技術; footnotes are
  numbered 1, 2, ... in reading order and printed at the foot of the page where the marker falls;
* ``{強靱|きょうじん}`` -- a word with furigana (drawn in layouts that use furigana, else plain).

Layouts (``LAYOUTS``):

* ``one_column``  -- white-paper style, 38 characters a line; raised-digit markers (6.5 pt, 3.5 pt up);
  running head alternating report title (odd pages) / chapter title (even pages), centred, with a
  rule; page numbers "- 3 -"; furigana; figure caption below (図1-1　…), table caption above (表2-1　…);
  title and date line centred, directly followed by the first paragraph (no extra space).
* ``two_column``  -- journal style, two columns of 22 characters; raised-digit markers; title and
  date span both columns; running head = report title at the left over a rule; page numbers "3";
  a boxed コラム inside a column; captions above in ■第1-2-1図／… style.
* ``word_like``   -- a Word document: wide margins, 40 characters a line, 18 pt line pitch; written
  markers （注1） in body size; footnotes start with （注1）; running head right-aligned, running
  foot at the left plus page number "3" centred; date right-aligned after a blank line.
* ``white_paper`` -- ministry white-paper style, 36 characters a line; written markers ※1;
  running heads at the outer edge alternating report title / chapter title; page numbers "3" at the
  outer edge; furigana; captions above (第1-1図　…, 第2-1表　…).

Body sentences are drawn exactly as in ``Truth.sentences`` (full-width punctuation, half-width
ASCII digits and Latin letters); a paragraph's first line starts with a full-width space indent,
which is not part of its first sentence.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from pdfdraw import GOTHIC, HEIGHT, MIN, WIDTH  # registers the two CID fonts
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Footnote:
    """A footnote as printed at the foot of page ``page`` (1-based).

    ``text`` is the note without its label (the drawn label is "1", "（注1）" or "※1" by layout);
    long notes are wrapped over several lines, ``text`` is their concatenation.
    """

    number: int
    page: int
    text: str


@dataclass(frozen=True)
class Truth:
    """What ``build_report_pdf`` drew.

    sentences: every body sentence, whole, in reading order, as drawn without footnote markers
        and without the paragraph indent (also the sentences of the コラム box, drawn in 9.5 pt
        Mincho, where there is one); each ends in 。 (a caller's paragraph not ending in 。 leaves
        a last sentence without it).
    markers: (footnote number, the body sentence that cites it), in reading order.
    footnotes: the footnotes, in number order.
    headings: numbered headings in reading order (and the コラム box title, where drawn).
    captions: figure and table captions.
    figure_labels: every string drawn inside the figure box (must not become body text).
    furniture: running heads, running feet and page numbers, as drawn, page by page (one entry
        per drawing, so a running head repeats).
    title_lines: the title and date lines above the first paragraph (body font and size).
    furigana: the ruby strings drawn above body words.
    tables: each table's cell texts, row by row (header row first).
    boxed: the sentences inside the コラム box (a subset of ``sentences``).
    page_breaks: sentences that start on one page and end on the next.
    column_breaks: sentences that run from the left column into the right one on the same page.
    pages: the page count.
    """

    sentences: list[str]
    markers: list[tuple[int, str]]
    footnotes: list[Footnote]
    headings: list[str]
    captions: list[str]
    figure_labels: list[str]
    furniture: list[str]
    title_lines: list[str] = field(default_factory=list)
    furigana: list[str] = field(default_factory=list)
    tables: list[list[tuple[str, ...]]] = field(default_factory=list)
    boxed: list[str] = field(default_factory=list)
    page_breaks: list[str] = field(default_factory=list)
    column_breaks: list[str] = field(default_factory=list)
    pages: int = 0


@dataclass(frozen=True)
class _Style:
    chars: int  # characters a line (per column) at 10.5 pt
    columns: int = 1
    gap: float = 21  # between columns
    top: float = 78  # from the page top to the body
    bottom: float = 64  # from the page bottom to the footnotes / body
    leading: float = 17
    marker: str = "super"  # super: raised digit | chuu: （注1） | kome: ※1
    head: str = "title"  # title: report title on every page | alternate: chapter title on even pages
    head_align: str = "center"  # center | left | right | outer
    head_rule: bool = False
    folio: str = "{n}"
    folio_align: str = "center"  # center | outer
    foot_text: str = ""  # running foot at the left of the folio line
    date_align: str = "center"
    title_gap: float = 0  # extra space between the date line and the first paragraph
    fig_caption: str = ""
    fig_caption_above: bool = False
    table_caption: str = ""
    figure_after: int = 8  # insert after this many body paragraphs (seed moves it by ±1)
    table_after: int = 20
    box_after: int | None = None
    furigana: bool = False


LAYOUTS = ("one_column", "two_column", "word_like", "white_paper")

_STYLES = {
    "one_column": _Style(
        chars=38, head="alternate", head_rule=True, folio="- {n} -", furigana=True,
        fig_caption="図1-1　各国の量子技術への公的投資額", table_caption="表2-1　主要国・地域の重要技術の指定状況",
        figure_after=9, table_after=22,
    ),
    "two_column": _Style(
        chars=22, columns=2, top=70, bottom=56, leading=16.5, head_align="left", head_rule=True,
        date_align="right", title_gap=12, fig_caption="■第1-2-1図／各国の量子技術への公的投資額",
        fig_caption_above=True, table_caption="■第2-1-1表／主要国・地域の重要技術の指定状況",
        figure_after=6, table_after=18, box_after=10,
    ),
    "word_like": _Style(
        chars=40, top=99, bottom=80, leading=18, marker="chuu", head_align="right",
        foot_text="科学技術・イノベーション政策研究会", date_align="right", title_gap=18,
        fig_caption="図1　各国の量子技術への公的投資額の推移", table_caption="表1　主要国・地域の重要技術の指定状況",
        figure_after=12, table_after=19,
    ),
    "white_paper": _Style(
        chars=36, top=84, bottom=66, leading=18, marker="kome", head="alternate", head_align="outer",
        folio_align="outer", furigana=True, fig_caption="第1-1図　各国の量子技術への公的投資額",
        fig_caption_above=True, table_caption="第2-1表　主要国・地域の重要技術の指定状況",
        figure_after=4, table_after=24,
    ),
}


def build_report_pdf(
    path: Path, layout: str = "one_column", *, paragraphs: list[str] | None = None, seed: int = 0
) -> Truth:
    """Draw a report-shaped Japanese PDF at ``path`` in ``layout`` and return what it contains.

    ``paragraphs``: body paragraphs to use instead of the built-in text (the markup of the module
    docstring is understood); they are spread evenly over the built-in headings, and the figure,
    table and コラム (with its built-in text) stay after the same paragraph numbers. The 4-6 pages
    and the page/column-break guarantees hold for the built-in text; fewer paragraphs give fewer
    pages, and markers and furigana only appear if the caller's text has the markup.
    ``seed``: varies the figure's bar heights and moves the figure and table by a paragraph.
    """
    if layout not in _STYLES:
        raise ValueError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")
    style, rng = _STYLES[layout], random.Random(seed)
    doc = _Doc(style)
    flow = _flow(style, paragraphs, rng, doc)
    bars = [(rng.randint(4, 24), rng.randint(14, 46)) for _ in _FIG_COUNTRIES]
    # Pages and columns may happen to end between sentences; then the space above 第1章 grows
    # by a line at a time until a sentence runs over a page end under footnotes (and, in two
    # columns, one runs from the left column into the right). Without success: the first try.
    tries = [_lay_out(style, doc, flow, bars, nudge=0.0)]
    while not tries[-1].shows_breaks() and len(tries) < 8:
        tries.append(_lay_out(style, doc, flow, bars, nudge=len(tries) * style.leading))
    setter = tries[-1] if tries[-1].shows_breaks() else tries[0]
    furniture = setter.finish()

    c = canvas.Canvas(str(path), pagesize=(WIDTH, HEIGHT))
    c.setTitle(_REPORT_TITLE)
    for ops in setter.pages:
        for op in ops:
            _draw(c, op)
        c.showPage()
    c.save()

    sentences = doc.sentences
    across_pages, across_columns = setter.broken_sentences()
    return Truth(
        sentences=list(sentences),
        markers=[(n, sentences[sid]) for n, sid in doc.markers],
        footnotes=[Footnote(n, p + 1, doc.notes[n - 1]) for p, ns in enumerate(setter.notes) for n in ns],
        headings=setter.headings,
        captions=setter.captions,
        figure_labels=setter.figure_labels,
        furniture=furniture,
        title_lines=[_TITLE_LINE, _DATE_LINE],
        furigana=setter.furigana,
        tables=setter.tables,
        boxed=[sentences[i] for i in doc.boxed],
        page_breaks=[sentences[i] for i in across_pages],
        column_breaks=[sentences[i] for i in across_columns],
        pages=len(setter.pages),
    )


# ---------------------------------------------------------------------------------------------
# The built-in text
# ---------------------------------------------------------------------------------------------

_REPORT_TITLE = "アジア・太平洋主要国・地域の重要技術政策の動向"
_TITLE_LINE = f"『{_REPORT_TITLE}』"
_DATE_LINE = "2025年4月"

# ("p", paragraph) / ("h1" | "h2" | "h3", heading); the first paragraph follows the title and date.
_DOC: list[tuple[str, str]] = [
    ("p", ("本稿は、アジア・太平洋地域を中心に、主要国・地域における重要技術政策の最新の動向を整理したものである。"
          "量子技術、人工知能、半導体などの分野では、各国が国家戦略を相次いで策定している。"
          "以下では、政策の枠組み、投資の規模、人材育成の取組の三つの観点から比較を行う。")),
    ("h1", "第1章　主要国・地域の重要技術政策"),
    ("h2", "1.1　米国"),
    ("h3", "（1）量子技術"),
    ("p", ("米国は2018年に国家量子イニシアティブ法[[National Quantum Initiative Act。2018年12月に成立し、"
          "量子情報科学に関する10年間の国家計画の策定を連邦政府に求めている。]]を制定し、量子情報科学の研究開発を"
          "連邦政府全体で推進する体制を整えた。同法に基づき、エネルギー省と国立科学財団は合わせて10か所以上の"
          "研究拠点を設置している。")),
    ("p", ("米国は量子技術と人工知能への投資を拡大している。2023年度の連邦政府の量子情報科学関連の研究開発予算は、"
          "約9億ドルに達した。これは2019年度と比べて2倍近い規模である。")),
    ("p", ("暗号の分野では、量子計算機による解読への備えが急がれている。国立標準技術研究所は2024年8月に耐量子計算機"
          "暗号の標準3件を公表した[[https://csrc.nist.gov/projects/post-quantum-cryptography（2025年3月閲覧）]]。"
          "政府機関の情報システムは、2035年までに新しい暗号へ順次移行することが求められている。")),
    ("h3", "（2）人工知能と半導体"),
    ("p", ("人工知能については、2023年10月に安全で信頼できる人工知能の開発と利用に関する大統領令が発出された。"
          "同令は、大規模な基盤モデルの開発者に対して、安全性評価の結果を政府に報告するよう求めた。")),
    ("p", ("2023年11月には、人工知能の安全性を評価する研究所が商務省の下に設置された。"
          "同研究所は、英国の研究所と評価手法の共同開発を進めることで合意している。")),
    ("p", ("半導体分野では、2022年に成立したCHIPS・科学法[[CHIPS and Science Act。半導体の国内製造への支援と、"
          "国立科学財団などの研究開発予算の拡充を定めている。]]により、国内製造の支援に約527億ドルが計上された。"
          "このうち約390億ドルは、製造施設の建設などに対する補助金に充てられる。"
          "アリゾナ州やテキサス州では、大規模な工場の建設が進んでいる。")),
    ("p", ("同法はまた、国立科学財団に技術・イノベーション・連携局を新設し、重要技術の実用化を支援する役割を与えた。"
          "地域の大学と企業が連携して技術の事業化を目指す地域イノベーション拠点の公募も始まっている。")),
    ("h2", "1.2　中国"),
    ("p", ("中国は2017年に新一代人工知能発展計画[[「新一代人工智能発展規劃」（2017年7月、国務院）。]]を公表し、"
          "2030年までに人工知能の理論、技術及び応用で世界の主要な革新拠点となる目標を掲げた。"
          "同計画は三段階の工程表を定め、2020年、2025年、2030年の各時点での到達目標を示している。")),
    ("p", ("第14次5か年計画では、人工知能、量子情報、集積回路など7つの分野が最先端の科学技術領域として位置付けられた。"
          "各分野では、国家実験室を中心とする研究体制の強化が進められている。")),
    ("p", ("量子通信の分野では、北京と上海を結ぶ約2000キロメートルの基幹回線が既に運用されている。"
          "中国科学技術大学の研究チームは、2020年に光量子計算機による計算優位性の実証を発表した。"
          "この成果は、超伝導方式とは異なる方式による実証として、国際的な注目を集めた。")),
    ("p", ("量子計算機の開発では、超伝導方式の計算機の規模の拡大が続いている。"
          "2023年には、国内の研究機関が開発した計算機をクラウド経由で利用できるサービスが公開された。"
          "研究者の数も急速に増えており、量子分野の論文数は米国と並ぶ水準に達している。")),
    ("p", ("半導体分野では、国家集積回路産業投資基金を通じた大規模な投資が続いている。"
          "2024年には、同基金の第3期として約3440億元の基金が設立された。"
          "製造装置や材料の国産化が、主要な投資先となっている。")),
    ("h2", "1.3　韓国"),
    ("p", ("韓国は2022年に12の国家戦略技術[[「国家戦略技術育成方案」（2022年10月、科学技術情報通信部）。"
          "半導体・ディスプレイ、二次電池、次世代原子力、量子など12分野を指す。]]を指定した。"
          "指定された技術には、半導体、二次電池、先端バイオ、量子などが含まれる。"
          "政府はこれらの技術に対する研究開発投資を、2027年までに25兆ウォン以上へ拡大する計画を示している。")),
    ("p", ("2023年には量子科学技術産業法が制定され、量子技術を体系的に育成するための法的基盤が整備された"
          "[[正式名称は「量子科学技術及び量子産業育成に関する法律」。2024年11月に施行された。]]。"
          "同法に基づき、政府は量子分野の専門人材を2035年までに2500人育成する目標を掲げている。")),
    ("p", ("国家戦略技術の選定にあたっては、産業界と研究機関の専門家による評価委員会が設けられた。"
          "選定された技術は、技術の動向や国際情勢の変化を踏まえて、3年ごとに見直される仕組みとなっている。")),
    ("p", ("2024年には国家戦略技術育成特別法が施行され、戦略技術ごとに専門の研究拠点を指定する制度が始まった。"
          "研究拠点には、研究施設の整備や人材の確保に対する長期的な支援が行われる。")),
    ("p", ("人工知能の分野では、2024年12月に人工知能基本法が国会で可決された。"
          "同法は、高い影響を及ぼす人工知能の事業者に対して、利用者への事前の告知などを義務付けている。"
          "韓国は、この法律により欧州連合に次いで人工知能の包括的な法制度を整えた国となった。")),
    ("h2", "1.4　その他のアジア・太平洋の国・地域"),
    ("p", ("オーストラリアは2023年に国家量子戦略[[オーストラリア「National Quantum Strategy」（2023年5月、"
          "産業科学資源省）。]]を公表し、2045年までに量子産業の規模を60億豪ドルに拡大する見通しを示した。"
          "同国の政府は、量子計算機の開発を進める企業に対して、約9億豪ドルの投資を決定している。")),
    ("p", ("シンガポールは2023年12月に国家人工知能戦略の改訂版を発表した。改訂版では、人工知能の専門人材を"
          "1万5000人に増やす目標が設定された[[「National AI Strategy 2.0」（2023年12月、スマート国家・"
          "デジタル政府局）。]]。")),
    ("p", ("台湾は半導体の先端製造技術で世界的な優位を保っている。"
          "2024年には、人工知能と半導体を組み合わせた次世代の研究を支える10年計画が始まった。")),
    ("p", ("インドは2023年に国家量子ミッションを承認し、8年間で約600億ルピーを投じる方針を示した。"
          "同ミッションでは、50から1000量子ビット規模の計算機を8年以内に開発することが目標とされている。")),
    ("p", ("インドは半導体の国内生産にも力を入れている。2021年に始まった半導体ミッションでは、約7600億ルピーの"
          "支援策が用意された。ベトナムやマレーシアも、半導体の後工程を中心に外国企業の誘致を進めている。")),
    ("h1", "第2章　重要技術の指定と支援の枠組み"),
    ("h2", "2.1　重要技術の指定"),
    ("p", ("重要技術の指定は、多くの国で経済安全保障政策と一体的に進められている。"
          "日本は2022年に経済安全保障推進法を制定し、特定重要技術の研究開発を支援する枠組みを設けた。")),
    ("p", ("日本の量子技術イノベーション戦略[[「量子技術イノベーション戦略」（2020年1月、統合イノベーション戦略"
          "推進会議）。2022年には「量子未来社会ビジョン」が策定された。]]は、量子技術を社会変革の基盤となる技術"
          "として位置付けている。政府は2030年に国内の量子技術の利用者を1000万人とする目標を掲げた。")),
    ("p", ("欧州連合は2018年に量子フラッグシップを開始し、10年間で10億ユーロ規模の研究開発を支援している。"
          "2023年には、半導体の域内生産を強化する欧州半導体法が成立した。")),
    ("p", ("欧州連合はまた、2024年に人工知能法を制定し、人工知能のリスクに応じた規制の枠組みを定めた。"
          "同法の規定は、2025年から段階的に適用される。")),
    ("p", ("重要技術の選定の方法は、国によって異なる。米国や韓国では技術の一覧を公表して定期的に見直す方式が"
          "とられている。一方で、中国では5か年計画の中で重点分野が示され、分野ごとの計画がそれに続く。")),
    ("p", ("指定された技術の数にも大きな差がある。米国の重要・新興技術の一覧は18分野を挙げているが、"
          "オーストラリアの一覧は7つの技術分野にまとめられている。")),
    ("h2", "2.2　研究開発投資の規模"),
    ("p", ("各国の量子技術への公的投資は、2020年以降に大きく増加した。"
          "特に中国と米国の投資額は、他の国・地域を大きく上回っている。")),
    ("p", ("一方で、投資額の比較には注意が必要である。各国の予算の分類方法は統一されておらず、民間投資や地方政府の"
          "支出を含めるかどうかによって、数値が大きく変わる。複数年度にわたる計画の総額と、単年度の予算額が混在して"
          "いる場合も多い。")),
    ("p", ("民間の投資も拡大している。量子技術の新興企業に対する投資は、2021年から2022年にかけて世界全体で"
          "年間20億ドルを超えた。ただし、2023年以降は金利の上昇などを背景に、投資の伸びが鈍化している。")),
    ("p", ("日本では、2018年に始まったムーンショット型研究開発制度の下で、誤り耐性のある量子計算機の開発が"
          "進められている。同制度は、2050年までの実現を目指す野心的な目標を掲げている。")),
    ("h2", "2.3　人材育成と国際連携"),
    ("h3", "（1）人材育成"),
    ("p", ("重要技術の担い手となる人材の確保は、各国に共通する課題である。"
          "米国の国立科学財団は、量子分野の大学院生を支援する奨学金制度を2020年に拡充した。")),
    ("p", ("韓国は2023年から、半導体分野の学部の定員を拡大する大学に対して、予算を重点的に配分している。"
          "日本も2022年以降、半導体人材の育成を目的とした産学官の連携組織を全国の6地域に設置した。")),
    ("p", ("オーストラリアは、量子分野の博士課程の学生に対する奨学金制度を設けている。"
          "シンガポールは、海外の研究者を招へいするための研究費の支援を拡充した。")),
    ("p", ("人材の国際的な獲得競争も激しくなっている。各国は、研究者の査証の発給要件を緩和するなど、"
          "海外の優れた人材を呼び込むための制度の見直しを進めている。")),
    ("h3", "（2）国際連携"),
    ("p", ("重要技術の分野では、同志国との国際連携も拡大している。日米韓の3か国は2023年8月に、量子技術と人工知能の"
          "共同研究を推進することで合意した[[キャンプ・デービッドでの日米韓首脳会合（2023年8月）の共同声明による。]]。")),
    ("p", ("日本とオーストラリアは、量子技術の研究者の交流に関する協力を進めている。こうした二国間の取組は、"
          "研究開発の成果を共有するだけでなく、供給網の{強靱|きょうじん}化にも寄与すると期待されている。")),
    ("p", ("国際的な標準化の活動も重要性を増している。耐量子計算機暗号や人工知能の安全性評価では、"
          "各国の標準化機関が協力して国際規格の策定を進めている。")),
    ("p", ("日本と欧州連合は、2023年にデジタル分野の協力を強化することで合意した。"
          "半導体の供給網に関する情報の共有や、量子技術の共同研究がその柱となっている。"
          "米国とインドの間でも、重要・新興技術に関する協力の枠組みが2023年に始まった。")),
    ("h1", "第3章　まとめ"),
    ("p", ("本稿で見たように、主要国・地域は量子技術、人工知能、半導体を中心に、重要技術の指定と投資の拡大を"
          "進めている。各国の政策は、研究開発の支援にとどまらず、人材育成や国際連携を含む総合的なものとなっている。")),
    ("p", ("今後は、各国の投資の成果をどのような指標で評価するかが重要な論点となる。"
          "本センターでは、引き続き各国の政策動向を調査し、定期的に報告していく予定である。")),
]

_BOX_TITLE = "コラム　量子暗号通信の実証"
_BOX_TEXT = ("中国は2016年に量子科学実験衛星を打ち上げ、衛星と地上局の間で量子鍵配送の実験に成功した。"
             "2017年には、この衛星を用いて北京とウィーンの間で暗号通信が行われた。"
             "衛星を使う方式は、長距離の通信を可能にすると期待されている。")

_TABLE = [
    ("国・地域", "指定年", "技術数", "主な分野"),
    ("米国", "2024", "18", "AI・量子"),
    ("韓国", "2022", "12", "半導体・電池"),
    ("日本", "2022", "20", "量子・宇宙"),
    ("豪州", "2023", "7", "量子・AI"),
]

_FIG_COUNTRIES = ("米国", "中国", "日本", "韓国", "欧州")

# ---------------------------------------------------------------------------------------------
# Parsing the markup into units (a char, a word with furigana, or a footnote marker)
# ---------------------------------------------------------------------------------------------

_MARKUP = re.compile(r"\[\[(.+?)\]\]|\{([^|{}]+)\|([^{}]+)\}|(.)", re.DOTALL)
_NO_LINE_START = set("。、，．）」』〕・")


@dataclass
class _Unit:
    kind: str  # "c": body text, "m": footnote marker, "r": word with furigana
    text: str  # as drawn on the body line
    sid: int  # index of its sentence in _Doc.sentences, -1 for the paragraph indent
    ruby: str = ""
    note: int = 0  # footnote number, for markers


class _Doc:
    """Sentences, footnotes and markers in reading order, collected while parsing paragraphs."""

    def __init__(self, style: _Style):
        self.style = style
        self.sentences: list[str] = []
        self.notes: list[str] = []
        self.markers: list[tuple[int, int]] = []  # (number, sentence id)
        self.boxed: list[int] = []
        self.note_lines: dict[int, int] = {}  # footnote number -> lines it takes (cache)

    def parse(self, text: str, indent: bool = True) -> list[_Unit]:
        units = [_Unit("c", "\u3000", -1)] if indent else []
        current: list[str] = []
        for m in _MARKUP.finditer(text):
            note, base, ruby, ch = m.groups()
            if note:
                n = len(self.notes) + 1
                self.notes.append(note)
                # a marker right after 。 (or opening a paragraph) cites the sentence that just ended
                sid = max(0, len(self.sentences) - (0 if current else 1))
                self.markers.append((n, sid))
                units.append(_Unit("m", _note_label(self.style, n), sid, note=n))
                continue
            word = base or ch
            if base and self.style.furigana:
                units.append(_Unit("r", word, len(self.sentences), ruby=ruby))
            else:
                units.extend(_Unit("c", w, len(self.sentences)) for w in word)
            current.append(word)
            if word == "。":
                self.sentences.append("".join(current))
                current = []
        if current:
            self.sentences.append("".join(current))
        return units


def _flow(style: _Style, paragraphs: list[str] | None, rng: random.Random, doc: _Doc) -> list[tuple]:
    """The document as a list of items in reading order, with paragraphs parsed into units."""
    items = list(_DOC)
    if paragraphs is not None:  # spread the caller's paragraphs over the built-in paragraph slots
        slots = [i for i, (kind, _) in enumerate(items) if kind == "p"]
        per_slot = [paragraphs[len(paragraphs) * k // len(slots): len(paragraphs) * (k + 1) // len(slots)]
                    for k in range(len(slots))]
        rebuilt: list[tuple[str, str]] = []
        k = 0
        for kind, text in items:
            if kind == "p":
                rebuilt.extend(("p", t) for t in per_slot[k])
                k += 1
            else:
                rebuilt.append((kind, text))
        items = rebuilt
    n_paras = sum(kind == "p" for kind, _ in items)
    inserts: dict[int, list[str]] = {}
    for what, after, jitter in (("figure", style.figure_after, True), ("table", style.table_after, True),
                                ("box", style.box_after, False)):
        if after is not None:
            after += rng.choice((-1, 0, 1)) if jitter else 0
            inserts.setdefault(max(1, min(after, n_paras)), []).append(what)
    flow: list[tuple] = [("title",)]
    seen = 0
    for kind, text in items:
        if kind == "p":
            flow.append(("p", doc.parse(text)))
            seen += 1
            for what in inserts.get(seen, []):
                if what == "box":
                    first = len(doc.sentences)
                    flow.append(("box", doc.parse(_BOX_TEXT)))
                    doc.boxed.extend(range(first, len(doc.sentences)))
                else:
                    flow.append((what,))
        else:
            flow.append((kind, text))
    return flow


# ---------------------------------------------------------------------------------------------
# Line breaking and drawing operations
# ---------------------------------------------------------------------------------------------

BODY = 10.5
SUPER_SIZE, SUPER_RISE = 6.5, 3.5
RUBY_SIZE = 5.0
NOTE_SIZE, NOTE_LEADING = 7.5, 10.5


def _unit_width(u: _Unit, size: float, marker: str) -> float:
    if u.kind == "m" and marker == "super":
        return stringWidth(u.text, MIN, size * SUPER_SIZE / BODY)
    return stringWidth(u.text, MIN, size)


def _wrap(units: list[_Unit], width: float, size: float, marker: str) -> list[list[_Unit]]:
    """Greedy line breaking; closing punctuation and raised markers never start a line (the
    previous character is pushed down with them instead)."""
    widths = [_unit_width(u, size, marker) for u in units]
    lines, start, used = [], 0, 0.0
    for i, w in enumerate(widths):
        if used + w > width + 0.01 and i > start:
            j = i
            while j > start + 1 and (_no_line_start(units[j], marker) or _inside_word(units[j - 1], units[j])):
                j -= 1
            if j == start + 1 and _inside_word(units[j - 1], units[j]):
                j = i  # a word longer than the line: broken after all
            lines.append(units[start:j])
            start, used = j, sum(widths[j:i])
        used += w
    lines.append(units[start:])
    return lines


def _inside_word(a: _Unit, b: _Unit) -> bool:
    """A break between ``a`` and ``b`` would cut a Latin word or a number (AUKUS, 2024): Japanese
    word processors move the whole word to the next line instead."""
    return a.kind == b.kind == "c" and a.text.isascii() and b.text.isascii() and a.text.isalnum() and b.text.isalnum()


def _no_line_start(u: _Unit, marker: str) -> bool:
    return (u.kind == "m" and marker == "super") or (u.kind == "c" and u.text in _NO_LINE_START)


def _line_ops(line: list[_Unit], x: float, y: float, width: float, size: float, marker: str,
              justify: bool, font: str = MIN) -> list[tuple]:
    """Draw one line with its baseline at y, justified to ``width`` unless it ends a paragraph."""
    widths = [_unit_width(u, size, marker) for u in line]
    # no stretch before a raised marker: it stays tight against the word it follows
    gaps = [k for k in range(1, len(line)) if not (line[k].kind == "m" and marker == "super")]
    extra = (width - sum(widths)) / len(gaps) if justify and gaps else 0.0
    stretch = set(gaps)
    ops = []
    for k, (u, w) in enumerate(zip(line, widths, strict=True)):
        if k in stretch:
            x += extra
        if u.kind == "m" and marker == "super":
            ops.append(("s", x, y + SUPER_RISE * size / BODY, u.text, MIN, size * SUPER_SIZE / BODY))
        elif u.kind == "m" or u.text == "\u3000":
            ops.append(("s", x, y, u.text, font, size))
        else:
            ops.extend(("s", x + stringWidth(u.text[:i], font, size), y, ch, font, size)
                       for i, ch in enumerate(u.text))
            if u.kind == "r":
                rw = stringWidth(u.ruby, MIN, RUBY_SIZE)
                ops.append(("s", x + (w - rw) / 2, y + size + 0.8, u.ruby, MIN, RUBY_SIZE))
        x += w
    return ops


def _draw(c: canvas.Canvas, op: tuple) -> None:
    kind, *a = op
    if kind == "s":  # string: x, y, text, font, size
        x, y, text, font, size = a
        c.setFont(font, size)
        c.drawString(x, y, text)
    elif kind == "l":  # line: x1, y1, x2, y2, width
        c.setLineWidth(a[4])
        c.line(*a[:4])
    elif kind == "r":  # rectangle: x, y, w, h, line width, fill grey or None
        x, y, w, h, lw, fill = a
        c.setLineWidth(lw)
        if fill is not None:
            c.setFillGray(fill)
        c.rect(x, y, w, h, stroke=1 if lw else 0, fill=fill is not None)
        c.setFillGray(0)


def _note_label(style: _Style, n: int) -> str:
    return {"super": str(n), "chuu": f"（注{n}）", "kome": f"※{n}"}[style.marker]


def _note_lines(style: _Style, doc: _Doc, n: int) -> tuple[str, float, list[str]]:
    """A footnote's label, the indent of its text, and its text wrapped to the body width."""
    label = _note_label(style, n)
    indent = stringWidth(label, MIN, NOTE_SIZE) + 4
    units = [_Unit("c", ch, 0) for ch in doc.notes[n - 1]]
    lines = _wrap(units, _body_width(style) - indent, NOTE_SIZE, style.marker)
    return label, indent, ["".join(u.text for u in line) for line in lines]


def _notes_height(style: _Style, doc: _Doc, numbers: list[int]) -> float:
    """Height of the footnote area (rule and notes) for these footnotes; 0 for none."""
    if not numbers:
        return 0.0
    n_lines = 0
    for n in numbers:
        if n not in doc.note_lines:
            doc.note_lines[n] = len(_note_lines(style, doc, n)[2])
        n_lines += doc.note_lines[n]
    return 14 + n_lines * NOTE_LEADING


def _body_width(style: _Style) -> float:
    return style.columns * style.chars * BODY + (style.columns - 1) * style.gap


# ---------------------------------------------------------------------------------------------
# The typesetter: fills columns and pages with the flow
# ---------------------------------------------------------------------------------------------


def _lay_out(style: _Style, doc: _Doc, flow: list[tuple], bars: list[tuple[int, int]], nudge: float) -> _Setter:
    """Footnotes shorten the body on their page. A line whose marker would not leave room for its
    note goes to the next page; in two columns a note cited in the right column can also push the
    left column's last lines, so such pages are laid out again with that room reserved."""
    reserve: dict[int, float] = {}
    for _ in range(20):
        setter = _Setter(style, doc, reserve, bars, nudge)
        setter.run(flow)
        short = setter.overlapping_pages()
        if not short:
            break
        for p in short:
            reserve[p] = max(reserve.get(p, 0), _notes_height(style, doc, setter.notes[p]))
    return setter


class _Setter:
    def __init__(self, style: _Style, doc: _Doc, reserve: dict[int, float], bars: list[tuple[int, int]],
                 nudge: float = 0.0):
        self.s, self.doc, self.reserve, self.bars, self.nudge = style, doc, reserve, bars, nudge
        self.left = (WIDTH - _body_width(style)) / 2
        self.col_w = style.chars * BODY
        self.pages: list[list[tuple]] = [[]]
        self.notes: list[list[int]] = [[]]
        self.page_chapter: dict[int, str] = {}
        self.chapter = ""
        self.col = 0
        self.page_top = HEIGHT - style.top  # top of the columns on the current page
        self.y = self.page_top
        self.where: dict[int, set[tuple[int, int]]] = {}
        self.low: dict[tuple[int, int], float] = {}
        self.headings: list[str] = []
        self.captions: list[str] = []
        self.figure_labels: list[str] = []
        self.furigana: list[str] = []
        self.tables: list[list[tuple[str, ...]]] = []

    # --- regions ------------------------------------------------------------------------------
    @property
    def page(self) -> int:
        return len(self.pages) - 1

    @property
    def x0(self) -> float:
        return self.left + self.col * (self.col_w + self.s.gap)

    def bottom(self, pending: list[int] | tuple = ()) -> float:
        """Lowest y the body may reach on this page, with footnotes ``pending`` added to it."""
        notes = _notes_height(self.s, self.doc, self.notes[-1] + list(pending))
        room = max(self.reserve.get(self.page, 0), notes)
        return self.s.bottom + (room + 6 if room else 0)

    def reached(self) -> None:
        """Note how far down the body went in this column (to check it clears the footnotes)."""
        key = (self.page, self.col)
        self.low[key] = min(self.low.get(key, HEIGHT), self.y)

    def broken_sentences(self) -> tuple[list[int], list[int]]:
        """Ids of the sentences that run over a page end, and of those that run from the left
        column into the right one."""
        pages = [i for i, w in sorted(self.where.items()) if len({p for p, _ in w}) > 1]
        columns = [i for i, w in sorted(self.where.items()) if any((p, 1) in w for p, c in w if c == 0)]
        return pages, columns

    def shows_breaks(self) -> bool:
        pages, columns = self.broken_sentences()
        under_notes = any(self.notes[min(p for p, _ in self.where[i])] for i in pages)
        return under_notes and (self.s.columns == 1 or bool(columns))

    def overlapping_pages(self) -> list[int]:
        return sorted({p for (p, _), low in self.low.items()
                       if self.notes[p] and low < self.s.bottom + _notes_height(self.s, self.doc, self.notes[p]) + 6 - 0.01})

    def next_region(self) -> None:
        if self.col + 1 < self.s.columns:
            self.col += 1
        else:
            self.pages.append([])
            self.notes.append([])
            self.col = 0
            self.page_top = HEIGHT - self.s.top
        self.y = self.page_top

    def need(self, height: float, pending: list[int] | tuple = ()) -> bool:
        """Make room for ``height`` (citing footnotes ``pending``); True when that moved to a new
        column or page."""
        if self.y - height < self.bottom(pending) and self.y < self.page_top:
            self.next_region()
            return True
        return False

    def emit(self, ops: list[tuple]) -> None:
        self.page_chapter.setdefault(self.page, self.chapter)
        self.pages[-1].extend(ops)

    def at_top(self) -> bool:
        return self.y >= self.page_top

    # --- items --------------------------------------------------------------------------------
    def run(self, flow: list[tuple]) -> None:
        for kind, *args in flow:
            getattr(self, "do_" + kind)(*args)

    def do_title(self) -> None:
        s, width = self.s, _body_width(self.s)
        for text, align in ((_TITLE_LINE, "center"), (_DATE_LINE, s.date_align)):
            w = stringWidth(text, MIN, BODY)
            x = self.left + (width - w) / 2 if align == "center" else self.left + width - w
            self.emit([("s", x, self.y - BODY, text, MIN, BODY)])
            self.y -= s.leading
        self.y -= s.title_gap
        self.page_top = self.y  # in two columns, both columns start below the title

    def do_p(self, units: list[_Unit], size: float = BODY, leading: float | None = None,
             x: float | None = None, width: float | None = None) -> None:
        leading = leading or self.s.leading
        width = width or self.col_w
        lines = _wrap(units, width, size, self.s.marker)
        for k, line in enumerate(lines):
            self.need(leading, [u.note for u in line if u.kind == "m"])
            base = self.y - size
            self.emit(_line_ops(line, self.x0 if x is None else x, base, width, size, self.s.marker,
                                justify=k < len(lines) - 1))
            for u in line:
                if u.sid >= 0:
                    self.where.setdefault(u.sid, set()).add((self.page, self.col))
                if u.kind == "m":
                    self.notes[-1].append(u.note)
                if u.kind == "r":
                    self.furigana.append(u.ruby)
            self.y -= leading
            self.reached()

    def _heading(self, text: str, size: float, before: float, after: float) -> None:
        lines = _wrap([_Unit("c", ch, -1) for ch in text], self.col_w, size, "")
        height = len(lines) * (size + 6) + after
        self.need(before + height + 2 * self.s.leading)  # keep the heading with two lines of text
        if not self.at_top():
            self.y -= before
        for line in lines:
            self.emit(_line_ops(line, self.x0, self.y - size, self.col_w, size, "", False, font=GOTHIC))
            self.y -= size + 6
        self.y -= after
        self.headings.append(text)

    def do_h1(self, text: str) -> None:
        before = 14 + (self.nudge if not self.chapter else 0)
        self.chapter = text
        self._heading(text, 14 if self.s.columns == 1 else 13, before, 6)

    def do_h2(self, text: str) -> None:
        self._heading(text, 12, 8, 3)

    def do_h3(self, text: str) -> None:
        self._heading(text, BODY, 3, 1)

    def _caption(self, text: str, width: float, x: float) -> None:
        w = stringWidth(text, GOTHIC, 9)
        self.emit([("s", x + max(0.0, (width - w) / 2), self.y - 9, text, GOTHIC, 9)])
        self.y -= 15
        self.captions.append(text)

    def do_figure(self) -> None:
        s = self.s
        w, h = min(self.col_w, 330.0), 165.0
        self.need(h + 15 + 16)
        if not self.at_top():
            self.y -= 8
        x = self.x0 + (self.col_w - w) / 2
        if s.fig_caption_above:
            self._caption(s.fig_caption, w, x)
        top = self.y
        ops: list[tuple] = [("r", x, top - h, w, h, 0.8, None)]
        labels: list[tuple[float, float, str]] = []
        # plot area
        px0, py0, px1, py1 = x + 34, top - h + 26, x + w - 12, top - 40
        ops += [("l", px0, py0, px1, py0, 0.6), ("l", px0, py0, px0, py1, 0.6)]
        scale = (py1 - py0) / 50
        for v in (0, 20, 40):
            labels.append((px0 - 4 - stringWidth(str(v), GOTHIC, 7), py0 + v * scale - 2, str(v)))
            if v:
                ops.append(("l", px0 - 2, py0 + v * scale, px0, py0 + v * scale, 0.6))
        labels.append((x + 8, top - 14, "投資額（億ドル）"))
        labels.append((x + 8, top - 26, "分野：量子"))
        # legend
        lx = x + w - 80
        for k, (year, grey) in enumerate((("2020", 0.75), ("2024", 0.35))):
            ops.append(("r", lx + k * 38, top - 15, 7, 7, 0.4, grey))
            labels.append((lx + k * 38 + 10, top - 15, year))
        # bars
        group = (px1 - px0) / len(_FIG_COUNTRIES)
        for g, (country, (v20, v24)) in enumerate(zip(_FIG_COUNTRIES, self.bars, strict=True)):
            gx = px0 + g * group + group / 2
            bw = min(11.0, group / 3)
            ops.append(("r", gx - bw, py0, bw, v20 * scale, 0.4, 0.75))
            ops.append(("r", gx, py0, bw, v24 * scale, 0.4, 0.35))
            labels.append((gx - stringWidth(country, GOTHIC, 7) / 2, py0 - 10, country))
        ops += [("s", lx_, ly, t, GOTHIC, 7) for lx_, ly, t in labels]
        self.emit(ops)
        self.figure_labels.extend(t for _, _, t in labels)
        self.y = top - h - 6
        if not s.fig_caption_above:
            self._caption(s.fig_caption, w, x)
        self.reached()
        self.y -= 8

    def do_table(self) -> None:
        size = 9.0 if self.col_w > 300 else 8.0
        widths = [max(stringWidth(row[k], GOTHIC, size) for row in _TABLE) + 14 for k in range(len(_TABLE[0]))]
        row_h = size + 9
        total_w = sum(widths)
        self.need(15 + row_h * len(_TABLE) + 20)
        if not self.at_top():
            self.y -= 8
        x = self.x0 + (self.col_w - total_w) / 2
        self._caption(self.s.table_caption, total_w, x)
        top = self.y - 2
        xs = [x + sum(widths[:k]) for k in range(len(widths) + 1)]
        ys = [top - r * row_h for r in range(len(_TABLE) + 1)]
        ops: list[tuple] = [("r", x, ys[1], total_w, row_h, 0, 0.88)]
        ops += [("l", xx, ys[0], xx, ys[-1], 0.6) for xx in xs]
        ops += [("l", xs[0], yy, xs[-1], yy, 0.8 if r in (0, 1, len(ys) - 1) else 0.4) for r, yy in enumerate(ys)]
        for r, row in enumerate(_TABLE):
            for k, cell in enumerate(row):
                ops.append(("s", xs[k] + 7, ys[r] - row_h + 6, cell, GOTHIC if r == 0 else MIN, size))
        self.emit(ops)
        self.tables.append(list(_TABLE))
        self.y = ys[-1]
        self.reached()
        self.y -= 14

    def do_box(self, units: list[_Unit]) -> None:
        pad, size, leading = 8.0, 9.5, 14.0
        inner = self.col_w - 2 * pad
        n_lines = len(_wrap(units, inner, size, self.s.marker))
        h = pad + 18 + n_lines * leading + pad - 3
        self.need(h + 16)
        if not self.at_top():
            self.y -= 8
        top = self.y
        self.emit([("r", self.x0, top - h, self.col_w, h, 0.8, None),
                   ("s", self.x0 + pad, top - pad - 10, _BOX_TITLE, GOTHIC, 10)])
        self.headings.append(_BOX_TITLE)
        self.y = top - pad - 18
        self.do_p(units, size=size, leading=leading, x=self.x0 + pad, width=inner)
        self.y = top - h
        self.reached()
        self.y -= 10

    # --- page furniture and footnotes ---------------------------------------------------------
    def finish(self) -> list[str]:
        """Draw running heads, page numbers and footnotes; return the furniture strings."""
        s, width, furniture = self.s, _body_width(self.s), []
        for p, ops in enumerate(self.pages):
            n, odd = p + 1, p % 2 == 0
            head = self.page_chapter.get(p, self.chapter) if (s.head == "alternate" and not odd) else _REPORT_TITLE
            head = head or _REPORT_TITLE
            align = {"outer": "right" if odd else "left"}.get(s.head_align, s.head_align)
            hy = HEIGHT - s.top + 30
            ops.append(("s", self._aligned(head, 8.5, align, width), hy, head, MIN, 8.5))
            if s.head_rule:
                ops.append(("l", self.left, hy - 5, self.left + width, hy - 5, 0.5))
            folio = s.folio.format(n=n)
            falign = {"outer": "right" if odd else "left"}.get(s.folio_align, s.folio_align)
            ops.append(("s", self._aligned(folio, 9, falign, width), 34, folio, MIN, 9))
            furniture += [head, folio]
            if s.foot_text:
                ops.append(("s", self.left, 34, s.foot_text, MIN, 8))
                furniture.append(s.foot_text)
            # footnotes, bottom-up from the bottom margin
            if self.notes[p]:
                lines = []
                for number in self.notes[p]:
                    label, indent, texts = _note_lines(s, self.doc, number)
                    lines += [(label if i == 0 else "", indent, t) for i, t in enumerate(texts)]
                y = s.bottom + _notes_height(s, self.doc, self.notes[p])
                ops.append(("l", self.left, y - 4, self.left + width / 3, y - 4, 0.5))
                y -= 14
                for label, indent, text in lines:
                    y -= NOTE_LEADING
                    if label:
                        ops.append(("s", self.left, y + 2, label, MIN, NOTE_SIZE))
                    ops.append(("s", self.left + indent, y + 2, text, MIN, NOTE_SIZE))
        return furniture

    def _aligned(self, text: str, size: float, align: str, width: float) -> float:
        w = stringWidth(text, MIN, size)
        return {"left": self.left, "right": self.left + width - w}.get(align, self.left + (width - w) / 2)


if __name__ == "__main__":
    import tempfile

    import pdfplumber

    out = Path(tempfile.mkdtemp(prefix="reportpdf-"))
    for name in LAYOUTS:
        pdf = out / f"{name}.pdf"
        truth = build_report_pdf(pdf, name)
        with pdfplumber.open(pdf) as doc:
            n_pages = len(doc.pages)
            first = doc.pages[0].extract_text()
        notes_per_page = [sum(f.page == p for f in truth.footnotes) for p in range(1, n_pages + 1)]
        print(f"=== {name}: {n_pages} pages ({pdf}); {len(truth.sentences)} sentences, "
              f"{len(truth.markers)} markers, footnotes per page {notes_per_page}, "
              f"{len(truth.page_breaks)} sentences across a page break, "
              f"{len(truth.column_breaks)} across a column break")
        print(first)
