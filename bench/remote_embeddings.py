"""Ingest chunks/s with the bundled MiniLM on this CPU vs through an embedding server, same machine, same run.

    .venv/bin/python bench/remote_embeddings.py [--articles 150] [PATH ...]

The server is tests/integration/embed_server.py: the same MiniLM (float32, 2 torch threads) behind OpenAI's
`/v1/embeddings`. Client and server share the machine's cores, so this measures what the HTTP route costs
(JSON, round trips, batching), not what a faster server would gain. Each run is `qa ingest` (the installed
command) into a fresh QA_HOME; its own summary line gives chunks and seconds (model loading excluded: the local
model loads before the clock starts, the server before the run). Local runs first and last, to show the drift
of a shared machine.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ingest_throughput import STATE_DEPT, pick
from bench.machine import header
from tests.integration.servers import minilm_embedding_server

QA = Path(sys.executable).parent / "qa"


def ingest(corpus: list[Path], home: Path, **env: str) -> tuple[int, float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "OPENAI_", "OLLAMA_"))}
    r = subprocess.run([str(QA), "ingest", *map(str, corpus)], capture_output=True, text=True, check=False,
                       env={**clean, "QA_HOME": str(home), "QA_LLM": "fake", "QA_EMBED_DTYPE": "float32", **env})
    m = re.search(r"(\d+) chunks embedded in ([\d.]+) s", r.stderr)
    if r.returncode != 0 or not m:
        raise SystemExit(f"ingest failed ({r.returncode}): {r.stderr[-2000:]}")
    return int(m.group(1)), float(m.group(2))


def transport_only(n: int = 512, chars: int = 1000) -> None:
    """What the HTTP route alone costs per chunk: RemoteEmbeddings against a server that answers 384 constant
    floats per text at once (no model), so all that is timed is JSON, sockets and threads on both ends."""
    import http.server
    import json
    import threading
    import time

    from qa.config import Settings
    from qa.embedding import make_embeddings

    vector = [0.05] * 384

    class Constant(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def do_POST(self) -> None:
            texts = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["input"]
            data = json.dumps({"data": [{"index": i, "embedding": vector} for i in range(len(texts))]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Constant)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    texts = [("word " * (chars // 5))[:chars] for _ in range(n)]
    print("\n| transport only (no model) | chunks/s | ms per chunk |\n|---|---|---|")
    for batch, concurrency in ((16, 2), (64, 2), (16, 1)):
        emb = make_embeddings(Settings(embeddings="openai", embed_model="m", embed_batch_size=batch,
                                       embed_concurrency=concurrency,
                                       embed_base_url=f"http://127.0.0.1:{server.server_address[1]}/v1"))
        emb.embed_documents(texts[:batch])  # connect once
        t0 = time.perf_counter()
        emb.embed_documents(texts)
        dt = time.perf_counter() - t0
        print(f"| batch {batch}, {concurrency} at a time | {n / dt:.0f} | {dt / n * 1000:.2f} |")
    server.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*", type=Path, default=[STATE_DEPT])
    ap.add_argument("--articles", type=int, default=150)
    ap.add_argument("--transport-only", action="store_true", help="only the HTTP cost per chunk (seconds)")
    args = ap.parse_args()
    if args.transport_only:
        header("remote embeddings: transport cost per chunk (no model)")
        transport_only()
        return
    header("remote embeddings: ingest chunks/s, local MiniLM vs the same MiniLM behind /v1/embeddings")
    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-remote-"))
    corpus = pick(args.paths, args.articles, tmp / "articles")
    rows: list[tuple[str, int, float]] = []

    def run(label: str, **env: str) -> None:
        chunks, seconds = ingest(corpus, tmp / f"home-{len(rows)}", **env)
        rows.append((label, chunks, seconds))
        print(f"{label:<48} {chunks:>6} chunks {seconds:>7.1f} s {chunks / seconds:>7.1f} chunks/s", flush=True)

    run("local MiniLM (batch 16)")
    with minilm_embedding_server(tmp, threads=2) as url:
        # a generous timeout: on a shared, overloaded machine a 64-chunk request can wait past the default 60 s
        remote = {"QA_EMBEDDINGS": "openai", "QA_EMBED_BASE_URL": f"{url}/v1", "QA_EMBED_MODEL": "all-MiniLM-L6-v2",
                  "QA_EMBED_TIMEOUT_S": "900"}
        run("server, batch 16, 2 requests at a time", **remote)
        run("server, batch 64, 2 requests at a time", **remote, QA_EMBED_BATCH_SIZE="64")
        run("server, batch 16, 1 request at a time", **remote, QA_EMBED_CONCURRENCY="1")
    run("local MiniLM (batch 16), again")
    base = (rows[0][1] / rows[0][2] + rows[-1][1] / rows[-1][2]) / 2
    print("\n| run | chunks | s | chunks/s | vs local (mean of both) |\n|---|---|---|---|---|")
    for label, chunks, seconds in rows:
        print(f"| {label} | {chunks} | {seconds:.1f} | {chunks / seconds:.1f} | {chunks / seconds / base:.2f}x |")


if __name__ == "__main__":
    main()
