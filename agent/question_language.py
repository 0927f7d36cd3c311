"""Questions back to the person in the language of their goal: a Russian goal gets its questions in Russian.

The planners and the fact check compose questions in English from fixed sentence shapes; each shape
has its Russian form here, and the parts taken from the goal (quoted words, paths, numbers) are kept
as they were written. A sentence with no Russian form stays in English rather than being guessed at.
"""

from __future__ import annotations

import re

SLOT_WORDS_RU = {
    "rank": "ранг", "alpha": "альфа", "dropout": "дропаут", "epochs": "эпохи", "steps": "шаги",
    "learning rate": "скорость обучения", "beta": "бета", "batch size": "размер батча", "max length": "макс. длина",
    "gradient accumulation": "накопление градиента", "warmup": "прогрев", "weight decay": "затухание весов",
    "label smoothing": "сглаживание меток", "seed": "сид", "gradient clipping norm": "клиппинг градиента",
    "held-out share": "доля валидации", "GPU count": "число GPU", "settings": "настройки", "layers": "слои",
}  # fmt: skip


def wants_russian(goal: str) -> bool:
    """Two or more Russian words outside paths and quotes: the person writes in Russian."""
    text = re.sub(r"\S*/\S*|'[^']*'|\"[^\"]*\"", " ", goal)
    return len(re.findall(r"[а-яё]{2,}", text.lower())) >= 2  # "SFT на data с небольшим лр" is Russian


def _slot(words: str) -> str:
    return SLOT_WORDS_RU.get(words, words)


def _fact(text: str) -> str:
    """'learning rate 0.0001' → 'скорость обучения 0.0001'."""
    for en, ru in sorted(SLOT_WORDS_RU.items(), key=lambda kv: -len(kv[0])):
        if text.startswith(en + " "):
            return ru + text[len(en) :]
    return text


