"""The LLM planner: any OpenAI-compatible server, grounded by Graft, bounded in time and bytes.

How a plan is made:
1. Graft grounds itself: it inspects the base checkpoint and the datasets (module names per
   role, layer count, dataset formats) and puts those facts in the prompt, so the model needs
   no exploratory tool calls to plan.
2. The model makes one constrained call: `propose_plan` forced through `tool_choice`, or, on a
   server that ignores tools, a reply under `response_format` json_schema. Which way works is
   learned from the first reply of each server (and model) and remembered for the process.
   The schema is a compact one generated from the Plan model; Graft fills `goal`,
   `base_model` and `output` itself, so the model cannot change what the person named.
3. Replies are read tolerantly (tool calls in `tool_calls` or written in the text, arguments
   as a string or an object, `{"plan": …}` wrappers) and checked strictly: the plan is
   validated against the files and repaired a bounded number of times.
4. Every request streams with `max_tokens`, an idle timeout, a cap on bytes and one deadline
   for the whole plan; on timeout or cancel the stream is closed, so the server stops
   generating. A cut reply (`finish_reason == "length"`) is a repair, never a plan.

Anything that goes wrong raises `LLMUnavailable` with a sentence for the person, and
`make_plan` falls back to the offline planner and says why. What the model says is data: it
becomes a plan (validated like any other) or one short question, and nothing it returns can
approve or run a stage.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.plan import Plan, plan_from_data
from agent.planner import LLMSettings, PlanOutcome, PlanRequest
from prompts.loader import load_prompt
from tools.errors import GraftError

MAX_TURNS = 4
MAX_TOOL_RESULT = 12_000
MAX_QUESTION_CHARS = 240

Progress = Callable[[str], None]

# How each server (base URL, model) takes a constrained plan request, learned from its first
# replies: "tool" (forced tool_choice), "plain" (tools offered, no tool_choice/temperature),
# "json" (response_format json_schema).
_SERVER_MODE: dict[tuple[str, str], str] = {}


class LLMUnavailable(Exception):
    """The LLM could not produce a usable result; the message says why, in one sentence."""


class LLMBadRequest(LLMUnavailable):
    """The server refused the request itself (HTTP 400): a retry with fewer settings may pass."""


class ListModulesArgs(BaseModel):
    path: str = Field(description="Checkpoint file or folder.")


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema


# Fields of a stage the model is shown; the rest keep their defaults unless the goal is edited.
_KEEP = {
    "kind", "id", "input", "adapter", "target_modules", "layers", "dataset", "r", "alpha", "epochs",
    "max_steps", "learning_rate", "batch_size", "max_length", "method", "beta", "loss_type", "models",
    "weights", "base", "t", "density", "adapters", "combination", "dtype", "source",
    "simpo_gamma", "cpo_alpha", "desirable_weight", "undesirable_weight", "loss_weights", "packing",
    "lr_scheduler_type", "warmup_steps", "weight_decay", "max_grad_norm", "seed",
}  # fmt: skip


def _compact(node: Any) -> Any:
    """A JSON schema without titles, defaults and long prose, with `X | None` as X."""
    if isinstance(node, list):
        return [_compact(n) for n in node]
    if not isinstance(node, dict):
        return node
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        if len(options) == 1:
            merged = {**{k: v for k, v in node.items() if k != "anyOf"}, **options[0]}
            return _compact(merged)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "default", "additionalProperties") or key.startswith("exclusive"):
            continue
        if key in ("minimum", "maximum"):
            continue
        if key == "description" and (not isinstance(value, str) or len(value) > 90):
            continue
        if key == "discriminator":
            continue
        if key == "properties":
            out[key] = {
                name: _compact(v) for name, v in value.items() if name in _KEEP or name in node.get("required", [])
            }
            continue
        out[key] = _compact(value)
    return out


def plan_schema() -> dict[str, Any]:
    """The compact `propose_plan` schema, generated from the Plan model (goal/base_model/output left to Graft)."""
    full = Plan.model_json_schema()
    defs = {name: _compact(d) for name, d in full.get("$defs", {}).items()}
    for d in defs.values():
        props = d.get("properties", {})
        for name in ("id", "input"):
            props.get(name, {}).pop("description", None)  # said once, in the prompt
        if "kind" in props:
            d["required"] = ["kind", *[r for r in d.get("required", []) if r != "kind"]]
    stages = _compact(full["properties"]["stages"])
    return {
        "type": "object",
        "properties": {
            "stages": stages,
            "notes": {"type": "array", "items": {"type": "string"}, "description": "Every assumption you made."},
            "question": {
                "type": "string",
                "description": "Only when something essential is missing: one short question, and no stages.",
            },
        },
        "required": ["stages"],
        "$defs": defs,
    }


def _spec(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


def propose_plan_tool() -> dict[str, Any]:
    """The one tool a plan request offers, so a forced `tool_choice` can name it."""
    return _spec(
        "propose_plan",
        "Propose the staged plan; Graft validates it against the files before the person sees it.",
        plan_schema(),
    )


def tool_specs() -> list[dict[str, Any]]:
    """The read-only tools offered for questions, then propose_plan; schemas from the tools' own models."""
    from tools.diff import DiffArgs
    from tools.inspect import InspectArgs
    from tools.lora_tools import CheckArgs

    return [
        _spec("inspect_checkpoint", "What a checkpoint contains: parameters per layer and component, dtypes, adapter.", _schema(InspectArgs)),
        _spec("check_adapter", "Which modules and layers a LoRA adapter touches, whether it fits a base, and how aligned several adapters' deltas are (will they conflict?).", _schema(CheckArgs)),
        _spec("diff_checkpoints", "Which tensors differ between two checkpoints, per layer and component.", _schema(DiffArgs)),
        _spec("list_modules", "The trainable module names of a checkpoint, grouped by role (attention, mlp).", _schema(ListModulesArgs)),
        propose_plan_tool(),
    ]  # fmt: skip


