"""Links that leave the page: the service's public address (for share cards and certificates),
a map link to a community's location, and QR codes (segno) of such links.

`BAODAO_PUBLIC_URL` is the address people reach the service at; behind a proxy that rewrites
the host, a link built from the request would name the wrong one. Unset, the request's own
address is used (right for a single server reached directly).
"""
import io
from urllib.parse import urlencode

import segno
from flask import current_app, request
from markupsafe import Markup


def public_url(path: str) -> str:
    base = current_app.config.get("BAODAO_PUBLIC_URL") or request.host_url.rstrip("/")
    return base + path


def map_url(lat, lon, name: str) -> str | None:
    """A link that opens the place in a map app (Amap's URI API, which phones in China hand to the
    installed map app), or None when the place has no known location. Coordinates are WGS-84, as
    a phone reports them; the link says so, and the map converts."""
    if lat is None or lon is None:
        return None
    return "https://uri.amap.com/marker?" + urlencode(
        {"position": f"{lon:.6f},{lat:.6f}", "name": name, "coordinate": "wgs84", "callnative": 1})


def qr_svg(url: str, title: str = "") -> Markup:
    """The QR code of `url` as inline SVG (drawn on the page: no image request, no script)."""
    return Markup(segno.make(url, error="m").svg_inline(scale=5, border=2, title=title or None,
                                                        svgclass="qr", lineclass=None))


def qr_png(url: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=scale, border=2)
    return out.getvalue()
