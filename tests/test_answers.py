"""Questions about a checkpoint: routed by meaning, parsed into part/quantity/exclusions, answered from the files.

The table (tests/phrasing/questions.yaml) stores each expected answer as a description; the
expected value is computed here from the tiny model's own safetensors shapes and config.json
(read with `safetensors`, not through tools/inspect), so a test fails when Graft answers with
another number. Scores: `.venv/bin/python -m pytest -q -s tests/test_answers.py -k table`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from agent.answers import answer_offline
from agent.intent import classify, route_message
from tools.errors import GraftError

HERE = Path(__file__).parent / "phrasing"
TABLE = yaml.safe_load((HERE / "questions.yaml").read_text(encoding="utf-8"))
ITEMSIZE = {"BF16": 2, "F16": 2, "F32": 4, "F64": 8}
DTYPES = {"BF16": "bfloat16", "F16": "float16", "F32": "float32"}


@pytest.fixture(scope="module")
def models(tiny) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"llama": str(tiny("llama", num_layers=4, dtype="bfloat16")), "gpt2": str(tiny("gpt2"))}


class Truth:
    """The checkpoint as the test reads it: every tensor's shape and dtype, and config.json."""

    def __init__(self, folder: str) -> None:
        from safetensors import safe_open

        self.tensors: dict[str, tuple[tuple[int, ...], str]] = {}
        for f in sorted(Path(folder).glob("*.safetensors")):
            with safe_open(str(f), "pt") as st:
                for k in st.keys():
                    s = st.get_slice(k)
                    self.tensors[k] = (tuple(s.get_shape()), s.get_dtype())
        config = Path(folder) / "config.json"
        self.config = json.loads(config.read_text()) if config.is_file() else {}  # an adapter has none

    def cfg(self, *keys: str) -> int:
        return next(self.config[k] for k in keys if self.config.get(k) is not None)

    @staticmethod
    def component(name: str) -> str:
        if "embed_tokens" in name or ".wte." in name or ".wpe." in name:
            return "embedding"
        if name.startswith("lm_head"):
            return "lm_head"
        if "norm" in name or ".ln_" in name:
            return "norm"
        if ".self_attn." in name or ".attn." in name:
            return "attention"
        if ".mlp." in name:
            return "mlp"
        return "other"

    @staticmethod
    def layer(name: str) -> int | None:
        m = re.search(r"\.(?:layers|h)\.(\d+)\.", name)
        return int(m.group(1)) if m else None

    def selected(self, target: str) -> list[str]:
        names = list(self.tensors)
        if target == "model":
            return names
        m = re.fullmatch(r"(\w+) in layer (\d+)", target)
        if m:
            part, i = m.group(1), int(m.group(2))
            return [n for n in names if self.layer(n) == i and (self.component(n) == part or f".{part}." in n)]
        m = re.fullmatch(r"layers? (\d+)(?:-(\d+))?", target)
        if m:
            a, b = int(m.group(1)), int(m.group(2) or m.group(1))
            return [n for n in names if self.layer(n) is not None and a <= self.layer(n) <= b]
        if target == "final_norm":  # the norm after the last block, not the blocks' own norms
            return [n for n in names if self.component(n) == "norm" and self.layer(n) is None]
        if target in ("attention", "mlp", "embedding", "lm_head", "norm"):
            return [n for n in names if self.component(n) == target]
        return [n for n in names if f".{target}." in n or n.startswith(f"{target}.")]  # a module, every layer

    def numel(self, name: str) -> int:
        n = 1
        for d in self.tensors[name][0]:
            n *= d
        return n

    def expected(self, e: dict) -> list[str]:
        """Strings one of which the answer must hold (numbers as the answer writes them)."""
        q, target = e["quantity"], e.get("target", "model")
        exclude = e.get("exclude", [])
        if q in ("parameters", "tensors", "bytes"):

            def value(names: list[str]) -> int:
                if q == "tensors":
                    return len(names)
                if q == "bytes":
                    return sum(self.numel(n) * ITEMSIZE[self.tensors[n][1]] for n in names)
                return sum(self.numel(n) for n in names)

            if target == "per layer":
                per = {}
                for n in self.tensors:
                    if self.layer(n) is not None:
                        per.setdefault(self.layer(n), []).append(n)
                values = {value(v) for v in per.values()}
                assert len(values) == 1  # the tiny model's layers are alike
                return [f"{values.pop():,}"]
            gone = {n for x in exclude for n in self.selected(x)}
            return [f"{value([n for n in self.selected(target) if n not in gone]):,}"]
        if q == "dtype":
            return [DTYPES[d] for d in {dt for _, dt in self.tensors.values()}]
        if q == "shape":
            (name,) = self.selected(target)
            return [str(list(self.tensors[name][0]))]
        if q == "tied":
            tied = "lm_head.weight" not in self.tensors and self.config.get("tie_word_embeddings", True)
            return ["^Yes", "^Да"] if tied else ["^No", "^Нет"]
        if q == "architecture":
            return [self.config["architectures"][0]]
        keys = {
            "layers": ("num_hidden_layers", "n_layer"),
            "heads": ("num_attention_heads", "n_head"),
            "kv_heads": ("num_key_value_heads",),
            "hidden_size": ("hidden_size", "n_embd"),
            "vocab_size": ("vocab_size",),
            "intermediate_size": ("intermediate_size", "n_inner"),
            "context": ("max_position_embeddings", "n_positions"),
            "head_dim": ("head_dim",),
        }[q]
        return [f"{self.cfg(*keys):,}"]


