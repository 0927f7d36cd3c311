"""Grounded answers about checkpoints and stages: every number comes from the files, inspect or diff.

Where things are: agent/intent.py decides whether a message is a question at all (by meaning);
agent/questions.py reads what a question asks (quantity, part, exclusions, and the words it could
not read); this module computes each answer from the checkpoint's tensor headers and config, in
the question's language, or refuses by name (NotUnderstood) — never another number. Adapter
modules and conflicts come from `check_lora`, "what changed" from `diff`. With an LLM
configured, the model answers through the same tools, and an answer whose numbers do not all
appear in the tool results is replaced by the offline answer.
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


class NotUnderstood(GraftError):
    """A question Graft could not answer from the files, naming the part it did not understand.

    `facts` holds the checkpoint's inspect result, so an LLM may still answer from it.
    """

    def __init__(self, message: str, facts: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.facts = facts or []


def looks_like_question(text: str) -> bool:
    """A question about checkpoints rather than a goal to plan (decided by meaning: agent/intent.py)."""
    from agent.intent import route_message

    return route_message(text) == "question"


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


def _stage_diff(run_dir: Path, stage: str) -> tuple[str, str] | tuple[str, str, list[str]] | None:
    """(before, after) model folders for a stage of a run, from the run's job files; for a stage whose output is
    an adapter, (model it trained on, adapter, adapters folded into that model first): its own change, measured
    from the adapter (the fold at the write holds every adapter of the run together)."""
    jobs = {p.name.removesuffix(".job.json"): json.loads(p.read_text()) for p in run_dir.glob("*.job.json")}
    names = [n for n in jobs if n == stage] or [n for n in jobs if n.startswith(stage) and not n.endswith("merged")]
    if not names:
        return None
    job = jobs[names[0]]
    kwargs = job.get("kwargs", {})
    output = kwargs.get("output")
    before = kwargs.get("model_path") or kwargs.get("base") or (kwargs.get("models") or [None])[0]
    if output and (Path(output) / "adapter_config.json").exists():
        return (before, output, list(kwargs.get("prior_adapters") or [])) if before else None
    return (before, output) if before and output else None


def _run_result(run_dir: Path) -> tuple[str, str] | None:
    """(base, written model) of a run whose final write finished, from its write job."""
    for job_file in sorted(run_dir.glob("*.job.json")):
        job = json.loads(job_file.read_text())
        kwargs = job.get("kwargs", {})
        output, base = kwargs.get("output"), kwargs.get("base_model")
        if job.get("tool") == "write" and output and base and Path(output).exists():
            return base, output
    return None


def _answer_changed(q: str, ru: bool, model: str | None, other: str | None, run_dir: str | None) -> Answer:
    """What a stage (or a second checkpoint) changed, from `diff`."""
    from tools.diff import DiffArgs, diff_adapter, diff_checkpoints

    pair = None
    stage = re.search(r"\b(sft|dpo|orpo|simpo|kto|preference[\w-]*|merge[\w-]*|write|[a-z][\w-]*-merged)\b", q)
    if run_dir and stage:
        pair = _stage_diff(Path(run_dir), stage.group(1))
    if pair is None and model and other:
        pair = (model, other)
    if pair is None and run_dir and not stage:  # "what changed?" after a run: the written model against its base
        pair = _run_result(Path(run_dir))
    if pair is None:
        raise GraftError("to say what changed I need two checkpoints (/diff A B) or a finished run with that stage.")
    if len(pair) == 3:  # an adapter stage: what its adapter changes in the model it trained on
        diff = diff_adapter(pair[0], pair[1], pair[2])
        pair = (pair[0], pair[1])
    else:
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
            + ("По компонентам: " + ", ".join(f"{c} {g.relative_change:.3g}" for c, g in comps) + "." if comps else "")
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
            + ("By component: " + ", ".join(f"{c} {g.relative_change:.3g}" for c, g in comps) + "." if comps else "")
        )
    return Answer(text=text.strip(), facts=[diff.model_dump(mode="json", exclude={"changed"})], shows="diff")


def answer_offline(question: str, model: str | None, other: str | None = None, run_dir: str | None = None) -> Answer:
    """Answer from the files (inspect facts and tensor headers); raise GraftError when it cannot.

    The question is parsed into quantities, parts and exclusions (agent/questions.py); each is
    computed from the checkpoint's own tensors and config. A part it did not understand is named
    in a NotUnderstood error rather than answered with some other number.
    """
    from agent.questions import normalize, parse
    from tools.inspect import InspectArgs, inspect_checkpoint

    q = normalize(question)
    ru = language_of(question) == "ru"
    lang = "ru" if ru else "en"
    lora = answer_lora(question, model, other)
    if lora is not None:
        return lora
    # A checkpoint named by its path is the one asked about; the path itself is no word to understand.
    paths = _named_paths(question)
    for path in paths:
        question = question.replace(path, " ")
    asks = parse(question)
    if any(a.quantity == "changed" for a in asks):
        return _answer_changed(q, ru, model, other, run_dir)
    existing = [p for p in paths if Path(p).expanduser().exists()]
    missing = [p for p in paths if p not in existing]
    if missing:
        raise GraftError(f"{missing[0]} не существует." if ru else f"{missing[0]} does not exist.")
    if existing:
        if len(set(existing)) > 1:
            raise GraftError(
                "в вопросе названо несколько чекпойнтов; спросите о каждом отдельно."
                if ru
                else "the question names several checkpoints; ask about one at a time."
            )
        model = str(Path(existing[0]).expanduser())
    if not model:
        raise GraftError(
            "сначала откройте чекпойнт (/open ПУТЬ), потом спрашивайте о нём."
            if ru
            else "open a checkpoint first (/open PATH), then ask about it."
        )
    info = inspect_checkpoint(InspectArgs(path=model))
    facts = [info.model_dump(mode="json")]
    book = _Book(model, info)
    asks = parse(question, info.num_layers, book.module_names)
    sentences: list[str] = []
    failures: list[str] = []
    for ask in asks:
        try:
            sentences.append(_answer_one(ask, book, lang))
        except NotUnderstood as exc:
            failures.append(str(exc))
    if failures and not sentences:
        raise NotUnderstood(" ".join(failures), facts)
    text = " ".join(sentences + failures)
    if existing:  # asked about a checkpoint by its path: say which one the numbers are of
        text = f"{model}: {text}"
    return Answer(text=text, facts=facts, shows="checkpoint")


def _named_paths(question: str) -> list[str]:
    """Paths in a question: written as paths (/…, ./…, ../…, ~/…) or existing on disk ("out/merged")."""
    found = []
    for m in re.finditer(r"(?:\.{1,2}/|~/|/)?[\w.-]+(?:/[\w.-]+)+/?|(?:\.{1,2}|~)/[\w.-]+/?", question):
        text = m.group(0).rstrip(".,?!)")
        if text.startswith(("/", "./", "../", "~/")) or Path(text).expanduser().exists():
            found.append(text)
    return found


_LABELS = {
    "en": {
        "attention": "the attention",
        "mlp": "the mlp",
        "embedding": "the embedding",
        "lm_head": "the lm_head",
        "norm": "the norm",
        "other": "other tensors",
    },
    "ru": {  # (where: "в …", of: "… чего")
        "attention": ("во внимании (attention)", "внимания (attention)"),
        "mlp": ("в MLP", "MLP"),
        "embedding": ("в эмбеддингах", "эмбеддингов"),
        "lm_head": ("в lm_head", "lm_head"),
        "norm": ("в нормализациях (norm)", "нормализаций (norm)"),
        "other": ("в прочих тензорах", "прочих тензоров"),
    },
}
_UNITS = {
    "en": {"parameters": "parameters", "tensors": "tensors", "bytes": "bytes"},
    "ru": {"parameters": "параметров", "tensors": "тензоров", "bytes": "байт"},
}


class _Book:
    """The checkpoint's tensors (name, component, layer, module, dtype, shape) and config, read once."""

    def __init__(self, path: str, info: Any) -> None:
        from tools.checkpoint import load_headers, resolve_checkpoint
        from tools.naming import describe
        from tools.safetensors_header import DTYPE_SIZES

        self.path, self.info = path, info
        ckpt = resolve_checkpoint(path)
        config = ckpt.config or {}
        self.config = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
        self.rows: list[tuple[str, str, int | None, str, str, tuple[int, ...], int, int]] | None = None
        self.why_no_rows: str | None = None
        if ckpt.format == "safetensors":
            self.rows = []
            for header in load_headers(ckpt):
                for t in header.tensors.values():
                    component, layer, module = describe(t.name)
                    nbytes = t.numel * DTYPE_SIZES.get(t.dtype, 0)
                    self.rows.append((t.name, component, layer, module, t.dtype, tuple(t.shape), t.numel, nbytes))
        else:
            self.why_no_rows = f"{path} is a pickle checkpoint; run `graft convert {path} OUT` to read its tensors."
        self.module_names = {r[3]: r[1] for r in self.rows or []}

    def cfg(self, *keys: str) -> Any:
        return next((self.config[k] for k in keys if self.config.get(k) is not None), None)

    def config_keys(self, words: str) -> dict[str, Any]:
        """config.json entries whose names hold every word asked ('rope theta' → rope_theta); scalars only."""
        aliases = {"activation": "act", "epsilon": "eps", "positions": "position", "tokens": "token"}
        skip = ("the", "a", "an", "of", "its", "model", "function", "value", "number", "setting", "used", "this")
        wanted = [aliases.get(w, w) for w in re.findall(r"[a-z0-9]+", words.lower()) if w not in skip]
        if not wanted:
            return {}
        flat: dict[str, Any] = {}
        for key, value in self.config.items():  # one level of nesting (transformers 5: rope_parameters.rope_theta)
            if isinstance(value, dict):
                flat.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                flat[key] = value
        found = {}
        for key, value in flat.items():
            parts = key.lower().rsplit(".", 1)[-1].split("_")
            if all(any(p.startswith(w.rstrip("s")) for p in parts) for w in wanted):
                if isinstance(value, int | float | str | bool) or value is None:
                    found[key] = value
        return found

    def need_rows(self) -> list[tuple[str, str, int | None, str, str, tuple[int, ...], int, int]]:
        if self.rows is None:
            raise NotUnderstood(self.why_no_rows or "the tensors of this checkpoint cannot be read.")
        return self.rows


