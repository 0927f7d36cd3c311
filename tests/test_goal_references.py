"""Values said by reference, corrections of selections, exclusions said after the thing, and requests Graft
has no setting for: each is planned as meant or asked about, never planned as if unsaid.

The classes come from red-team pass 3 (367 fresh goals, 31 silent): "DPO at half that rank" planned the
SFT's rank, "layers 2 through 4 -- sorry, 2 through 5" kept 2-4, "первые 4 слоя не обучать" trained exactly
those four, "attention projections but not o_proj" added the MLP, "the first 1000 examples" trained on all
rows, and "lr 0,0001" was refused with the schema's sentence.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.goal_facts import check_plan_against_goal, goal_facts
from agent.goal_numbers import spelled_numbers
from agent.offline_planner import plan_offline
from agent.plan import plan_from_data
from agent.planner import PlanRequest
from tools.errors import GraftError
from tools.tiny_data import dpo_rows, kto_rows, sft_rows, write_jsonl


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    import shutil

    from tools.tiny import TinyModelArgs, build_tiny_model

    root = tmp_path_factory.mktemp("references")
    model = root / "base"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(model), num_layers=12))
    for name in ("partner", "partner2"):
        shutil.copytree(model, root / name)
    return {
        "model": str(model),
        "partner": str(root / "partner"),
        "partner2": str(root / "partner2"),
        "sft": str(write_jsonl(root / "chat.jsonl", sft_rows(12))),
        "dpo": str(write_jsonl(root / "prefs.jsonl", dpo_rows(12))),
        "kto": str(write_jsonl(root / "thumbs.jsonl", kto_rows(12))),
        "out": str(root / "out"),
    }


def _outcome(world: dict[str, str], goal: str):  # type: ignore[no-untyped-def]
    return plan_offline(PlanRequest(goal=goal.format(**world), model=world["model"], data=[world["sft"], world["dpo"]]))


ALL_BUT_LAST = list(range(11))
BRANCHED = ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"]
PLANNED = [
    # values said by reference to another stage
    ("SFT on {sft} at lr 2e-5, r 16, then DPO on {dpo} with the same lr", ["sft", "preference"], {1: {"learning_rate": 2e-5}}),
    ("SFT on {sft} r 32 then DPO on {dpo} at half that rank", ["sft", "preference"], {0: {"r": 32}, 1: {"r": 16}}),
    ("SFT on {sft} lr 1e-4 then DPO on {dpo} with a 10x lower lr", ["sft", "preference"], {1: {"learning_rate": 1e-5}}),
    ("SFT on {sft} lr 2e-4, DPO on {dpo}, lr 10x lower", ["sft", "preference"], {1: {"learning_rate": 2e-5}}),
    ("SFT on {sft} with lr 1e-4; DPO on {dpo} with lr a tenth of that", ["sft", "preference"], {1: {"learning_rate": 1e-5}}),
    ("SFT on {sft} for 6 epochs, then DPO on {dpo} for one third as many", ["sft", "preference"], {1: {"epochs": 2}}),
    ("SFT on {sft} with lr 1e-4, 3 epochs, batch 8; DPO on {dpo} with the same settings but beta 0.2",
     ["sft", "preference"], {1: {"learning_rate": 1e-4, "epochs": 3, "batch_size": 8, "beta": 0.2}}),
    ("SFT on {sft} with alpha 64 and lr 1e-4; for DPO on {dpo} keep everything the same but beta 0.2",
     ["sft", "preference"], {1: {"alpha": 64, "learning_rate": 1e-4, "beta": 0.2}}),
    ("SFT на {sft}: lr 1e-4, ранг 32. Потом DPO на {dpo} с тем же lr, ранг вдвое меньше",
     ["sft", "preference"], {1: {"learning_rate": 1e-4, "r": 16}}),
    ("SFT на {sft} с lr 1e-4, DPO на {dpo} — lr такой же", ["sft", "preference"], {1: {"learning_rate": 1e-4}}),
    ("SFT на {sft}, 2 эпохи, lr 1e-4; затем DPO на {dpo}, lr как у SFT", ["sft", "preference"], {1: {"learning_rate": 1e-4}}),
    ("SFT on {sft}, 3 epochs; DPO on {dpo}: same as SFT", ["sft", "preference"], {1: {"epochs": 3}}),
    # "first" orders the stages
    ("DPO on {dpo}, but use lr 2e-5 for SFT on {sft} first", ["sft", "preference"], {0: {"learning_rate": 2e-5}}),
    ("DPO на {dpo}; сначала SFT на {sft}", ["sft", "preference"], {}),
    ("DPO on {dpo} with lr 10x lower than SFT's, SFT on {sft} at 2e-4 first",
     ["sft", "preference"], {0: {"learning_rate": 2e-4}, 1: {"learning_rate": 2e-5}}),
    # corrections of selections
    ("SFT on {sft} with LoRA on layers 2 through 4 -- sorry, 2 through 5", ["sft"], {0: {"layers": [2, 3, 4, 5]}}),
    ("SFT на {sft}, слои 2-4, точнее 2-6", ["sft"], {0: {"layers": [2, 3, 4, 5, 6]}}),
    ("SFT on {sft}, linear schedule -- actually cosine", ["sft"], {0: {"lr_scheduler_type": "cosine"}}),
    ("SFT on {sft} targeting q_proj, k_proj... actually just q_proj and v_proj", ["sft"], {0: {"target_modules": ["q_proj", "v_proj"]}}),
    ("merge {partner} and {partner2} using slerp -- no, TIES with density 0.5", ["merge_models"], {0: {"method": "ties"}}),
    ("слей {partner} и {partner2} через slerp — нет, через TIES", ["merge_models"], {0: {"method": "ties"}}),
    # exclusions said after or around what they leave out
    ("SFT on {sft} using LoRA but don't train the embeddings or the last layer", ["sft"], {0: {"layers": ALL_BUT_LAST}}),
    ("LoRA на {sft}, не трогай эмбеддинги и последний слой", ["sft"], {0: {"layers": ALL_BUT_LAST}}),
    ("SFT на {sft}, первые 4 слоя не обучать", ["sft"], {0: {"layers": list(range(4, 12))}}),
    ("SFT на {sft}, слои 0-5 заморозить", ["sft"], {0: {"layers": list(range(6, 12))}}),
    ("SFT on {sft}, leave the first four layers untouched", ["sft"], {0: {"layers": list(range(4, 12))}}),
    ("SFT on {sft}, leave the last two layers alone", ["sft"], {0: {"layers": list(range(10))}}),
    ("SFT on {sft}, up to layer 5", ["sft"], {0: {"layers": [0, 1, 2, 3, 4, 5]}}),
    ("SFT на {sft}, с 6-го слоя и выше", ["sft"], {0: {"layers": list(range(5, 12))}}),
    ("SFT на {sft}, слои с 6-го до конца", ["sft"], {0: {"layers": list(range(5, 12))}}),
    ("SFT on {sft}, target attention projections but not o_proj", ["sft"], {0: {"target_modules": ["k_proj", "q_proj", "v_proj"]}}),
    ("SFT на {sft}, только внимание, без o_proj", ["sft"], {0: {"target_modules": ["k_proj", "q_proj", "v_proj"]}}),
    ("SFT on {sft}, exclude the MLP down projection",
     ["sft"], {0: {"target_modules": ["gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]}}),
    ("SFT на {sft}, не LoRA, а DoRA", ["sft"], {0: {"adapter": "dora"}}),
    # merges
    ("TIES merge {partner} and {partner2} on {model}, keep only the top 20% of deltas", ["merge_models"], {0: {"density": 0.2}}),
    ("dare_ties merge of {partner} and {partner2} over {model}, drop 90% of the deltas", ["merge_models"], {0: {"density": 0.1}}),
    ("linear merge of {partner} with the base, 70/30",
     ["merge_models"], {0: {"models": ["{partner}", "@base"], "weights": [0.7, 0.3]}}),
    ("сначала SFT на {sft}, потом смешай результат с исходной моделью 70 на 30",
     ["sft", "merge_adapter", "merge_models"], {2: {"method": "linear", "weights": [0.7, 0.3]}}),
    ("merge {model} with {partner}, thirty percent ours",  # a share in words was an unplaced 'thirty'
     ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.3, 0.7]}}),
    ("слей {model} с {partner}, семьдесят процентов наша",
     ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    # numbers as people paste them, and the hardware
    ("SFT на {sft}, три эпохи, скорость обучения одна десятитысячная", ["sft"], {0: {"learning_rate": 1e-4, "epochs": 3}}),
    ("SFT on {sft}, lr 2·10^-5", ["sft"], {0: {"learning_rate": 2e-5}}),
    ("SFT на {sft}, lr 0,0001, 1,5 эпохи", ["sft"], {0: {"learning_rate": 1e-4, "epochs": 1.5}}),
    ("DPO on {dpo}, beta 0,1, lr 1 × 10⁻⁶", ["preference"], {0: {"beta": 0.1, "learning_rate": 1e-6}}),
    ("SFT on {sft} lr 3e−5", ["sft"], {0: {"learning_rate": 3e-5}}),
    ("SFT on {sft} on 4 GPUs with FSDP", ["sft"], {0: {"gpus": 4, "distributed": "fsdp"}}),
    # red-team pass 4
    ("SFT on {sft} at lr 2e-4, then DPO on {dpo} at a twentieth of that", ["sft", "preference"], {1: {"learning_rate": 1e-5}}),
    ("SFT on {sft} with lr 1e-4; DPO on {dpo} with lr one tenth of the SFT's", ["sft", "preference"], {1: {"learning_rate": 1e-5}}),
    ("SFT on {sft} with alpha thrice the rank, rank 8", ["sft"], {0: {"r": 8, "alpha": 24}}),
    ("DPO on {dpo} using the sft'd model as reference, after sft on {sft}", ["sft", "preference"], {}),
    ('LoraConfig(r=32, lora_alpha=32, lora_dropout=0.1, target_modules=["o_proj","down_proj"]) then SFTTrainer on {sft} '
     "with max_seq_length=512", ["sft"], {0: {"r": 32, "dropout": 0.1, "max_length": 512}}),
    ("SFT on {sft} w/ r=64 alpha=128, then DPO on {dpo} with half that rank, alpha same as its rank",
     ["sft", "preference"], {1: {"r": 32, "alpha": 32}}),
    ("sft on {sft} lr 2e-4 for 2 epoches, then dpo on {dpo} beta 0.1 at a tenth of the sft lr",
     ["sft", "preference"], {0: {"epochs": 2}, 1: {"learning_rate": 2e-5}}),
    ("LoRA on every layer exept the last two, r 8, data {sft}", ["sft"], {0: {"layers": list(range(10))}}),
    ("SFT на {sft}, все слои, кроме 0-3", ["sft"], {0: {"layers": list(range(4, 12))}}),
    ("SFT на {sft}, четыре эпохи — не, многовато, две. lr 1e-4", ["sft"], {0: {"epochs": 2}}),
    ("DPO on {dpo} with IPO loss, on second thought use sigmoid", ["preference"], {0: {"loss_type": "sigmoid"}}),
    ("SFT на {sft}, слои 0-5, хотя лучше 6-11", ["sft"], {0: {"layers": list(range(6, 12))}}),
    ("слей {partner} с открытой моделью, веса 1 и 1", ["merge_models"], {0: {"method": "linear", "weights": [1.0, 1.0]}}),
    # red-team pass 5
    ("SFT then DPO then merge the DPO result with {partner} via slerp t=0.4 -> {out}",
     ["sft", "preference", "merge_adapter", "merge_models"], {3: {"t": 0.4}}),
    ("Этап 1: SFT {sft} r=16. Этап 2: DPO {dpo} beta=0.1. Этап 3: TIES с {partner}, плотность 0.6. Выход: {out}",
     ["sft", "preference", "merge_adapter", "merge_models"], {3: {"density": 0.6}}),
    ("Сначала SFT, затем слей адаптер с базой, затем DPO с бетой 0.2", ["sft", "merge_adapter", "preference"], {2: {"beta": 0.2}}),
    ("SFT на {sft} 2 эпохи -> слияние -> DPO на {dpo} бета 0.1 -> слияние -> запись в {out}",
     ["sft", "merge_adapter", "preference", "merge_adapter"], {}),
    ("DPO, not IPO, with beta 0.25", ["preference"], {0: {"loss_type": "sigmoid", "beta": 0.25}}),
    ("DPO, а не IPO, бета 0.25", ["preference"], {0: {"loss_type": "sigmoid"}}),
    ("First train SFT on {sft}; afterwards, instead of DPO use KTO on {dpo}", ["sft", "preference"], {1: {"method": "kto"}}),
    ("ORPO on {dpo}, batch size 2 with 8 grad accumulation steps", ["preference"], {0: {"gradient_accumulation": 8}}),
    ("SFT on {sft}, then DPO on {dpo} using the same LoRA settings as the SFT (r 32, alpha 64)",
     ["sft", "preference"], {0: {"r": 32, "alpha": 64}, 1: {"r": 32, "alpha": 64}}),
    ("SFT на {sft} с константным lr 1e-4", ["sft"], {0: {"lr_scheduler_type": "constant", "learning_rate": 1e-4}}),
    ("DPO on {dpo} with loss types sigmoid and sft, weights 1.0 and 0.5 (RPO style)",
     ["preference"], {0: {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.5]}}),
    ("DPO с потерями sigmoid и sft, веса 1.0 и 1.0, {dpo}",
     ["preference"], {0: {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 1.0]}}),
    ("lora rank 16 on layers 0-3 and 8-11 on {sft}", ["sft"], {0: {"layers": [0, 1, 2, 3, 8, 9, 10, 11]}}),
    ("I want DPO on {dpo} with lr of five e minus seven", ["preference"], {0: {"learning_rate": 5e-7}}),
    ("DPO на {dpo} с lr пять на десять в минус седьмой", ["preference"], {0: {"learning_rate": 5e-7}}),
    ("train attention on every other layer (0,2,4,...,10), r 8, {sft}", ["sft"], {0: {"layers": [0, 2, 4, 6, 8, 10]}}),
    ("SFT on {sft} with seq len 512 and effective batch size 32 (per-device 4)",
     ["sft"], {0: {"batch_size": 4, "gradient_accumulation": 8, "max_length": 512}}),
    ("SFT на {sft} с эффективным батчем 32 при батче 4 на устройство", ["sft"], {0: {"gradient_accumulation": 8}}),
    ("Линейное слияние трёх моделей: текущая, {partner}, {partner2}, веса поровну",
     ["merge_models"], {0: {"models": ["@base", "{partner}", "{partner2}"]}}),
    ("KTOConfig(beta=0.1, desirable_weight=1.2, undesirable_weight=1.0, learning_rate=5e-7), data {dpo}",
     ["preference"], {0: {"method": "kto", "desirable_weight": 1.2}}),
    ("DPO на {dpo} на двух видеокартах, deepspeed zero-3", ["preference"], {0: {"gpus": 2, "distributed": "deepspeed"}}),
    # two branches from the base, then merged (red-team pass 5)
    ("SFT on {sft} and separately ORPO on {dpo}, then TIES the two results together",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {2: {"input": "@base", "method": "orpo"}, 4: {"method": "ties", "models": ["@sft-merged", "@orpo-merged"]}}),
    ("SFT на {sft}, отдельно ORPO на {dpo}, потом TIES-слияние обоих результатов",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {2: {"input": "@base"}, 4: {"models": ["@sft-merged", "@orpo-merged"]}}),
    ("SFT on {sft}; separately, DPO on {dpo} from the base; then merge the two with slerp t=0.5",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {2: {"input": "@base"}, 4: {"method": "slerp", "t": 0.5}}),
    # a ratio of two members' weights, for a merge that normalises them
    ("merge {partner} and {partner2} with ties but weight the second one twice as much as the first",
     ["merge_models"], {0: {"models": ["{partner}", "{partner2}"], "weights": [1.0, 2.0]}}),
    ("слей {partner} и {partner2} через ties, второй с весом вдвое больше первого",
     ["merge_models"], {0: {"weights": [1.0, 2.0]}}),
    # module shorthand, the SFT named by its adapter, values with the stage named before them
    ("lora rank 16 on gate/up/down of layers 0-3 and 8-11, {sft}",
     ["sft"], {0: {"target_modules": ["down_proj", "gate_proj", "up_proj"], "layers": [0, 1, 2, 3, 8, 9, 10, 11]}}),
    ("KTO with thumbs up/down data", ["preference"], {0: {"method": "kto", "target_modules": []}}),
    ("merge and unload the SFT adapter, then do orpo", ["sft", "merge_adapter", "preference"], {2: {"method": "orpo"}}),
    ("lr для SFT 2e-4, а для DPO 1e-5", ["sft", "preference"], {0: {"learning_rate": 2e-4}, 1: {"learning_rate": 1e-5}}),
    ("lr для SFT 2e-4, а для DPO в десять раз меньше", ["sft", "preference"], {1: {"learning_rate": 2e-5}}),
    ("lr 1e-4 for SFT, for DPO ten times lower", ["sft", "preference"], {1: {"learning_rate": 1e-5}}),
    # shapes of the earlier red-team passes' unnecessary questions
    ("DPO на {dpo} с loss_type ipo и бетой 0.5, результат в {out}", ["preference"], {0: {"beta": 0.5}}),
    ("слей три модели: {model}, {partner}, {partner2} — веса 0.5, 0.3, 0.2",
     ["merge_models"], {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.3, 0.2]}}),
    ("DPO on {dpo}, beta not 0.1 but 0.25", ["preference"], {0: {"beta": 0.25}}),
    ("DPO на {dpo}, бета не 0.1, а 0.25", ["preference"], {0: {"beta": 0.25}}),
    ("sft on {sft} on layers 3 to 8 but skip 5", ["sft"], {0: {"layers": [3, 4, 6, 7, 8]}}),
    ("train the middle layers only (4 to 7 inclusive) on {sft}", ["sft"], {0: {"layers": [4, 5, 6, 7]}}),
    ("merge {partner} into the base linearly, weights 0.75 for the base and 0.25 for {partner}",
     ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("линейно слей {partner} и {partner2}: 0.7 для {partner2}, 0.3 для {partner}",
     ["merge_models"], {0: {"models": ["{partner2}", "{partner}"], "weights": [0.7, 0.3]}}),
    ("We trained with DPO (beta=0.1) on {dpo} for 1 epoch after an SFT stage on {sft}; learning rates were 5e-7 and "
     "2e-5 respectively.", ["sft", "preference"], {0: {"learning_rate": 2e-5}, 1: {"learning_rate": 5e-7}}),
    ("SFT на {sft}, потом DPO на {dpo}, lr 2e-4 и 5e-6 соответственно",
     ["sft", "preference"], {0: {"learning_rate": 2e-4}, 1: {"learning_rate": 5e-6}}),
    ("SFT on {sft} with a global batch of 64 on 8 GPUs, 2 per device",
     ["sft"], {0: {"batch_size": 2, "gpus": 8, "gradient_accumulation": 4}}),
    ("SFT на {sft}, эффективный батч 64 на 8 картах по 2 на карту", ["sft"], {0: {"gradient_accumulation": 4}}),
    ("SFT on {sft} with batch size 16 (effective), micro batch 4",
     ["sft"], {0: {"batch_size": 4, "gradient_accumulation": 4}}),
    ("SFT on {sft} with lr 2e-4; DPO on {dpo} at 1/40 of that", ["sft", "preference"], {1: {"learning_rate": 5e-6}}),
    ("SFT on {sft} with lr 5e-5 and then 1e-5 for DPO on {dpo}",
     ["sft", "preference"], {0: {"learning_rate": 5e-5}, 1: {"learning_rate": 1e-5}}),
    ("sft on {sft} but freeze the first half of the layers (lora on the rest)",
     ["sft"], {0: {"layers": [6, 7, 8, 9, 10, 11]}}),
    ("LoRA on {sft} for all layers except the first half", ["sft"], {0: {"layers": [6, 7, 8, 9, 10, 11]}}),
    ("SFT on {sft} on all the projection matrices except the k projection",
     ["sft"], {0: {"target_modules": ["down_proj", "gate_proj", "o_proj", "q_proj", "up_proj", "v_proj"]}}),
    ("LoRA on {sft}, attention only but not the q and k projections", ["sft"], {0: {"target_modules": ["o_proj", "v_proj"]}}),
    ("after the SFT on {sft}, average the result with the original model 50/50",
     ["sft", "merge_adapter", "merge_models"], {2: {"method": "linear", "weights": [0.5, 0.5]}}),
    ("task_arithmetic with {partner} weight 1.0 relative to {model} as base",
     ["merge_models"], {0: {"models": ["{partner}"], "weights": [1.0]}}),
    ("task arithmetic: {partner} с весом 0.8 поверх базовой модели", ["merge_models"], {0: {"weights": [0.8]}}),
    ("SLERP between the original model and {partner}, favouring {partner} 3 to 1",
     ["merge_models"], {0: {"models": ["@base", "{partner}"], "t": 0.75}}),
    ("slerp {partner} and {partner2}, favouring {partner} 3:1", ["merge_models"], {0: {"t": 0.25}}),
    ("LoRA on query and value, SFT on {sft}", ["sft"], {0: {"target_modules": ["q_proj", "v_proj"]}}),
    ("LoRA on q,k,v,o and gate, SFT on {sft}",
     ["sft"], {0: {"target_modules": ["gate_proj", "k_proj", "o_proj", "q_proj", "v_proj"]}}),
    ("LoRA on the up and down projections, SFT on {sft}", ["sft"], {0: {"target_modules": ["down_proj", "up_proj"]}}),
    ("linear merge: 70% {partner}, 30% {partner2}", ["merge_models"], {0: {"weights": [0.7, 0.3]}}),
    ("linear merge: {partner2} 0.7, {partner} 0.3",
     ["merge_models"], {0: {"models": ["{partner2}", "{partner}"], "weights": [0.7, 0.3]}}),
    ("SFT on {sft}, 2e-4 lr, 16 rank", ["sft"], {0: {"r": 16, "learning_rate": 2e-4}}),
    # red-team pass 7's silent plans
    ("model = FastLanguageModel.get_peft_model(model, r = 16, target_modules = [\"q_proj\", \"v_proj\"], lora_alpha = 16, "
     "lora_dropout = 0) then train on {sft}", ["sft"], {0: {"target_modules": ["q_proj", "v_proj"], "alpha": 16}}),
    ("дпо с лоссом apo_zero, лр 5e-7, 2 эпохи", ["preference"], {0: {"method": "dpo", "loss_type": "apo_zero"}}),
    ("merge {partner} and {partner2} (60/40) with linear, but keep {model} out of it",
     ["merge_models"], {0: {"models": ["{partner}", "{partner2}"], "weights": [0.6, 0.4]}}),
    ("сфт на {sft} с ранком 8, дпо на {dpo} с ранком 4, оба только на v_proj",
     ["sft", "preference"], {0: {"r": 8, "target_modules": ["v_proj"]}, 1: {"r": 4, "target_modules": ["v_proj"]}}),
    ("dare_ties: {partner} weight 0.5 density 0.7, {partner2} weight 0.5 density 0.7, base {model}, seed 42",
     ["merge_models"], {0: {"seed": 42, "density": 0.7}}),
    ("сначала SFT на {sft} 2 эпохи, потом ORPO на {dpo} с бетой 0.1, все на слоях 6-11",
     ["sft", "preference"], {0: {"layers": [6, 7, 8, 9, 10, 11]}, 1: {"layers": [6, 7, 8, 9, 10, 11]}}),
    ("SFT on {sft} for 100 steps with warmup 10 steps and cosine", ["sft"], {0: {"lr_scheduler_type": "cosine"}}),
    ("two epochs of SFT on {sft}, then 1 epoch DPO on {dpo}, both at lr 1e-5",
     ["sft", "preference"], {0: {"epochs": 2, "learning_rate": 1e-5}, 1: {"epochs": 1, "learning_rate": 1e-5}}),
    ("ORPO on {dpo}, then merge with {partner} and {partner2} using ties (weights 0.5 0.25 0.25), {out}",
     ["preference", "merge_adapter", "merge_models"], {2: {"weights": [0.5, 0.25, 0.25]}}),
    ("merge {partner} and {partner2} with dare_linear, density 0.3, weights .6/.4, {out}",
     ["merge_models"], {0: {"weights": [0.6, 0.4], "density": 0.3}}),
    ("SFT on {sft} then DPO on {dpo}, both stages only on attention",
     ["sft", "preference"], {0: {"target_modules": ["k_proj", "o_proj", "q_proj", "v_proj"]}}),
    ("SFT on {sft} then DPO on {dpo}; for both: layers 6-11, rank 8",
     ["sft", "preference"], {0: {"layers": [6, 7, 8, 9, 10, 11], "r": 8}, 1: {"layers": [6, 7, 8, 9, 10, 11]}}),
    ("SFT и DPO ({sft}, {dpo}) — у обоих ранг 8 и только слои 4-7",
     ["sft", "preference"], {0: {"layers": [4, 5, 6, 7]}, 1: {"layers": [4, 5, 6, 7]}}),
    # red-team pass 8's silent plans
    ("SFT on {sft} for 2 epochs; save the final model in bfloat16 sharded at 500MB to {out}",
     ["sft"], {0: {"epochs": 2}}),
    ("SFT with lora r 16 on {sft}, then separately SFT r 8 on {sft} with lr 1e-4, then linear merge the two results 50/50",
     ["sft", "merge_adapter", "sft", "merge_adapter", "merge_models"],
     {0: {"learning_rate": 2e-4, "r": 16}, 2: {"learning_rate": 1e-4, "r": 8}}),
    ("обучи на {sft} только MLP, без нулевого слоя, ранг 8",
     ["sft"], {0: {"layers": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], "target_modules": ["down_proj", "gate_proj", "up_proj"]}}),
    ("мерж {partner} и {partner2} линейно, второй в два раза весомее первого", ["merge_models"], {0: {"weights": [1.0, 2.0]}}),
    ("linear merge of {partner} at weight 0.7 and {partner2} at 0.3", ["merge_models"], {0: {"weights": [0.7, 0.3]}}),
    # a path ending in 'base' is not the word 'base': the partner after it is a member, not the merge's base
    ("TIES: base {model}; {partner} density 0.5 weight 0.5; {partner2} density 0.5 weight 0.3; normalize: true; "
     "int8_mask: true", ["merge_models"], {0: {"models": ["{partner}", "{partner2}"], "weights": [0.5, 0.3]}}),
    # red-team passes 8 and 9: corrections of layers, settings said late, tool configs, weights said with their owner
    ("SFT on {sft} on the last two layers, sorry, last three", ["sft"], {0: {"layers": [9, 10, 11]}}),
    ("SFT on {sft} with rank 16 on layers 2 through 4 -- sorry, 2 through 6", ["sft"], {0: {"layers": [2, 3, 4, 5, 6], "r": 16}}),
    ("обучи лору на {sft} на слоях со второго по пятый, нет, со второго по седьмой", ["sft"], {0: {"layers": [1, 2, 3, 4, 5, 6]}}),
    ("please lora the first six layers on {sft} w/ rank 4 — wait, the first four — and save as bf16", ["sft"],
     {0: {"layers": [0, 1, 2, 3], "r": 4}}),
    ("обучи с рангом 16 на {sft} на слоях 2-9, нет, 2-6, attention only", ["sft"], {0: {"layers": [2, 3, 4, 5, 6], "r": 16}}),
    ("DPO на {dpo}, лр 1e-5. А, и бету сделай 0.3", ["preference"], {0: {"beta": 0.3, "learning_rate": 1e-5}}),
    ("tune run lora_finetune_single_device model.lora_rank=8 model.lora_alpha=16 dataset.source={sft} epochs=2",
     ["sft"], {0: {"r": 8, "alpha": 16, "epochs": 2}}),
    ("линейный мерж: {partner} с весом 0.7 и {model} с весом 0.3", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.7, 0.3]}}),
    ("DPO on {dpo} with losses sigmoid and sft weighted 1.0 and 0.5", ["preference"],
     {0: {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.5]}}),
    ("SFT on {sft}, then slerp the result with {model} favouring ours 3 to 1", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "@base"], "t": 0.25}}),
    ("обучи лору на {sft} на слоях с 3 по 6 (индексы с нуля)", ["sft"], {0: {"layers": [3, 4, 5, 6]}}),
    ("LoRA on {sft}, only MLP, and skip layer 0. r=8.", ["sft"],
     {0: {"layers": list(range(1, 12)), "target_modules": ["down_proj", "gate_proj", "up_proj"], "r": 8}}),
    ("LoRA on {sft} on every layer, not layer 0", ["sft"], {0: {"layers": list(range(1, 12))}}),
    ("двенадцатый слой и одиннадцатый на {sft}, только down_proj, ранг 4", ["sft"], {0: {"layers": [10, 11], "r": 4}}),
    ("the third layer and the fifth, LoRA on {sft}", ["sft"], {0: {"layers": [2, 4]}}),
    ("make it prefer shorter answers with SimPO on {dpo}, gamma 0.5", ["preference"], {0: {"method": "simpo"}}),
    ("TIES merge {model} with {partner} and {partner2}, weights 0.5, 0.3 and 0.2, density 0.7", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.3, 0.2], "density": 0.7}}),
    ("slerp between the base and {partner}, t = 0.3, output folder {out}", ["merge_models"], {0: {"t": 0.3}}),
    ("only train k_proj, v_proj on {sft} in the second half of the network", ["sft"], {0: {"layers": [6, 7, 8, 9, 10, 11]}}),
    ("full-parameter, not LoRA, SFT on {sft}, then merge 70% of the result with 30% of the original model (linear)",
     ["sft", "merge_models"], {1: {"models": ["@sft", "@base"], "weights": [0.7, 0.3]}}),
    ("SFT on {sft}, merge the adapter and mix the result with {partner}: 80% наш, 20% его, линейно",
     ["sft", "merge_adapter", "merge_models"], {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.8, 0.2]}}),
    ("SFT on {sft} then DPO on {dpo}, then TIES the final model with {partner}, weights 0.7 ours / 0.3 theirs",
     ["sft", "preference", "merge_adapter", "merge_models"], {3: {"weights": [0.7, 0.3]}}),
    ("SFT on {sft}, then task_arithmetic with {partner} over the base, weights 1.0 for ours and 0.3 for {partner}",
     ["sft", "merge_adapter", "merge_models"], {2: {"models": ["@sft-merged", "{partner}"], "weights": [1.0, 0.3]}}),
    ("ties {partner} + {partner2} on top of the base, 60-40 in favor of the second one", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.4, 0.6]}}),
    ("SFT on {sft}; в конце TIES с {partner}, веса семьдесят на тридцать в пользу нашей",
     ["sft", "merge_adapter", "merge_models"], {2: {"weights": [0.7, 0.3]}}),
    ("slerp {model} and {partner} 3:1 towards {partner}", ["merge_models"], {0: {"t": 0.75}}),
    ("dare linear {partner} {partner2} 1:3, density .4", ["merge_models"], {0: {"weights": [0.25, 0.75]}}),
    ("линейное слияние {partner} и {partner2} в пропорции два к одному", ["merge_models"],
     {0: {"weights": pytest.approx([2 / 3, 1 / 3], abs=1e-5)}}),
    ("merge {partner}, {partner2} and the base w/ TIES, weights 0.5 and 0.5", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.5, 0.5]}}),
    ("полное дообучение без LoRA на {sft}, lr 1e-5, косинусный шедулер, 100 шагов разогрева", ["sft"],
     {0: {"warmup_steps": 100, "max_steps": None, "lr_scheduler_type": "cosine"}}),
    ("stage: dpo\nlora_target: q_proj,v_proj\npref_beta: 0.1\nlearning_rate: 5.0e-6\nnum_train_epochs: 2.0\n"
     "warmup_ratio: 0.1\ndataset: {dpo}", ["preference"], {0: {"epochs": 2, "warmup_steps": 0.1}}),
    ("stage: kto\nkto_chosen_weight: 1.0\nkto_rejected_weight: 1.33\npref_beta: 0.1\nfinetuning_type: lora\n"
     "dataset: {kto}", ["preference"], {0: {"method": "kto", "undesirable_weight": 1.33}}),
    ("trl sft --model_name_or_path {model} --dataset_name {sft} --num_train_epochs 1 --use_peft --lora_r 32 "
     "--output_dir {out}", ["sft"], {0: {"r": 32}}),
    ("swift rlhf --rlhf_type dpo --model {model} --train_type lora --dataset {dpo} --beta 0.2 --lora_rank 16",
     ["preference"], {0: {"beta": 0.2}}),
    ("train with stage sft, lora_rank 4, dataset {sft}; then export like llamafactory-cli export with export_dir: {out}, "
     "export_size: 2, export_legacy_format: false", ["sft"], {0: {"r": 4}}),
    ("torchtune-ish, data {sft}:\nmodel:\n  lora_attn_modules: ['q_proj', 'v_proj']\n  lora_rank: 8\noptimizer:\n"
     "  lr: 3e-4\nepochs: 1", ["sft"], {0: {"r": 8, "learning_rate": 3e-4}}),
    ("axolotl cfg:\nbase_model: {model}\nadapter: lora\nlora_r: 32\ndatasets:\n  - path: {sft}\n    type: chat_template\n"
     "output_dir: {out}", ["sft"], {0: {"r": 32}}),
    ("ранг восемь, в течение двух эпох, lr 1e-4 на {sft} — и сохрани в {out} в bfloat16", ["sft"], {0: {"r": 8, "epochs": 2}}),
    ("full finetune (no lora) on {sft}, lr 1e-5 — scratch that, 2e-5 — cosine w/ 10 warmup steps, grad clip 0.5", ["sft"],
     {0: {"learning_rate": 2e-5, "lr_scheduler_type": "cosine", "warmup_steps": 10, "max_grad_norm": 0.5}}),
    ("train layers 3 to 7 inclusive, skip layer 5, on {sft}", ["sft"], {0: {"layers": [3, 4, 6, 7]}}),
    ("train layers 3 to 7 on {sft}, and skip layer 5", ["sft"], {0: {"layers": [3, 4, 6, 7]}}),
    ("Do SFT on {sft} on 4 gpus with deepspeed zero3", ["sft"], {0: {"gpus": 4, "distributed": "deepspeed"}}),
    ("слерп базы и {partner}, t = 0.3, нет, лучше 0.4", ["merge_models"], {0: {"t": 0.4}}),
    ("ties {partner} and {partner2}, density 0.5, sorry, 0.7", ["merge_models"], {0: {"density": 0.7}}),
    ("sft on {sft} 2ep lr 3e-4 r 8 a 16 drop 0.1 maxlen 512 bs 4 ga 4", ["sft"], {0: {"dropout": 0.1, "max_length": 512}}),
    ("cDPO on {dpo}: sigmoid loss with label_smoothing 0.1, beta .2", ["preference"], {0: {"label_smoothing": 0.1}}),
    ("dpo on {dpo} with a mix of sigmoid and sft loss, weights 1 and 0.2", ["preference"],
     {0: {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.2]}}),
    ("слей вот так:\nmerge_method: linear\nmodels:\n  - model: {model}\n    parameters:\n      weight: 0.3\n"
     "  - model: {partner}\n    parameters:\n      weight: 0.7\ndtype: float16", ["merge_models"],
     {0: {"method": "linear", "weights": [0.3, 0.7]}}),
    ("даре тайс: {partner} и {partner2}, плотность 0.3, веса 0.5 и 0.5", ["merge_models"], {0: {"method": "dare_ties"}}),
    ("сфт на {sft} с DoRA, потом КТО на {kto}", ["sft", "preference"], {1: {"method": "kto"}}),
    ("дообучи на {sft} половину слоёв — нижнюю", ["sft"], {0: {"layers": [0, 1, 2, 3, 4, 5]}}),
    ("дообучи средние слои (с 3 по 8) на {sft} с рангом двенадцать", ["sft"], {0: {"layers": [3, 4, 5, 6, 7, 8], "r": 12}}),
    ("merge {model} with {partner} using linear, a quarter partner, the rest base", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("slerp the base toward {partner}, mostly partner — like 80%", ["merge_models"], {0: {"t": 0.8}}),
    ("SFT on {sft}, then ties with {partner}, 30% of ours and the rest from the partner",
     ["sft", "merge_adapter", "merge_models"], {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.3, 0.7]}}),
    ("linear merge {partner} and {partner2}, 70/30 in favour of {partner2}", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.3, 0.7]}}),
    # red-team pass 10: each of these was planned silently wrong
    ("merge {model} and {partner} in favour of {partner}, 3:1, linear", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.25, 0.75]}}),
    ("дпо на {dpo} лосс sigmoid, бета 0.2, ранг как у sft — а sft на {sft} с r 12 перед этим",
     ["sft", "preference"], {0: {"r": 12}, 1: {"r": 12, "beta": 0.2}}),
    ("все линейные слои кроме lm_head и gate_proj, верхняя половина слоёв, sft на {sft}", ["sft"],
     {0: {"target_modules": ["down_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"],
          "layers": [6, 7, 8, 9, 10, 11]}}),
    ("сделай лору ранга 16 на {sft}, но не трогай последние два слоя и attention", ["sft"],
     {0: {"target_modules": ["down_proj", "gate_proj", "up_proj"], "layers": list(range(10))}}),
    ("SFT {sft} → DPO {dpo} → ORPO {dpo}? no, skip the ORPO. Just SFT then DPO, lr 5e-5 for both",
     ["sft", "preference"], {0: {"learning_rate": 5e-5}, 1: {"learning_rate": 5e-5}}),
    ("Could you do DPO with the IPO loss on {dpo}? beta 0.5. LoRA rank 64 alpha 128 on all linear layers",
     ["preference"], {0: {"loss_type": "ipo", "r": 64, "alpha": 128}}),
    ("sft на {sft}, смёржи адаптер, потом ties результата с {partner} (плотность 0.6, вес 0.5 у каждого) поверх "
     "исходной модели", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.5, 0.5], "density": 0.6}}),
    ("LoRA on the MLP, then DPO on {dpo}", ["sft", "preference"], {0: {"target_modules": ["down_proj", "gate_proj", "up_proj"]}}),
    # a correction across a long path, and a merge method taken back
    ("сделай IPO на {dpo}... нет, обычный DPO, бета 0.2", ["preference"], {0: {"loss_type": "sigmoid", "beta": 0.2}}),
    ("TIES merge? no, let's do DARE-TIES: {partner} 0.5 and {partner2} 0.5, density 0.6", ["merge_models"],
     {0: {"method": "dare_ties", "density": 0.6}}),
    ("ТАЙС-мерж? нет, давай DARE-TIES: {partner} 0.5 и {partner2} 0.5 поверх базы, плотность 0.6", ["merge_models"],
     {0: {"method": "dare_ties", "density": 0.6}}),
    ("SFT на {sft}, потом DPO на {dpo}. Хотя нет, DPO не надо, только SFT", ["sft"], {}),
    # red-team passes 10 and 11: asked needlessly (or planned silently wrong) before
    ("Train for two and a half epochs on {sft}, lr 5 e-5", ["sft"], {0: {"epochs": 2.5, "learning_rate": 5e-5}}),
    ("дообучи лору на {sft}: ранг тридцать два, альфа шестьдесят четыре, две с половиной эпохи", ["sft"],
     {0: {"r": 32, "alpha": 64, "epochs": 2.5}}),
    ("Слей TIES-ом {partner} (вес 0,6) и {partner2} (вес 0,4), плотность 0,7", ["merge_models"],
     {0: {"weights": [0.6, 0.4], "density": 0.7}}),
    ("dare_ties {partner} и {partner2}, density 35%, веса поровну", ["merge_models"], {0: {"density": 0.35}}),
    ("attn only (q k v o), last third of layers, r sixteen alpha thirty-two, on {sft}", ["sft"],
     {0: {"r": 16, "alpha": 32, "layers": [8, 9, 10, 11]}}),
    ("Linear merge of three: {model} 0.5, {partner} 0.25, {partner2} 0.25", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.25, 0.25]}}),
    ("Two-stage thing: SFT on {sft} first (lr 1e-4), then for the DPO part use {dpo} with beta 0.05. Everything LoRA r=8",
     ["sft", "preference"], {0: {"r": 8, "learning_rate": 1e-4}, 1: {"r": 8, "beta": 0.05}}),
    ("sft then dpo, sft lr 1e-4 r 8; dpo lr 5e-6 r 4 beta .3, merge after each", ["sft", "preference"],
     {0: {"r": 8, "learning_rate": 1e-4}, 1: {"r": 4, "learning_rate": 5e-6, "beta": 0.3}}),
    ("SFT on {sft}, then ORPO on {dpo}, same layers 6 through 11, lambda... I mean beta 0.2", ["sft", "preference"],
     {1: {"method": "orpo", "beta": 0.2}}),
    ("SLERP с {partner}, t ноль целых три десятых", ["merge_models"], {0: {"t": 0.3}}),
    ("смёрджи {partner} в пользу базы, примерно 3 к 1, линейно", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("train 2 separate loras from base: one SFT on {sft}, one DPO on {dpo}; then ties-merge both results w/ weights 0.6 0.4",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {2: {"input": "@base"}, 4: {"models": ["@sft-merged", "@dpo-merged"], "weights": [0.6, 0.4]}}),
    ("сделай две лоры от базы отдельно — одну сфт на {sft}, другую орпо на {dpo} — и слей их через ties с весами 0.5/0.5",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {2: {"input": "@base", "method": "orpo"}, 4: {"models": ["@sft-merged", "@orpo-merged"]}}),
    ("SFT on {sft}, DPO on {dpo} from the base, then merge the two with linear 0.5/0.5",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"], {4: {"method": "linear"}}),
    ("task arithmetic: {partner} weight 1.0, {partner2} weight -0.5 (subtract it)", ["merge_models"],
     {0: {"weights": [1.0, -0.5]}}),
    ("task_arithmetic: к базе прибавь {partner} с весом 0.5 и {partner2} с весом минус 0.3", ["merge_models"],
     {0: {"weights": [0.5, -0.3]}}),
    ("мерж трёх моделей: база, {partner}, {partner2}, веса 50%, 30%, 20%, linear", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.3, 0.2]}}),
    ("смешай три модели линейно: открытую, {partner} и {partner2}, веса 0.5, 0.3 и 0.2", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"]}}),
    ('dpo loss_type=["sigmoid","sft"] loss_weights=[1.0, 0.5] on {dpo}', ["preference"],
     {0: {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.5]}}),
    ("Stage 1: SFT on {sft}, full fine-tune (no LoRA). Stage 2: DPO on {dpo}, beta=0.1", ["sft", "preference"],
     {0: {"adapter": "none"}, 1: {"beta": 0.1}}),
    ("do what the unsloth llama 3 notebook does: lora rank sixteen, alpha sixteen, sixty steps at lr 2e-4, on {sft}",
     ["sft"], {0: {"r": 16, "alpha": 16, "max_steps": 60}}),
    ("linear merge: base 0,6 + {partner} 0,4", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.6, 0.4]}}),
    ("slerp between the base and {partner}, lean 70% toward the partner", ["merge_models"], {0: {"t": 0.7}}),
    ("sft {sft} bs 8 (effective 64)", ["sft"], {0: {"batch_size": 8, "gradient_accumulation": 8}}),
    ("обучи LoRA на {sft} с batch size 128 и micro batch size 4", ["sft"], {0: {"batch_size": 4, "gradient_accumulation": 32}}),
    ("обучи все слои кроме первых двух, только mlp, {sft}", ["sft"],
     {0: {"target_modules": ["down_proj", "gate_proj", "up_proj"], "layers": list(range(2, 12))}}),
    ("train all layers, only the attention, on {sft}", ["sft"], {0: {"target_modules": ["k_proj", "o_proj", "q_proj", "v_proj"]}}),
    ("SFT on {sft} with lora r 32 on attention -- actually make it 8", ["sft"],
     {0: {"r": 8, "target_modules": ["k_proj", "o_proj", "q_proj", "v_proj"]}}),
    ("KTO на {kto}, вес нежелательных примеров 1.5", ["preference"], {0: {"undesirable_weight": 1.5}}),
    ("лору на {sft} ранг восемь, затем симпо на {dpo} с гаммой ноль пять", ["sft", "preference"], {1: {"simpo_gamma": 0.5}}),
    ("орпо, {dpo}, лямбда 0.25 (это beta в trl), 3 эпохи", ["preference"], {0: {"method": "orpo", "beta": 0.25}}),
    ("сфт на {sft} r 16, потом кто на {kto} с тем же рангом", ["sft", "preference"], {1: {"method": "kto"}}),
    ("tune run full_finetune_single_device --config llama3_2/1B_full optimizer.lr=2e-5 epochs=1 dataset.data_files={sft}",
     ["sft"], {0: {"adapter": "none", "learning_rate": 2e-5}}),
    ("tune run lora_finetune_single_device --config llama3_2/1B_lora model.lora_attn_modules=['q_proj','output_proj'] "
     "dataset.data_files={sft}", ["sft"], {0: {"target_modules": ["o_proj", "q_proj"]}}),
    ("torchtune lora_dpo_single_device with loss.beta=0.05 and lora_rank=8 on {dpo}", ["preference"], {0: {"beta": 0.05, "r": 8}}),
    ("lora on layers[2:6] with rank 8, {sft}", ["sft"], {0: {"layers": [2, 3, 4, 5]}}),
    ("sft on {sft} r 8, then dop on {dpo} with beta 0.2", ["sft", "preference"], {1: {"beta": 0.2}}),
    # red-team pass 12: planned silently wrong before
    ("task arithmetic: прибавь {partner} с весом 0.7 и вычти {partner2} с весом 0.3", ["merge_models"],
     {0: {"weights": [0.7, -0.3]}}),
    ("fine tune on {sft} with lora rank sixty-four alpha sixteen, dropout point one", ["sft"],
     {0: {"r": 64, "alpha": 16, "dropout": 0.1}}),
    ("sft lora r16 on {sft}, merged, shards 2GB", ["sft"], {}),
    ("deepspeed zero3 x8 gpus, full ft, lr 1e-5, on {sft}", ["sft"], {0: {"gpus": 8, "adapter": "none"}}),
    # red-team pass 13: planned silently wrong before
    ("Train a rank two-fifty-six LoRA on {sft}", ["sft"], {0: {"r": 256}}),
    ("lora rank one twenty-eight on {sft}", ["sft"], {0: {"r": 128}}),
    ("freeze all but the last two layers and full-finetune on {sft}", ["sft"], {0: {"adapter": "none", "layers": [10, 11]}}),
    ("task arithmetic merge, base {model}, add {partner} at 1.0 and {partner2} at 0.5", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}", "{partner2}"], "weights": [1.0, 0.5]}}),
    ("Merge {partner} into {model} linearly, 0.25 for the partner and the rest for the base", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.25, 0.75]}}),
    ("DPO на {dpo} с лоссом IPO... нет, лучше обычный сигмоид, бета 0.2", ["preference"], {0: {"loss_type": "sigmoid"}}),
    ("обучи отдельно SFT на {sft} и отдельно ORPO на {dpo}, потом объедини их через TIES",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"], {2: {"input": "@base", "method": "orpo"}}),
    ("merge: 0.6*{partner} + 0.4*{partner2}", ["merge_models"], {0: {"weights": [0.6, 0.4]}}),
    ("слей базу, {partner} и {partner2} поровну", ["merge_models"], {0: {"models": ["@base", "{partner}", "{partner2}"]}}),
    # red-team pass 14: planned silently wrong before
    ("два отдельных прогона: SFT на {sft} с r 8 и DPO на {dpo} с r 16, а потом слей оба адаптера поровну",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {2: {"input": "@base"}, 4: {"method": "linear", "weights": [0.5, 0.5]}}),
    ("two separate runs: SFT on {sft} r 8 and DPO on {dpo} r 16, then merge both adapters equally",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"], {4: {"method": "linear"}}),
    ("SFT {sft}: эпох — полторы", ["sft"], {0: {"epochs": 1.5}}),
    # weights said beside their models are read together: a ratio stays as said, percent only where it is one
    ("weights: base 1, {partner} 2 — linear, normalize", ["merge_models"], {0: {"weights": [1.0, 2.0]}}),
    ("linear merge: {partner} 70, {partner2} 30", ["merge_models"], {0: {"weights": [0.7, 0.3]}}),
    # asked needlessly before
    ("rl: kto\nrl_beta: 0.5\nkto_desirable_weight: 0.2\ndatasets:\n  - path: {kto}\nadapter: lora\nlora_r: 8",
     ["preference"], {0: {"beta": 0.5, "desirable_weight": 0.2, "r": 8}}),
    ("rl: orpo\norpo_alpha: 0.05\nlearning_rate: 8e-6\ndatasets:\n  - path: {dpo}", ["preference"],
     {0: {"method": "orpo", "beta": 0.05}}),
    ("peft_use_dora: true\nlora_r: 8\nlora_target_linear: true\ndatasets:\n  - path: {sft}", ["sft"], {0: {"adapter": "dora"}}),
    ('LoraConfig(r=4, lora_alpha=4, layers_to_transform=[0, 2, 4], layers_pattern="layers"), train on {sft}', ["sft"],
     {0: {"layers": [0, 2, 4]}}),
    ("обучи на {kto} методом KTO, бета 0.2", ["preference"], {0: {"method": "kto", "beta": 0.2}}),
    ('CPOConfig(loss_type="simpo", cpo_alpha=0.0, simpo_gamma=0.5, beta=2.0), train on {dpo}', ["preference"],
     {0: {"method": "simpo", "simpo_gamma": 0.5}}),
    ("SFT на {sft}, max_steps 200 вместо эпох", ["sft"], {0: {"max_steps": 200}}),
    ("DPO на {dpo} с двумя лоссами: sigmoid и sft, веса 1 и 1", ["preference"], {0: {"loss_type": ["sigmoid", "sft"]}}),
    ("Хочу: ранг шестнадцать, альфа тоже шестнадцать, шестьдесят шагов, данные {sft}", ["sft"],
     {0: {"r": 16, "alpha": 16, "max_steps": 60}}),
    ("дообучи на {sft} и не мёржь адаптер с базой; нет, всё-таки смержи", ["sft"], {}),
    ("lora on model.layers[-4:] r 8 on {sft}", ["sft"], {0: {"layers": [8, 9, 10, 11]}}),
    ("сфт на {sft} с max_steps=300 и eval 2%", ["sft"], {0: {"max_steps": 300, "eval_fraction": 0.02}}),
    ("first blend {partner} into the base 30/70 (30% partner) linearly, then DPO on top with beta 0.2",
     ["merge_models", "preference"], {0: {"models": ["{partner}", "@base"], "weights": [0.3, 0.7]}}),
    # one weight for the model merged into the base: the base keeps the rest
    ("merge {partner} into the base with weight 0.3", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("смерджи {partner} в базу с весом 30%", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("влей {partner} в базу с весом ноль целых двадцать пять", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    # two separate runs whose adapters are combined by a named method: mergekit's over the base, never a chain
    ("two separate runs from the base: SFT on {sft} and DPO on {dpo}, then merge both adapters with TIES",
     BRANCHED, {2: {"input": "@base"}, 4: {"method": "ties", "base": "@base", "models": ["@sft-merged", "@dpo-merged"]}}),
    ("два отдельных прогона от базы: SFT на {sft} и DPO на {dpo}, потом слей оба адаптера через dare_ties с плотностью 0.5",
     BRANCHED, {2: {"input": "@base"}, 4: {"method": "dare_ties", "density": 0.5}}),
    ("two separate runs from the base: SFT on {sft} and DPO on {dpo}, then merge both adapters with cat",
     BRANCHED, {2: {"input": "@base"}, 4: {"method": "task_arithmetic", "base": "@base", "weights": [1.0, 1.0]}}),
    # red-team pass 15 (a, b at 20d460c): silent classes and needless questions, by class
    ("sft on {sft} then dpo on {dpo} then orpo on {dpo}, all lora r 8", ["sft", "preference", "preference"],
     {0: {"r": 8}, 1: {"r": 8}, 2: {"r": 8}}),
    ("SFT на {sft} с lr 2e-4 на 3 эпохи, DPO на {dpo} с lr 5e-6, обе стадии ранг 32", ["sft", "preference"],
     {0: {"r": 32}, 1: {"r": 32}}),
    ("Два этапа: SFT на {sft} и DPO на {dpo}; на DPO ранг 8, на SFT ранг 64", ["sft", "preference"], {0: {"r": 64}, 1: {"r": 8}}),
    ("SFT on {sft} with lora on layers[6:] only, q k v o, lr 1e-4, 2 epochs", ["sft"],
     {0: {"layers": [6, 7, 8, 9, 10, 11], "target_modules": ["k_proj", "o_proj", "q_proj", "v_proj"]}}),
    ("SFT на {sft} на слоях с пятого по последний", ["sft"], {0: {"layers": [4, 5, 6, 7, 8, 9, 10, 11]}}),
    ("SFT on {sft} on layers 5 through the last", ["sft"], {0: {"layers": [5, 6, 7, 8, 9, 10, 11]}}),
    ("SFT on {sft} from the third to the last layer", ["sft"], {0: {"layers": list(range(2, 12))}}),
    ("SFT на {sft}: ранг восемь, альфа шестнадцать, слои [2:10], только q,k,v", ["sft"],
     {0: {"layers": list(range(2, 10)), "r": 8}}),
    ("SFT on {sft}, then merge 50/50 with {partner}", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.5, 0.5]}}),
    ("sft on {sft}, then kto on {kto}, then слить с {partner} пополам", ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@kto-merged", "{partner}"], "weights": [0.5, 0.5]}}),
    ("sft on {sft}, merge, then merge that with {partner}: 0.8 to partner", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.2, 0.8]}}),
    ("simpo on {dpo}, merge, then blend with {partner} 25% partner", ["preference", "merge_adapter", "merge_models"],
     {2: {"weights": [0.75, 0.25]}}),
    ("SFT on {sft}, then merge it with {partner} half and half", ["sft", "merge_adapter", "merge_models"],
     {2: {"weights": [0.5, 0.5]}}),
    ("just convert {model} to float16 safetensors in 1GB shards at {out}", [], {}),
    ("Конвертируй в fp16 и порежь на шарды по 500 МБ, выход {out}", [], {}),
    ("rl: dpo\ndpo_beta: 0.2\ndatasets:\n  - path: {dpo}", ["preference"], {0: {"beta": 0.2}}),
    ("Объедини {partner} и {partner2} через ties, веса 0,5 и 0,5, плотность 0,4", ["merge_models"],
     {0: {"weights": [0.5, 0.5], "density": 0.4}}),
    ("sft на {sft} с lr 2e-4, потом дпо на {dpo} с половиной этого lr", ["sft", "preference"], {1: {"learning_rate": 1e-4}}),
    ("sft на {sft} ранг 64, альфа вдвое больше", ["sft"], {0: {"r": 64, "alpha": 128}}),
    # red-team pass 16 (at f44e9f0): its silent classes
    ("SFT on {sft} and DPO on {dpo}, alpha 32 for both stages and rank 8 for the DPO only", ["sft", "preference"],
     {0: {"r": 16, "alpha": 32}, 1: {"r": 8, "alpha": 32}}),
    ("SFT on {sft} and DPO on {dpo}, rank 8 for the DPO and alpha 32 for both", ["sft", "preference"],
     {0: {"r": 16, "alpha": 32}, 1: {"r": 8, "alpha": 32}}),
    ("SFT на {sft} и DPO на {dpo}, у обоих альфа 32, а ранг 8 только для DPO", ["sft", "preference"],
     {0: {"r": 16, "alpha": 32}, 1: {"r": 8, "alpha": 32}}),
    ("DoRA на SFT на {sft}, но без DoRA на DPO на {dpo}", ["sft", "preference"], {0: {"adapter": "dora"}, 1: {"adapter": "lora"}}),
    ("SFT on {sft} with DoRA rank 16, then DPO on {dpo} without DoRA", ["sft", "preference"],
     {0: {"adapter": "dora"}, 1: {"adapter": "lora"}}),
    ("SFT на {sft}, модули gate_proj up_proj down_proj, слои 6:", ["sft"], {0: {"layers": [6, 7, 8, 9, 10, 11]}}),
    ("ORPO on {dpo} with beta zero point one five, lr 8e-6, rank 16 on layers 0:6", ["preference"],
     {0: {"layers": [0, 1, 2, 3, 4, 5], "beta": 0.15}}),
    ("дообучи attention на {sft}, lr полторы десятитысячных", ["sft"], {0: {"learning_rate": 1.5e-4}}),
    ("merge the base with {partner}, 80% base", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.8, 0.2]}}),
    # "the rest": the member named with it takes what the others leave
    ("SFT on {sft}, then merge the result with {partner} and {partner2}: 60% ours, 25% {partner}, the rest {partner2}, "
     "ties, density 0.6", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}", "{partner2}"], "weights": [0.6, 0.25, 0.15]}}),
    ("Сделай SFT на {sft}, потом DPO на {dpo}, потом смёрджи с {partner} линейно (наша 0.6, партнёр остальное)",
     ["sft", "preference", "merge_adapter", "merge_models"], {3: {"models": ["@dpo-merged", "{partner}"], "weights": [0.6, 0.4]}}),
    ("после sft на {sft} сделай dare_ties с {partner}: ему 0.3, остальное нашей", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["{partner}", "@sft-merged"], "weights": [0.3, 0.7]}}),
    # red-team pass 17 (a, b at cf77020): silent classes
    ("SFT на {sft} и DPO на {dpo}, ранг 8 только на SFT", ["sft", "preference"], {0: {"r": 8}, 1: {"r": 16}}),  # a phantom SFT
    ("SFT on {sft} then DPO on {dpo}, but train DPO on layers 6-11 only and SFT on all", ["sft", "preference"],
     {0: {"layers": None}, 1: {"layers": [6, 7, 8, 9, 10, 11]}}),  # "and SFT on all" made a second SFT: silent
    ("SFT on {sft} on layers 4: then merge", ["sft", "merge_adapter"], {0: {"layers": [4, 5, 6, 7, 8, 9, 10, 11]}}),
    ("SFT on {sft}, layers 10: (python slice)", ["sft"], {0: {"layers": [10, 11]}}),
    ("сфт на {sft}, потом ДПО на {dpo}, потом ties с {partner}, density 0.5, weight 0.5 каждому, база {model}",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"], "base": "@base"}}),  # the base was a third member: silent
    ("мердж линейный {partner} и {partner2}, веса 0.6 и 0.4", ["merge_models"],
     {0: {"method": "linear", "models": ["{partner}", "{partner2}"], "weights": [0.6, 0.4]}}),
    ("сохрани в fp16 в {out}", [], {}),
    # red-team pass 25 (at 4c09390: 80.0%, 2 silent)
    ("смёрджи {partner} и {partner2} через ties с весами 0,3 и 0,7, потом это с {model} линейно пополам, в {out}",
     ["merge_models", "merge_models"], {0: {"method": "ties", "weights": [0.3, 0.7]},
                                        1: {"method": "linear", "models": ["@merge", "@base"], "weights": [0.5, 0.5]}}),
    ("сначала TIES {partner} и {partner2} с базой {model} (density 0.7), потом результат линейно с {model} 3:1",
     ["merge_models", "merge_models"], {0: {"method": "ties", "density": 0.7},
                                        1: {"method": "linear", "models": ["@merge", "@base"], "weights": [0.75, 0.25]}}),
    ("SFT на {sft}, потом DPO на {dpo}. в DPO ранг 4, лр 2e-6; в SFT ранг 64", ["sft", "preference"],
     {0: {"r": 64}, 1: {"r": 4, "learning_rate": 2e-6}}),  # "в SFT ранг 64" was a second SFT after the DPO: silent
    # red-team passes 24a/24b (at bb71948: 87.0% and 90.5%, 2 and 2 silent)
    ("модель уже после сфт, сделай дпо на {dpo} без лоры, lr 5e-7", ["preference"],
     {0: {"adapter": "none", "learning_rate": 5e-7}}),  # "уже после сфт" added an SFT stage: silent
    ("the model already went through SFT; do DPO on {dpo} with lr 5e-7", ["preference"], {0: {"learning_rate": 5e-7}}),
    ("skip the SFT, I already did SFT myself; DPO on {dpo} with beta 0.2", ["preference"], {0: {"beta": 0.2}}),
    ("смешай {partner} и {partner2} поровну, базу не трогай", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"]}}),
    ("mix {partner} and {partner2} equally, leave the base out", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"]}}),
    # red-team pass 23b (at 898b708: 89.5%, 2 silent): needless questions
    ("сфт на {sft}, ранг 32, альфа в половину ранга", ["sft"], {0: {"r": 32, "alpha": 16}}),
    ("сфт на {sft}, затем мерж с {partner} 30%, потом мерж результата с {partner2} 50 на 50",
     ["sft", "merge_adapter", "merge_models", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.7, 0.3]}, 3: {"weights": [0.5, 0.5]}}),
    ("мерж: 0.5 {partner}, 0.3 {partner2}, остальное наша модель, линейно", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}", "@base"], "weights": [0.5, 0.3, 0.2]}}),  # was A 0.7, B 0.3
    # red-team pass 23a (at 898b708: 90.0%, 1 silent): "both DoRA" was the DPO's alone (silent)
    ("I want SFT on {sft} with lr 3e-4 and DPO on {dpo} with lr 3e-6, both DoRA, rank 32 for both, alpha twice the rank",
     ["sft", "preference"], {0: {"adapter": "dora", "r": 32, "alpha": 64}, 1: {"adapter": "dora", "r": 32, "alpha": 64}}),
    ("SFT на {sft} и DPO на {dpo}, оба с DoRA", ["sft", "preference"], {0: {"adapter": "dora"}, 1: {"adapter": "dora"}}),
    ("DPO on {dpo} with sigmoid loss, beta point two five, lr five e minus seven, two epochs", ["preference"],
     {0: {"beta": 0.25, "learning_rate": 5e-7, "epochs": 2}}),
    ("dare_ties merge after sft on {sft}: our tuned model weight 0.6 density 0.53, {partner} weight 0.4 density 0.53",
     ["sft", "merge_adapter", "merge_models"],
     {2: {"method": "dare_ties", "models": ["@sft-merged", "{partner}"], "weights": [0.6, 0.4], "density": 0.53}}),
    ("смерджи нашу модель после SFT на {sft} с {partner} и {partner2} методом ties, плотность 0,5, веса 0,5/0,3/0,2",
     ["sft", "merge_adapter", "merge_models"], {2: {"method": "ties", "weights": [0.5, 0.3, 0.2], "density": 0.5}}),
    ("fine-tune on {sft} layers 4-7 only, modules q_proj and v_proj, rank 8; then linear merge with {partner} 70/30 (ours 70)",
     ["sft", "merge_adapter", "merge_models"], {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.7, 0.3]}}),
    ("sft on {sft}, dpo on {dpo}, then average the result 50/50 with {partner} using linear, then slerp that with "
     "{partner2} at t 0.6", ["sft", "preference", "merge_adapter", "merge_models", "merge_models"],
     {3: {"method": "linear", "weights": [0.5, 0.5]}, 4: {"method": "slerp", "t": 0.6}}),
    # red-team passes 22a/22b (at 099a4ca): silent classes and the commonest needless questions
    ("SFT on {sft} then KTO on {kto} with beta 0.2, kto lr a tenth of the sft lr (sft lr 1e-4)", ["sft", "preference"],
     {0: {"learning_rate": 1e-4}, 1: {"learning_rate": 1e-5, "beta": 0.2}}),  # "(sft lr …)" was a second SFT: silent
    ("смешай {partner} и {partner2} поровну, без базы", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.5, 0.5]}}),  # the base was a third member: silent
    ("слой 0 и слой 11 не трогать, остальное LoRA на {sft}", ["sft"], {0: {"layers": list(range(1, 11))}}),  # kept 0
    ("Is this checkpoint bf16 or fp32? convert to fp16 safetensors in {out}", [], {}),  # wrote bf16: silent
    ("sft on {sft}, warmup steps 100", ["sft"], {0: {"warmup_steps": 100, "max_steps": None}}),  # was 100 steps in all
    ("DPO on {dpo} with hinge loss", ["preference"], {0: {"loss_type": "hinge"}}),
    ("DPO on {dpo} with loss types sigmoid and sft mixed, loss_weights 1.0 and 0.5", ["preference"],
     {0: {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.5]}}),
    ("linear: {partner} gets 0.6, base gets the rest", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.6, 0.4]}}),
    ("лора 16, лр 2e-4 на {sft}", ["sft"], {0: {"r": 16, "learning_rate": 2e-4}}),
    ("ORPO на {dpo} с бетой 0.2, потом слерп с {partner}, t ноль целых четыре, потом ещё линейно с {partner2} 50 на 50, "
     "сохранить в {out}", ["preference", "merge_adapter", "merge_models", "merge_models"],
     {2: {"method": "slerp", "t": 0.4}, 3: {"method": "linear", "weights": [0.5, 0.5]}}),
    ("SFT on {sft} → DPO on {dpo} → merge the adapter → merge result with {partner} 60/40, write to {out}",
     ["sft", "preference", "merge_adapter", "merge_models"], {3: {"weights": [0.6, 0.4]}}),
    ("DoRA на MLP на {sft}, ранг 8, каждый второй слой", ["sft"], {0: {"r": 8, "layers": [0, 2, 4, 6, 8, 10]}}),
    ("таск арифметик: {partner} вес 0.5, {partner2} вес 0.5", ["merge_models"], {0: {"method": "task_arithmetic"}}),
    ("сфт на {sft} на 4 гпу с дипспидом", ["sft"], {}),
    # a fraction in a goal that merges is a member's share only beside a member, a weight word or "the rest"
    ("sft on {sft} lr 2e-4, merge it, then dpo on {dpo} at half the sft lr", ["sft", "merge_adapter", "preference"],
     {2: {"learning_rate": 1e-4}}),  # "half" was read as a merge weight, and the DPO kept its default lr: silent
    # the data said, not a method: "chats and preference pairs" is SFT then DPO; "train on the pairs" is one DPO
    ("make it nicer to talk to, i have some chats and some preference pairs", ["sft", "preference"], {}),
    ("сделай её приятнее в общении: есть диалоги и пары предпочтений", ["sft", "preference"], {}),
    ("train on the preference pairs", ["preference"], {}),  # was SFT on chat.jsonl, never named, then DPO: silent
    # red-team pass 21b (at 41e05e8): modules listed with spaces, Cyrillic method names, shares with no method named
    ("DoRA r16 alpha 16 lr 2e-5 cutoff_len 256 target q k v up down on {sft}", ["sft"],
     {0: {"target_modules": ["down_proj", "k_proj", "q_proj", "up_proj", "v_proj"]}}),  # up_proj was dropped: silent
    ("дэа тайс с {partner}, вес 0,7", ["merge_models"], {0: {"method": "dare_ties"}}),  # was TIES: silent
    ("смерджи с {partner} пятьдесят на пятьдесят", ["merge_models"], {0: {"method": "linear", "weights": [0.5, 0.5]}}),
    ("merge {partner} at 25%, the rest base", ["merge_models"],
     {0: {"method": "linear", "models": ["{partner}", "@base"], "weights": [0.25, 0.75]}}),
    ("сохрани шардами по 500 мегабайт в {out}", [], {}),
    ("сфт на {sft}, эпох пять, ворм ап 0,03, косинус", ["sft"], {0: {"epochs": 5, "warmup_steps": 0.03}}),
    ("dpo on {dpo} beta 0,02 lr 5e-7 warmup ratio 0.1 cosine", ["preference"],
     {0: {"beta": 0.02, "learning_rate": 5e-7, "warmup_steps": 0.1}}),
    ("лора на {sft} ранг 8, альфа в два раза больше", ["sft"], {0: {"r": 8, "alpha": 16}}),
    ("sft on {sft} lr 2e-4, then dpo on {dpo} with same lr divided by 10, beta 0.05", ["sft", "preference"],
     {1: {"learning_rate": 2e-5, "beta": 0.05}}),
    # red-team pass 21a (at 41e05e8): a second layer range for the next stage, with its noun left out (silent)
    ("lora r 16 on q and v only, layers 0 through 5 for the sft and 6 through 11 for the dpo", ["sft", "preference"], {0: {"layers": [0, 1, 2, 3, 4, 5]}, 1: {"layers": [6, 7, 8, 9, 10, 11]}}),
    ("SFT на {sft}, потом DPO на {dpo}; слои с 0 по 5 для SFT, а с 6 по 11 для DPO", ["sft", "preference"],
     {0: {"layers": [0, 1, 2, 3, 4, 5]}, 1: {"layers": [6, 7, 8, 9, 10, 11]}}),
    ("sft on {sft} then dpo on {dpo} then merge, but exclude layer 0 and layer 11 from lora",
     ["sft", "preference", "merge_adapter"], {0: {"layers": list(range(1, 11))}, 1: {"layers": list(range(1, 11))}}),
    ("merge {partner} into base at 0.25 and write in float32", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),  # the note named the shares the wrong way
    ("SFT на {sft}, потом DPO на {dpo}, потом слить с {partner} через slerp 50/50, а потом ещё с {partner2} линейно 80 на 20",
     ["sft", "preference", "merge_adapter", "merge_models", "merge_models"],
     {3: {"method": "slerp", "t": 0.5}, 4: {"method": "linear", "weights": [0.8, 0.2]}}),
    ("sft on {sft} r 16 and then dpo on {dpo} r 8, merge both", ["sft", "preference", "merge_adapter"],
     {0: {"r": 16}, 1: {"r": 8}}),
    ("ORPO на {dpo}, потом смержить адаптер и dare_ties с {partner}, веса 0.5 и 0.5, плотность 0.53",
     ["preference", "merge_adapter", "merge_models"], {2: {"method": "dare_ties", "density": 0.53}}),
    ("stage 1 sft on {sft} lr 1e-4; stage 2 dpo on {dpo} beta 0.15", ["sft", "preference"],
     {0: {"learning_rate": 1e-4}, 1: {"beta": 0.15}}),
    ("just merge {partner} and {partner2} into the base, task arithmetic, 0.3 each, no training", ["merge_models"],
     {0: {"method": "task_arithmetic", "weights": [0.3, 0.3]}}),
    ("только смержи базу с {partner} линейно, 40 процентов база, 60 партнёр", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.4, 0.6]}}),
    # weights said as fractions, for ordinals, in number words with percent, and as comma decimals with spaces
    ("слей {partner} с базой линейно, партнёру одна треть", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.666667, 0.333333]}}),
    ("give {partner} a quarter and the rest to the base, linear merge", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.25, 0.75]}}),
    ("linear merge of the base and {partner}: ours gets two thirds", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.666667, 0.333333]}}),
    ("слей базу и {partner} линейно: 80 процентов первой и 20 второй", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.8, 0.2]}}),
    ("merge {partner} and {partner2} linearly, 0.3 for the second and 0.7 for the first", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.7, 0.3]}}),
    ("linear merge with {partner}, weights seventy and thirty percent", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("линейное слияние базы, {partner} и {partner2} с весами 0,5 0,25 и 0,25", ["merge_models"],
     {0: {"weights": [0.5, 0.25, 0.25]}}),
    ("слей линейно: базу и {partner}", ["merge_models"], {0: {"method": "linear", "models": ["@base", "{partner}"]}}),
    ("слей базу с {partner} через slerp с t равным 0,4", ["merge_models"], {0: {"method": "slerp", "t": 0.4}}),
    ("SFT на {sft}, 5 эпох -- нет, на 2", ["sft"], {0: {"epochs": 2}}),
    ("SFT on {sft}, top third of the layers, then merge with {partner} linearly", ["sft", "merge_adapter", "merge_models"],
     {0: {"layers": [8, 9, 10, 11]}}),  # a fraction of layers is no merge weight
    # red-team pass 20 (at 2ab57d6): "DPO uses rank 32" restates the DPO (a second DPO stage took the rank: silent)
    ("Train SFT on {sft} then DPO on {dpo}; LoRA rank 8 only for the SFT stage, DPO uses rank 32", ["sft", "preference"],
     {0: {"r": 8}, 1: {"r": 32}}),
    ("SFT на {sft}, потом DPO на {dpo}; SFT получает ранг 8, DPO получает ранг 32", ["sft", "preference"],
     {0: {"r": 8}, 1: {"r": 32}}),
    # red-team pass 19 (at 5f33513: 0 silent): needless questions and a carried rank
    ("SFT на {sft}, все слои кроме первого, модули q и v", ["sft"],
     {0: {"target_modules": ["q_proj", "v_proj"], "layers": list(range(1, 12))}}),
    ("сначала SFT на {sft}, потом DPO на {dpo}; для SFT ранг 8, для DPO бета 0,25", ["sft", "preference"],
     {0: {"r": 8}, 1: {"r": 16, "beta": 0.25}}),
    # red-team pass 18 (a, b at f74671b): silent classes
    ("SFT on {sft} then DPO on {dpo}; SFT at lr 2e-4 for 3 epochs, DPO at lr 5e-7 with beta 0.05", ["sft", "preference"],
     {0: {"epochs": 3, "learning_rate": 2e-4}, 1: {"learning_rate": 5e-7, "beta": 0.05}}),  # a second SFT took the epochs
    ("merge our tuned model with {partner} at equal weights using task_arithmetic after a LoRA SFT on {sft}, output {out}",
     ["sft", "merge_adapter", "merge_models"], {2: {"models": ["@sft-merged", "{partner}"]}}),  # the merge ran first
    ("save as fp16 without training to {out}", [], {}),
    ("SFT on {sft} then DPO on {dpo}, rank 8 only for SFT", ["sft", "preference"], {0: {"r": 8}, 1: {"r": 16}}),
    ("лора ранг шестнадцать альфа тридцать два только на внимание, слои с 3 по 6 включительно, на {sft}", ["sft"],
     {0: {"target_modules": ["k_proj", "o_proj", "q_proj", "v_proj"], "layers": [3, 4, 5, 6]}}),  # "включительно" was a key
    # red-team pass 27b (at 22ca0ec): the data described first made a DPO stage of its own, then the named one: silent
    ("i have chat data in {sft} and preference pairs in {dpo}. do sft first, then dpo with beta 0.2",
     ["sft", "preference"], {0: {"dataset": "{sft}"}, 1: {"beta": 0.2, "dataset": "{dpo}"}}),
    ("у меня есть чат-датасет {sft} и пары предпочтений {dpo}. сначала sft, потом dpo с lr 5e-6",
     ["sft", "preference"], {1: {"learning_rate": 5e-6, "dataset": "{dpo}"}}),
    # red-team pass 27a: "с перевесом в сторону партнёра 3 к 1" gave SLERP t 0.25 (towards the base)
    ("SLERP с {partner} с перевесом в сторону партнёра 3 к 1", ["merge_models"], {0: {"models": ["@base", "{partner}"], "t": 0.75}}),
    ("slerp with {partner}, 3:1 leaning towards the partner", ["merge_models"], {0: {"models": ["@base", "{partner}"], "t": 0.75}}),
    ("linear merge with {partner}, 3 к 1 с уклоном в партнёра", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.25, 0.75]}}),
    ("слей линейно с {partner}, перевес партнёру 2:1", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.333333, 0.666667]}}),
    ("linear merge of {partner} with the base, 70/30 (partner/base)", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.7, 0.3]}}),
    # red-team pass 27a: corrections of merge weights and of a merge method said apart from it were asked about
    ("sft on {sft}, then merge with {partner} 70/30, no wait, 60/40", ["sft", "merge_adapter", "merge_models"],
     {2: {"weights": [0.6, 0.4]}}),
    ("sft on {sft}, then merge with {partner} 0.9 and 0.1, but wait, make it 0.8/0.2",
     ["sft", "merge_adapter", "merge_models"], {2: {"weights": [0.8, 0.2]}}),
    ("слей с {partner} 50 на 50, хотя нет, 70 на 30", ["merge_models"], {0: {"weights": [0.7, 0.3]}}),
    ("ties merge with {partner} and {partner2}, actually make it dare_ties, density 0.4", ["merge_models"],
     {0: {"method": "dare_ties", "density": 0.4, "models": ["{partner}", "{partner2}"]}}),
    ("merge with {partner} using slerp, sorry, I mean linear, 0.5 each", ["merge_models"],
     {0: {"method": "linear", "weights": [0.5, 0.5]}}),
    # red-team pass 27b: a stage or a file turned down after it is named ("dpo не надо", "а b.jsonl не трогай")
    ("sft на {sft}, dpo не надо, merge не надо, просто адаптер влей и сохрани в {out}", ["sft"], {0: {"dataset": "{sft}"}}),
    ("sft на {sft}, а {dpo} не трогай", ["sft"], {0: {"dataset": "{sft}"}}),
    ("sft on {sft}, ignore {dpo}", ["sft"], {0: {"dataset": "{sft}"}}),
    ("sft on {sft} without {dpo}", ["sft"], {0: {"dataset": "{sft}"}}),
    # red-team pass 27a: "merge in B with model_stock" asked 'merge with which model?'; "at 25 percent" chose TIES;
    # a DPO loss mix "mixed with weights" asked for a merge
    ("DPO on {dpo}, then merge in {partner} with model_stock", ["preference", "merge_adapter", "merge_models"],
     {2: {"method": "model_stock"}}),
    ("SFT on {sft}, then merge with {partner} at 25 percent", ["sft", "merge_adapter", "merge_models"],
     {2: {"method": "linear", "weights": [0.75, 0.25]}}),
    ("DPO on {dpo} with loss types sigmoid and sft mixed with weights 1 and 0.5", ["preference"],
     {0: {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.5]}}),
    ("зафайнтюнь на {sft}, потом орпо с бетой 0,1", ["sft", "preference"], {1: {"method": "orpo", "beta": 0.1}}),
    # red-team pass 27a: merge shares said with their member in words were asked about
    ("IPO on {dpo}, then merge with {partner}: ours 0.6, partner 0.4, linear", ["preference", "merge_adapter", "merge_models"],
     {2: {"models": ["@dpo-merged", "{partner}"], "weights": [0.6, 0.4]}}),
    ("IPO on {dpo}, then merge with {partner}: ours half, partner half, linear", ["preference", "merge_adapter", "merge_models"],
     {2: {"weights": [0.5, 0.5]}}),
    ("slerp с {partner}, 70% партнёра", ["merge_models"], {0: {"models": ["@base", "{partner}"], "t": 0.7}}),
    ("merge with {partner}, 30% of the partner", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("SFT на {sft}, затем слияние с {partner} методом ties, нашей модели две трети", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.666667, 0.333333]}}),
    ("linear merge with {partner}, partner weighted twice as much as the base", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.666667, 0.333333]}}),
    ("слей линейно с {partner}, партнёр в два раза весомее базы", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.333333, 0.666667]}}),
    ("dare_ties: {partner} 0.7, {partner2} the rest, density 0.53, base {model}", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.7, 0.3], "density": 0.53}}),
    # red-team pass 28 (at 9705ea3): a pasted `trl sft` with no --use_peft trains every parameter (it was LoRA: silent)
    ("trl sft --model_name_or_path {model} --dataset_name {sft} --learning_rate 2.0e-5 --num_train_epochs 1 "
     "--per_device_train_batch_size 4 --output_dir {out}", ["sft"], {0: {"adapter": "none", "learning_rate": 2e-5}}),
    ("trl dpo --model_name_or_path {model} --dataset_name {dpo} --use_peft --lora_r 8 --beta 0.2", ["preference"],
     {0: {"adapter": "lora", "r": 8, "beta": 0.2}}),
    ("DPO on {dpo}, not LoRA, use DoRA", ["preference"], {0: {"adapter": "dora"}}),  # was a full fine-tune
    ("sft -> dpo -> merge with partner. SFT lr 1e-4, DPO lr 5e-6 beta 0.1. Merge: 70% ours, the rest the partner "
     "{partner}. Output {out}", ["sft", "preference", "merge_adapter", "merge_models"],
     {0: {"learning_rate": 1e-4}, 1: {"learning_rate": 5e-6}, 3: {"models": ["@dpo-merged", "{partner}"], "weights": [0.7, 0.3]}}),
    ("LoRA SFT on {sft}, r 16, lr 2e-4, cosine schedule, warmup ratio 0.03, 2 epochs", ["sft"], {0: {"epochs": 2}}),
    ("We have preference pairs in {dpo}. Don't bother with SFT, the base is already instruction-tuned. Use DPO sigmoid "
     "with beta one tenth... actually make it 0.2, lr 1e-6", ["preference"], {0: {"beta": 0.2, "learning_rate": 1e-6}}),
    ("DPO on {dpo} with beta one tenth", ["preference"], {0: {"beta": 0.1}}),
    ("слей нашу модель с партнёрской {partner}: партнёра 0,7, наша 0,3, линейно", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.7, 0.3]}}),
    ("merge ours with {partner}: partner 0.7, ours 0.3, linear", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.7, 0.3]}}),
    ("веса для слияния: база 40%, партнёр {partner} 35%, второй партнёр {partner2} — остальное. Метод linear",
     ["merge_models"], {0: {"method": "linear", "weights": [0.4, 0.35, 0.25]}}),
    ("слияние slerp t=0,6 с {partner}, потом результат ещё линейно с {partner2} 80 на 20", ["merge_models", "merge_models"],
     {0: {"t": 0.6}, 1: {"models": ["@merge", "{partner2}"], "weights": [0.8, 0.2]}}),
    ("SFT на {sft} и ORPO на {dpo} отдельно от базы, потом TIES двух результатов 50/50", BRANCHED,
     {4: {"models": ["@sft-merged", "@orpo-merged"], "weights": [0.5, 0.5]}}),
    # red-team pass 28b: TRL's command-line loss list; a genitive "last layer"; "not the very last one"
    ("dpo on {dpo} --loss_type sigmoid ipo --loss_weights 0.8 0.2 --beta 0.1", ["preference"],
     {0: {"loss_type": ["sigmoid", "ipo"], "loss_weights": [0.8, 0.2], "beta": 0.1}}),
    ("DoRA ранг восемь на k_proj и o_proj последнего слоя на {sft}, lr 0,0001", ["sft"],
     {0: {"adapter": "dora", "r": 8, "layers": [11], "target_modules": ["k_proj", "o_proj"]}}),
    ("train on {sft}, the last 4 layers but not the very last one", ["sft"], {0: {"layers": [8, 9, 10]}}),
    # red-team pass 29a (at 4bb4d72): silent classes
    ("ORPO on {dpo} with beta 0,1 then SFT on {sft}, no wait, SFT first and then the ORPO", ["sft", "preference"],
     {1: {"method": "orpo", "beta": 0.1}}),  # a second ORPO was added
    ("do DPO on {dpo} but not on layer 0 and not on layer 11", ["preference"], {0: {"layers": list(range(1, 11))}}),
    ("DPO на {dpo}, не на слое 0 и не на слое 11", ["preference"], {0: {"layers": list(range(1, 11))}}),
    ("DPO on {dpo} on all layers but not layer 0 and not layer 11", ["preference"], {0: {"layers": list(range(1, 11))}}),
    # red-team pass 30 (at b807d94): silent classes
    ("I want DPO on {dpo} with beta 0,25 after a quick SFT pass on {sft} (lr 3e-5)", ["sft", "preference"],
     {0: {"learning_rate": 3e-5}, 1: {"beta": 0.25}}),  # the stages ran in said order, DPO first
    ("лора r 32 для SFT на {sft} и r 8 для DPO на {dpo}, таргеты q_proj,v_proj в обоих", ["sft", "preference"],
     {0: {"r": 32, "target_modules": ["q_proj", "v_proj"]}, 1: {"r": 8, "target_modules": ["q_proj", "v_proj"]}}),
    ("SFT on {sft} r 32 and DPO on {dpo} r 8, target q_proj and v_proj in both", ["sft", "preference"],
     {0: {"target_modules": ["q_proj", "v_proj"]}, 1: {"target_modules": ["q_proj", "v_proj"]}}),
    ("сфт на {sft} с эпохами 2, потом орпо на {dpo} с бетой 0.2, лора r 8 в обоих", ["sft", "preference"],
     {0: {"r": 8, "epochs": 2}, 1: {"r": 8, "beta": 0.2}}),
    # a Russian "нет, наоборот" swaps the two values just said
    ("SFT на {sft}, DPO на {dpo}, потом смерджи с {partner} тиес, плотность 0.5, вес партнёра 0.4, а нашей 0.6 — нет, "
     "наоборот", ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["{partner}", "@dpo-merged"], "weights": [0.6, 0.4], "density": 0.5}}),
    ("сделай SFT на {sft}, потом DPO на {dpo}. lr для SFT 1e-5, для DPO 2e-4. нет, наоборот", ["sft", "preference"],
     {0: {"learning_rate": 2e-4}, 1: {"learning_rate": 1e-5}}),
    # red-team pass 29: shares said with their member and the rest, a merge said as "потом линейно с B (партнёру треть)"
    ("merge with {partner} 0.25 and keep the rest mine, linear", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.25, 0.75]}}),
    ("SFT на {sft}, потом ORPO на {dpo}, потом линейно с {partner} (партнёру треть), потом slerp с {partner2} t 0,5",
     ["sft", "preference", "merge_adapter", "merge_models", "merge_models"],
     {3: {"models": ["@orpo-merged", "{partner}"], "weights": [0.666667, 0.333333]}, 4: {"t": 0.5}}),
    ("IPO loss, beta 0.01, after SFT on {sft}", ["sft", "preference"], {1: {"loss_type": "ipo", "beta": 0.01}}),
    ("сфт лр 5е-5 четыре эпохи на {sft}, потом смерджи, в фп16", ["sft"],
     {0: {"learning_rate": 5e-5, "epochs": 4}}),
    # red-team pass 31b (at 0edd7f9): a stage named again for its order or its values made a second one (silent)
    ("dpo after sft pls, sft on {sft} first then dpo on {dpo} beta 0,2 and save to {out}", ["sft", "preference"],
     {1: {"beta": 0.2}}),
    ("lora r 8 on both sft and dpo stages, alpha 32 for each, sft on {sft} then dpo on {dpo} beta 0.1, {out}",
     ["sft", "preference"], {0: {"r": 8, "alpha": 32}, 1: {"r": 8, "alpha": 32}}),
    ("sft on {sft} lr 2e-5 and dpo on {dpo} lr 5e-7, sft first", ["sft", "preference"],
     {0: {"learning_rate": 2e-5}, 1: {"learning_rate": 5e-7}}),
    ("после дпо на {dpo} смерджи адаптер и сохрани в bf16, но сначала сфт на {sft}", ["sft", "preference", "merge_adapter"],
     {0: {"dataset": "{sft}"}, 1: {"dataset": "{dpo}"}}),  # "но сначала" put the SFT after the DPO
    ("SFT с DoRA? нет, без DoRA, обычная LoRA r 8 на {sft}", ["sft"], {0: {"adapter": "lora", "r": 8}}),
    ("KTO with {kto}, desirable weight 1.0 undesirable 1.5", ["preference"], {0: {"undesirable_weight": 1.5}}),
    ("not LoRA -- DoRA r 16 on {sft}", ["sft"], {0: {"adapter": "dora", "r": 16}}),
    ("PPO не надо, давай DPO на {dpo}, бета 0.1", ["preference"], {0: {"beta": 0.1}}),
    # red-team pass 32b (at c97c5b8): "before DPO" names the DPO said already (a second DPO was added: silent)
    ("After DPO on {dpo}, merge the adapter; before DPO, do SFT on {sft}; save as float16 in 2GB shards to {out}",
     ["sft", "preference", "merge_adapter"], {0: {"dataset": "{sft}"}, 1: {"dataset": "{dpo}"}}),
    ("DPO on {dpo}; перед DPO сделай SFT на {sft}", ["sft", "preference"], {0: {"dataset": "{sft}"}}),
    ("слей {partner} и {partner2} дейр тайс, плотность 0.5", ["merge_models"], {0: {"method": "dare_ties", "density": 0.5}}),
    # "для sft" after a comma opens that stage's own values; it is not where the value before it goes
    ("сделай sft и dpo, для dpo beta 0.3 и 2 эпохи, для sft 3 эпохи", ["sft", "preference"],
     {0: {"epochs": 3}, 1: {"beta": 0.3, "epochs": 2}}),
    ("sft and dpo; for dpo beta 0.3 and 2 epochs, for sft 3 epochs", ["sft", "preference"],
     {0: {"epochs": 3}, 1: {"beta": 0.3, "epochs": 2}}),
    # the stages said again after the pipeline, each with its values, made two more stages: silent
    ("sft on {sft}, then dpo on {dpo}; sft 2 epochs, dpo 1 epoch", ["sft", "preference"], {0: {"epochs": 2}, 1: {"epochs": 1}}),
    ("sft on {sft}, then dpo on {dpo}; 2 epochs sft, 3 epochs dpo", ["sft", "preference"], {0: {"epochs": 2}, 1: {"epochs": 3}}),
    ("SFT на {sft}, потом DPO на {dpo}; SFT 2 эпохи, DPO одна", ["sft", "preference"], {0: {"epochs": 2}, 1: {"epochs": 1}}),
    ("SFT on {sft}, DPO on {dpo}; sft: lr 1e-4, dpo: lr 5e-6", ["sft", "preference"],
     {0: {"learning_rate": 1e-4}, 1: {"learning_rate": 5e-6}}),
    # stop 26 (passes 34a/34b at 2727326)
    ("merge base with {partner}, linear", ["merge_models"], {0: {"method": "linear"}}),  # "merge base" read nothing
    ("sft on {sft} then dpo on {dpo}, каждому по две эпохи", ["sft", "preference"], {0: {"epochs": 2}, 1: {"epochs": 2}}),
    ("sft on {sft} then dpo on {dpo}, each gets 2 epochs", ["sft", "preference"], {0: {"epochs": 2}, 1: {"epochs": 2}}),
    ("do sft on {sft} then dpo on {dpo}, actually swap the order", ["preference", "sft"], {0: {"dataset": "{dpo}"}}),
    ("сфт на {sft}, потом дпо на {dpo}. хотя нет, поменяй порядок", ["preference", "sft"], {1: {"dataset": "{sft}"}}),
    ("сначала DPO на {dpo}? нет, сначала SFT на {sft}, потом DPO", ["sft", "preference"], {0: {"dataset": "{sft}"}}),
    ("first dpo on {dpo}? no, first sft on {sft}, then dpo", ["sft", "preference"], {1: {"dataset": "{dpo}"}}),
    ("sft on {sft} lr 1e-5, dpo on {dpo} lr 5e-7, no, the other way round", ["sft", "preference"],
     {0: {"learning_rate": 5e-7}, 1: {"learning_rate": 1e-5}}),  # two values swapped: the order stays
    ("SFT on {sft} -> DPO on {dpo} -> merge into base -> write {out}", ["sft", "preference", "merge_adapter"], {}),
    ("SFT на {sft}: ранг восемь, альфа шестнадцать, dropout ноль пять сотых", ["sft"],
     {0: {"r": 8, "alpha": 16, "dropout": 0.05}}),
    # "fully" is a full fine-tune: it had trained a LoRA on the layers said (silent)
    ("заморозь первую половину слоёв и обучи остальное полностью", ["sft"], {0: {"adapter": "none", "layers": [6, 7, 8, 9, 10, 11]}}),
    ("freeze the first half of the layers and fully fine-tune the rest on {sft}", ["sft"], {0: {"adapter": "none"}}),
    ("train it fully on {sft}", ["sft"], {0: {"adapter": "none"}}),
    # "all-linear" is PEFT's target, no linear merge: "[3:9]" had been read as merge weights 3:9
    ("layers[3:9] only, lora r 12 alpha 24 all-linear", ["sft"], {0: {"layers": [3, 4, 5, 6, 7, 8], "r": 12}}),
    ("Merge my two finetunes {partner} and {partner2} with {model} as base using ties", ["merge_models"],
     {0: {"method": "ties"}}),  # "finetunes" names the models; it had asked which model to merge with
    ("sft on {sft}, лёрнинг рейт 1e-4, бэтч сайз 8", ["sft"], {0: {"learning_rate": 1e-4, "batch_size": 8}}),
    ("сфт на {sft}, лр 2e-4, бач 8", ["sft"], {0: {"batch_size": 8}}),
    ("exo_pair loss on {dpo}, beta 0.2, label_smoothing 0.001, 1e-6 lr", ["preference"],
     {0: {"loss_type": "exo_pair", "beta": 0.2}}),  # a loss only DPO has names the DPO stage
    # passes 35a/35b at 7bc8b53
    ("Train the last 4 layers fully and nothing else on {sft}", ["sft"],
     {0: {"adapter": "none", "layers": [8, 9, 10, 11]}}),  # LoRA on the four layers: silent
    ("SFT on {sft} and DPO on {dpo}, but run DPO before SFT", ["preference", "sft"], {}),
    ("SFT на {sft}, три эпохи — нет, две, — потом DPO на {dpo} одну эпоху", ["sft", "preference"],
     {0: {"epochs": 2}, 1: {"epochs": 1}}),  # the correction reached past "потом" and took the DPO's words
    ("sft on {sft}, then ties merge with {partner} and {partner2}, each gets 0.25, ours the rest, density 0.5",
     ["sft", "merge_adapter", "merge_models"], {2: {"weights": [0.5, 0.25, 0.25], "density": 0.5}}),
    ("SFT на {sft}, потом TIES с {partner} и {partner2}: каждому по 0,2, остальное нашей",
     ["sft", "merge_adapter", "merge_models"], {2: {"weights": [0.6, 0.2, 0.2]}}),
    ("линейный мердж базы с {partner} и {partner2}, по 20% партнёрам, остальное базе", ["merge_models"],
     {0: {"weights": [0.6, 0.2, 0.2]}}),
    ("партнёру {partner} четверть, остальное базе, линейно", ["merge_models"],
     {0: {"method": "linear", "models": ["{partner}", "@base"], "weights": [0.25, 0.75]}}),
    ("сфт, потом дпо с тем же лр что и сфт; лр сфт 1e-4, бета 0.1", ["sft", "preference"],
     {0: {"learning_rate": 1e-4}, 1: {"learning_rate": 1e-4, "beta": 0.1}}),  # the setting before its stage
    ("на 4 гпу с FSDP: сфт, потом дпо", ["sft", "preference"],
     {0: {"gpus": 4, "distributed": "fsdp"}, 1: {"gpus": 4, "distributed": "fsdp"}}),  # DPO ran on one GPU
    ("мерж линейный: база 0,6, {partner} 0,4, dtype float16", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}"], "weights": [0.6, 0.4]}}),  # "what should be done?"
    ("sft on {sft}, warmup 10 steps, linear", ["sft"], {0: {"warmup_steps": 10}}),  # "linear" alone is no merge
    ("сфт на {sft}, потом дпо на {dpo}, оба LoRA r 64 альфа 128", ["sft", "preference"],
     {0: {"r": 64, "alpha": 128}, 1: {"r": 64, "alpha": 128}}),  # pass 38a: the DPO's only (echoed)
    # pass 38b at 26a7aff: silent before
    ("Do SFT on {sft}. After the SFT, merge the adapter, then run ORPO on {dpo} with beta 0.1, then merge again. "
     "SFT lr 2e-5, ORPO lr 8e-6.", ["sft", "merge_adapter", "preference", "merge_adapter"],
     {0: {"learning_rate": 2e-5}, 2: {"learning_rate": 8e-6, "beta": 0.1}}),  # "again" had repeated both stages
    ("finetune with lora but not on k_proj: q, v, o only, r 8", ["sft"],
     {0: {"target_modules": ["o_proj", "q_proj", "v_proj"], "r": 8}}),  # the MLP had been added
    ("сфт, мерж, дпо, мерж, ещё сфт на слоях 2-3, орпо, мерж", ["sft", "preference", "sft", "preference"],
     {0: {"layers": None}, 2: {"layers": [2, 3]}}),  # the second SFT was lost (each adapter is folded before the next)
    # passes 37a/37b at 1c7b7b6: silent before
    ("DPO на {dpo}, полные веса, бета 0.1", ["preference"], {0: {"adapter": "none", "beta": 0.1}}),
    ("sft на {sft}, сохрани полные веса в {out}", ["sft"], {0: {"adapter": "lora"}}),  # the merged model written
    ("в дпо сделай ранг 8 и альфу 16, а в сфт ранг 32 альфа 64, сфт сначала", ["sft", "preference"],
     {0: {"r": 32, "alpha": 64}, 1: {"r": 8, "alpha": 16}}),
    ("dpo на {dpo} с бетой 0.2, сфт на {sft} сначала", ["sft", "preference"], {1: {"beta": 0.2}}),
    ("torchtune lora_finetune_single_device on {sft}: lora_attn_modules ['q_proj','v_proj'], apply_lora_to_mlp True, "
     "lora_rank 8", ["sft"], {0: {"target_modules": ["down_proj", "gate_proj", "q_proj", "up_proj", "v_proj"], "r": 8}}),
    ("slerp {partner} favouring it 3 to 1", ["merge_models"], {0: {"models": ["@base", "{partner}"], "t": 0.75}}),
    ("merge with {partner} linear, favouring it 3 to 1", ["merge_models"], {0: {"weights": [0.25, 0.75]}}),
    ("сфт с косинусным шедулером, варм-ап 3%", ["sft"], {0: {"lr_scheduler_type": "cosine", "warmup_steps": 0.03}}),
    # passes 39a/39b at 37f2dfe: silent before
    ("sft on layers 11 to 8", ["sft"], {0: {"layers": [8, 9, 10, 11]}}),  # an empty layer list
    ("дообучи внимание на слоях с 0 по 5 ранга двенадцать, а MLP не трогай", ["sft"],
     {0: {"target_modules": ["k_proj", "o_proj", "q_proj", "v_proj"], "layers": [0, 1, 2, 3, 4, 5], "r": 12}}),
    ("SFT on {sft}, attention stays frozen", ["sft"], {0: {"target_modules": ["down_proj", "gate_proj", "up_proj"]}}),
    ("SFT on {sft}, leave the MLP alone", ["sft"], {0: {"target_modules": ["k_proj", "o_proj", "q_proj", "v_proj"]}}),
    ("линейно смешай {partner} и {partner2} поровну, база не участвует", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"]}}),  # the base had been a third member
    ("lora on q_proj and v_proj only, layers[2:6], r=4, alpha=8, dropout 0.05, then simpo with gamma 0.5 and beta 2.0",
     ["sft", "preference"], {1: {"r": 4, "alpha": 8, "dropout": 0.05, "layers": [2, 3, 4, 5]}}),  # dropout was 0
    ("SFT on {sft} with dropout 0.1 only for SFT, then DPO on {dpo}", ["sft", "preference"],
     {0: {"dropout": 0.1}, 1: {"dropout": 0.0}}),
    # pass 43b at ef2f728: a merge member taken back was merged anyway (silent)
    ("merge {model} with {partner} and {partner2}, but not {partner2} actually", ["merge_models"],
     {0: {"models": ["@base", "{partner}"]}}),
    ("Смерджи {model} с {partner} и {partner2}, но без {partner2}", ["merge_models"], {0: {"models": ["@base", "{partner}"]}}),
    # passes 42a/42b at d98603f
    ("SFT on {sft} with lora r=thirty-two, alpha sixty-four, then DPO on {dpo}", ["sft", "preference"],
     {0: {"r": 32, "alpha": 64}}),
    ("Merge {partner} into the base with task_arithmetic, weight 0.7 for the partner; no training at all",
     ["merge_models"], {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [0.7]}}),  # it weighted the base
    ("Train LoRA r=8 on {sft}, then combine it with the two other checkpoints ({partner}, {partner2}) equally via linear",
     ["sft", "merge_adapter", "merge_models"], {2: {"models": ["@sft-merged", "{partner}", "{partner2}"]}}),
    ("SFT, then merge with {partner} using slerp, 60 percent towards the partner", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}"], "t": 0.6}}),
    ("сделай SFT на трёх эпохах с lr 2e-4, потом DPO; ранг у обоих 32, но у DPO альфа 16", ["sft", "preference"],
     {0: {"r": 32, "epochs": 3}, 1: {"r": 32, "alpha": 16}}),
    ("SFT, шаг обучения три на десять в минус пятой", ["sft"], {0: {"learning_rate": 3e-5}}),
    # passes 41a/41b at 935fa23
    ("SFT на первой половине слоёв, DPO на второй", ["sft", "preference"],
     {0: {"layers": [0, 1, 2, 3, 4, 5]}, 1: {"layers": [6, 7, 8, 9, 10, 11]}}),  # DPO took the first half: silent
    ("sft on the first half of the layers, then dpo on the other half", ["sft", "preference"],
     {1: {"layers": [6, 7, 8, 9, 10, 11]}}),
    ("обучи гейт и ап проекции, даун не трогай", ["sft"], {0: {"target_modules": ["gate_proj", "up_proj"]}}),
    ("сделай SFT, но не трогай слои с нулевого по третий и q_proj", ["sft"],
     {0: {"layers": [4, 5, 6, 7, 8, 9, 10, 11], "target_modules": ["down_proj", "gate_proj", "k_proj", "o_proj",
                                                                    "up_proj", "v_proj"]}}),  # it trained 0-2
    ("DPO на {dpo} с бетой 0.2, а перед ним SFT на {sft}", ["sft", "preference"], {1: {"beta": 0.2}}),
    ("SFT на {sft} и отдельно DPO на {dpo}, оба от базы, потом слей их тайсом поровну",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {2: {"input": "@base"}, 4: {"method": "ties", "weights": [0.5, 0.5]}}),  # the merge was lost
    ("DPO with ipo loss, beta 0.1 -- actually make the loss hinge", ["preference"], {0: {"loss_type": "hinge"}}),
    ("полный файнтюн без лоры на всех слоях, потом DPO с лорой ранг 16", ["sft", "preference"],
     {0: {"adapter": "none"}, 1: {"adapter": "lora", "r": 16}}),
    ("обучи лору на {sft}, смержи, потом DPO на {dpo}", ["sft", "preference"], {}),  # folded before DPO (it asked)
    ("сначала сфт, потом дпо, потом мерж с первой ({partner}) — ей 40%, нам 60%",
     ["sft", "preference", "merge_adapter", "merge_models"], {3: {"models": ["{partner}", "@dpo-merged"],
                                                                  "weights": [0.4, 0.6]}}),
    ("LoRA on layers 11 down to 6, only q and v", ["sft"],
     {0: {"layers": [6, 7, 8, 9, 10, 11], "target_modules": ["q_proj", "v_proj"]}}),
    ("do an SFT pass with lora, rank 64 -- wait no, 32 -- alpha stays 64", ["sft"], {0: {"r": 32, "alpha": 64}}),
    ("SFT с lr полтора на десять в минус четвёртой", ["sft"], {0: {"learning_rate": 1.5e-4}}),
    ("DPO, lr пять e минус семь", ["preference"], {0: {"learning_rate": 5e-7}}),
    ("слияние: возьми 0.3 от {partner}, остальное база, метод linear", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.3, 0.7]}}),
    # passes 40a/40b at 5bad180
    ("lora on attention only (q and v), leave the MLP alone, layers 4 to 7, lr 3e-4", ["sft"],
     {0: {"target_modules": ["q_proj", "v_proj"], "layers": [4, 5, 6, 7]}}),  # k and o had been added: silent
    ("каждый второй слой, начиная с индекса 1, лора ранг 16", ["sft"], {0: {"layers": [1, 3, 5, 7, 9, 11], "r": 16}}),
    ("DPO with hinge loss, beta 0.3 - actually make it sigmoid", ["preference"], {0: {"loss_type": "sigmoid", "beta": 0.3}}),
    ("слои с 2 по 5 включительно, простите, с 2 по 7", ["sft"], {0: {"layers": [2, 3, 4, 5, 6, 7]}}),
    ("DPO with sigmoid + bco_pair, loss_weights 0.8 and 0.2", ["preference"],
     {0: {"loss_type": ["sigmoid", "bco_pair"], "loss_weights": [0.8, 0.2]}}),
    ("дообучи только на {dpo} через DPO, а потом SFT на {sft}", ["preference", "sft"],
     {0: {"dataset": "{dpo}"}, 1: {"dataset": "{sft}"}}),  # the SFT had been given the preference pairs
    ("linear merge: 1 part base, 2 parts {partner}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [1.0, 2.0]}}),
    ("обучи лору на q и v, остальное не трогай, ранг восемь", ["sft"], {0: {"target_modules": ["q_proj", "v_proj"], "r": 8}}),
    # "except in/on …" had selected the one layer it excluded: silent
    ("SFT on {sft} except in the first block", ["sft"], {0: {"layers": list(range(1, 12))}}),
    ("sft on {sft} everywhere except on the last layer", ["sft"], {0: {"layers": ALL_BUT_LAST}}),
    ("сфт на {sft} везде, кроме как на первом слое", ["sft"], {0: {"layers": list(range(1, 12))}}),
    ("SFT on {sft}, no training on layer 0", ["sft"], {0: {"layers": list(range(1, 12))}}),
    ("SFT on {sft}, layer 0 stays frozen", ["sft"], {0: {"layers": list(range(1, 12))}}),
    ("SFT on {sft} with layers 0:12:2", ["sft"], {0: {"layers": [0, 2, 4, 6, 8, 10]}}),  # a slice with a step
    # a way of training taken back ("full finetune, actually no, DoRA")
    ("Full finetune, actually no, use DoRA, on {sft}", ["sft"], {0: {"adapter": "dora"}}),
    ("SFT on {sft} with full fine-tuning, no wait, LoRA r 8", ["sft"], {0: {"adapter": "lora", "r": 8}}),
    ("дообучи на {sft} лорой, хотя нет, полное дообучение", ["sft"], {0: {"adapter": "none"}}),
    # passes 39a/39b: asked about needlessly
    ("sft r=16 then orpo with beta 0.25, then linear merge with {partner}: ours 0.7, partner 0.3. write to {out}",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@orpo-merged", "{partner}"], "weights": [0.7, 0.3]}}),  # "0.3." ended a sentence
    ("linear merge: my model 2 parts, {partner} 1 part, {partner2} 1 part", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [2.0, 1.0, 1.0]}}),
    ("SFT rank 16, then DPO rank 8, then linear with {partner} 3:1 for ours",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {1: {"r": 8}, 3: {"models": ["@dpo-merged", "{partner}"], "weights": [0.75, 0.25]}}),
    ("Merge my model with {partner} (slerp t 0.5) and then that result with {partner2} linearly 80/20",
     ["merge_models", "merge_models"], {0: {"t": 0.5}, 1: {"models": ["@merge", "{partner2}"], "weights": [0.8, 0.2]}}),
    ("SFT, then merge with {partner} linearly with the partner getting twice as much as ours",
     ["sft", "merge_adapter", "merge_models"], {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.333333, 0.666667]}}),
    ("мерж трёх моделей: моя, {partner} и {partner2}, линейно, по трети каждой", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.333333] * 3}}),  # "моя" had been dropped
    ("ties-мердж базы с {partner} и {partner2}, плотность 0.5, веса по половине", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.5, 0.5], "density": 0.5}}),
    ("sft without packing, max_length 4096", ["sft"], {0: {"packing": False, "max_length": 4096}}),
    ("SFT for one epoch, then DPO (beta 0.1) for two", ["sft", "preference"], {0: {"epochs": 1}, 1: {"epochs": 2}}),
    ("сфт на одну эпоху, потом дпо на две", ["sft", "preference"], {0: {"epochs": 1}, 1: {"epochs": 2}}),
    ("sft r 16 batch 4 accum 4", ["sft"], {0: {"gradient_accumulation": 4}}),
    ("сфт на первых шести слоях с lr 1e-4, затем дпо на последних шести с бетой 0.3", ["sft", "preference"],
     {0: {"layers": [0, 1, 2, 3, 4, 5]}, 1: {"layers": [6, 7, 8, 9, 10, 11], "beta": 0.3}}),
    ("сфт, потом кто", ["sft", "preference"], {1: {"method": "kto"}}),  # the KTO stage was lost
    ("сфт 3 эпохи... нет, 2, lr 5e-5, потом мерж с {partner} слерпом, наша модель 0.7",
     ["sft", "merge_adapter", "merge_models"], {0: {"epochs": 2}, 2: {"models": ["@sft-merged", "{partner}"], "t": 0.3}}),
    ("linear merge of {partner} and {partner2} where {partner2} gets twice the weight of {partner}", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.333333, 0.666667]}}),  # asked until TIMES_ONE read it
    # owner-worded shares that had been asked about needlessly
    ("merge with {partner} using linear, the partner gets 25% and the rest is ours", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.25, 0.75]}}),
    ("линейный мерж с {partner}, вес 0.6 нам и 0.4 партнёру", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.6, 0.4]}}),
    ("линейный мерж с {partner}: партнёру 0.3, остальное остаётся базе", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.3, 0.7]}}),
    ("slerp с {partner}, 0.3 на партнёра", ["merge_models"], {0: {"models": ["@base", "{partner}"], "t": 0.3}}),
    ("slerp with {partner}, 0.8 to ours", ["merge_models"], {0: {"models": ["@base", "{partner}"], "t": 0.2}}),
    ("слей линейно модель, {partner} и {partner2}, все три поровну", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"]}}),
    # pass 44a: a ratio with an owner legend in brackets was merged in the members' order (shares swapped): silent
    ("sft on {sft} then dpo on {dpo} then merge with {partner} at 60:40 (partner:ours)",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["{partner}", "@dpo-merged"], "weights": [0.6, 0.4]}}),
    ("слей {partner} с нашей в соотношении 1:3 (партнёр:наша)", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.25, 0.75]}}),
    ("linear merge with {partner}, 70 to 30 (ours to partner)", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("linear merge with {partner} and {partner2}, 1:2:3 for the base, {partner} and {partner2}", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.166667, 0.333333, 0.5]}}),
    # owner-worded shares asked about needlessly (passes 43, 44)
    ("merge our model with {partner} linearly, 1 for ours and 2 for the partner", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.333333, 0.666667]}}),  # had been [0.01, 0.02]
    ("linear merge with {partner}, weight of ours is 0,7 and partner 0,3", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("линейный мерж с {partner} и {partner2}, наша модель вес 1, партнёры по 0,5", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [1.0, 0.5, 0.5]}}),
    ("linear merge with {partner} and {partner2}, 0.4 for ours and 0.3 each for the two partners", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.4, 0.3, 0.3]}}),
    ("merge with {partner} linear 70/30 ours", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("смешай с {partner} линейно 70 на 30 в нашу пользу", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("linear merge with {partner} 70/30 in the partner's favour", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.3, 0.7]}}),
    ("blend with {partner} linearly: partner gets 25%, we get the rest", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.25, 0.75]}}),
    ("merge our model with {partner}, ours weighted 2, theirs 1, linear", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [2.0, 1.0]}}),
    ("линейный мёрж: базе 80%, партнёру {partner} 20%", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.8, 0.2]}}),
    ("ties merge {partner} and {partner2} over the base, density 0.5 each, weights 1 and 1", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [1.0, 1.0], "density": 0.5}}),
    ("ties merge of {partner} and {partner2} over the base, 0.5 for each", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.5, 0.5]}}),
    # per-stage values listed after one setting word
    ("SFT on {sft} and DPO on {dpo} with a different lora rank for each: 32 for sft, 8 for dpo",
     ["sft", "preference"], {0: {"r": 32}, 1: {"r": 8}}),
    ("SFT on {sft} then DPO on {dpo}, learning rates: sft 1e-4, dpo 5e-7",
     ["sft", "preference"], {0: {"learning_rate": 1e-4}, 1: {"learning_rate": 5e-7}}),
    ("SFT на {sft} и DPO на {dpo}, скорость обучения для каждого этапа: сфт 1e-4, дпо 5e-7",
     ["sft", "preference"], {0: {"learning_rate": 1e-4}, 1: {"learning_rate": 5e-7}}),
    ("SFT on {sft} then DPO on {dpo}, learning rates 2e-4 for sft and 5e-6 for dpo",
     ["sft", "preference"], {0: {"learning_rate": 2e-4}, 1: {"learning_rate": 5e-6}}),
    ("ранг 8 для SFT на {sft} и 16 для DPO на {dpo}, бета 0.1", ["sft", "preference"],
     {0: {"r": 8}, 1: {"r": 16, "beta": 0.1}}),  # pass 45b: "16" was asked about
    ("rank 8 for SFT on {sft} and 16 for DPO on {dpo}", ["sft", "preference"], {0: {"r": 8}, 1: {"r": 16}}),
    # pass 44b: "DPO as full fine-tuning" made "fine-tuning" an SFT word, and the DPO's lr went to the SFT (near-silent)
    ("SFT on {sft} with LoRA rank 16, alpha 32, then DPO on {dpo} as full fine-tuning (no adapter), lr 5e-7",
     ["sft", "preference"], {0: {"learning_rate": 2e-4}, 1: {"learning_rate": 5e-7, "adapter": "none"}}),
    ("SFT на {sft}, потом DPO на {dpo} полным дообучением, lr 5e-7",
     ["sft", "preference"], {1: {"learning_rate": 5e-7, "adapter": "none"}}),
    # one member's weight said again after a correction marker (pass 44a asked about both numbers)
    ("linear merge with {partner}, 0.9 for the partner, no wait, 0.1 for the partner", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.9, 0.1]}}),
    ("линейный мерж с {partner}: партнёру 0.7, ой, нет, 0.3", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    # a member left out by its place in the list ("нет, без второго"; pass 44a asked)
    ("linear merge with {partner} and {partner2}, no wait, without the second one", ["merge_models"],
     {0: {"models": ["@base", "{partner}"]}}),
    ("смерж с {partner} - партнёру 0.3, нам остальное - и с {partner2}... нет, без второго", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.3, 0.7]}}),
    # ours named beside partners by their place (passes 41a, 44a asked about each number)
    ("обучи sft на {sft}, потом dpo на {dpo}, потом смержи с {partner} и {partner2}: наша 0.5, первого партнёра 0.3, второго 0.2",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}", "{partner2}"], "weights": [0.5, 0.3, 0.2]}}),
    ("линейно смержи с {partner} и {partner2}, веса: наша 0.5, первая 0.3, вторая 0.2", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.3, 0.2]}}),
    ("linear merge with {partner} and {partner2}: the second partner 0.2, ours 0.5, the first partner 0.3", ["merge_models"],
     {0: {"models": ["{partner2}", "@base", "{partner}"], "weights": [0.2, 0.5, 0.3]}}),
    # "merge … after sft and dpo": both stages run before the merge (the DPO had run after it: silent)
    ("merge ours with {partner} after sft on {sft} and dpo on {dpo}", ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"]}}),
    ("слей нашу с {partner} после sft на {sft} и dpo на {dpo}", ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"]}}),
    ("blend ours after sft on {sft} and dpo on {dpo} with {partner}, 2 parts ours, 1 part partner",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"], "weights": [2.0, 1.0]}}),
    ("смешай нашу после sft на {sft} и dpo на {dpo} с {partner}, нам 2 части, ему 1 часть",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"], "weights": [2.0, 1.0]}}),
    # pass 45a: a path, its share, then an owner word after the share: the share is the owner's ("70 нам": silent)
    ("sft на {sft}, dpo на {dpo}, потом мерж с {partner} 70 нам", ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"], "weights": [0.7, 0.3]}}),
    ("sft на {sft}, dpo на {dpo} loss ipo, мерж с {partner} 0,65 наша", ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"], "weights": [0.65, 0.35]}}),
    ("sft on {sft}, then dpo on {dpo}, merge {partner} 0.7 ours", ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"], "weights": [0.7, 0.3]}}),
    # merge words the planner had not read as a merge (pass 45a asked)
    ("sft on {sft} then dpo on {dpo} then merge {partner} 50:50", ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"], "weights": [0.5, 0.5]}}),
    ("sft on {sft} then dpo on {dpo} then merge w {partner} each 0.5", ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"], "weights": [0.5, 0.5]}}),
    ("sft on {sft} then dpo on {dpo}, merge our model 0.6 and {partner} 0.2 and {partner2} the rest",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}", "{partner2}"], "weights": [0.6, 0.2, 0.2]}}),
    ("sft on {sft} then dpo on {dpo} then merge 40% {partner} 40% {partner2} and ours the remaining 20%",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["{partner}", "{partner2}", "@dpo-merged"], "weights": [0.4, 0.4, 0.2]}}),
    ("sft на {sft}, dpo на {dpo}, мерж 40% {partner}, 40% {partner2}, остальное наша",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["{partner}", "{partner2}", "@dpo-merged"], "weights": [0.4, 0.4, 0.2]}}),
    ("sft on {sft} then dpo on {dpo}, then merge with {partner} with weights: base 0.2 ours 0.5 partner 0.3 linear",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@base", "@dpo-merged", "{partner}"], "weights": [0.2, 0.5, 0.3]}}),
    ("sft на {sft}, потом dpo на {dpo}, мердж с {partner}, вес базы 0.2, наша 0.5, партнёр 0.3 линейно",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@base", "@dpo-merged", "{partner}"], "weights": [0.2, 0.5, 0.3]}}),
    ("сфт на {sft} потом дпо на {dpo} а потом смержь с {partner} 2 к 1 в нашу",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"], "weights": [0.666667, 0.333333]}}),
    # a weight or a member corrected (pass 45a asked)
    ("sft on {sft}, then dpo on {dpo}; merge with {partner} weight 0.5 — sorry 0.4 for the partner",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"], "weights": [0.6, 0.4]}}),
    ("sft на {sft}, dpo на {dpo}, мерж с {partner} вес 0.5 — сорри, 0.4 партнёру",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"], "weights": [0.6, 0.4]}}),
    ("sft на {sft} потом dpo на {dpo} потом мерж с {partner} — нет, с {partner2} — линейно пополам",
     ["sft", "preference", "merge_adapter", "merge_models"], {3: {"models": ["@dpo-merged", "{partner2}"]}}),
    # pass 45a: a merge of two stages' own results (asked, or the merge was dropped with only "not placed: мерж")
    ("SFT on {sft} 3 epochs, then DPO on {dpo} 2 epochs, then merge the sft model and the dpo model linear 50/50",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {4: {"models": ["@sft-merged", "@dpo-merged"], "weights": [0.5, 0.5], "method": "linear"}}),
    ("sft on {sft}, then dpo on {dpo}, then merge the DPO result with the SFT result, 30% sft 70% dpo",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {4: {"models": ["@sft-merged", "@dpo-merged"], "weights": [0.3, 0.7]}}),
    ("sft на {sft}, dpo на {dpo}, потом смержить результат DPO с результатом SFT 30 на 70 (30 sft)",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {4: {"models": ["@sft-merged", "@dpo-merged"], "weights": [0.3, 0.7]}}),
    ("sft на {sft} потом dpo {dpo} потом мерж sft-модели и dpo-модели пополам",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {4: {"models": ["@sft-merged", "@dpo-merged"]}}),
    # pass 46a/46b silent plans
    ("sft на {sft} 3 эпохи, dpo на {dpo} две эпохи с бетой 0,15, потом della с {partner} 0.7 нам 0.3 ему",
     ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"], "weights": [0.7, 0.3]}}),  # the shares had gone to the other member
    ("model_stock merge of {partner} and {partner2} with our sft result, sft on {sft}", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}", "{partner2}"]}}),  # the merge had run first, the SFT after it
    ("SFT на {sft}, затем DPO на {dpo} — на этапе DPO только слои 10 и 11, на SFT все слои", ["sft", "preference"],
     {0: {"layers": None}, 1: {"layers": [10, 11]}}),  # the SFT had been given layers 10 and 11 too
    ("SFT on {sft} then DPO on {dpo}, for the DPO stage only layers 10 and 11, for SFT all layers", ["sft", "preference"],
     {0: {"layers": None}, 1: {"layers": [10, 11]}}),
    # task arithmetic's per-model scaling is its weights, not an adapter scale (pass 44a: refused for that reason)
    ("task arithmetic merge of {partner} and {partner2} onto the base, scaling 0.8 and 0.4", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.8, 0.4], "method": "task_arithmetic"}}),
    # a stage taken back with "but": dropped, with a note
    ("SFT on {sft} then DPO on {dpo} then merge with {partner}, but skip the sft",
     ["preference", "merge_adapter", "merge_models"], {}),
    # pass 47a's silent plans
    ("first merge {partner} and {partner2} 1:1 with slerp, then sft the merged model on {sft}",
     ["merge_models", "sft"], {0: {"method": "slerp", "t": 0.5}}),  # t had been 1.0: all of the second model
    ("ties с базой {model}: {partner} вес 0.5, подожди, 0.3, плотность 0.5; {partner2} вес 0.7 плотность 0.5",
     ["merge_models"], {0: {"models": ["{partner}", "{partner2}"], "weights": [0.3, 0.7]}}),  # the 0.3 was dropped
    ("SFT на {sft}, затем слить с {partner} (0.5/0.5) — и потом на результате DPO на {dpo}",
     ["sft", "merge_adapter", "merge_models", "preference"], {2: {"models": ["@sft-merged", "{partner}"]}}),
    # owners and ratios said in chat (pass 47a and the stop-28 list)
    ("sft on {sft}, then merge with {partner}, 65-35", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.65, 0.35]}}),
    ("sft on {sft}, then merge {partner} and our model, weights 0.2 and 0.8 respectively",
     ["sft", "merge_adapter", "merge_models"], {2: {"models": ["{partner}", "@sft-merged"], "weights": [0.2, 0.8]}}),
    ("sft on {sft}, then merge {partner} with ours, 0.2 and 0.8 respectively",
     ["sft", "merge_adapter", "merge_models"], {2: {"models": ["{partner}", "@sft-merged"], "weights": [0.2, 0.8]}}),
    ("сфт на {sft}, потом мердж с {partner}, 0.2 для него и 0.8 для нашей", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["{partner}", "@sft-merged"], "weights": [0.2, 0.8]}}),
    ("сфт на {sft}, потом мердж с {partner}: две части нашей, одна часть его", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}"], "weights": [2.0, 1.0]}}),
    ("sft on {sft}, then merge with {partner}, ours 0.5 and partner 0.5, wait no, partner 0.3",
     ["sft", "merge_adapter", "merge_models"], {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.5, 0.3]}}),
    ("dpo on {dpo} with beta=0.1 no 0.25", ["preference"], {0: {"beta": 0.25}}),
    ("DPO with beta zero point zero five on {dpo}", ["preference"], {0: {"beta": 0.05}}),
    ("sft on {sft}, dpo on {dpo}, then merge the two results 0.7 dpo / 0.3 sft",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {4: {"models": ["@dpo-merged", "@sft-merged"], "weights": [0.7, 0.3]}}),
    ("sft на {sft}, dpo на {dpo}, потом мердж результатов 1 к 3 (dpo:sft)",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {4: {"models": ["@dpo-merged", "@sft-merged"], "weights": [0.25, 0.75]}}),
    ("sft on {sft}, dpo on {dpo}, then merge the SFT and DPO results with {partner}, thirds each",
     ["sft", "merge_adapter", "preference", "merge_adapter", "merge_models"],
     {4: {"models": ["@sft-merged", "@dpo-merged", "{partner}"], "weights": [0.333333, 0.333333, 0.333333]}}),
    ("сфт на {sft}, дпо на {dpo}, потом мердж dpo-результата с {partner}", ["sft", "preference", "merge_adapter", "merge_models"],
     {3: {"models": ["@dpo-merged", "{partner}"]}}),
    ("hey can u merge my model w/ {partner}, like 70% mine 30% theirs", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("merge partner's model {partner} with ours, his weight is 0.35", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.65, 0.35]}}),
    ("смержь {partner2} c нашей: его вес шестьдесят процентов", ["merge_models"],
     {0: {"models": ["@base", "{partner2}"], "weights": [0.4, 0.6]}}),
    ("смёрджи нашу с {partner}, его доля 0,3", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("merge {partner} into ours with slerp, partner share 0.7", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "t": 0.7}}),
    ("linear merge 0.2 base, 0.8 {partner}", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.2, 0.8]}}),
    ("ну короче сделай dpo на {dpo}, потом слей с {partner}, веса 0.4 (партнёр) и 0.6 (наша)",
     ["preference", "merge_adapter", "merge_models"], {2: {"models": ["{partner}", "@dpo-merged"], "weights": [0.4, 0.6]}}),
    ("сделай dare_linear: {partner} и {partner2} по 0.5, density 0.7, база {model}", ["merge_models"],
     {0: {"weights": [0.5, 0.5], "density": 0.7}}),
    ("dare_ties, base is {model}, {partner} and {partner2} each with weight 0.5 and density 0.3", ["merge_models"],
     {0: {"weights": [0.5, 0.5], "density": 0.3}}),
    ("слей три модели: нашу, {partner}, {partner2}; веса 0.2, 0.3 и остальное", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.2, 0.3, 0.5]}}),
    ("merge {partner} and {partner2} into {out}, {partner2} gets 2/3", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.333333, 0.666667]}}),  # had been read as 2:3
    ("sft on {sft}, then merge with {partner}, 1/3 to the partner", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.666667, 0.333333]}}),
    # a module taken out of the list just said (pass 47b: k_proj had stayed, flagged only by "not placed")
    ("sft on {sft}, lora on q, k, v -- actually drop k -- rank 8", ["sft"],
     {0: {"target_modules": ["q_proj", "v_proj"], "r": 8}}),
    ("sft на {sft}, lora на q, k, v, o, потом убери o, ранг 8", ["sft"],
     {0: {"target_modules": ["k_proj", "q_proj", "v_proj"], "r": 8}}),
    ("sft on {sft}, target modules: all-linear, not o_proj", ["sft"],
     {0: {"target_modules": ["down_proj", "gate_proj", "k_proj", "q_proj", "up_proj", "v_proj"]}}),
    ("без обучения, просто перепиши модель в fp32 одним файлом в {out}", [], {}),  # had asked what to do
    # pass 48a's silent plans
    ("orpo on {dpo} then merge the orpo result 60/40 with {partner} (60 for partner)",
     ["preference", "merge_adapter", "merge_models"], {2: {"models": ["{partner}", "@orpo-merged"], "weights": [0.6, 0.4]}}),
    ("sft on {sft}, merge with {partner} 70/30 (ours 70)", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.7, 0.3]}}),
    ("сфт на {sft}, потом мердж с {partner} 60 на 40 (партнёру 60)", ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["{partner}", "@sft-merged"], "weights": [0.6, 0.4]}}),
    ("Merge {partner} into the base: weights 0.9/0.1 (base/partner), output {out}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.9, 0.1]}}),  # "base/partner" had been masked as a path
    ("лора на q,k,v — без k — ранг 8, датасет {sft}", ["sft"], {0: {"target_modules": ["q_proj", "v_proj"], "r": 8}}),
    ("смерджи результат sft с {partner}, sft на {sft} с lr 3e-4", ["sft", "merge_adapter", "merge_models"],
     {0: {"learning_rate": 3e-4}, 2: {"models": ["@sft-merged", "{partner}"]}}),  # the base had been merged, then SFT
    ("linear merge of {model}, {partner} and {partner2}, each 1/3", ["merge_models"],
     {0: {"weights": [0.333333, 0.333333, 0.333333]}}),  # had been read as the ratio 1:3
    ("слей {partner} и {partner2} методом task arithmetic с базой {model}, веса по 0.5", ["merge_models"],
     {0: {"method": "task_arithmetic", "weights": [0.5, 0.5]}}),  # "task" had been asked about as a method
    ("sft on {sft}, leave k_proj out: q, v, o, gate, up, down", ["sft"],
     {0: {"target_modules": ["down_proj", "gate_proj", "o_proj", "q_proj", "up_proj", "v_proj"]}}),
    ("dpo on {dpo}, loss sigmoid… no wait, hinge", ["preference"], {0: {"loss_type": "hinge"}}),
    ("смержи {model} и {partner} линейно, вес партнёра 0.3", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("dpo beta .1 loss sigmoid... no wait, hinge. {dpo}", ["preference"], {0: {"loss_type": "hinge", "beta": 0.1}}),
    ("dare_ties: {partner} вес 0,6 плотность 0,5; {partner2} вес 0,4 плотность 0,5; база {model}", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.6, 0.4], "density": 0.5}}),  # "0,5; база" is no base weight
    # a share said as a fraction word beside "доля"/"gets" (pass 48a: asked)
    ("слей {model} с {partner}, его доля треть", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.666667, 0.333333]}}),
    ("обучи на {sft} две эпохи, lr 1e-4, потом слей с {partner}, доля партнёра две трети",
     ["sft", "merge_adapter", "merge_models"], {0: {"epochs": 2}, 2: {"weights": [0.333333, 0.666667]}}),
    ("merge {model} and {partner} linear, partner gets a third, rest is ours", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.333333, 0.666667]}}),
    # pass 49a's silent plan: a bare "no" before "just <stage>" takes back what came before
    ("dpo beta 0.1 then simpo... no, just simpo with gamma 0.5 on {dpo}", ["preference"],
     {0: {"method": "simpo", "simpo_gamma": 0.5}}),  # a DPO stage had been kept
    ("сфт на {sft}, потом дпо на {dpo}, нет, только дпо", ["preference"], {0: {"method": "dpo"}}),
    ("sft on {sft} then dpo on {dpo}, no, no need for the dpo", ["sft"], {}),  # a bare "no" alone takes back nothing
    ("merge {partner} and {partner2} into {model} with ties, the second partner gets three times the first",
     ["merge_models"], {0: {"models": ["{partner}", "{partner2}"], "weights": [1.0, 3.0]}}),  # had been equal weights
    # one share and "the rest split evenly" among the others (passes 47b, 48a, 49a: asked)
    ("sft on {sft}, then merge that with {partner} and {partner2}, 40% ours, the other two split the rest evenly",
     ["sft", "merge_adapter", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}", "{partner2}"], "weights": [0.4, 0.3, 0.3]}}),
    ("смерджи {model}, {partner} и {partner2}: наша 0.5, остальное поровну между партнёрами", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.25, 0.25]}}),
    # pass 49a: labels said after the ratio, ours left out, the rest said as what is left
    ("merge {model} and {partner}, 80/20, the 80 is the partner", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.8, 0.2]}}),
    ("смержи {model} и {partner} 80/20, причём 80 — это партнёр", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.8, 0.2]}}),
    ("merge only {partner} and {partner2} (not our model), linear 0.7 / 0.3", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.7, 0.3]}}),
    ("смержи только {partner} и {partner2}, без нашей модели, линейно 0.7 / 0.3", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.7, 0.3]}}),
    ("смержи три модели линейно: наша 0.5, {partner} 0.3, {partner2} — что останется", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.3, 0.2]}}),
    # a layer exclusion does not reach into the module list after it (pass 49b: v_proj had been dropped)
    ("Все слои кроме первого, модули q_proj и v_proj, {sft}", ["sft"],
     {0: {"layers": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], "target_modules": ["q_proj", "v_proj"]}}),
    # a folder's bare name said after its path is that member (pass 51 review: "partner2 gets 2/3" had been a 2:3 ratio)
    ("merge ours with {partner2}, partner2 gets 2/3", ["merge_models"],
     {0: {"models": ["@base", "{partner2}"], "weights": [0.333333, 0.666667]}}),
    ("merge {partner} and {partner2} ties, partner2 0.7, partner 0.3", ["merge_models"],
     {0: {"models": ["{partner2}", "{partner}"], "weights": [0.7, 0.3]}}),
    ("слей нашу с {partner2}, partner2 получает 1/4", ["merge_models"],
     {0: {"models": ["@base", "{partner2}"], "weights": [0.75, 0.25]}}),
    # the opened model named second by an "ours" word keeps the said order (0.9 had gone to ours)
    ("merge {partner} and my model with weights 0.9 and 0.1", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.9, 0.1]}}),
    ("слей {partner} и мою модель, веса 0.9 и 0.1", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.9, 0.1]}}),
    # pass 51a/51b: a ratio taken back for one member's share ("70/30, oh wait, partner 60"); a share then its owner
    # corrected ("40% mine, wait no, 30% mine"); a share with its owner and no method named is linear, not TIES
    ("merge ours and {partner} 30/70, oh wait, partner 60", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}"], "weights": [0.4, 0.6]}}),
    ("слей нашу и {partner} 30/70, ой нет, партнёру 60", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}"], "weights": [0.4, 0.6]}}),
    ("merge ours with {partner}, 40% mine, wait no, 30% mine", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.3, 0.7]}}),
    ("слей нашу с {partner}: 0.4 нам, ой нет, 0.3 нам", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.3, 0.7]}}),
    ("merge {partner} with ours, ours gets 90", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}"], "weights": [0.9, 0.1]}}),
    # subtracting a task vector in words (pass 51a's silent plan: «вычесть» had kept +0.3)
    ("task_arithmetic: {partner} с весом 1, а {partner2} вычесть с весом 0.3", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [1.0, -0.3]}}),
    ("task_arithmetic: {partner} at 1.0, {partner2} at -0.5 (subtract it)", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [1.0, -0.5]}}),
    ("task arithmetic over ours: add {partner} at 1.0 and subtract {partner2} at 0.5", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [1.0, -0.5]}}),
    # a short name given to a folder and used later ("B ({partner}) … в пользу B" had given B the small share)
    ("мердж с B ({partner}) 3:1 в пользу B", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.25, 0.75]}}),
    ("merge ours and B 3 to 1 (B is {partner}), in favour of B", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.25, 0.75]}}),
    ("слей нашу с {partner} линейно, нашей дай вес 0.4", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.4, 0.6]}}),
    # who has the bigger or smaller share of a ratio ("partner gets the smaller share" had given it the 0.7: silent)
    ("merge ours with {partner} 70/30, partner gets the smaller share", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("full sft on {sft} then merge with {partner} 30/70, partner the bigger share", ["sft", "merge_models"],
     {1: {"weights": [0.3, 0.7]}}),
    ("смешай с {partner} в соотношении один к трём, наша меньшая", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.75, 0.25]}}),
    ("merge ours with {partner} 30/70, ours gets the 70", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.3, 0.7]}}),
    # a merge said by its method and shares alone, with no merge verb
    ("the partner folder {partner} should get 0.65 and ours the remainder, linear pls", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.65, 0.35]}}),
    ("линейно, {partner} получает три четверти", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.25, 0.75]}}),
    ("добавь {partner} в нашу на 20 процентов", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.8, 0.2]}}),
    ("merge {partner} into ours at 25 percent", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    # settings (pass 51b): an effective batch said as a product; a layer list that goes on after "and"; «отложенная выборка»
    ("batch size 16 via 4 x 4 accumulation, lr 2e-5, SFT on {sft}", ["sft"],
     {0: {"batch_size": 4, "gradient_accumulation": 4}}),
    ("SFT на {sft}, батч 32 = 4 × 8", ["sft"], {0: {"batch_size": 4, "gradient_accumulation": 8}}),
    ("train layers 0,1,2,3 and 10,11 only with LoRA r 8 on q_proj and v_proj, {sft}", ["sft"],
     {0: {"layers": [0, 1, 2, 3, 10, 11], "r": 8}}),
    ("SFT на 500 шагов, отложенная выборка 5%, {sft}", ["sft"], {0: {"max_steps": 500, "eval_fraction": 0.05}}),
    # "3 to 1" is a ratio (not after a layer word); «мне» is ours; «дай»; «хотя давай»; "P's task vector at 0.8"
    ("merge ours and {partner} 3 to 1", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("merge ours and B 3 to 1 (B is {partner})", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("sft on layers 2 to 9 with {sft}, then merge with {partner} 3:2", ["sft", "merge_adapter", "merge_models"],
     {0: {"layers": [2, 3, 4, 5, 6, 7, 8, 9]}, 2: {"weights": [0.6, 0.4]}}),
    ("линейный мёрж, мне 60 процентов, остальное {partner}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.6, 0.4]}}),
    ("линейно: {partner} 0.3, {partner2} 0.3, мне всё остальное", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}", "@base"], "weights": [0.3, 0.3, 0.4]}}),
    ("папке {partner} дай 0.45, нашей остаток, линейно", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.45, 0.55]}}),
    ("мердж с {partner} 0.5 ... хотя давай 0.65 нам", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.65, 0.35]}}),
    ("task arithmetic: add {partner}'s task vector at 0.8 onto ours", ["merge_models"],
     {0: {"models": ["{partner}"], "weights": [0.8]}}),
    # a stage's result as a share's owner ("in favour of the sft result", "60 percent dpo result"); a second merge
    # said by its method as the verb ("then linear that with C 80/20"); a fraction said after its member («наша половина»)
    ("lora sft on {sft}, merge it, then linear merge the sft result with {partner} 2:1 in favour of the sft result",
     ["sft", "merge_adapter", "merge_models"], {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.666667, 0.333333]}}),
    ("dpo on {dpo} with beta 0.1 then merge the dpo result with the partner {partner}, 60 percent dpo result",
     ["preference", "merge_adapter", "merge_models"], {2: {"models": ["@dpo-merged", "{partner}"], "weights": [0.6, 0.4]}}),
    ("slerp ours with {partner}, t 0.4, then linear that with {partner2} 80/20", ["merge_models", "merge_models"],
     {0: {"method": "slerp", "t": 0.4}, 1: {"method": "linear", "models": ["@merge", "{partner2}"], "weights": [0.8, 0.2]}}),
    ("смешай три модели: наша половина, {partner} треть, {partner2} остальное", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.333333, 0.166667]}}),
    # a multiple of the other member's weight ("partner at 3x our weight" had dropped the 3: silent)
    ("merge ours and {partner}, partner at 3x our weight", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.25, 0.75]}}),
    ("merge ours with B ({partner}), B gets twice what ours gets", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.333333, 0.666667]}}),
    ("merge ours with {partner}, the partner at 1.5 times ours", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.4, 0.6]}}),
    # pass 52a/52b: a second merge of the first one's result with ours (it had been dropped: silent); "our base" is the
    # opened model, not the folder after it; ours left out by words after it; Cyrillic method names; subtraction from ours;
    # a folder's nickname; "only the MLPs" in a full fine-tune (silent: all modules); «без градиентного чекпоинтинга»;
    # layers counted from 1
    ("first ties {partner} with {partner2} (density .5) then linear that result with ours 0.5/0.5",
     ["merge_models", "merge_models"],
     {0: {"method": "ties", "models": ["{partner}", "{partner2}"], "density": 0.5},
      1: {"method": "linear", "models": ["@merge", "@base"], "weights": [0.5, 0.5]}}),
    ("сначала тайс {partner} и {partner2} с плотностью 0.5, потом результат линейно с нашей 50/50",
     ["merge_models", "merge_models"], {1: {"method": "linear", "models": ["@merge", "@base"], "weights": [0.5, 0.5]}}),
    ("task arithmetic on our base: {partner} with weight 1.0 and {partner2} with weight -0.5", ["merge_models"],
     {0: {"base": "@base", "models": ["{partner}", "{partner2}"], "weights": [1.0, -0.5]}}),
    ("merge {partner} and {partner2} equally, linear, leave ours out of it", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.5, 0.5]}}),
    ("смержи {partner} и {partner2} слерпом t 0.5, нашу не включай", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "t": 0.5}}),
    ("таск арифметика: {partner} 0.5 и {partner2} 0.5", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}", "{partner2}"], "weights": [0.5, 0.5]}}),
    ("task arithmetic: subtract {partner2} from ours at weight 0.4", ["merge_models"],
     {0: {"models": ["{partner2}"], "weights": [-0.4]}}),
    ("task_arithmetic: вычесть {partner2} из нашей с весом 0.3", ["merge_models"],
     {0: {"models": ["{partner2}"], "weights": [-0.3]}}),
    ('lets call {partner} "bob". merge us with bob, bob gets a quarter, linear', ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("папку {partner} назовем петя. мерж с петей, пете 0.35, линейно", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.65, 0.35]}}),
    ("fully fine-tune only the MLPs, lr 5e-6, weight_decay 0.1, {sft}", ["sft"],
     {0: {"adapter": "none", "target_modules": ["down_proj", "gate_proj", "up_proj"]}}),
    ("SFT без градиентного чекпоинтинга и без упаковки, ранг 16, {sft}", ["sft"],
     {0: {"gradient_checkpointing": False, "packing": False}}),
    ("LoRA on layers 1 through 4 counting from 1, rank 8, {sft}", ["sft"], {0: {"layers": [0, 1, 2, 3]}}),
    ("LoRA на слоях с 1 по 4, если считать с единицы, ранг 8, {sft}", ["sft"], {0: {"layers": [0, 1, 2, 3]}}),
    ("LoRA on the last 4 layers (1-indexed), {sft}", ["sft"], {0: {"layers": [8, 9, 10, 11]}}),
    # layers said as counted from 1 are shifted, with a note (they had been asked about: "Which layers, counted from 0?")
    ("LoRA on {sft}, layers 3-6 (1-indexed)", ["sft"], {0: {"layers": [2, 3, 4, 5]}}),
    ("лора на {sft}, слои 3-6 (нумерация с единицы)", ["sft"], {0: {"layers": [2, 3, 4, 5]}}),
    ("linear merge: ours 50%, {partner} 30% and the rest to {partner2}", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.3, 0.2]}}),
    ("slerp ours to {partner}, t 0.75", ["merge_models"], {0: {"models": ["@base", "{partner}"], "t": 0.75}}),
    ("merge ours and {partner} 50/50 and write it to {out}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.5, 0.5]}}),
    ("ties merge ours + {partner} + {partner2}, {partner} and {partner2} 0.5 each, density 0.5", ["merge_models"],
     {0: {"base": "@base", "models": ["{partner}", "{partner2}"], "weights": [0.5, 0.5], "density": 0.5}}),
    ("three way linear of ours, {partner}, {partner2}, each a third", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.333333, 0.333333, 0.333333]}}),
    ("мерж двух чужих: {partner} и {partner2}, поровну, линейно", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.5, 0.5]}}),
    # Russian references after «и» (pass 52b asked about them)
    ("SFT на {sft} ранг 16 lr 2e-4, потом DPO на {dpo} с бетой 0.1, тем же рангом и вдвое меньшим lr", ["sft", "preference"],
     {1: {"r": 16, "learning_rate": 1e-4, "beta": 0.1}}),
    ("SFT две эпохи на {sft}, потом DPO на {dpo} с бетой 0.1 и вдвое большим числом эпох", ["sft", "preference"],
     {1: {"epochs": 4.0}}),
    ("DoRA ранг 8 на всех линейных, исключая down_proj и o_proj, {sft}", ["sft"],
     {0: {"target_modules": ["gate_proj", "k_proj", "q_proj", "up_proj", "v_proj"]}}),
    # corrections of the method or of all the weights; a bracketed remark; "the two partners" (stop 29's still-wrong list)
    ("слей нашу с {partner} через slerp, ой, методом linear, 0.7 и 0.3", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("merge ours with {partner} ties 0.5/0.5, actually use linear instead", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}"], "weights": [0.5, 0.5]}}),
    ("merge ours with {partner} 0.6 and 0.4, no wait, 0.5 each", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.5, 0.5]}}),
    ("слей нашу с {partner} 0.7 и 0.3, ой нет, по 0.5", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.5, 0.5]}}),
    ("slerp ours with {partner}, t=0.7 (t=1 would be all partner)", ["merge_models"], {0: {"t": 0.7}}),
    ("merge the two partners {partner} and {partner2} 70/30", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.7, 0.3]}}),
    # pass 53b: "then merge into OUT" folds and writes (it had asked what to merge); a setting named again after a
    # correction marker corrects its own earlier value, past another setting said between
    ("LoRA SFT on {sft}: lora_r: 32, lora_alpha: 64, lora_dropout: 0.1, then merge into {out}", ["sft"],
     {0: {"r": 32, "alpha": 64.0, "dropout": 0.1}}),
    ("Train a LoRA adapter on {sft} with rank 8 and alpha 16 -- actually make the rank 12", ["sft"],
     {0: {"r": 12, "alpha": 16.0}}),
    ("Обучи LoRA адаптер на {sft} с рангом 8 и альфой 16 — нет, ранг пусть будет 12", ["sft"],
     {0: {"r": 12, "alpha": 16.0}}),
    # pass 53a: the second merge's own method ("then linear the ties result with C": it had inherited ties, silent);
    # a negative weight kept (task arithmetic) or asked («вес партнера -0.3» in a linear merge had been +0.3: silent);
    # «наша минус B с весом 0.3»; «в пользу партнера B 3 к 1» with the folder after the owner; «фулл файнтюн»;
    # equal weights over a task-vector merge on top of ours; «мерж трех: наша, B, C, ties»
    ("ties ours + {partner}, density 0.7, then linear the ties result with {partner2} 80/20",
     ["merge_models", "merge_models"],
     {0: {"method": "ties", "density": 0.7}, 1: {"method": "linear", "models": ["@merge", "{partner2}"], "weights": [0.8, 0.2]}}),
    ("task arithmetic с {partner}, вес партнера -0.3", ["merge_models"], {0: {"models": ["{partner}"], "weights": [-0.3]}}),
    ("task_arithmetic наша минус {partner} с весом 0.3", ["merge_models"], {0: {"models": ["{partner}"], "weights": [-0.3]}}),
    ("слерп в пользу партнера {partner} 3 к 1", ["merge_models"], {0: {"models": ["@base", "{partner}"], "t": 0.75}}),
    ("сфт фулл файнтюн на {sft}, потом слерп с {partner} пополам", ["sft", "merge_models"], {0: {"adapter": "none"}}),
    ("dare_ties {partner} and {partner2} on top of ours, density 0.5, equal weights", ["merge_models"],
     {0: {"base": "@base", "models": ["{partner}", "{partner2}"], "weights": [0.5, 0.5]}}),
    ("мерж трех: наша, {partner}, {partner2}, ties, партнерам поровну, плотность 0.5", ["merge_models"],
     {0: {"base": "@base", "models": ["{partner}", "{partner2}"], "weights": [0.5, 0.5], "density": 0.5}}),
    # blind pass 54 (at a47e8c3): shares mixed in or task vectors taken away with no merge verb; a second merge said
    # ", and that result with C"; a swapped ratio said again; multiples in digits and "smaller"; "on ours" as the
    # reference of a task-vector merge; «косинус с перезапусками» (had been cosine: silent); layers in words counted
    # from one (had not been shifted: silent)
    ("mix in 10% of {partner}, keep 90% ours", ["merge_models"],
     {0: {"method": "linear", "models": ["{partner}", "@base"], "weights": [0.1, 0.9]}}),
    ("добавь к нашей модели 15% от {partner}", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.85, 0.15]}}),
    ("add {partner}'s task vector at 0.5 and subtract {partner2}'s at 0.3", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}", "{partner2}"], "weights": [0.5, -0.3]}}),
    ("subtract half of {partner}'s task vector", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [-0.5]}}),
    ("вычти из нашей модели вектор задачи {partner} с весом 0.5", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [-0.5]}}),
    ("task arithmetic: {partner} +1.0 and {partner2} -0.5", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [1.0, -0.5]}}),
    ("task_arith with {partner} weight 0.7", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [0.7]}}),
    ("first merge ours with {partner} 0.5/0.5, and that result with {partner2} 0.7/0.3", ["merge_models", "merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.5, 0.5]}, 1: {"models": ["@merge", "{partner2}"], "weights": [0.7, 0.3]}}),
    ("слей нашу с {partner} пополам, а затем результат с {partner2} 3 к 1", ["merge_models", "merge_models"],
     {1: {"models": ["@merge", "{partner2}"], "weights": [0.75, 0.25]}}),
    ("слерп нашей с {partner} t=0.5, а потом результат слерпом с {partner2} t=0.3", ["merge_models", "merge_models"],
     {0: {"method": "slerp", "t": 0.5}, 1: {"method": "slerp", "models": ["@merge", "{partner2}"], "t": 0.3}}),
    ("slerp ours with {partner}, т=0.35", ["merge_models"], {0: {"method": "slerp", "t": 0.35}}),
    ("ties {partner} and {partner2} 70/30, ой, наоборот, 30/70", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.3, 0.7]}}),
    ("линейно {partner} 0.4 {partner2} 0.4 наша 0.2, потом dpo на {dpo}", ["merge_models", "preference"],
     {0: {"method": "linear", "models": ["{partner}", "{partner2}", "@base"], "weights": [0.4, 0.4, 0.2]}}),
    ("линейно с {partner}, у него вес в 3 раза меньше", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("linear merge with {partner}, partner's share 4 times smaller than ours", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.8, 0.2]}}),
    ("merge ours with {partner}, 3:1 ratio in favour of ours", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("dare_ties {partner} and {partner2} on ours, {partner} twice the weight of {partner2}", ["merge_models"],
     {0: {"base": "@base", "models": ["{partner}", "{partner2}"], "weights": [0.666667, 0.333333]}}),
    ("dare_ties на нашей с {partner} и {partner2}, у второго вдвое меньший вес", ["merge_models"],
     {0: {"base": "@base", "models": ["{partner}", "{partner2}"], "weights": [0.666667, 0.333333]}}),
    ("SFT на {sft}, шедулер косинус с перезапусками", ["sft"], {0: {"lr_scheduler_type": "cosine_with_restarts"}}),
    ("SFT on {sft}, cosine with hard restarts", ["sft"], {0: {"lr_scheduler_type": "cosine_with_restarts"}}),
    ("LoRA on layers one through six counting from one, on {sft}", ["sft"], {0: {"layers": [0, 1, 2, 3, 4, 5]}}),
    # pass 54b: "the same number of epochs at a tenth of that learning rate" (the tenth had gone to the epochs: 0.3),
    # «с тем же числом эпох» (not carried), "half that rank and double that alpha", headings "SFT stage: …", LLaMA-
    # Factory's "cutoff length", «обрезка градиента по норме», a fraction as the value ("beta of one tenth")
    ("SFT on {sft} for 3 epochs at lr 2e-4, then DPO on {dpo} for the same number of epochs at a tenth of that learning rate",
     ["sft", "preference"], {1: {"epochs": 3.0, "learning_rate": 2e-5}}),
    ("SFT на {sft}, 2 эпохи, lr 1e-4, потом DPO на {dpo} с тем же числом эпох", ["sft", "preference"], {1: {"epochs": 2.0}}),
    ("SFT on {sft} with rank 32 and alpha 64, then DPO on {dpo} with half that rank and double that alpha",
     ["sft", "preference"], {1: {"r": 16, "alpha": 128}}),
    ("SFT stage: {sft}, lr 1e-4; DPO stage: {dpo}, beta 0.3", ["sft", "preference"],
     {0: {"learning_rate": 1e-4}, 1: {"beta": 0.3}}),
    ("SFT on {sft} with cutoff length 256", ["sft"], {0: {"max_length": 256}}),
    ("SFT на {sft}, обрезка градиента по норме 0.5", ["sft"], {0: {"max_grad_norm": 0.5}}),
    ("DPO on {dpo} with beta of one tenth", ["preference"], {0: {"beta": 0.1}}),
    ("simpo on {dpo} with gamma one half", ["preference"], {0: {"method": "simpo", "simpo_gamma": 0.5}}),
    # pass 54a: one share for two named members («B и C по 30 процентов»), "each partner gets 25%", the rest said as
    # "the remaining half" or «наша получает остаток»
    ("смерджи нашу с {partner} и {partner2}: {partner} и {partner2} по 30 процентов, а наша получает остаток",
     ["merge_models"], {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.4, 0.3, 0.3]}}),
    ("linear merge of ours, {partner} and {partner2}: each partner gets 25%, ours gets the remaining half", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.25, 0.25]}}),
    ("merge with {partner}, 70% ours rest to partner", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("линейно с {partner}, партнеру десятая часть", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.9, 0.1]}}),
    ("linear: {partner} 0.35, {partner2} 0.15, ours whatever is left", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}", "@base"], "weights": [0.35, 0.15, 0.5]}}),
    # blind pass 55a (at b155f69: 60.8%, 0 silent): "1/4 for the partner" is a quarter (it had been 1:4: flagged
    # wrong), "1:3 ratio (ours:partner)" (the legend had been lost past "ratio": flagged wrong), a share-size word
    # with one value, mix-ins and shares with no merge verb, ratio and "at" corrections, multiples said as "counts
    # double", «с отрицательным весом», a one-letter short name, «вычти … task vector … с коэффициентом»
    ("linear merge of ours with {partner}, 1/4 for the partner", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("merge with {partner} at a 1:3 ratio (ours:partner), write to {out}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.25, 0.75]}}),
    ("merge ours with {partner} at weight -0.2", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [-0.2]}}),
    ("смёрджи нас с {partner} с отрицательным весом -0.3", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [-0.3]}}),
    ("вычти из нашей модели task vector {partner2} с коэффициентом 0.3", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner2}"], "weights": [-0.3]}}),
    ("merge with {partner}; give the partner the smaller share, 0.2", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.8, 0.2]}}),
    ("мердж с {partner}, партнёру меньшая доля - 0.3", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("mix in a bit of {partner}: 10%", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.9, 0.1]}}),
    ("{partner} and {partner2} get 25% each, ours the rest", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.25, 0.25]}}),
    ("пятьдесят на пятьдесят с {partner}", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.5, 0.5]}}),
    ("подмешай {partner} к базе, процентов 20", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.8, 0.2]}}),
    ("добавь к нашей немного {partner}, 10 процентов", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.9, 0.1]}}),
    ("merge into ours 15 percent of {partner} and 5 percent of {partner2}", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.8, 0.15, 0.05]}}),
    ("B is {partner2}. Take 0.9 of ours and 0.1 of B", ["merge_models"],
     {0: {"models": ["@base", "{partner2}"], "weights": [0.9, 0.1]}}),
    ("merge with {partner} at 0.3 -- no, 0.35", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.65, 0.35]}}),
    ("смешай с {partner} 60 на 40 в нашу пользу, ой, нет, 65 на 35", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.65, 0.35]}}),
    ("merge with {partner} 60/40 ours, oh wait, make it 55/45", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.55, 0.45]}}),
    ("merge with {partner}, ours gets a 3x bigger share than the partner", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("смешай с {partner}, причём наша модель считается вдвое", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.666667, 0.333333]}}),
    ("merge base + {partner} + {partner2}, each getting a third", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.333333, 0.333333, 0.333333]}}),
    ("dare_ties {partner} + {partner2}, each at density 0.5 and weight 0.5", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.5, 0.5], "density": 0.5}}),
    ('call {partner} "B". Merge ours with B, B gets 30%', ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("назовём {partner} «Б». Слей нашу модель с Б, Б - 40%", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.6, 0.4]}}),
    ("merge with {partner}: 0.6 for the partner... oh wait, I meant 0.6 for ours", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.6, 0.4]}}),
    ("каждой из трёх моделей по трети: наша, {partner}, {partner2}", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}", "{partner2}"], "weights": [0.333333, 0.333333, 0.333333]}}),
    ("наша модель в мердже весит в 3 раза меньше, чем {partner}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.25, 0.75]}}),
    ("merge with {partner}, 80-20 - the 20 for ours", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.2, 0.8]}}),
    ("мердж 80 на 20 с {partner}, где 20 - наша", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.2, 0.8]}}),
    # blind pass 56a (at 6079d22: 58.3%, 0 silent): SLERP's first model said by role (flagged wrong), «сферически» is
    # SLERP (flagged wrong), "ours" in a blend-back of a merge of others is the opened model (flagged wrong), a ratio
    # with "-" and no method is linear, the bigger share said before or after the ratio, "the bigger one" is no 1
    ("slerp, {partner} as first model and ours as the second, t 0.2", ["merge_models"],
     {0: {"method": "slerp", "models": ["{partner}", "@base"], "t": 0.2}}),
    ("объедини нашу и {partner} сферически, перевес партнёру 3 к 1", ["merge_models"],
     {0: {"method": "slerp", "models": ["@base", "{partner}"], "t": 0.75}}),
    ("slerp {partner} с {partner2}, t=0.6, потом смешай это линейно с нашей, нам 0.7", ["merge_models", "merge_models"],
     {1: {"method": "linear", "models": ["@merge", "@base"], "weights": [0.3, 0.7]}}),
    ("merge with {partner} giving it the bigger share, 60-40", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}"], "weights": [0.4, 0.6]}}),
    ("merge with {partner}, the partner's share is the bigger one: 60/40", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.4, 0.6]}}),
    ("merge with {partner} 70/30, the bigger share to it", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.3, 0.7]}}),
    ("мердж с {partner}, у партнёра доля меньше, 35 на 65", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.65, 0.35]}}),
    ("mix in {partner} with the smaller share: 0.2", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.8, 0.2]}}),
    ("task_arithmetic: +0.8 {partner}, -0.4 {partner2}, base ours", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.8, -0.4]}}),
    ("slerp {partner} with {partner2}, t=0.35, then linear merge the slerp with ours, ours getting 0.6",
     ["merge_models", "merge_models"], {1: {"method": "linear", "models": ["@merge", "@base"], "weights": [0.4, 0.6]}}),
    ("slerp towards {partner}, 70 percent of the way", ["merge_models"], {0: {"models": ["@base", "{partner}"], "t": 0.7}}),
    ("линейно с {partner}, наша доля больше: 0.7", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("линейно: мы 0.5, {partner} 0.3, {partner2} 0.2", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.3, 0.2]}}),
    ("ties merge {partner} and {partner2} over our base, both at weight 1, density 0.8", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [1.0, 1.0], "density": 0.8}}),
    ("dare_ties, density=0.25, {partner} w=1.0, {partner2} w=0.5; base {model}", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [1.0, 0.5], "density": 0.25}}),
    ("сфера с {partner}, ближе к партнёру: t 0.8", ["merge_models"], {0: {"method": "slerp", "t": 0.8}}),
    ("партнёру ({partner}) в два раза больше, чем нам, линейное слияние", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.333333, 0.666667]}}),
    # blind pass 56b (at 6079d22: 97.2%, 1 silent): warmup then a constant lr is constant_with_warmup (transformers'
    # "constant" had dropped the 50 warmup steps: silent)
    ("LoRA ранг 16, прогрев 50 шагов, потом постоянная скорость 1e-4, SFT на {sft}", ["sft"],
     {0: {"lr_scheduler_type": "constant_with_warmup", "warmup_steps": 50, "learning_rate": 1e-4}}),
    ("SFT on {sft}, constant lr 2e-5 with 100 warmup steps", ["sft"],
     {0: {"lr_scheduler_type": "constant_with_warmup", "warmup_steps": 100}}),
    ("косинусный шедулер, а нет, линейный, lr 5e-5, SFT на {sft}", ["sft"], {0: {"lr_scheduler_type": "linear"}}),
    ("SFT on {sft} with batch size 64 made of micro batches of 8, lr 1e-4", ["sft"],
     {0: {"batch_size": 8, "gradient_accumulation": 8}}),
    # a merge method corrected past its members and density ("Merge with which model?" had been asked)
    ("ties with density 0.5 and {partner}... actually use della, same density", ["merge_models"],
     {0: {"method": "della", "density": 0.5}}),
    ("сделай ties с {partner}, плотность 0.5... хотя нет, давай dare_ties с той же плотностью", ["merge_models"],
     {0: {"method": "dare_ties", "density": 0.5}}),
    # a second merge of the first one's result, said «а потом результат с нашей моделью», «и этот микс ещё раз с C»
    ("смешай {partner} и {partner2} пополам, а потом результат с нашей моделью 40 на 60 (нам 60)",
     ["merge_models", "merge_models"], {1: {"models": ["@merge", "@base"], "weights": [0.4, 0.6]}}),
    ("сделай SFT на {sft} (DoRA, r 4), влей, потом смешай с {partner} 50/50 линейно, и этот микс ещё раз с {partner2} через slerp t=0.3",
     ["sft", "merge_adapter", "merge_models", "merge_models"],
     {2: {"models": ["@sft-merged", "{partner}"], "weights": [0.5, 0.5]}, 3: {"method": "slerp", "models": ["@merge", "{partner2}"], "t": 0.3}}),
    # "a friend's finetune" names a model, not a stage; «Метод — slerp.» said after a merge is its method
    ("a friend's finetune sitting in {partner}: slerp ours with it, t 0.4", ["merge_models"], {0: {"method": "slerp", "t": 0.4}}),
    ("смешай нашу с {partner}, партнёру 30%. Метод — slerp.", ["merge_models"], {0: {"method": "slerp", "t": 0.3}}),
    # blind pass 57a (at 48f7ec8: 65.0%, 1 silent): "ours gets two thirds, B the remainder" (TIES with no weights had
    # been planned: silent), "ignore our model" (flagged wrong), «прибавь … вектор B … и отними вектор C»
    ("ours gets two thirds, {partner} the remainder", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}"], "weights": [0.666667, 0.333333]}}),
    ("average {partner} and {partner2}, ignore our model", ["merge_models"], {0: {"models": ["{partner}", "{partner2}"]}}),
    ("прибавь к нашей модели вектор {partner} с весом 1 и отними вектор {partner2} с весом 1", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}", "{partner2}"], "weights": [1.0, -1.0]}}),
    # blind pass 55b (at b155f69: 95.4%, 0 silent): an exclusion past "counting from one" is counted from one too
    # (flagged wrong), settings alone in Russian are an SFT, «извини» corrects, "eval on 5% of the data"
    ("train on the MLP of layers 1 through 6 counting from one, except layer 3, on {sft}", ["sft"], {0: {"layers": [0, 1, 3, 4, 5]}}),
    ("LoRA на слоях с 1 по 6 (считая с единицы), кроме третьего, на {sft}", ["sft"], {0: {"layers": [0, 1, 3, 4, 5]}}),
    ("скорость обучения 5e-5, косинусный планировщик, разогрев 10% шагов, размер батча 4, накопление градиента 8", ["sft"],
     {0: {"learning_rate": 5e-5, "batch_size": 4, "gradient_accumulation": 8}}),
    ("максимальная длина две тысячи сорок восемь", ["sft"], {0: {"max_length": 2048}}),
    ("DPO на {dpo}, бета 0.5 — извини, 0.05 — и одна эпоха", ["preference"], {0: {"beta": 0.05, "epochs": 1.0}}),
    ("SFT on {sft}, max_grad_norm 1.0, seed 7, eval on 5% of the data", ["sft"], {0: {"eval_fraction": 0.05}}),
    # blind pass 57a (at 48f7ec8: 65.0%): each share read with the member it is said for (agent/goal_shares.py), with
    # or without a merge word; a share said as a multiple of another's ("half of ours" had been 0.5 each: flagged wrong)
    ("our model 25 pct, partner ({partner}) 75 pct", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.25, 0.75]}}),
    ("нашей — четверть, партнёру {partner} — три четверти", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.25, 0.75]}}),
    ("партнёру ({partner}) треть, остальное нам", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [2 / 3, 1 / 3]}}),
    ("большая доля нашей модели (75%), меньшая — {partner}", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("в слиянии с {partner} нашей модели отдай большую долю — 0.6", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.6, 0.4]}}),
    ("call {partner} B. merge our model with B, B gets the bigger share, 65%", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.35, 0.65]}}),
    ("linear blend where ours takes the smaller share (0.2) and {partner} the bigger one", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.2, 0.8]}}),
    ("the smaller share to ours (20%), the rest to {partner}, slerp", ["merge_models"], {0: {"models": ["@base", "{partner}"], "t": 0.8}}),
    ("merge ours with {partner} so that partner's share is half of ours", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [2 / 3, 1 / 3]}}),
    ("вес партнёра ({partner}) вдвое меньше нашего", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [2 / 3, 1 / 3]}}),
    ("I want partner to have twice the weight of ours. linear. partner is {partner}", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [1 / 3, 2 / 3]}}),
    ("назовём {partner} модель Б. Слей нас с Б, Б в два раза больше", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [1 / 3, 2 / 3]}}),
    ("ties: {partner} gets 3x the weight of {partner2}, base ours, density .5", ["merge_models"],
     {0: {"method": "ties", "models": ["{partner}", "{partner2}"], "weights": [0.75, 0.25], "density": 0.5}}),
    # Russian chains: a stage's result named in the merge («DPO-модели»), «итог», a method said after «через»
    ("после DPO на {dpo} сделай slerp DPO-модели с {partner}, t 0.3", ["preference", "merge_adapter", "merge_models"], {2: {"method": "slerp", "t": 0.3}}),
    ("слей базу с {partner} линейно 50/50, а потом результат ещё с {partner2} через slerp t=0.25", ["merge_models", "merge_models"],
     {0: {"method": "linear"}, 1: {"method": "slerp", "t": 0.25}}),
    ("слей нас с {partner} 1 к 1, затем результат слей с {partner2} в пропорции 3:1 в пользу первого слияния, метод slerp для второго",
     ["merge_models", "merge_models"], {1: {"method": "slerp", "models": ["@merge", "{partner2}"], "t": 0.25}}),
    ("слей с {partner} через slerp, t 0.6, а потом итог с {partner2} линейно 9 к 1", ["merge_models", "merge_models"],
     {0: {"t": 0.6}, 1: {"method": "linear", "models": ["@merge", "{partner2}"], "weights": [0.9, 0.1]}}),
    ("сначала слей {partner} и {partner2} поровну, а потом этот результат с нашей моделью 1 к 3 (нам 3)", ["merge_models", "merge_models"],
     {1: {"models": ["@merge", "@base"], "weights": [0.25, 0.75]}}),
    # pass 57a, more: signed lists, t without a method word, percents each, counts of members, "average them",
    # "the DPO'd model back with the original", a ratio said as "weighting ours by 3 and theirs by 2"
    ("task arithmetic: add {partner}'s task vector to ours and subtract {partner2}'s, weights 1 and -1", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}", "{partner2}"], "weights": [1.0, -1.0]}}),
    ("merge with {partner} with t=0.45", ["merge_models"], {0: {"method": "slerp", "t": 0.45}}),
    ("слей нашу с {partner} с t=0.3", ["merge_models"], {0: {"method": "slerp", "t": 0.3}}),
    ("смерджи с {partner}, 50 процентов каждой", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.5, 0.5]}}),
    ("each of the three (ours, {partner}, {partner2}) gets an equal share, linear", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [1 / 3, 1 / 3, 1 / 3]}}),
    ("Hi! so I've got this model open and a friend's checkpoint at {partner}. could you average them? just plain 50-50", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}"], "weights": [0.5, 0.5]}}),
    ("DPO on {dpo}, then merge the DPO'd model back with the original at 0.5 each", ["preference", "merge_adapter", "merge_models"],
     {2: {"models": ["@dpo-merged", "@base"], "weights": [0.5, 0.5]}}),
    ("merge with {partner} weighting ours by 3 and theirs by 2", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.6, 0.4]}}),
    # pass 57b: an effective batch "made of 4 per device", alpha by this stage's own rank, "shards no bigger than",
    # Russian warmup and decay alone are an SFT
    ("train on {sft} with a batch of 32 made of 4 per device", ["sft"], {0: {"batch_size": 4, "gradient_accumulation": 8}}),
    ("LoRA rank 16, alpha equal to four times the rank", ["sft"], {0: {"r": 16, "alpha": 64}}),
    ("LoRA r 8, альфа равна учетверённому рангу", ["sft"], {0: {"r": 8, "alpha": 32}}),
    ("прогрев 50 шагов, линейное затухание, weight decay 0.01", ["sft"], {0: {"warmup_steps": 50, "weight_decay": 0.01}}),
    # "flip that", «наоборот», "the other way round" right after two shares: the two are swapped
    ("linear merge, ours 0.7 and {partner} 0.3 -- sorry, flip that", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.3, 0.7]}}),
    ("слей с {partner}: нам 70%, ему 30%, ой, наоборот", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.3, 0.7]}}),
    ("merge with {partner} 80/20, the other way round", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.2, 0.8]}}),
    # three members, each said with its share in words (a fraction, "the rest"), and a multiple said again as a weight
    ("ours half, {partner} a third, {partner2} the rest", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.333333, 0.166667]}}),
    ("нам 50%, {partner} — треть, остальное {partner2}", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.333333, 0.166667]}}),
    ("our model 20 pct, {partner} 30 pct, {partner2} 50 pct", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.2, 0.3, 0.5]}}),
    ("add the task vector of {partner} to our model twice (weight 2.0), task arithmetic", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [2.0]}}),
    # pass 58a/58b: the base said before a colon, a favour verb, a minus in task arithmetic, English merge chains,
    # a multiple in words, the rest split evenly, names given with the verb left out, Russian fractions of a value
    ("dare_ties with {model} as the base: {partner} weight 0.7, {partner2} weight 0.3, density 0.6", ["merge_models"],
     {0: {"base": "@base", "models": ["{partner}", "{partner2}"], "weights": [0.7, 0.3], "density": 0.6}}),
    ("a slerp of {partner} and {partner2} that favours {partner2} about 3 to 1", ["merge_models"],
     {0: {"method": "slerp", "models": ["{partner}", "{partner2}"], "t": 0.75}}),
    ("task arithmetic: {model} minus {partner}'s task vector at weight 0.5", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [-0.5]}}),
    ("слей {model} с {partner} поровну, а потом результат ещё с {partner2} в равных долях",
     ["merge_models", "merge_models"], {1: {"method": "linear", "weights": [0.5, 0.5]}}),
    ("first slerp {partner} and {partner2} at t 0.5, then linear-merge that result with {model}, 30% for the result",
     ["merge_models", "merge_models"], {0: {"method": "slerp", "t": 0.5},
                                        1: {"method": "linear", "models": ["@merge", "@base"], "weights": [0.3, 0.7]}}),
    ("слей {partner} с {partner2} 55 на 45, а потом то, что получилось, с {model} в пропорции 1 к 1",
     ["merge_models", "merge_models"], {0: {"weights": [0.55, 0.45]}, 1: {"models": ["@merge", "@base"]}}),
    ("merge {partner} and {partner2} 50/50, then merge what came out with {model} 70/30",
     ["merge_models", "merge_models"], {1: {"models": ["@merge", "@base"], "weights": [0.7, 0.3]}}),
    ("merge {model} with {partner}; I want {partner}'s share to be four times {model}'s", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.2, 0.8]}}),
    ("merge {model} with {partner}, {partner} should count three times as much as {model}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.25, 0.75]}}),
    ("merge {partner} and {partner2}: the first one 65%, the second the rest", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.65, 0.35]}}),
    ("merge {model}, {partner} and {partner2}: {model} 50%, the rest split evenly", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.25, 0.25]}}),
    ("слей {model}, {partner} и {partner2}: {partner} 0.4, остальным поровну", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.3, 0.4, 0.3]}}),
    ("merge {model}, {partner} and {partner2}; {partner} gets 0.5 and what's left goes to the other two equally",
     ["merge_models"], {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.25, 0.5, 0.25]}}),
    ("della merge of {partner} and {partner2}, {partner} weighted 0.6 and {partner2} 0.4", ["merge_models"],
     {0: {"method": "della", "models": ["{partner}", "{partner2}"], "weights": [0.6, 0.4]}}),
    ("назови {partner} «А», а {partner2} «Б». Слей А и Б: А - 0.7, Б - 0.3", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.7, 0.3]}}),
    ("к {model} прибавь вектор задачи {partner}", ["merge_models"], {0: {"method": "task_arithmetic", "models": ["{partner}"]}}),
    ("SFT на {sft} с lr 2e-4, потом DPO на {dpo} с десятой частью этой скорости", ["sft", "preference"],
     {1: {"learning_rate": 2e-5}}),
    ("DPO на {dpo} с лоссом sigmoid плюс sft в весах 1 и 0.5", ["preference"],
     {0: {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.5]}}),
    ("DPO on {dpo} with loss type sigmoid and sft mixed with weights 1.0 and 0.5", ["preference"],
     {0: {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.5]}}),
    ("SFT on {sft} with alpha equal to twice the rank, rank 24", ["sft"], {0: {"r": 24, "alpha": 48}}),
    ("SFT на {sft} на трёх первых и трёх последних слоях", ["sft"], {0: {"layers": [0, 1, 2, 9, 10, 11]}}),
    ("SFT на {sft}, оценивать на 10% данных", ["sft"], {0: {"eval_fraction": 0.1}}),
    ("SFT on {sft}, evaluate on 10% of the data", ["sft"], {0: {"eval_fraction": 0.1}}),
    ("SFT на {sft}, слои 0-3 … ой, нет, слои 0-5", ["sft"], {0: {"layers": [0, 1, 2, 3, 4, 5]}}),
    ("слей {model}, {partner} и {partner2}: первому половину, второму треть, третьему остальное", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.333333, 0.166667]}}),
    ("merge {model}, {partner} and {partner2}: the first one 50%, the second 30%, the third the rest", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.3, 0.2]}}),
    # pass 59a: a coefficient, the opened model as the reference, a result that is where the merge goes, alpha by
    # the goal's one rank, method corrections with their own values, shares in phrases, labels without quotes
    ("task arithmetic: прибавь вектор задачи {partner} к {model} с коэффициентом 0.6", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [0.6]}}),
    ("смёржи {partner} и {partner2} методом ties с плотностью 0.5, а базой возьми нашу модель", ["merge_models"],
     {0: {"method": "ties", "models": ["{partner}", "{partner2}"], "density": 0.5}}),
    ("breadcrumbs merge {partner} onto {model}", ["merge_models"], {0: {"method": "breadcrumbs", "models": ["{partner}"]}}),
    ("сделай della-мерж {partner} на базе {model}, density 0.4", ["merge_models"],
     {0: {"method": "della", "models": ["{partner}"], "density": 0.4}}),
    ("слей {partner} и {partner2} через slerp t=0.6, результат сохрани в {out}", ["merge_models"],
     {0: {"method": "slerp", "models": ["{partner}", "{partner2}"], "t": 0.6}}),
    ("rank 128 LoRA on {sft}, alpha half that rank, lr 5e-5", ["sft"], {0: {"r": 128, "alpha": 64, "learning_rate": 5e-5}}),
    ("merge {model} with {partner}: linear, 0.6/0.4 — actually make it slerp t=0.4", ["merge_models"],
     {0: {"method": "slerp", "t": 0.4}}),
    ("мёрж {model} и {partner}: slerp t 0.6. хотя давай линейно 0.6/0.4", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}"], "weights": [0.6, 0.4]}}),
    ("average the three: {model}, {partner}, {partner2}, but give partner2 half", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.25, 0.25, 0.5]}}),
    ("merge {model} and {partner}, twice as much partner as ours", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.333333, 0.666667]}}),
    ("слей {model} с {partner}, вдвое больше партнёра, чем нашей", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.333333, 0.666667]}}),
    ("вычти вектор задачи {partner2} из {model} (task arithmetic, вес -0.5)", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner2}"], "weights": [-0.5]}}),
    ("slerp {partner} with ours, half and half", ["merge_models"], {0: {"method": "slerp", "t": 0.5}}),
    ("take 25% of {partner}, 25% of {partner2} and the rest from ours", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.25, 0.25]}}),
    ("слей {partner} с нашей, доля партнёра — четверть", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("объедини {model} и {partner} через slerp, t равно семи десятым", ["merge_models"], {0: {"method": "slerp", "t": 0.7}}),
    ("slerp {model} and {partner}, t = seven tenths", ["merge_models"], {0: {"method": "slerp", "t": 0.7}}),
    ("call {partner} B and {partner2} C. merge B and C 70/30 with linear", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.7, 0.3]}}),
    # pass 59b: loss weights by name, a slerp "into" the opened model, a share "in favour of", typos and tau, a
    # multiple said with «раза», LoRA on its own data before a DPO, a layer correction inside brackets
    ("DPO on {dpo} with loss weights sigmoid 0.8 and sft 0.2 (rpo-style), beta 0.1", ["preference"],
     {0: {"loss_type": ["sigmoid", "sft"], "loss_weights": [0.8, 0.2], "beta": 0.1}}),
    ("Merge {partner} into {model} with slerp, t = 0.7", ["merge_models"],
     {0: {"method": "slerp", "models": ["@base", "{partner}"], "t": 0.7}}),
    ("Merge {model} and {partner} with slerp, 60% in favour of {partner}", ["merge_models"],
     {0: {"method": "slerp", "models": ["@base", "{partner}"], "t": 0.6}}),
    ("слей {model} и {partner} линейно, 70% в пользу {partner}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.3, 0.7]}}),
    ("hey can u do lora on {sft} w/ rank 16 alpah 32 lr 2e-4 for 2 epohcs thx", ["sft"],
     {0: {"r": 16, "alpha": 32, "learning_rate": 2e-4, "epochs": 2}}),
    ("Обучи IPO на {dpo}, тау 0.01", ["preference"], {0: {"loss_type": "ipo", "beta": 0.01}}),
    ("Обучи LoRA на {sft} с рангом 32, альфа в два раза меньше ранга", ["sft"], {0: {"r": 32, "alpha": 16}}),
    ("Train LoRA on {sft} with rank 16 on layers 0-5 and DPO on {dpo} with rank 8 on layers 6-11, beta 0.1",
     ["sft", "preference"], {0: {"r": 16, "layers": [0, 1, 2, 3, 4, 5]}, 1: {"r": 8, "layers": [6, 7, 8, 9, 10, 11]}}),
    ("SFT on {sft} on the middle layers (4-7), no wait, 3-8, rank 16, then write {out}", ["sft"],
     {0: {"layers": [3, 4, 5, 6, 7, 8], "r": 16}}),
    # pass 60a/60b: the opened model named as a task-vector merge's base by words or "on top of" is no member; ours
    # named as a member with another base is kept; slerp members in the order said; averages and Russian task
    # arithmetic; a fraction in words; «без eval»; «на самом деле» corrects
    ("can you do a ties merge of {partner} and {partner2} on top of {model} as base, density 0.5", ["merge_models"],
     {0: {"method": "ties", "models": ["{partner}", "{partner2}"], "density": 0.5}}),
    ("ties-мерж {partner} и {partner2}, база — наша модель, плотность 0.4", ["merge_models"],
     {0: {"method": "ties", "models": ["{partner}", "{partner2}"], "density": 0.4}}),
    ("мерж методом breadcrumbs {partner} и {partner2} на базе нашей", ["merge_models"],
     {0: {"method": "breadcrumbs", "models": ["{partner}", "{partner2}"]}}),
    ("ties: наша модель и {partner}, база {partner2}, плотность ноль целых пять десятых", ["merge_models"],
     {0: {"method": "ties", "models": ["@base", "{partner}"], "base": "{partner2}", "density": 0.5}}),
    ("slerp {partner} with ours, t 0.1 (so basically partner)", ["merge_models"],
     {0: {"method": "slerp", "models": ["{partner}", "@base"], "t": 0.1}}),
    ("возьми среднее {partner} и {partner2} и затем сделай slerp с нашей моделью при t=0.25",
     ["merge_models", "merge_models"], {0: {"method": "linear"}, 1: {"method": "slerp", "models": ["@merge", "@base"], "t": 0.25}}),
    ("арифметика задач: прибавь к нашей модели вектор {partner} с весом 0.8", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [0.8]}}),
    ("slerp {partner} и {partner2}, t равно одной четверти", ["merge_models"], {0: {"method": "slerp", "t": 0.25}}),
    ("SFT на {sft} с max_length 512, ранг 16, lr 2e-4 и без eval", ["sft"], {0: {"eval_fraction": 0.0, "r": 16}}),
    ("SFT на {sft}, 5% данных на валидацию, lr 2e-4", ["sft"], {0: {"eval_fraction": 0.05}}),
    ("Сделай SFT на {sft} с ранг 16; на самом деле ранг 24", ["sft"], {0: {"r": 24}}),
    ("linear merge {model} {partner} 0.3 0.7, actually make it 0.4 0.6", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.4, 0.6]}}),
    ("линейно: наша 0.7, {partner} 0.3 — хотя нет, сделай 0.5 и 0.5", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.5, 0.5]}}),
    # pass 61a: the model merged "into" is slerp's start and a bare share after it is the merged-in model's; a folder
    # given a short name is placed where it is used; sce named back; t and density as fractions; corrected density
    # and weight pairs; shares "from" a folder with no merge verb; "twice as much weight on B"; the other half split
    ("slerp {partner} into ours with t=0.15", ["merge_models"],
     {0: {"method": "slerp", "models": ["@base", "{partner}"], "t": 0.15}}),
    ("смерджи {partner} в нашу с t=0.25 методом slerp", ["merge_models"],
     {0: {"method": "slerp", "models": ["@base", "{partner}"], "t": 0.25}}),
    ("merge {partner} into ours 25 percent", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("влей {partner} в нашу 30%", ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),
    ("назовём {partner} моделью Б. слей нашу с Б slerp-ом, t ноль целых три десятых", ["merge_models"],
     {0: {"method": "slerp", "models": ["@base", "{partner}"], "t": 0.3}}),
    ("call {partner} B. slerp ours with B, t 0.3", ["merge_models"],
     {0: {"method": "slerp", "models": ["@base", "{partner}"], "t": 0.3}}),
    ("slerp ours + {partner} t=1/3", ["merge_models"], {0: {"method": "slerp", "t": 0.333333}}),
    ("слерп нашей и {partner}, t = 2/3", ["merge_models"], {0: {"method": "slerp", "t": 0.666667}}),
    ("ties {partner} and {partner2} on {model}, density 1/2", ["merge_models"], {0: {"density": 0.5}}),
    ("слияние ties, плотность 0.6, нет, пусть будет 0.4, модели {partner} и {partner2}, база {model}", ["merge_models"],
     {0: {"method": "ties", "models": ["{partner}", "{partner2}"], "density": 0.4}}),
    ("ties {partner} and {partner2} on {model}, density 0.6, no, let it be 0.4", ["merge_models"], {0: {"density": 0.4}}),
    ("merge {partner} and {partner2} with weights 0.8 and 0.2 linear, no wait, 0.6 and 0.4", ["merge_models"],
     {0: {"method": "linear", "weights": [0.6, 0.4]}}),
    ("линейно объедини нашу модель и {partner} с весами 0.9 и 0.1, сохрани в {out}", ["merge_models"],
     {0: {"method": "linear", "models": ["@base", "{partner}"], "weights": [0.9, 0.1]}}),
    ("треть от {partner}, треть от {partner2}, остальное наша", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}", "@base"], "weights": [0.333333, 0.333333, 0.333333]}}),
    ("хочу модель, где 75% весов от {partner}, а 25% от нашей", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.75, 0.25]}}),
    ("I want a model with 75% of the weights from {partner} and 25% from ours", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.75, 0.25]}}),
    ("linear merge of {model} and {partner}, twice as much weight on {partner}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.333333, 0.666667]}}),
    ("слей нашу с {partner}, двойной вес для нашей", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.666667, 0.333333]}}),
    ("blend {model}, {partner}, {partner2} — half ours, and split the other half evenly between the two partners",
     ["merge_models"], {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.25, 0.25]}}),
    ("слей нашу, {partner} и {partner2}: половину нашей, другую половину поровну между партнёрами", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.5, 0.25, 0.25]}}),
    # pass 61a/62a/62b: a task vector subtracted with no weight is -1; a delta "scaled by" a factor; weights "for B and
    # C" in their places; ours kept as a member where another base is named; «базой возьми C»; quoted labels placed
    # where used; a later clause's "у SFT ранг 8" / "the SFT rank is 32" is that stage's, not a new one
    ("task arithmetic: add the task vector of {partner} to {model}, subtract {partner2}'s", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}", "{partner2}"], "weights": [1.0, -1.0]}}),
    ("к нашей модели прибавь вектор задачи {partner} и вычти вектор {partner2}", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}", "{partner2}"], "weights": [1.0, -1.0]}}),
    # pass 63a: «потом результат с нашей 30/70», «результат ещё раз с C линейно 80/20»: a second merge said by the
    # result, its other member and its share, with no merge verb
    ("слей {partner} и {partner2} 50/50, потом результат с нашей 30/70 в пользу нашей, сохрани в {out}",
     ["merge_models", "merge_models"], {1: {"models": ["@merge", "@base"], "weights": [0.3, 0.7]}}),
    ("merge {partner} and {partner2} 50/50, then the result with ours 30/70, save {out}",
     ["merge_models", "merge_models"], {1: {"models": ["@merge", "@base"], "weights": [0.3, 0.7]}}),
    ("смерджи нашу модель и {partner} через slerp, t=0.6, а потом результат ещё раз с {partner2} линейно 80/20 в пользу"
     " результата, сохрани {out}", ["merge_models", "merge_models"],
     {0: {"t": 0.6}, 1: {"models": ["@merge", "{partner2}"], "weights": [0.8, 0.2]}}),
    # «B двадцать процентов, наша восемьдесят»: a share in words beside a percent share is a percent too
    ("смешай {partner} с нашей моделью: {partner} двадцать процентов, наша восемьдесят, потом slerp результата с"
     " {partner2} t=0.1, сохрани {out}", ["merge_models", "merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.2, 0.8]}, 1: {"models": ["@merge", "{partner2}"], "t": 0.1}}),
    ("blend ours with {partner}: {partner} twenty percent, ours eighty, save {out}", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.2, 0.8]}}),
    # pass 63a: "add it to C" with C a model folder is a member at weight 1 (C + (B - base)), never the output folder;
    # "base ours", "ours as the base", «база исходная» name the reference, not a member; «в пользу B, 70 процентов»
    ("task arithmetic: take {partner} minus our model as a task vector and add it to {partner2}", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}", "{partner2}"]}}),
    ("возьми разницу {partner} минус наша модель как вектор задачи и прибавь его к {partner2}", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}", "{partner2}"]}}),
    ("call {partner} B and {partner2} C. merge B and C with ties, density 0.6, base ours", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "density": 0.6}}),
    ("merge {partner} and {partner2} with ties, density 0.6, ours as the base", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"]}}),
    ("ранг 32, нет, 16; sft на {sft}; затем смерджи адаптер и сделай ties с {partner}, плотность 0.5, база исходная",
     ["sft", "merge_adapter", "merge_models"], {0: {"r": 16}, 2: {"models": ["@sft-merged", "{partner}"]}}),
    ("слей {partner} с нашей, в пользу {partner}, 70 процентов", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.7, 0.3]}}),
    ("merge {partner} with ours favouring {partner} at 80%", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.8, 0.2]}}),
    # pass 63a: "merge ours w/ B", "merge that result with", «объедини нашу модель с B», «средневзвешенное трёх: наша —
    # 0.2, …», «добавь к нашей модели вектор задачи (B минус наша)», «t равен одной трети», «веса один и два», «смерджи
    # нашу исходную с результатом», "slerp the result with ours" after training (ours: the model it started from)
    ("hey can u merge ours w/ {partner} 60-40 (ours 60) and then slerp the result w/ {partner2} at t=.2",
     ["merge_models", "merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.6, 0.4]}, 1: {"models": ["@merge", "{partner2}"], "t": 0.2}}),
    ("merge {partner} and {partner2} equally, then merge that result with our model 60/40 favouring ours",
     ["merge_models", "merge_models"], {1: {"models": ["@merge", "@base"], "weights": [0.4, 0.6]}}),
    ("слей вместе {partner} и нашу модель, {partner} поменьше — процентов 20", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.2, 0.8]}}),
    ("mostly {partner}, a bit of ours — like 90/10", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.9, 0.1]}}),
    ("объедини нашу модель с {partner} поровну и запиши в {out} в fp16", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.5, 0.5]}}),
    ("сделай средневзвешенное трёх: наша — 0.2, {partner} — 0.2, {partner2} — 0.6, сохрани в {out}", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [0.2, 0.2, 0.6]}}),
    ("добавь к нашей модели вектор задачи ({partner} минус наша) с коэффициентом 0.5", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [0.5]}}),
    ("объедини нашу и {partner} с помощью slerp, t равен одной трети", ["merge_models"], {0: {"t": 0.333333}}),
    ("сделай ties из {partner} и {partner2} с базой нашей, веса один и два", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.333333, 0.666667]}}),
    ("sft на {sft} с lr 3e-4, ранг 64, альфа 128, потом смерджи нашу исходную с результатом 30/70 в пользу обученной",
     ["sft", "merge_adapter", "merge_models"],
     {0: {"r": 64, "alpha": 128}, 2: {"models": ["@sft-merged", "@base"], "weights": [0.7, 0.3]}}),
    ("SFT rank 64 on {sft}, alpha half that rank, lr 5e-5, then slerp result with ours t 0.5",
     ["sft", "merge_adapter", "merge_models"], {0: {"alpha": 32}, 2: {"models": ["@sft-merged", "@base"], "t": 0.5}}),
    # pass 63b: a value before its name ("0.05 lora dropout"); «слияние адаптера» is a fold; "sigmoid loss plus 0.5
    # sft loss" is TRL's weighted loss list, not an SFT stage
    ("SFT on {sft} with lr 2e-4 and 0.05 lora dropout, then DPO on {dpo} with the same dropout", ["sft", "preference"],
     {0: {"dropout": 0.05}, 1: {"dropout": 0.05}}),
    ("lora r 32 on {sft}, alpha = r, eval 0, then slerp the merged sft model with {partner2}, t 0.45, {out}",
     ["sft", "merge_adapter", "merge_models"], {0: {"eval_fraction": 0.0}, 2: {"models": ["@sft-merged", "{partner2}"]}}),
    ("лора на {sft}, ранг 16, eval 0.05, сохрани в {out}", ["sft"], {0: {"eval_fraction": 0.05}}),
    ("merge {partner} into {model} 50/50 linear, then run DPO on {dpo} on top of that merge with beta 0.15, then save"
     " {out}", ["merge_models", "preference"], {1: {"beta": 0.15}}),
    # a factor of Graft's own default: "half the default lr" (5e-5 for a preference stage), «ранг вдвое больше
    # стандартного»
    ("IPO on {dpo} (beta 0.1), half the default lr, save {out}", ["preference"], {0: {"learning_rate": 2.5e-5}}),
    ("SFT на {sft}, ранг в два раза больше стандартного", ["sft"], {0: {"r": 32}}),
    ("SFT on {sft} with a tenth of the default learning rate", ["sft"], {0: {"learning_rate": 2e-5}}),
    # (these three were asked about before Graft read factors of its own defaults; tests/test_goal_settings.py)
    ("SFT, double the default batch size on {sft}", ["sft"], {0: {"batch_size": 8}}),
    ("SFT, lr в 10 раз меньше стандартного, {sft}", ["sft"], {0: {"learning_rate": 2e-5}}),
    ("ранг в два раза больше стандартного, {sft}", ["sft"], {0: {"r": 32}}),
    ("SFT на {sft}; DPO на {dpo}; затем слияние адаптера и запись в {out}", ["sft", "preference", "merge_adapter"], {}),
    ("dpo on {dpo} with sigmoid loss plus 0.5 sft loss", ["preference"],
     {0: {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.5]}}),
    # pass 64a/64b: "using MODEL as base" in a chain names the reference, not a member; "nothing from ours"; "t=0.2
    # towards B" puts B second; "lr the same as the default"; «eval на 20% данных», «eval 0 (без валидации)»
    ("merge {model} and {partner} linearly 0.6/0.4, then ties the result with {partner2} using {model} as base,"
     " density 0.5", ["merge_models", "merge_models"], {1: {"method": "ties", "models": ["@merge", "{partner2}"]}}),
    ("i want 80% of {partner} and 20% of {partner2}, nothing from ours, linear, out {out}", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [0.8, 0.2]}}),
    ("слей {partner} и {model} slerp-ом, t=0.2 в сторону {partner}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "t": 0.2}}),
    ("slerp {partner} and ours, t=0.2 towards {partner}", ["merge_models"], {0: {"models": ["@base", "{partner}"]}}),
    ("SFT на {sft} две эпохи, lr такой же как по умолчанию, батч 8, eval 5%", ["sft"],
     {0: {"learning_rate": 2e-4, "epochs": 2, "eval_fraction": 0.05}}),
    ("лора на {sft}, eval на 20% данных, seed 42", ["sft"], {0: {"eval_fraction": 0.2}}),
    ("лора на {sft}, dropout 5%, lr 2e-4, eval 0 (без валидации)", ["sft"], {0: {"eval_fraction": 0.0}}),
    ("SFT на {sft} с шагами 300 и warmup 30 шагов, затем DPO на {dpo} 100 шагов", ["sft", "preference"],
     {0: {"max_steps": 300, "warmup_steps": 30}, 1: {"max_steps": 100}}),
    ("fine-tune на {sft}, lr 1e-3... нет, слишком много, 1e-4", ["sft"], {0: {"learning_rate": 1e-4}}),
    # pass 65a/65b: "rank equal to alpha = 32" (r from alpha), "… and a fifth of its lr", "ours x1, B x1, C x2", and a
    # last folder after a comma that follows a setting is where the model goes, not a member
    ("lora on {sft} with rank equal to alpha = 32, {out}", ["sft"], {0: {"r": 32, "alpha": 32}}),
    ("лора на {sft}, альфа 64, ранг равен альфе", ["sft"], {0: {"r": 64, "alpha": 64}}),
    ("SFT on {sft} r 16 lr 2e-4, then DPO on {dpo} with double the SFT rank and a fifth of its lr, {out}",
     ["sft", "preference"], {1: {"r": 32, "learning_rate": 4e-5}}),
    ("linear: ours x1, {partner} x1, {partner2} x2 -> {out}", ["merge_models"],
     {0: {"models": ["@base", "{partner}", "{partner2}"], "weights": [1.0, 1.0, 2.0]}}),
    ("слей {partner} с нашей, наша в 4 раза весомее, линейно, {out}", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.2, 0.8]}}),
    ("task arithmetic: база {model}, плюс {partner} и минус {partner2}", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}", "{partner2}"], "weights": [1.0, -1.0]}}),
    ("прибавь к {model} дельту {partner} умноженную на 0.8 (task arithmetic)", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [0.8]}}),
    ("task arithmetic: add {partner}'s delta scaled by 0.8 to ours", ["merge_models"],
     {0: {"method": "task_arithmetic", "models": ["{partner}"], "weights": [0.8]}}),
    ("ties with density 0.7 and weights 1.0/0.5 for {partner} and {partner2}, base is ours", ["merge_models"],
     {0: {"models": ["{partner}", "{partner2}"], "weights": [1.0, 0.5], "density": 0.7}}),
    ("ties с плотностью 0.7, веса 0.3 и 0.7 для {partner2} и {partner}, база наша", ["merge_models"],
     {0: {"models": ["{partner2}", "{partner}"], "weights": [0.3, 0.7]}}),
    ("смёрджи {partner} с нашей, {partner} — сорок процентов, ties, плотность 0.7, база {partner2}, сохрани {out}",
     ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.6, 0.4], "base": "{partner2}"}}),
    ("слей {model} и {partner} через ties с плотностью 0,45 и весами 0,5 и 0,5, базой возьми {partner2}, сохрани в {out}",
     ["merge_models"], {0: {"models": ["@base", "{partner}"], "weights": [0.5, 0.5], "base": "{partner2}"}}),
    ("назовём {partner} «А», а {partner2} «Б». сначала slerp А и Б с t=0.4, потом результат линейно с нашей 50 на 50",
     ["merge_models", "merge_models"], {0: {"method": "slerp", "models": ["{partner}", "{partner2}"], "t": 0.4}}),
    ("Сделай SFT на {sft}, потом DPO на {dpo} с рангом в два раза больше, чем у SFT, а у SFT ранг 8",
     ["sft", "preference"], {0: {"r": 8}, 1: {"r": 16}}),
    ("SFT on {sft} then DPO on {dpo}; the SFT rank is 32", ["sft", "preference"], {0: {"r": 32}}),
    ("linear merge {model} with {partner} 80/20... actually make it 60/40. out {out}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.6, 0.4]}}),
    ("линейное слияние {model} и {partner} 90/10, нет, лучше 75/25. сохрани {out}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.75, 0.25]}}),
    ("slerp ours and {partner} at t equals zero point one five, write {out}", ["merge_models"], {0: {"t": 0.15}}),
    ("слей {partner} в {model} так, чтобы {partner} весил втрое больше нашей, сохрани в {out}", ["merge_models"],
     {0: {"models": ["{partner}", "@base"], "weights": [0.75, 0.25]}}),
    ("слей наши веса с {partner} так, чтобы нашей было в два раза больше, линейно, сохрани {out}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.666667, 0.333333]}}),
    ("slerp {model} with {partner}; 3/4 of the way towards partner. {out}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "t": 0.75}}),
    ("mix in a quarter of {partner2} into {model} (linear), save {out}", ["merge_models"],
     {0: {"models": ["{partner2}", "@base"], "weights": [0.25, 0.75]}}),
    ("Обучи на {sft} с ранком 16 и альфой, равной рангу", ["sft"], {0: {"r": 16, "alpha": 16}}),
    ("Обучи на {sft} с ранком 64 и альфой, равной половине ранга", ["sft"], {0: {"r": 64, "alpha": 32}}),
    ("слей {partner} в нашу 30%, потом запиши в {out}", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [0.7, 0.3]}}),  # (seen in the TUI: "what to do?")
    # mergekit's own "weight: 3.0" is a weight as said (it had been read as 3 percent: 0.01 and 0.03)
    ("вот конфиг, сделай так же:\nmerge_method: linear\nmodels:\n  - model: {model}\n    parameters:\n      weight: 1.0\n"
     "  - model: {partner}\n    parameters:\n      weight: 3.0\ndtype: float16", ["merge_models"],
     {0: {"models": ["@base", "{partner}"], "weights": [1.0, 3.0]}}),
]  # fmt: skip


@pytest.mark.parametrize(("goal", "kinds", "want"), PLANNED)
def test_the_goal_is_planned_as_meant(world: dict[str, str], goal: str, kinds: list[str], want: dict) -> None:
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    stages = [s for s in outcome.plan.stages if s.kind != "write"]
    assert [s.kind for s in stages] == kinds
    if "{out}" in goal:  # the path at the end of a chain is where the model goes, not a model to merge
        assert outcome.plan.output == world["out"]
    for i, fields in want.items():
        if "models" in fields and "weights" in fields and getattr(stages[i], "method", "") != "slerp":
            # a weight belongs to its model; the order the members are listed in changes nothing outside SLERP
            members = [m.format(**world) for m in fields["models"]]
            have_pairs = dict(zip(stages[i].models, stages[i].weights, strict=True))
            assert have_pairs == pytest.approx(dict(zip(members, fields["weights"], strict=True))), (goal, have_pairs)
            fields = {k: v for k, v in fields.items() if k not in ("models", "weights")}
        for name, value in fields.items():
            if isinstance(value, list):
                value = [v.format(**world) if isinstance(v, str) else v for v in value]
            if isinstance(value, str) and value.startswith("{"):
                value = value.format(**world)
            have = getattr(stages[i], name)
            assert have == pytest.approx(value) if isinstance(value, float) else have == value, (goal, name, have)
    # the review shows what each reference became, so the person sees the number before approving
    if "half that rank" in goal:
        assert any("from '" in line and "half that rank'" in line for line in outcome.facts)


ASKED = [
    # a ratio whose bigger share is given by words Graft does not read is asked, never planned in said order
    ("merge with {partner} 70/30 and make sure the bigger share is the partner's", "bigger"),
    ("Скачай mistralai/Mistral-7B-v0.1 и дообучи на {sft}", "hugging face hub"),  # was the output folder: silent
    ("fine-tune Qwen/Qwen2.5-0.5B-Instruct on {sft} with LoRA r 8", "hugging face hub"),
    ("SFT на {sft} и DPO на {dpo}, DoRA только на SFT", "dora"),  # was DoRA on DPO and a phantom second SFT: silent
    ("сфт на {sft} с lora на q,k,v, потом dpo на {dpo} с lora на o и mlp", "mlp"),  # was MLP alone: o_proj dropped
    ("train on both datasets", "prefs.jsonl"),  # a file given and said to be used, which no stage trains on
    ("обучи на обоих датасетах", "prefs.jsonl"),
    ("две отдельные LoRA от базы: SFT на {sft} и DPO на {dpo}, затем объедини оба адаптера через svd", "svd"),
    ("merge {partner} with the base, weight 0.3", "which weight goes to which model"),  # no "into": whose weight?
    ("SFT on {sft} then DPO on {dpo} with the same lr", "same lr"),  # nothing said to be the same as
    ("SFT on {sft}, 3 epochs, batch 8 -- sorry, I meant per device", "correction"),
    ("DPO на {dpo}, бета 0.1, точнее как в статье", "точнее"),
    ("SFT on the first 1000 examples of {sft}", "first 1000 examples"),
    ("SFT on {sft} but only the first 10% of it", "subset"),
    ("SFT на первых 500 примерах из {sft}", "первых 500 примерах"),
    ("SFT on {sft} with the loss on the full sequence, prompts included", "loss on the prompt"),
    ("SFT на {sft}, адаптер не вливать, нужны только веса LoRA", "адаптер как результат"),
    ("обучи только эмбеддинги на {sft}", "обучение эмбеддингов"),
    ("SFT on {sft} with lr 0 and 0 epochs", "does not fit"),
    # load-bearing words no reader took (red-team pass 4)
    ("SFT on {sft}, freeze the bottom half", "freeze"),  # half of what? (with 'of the layers' it is planned)
    ("SFT on {sft} with lora r 8, save the adapter unmerged", "unmerged"),
    ("SFT on {sft} with a slightly higher learning rate than usual", "higher"),
    ("обучи на {sft} побольше эпох", "побольше"),
    ("обучи на половине датасета {sft}", "половине"),
    ("смержи {partner} и {partner2} и ещё какую-нибудь хорошую модель", "какую-нибудь"),
    ("DPO on only the English examples in {dpo}", "only the english examples"),
    ("LoRA on layers 0-3 (0,1,2,7), {sft}", "0,1,2,7"),  # a listing that does not match the selection
    ("Обучи reward-модель на {sft}", "reward-модель"),
    ("SFT on {sft}, DPO on {dpo} from the base", "from the base"),  # two results and nothing merges them
    ("task_arithmetic of {partner} and {partner2}, the first twice as heavy as the second", "ratio of weights"),
    ("dare_ties: {partner} and {partner2}, normalize: true", "normalize"),  # not dare_ties' default
    ("continued pretraining on raw text corpus {out}/corpus.txt", "plain-text file"),
    ("TIES {partner} and {partner2}, 0.7 for {partner2} and 0.3 for {model}", "do not name each model"),
    ("nuslerp {partner} and {partner2}", "does not merge with nuslerp"),
    ("SFT on {sft}, evaluate on MMLU", "evaluation"),
    ("LoRA on the vision tower, r 8, {sft}", "vision tower"),  # planned on the language layers before
    ("сделай SFT на {sft} и квантуй результат в int4", "квантуй"),  # planned as plain SFT before
    ("sce мердж {partner} и {partner2}", "sce"),  # planned as TIES before  # dropped without a word before
    ("SFT на {sft} с небольшим лр", "небольшим"),  # planned with the default lr before
    ("Quantization-aware training on {sft} in int8", "quantization"),  # planned as plain SFT with a note before
    # red-team pass 10: dropped without a word before
    ("Запусти DPO на {dpo} с beta 0.1, потом передай результат в Ollama", "ollama"),
    ("sft на {sft} r=16, потом orpo на {dpo} с lr 5e-6, без мёрджа в конце", "без мерджа"),
    ("ties с {partner}: density 0.5, weight 1, normalize false", "normalize"),
    ("слей {partner} и {partner2} через sce", "sce"),  # planned as TIES before: silent
    ("франкенмерж: склей слои 0-7 из открытой модели и слои 4-11 из {partner}", "франкенмерж"),
    ("dpo on {dpo} with a separate ref model {partner}", "reference model"),
    ("DPO на {dpo}, отдельная референсная модель {partner}", "референсная модель"),
    ("sft on {sft}, write in pieces around 2GB", "2gb"),  # a size nothing placed (it kept the 5GB default: silent)
    ("task arithmetic: вычти {partner2} из базы", "вычти"),
    ("SFT on {sft} in fp8", "fp8"),
    (
        "sft {sft} r 16 then merge adapter at 0.5 strength",
        "strength",
    ),  # pass 14: folded at full scale, silent  # pass 13: a plain SFT plan, fp8 never mentioned (silent)
    ("sft {sft}, output int8", "int8"),
    ("посчитай perplexity после sft на {sft}", "perplexity"),
    ("сохрани адаптер отдельно, не мерджи. sft {sft}", "адаптер"),
    ("sft on {sft} using mistral-7b", "mistral-7b"),
    ("DPO only, no SFT, but first train on {sft}", "no sft"),  # was SFT then DPO: the refusal dropped
    ("скачай модель с huggingface и смержи с {partner}", "скачай модель с huggingface"),
    ("сохрани в int8", "квантован"),  # a Russian goal of one word and terms is asked in Russian
    ("грпо на {sft}", "grpo"),  # the Cyrillic spelling is the method Graft does not run
    ("обучи что-нибудь хорошее", "что-нибудь"),  # SFT on chat.jsonl was a guess: silent
    ("what does {model} contain?", "graft inspect"),  # a checkpoint question is pointed to the command that answers it
    ("сколько слоёв у {model}?", "graft inspect"),
    (
        "DPO на {dpo} с beta 0.1, одновременно полный файнтюн и LoRA",
        "полное дообучение или lora",
    ),  # LoRA dropped: silent
    ("скачай Qwen2.5-7B с huggingface и дообучи на {sft}", "qwen2.5-7b с huggingface"),  # a name masked as a path
    ("SFT with hinge loss on {sft}", "hinge"),  # a DPO loss on an SFT stage: dropped without a word before
    ("dpo on {dpo} with hinge loss, beta 0.1, and also sigmoid loss", "hinge"),  # two losses: sigmoid won, silent
    ("DPO лр в два раза меньше чем у SFT, SFT лр 4e-4", "перед sft"),  # DPO ran first, named first: silent
    ("DPO on {dpo}, SFT on {sft}", "before sft"),
    ("download llama from the HF hub and fine-tune it on {sft}", "download llama from the hf hub"),
    ("только DPO, без SFT, но сначала обучи на {sft}", "без sft"),
    ("SFT on {sft} with qwen2.5-0.5b", "qwen2.5-0.5b"),
    ("обучи модель вознаграждения на {dpo}", "вознаграждения"),
    ("используй метод LongLoRA на {sft}", "longlora"),
    ("passthrough: слои 0-6 от {model} и 6-12 от {partner}", "passthrough"),
    ("сделай как в примере LLaMA-Factory для DPO на {dpo}, только бета 0.2 и лосс ipo", "как в примере"),
    ("DPO on {dpo} like in the zephyr recipe but with beta 0.2", "zephyr recipe"),
    # a method Graft does not run is asked before the values that belong to it
    (
        "merge_method: passthrough\nslices:\n  - sources:\n    - model: {model}\n      layer_range: [0, 8]\n"
        "  - sources:\n    - model: {partner}\n      layer_range: [4, 12]",
        "passthrough",
    ),
    # red-team pass 27a: a ratio with its favoured member said in words Graft does not read went in said order
    ("linear merge with {partner} 70/30, heavier on the partner side", "whose share is bigger"),
    ("слей с {partner} линейно 70 на 30, больше партнёра", "чья доля больше"),
    ("slerp with {partner}, 3 to 1, more of the partner", "whose share is bigger"),
    # red-team pass 27b: a bare training verb with two kinds of data given planned SFT on one of them
    ("обучи", "на каких данных"),
    ("train it", "on which data"),
    ("дообучи на датасете", "на каких данных"),
    ("IPO на {dpo}, но без reference модели", "без reference модели"),
    # red-team pass 29b: a download said in Russian, and an order Graft does not read, planned SFT on the local model
    ("скачай Qwen2.5-7B с хаггингфейса и дообучи", "ничего не скачивает"),
    ("download qwen2.5-7b and fine-tune it on {sft}", "downloads none"),
    ("мерджни лору и сохрани", "какой адаптер"),
    ("сделай passthrough-мердж слоёв нашей модели и {partner}", "passthrough"),  # it was a TIES merge: silent
    ("дообучи с нуля (pretraining) на моих текстах", "с нуля"),
    ("делай сфт на {sft}, а мерджить адаптер не надо, просто запиши итог в {out}", "мерджить адаптер не надо"),
    ("Не надо мержить адаптер, оставь только лору после SFT на {sft}", "не надо мержить"),  # it merged: silent
    ("sft on {sft}, don't bother to merge", "don't bother to merge"),
    ("Дообучи на моих данных", "на каких данных"),
    ("fine tune it on my data", "on which data"),
    ("merge {partner} into {model} 70/30 linear", "which weight goes to which model"),  # said order gave B 0.7: silent
    ("смержи {partner} в {model} 70 на 30 линейно", "какой вес какой модели"),
    ("онлайн DPO", "онлайн dpo"),  # a plain offline DPO was planned, 'онлайн' only listed as unplaced
    ("сфт, а потом гпро", "grpo"),
    ("мерж лоры в базу и сохранить float16, шард 5GB", "адаптер"),  # it trained a LoRA SFT on chat.jsonl: silent
    ("della merge: {partner} weight 0.5 density 0.4 epsilon 0.1, {partner2} weight 0.5 density 0.4", "epsilon"),
    # pass 38a: the names' order was taken for the weights' order (B got 0.4, C got 1, "base 0.6" noted): silent
    (
        "dare_ties: база {model}, {partner} вес 0.6, {partner2} вес 0.4, плотность 0.5, и базе вес 1",
        "mergekit не даёт базе веса",
    ),
    ("возьми слои с 4 по 8 из {partner}, остальное из базы (passthrough)", "passthrough"),
    ("sft on {sft}, then dpo on {dpo}, then orpo on {dpo}, actually swap the order", "which order"),
    ("linear merge with {partner}, all three equal", "different number of models"),  # two members, "three" said
    ("merge three models: {partner} and {partner2} linearly", "different number of models"),
    ("task_arithmetic merge: my model 2 parts, {partner} 1 part", "shares as parts"),  # not normalised: scales
    (
        "ties merge {partner} and {partner2}, weights 70% and 30%, density 0.4 for the first and 0.8 for the second",
        "2 values of density",
    ),
    ("della merge: {partner} weight 0.5 density 0.4, {partner2} weight 0.5 density 0.8", "2 values of density"),
    ("sft with the trl default lr", "another library's defaults"),
    ("sft with lr between 1e-4 and 3e-4", "a range for learning rate"),
    ("rank 8-16", "a range for rank (8-16)"),
    ("SFT с lr от 1e-4 до 3e-4", "диапазон"),
    ("sft with 2-3 epochs", "a range for epochs"),
    (
        "unsloth: r = 16, lora_alpha = 16, learning_rate = 2e-4. then save_pretrained_merged to {out}/M in 16bit",
        "float16 or bfloat16",
    ),  # pass 42b: the write stayed at the source's dtype (float32): silent
    ("SFT on {sft}, no LoRA on layer 0", "fully fine-tuned"),  # a LoRA on layer 0 alone had been planned: silent
    ("обучи на {sft} без лоры на слоях 0-5", "обучить полностью"),
    # a weight for the base of a task-vector merge, said in other words: the reason, not "which setting is it?"
    ("task arithmetic: {partner} с весом 1,0, {partner2} с весом 0,5, базе тоже 0,3", "mergekit не даёт базе веса"),
    ("dare_ties merge with {partner}, base weight 0.5, partner 0.5", "mergekit gives the base no weight"),
    (
        "ties merge with {partner} and {partner2}, 0.4 for ours and 0.3 each for the two partners",
        "gives the base no weight",
    ),
    ("merge with {partner} linear 30/70 ours", "whose share is bigger"),
    # pass 46b: the second density became a weight, "веса поровну" was dropped (silent)
    (
        "смерджи {partner} и {partner2} с базой через dare_ties: плотность 0.5 и 0.7 соответственно, веса поровну",
        "density",
    ),
    (
        "merge {partner} and {partner2} over the base with dare_ties: density 0.5 and 0.7 respectively",
        "2 values of density",
    ),
    # pass 46a: a merge taken back was kept (silent)
    ("sft на {sft}, dpo на {dpo}, мердж с {partner} 50/50 - хотя мердж не нужен, просто сохрани", "нужно ли слияние"),
    # a merge word with models after it and no merge of models in the plan is asked about (it had been dropped)
    ("sft on {sft}, then dpo on {dpo}, then merge the models 50/50", "should be merged"),
    (
        "SFT on {sft}, then fold the adapter in with scaling 0.5",
        "the scale it was trained with",
    ),  # which of the two is ours is not said
    ("linear merge with {partner}, 0.4 for ours and 0.3 each for the two partners", "a different number of models"),
    # an unknown merge method is named back, never replaced by the default (pass 47a: TIES with "no method was named")
    ("sft on {sft} then merge with {partner} using cosine-fusion merge", "knows no merge by that name"),
    ("слей с {partner} методом cosine-fusion", "такого слияния Graft не знает"),
    # a decimal inside a weight list that no weight took is asked about (it had been dropped)
    ("ties с базой {model}: {partner} вес 0.5, блин, 0.3; {partner2} вес 0.7", "0.3"),
    # pass 50a's silent plans: a share of 1.5 had become 0.015 (read as percent); "fourty" was no number at all
    ("merge my model with {partner}, the partner's share is 1.5", "1.5"),
    ("mrege {partner} into the model, partner at fourty percent", "40"),
    # pass 51: a product that is not the batch said; a merge without normalisation; a member that lost a weight
    ("SFT on {sft}, batch 16 via 4 x 2", "batch 16"),
    ("merge ours with {partner}, partner gets 3x", "3"),
    ("линейно с {partner}, вес партнера -0.3", "0.3"),
    ("linear merge of ours and {partner} with weight -0.2 on partner", "0.2"),
    # pass 57: a favoured member Graft cannot name is asked about, never guessed; Unsloth and GaLore named back;
    # a negative weight in a linear merge is asked about with its sign (the minus had been read as a dash)
    ("merge ours and {partner} with weights -0.5 and 1.5, linear", "-0.5 and 1.5"),
    ("слей нашу модель и {partner} с весами -0.2 и 1.2", "-0.2 и 1.2"),
    ("Можешь слить с {partner} сферически, с перевесом коллеги 3 к 1?", "перевесом коллеги 3 к 1"),
    ("merge with {partner}, tilted to my colleague's, 3:1", "whose share is bigger"),
    ('fine-tune with Unsloth\'s fast LoRA, rank 16, use_gradient_checkpointing="unsloth"', "unsloth"),
    ("через Unsloth, ранг 16", "unsloth"),
    ("SFT using the GaLore optimizer at lr 1e-5", "optimiser"),
    ("merge ours and {partner} with slerp, more of the partner", "more of the partner"),
    ("смержи с {partner} слерпом, побольше партнёра", "побольше"),
    ("слей нашу с {partner} с весом 2x", "2"),
    ("ties с {partner}, плотность 0.7, без нормализации", "без нормализации"),
    ("ties with {partner}, density 0.7, without normalization", "without normalization"),
    # pass 58a/58b: a lean or a multiple with no amount Graft reads is asked, never planned as an even blend;
    # an evolutionary search and an 8-bit optimiser are named back; a minus with no weight is asked with the path
    ("merge {model} with {partner}; {partner} should get the bigger share", "bigger share"),
    ("слей {model} с {partner}, чтобы {partner} досталось больше", "досталось больше"),
    ("merge {model} with {partner}, {partner} counts for five times more", "which shares"),
    ("evolutionary merge search over {partner} and {partner2}", "mergekit-evolve"),
    ("эволюционный поиск слияния {partner} и {partner2}", "mergekit-evolve"),
    ("DPO на {dpo}, оптимизатор adamw 8-bit", "adamw 8-bit"),
    ("merge {partner} and {partner2}: 65% the first one, rest the second", "the first one"),
    ("сделай passthrough-склейку слоёв: 0-7 из нашей, 4-11 из {partner}", "passthrough"),
    ("merge {partner} and {partner2} with sce", "sce"),
    # pass 63b: a strategy said for a stage with no GPU count would be recorded but run as one plain process
    ("SFT на {sft} через DeepSpeed ZeRO-3", "GPU"),
    (
        "slerp ours with {partner} at t 0.5; then slerp the result with {partner2} at t 0.33; then ties with ours as base"
        " density 0.5 — actually skip the ties step. {out}",
        "skip the ties step",
    ),
    ("merge {partner} with ours, {partner} bigger, 30%", "30"),
    ("DARE слияние {partner} и {partner2} с базой {model}, плотность 0.5", "dare_linear"),
    ("merge {partner} and {partner2} with DARE, density 0.3", "dare_ties"),
    ("слерп нашей и {partner}, t=0.7, только слои с 4 по 9, сохрани {out}", "срезам"),
    ("merge {partner} into {model} with slerp at t=0.5 but only for layers 6-11, {out}", "every layer"),
    ("SFT {sft} with gradient checkpointing and bf16, lr 2e-4", "training precision"),
    ("SFT на {sft} с 8-битным оптимизатором", "оптимизатор"),
    ("SFT on {sft} with an 8-bit optimizer", "optimiser"),
    ("DPO on {dpo} using {partner} as the reference model", "reference"),
    ("DPO на {dpo} с референсной моделью {partner}", "референс"),
    ("take {partner} minus ours as a task vector and add it to {partner2} at 0.5", "which weight"),
    ("слей {partner} с нашей, в пользу {partner}, 30 процентов", "30"),
    ("SFT on {sft} with FSDP", "how many GPUs"),
    ("ties-слияние {partner} и {partner2} без базовой модели, density 0.3, в {out}", "без базовой модели"),
    ("SFT on {sft} with lr 1e-4 and cosine with min lr 1e-6, warmup 50 steps", "min lr"),
    ("SFT на {sft}, lr 1e-4, косинус, минимальная скорость 1e-6", "минимальная скорость"),
]


@pytest.mark.parametrize(("goal", "named"), ASKED)
def test_what_graft_cannot_place_is_asked_by_name(world: dict[str, str], goal: str, named: str) -> None:
    outcome = _outcome(world, goal)
    assert outcome.plan is None, f"planned {goal!r} without asking"
    assert named.lower() in outcome.question.lower()


def test_a_reference_to_a_stage_is_not_a_stage_to_run() -> None:
    """'the same lr as the SFT' names the SFT; it is not a request for one."""
    facts = goal_facts("DPO on prefs.jsonl with the same lr as the SFT", 12)
    assert [f.slot for f in facts if f.slot == "reference"] == ["reference"]  # nothing to copy: asked about


def _plan(world: dict[str, str], stages: list[dict]) -> object:
    return plan_from_data({"goal": "g", "base_model": world["model"], "output": "/tmp/out", "stages": stages})


def test_the_fact_check_asks_when_a_plan_breaks_first_or_a_named_role(world: dict[str, str]) -> None:
    """The same check holds an LLM planner's plan: 'SFT first' and 'attention only' are compared with it."""
    dpo_first = _plan(
        world,
        [
            {"kind": "preference", "id": "dpo", "method": "dpo", "dataset": world["dpo"]},
            {"kind": "sft", "id": "sft", "dataset": world["sft"]},
            {"kind": "write", "id": "write"},
        ],
    )
    misses = check_plan_against_goal(f"DPO on {world['dpo']}; SFT on {world['sft']} first", dpo_first, 12)
    assert any("comes first" in m.message for m in misses)
    mlp_too = _plan(
        world,
        [
            {"kind": "sft", "id": "sft", "dataset": world["sft"], "target_modules": ["q_proj", "k_proj", "up_proj"]},
            {"kind": "write", "id": "write"},
        ],
    )
    misses = check_plan_against_goal(f"SFT on {world['sft']}, attention only but not v_proj", mlp_too, 12)
    assert any("up_proj" in m.message for m in misses)


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("lr 2·10^-5", "lr 2e-5   "),
        ("lr 1 × 10⁻⁴", "lr 1e-4     "),
        ("3e−5", "3e-5"),
        ("3е-5", "3e-5"),
        ("lr 0,0001, 1,5 эпохи", "lr 0.0001, 1.5 эпохи"),
        ("2,5e-5", "2.5e-5"),
        ("слои 0,5", "слои 0,5"),  # a list of layers, not a decimal
        ("layers 2,3,4", "layers 2,3,4"),
    ],
)
def test_numbers_pasted_in_other_spellings_keep_their_place(text: str, read: str) -> None:
    assert spelled_numbers(text).rstrip() == read.rstrip()
    assert len(spelled_numbers(text)) == len(text)  # positions in the goal hold for every reader


