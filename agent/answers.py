"""Grounded answers about checkpoints and stages: every number comes from inspect or diff.

Offline, a question is matched to a template over the tool results ("what does it contain",
"how many parameters in the MLP", "is it an adapter, for which base", "which layers did DPO
change most"). With an LLM configured, the model answers through the same tools, and an answer
whose numbers do not all appear in the tool results is replaced by the offline answer.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from tools.errors import GraftError


class Answer(BaseModel):
    text: str
    facts: list[dict[str, Any]] = Field(default_factory=list, description="The tool results the text was built from.")
    shows: str | None = Field(None, description="Which panel a face should open: 'checkpoint' or 'diff'.")
    source: str = Field(
        "offline", description="Who wrote the text: 'offline' (templates over the files) or 'llm:MODEL'."
    )
    note: str | None = Field(None, description="Why an LLM's answer was not used, when one was asked.")


COMPONENT_WORDS = {
    "mlp": r"\bmlp\b|feed[- ]?forward|ffn|полносвязн\w*|\bмлп\b",
    "attention": r"attention|attn|внимани\w*",
    "embedding": r"embedding\w*|эмбеддинг\w*|вложени\w*",
    "lm_head": r"lm[_ ]head|output head|голов\w*",
    "norm": r"\bnorm\w*|нормализац\w*",
}
QUESTION_KINDS = [
    ("changed", r"chang\w*|differ\w*|modif\w*|измен\w*|отлича\w*|поменя\w*"),
    ("adapter", r"adapter|адаптер\w*|which base|какой баз\w*|для какой"),
    ("count", r"how many|сколько|number of|count"),
    (
        "contain",
        r"contain|inside|what is (?:in )?(?:this|it)|what's in|содерж\w*|внутри|что (?:это|в)\b|describe|опиши|расскажи",
    ),
]


def looks_like_question(text: str) -> bool:
    """A question about checkpoints rather than a goal to plan."""
    t = text.strip().lower()
    if not t:
        return False
    asks = t.endswith("?") or re.match(r"(what|which|how|is|does|did|why|что|какие|какой|сколько|это|ли)\b", t)
    return bool(asks) and not re.search(r"\b(then|потом|затем)\b", t)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def language_of(text: str) -> str:
    """'ru' when the question is written in Cyrillic, else 'en': answers come back in the question's language."""
    return "ru" if re.search(r"[а-яё]", text.lower()) else "en"


_WORDS = {
    "en": {
        "adapter": "{path} is a {kind} adapter (r={r}, alpha={alpha}) for {base}, targeting {targets}; "
        "it holds {params:,} parameters in {tensors} tensors.",
        "no_base": "an unnamed base",
        "no_targets": "unknown modules",
        "model": "{path} is a {arch} with {params:,} parameters",
        "a_model": "model",
        "layers": "{n} layers",
        "hidden": "hidden size {n}",
        "vocab": "vocabulary {n:,}",
        "by_component": " By component: ",
        "stored": " Stored as ",
        "dtype_params": "{d} ({n:,} params)",
        "made_by": " Graft made it with: ",
        "unreadable": " It carries a Graft provenance record that could not be read.",
    },
    "ru": {
        "adapter": "{path} — адаптер {kind} (r={r}, alpha={alpha}) для {base}, модули: {targets}; "
        "в нём {params:,} параметров в {tensors} тензорах.",
        "no_base": "неназванной базы",
        "no_targets": "неизвестны",
        "model": "{path} — {arch}, {params:,} параметров",
        "a_model": "модель",
        "layers": "слоёв: {n}",
        "hidden": "скрытый размер {n}",
        "vocab": "словарь {n:,}",
        "by_component": " По компонентам: ",
        "stored": " Хранится как ",
        "dtype_params": "{d} ({n:,} параметров)",
        "made_by": " Graft сделал её так: ",
        "unreadable": " В ней есть запись происхождения Graft, которую не удалось прочитать.",
    },
}