# why a technique is not run (agent/goal_settings.TECHNIQUES), as the Russian question says it
WHY_RU = {
    "quantised training (QLoRA): Graft trains the adapter on the unquantised weights":
        "обучение на квантованной модели (QLoRA): Graft обучает адаптер на неквантованных весах",
    "a PEFT method or initialisation Graft does not run: it trains LoRA or DoRA, initialised as PEFT's default":
        "метод или инициализация PEFT, которых Graft не делает: он обучает LoRA или DoRA с инициализацией PEFT по умолчанию",
    "the training precision: Graft trains in bf16 on a CUDA GPU that supports it and in fp32 on CPU":
        "точность обучения: Graft обучает в bf16 на GPU с CUDA, где она есть, и в fp32 на CPU",
    "an adapter as the result: Graft's last stage writes one merged model (each trained adapter stays in the run folder)":
        "адаптер как результат: последний этап Graft записывает одну слитую модель (каждый обученный адаптер остаётся "
        "в папке запуска)",
    "a subset of the rows: Graft trains on every row of the dataset file (cut the file to those rows first)":
        "часть строк: Graft обучает на всех строках файла (сначала оставьте в файле только нужные строки)",
    "loss on the prompt tokens: Graft's SFT puts the loss on the replies only (TRL's completion-only loss)":
        "лосс на токенах промпта: SFT в Graft считает лосс только по ответам (completion-only loss из TRL)",
    "training the embeddings or the LM head: Graft's LoRA adapts the linear projections only":
        "обучение эмбеддингов или LM head: LoRA в Graft адаптирует только линейные проекции",
    "reference-free preference training: Graft's DPO keeps the frozen starting model as the reference":
        "обучение предпочтениям без референса: DPO в Graft держит замороженную исходную модель как референс",
    "a chat template: Graft formats rows with the tokenizer's own template":
        "шаблон чата: Graft форматирует строки собственным шаблоном токенизатора",
    "which side is truncated: Graft keeps TRL's default": "с какой стороны обрезать: Graft оставляет умолчание TRL",
    "a logging/saving/eval interval: Graft logs every step, evaluates before and after, and saves each stage once":
        "интервал логов/сохранений/оценки: Graft пишет лог каждый шаг, оценивает до и после и сохраняет каждый этап "
        "один раз",
    "a kernel choice: Graft uses the model's default attention": "выбор ядра: Graft использует внимание модели по умолчанию",
    "an optimiser: Graft trains with AdamW": "оптимизатор: Graft обучает с AdamW",
    "a vision or audio part: Graft adapts a language model's own linear layers":
        "визуальная или аудиочасть: Graft адаптирует только линейные слои самой языковой модели",
    "an evaluation: Graft trains, merges and writes; it runs no benchmarks":
        "оценка: Graft обучает, сливает и записывает модель; бенчмарков он не запускает",
    "NEFTune noise: Graft's trainer adds none": "шум NEFTune: тренер Graft его не добавляет",
    "a quantised output: Graft writes float32, bfloat16 or float16 safetensors": (
        "квантованный результат: Graft записывает safetensors в float32, bfloat16 или float16"
    ),
    "an adapter folded in at a scale: Graft folds each adapter in at the scale it was trained with (alpha / r)": (
        "адаптер, влитый с множителем: Graft вливает каждый адаптер с тем масштабом, с каким он обучен (alpha / r)"
    ),
    "LongLoRA (shifted sparse attention): Graft trains plain LoRA or DoRA": (
        "LongLoRA (сдвинутое разреженное внимание): Graft обучает обычную LoRA или DoRA"
    ),
    "fp8: Graft trains in bf16 (CUDA) or fp32 and writes float32, bfloat16 or float16": (
        "fp8: Graft обучает в bf16 (CUDA) или fp32 и записывает float32, bfloat16 или float16"
    ),
    "a separate reference model: Graft's preference stages take the model the stage starts from as their reference": (
        "отдельная референсная модель: этапы предпочтений в Graft берут референсом модель, с которой начинается этап"
    ),
    "a training schedule Graft does not run": "режим обучения, которого Graft не делает",
    "serving the model: Graft writes a safetensors folder (and `graft export --as gguf` a llama.cpp file); loading it "
    "into a server is that tool's step":
        "запуск модели на сервере: Graft записывает папку safetensors (а `graft export --as gguf` — файл для llama.cpp); "
        "загрузка в сервер — шаг самого этого инструмента",
    "an upload: Graft writes to your disk and never sends weights anywhere":
        "выгрузка: Graft пишет на ваш диск и никуда не отправляет веса",
}  # fmt: skip