@pytest.mark.parametrize(
    ("goal", "english", "russian"),
    [
        ("SFT on {sft}, lr 1e-4, and also 7", "You wrote 7", None),
        ("SFT на {sft}, три эпохи, lr 1e-4, и ещё 7", None, "Вы написали 7"),
        ("Хочу GRPO поверх модели: награда за правильный ответ", None, "Graft не запускает GRPO"),
        ("сделай что-нибудь хорошее с моделью", None, "Что сделать с моделью?"),
        ("Слей линейно {model}, {partner} и {partner2} с весами 0.6 и 0.4", None, "какой вес какой модели"),
        ("SFT на {sft}, потом DPO на {dpo} от базовой модели", None, "ничто не сливает два результата"),
        ("слей {partner} и {partner2} через task_arithmetic, второй вдвое больше первого", None, "соотношение весов"),
    ],
)
def test_a_question_comes_in_the_language_of_the_goal(
    world: dict[str, str], goal: str, english: str | None, russian: str | None
) -> None:
    outcome = _outcome(world, goal)
    assert outcome.plan is None and outcome.question
    if russian:
        assert russian in outcome.question and "You wrote" not in outcome.question
    if english:
        assert english in outcome.question


def test_each_question_of_a_reply_is_put_in_russian_on_its_own() -> None:
    """Two questions in one reply: a quoted part of the first never swallows the second (seen in the TUI)."""
    from agent.question_language import in_language

    english = (
        "You wrote 'SFT на x, побольше эпох', and Graft did not read what that changes in the plan; say it with a "
        "value (or leave it out)? You wrote 'lr как у dpo', but the goal states no learning rate for another stage "
        "that it could refer to (each stage otherwise gets Graft's own default). Which learning rate should the plan use?"
    )
    russian = in_language(english, "SFT на x, побольше эпох, lr как у DPO")
    assert "You wrote" not in russian and "Which" not in russian
    assert "«SFT на x, побольше эпох»" in russian and "«lr как у dpo»" in russian
    assert in_language(english, "SFT on x, more epochs, lr as for DPO") == english


