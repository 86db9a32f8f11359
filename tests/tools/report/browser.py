"""Check an HTML page in a real headless browser: Debian's chromium, run directly (no driver, no download).

- ``screenshot(page)``: a PNG of the page at 1280 px wide; ``png_stats`` decodes it (zlib + PNG
  unfiltering, no imaging library) so a test can tell a rendered page from a blank one.
- ``layout(page)``: loads a copy of the page with a small script appended that measures
  ``document.documentElement.scrollWidth`` against ``clientWidth`` (horizontal overflow, with the
  collapsible sections closed and again with all of them open), the page height, and every in-page
  link (``href="#..."``) whose target id does not exist; the result is
  read back from ``--dump-dom``. The report itself stays script-free: only the copy gets the script.

``make report-test-deps`` installs chromium when it is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

WIDTH = 1280
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run", "--mute-audio"]

PROBE = """
<script>
window.addEventListener('load', function () {
  var root = document.documentElement;
  var broken = [];
  document.querySelectorAll('a[href^="#"]').forEach(function (a) {
    var id = decodeURIComponent(a.getAttribute('href').slice(1));
    if (!id || !document.getElementById(id)) { broken.push(a.getAttribute('href')); }
  });
  var closedWidth = root.scrollWidth, closedHeight = root.scrollHeight;
  document.querySelectorAll('details').forEach(function (d) { d.open = true; });
  var openWidth = root.scrollWidth;
  var out = document.createElement('pre');
  out.id = 'browser-check-result';
  out.textContent = JSON.stringify({scrollWidth: closedWidth, openScrollWidth: openWidth, clientWidth: root.clientWidth,
    scrollHeight: closedHeight, links: document.querySelectorAll('a[href^="#"]').length, broken: broken});
  document.body.appendChild(out);
});
</script>
"""


def chromium() -> str:
    # Debian's package here; the CodeBuild Ubuntu images ship Google Chrome instead (not verified without a build there).
    found = shutil.which("chromium") or shutil.which("google-chrome")
    if not found:
        raise RuntimeError("chromium is not installed: run `make report-test-deps` (Debian package chromium)")
    return found


@dataclass(frozen=True)
class Layout:
    scroll_width: int  # as loaded, every <details> closed
    open_scroll_width: int  # with every <details> opened
    client_width: int
    scroll_height: int
    links: int
    broken: tuple[str, ...]

    @property
    def overflows(self) -> bool:
        return max(self.scroll_width, self.open_scroll_width) > self.client_width


def _profile(workdir: Path) -> str:
    return f"--user-data-dir={workdir / 'chromium-profile'}"


def layout(page: Path, workdir: Path, *, width: int = WIDTH) -> Layout:
    probe = workdir / "probe.html"
    html = page.read_text()
    probe.write_text(html.replace("</body>", PROBE + "</body>") if "</body>" in html else html + PROBE)
    result = subprocess.run(
        [chromium(), *FLAGS, _profile(workdir), f"--window-size={width},900", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    match = re.search(r'<pre id="browser-check-result">(.*?)</pre>', result.stdout, flags=re.S)
    if not match:
        raise RuntimeError(f"the page's check did not run; chromium said: {result.stderr[-2000:]}")
    data = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    return Layout(data["scrollWidth"], data["openScrollWidth"], data["clientWidth"], data["scrollHeight"], data["links"], tuple(data["broken"]))


def screenshot(page: Path, workdir: Path, *, width: int = WIDTH, height: int = 1400) -> Path:
    target = workdir / "screenshot.png"
    subprocess.run(
        [chromium(), *FLAGS, _profile(workdir), f"--window-size={width},{height}", f"--screenshot={target}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return target


@dataclass(frozen=True)
class PngStats:
    width: int
    height: int
    colours: int  # distinct RGB(A) values
    non_background: float  # share of pixels that differ from the most common one


def png_stats(path: Path) -> PngStats:
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    offset, idat, header = 8, b"", b""
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    if depth != 8 or colour_type not in (2, 6):
        raise ValueError(f"unexpected PNG format: depth {depth}, colour type {colour_type}")
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    counts: dict[bytes, int] = {}
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                corner = previous[i - bpp] if i >= bpp else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        for x in range(0, stride, bpp * 4):  # every fourth pixel is plenty to tell text from a blank page
            pixel = bytes(line[x : x + bpp])
            counts[pixel] = counts.get(pixel, 0) + 1
        previous = line
    sampled = sum(counts.values())
    return PngStats(width, height, len(counts), 1 - max(counts.values()) / sampled)
