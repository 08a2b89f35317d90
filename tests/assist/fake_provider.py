"""An OpenAI-compatible chat completions server on loopback that records
every request it receives (headers and raw body) and answers as told."""

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def prompt(self) -> str:
        return "\n".join(message["content"] for message in self.json["messages"])


def echo(received: Received) -> str:
    """Answers with the user message it was sent, so tests can see restoring."""
    return "Summary of what I was told:\n" + received.json["messages"][-1]["content"]


class FakeProvider:
    """`script` is a list of steps, one per request (the last repeats):
    an int status to answer with, ("sleep", seconds) before answering,
    ("drip", seconds) between each byte of the answer, or "ok"."""

    def __init__(self, *, answer=echo, script=("ok",)):
        self.received: list[Received] = []
        self.answer = answer
        self.script = list(script)
        self.tokens = (120, 40)
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                received = Received(
                    self.path, dict(self.headers), self.rfile.read(length)
                )
                provider.received.append(received)
                step = provider._next_step()
                drip = 0.0
                if isinstance(step, tuple) and step[0] == "sleep":
                    time.sleep(step[1])
                elif isinstance(step, tuple) and step[0] == "drip":
                    drip = step[1]
                if isinstance(step, int):
                    self._send(step, {"error": {"message": "scripted failure"}})
                    return
                tokens_in, tokens_out = provider.tokens
                self._send(
                    200,
                    drip=drip,
                    payload={
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "choices": [
                            {
                                "index": 0,
                                "message": {
                                    "role": "assistant",
                                    "content": provider.answer(received),
                                },
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {
                            "prompt_tokens": tokens_in,
                            "completion_tokens": tokens_out,
                            "total_tokens": tokens_in + tokens_out,
                        },
                    },
                )

            def _send(self, status, payload, drip=0.0):
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if not drip:
                        self.wfile.write(body)
                        return
                    for index in range(len(body)):
                        self.wfile.write(body[index : index + 1])
                        self.wfile.flush()
                        time.sleep(drip)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _next_step(self):
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def all_bytes(self) -> bytes:
        return b"".join(json.dumps(r.headers).encode() + r.body for r in self.received)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
