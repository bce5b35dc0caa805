"""The compare() report rendered by a real browser (headless Chromium, from
Debian's chromium package, installed by scripts/install-deps.sh): it loads,
shows its chart, and nothing is wider than the page at a laptop's width."""

import json
import pathlib
import re
import shutil
import subprocess

import sanad

ROOT = pathlib.Path(__file__).resolve().parents[2]
EX = ROOT / "examples"
REFS = {"mri": str(EX / "mri.csv"), "tariff": str(EX / "tariff.csv"), "ptp": str(EX / "ptp.csv")}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# Measures the page once laid out and puts the result in the title, which
# --dump-dom prints: the page's width, the viewport's, and every table's
# and image's right edge against the body's.
PROBE = """<script>window.addEventListener('load', () => {
  const body = document.body.getBoundingClientRect();
  const wide = [...document.querySelectorAll('table, img, pre')]
      .filter(e => e.getBoundingClientRect().right > body.right + 1).map(e => e.tagName);
  const img = document.querySelector('img');
  document.title = JSON.stringify({page: document.documentElement.scrollWidth, view: window.innerWidth,
                                   wide: wide, chart: img ? img.naturalWidth : 0});
});</script>"""


def render(html: str, tmp_path, width: int) -> dict:
    page = tmp_path / "report.html"
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--window-size={width},1600", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(base + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    shot = tmp_path / "report.png"
    subprocess.run(base + [f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000  # a real picture, not a blank page
    m = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert m, dom[:500]
    return json.loads(m.group(1).replace("&quot;", '"'))


def test_the_compare_report_renders_in_a_browser_and_stays_inside_the_page(tmp_path):
    rules = sanad.compile(EX / "outpatient.sanad", refs=REFS)
    text = (EX / "outpatient.sanad").read_text(encoding="utf-8")
    stricter = sanad.compile(text.replace("per month <= 6\n  warn", "per month <= 2\n  reject"), refs=REFS)
    diff = sanad.compare(rules, stricter, sanad.read_ndjson(EX / "claims.ndjson", ruleset=rules),
                         labels=("March rules", "April rules"))
    for width in (1280, 800):
        m = render(diff.to_html(), tmp_path, width)
        assert m["chart"] > 0, m            # the embedded chart decoded
        assert m["page"] <= m["view"], m    # no horizontal scrolling of the page
        assert m["wide"] == [], m           # every table, chart and diff inside the body