def _matches(row: tuple, target: Any) -> bool:
    _, component, layer, module, *_ = row
    if target.component is not None and component != target.component:
        return False
    if target.module is not None and module.lower() != target.module.lower():
        return False
    if target.layers is not None and layer not in target.layers:
        return False
    if target.per_layer and layer is None:
        return False
    if getattr(target, "outside", False) and layer is not None:
        return False
    return True


def _span(layers: list[int]) -> str:
    if len(layers) > 1 and layers == list(range(layers[0], layers[-1] + 1)):
        return f"{layers[0]}–{layers[-1]}"
    return ", ".join(map(str, layers))


def _where(target: Any, lang: str, book: _Book) -> str:
    """The part of the model, as a phrase: 'layer 1 (model.layers.1)', 'во внимании слоя 2'."""
    layers = target.layers
    prefix = ""
    if layers is not None and book.rows:
        container = next((r[0] for r in book.rows if r[2] == layers[0]), "")
        cut = container.find(f".{layers[0]}.")
        prefix = container[: cut + 1] if cut >= 0 else ""
    if lang == "ru":
        if layers is None:
            of_layers = ""
        elif len(layers) == 1:
            of_layers = f" слоя {layers[0]}" + (f" ({prefix}{layers[0]})" if prefix else "")
        else:
            of_layers = f" слоёв {_span(layers)}"
        if target.module:
            return f"в {target.module}{of_layers}"
        if target.component == "norm" and getattr(target, "outside", False):
            return "в финальной нормализации (norm)"
        if target.component:
            return _LABELS["ru"][target.component][0] + of_layers
        if layers is None:
            return "в модели"
        return ("в слое" if len(layers) == 1 else "в слоях") + of_layers.replace(" слоя", "").replace(" слоёв", "")
    if layers is None:
        of_layers = ""
    elif len(layers) == 1:
        of_layers = f" of layer {layers[0]}" + (f" ({prefix}{layers[0]})" if prefix else "")
    else:
        of_layers = f" of layers {_span(layers)}"
    if target.module:
        return f"{target.module}{of_layers}"
    if target.component == "norm" and getattr(target, "outside", False):
        return "the final norm"
    if target.component:
        return _LABELS["en"][target.component] + of_layers
    if layers is None:
        return "the model"
    return of_layers.replace(" of ", "", 1)


