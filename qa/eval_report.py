"""report.md and a self-contained report.html (inline SVG charts and an inline script to sort and filter, nothing
fetched) for an evaluation run, and the side-by-side HTML of `qa eval compare A B --html OUT`."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from qa.evaluation import FAILURE_CLASSES, RECALL_KS, Result, load_run, read_results, write_text
from qa.terminal import clean, one_line

HEADLINE = ("n", "n_answerable", "n_unanswerable", "answer_accuracy", "exact_match", "f1", "refusal_accuracy",
            "false_refusal_rate", "recall_at_1", "recall_at_3", "recall_at_5", "recall_at_10", "mrr", "shown_recall",
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


CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1f2328;max-width:1500px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}.charts{display:flex;flex-wrap:wrap;gap:24px}
figure{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:8px}figcaption{font-weight:600;margin-bottom:4px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f6f8fa}.cls{font-weight:600;white-space:nowrap}.meta{color:#57606a;font-size:13px}
.grid{display:flex;gap:24px;flex-wrap:wrap}th[data-sort]{cursor:pointer;text-decoration:underline dotted}
.controls{margin:8px 0;display:flex;gap:16px;flex-wrap:wrap;font-size:14px}.gold{background:#dafbe1}
.num{text-align:right;white-space:nowrap}details summary{cursor:pointer;color:#0969da}.side{display:flex;gap:16px}
.side>div{flex:1;min-width:0}.passage{white-space:pre-wrap;max-height:12em;overflow:auto;font-size:12px}
.noise{font-weight:700;color:#cf222e}.kept{color:#2da44e}.removed{color:#cf222e}.recited,.marked{color:#bf8700}"""

# Sorting and filtering, inline (the report stays one file). Rows carry data-* values; nothing from an article
# is ever read by the script as code or HTML.
SCRIPT = """(function(){
var table=document.getElementById('questions');if(!table)return;var body=table.tBodies[0];
var sel=function(id){return document.getElementById(id);};var dir={};
function apply(){var c=sel('f-class').value,sp=sel('f-split').value,ch=sel('f-changed');
 Array.prototype.forEach.call(body.rows,function(r){var show=(c===''||r.dataset.cls===c||r.dataset.clsB===c)
  &&(sp===''||r.dataset.split===sp)&&(!ch||!ch.checked||r.dataset.changed==='1');r.hidden=!show;});
 var n=Array.prototype.filter.call(body.rows,function(r){return !r.hidden;}).length;sel('shown').textContent=n;}
function sortBy(key){dir[key]=-(dir[key]||-1);var rows=Array.prototype.slice.call(body.rows);
 rows.sort(function(a,b){var x=a.dataset[key],y=b.dataset[key];var fx=parseFloat(x),fy=parseFloat(y);
  if(x===''&&y!=='')return 1;if(y===''&&x!=='')return -1;  // no value: last either way
  var r=(!isNaN(fx)&&!isNaN(fy))?fx-fy:String(x).localeCompare(String(y));return r*dir[key];});rows.forEach(function(r){body.appendChild(r);});sel('sorted').textContent=key;}
function save(){var h='class='+encodeURIComponent(sel('f-class').value)+'&split='+encodeURIComponent(sel('f-split').value)
 +'&sort='+encodeURIComponent(sel('sorted').textContent)+'&dir='+(dir[sel('sorted').textContent]||1)
 +(sel('f-changed')&&sel('f-changed').checked?'&changed=1':'');history.replaceState(null,'','#'+h);}
['f-class','f-split','f-changed'].forEach(function(id){var e=sel(id);if(e)e.addEventListener('change',function(){apply();save();});});
sel('f-sort').addEventListener('change',function(){sortBy(this.value);save();});
Array.prototype.forEach.call(table.querySelectorAll('th[data-sort]'),function(th){
 th.addEventListener('click',function(){sortBy(th.dataset.sort);save();});});
var st={};location.hash.replace(/^#/,'').split('&').forEach(function(kv){var i=kv.indexOf('=');
 if(i>0)st[kv.slice(0,i)]=decodeURIComponent(kv.slice(i+1));});
if(st['class'])sel('f-class').value=st['class'];if(st.split)sel('f-split').value=st.split;
if(st.changed&&sel('f-changed'))sel('f-changed').checked=true;
if(st.sort){dir[st.sort]=st.dir==='-1'?1:-1;sortBy(st.sort);sel('f-sort').value=st.sort;}
apply();})();"""


def _num(x: Any, digits: int = 3) -> str:
    return "" if x is None else f"{float(x):.{digits}f}"


def _data(name: str, value: Any) -> str:
    return f' data-{name}="{escape("" if value is None else value)}"'


