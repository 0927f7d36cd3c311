"""What a question about a checkpoint asks: the quantity, the part of the model, what to leave out.

"how many parameters in layer 1 excluding the norms" → quantity `parameters`, target layer 1,
exclude the norm component. A question may hold several ("the hidden size and how many
layers?", "the MLP of layer 3, then the attention of layer 3"): each part is parsed on its own
and inherits the quantity of the part before it when it names none. Words the parser does not
know are kept by name (`unknown`), so the answer can say which part it did not understand
instead of answering something else. Layers are numbered as in the tensor names (from 0);
ordinals ("the first layer", "во втором слое") count from 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Components as tools/naming.py classifies tensors, with the words people use for them.
COMPONENT_WORDS = {
    "attention": r"self[-_ ]?attn\w*|self[- ]?attention|attention|attn|внимани\w*|аттеншн\w*|аттенш\w*",
    "mlp": r"\bmlp\w*|feed[- ]?forward|\bffn\w*|\bff\b|fully[- ]connected|полносвязн\w*|\bмлп\b|ffn-\w+",
    "embedding": r"(?:input |token |word )?embed\w*|\bwte\b|эмбеддинг\w*|эмбединг\w*|вложени\w*",
    "lm_head": r"lm[_ ]?head|output (?:head|layers?|projection|embeddings?)|unembed\w*|выходн\w* (?:сло\w*|голов\w*|проекц\w*)"
    r"|голов\w* модели",
    "norm": r"\bnorm\w*|layer ?norms?|rms ?norms?|нормализац\w*|\bнорм\w*",
}
_COMPONENT_RE = {c: re.compile(p) for c, p in COMPONENT_WORDS.items()}

# Quantities, in the order they are tried: the first that matches a part is what it asks for.
QUANTITIES: list[tuple[str, str]] = [
    ("changed", r"chang\w*|differ\w*|modif\w*|измен\w*|отлича\w*|поменя\w*"),
    (
        "tied",
        r"\bti(?:e|es|ed|ing)\b|weight[- ]tying|shared (?:input/output )?embeddings|\bshar(?:e|es|ed|ing)\b.{0,20}\bweights?\b"
        r"|weights? shar\w*|embeddings?\b.{0,25}\bshared|shared\b.{0,25}\bembeddings?|общи\w* вес\w*|дел(?:ят|ит) вес\w*|связан\w*|привязан\w*|общие эмбеддинг\w*",
    ),
    (
        "kv_heads",
        r"(?:\bkv\b|key[- /]?values?|k/v|ключ\w*[- /]значени\w*|ключ\w*).{0,12}(?:\bheads?\b|голов\w*)"
        r"|(?:\bheads?\b|голов\w*).{0,12}(?:\bkv\b|key[- /]?values?|k/v|ключ\w*)|num_key_value_heads|\bgqa\b|grouped[- ]query|групп\w* (?:запрос\w*|внимани\w*)",
    ),
    ("head_dim", r"head[_ ](?:dim\w*|size)|размер\w* голов\w*"),
    (
        "hidden_size",
        r"hidden[_ ](?:size|dim\w*|width)|d_model|model (?:dim\w*|width)|embedding (?:dim\w*|size|width)"
        r"|скрыт\w* (?:размер\w*|размерност\w*|состояни\w*)|размер\w* скрыт\w*|размерност\w* (?:модели|эмбеддинг\w*)",
    ),
    ("intermediate_size", r"intermediate\w*|(?:ffn|mlp|inner)[_ ](?:dim\w*|size|width)|d_ff|промежуточн\w*"),
    ("vocab_size", r"vocab\w*|словар\w*|how many tokens|tokens? in the vocab|токенов в словаре"),
    (
        "context",
        r"context (?:length|window|size)|max(?:imum)?[_ ](?:position\w*|sequence length|context)|n_positions"
        r"|(?:длин\w*|размер\w*|окн\w*)\s+контекст\w*|контекст\w*",
    ),
    (
        "dtype",
        r"\bdtype\w*|data ?type|precision|\b(?:fp|bf)(?:16|32)\b|\bfloat\d*\b|\bhalf\b|тип\w* данных|точност\w*"
        r"|в каком формате",
    ),
    ("shape", r"\bshapes?\b|dimensions? of|размерност\w*|\bформ[аыу]\b"),
    (
        "bytes",
        r"\bbytes?\b|\bdisk\b|storage|memory|\bv?ram\b|видеопамят\w*|\b(?:kb|mb|gb|kib|mib|gib)\b|file size|size on disk|how much space"
        r"|\bвес(?:ит|ят|а файла)\b|размер\w* файл\w*|объ[её]м\w*|мест[ао]|памят\w*|байт\w*|мегабайт\w*|гигабайт\w*",
    ),
    ("breakdown", r"breakdown|by component|per component|split (?:by|across)|по компонент\w*|разбивк\w*|распредел\w*"),
    ("tensors", r"\btensors?\b|тензор\w*"),
    (
        "parameters",
        r"(?:сколько|число|количеств\w*)\s+(?:всего\s+)?весов|\bparam\w*|\bweights? count|how many weights|number of weights|параметр\w*",
    ),
    ("lora_rank", r"\brank\b|\blora[_ ]r\b|ранг\w*"),
    ("lora_alpha", r"\balpha\b|lora_alpha|альф\w*"),
    ("how_big", r"how (?:big|large)|size of|насколько (?:больш|велик)\w*|какого размера|\bbig\b"),
    (
        "heads",
        r"(?:query|attention|q)[- ]heads?|(?<!lm )(?<!lm_)(?<!output )\bheads?\b|(?<!выходн)(?<!выходные )голов\w*",
    ),
    ("layers", r"\b(?:layers?|blocks?)\b|сло[йяеюи]\w*|слоев|блок\w*"),
    (
        "architecture",
        r"architecture|model[_ ]type|what (?:kind|type) of model|архитектур\w*|тип\w* модели|что за модель",
    ),
    ("tokenizer", r"tokeni[sz]er|токенизатор\w*"),
    ("chat_template", r"chat template|chat_template|шаблон\w* чата|чат-шаблон\w*"),
    ("modules", r"\bmodules?\b|модул\w*"),
    ("adapter", r"adapter|адаптер\w*|which base|какой баз\w*|для какой"),
    (
        "summary",
        r"contain|inside|what(?:'s| is) in|describe|summary|overview|about (?:it|this|the model)|what is (?:this|it)\b"
        r"|содерж\w*|внутри|опиши|расскажи|что (?:это|в)\b|о модели|про модель",
    ),
]
_QUANTITY_RE = [(name, re.compile(p)) for name, p in QUANTITIES]
# Quantities that are one number of the whole model (no part of it).
MODEL_WIDE = {
    "breakdown",
    "tied",
    "kv_heads",
    "head_dim",
    "hidden_size",
    "intermediate_size",
    "vocab_size",
    "context",
    "heads",
    "layers",
    "architecture",
    "tokenizer",
    "chat_template",
    "adapter",
    "summary",
    "changed",
}

_EXCLUDE = re.compile(
    r"\b(?:excluding|exclude|without|except(?:\s+for)?|not\s+counting|not\s+including|minus|other\s+than|"
    r"leaving\s+out|apart\s+from|but\s+not|ignoring|(?:if\s+(?:you|we|i)\s+)?(?:don't|do\s+not|dont)\s+(?:count|include)|"
    r"(?:if\s+(?:you|we|i)\s+)?(?:leave|take)\s+out|(?:if\s+(?:you|we|i)\s+)?drop|не\s+уч(?:итывая|итыва\w*)|"
    r"если\s+не\s+(?:считать|учитывать)|не\s+считая|без\s+уч[её]та|без|кроме|за\s+вычетом|"
    r"исключая|не\s+включая)\b"
)
_EXCLUDED_AFTER = re.compile(r",\s*([^,]+?)\s+(?:excluded|not\s+counted|left\s+out|aside|исключ\w*|не\s+в\s+сч[её]т)\b")

_PARTS = re.compile(
    r",?\s+(?:and\s+then|then|and\s+also|after\s+that|а\s+потом|и\s+потом|потом|затем|а\s+также)\s+|[;?]\s+"
    r"|,?\s+and\s+(?=(?:how|what|which|is|does|do|are|the\s+number)\b)|,?\s+и\s+(?=(?:сколько|какой|какая|какое|какие|каков)\b)"
    r"|,\s+(?=(?:how|what|which|сколько|какой|какая|какие)\b)"
)

_LAYER_W = r"(?:(?:decoder|transformer|hidden|attention|mlp|трансформер\w*)\s+)?(?:layers?|blocks?|сло(?:й|я|е|ю|ем|и|ев|ям|ях|ями)|блок\w*)"
_ORD_EN = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
}
_ORD_RU = {
    "нулев": 1,
    "перв": 1,
    "втор": 2,
    "трет": 3,
    "четверт": 4,
    "пят": 5,
    "шест": 6,
    "седьм": 7,
    "восьм": 8,
    "девят": 9,
    "десят": 10,
    "одиннадцат": 11,
    "двенадцат": 12,
}
_CARD = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "один": 1,
    "одного": 1,
    "два": 2,
    "двух": 2,
    "три": 3,
    "трех": 3,
    "четыре": 4,
    "четырех": 4,
    "пять": 5,
    "пяти": 5,
    "шесть": 6,
    "шести": 6,
}
_ORD = (
    r"(?:"
    + "|".join(_ORD_EN)
    + "|"
    + "|".join(f"{s}\\w*" for s in _ORD_RU)
    + r"|last|final|penultimate|последн\w*|предпоследн\w*)"
)
_PER_LAYER = re.compile(
    r"\b(?:per[- ](?:layer|block)|each\s+(?:layer|block)|every\s+(?:layer|block)|layer[- ]by[- ]layer|by\s+layer|"
    r"на\s+(?:каждый\s+)?(?:слой|блок)|в\s+каждом\s+(?:слое|блоке)|каждого\s+(?:слоя|блока)|по\s+слоям|по\s+блокам|"
    r"послойно|(?:a\s+)?single\s+(?:decoder\s+|transformer\s+|hidden\s+)?(?:layer|block)|"
    r"(?:один|одн(?:ом|ого|им|у)|отдельн\w*)\s+(?:слое?|слой|блоке?|блок))\b"
)
# The norm after the last block ("the final norm", "финальная нормализация"), not the blocks' own norms.
_FINAL = re.compile(
    r"\b(?:final|last|top|output|closing|финальн\w*|последн\w*|выходн\w*|итогов\w*)\s+(?:layer\s*)?(?:norm\w*|ln_f|нормализац\w*|норм\w*)"
)
# Every layer as a part ("in the transformer blocks", "во всех слоях"): the blocks without the rest.
_ALL_LAYERS = re.compile(
    r"\b(?:in|of|across|within|for)\s+(?:the\s+|all\s+(?:the\s+)?|its\s+)?(?:decoder\s+|transformer\s+|hidden\s+)?"
    r"(?:layers|blocks)\b|\b(?:transformer|decoder)\s+(?:blocks|layers)\b|\ball\s+(?:the\s+)?(?:layers|blocks)\b"
    r"|(?:во|в)\s+(?:всех\s+)?(?:слоях|блоках)|\bвсе\s+(?:слои|блоки)"
)
_GENERIC = re.compile(
    r"^(?:model|models|checkpoint\w*|it|its|this|that|these|those|network|net|files?|weights?|whole|entire|total|all|"
    r"transformer\w*|decoder|each|every|safetensors|disk|memory|terms|config|folder|repo|there|them|they|hidden|"
    r"total|sum|модел\w*|чекпо\w*|нем|ней|нее|них|весах|весов|файл\w*|сет\w*|целом|сумме|трансформер\w*|каждом|"
    r"каждого|всех|всей|всем|этом|этой|нём|байт\w*|мегабайт\w*|сумм\w*|одном|memory|mb|gb|kb|gib|mib|"
    r"millions?|billions?|thousands?|units|total|миллион\w*|миллиард\w*|тысяч\w*|млн|млрд|штуках)$"
)


@dataclass
class Target:
    """A part of the model: a component, a module, some layers, or each layer in turn."""

    component: str | None = None
    module: str | None = None
    layers: list[int] | None = None
    per_layer: bool = False
    said: str = ""
    outside: bool = False  # only the tensors outside the blocks ("the final norm")

    @property
    def whole(self) -> bool:
        return self.component is None and self.module is None and self.layers is None and not self.per_layer


@dataclass
class Ask:
    """One thing asked: a quantity of a target, with parts left out."""

    quantity: str | None
    targets: list[Target] = field(default_factory=list)
    exclude: list[Target] = field(default_factory=list)
    said: str = ""
    unknown: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    asked_for: str | None = None  # the words of a quantity Graft has no template for ("rope theta")


def normalize(text: str) -> str:
    return text.lower().replace("ё", "е").replace("’", "'").strip()


def quantity_of(part: str) -> str | None:
    """The first quantity the part names, or None."""
    for name, pattern in _QUANTITY_RE:
        if pattern.search(part):
            return name
    return None


def _number(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return _CARD.get(word)


def _ordinal(word: str, num_layers: int | None) -> int | None:
    """0-based index for an ordinal word; None when unknown or relative to an unknown count."""
    if word in _ORD_EN:
        return _ORD_EN[word] - 1
    for stem, n in _ORD_RU.items():
        if word.startswith(stem):
            return n - 1
    if num_layers is None:
        return None
    if word in ("last", "final") or word.startswith("последн"):
        return num_layers - 1
    if word == "penultimate" or word.startswith("предпоследн"):
        return num_layers - 2
    return None


def _layers(text: str, num_layers: int | None, problems: list[str]) -> tuple[list[int] | None, bool, list[str]]:
    """(layer indices or None, per-layer?, the words that named them)."""
    found: list[int] = []
    said: list[str] = []
    taken = [False] * len(text)

    def take(m: re.Match[str]) -> bool:
        if any(taken[m.start() : m.end()]):
            return False
        for i in range(m.start(), m.end()):
            taken[i] = True
        said.append(m.group(0).strip())
        return True

    edge = r"first|last|top|bottom|перв\w*|последн\w*"
    count = rf"\d+|{'|'.join(_CARD)}"
    for m in re.finditer(  # "the last 2 layers", "двух последних слоях" (either order)
        rf"\b(?:(?P<e1>{edge})\s+(?P<n1>{count})|(?P<n2>{count})\s+(?P<e2>{edge}))\s+{_LAYER_W}", text
    ):
        word = m.group("e1") or m.group("e2")
        n = _number(m.group("n1") or m.group("n2"))
        if n is None or not take(m):
            continue
        if num_layers is None:
            problems.append(f"'{m.group(0)}' needs the layer count, which the files do not give")
            continue
        last = word in ("last", "top") or word.startswith("последн")
        found += list(range(num_layers - n, num_layers)) if last else list(range(n))
    for m in re.finditer(rf"\bс[о]?\s+(\d+|{_ORD})\s+по\s+(\d+|{_ORD})\s+{_LAYER_W}", text):
        a, b = m.group(1), m.group(2)
        ia = int(a) if a.isdigit() else _ordinal(a, num_layers)
        ib = int(b) if b.isdigit() else _ordinal(b, num_layers)
        if ia is not None and ib is not None and take(m):
            found += list(range(ia, ib + 1))
    for m in re.finditer(
        rf"{_LAYER_W}\s*(?:#|no\.?|number|номер|№)?\s*\.?(\d+)\s*(?:-|–|—|to|through|thru|until|\.\.|до|по)\s*(\d+)",
        text,
    ):
        if take(m):
            found += list(range(int(m.group(1)), int(m.group(2)) + 1))
    for m in re.finditer(rf"{_LAYER_W}\s*(?:#|no\.?|number|номер|№)?\s*\.?(\d+(?:\s*(?:,|and|&|и)\s*\d+)*)\b", text):
        if take(m):
            found += [int(n) for n in re.findall(r"\d+", m.group(1))]
    words = {**_CARD, "zero": 0, "ноль": 0, "нуль": 0}
    for m in re.finditer(rf"{_LAYER_W}\s+(?:number\s+|номер\s+)?({'|'.join(words)})\b", text):  # "layer two"
        if take(m):
            found.append(words[m.group(1)])
    for m in re.finditer(rf"\b(\d+)\s*-?(?:st|nd|rd|th|й|м|ом|ый|ий|ой|го|ого|ем)?\s+{_LAYER_W}", text):
        if take(m):
            found.append(int(m.group(1)) - 1)
    for m in re.finditer(rf"\b({_ORD})\s+(?:(?:decoder|transformer|hidden)\s+)?{_LAYER_W}", text):
        index = _ordinal(m.group(1), num_layers)
        if index is None:
            if take(m):
                problems.append(f"'{m.group(0)}' needs the layer count, which the files do not give")
            continue
        if take(m):
            found.append(index)
    per_layer = bool(_PER_LAYER.search(text))
    return (sorted(set(found)) if found else None), per_layer, said


def _components(text: str) -> list[tuple[int, str]]:
    """(position, component) for each component named, in order of appearance."""
    hits = []
    for name, pattern in _COMPONENT_RE.items():
        for m in pattern.finditer(text):
            hits.append((m.start(), name))
    hits.sort()
    seen: list[tuple[int, str]] = []
    for pos, name in hits:
        if name not in [n for _, n in seen]:
            seen.append((pos, name))
    return seen


def _modules(text: str, modules: set[str]) -> list[str]:
    return [
        m
        for m in sorted(modules, key=len, reverse=True)
        if re.search(rf"(?<![\w]){re.escape(m.lower())}(?![\w])", text)
    ]


def _targets(
    text: str, quantity: str | None, num_layers: int | None, modules: dict[str, str], problems: list[str]
) -> list[Target]:
    """The parts of the model the text names (none: the whole model)."""
    scrubbed = text
    if quantity in ("hidden_size", "intermediate_size", "tied", "head_dim", "vocab_size", "kv_heads", "heads"):
        return []  # these name model-wide facts; "embedding size" or "attention heads" are not parts
    layers, per_layer, layer_words = _layers(scrubbed, num_layers, problems)
    comps = [c for _, c in _components(scrubbed)]
    # A module named like a component ("lm_head") is that component; other modules narrow their component.
    named_modules = [
        m for m in _modules(scrubbed, set(modules)) if not any(p.fullmatch(m) for p in _COMPONENT_RE.values())
    ]
    comps = [c for c in comps if c not in {modules.get(m) for m in named_modules}]
    words = " ".join(layer_words)
    targets: list[Target] = [
        Target(module=m, layers=layers, per_layer=per_layer, said=f"{m} {words}".strip()) for m in named_modules
    ]
    final = _FINAL.search(text)
    targets += [
        Target(
            component=c,
            layers=layers,
            per_layer=per_layer,
            said=c,
            outside=bool(final) and c == "norm" and layers is None,
        )
        for c in comps
    ]
    if not targets and (layers is not None or per_layer):
        targets.append(Target(layers=layers, per_layer=per_layer, said=words))
    if not targets and quantity not in ("layers", None) and num_layers:
        every = _ALL_LAYERS.search(text)
        if every:
            targets.append(Target(layers=list(range(num_layers)), said=every.group(0).strip()))
    return targets


def _unknown_quantity(part: str) -> str | None:
    """The words a part asks about when they are no quantity Graft knows ("the learning rate")."""
    m = re.search(
        r"(?:what(?:'s| is| are| was)?|which|how many|number of|какой|какая|какое|какие|каков\w*|сколько|что за)\s+"
        r"(?:is\s+|are\s+|the\s+|its\s+|у\s+(?:модели|нее|неё|него)\s+)?([\w\s-]+?)(?:\s+(?:of|in|for|does|do|is|are|has|have|"
        r"у|в|во|для|есть|у модели)\b|[?,.]|$)",
        part,
    )
    if not m:
        return None
    words = m.group(1).strip()
    return words or None


def _unknown_parts(part: str, modules: dict[str, str]) -> list[str]:
    """Nouns after 'in/of' ('в/у') that name no part Graft knows ("router", "experts")."""
    out = []
    for m in re.finditer(
        r"\b(?:in|of|inside|within|во|в|у)\s+(?:the\s+|a\s+|an\s+|its\s+|this\s+|that\s+)?([a-zа-я_][\w-]*)", part
    ):
        word = m.group(1)
        rest = part[m.start(1) : m.start(1) + 40]
        if _GENERIC.match(word) or word.isdigit():
            continue
        if any(p.match(rest) for p in _COMPONENT_RE.values()) or word in {m.lower() for m in modules}:
            continue
        if re.match(
            rf"(?:\d+\s*-?\w*\s+)?{_LAYER_W}|{_ORD}|каждом|per|each|every|single|one\b|одн\w*|отдельн\w*|"
            + "|".join(_CARD),
            rest,
        ):
            continue
        if any(p.match(rest) for _, p in _QUANTITY_RE) or re.match(r"(?:bf|fp)\d+|float\w*|bfloat\w*|int\d+", word):
            continue
        out.append(word)
    return out


# Words that carry no fact of their own in a question about a checkpoint (EN, RU).
_FUNCTION_WORDS = set(
    """the a an of in on at to for from with by is are was were be been being does do did has have had it its it's
    this that these those there there's here what what's whats which how many much me my i you your we our us they them
    their can could would will should shall may might please tell show give list print display report describe explain
    count i'd like want know wonder let about and or then also total overall all each every per only just roughly
    approximately exactly currently now saved stored store stores take takes taking use uses used using contain contains
    containing hold holds get got find out number amount size big large whole entire model model's models weights
    weight any some actually really so vs across inside within between both than more most less combined together
    altogether sum up look see check whether if yes no same one single does'nt isn't is't aren't ok okay hey hi
    again quick quickly briefly exact exactly roughly kind type trainable matrix matrices space length percentage
    percent share fraction proportion ratio input output stored dimension values value altogether together component components through thru until need needs require requires required load loading lora dora qlora peft
    и в во на у с со по к ко о об от до из за для без при а но или же ли не что это этот эта эти этой этом этого его её
    ее их мне нам мы вы ты я как какой какая какое какие каков какова каково каковы сколько всего всех весь вся все всё
    ещё еще уже тут там где есть был была было были будет может можно пожалуйста покажи покажите скажи скажите
    расскажи расскажите назови дай дайте выведи подскажи перечисли опиши объясни посчитай сообщи уточни хочу знать
    узнать модель модели моделью моделей чекпойнт чекпойнте чекпойнта чекпоинт чекпоинте занимает занимают весит весят
    имеет имеют содержит содержат хранит хранится хранятся используется использует используют число числа количество
    штук неё нее него ней нём нем итого целиком вообще примерно сейчас ну один одна одно одном отдельно точно
    кратко размер размера размером веса весами весам весах матрица матрицы матрицу матрице обучаемых обучаемые
    доля долю процент процентов входных входные выходных выходные вместе суммарно компонентам компоненты компонентов приходится приходятся уходит уходят идет идут состояния состояние они оно она им ими нужно нужна надо лора лоры""".split()
)


# The parts a model-wide number may be said of ("attention heads", "the MLP's intermediate size").
_BELONGS = {
    "heads": ("attention",),
    "kv_heads": ("attention",),
    "head_dim": ("attention",),
    "intermediate_size": ("mlp",),
    "vocab_size": ("embedding", "lm_head"),
    "tied": ("embedding", "lm_head"),
    "hidden_size": ("embedding", "attention", "mlp"),
    "context": (),
}
# Words of another quantity that a quantity reads as its own ("the parameter breakdown", "how big … in bytes").
_READ_WITH = {
    "breakdown": ("parameters",),
    "how_big": ("parameters", "bytes"),
    "shape": ("tensors",),
    "vocab_size": ("tokenizer",),
}


def _masked(text: str, modules: dict[str, str], quantity: str | None = None) -> str:
    """The text with every word the parser knows blanked out."""
    # Only the quantity that was read: a second one ("parameter breakdown") must not pass as understood.
    read = {quantity, *_READ_WITH.get(quantity or "", ())}
    patterns = list(_COMPONENT_RE.values()) + [p for name, p in _QUANTITY_RE if quantity is None or name in read]
    patterns += [
        re.compile(_LAYER_W),
        re.compile(rf"\b{_ORD}"),
        re.compile(r"\b(?:" + "|".join([*_CARD, "zero", "ноль", "нуль"]) + r")\b"),
        _PER_LAYER,
        _ALL_LAYERS,
        _EXCLUDE,
        re.compile(r"\b(?:excluded|not\s+counted|left\s+out|aside|исключ\w*|не\s+в\s+сч[её]т|учета|учёта)\b"),
        re.compile(r"\b(?:mb|gb|kb|mib|gib|millions?|billions?|thousands?|м|мб|гб|млн|млрд|миллион\w*|тысяч\w*)\b"),
        re.compile(r"\b(?:bf16|fp16|fp32|float\d*|bfloat16|int\d+)\b"),
        re.compile(r"\b(?:adapters?|адаптер\w*|лор\w*|tensors?|тензор\w*)\b"),  # the object asked about, not a fact
        re.compile(r"\d+(?:[-–]\w+)?"),
    ]
    patterns += [re.compile(rf"(?<![\w]){re.escape(m.lower())}(?![\w])") for m in modules]
    keep = list(text)
    for pattern in patterns:  # every pattern reads the original text; their spans are blanked together
        for m in pattern.finditer(text):
            keep[m.start() : m.end()] = " " * (m.end() - m.start())
    return "".join(keep)


def _leftover_words(part: str, modules: dict[str, str], quantity: str | None = None) -> list[str]:
    """Words of the question that no rule read and that are not function words: never silently dropped."""
    words = re.findall(r"[a-zа-я_][\w'’-]*", _masked(part, modules, quantity))
    return [w for w in dict.fromkeys(words) if w not in _FUNCTION_WORDS and not _GENERIC.match(w) and len(w) > 1]


_ASKS_SOMETHING = re.compile(
    r"^(?:does|do|is|are|can|could|will|would|should|has|have|did|was|were|what|which|why|where|who|"
    r"how(?!\s+(?:many|big|large|much))|где|почему|зачем|есть\s+ли|что|как(?!ой|ая|ое|ие|ов)\w*)\b|.*\bли\b"
)


def _split_parts(text: str) -> list[str]:
    """Sub-questions: at order words and question words, and at 'and'/',' between two quantities."""
    parts = []
    for raw in _PARTS.split(text):
        part = raw.strip(" ,.?!")
        if not part:
            continue
        pieces = [p.strip(" ,.?!") for p in re.split(r"\s+(?:and|и|&)\s+|,\s+", part)]
        kinds = [quantity_of(p) for p in pieces]
        # "the embedding and output layers": a part named after 'and', not a second quantity
        names_part = any(
            k == "layers" and not re.search(r"how many|number of|count|сколько|числ|количеств", p)
            for p, k in zip(pieces, kinds, strict=True)
        )
        if (
            len(pieces) > 1
            and all(kinds)
            and len(set(kinds)) == len(kinds)
            and "summary" not in kinds
            and not names_part
            and not _EXCLUDE.search(part)
        ):
            parts += pieces
        else:
            parts.append(part)
    return parts


def parse(question: str, num_layers: int | None = None, modules: dict[str, str] | None = None) -> list[Ask]:
    """The things a question asks, in order (see the module docstring). `modules`: module name → component."""
    modules = modules or {}
    text = normalize(question)
    # "non-embedding parameters" are the parameters excluding the embedding
    text = re.sub(r"\bnon[- ]([a-z_]+)\s+(param\w*|weights?|tensors?)", r"\2 excluding \1", text)
    asks: list[Ask] = []
    for part in _split_parts(text):
        main, excluded = part, ""
        after = _EXCLUDED_AFTER.search(part)
        if after:
            main, excluded = part[: after.start()] + part[after.end() :], after.group(1)
        else:
            cut = _EXCLUDE.search(part)
            if cut:
                main, excluded = part[: cut.start()], part[cut.end() :]
        quantity = quantity_of(main)
        if quantity == "layers" and re.search(r"(?:how many|number of|count|сколько|число|количество)", main) is None:
            # "the MLP of layer 3" names a part, not a count of layers
            if asks or re.search(r"\d|" + _ORD, main):
                quantity = None
        if quantity is None and asks:
            quantity = asks[-1].quantity
        problems: list[str] = []
        ask = Ask(quantity=quantity, said=part, problems=problems)
        ask.targets = _targets(main, quantity, num_layers, modules, problems)
        single = re.search(r"\b(?:layer|block|слое|слой|слоя|блоке|блок|блока)\b(?:\s+\S+)?", main)
        if single and not ask.targets and quantity not in MODEL_WIDE | {None}:
            ask.unknown.append(single.group(0))  # "which layer …", "layer N" unread: which layer is not known
        if quantity in _BELONGS:  # a model-wide number of a part it does not describe ("heads of the MLP")
            ask.unknown += [c for _, c in _components(main) if c not in _BELONGS[quantity] and c not in ask.unknown]
        if excluded:
            ask.exclude = _targets(excluded, None, num_layers, modules, problems) or []
            if not ask.exclude and re.fullmatch(rf"\s*(?:the\s+)?(?:{_ORD}|\d+)\s*", excluded):
                # "all layers except the first", "во всех слоях, кроме первого": the layer word is left out
                layer_word = " слоя" if re.search(r"[а-я]", excluded) else " layer"
                ask.exclude = _targets(excluded + layer_word, None, num_layers, modules, problems) or []
            if not ask.exclude:
                ask.unknown.append(excluded.strip())
        if quantity is None:
            word = _unknown_quantity(main)
            if word:
                ask.unknown.append(word)
                ask.asked_for = word
            elif _ASKS_SOMETHING.match(main):  # "does it share …?" with no quantity known: never a count instead
                ask.unknown.append(part)
        ask.unknown += [w for w in _unknown_parts(main, modules) if w not in ask.unknown]
        if ask.quantity not in ("summary", "changed", "adapter"):
            asked = set(re.findall(r"[\w'-]+", ask.asked_for or ""))
            seen = " ".join(ask.unknown)
            ask.unknown += [w for w in _leftover_words(part, modules, ask.quantity) if w not in asked and w not in seen]
        asks.append(ask)
    return asks
