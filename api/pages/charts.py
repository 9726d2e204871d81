"""Charts drawn on the server as inline SVG: no chart library, no CDN, works offline.

Horizontal bars suit a 390 px phone: one row per label, the count at the bar's end.
"""
from markupsafe import Markup, escape

PALETTE = ("#b71c1c", "#c62828", "#d84315", "#ef6c00", "#f9a825", "#2e7d32", "#1565c0", "#6a1b9a")


def bars(rows: list[tuple[str, float]], *, title: str, width: int = 340, row: int = 26,
         fmt=lambda v: f"{v:g}", links: list[str] | None = None) -> Markup:
    """[(label, value)] → an accessible SVG bar chart (role=img with a title and a data table fallback;
    role=group when its rows are links).
    With `links` (one address per row), each row — label, bar and count — is a link to what it counts,
    44 px high so a finger can tap it."""
    if not rows:
        return Markup("")
    if links:
        row = max(row, 44)
    label_w = 110
    bar_w = width - label_w - 44
    top = max(v for _, v in rows) or 1
    height = row * len(rows) + 6
    # A chart of links is a group of links (an image may not hold focusable parts: axe's nested-interactive).
    role = "group" if links else "img"
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="{role}" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        y = i * row + 3
        w = max(bar_w * value / top, 1 if value else 0)
        text = str(label)
        short = text if len(text) <= 9 else text[:8] + "…"
        link = links[i] if links else None
        if link:
            parts.append(f'<a href="{escape(link)}" class="bar-link" aria-label="{escape(text)}: {escape(fmt(value))}">'
                         f'<rect x="0" y="{y}" width="{width}" height="{row}" fill="transparent"/>')
        parts.append(
            f'<text x="{label_w - 6}" y="{y + row / 2 + 4:.0f}" text-anchor="end" font-size="12">'
            f'<title>{escape(text)}</title>{escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" rx="2" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + row / 2 + 4:.0f}" font-size="12">{escape(fmt(value))}</text>')
        if link:
            parts.append("</a>")
    parts.append("</svg>")
    return Markup("".join(parts))
