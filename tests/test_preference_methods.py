"""Preference stages: DPO (every TRL loss type), ORPO, SimPO and KTO through TRL's own trainers.

Each method trains a tiny model for a few steps with the real trainer; the held-out numbers are
the method's own; the adapter merges exactly as PEFT merges it; the exported TRL config builds
the same trainer configuration Graft ran.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agent.plan import Plan, plan_from_data, plan_from_yaml, plan_to_yaml
from tools.errors import GraftError
from tools.tiny_data import chat_preference_rows, dpo_rows, kto_rows, sft_rows, write_jsonl
from tools.training import DPO_LOSSES, KTO_LOSSES, PreferenceSpec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("prefdata")
    return {
        "sft": write_jsonl(root / "sft.jsonl", sft_rows(16)),
        "pairs": write_jsonl(root / "pairs.jsonl", dpo_rows(24)),
        "chat": write_jsonl(root / "chat.jsonl", chat_preference_rows(24)),
        "kto": write_jsonl(root / "feedback.jsonl", kto_rows(24)),
    }


def _plan(base: Path, *stages: dict, out: Path | None = None) -> Plan:
    return plan_from_data(
        {"goal": "t", "base_model": str(base), "output": str(out or base.parent / "out"), "stages": list(stages)}
    )


# ------------------------------------------------------------------ the plan shape


def test_dpo_loss_types_are_trls_own() -> None:
    """Graft's list of DPO loss types is exactly the one TRL's DPOConfig documents; KTO's likewise."""
    from trl import DPOConfig, KTOConfig
    from trl.experimental.cpo import CPOConfig

    help_text = DPOConfig.__dataclass_fields__["loss_type"].metadata["help"]
    trl_dpo = re.findall(r"`'([a-z_]+)'`", help_text)
    assert sorted(trl_dpo) == sorted(DPO_LOSSES)
    assert tuple(KTOConfig.__dataclass_fields__["loss_type"].metadata["choices"]) == KTO_LOSSES
    assert "simpo" in CPOConfig.__dataclass_fields__["loss_type"].metadata["choices"]


def test_saved_kind_dpo_loads_as_preference_dpo(tiny, data) -> None:  # type: ignore[no-untyped-def]
    text = yaml.safe_dump(
        {
            "goal": "old plan",
            "base_model": str(tiny("llama")),
            "stages": [{"kind": "dpo", "id": "dpo", "dataset": str(data["pairs"]), "loss_type": "ipo", "beta": 0.2}],
        }
    )
    plan = plan_from_yaml(text)
    stage = plan.stages[0]
    assert (stage.kind, stage.method, stage.loss_type, stage.beta) == ("preference", "dpo", "ipo", 0.2)
    saved = yaml.safe_load(plan_to_yaml(plan))["stages"][0]
    assert list(saved)[:3] == ["kind", "id", "method"] and saved["kind"] == "preference"
    assert plan_from_yaml(plan_to_yaml(plan)) == plan  # the new shape round-trips


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"method": "orpo", "loss_type": "ipo"}, "loss_type is not a parameter of orpo"),
        ({"method": "dpo", "simpo_gamma": 1.0}, "simpo_gamma is not a parameter of dpo"),
        ({"method": "kto", "loss_type": "ipo"}, "KTO takes loss_type kto or apo_zero_unpaired"),
        ({"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0]}, "loss_weights has 1 values for 2 loss types"),
        ({"loss_type": ["sigmoid", "nope"]}, "nope is not a DPO loss type"),
        ({"loss_type": "exo_pair"}, "exo_pair needs label_smoothing > 0"),
        ({"method": "ppo"}, "method"),
    ],
)
def test_parameters_of_another_method_are_refused(tiny, data, fields, expected) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GraftError, match=re.escape(expected)):
        _plan(tiny("llama"), {"kind": "preference", "dataset": str(data["pairs"]), **fields})


def test_each_method_states_its_own_defaults() -> None:
    simpo = PreferenceSpec(dataset="x", method="simpo")
    assert (simpo.beta, simpo.simpo_gamma, simpo.cpo_alpha, simpo.loss_type) == (2.0, 0.5, 0.0, None)
    kto = PreferenceSpec(dataset="x", method="kto")
    assert (kto.loss_type, kto.desirable_weight, kto.undesirable_weight) == ("kto", 1.0, 1.0)
    combo = PreferenceSpec(dataset="x", loss_type=["sigmoid", "sft"], loss_weights=[1.0, 0.5])
    assert combo.losses == ["sigmoid", "sft"]