def run_tool(name: str, arguments: dict[str, Any]) -> str:
    """Run one read-only tool for the model; errors come back as text the model can act on."""
    from tools.diff import DiffArgs, diff_checkpoints
    from tools.inspect import InspectArgs, inspect_checkpoint

    try:
        if name == "inspect_checkpoint":
            result = inspect_checkpoint(InspectArgs.model_validate(arguments)).model_dump(mode="json")
            result.get("metadata", {}).pop("graft.provenance", None)
            text = json.dumps(result)
        elif name == "diff_checkpoints":
            diff = diff_checkpoints(DiffArgs.model_validate(arguments)).model_dump(mode="json")
            diff["changed"] = sorted(diff["changed"], key=lambda c: -c["relative_change"])[:40]
            text = json.dumps(diff)
        elif name == "check_adapter":
            from tools.lora_tools import CheckArgs, check_lora

            text = json.dumps(check_lora(CheckArgs.model_validate(arguments)).model_dump(mode="json"))
        elif name == "list_modules":
            path = ListModulesArgs.model_validate(arguments).path
            text = json.dumps(inspect_checkpoint(InspectArgs(path=path)).modules)
        else:
            return f"error: there is no tool named {name!r}; the tools are inspect_checkpoint, check_adapter, diff_checkpoints, list_modules."
    except GraftError as exc:
        return f"error: {exc}"
    except ValueError as exc:
        return f"error: invalid arguments for {name}: {exc}"
    return text[:MAX_TOOL_RESULT]


# ---------------------------------------------------------------- one bounded request


@dataclass
class ToolCall:
    name: str
    arguments: Any  # a JSON string, an object, or anything a server sent
    id: str | None = None


@dataclass
class Reply:
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    structured: bool = False  # tool calls came in `tool_calls`, not written in the text


def _httpx() -> Any:
    """The HTTP library the openai client runs on (httpx2 in openai 3, httpx before)."""
    try:
        import httpx2

        return httpx2
    except ImportError:  # pragma: no cover - older openai clients
        import httpx

        return httpx


