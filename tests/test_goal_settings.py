"""Setting names, switches, techniques and numbers the planner does not read are asked about by name.

The class this guards: a goal pasted from a TRL/PEFT/Axolotl/LLaMA-Factory/mergekit config holds a
name Graft has no slot for, and the plan quietly leaves it out ("neftune_noise_alpha: 5", "init with
PiSSA", "merge with karcher", "32 и 64"). Each is planned when Graft reads it, and asked about when not.
"""

from __future__ import annotations

import shutil

import pytest

from agent.goal_facts import goal_facts
from agent.goal_settings import (
    MERGEKIT_METHODS,
    MERGEKIT_SETTINGS,
    PEFT_SETTINGS,
    TRANSFORMERS_SETTINGS,
    TRL_SETTINGS,
    _library_fields,
)
from agent.offline_planner import plan_offline
from agent.planner import PlanRequest
from tools.tiny_data import dpo_rows, kto_rows, sft_rows, write_jsonl


def test_the_setting_lists_are_the_pinned_libraries_own() -> None:
    """The lists are the libraries' config fields, so a new TRL/PEFT field shows up here, not as a silent drop."""
    fields = _library_fields()
    assert fields["transformers"] == TRANSFORMERS_SETTINGS
    assert fields["PEFT"] == PEFT_SETTINGS
    assert fields["TRL"] == TRL_SETTINGS
    assert fields["mergekit methods"] == MERGEKIT_METHODS
    assert fields["mergekit"] == MERGEKIT_SETTINGS


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from tools.tiny import TinyModelArgs, build_tiny_model

    root = tmp_path_factory.mktemp("settings")
    model = root / "base"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(model), num_layers=12))
    partner = root / "partner"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(partner), num_layers=12, seed=3))
    other_model = root / "ancestor"
    shutil.copytree(model, other_model)
    return {
        "model": str(model),
        "partner": str(partner),
        "other_model": str(other_model),
        "sft": str(write_jsonl(root / "chat.jsonl", sft_rows(12))),
        "dpo": str(write_jsonl(root / "prefs.jsonl", dpo_rows(12))),
        "other": str(write_jsonl(root / "Other.jsonl", sft_rows(12, seed=4))),
        "kto": str(write_jsonl(root / "thumbs.jsonl", kto_rows(12))),
        "out": str(root / "out"),
    }


def _outcome(world: dict[str, str], goal: str):  # type: ignore[no-untyped-def]
    return plan_offline(PlanRequest(goal=goal.format(**world), model=world["model"], data=[world["sft"], world["dpo"]]))


@pytest.mark.parametrize(
    ("goal", "named"),
    [
        ("SFT on {sft}, neftune_noise_alpha 5", "neftune_noise_alpha"),
        ("SFT on {sft} with --use_rslora", "use_rslora"),
        ("sft on {sft}, optim: paged_adamw_8bit", "optim"),
        ("SFT on {sft}, modules_to_save: [lm_head]", "modules_to_save"),
        ("SFT на {sft}, параметр report_to: wandb", "report_to"),
        ("SFT on {sft}, scheduler cosine_with_min_lr", "cosine_with_min_lr"),
        ("merge {partner} into it with karcher", "karcher"),
        ("слей {partner} с базой методом sce", "sce"),
        ("init the LoRA with PiSSA, r 16, on {sft}", "pissa"),
        ("Инициализируй LoRA через LoftQ, ранг 16, {sft}", "loftq"),
        ("QLoRA on {sft}, rank 64", "qlora"),
        ("дообучи в четырёх битах на {sft}", "четырех бит"),
        ("SFT on {sft} with NEFTune", "neftune"),
        ("Обучи на {sft}, 32 и 64", "32 и 64"),
        ("LoRA on down_proj only; learnnig rate 3e-4, 500 steps", "3e-4"),
        ("SFT on {sft} then DPO on {dpo} with packing", "packing"),
        ("SFT on {sft}, val_set_size 2000", "2000"),
        ("SFT on 50% of {sft}", "50"),
        ("обучи на половине {sft}, 30%", "30"),
        ("sft {sft} --train_on_inputs true", "train_on_inputs"),
        ("SFT on {sft} for a few hundred steps", "a few hundred steps"),
        ("SFT, пару эпох на {sft}", "пару эпох"),
        ("SFT, small learning rate and a high rank, {sft}", "small learning rate"),
        ("SFT, alpha = r, {sft}", "named no rank"),
        ("SFT, 10x smaller lr than default, {sft}", "10x smaller"),
        ("lora on embed_tokens and lm_head too, {sft}", "embed_tokens"),
        ("SFT on {sft} with mixed precision fp16", "mixed precision"),
        ("save the adapter only, don't merge, SFT on {sft}", "adapter only"),
        ("Сделай SFT на {sft}, адаптер не сливай", "не сливай"),
        ("DPO без референсной модели на {dpo}", "без референсной модели"),
        ("SFT on {sft}, save every 100 steps", "save every 100 steps"),
        ("SFT on {sft} with the chatml template", "chatml"),
        ("fine-tune on {sft}, then ties with {partner} with weight 0.8", "0.8"),
        ("SFT on 1000 examples of {sft}", "1000"),
        ("linear merge of {partner} with it, then push to the hub", "push to the hub"),
        ("слей {partner} с базой и выложи на HF", "на hf"),
    ],
)
def test_a_setting_graft_does_not_read_is_asked_about_by_name(world: dict[str, str], goal: str, named: str) -> None:
    outcome = _outcome(world, goal)
    assert outcome.plan is None, f"planned {goal!r} and dropped {named!r}"
    assert named in (outcome.question or "").lower().replace("ё", "е")


