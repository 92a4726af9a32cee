"""Check that the built site works from disk, run by `make docs` after `mkdocs build`:
no page loads a script, stylesheet, font or image from the network, every local link and
asset a page names exists, and the equations' MathJax is the site's own copy.

    python docs/check_site.py site
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

LOADS = re.compile(r'<(?:script|img|link|source)\b[^>]*?(?:src|href)="([^"]+)"', re.I)
LINKS = re.compile(r'<a\b[^>]*?href="([^"#]+)(?:#[^"]*)?"', re.I)


def problems(site: Path) -> list[str]:
    found = []
    # 404.html is for a web server (absolute paths by design), never opened from disk
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for url in LOADS.findall(text):
            if urlparse(url).scheme in ("http", "https") or url.startswith("//"):
                found.append(f"{page.relative_to(site)}: loads {url} from the network")
            elif not url.startswith("data:"):
                target = (page.parent / unquote(url.split("?")[0])).resolve()
                if not target.exists():
                    found.append(f"{page.relative_to(site)}: missing {url}")
        for url in LINKS.findall(text):
            if urlparse(url).scheme or url.startswith("//"):
                continue  # a link the reader may follow, not something the page loads
            target = (page.parent / unquote(url)).resolve()
            if url.endswith("/") or not target.exists():
                found.append(f"{page.relative_to(site)}: link {url} does not open from disk")
        if 'class="arithmatex"' in text and "tex-svg.js" not in text:
            found.append(f"{page.relative_to(site)}: equations without the local MathJax")
    if not pages:
        found.append(f"{site}: no pages")
    return found


if __name__ == "__main__":
    site = Path(sys.argv[1] if len(sys.argv) > 1 else "site")
    issues = problems(site)
    for line in issues:
        print(f"error: {line}", file=sys.stderr)
    if issues:
        sys.exit(1)
    print(f"{site}: {len(list(site.rglob('*.html')))} pages work offline")
