"""A Russian goal gets the plan's notes and the review's "from your goal:" lines in Russian.

Each note shape the planners, the fact reader and the plan check emit has its Russian form in
agent/question_language.py (NOTE_SHAPES); each fact line fact_echo builds (Fact.describe() and its suffixes)
has one in FACT_FORMS. Paths, numbers and quoted goal text are kept as written; an English goal sees the
English text unchanged, and a sentence with no Russian form stays in English rather than being guessed at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.goal_facts import fact_echo
from agent.offline_planner import plan_offline
from agent.planner import PlanRequest
from agent.question_language import facts_in_language, notes_in_language
from tools.tiny_data import dpo_rows, sft_rows, write_jsonl

RU = "дообучи модель на данных"
EN = "fine-tune the model on the data"

NOTES = [
    ("you said 'drop k'; k is left out of the modules.", "вы сказали «drop k»; k исключён из модулей."),
    ("slerp's t is the second model's share: 1 and 1 give t 0.5.", "t у slerp — доля второй модели: 1 и 1 дают t 0.5."),
    ("../c is left out of the merge, as you said.", "../c не участвует в слиянии, как вы сказали."),
    ("'skip the sft': the SFT stage said before it is left out.", "«skip the sft»: этап SFT, названный раньше, убран из плана."),
    ("base takes the rest of the merge: 0.75 (you gave partner 0.25).",
     "base получает остаток слияния: 0.75 (вы дали partner 0.25)."),
    ("no merge method was named; a blend in the shares you gave is a linear merge (say ties or slerp for another).",
     "метод слияния не назван; смешивание в указанных долях — это линейное слияние (для другого метода скажите ties "
     "или slerp)."),
    # agent/offline_planner.py
    ("phi3 fuses query, key and value in qkv_proj; the adapter targets all of qkv_proj.",
     "phi3 объединяет query, key и value в qkv_proj; адаптер обучает qkv_proj целиком."),
    ("the dpo stage uses data/a.jsonl, the first dpo-shaped dataset given; name another in the goal to change it.",
     "этап dpo обучается на data/a.jsonl — первом из указанных датасетов формата dpo; чтобы взять другой, назовите "
     "его в цели."),
    ("QLoRA's 4-bit base is not supported here; the stage trains a plain LoRA.",
     "4-битная база QLoRA здесь не поддерживается; этап обучает обычную LoRA."),
    ("stage sft: full fine-tuning has no rank or alpha; those were dropped.",
     "этап sft: у полного дообучения нет ранга и альфы, они убраны."),
    ("the adapter trained in this plan is folded in before the adapters from disk.",
     "адаптер, обученный в этом плане, вливается раньше адаптеров с диска."),
    ("no merge method was named; TIES was chosen (say linear, slerp or dare_ties for another).",
     "метод слияния не назван; выбран TIES (для другого метода скажите linear, slerp или dare_ties)."),
    ("no merge method was named; a blend with the starting model is a linear merge (say ties or slerp for another).",
     "метод слияния не назван; смешивание с исходной моделью — это линейное слияние (для другого метода скажите ties "
     "или slerp)."),
    ("a second fine-tune (sft-2) on ../other.jsonl starts from the base, to merge with.",
     "второе дообучение (sft-2) на ../other.jsonl начинается с базовой модели — для слияния с ней."),
    ("models/anc is the merge's base (the reference its task vectors are taken from).",
     "models/anc — база слияния (векторы задач берутся относительно неё)."),
    ("weights 0.75 and 0.25 from '3 к 1' (mergekit normalises them).", "веса 0.75 и 0.25 из «3 к 1» (mergekit их нормирует)."),
    ("the base keeps the rest of the linear merge: 0.7 to the base, 0.3 to the model merged into it.",
     "база получает остаток линейного слияния: 0.7 — базе, 0.3 — вливаемой в неё модели."),
    ("the merge's members are listed as you named them: base, ../b.",
     "участники слияния идут в том порядке, в каком вы их назвали: base, ../b."),
    ("the adapters are folded one after another, each onto the model the previous one made: a/ad → b/ad.",
     "адаптеры вливаются по очереди, каждый — в модель, полученную после предыдущего: a/ad → b/ad."),
    ("the adapters' deltas are summed (PEFT's 'cat' combination, exact); say TIES, linear or SVD for another.",
     "дельты адаптеров суммируются (комбинация 'cat' из PEFT, точная); для другой комбинации скажите TIES, linear или "
     "SVD."),
    ("changed after your feedback (ранг поменьше (8)): r.", "изменено по вашему отзыву (ранг поменьше (8)): r."),
    ("your feedback (не нравится) named nothing the offline planner can change; the plan is the same.",
     "в вашем отзыве (не нравится) нет ничего, что офлайн-планировщик может изменить; план прежний."),
    ("the base is a pickle checkpoint; it is converted to safetensors first (without unpickling code).",
     "база — чекпоинт pickle; сначала она конвертируется в safetensors (без выполнения кода из pickle)."),
    ("'merge the adapter' came before any adapter was trained; it was skipped.",
     "слияние адаптера указано раньше, чем обучен какой-либо адаптер; этот шаг пропущен."),
    ("my-model (the name you gave) is where the final model is written, in the current folder.",
     "итоговая модель записывается в my-model (данное вами имя) в текущей папке."),
    ("stage dpo uses the same rank as sft: r=8.", "этап dpo использует тот же ранг, что и sft: r=8."),
    ("stage dpo uses the same rank as sft: r=64 and alpha 128.",
     "этап dpo использует тот же ранг, что и sft: r=64 и альфу 128."),
    # agent/goal_layers.py
    ("'с 3 слоя': layers 2-11 (ordinal layers are counted from 1).",
     "«с 3 слоя»: слои 2-11 (порядковые номера слоёв считаются с 1)."),
    ("'каждый второй слой': layers 0, 2, 4 (every 2, from 0).", "«каждый второй слой»: слои 0, 2, 4 (каждый 2-й, начиная с 0)."),
    ("'нечётные слои': the odd indices, counted from 0: 1, 3.", "«нечётные слои»: нечётные индексы, считая с 0: 1, 3."),
    ("layers counted from 1, as you said: 'слоях с 1 по 4' is layers 0, 1, 2, 3.",
     "слои считаются с 1, как вы сказали: «слоях с 1 по 4» — это слои 0, 1, 2, 3 (Graft считает с 0)."),
    ("'layers[2:6:2]': a Python slice, layers 2, 4.", "«layers[2:6:2]»: срез Python, слои 2, 4."),
    ("'со слоя 5': layers 5-11.", "«со слоя 5»: слои 5-11."),
    ("ordinal layers are counted from 1 (the second layer is index 1).",
     "порядковые номера слоёв считаются с 1 (второй слой — индекс 1)."),
    # agent/goal_facts.py: corrected_text
    ("you took back 'SFT на chat.jsonl'; only what follows it is planned.",
     "вы отменили «SFT на chat.jsonl»; в план вошло только то, что сказано после."),
    ("you said 'q_proj, k_proj', then corrected it; the correction was taken.",
     "вы указали «q_proj, k_proj», затем исправили; взято исправление."),
    ("schedule: you said linear, then cosine; the correction was taken.",
     "расписание: вы указали linear, затем cosine; взято исправление."),
    ("held-out share 0.1: you said 0.2, then 0.1; the correction was taken.",
     "доля валидации 0.1: вы указали 0.2, затем 0.1; взято исправление."),
    ("DPO: you said ipo, then dpo; the correction was taken.", "DPO: вы указали ipo, затем dpo; взято исправление."),
    ("rank 16: you said 64, then 16; the correction was taken.", "ранг 16: вы указали 64, затем 16; взято исправление."),
    # agent/validate.py
    ("base/model.bin is a pickle checkpoint: stages after convert are checked against its config; module names, "
     "shapes and estimates are checked on the converted files when the plan runs.",
     "base/model.bin — чекпоинт pickle: этапы после convert проверяются по его конфигу; имена модулей, формы и оценки "
     "проверяются на сконвертированных файлах при запуске плана."),
    ("stage sft: plain-text rows have no prompt, so every token carries loss; give messages or prompt/completion rows "
     "to train on the replies only.",
     "этап sft: у строк с простым текстом нет промпта, поэтому лосс идёт по каждому токену; чтобы обучать только на "
     "ответах, дайте строки messages или prompt/completion."),
    ("stage sft: packing fills each of the 4 sequences of a step up to max_length: up to 4,096 tokens (about 40 rows) "
     "per step, against 4 rows (about 410 tokens) unpacked; packed rows do not attend to each other (checked on the "
     "model before training).",
     "этап sft: упаковка заполняет каждую из 4 последовательностей шага до max_length: до 4,096 токенов (около 40 "
     "строк) за шаг против 4 строк (около 410 токенов) без упаковки; упакованные строки не видят друг друга "
     "(проверено на модели перед обучением)."),
    ("stage sft: LoRA scale alpha/r = 8/16 = 0.5 (2 is the usual); the adapter's update is multiplied by it.",
     "этап sft: масштаб LoRA alpha/r = 8/16 = 0.5 (обычно 2); обновление адаптера умножается на него."),
    ("stage sft: too few rows to hold any out; no eval loss will be measured.",
     "этап sft: слишком мало строк, чтобы отложить часть на валидацию; eval loss измеряться не будет."),
    ("stage sft: 4 GPUs with no strategy named; FSDP will be used.",
     "этап sft: 4 GPU, а стратегия не названа; будет использован FSDP."),
    ("stage dpo: the adapter from sft is folded in before DPO, so its reference is the fine-tuned model.",
     "этап dpo: адаптер из sft вливается перед DPO, поэтому его референс — дообученная модель."),
    ("stage orpo: the adapter from sft is folded in before ORPO (reference-free: no reference model is loaded).",
     "этап orpo: адаптер из sft вливается перед ORPO (без референса: референсная модель не загружается)."),
    ("stage write: the adapter from dpo is folded in before writing.", "этап write: адаптер из dpo вливается перед записью."),
    ("out/m already exists: Graft will ask before replacing it.", "out/m уже существует: Graft спросит, прежде чем заменить."),
    ("'ours' beside the trained result is the model it started from (the opened model).",
     "«наша» рядом с результатом обучения — модель, с которой оно началось (открытая модель)."),
    ("../c + (task vector) is run as task arithmetic over the base with ../c as a member at weight 1: base + (../c - base)"
     " + (vector) is the same model.",
     "../c + (вектор задачи) выполняется как арифметика задач над базой, где ../c — участник с весом 1: база + (../c -"
     " база) + (вектор) — та же модель."),
]  # fmt: skip

FACTS = [
    ("weight 0.4 for ours, the rest split evenly", "вес 0.4 для ours, остальное поровну"),
    ("an SFT stage", "этап SFT"),
    ("rank 16", "ранг 16"),
    ("learning rate 0.0001 — SFT stage", "скорость обучения 0.0001 — этап SFT"),
    ("rank 16 (you said 64, then 16)", "ранг 16 (вы указали 64, затем 16)"),
    ("learning rate 2.5e-05 (0.5 × Graft's default 5e-05) — dpo stage",
     "скорость обучения 2.5e-05 (0.5 × значение Graft по умолчанию 5e-05) — этап dpo"),
    ("beta 0.2 — NOT in the plan", "бета 0.2 — НЕТ в плане"),
    ("epochs 3 — every training stage", "эпохи 3 — все этапы обучения"),
    ("dataset data/chat.jsonl — DPO stage", "датасет data/chat.jsonl — этап DPO"),
    ("not dataset data/old.jsonl", "не датасет data/old.jsonl"),
    ("path ../partner", "путь ../partner"),
    ("weights 0.3, 0.7", "веса 0.3, 0.7"),
    ("weights 0.3, 0.7 (from '30/70')", "веса 0.3, 0.7 (из «30/70»)"),
    ("weights 0.25, 0.75 — merged as: partner 0.25, base 0.75", "веса 0.25, 0.75 — в слиянии: partner 0.25, base 0.75"),
    ("learning rate 2e-05 (said for both stages) — every training stage",
     "скорость обучения 2e-05 (указано для обоих этапов) — все этапы обучения"),
    ("layers 0, 1, 2 ('первые три слоя')", "слои 0, 1, 2 («первые три слоя»)"),
    ("ties merge", "слияние ties"),
    ("merge method dare_ties", "метод слияния dare_ties"),
    ("output out/model", "результат в out/model"),
    ("bfloat16 output", "результат в bfloat16"),
    ("shards of at most 2GB", "шарды не больше 2GB"),
    ("effective batch 32 (batch × accumulation)", "эффективный батч 32 (батч × накопление)"),
    ("IPO (DPO loss) — NOT in the plan", "IPO (лосс DPO) — НЕТ в плане"),
    ("full fine-tuning (no adapter)", "полное дообучение (без адаптера)"),
    ("attention modules", "модули attention"),
    ("not mlp modules", "без модулей mlp"),
    ("module q_proj — SFT stage", "модуль q_proj — этап SFT"),
    ("module not o_proj", "без модуля o_proj"),
    ("PPO (not run by Graft) — NOT in the plan", "PPO (Graft это не запускает) — НЕТ в плане"),
    ("the same settings as the stage before", "те же настройки, что на предыдущем этапе"),
    ("no sequence packing", "без упаковки последовательностей"),
    ("gradient checkpointing", "чекпоинтинг градиентов"),
    ("warmup 0.1 of the total steps (warmup_steps below 1 is a ratio)",
     "прогрев 0.1 от всех шагов (warmup_steps меньше 1 — это доля)"),
    ("weight 0.75 for ../b, 0.25 for the other member", "вес 0.75 для ../b, 0.25 для другой модели"),
    ("SimPO gamma 0.5 — SimPO stage", "гамма SimPO 0.5 — этап SimPO"),
    ("held-out share 0", "доля валидации 0"),
    ("density 0.5", "плотность 0.5"),
    ("'та же скорость, что у SFT'", "«та же скорость, что у SFT»"),
    ("DPO", "DPO"),
    ("ZeRO-3 — NOT in the plan", "ZeRO-3 — НЕТ в плане"),
]  # fmt: skip


@pytest.mark.parametrize(("english", "russian"), NOTES, ids=[e[:40] for e, _ in NOTES])
def test_note_in_russian_for_a_russian_goal(english: str, russian: str) -> None:
    assert notes_in_language([english], RU) == [russian]
    assert notes_in_language([english], EN) == [english]


@pytest.mark.parametrize(("english", "russian"), FACTS, ids=[e for e, _ in FACTS])
def test_fact_line_in_russian_for_a_russian_goal(english: str, russian: str) -> None:
    assert facts_in_language([english], RU) == [russian]
    assert facts_in_language([english], EN) == [english]


def test_joined_layer_notes_are_each_translated() -> None:
    """goal_layers joins the notes of several selections with a space: each sentence keeps its own form."""
    joined = (
        "'первую половину' of 12 layers is 6 layers. ordinal layers are counted from 1 (the second layer is index 1)."
    )
    assert notes_in_language([joined], RU) == [
        "«первую половину» из 12 слоёв — это 6 слоёв. порядковые номера слоёв считаются с 1 (второй слой — индекс 1)."
    ]


def test_unknown_text_stays_english() -> None:
    """No guessing: a sentence or fact with no Russian form is shown as written."""
    note = "something the planners never said before."
    assert notes_in_language([note], RU) == [note]
    for line in ("frobnication level 3", "frobnication level 3 — NOT in the plan"):
        assert facts_in_language([line], RU) == [line]


# ---- the real planner on Russian goals: no note or fact line left in English ----

ENGLISH_RUN = re.compile(r"\b[A-Za-z][a-z]+(?:[ ,]+[A-Za-z][a-z]+){2,}\b")  # 3+ English words (not SFT/LoRA/DPO)


def _english_left(text: str) -> list[str]:
    bare = re.sub(r"\S*/\S*|«[^»]*»|'[^']*'", " ", text)  # paths and quoted goal text are kept as written
    return ENGLISH_RUN.findall(bare)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    import shutil

    from tools.tiny import TinyModelArgs, build_tiny_model

    root = tmp_path_factory.mktemp("note_language")
    model = root / "base"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(model), num_layers=4))
    shutil.copytree(model, root / "partner")
    return {
        "model": str(model),
        "partner": str(root / "partner"),
        "chat": str(write_jsonl(Path(root / "chat.jsonl"), sft_rows(8))),
        "prefs": str(write_jsonl(Path(root / "prefs.jsonl"), dpo_rows(8))),
        "out": str(root / "out"),
    }


RUSSIAN_GOALS = [
    "SFT на {chat} с рангом 8, потом DPO на {prefs} с бетой 0.2, слей и сохрани в {out}",
    "дообучи LoRA на {chat} с рангом 64, нет, 16, lr 1e-4, 2 эпохи, первые два слоя",
    "SFT на {chat}, потом ORPO на {prefs}, слей с {partner} через TIES с весами 0.3 и 0.7",
    "дообучи на {chat} все слои кроме последнего, dropout 0.1, warmup 0.1, без чекпоинтинга",
    "сначала дообучи внимание с DoRA, потом IPO, в конце один файл в {out}",  # README's example: the DoRA carry note
]


@pytest.mark.parametrize("goal", RUSSIAN_GOALS)
def test_planner_notes_and_facts_in_russian(world: dict[str, str], goal: str) -> None:
    goal = goal.format(**world)
    outcome = plan_offline(PlanRequest(goal=goal, model=world["model"], data=[world["chat"], world["prefs"]]))
    assert outcome.plan is not None, outcome.question
    echo = fact_echo(goal, outcome.plan, 4)
    facts = facts_in_language(echo, goal)
    assert [
        e for e, r in zip(echo, facts, strict=True) if e == r and " " in e
    ] == []  # only a lone name ("DPO") reads the same
    report = outcome.report.notes if outcome.report else []
    shown = [*outcome.notes, *outcome.plan.notes, *facts, *notes_in_language(report, goal)]
    assert outcome.notes and facts
    left = {line: _english_left(line) for line in shown if _english_left(line)}
    assert not left, left


@pytest.mark.parametrize(
    ("goal", "russian"),
    [
        ("сохрани в int8", True),  # one Russian word and only terms: the person writes Russian
        ("экспортируй в gguf q4_k_m", True),
        ("SFT на data.jsonl", True),
        ("SFT на data.jsonl с NEFTune", True),  # a method's name is a term, not an English word
        ("DPO на prefs.jsonl через rsLoRA", True),
        ("save it to ./out, пожалуйста", False),  # English words besides the one Russian word
        ("SFT then DPO", False),
    ],
)
def test_a_goal_of_one_russian_word_and_terms_is_answered_in_russian(goal: str, russian: bool) -> None:
    from agent.question_language import wants_russian

    assert wants_russian(goal) is russian


@pytest.mark.parametrize(
    ("english", "russian"),
    [
        ("The plan has an SFT stage, and the goal asks for no fine-tuning; should it?", "В плане есть этап SFT"),
        ("The plan merges models, and the goal asks for no merge; should it?", "План сливает модели"),
        ("You wrote 'побольше партнера'; by how much? Say the share (e.g. 0.7) or SLERP's t.", "насколько больше"),
        (
            "You asked for 'без нормализации' (a merge without weight normalisation: Graft's linear, TIES and DELLA "
            "merges normalise the weights (mergekit's default)). Go on without it, or change the goal?",
            "без нормализации весов",
        ),
        (
            "You wrote 'merge with b 70/30, heavier on b', and Graft did not read whose share is bigger; which weight "
            "goes to which model (base, b)?",
            "чья доля больше",
        ),
        (
            "You wrote 'все три', and the plan's merge has a different number of models (merge: 2); which models "
            "should it merge?",
            "другое число моделей (merge: 2)",
        ),
    ],
)
def test_plan_check_questions_in_russian(english: str, russian: str) -> None:
    """A Russian goal got 'The plan has an SFT stage, and the goal asks for no fine-tuning' in English (pass 27b)."""
    from agent.question_language import in_language

    asked = in_language(english, RU)
    assert russian in asked and not _english_left(asked), asked
