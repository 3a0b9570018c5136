"""Render static/icons/icon.svg to the PNG sizes the manifest lists, with Debian's Chromium (run after editing the SVG)."""
from pathlib import Path
from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
svg = (ICONS / "icon.svg").read_text()
# maskable: the safe zone is the inner 80%: full-bleed background, the drawing shrunk
maskable = svg.replace('<rect width="64" height="64" rx="14" fill="#6d28d9"/>',
                       '<rect width="64" height="64" fill="#6d28d9"/><g transform="translate(6.4 6.4) scale(0.8)">').replace("</svg>", "</g></svg>")
maskable = maskable.replace('<g transform="translate(6.4 6.4) scale(0.8)">', '<g transform="translate(6.4 6.4) scale(0.8)"><rect width="64" height="64" fill="#6d28d9"/>', 1)
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
    for name, source, size in (("icon-192.png", svg, 192), ("icon-512.png", svg, 512), ("icon-maskable-512.png", maskable, 512)):
        page = browser.new_page(viewport={"width": size, "height": size})
        sized = source.replace("<svg ", '<svg width="%d" height="%d" ' % (size, size), 1)
        page.set_content('<html><body style="margin:0;background:transparent">' + sized + '</body></html>')
        page.screenshot(path=str(ICONS / name), omit_background=True)
        page.close()
    browser.close()
