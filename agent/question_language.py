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
    text = re.sub(r"\S*/\S*|'[^']*'|\"[^\"]*\"", " ", goal).lower()
    russian = len(re.findall(r"[а-яё]{2,}", text))
    if russian >= 2:  # "SFT на data с небольшим лр" is Russian
        return True
    english = [w for w in re.findall(r"(?<![\w.])[a-z]{2,}(?![\w.])", text) if w not in _TERMS]
    return russian == 1 and not english  # "сохрани в int8", "экспортируй в gguf q4_k_m": the one word is Russian


# names that are the same in both languages: no sign of which one the person writes in
_TERMS = frozenset(
    "sft dpo ipo orpo kto simpo cpo ppo grpo lora qlora dora peft trl gguf awq gptq ties slerp dare della linear bf16 fp16 "
    "fp32 int8 int4 nf4 safetensors lr mlp hf hub neftune rslora pissa olora loftq galore lisa badam deepspeed fsdp "
    "mergekit axolotl unsloth torchtune adamw cosine dare_ties task_arithmetic model_stock breadcrumbs passthrough "
    "sigmoid hinge robust".split()
)


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
    "an evolutionary merge search (mergekit-evolve): Graft runs the one merge recipe you give; name its method and "
    "weights": "эволюционный поиск слияния (mergekit-evolve): Graft выполняет один рецепт слияния, который вы даёте; "
    "назовите метод и веса",
    "a floor for the learning rate: Graft's schedules (linear, cosine, ...) decay to 0 or stay constant":
        "нижняя граница скорости обучения: расписания Graft (linear, cosine, ...) спадают до 0 или постоянны",
    "Unsloth: Graft trains with TRL and PEFT, the same LoRA without Unsloth's patched kernels": (
        "Unsloth: Graft обучает через TRL и PEFT — та же LoRA, но без пропатченных ядер Unsloth"
    ),
    "a merge without weight normalisation: Graft's linear, TIES and DELLA merges normalise the weights "
    "(mergekit's default)": "слияние без нормализации весов: линейное слияние, TIES и DELLA в Graft нормируют веса "
    "(так по умолчанию в mergekit)",
    "another library's defaults: Graft's own are LoRA r 16, alpha 2r, lr 2e-4 (SFT) and 5e-5 (preference); say the "
    "value to use": "значения по умолчанию другой библиотеки: у Graft свои — LoRA r 16, alpha 2r, lr 2e-4 (SFT) и 5e-5 "
    "(preference); назовите нужное значение",
    "a quantised output: Graft writes float32, bfloat16 or float16 safetensors": (
        "квантованный результат: Graft записывает safetensors в float32, bfloat16 или float16"
    ),
    "an adapter folded in at a scale: Graft folds each adapter in at the scale it was trained with (alpha / r)": (
        "адаптер, влитый с множителем: Graft вливает каждый адаптер с тем масштабом, с каким он обучен (alpha / r)"
    ),
    "training from scratch: Graft post-trains the model you open (LoRA, full fine-tuning, preference tuning); "
    "it does not pretrain a new one": (
        "обучение с нуля: Graft дообучает открытую модель (LoRA, полное дообучение, обучение на предпочтениях) и не "
        "предобучает новую"
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
        r"You said '(?P<x>.+?)', and the plan merges models; should it merge\?",
        lambda m: f"Вы написали «{m['x']}», а план сливает модели; нужно ли слияние?",
    ),
    (
        r"You wrote '(?P<x>.+?)', and the plan merges no models; which models should be merged\?",
        lambda m: f"Вы написали «{m['x']}», но план не сливает модели; какие модели слить?",
    ),
    (
        r"You gave (?P<n>\d+) weights for the base and (?P<k>\d+) models in a (?P<m>\S+) merge, where mergekit gives "
        r"the base no weight; which weight is each model's\?",
        lambda m: (
            f"Вы дали {m['n']} веса для базы и {m['k']} моделей в слиянии {m['m']}, где mergekit не даёт базе "
            "веса; какой вес у каждой модели?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)', and in a (?P<m>\S+) merge the base is the reference whose differences the others "
        r"add; mergekit gives the base no weight\. Should the others' weights be as said \(they are normalised\), "
        r"or should it be a linear merge\?",
        lambda m: (
            f"Вы написали «{m['x']}», но в слиянии {m['m']} база — точка отсчёта, чьи разности добавляют "
            "остальные; mergekit не даёт базе веса. Оставить веса остальных как сказано (они нормируются) или слить "
            "линейно?"
        ),
    ),
    (
        r"You wrote '(?P<a>.+?)' and '(?P<b>.+?)'; which member takes the rest \((?P<m>.+?)\), and is it above 0\?",
        lambda m: f"Вы написали «{m['a']}» и «{m['b']}»; какая модель получает остаток ({m['m']}), и больше ли он 0?",
    ),
    (
        r"You asked to swap the order, and the goal names (?P<n>\d+) training stages; in which order should they run\?",
        lambda m: f"Вы попросили поменять порядок, а в цели {m['n']} этапа(ов) обучения; в каком порядке их запускать?",
    ),
    (
        r"That reads as a question about a checkpoint, not a goal \(`graft inspect MODEL` answers it from the files, "
        r"`graft diff A B` compares two, the TUI answers it in the chat\); what should the plan do to the model\?",
        lambda m: (
            "Это вопрос о чекпоинте, а не цель (`graft inspect MODEL` отвечает на него по файлам, `graft diff A B` "
            "сравнивает два чекпоинта, TUI отвечает прямо в чате); что план должен сделать с моделью?"
        ),
    ),
    (
        r"You asked for '(?P<a>.+?)' and '(?P<b>.+?)' in one stage; should it be a full fine-tune or a LoRA\?",
        lambda m: f"Вы попросили «{m['a']}» и «{m['b']}» в одном этапе; это полное дообучение или LoRA?",
    ),
    (
        r"You wrote '(?P<w>.+?)': which training should the plan do, on which data\? Given: (?P<g>.+)\.",
        lambda m: "Вы написали «{}»: какое обучение сделать и на каких данных? Даны: {}.".format(
            m["w"], re.sub(r"\(([^()]+)\)", lambda k: f"({_DATA_KIND_RU.get(k[1], k[1])})", m["g"])
        ),
    ),
    (
        r"The plan runs (?P<n>\S+) before SFT only because (?P=n) was named first; which should run first\?",
        lambda m: f"План ставит {m['n']} перед SFT только потому, что {m['n']} назван первым; что должно идти первым?",
    ),
    (
        r"You wrote '(?P<w>.+?)'; Graft downloads nothing and trains the model you opened\. Open a local folder of that "
        r"model with --model, or is it meant as something else\?",
        lambda m: (
            f"Вы написали «{m['w']}»; Graft ничего не скачивает и обучает открытую модель. "
            "Откройте локальную папку этой модели через --model — или это значит что-то другое?"
        ),
    ),
    (
        r"You said '(?P<w>.+?)', and the plan has an? (?P<n>\S+) stage; should it\?",
        lambda m: f"Вы написали «{m['w']}», а в плане есть этап {m['n']}; он нужен?",
    ),
    (
        r"You asked for (?P<n>\S+) and then said '(?P<w>.+?)'; should the plan have an? \S+ stage\?",
        lambda m: f"Вы попросили {m['n']}, а потом написали «{m['w']}»; нужен ли в плане этап {m['n']}?",
    ),
    (
        r"'(?P<n>.+?)' looks like a Hugging Face Hub model id; Graft downloads nothing and trains the model you opened\. "
        r"Open a local folder of that model with --model, or is it meant as something else\?",
        lambda m: (
            f"«{m['n']}» похоже на имя модели с Hugging Face Hub; Graft ничего не скачивает и обучает открытую модель. "
            "Откройте локальную папку этой модели через --model — или это значит что-то другое?"
        ),
    ),
    (
        r"You said '(?P<w>.+?)', and the plan trains on (?P<u>.+?); which stage should train on (?P<f>.+?) \((?P<k>.+?)\)\?",
        lambda m: (
            f"Вы написали «{m['w']}», а план обучается только на {m['u'].replace('none of them', 'ни одном из них')}; "
            f"какой этап должен обучаться на {m['f']} ({_DATA_KIND_RU.get(m['k'], m['k'])})?"
        ),
    ),
    (
        r"You asked for the two separate runs' adapters to be combined with '(?P<w>.+?)', a lossy low-rank PEFT combination "
        r"Graft does not run on adapters trained in the same plan; merge the two fine-tuned models instead \(linear, TIES, "
        r"task arithmetic\), or keep one adapter\?",
        lambda m: (
            f"Вы просите объединить адаптеры двух отдельных прогонов через «{m['w']}» — это приближённое "
            "низкоранговое объединение PEFT, которое Graft не делает для адаптеров, обученных в том же плане; слить две "
            "дообученные модели (linear, TIES, task arithmetic) или оставить один адаптер?"
        ),
    ),
    (
        r"You asked for a task vector to be added to (?P<p>\S+), a model other than the base it is taken from; Graft "
        r"runs that as task arithmetic over the base with (?P=p) as a member at weight 1\. Which weight should each "
        r"task vector have\?",
        lambda m: (
            f"Вы просите прибавить вектор задачи к {m['p']} — не к той базе, от которой он взят; Graft выполняет это "
            f"как арифметику задач над базой, где {m['p']} — участник с весом 1. Какой вес у каждого вектора задачи?"
        ),
    ),
    (
        r"You said '(?P<x>.+?)', and the plan has that merge; should it\?",
        lambda m: f"Вы написали «{m['x']}», а в плане это слияние есть; оно нужно?",
    ),
    (
        r"You said '(?P<x>.+?)'; mergekit runs DARE as dare_ties \(with TIES sign election\) or dare_linear\. Which one\?",
        lambda m: (
            f"Вы указали «{m['x']}»; mergekit выполняет DARE как dare_ties (с выбором знака TIES) или dare_linear. "
            "Какой из них?"
        ),
    ),
    (
        r"You said '(?P<x>.+?)'; Graft launches a stage through accelerate with that strategy only when it runs on more "
        r"than one GPU, and this one runs on one\. On how many GPUs should it run\?",
        lambda m: (
            f"Вы указали «{m['x']}»; Graft запускает этап через accelerate с этой стратегией, только если он идёт больше "
            "чем на одном GPU, а этот этап идёт на одном. На скольких GPU его запустить?"
        ),
    ),
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
        r"You named '(?P<x>[^']+)' as the merge method, and Graft knows no merge by that name \(its merges are "
        r"(?P<m>[^)]+)\)\. Which of those should it be\?",
        lambda m: (
            f"Вы назвали методом слияния «{m['x']}», а такого слияния Graft не знает (его методы: {m['m']}). Какой из них взять?"
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
        r"Which adapter should be folded in\? Name its folder in the goal \(e\.g\. \./ckpt\) or pass it with --data\.",
        lambda m: "Какой адаптер вливать? Назовите его папку в цели (например, ./ckpt) или передайте её через --data.",
    ),
    (
        r"Which adapter should be folded in: (?P<a>.+?)\? Name it in the goal\.",
        lambda m: f"Какой адаптер вливать: {m['a']}? Назовите его в цели.",
    ),
    (
        r"The plan has an? (?P<s>\S+) stage, and the goal asks for no (?:fine-tuning|preference tuning); should it\?",
        lambda m: f"В плане есть этап {m['s']}, а цель его не просит; нужен ли он?",
    ),
    (
        r"The plan merges models, and the goal asks for no merge; should it\?",
        lambda m: "План сливает модели, а цель слияния не просит; нужно ли оно?",
    ),
    (
        r"You wrote '(?P<x>.+?)': one model merged into another, with a ratio; which weight goes to which model "
        r"\((?P<m>[^)]*)\)\?",
        lambda m: (
            f"Вы написали «{m['x']}»: одна модель вливается в другую в пропорции; какой вес какой модели ({m['m']})?"
        ),
    ),
    (
        r"You gave (?P<a>\S+) the weight (?P<w>[\d.e-]+); in a (?P<k>\w+) merge each model's task vector has its own "
        r"weight, so what weight should (?P<b>\S+) get\?",
        lambda m: (
            f"Вы дали {m['a']} вес {m['w']}; в слиянии {m['k']} у вектора задачи каждой модели свой вес — какой вес "
            f"дать {m['b']}?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)', and a (?P<k>\S+) merge takes each model's task vector from a base \(their common "
        r"ancestor\)\. Should the opened model be that base \(the reference, not a member\), should another folder be, "
        r"or should the merge be linear\?",
        lambda m: (
            f"Вы написали «{m['x']}», а слияние {m['k']} берёт вектор задачи каждой модели относительно базы (их общего "
            "предка). Сделать базой открытую модель (точкой отсчёта, не участником), другую папку или слить линейно?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)', and Graft did not read whose share is bigger; which weight goes to which model "
        r"\((?P<m>[^)]*)\)\?",
        lambda m: f"Вы написали «{m['x']}», но Graft не понял, чья доля больше; какой вес какой модели ({m['m']})?",
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
        r"You wrote '(?P<x>.+?)': should those layers be fully fine-tuned \(no adapter\), or should a LoRA train every "
        r"other layer and leave them out\?",
        lambda m: (
            f"Вы написали «{m['x']}»: эти слои обучить полностью (без адаптера) или обучить LoRA на всех остальных "
            "слоях, а их не трогать?"
        ),
    ),
    (
        r"You gave the merge (?P<n>\d+) values of (?P<s>\S+) \((?P<v>.+?)\); Graft's merge gives every model one "
        r"(?P=s)\. Which one should it be\?",
        lambda m: (
            f"Вы дали слиянию {m['n']} значения {m['s']} ({m['v']}); в слиянии Graft у всех моделей одно значение "
            f"{m['s']}. Какое из них взять?"
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)': shares as parts, which fix the merge only where mergekit normalises the weights "
        r"\(linear, TIES, DELLA\); which weight should each model get in (?P<m>\S+)\?",
        lambda m: (
            f"Вы написали «{m['x']}»: доли в частях задают слияние, только когда mergekit нормирует веса "
            f"(linear, TIES, DELLA); какой вес дать каждой модели в {m['m']}?"
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
        r"You wrote '(?P<x>.+?)', and the plan's merge has a different number of models \((?P<h>.+?)\); which models "
        r"should it merge\?",
        lambda m: f"Вы написали «{m['x']}», а в слиянии плана другое число моделей ({m['h']}); какие модели слить?",
    ),
    (
        r"You wrote '(?P<x>.+?)': should the output be float16 or bfloat16\?",
        lambda m: f"Вы написали «{m['x']}»: записать результат в float16 или в bfloat16?",
    ),
    (
        r"You gave a range for (?P<s>.+?) \((?P<x>.+?)\); a run trains with one value\. Which should it be\?",
        lambda m: f"Вы дали диапазон для «{_slot(m['s'])}» ({m['x']}); обучение идёт с одним значением. Какое взять?",
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
        r"You wrote '(?P<x>.+?)', and Graft did not read which shares that gives; say each member's share "
        r"\(e\.g\. 0\.8 and 0\.2\)\.",
        lambda m: (
            f"Вы написали «{m['x']}», и Graft не понял, какие доли это даёт; назовите долю каждой модели "
            "(например, 0.8 и 0.2)."
        ),
    ),
    (
        r"You wrote '(?P<x>.+?)'; by how much\? Say the share \(e\.g\. 0\.7\) or SLERP's t\.",
        lambda m: f"Вы написали «{m['x']}»; насколько больше? Назовите долю (например, 0.7) или t для SLERP.",
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
        r"You said '(?P<x>.+?)' \(layers (?P<l>.+?)\); Graft merges every layer of the models \(no per-layer or "
        r"sliced merge\), and the plan trains nothing\. Merge all layers, or drop the layer range\?",
        lambda m: (
            f"Вы указали «{m['x']}» (слои {m['l']}); Graft сливает все слои моделей (слияния по слоям или срезам нет), "
            "а план ничего не обучает. Слить все слои или убрать диапазон слоёв?"
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
        r"You gave the weights (?P<v>.+?), one of them below 0; a (?P<m>\S+) merge with a negative weight extrapolates "
        r"away from that model, and Graft subtracts a model only in a task_arithmetic merge\. Should it be "
        r"task_arithmetic, or which weights above 0\?",
        lambda m: (
            f"Вы дали веса {m['v']}, один из них меньше 0; слияние {m['m']} с отрицательным весом экстраполирует "
            "в сторону от этой модели, а вычитает модель Graft только в слиянии task_arithmetic. Сделать task_arithmetic или "
            "какие веса больше 0?"
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
        r"a (?P<m>\S+) merge adds the other models' differences from the base to it, and mergekit gives the base "
        r"itself no weight: its weight (?P<w>\S+) would not be applied\. Leave the base out of the weights \(the "
        r"others' weights are normalised\), or merge with linear\.",
        lambda m: (
            f"слияние {m['m']} добавляет к базе разности остальных моделей, и mergekit не даёт самой базе веса: "
            f"её вес {m['w']} не будет применён. Уберите базу из весов (веса остальных нормируются) или слейте линейно."
        ),
    ),
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
    (
        r"If (?P<x>\S+) is a Hugging Face Hub id: Graft downloads nothing; download it yourself and name its local "
        r"folder\.",
        lambda m: (
            f"Если {m['x']} — id модели на Hugging Face Hub: Graft ничего не скачивает; скачайте её сами и "
            "укажите её локальную папку."
        ),
    ),
    (
        r"(?P<x>\S+) does not exist \(named as the merge's base\)\.",
        lambda m: f"{m['x']} не существует (указан как база слияния).",
    ),
    (
        r"(?P<x>\S+) does not exist \(named in the goal as an adapter\)\.",
        lambda m: f"{m['x']} не существует (указан в цели как адаптер).",
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


_DATA_KIND_RU = {"chat rows, for SFT": "диалоги, для SFT", "preference pairs": "пары предпочтений",
                 "thumbs-up/down rows, for KTO": "строки с лайком/дизлайком, для KTO"}  # fmt: skip

# the planners' notes on a plan, as a Russian goal reads them; a note with no form here stays in English
NOTE_SHAPES: list[tuple[str, object]] = [
    (
        r"You said '(?P<x>.+?)', and the plan merges models; should it merge\?",
        lambda m: f"Вы написали «{m['x']}», а план сливает модели; нужно ли слияние?",
    ),
    (
        r"You wrote '(?P<x>.+?)', and the plan merges no models; which models should be merged\?",
        lambda m: f"Вы написали «{m['x']}», но план не сливает модели; какие модели слить?",
    ),
    (r"^(?P<p>.+?) is left out of the merge, as you said\.$", lambda m: f"{m['p']} не участвует в слиянии, как вы сказали."),
    (r"^'(?P<w>.+?)': the (?P<s>\S+) stage said before it is left out\.$",
     lambda m: f"«{m['w']}»: этап {m['s']}, названный раньше, убран из плана."),
    (r"^(?P<a>\S+) takes the rest of the merge: (?P<v>\S+) \(you gave (?P<b>\S+) (?P<w>\S+)\)\.$",
     lambda m: f"{m['a']} получает остаток слияния: {m['v']} (вы дали {m['b']} {m['w']})."),
    (r"^stage (?P<a>\S+) is a full fine-tune too, as (?P<b>\S+) is\.$",
     lambda m: f"этап {m['a']} — тоже полное дообучение, как и {m['b']}."),
    (r"^stage (?P<a>\S+) is a DoRA too, as (?P<b>\S+) is\.$",
     lambda m: f"этап {m['a']} — тоже DoRA, как и {m['b']}."),
    (r"^(?P<p>.+?) was given as data, and no stage trains on it\.$",
     lambda m: f"{m['p']} передан как данные, но ни один этап на нём не обучается."),
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
    (r"^stage (?P<a>\S+) uses the same LoRA dropout as (?P<b>\S+): (?P<v>\S+)\.$",
     lambda m: f"этап {m['a']} использует тот же dropout LoRA, что и {m['b']}: {m['v']}."),
    (r"^stage (?P<a>\S+) uses the same rank as (?P<b>\S+): r=(?P<r>\S+?)(?: and alpha (?P<al>\S+?))?\.$",
     lambda m: f"этап {m['a']} использует тот же ранг, что и {m['b']}: r={m['r']}"
     + (f" и альфу {m['al']}" if m["al"] else "") + "."),
    (r"^stage (?P<a>\S+) trains the same layers as (?P<b>\S+): (?P<l>.+?)\.$",
     lambda m: f"этап {m['a']} обучает те же слои, что и {m['b']}: {m['l']}."),
    (r"^stage (?P<a>\S+) trains the same modules as (?P<b>\S+): (?P<l>.+?)\.$",
     lambda m: f"этап {m['a']} обучает те же модули, что и {m['b']}: {m['l']}."),
    (r"^slerp's t is the second model's share: (?P<a>\S+) and (?P<b>\S+) give t (?P<t>\S+)\.$",
     lambda m: f"t у slerp — доля второй модели: {m['a']} и {m['b']} дают t {m['t']}."),
    (r"^you said '(?P<a>.+?)'; (?P<m>\S+) is left out of the modules\.$",
     lambda m: f"вы сказали «{m['a']}»; {m['m']} исключён из модулей."),
    (r"^you said '(?P<a>.+?)', then '(?P<b>.+?)'; the correction was taken\.$",
     lambda m: f"вы сказали «{m['a']}», потом «{m['b']}»; взято исправление."),
    (r"^you said '(?P<a>.+?)', then one file; the correction was taken\.$",
     lambda m: f"вы указали «{m['a']}», затем один файл; взято исправление."),
    (r"^you said (?P<a>\S+) and (?P<b>\S+), then 'the other way round': (?P=b) and (?P=a) were swapped\.$",
     lambda m: f"вы указали {m['a']} и {m['b']}, затем «наоборот»: значения {m['b']} и {m['a']} поменяны местами."),
    (r"^merge weights (?P<v>.+?): you said (?P<a>.+?), then (?P=v); the correction was taken\.$",
     lambda m: f"веса слияния {m['v']}: вы указали {m['a']}, затем {m['v']}; взято исправление."),
    (r"^merge method (?P<v>\S+): you said (?P<a>\S+), then (?P=v); the correction was taken\.$",
     lambda m: f"метод слияния {m['v']}: вы указали {m['a']}, затем {m['v']}; взято исправление."),
    (r"^(?P<s>[\w ]+?) (?P<v>\S+): you said (?P<said>.+?); the correction was taken\.$",
     lambda m: f"{_slot(m['s'])} {m['v']}: вы указали {m['said'].replace(', then ', ', затем ')}; взято исправление."),
    (r"^layers: you said '(?P<a>.+?)', then '(?P<b>.+?)'; the correction was taken\.$",
     lambda m: f"слои: вы указали «{m['a']}», затем «{m['b']}»; взято исправление."),
    (r"^task arithmetic: (?P<l>.+? (?:added|subtracted) at weight -?1)\.$",
     lambda m: "арифметика задач: " + m["l"].replace(" added at weight", " прибавляется с весом").replace(
         " subtracted at weight", " вычитается с весом") + "."),
    (r"^(?P<p>\S+) \+ \(task vector\) is run as task arithmetic over the base with (?P=p) as a member at weight 1: "
     r"base \+ \((?P=p) - base\) \+ \(vector\) is the same model\.$",
     lambda m: f"{m['p']} + (вектор задачи) выполняется как арифметика задач над базой, где {m['p']} — участник с весом "
               f"1: база + ({m['p']} - база) + (вектор) — та же модель."),
    (r"^'ours' beside the trained result is the model it started from \(the opened model\)\.$",
     lambda m: "«наша» рядом с результатом обучения — модель, с которой оно началось (открытая модель)."),
    (r"^read as a description, not as instructions: (?P<w>.+?)\.$",
     lambda m: f"понято как описание, а не как указание: {m['w']}."),
    (r"^layers counted from 1, as you said: '(?P<x>.+?)' is layers? (?P<l>[\d, ]+)\.$",
     lambda m: f"слои считаются с 1, как вы сказали: «{m['x']}» — это слои {m['l']} (Graft считает с 0)."),
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
    # the offline planner (agent/offline_planner.py)
    (r"^(?P<a>\S+) fuses query, key and value in (?P<f>\S+); the adapter targets all of (?P=f)\.$",
     lambda m: f"{m['a']} объединяет query, key и value в {m['f']}; адаптер обучает {m['f']} целиком."),
    (r"^the (?P<k>\w+) stage uses (?P<p>.+?), the first (?P=k)-shaped dataset given; name another in the goal to "
     r"change it\.$",
     lambda m: f"этап {m['k']} обучается на {m['p']} — первом из указанных датасетов формата {m['k']}; чтобы взять "
     "другой, назовите его в цели."),
    (r"^QLoRA's 4-bit base is not supported here; the stage trains a plain LoRA\.$",
     lambda m: "4-битная база QLoRA здесь не поддерживается; этап обучает обычную LoRA."),
    (r"^stage (?P<s>\S+): full fine-tuning has no rank or alpha; those were dropped\.$",
     lambda m: f"этап {m['s']}: у полного дообучения нет ранга и альфы, они убраны."),
    (r"^the adapter trained in this plan is folded in before the adapters from disk\.$",
     lambda m: "адаптер, обученный в этом плане, вливается раньше адаптеров с диска."),
    (r"^no merge method was named; a blend in the shares you gave is a linear merge \(say ties or slerp for another\)\.$",
     lambda m: "метод слияния не назван; смешивание в указанных долях — это линейное слияние (для другого метода "
     "скажите ties или slerp)."),
    (r"^no merge method was named; t is SLERP's factor, so the merge is a SLERP \(say another to change it\)\.$",
     lambda m: "метод слияния не назван; t — это параметр SLERP, поэтому слияние — SLERP (назовите другой метод, "
     "чтобы его сменить)."),
    (r"^no merge method was named; a blend with the starting model is a linear merge \(say ties or slerp for "
     r"another\)\.$",
     lambda m: "метод слияния не назван; смешивание с исходной моделью — это линейное слияние (для другого метода "
     "скажите ties или slerp)."),
    (r"^stage (?P<s>\S+): a constant learning rate after warmup is transformers' constant_with_warmup \(its plain "
     r"'constant' schedule skips the warmup\)\.$",
     lambda m: f"этап {m['s']}: постоянная скорость обучения после прогрева — это constant_with_warmup из transformers "
     "(обычное расписание «constant» прогрев пропускает)."),
    (r"^no merge method was named; task vectors added or subtracted are a task_arithmetic merge \(say ties for "
     r"another\)\.$",
     lambda m: "метод слияния не назван; сложение и вычитание векторов задач — это слияние task_arithmetic (для "
     "другого метода скажите ties)."),
    (r"^no merge method was named; TIES was chosen \(say linear, slerp or dare_ties for another\)\.$",
     lambda m: "метод слияния не назван; выбран TIES (для другого метода скажите linear, slerp или dare_ties)."),
    (r"^a second fine-tune \((?P<s>[^)]+)\) on (?P<d>.+?) starts from the base, to merge with\.$",
     lambda m: f"второе дообучение ({m['s']}) на {m['d']} начинается с базовой модели — для слияния с ней."),
    (r"^(?P<p>.+?) is the merge's base \(the reference its task vectors are taken from\)\.$",
     lambda m: f"{m['p']} — база слияния (векторы задач берутся относительно неё)."),
    (r"^weights (?P<a>\S+) and (?P<b>\S+) from '(?P<x>.+?)' \(mergekit normalises them\)\.$",
     lambda m: f"веса {m['a']} и {m['b']} из «{m['x']}» (mergekit их нормирует)."),
    (r"^the base keeps the rest of the linear merge: (?P<a>\S+) to the base, (?P<b>\S+) to the model merged into "
     r"it\.$",
     lambda m: f"база получает остаток линейного слияния: {m['a']} — базе, {m['b']} — вливаемой в неё модели."),
    (r"^the merge's members are listed as you named them: (?P<m>.+?)\.$",
     lambda m: f"участники слияния идут в том порядке, в каком вы их назвали: {m['m']}."),
    (r"^the adapters are folded one after another, each onto the model the previous one made: (?P<p>.+?)\.$",
     lambda m: f"адаптеры вливаются по очереди, каждый — в модель, полученную после предыдущего: {m['p']}."),
    (r"^the adapters' deltas are summed \(PEFT's 'cat' combination, exact\); say TIES, linear or SVD for another\.$",
     lambda m: "дельты адаптеров суммируются (комбинация 'cat' из PEFT, точная); для другой комбинации скажите "
     "TIES, linear или SVD."),
    (r"^changed after your feedback \((?P<r>.*)\): (?P<c>.+?)\.$",
     lambda m: f"изменено по вашему отзыву ({m['r']}): {m['c']}."),
    (r"^your feedback \((?P<r>.*)\) named nothing the offline planner can change; the plan is the same\.$",
     lambda m: f"в вашем отзыве ({m['r']}) нет ничего, что офлайн-планировщик может изменить; план прежний."),
    (r"^the base is a pickle checkpoint; it is converted to safetensors first \(without unpickling code\)\.$",
     lambda m: "база — чекпоинт pickle; сначала она конвертируется в safetensors (без выполнения кода из pickle)."),
    (r"^'merge the adapter' came before any adapter was trained; it was skipped\.$",
     lambda m: "слияние адаптера указано раньше, чем обучен какой-либо адаптер; этот шаг пропущен."),
    (r"^(?P<p>.+?) \(the name you gave\) is where the final model is written, in the current folder\.$",
     lambda m: f"итоговая модель записывается в {m['p']} (данное вами имя) в текущей папке."),
    # layer selections (agent/goal_layers.py)
    (r"^'(?P<x>.+?)': layers (?P<l>[\d, -]+) \(ordinal layers are counted from 1\)\.$",
     lambda m: f"«{m['x']}»: слои {m['l']} (порядковые номера слоёв считаются с 1)."),
    (r"^'(?P<x>.+?)': layers (?P<l>[\d, -]+) \(every (?P<s>\d+), from (?P<f>\d+)\)\.$",
     lambda m: f"«{m['x']}»: слои {m['l']} (каждый {m['s']}-й, начиная с {m['f']})."),
    (r"^'(?P<x>.+?)': the (?P<w>odd|even) indices, counted from 0: (?P<l>[\d, ]+)\.$",
     lambda m: f"«{m['x']}»: {'нечётные' if m['w'] == 'odd' else 'чётные'} индексы, считая с 0: {m['l']}."),
    (r"^'(?P<x>.+?)': a Python slice, layers (?P<l>[\d, ]+)\.$",
     lambda m: f"«{m['x']}»: срез Python, слои {m['l']}."),
    (r"^'(?P<x>.+?)': layers (?P<l>[\d, -]+)\.$", lambda m: f"«{m['x']}»: слои {m['l']}."),
    # corrections read from the goal (agent/goal_facts.py: corrected_text)
    (r"^int8_mask: mergekit's memory saving for its 0/1 masks; the merged weights are the same without it, and "
     r"Graft's merge keeps its masks in the weights' dtype\.$",
     lambda m: "int8_mask: экономия памяти mergekit на масках из 0 и 1; веса слияния без неё те же, "
     "а Graft хранит маски в типе весов."),
    (r"^you asked to swap the order: (?P<a>\S+) runs before (?P<b>\S+)\.$",
     lambda m: f"вы попросили поменять порядок: {m['a']} идёт перед {m['b']}."),
    (r"^you took back '(?P<x>.+?)'; the answer is planned\.$",
     lambda m: f"вы отменили «{m['x']}»; в план вошёл ответ, сказанный после."),
    (r"^you took back '(?P<x>.+?)'; only what follows it is planned\.$",
     lambda m: f"вы отменили «{m['x']}»; в план вошло только то, что сказано после."),
    (r"^you said '(?P<x>.+?)', then corrected it; the correction was taken\.$",
     lambda m: f"вы указали «{m['x']}», затем исправили; взято исправление."),
    (r"^schedule: you said (?P<a>\S+), then (?P<b>\S+); the correction was taken\.$",
     lambda m: f"расписание: вы указали {m['a']}, затем {m['b']}; взято исправление."),
    (r"^(?P<f>.+?): you said (?P<said>.+?); the correction was taken\.$",
     lambda m: f"{_fact_ru(m['f']) or m['f']}: вы указали {m['said'].replace(', then ', ', затем ')}; взято "
     "исправление."),
    # the plan's check against the files (agent/validate.py)
    (r"^(?P<p>.+?) is a pickle checkpoint: stages after (?P<s>\S+) are checked against its config; module names, "
     r"shapes and estimates are checked on the converted files when the plan runs\.$",
     lambda m: f"{m['p']} — чекпоинт pickle: этапы после {m['s']} проверяются по его конфигу; имена модулей, формы "
     "и оценки проверяются на сконвертированных файлах при запуске плана."),
    (r"^stage (?P<s>\S+): plain-text rows have no prompt, so every token carries loss; give messages or "
     r"prompt/completion rows to train on the replies only\.$",
     lambda m: f"этап {m['s']}: у строк с простым текстом нет промпта, поэтому лосс идёт по каждому токену; чтобы "
     "обучать только на ответах, дайте строки messages или prompt/completion."),
    (r"^stage (?P<s>\S+): packing fills each of the (?P<b>\S+) sequences of a step up to max_length: up to "
     r"(?P<t>\S+) tokens \(about (?P<r>\S+) rows\) per step, against (?P=b) rows \(about (?P<u>\S+) tokens\) "
     r"unpacked; packed rows do not attend to each other \(checked on the model before training\)\.$",
     lambda m: f"этап {m['s']}: упаковка заполняет каждую из {m['b']} последовательностей шага до max_length: до "
     f"{m['t']} токенов (около {m['r']} строк) за шаг против {m['b']} строк (около {m['u']} токенов) без упаковки; "
     "упакованные строки не видят друг друга (проверено на модели перед обучением)."),
    (r"^stage (?P<s>\S+): LoRA scale alpha/r = (?P<x>\S+) = (?P<k>\S+) \(2 is the usual\); the adapter's update is "
     r"multiplied by it\.$",
     lambda m: f"этап {m['s']}: масштаб LoRA alpha/r = {m['x']} = {m['k']} (обычно 2); обновление адаптера "
     "умножается на него."),
    (r"^stage (?P<s>\S+): too few rows to hold any out; no eval loss will be measured\.$",
     lambda m: f"этап {m['s']}: слишком мало строк, чтобы отложить часть на валидацию; eval loss измеряться не будет."),
    (r"^stage (?P<s>\S+): (?P<n>\d+) GPUs with no strategy named; FSDP will be used\.$",
     lambda m: f"этап {m['s']}: {m['n']} GPU, а стратегия не названа; будет использован FSDP."),
    (r"^stage (?P<s>\S+): the adapter from (?P<a>\S+) is folded in before (?P<m>\S+), so its reference is the "
     r"fine-tuned model\.$",
     lambda m: f"этап {m['s']}: адаптер из {m['a']} вливается перед {m['m']}, поэтому его референс — дообученная "
     "модель."),
    (r"^stage (?P<s>\S+): the adapter from (?P<a>\S+) is folded in before (?P<m>\S+) \(reference-free: no "
     r"reference model is loaded\)\.$",
     lambda m: f"этап {m['s']}: адаптер из {m['a']} вливается перед {m['m']} (без референса: референсная модель не "
     "загружается)."),
    (r"^stage (?P<s>\S+): the adapter from (?P<a>\S+) is folded in before writing\.$",
     lambda m: f"этап {m['s']}: адаптер из {m['a']} вливается перед записью."),
    (r"^(?P<p>.+?) already exists: Graft will ask before replacing it\.$",
     lambda m: f"{m['p']} уже существует: Graft спросит, прежде чем заменить."),
]  # fmt: skip


ORDINALS_RU = {
    "first": "первый", "second": "второй", "third": "третий", "fourth": "четвёртый", "fifth": "пятый",
    "sixth": "шестой", "seventh": "седьмой", "eighth": "восьмой", "ninth": "девятый", "tenth": "десятый",
}  # fmt: skip


def _ordinal_ru(text: str) -> str:
    """ "'третий слой' is layer 2" → "«третий слой» — слой 2"; "the second layer is index 1" → "второй слой — индекс 1"."""
    m = re.fullmatch(r"'(?P<x>.+?)' is layers? (?P<l>.+)", text)
    if m:
        return f"«{m['x']}» — слой {m['l']}" if "," not in m["l"] else f"«{m['x']}» — слои {m['l']}"
    m = re.fullmatch(r"the (?P<x>\w+) layer is index (?P<i>\d+)", text)
    return f"{ORDINALS_RU.get(m['x'], m['x'])} слой — индекс {m['i']}" if m else text


def _note_ru(note: str) -> str | None:
    for pattern, form in NOTE_SHAPES:
        if re.match(pattern, note):
            return re.sub(pattern, form, note)  # type: ignore[arg-type]
    return None


def notes_in_language(notes: list[str], goal: str) -> list[str]:
    """The plan's notes as the person's language says them; unchanged for English goals."""
    if not wants_russian(goal):
        return notes
    out = []
    for note in notes:
        said = _note_ru(note)
        if said is None:  # several layer notes joined in one ("'…' of 12 layers is 6 layers. ordinal layers …")
            parts = re.split(r"(?<=\.) (?=['a-z])", note)
            said = " ".join(_note_ru(p) or p for p in parts) if len(parts) > 1 else note
        out.append(said)
    return out


# the review's "from your goal:" lines (agent/goal_facts.py: Fact.describe and fact_echo): a setting's name, in Russian
FACT_WORDS_RU = {
    **SLOT_WORDS_RU,
    "SimPO gamma": "гамма SimPO", "CPO alpha": "альфа CPO", "desirable weight": "вес желательных примеров",
    "undesirable weight": "вес нежелательных примеров", "density": "плотность", "weights": "веса",
    "lr scheduler type": "расписание скорости обучения", "effective batch": "эффективный батч", "t": "t",
}  # fmt: skip
_SAME_RU = {"settings": "те же настройки", "layers": "те же слои", "module": "те же модули", "modules": "те же модули"}
FACT_FORMS: list[tuple[str, object]] = [
    (r"an SFT stage", lambda m: "этап SFT"),
    (r"the base is no merge member", lambda m: "база не участвует в слиянии"),
    (r"(?P<v>[a-z_]+) loss", lambda m: f"лосс {m['v']}"),
    (r"IPO \(DPO loss\)", lambda m: "IPO (лосс DPO)"),
    (r"full fine-tuning \(no adapter\)", lambda m: "полное дообучение (без адаптера)"),
    (r"all linear modules", lambda m: "все линейные модули"),
    (r"not (?P<r>\w+) modules", lambda m: f"без модулей {m['r']}"),
    (r"(?P<r>\w+) modules", lambda m: f"модули {m['r']}"),
    (r"module not (?P<x>\S+)", lambda m: f"без модуля {m['x']}"),
    (r"module (?P<x>\S+)", lambda m: f"модуль {m['x']}"),
    (r"not dataset (?P<p>.+)", lambda m: f"не датасет {m['p']}"),
    (r"dataset (?P<p>.+)", lambda m: f"датасет {m['p']}"),
    (r"path (?P<p>.+)", lambda m: f"путь {m['p']}"),
    (r"output (?P<p>.+)", lambda m: f"результат в {m['p']}"),
    (r"(?P<d>\S+) output", lambda m: f"результат в {m['d']}"),
    (r"shards of at most (?P<s>.+)", lambda m: f"шарды не больше {m['s']}"),
    (r"effective batch (?P<n>\S+) \(batch × accumulation\)", lambda m: f"эффективный батч {m['n']} (батч × накопление)"),
    (r"merge method (?P<x>\S+)", lambda m: f"метод слияния {m['x']}"),
    (r"(?P<x>\S+) merge", lambda m: f"слияние {m['x']}"),
    (r"weight (?P<a>\S+) for (?P<x>.+), the rest split evenly", lambda m: f"вес {m['a']} для {m['x']}, остальное поровну"),
    (r"weight (?P<a>\S+) for (?P<x>.+), (?P<b>\S+) for the other member", lambda m: f"вес {m['a']} для {m['x']}, {m['b']} для другой модели"),
    (r"weight (?P<a>-\S+) for (?P<x>.+)", lambda m: f"вес {m['a']} для {m['x']}"),
    (r"(?P<x>\S+) \(not run by Graft\)", lambda m: f"{m['x']} (Graft это не запускает)"),
    (r"the same (?P<w>settings|layers|modules?) as the stage before", lambda m: f"{_SAME_RU[m['w']]}, что на предыдущем этапе"),
    (r"the same (?P<w>.+?) as the stage before",
     lambda m: f"то же значение ({FACT_WORDS_RU.get(m['w'], m['w'])}), что на предыдущем этапе"),
    (r"no sequence packing", lambda m: "без упаковки последовательностей"),
    (r"sequence packing", lambda m: "упаковка последовательностей"),
    (r"no gradient checkpointing", lambda m: "без чекпоинтинга градиентов"),
    (r"gradient checkpointing", lambda m: "чекпоинтинг градиентов"),
    (r"warmup (?P<v>\S+) of the total steps \(warmup_steps below 1 is a ratio\)",
     lambda m: f"прогрев {m['v']} от всех шагов (warmup_steps меньше 1 — это доля)"),
    (r"layers (?P<l>[^(]+?) \('(?P<x>.*)'\)", lambda m: f"слои {m['l']} («{m['x']}»)"),
    (r"full slices True", lambda m: "срезы по всем слоям"),
    (r"'(?P<x>.*)'", lambda m: f"«{m['x']}»"),
    (r"[\w.+/-]+", lambda m: m[0]),  # one technical name: "DPO", "DoRA", "FSDP", "ZeRO-3"
]  # fmt: skip
FACT_LINE = re.compile(
    r"(?P<core>.+?)(?: \(you said (?P<said>[^()]*)\))?"
    r"(?: \((?P<derived>from '.*'|said for both stages|\S+ × Graft's default \S+)\))?"
    r"(?: — merged as: (?P<merged>.+?))?(?: — (?P<scope>every training stage|\S+ stage))?(?P<missing> — NOT in the plan)?"
)


def _fact_ru(text: str) -> str | None:
    """One fact as describe() says it, in Russian; None when it has no Russian form."""
    for pattern, form in FACT_FORMS:
        m = re.fullmatch(pattern, text)
        if m:
            return form(m)  # type: ignore[operator]
    for en, ru in sorted(FACT_WORDS_RU.items(), key=lambda kv: -len(kv[0])):  # "learning rate 0.0001"
        if re.fullmatch(re.escape(en) + r" \S+(?:, \S+)*", text):
            return ru + text[len(en) :]
    return None


def facts_in_language(lines: list[str], goal: str) -> list[str]:
    """The review's fact lines ("rank 16 (you said 64, then 16) — SFT stage") as the person's language says them;
    unchanged for English goals. A line whose fact has no Russian form stays in English."""
    if not wants_russian(goal):
        return lines
    out = []
    for line in lines:
        m = FACT_LINE.fullmatch(line)
        core = _fact_ru(m["core"]) if m else None
        if m is None or core is None:
            out.append(line)
            continue
        if m["said"]:
            core += f" (вы указали {m['said'].replace(', then ', ', затем ')})"
        if m["derived"]:
            derived = re.fullmatch(r"from '(?P<x>.*)'", m["derived"])
            scaled = re.fullmatch(r"(?P<f>\S+) × Graft's default (?P<d>\S+)", m["derived"])
            if scaled:  # "half the default lr"
                core += f" ({scaled['f']} × значение Graft по умолчанию {scaled['d']})"
            else:
                core += f" (из «{derived['x']}»)" if derived else " (указано для обоих этапов)"
        if m["merged"]:
            core += f" — в слиянии: {m['merged']}"
        if m["scope"] == "every training stage":
            core += " — все этапы обучения"
        elif m["scope"]:
            core += f" — этап {m['scope'].removesuffix(' stage')}"
        out.append(core + (" — НЕТ в плане" if m["missing"] else ""))
    return out