def test_every_reason_a_technique_is_not_run_has_its_russian_form() -> None:
    """A Russian goal asking for QLoRA or a hub upload is told why in Russian, not with an English aside."""
    from agent.goal_settings import TECHNIQUES
    from agent.question_language import in_language

    for _, why in TECHNIQUES:
        english = f"You asked for 'x' ({why}). Go on without it, or change the goal?"
        russian = in_language(english, "обучи на данных и залей куда-нибудь")
        assert why not in russian and re.search(r"[а-я]{3,}", russian.split("«x»")[1]), why


@pytest.mark.parametrize(
    ("goal", "asked"),
    [
        ("сфт на {sft} ранг 8, потом залей результат на hub", "выгрузка"),
        ("sft on {sft} r16, after training push the merged model to the hub as myorg/tiny-sft", "upload"),
        ("Do SFT on {sft} on 4 gpus with deepspeed zero2", "ZeRO-3"),
        ("SFT на {sft}, 8 GPU, fsdp1", "FSDP2"),
        ("LoRA on {sft}, layers 3 to 7 exclusive", "exclusive"),
        ("della merge with {partner}, density 0.6, epsilon 0.1, lambda 1.0", "'lambda'"),
    ],
)
def test_what_graft_does_differently_is_asked_in_the_goals_language(
    world: dict[str, str], goal: str, asked: str
) -> None:
    outcome = _outcome(world, goal)
    assert outcome.plan is None and asked in (outcome.question or ""), outcome.question