def holds(text: str, wanted: str) -> bool:
    if wanted.startswith("^"):
        return text.startswith(wanted[1:])
    return re.search(rf"(?<![\d.])(?<!\d,){re.escape(wanted)}(?!,?\d)(?!\.\d)", text) is not None


def in_language(text: str, ru: bool) -> bool:
    text = re.sub(r"\S*[._/]\S*", " ", text)  # tensor names and paths are neither language
    if ru:
        return re.search(r"[а-яё]", text.lower()) is not None and not re.search(
            r"\b(?:parameters|layers|heads|holds|tensors|The)\b", text
        )
    return re.search(r"[а-яё]", text.lower()) is None


def judge(case: dict, models: dict[str, str], truths: dict[str, Truth]) -> tuple[str, str]:
    """('right' | 'refused' | 'wrong', the answer or refusal text) for one table row."""
    model = models[case.get("model", "llama")]
    truth = truths[case.get("model", "llama")]
    ru = re.search(r"[а-яё]", case["q"].lower()) is not None
    expect = case["expect"]
    if route_message(case["q"]) != "question":
        return "wrong", f"routed to {route_message(case['q'])}"
    try:
        text = answer_offline(case["q"], model).text
    except GraftError as exc:
        said = str(exc)
        if isinstance(expect, dict) and "refuse" in expect:
            named = expect["refuse"].lower() in said.lower()
            return ("right" if named and in_language(said, ru) else "wrong"), said
        return "refused", said
    if isinstance(expect, dict) and "refuse" in expect:
        return "wrong", text
    items = expect if isinstance(expect, list) else [expect]
    ok = all(any(holds(text, w) for w in truth.expected(e)) for e in items) and in_language(text, ru)
    return ("right" if ok else "wrong"), text


def score(heldout: bool, models: dict[str, str], batch: int = 1) -> tuple[int, int, list[str], list[str]]:
    truths = {k: Truth(v) for k, v in models.items()}
    cases = [
        c
        for c in TABLE["questions"]
        if bool(c.get("heldout")) == heldout and (not heldout or c.get("batch", 1) == batch)
    ]
    right, wrong, refused = 0, [], []
    for case in cases:
        verdict, text = judge(case, models, truths)
        if verdict == "right":
            right += 1
        elif verdict == "refused":
            refused.append(f"{case['q']!r} → refused: {text}")
        else:
            wrong.append(f"{case['q']!r} → {text}")
    return right, len(cases), wrong, refused


