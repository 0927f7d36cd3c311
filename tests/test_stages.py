"""Each stage tool on the real libraries (TRL, PEFT, mergekit) with tiny models and a few steps."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tools.diff import DiffArgs, diff_checkpoints
from tools.errors import GraftError
from tools.tiny_data import dpo_rows, sft_rows, write_jsonl

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    return {
        "sft": write_jsonl(root / "sft.jsonl", sft_rows(24, seed=0)),
        "dpo": write_jsonl(root / "dpo.jsonl", dpo_rows(24, seed=0)),
    }


def _train(arch_path: Path, out: Path, dataset: Path, **fields: object):  # type: ignore[no-untyped-def]
    from tools.sft import run_sft
    from tools.training import TrainSpec

    spec = TrainSpec(dataset=str(dataset), max_steps=3, batch_size=4, learning_rate=5e-3, r=4, alpha=8, **fields)
    return run_sft(spec, str(arch_path), str(out))


def _state(path: Path) -> dict:
    from safetensors.torch import load_file

    files = sorted(path.glob("*.safetensors")) if path.is_dir() else [path]
    state: dict = {}
    for f in files:
        state.update(load_file(str(f)))
    return state


def _peft_merged(base: Path, adapters: list[Path]) -> dict:
    """The reference: PEFT's own merge_and_unload on the same base and adapter."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    for adapter in adapters:
        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    return {k: v.detach() for k, v in model.state_dict().items()}


def _max_abs_diff(ours: dict, theirs: dict) -> float:
    worst = 0.0
    for name, tensor in ours.items():
        worst = max(worst, (tensor.float() - theirs[name].float()).abs().max().item())
    return worst


@pytest.mark.parametrize(
    ("arch", "adapter", "targets"),
    [("llama", "lora", ["q_proj", "v_proj", "down_proj"]), ("gpt2", "lora", ["c_attn", "c_fc"]), ("qwen2", "dora", [])],
)
def test_sft_then_streaming_merge_equals_peft(tiny, data, tmp_path, arch, adapter, targets) -> None:  # type: ignore[no-untyped-def]
    from tools.merge_adapter import MergeAdapterSpec, merge_adapter

    base = tiny(arch)
    result = _train(base, tmp_path / "adapter", data["sft"], adapter=adapter, target_modules=targets)
    assert result.produces == "adapter"
    assert result.train_loss is not None and math.isfinite(result.train_loss)
    assert result.eval_loss_before is not None and result.eval_loss_after is not None
    assert (tmp_path / "adapter" / "heldout.jsonl").is_file()

    merged = tmp_path / "merged"
    merge = merge_adapter(MergeAdapterSpec(), str(base), [str(tmp_path / "adapter")], str(merged))
    assert merge.merged_tensors > 0

    ours, theirs = _state(merged), _peft_merged(base, [tmp_path / "adapter"])
    worst = _max_abs_diff(ours, theirs)
    print(f"{arch}/{adapter}: max |ours - merge_and_unload| = {worst:.3g}")
    assert worst < 1e-5

    changes = diff_checkpoints(DiffArgs(a=str(base), b=str(merged)))
    assert changes.changed, "the merged model must differ from its base"
    wanted = set(targets) if targets else None
    for change in changes.changed:
        if wanted:
            assert change.name.split(".")[-2] in wanted, change.name