def _summary(info: Any, lang: str = "en") -> str:
    """What a checkpoint is, in the question's language: one template, two word lists."""
    w = _WORDS[lang]
    if info.kind == "adapter" and info.adapter:
        a = info.adapter
        return w["adapter"].format(
            path=info.path,
            kind="DoRA" if a.use_dora else a.peft_type or "PEFT",
            r=a.r,
            alpha=a.alpha,
            base=a.base_model or w["no_base"],
            targets=", ".join(a.target_modules) or w["no_targets"],
            params=info.total_params,
            tensors=info.num_tensors,
        )
    parts = [
        w["model"].format(
            path=info.path, arch=info.architecture or info.model_type or w["a_model"], params=info.total_params
        ),
        w["layers"].format(n=info.num_layers) if info.num_layers is not None else None,
        w["hidden"].format(n=info.hidden_size) if info.hidden_size else None,
        w["vocab"].format(n=info.vocab_size) if info.vocab_size else None,
    ]
    text = ", ".join(p for p in parts if p) + "."
    comps = sorted(((k, v) for k, v in info.components.items() if v), key=lambda kv: -kv[1])
    text += w["by_component"] + ", ".join(f"{k} {v:,} ({_pct(v, info.total_params)})" for k, v in comps) + "."
    text += w["stored"] + ", ".join(w["dtype_params"].format(d=d, n=n) for d, n in info.dtypes.items()) + "."
    if "graft.provenance" in info.metadata:
        try:
            record = json.loads(info.metadata["graft.provenance"])
            text += w["made_by"] + " → ".join(f"{s['id']} ({s['kind']})" for s in record.get("stages", [])) + "."
        except (ValueError, KeyError, TypeError):
            text += w["unreadable"]
    return text


def _stage_diff(run_dir: Path, stage: str) -> tuple[str, str] | None:
    """(before, after) model folders for a stage of a run, from the run's job files."""
    jobs = {p.name.removesuffix(".job.json"): json.loads(p.read_text()) for p in run_dir.glob("*.job.json")}
    names = [n for n in jobs if n == stage] or [n for n in jobs if n.startswith(stage) and not n.endswith("merged")]
    if not names:
        return None
    job = jobs[names[0]]
    kwargs = job.get("kwargs", {})
    output = kwargs.get("output")
    before = kwargs.get("model_path") or kwargs.get("base") or (kwargs.get("models") or [None])[0]
    if output and (Path(output) / "adapter_config.json").exists():
        for other in jobs.values():
            k = other.get("kwargs", {})
            if other.get("tool") == "merge_adapter" and output in (k.get("adapters") or []):
                return k["base"], k["output"]
        return None
    return (before, output) if before and output else None


def answer_offline(question: str, model: str | None, other: str | None = None, run_dir: str | None = None) -> Answer:
    """Answer from inspect/diff results with templates; raise GraftError when it cannot."""
    from tools.diff import DiffArgs, diff_checkpoints
    from tools.inspect import InspectArgs, inspect_checkpoint

    q = question.lower().replace("ё", "е")
    ru = language_of(question) == "ru"
    lora = answer_lora(question, model, other)
    if lora is not None:
        return lora
    kind = next((k for k, pattern in QUESTION_KINDS if re.search(pattern, q)), "contain")
    if kind == "changed":
        pair = None
        stage = re.search(r"\b(sft|dpo|orpo|simpo|kto|preference[\w-]*|merge[\w-]*|write|[a-z][\w-]*-merged)\b", q)
        if run_dir and stage:
            pair = _stage_diff(Path(run_dir), stage.group(1))
        if pair is None and model and other:
            pair = (model, other)
        if pair is None:
            raise GraftError(
                "to say what changed I need two checkpoints (/diff A B) or a finished run with that stage."
            )
        diff = diff_checkpoints(DiffArgs(a=pair[0], b=pair[1]))
        layers = sorted(diff.layers.items(), key=lambda kv: -kv[1].relative_change)
        top = [(i, g) for i, g in layers if g.changed_tensors][:3]
        comps = sorted(
            ((c, g) for c, g in diff.components.items() if g.changed_tensors), key=lambda kv: -kv[1].relative_change
        )
        if ru and diff.identical:
            text = f"Между {pair[0]} и {pair[1]} ничего не изменилось: все {diff.compared} тензоров совпадают."
        elif ru:
            text = (
                f"Изменились {len(diff.changed)} из {diff.compared} тензоров между {pair[0]} и {pair[1]}. "
                + (
                    "Сильнее всего: " + ", ".join(f"слой {i} ({g.relative_change:.3g} отн.)" for i, g in top) + ". "
                    if top
                    else ""
                )
                + (
                    "По компонентам: " + ", ".join(f"{c} {g.relative_change:.3g}" for c, g in comps) + "."
                    if comps
                    else ""
                )
            )
        elif diff.identical:
            text = f"Nothing changed between {pair[0]} and {pair[1]}: all {diff.compared} tensors are identical."
        else:
            text = (
                f"{len(diff.changed)} of {diff.compared} tensors changed between {pair[0]} and {pair[1]}. "
                + (
                    "Most changed layers: "
                    + ", ".join(f"layer {i} ({g.relative_change:.3g} relative)" for i, g in top)
                    + ". "
                    if top
                    else ""
                )
                + (
                    "By component: " + ", ".join(f"{c} {g.relative_change:.3g}" for c, g in comps) + "."
                    if comps
                    else ""
                )
            )
        return Answer(text=text.strip(), facts=[diff.model_dump(mode="json", exclude={"changed"})], shows="diff")
    if not model:
        raise GraftError("open a checkpoint first (/open PATH), then ask about it.")
    info = inspect_checkpoint(InspectArgs(path=model))
    facts = [info.model_dump(mode="json")]
    lang = "ru" if ru else "en"
    if kind == "adapter":
        if info.kind == "adapter" and info.adapter:
            return Answer(text=("Да. " if ru else "Yes. ") + _summary(info, lang), facts=facts, shows="checkpoint")
        no = f"Нет, {model} — полная модель, не адаптер. " if ru else f"No, {model} is a full model, not an adapter. "
        return Answer(text=no + _summary(info, lang), facts=facts, shows="checkpoint")
    if kind == "count":
        component = next((c for c, pattern in COMPONENT_WORDS.items() if re.search(pattern, q)), None)
        if component:
            n = info.components.get(component, 0)
            per_layer = [layer.get(component, 0) for layer in info.layers.values()]
            if ru:
                text = f"В {component} {n:,} параметров, {_pct(n, info.total_params)} из {info.total_params:,}"
                if per_layer and any(per_layer):
                    text += f" ({per_layer[0]:,} на слой, слоёв: {len(per_layer)})"
            else:
                text = f"The {component} holds {n:,} parameters, {_pct(n, info.total_params)} of {info.total_params:,}"
                if per_layer and any(per_layer):
                    text += f" ({per_layer[0]:,} per layer across {len(per_layer)} layers)"
            return Answer(text=text + ".", facts=facts, shows="checkpoint")
        if re.search(r"layer|сло", q):
            text = f"В {model} слоёв: {info.num_layers}." if ru else f"{model} has {info.num_layers} layers."
            return Answer(text=text, facts=facts, shows="checkpoint")
        text = (
            f"В {model} {info.total_params:,} параметров." if ru else f"{model} has {info.total_params:,} parameters."
        )
        return Answer(text=text, facts=facts, shows="checkpoint")
    return Answer(text=_summary(info, lang), facts=facts, shows="checkpoint")