def test_table_is_big_enough() -> None:
    questions = TABLE["questions"]
    ru = [c for c in questions if re.search(r"[а-яё]", c["q"].lower())]
    assert len(questions) >= 40 and len(ru) >= 12
    assert sum(bool(c.get("heldout")) for c in questions) >= 12


def test_table_questions(models) -> None:  # type: ignore[no-untyped-def]
    right, total, wrong, refused = score(False, models)
    print(f"\nquestions table: {right}/{total} right")
    assert not wrong and not refused, "\n".join(wrong + refused)


@pytest.mark.parametrize("batch", [1, 2, 3, 4, 5, 6])
def test_table_heldout_questions(models, batch: int) -> None:  # type: ignore[no-untyped-def]
    """Never tuned against: reported, and no answer may state a wrong number (a miss must be a refusal).

    Batch 1 was written before the answer module was rebuilt, batch 2 after it was built, batch 3 after batch 2's
    fixes. First runs, before anything was changed from them (the honest held-out numbers): batch 1 18/18 (not
    blind: the same engineer then wrote the parser), batch 2 22/26 (1 refused, 3 silently wrong: "if you don't
    count X", "share weights between input and output embeddings", "hidden_size and intermediate_size"), batch 3
    14/20 (3 refused, 3 silently wrong: "голов key/value", "the transformer blocks only", "hidden size and number
    of attention heads"). Then every content word had to be understood or refused by name; batch 4, written
    after that: 18/22 right, 4 refused, 0 wrong ("сколько весов", "они", "VRAM … need", "embeddings shared").
    Batch 5, written after all of that: 15/20 right, 4 refused, 1 silently wrong ("without the final norm" took out
    every norm); then the word check was narrowed to the quantity actually read ("parameter breakdown" had passed as
    a parameter count). Batch 6, written last: 17/20 right, 3 refused, 0 wrong ("query heads", "длина контекста",
    "двух последних слоях"). The general patterns were then fixed each time, so no batch is an estimate any more.
    Routing held-out, first runs: batch 1 8/8, batch 2 12/12, batch 3 15/16 (a bare "and tell me" after an action
    did not start a clause; fixed), batch 4 12/12.
    """
    right, total, wrong, refused = score(True, models, batch)
    print(f"\nheld-out questions, batch {batch}: {right}/{total} right, {len(refused)} refused, {len(wrong)} wrong")
    for line in wrong + refused:
        print("  ", line)
    assert not wrong, "\n".join(wrong)
    assert right >= 0.8 * total


@pytest.mark.parametrize(("heldout", "batch"), [(False, 1), (True, 1), (True, 2), (True, 3), (True, 4)])
def test_routing_table(heldout: bool, batch: int) -> None:
    cases = [c for c in TABLE["routing"] if bool(c.get("heldout")) == heldout and c.get("batch", 1) == batch]
    misses = [f"{c['text']!r}: {classify(c['text'])}" for c in cases if route_message(c["text"]) != c["route"]]
    print(f"\nrouting ({f'held-out batch {batch}' if heldout else 'table'}): {len(cases) - len(misses)}/{len(cases)}")
    assert not misses, "\n".join(misses)


def test_every_goal_in_the_planner_tables_goes_to_the_planner() -> None:
    goals = []
    for f in sorted(HERE.glob("goals*.yaml")):
        goals += [c["g"] if isinstance(c, dict) else c for c in yaml.safe_load(f.read_text(encoding="utf-8")) or []]
    assert len(goals) > 200
    misrouted = [f"{g!r}: {classify(g)}" for g in goals if route_message(g) != "goal"]
    assert not misrouted, "\n".join(misrouted)


# ---- one test per failure pattern of issue 11, in both languages ----


@pytest.mark.parametrize(
    "text",
    [
        "give me the parameter count",
        "tell me how many layers",
        "show me the dtype",
        "покажи сколько параметров",
        "расскажи, сколько слоёв",
        "дай число параметров",
    ],
)
def test_a_question_phrased_as_a_request_is_a_question(text: str) -> None:
    assert route_message(text) == "question"