def test_layer_selection_trains_only_those_layers(tiny, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tools.merge_adapter import MergeAdapterSpec, merge_adapter

    base = tiny("llama")
    result = _train(base, tmp_path / "adapter", data["sft"], layers=[1])
    assert result.layers == [1]
    merge_adapter(MergeAdapterSpec(), str(base), [str(tmp_path / "adapter")], str(tmp_path / "merged"))
    changes = diff_checkpoints(DiffArgs(a=str(base), b=str(tmp_path / "merged")))
    assert {c.layer for c in changes.changed} == {1}
    assert {c.component for c in changes.changed} == {"attention", "mlp"}  # all linear layers of block 1


def test_full_fine_tune_changes_weights(tiny, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base = tiny("llama")
    result = _train(base, tmp_path / "full", data["sft"], adapter="none")
    assert result.produces == "model"
    assert result.trainable_params > 100_000
    changes = diff_checkpoints(DiffArgs(a=str(base), b=str(tmp_path / "full")))
    assert len(changes.changed) > 20


@pytest.mark.parametrize(("layers", "targets"), [([1], []), (None, ["q_proj"])])
def test_full_fine_tune_of_a_selection_changes_only_it(tiny, data, tmp_path, layers, targets) -> None:  # type: ignore[no-untyped-def]
    """'fully fine-tune the last layers', 'full FT, attention only': the plan shows a selection, so every weight
    outside it stays the base's (TRL with no peft_config trains them all)."""
    from safetensors import safe_open

    from tools.naming import describe

    base = tiny("llama")
    result = _train(base, tmp_path / "full", data["sft"], adapter="none", layers=layers, target_modules=targets)
    changes = diff_checkpoints(DiffArgs(a=str(base), b=str(tmp_path / "full")))
    assert changes.changed
    if layers:
        assert {c.layer for c in changes.changed} == set(layers)
    if targets:
        assert {c.name.split(".")[-2] for c in changes.changed} == set(targets)
    selected = 0
    with safe_open(str(next(base.glob("*.safetensors"))), "pt") as f:
        for name in f.keys():
            _component, layer, module = describe(name)
            if layer is not None and (layers is None or layer in layers) and (not targets or module in targets):
                selected += f.get_slice(name).get_shape()[0] * (
                    f.get_slice(name).get_shape()[1] if len(f.get_slice(name).get_shape()) > 1 else 1
                )
    assert result.trainable_params == selected


def test_dpo_reference_is_the_merged_sft_model(tiny, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """At step 0 the policy equals the reference, so DPO's sigmoid loss is exactly ln 2."""
    from tools.merge_adapter import MergeAdapterSpec, merge_adapter
    from tools.preference import run_preference
    from tools.training import PreferenceSpec

    base = tiny("llama")
    _train(base, tmp_path / "sft", data["sft"])
    merge_adapter(MergeAdapterSpec(), str(base), [str(tmp_path / "sft")], str(tmp_path / "sft-merged"))
    spec = PreferenceSpec(
        dataset=str(data["dpo"]), max_steps=3, batch_size=4, learning_rate=5e-3, r=4, alpha=8, beta=0.1
    )
    result = run_preference(spec, str(tmp_path / "sft-merged"), str(tmp_path / "dpo"))
    assert result.eval_loss_before == pytest.approx(math.log(2), abs=1e-4)
    assert result.eval_loss_after is not None and result.eval_loss_after < result.eval_loss_before
    # The new adapter is stacked on the merged model, not on the raw base.
    import json

    config = json.loads((tmp_path / "dpo" / "adapter_config.json").read_text())
    assert Path(config["base_model_name_or_path"]).resolve() == (tmp_path / "sft-merged").resolve()


def test_dpo_after_unmerged_adapter_folds_it_first(tiny, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The known failure: DPO stacking on (or overwriting) a live SFT adapter. Graft folds it first."""
    from tools.preference import run_preference
    from tools.training import PreferenceSpec

    base = tiny("llama")
    _train(base, tmp_path / "sft", data["sft"])
    spec = PreferenceSpec(dataset=str(data["dpo"]), max_steps=2, batch_size=4, r=4, alpha=8, loss_type="ipo")
    result = run_preference(spec, str(base), str(tmp_path / "dpo"), prior_adapters=[str(tmp_path / "sft")])
    assert result.folded_adapters == [str(tmp_path / "sft")]
    assert result.eval_loss_before is not None and math.isfinite(result.eval_loss_before)


def test_weighted_adapter_combination_matches_peft(tiny, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two adapters summed with weights, streamed, equal PEFT merging them one after the other."""
    import json

    from tools.merge_adapter import MergeAdapterSpec, merge_adapter

    base = tiny("llama")
    _train(base, tmp_path / "a", data["sft"], target_modules=["q_proj", "v_proj"])
    _train(base, tmp_path / "b", data["sft"], target_modules=["q_proj", "up_proj"], seed=3)
    merge_adapter(
        MergeAdapterSpec(weights=[1.0, 1.0]), str(base), [str(tmp_path / "a"), str(tmp_path / "b")], str(tmp_path / "m")
    )
    worst = _max_abs_diff(_state(tmp_path / "m"), _peft_merged(base, [tmp_path / "a", tmp_path / "b"]))
    print(f"two adapters: max |ours - sequential merge_and_unload| = {worst:.3g}")
    assert worst < 1e-5
    result = merge_adapter(
        MergeAdapterSpec(combination="ties", weights=[0.6, 0.4], density=0.5),
        str(base),
        [str(tmp_path / "a"), str(tmp_path / "b")],
        str(tmp_path / "t"),
    )
    assert result.method == "peft-ties"
    assert json.loads((tmp_path / "t" / "config.json").read_text())["architectures"] == ["LlamaForCausalLM"]


def test_adapter_for_another_base_is_refused(tiny, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tools.merge_adapter import MergeAdapterSpec, merge_adapter

    _train(tiny("llama"), tmp_path / "adapter", data["sft"])
    other = tiny("llama", hidden_size=48)
    with pytest.raises(GraftError, match=r"different base|shape"):
        merge_adapter(MergeAdapterSpec(), str(other), [str(tmp_path / "adapter")], str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_merge_output_never_overwrites_without_consent(tiny, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tools.merge_adapter import MergeAdapterSpec, merge_adapter

    base = tiny("llama")
    _train(base, tmp_path / "adapter", data["sft"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("mine")
    with pytest.raises(GraftError, match="exists"):
        merge_adapter(MergeAdapterSpec(), str(base), [str(tmp_path / "adapter")], str(out))
    assert (out / "precious.txt").read_text() == "mine"


@pytest.mark.parametrize("method", ["linear", "slerp", "ties", "dare_ties", "dare_linear", "task_arithmetic"])
def test_mergekit_methods(tiny, data, tmp_path, method) -> None:  # type: ignore[no-untyped-def]
    from tools.merge_models import MergeModelsSpec, merge_models

    base = tiny("llama")
    a, b = tiny("llama", seed=1), tiny("llama", seed=2)
    spec = MergeModelsSpec(method=method, models=[str(a), str(b)], weights=[0.5, 0.5], density=0.8)
    result = merge_models(spec, [str(a), str(b)], str(base), str(tmp_path / "merged"))
    assert (tmp_path / "merged" / "mergekit_config.yml").is_file()
    assert result.method == method
    merged, sa, sb = _state(tmp_path / "merged"), _state(a), _state(b)
    name = "model.layers.0.self_attn.q_proj.weight"
    assert merged[name].shape == sa[name].shape
    if method == "linear":
        assert _max_abs_diff({name: merged[name]}, {name: (sa[name] + sb[name]) / 2}) < 1e-6
    else:
        assert not merged[name].equal(sa[name])


def test_mergekit_with_relative_paths_stays_offline(tiny, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """mergekit reads a relative "dir/name" as a Hub repo id; Graft must hand it local absolute paths."""
    import shutil

    from tools.merge_models import MergeModelsSpec, merge_models

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name, seed in (("a", 1), ("b", 2)):
        shutil.copytree(tiny("llama", seed=seed), tmp_path / "runs" / name)
    spec = MergeModelsSpec(method="linear", models=["runs/a", "runs/b"])
    merge_models(spec, ["runs/a", "runs/b"], None, "merged")
    assert (tmp_path / "merged" / "mergekit_config.yml").is_file()


def test_sft_without_generation_block_trains_only_the_replies(tiny, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A chat template without `{% generation %}` (SmolLM2's, Llama's): the prompt tokens carry no loss."""
    import shutil

    from transformers import AutoTokenizer

    from tools.sft import build_sft_trainer, has_generation_block
    from tools.training import TrainSpec

    base = tmp_path / "plain-template"
    shutil.copytree(tiny("llama"), base)
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    tokenizer.chat_template = tokenizer.chat_template.replace("{% generation %}", "").replace("{% endgeneration %}", "")
    tokenizer.save_pretrained(str(base))
    assert not has_generation_block(tokenizer)
    conversation = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Where is the river?"},
        {"role": "assistant", "content": "The river is near."},
        {"role": "user", "content": "Tell me about the cat."},
        {"role": "assistant", "content": "The cat reads."},
    ]
    dataset = write_jsonl(tmp_path / "chat.jsonl", [{"messages": conversation}] * 4)
    spec = TrainSpec(dataset=str(dataset), max_steps=1, batch_size=2, eval_fraction=0)
    trainer, tok, layout, mode, _, _ = build_sft_trainer(spec, str(base), tmp_path / "scratch")
    assert (layout, mode) == ("messages", "completion_only")
    rows = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
    assert len(rows) == 8  # each of the two replies of each conversation is a row
    for row, reply in zip(rows[:2], (2, 4), strict=True):
        batch = trainer.data_collator([row])
        ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
        prompt = tok.apply_chat_template(conversation[:reply], tokenize=False, add_generation_prompt=True)
        n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
        assert ids[:n_prompt] == tok(prompt, add_special_tokens=False)["input_ids"]
        assert all(label == -100 for label in labels[:n_prompt])  # system, user turns, earlier replies: no loss
        trained = [i for i, label in zip(ids, labels, strict=True) if label != -100]
        assert trained == ids[n_prompt:] and conversation[reply]["content"] in tok.decode(trained)


@pytest.mark.parametrize("arch", ["llama", "gpt2", "qwen2"])
def test_packing_is_exact_on_the_model_or_refused(tiny, arch) -> None:  # type: ignore[no-untyped-def]
    """Rows packed into one sequence (positions restarting) give the same logits as each row alone."""
    import torch
    from transformers import AutoModelForCausalLM

    from tools.sft import check_packing_exact

    model = AutoModelForCausalLM.from_pretrained(str(tiny(arch)), dtype=torch.float32)
    assert check_packing_exact(model) < 1e-4
    with pytest.raises(GraftError, match="packing is not exact"):
        check_packing_exact(model, tolerance=-1.0)  # the refusal path, forced


def test_packed_sft_scores_the_same_heldout_loss(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Packed and unpacked SFT measure the same held-out loss on the untrained model (one batch each),
    and packing trains on fewer, fuller sequences."""
    from tools.sft import run_sft
    from tools.training import SFTSpec

    dataset = write_jsonl(tmp_path / "sft.jsonl", sft_rows(40, seed=3))
    fields = {
        "dataset": str(dataset),
        "max_steps": 2,
        "batch_size": 8,
        "r": 4,
        "max_length": 512,
        "eval_fraction": 0.15,
    }
    plain = run_sft(SFTSpec(**fields), str(tiny("llama")), str(tmp_path / "plain"))
    packed = run_sft(SFTSpec(**fields, packing=True), str(tiny("llama")), str(tmp_path / "packed"))
    assert packed.eval_loss_before == pytest.approx(plain.eval_loss_before, rel=1e-5)
    assert packed.tokens >= plain.tokens and packed.eval_rows == plain.eval_rows == 6


def test_what_an_adapter_stage_changed_is_its_own_adapter(tiny, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """'Which layers did the SFT change?' after SFT then a second adapter: the SFT's own change (the write's fold
    holds both adapters together, and is removed after the write), measured as `diff` measures a merged model."""
    import json

    from agent.answers import answer_offline
    from tools.diff import diff_adapter
    from tools.merge_adapter import MergeAdapterSpec, merge_adapter
    from tools.sft import run_sft
    from tools.training import TrainSpec

    base = tiny("llama")
    run = tmp_path / "plan.run"
    run.mkdir()
    spec = {"dataset": str(data["sft"]), "max_steps": 2, "batch_size": 4, "learning_rate": 5e-3, "r": 4, "alpha": 8}
    run_sft(TrainSpec(**spec, layers=[1]), str(base), str(run / "sft"))
    run_sft(TrainSpec(**spec, layers=[0]), str(base), str(run / "dpo"), prior_adapters=[str(run / "sft")])
    for stage, prior in (("sft", []), ("dpo", [str(run / "sft")])):
        job = {"tool": "sft", "kwargs": {"model_path": str(base), "output": str(run / stage), "prior_adapters": prior}}
        (run / f"{stage}.job.json").write_text(json.dumps(job))

    sft_answer = answer_offline("which layers did the sft change?", str(base), None, str(run))
    assert set(sft_answer.facts[0]["layers"]) and {
        int(k) for k, g in sft_answer.facts[0]["layers"].items() if g["changed_tensors"]
    } == {1}
    dpo = diff_adapter(str(base), str(run / "dpo"), [str(run / "sft")])
    assert {c.layer for c in dpo.changed} == {0}
    # the same numbers as diffing the model before and after the fold
    merge_adapter(MergeAdapterSpec(), str(base), [str(run / "sft")], str(tmp_path / "m1"))
    merge_adapter(MergeAdapterSpec(), str(tmp_path / "m1"), [str(run / "dpo")], str(tmp_path / "m2"))
    folded = diff_checkpoints(DiffArgs(a=str(tmp_path / "m1"), b=str(tmp_path / "m2")))
    ours = {c.name: c.relative_change for c in dpo.changed}
    theirs = {c.name: c.relative_change for c in folded.changed}
    assert ours.keys() == theirs.keys()
    assert all(abs(ours[k] - theirs[k]) <= 1e-5 * max(1.0, theirs[k]) for k in ours)
    # "what changed?" with no stage named, after the final write: the written model against its base
    job = {
        "tool": "write",
        "kwargs": {"model": str(tmp_path / "m2"), "output": str(tmp_path / "m2"), "base_model": str(base)},
    }
    (run / "write.job.json").write_text(json.dumps(job))
    whole = answer_offline("what changed?", str(base), None, str(run))
    assert {int(k) for k, g in whole.facts[0]["layers"].items() if g["changed_tensors"]} == {0, 1}
