"""report.md and a self-contained report.html (inline SVG charts, no scripts) for an evaluation run."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from qa.evaluation import FAILURE_CLASSES, RECALL_KS, Result, read_results, write_text
from qa.terminal import clean, one_line

HEADLINE = ("n", "n_answerable", "n_unanswerable", "answer_accuracy", "exact_match", "f1", "refusal_accuracy",
            "false_refusal_rate", "recall_at_1", "recall_at_3", "recall_at_5", "recall_at_10", "mrr",
            "citation_precision", "citation_recall", "verified_rate", "latency_p50_s", "latency_p95_s")
CLASS_COLORS = {"ok": "#2da44e", "not_retrieved": "#cf222e", "retrieved_low": "#fb8500", "not_cited": "#bf8700",
                "wrong_answer": "#8250df", "false_refusal": "#0969da", "answered_unanswerable": "#e85aad"}
RECALL_COLOR = "#1f6feb"
LATENCY_COLOR = "#6e40c9"


def escape(text: Any) -> str:
    """Text for report.html: HTML-escaped, without control characters or escape sequences."""
    return html.escape(clean(str(text)))


_MD_SPECIAL = re.compile(r"([\\`|]|\](?=[(\[]))")  # backslash, code, a table cell; "](" and "][" make links


def md(text: Any) -> str:
    """Text from a question set, an article or a model for report.md: one line, no control characters, HTML
    escaped (a viewer shows `<script>` as text), and no Markdown of its own that could act: no links or images
    (`[x](url)`), no code spans, no table cells."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(one_line(str(text)), quote=False))


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.3f}"
    return str(x)


def _ci(summary: dict[str, Any], key: str) -> str:
    x = (summary.get("ci") or {}).get(key)
    return f"[{x[0]:.3f}, {x[1]:.3f}]" if isinstance(x, list) and len(x) == 2 else ""


def _answer_text(r: Result) -> str:
    a = r.answer
    if a is None:
        return ""
    return "(refused)" if a["refused"] else a["answer"]


def _latencies(results: list[Result]) -> list[float]:
    return [float(r.timings["total_s"]) for r in results if "total_s" in r.timings]