@pytest.mark.parametrize(
    ("goal", "kinds", "want"),
    [
        ("SFT on {sft}, lora_r: 8, lora_alpha: 16, max_grad_norm: 0.3", ["sft"], {0: {"r": 8, "alpha": 16, "max_grad_norm": 0.3}}),
        ("SFT on {sft} with gradient clipping at 0.5", ["sft"], {0: {"max_grad_norm": 0.5}}),
        ("SFT на {sft}, клиппинг градиентов 2.0", ["sft"], {0: {"max_grad_norm": 2.0}}),
        ("SFT on {sft} with packing and gradient checkpointing", ["sft"], {0: {"packing": True, "gradient_checkpointing": True}}),
        ("SFT on {sft}, sample_packing: false", ["sft"], {0: {"packing": False}}),
        ("SFT на {sft} без упаковки", ["sft"], {0: {"packing": False}}),
        ("stage: sft, finetuning_type: full, learning_rate: 1e-5", ["sft"], {0: {"adapter": "none", "learning_rate": 1e-5}}),
        ("no QLoRA, plain LoRA rank 8 on {sft}", ["sft"], {0: {"adapter": "lora", "r": 8}}),
        ("merge using less RAM: ties with {partner}", ["merge_models"], {0: {"method": "ties"}}),
        ("SFT, then SLERP it with {partner} at 0.4", ["sft", "merge_adapter", "merge_models"], {2: {"method": "slerp", "t": 0.4}}),
        ("first SFT {sft} for two epochs at 1e-4, then DPO on {dpo}", ["sft", "preference"], {0: {"epochs": 2, "learning_rate": 1e-4}}),
        ("LoRA on all modules except the MLP", ["sft"], {0: {"target_modules": ["k_proj", "o_proj", "q_proj", "v_proj"]}}),
        ("LoRA на всё, кроме MLP", ["sft"], {0: {"target_modules": ["k_proj", "o_proj", "q_proj", "v_proj"]}}),
        ("LoRA everywhere but not on the attention", ["sft"], {0: {"target_modules": ["down_proj", "gate_proj", "up_proj"]}}),
        ("Put the adapter on the first and the last layer only, rank 8, SFT on {sft}", ["sft"], {0: {"layers": [0, 11], "r": 8}}),
        ("lora_r 64, not the MLP; 1 epoch on {sft}, merge the adapter when done", ["sft", "merge_adapter"], {0: {"r": 64}}),
        ("fine-tune only the middle four layers with rank thirty-two", ["sft"], {0: {"layers": [4, 5, 6, 7], "r": 32}}),
        ("train layers 8 through 11 plus layer 0, rank four", ["sft"], {0: {"layers": [0, 8, 9, 10, 11], "r": 4}}),
        ("r=8, layers_to_transform=[0, 1, 2], max_steps=20 on {sft}", ["sft"], {0: {"layers": [0, 1, 2], "max_steps": 20}}),
        ("DPO на {dpo}, но не на всех слоях, а только на последних четырёх", ["preference"], {0: {"layers": [8, 9, 10, 11]}}),
        ("SFT на {sft}, только на первых четырёх слоях и на последнем", ["sft"], {0: {"layers": [0, 1, 2, 3, 11]}}),
        ("дообучи четыре последних слоя", ["sft"], {0: {"layers": [8, 9, 10, 11]}}),
        ("LoRA layers 2 to 9 but not 5, rank 12", ["sft"], {0: {"layers": [2, 3, 4, 6, 7, 8, 9], "r": 12}}),
        ("дообучи слои с 0 по 7, кроме третьего", ["sft"], {0: {"layers": [0, 1, 3, 4, 5, 6, 7]}}),
        ("Для SFT на {sft} — слои с 0 по 5, а для DPO на {dpo} — с 6 по 11", ["sft", "preference"],
         {0: {"layers": [0, 1, 2, 3, 4, 5]}, 1: {"layers": [6, 7, 8, 9, 10, 11]}}),
        ("SFT on {other} (not {sft}), lr 5e-5", ["sft"], {0: {"dataset": "{other}", "learning_rate": 5e-5}}),
        ("SFT на {other}, не на {sft}", ["sft"], {0: {"dataset": "{other}"}}),
        ("train a reward model and then PPO — or actually just DPO on {dpo}, beta 0.1", ["preference"], {0: {"beta": 0.1}}),
        ("сделай PPO, или лучше просто DPO на {dpo}", ["preference"], {0: {"method": "dpo"}}),
        ("SFT → DPO (beta 0.1) → SimPO? no, skip SimPO — then fold the adapter", ["sft", "preference", "merge_adapter"],
         {1: {"method": "dpo", "beta": 0.1}}),
        ("SFT на {sft}, потом SimPO… нет, пропусти SimPO", ["sft"], {}),
        ('{{"r": 16, "lora_alpha": 16, "lora_dropout": 0.05}} SFT on {sft}', ["sft"], {0: {"r": 16, "alpha": 16, "dropout": 0.05}}),
        ("--train_type lora --lora_rank 8 --train_on_inputs false on {sft}", ["sft"], {0: {"adapter": "lora", "r": 8}}),
        ("train_type: full, learning_rate: 1e-5, {sft}", ["sft"], {0: {"adapter": "none", "learning_rate": 1e-5}}),
        ("SFT on {sft}, val_set_size 0.05", ["sft"], {0: {"eval_fraction": 0.05}}),
        ("SFT on {sft}, hold out 5% for eval", ["sft"], {0: {"eval_fraction": 0.05}}),
        ("SFT на {sft}, 20% на валидацию", ["sft"], {0: {"eval_fraction": 0.2}}),
        ("DPO on {dpo}: trained with lr 5e-7, beta 0.1 for 3 epochs, batch 8", ["preference"],
         {0: {"learning_rate": 5e-7, "beta": 0.1, "epochs": 3, "batch_size": 8}}),
        ("--batch_size 128 --micro_batch_size 4 --num_epochs 3 --lora_r 8 on {sft}", ["sft"],
         {0: {"batch_size": 4, "gradient_accumulation": 32, "epochs": 3, "r": 8}}),
        ("сделай SFT на {sft} с lr 1e-4 и два прохода по данным", ["sft"], {0: {"epochs": 2, "learning_rate": 1e-4}}),
        ("fine-tune the model for 1000 iterations on {sft}", ["sft"], {0: {"max_steps": 1000}}),
        ("train on {sft} for half an epoch", ["sft"], {0: {"epochs": 0.5}}),
        ("дообучи на {sft} полэпохи", ["sft"], {0: {"epochs": 0.5}}),
        ("SFT on {sft} with a constant learning rate of 1e-5", ["sft"], {0: {"lr_scheduler_type": "constant", "learning_rate": 1e-5}}),
        ("merge {partner} into it with weights 0.5 each", ["merge_models"], {0: {"weights": [0.5, 0.5]}}),
        ("слей {partner} и {model} линейно, 70 на 30", ["merge_models"], {0: {"method": "linear", "weights": [0.7, 0.3]}}),
        ("task arithmetic: прибавь к базовой модели {partner} с весом 0.8", ["merge_models"],
         {0: {"models": ["{partner}"], "weights": [0.8], "method": "task_arithmetic"}}),
        ("SimPO on {dpo}, beta 2.0, gamma 0.5", ["preference"], {0: {"method": "simpo", "simpo_gamma": 0.5}}),
        ("KTO on {kto}, desirable_weight 1.0, undesirable_weight 1.5", ["preference"],
         {0: {"desirable_weight": 1.0, "undesirable_weight": 1.5}}),
        ("SFT on {sft}, all modules except o_proj", ["sft"],
         {0: {"target_modules": ["down_proj", "gate_proj", "k_proj", "q_proj", "up_proj", "v_proj"]}}),
        ("SFT on {sft}, all linear layers but not down_proj", ["sft"],
         {0: {"target_modules": ["gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]}}),
        ("no LoRA on the MLP, SFT on {sft}", ["sft"], {0: {"adapter": "lora", "target_modules": ["k_proj", "o_proj", "q_proj", "v_proj"]}}),
        ("LoRA on q and v only, {sft}", ["sft"], {0: {"target_modules": ["q_proj", "v_proj"]}}),
        ("SFT on {sft}, don't save in bf16, keep fp32", ["sft"], {}),
        ("SFT on {sft}, alpha = 2 * r, r = 8", ["sft"], {0: {"r": 8, "alpha": 16}}),
        ("alpha equal to the rank, r=32, {sft}", ["sft"], {0: {"r": 32, "alpha": 32}}),
        ("ранг 16, альфа равна рангу, {sft}", ["sft"], {0: {"r": 16, "alpha": 16}}),
        ("SFT, one and a half epochs on {sft}", ["sft"], {0: {"epochs": 1.5}}),
        ("SFT, полторы эпохи на {sft}", ["sft"], {0: {"epochs": 1.5}}),
        ("SFT on {sft} without gradient clipping", ["sft"], {0: {"max_grad_norm": 0.0}}),
        ("SFT на {sft} без клиппинга градиентов", ["sft"], {0: {"max_grad_norm": 0.0}}),
        ("SFT на {sft}, шедулер cosine", ["sft"], {0: {"lr_scheduler_type": "cosine"}}),
        ("SFT on {sft} с накоплением градиентов в восемь шагов", ["sft"], {0: {"gradient_accumulation": 8, "max_steps": None}}),
        ("SFT on {sft}, max_length=2_048", ["sft"], {0: {"max_length": 2048}}),
        ("SFT on {sft}, max shard size 2GB", ["sft"], {}),
        ("LoRA only on v_proj, rank 2", ["sft"], {0: {"target_modules": ["v_proj"], "r": 2}}),
        ("Before DPO on {dpo}, do SFT on {sft} with r 8", ["sft", "preference"], {0: {"r": 8}}),
        ("DPO на {dpo}, но перед этим SFT на {sft}", ["sft", "preference"], {0: {"dataset": "{sft}"}}),
        ("DPO on {dpo}, but first SFT on {sft}", ["sft", "preference"], {1: {"dataset": "{dpo}"}}),
        ("SFT on {sft} then DPO on {dpo}, both with r 32 and 2 epochs", ["sft", "preference"],
         {0: {"r": 32, "epochs": 2}, 1: {"r": 32, "epochs": 2}}),
        ("SFT на {sft}, потом DPO на {dpo}, у обоих ранг 8", ["sft", "preference"], {0: {"r": 8}, 1: {"r": 8}}),
        ("SFT on {sft}, then DPO on {dpo}. Use lr 1e-5 for everything", ["sft", "preference"],
         {0: {"learning_rate": 1e-5}, 1: {"learning_rate": 1e-5}}),
        ("ties merge of {partner} and {model}, use {other_model} as the base", ["merge_models"],
         {0: {"base": "{other_model}", "models": ["@base", "{partner}"]}}),
        ("слей {partner} и {model} через ties, {other_model} как базу", ["merge_models"], {0: {"base": "{other_model}"}}),
        ("ties merge of {partner} on top of {other_model} as base", ["merge_models"],
         {0: {"base": "{other_model}", "models": ["{partner}"]}}),
        ("merge {partner}, {other_model} and the base equally with linear", ["merge_models"],
         {0: {"models": ["@base", "{partner}", "{other_model}"]}}),
        ("SFT on {sft} with dropout 5%", ["sft"], {0: {"dropout": 0.05}}),
        ("SFT on {sft}, 10% warmup", ["sft"], {0: {"warmup_steps": 0.1}}),
        ("SFT on {sft}, warmup 3%", ["sft"], {0: {"warmup_steps": 0.03}}),
        ("SFT on {sft} then DPO on {dpo}, lr 1e-4 for SFT, 5e-6 for DPO", ["sft", "preference"],
         {0: {"learning_rate": 1e-4}, 1: {"learning_rate": 5e-6}}),
        ("SFT on {sft}, lr 1e-4 (not 2e-4)", ["sft"], {0: {"learning_rate": 1e-4}}),
        ("SFT on {sft}, batch 8 instead of 4", ["sft"], {0: {"batch_size": 8}}),
        ("SFT на {sft}, рангом 8 вместо 16", ["sft"], {0: {"r": 8}}),
        ("SFT on {sft}, not 3 epochs but 2", ["sft"], {0: {"epochs": 2}}),
        ("SFT на {sft}, не 3 эпохи, а 2", ["sft"], {0: {"epochs": 2}}),
        ("freeze the attention layers and train on {sft}", ["sft"], {0: {"target_modules": ["down_proj", "gate_proj", "up_proj"]}}),
        ("Заморозь attention и обучи на {sft}", ["sft"], {0: {"target_modules": ["down_proj", "gate_proj", "up_proj"]}}),
        ("lora on everything but gate_proj, {sft}", ["sft"],
         {0: {"target_modules": ["down_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]}}),
        ("leave q_proj and k_proj frozen, sft {sft}", ["sft"],
         {0: {"target_modules": ["down_proj", "gate_proj", "o_proj", "up_proj", "v_proj"]}}),
        ("q_proj и k_proj оставь замороженными, sft {sft}", ["sft"],
         {0: {"target_modules": ["down_proj", "gate_proj", "o_proj", "up_proj", "v_proj"]}}),
        ("keep layers 10 and 11 frozen, SFT on {sft}", ["sft"], {0: {"layers": list(range(10))}}),
        ("Обучи на {sft}, слои 10 и 11 заморожены", ["sft"], {0: {"layers": list(range(10))}}),
        ("sft on {sft} without training layers 0-3", ["sft"], {0: {"layers": list(range(4, 12))}}),
        ("fine-tune {sft} on the top 25% of layers", ["sft"], {0: {"layers": [9, 10, 11]}}),
        ("sft on {sft} layers=0-3 r=8", ["sft"], {0: {"layers": [0, 1, 2, 3], "r": 8}}),
        ("sft on {sft} with dora instead of lora", ["sft"], {0: {"adapter": "dora"}}),
        ("DoRA, а не LoRA, {sft}", ["sft"], {0: {"adapter": "dora"}}),
        ("SFT on {sft}, no eval", ["sft"], {0: {"eval_fraction": 0.0}}),
        ("SFT on {sft}, a dozen epochs", ["sft"], {0: {"epochs": 12}}),
        ("обучи ранг 16 на q и v проекциях", ["sft"], {0: {"target_modules": ["q_proj", "v_proj"], "r": 16}}),
        ("LoRA on the q/k/v projections", ["sft"], {0: {"target_modules": ["k_proj", "q_proj", "v_proj"]}}),
        ("• SFT on {sft}, r 16 • DPO on {dpo}, beta 0.25 • merge adapter • bf16 → {out}/Final",
         ["sft", "preference", "merge_adapter"], {1: {"beta": 0.25}}),
    ],
)  # fmt: skip
def test_a_setting_graft_reads_is_planned(world: dict[str, str], goal: str, kinds: list[str], want: dict) -> None:
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    stages = [s for s in outcome.plan.stages if s.kind != "write"]
    assert [s.kind for s in stages] == kinds
    for i, fields in want.items():
        for name, value in fields.items():
            value = value.format(**world) if isinstance(value, str) else value
            value = (
                [v.format(**world) if isinstance(v, str) else v for v in value] if isinstance(value, list) else value
            )
            assert getattr(stages[i], name) == value, (goal, name)
    if "shard" in goal:
        assert outcome.plan.stages[-1].max_shard_size == "2GB"
    if "keep fp32" in goal:
        assert outcome.plan.stages[-1].dtype == "float32"
    if "bf16 →" in goal:
        assert outcome.plan.stages[-1].dtype == "bfloat16" and outcome.plan.output == world["out"] + "/Final"


@pytest.mark.parametrize(
    ("goal", "layers"),
    [
        ("SFT on chat.jsonl, but not on layers 0-3", list(range(4, 12))),
        ("SFT на chat.jsonl, но не на слоях 0-3", list(range(4, 12))),
        ("LoRA on the 3rd to 6th layers", [2, 3, 4, 5]),
        ("second through fifth layers", [1, 2, 3, 4]),
        ("2nd-4th layers", [1, 2, 3]),
        ("layers 4+ only", list(range(4, 12))),
        ("layers 8 onwards", [8, 9, 10, 11]),
        ("from layer 6 to the end", list(range(6, 12))),
        ("со слоя 6 и выше", list(range(6, 12))),
        ("начиная с 8 слоя", [8, 9, 10, 11]),
        ("на слоях до 3-го включительно", [0, 1, 2]),
        ("layers >= 8", [8, 9, 10, 11]),
        ("layers up to 5", [0, 1, 2, 3, 4, 5]),
        ("layers (4 through 7 inclusive)", [4, 5, 6, 7]),
        ("layers 2-5 and 9", [2, 3, 4, 5, 9]),
    ],
)
def test_layer_shapes_seen_by_the_red_team_are_read(goal: str, layers: list[int]) -> None:
    """Each was planned on other layers (an exclusion on exactly the excluded ones) or on one layer, silently."""
    assert [f.value for f in goal_facts(goal, 12) if f.slot == "layers"] == [layers]


def test_the_middle_layers_without_a_count_is_a_question(world: dict[str, str]) -> None:
    for goal in ("LoRA on the middle layers, {sft}", "обучи на средних слоях, {sft}"):
        outcome = _outcome(world, goal)
        assert outcome.plan is None and outcome.question, goal
        assert "which layers" in outcome.question or "какие слои" in outcome.question, goal


@pytest.mark.parametrize(
    ("goal", "guess"),
    [
        ("SFT on {sft}; learnnig rate 3e-4", "learning rate 3e-4"),
        ("lora ranc 8 on {sft}", "rank 8"),
        ("SFT, eppochs 3", "epochs 3"),
    ],
)
def test_a_misspelt_setting_is_asked_about_with_the_likely_name(world: dict[str, str], goal: str, guess: str) -> None:
    outcome = _outcome(world, goal)
    assert outcome.plan is None and f"did you mean {guess}?" in (outcome.question or "")


@pytest.mark.parametrize(
    ("goal", "values"),
    [
        (
            "finetune on {sft} w/ lora rank 16, lerning rate 1e-4, 2 epcohs, max lenght 512",
            {"learning_rate": 1e-4, "epochs": 2.0, "max_length": 512},
        ),
        ("SFT on {sft}, learnign rate 3e-4, 3 epoches", {"learning_rate": 3e-4, "epochs": 3.0}),
    ],
)
def test_the_commonest_typos_of_setting_words_are_read_as_those_settings(
    world: dict[str, str], goal: str, values: dict[str, float]
) -> None:
    """A typo seen in every tracker ('lerning rate', 'epcohs', 'lenght') is read, not asked about; the review
    shows the setting it was read as."""
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    stage = outcome.plan.stages[0]
    assert {k: getattr(stage, k) for k in values} == values


@pytest.mark.parametrize(
    ("goal", "slot", "value"),
    [
        ("KTO, бета 0.1, без DoRA", "adapter", "lora"),
        ("DPO without DoRA", "adapter", "lora"),
        ("no packing", "packing", False),
        ("gradient_checkpointing: true", "gradient_checkpointing", True),
        ("LoRA on all modules except the MLP", "role", "not mlp"),
        ("LoRA на внимание", "role", "attention"),
    ],
)
def test_switches_and_left_out_modules_are_facts(goal: str, slot: str, value: object) -> None:
    assert any(f.slot == slot and f.value == value for f in goal_facts(goal, 12)), goal_facts(goal, 12)
