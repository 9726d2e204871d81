"""Draw Baodao's icon: static/img/favicon.svg (the browser tab, any size), and with Pillow the same
drawing as static/favicon.ico (16, 32 and 48 px, for /favicon.ico), static/img/favicon-32.png and
static/img/apple-touch-icon.png (180 px, a phone's home screen). The files are committed; rerun this
after changing the drawing:

    .venv/bin/python scripts/make_favicon.py
"""
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
RED, WHITE = "#b71c1c", "#ffffff"
# On a 32×32 grid: a house (the community) with a star on it (the Party member reporting in).
HOUSE = [(16, 5), (28, 15), (24.5, 15), (24.5, 27), (7.5, 27), (7.5, 15), (4, 15)]
STAR = [(16.0, 14.2), (17.2, 17.6), (20.8, 17.7), (17.9, 19.9), (19.0, 23.4), (16.0, 21.3), (13.0, 23.4),
        (14.1, 19.9), (11.2, 17.7), (14.8, 17.6)]


def _points(points):
    return " ".join(f"{x:g},{y:g}" for x, y in points)


def svg() -> str:
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
            f'<rect width="32" height="32" rx="6" fill="{RED}"/>'
            f'<polygon points="{_points(HOUSE)}" fill="{WHITE}"/>'
            f'<polygon points="{_points(STAR)}" fill="{RED}"/></svg>\n')


def raster(size: int, *, rounded: bool = True) -> Image.Image:
    scale = 8 * size / 32  # drawn 8× larger, then scaled down: smooth edges
    big = Image.new("RGBA", (8 * size, 8 * size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(big)
    draw.rounded_rectangle((0, 0, 8 * size - 1, 8 * size - 1), radius=round(6 * scale) if rounded else 0, fill=RED)
    draw.polygon([(x * scale, y * scale) for x, y in HOUSE], fill=WHITE)
    draw.polygon([(x * scale, y * scale) for x, y in STAR], fill=RED)
    return big.resize((size, size), Image.LANCZOS)


def main() -> None:
    (ROOT / "static/img").mkdir(parents=True, exist_ok=True)
    (ROOT / "static/img/favicon.svg").write_text(svg(), encoding="utf-8")
    raster(32).save(ROOT / "static/img/favicon-32.png", optimize=True)
    raster(180, rounded=False).convert("RGB")  # the phone rounds it.save(ROOT / "static/img/apple-touch-icon.png", optimize=True)
    raster(48).save(ROOT / "static/favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
