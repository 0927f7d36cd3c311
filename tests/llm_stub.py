"""A local OpenAI-compatible server on loopback that replays scripted replies.

The one stand-in the tests allow: the real `openai` client and Graft's real loop talk to it
over HTTP. It answers a streaming request (`"stream": true`) with server-sent events, as vLLM,
llama.cpp, Ollama and `transformers serve` do, and any other request with one JSON body.
Each scripted step is one reply to one chat-completions request:
  {"call": [(tool name, arguments), ...]}   tool calls; arguments a dict (sent as a JSON string),
                                            a raw string, or with "object_args": True the dict itself
  {"say": "text"}                           a plain answer (with "call": text beside the calls)
  {"finish": "length"}                      the finish reason to report (default stop/tool_calls)
  {"status": 400, "error": "detail"}        an HTTP error with the server's own words
  {"refuse": ["tool_choice"], ...}          HTTP 400 while the request holds one of these keys
                                            (the step is kept); otherwise the rest of the step
  {"sleep": seconds, ...}                   answer late (then as the rest says)
  {"raw": "text"}                           a 200 whose body is not JSON
  {"body": {...}}                           this exact JSON body (shapes real servers send)
  {"json_body": True, ...}                  answer with one JSON body even to a streaming request
  {"trickle": seconds}                      SSE headers, then one byte every `seconds`, forever
  {"huge": n_bytes}                         a stream of n_bytes of content, as fast as it goes
Requests are kept in `requests`; `closed_at` records when Graft hung up on a trickle or a huge
reply (time.monotonic()), so tests can check the server was told to stop.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedLLM:
    def __init__(self, script: list[dict[str, Any]], prefix: str = "/v1") -> None:
        self.script = list(script)
        self.prefix = prefix
        self.requests: list[dict[str, Any]] = []
        self.closed_at: list[float] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}"

    def __enter__(self) -> ScriptedLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next(self, request: dict[str, Any]) -> dict[str, Any]:
        step = self.script[0] if self.script else {"say": "I have nothing more to say."}
        refused = [key for key in step.get("refuse", []) if key in request]
        if refused:
            return {"status": 400, "error": f"{refused[0]} is not supported by this server"}
        if self.script:
            self.script.pop(0)
        return step

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                outer.requests.append(request)
                if not self.path.startswith(outer.prefix + "/"):
                    return self._send(404, json.dumps({"detail": "Not Found"}).encode())
                step = outer._next(request)
                if "sleep" in step:
                    time.sleep(step["sleep"])
                try:
                    if "status" in step:
                        error = {"error": {"message": step.get("error", "scripted failure"), "type": "invalid"}}
                        return self._send(step["status"], json.dumps(error).encode())
                    if "raw" in step:
                        return self._send(200, step["raw"].encode())
                    if "body" in step:
                        return self._send(200, json.dumps(step["body"]).encode())
                    if "trickle" in step:
                        return self._trickle(step["trickle"])
                    if "huge" in step:
                        return self._huge(step["huge"])
                    if request.get("stream") and not step.get("json_body"):
                        return self._stream(step, len(outer.requests))
                    return self._send(200, json.dumps(_completion(step, len(outer.requests))).encode())
                except (BrokenPipeError, ConnectionResetError):
                    outer.closed_at.append(time.monotonic())

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _sse_head(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()

            def _event(self, data: Any) -> None:
                payload = data if isinstance(data, str) else json.dumps(data)
                self.wfile.write(f"data: {payload}\n\n".encode())
                self.wfile.flush()

            def _stream(self, step: dict[str, Any], n: int) -> None:
                self._sse_head()
                for chunk in _chunks(step, n):
                    self._event(chunk)
                self._event("[DONE]")

            def _trickle(self, every: float) -> None:
                self._sse_head()
                while True:
                    self.wfile.write(b":")
                    self.wfile.flush()
                    time.sleep(every)

            def _huge(self, n_bytes: int) -> None:
                self._sse_head()
                piece = {"choices": [{"index": 0, "delta": {"content": "x" * 4000}, "finish_reason": None}]}
                event = f"data: {json.dumps(piece)}\n\n".encode()
                sent = 0
                while sent < n_bytes:
                    self.wfile.write(event)
                    sent += len(event)
                self._event("[DONE]")

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def _calls(step: dict[str, Any], n: int) -> list[dict[str, Any]]:
    calls = []
    for i, (name, args) in enumerate(step.get("call", [])):
        if not isinstance(args, str) and not step.get("object_args"):
            args = json.dumps(args)
        calls.append({"id": f"call_{n}_{i}", "type": "function", "function": {"name": name, "arguments": args}})
    return calls


def _finish(step: dict[str, Any]) -> str:
    return step.get("finish") or ("tool_calls" if "call" in step else "stop")


def _completion(step: dict[str, Any], n: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": step.get("say")}
    if "call" in step:
        message["tool_calls"] = _calls(step, n)
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "scripted",
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(step)}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunks(step: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """The reply as streaming deltas: text in pieces, each tool call's arguments in pieces."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": "scripted",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    out = [chunk({"role": "assistant", "content": ""})]
    text = step.get("say") or ""
    for start in range(0, len(text), 7):
        out.append(chunk({"content": text[start : start + 7]}))
    for index, call in enumerate(_calls(step, n)):
        args = call["function"]["arguments"]
        head = {"index": index, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"]}}
        if not isinstance(args, str):
            head["function"]["arguments"] = args
            out.append(chunk({"tool_calls": [head]}))
            continue
        head["function"]["arguments"] = ""
        out.append(chunk({"tool_calls": [head]}))
        for start in range(0, len(args), 20):
            piece = {"index": index, "function": {"arguments": args[start : start + 20]}}
            out.append(chunk({"tool_calls": [piece]}))
    out.append(chunk({}, _finish(step)))
    return out
