"""OCR against hostile input (pipeline/extract/ocr.py): page boxes that would render to images
tesseract refuses or that take a gigabyte, a tesseract that hangs, fails, is not tesseract or
writes odd TSV, tesseract without its Japanese models. Each ends in a clear ExtractError naming
the file and page (or the page read), never a hang, a crash or ``SystemExit``."""
from __future__ import annotations

import math
import shutil
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
import hostilepdf as forge  # noqa: E402
from test_fontguard import extract_in_child  # noqa: E402

from pipeline.errors import ExtractError  # noqa: E402
from pipeline.extract import ocr  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None,
                                reason="tesseract is not installed (scripts/install-system-deps.sh)")


def image_page_pdf(path: Path, mediabox: bytes) -> Path:
    """One page of the given /MediaBox drawing a small grey image (no text layer: OCRed)."""
    import zlib

    pdf = forge.RawPdf()
    image = pdf.add(forge.RawPdf.stream(b"/Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray "
                                        b"/BitsPerComponent 8 /Filter /FlateDecode", zlib.compress(bytes([0, 255] * 32))))
    content = pdf.add(forge.RawPdf.stream(b"", b"q 50 0 0 50 10 10 cm /Im0 Do Q\n"))
    pages = pdf.reserve()
    page = pdf.add(b"<< /Type /Page /Parent %d 0 R /MediaBox %s /Resources << /XObject << /Im0 %d 0 R >> >> "
                   b"/Contents %d 0 R >>" % (pages, mediabox, image, content))
    pdf.set(pages, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    return pdf.write(path, pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages))


@pytest.mark.parametrize("box", [b"[0 0 1000000000 0.01]", b"[0 0 14400 0.5]"])
def test_a_long_thin_page_renders_within_the_limits_and_tesseract_reads_it(tmp_path, box):
    """Bounded by its area alone, 1e9 x 0.01 pt rendered to 154 million pixels by 1 (1.2 GB at the
    peak, in the process reading pages), and 14,400 x 0.5 pt to 40,000 x 2, which tesseract refuses
    ("Image too large"): both ended the run, reported as OCR taking more than 300 s."""
    width, height = (float(v) for v in box.strip(b"[]").split()[2:])
    scale = ocr.render_scale(width, height, 200)
    assert math.ceil(width * scale) <= ocr.MAX_RENDER_SIDE
    assert math.ceil(width * scale) * math.ceil(height * scale) <= ocr.MAX_RENDER_PIXELS
    found = extract_in_child(image_page_pdf(tmp_path / "thin.pdf", box), "pdfium", timeout=120, ocr="auto")
    assert found["error"] == "NoUsableTextError" and "OCR found no text on page 1" in found["what"], found


def _fake_tesseract(tmp_path: Path, *, version: str = 'echo "tesseract 5.3.0"', langs: str = "",
                    image: str = 'exec tesseract "$@"') -> str:
    """A program that answers as tesseract (by default: passes images to the real one)."""
    langs = langs or 'printf "List of available languages (3):\\njpn\\njpn_vert\\neng\\n"'
    script = tmp_path / "tesseract"
    script.write_text("#!/bin/sh\n"
                      f'case "$1" in\n  --version) {version} ;;\n  --list-langs) {langs} ;;\n  *) {image} ;;\nesac\n')
    script.chmod(0o755)
    return str(script)


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """Sets the tesseract program (ocr.TESSERACT) to a fake made by ``fake(**answers)``; the engine check is
    forgotten before and after."""
    def use(**answers) -> None:
        monkeypatch.setattr(ocr, "TESSERACT", _fake_tesseract(tmp_path, **answers))
        ocr.engine_version.cache_clear()

    ocr.engine_version.cache_clear()
    yield use
    ocr.engine_version.cache_clear()


def test_a_tesseract_that_hangs_on_its_version_is_stopped(fake, monkeypatch):
    """pytesseract's version and language checks wait for ever: the run hung with no message."""
    monkeypatch.setattr(ocr, "ENGINE_CHECK_TIMEOUT", 1)
    fake(version="exec sleep 600")
    started = time.monotonic()
    with pytest.raises(ExtractError) as info:
        ocr.engine_version()
    assert time.monotonic() - started < 10
    assert "did not answer --version within 1 s, so it was stopped" in info.value.what
    assert "which tesseract" in info.value.todo and "--ocr off" in info.value.todo


@pytest.mark.parametrize("version, said", [("echo garbage", "does not answer --version as tesseract does"),
                                           ("echo 'tesseract 5.3.0'; exit 3", "failed on --version (exit status 3"),
                                           ("kill -9 $$", "failed on --version (killed by signal SIGKILL")])