def _server_detail(exc: Any) -> str:
    """The server's own words from an error reply, short and on one line."""
    body = getattr(exc, "body", None)
    detail: Any = None
    if isinstance(body, dict):
        detail = body.get("error", body)
        if isinstance(detail, dict):
            detail = detail.get("message") or detail.get("detail") or json.dumps(detail)
        elif not isinstance(detail, str):
            detail = body.get("detail") or body.get("message") or json.dumps(body)
    elif isinstance(body, str):
        detail = body
    if not detail:
        response = getattr(exc, "response", None)
        try:
            detail = response.text if response is not None else ""
        except Exception:  # an unread stream has no text; the status says enough
            detail = ""
    detail = " ".join(str(detail).split())
    return detail[:200] + ("…" if len(detail) > 200 else "")


_LIVE: weakref.WeakSet[LLMSession] = weakref.WeakSet()


def cancel_open_requests() -> int:
    """Stop every LLM request this process has open (a face's Cancel); returns how many were open.

    Each stream is closed at once, so the server stops generating; the planner then raises
    GraftCancelled rather than planning offline.
    """
    sessions = list(_LIVE)
    for session in sessions:
        session.cancel.set()
    return len(sessions)


class LLMSession:
    """One plan's (or one answer's) conversation with the server, under one deadline.

    `cancel` is an Event a face sets to stop; the open stream is closed at once, so the server
    stops generating. `progress` gets one short line per request.
    """

    def __init__(
        self, settings: LLMSettings, progress: Progress | None = None, cancel: threading.Event | None = None
    ) -> None:
        self.settings = settings
        self.progress = progress or (lambda _line: None)
        self.cancel = cancel or threading.Event()
        self.started = time.monotonic()
        self.deadline = self.started + settings.timeout
        self._client: Any = None
        self._open: Any = None
        self._lock = threading.Lock()
        _LIVE.add(self)

    @property
    def where(self) -> str:
        return self.settings.base_url or "api.openai.com"

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def client(self) -> Any:
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(api_key=self.settings.api_key, base_url=self.settings.base_url, max_retries=0)
        return self._client

    def _close_open(self) -> None:
        with self._lock:
            response, self._open = self._open, None
        if response is None:
            return
        try:  # shut the socket down first: that wakes a read blocked in another thread
            stream = response.http_response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        except Exception:  # best effort; closing below still frees the connection
            pass
        try:
            response.close()
        except Exception:  # closing is best effort; the deadline already fired
            pass

    def _watch(self) -> None:
        """Close the open stream the moment the person cancels or the deadline passes, even mid-read."""
        while self._open is not None:
            if self.cancel.wait(min(0.1, max(0.0, self.remaining()))) or self.remaining() <= 0:
                self._close_open()
                return

    def _check(self, what: str) -> None:
        if self.cancel.is_set():
            raise LLMUnavailable("cancelled by the person")
        if self.remaining() <= 0:
            raise LLMUnavailable(f"the LLM server did not finish {what} within {self.settings.timeout:g} s")

    def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        response_format: dict[str, Any] | None = None,
        plain: bool = False,
        what: str = "the plan",
    ) -> Reply:
        """One streamed chat completion, bounded by max_tokens, idle timeout, byte cap and the deadline."""
        import openai

        httpx = _httpx()
        self._check(what)
        s = self.settings
        kwargs: dict[str, Any] = {"model": s.model, "messages": messages, "stream": True, "max_tokens": s.max_tokens}
        if s.temperature is not None and not plain:
            kwargs["temperature"] = s.temperature
        if tools:
            kwargs["tools"] = tools
            if tool_choice is not None and not plain:
                kwargs["tool_choice"] = tool_choice
        if response_format is not None:
            kwargs["response_format"] = response_format
        idle = max(0.05, min(s.idle_timeout, self.remaining()))
        timeout = httpx.Timeout(idle, connect=min(idle, 10.0))
        try:
            manager = (
                self.client().with_options(timeout=timeout).chat.completions.with_streaming_response.create(**kwargs)
            )
            with manager as response:
                with self._lock:
                    self._open = response
                threading.Thread(target=self._watch, daemon=True).start()
                try:
                    return self._read(response, what)
                finally:
                    self._close_open()
        except LLMUnavailable:
            raise
        except (openai.APITimeoutError, httpx.TimeoutException):
            self._check(what)
            raise LLMUnavailable(f"the LLM server at {self.where} sent nothing for {idle:g} s") from None
        except openai.APIStatusError as exc:
            detail = _server_detail(exc)
            hint = ""
            if exc.status_code == 404 and not (s.base_url or "").rstrip("/").endswith("/v1"):
                hint = f" (is /v1 missing from the base URL {s.base_url}?)"
            message = f"the LLM server answered HTTP {exc.status_code}" + (f": {detail}" if detail else "") + hint
            if exc.status_code in (400, 422):  # 422: FastAPI-based servers refusing a field
                raise LLMBadRequest(message) from None
            raise LLMUnavailable(message) from None
        except openai.APIConnectionError:
            self._check(what)
            raise LLMUnavailable(f"cannot reach the LLM server at {self.where}") from None
        except (openai.OpenAIError, httpx.HTTPError, ValueError, OSError) as exc:
            self._check(what)
            raise LLMUnavailable(f"the LLM server's reply could not be read ({type(exc).__name__}: {exc})") from None

    def _read(self, response: Any, what: str) -> Reply:
        """Read the body chunk by chunk: SSE events or one JSON body, within the byte cap and the deadline."""
        s = self.settings
        http = response.http_response
        streamed = "text/event-stream" in http.headers.get("content-type", "")
        total = 0
        buffer = b""
        reply = Reply()
        calls: dict[int, dict[str, Any]] = {}
        done = False
        for chunk in http.iter_bytes():
            self._check(what)
            total += len(chunk)
            if total > s.max_bytes:
                raise LLMUnavailable(f"the LLM server's reply passed {s.max_bytes:,} bytes; it was cut off")
            buffer += chunk
            if not streamed:
                continue
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                line = raw.strip()
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    done = True
                    break
                try:
                    event = json.loads(data)
                except ValueError:
                    raise LLMUnavailable("the LLM server's stream held an event that is not JSON") from None
                _merge_event(event, reply, calls)
            if done:
                break
        self._check(what)
        if not streamed:
            try:
                body = json.loads(buffer)
            except ValueError:
                raise LLMUnavailable("the LLM server's reply could not be read (not JSON)") from None
            _merge_message(body, reply, calls)
        reply.tool_calls = [
            ToolCall(name=c["name"], arguments=c["arguments"], id=c.get("id"))
            for _, c in sorted(calls.items())
            if c["name"]
        ]
        reply.structured = bool(reply.tool_calls)
        return reply