def numbers_grounded(text: str, facts: list[str]) -> bool:
    """Every number in the text appears in some tool result (ignoring thousands separators)."""
    haystack = " ".join(facts).replace(",", "")
    for number in re.findall(r"\d[\d,]*\.?\d*", text):
        plain = number.replace(",", "").rstrip(".")
        if len(plain) > 1 and plain not in haystack:
            return False
    return True


def llm_answer_problem(text: str, finish_reason: str | None, results: list[str]) -> str | None:
    """Why an LLM answer may not be shown as fact, or None: it must be complete, cite a tool result, hold only their numbers."""
    if finish_reason == "length":
        return "the LLM's answer was cut off at its token limit"
    if not text.strip():
        return "the LLM gave no answer"
    if re.search(r"<tool_call>|propose_plan|```", text):
        return "the LLM's answer held tool-call text, not an answer"
    cited = {int(n) for n in re.findall(r"\[(\d{1,3})\]", text)}
    good = {i for i, r in enumerate(results, 1) if not r.startswith("error:")}
    if not cited & good:
        return "the LLM's answer cites no tool result"
    if not numbers_grounded(re.sub(r"\[\d{1,3}\]", " ", text), results):
        return "the LLM's answer states numbers that no tool result holds"
    return None


def answer_with_llm(
    question: str,
    model: str | None,
    settings: Any,
    other: str | None = None,
    run_dir: str | None = None,
    progress: Any = None,
    cancel: Any = None,
) -> Answer:
    """The LLM answers from Graft's own tool results (and read-only tool calls of its own).

    Graft answers from the files first; that answer's facts are the LLM's first tool result. The
    LLM's words are shown only when complete, citing a tool result and holding no number the
    results lack; otherwise the person gets the answer from the files, with the reason.
    """
    from agent.llm_planner import LLMUnavailable, llm_answer

    label = f"llm:{settings.model}"
    try:
        offline: Answer | None = answer_offline(question, model, other, run_dir)
        offline_error: GraftError | None = None
    except GraftError as exc:
        offline, offline_error = None, exc
    results = [json.dumps(f)[:12_000] for f in (offline.facts if offline else [])]
    context = f"Checkpoint: {model or 'none open'}" + (f"\nSecond checkpoint: {other}" if other else "")
    if run_dir:
        context += f"\nRun folder: {run_dir}"
    try:
        reply = llm_answer(question, context, results, settings, progress=progress, cancel=cancel)
        problem = llm_answer_problem(reply.content, reply.finish_reason, results)
    except LLMUnavailable as exc:
        problem = str(exc)
    except Exception as exc:  # a reply Graft could not handle still leaves the answer from the files
        problem = f"Graft could not use the LLM's reply ({type(exc).__name__}: {exc})"
    if problem is None:
        cited = sorted({int(n) for n in re.findall(r"\[(\d{1,3})\]", reply.content)})
        facts = [{"tool_result": results[i - 1][:2000], "cited_as": i} for i in cited if 0 < i <= len(results)]
        return Answer(text=reply.content.strip(), facts=facts, shows=offline.shows if offline else None, source=label)
    if offline is None:
        raise GraftError(f"{offline_error} (the LLM's answer was not used: {problem}.)")
    offline.note = problem
    offline.source = "offline"
    offline.text += f" (answered from the files; the LLM's answer was not used: {problem}.)"
    return offline