@pytest.mark.parametrize(
    "text",
    [
        "хочу чтобы модель отвечала вежливее: лора ранг 16 на chat.jsonl",  # "чтобы" is not "что"
        "сфт на chat.jsonl, потом КТО на thumbs.jsonl",  # "КТО" is KTO, not "кто"
        "however you like: LoRA r 8 on chat.jsonl",  # "however" is not "how"
    ],
)
def test_a_word_that_starts_with_a_question_word_is_no_question(text: str) -> None:
    assert route_message(text) == "goal"


@pytest.mark.parametrize(
    ("text", "quantities"),
    [
        ("how many layers, then how many heads?", ("layers", "heads")),
        ("сколько слоёв, а потом сколько голов?", ("layers", "heads")),
    ],
)
def test_an_order_word_does_not_make_a_question_a_goal(models, text: str, quantities: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    assert route_message(text) == "question"
    truth = Truth(models["llama"])
    answer = answer_offline(text, models["llama"]).text
    for q in quantities:
        assert any(holds(answer, w) for w in truth.expected({"quantity": q})), answer


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("how many blocks?", {"quantity": "layers"}),
        ("how many decoder layers?", {"quantity": "layers"}),
        ("how many transformer blocks does it have?", {"quantity": "layers"}),
        ("сколько слоёв?", {"quantity": "layers"}),
        ("сколько блоков?", {"quantity": "layers"}),
        ("how many heads?", {"quantity": "heads"}),
        ("сколько голов?", {"quantity": "heads"}),
        ("params in the MLP?", {"quantity": "parameters", "target": "mlp"}),
        ("how many parameters in the feed-forward?", {"quantity": "parameters", "target": "mlp"}),
        ("how many parameters in the FFN?", {"quantity": "parameters", "target": "mlp"}),
        ("сколько параметров в полносвязных слоях?", {"quantity": "parameters", "target": "mlp"}),
        ("how many parameters in self-attn?", {"quantity": "parameters", "target": "attention"}),
        ("how many params in attention?", {"quantity": "parameters", "target": "attention"}),
        ("сколько параметров во внимании?", {"quantity": "parameters", "target": "attention"}),
        ("how many parameters are the embeddings?", {"quantity": "parameters", "target": "embedding"}),
        ("сколько параметров в эмбеддингах?", {"quantity": "parameters", "target": "embedding"}),
        ("what's the vocab size?", {"quantity": "vocab_size"}),
        ("какой размер словаря?", {"quantity": "vocab_size"}),
    ],
)
def test_synonyms_of_layers_and_components(models, text: str, expect: dict) -> None:  # type: ignore[no-untyped-def]
    truth = Truth(models["llama"])
    answer = answer_offline(text, models["llama"]).text
    assert any(holds(answer, w) for w in truth.expected(expect)), answer


@pytest.mark.parametrize(
    ("text", "layer"),
    [
        ("how many parameters in layer 2?", 2),
        ("how many params does layer 0 have?", 0),
        ("сколько параметров в слое 2?", 2),
        ("сколько параметров в первом слое?", 0),
    ],
)
def test_parameters_of_one_layer_are_not_the_layer_count(models, text: str, layer: int) -> None:  # type: ignore[no-untyped-def]
    truth = Truth(models["llama"])
    answer = answer_offline(text, models["llama"]).text
    (per_layer,) = truth.expected({"quantity": "parameters", "target": f"layer {layer}"})
    assert holds(answer, per_layer), answer
    total = truth.expected({"quantity": "parameters"})[0]
    assert not holds(answer, total), answer


@pytest.mark.parametrize(
    ("text", "excluded"),
    [
        ("how many parameters excluding embeddings?", ["embedding"]),
        ("how many parameters without the lm_head?", ["lm_head"]),
        ("how many params except embeddings and lm head?", ["embedding", "lm_head"]),
        ("сколько параметров без эмбеддингов?", ["embedding"]),
        ("сколько параметров, не считая lm_head?", ["lm_head"]),
        ("сколько параметров кроме эмбеддингов и lm_head?", ["embedding", "lm_head"]),
    ],
)
def test_excluding_takes_the_part_out(models, text: str, excluded: list[str]) -> None:  # type: ignore[no-untyped-def]
    truth = Truth(models["llama"])
    answer = answer_offline(text, models["llama"]).text
    (rest,) = truth.expected({"quantity": "parameters", "exclude": excluded})
    assert holds(answer, rest), answer
    for part in excluded:  # the excluded part's own count is only the subtrahend, stated after "minus"
        (own,) = truth.expected({"quantity": "parameters", "target": part})
        assert answer.index(rest) < answer.index(own) if own in answer else True