# ------------------------------------------------------------------ validation and estimates


def test_columns_each_method_needs(tiny, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agent.validate import validate_plan

    base = tiny("llama")
    with pytest.raises(GraftError, match="ORPO needs prompt, chosen and rejected"):
        validate_plan(_plan(base, {"kind": "preference", "method": "orpo", "dataset": str(data["sft"])}))
    with pytest.raises(GraftError, match="KTO needs prompt/completion/label"):
        validate_plan(_plan(base, {"kind": "preference", "method": "kto", "dataset": str(data["sft"])}))
    strings = write_jsonl(tmp_path / "s.jsonl", [{**r, "label": "yes"} for r in kto_rows(4)])
    with pytest.raises(GraftError, match="true \\(thumbs up\\) or false"):
        validate_plan(_plan(base, {"kind": "preference", "method": "kto", "dataset": str(strings)}))
    ups = write_jsonl(tmp_path / "u.jsonl", [r for r in kto_rows(8) if r["label"]])
    with pytest.raises(GraftError, match="only thumbs-up rows"):
        validate_plan(_plan(base, {"kind": "preference", "method": "kto", "dataset": str(ups)}))
    # KTO on paired rows is accepted: TRL's KTOTrainer unpairs them itself.
    validate_plan(_plan(base, {"kind": "preference", "method": "kto", "dataset": str(data["pairs"])}))


def test_estimates_know_which_methods_hold_a_reference(tiny, data) -> None:  # type: ignore[no-untyped-def]
    from agent.validate import validate_plan

    base = tiny("llama")
    estimates = {}
    for method in ("dpo", "orpo", "simpo", "kto"):
        dataset = data["kto"] if method == "kto" else data["pairs"]
        stage = {"kind": "preference", "method": method, "adapter": "none", "dataset": str(dataset)}
        estimates[method] = validate_plan(_plan(base, stage)).estimates[0]
    assert "reference_model" in estimates["dpo"].memory_breakdown
    assert "reference_model" in estimates["kto"].memory_breakdown
    assert "reference_model" not in estimates["orpo"].memory_breakdown
    assert "reference_model" not in estimates["simpo"].memory_breakdown
    assert estimates["orpo"].memory_bytes < estimates["dpo"].memory_bytes


# ------------------------------------------------------------------ the planner


def test_reject_feedback_changes_the_method(tiny, data) -> None:  # type: ignore[no-untyped-def]
    from agent.offline_planner import plan_offline
    from agent.planner import PlanRequest

    request = PlanRequest(
        goal="LoRA on the MLP, then ORPO", model=str(tiny("llama")), data=[str(data["sft"]), str(data["pairs"])]
    )
    first = plan_offline(request).plan
    assert [getattr(s, "method", s.kind) for s in first.stages] == ["sft", "orpo", "write"]
    again = plan_offline(request.model_copy(update={"feedback": ["use DPO instead of ORPO"]})).plan
    stage = again.stages[1]
    assert (stage.method, stage.loss_type, stage.beta) == ("dpo", "sigmoid", 0.1)
    assert any("reference model is the fine-tuned one" in n for n in again.notes)
    ru = plan_offline(request.model_copy(update={"feedback": ["вместо ORPO сделай SimPO"]})).plan
    assert ru.stages[1].method == "simpo"


def test_graft_plan_json_prints_the_preference_shape(tiny, data, offline_home) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRAFT_HOME": str(offline_home)}
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    argv = [sys.executable, "-m", "tui.cli", "plan", "KTO with thumbs up/down data", "--model", str(tiny("llama"))]
    proc = subprocess.run(
        [*argv, "--data", str(data["kto"]), "--json"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    stage = json.loads(proc.stdout)["stages"][0]
    assert (stage["kind"], stage["method"], stage["loss_type"]) == ("preference", "kto", "kto")
    assert stage["desirable_weight"] == 1.0 and stage.get("simpo_gamma") is None


# ------------------------------------------------------------------ training with the real trainers

CASES = {
    "dpo": ("pairs", {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.5]}),  # a weighted combination
    "orpo": ("chat", {}),  # conversational pairs, through the chat template
    "simpo": ("pairs", {"simpo_gamma": 0.3}),
    "kto": ("kto", {}),
}
EVAL_KEYS = {
    "dpo": {"loss", "rewards/margins", "rewards/accuracies"},
    "orpo": {"loss", "rewards/margins", "rewards/accuracies", "nll_loss", "log_odds_ratio"},
    "simpo": {"loss", "rewards/margins", "rewards/accuracies"},
    "kto": {"loss", "kl", "rewards/desirable", "rewards/undesirable"},
}


@pytest.mark.slow
@pytest.mark.parametrize("method", list(CASES))
def test_method_trains_merges_and_exports(method, tiny, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import dataclasses
    import importlib
    import inspect

    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from agent.export import export_trl
    from tools.merge_adapter import MergeAdapterSpec, merge_adapter
    from tools.preference import TRAINERS, build_config, run_preference

    base = tiny("llama")
    dataset, extra = CASES[method]
    fields = {"max_steps": 4, "batch_size": 4, "learning_rate": 5e-3, "r": 4, "alpha": 8, "eval_fraction": 0.25}
    spec = PreferenceSpec(dataset=str(data[dataset]), method=method, **fields, **extra)
    events: list[dict] = []
    result = run_preference(spec, str(base), str(tmp_path / method), stage_id=method, progress=events.append)

    # The loss moves, and the held-out numbers are the method's own, before and after.
    assert result.steps == 4 and result.train_loss is not None and math.isfinite(result.train_loss)
    assert EVAL_KEYS[method] <= set(result.eval_before) and EVAL_KEYS[method] <= set(result.eval_after)
    assert result.eval_loss_after < result.eval_loss_before
    assert [e["when"] for e in events if e.get("kind") == "eval"] == ["before", "after"]
    assert (
        result.eval_summary.startswith("held-out ") and ("KL" if method == "kto" else "margin") in result.eval_summary
    )
    if method in ("dpo", "kto"):  # LoRA's reference is the adapter switched off: untrained, rewards are exactly 0
        assert result.eval_before["rewards/margins"] == 0.0
    if method == "kto":  # thumbs-up and thumbs-down rows are both held out
        assert result.eval_after["rewards/desirable"] != result.eval_after["rewards/undesirable"]
    meta = json.loads((tmp_path / method / "heldout.json").read_text())
    assert meta["method"] == method and meta["rows"] == result.eval_rows

    # Reference-free methods: TRL's trainer has no reference model to load at all.
    module, _, trainer_name = TRAINERS[method]
    takes_ref = "ref_model" in inspect.signature(getattr(importlib.import_module(module), trainer_name)).parameters
    assert takes_ref == (method in ("dpo", "kto"))

    # The adapter merges as PEFT merges it.
    merge_adapter(MergeAdapterSpec(), str(base), [str(tmp_path / method)], str(tmp_path / "merged"))
    ours = {}
    for f in sorted((tmp_path / "merged").glob("*.safetensors")):
        ours.update(load_file(str(f)))
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    theirs = PeftModel.from_pretrained(model, str(tmp_path / method)).merge_and_unload().state_dict()
    assert max((ours[k].float() - theirs[k].float()).abs().max().item() for k in ours) < 1e-5
    untouched = {}
    for f in sorted(base.glob("*.safetensors")):
        untouched.update(load_file(str(f)))
    assert any((ours[k].float() - v.float()).abs().max().item() > 0 for k, v in untouched.items() if k in ours)

    # The exported TRL command-line config builds the same trainer configuration Graft ran; TRL's
    # command line runs dpo and kto only, so orpo and simpo are refused by that export.
    plan = _plan(
        base, {"kind": "preference", "id": method, "method": method, "dataset": spec.dataset, **fields, **extra}
    )
    if method not in ("dpo", "kto"):
        with pytest.raises(GraftError, match="does not run"):
            export_trl(plan, str(tmp_path / "trl"))
        return
    args = yaml.safe_load(export_trl(plan, str(tmp_path / "trl"))[f"{method}.yaml"])
    config_cls = getattr(importlib.import_module(module), TRAINERS[method][1])
    known = {f.name for f in dataclasses.fields(config_cls)}
    exported = config_cls(**{k: v for k, v in args.items() if k in known})
    graft = build_config(spec, Path(args["output_dir"]))
    ignore = {"output_dir", "logging_dir", "use_cpu", "bf16", "fp16"}
    mine = {k: v for k, v in graft.to_dict().items() if k not in ignore}
    assert {k: v for k, v in exported.to_dict().items() if k not in ignore} == mine
    assert type(exported) is type(graft)


@pytest.mark.slow
def test_final_heldout_is_per_stage_in_each_format(tiny, data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The write's check scores each stage's rows in its own format: SFT by completion loss through the chat
    template, pairs by chosen-vs-rejected margin; training on the pairs raises their margin."""
    from tools.heldout import compare_files, describe_comparison, score_files, split_row
    from tools.merge_adapter import MergeAdapterSpec, merge_adapter
    from tools.preference import run_preference
    from tools.sft import run_sft
    from tools.training import TrainSpec

    base = tiny("llama")
    fields = {"batch_size": 4, "r": 4, "alpha": 8, "eval_fraction": 0.25}
    run_sft(
        TrainSpec(dataset=str(data["sft"]), max_steps=2, learning_rate=5e-3, **fields), str(base), str(tmp_path / "sft")
    )
    spec = PreferenceSpec(dataset=str(data["chat"]), method="orpo", max_steps=6, learning_rate=1e-2, **fields)
    run_preference(spec, str(base), str(tmp_path / "orpo"))
    merge_adapter(MergeAdapterSpec(), str(base), [str(tmp_path / "orpo")], str(tmp_path / "final"))
    files = [str(tmp_path / "sft" / "heldout.jsonl"), str(tmp_path / "orpo" / "heldout.jsonl")]
    comparison = compare_files(str(tmp_path / "final"), str(base), files)
    before = {k: v["base"] for k, v in comparison.items()}
    after = {k: v["final"] for k, v in comparison.items()}
    assert set(before) == {"sft", "orpo"} and before == score_files(str(base), files)
    lines = describe_comparison(comparison)
    assert lines[0].startswith("sft (sft): completion loss ") and lines[1].startswith(
        "orpo (orpo): log-prob margin per token (no reference) "
    )
    assert before["sft"]["method"] == "sft" and before["sft"]["tokens"] > 0 and math.isfinite(before["sft"]["loss"])
    assert after["orpo"]["margin"] > before["orpo"]["margin"]

    # Conversational rows are tokenized through the chat template, never as the text of a list.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    row = chat_preference_rows(1)[0]
    prompt, completion = split_row(tokenizer, row["prompt"], row["chosen"])
    text = tokenizer.decode(prompt + completion)
    assert "{'role'" not in text and row["chosen"][0]["content"] in text
    assert tokenizer.decode(prompt + completion) == tokenizer.apply_chat_template(
        row["prompt"] + row["chosen"], tokenize=False
    )


def test_training_knobs_reach_trl_and_alpha_follows_rank(tmp_path) -> None:
    """Warmup, schedule, weight decay and clipping go to TRL's config as given; alpha left out is 2·r."""
    from transformers.trainer_utils import SchedulerType
    from trl import SFTConfig

    from tools.training import SchedulerName, TrainSpec, common_config

    assert set(SchedulerName.__args__) <= {s.value for s in SchedulerType}  # type: ignore[attr-defined]
    spec = TrainSpec(
        dataset="x", r=4, lr_scheduler_type="cosine", warmup_steps=0.1, weight_decay=0.01, max_grad_norm=0.5
    )
    assert spec.alpha == 8 and spec.lora_scale == 2
    assert TrainSpec(dataset="x", r=4, alpha=32).lora_scale == 8
    config = SFTConfig(**common_config(spec, tmp_path))
    assert (config.lr_scheduler_type, config.warmup_steps, config.weight_decay, config.max_grad_norm) == (
        "cosine",
        0.1,
        0.01,
        0.5,
    )
    assert (
        TrainSpec(dataset="x", warmup_steps=5).warmup_steps == 5
        and common_config(TrainSpec(dataset="x", warmup_steps=5), tmp_path)["warmup_steps"] == 5
    )


def test_final_heldout_scores_every_reply_of_a_conversation(tiny) -> None:  # type: ignore[no-untyped-def]
    """An SFT stage trains on every assistant reply; the write's rescoring counts every reply too."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tools.heldout import score_rows, split_row

    base = tiny("llama")
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32).eval()
    messages = [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "the first answer"},
        {"role": "user", "content": "and then?"},
        {"role": "assistant", "content": "the second answer"},
    ]
    scored = score_rows(model, tokenizer, "sft", [{"messages": messages}])
    replies = [split_row(tokenizer, messages[:i], [messages[i]])[1] for i in (1, 3)]
    assert scored["tokens"] == sum(len(r) for r in replies)