def test_a_path_after_relative_to_is_never_where_the_model_is_written(world: dict[str, str]) -> None:
    """'weight 1.0 relative to MODEL as base' planned MODEL's own folder as the output."""
    outcome = _outcome(world, "task_arithmetic with {partner} weight 1.0 relative to {model} as base")
    assert outcome.plan is not None, outcome.question
    assert outcome.plan.output != world["model"]


@pytest.mark.parametrize(
    ("goal", "russian"),
    [
        ("смержи {partner}, {partner2} и {model} через slerp", "SLERP сливает ровно две модели, а указано 3"),
        ("лора на слоях 10-15 на {sft}", "слоя 12 нет"),
        ("скачай Qwen/Qwen2.5-0.5B с хаба и слей с {model} пополам", "Graft ничего не скачивает"),
        ("объедини с {partner} методом dare_ties плотность 0.5 вес 0.5 у обоих", "mergekit не даёт самой базе веса"),
    ],
)
def test_a_russian_goal_is_refused_in_russian(world: dict[str, str], goal: str, russian: str) -> None:
    from tools.errors import GraftError

    with pytest.raises(GraftError, match=russian):
        _outcome(world, goal)


@pytest.mark.parametrize(
    "goal",
    [
        "kto на лайках/дизлайках из {kto}, undesirable_weight 1.33",
        "thumbs-up/down data in {kto}: run kto, and before that an sft on {sft}",
        "KTO на файле с лайками/дизлайками {kto}, бета 0.1",
    ],
)
def test_two_words_with_a_slash_are_never_the_output(world: dict[str, str], goal: str) -> None:
    """'лайках/дизлайках' and 'thumbs-up/down' were planned as the output folder (red-team pass 27b)."""
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    assert "/" not in Path(outcome.plan.output).name and not re.search(r"лайках|thumbs", outcome.plan.output)