@pytest.mark.parametrize(
    "text",
    [
        "сколько параметров?",
        "сколько слоёв?",
        "какой dtype у весов?",
        "связаны ли эмбеддинги?",
        "сколько параметров в слое 1 без нормализаций?",
        "какая архитектура?",
        "сколько голов внимания?",
    ],
)
def test_russian_questions_are_answered_in_russian(models, text: str) -> None:  # type: ignore[no-untyped-def]
    answer = answer_offline(text, models["llama"]).text
    assert in_language(answer, ru=True), answer


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("how many parameters in the router?", "router"),
        ("сколько параметров в роутере?", "роутере"),
        ("what is the learning rate of this model?", "learning rate"),
        ("how many params in layer 7?", "layer 7"),
        ("how many parameters does the router have?", "router"),
        ("сколько параметров занимают эксперты?", "эксперты"),
        ("сколько параметров в слое 7?", "слое 7"),
    ],
)
def test_an_unanswerable_question_names_what_was_not_understood(models, text: str, named: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GraftError) as caught:
        answer_offline(text, models["llama"])
    said = str(caught.value)
    assert named in said and not re.search(r"\d{3}", said.replace("0–3", "")), said


@pytest.mark.parametrize(
    "text",
    [
        "tell me the parameter count and then train LoRA on chat.jsonl",
        "сколько параметров? потом обучи LoRA",
    ],
)
def test_an_ambiguous_message_gets_a_question_back(tiny, offline_home, text: str) -> None:  # type: ignore[no-untyped-def]
    """Through the conversation graph (the TUI and `graft` chat path): no plan, no answer, a question."""
    from agent.conversation import build_conversation, message_input
    from agent.graph import open_checkpointer

    graph = build_conversation(open_checkpointer(offline_home / "graft.sqlite"))
    config = {"configurable": {"thread_id": "ambiguous"}}
    for _ in graph.stream(message_input(text, model=str(tiny("llama")), offline=True), config):
        pass
    state = graph.get_state(config).values
    reply = state["messages"][-1]
    assert reply["kind"] == "question" and state.get("status") != "awaiting_approval"
    assert in_language(reply["content"], ru=bool(re.search(r"[а-я]", text)))


@pytest.mark.parametrize(
    ("text", "truth_of"),
    [
        ("give me the parameter count", {"quantity": "parameters"}),
        ("покажи сколько параметров", {"quantity": "parameters"}),
    ],
)
def test_a_request_for_information_is_answered_through_the_conversation(tiny, offline_home, text, truth_of) -> None:  # type: ignore[no-untyped-def]
    from agent.conversation import build_conversation, message_input
    from agent.graph import open_checkpointer

    model = str(tiny("llama"))
    graph = build_conversation(open_checkpointer(offline_home / "graft.sqlite"))
    config = {"configurable": {"thread_id": "ask"}}
    for _ in graph.stream(message_input(text, model=model, offline=True), config):
        pass
    reply = graph.get_state(config).values["messages"][-1]
    assert reply["kind"] == "answer"
    assert holds(reply["content"], Truth(model).expected(truth_of)[0]), reply["content"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("what's the rope theta?", "rope_theta"),
        ("what activation function does it use?", "hidden_act"),
        ("what is the rms norm eps?", "rms_norm_eps"),
    ],
)
def test_a_config_setting_without_a_template_is_read_from_config_json(models, text: str, key: str) -> None:  # type: ignore[no-untyped-def]
    config = Truth(models["llama"]).config
    flat = {**config, **{k: v for sub in config.values() if isinstance(sub, dict) for k, v in sub.items()}}
    answer = answer_offline(text, models["llama"]).text
    assert key in answer and json.dumps(flat[key]) in answer, answer