def _passages(r: Result) -> str:
    """The ranked articles (gold marked) and the passages the generator was shown, with their ranks."""
    gold = set(r.sources)
    ranked = "".join(f"<li{' class=gold' if a in gold else ''}>{escape(a)}{' ★ gold' if a in gold else ''}</li>"
                     for a in r.retrieved)
    out = [f"<div><b>Retrieved (rank order)</b><ol>{ranked or '<li>nothing</li>'}</ol></div>"]
    shown = (r.answer or {}).get("passages") or []
    if shown:
        cells = "".join(
            f"<tr{' class=gold' if p.get('article_id') in gold else ''}><td class=num>[{escape(p.get('n'))}]</td>"
            f"<td>{escape(p.get('article_id'))}{' ★' if p.get('article_id') in gold else ''}</td>"
            f"<td class=num>{_num(p.get('score'))}</td><td><div class=passage>{escape(p.get('text', ''))}</div></td></tr>"
            for p in shown if isinstance(p, dict))
        out.append(f"<div><b>Shown to the generator</b><table><tr><th>n</th><th>article</th><th>score</th>"
                   f"<th>text</th></tr>{cells}</table></div>")
    return "".join(out)


def _checks(answer: dict[str, Any]) -> str:
    """Each draft sentence's verification action, when the answer records them (`checks`); nothing otherwise."""
    checks = answer.get("checks")
    if not isinstance(checks, list) or not checks:
        return ""
    rows = []
    for c in checks:
        c = c if isinstance(c, dict) else {k: getattr(c, k, None) for k in ("sentence", "cited", "action", "rule",
                                                                              "detail")}
        action = str(c.get("action") or "")
        rows.append(f"<tr><td class={action if action in ('kept', 'recited', 'removed', 'marked') else 'x'}>{escape(action)}</td>"
                    f"<td>{escape(c.get('rule') or '')}</td><td>{escape(c.get('sentence') or '')}</td>"
                    f"<td>{escape(c.get('cited') if c.get('cited') is not None else '')}</td>"
                    f"<td>{escape(c.get('detail') or '')}</td></tr>")
    return (f"<b>Verification</b><table><tr><th>action</th><th>rule</th><th>sentence</th><th>cited</th>"
            f"<th>detail</th></tr>{''.join(rows)}</table>")


def _details(r: Result) -> str:
    """Everything needed to debug one question, folded."""
    a = r.answer
    parts = [(f"<p><b>Gold</b>: {escape(' / '.join(r.answers) or '(unanswerable)')} · sources: "
              f"{escape(', '.join(r.sources) or '—')}</p>")]
    if a is not None:
        gold = set(r.sources)
        parts.append(f"<p><b>Short answer</b>: {escape(a.get('short_answer') or '—')}</p>")
        parts.append(f"<div class=side><div><b>Draft</b> (before verification)<p>{escape(a.get('draft') or '—')}</p>"
                     f"</div><div><b>Checked answer</b><p>{escape(_answer_text(r))}</p></div></div>")
        parts.append(_checks(a))
        cites = "".join(
            f"<tr><td>[{escape(c.get('n'))}]</td><td>{escape(c.get('article_id'))}"
            f"{' ★ gold' if c.get('article_id') in gold else ''}</td><td>{'✓' if c.get('verified') else '✗'}</td>"
            f"<td>{escape(c.get('quote', ''))}</td></tr>" for c in a.get("citations") or [] if isinstance(c, dict))
        if cites:
            parts.append(f"<b>Citations</b><table><tr><th>n</th><th>article</th><th>verified</th><th>quote</th></tr>"
                         f"{cites}</table>")
    parts.append(_passages(r))
    metrics = ", ".join(f"{escape(k)}={escape(v)}" for k, v in r.metrics.items() if v is not None)
    timings = ", ".join(f"{escape(k)}={escape(v)}" for k, v in r.timings.items())
    parts.append(f"<p class=meta>metrics: {metrics}<br>timings (s): {timings}</p>")
    return f"<details><summary>details</summary>{''.join(parts)}</details>"


def _controls(results: list[Result], sorts: list[tuple[str, str]], changed: bool = False) -> str:
    classes = sorted({c for r in results for c in (r.failure_class or "not judged",)})
    splits = sorted({r.split for r in results if r.split})
    opts = "".join(f"<option value=\"{escape(c)}\">{escape(c)}</option>" for c in classes)
    split_opts = "".join(f"<option value=\"{escape(x)}\">{escape(x)}</option>" for x in splits)
    sort_opts = "".join(f"<option value=\"{key}\">{escape(label)}</option>" for key, label in sorts)
    extra = "<label><input type=checkbox id=f-changed> changed only</label>" if changed else ""
    return (f"<div class=controls><label>class <select id=f-class><option value=\"\">all</option>{opts}</select>"
            f"</label><label>split <select id=f-split><option value=\"\">all</option>{split_opts}</select></label>"
            f"<label>sort by <select id=f-sort>{sort_opts}</select></label>{extra}"
            f"<span>showing <b id=shown>{len(results)}</b> · sorted by <b id=sorted>id</b></span></div>")