def render_markdown(summary: dict[str, Any], results: list[Result]) -> str:
    lines = [f"# Evaluation: {md(summary.get('questions_file', ''))} ({md(summary['mode'])})", "",
             (f"corpus {md(summary.get('corpus_fingerprint', ''))} · k={md(summary.get('k'))} · "
              f"split={md(summary.get('split') or 'all')} · as_of used: {md(summary.get('as_of_used'))}"), "",
             "| metric | value | 95% CI |", "|---|---|---|"]
    lines += [f"| {k} | {_fmt(summary.get(k))} | {_ci(summary, k)} |" for k in HEADLINE]
    if summary.get("ci_method"):
        lines += ["", f"95% CI: {md(summary['ci_method'])}."]
    lines += ["", "## Failure classes", "", "| class | questions |", "|---|---|"]
    lines += [f"| {c} | {n} |" for c, n in summary["failure_classes"].items()]
    if summary.get("latency"):
        lines += ["", "## Latency (s)", "", "| stage | p50 | p95 |", "|---|---|---|"]
        lines += [f"| {md(st)} | {_fmt(v['p50'])} | {_fmt(v['p95'])} |" for st, v in summary["latency"].items()]
    failed = [r for r in results if r.failure_class not in ("ok", None)]
    lines += ["", f"## Questions that failed ({len(failed)})", ""]
    if failed:
        lines += ["| id | class | question | gold | answer | top retrieved |", "|---|---|---|---|---|---|"]
    for r in failed:
        cells = [r.id, r.failure_class, r.question, " / ".join(r.answers) or "(unanswerable)",
                 _answer_text(r)[:200], ", ".join(dict.fromkeys(r.retrieved[:3]))]
        lines.append("| " + " | ".join(md(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


# Charts -------------------------------------------------------------------------------------------------------
def _svg(chart_id: str, title: str, body: str, w: int = 420, h: int = 260) -> str:
    return (f'<figure><figcaption>{escape(title)}</figcaption><svg id="{chart_id}" xmlns="http://www.w3.org/2000/svg" '
            f'width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(title)}">{body}</svg>'
            f'</figure>')


def recall_chart(summary: dict[str, Any]) -> str:
    w, h, left, bottom, top, right = 420, 260, 44, 36, 28, 16
    pw, ph = w - left - right, h - top - bottom
    pts = [(k, summary.get(f"recall_at_{k}")) for k in RECALL_KS]
    body = [f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#888"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#888"/>']
    for frac in (0, 0.25, 0.5, 0.75, 1.0):
        y = top + ph * (1 - frac)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#eee"/>'
                    f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{frac:.2f}</text>')
    xs = {k: left + pw * i / (len(RECALL_KS) - 1) for i, k in enumerate(RECALL_KS)}
    for k in RECALL_KS:
        body.append(f'<text x="{xs[k]:.1f}" y="{top + ph + 16}" text-anchor="middle" font-size="11">@{k}</text>')
    got = [(xs[k], top + ph * (1 - v), v) for k, v in pts if v is not None]
    if got:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in got)
        body.append(f'<polyline points="{path}" fill="none" stroke="{RECALL_COLOR}" stroke-width="4"/>')
        for x, y, v in got:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{RECALL_COLOR}"/>'
                        f'<text x="{x:.1f}" y="{max(y - 10, 12):.1f}" text-anchor="middle" font-size="11">{v:.2f}</text>')
    else:
        body.append(f'<text x="{w / 2}" y="{h / 2}" text-anchor="middle">no questions with gold sources</text>')
    body.append(f'<text x="{left + pw / 2}" y="{h - 4}" text-anchor="middle" font-size="11">gold-article recall@k</text>')
    return _svg("chart-recall", "Retrieval: recall@k", "".join(body), w, h)


def failure_chart(summary: dict[str, Any]) -> str:
    counts = summary["failure_classes"]
    w, row, left = 420, 30, 170
    h = row * len(FAILURE_CLASSES) + 20
    top = max(counts.values()) or 1
    body = []
    for i, c in enumerate(FAILURE_CLASSES):
        y = 10 + i * row
        bw = (w - left - 50) * counts.get(c, 0) / top
        body.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="12">{c}</text>'
                    f'<rect x="{left}" y="{y + 3}" width="{bw:.1f}" height="{row - 8}" fill="{CLASS_COLORS[c]}"/>'
                    f'<text x="{left + bw + 6:.1f}" y="{y + 17}" font-size="12">{counts.get(c, 0)}</text>')
    return _svg("chart-failures", "Failure classes (questions)", "".join(body), w, h)


def latency_chart(results: list[Result], bins: int = 10) -> str:
    xs = _latencies(results)
    w, h, left, bottom, top = 420, 260, 40, 36, 16
    pw, ph = w - left - 16, h - top - bottom
    if not xs:
        return _svg("chart-latency", "Latency per question", '<text x="20" y="40">no timings</text>', w, h)
    lo, hi = min(xs), max(xs)
    width = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for x in xs:
        counts[min(int((x - lo) / width), bins - 1)] += 1
    peak = max(counts)
    body = [f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#888"/>']
    bw = pw / bins
    for i, n in enumerate(counts):
        bh = ph * n / peak
        body.append(f'<rect x="{left + i * bw + 1:.1f}" y="{top + ph - bh:.1f}" width="{bw - 2:.1f}" '
                    f'height="{bh:.1f}" fill="{LATENCY_COLOR}"/>')
        if n:
            body.append(f'<text x="{left + (i + 0.5) * bw:.1f}" y="{top + ph - bh - 3:.1f}" text-anchor="middle" '
                        f'font-size="10">{n}</text>')
    for i, anchor in ((0, "start"), (bins // 2, "middle"), (bins, "end")):
        body.append(f'<text x="{left + i * bw:.1f}" y="{top + ph + 14}" text-anchor="{anchor}" font-size="11">'
                    f'{lo + i * width:.2f}</text>')
    body.append(f'<text x="{left + pw / 2}" y="{h - 4}" text-anchor="middle" font-size="11">seconds per question '
                f'(total)</text>')
    return _svg("chart-latency", "Latency per question", "".join(body), w, h)


CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1f2328;max-width:1400px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}.charts{display:flex;flex-wrap:wrap;gap:24px}
figure{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:8px}figcaption{font-weight:600;margin-bottom:4px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f6f8fa}.cls{font-weight:600;white-space:nowrap}.meta{color:#57606a;font-size:13px}
.grid{display:flex;gap:24px;flex-wrap:wrap}"""


def render_html(summary: dict[str, Any], results: list[Result]) -> str:
    title = f"qa evaluation — {summary.get('questions_file', '')}"
    metrics = "".join(f"<tr><th>{k}</th><td>{_fmt(summary.get(k))}</td></tr>" for k in HEADLINE)
    stages = "".join(f"<tr><th>{escape(st)}</th><td>{_fmt(v['p50'])}</td><td>{_fmt(v['p95'])}</td></tr>"
                     for st, v in (summary.get("latency") or {}).items())
    rows = []
    for r in results:
        cls = r.failure_class or "not judged"
        color = CLASS_COLORS.get(cls, "#57606a")
        rows.append(
            f"<tr><td>{escape(r.id)}</td><td class=cls style=\"color:{color}\">{escape(cls)}</td>"
            f"<td>{escape(r.question)}</td><td>{escape(' / '.join(r.answers) or '(unanswerable)')}</td>"
            f"<td>{escape(_answer_text(r))}</td>"
            f"<td>{escape(', '.join(dict.fromkeys(r.retrieved[:3])))}</td>"
            f"<td>{escape(', '.join(r.sources))}</td></tr>")
    provenance = {k: summary.get(k) for k in ("questions_sha256", "corpus_fingerprint", "models", "settings")}
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{CSS}</style></head><body>
<h1>{escape(title)}</h1>
<p class=meta>{escape(summary['mode'])} · k={summary.get('k')} · split={escape(str(summary.get('split') or 'all'))}
 · corpus {escape(str(summary.get('corpus_fingerprint', '')))} · as_of used: {summary.get('as_of_used')}</p>
<div class=charts>{recall_chart(summary)}{failure_chart(summary)}{latency_chart(results)}</div>
<div class=grid><div><h2>Metrics</h2><table>{metrics}</table></div>
<div><h2>Latency (s)</h2><table><tr><th>stage</th><th>p50</th><th>p95</th></tr>{stages}</table></div></div>
<h2>Questions ({len(results)})</h2>
<table><tr><th>id</th><th>class</th><th>question</th><th>gold</th><th>answer</th><th>top retrieved</th>
<th>gold sources</th></tr>{''.join(rows)}</table>
<h2>Provenance</h2><pre>{escape(json.dumps(provenance, indent=2))}</pre>
</body></html>
"""


def write_reports(out: Path, summary: dict[str, Any]) -> None:
    """report.md and report.html of the run in `out`, from its summary and results.jsonl (written by
    `qa.evaluation.run_eval`; the CLI renders the reports after it)."""
    results = list(read_results(out / "results.jsonl").values())
    write_text(out / "report.md", render_markdown(summary, results))
    write_text(out / "report.html", render_html(summary, results))