@pytest.mark.parametrize(
    ("goal", "dtype"), [("сфт на {sft}, потом смерджи, в фп16", "float16"), ("SFT на {sft}, бф16", "bfloat16")]
)
def test_a_dtype_in_cyrillic_letters_is_the_output_dtype(world: dict[str, str], goal: str, dtype: str) -> None:
    """'в фп16' was neither used nor listed as unplaced: the write stayed 'auto' (red-team pass 30b, silent)."""
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    assert outcome.plan.stages[-1].kind == "write" and outcome.plan.stages[-1].dtype == dtype


def test_words_in_brackets_beside_a_ratio_are_never_the_output(world: dict[str, str]) -> None:
    """'70/30 (tuned/base)' was planned as the output folder tuned/base (red-team pass 7)."""
    outcome = _outcome(world, "SFT on {sft}, then blend it back with the base model 70/30 (tuned/base) using linear")
    assert outcome.plan is not None, outcome.question
    assert "tuned" not in outcome.plan.output
    merge = next(s for s in outcome.plan.stages if s.kind == "merge_models")
    assert merge.weights == [0.7, 0.3]


def test_one_file_is_said_back(world: dict[str, str]) -> None:
    """'одним файлом' kept the 5GB shards without a word (red-team pass 13): the review says why it is one file."""
    outcome = _outcome(world, "переконвертируй {model} в bf16, одним файлом, в {out}")
    assert outcome.plan is not None, outcome.question
    assert any(n.startswith("один файл: модель занимает") for n in outcome.plan.notes), outcome.plan.notes


