"""A local HTTP server standing in for a third party (an identity provider)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeService:
    """Answers GET and POST on the paths in `routes` with JSON (or XML).

    A route is a callable taking (method, query or form dict) and returning a
    JSON-serialisable value, or a string served as XML; `requests` keeps what
    was asked, in order.
    """

    def __init__(self):
        self.routes = {}
        self.requests = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, method, params):
                path = urlparse(self.path).path
                service.requests.append((method, path, params))
                route = service.routes.get(path)
                if route is None:
                    self.send_error(404)
                    return
                answer = route(method, params)
                kind = "application/json"
                if isinstance(answer, str):
                    body, kind = answer.encode(), "application/xml"
                else:
                    body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._answer("GET", parse_qs(urlparse(self.path).query))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                self._answer("POST", form)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
