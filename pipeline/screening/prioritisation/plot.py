"""The recall curve of a simulation as a standalone SVG: includes found against records screened,
beside random screening (the diagonal) and the stopping point."""

from __future__ import annotations

from xml.sax.saxutils import escape

import numpy as np

_W, _H, _LEFT, _BOTTOM, _TOP, _RIGHT = 640, 420, 60, 50, 40, 20


def recall_svg(ordered_labels: np.ndarray, *, stop_position: int | None = None, title: str = "") -> str:
    """SVG text: the recall curve of `ordered_labels` (1/0 in screening order)."""
    labels = np.asarray(ordered_labels, dtype=np.int64)
    n, r = len(labels), int(labels.sum())
    if n == 0 or r == 0:
        raise ValueError("a recall curve needs at least one record and one include")
    found = np.concatenate([[0], np.cumsum(labels)])
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x(k: float) -> float:
        return _LEFT + plot_w * k / n

    def y(v: float) -> float:
        return _TOP + plot_h * (1 - v / r)

    # One point per change in the curve (and the ends), so the file stays small for large datasets.
    keep = np.flatnonzero(np.diff(found, prepend=-1, append=found[-1] + 1) != 0)
    steps = " ".join(f"{x(k):.1f},{y(found[k]):.1f}" for k in sorted(set(keep.tolist()) | {0, n}) if k <= n)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{_W}" height="{_H}" fill="white"/>',
        f'<text x="{_W / 2}" y="22" text-anchor="middle" font-size="14">{escape(title or "Recall curve")}</text>',
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_LEFT + plot_w}" y2="{_TOP + plot_h}" stroke="black"/>',
        f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + plot_h}" stroke="black"/>',
        f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(n)}" y2="{y(r)}" stroke="#999" stroke-dasharray="5,4"/>',
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{steps}"/>',
    ]
    for frac in (0, 0.25, 0.5, 0.75, 1):
        parts.append(
            f'<text x="{x(frac * n):.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle">{round(frac * n)}</text>'
        )
        parts.append(f'<text x="{_LEFT - 6}" y="{y(frac * r) + 4:.1f}" text-anchor="end">{round(frac * r)}</text>')
    parts.append(f'<text x="{_LEFT + plot_w / 2}" y="{_H - 10}" text-anchor="middle">records screened (of {n})</text>')
    parts.append(
        f'<text transform="translate(16 {_TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">'
        f"includes found (of {r})</text>"
    )
    legend_y = _TOP + plot_h - 40
    parts.append(
        f'<line x1="{_LEFT + plot_w - 190}" y1="{legend_y}" x2="{_LEFT + plot_w - 160}" y2="{legend_y}" '
        'stroke="#1f77b4" stroke-width="2"/>'
    )
    parts.append(f'<text x="{_LEFT + plot_w - 154}" y="{legend_y + 4}">prioritised screening</text>')
    parts.append(
        f'<line x1="{_LEFT + plot_w - 190}" y1="{legend_y + 18}" x2="{_LEFT + plot_w - 160}" '
        f'y2="{legend_y + 18}" stroke="#999" stroke-dasharray="5,4"/>'
    )
    parts.append(f'<text x="{_LEFT + plot_w - 154}" y="{legend_y + 22}">random screening</text>')
    if stop_position is not None:
        sx = x(stop_position)
        parts.append(
            f'<line x1="{sx:.1f}" y1="{_TOP}" x2="{sx:.1f}" y2="{_TOP + plot_h}" stroke="#d62728" '
            'stroke-dasharray="2,3"/>'
        )
        parts.append(
            f'<text x="{sx + 4:.1f}" y="{_TOP + 12}" fill="#d62728">stop at {stop_position} '
            f"({int(found[stop_position])}/{r} found)</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