@pytest.mark.parametrize(
    ("goal", "size"),
    [
        ("SFT on {sft}; save the final model in bfloat16 sharded at 500MB to {out}", "500MB"),  # red-team pass 8
        ("sft lora r16 on {sft}, dpo on {dpo}, both merged, shards 2GB", "2GB"),  # pass 12: kept 5GB, silent
        ("сфт r 16 на {sft} → слить → bf16, шард 2GB", "2GB"),
        ("слей {model} с {partner}, slerp, t 0.6, и сохрани в {out} шардами по гигабайту", "1GB"),  # pass 14: silent
        ("sft на {sft} и сохрани в fp16 кусками по 1 ГБ", "1GB"),  # pass 15: asked
        (
            "just convert {model} to float16 safetensors in 1GB shards at {out}",
            "1GB",
        ),  # pass 15: "what should be done?"
        ("Конвертируй в fp16 и порежь на шарды по 500 МБ, выход {out}/Половинка", "500MB"),
        ('merge with {partner}, linear, then write safetensors with max_shard_size="2GB"', "2GB"),  # pass 34b: asked
        ("slerp с {partner}, t=0,3, в fp16, шарды по 2 гига, в {out}/Slerp_RU", "2GB"),  # pass 36b: asked
    ],
)
def test_a_shard_size_said_with_the_shards_is_written(world: dict[str, str], goal: str, size: str) -> None:
    """A shard size said any of these ways kept the 5GB default without a word."""
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    assert outcome.plan.stages[-1].max_shard_size == size