def _choice(body: Any) -> dict[str, Any] | None:
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("error"), dict | str):
        detail = body["error"].get("message") if isinstance(body["error"], dict) else body["error"]
        raise LLMUnavailable(f"the LLM server reported an error: {' '.join(str(detail).split())[:200]}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    return choices[0]


def _add_calls(raw: Any, calls: dict[int, dict[str, Any]], streaming: bool) -> None:
    if not isinstance(raw, list):
        return  # `tool_calls: "x"` and the like: no tool calls
    for position, item in enumerate(raw):
        if not isinstance(item, dict):
            continue
        index = item.get("index", position) if streaming else position
        index = index if isinstance(index, int) else position
        slot = calls.setdefault(index, {"name": "", "arguments": "", "id": None})
        if isinstance(item.get("id"), str):
            slot["id"] = item["id"]
        function = item.get("function")
        if not isinstance(function, dict):
            continue  # `function: null`
        if isinstance(function.get("name"), str):
            name = function["name"]
            if not (streaming and slot["name"].endswith(name) and name):  # some servers repeat the name
                slot["name"] = slot["name"] + name if streaming else name
        args = function.get("arguments")
        if isinstance(args, str) and isinstance(slot["arguments"], str):
            slot["arguments"] += args
        elif args is not None:
            slot["arguments"] = args  # an object, as some servers send it


def _merge_event(event: Any, reply: Reply, calls: dict[int, dict[str, Any]]) -> None:
    choice = _choice(event)
    if choice is None:
        return
    delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else choice.get("message")
    if isinstance(delta, dict):
        if isinstance(delta.get("content"), str):
            reply.content += delta["content"]
        _add_calls(delta.get("tool_calls"), calls, streaming=True)
    if isinstance(choice.get("finish_reason"), str):
        reply.finish_reason = choice["finish_reason"]


def _merge_message(body: Any, reply: Reply, calls: dict[int, dict[str, Any]]) -> None:
    choice = _choice(body)
    if choice is None:
        raise LLMUnavailable("the LLM server's reply had no choices")
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    if isinstance(message.get("content"), str):
        reply.content += message["content"]
    _add_calls(message.get("tool_calls"), calls, streaming=False)
    if isinstance(choice.get("finish_reason"), str):
        reply.finish_reason = choice["finish_reason"]


# ---------------------------------------------------------------- reading replies tolerantly

_TOOL_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)


