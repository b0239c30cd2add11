"""report.pdf is printed by Chromium from report.html: it opens, page 1 shows the verdict and the timeline,
and its text holds no secret."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from records_support import SECRETS, failing, healthy

from drill.evidence.bundle import BundleWriter
from drill.evidence.model import DrillRecord
from drill.evidence.signing import Signer
from drill.evidence.verify import verify_bundle

pytestmark = pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils (pdftoppm) not installed")

BANNER = {"PASS": (0x1A, 0x7F, 0x37), "FAIL": (0xCF, 0x22, 0x2E)}


def _ppm_pixels(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:  # P6 width height maxval, whitespace separated
        while data[pos : pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b"P6"
    return int(fields[1]), int(fields[2]), data[pos + 1 :]


def _count_colour(pixels: bytes, rgb: tuple[int, int, int], tolerance: int = 24) -> int:
    hits = 0
    for i in range(0, len(pixels) - 2, 3):
        if all(abs(pixels[i + k] - rgb[k]) <= tolerance for k in range(3)):
            hits += 1
    return hits


@pytest.mark.parametrize(
    "record", [healthy("drill-pdf-pass"), failing("late_alert", "drill-pdf-fail")], ids=["pass", "fail"]
)
def test_pdf_page_one_shows_verdict_and_timeline(tmp_path: Path, record: DrillRecord) -> None:
    writer = BundleWriter(tmp_path / "reports", Signer.generate())  # the real Chromium renderer
    writer.begin(record)
    bundle = writer.finalize(record)
    assert bundle.pdf_status == "rendered"
    assert verify_bundle(bundle.path).status == "VALID"
    pdf = bundle.path / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")

    subprocess.run(
        ["pdftoppm", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True
    )
    (page,) = tmp_path.glob("page*.ppm")
    width, height, pixels = _ppm_pixels(page)
    assert width > 200
    assert height > 200
    # the verdict banner is a large block of the verdict's colour near the top of page 1
    top = pixels[: len(pixels) // 3]
    assert _count_colour(top, BANNER[record.verdict.value]) > 500

    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert record.verdict.value in text.split()
        assert "Timeline against the SLA" in text
        for label in ("Sign-in completed", "Log row ingested", "Alert received"):
            assert label in text
        everything = subprocess.run(
            ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert [s for s in SECRETS if s in everything] == []