def test_the_fact_check_knows_which_member_a_ratio_favours(world: dict[str, str]) -> None:
    """'70/30 in favour of B' planned the other way round is caught, not shown as the person's reading."""
    goal = "linear merge {partner} and {partner2}, 70/30 in favour of {partner2}".format(**world)
    for weights, kept in (([0.3, 0.7], True), ([0.7, 0.3], False)):
        plan = plan_from_data(
            {
                "goal": goal,
                "base_model": world["model"],
                "output": world["out"],
                "stages": [
                    {
                        "kind": "merge_models",
                        "id": "merge",
                        "method": "linear",
                        "weights": weights,
                        "models": [world["partner"], world["partner2"]],
                    },
                    {"kind": "write", "id": "write"},
                ],
            }
        )
        assert (check_plan_against_goal(goal, plan) == []) is kept, weights


def test_a_russian_goals_plan_notes_are_russian(world: dict[str, str]) -> None:
    """The review of a Russian goal explains the plan in Russian (red-team passes 8 and 9: every note was English)."""
    outcome = _outcome(
        world, "дообучи средние слои (с 3 по 8) на {sft} с рангом двенадцать, затем ORPO на тех же слоях, в {out}"
    )
    assert outcome.plan is not None, outcome.question
    notes = outcome.plan.notes
    assert any(n.startswith("добавлена итоговая запись") for n in notes), notes
    assert any("этап orpo использует тот же ранг, что и sft: r=12" in n for n in notes), notes
    assert not any(n.startswith(("a final write", "stage ")) for n in notes), notes
    english = _outcome(world, "SFT on {sft} on layers 3 to 8, rank 12, then ORPO on the same layers, to {out}")
    assert any(n.startswith("a final write was added") for n in english.plan.notes)


