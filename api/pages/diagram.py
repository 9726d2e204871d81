"""A workflow definition drawn as an SVG state diagram, on the server, from the definition itself.

Layout for a narrow screen: the states a claim passes through form a column (in order of
their distance from the initial state); final states sit in a second column on the right,
each beside the states that lead to it, with the trigger(s) that end there written in the
box. Forward steps are straight arrows; steps back up the column (e.g. returned → visiting)
and loops curve round the left. Dashed arrows are fired by the system (expiry, cancel with
the task). Labels follow the page's language.
"""
from markupsafe import Markup, escape

BOX_W, BOX_H, STEP, LEFT, RIGHT_X, PAD = 104, 34, 78, 92, 262, 14


def _order(definition) -> list[str]:
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
    names = [s.name for s in definition.states]
    return sorted(names, key=lambda n: (depth.get(n, 99), names.index(n)))


def svg(definition, english: bool = False) -> Markup:
    finals = definition.final_states
    order = _order(definition)
    spine = [n for n in order if n not in finals]
    ends = [n for n in order if n in finals]
    label = {s.name: (s.label_en if english else s.label) for s in definition.states}
    tlabel = {t.name: (t.label_en if english else t.label) for t in definition.triggers}

    pos = {name: (LEFT, PAD + i * STEP) for i, name in enumerate(spine)}
    # finals beside the mean height of their sources, pushed down so that none overlap
    wanted = {}
    for name in ends:
        ys = [pos[s][1] for t in definition.triggers if t.dest == name for s in t.sources if s in pos]
        wanted[name] = sum(ys) / len(ys) if ys else PAD
    y_next = PAD
    end_h = BOX_H + 14
    for name in sorted(ends, key=lambda n: wanted[n]):
        y = max(wanted[name], y_next)
        pos[name] = (RIGHT_X, y)
        y_next = y + end_h + 10
    width = RIGHT_X + BOX_W + PAD
    height = max(max(y for _, y in pos.values()) + end_h + PAD, PAD * 2 + BOX_H)

    title = definition.title_en if english else definition.title
    out = [f'<svg class="diagram" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
           f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif">'
           f'<title>{escape(title)} ({escape(definition.label)})</title>'
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>']
    labels = []

    def edge(path, internal, tip):
        dashed = ' stroke-dasharray="4 3"' if internal else ""
        out.append(f'<path d="{path}" fill="none" stroke="#666" stroke-width="1.2"{dashed} '
                   f'marker-end="url(#arrow)"><title>{escape(tip)}</title></path>')

    pairs: dict[tuple[str, str], list] = {}
    for trig in definition.triggers:
        for source in trig.sources:
            pairs.setdefault((source, trig.dest), []).append(trig)
    into_end: dict[str, list[str]] = {}
    back = 0
    for (source, dest), trigs in pairs.items():
        text = " / ".join(tlabel[t.name] for t in trigs)
        internal = all(t.internal for t in trigs)
        tip = f"{', '.join(t.name for t in trigs)}: {source} → {dest}"
        sx, sy = pos[source]
        dx, dy = pos[dest]
        if dest in finals:
            x1, y1 = sx + BOX_W, sy + BOX_H / 2
            x2, y2 = dx, dy + end_h / 2
            edge(f"M{x1:.0f},{y1:.0f} C{x1 + 40:.0f},{y1:.0f} {x2 - 40:.0f},{y2:.0f} {x2:.0f},{y2:.0f}", internal, tip)
            for t in trigs:
                into_end.setdefault(dest, [])
                if tlabel[t.name] not in into_end[dest]:
                    into_end[dest].append(tlabel[t.name])
        elif source == dest:
            x, y = sx, sy + BOX_H / 2
            edge(f"M{x:.0f},{y - 8:.0f} C{x - 34:.0f},{y - 26:.0f} {x - 34:.0f},{y + 26:.0f} {x:.0f},{y + 8:.0f}",
                 internal, tip)
            labels.append((x - 36, y + 4, text, "end"))
        elif dy > sy and spine.index(dest) == spine.index(source) + 1:
            x = sx + BOX_W / 2
            edge(f"M{x:.0f},{sy + BOX_H:.0f} L{x:.0f},{dy:.0f}", internal, tip)
            labels.append((x + 6, (sy + BOX_H + dy) / 2 + 4, text, "start"))
        else:
            back += 1
            bend = 26 + 14 * back
            x1, y1 = sx, sy + BOX_H / 2
            x2, y2 = dx, dy + BOX_H / 2
            edge(f"M{x1:.0f},{y1:.0f} C{x1 - bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}",
                 internal, tip)
            labels.append((x1 - bend * 0.75 - 2, (y1 + y2) / 2 + 4, text, "end"))

    for name in spine:
        x, y = pos[name]
        fill = "#fff3e0" if name == definition.initial else "#ffebee"
        out.append(f'<rect x="{x}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" '
                   f'stroke="#b71c1c" stroke-width="1.3"/><text x="{x + BOX_W / 2:.0f}" y="{y + BOX_H / 2 + 5:.0f}" '
                   f'text-anchor="middle" font-size="13">{escape(label[name])}</text>')
    for name in ends:
        x, y = pos[name]
        via = " / ".join(into_end.get(name, []))
        out.append(f'<rect x="{x}" y="{y:.0f}" width="{BOX_W}" height="{end_h}" rx="8" fill="#eceff1" '
                   f'stroke="#b71c1c" stroke-width="2.4"/><text x="{x + BOX_W / 2:.0f}" y="{y + 19:.0f}" '
                   f'text-anchor="middle" font-size="13">{escape(label[name])}</text>'
                   f'<text x="{x + BOX_W / 2:.0f}" y="{y + 36:.0f}" text-anchor="middle" font-size="10" '
                   f'fill="#616161">{escape(via)}</text>')
    for lx, ly, text, anchor in labels:
        out.append(f'<text x="{lx:.0f}" y="{ly:.0f}" text-anchor="{anchor}" font-size="10" fill="#333" '
                   f'stroke="#fff" stroke-width="3" paint-order="stroke">{escape(text)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