LORA_TOUCH = re.compile(
    r"which (?:modules|layers|blocks)|what (?:modules|layers)|\btouch\w*|\btarget\w*|\badapt(?:s|ed)\b"
    r"|затрагива\w*|затронет|какие (?:модули|слои)|на какие (?:модули|слои)"
)
LORA_CONFLICT = re.compile(
    r"conflict\w*|clash\w*|\bfight\w*|interfer\w*|compatib\w*|overlap\w*|cancel\w*|aligned"
    r"|конфликт\w*|пересека\w*|помеша\w*|мешат\w*|совместим\w*|подерутся"
)


def _adapter_paths(question: str, model: str | None, other: str | None) -> tuple[list[str], str | None]:
    """Adapters and a base model among the open checkpoints and any existing paths named in the question."""
    from tools.checkpoint import resolve_checkpoint

    named = [
        m.group(0).rstrip(".,?!)")
        for m in re.finditer(r"(?:\.{0,2}/|~/|/)?[\w.-]+(?:/[\w.-]+)+/?|\./[\w.-]+", question)
    ]
    adapters: list[str] = []
    base: str | None = None
    for path in dict.fromkeys([p for p in (model, other) if p] + [str(Path(n).expanduser()) for n in named]):
        if not Path(path).exists():
            continue
        try:
            ckpt = resolve_checkpoint(path)
        except GraftError:
            continue
        if ckpt.is_adapter:
            adapters.append(path)
        elif base is None:
            base = path
    return adapters, base


def answer_lora(question: str, model: str | None, other: str | None = None) -> Answer | None:
    """'Which modules does this adapter touch?', 'will these two adapters conflict?': from `check_lora`.

    None when the question is not about adapters' modules or conflicts (the other templates answer it).
    """
    from tools.lora_tools import CheckArgs, check_lora

    q = question.lower().replace("ё", "е")
    conflict, touch = LORA_CONFLICT.search(q), LORA_TOUCH.search(q)
    if not (conflict or touch) or not re.search(r"adapter|lora|dora|адаптер|лор", q):
        return None
    adapters, base = _adapter_paths(question, model, other)
    if conflict and len(adapters) < 2:
        raise GraftError(
            "to say whether adapters conflict I need two of them: open one and name the other's folder in the question."
        )
    if not adapters:
        return None
    result = check_lora(CheckArgs(adapter=adapters[0], base=base, others=adapters[1:] if conflict else []))
    facts = [result.model_dump(mode="json")]
    if conflict:
        parts = []
        for o in result.overlaps:
            parts.append(
                f"{o.a} and {o.b} share {len(o.shared)} module(s) ({o.only_a} only in the first, {o.only_b} only in "
                f"the second): {o.verdict}"
            )
        text = " ".join(parts)
    else:
        s = result.adapters[0]
        mods = ", ".join(f"{name} ×{count}" for name, count in s.module_names.items())
        layers = f" in layers {', '.join(map(str, s.layers))}" if s.layers else ""
        text = f"{s.path} adapts {len(s.modules)} module(s): {mods}{layers} (r={s.r}, alpha={s.alpha})."
        if s.whole_tensors:
            text += f" It also stores {len(s.whole_tensors)} tensor(s) whole: {', '.join(s.whole_tensors[:5])}."
    for fit in result.fits:
        text += f" It {'fits' if fit.fits else 'does not fit'} {base}" + (
            f": {fit.problems[0]}" if fit.problems else "."
        )
    return Answer(text=text, facts=facts, shows="checkpoint")