def test_a_full_fine_tune_carried_to_the_next_stage_is_said(world: dict[str, str]) -> None:
    """'полное дообучение SFT без LoRA, потом DPO': the DPO is a full fine-tune too, and the notes say so."""
    outcome = _outcome(world, "полное дообучение SFT на {sft} без LoRA, потом DPO на {dpo}")
    assert outcome.plan is not None, outcome.question
    assert [s.adapter for s in outcome.plan.stages if s.kind != "write"] == ["none", "none"]
    assert "этап dpo — тоже полное дообучение, как и sft." in outcome.plan.notes


def test_a_shard_size_taken_back_for_one_file_is_not_planned(world: dict[str, str]) -> None:
    """'2GB shards no actually one file' wrote 2GB shards, and the echo said so (red-team pass 31a)."""
    outcome = _outcome(world, "SimPO on {dpo}, then save as one file, 2GB shards no actually one file")
    assert outcome.plan is not None, outcome.question
    assert outcome.plan.stages[-1].kind == "write" and outcome.plan.stages[-1].max_shard_size != "2GB"
    assert any("2gb shards" in note and "one file" in note for note in outcome.notes + outcome.plan.notes)


@pytest.mark.parametrize(
    "goal",
    [
        "merge {partner} into ours with ties, density 0.5, ours weight 1 theirs 0.5",
        "сделай мерж моделей методом dare_linear с {partner}, 40% моей и 60% его",
        "объедини с {partner} методом dare_ties плотность 0.5 вес 0.5 у обоих",
    ],
)
def test_a_weight_on_a_task_vector_merges_base_is_refused(world: dict[str, str], goal: str) -> None:
    """These planned the base as a member with its weight; mergekit ignores that weight (tests/
    test_merge_models_fidelity.py), so the plan was not what would run."""
    with pytest.raises(GraftError, match=r"no weight|не даёт самой базе веса"):
        _outcome(world, goal)


def test_a_weight_on_the_base_of_a_ties_merge_is_asked_about(world: dict[str, str]) -> None:
    """'merge MODEL with A and B using ties: base 50%, A 30%, the rest B': mergekit gives a TIES base no weight, so
    the plan that had the base as a member at 0.5 (with a note saying it was no member) ran something else."""
    goal = "merge {model} with {partner} and {partner2} using ties: base 50%, {partner} 30%, the rest {partner2}"
    asked = _outcome(world, goal)  # asked before planning: "base 50%" is a weight for the reference itself
    assert asked.plan is None and "mergekit gives the base no weight" in (asked.question or "")
    linear = _outcome(world, goal.replace("using ties", "linear"))
    assert linear.plan is not None, linear.question
    assert next(s for s in linear.plan.stages if s.kind == "merge_models").weights == [0.5, 0.3, 0.2]


def test_not_sharded_and_int8_mask_are_said_back(world: dict[str, str]) -> None:
    """'not sharded' kept the 5GB shard size without a word; a pasted 'int8_mask: true' vanished from the review."""
    outcome = _outcome(world, "sft on {sft}, write to {out}/ModelV2 in bf16, not sharded")
    assert outcome.plan is not None, outcome.question
    assert any(n.startswith("one file:") for n in outcome.plan.notes), outcome.plan.notes
    config = (
        "models:\n  - model: {model}\n  - model: {partner}\n    parameters:\n      weight: 0.4\n"
        "  - model: {partner2}\n    parameters:\n      weight: 0.3\nmerge_method: dare_ties\nbase_model: {model}\n"
        "parameters:\n  int8_mask: true\ndtype: bfloat16"
    )
    merged = _outcome(world, config)
    assert merged.plan is not None, merged.question
    assert any(n.startswith("int8_mask:") for n in merged.plan.notes), merged.plan.notes
    for said in ("ties merge {partner} and {partner2} on {model}, density 0.5, with int8 mask",
                 "ties слияние {partner} и {partner2} на {model}, маска в int8"):  # fmt: skip
        worded = _outcome(world, said)  # (pass 61a: in words it was only "read as a description: mask")
        assert worded.plan is not None, worded.question
        assert any(n.startswith("int8_mask:") for n in worded.plan.notes), worded.plan.notes
        assert not any("mask" in n or "маск" in n for n in worded.plan.notes if "description" in n or "описание" in n)


@pytest.mark.parametrize(
    "goal", ["ties базы с {partner}, нашей дай вес 0.4", "ties merge of ours + {partner}, give ours weight 0.5 too"]
)
def test_a_weight_on_the_base_of_a_task_vector_merge_is_refused(world: dict[str, str], goal: str) -> None:
    """Pass 51a: «нашей дай вес 0.4» had moved the base's weight to the partner."""
    with pytest.raises(GraftError, match=r"0\.[45]"):
        _outcome(world, goal)


def test_a_folder_short_name_is_read_and_the_plan_records_the_goal_as_written(world: dict[str, str]) -> None:
    """«3:1 в пользу B» with "B ({partner})": B is the folder for every reader, and the plan's goal (its provenance)
    is the person's own text, not the text with B replaced."""
    goal = "мердж с B ({partner}) 3:1 в пользу B".format(**world)
    outcome = _outcome(world, "мердж с B ({partner}) 3:1 в пользу B")
    assert outcome.plan is not None, outcome.question
    assert outcome.plan.goal == goal
    merge = next(s for s in outcome.plan.stages if s.kind == "merge_models")
    assert dict(zip(merge.models, merge.weights, strict=True)) == pytest.approx({"@base": 0.25, world["partner"]: 0.75})
    assert not check_plan_against_goal(goal, outcome.plan)  # the check, as the LLM planner's plans meet it, agrees


def test_a_refused_technique_is_asked_about_once(world: dict[str, str]) -> None:
    """«QLoRA 4 бита»: the 4 is part of the refused technique, not a second question about a number."""
    with pytest.raises(GraftError) as refused:
        outcome = _outcome(world, "QLoRA 4 бита на {sft}")
        raise GraftError(outcome.question or "planned")
    assert "qlora" in str(refused.value).lower()
    assert "4," not in str(refused.value) and "написали 4" not in str(refused.value)


@pytest.mark.parametrize(
    ("goal", "line"),
    [
        ("LoRA on {sft} applied to all linear layers, r 16", "all linear modules"),
        ("Обучи LoRA на {sft} на всех линейных слоях, ранг 32", "все линейные модули"),
        ("Merge {partner} into {model} with slerp, t = 0.7", "t 0.7 — merged as: base 0.3, partner 0.7"),
        ("слей {partner} с {partner2} через slerp t=0.3", "t 0.3 — в слиянии: partner 0.7, partner2 0.3"),
    ],
)
def test_the_review_says_what_all_linear_and_t_became(world: dict[str, str], goal: str, line: str) -> None:
    """'all linear layers' is Graft's default targets, and t is the second model's share: both are said back, so the
    person sees which model gets t before approving (pass 59b: neither was shown)."""
    outcome = _outcome(world, goal)
    assert outcome.plan is not None, outcome.question
    assert line in outcome.facts, outcome.facts