@pytest.fixture(scope="module")
def adapter(tiny, tmp_path_factory) -> str:  # type: ignore[no-untyped-def]
    """A real PEFT LoRA (r=4, alpha=8, q_proj and v_proj) on the tiny llama."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("adapter") / "lora"
    model = AutoModelForCausalLM.from_pretrained(str(tiny("llama")), dtype=torch.float32)
    get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])).save_pretrained(str(out))
    return str(out)


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("how many trainable params does this adapter have?", "parameters"),
        ("сколько параметров в этом адаптере?", "parameters"),
        ("what rank is this LoRA?", "r = 4"),
        ("какой ранг у адаптера?", "r = 4"),
        ("what's the lora alpha?", "lora_alpha = 8"),
    ],
)
def test_questions_about_an_adapter(adapter: str, text: str, wanted: str) -> None:
    answer = answer_offline(text, adapter).text
    if wanted == "parameters":
        truth = Truth(adapter)
        wanted = f"{sum(truth.numel(n) for n in truth.tensors):,}"
    assert wanted in answer and in_language(answer, ru=bool(re.search(r"[а-я]", text))), answer


def test_a_full_model_has_no_lora_rank(models) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GraftError, match="not an adapter"):
        answer_offline("what rank is this LoRA?", models["llama"])


def test_a_question_the_templates_refuse_still_gives_the_llm_the_facts(models) -> None:  # type: ignore[no-untyped-def]
    """The LLM may answer it from the checkpoint's facts (cited, numbers grounded); a made-up number falls back."""
    from agent.answers import answer_with_llm
    from agent.planner import LLMSettings
    from tests.llm_stub import ScriptedLLM

    question = "how many parameters does the router have?"
    with pytest.raises(GraftError, match="router"):
        answer_offline(question, models["llama"])
    layers = Truth(models["llama"]).cfg("num_hidden_layers")
    for say, source in (
        (f"There is no router: it is a dense model with {layers} layers [1].", "llm:scripted"),
        ("The router holds 123,456 parameters [1].", None),
    ):
        with ScriptedLLM([{"say": say}]) as server:
            settings = LLMSettings(api_key="test", base_url=server.base_url, model="scripted", timeout=20)
            if source is None:
                with pytest.raises(GraftError, match="router"):
                    answer_with_llm(question, models["llama"], settings)
                continue
            answer = answer_with_llm(question, models["llama"], settings)
        assert answer.source == source and "[1]" in server.requests[0]["messages"][1]["content"], answer


@pytest.mark.parametrize(
    "text",
    ["how many parameters does {path} have?", "сколько параметров в {path}?", "сколько голов key/value у {path}?"],
)
def test_a_checkpoint_named_by_its_path_is_the_one_answered_about(models, text: str) -> None:  # type: ignore[no-untyped-def]
    truth = Truth(models["gpt2"])
    answer = answer_offline(text.format(path=models["gpt2"]), models["llama"]).text
    assert answer.startswith(models["gpt2"]), answer
    quantity = "heads" if "голов" in text else "parameters"
    assert holds(answer, truth.expected({"quantity": quantity})[0]), answer
    with pytest.raises(GraftError, match=r"does not exist|не существует"):
        answer_offline(text.format(path="/no/such/model"), models["llama"])


@pytest.mark.parametrize(
    ("text", "layer"),
    [
        ("how many parameters in layer two?", 2),
        ("how many params in layer zero?", 0),
        ("сколько параметров в слое два?", 2),
    ],
)
def test_a_layer_number_in_words(models, text: str, layer: int) -> None:  # type: ignore[no-untyped-def]
    answer = answer_offline(text, models["llama"]).text
    assert holds(answer, Truth(models["llama"]).expected({"quantity": "parameters", "target": f"layer {layer}"})[0])


@pytest.mark.parametrize("text", ["which layer has the most parameters?", "how many parameters in the layer?"])
def test_a_layer_word_that_names_no_layer_is_refused(models, text: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GraftError, match="layer"):
        answer_offline(text, models["llama"])
