"""A small SVG line chart writer (no dependencies): one panel per curve,
log-scaled x where the points span decades."""
import math


def _fmt(v):
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def write_svg(path, panels, columns=2):
    """panels: [{"title", "xlabel", "ylabel", "series": {name: [(x, y)]}}]."""
    w, h, pad = 420, 260, 50
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"]
    rows = (len(panels) + columns - 1) // columns
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w * columns}" '
           f'height="{h * rows}" font-family="sans-serif" font-size="11">',
           f'<rect width="100%" height="100%" fill="white"/>']
    for i, panel in enumerate(panels):
        ox, oy = (i % columns) * w, (i // columns) * h
        points = [p for s in panel["series"].values() for p in s]
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        logx = min(xs) > 0 and max(xs) / min(xs) >= 100
        fx = (lambda x: math.log10(x)) if logx else (lambda x: x)
        x0, x1 = fx(min(xs)), fx(max(xs))
        y1 = max(ys) * 1.1 or 1
        def px(x):
            return ox + pad + (fx(x) - x0) / ((x1 - x0) or 1) * (w - 2 * pad)
        def py(y):
            return oy + h - pad + 10 - y / y1 * (h - 2 * pad)
        out.append(f'<text x="{ox + w / 2}" y="{oy + 18}" text-anchor="middle" '
                   f'font-weight="bold">{panel["title"]}</text>')
        out.append(f'<line x1="{ox + pad}" y1="{py(0)}" x2="{ox + w - pad}" y2="{py(0)}" stroke="black"/>')
        out.append(f'<line x1="{ox + pad}" y1="{py(0)}" x2="{ox + pad}" y2="{py(y1)}" stroke="black"/>')
        for x in sorted(set(xs)):
            out.append(f'<text x="{px(x)}" y="{py(0) + 14}" text-anchor="middle">{_fmt(x)}</text>')
        for k in range(5):
            y = y1 * k / 4
            out.append(f'<text x="{ox + pad - 4}" y="{py(y) + 4}" text-anchor="end">{_fmt(round(y, 1))}</text>')
        out.append(f'<text x="{ox + w / 2}" y="{oy + h - 8}" text-anchor="middle">{panel["xlabel"]}</text>')
        out.append(f'<text x="{ox + 12}" y="{oy + h / 2}" text-anchor="middle" '
                   f'transform="rotate(-90 {ox + 12} {oy + h / 2})">{panel["ylabel"]}</text>')
        for j, (name, series) in enumerate(panel["series"].items()):
            color = colors[j % len(colors)]
            pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in sorted(series))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
            for x, y in series:
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"/>')
            out.append(f'<text x="{ox + w - pad}" y="{oy + 34 + 13 * j}" text-anchor="end" '
                       f'fill="{color}">{name}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))