def _json_objects(text: str) -> list[Any]:
    """JSON values written in a reply: <tool_call> blocks, fenced blocks, or the bare object."""
    found: list[Any] = []
    candidates = [m.group(1) for m in _TOOL_BLOCK.finditer(text)] or [m.group(1) for m in _FENCE.finditer(text)]
    if not candidates:
        start, end = text.find("{"), text.rfind("}")
        if start != -1 and end > start:
            candidates = [text[start : end + 1]]
    for candidate in candidates:
        try:
            found.append(json.loads(candidate))
        except ValueError:
            continue
    return found


def text_tool_calls(text: str) -> list[ToolCall]:
    """Tool calls a server without a tool parser left in the text."""
    calls = []
    for value in _json_objects(text):
        if not isinstance(value, dict):
            continue
        name = value.get("name") if isinstance(value.get("name"), str) else None
        arguments = value.get("arguments", value.get("parameters"))
        if name and arguments is not None:
            calls.append(ToolCall(name=name, arguments=arguments))
        elif "stages" in value or isinstance(value.get("plan"), dict) or isinstance(value.get("question"), str):
            calls.append(ToolCall(name="propose_plan", arguments=value))
    return calls


def arguments_object(arguments: Any) -> dict[str, Any]:
    """Arguments as the server sent them (a JSON string or an object) as a dict; ValueError if neither."""
    if isinstance(arguments, str):
        arguments = json.loads(arguments or "{}")
    if not isinstance(arguments, dict):
        raise ValueError("the arguments are not a JSON object")
    return arguments


def _unwrap_plan(arguments: dict[str, Any]) -> dict[str, Any]:
    for _ in range(3):
        inner = arguments.get("plan") or arguments.get("arguments")
        if "stages" not in arguments and isinstance(inner, dict):
            arguments = inner
        elif "stages" not in arguments and isinstance(inner, str):
            try:
                arguments = arguments_object(inner)
            except ValueError:
                break
        else:
            break
    return arguments


def acceptable_question(text: str) -> str | None:
    """A model's question is passed on only when short, one complete sentence, and free of tool-call text."""
    text = " ".join((text or "").split())
    if not text or len(text) > MAX_QUESTION_CHARS or not text.endswith("?"):
        return None
    if re.search(r"[{}<>`\[\]]|tool_call|propose_plan|\bjson\b", text, re.I):
        return None
    body = text[:-1]
    if re.search(r"[.!?;](\s|$)", body) or "\n" in body:
        return None  # more than one sentence: a rambling reply, not a question
    return text


# ---------------------------------------------------------------- grounding and checking