def _excluded_words(targets: list[Any], lang: str, book: _Book) -> str:
    words = []
    for t in targets:
        if lang == "ru":
            if t.component == "norm" and getattr(t, "outside", False):
                words.append("финальной нормализации (norm)")
            elif t.component and t.layers is None:
                words.append(_LABELS["ru"][t.component][1])
            else:
                words.append(_where(t, "ru", book).removeprefix("во ").removeprefix("в "))
        else:
            words.append(_where(t, "en", book))
    joiner = " и " if lang == "ru" else " and "
    return joiner.join(words)


def _measure(ask: Any, book: _Book, lang: str, quantity: str) -> str:
    """Parameters, tensors or bytes of the asked part(s), less the excluded ones, in one sentence each."""
    rows = book.need_rows()
    ru = lang == "ru"
    unit = _UNITS[lang][quantity]
    col = {"parameters": 6, "bytes": 7}.get(quantity)

    def value(selected: list[tuple]) -> int:
        return len(selected) if col is None else sum(r[col] for r in selected)

    excluded = [r for r in rows if any(_matches(r, t) for t in ask.exclude)]
    out = []
    for target in ask.targets or [None]:
        chosen = rows if target is None else [r for r in rows if _matches(r, target)]
        if target is not None and not chosen:
            what = _where(target, lang, book)
            raise NotUnderstood(
                f"в этом чекпойнте нет тензоров {what.removeprefix('в ')}."
                if ru
                else f"this checkpoint holds no tensors in {what}."
            )
        kept = [r for r in chosen if r not in excluded]
        gone = [r for r in chosen if r in excluded]
        if target is not None and target.per_layer:
            by_layer: dict[int, int] = {}
            for r in kept:
                by_layer[r[2]] = by_layer.get(r[2], 0) + (1 if col is None else r[col])
            part = (
                ""
                if target.component is None and target.module is None
                else " " + _where(type(target)(component=target.component, module=target.module), lang, book)
            )
            values = sorted(set(by_layer.values()))
            if len(values) == 1:
                n = values[0]
                text = (
                    f"В каждом из {len(by_layer)} слоёв{part} {n:,} {unit} (всего в слоях {n * len(by_layer):,})"
                    if ru
                    else f"Each of the {len(by_layer)} layers holds {n:,} {unit}{part} ({n * len(by_layer):,} in all layers)"
                )
            else:
                listed = ", ".join(f"{i}: {v:,}" for i, v in sorted(by_layer.items()))
                text = (
                    f"{unit.capitalize()} по слоям{part}: {listed}"
                    if ru
                    else f"{unit.capitalize()}{part} per layer: {listed}"
                )
            out.append(text + ".")
            continue
        where = "в модели" if target is None and ru else ("the model" if target is None else _where(target, lang, book))
        n = value(kept)
        head = where if target is not None and target.module else f"{where[0].upper()}{where[1:]}"
        if ru:
            text = f"{head} {n:,} {unit}"
        else:
            plural = target is not None and not target.component and not target.module and len(target.layers or []) > 1
            text = f"{head} {'hold' if plural else 'holds'} {n:,} {unit}"
        if ask.exclude:
            words = _excluded_words(ask.exclude, lang, book)
            if gone:
                text += (
                    f" без учёта {words}: всего {value(chosen):,}, минус {value(gone):,}"
                    if ru
                    else f" excluding {words}: {value(chosen):,} in all, minus {value(gone):,}"
                )
            else:
                text += (
                    f" ({words} здесь нет, вычитать нечего)" if ru else f" ({words}: none in it, nothing to leave out)"
                )
        elif target is not None and target.component and target.layers is None and quantity == "parameters":
            per = [sum(r[6] for r in kept if r[2] == i) for i in sorted({r[2] for r in kept if r[2] is not None})]
            whole = value(rows)
            text += f", {_pct(n, whole)} из {whole:,}" if ru else f", {_pct(n, whole)} of {whole:,}"
            if per and len(set(per)) == 1:
                text += (
                    f" ({per[0]:,} на слой, слоёв: {len(per)})"
                    if ru
                    else f" ({per[0]:,} per layer across {len(per)} layers)"
                )
        if quantity == "bytes":
            mib = n / 2**20
            text += f" ({mib:.2f} МиБ тензорных данных)" if ru else f" ({mib:.2f} MiB of tensor data)"
            if target is None and not ask.exclude:
                files = sum(s.bytes for s in book.info.shards)
                text += (
                    f"; файлы весов — {files:,} байт с заголовками"
                    if ru
                    else f"; the weight files are {files:,} bytes with headers"
                )
        out.append(text + ".")
    if len(ask.targets) > 1 and not any(t.per_layer for t in ask.targets):
        union = [r for r in rows if any(_matches(r, t) for t in ask.targets) and r not in excluded]
        out.append(f"Вместе: {value(union):,} {unit}." if ru else f"Together: {value(union):,} {unit}.")
    return " ".join(out)