def test_a_program_that_is_not_tesseract_or_fails_gives_a_clear_error(fake, version, said):
    """pytesseract raised SystemExit('Invalid tesseract version') on garbage, ending the whole
    process (a worker reading pages died, reported as probably out of memory), and a
    CalledProcessError on a failure."""
    fake(version=version)
    with pytest.raises(ExtractError) as info:
        ocr.engine_version()
    assert said in info.value.what, info.value.what


def test_tesseract_without_its_models_names_tessdata_prefix(monkeypatch, tmp_path):
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    ocr.engine_version.cache_clear()
    try:
        with pytest.raises(ExtractError) as info:
            ocr.engine_version()
    finally:
        ocr.engine_version.cache_clear()
    assert "without its Japanese models (jpn, jpn_vert missing" in info.value.what
    assert f"TESSDATA_PREFIX is set to {tmp_path}" in info.value.what and "unset TESSDATA_PREFIX" in info.value.todo


def test_a_tesseract_failure_is_not_reported_as_a_time_out(fake, tmp_path):
    """TesseractError is a RuntimeError, which was read as pytesseract's time-out: every failure
    said "OCR of a page took more than 300 s". The error names the file and the page."""
    fake(image='echo "Image too large: (40000, 2)" >&2; exit 1')
    path = image_page_pdf(tmp_path / "one.pdf", b"[0 0 595 842]")
    with pytest.raises(ExtractError) as info:
        ocr.ocr_page(path, 1, (0, 0, 595, 842), 200)
    assert "took more than" not in info.value.what
    assert info.value.what.startswith("one.pdf: page 1: tesseract failed on the page (exit status 1: ")
    assert "Image too large" in info.value.what


def test_a_tesseract_killed_on_a_page_is_said_so(fake, tmp_path):
    fake(image="kill -9 $$")
    path = image_page_pdf(tmp_path / "one.pdf", b"[0 0 595 842]")
    with pytest.raises(ExtractError) as info:
        ocr.ocr_page(path, 1, (0, 0, 595, 842), 200)
    assert info.value.what == "one.pdf: page 1: tesseract failed on the page (killed by signal SIGKILL)"


def test_a_tesseract_that_hangs_on_a_page_is_stopped(fake, monkeypatch, tmp_path):
    monkeypatch.setattr(ocr, "OCR_TIMEOUT", 1)
    fake(image="exec sleep 600")
    path = image_page_pdf(tmp_path / "one.pdf", b"[0 0 595 842]")
    started = time.monotonic()
    with pytest.raises(ExtractError) as info:
        ocr.ocr_page(path, 1, (0, 0, 595, 842), 200)
    assert time.monotonic() - started < 20
    assert info.value.what == "one.pdf: page 1: OCR of the page took more than 1 s, so tesseract was stopped"


def test_tesseract_is_ended_with_the_call_that_runs_it(fake, tmp_path):
    """Ctrl-C (a KeyboardInterrupt) while tesseract reads a page ends tesseract too: pytesseract
    left it running, orphaned, for as long as the page took."""
    import os
    import signal

    pid_file = tmp_path / "pid"
    fake(image=f"echo $$ > {pid_file}; exec sleep 600")

    def interrupt(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            ocr.run_tesseract(Image.new("L", (200, 100), 255), ocr.HORIZONTAL_LANGUAGE, 3)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"tesseract ({pid}) still running after the interruption")


def _tsv(rows: list[list], header: str = "level page_num block_num par_num line_num word_num left top width height conf text"):
    return "\n".join(["\t".join(header.split())] + ["\t".join(str(v) for v in row) for row in rows]) + "\n"


GOOD = [5, 1, 1, 1, 1, 1, 10, 10, 20, 20, 95, "量"]


@pytest.mark.parametrize("bad", [
    [5, 1, 1, 1, 1, 2, 40, 10, 20, 20, "inf", "子"],      # int(float("inf")): OverflowError in pytesseract
    [5, 1, 1, 1, 1, 2, 40, 10, 20, 20, "nan", "子"],      # a NaN confidence
    [5, 1, 1, 1, 1, 2, 40, 10, 20, 20, "high", "子"],     # a word for a number: float("high") failed
    [5, 1, 1, 1, 1, 2, "x", 10, 20, 20, 90, "子"],        # a box that is no number: TypeError
    [5, 1, 1, 1, 1, 2, 40, 10, 10**300, 20, 90, "子"],    # a box far outside the image
    [5, 1, 1, 1, 1, 2, -40, 10, 20, 20, 90, "子"],        # a box before the image
    [5, 1, 1, 1, 1, 2, 40, 10, 20, 20, 900, "子"],        # a confidence over 100
    [5, 1, 1, 1, 1],                                       # a row cut short
])
def test_odd_rows_of_tesseract_s_tsv_are_left_out(monkeypatch, bad):
    """A row that is not what tesseract writes is left out; the others are read."""
    monkeypatch.setattr(ocr, "run_tesseract", lambda *a, **k: _tsv([GOOD, bad]))
    lines = ocr.read_image(Image.new("L", (200, 100), 255), ocr.HORIZONTAL_LANGUAGE)
    assert [ocr.line_text(line.words) for line in lines] == ["量"]