def _provenance(summary: dict[str, Any]) -> str:
    prov = summary.get("provenance") or {}
    rows = {"qa version": prov.get("qa_version"), "git commit": prov.get("git_commit") or "not run from a checkout",
            "prompt sha256": prov.get("prompt_sha256"), "run started (UTC)": prov.get("started"),
            "questions": f"{summary.get('questions_file', '')} (sha256 {summary.get('questions_sha256', '')})",
            "corpus fingerprint": summary.get("corpus_fingerprint")}
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v if v is not None else '—')}</td></tr>"
                    for k, v in rows.items())
    detail = {k: summary.get(k) for k in ("models", "settings")}
    return f"<table>{table}</table><pre>{escape(json.dumps(detail, indent=2))}</pre>"


SORTS = [("id", "id"), ("cls", "failure class"), ("split", "split"), ("em", "exact match"), ("f1", "F1"),
         ("correct", "answer correct"), ("rr", "reciprocal rank"), ("latency", "latency")]


def render_html(summary: dict[str, Any], results: list[Result]) -> str:
    title = f"qa evaluation — {summary.get('questions_file', '')}"
    metrics = "".join(f"<tr><th>{k}</th><td class=num>{_fmt(summary.get(k))}</td><td class=num>{_ci(summary, k)}</td>"
                      f"</tr>" for k in HEADLINE)
    stages = "".join(f"<tr><th>{escape(st)}</th><td>{_fmt(v['p50'])}</td><td>{_fmt(v['p95'])}</td></tr>"
                     for st, v in (summary.get("latency") or {}).items())
    rows = []
    for r in results:
        cls = r.failure_class or "not judged"
        color = CLASS_COLORS.get(cls, "#57606a")
        m = r.metrics
        data = (_data("id", r.id) + _data("cls", cls) + _data("split", r.split) + _data("em", m.get("exact_match"))
                + _data("f1", m.get("f1")) + _data("correct", m.get("answer_correct")) + _data("rr", m.get("rr"))
                + _data("latency", r.timings.get("total_s")))
        rows.append(
            f"<tr{data}><td>{escape(r.id)}</td><td class=cls style=\"color:{color}\">{escape(cls)}</td>"
            f"<td>{escape(r.split)}</td><td>{escape(r.question)}</td>"
            f"<td>{escape(_answer_text(r))}</td><td class=num>{_num(m.get('exact_match'), 0)}</td>"
            f"<td class=num>{_num(m.get('f1'), 2)}</td><td class=num>{_num(r.timings.get('total_s'), 1)}</td>"
            f"<td>{_details(r)}</td></tr>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{CSS}</style></head><body>
<h1>{escape(title)}</h1>
<p class=meta>{escape(summary['mode'])} · k={escape(summary.get('k'))} · split={escape(summary.get('split') or 'all')}
 · corpus {escape(summary.get('corpus_fingerprint', ''))} · as_of used: {escape(summary.get('as_of_used'))}</p>
<div class=charts>{recall_chart(summary)}{failure_chart(summary)}{latency_chart(results)}</div>
<div class=grid><div><h2>Metrics</h2><table><tr><th>metric</th><th>value</th><th>95% CI</th></tr>{metrics}</table>
<p class=meta>{escape(summary.get('ci_method', ''))}</p></div>
<div><h2>Latency (s)</h2><table><tr><th>stage</th><th>p50</th><th>p95</th></tr>{stages}</table></div></div>
<h2>Questions ({len(results)})</h2>
{_controls(results, SORTS)}
<table id=questions><thead><tr><th data-sort=id>id</th><th data-sort=cls>class</th><th data-sort=split>split</th>
<th>question</th><th>answer</th><th data-sort=em>EM</th><th data-sort=f1>F1</th><th data-sort=latency>latency (s)</th>
<th>passages, draft, checks</th></tr></thead><tbody>{''.join(rows)}</tbody></table>
<h2>Provenance</h2>{_provenance(summary)}
<script>{SCRIPT}</script>
</body></html>
"""


def render_comparison_html(c: dict[str, Any], runs: tuple[tuple[dict[str, Any], dict[str, Result]],
                                                             tuple[dict[str, Any], dict[str, Result]]]) -> str:
    """`qa eval compare A B --html OUT`: metrics with intervals and the paired test, then every question side by
    side (A left, B right), filterable to the changed ones."""
    (sa, ra), (sb, rb) = runs
    def ci(x: Any) -> str:
        return f" [{x[0]:.3f}, {x[1]:.3f}]" if isinstance(x, list) and len(x) == 2 else ""

    def delta(x: Any) -> str:
        return "—" if x is None else f"{x:+.3f}"

    metrics = "".join(
        f"<tr><th>{escape(m['metric'])}</th><td class=num>{_fmt(m['a'])}{ci(m.get('a_ci'))}</td>"
        f"<td class=num>{_fmt(m['b'])}{ci(m.get('b_ci'))}</td><td class=num>{delta(m['delta'])}</td>"
        f"<td class=num>{_fmt(m.get('p'))}</td>"
        f"<td>{'<span class=noise>beyond noise</span>' if m.get('beyond_noise') else ''}</td></tr>"
        for m in c["metrics"])
    changed = {x["id"] for x in c.get("changed_questions", [])}
    rows = []
    both = [i for i in ra if i in rb]
    for i in both:
        a, b = ra[i], rb[i]
        ca, cb = a.failure_class or "not judged", b.failure_class or "not judged"
        data = (_data("id", i) + _data("cls", ca) + _data("cls-b", cb) + _data("split", b.split)
                + _data("changed", "1" if i in changed else "0") + _data("f1", b.metrics.get("f1"))
                + _data("em", b.metrics.get("exact_match")) + _data("latency", b.timings.get("total_s")))
        rows.append(
            f"<tr{data}><td>{escape(i)}</td><td>{escape(b.question)}</td>"
            f"<td class=cls style=\"color:{CLASS_COLORS.get(ca, '#57606a')}\">{escape(ca)}</td>"
            f"<td class=cls style=\"color:{CLASS_COLORS.get(cb, '#57606a')}\">{escape(cb)}</td>"
            f"<td class=num>{_num(a.metrics.get('f1'), 2)} → {_num(b.metrics.get('f1'), 2)}</td>"
            f"<td><div class=side><div>{escape(_answer_text(a))}{_details(a)}</div>"
            f"<div>{escape(_answer_text(b))}{_details(b)}</div></div></td></tr>")
    results = [rb[i] for i in both]
    differ = "".join(f"<li>{escape(k)}: {escape(json.dumps(v['a']))} → {escape(json.dumps(v['b']))}</li>"
                     for k, v in c["differ"].items())
    title = f"qa eval compare — {c['a']} → {c['b']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{CSS}</style></head><body>
<h1>{escape(title)}</h1>
<p class=meta>A = {escape(c['a'])} · B = {escape(c['b'])} · p: {escape(c.get('test', ''))}; beyond noise: p &lt;
 {escape(c.get('alpha'))}</p>
<table id=metrics><tr><th>metric</th><th>A [95% CI]</th><th>B [95% CI]</th><th>Δ (B − A)</th><th>p</th><th></th></tr>
{metrics}</table>
<h2>Inputs that differ</h2><ul>{differ or '<li>none</li>'}</ul>
<h2>Questions ({len(both)}; {len(changed)} changed)</h2>
{_controls(results, [("id", "id"), ("cls", "class in A"), ("clsB", "class in B"), ("f1", "F1 in B"),
                     ("latency", "latency in B")], changed=True)}
<table id=questions><thead><tr><th data-sort=id>id</th><th>question</th><th data-sort=cls>A class</th>
<th data-sort=clsB>B class</th><th data-sort=f1>F1 A → B</th><th>answer A | answer B</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<h2>Provenance</h2><div class=side><div><h3>A</h3>{_provenance(sa)}</div><div><h3>B</h3>{_provenance(sb)}</div></div>
<script>{SCRIPT}</script>
</body></html>
"""


def write_comparison(path: Path, a: Path, b: Path, comparison: dict[str, Any]) -> None:
    """The side-by-side HTML of two runs (`qa eval compare A B --html OUT`)."""
    write_text(path, render_comparison_html(comparison, (load_run(a), load_run(b))))


def write_reports(out: Path, summary: dict[str, Any]) -> None:
    """report.md and report.html of the run in `out`, from its summary and results.jsonl (written by
    `qa.evaluation.run_eval`; the CLI renders the reports after it)."""
    results = list(read_results(out / "results.jsonl").values())
    write_text(out / "report.md", render_markdown(summary, results))
    write_text(out / "report.html", render_html(summary, results))