SHAPES: list[tuple[str, object]] = [
    (
        r"You said '(?P<x>.+?)'; Graft runs DeepSpeed as ZeRO-3 and FSDP as FSDP2 \(tools/distributed\.py\)\. Go on with "
        r"that, or drop the multi-GPU setting\?",
        lambda m: (
            f"Вы указали «{m['x']}»; Graft запускает DeepSpeed как ZeRO-3, а FSDP как FSDP2 (tools/distributed.py). "
            "Продолжить так или убрать настройку нескольких GPU?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)'; Graft numbers layers from 0 \(the first layer is layer 0\)\. Which layers, counted "
        r"from 0\?",
        lambda m: (
            f"Вы написали «{m['x']}»; Graft нумерует слои с 0 (первый слой — слой 0). Какие слои, если считать с 0?"
        ),
    ),
    (
        r"You said gamma (?P<x>\S+) for the merge; Graft's merges take no gamma \(mergekit's breadcrumbs gamma is left at "
        r"its default\)\. Drop it, or say what it should change\?",
        lambda m: (
            f"Вы указали gamma {m['x']} для слияния; слияния Graft не принимают gamma (gamma метода breadcrumbs в "
            "mergekit остаётся по умолчанию). Убрать её или сказать, что она должна изменить?"
        ),
    ),
    (
        r"Graft does not do '(?P<x>.+?)': it trains \(SFT, DPO, ORPO, SimPO, KTO\), merges and writes float32, bfloat16 "
        r"or float16 safetensors\. Go on without it, or change the goal\?",
        lambda m: (
            f"Graft не делает «{m['x']}»: он обучает (SFT, DPO, ORPO, SimPO, KTO), сливает и записывает safetensors в "
            "float32, bfloat16 или float16. Продолжить без этого или изменить цель?"
        ),
    ),
    (
        r"Graft writes float32, bfloat16 or float16 safetensors; '(?P<x>.+?)' would need quantisation, which Graft does "
        r"not do\. Write one of those, or train or merge something first\?",
        lambda m: (
            f"Graft записывает safetensors в float32, bfloat16 или float16; для «{m['x']}» нужна квантизация, которой "
            "Graft не делает. Записать в одном из этих форматов или сначала что-то обучить или слить?"
        ),
    ),
    (
        r"Graft does not merge with (?P<x>\S+) \(a mergekit method it does not run; its merges are (?P<m>[^)]+)\)\. "
        r"Which of those should it be\?",
        lambda m: (
            f"Graft не сливает методом {m['x']} (этот метод mergekit он не запускает; его методы: {m['m']}). "
            "Какой из них взять?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)', and those weights do not name each model of the merge \((?P<m>.+?)\) once; "
        r"which weight goes to which model\?",
        lambda m: (
            f"Вы написали «{m['x']}», но эти веса не называют каждую модель слияния ({m['m']}) ровно один раз; "
            "какой вес какой модели?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)': a ratio of weights, which fixes the merge only where the weights are normalised "
        r"\(linear, TIES, DELLA over two models\); which weight should each model get\?",
        lambda m: (
            f"Вы написали «{m['x']}»: это соотношение весов, а оно задаёт слияние, только когда веса нормируются "
            "(linear, TIES, DELLA для двух моделей); какой вес дать каждой модели?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)' for a stage after another one, and nothing merges the two results; "
        r"should it continue from the stage before it, or be merged with it \(and how\)\?",
        lambda m: (
            f"Вы написали «{m['x']}» для этапа после другого, но ничто не сливает два результата; продолжить с "
            "результата предыдущего этапа или слить их (и как)?"
        ),
    ),
    (
        r"You wrote (?P<x>.+?), and the plan does not say what it is for; did you mean (?P<g>.+?)\?",
        lambda m: (
            f"Вы написали {m['x']}, но в плане не сказано, к чему это относится; вы имели в виду {_fact(m['g'])}?"
        ),
    ),
    (
        r"You wrote (?P<x>.+?), and the plan does not say what it is for; which setting is it\?",
        lambda m: f"Вы написали {m['x']}, но в плане не сказано, к чему это относится; какая это настройка?",
    ),
    (
        r"You named the model '(?P<x>.+?)'; Graft trains the model you opened and downloads none\. Is the opened model "
        r"the one you mean, or should you open that model's folder instead\?",
        lambda m: (
            f"Вы назвали модель «{m['x']}»; Graft обучает открытую модель и ничего не скачивает. Это та модель, "
            "которую вы имели в виду, или нужно открыть папку той модели?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)'; Graft does not know that recipe's settings, so every value you did not say would "
        r"be Graft's default\. Which values should the plan take from it\?",
        lambda m: (
            f"Вы написали «{m['x']}»; Graft не знает настроек этого рецепта, и всё, что вы не указали, будет "
            "значением Graft по умолчанию. Какие значения взять из него?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)', and no merge weight in the plan is negative; which model's task vector should be "
        r"subtracted, and with what weight\?",
        lambda m: (
            f"Вы написали «{m['x']}», но ни один вес слияния в плане не отрицательный; вектор задачи какой модели "
            "вычесть и с каким весом?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)'; which exact value should the plan use\?",
        lambda m: f"Вы написали «{m['x']}»; какое точное значение поставить в план?",
    ),
    (
        r"You wrote '(?P<x>.+?)', which reads as a correction, but Graft could not tell which value it replaces; "
        r"which value should the plan use\?",
        lambda m: (
            f"Вы написали «{m['x']}» — это похоже на исправление, но Graft не понял, какое значение оно заменяет; "
            "какое значение взять?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)', but the goal states no (?P<w>.+?) for another stage that it could refer to "
        r"\(each stage otherwise gets Graft's own default\)\. Which (?P=w) should the plan use\?",
        lambda m: (
            f"Вы написали «{m['x']}», но в цели не указано значение ({_slot(m['w'])}) для другого этапа, "
            f"на которое это могло бы ссылаться (иначе каждый этап получает значение Graft по умолчанию). "
            f"Какое значение ({_slot(m['w'])}) взять?"
        ),
    ),
    (
        r"You asked for '(?P<x>.+?)' \((?P<why>.+?)\)\. Go on without it, or change the goal\?",
        lambda m: (
            f"Вы попросили «{m['x']}» ({WHY_RU.get(m['why'], m['why'])}). Продолжить без этого или изменить цель?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)'(?: \(an? (?P<src>.+?) setting\))?; Graft's plan has no such setting, so it would not be "
        r"applied\. Drop it, or say what it should change in the plan\?",
        lambda m: (
            f"Вы указали «{m['x']}»"
            + (f" (настройка {m['src']})" if m["src"] else "")
            + "; в плане Graft такой настройки нет, и она не будет применена. Убрать её или сказать, что она должна "
            "изменить в плане?"
        ),
    ),
    (
        r"You said '(?P<x>.+?)' \(layers (?P<l>.+?)\); the plan trains other layers\. Which layers\?",
        lambda m: f"Вы написали «{m['x']}» (слои {m['l']}); план обучает другие слои. Какие слои обучать?",
    ),
    (
        r"You wrote '(?P<x>.+?)', and only part of it was read as layers; which layers should be trained\?",
        lambda m: f"Вы написали «{m['x']}», и только часть этого понята как слои; какие слои обучать?",
    ),
    (
        r"You said (?P<f>[^.;?]+?)(?: and also (?P<o>[^.;?]+?))?; the plan does not use it\. Which value should it be, "
        r"and for which stage\?",
        lambda m: (
            f"Вы указали {_fact(m['f'])}"
            + (f" и ещё {_fact(m['o'])}" if m["o"] else "")
            + "; план это значение не использует. Какое значение и для какого этапа?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)', and Graft did not read what that changes in the plan; say it with a value "
        r"\(or leave it out\)\?",
        lambda m: (
            f"Вы написали «{m['x']}», и Graft не понял, что это меняет в плане; скажите это значением (или уберите)?"
        ),
    ),
    (
        r"You said (?P<f>.+?), and also a full fine-tune, which has no adapter and no rank; a LoRA with that rank, "
        r"or full fine-tuning\?",
        lambda m: (
            f"Вы указали {_fact(m['f'])} и при этом полное дообучение, у которого нет адаптера и ранга; "
            "LoRA с этим рангом или полное дообучение?"
        ),
    ),
    (
        r"You said '(?P<x>.+?)'; the plan does not do that\. Should it\?",
        lambda m: f"Вы написали «{m['x']}»; план этого не делает. Нужно ли?",
    ),
    (
        r"You named (?P<x>\S+), a plain-text file; Graft trains on \.jsonl, \.json, \.csv or \.parquet rows\. "
        r"Put each document in a 'text' field of a \.jsonl file and name that\?",
        lambda m: (
            f"Вы указали {m['x']} — это обычный текстовый файл; Graft обучает на строках .jsonl, .json, .csv или "
            ".parquet. Положите каждый документ в поле 'text' файла .jsonl и укажите его?"
        ),
    ),
    (
        r"You named (?P<x>\S+); the plan does not use it\. What is it for\?",
        lambda m: f"Вы указали {m['x']}; план его не использует. Для чего он?",
    ),
    (
        r"Graft does not run (?P<x>.+?): it trains with SFT, DPO \(and IPO and its other losses\), ORPO, SimPO and KTO\. "
        r"Which of those should the plan use instead, or should that part be left out\?",
        lambda m: (
            f"Graft не запускает {m['x']}: он обучает SFT, DPO (включая IPO и другие лоссы DPO), ORPO, SimPO и KTO. "
            "Что из этого использовать вместо, или убрать эту часть?"
        ),
    ),
    (
        r"Graft does not run (?P<x>.+?) \(it trains with SFT, DPO/IPO, ORPO, SimPO and KTO\)(?P<rest>[.;])",
        lambda m: f"Graft не запускает {m['x']} (он обучает SFT, DPO/IPO, ORPO, SimPO и KTO){m['rest']}",
    ),
    (
        r"What should be done to the model\? Say e\.g\. .+?'merge it with \.\./other-model using TIES'\.",
        lambda m: (
            "Что сделать с моделью? Например: «дообучи LoRA на data.jsonl», «потом DPO на prefs.jsonl» "
            "или «слей с ../other-model через TIES»."
        ),
    ),
    (
        r"You said (?P<a>\S+) comes first; the plan starts with (?P<b>\S+)\. Which stage should run first\?",
        lambda m: f"Вы сказали, что {m['a']} идёт первым, а план начинается с {m['b']}. Какой этап запускать первым?",
    ),
    (
        r"You said (?P<f>.+?) for the (?P<s>\S+) stage; the plan's (?P=s) stage uses (?P<h>.+?)\. Which stage takes "
        r"which (?P<n>.+?)\?",
        lambda m: (
            f"Вы указали {_fact(m['f'])} для этапа {m['s']}, а этап {m['s']} в плане использует {m['h']}. "
            f"Какому этапу какое значение ({_slot(m['n'])})?"
        ),
    ),
    (
        r"(?:You wrote '(?P<w>.+?)': )?(?P<n>\d+) weights? \((?P<v>.+?)\) for a merge of (?P<k>\d+) models \((?P<m>.+?)\); "
        r"which weight goes to which model\?",
        lambda m: (
            (f"Вы написали «{m['w']}»: " if m["w"] else "")
            + f"{m['n']} вес(а) ({m['v']}) для слияния {m['k']} моделей ({m['m']}); какой вес какой модели?"
        ),
    ),
    (
        r"A value read from your goal does not fit the plan \((?P<e>.+?)\) Which value did you mean\?",
        lambda m: f"Значение из вашей цели не подходит плану ({m['e']}). Какое значение вы имели в виду?",
    ),
    (
        r"You named the (?P<r>\S+) modules; the plan's (?P<s>\S+) stage also adapts (?P<x>.+?)\. Which modules should "
        r"it train\?",
        lambda m: f"Вы назвали модули {m['r']}; этап {m['s']} в плане обучает ещё и {m['x']}. Какие модули обучать?",
    ),
    (
        r"Merge with which model\? Name a model folder, 'the base', or a dataset for a second fine-tune\.",
        lambda m: (
            "С какой моделью сливать? Укажите папку модели, «исходную модель» или датасет для второго дообучения."
        ),
    ),
]


REFUSALS: list[tuple[str, object]] = [
    (r"^stage (?P<s>\S+) \((?P<k>\w+)\): ", lambda m: f"этап {m['s']} ({m['k']}): "),
    (
        r"SLERP merges exactly two models; (?P<n>\d+) were given\.",
        lambda m: f"SLERP сливает ровно две модели, а указано {m['n']}.",
    ),
    (
        r"layer (?P<n>\d+) is out of range: (?P<x>.+?) has layers 0-(?P<m>\d+)\.",
        lambda m: f"слоя {m['n']} нет: у {m['x']} слои 0-{m['m']}.",
    ),
    (
        r"(?P<x>\S+) does not exist \(named as a model to merge with\)\.",
        lambda m: f"{m['x']} не существует (указан как модель для слияния).",
    ),
    (
        r"(?P<x>\S+) does not exist \(named in the goal for the (?P<k>\w+) stage\)\.",
        lambda m: f"{m['x']} не существует (указан в цели для этапа {m['k']}).",
    ),
    (
        r"(?P<x>\S+) is not a checkpoint: it holds no \.safetensors, \.bin or \.pt weights\.",
        lambda m: f"{m['x']} — не чекпоинт: в нём нет весов .safetensors, .bin или .pt.",
    ),
    (
        r"(?P<x>\S+) is not a module of (?P<a>\S+); its trainable modules are (?P<m>[^.]+)\.",
        lambda m: f"{m['x']} — не модуль {m['a']}; его обучаемые модули: {m['m']}.",
    ),
    (r"^(?P<x>\S+) does not exist\.$", lambda m: f"{m['x']} не существует."),
]


def refusal_in_language(message: str, goal: str) -> str:
    """A refusal in the person's language where its sentence has a Russian form; otherwise unchanged."""
    if not message or not wants_russian(goal):
        return message
    for pattern, form in REFUSALS:
        message = re.sub(pattern, form, message)  # type: ignore[arg-type]
    return message


def in_language(question: str, goal: str) -> str:
    """The question as the person's language asks it; unchanged for English goals."""
    if not question or not wants_russian(goal):
        return question
    # one question per sentence shape; a quoted part never runs into the next question
    parts = re.split(r"(?<=[?.])\s+(?=You |Graft |What should |A value |Merge with )", question)
    out = []
    for part in parts:
        for pattern, form in SHAPES:
            part = re.sub(pattern, form, part)  # type: ignore[arg-type]
        out.append(part)
    return " ".join(out)


# the planners' notes on a plan, as a Russian goal reads them; a note with no form here stays in English
NOTE_SHAPES: list[tuple[str, object]] = [
    (r"^a final write was added: the plan ends in one safetensors model\.$",
     lambda m: "добавлена итоговая запись: план заканчивается одной моделью в safetensors."),
    (r"^(?P<p>.+?) is not a model, an adapter or a dataset: the final model is written there\.$",
     lambda m: f"{m['p']} — не модель, не адаптер и не датасет: итоговая модель записывается туда."),
    (r"^no output was named; the final model goes to (?P<p>.+?)\.$",
     lambda m: f"папка результата не названа; итоговая модель будет в {m['p']}."),
    (r"^the merge's members are (?P<a>.+?); (?P<b>.+?) is their base \(the common ancestor\), not a member\.$",
     lambda m: f"в слиянии участвуют {m['a']}; {m['b']} — их база (общий предок), а не участник."),
    (r"^the adapter is merged into the model before the model merge\.$",
     lambda m: "адаптер вливается в модель перед слиянием моделей."),
    (r"^the SFT adapter is folded in before (?P<x>\w+), so (?P=x)'s reference model is the fine-tuned one\.$",
     lambda m: f"адаптер SFT вливается перед {m['x']}, поэтому референсная модель {m['x']} — дообученная."),
    (r"^the SFT adapter is folded in before (?P<x>\w+), which trains on it \(no reference model\)\.$",
     lambda m: f"адаптер SFT вливается перед {m['x']}, который обучается поверх него (без референсной модели)."),
    (r"^no training method was named; the values you gave are for a LoRA fine-tune \(SFT\)\.$",
     lambda m: "метод обучения не назван; указанные значения относятся к дообучению LoRA (SFT)."),
    (r"^(?P<p>.+?) holds no model, so it is where the merged model is written\.$",
     lambda m: f"в {m['p']} нет модели, поэтому слитая модель записывается туда."),
    (r"^stage (?P<a>\S+) uses the same rank as (?P<b>\S+): r=(?P<r>\S+)\.$",
     lambda m: f"этап {m['a']} использует тот же ранг, что и {m['b']}: r={m['r']}."),
    (r"^stage (?P<a>\S+) trains the same layers as (?P<b>\S+): (?P<l>.+?)\.$",
     lambda m: f"этап {m['a']} обучает те же слои, что и {m['b']}: {m['l']}."),
    (r"^stage (?P<a>\S+) trains the same modules as (?P<b>\S+): (?P<l>.+?)\.$",
     lambda m: f"этап {m['a']} обучает те же модули, что и {m['b']}: {m['l']}."),
    (r"^merge method (?P<v>\S+): you said (?P<a>\S+), then (?P=v); the correction was taken\.$",
     lambda m: f"метод слияния {m['v']}: вы указали {m['a']}, затем {m['v']}; взято исправление."),
    (r"^(?P<s>[\w ]+?) (?P<v>\S+): you said (?P<said>.+?); the correction was taken\.$",
     lambda m: f"{_slot(m['s'])} {m['v']}: вы указали {m['said'].replace(', then ', ', затем ')}; взято исправление."),
    (r"^layers: you said '(?P<a>.+?)', then '(?P<b>.+?)'; the correction was taken\.$",
     lambda m: f"слои: вы указали «{m['a']}», затем «{m['b']}»; взято исправление."),
    (r"^read as a description, not as instructions: (?P<w>.+?)\.$",
     lambda m: f"понято как описание, а не как указание: {m['w']}."),
    (r"^ordinal layers are counted from 1 \((?P<x>.+?)\)\.$",
     lambda m: "порядковые номера слоёв считаются с 1 (" + _ordinal_ru(m["x"]) + ")."),
    (r"^'(?P<x>.+?)' of (?P<n>\d+) layers is (?P<k>\d+) layers\.$",
     lambda m: f"«{m['x']}» из {m['n']} слоёв — это {m['k']} слоёв."),
    (r"^'(?P<x>.+?)' of (?P<n>\d+) layers is layers (?P<l>.+?)\.$",
     lambda m: f"«{m['x']}» из {m['n']} слоёв — это слои {m['l']}."),
    (r"^weights (?P<w>.+?) from '(?P<x>.+?)'\.$", lambda m: f"веса {m['w']} из «{m['x']}»."),
    (r"^'(?P<x>.+?)': (?P<s>\S+) runs first\.$", lambda m: f"«{m['x']}»: сначала выполняется {m['s']}."),
    (r"^one file: the shard size is set to (?P<s>\S+), above the model's size\.$",
     lambda m: f"один файл: размер шарда — {m['s']}, больше размера модели."),
    (r"^one file: the model is (?P<n>\d+) MB, under the 5GB shard size, so it is one file\.$",
     lambda m: f"один файл: модель занимает {m['n']} МБ, меньше шарда в 5 ГБ, поэтому это один файл."),
    (r"^'(?P<x>.+?)' is read as the list of the stages said after it, each with its settings\.$",
     lambda m: f"«{m['x']}» понято как перечень этапов, описанных дальше, каждый со своими настройками."),
    (r"^you said '(?P<a>.+?)', then corrected it to '(?P<b>.+?)'; the correction was taken\.$",
     lambda m: f"вы указали «{m['a']}», затем исправили на «{m['b']}»; взято исправление."),
    (r"^t (?P<t>\S+) from '(?P<x>.+?)' \(t is (?P<p>.+?)'s share\)\.$",
     lambda m: f"t {m['t']} из «{m['x']}» (t — доля {m['p']})."),
    (r"^stage (?P<a>\S+) is a separate (?:fine-tune|preference run) from the base on (?P<d>.+?), to merge with (?P<b>.+?)\.$",
     lambda m: f"этап {m['a']} — отдельное обучение от базы на {m['d']}, для слияния с {m['b']}."),
    (r"^the base's weight (?P<w>\S+) is left out: a (?P<m>\S+) merge takes task vectors relative to the base, so "
     r"mergekit ignores a weight given to the base itself\.$",
     lambda m: f"вес базы {m['w']} не используется: слияние {m['m']} берёт векторы задач относительно базы, и mergekit "
     "игнорирует вес, данный самой базе."),
]  # fmt: skip


def _ordinal_ru(text: str) -> str:
    """ "'третий слой' is layer 2" → "«третий слой» — слой 2"; "the second layer is index 1" → "второй слой — индекс 1"."""
    m = re.fullmatch(r"'(?P<x>.+?)' is layers? (?P<l>.+)", text)
    if m:
        return f"«{m['x']}» — слой {m['l']}" if "," not in m["l"] else f"«{m['x']}» — слои {m['l']}"
    m = re.fullmatch(r"the (?P<x>\w+) layer is index (?P<i>\d+)", text)
    return f"{m['x']} слой — индекс {m['i']}" if m else text


def notes_in_language(notes: list[str], goal: str) -> list[str]:
    """The plan's notes as the person's language says them; unchanged for English goals."""
    if not wants_russian(goal):
        return notes
    out = []
    for note in notes:
        for pattern, form in NOTE_SHAPES:
            if re.match(pattern, note):
                note = re.sub(pattern, form, note)  # type: ignore[arg-type]
                break
        out.append(note)
    return out
