"""A local OpenAI-compatible server on loopback that replays scripted replies.

The one stand-in the tests allow: the real `openai` client and Graft's real tool-calling loop
talk to it over HTTP. Each scripted step is one reply to one chat-completions request:
  {"call": [(tool name, arguments dict or raw string), ...]}   tool calls
  {"say": "text"}                                              a plain answer
  {"status": 500}                                              an HTTP error
  {"sleep": seconds, ...}                                      answer late (then as the rest says)
  {"raw": "text"}                                              a 200 whose body is not JSON
Requests are kept in `requests` so tests can check what Graft sent back.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedLLM:
    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> ScriptedLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _reply(self) -> tuple[int, bytes]:
        step = self.script.pop(0) if self.script else {"say": "I have nothing more to say."}
        if "sleep" in step:
            time.sleep(step["sleep"])
        if "status" in step:
            return step["status"], json.dumps(
                {"error": {"message": "scripted failure", "type": "server_error"}}
            ).encode()
        if "raw" in step:
            return 200, step["raw"].encode()
        message: dict[str, Any] = {"role": "assistant", "content": step.get("say")}
        if "call" in step:
            message["tool_calls"] = [
                {
                    "id": f"call_{len(self.requests)}_{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
                }
                for i, (name, args) in enumerate(step["call"])
            ]
        body = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": "scripted",
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if "call" in step else "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        return 200, json.dumps(body).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                outer.requests.append(json.loads(self.rfile.read(length) or b"{}"))
                status, body = outer._reply()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