def _dataset_facts(path: str) -> str:
    from tools.datasets_io import load_rows, normalise_rows

    try:
        rows = load_rows(path)
    except GraftError as exc:
        return f"{path}: cannot be read ({exc})"
    columns = sorted({k for row in rows[:50] for k in row}) if rows else []
    try:
        _, fmt = normalise_rows(rows, path)  # the format `graft data` names; any method
        shape = {
            "unpaired-kto": "unpaired thumbs-up/down feedback (prompt/completion/label): KTO",
            "preference": "preference pairs (prompt/chosen/rejected): DPO, ORPO, SimPO or KTO",
            "preference-implicit-prompt": "preference pairs (chosen/rejected, prompt inside): DPO, ORPO, SimPO or KTO",
        }.get(fmt, f"supervised ({fmt})")
    except GraftError:
        shape = "neither supervised nor preference data"
    return f"{path}: {len(rows)} rows, columns {', '.join(columns) or 'none'}; {shape}"


_DATA_PATH = re.compile(r"(?<![\w/.~-])(?:[~\w.-]*/)*[\w.-]+\.(?:jsonl|json|ndjson|csv|parquet|arrow)\b")


def given_datasets(request: PlanRequest) -> list[str]:
    """The datasets the person gave: `--data` files, then existing data files named in the goal."""
    given = list(request.data)
    for match in _DATA_PATH.finditer(request.goal):
        path = str(Path(match.group(0)).expanduser())
        if Path(path).is_file() and path not in given:
            given.append(path)
    return given


def ground(request: PlanRequest) -> str:
    """The facts Graft reads itself and gives the model: module names per role, layers, datasets."""
    from tools.inspect import InspectArgs, inspect_checkpoint

    if not Path(request.model).exists():
        raise GraftError(f"{request.model} does not exist.")
    info = inspect_checkpoint(InspectArgs(path=request.model))
    lines = [
        f"Base model {request.model}: {info.architecture or info.model_type or info.kind}, "
        f"{info.total_params:,} parameters, {info.num_layers} layers (indices 0-{(info.num_layers or 1) - 1}), "
        f"format {info.format}.",
        "Module names by role (use exactly these in target_modules): "
        + "; ".join(f"{role}: {', '.join(names)}" for role, names in info.modules.items() if names)
        + ".",
    ]
    if info.kind == "adapter":
        lines.append("It is an adapter, not a full model.")
    datasets = given_datasets(request)
    if datasets:
        lines.append("Datasets the person gave (use only these):")
        lines += [f"- {_dataset_facts(p)}" for p in datasets]
    else:
        lines.append("The person gave no datasets.")
    return "\n".join(lines)


def _user_message(request: PlanRequest, facts: str) -> str:
    lines = [f"Goal: {request.goal}", "", "Facts Graft read from the files:", facts]
    for reason in request.feedback:
        if reason:
            lines.append(f"The person rejected the previous plan: {reason}")
    return "\n".join(lines)


def _check_plan(arguments: dict[str, Any], request: PlanRequest) -> tuple[Plan, Any, list[str]]:
    """The model's stages in a plan whose goal, base and output are the person's; validated against the files."""
    from agent.validate import validate_plan

    data = {k: v for k, v in arguments.items() if k in ("stages", "notes")}
    if not isinstance(data.get("stages"), list) or not data["stages"]:
        raise GraftError("the plan has no stages; give at least one stage and a final write.")
    if not isinstance(data.get("notes", []), list):
        data["notes"] = [str(data["notes"])]
    notes = [str(n) for n in data.get("notes", [])]
    datasets = given_datasets(request)
    given = {str(Path(p)) for p in datasets}
    for i, stage in enumerate(data["stages"], 1):
        if not isinstance(stage, dict):
            raise GraftError(f"stage {i} is not an object.")
        dataset = stage.get("dataset")
        if dataset is not None and str(Path(str(dataset))) not in given:
            raise GraftError(
                f"stage {i} names dataset {dataset}, which the person did not give; use one of: "
                + (", ".join(datasets) or "none (ask a question instead)")
                + "."
            )
        if stage.get("kind") == "write" and stage.get("output") not in (None, request.output):
            stage.pop("output")  # the person names the output, not the model
    output = request.output or str(Path(request.model).with_name(Path(request.model).name + "-graft"))
    if not request.output:
        notes.append(f"no output was named; the final model goes to {output}.")
    plan = plan_from_data(
        {**data, "goal": request.goal.strip(), "base_model": request.model, "output": output, "notes": notes},
        "the proposed plan",
    )
    return plan, validate_plan(plan), notes