def _yes_no(yes: bool, lang: str) -> str:
    return ("Да" if yes else "Нет") if lang == "ru" else ("Yes" if yes else "No")


def _answer_one(ask: Any, book: _Book, lang: str) -> str:
    """One asked thing, from the files, in the question's language."""
    ru = lang == "ru"
    info = book.info
    if ask.quantity is None and ask.asked_for and ask.unknown == [ask.asked_for]:
        entries = book.config_keys(ask.asked_for)
        if entries:
            listed = ", ".join(f"{k} = {json.dumps(v)}" for k, v in entries.items())
            return f"В config.json: {listed}." if ru else f"config.json says {listed}."
    if ask.unknown:
        names = ", ".join(f"«{w}»" if ru else f"'{w}'" for w in ask.unknown)
        if ask.quantity is None and ask.unknown == [ask.said]:
            raise NotUnderstood(
                f"Не понял, что сообщить в «{ask.said}»: ни одной величины, которую я умею читать из файлов "
                "(параметры, тензоры, байты, dtype, формы, слои, головы, размеры, связанность эмбеддингов, архитектура)."
                if ru
                else f"I did not understand what to report in '{ask.said}': it names none of the things I can read "
                "from the files (parameters, tensors, bytes, dtype, shapes, layers, heads, sizes, tied embeddings, "
                "architecture)."
            )
        if ask.quantity is None:
            raise NotUnderstood(
                f"Не понял, что сообщить в «{ask.said}»: {names} — этого нет в файлах чекпойнта "
                "(могу сказать: параметры, тензоры, байты, dtype, формы тензоров, слои, головы, размеры, связанность "
                "эмбеддингов, архитектуру)."
                if ru
                else f"I did not understand what to report in '{ask.said}': {names} is in neither the checkpoint's "
                "tensors nor its config.json (I can tell parameters, tensors, bytes, dtype, tensor shapes, layers, heads, hidden/"
                "intermediate/vocab size, tied embeddings, architecture)."
            )
        parts = ", ".join(["attention", "mlp", "embedding", "norm", "lm_head", *sorted(book.module_names)[:12]])
        raise NotUnderstood(
            f"Не понял {names} в «{ask.said}»: это не та часть чекпойнта, о которой я могу это сказать (части: {parts}; слои "
            f"0–{(info.num_layers or 1) - 1})."
            if ru
            else f"I did not understand {names} in '{ask.said}': it is no part of this checkpoint I can answer that for (its parts: "
            f"{parts}; layers 0–{(info.num_layers or 1) - 1})."
        )
    n_layers = info.num_layers
    for t in [*ask.targets, *ask.exclude]:
        bad = [i for i in t.layers or [] if i < 0 or (n_layers is not None and i >= n_layers)]
        if bad:
            said = t.said or ", ".join(map(str, bad))
            raise NotUnderstood(
                f"«{said}»: слоя {bad[0]} нет — в модели {n_layers} слоёв, номера 0–{(n_layers or 1) - 1}."
                if ru
                else f"'{said}': there is no layer {bad[0]} — the model has {n_layers} layers, numbered 0–{(n_layers or 1) - 1}."
            )
    if ask.problems:
        raise NotUnderstood("; ".join(ask.problems) + ".")
    q = ask.quantity or ("parameters" if ask.targets else "summary")
    if q in ("parameters", "tensors", "bytes"):
        return _measure(ask, book, lang, q)
    if q == "breakdown":
        rows = [r for r in book.need_rows() if not ask.targets or any(_matches(r, t) for t in ask.targets)]
        by: dict[str, int] = {}
        for r in rows:
            by[r[1]] = by.get(r[1], 0) + r[6]
        whole = sum(by.values())
        listed = ", ".join(f"{c} {n:,} ({_pct(n, whole)})" for c, n in sorted(by.items(), key=lambda kv: -kv[1]) if n)
        where = _where(ask.targets[0], lang, book) if len(ask.targets) == 1 else ("в модели" if ru else "the model")
        return (
            f"По компонентам {where.removeprefix('в ')}: {listed}; всего {whole:,} параметров."
            if ru
            else f"By component, {where}: {listed}; {whole:,} parameters in all."
        )
    if q == "how_big":
        return _measure(ask, book, lang, "parameters") + " " + _measure(ask, book, lang, "bytes")
    if q == "dtype":
        rows = [r for r in book.need_rows() if not ask.targets or any(_matches(r, t) for t in ask.targets)]
        counts: dict[str, int] = {}
        for r in rows:
            counts[r[4]] = counts.get(r[4], 0) + r[6]
        from tools.safetensors_header import DTYPE_NAMES

        listed = ", ".join(
            f"{DTYPE_NAMES.get(d, d)} ({d}): {n:,}" for d, n in sorted(counts.items(), key=lambda kv: -kv[1])
        )
        return f"Веса хранятся как {listed} параметров." if ru else f"The weights are stored as {listed} parameters."
    if q == "shape":
        rows = [r for r in book.need_rows() if not ask.targets or any(_matches(r, t) for t in ask.targets)]
        shown = "; ".join(f"{r[0]}: {list(r[5])}" for r in rows[:8])
        more = len(rows) - 8
        if more > 0:
            shown += f" … ещё {more}" if ru else f" … and {more} more"
        return ("Формы тензоров: " if ru else "Tensor shapes: ") + shown + "."
    if q == "layers":
        if n_layers is None:
            raise NotUnderstood("в файлах нет числа слоёв." if ru else "the files do not say how many layers it has.")
        return (
            f"Слоёв (блоков трансформера): {n_layers}, номера 0–{n_layers - 1}."
            if ru
            else f"{book.path} has {n_layers} layers (transformer blocks), numbered 0–{n_layers - 1}."
        )
    if q in ("heads", "kv_heads", "head_dim"):
        heads = book.cfg("num_attention_heads", "n_head", "num_heads")
        if heads is None:
            raise NotUnderstood(
                "config.json не называет число голов." if ru else "config.json does not give the number of heads."
            )
        kv = book.cfg("num_key_value_heads", "num_kv_heads")
        head_dim = book.cfg("head_dim") or (info.hidden_size // heads if info.hidden_size else None)
        if q == "heads":
            return (
                f"Голов внимания: {heads} в каждом слое (размер головы {head_dim})."
                if ru
                else f"It has {heads} attention heads in each layer (head size {head_dim})."
            )
        if q == "head_dim":
            return f"Размер головы: {head_dim}." if ru else f"The head size is {head_dim}."
        if kv is None or kv == heads:
            return (
                f"Ключей/значений столько же, сколько голов: {heads} (без GQA)."
                if ru
                else f"It has {heads} key/value heads, one per query head (no grouped-query attention)."
            )
        return (
            f"KV-голов: {kv} (grouped-query attention: {heads} голов запросов, по {heads // kv} на KV-голову)."
            if ru
            else f"It has {kv} key/value heads (grouped-query attention: {heads} query heads, {heads // kv} per KV head)."
        )
    simple = {
        "hidden_size": (info.hidden_size, "Скрытый размер (hidden size): {v}.", "The hidden size is {v}."),
        "vocab_size": (info.vocab_size, "Размер словаря: {v:,} токенов.", "The vocabulary has {v:,} tokens."),
        "intermediate_size": (
            book.cfg("intermediate_size", "n_inner", "ffn_dim"),
            "Промежуточный размер MLP (intermediate size): {v}.",
            "The MLP's intermediate size is {v}.",
        ),
        "context": (
            book.cfg("max_position_embeddings", "n_positions", "max_seq_len"),
            "Максимальная длина контекста (max_position_embeddings): {v:,}.",
            "The maximum context length (max_position_embeddings) is {v:,}.",
        ),
    }
    if q in simple:
        v, ru_text, en_text = simple[q]
        if v is None:
            raise NotUnderstood(
                f"в config.json нет значения для «{ask.said}»."
                if ru
                else f"config.json gives no value for '{ask.said}'."
            )
        return (ru_text if ru else en_text).format(v=v)
    if q == "tied":
        tied = info.tied_embeddings
        if tied is None:
            raise NotUnderstood(
                "по файлам не видно, связаны ли эмбеддинги (это адаптер или в нём нет эмбеддингов)."
                if ru
                else "the files do not show whether the embeddings are tied (an adapter, or no embedding stored)."
            )
        if tied:
            return (
                "Да: lm_head связан с входными эмбеддингами (tie_word_embeddings) и хранится один раз."
                if ru
                else "Yes: lm_head is tied to the input embeddings (tie_word_embeddings); the matrix is stored once."
            )
        head = info.components.get("lm_head", 0)
        return (
            f"Нет: у lm_head свои веса ({head:,} параметров), эмбеддинги не связаны."
            if ru
            else f"No: lm_head has its own weights ({head:,} parameters); the embeddings are not tied."
        )
    if q in ("lora_rank", "lora_alpha"):
        adapter = info.adapter if info.kind == "adapter" else None
        if adapter is None:
            raise NotUnderstood(
                f"{book.path} — полная модель, не адаптер: у неё нет ранга и альфы LoRA."
                if ru
                else f"{book.path} is a full model, not an adapter: it has no LoRA rank or alpha."
            )
        value = adapter.r if q == "lora_rank" else adapter.alpha
        name = "r" if q == "lora_rank" else "lora_alpha"
        if value is None:
            raise NotUnderstood(
                f"adapter_config.json не задаёт {name}." if ru else f"adapter_config.json sets no {name}."
            )
        kind = "DoRA" if adapter.use_dora else adapter.peft_type or "PEFT"
        return (
            f"В adapter_config.json: {name} = {value:g} ({kind}, r={adapter.r}, alpha={adapter.alpha:g})."
            if ru
            else f"adapter_config.json says {name} = {value:g} ({kind}, r={adapter.r}, alpha={adapter.alpha:g})."
        )
    if q == "architecture":
        arch = info.architecture or info.model_type
        if not arch:
            raise NotUnderstood("в config.json нет архитектуры." if ru else "config.json names no architecture.")
        return (
            f"Это {arch} (model_type {info.model_type})." if ru else f"It is a {arch} (model_type {info.model_type})."
        )
    if q == "tokenizer":
        return (
            f"{_yes_no(info.has_tokenizer, lang)}: токенизатор {'есть' if info.has_tokenizer else 'не найден'} рядом с весами."
            if ru
            else f"{_yes_no(info.has_tokenizer, lang)}: a tokenizer is {'' if info.has_tokenizer else 'not '}saved beside the weights."
        )
    if q == "chat_template":
        yes = info.has_chat_template
        return (
            f"{_yes_no(yes, lang)}: шаблон чата {'есть' if yes else 'не найден'}."
            if ru
            else f"{_yes_no(yes, lang)}: the tokenizer {'carries a' if yes else 'carries no'} chat template."
        )
    if q == "modules":
        comps = [t.component for t in ask.targets if t.component] or list(info.modules)
        listed = "; ".join(f"{c}: {', '.join(info.modules.get(c, []))}" for c in comps if info.modules.get(c))
        return ("Модули по компонентам: " if ru else "Modules by component: ") + listed + "."
    if q == "adapter":
        if info.kind == "adapter" and info.adapter:
            return ("Да. " if ru else "Yes. ") + _summary(info, lang)
        no = (
            f"Нет, {book.path} — полная модель, не адаптер. "
            if ru
            else f"No, {book.path} is a full model, not an adapter. "
        )
        return no + _summary(info, lang)
    return _summary(info, lang)


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
    # A question the templates did not understand still gives the LLM the checkpoint's facts to cite.
    given = offline.facts if offline else getattr(offline_error, "facts", [])
    results = [json.dumps(f)[:12_000] for f in given]
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