def test_tsv_without_tesseract_s_columns_gives_a_clear_error(monkeypatch):
    monkeypatch.setattr(ocr, "run_tesseract",
                        lambda *a, **k: _tsv([[1, 2, 3]], header="what is this"))
    with pytest.raises(ExtractError, match="tesseract's output on the page cannot be read .*TSV has no level"):
        ocr.read_image(Image.new("L", (200, 100), 255), ocr.HORIZONTAL_LANGUAGE)


def test_tesseract_writing_no_output_gives_a_clear_error(fake, tmp_path):
    fake(image="exit 0")  # succeeds, writes nothing
    with pytest.raises(ExtractError, match=r"tesseract's output on the page cannot be read \(FileNotFoundError"):
        ocr.read_image(Image.new("L", (200, 100), 255), ocr.HORIZONTAL_LANGUAGE)


def test_ctrl_c_while_workers_read_pages_is_an_interruption_not_a_failure(tmp_path, monkeypatch):
    """Ctrl-C at a terminal reaches the worker processes too (they die of SIGINT): that was reported
    as an ExtractError, "the worker process reading page 5 ended unexpectedly (killed by signal
    SIGINT) … probably killed for using too much memory", the interruption lost."""
    import os
    import signal

    import pdfplumber

    from pipeline.extract import ExtractConfig, reader

    path = forge.glyph_flood_pdf(tmp_path / "pages.pdf", pages=16, glyphs=10)
    config = ExtractConfig(ocr="off")

    with pdfplumber.open(path) as pdf, reader._PagePool(pdf, path, config, 16, workers=2) as pool:
        worker = pool.workers[0]

        def interrupted(self, *args, **kwargs):  # Ctrl-C while this process reads its chunk
            os.kill(worker.proc.pid, signal.SIGINT)
            worker.proc.wait(timeout=30)
            raise KeyboardInterrupt

        monkeypatch.setattr(reader._Reader, "read", interrupted)
        with pytest.raises(KeyboardInterrupt):
            pool.read(list(range(1, 17)), None, None)


def _huge_image_pdf(path: Path, side: int) -> Path:
    """One page drawing a one-bit white image of ``side`` x ``side`` pixels (a small Flate stream)."""
    pdf = forge.RawPdf()
    data = forge.deflate_padded(b"", side * side // 8, filler=b"\xff")
    image = pdf.add(forge.RawPdf.stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                                        b"/BitsPerComponent 1 /Filter /FlateDecode" % (side, side), data))
    content = pdf.add(forge.RawPdf.stream(b"", b"q 595 0 0 842 0 0 cm /Im0 Do Q\n"))
    pages = pdf.reserve()
    page = pdf.add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 %d 0 R >> >> "
                   b"/Contents %d 0 R >>" % (pages, image, content))
    pdf.set(pages, b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % page)
    return pdf.write(path, pdf.add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages))


@pytest.mark.parametrize("workers", [1, 2])
def test_an_image_decoding_past_the_memory_budget_is_not_rendered(tmp_path, workers):
    """PDFium decodes an image whole whatever the scale it is drawn at: a 30,000 x 30,000 one-bit
    image (107 MiB) was rendered past a 64 MiB budget, unchecked, and the next page blamed for it
    ("page 2 cannot be read: it needs more than 64 MiB", the memory check between pages); a one-page
    document went through, page 1 read as blank. Two such pages, so that two processes read them."""
    import json
    import subprocess
    import textwrap

    path = _huge_image_pdf(tmp_path / "huge.pdf", 30_000)
    from scanned import merge_pages  # (the same page twice)
    merged = merge_pages([(path, 1), (path, 1)], tmp_path / "two.pdf")
    code = textwrap.dedent(f"""
        import json, resource
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
        from pipeline.errors import PipelineError
        from pipeline.extract import ExtractConfig, extract_pdf
        try:
            extract_pdf({str(merged)!r}, ExtractConfig(max_worker_memory_mb=64), workers={workers})
        except PipelineError as exc:
            print(json.dumps({{"error": type(exc).__name__, "what": exc.what, "todo": exc.todo}}))
        else:
            print(json.dumps({{"error": None}}))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert found["what"] == ("two.pdf: page 1: it draws an image of 30,000 x 30,000 pixels (1 bit a pixel), which "
                             "decodes to 107 MiB, more than the 64 MiB one process reading pages may take "
                             "(ExtractConfig.max_worker_memory_mb), so the page was not rendered for OCR"), found
    assert "--max-worker-memory-mb N" in found["todo"] and "--ocr off" in found["todo"]
