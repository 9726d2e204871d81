"""A workflow definition drawn as an SVG state diagram, on the server, from the definition itself.

Layout: states in layers by their distance from the initial state (top to bottom); a
forward transition is a straight arrow, a transition back up (e.g. returned → visiting)
curves round the side. Final states have a double border. Labels follow the page language.
"""
from markupsafe import Markup, escape

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 96, 34, 22, 74, 16


def _layers(definition) -> dict[str, int]:
    depth = {definition.initial: 0}
    frontier = [definition.initial]
    while frontier:
        nxt = []
        for state in frontier:
            for trig in definition.triggers_from(state):
                if trig.dest not in depth:
                    depth[trig.dest] = depth[state] + 1
                    nxt.append(trig.dest)
        frontier = nxt
    for s in definition.states:  # unreachable states cannot load, but never crash a page
        depth.setdefault(s.name, max(depth.values()) + 1)
    return depth


def svg(definition, english: bool = False) -> Markup:
    depth = _layers(definition)
    rows: dict[int, list[str]] = {}
    for s in definition.states:
        rows.setdefault(depth[s.name], []).append(s.name)
    widest = max(len(v) for v in rows.values())
    width = PAD * 2 + widest * BOX_W + (widest - 1) * GAP_X
    height = PAD * 2 + len(rows) * BOX_H + (len(rows) - 1) * GAP_Y
    pos = {}
    for level, names in rows.items():
        row_w = len(names) * BOX_W + (len(names) - 1) * GAP_X
        x0 = (width - row_w) / 2
        for i, name in enumerate(names):
            pos[name] = (x0 + i * (BOX_W + GAP_X), PAD + level * (BOX_H + GAP_Y))
    label = {s.name: (s.label_en if english else s.label) for s in definition.states}
    title = definition.title_en if english else definition.title
    out = [f'<svg class="diagram" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
           f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
           f'<title>{escape(title)} ({escape(definition.label)})</title>'
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    edge_labels = []
    for trig in definition.triggers:
        text = trig.label_en if english else trig.label
        for source in trig.sources:
            sx, sy = pos[source]
            dx, dy = pos[trig.dest]
            if depth[trig.dest] > depth[source]:
                x1, y1 = sx + BOX_W / 2, sy + BOX_H
                x2, y2 = dx + BOX_W / 2, dy
                cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
                path = f"M{x1:.0f},{y1:.0f} L{x2:.0f},{y2:.0f}"
                lx, ly = x1 + (x2 - x1) * 0.45, y1 + (y2 - y1) * 0.45
            else:
                # back or sideways: leave from the side, curve outwards, arrive at the side
                x1, y1 = sx + BOX_W, sy + BOX_H / 2
                x2, y2 = dx + BOX_W, dy + BOX_H / 2
                bend = 40 + abs(y2 - y1) * 0.15
                cx, cy = max(x1, x2) + bend, (y1 + y2) / 2
                path = f"M{x1:.0f},{y1:.0f} Q{cx:.0f},{cy:.0f} {x2:.0f},{y2:.0f}"
                lx, ly = (x1 + x2) / 4 + cx / 2, cy
            dashed = ' stroke-dasharray="4 3"' if trig.internal else ""
            out.append(f'<path d="{path}" fill="none" stroke="#555" stroke-width="1.2"{dashed} '
                       f'marker-end="url(#arrow)"><title>{escape(trig.name)}: {escape(source)} → '
                       f'{escape(trig.dest)}</title></path>')
            edge_labels.append((lx, ly, text))
    for s in definition.states:
        x, y = pos[s.name]
        fill = "#fff3e0" if s.name == definition.initial else ("#eceff1" if s.final else "#ffebee")
        out.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" '
                   f'stroke="#b71c1c" stroke-width="{2.4 if s.final else 1.2}"/>'
                   f'<text x="{x + BOX_W / 2:.0f}" y="{y + BOX_H / 2 + 4:.0f}" text-anchor="middle" '
                   f'font-size="12">{escape(label[s.name])}</text>')
    for lx, ly, text in edge_labels:
        w = 12 * len(text) * (0.6 if english else 1) + 6
        out.append(f'<rect x="{lx - w / 2:.0f}" y="{ly - 9:.0f}" width="{w:.0f}" height="14" rx="3" '
                   f'fill="#fff" fill-opacity="0.85"/><text x="{lx:.0f}" y="{ly + 2:.0f}" text-anchor="middle" '
                   f'font-size="10" fill="#333">{escape(text)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