def _shown(reply: Reply) -> str:
    """What the model sent, as one assistant message for the next turn (no tool-call bookkeeping)."""
    if reply.tool_calls:
        parts = []
        for call in reply.tool_calls:
            args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
            parts.append(f"{call.name}({args[:4000]})")
        return (reply.content.strip() + "\n" if reply.content.strip() else "") + "\n".join(parts)
    return reply.content[:4000] or "(empty reply)"


def _mode_request(mode: str) -> dict[str, Any]:
    tool = propose_plan_tool()
    if mode == "json":
        schema = plan_schema()
        return {"response_format": {"type": "json_schema", "json_schema": {"name": "plan", "schema": schema}}}
    if mode == "plain":
        return {"tools": [tool], "plain": True}
    return {"tools": [tool], "tool_choice": {"type": "function", "function": {"name": "propose_plan"}}}


def _after(exc: LLMUnavailable, turn: int, last_problem: str) -> LLMUnavailable:
    """The failure, with what went wrong on the turn before it (a deadline after two cut replies says so)."""
    if turn == 1 or last_problem == "no reply":
        return exc
    return type(exc)(f"{exc} (on turn {turn}; before that, {last_problem})")


def plan_with_llm(
    request: PlanRequest,
    settings: LLMSettings,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> PlanOutcome:
    """Ask the LLM for a plan; raise LLMUnavailable (with the reason) when it cannot give a valid one."""
    label = f"llm:{settings.model}"
    if not request.goal.strip():
        return PlanOutcome(question="What should the model become?", planner=label)
    facts = ground(request)
    session = LLMSession(settings, progress, cancel)
    key = (settings.base_url or "", settings.model)
    mode = _SERVER_MODE.get(key, "tool")
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": load_prompt("planner_system")},
        {"role": "user", "content": _user_message(request, facts)},
    ]
    repairs = 0
    retried_400 = False
    last_problem = "no reply"
    for turn in range(1, MAX_TURNS + 1):
        session.progress(f"planning with {settings.model}… turn {turn}/{MAX_TURNS}")
        try:
            reply = session.complete(messages, **_mode_request(mode))
        except LLMBadRequest as exc:
            if retried_400 or mode == "plain":
                raise _after(exc, turn, last_problem) from None
            retried_400 = True
            refused = "a forced tool call" if mode == "tool" else "a JSON schema"
            mode = "plain"  # one retry without tool_choice, response_format and temperature
            session.progress(f"the server refused {refused}; retrying with {settings.model} without it")
            continue
        except LLMUnavailable as exc:
            raise _after(exc, turn, last_problem) from None
        problem: str | None = None
        if reply.finish_reason == "length":
            problem = (
                f"Your reply was cut off at the {settings.max_tokens}-token limit. Send only the plan, "
                "with no prose: stages and short notes."
            )
            last_problem = f"the reply was cut off at the {settings.max_tokens}-token limit"
        else:
            calls = reply.tool_calls or text_tool_calls(reply.content)
            plan_calls = [c for c in calls if c.name == "propose_plan"]
            if mode == "json" and not plan_calls:
                plan_calls = [ToolCall("propose_plan", v) for v in _json_objects(reply.content) if isinstance(v, dict)]
            if not plan_calls:
                question = acceptable_question(reply.content)
                if question and not calls:
                    return PlanOutcome(question=question, planner=label)
                if mode != "json" and not calls:
                    mode = "json"  # the server ignores tools: ask under a JSON schema instead
                problem = "Propose the plan now: call propose_plan (or answer with the plan object), nothing else."
                last_problem = "the LLM answered without proposing a plan"
            else:
                try:
                    arguments = _unwrap_plan(arguments_object(plan_calls[0].arguments))
                except ValueError:
                    arguments = None
                    problem = "The propose_plan arguments were not valid JSON. Send them again as one JSON object."
                    last_problem = "the LLM kept sending arguments that are not valid JSON"
                if arguments is not None:
                    question = arguments.get("question")
                    if isinstance(question, str) and question.strip() and not arguments.get("stages"):
                        accepted = acceptable_question(question)
                        if accepted:
                            return PlanOutcome(question=accepted, planner=label)
                        problem = "Either propose stages, or ask one short question (one sentence)."
                        last_problem = "the LLM's question was not one short, complete sentence"
                    else:
                        try:
                            plan, report, notes = _check_plan(arguments, request)
                        except GraftError as exc:
                            problem = f"The plan is invalid: {exc} Fix it and propose the plan again."
                            last_problem = f"the LLM's plan was invalid: {exc}"
                        else:
                            from agent.goal_facts import check_plan_against_goal, fact_echo
                            from agent.question_language import facts_in_language

                            # Fail closed: a stated fact the plan drops or changes is a repair, never a plan.
                            misses = check_plan_against_goal(request.goal, plan, feedback=request.feedback)
                            if misses:
                                said = " ".join(dict.fromkeys(m.message for m in misses[:4]))
                                problem = (
                                    f"The plan does not keep what the person said: {said} Fix the plan so it keeps "
                                    "every stated value, or ask one short question."
                                )
                                last_problem = f"the LLM's plan dropped a stated fact ({misses[0].message})"
                            else:
                                _SERVER_MODE[key] = mode
                                echo = facts_in_language(
                                    fact_echo(request.goal, plan, feedback=request.feedback), request.goal
                                )
                                return PlanOutcome(plan=plan, notes=notes, planner=label, report=report, facts=echo)
        repairs += 1
        if repairs > settings.max_repairs:
            raise LLMUnavailable(f"{last_problem}, still after {settings.max_repairs} repairs")
        messages.append({"role": "assistant", "content": _shown(reply)})
        messages.append({"role": "user", "content": problem})
    raise LLMUnavailable(f"the LLM did not settle on a plan within {MAX_TURNS} turns ({last_problem})")


