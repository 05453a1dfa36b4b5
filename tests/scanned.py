"""Image-only copies of PDFs, as a scanner would make them: each page rendered, turned slightly,
with noise, and saved as a PDF of images (no text layer) at the same page size."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image


def scanned_copy(source: Path, out: Path, *, dpi: int = 200, angle: float = 0.4, noise: float = 0.02,
                 pages: list[int] | None = None, seed: int = 1) -> Path:
    """Render ``pages`` (1-based; None: all) of ``source`` at ``dpi``, turn each by up to
    ``angle`` degrees (alternating sign), flip ``noise`` of the pixels to random grey and save
    them to ``out`` as an image-only PDF of the same page size."""
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    doc = pdfium.PdfDocument(str(source))
    images = []
    try:
        numbers = pages or list(range(1, len(doc) + 1))
        for k, number in enumerate(numbers):
            page = doc[number - 1]
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            page.close()
            turn = angle * (1 if k % 2 == 0 else -1) * (0.5 + rng.random() / 2)
            image = image.rotate(turn, resample=Image.Resampling.BILINEAR, fillcolor=255)
            pixels = np.asarray(image).copy()
            mask = np_rng.random(pixels.shape) < noise
            pixels[mask] = np_rng.integers(0, 256, int(mask.sum()), dtype=np.uint8)
            images.append(Image.fromarray(pixels))
    finally:
        doc.close()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return out


def merge_pages(parts: list[tuple[Path, int]], out: Path) -> Path:
    """A PDF of the given (file, page number) pages, in that order."""
    merged = pdfium.PdfDocument.new()
    for path, number in parts:
        src = pdfium.PdfDocument(str(path))
        merged.import_pages(src, [number - 1])
        src.close()
    merged.save(str(out))
    merged.close()
    return out