# ---------------------------------------------------------------- answers


def llm_answer(
    question: str,
    context: str,
    results: list[str],
    settings: LLMSettings,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    max_turns: int = 4,
) -> Reply:
    """The model's answer to a question, given Graft's own tool results and free to call read-only tools.

    `results` holds the numbered tool results ([1], [2], …); the model's own tool calls add to it.
    The reply is returned as it came (finish reason included): the caller decides if it is grounded.
    """
    session = LLMSession(settings, progress, cancel)
    tools = [t for t in tool_specs() if t["function"]["name"] != "propose_plan"]
    shown = "\n".join(f"[{i}] {r}" for i, r in enumerate(results, 1)) or "(none yet; call a tool)"
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": load_prompt("answer_system")},
        {"role": "user", "content": f"{context}\nQuestion: {question}\n\nTool results:\n{shown}"},
    ]
    use_tools = True
    for turn in range(1, max_turns + 1):
        session.progress(f"answering with {settings.model}… turn {turn}/{max_turns}")
        try:
            reply = session.complete(
                messages, tools=tools if use_tools else None, plain=not use_tools, what="the answer"
            )
        except LLMBadRequest:
            if not use_tools:
                raise
            use_tools = False  # a server that refuses tools still answers from the results given
            continue
        calls = reply.tool_calls or ([] if reply.finish_reason == "length" else text_tool_calls(reply.content))
        if not calls or turn == max_turns:
            return reply
        messages.append({"role": "assistant", "content": _shown(reply)})
        lines = []
        for call in calls[:4]:
            try:
                text = run_tool(call.name, arguments_object(call.arguments))
            except ValueError:
                text = "error: the arguments are not a JSON object."
            results.append(text)
            lines.append(f"[{len(results)}] {call.name}: {text}")
        messages.append({"role": "user", "content": "Tool results:\n" + "\n".join(lines)})
    return Reply()
