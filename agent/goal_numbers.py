"""Numbers as people type them in a goal, English and Russian: "16", "1e-4", "thirty-two", "шестнадцать".

Where are number words understood? Here. The planner and the fact check both read numbers through
`find_numbers`, so "rank thirty-two" and "ранг шестнадцать" are the same fact as "rank 32" and
"ранг 16". Russian words come in their case forms ("восьми", "шестнадцатью"), listed explicitly:
a small closed lexicon is exact, where a morphology library would guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "dozen": 12,
}  # fmt: skip
_EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,  # a common misspelling: dropped, it lost a merge share without a word (pass 50a)
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}


def _ru_forms() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    units: dict[str, int] = {
        "ноль": 0, "нуль": 0, "нуля": 0, "один": 1, "одна": 1, "одно": 1, "одну": 1, "одного": 1, "одной": 1,
        "одному": 1, "одним": 1, "два": 2, "две": 2, "двух": 2, "двум": 2, "двумя": 2, "три": 3, "трех": 3,
        "трем": 3, "тремя": 3, "четыре": 4, "четырех": 4, "четырем": 4, "четырьмя": 4,
    }  # fmt: skip
    soft = {  # -ь numerals: nominative, genitive/dative/prepositional (-и), instrumental (-ью)
        "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10, "одиннадцать": 11,
        "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14, "пятнадцать": 15, "шестнадцать": 16,
        "семнадцать": 17, "восемнадцать": 18, "девятнадцать": 19,
    }  # fmt: skip
    for word, value in soft.items():
        units[word] = value
        units[word[:-1] + "и"] = value
        units[word + "ю"] = value
    units["восьми"] = 8
    units["восьмью"] = 8
    tens: dict[str, int] = {}
    for word, value in {"двадцать": 20, "тридцать": 30}.items():
        tens.update({word: value, word[:-1] + "и": value, word + "ю": value})
    tens.update({"сорок": 40, "сорока": 40, "девяносто": 90, "девяноста": 90})
    for stem, value in (("пят", 50), ("шест", 60), ("сем", 70), ("восем", 80)):
        tens.update({stem + "ьдесят": value, stem + "идесяти": value, stem + "ьюдесятью": value})
    tens["восьмидесяти"] = 80
    hundreds = {
        "сто": 100, "ста": 100, "двести": 200, "двухсот": 200, "триста": 300, "трехсот": 300,
        "четыреста": 400, "четырехсот": 400, "пятьсот": 500, "пятисот": 500, "тысяча": 1000, "тысячи": 1000,
        "тысячу": 1000, "тысяч": 1000,
    }  # fmt: skip
    return units, tens, hundreds


_RU_UNITS, _RU_TENS, _RU_HUNDREDS = _ru_forms()

_EN_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
}  # fmt: skip
_RU_ORDINAL_STEMS = {
    "перв": 1, "втор": 2, "трет": 3, "четверт": 4, "пят": 5, "шест": 6, "седьм": 7, "восьм": 8, "девят": 9,
    "десят": 10, "одиннадцат": 11, "двенадцат": 12, "тринадцат": 13, "четырнадцат": 14, "пятнадцат": 15,
    "шестнадцат": 16, "двадцат": 20, "тридцат": 30,
}  # fmt: skip
_RU_ORDINAL = re.compile(
    r"(" + "|".join(sorted(_RU_ORDINAL_STEMS, key=len, reverse=True)) + r")"
    r"(ый|ий|ой|ого|ому|ым|ом|ая|ую|ое|ые|ых|ыми|ьего|ьему|ьим|ьем|ья|ье|ьи|ьих|ью)"
)
_DIGIT_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th|-?(?:й|го|ий|ый|ой|ом|ему|ого|я|е))")

DIGITS = r"(?:\d{1,3}(?:_\d{3})+|\d+(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+)"  # 2_048 as Python writes it
_WORD = re.compile(r"[a-zа-яё]+", re.IGNORECASE)


@dataclass(frozen=True)
class Number:
    """A number in the goal: where it is, its value, and whether it was written as words."""

    start: int
    end: int
    value: float
    words: bool = False
    kilo: bool = False  # written "4k": value is 4000; a context length reads it as 4096

    @property
    def is_int(self) -> bool:
        return float(self.value).is_integer()


def word_value(word: str) -> int | None:
    """The value of one cardinal number word (any listed case form), or None."""
    w = word.lower().replace("ё", "е")
    for table in (_EN_UNITS, _EN_TENS, _RU_UNITS, _RU_TENS, _RU_HUNDREDS):
        if w in table:
            return table[w]
    return {"hundred": 100, "thousand": 1000}.get(w)


def ordinal_value(word: str) -> int | None:
    """'third' / 'третий' / 'третьего' / '3rd' → 3; None for anything else."""
    w = word.lower().replace("ё", "е")
    if w in _EN_ORDINALS:
        return _EN_ORDINALS[w]
    m = _RU_ORDINAL.fullmatch(w)
    if m and not (m.group(2) == "ью" and m.group(1) != "трет"):
        return _RU_ORDINAL_STEMS[m.group(1)]
    m = _DIGIT_ORDINAL.fullmatch(w)
    return int(m.group(1)) if m else None


def _word_run(text: str, pos: int) -> tuple[int, int] | None:
    """The value and end of a number written in words that starts at `pos` ("one hundred and twenty-eight")."""
    total, current, end, seen = 0, 0, pos, False
    last_kind = ""
    i = pos
    while True:
        m = _WORD.match(text, i)
        if not m:
            break
        w = m.group(0).lower().replace("ё", "е")
        if w in ("and", "и") and seen:
            nxt = _WORD.match(text, _skip_space(text, m.end()))
            if nxt and word_value(nxt.group(0)) is not None and last_kind == "hundred":
                i = _skip_space(text, m.end())
                continue
            break
        value = word_value(w)
        if value is None:
            break
        if value in (100, 1000) and w in ("hundred", "thousand", *[k for k, v in _RU_HUNDREDS.items() if v == 1000]):
            current = (current or 1) * value
            if value == 1000:
                total, current = total + current, 0
            kind = "hundred"
        elif value >= 100:
            if last_kind in ("unit", "ten"):
                break
            current += value
            kind = "hundred"
        elif value >= 20:
            if last_kind in ("unit", "ten"):
                break
            current += value
            kind = "ten"
        else:
            if last_kind == "unit" or (last_kind == "ten" and value >= 10):
                break
            current += value
            kind = "unit"
        last_kind, seen, end = kind, True, m.end()
        i = _skip_joiner(text, m.end())
    return (total + current, end) if seen else None


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] == " ":
        i += 1
    return i


def _skip_joiner(text: str, i: int) -> int:
    if i < len(text) and text[i] == "-":
        return i + 1
    return _skip_space(text, i)


_POINT = re.compile(r"\s+(?:point|запятая|точка)\s+", re.IGNORECASE)


_WHOLE = re.compile(r"\s+(?:целых|целая|целой|целую)\s+", re.IGNORECASE)
_PLACES = re.compile(r"\s+(десятитысячн\w*|стотысячн\w*|миллионн\w*|десят\w*|сот\w*|тысячн\w*)", re.IGNORECASE)
_SCALES = (
    ("десятитысячн", 10_000),
    ("стотысячн", 100_000),
    ("миллионн", 1_000_000),
    ("тысячн", 1000),
    ("сот", 100),
    ("десят", 10),
)


_FRACTION_PLACES = (
    "десятых",
    "десятая",
    "десятую",
    "десятым",
    "десятой",
    "сотых",
    "сотая",
    "сотую",
    "сотым",
    "сотой",
    "тысячн",
    "десятитысячн",
    "стотысячн",
    "миллионн",
)  # fmt: skip  («семи десятым», «с пятью сотыми»)


def _scale(word: str) -> int:
    return next(scale for stem, scale in _SCALES if word.lower().startswith(stem))


def _ru_fraction(text: str, end: int, value: int) -> tuple[float, int] | None:
    """'ноль целых две десятых' → 0.2, 'пять сотых' → 0.05: (value, end), or None."""
    whole = _WHOLE.match(text, end)
    if whole:
        run = _word_run(text, whole.end())
        if run is None:
            return None
        digits, after = run
        places = _PLACES.match(text, after)
        if not places:  # spoken "ноль целых пять" is 0.5, "ноль целых двадцать пять" 0.25: the digits as written
            return value + digits / 10 ** len(str(digits)), after
        return value + digits / _scale(places.group(1)), places.end()
    places = _PLACES.match(text, end)
    if places and places.group(1).lower().startswith(_FRACTION_PLACES):  # "одна десятитысячная" → 0.0001
        return value / _scale(places.group(1)), places.end()
    if value == 0 and re.match(r"\s+", text[end:]):  # "ноль пять сотых" (no "целых") is 0.05
        run = _word_run(text, _skip_space(text, end))
        places = _PLACES.match(text, run[1]) if run else None
        if run and places and places.group(1).lower().startswith(_FRACTION_PLACES):
            return run[0] / _scale(places.group(1)), places.end()
    return None


_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_TIMES_TEN = re.compile(
    r"(?<![\w.])(?:(\d+(?:[.,]\d+)?)\s*[·*×x]\s*)?10\s*(?:\^|\*\*)\s*([-−]?\s*\d+)|(?:(\d+(?:[.,]\d+)?)\s*[·*×x]\s*)?10([⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)"
)
_DECIMAL_COMMA = re.compile(
    r"(?<![\d,.])\d+,\d+(?=e[-+]?\d)"  # "2,5e-5"
    r"|(?:(?<=[a-zа-я] )|(?<=[=:])|(?<=[=:] ))\d+,\d+(?!\d)(?!,\d)"  # "lr 0,0001", "t=0,3" (not a list "2,3,4")
    r"|(?<![\d,.])0,\d+(?![\d,])"  # "веса 0,5 0,25 и 0,25": a zero before the comma makes it a decimal
    r"|(?<![\d,.])\d+,\d+(?=\s*(?:эпох|epoch))",  # "1,5 эпохи"
    re.IGNORECASE,
)


_SPOKEN_POWER = re.compile(
    r"(?<![\w-])([a-zа-я]+)\s+(?:[eе]\s+(?:minus|минус)|times\s+ten\s+to\s+the\s+minus|на\s+десять\s+в\s+минус)\s+([a-zа-я]+)"
    r"(?![\w-])",
    re.IGNORECASE,
)


# method and setting names typed in Cyrillic, each the Latin name's length (positions hold)
_LATIN = {"дпо": "dpo", "сфт": "sft", "ипо": "ipo", "орпо": "orpo", "симпо": "simpo", "бэта": "beta", "ранк": "rank",
          "ранком": "rank  ", "ранка": "rank ", "лоры": "lora", "лора": "lora", "лору": "lora", "дора": "dora", "дору": "dora",
          "тайс": "ties", "тайсом": "ties  ", "тайса": "ties ", "тайсу": "ties ", "даре": "dare", "слерп": "slerp", "дэа тайс": "dareties", "дэа-тайс": "dareties",
          "дэир": "dare", "дэйр": "dare", "дэар": "dare", "тайз": "ties", "тиес": "ties", "делла": "della",
          "дейр": "dare", "дейр тайс": "dareties ", "дейр-тайс": "dareties ", "дэйр тайс": "dareties ",
          "линеар": "linear", "ворм ап": " warmup", "варм ап": " warmup", "варм-ап": " warmup", "ворм-ап": " warmup", "вормап": "warmup", "вармап": "warmup",
          "грпо": "grpo", "гпро": "grpo", "ппо": "ppo", "ревард": "reward", "таск арифметик": "taskarithmetic", "таск арифметика": "task_arithmetic", "таск арифметикой": "task_arithmetic ",
          "таск арифметики": "task_arithmetic", "таск арифметику": "task_arithmetic", "таск-арифметика": "task_arithmetic",
          "таск-арифметикой": "task_arithmetic ",
          "таск-арифметик": "taskarithmetic", "модел сток": "modelstock", "модель сток": "model stock",
          "эпсилон": "epsilon", "лямбда": "lambda", "дипспидом": "deepspeed", "сигмоид": "sigmoid", "сигмоида": "sigmoid ",
          "сигмоиду": "sigmoid ", "сигмоидой": "sigmoid  ", "сигмоиды": "sigmoid ", "сигмоиде": "sigmoid ",
          "фп": "fp", "бф": "bf", "сафетензор": "safetensor", "сафетензоры": "safetensors", "сейфтензор": "safetensor",
          "сейфтензоры": "safetensors", "таргеты": "targets", "таргет": "target",
          "фулл": "full", "файнтюн": "finetun", "файнтюнинг": "finetuning",
          # module names said in Cyrillic ("обучи гейт и ап проекции, даун не трогай", "на атеншене")
          "гейт": "gate", "гейта": "gate ", "гейты": "gate ", "ап": "up", "даун": "down", "дауна": "down ",
          "атеншн": "attn  ", "атеншен": "attn   ", "атеншене": "attn    ", "атеншну": "attn   ",
          "аттеншн": "attn   ", "аттеншен": "attn    ", "аттеншене": "attn     "}  # fmt: skip
_TRANSLITERATED = re.compile(
    r"(?<![а-яА-ЯёЁ])(?:" + "|".join(sorted(_LATIN, key=len, reverse=True)) + r")(?![а-яА-ЯёЁ])", re.I
)


_HALF = re.compile(r"(?<![\w.])([a-zа-яё]+|\d+)\s+(?:and\s+a\s+half|с\s+половиной)(?![\w])", re.IGNORECASE)


def _half(m: re.Match[str]) -> str:
    whole = int(m.group(1)) if m.group(1).isdigit() else word_value(m.group(1).lower())
    if whole is None:
        return m.group(0)
    written = f"{whole}.5"
    return written.ljust(len(m.group(0))) if len(written) <= len(m.group(0)) else m.group(0)


# a merge member's share said as a fraction: "ours gets one third", "партнёру четверть", "two thirds to the base"
_SHARES = [
    (r"two[- ]thirds|две\s+трет(?:и|ей)", 2 / 3), (r"three[- ]quarters|три\s+четверт(?:и|ей)", 3 / 4),
    (r"three[- ]fifths|три\s+пят(?:ых|ые)", 3 / 5), (r"two[- ]fifths|две\s+пят(?:ых|ые)", 2 / 5),
    (r"four[- ]fifths|четыре\s+пят(?:ых|ые)", 4 / 5),
    (r"(?:(?:one|a)[- ])?third|(?:одн[ауо]й?\s+)?трет(?:ь|и|ью)", 1 / 3),
    (r"(?:(?:one|a)[- ])?quarter|(?:одн[ауо]й?\s+)?четверт(?:ь|и|ью)", 1 / 4),
    (r"(?:(?:one|a)[- ])?fifth|(?:одн[ауо]й?\s+)?пят(?:ая|ую|ой)(?!\s+(?:эпох|сло|блок|стади|этап))", 1 / 5),
    (r"(?:(?:one|a)[- ])?tenth|(?:одн[ауо]й?\s+)?десят(?:ая|ую|ой)(?!\s+(?:эпох|сло|блок|стади|этап))", 1 / 10),
    (r"(?:one\s+|a\s+)?half(?![- ]?(?:and|way|-))|половин(?:а|у|ой)", 1 / 2),
]  # fmt: skip
_SHARE = re.compile(
    r"(?<![\w./-])(?:" + "|".join(f"(?P<s{i}>{p})" for i, (p, _) in enumerate(_SHARES)) + r")(?![\w/-])", re.IGNORECASE
)
# a fraction of layers, data or training time is no weight: "the top third of the layers", "half an epoch"
_NOT_A_SHARE_AFTER = re.compile(
    r"\s+(?:of\s+|из\s+)?(?:the\s+|an?\s+|its\s+|all\s+)?(?:model'?s?\s+|модели\s+)?"
    r"(?:layer|block|epoch|step|data|dataset|train|token|сло|блок|эпох|шаг|данн|датасет|обучени|токен"
    r"|(?:(?:sft|dpo)'?s?\s+)?(?:lr|learning|rank|alpha|beta|ранг|альф|бет|скорост|лр)|that\b|this\b|it\b|этого|того)",
    re.IGNORECASE,
)
_NOT_A_SHARE_BEFORE = re.compile(
    r"(?:top|bottom|first|last|middle|upper|lower|early|late|central|front|back|верхн\w*|нижн\w*|средн\w*"
    r"|перв\w*|последн\w*|центральн\w*|начальн\w*|конечн\w*|каждую|каждой|every|each)\s+$",
    re.IGNORECASE,
)
# where a fraction is a member's share: said with the member, a weight word, "gets", or "the rest" beside it
_MEMBER = (
    r"(?:[~.\w-]*/[\w./-]*|(?:the\s+|our\s+|my\s+)?(?:base|partner|other(?:\s+one)?|ours|theirs|result|original"
    r"|(?:first|second|third)(?:\s+one)?|model|one)\b|баз\w*|партн[её]р\w*|наш\w*|его|ему|их|им|исходн\w*|друг\w*"
    r"|перв\w*|втор\w*|результат\w*)"
)
_SHARE_BEFORE = re.compile(
    r"(?:\b(?:gets?|takes?|receives?|weight(?:ed)?|weights?|give\s+\S+|t|each)|(?<![а-я])(?:вес\w*|получа\w*|получит|дай\s+\S+"
    r"|отда\w*\s+\S+|нам|мне|ему|им|ей|партн[её]ру|базе|нашей|нашему|доля(?:\s+\S+)?)|\bshare(?:\s+of\s+\S+)?|[=:]"
    # "ours half, partner half", "нашей модели две трети": the member said right before its share
    r"|\b(?:ours|theirs|mine|(?:the\s+)?(?:partner|base))|(?<![а-я])(?:нашей|нашему|базовой|исходной|другой)\s+модел\w*"
    r"|(?<![а-я])(?:наша|наш|моя|мой|база|базовая|партн[её]р|#{3,}))"
    r"\s*[=:]?\s*$",
    re.IGNORECASE,
)
_SHARE_AFTER = re.compile(
    rf"\s*(?:(?:of\s+the\s+weight\s+|of\s+it\s+)?(?:to|for|from|of|на|для|у|от|—|-|:)\s+)?{_MEMBER}"
    r"|\s*(?:,|and|и|а|;)\s*(?:the\s+)?(?:rest|remainder|остальн\w*|остаток)",
    re.IGNORECASE,
)
_MERGING = re.compile(
    # "all-linear" (PEFT's target) and "linear schedule" name no merge
    r"merg|blend|mix|ties|slerp|dare|della|arithmetic|averag|soup|interpolat"
    r"|(?<!all-)(?<!all_)(?<!all )linear(?!\s*(?:schedul|warmup|decay|lr|learning|layers?|projections?|modules?))"
    r"|смеш|слей|слия|слить|объедин"
    r"|усредн|мерж|мердж|линейн"
    # «треть от B, треть от C, остальное наша», "a third from B": shares taken from a model folder are a merge
    r"|(?:треть|трети|четверт\w*|половин\w*|third|quarter|half)\s+(?:весов\s+|of\s+the\s+weights\s+)?(?:от|from)\s+\S*/",
    re.IGNORECASE,
)


def exact_share(value: float) -> float:
    """A third or two thirds as merge_shares had room to write them ("треть" is "0.333"), or as typed to three places
    or more, back to six places: 0.333 and 0.667 stand for 1/3 and 2/3, and the weights add up to one."""
    said = f"{value:.10g}"
    if re.fullmatch(r"0\.3{3,}4?", said):
        return round(1 / 3, 6)
    if re.fullmatch(r"0\.6{2,}7|0\.6{3,}", said):
        return round(2 / 3, 6)
    return value


def merge_shares(text: str) -> str:
    """Fractions said as a merge member's share, as decimals in place (length kept): "one third" → "0.3333333"."""
    if not _MERGING.search(text):
        return text

    def share(m: re.Match[str]) -> str:
        before = text[max(0, m.start() - 16) : m.start()]
        each_share = re.search(r"\beach\s+$", before) and re.match(r"(?:a|one)[- ]", m.group(0), re.I)  # "each a third"
        if _NOT_A_SHARE_AFTER.match(text, m.end()) or (_NOT_A_SHARE_BEFORE.search(before) and not each_share):
            return m.group(0)
        if re.search(r"half[- ]and[- ]$", before, re.IGNORECASE):  # "half and half" is 0.5 each, read as a phrase
            return m.group(0)
        if not (_SHARE_BEFORE.search(before) or _SHARE_AFTER.match(text, m.end())):
            return m.group(0)  # "DPO at half the SFT lr": a fraction of a setting, not a member's share
        value = next(v for i, (_, v) in enumerate(_SHARES) if m.group(f"s{i}"))
        width = len(m.group(0))
        written = f"{value:.{max(1, min(6, width - 2))}f}"  # 6 places, as other shares are rounded, where they fit
        written = written.rstrip("0") if abs(float(written) - value) < 1e-12 else written
        return written.ljust(width)

    return _SHARE.sub(share, text)


_RU_DIGITS = {"один": 1, "одна": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7,
              "восемь": 8, "девять": 9}  # fmt: skip
_ZERO_POINT = re.compile(
    r"(?<![\w.])(?:ноль|нуль)\s+((?:(?:ноль|нуль)\s+)*)("
    + "|".join(_RU_DIGITS)
    + r")(?![\w])(?!\s+(?:целых|десят|сот))",
    re.IGNORECASE,
)


_UNITS_WORDS = "one|two|three|four|five|six|seven|eight|nine"
_TENS_WORDS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_HUNDREDS = re.compile(rf"(?<![\w-])({_UNITS_WORDS})[- ]({_TENS_WORDS})(?:-({_UNITS_WORDS}))?(?![\w-])", re.IGNORECASE)


def _hundreds(m: re.Match[str]) -> str:
    """'two-fifty-six' → 256, 'one twenty-eight' → 128: hundreds said the way people say model sizes and ranks."""
    value = (
        word_value(m.group(1).lower()) * 100
        + word_value(m.group(2).lower())
        + (word_value(m.group(3).lower()) if m.group(3) else 0)
    )
    written = str(value)
    return written.ljust(len(m.group(0))) if len(written) <= len(m.group(0)) else m.group(0)


def _zero_point(m: re.Match[str]) -> str:
    zeros = len(re.findall(r"ноль|нуль", m.group(1), re.IGNORECASE))
    written = "0." + "0" * zeros + str(_RU_DIGITS[m.group(2).lower()])
    return written.ljust(len(m.group(0))) if len(written) <= len(m.group(0)) else m.group(0)


def kto_word(text: str) -> str:
    """'потом КТО на thumbs.jsonl', 'затем кто на thumbs.jsonl': the method KTO, not the word 'кто' (who)."""
    text = re.sub(r"(?<![а-яА-ЯёЁ])КТО(?![а-яА-ЯёЁ])", "kto", text)
    return re.sub(
        # "сфт, потом кто" (the goal's end), "затем кто, и слей": an order word, then the method alone
        r"(?<![а-яё])((?:потом|затем|после\s+этого|сначала|then|,)\s+|^\s*)кто(?=\s+(?:на|с|по)\s|\s*(?:[,.;!]|$))",
        r"\1kto",
        text,
        flags=re.I,
    )


_PERCENT_AFTER = re.compile(r"\s*(?:%|per\s*cent\b|процент\w*)", re.IGNORECASE)


_SMALL_WORDS = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|один|одна|одно|два|две|три|четыре|пять|шесть|семь|восемь"
    r"|девять|десять)"
)
_WEIGHT_WORDS = re.compile(
    rf"(?<![\w-])(?P<lead>weights?|веса|весами)\s*[:=]?\s*(?P<list>{_SMALL_WORDS}(?:\s*(?:,|and|и|/|:)\s*{_SMALL_WORDS})+)"
    r"(?![\w-])",
    re.IGNORECASE,
)


def _weight_words(m: re.Match[str]) -> str:
    """Each number word of a list of merge weights written as its digit, in place (length kept)."""
    listed = re.sub(
        _SMALL_WORDS, lambda w: str(word_value(w.group(0).lower())).ljust(len(w.group(0))), m["list"], flags=re.I
    )
    return m.group(0)[: m.start("list") - m.start()] + listed


def _percent_words(text: str) -> str:
    """Number words said as a percentage, as digits in place (length kept): a share or a ratio said in words is
    otherwise an unplaced word, and "seventy percent ours" was asked about."""
    numbers = find_numbers(text)
    percent_said = any(_PERCENT_AFTER.match(text, n.end) for n in numbers)
    for n in reversed(numbers):
        if not (n.words and n.is_int and 0 < n.value <= 100):
            continue
        if _PERCENT_AFTER.match(text, n.end):
            written = str(int(n.value))
        elif percent_said and _MERGING.search(text) and _MEMBER_BEFORE.search(text[max(0, n.start - 40) : n.start]):
            written = f"{int(n.value)}%"  # «B двадцать процентов, наша восемьдесят»: the second share is a percent too
            if not _SHARE_ENDS.match(text, n.end):
                continue
        else:
            continue
        if len(written) <= n.end - n.start:
            text = text[: n.start] + written.ljust(n.end - n.start) + text[n.end :]
    return text


# a member named right before a share said in words ("наша восемьдесят", "ours eighty", "…/partner двадцать")
_MEMBER_BEFORE = re.compile(
    r"(?:(?<![\w])(?:наш[аеиуя]\w*|мо[яеюй]\w*|баз[аеуы]\w*|исходн\w*|ours|mine|our\s+model|the\s+base|base)|\S*/\S*)"
    r"\s*[:—–-]?\s*$",
    re.IGNORECASE,
)
_SHARE_ENDS = re.compile(r"\s*(?:[,.;)]|$|\s(?:и|а|and|then|потом|затем)\b)", re.IGNORECASE)


# a fraction said as a setting's own value, not as a part of another one ("beta one tenth", not "a tenth of the lr")
_SETTING_FRACTION = re.compile(
    r"(?<![\w-])(?P<name>beta|dropout|density|бета|бетой|дропаут\w*|плотност\w*)\s*[=:]?\s+"
    r"(?P<frac>(?:one|a)\s+tenth|(?:one|a)\s+half|(?:one|a)\s+quarter|(?:one|a)\s+fifth|одна\s+десятая|одну\s+десятую"
    r"|половина|половину|четверть)(?![\w-])(?!\s+(?:of|от)\b)",
    re.IGNORECASE,
)
_FRACTION_VALUES = {
    "tenth": 0.1,
    "half": 0.5,
    "quarter": 0.25,
    "fifth": 0.2,
    "десят": 0.1,
    "половин": 0.5,
    "четверт": 0.25,
}


def _setting_fraction(m: re.Match[str]) -> str:
    value = next(v for k, v in _FRACTION_VALUES.items() if k in m["frac"].lower())
    written = f"{value:g}".ljust(len(m["frac"]))
    return m.group(0)[: m.start("frac") - m.start()] + written


_SHARE_VALUE = {"two thirds": "0.666667", "three quarters": "0.75", "one third": "0.333333", "one quarter": "0.25",
                "две трети": "0.666667", "три четверти": "0.75", "одна треть": "0.333333"}  # fmt: skip
_FRACTION_VALUE = {"half": "0.5", "tenth": "0.1", "quarter": "0.25", "fifth": "0.2", "hundredth": "0.01"}


def spelled_numbers(text: str) -> str:
    """Numbers in spellings people paste, rewritten in place with the text's length kept (positions hold):
    "3e−5" (Unicode minus), "3е-5" (Cyrillic е), "2·10^-5", "1 × 10⁻⁴", "lr 0,0001", "1,5 эпохи"."""
    text = text.replace("−", "-")
    text = re.sub(r"(?<=[\s(,:=])\+(?=\d*\.?\d)", " ", text)  # "B +0.8, C -0.3": a plus sign changes nothing
    text = re.sub(r"(?<=\d)[еЕ](?=[-+]?\d)", "e", text)
    text = _TRANSLITERATED.sub(lambda m: _LATIN[m.group(0).lower()], text)  # "дпо", "сфт", "бэта": the Latin names
    text = kto_word(text)
    text = re.sub(
        r"(?<![\w.])x(\d+)(?=\s*(?:gpus?|видеокарт|гпу|a100|h100|h200)\b)", r"\1x", text, flags=re.I
    )  # "x8 gpus"
    text = re.sub(r"(?<![\w-])dop(?=\s+(?:on|with|at|на|с)\s)", "dpo", text)  # "then dop on prefs.jsonl": a typo of DPO
    text = re.sub(r"(?<![а-яА-ЯёЁ\w])р(?=\s*[=:]?\s*\d)", "r", text)  # "лора р 8": the rank
    text = re.sub(r"(?<![а-яА-ЯёЁ\w])[тТ](?=\s*[=:]\s*\d*[.,]?\d)", "t", text)  # "слерп т=0.35": SLERP's t
    text = re.sub(  # «10 процентов», «процентов 20»: a percent sign, as the share readers take it
        r"(?<![\w.])(\d+(?:[.,]\d+)?)\s*процент(?:ов|а)?(?![а-яА-ЯёЁ])|(?<![а-яА-ЯёЁ])процент(?:ов|а)\s+(\d+(?:[.,]\d+)?)(?![\w.%])",
        lambda m: ((m.group(1) or m.group(2)) + "%").ljust(len(m.group(0))),
        text,
    )
    text = re.sub(  # «партнёру десятая часть»: a tenth, a fifth of the whole
        r"(?<![а-яА-ЯёЁ])(?:одн[ау]\s+)?(десят|пят)(?:ая|ую)\s+част[ьи](?![а-яА-ЯёЁ])",
        lambda m: ("0.1" if m.group(1).lower() == "десят" else "0.2").ljust(len(m.group(0))),
        text,
    )
    text = re.sub(  # "ours gets two thirds", «нашей две трети»: a share of the whole (not "two thirds of the layers")
        r"(?<![\w-])(?:two[ -]thirds|three[ -]quarters|one[ -]third|one[ -]quarter|две\s+трети|три\s+четверти|одна\s+треть)"
        r"(?![\w-])(?!\s+(?:of|от|из|as|the|that)\b)",
        lambda m: _SHARE_VALUE[re.sub(r"[\s-]+", " ", m.group(0).lower())].ljust(len(m.group(0))),
        text,
        flags=re.I,
    )
    text = re.sub(  # «t равно одной четверти», «одну треть»: a fraction as a value (it read «одной» as 1)
        r"(?<![\w-])одн(?:а|ой|у)\s+(четверт\w*|трет\w*)(?![\w-])(?!\s+(?:от|из)(?![\w-]))",
        lambda m: ("0.25" if m.group(1).lower().startswith("четв") else "0.333333"[: len(m.group(0))]).ljust(
            len(m.group(0))
        ),
        text,
        flags=re.I,
    )
    text = re.sub(  # "t seven tenths", "five hundredths": a decimal said in words (not "three tenths of the lr")
        rf"(?<![\w-])({_UNITS_WORDS})\s+(tenths|hundredths)(?![\w-])(?!\s+(?:of|that|the|as)\b)",
        lambda m: f"{word_value(m.group(1).lower()) / (10 if m.group(2).lower() == 'tenths' else 100):g}".ljust(
            len(m.group(0))
        ),
        text,
        flags=re.I,
    )
    text = re.sub(  # "beta of one tenth", "gamma one half": a fraction as the value (not "a tenth of that lr")
        r"\b(?:one\s+(half|tenth|quarter|fifth|hundredth)|a\s+(tenth|hundredth))\b(?!\s+(?:of|that|the|an?|as)\b)",
        lambda m: _FRACTION_VALUE[(m.group(1) or m.group(2)).lower()].ljust(len(m.group(0))),
        text,
        flags=re.I,
    )

    def power(m: re.Match[str]) -> str:
        mantissa = (m.group(1) or m.group(3) or "1").replace(",", ".")
        exponent = (m.group(2) or m.group(4) or "").translate(_SUPERSCRIPT).replace("−", "-").replace(" ", "")
        written = f"{mantissa}e{exponent}"
        return written.ljust(len(m.group(0))) if len(written) <= len(m.group(0)) else m.group(0)

    text = _TIMES_TEN.sub(power, text)

    def spoken(m: re.Match[str]) -> str:  # "five e minus seven", "пять на десять в минус седьмой"
        mantissa, exponent = word_value(m.group(1)), word_value(m.group(2)) or ordinal_value(m.group(2))
        if mantissa is None and re.fullmatch(r"полтора|полторы|полутора", m.group(1), re.I):
            mantissa = 1.5  # "полтора на десять в минус четвёртой" is 1.5e-4
        if mantissa is None or exponent is None:
            return m.group(0)
        written = f"{mantissa}e-{exponent}"
        return written.ljust(len(m.group(0))) if len(written) <= len(m.group(0)) else m.group(0)

    text = _SPOKEN_POWER.sub(spoken, text)
    text = re.sub(r"(?<![\w.])(\d+(?:\.\d+)?) e([-+]?\d+)(?!\w|\.\d)", r"\1e\2 ", text)  # "lr 5 e-5"
    text = _HALF.sub(_half, text)
    text = merge_shares(text)
    text = _SETTING_FRACTION.sub(_setting_fraction, text)  # "beta one tenth" is beta 0.1
    text = re.sub(
        r"(?<![а-яё])(?:полтора|полторы|полутора)(?![а-яё])", lambda m: "1.5".ljust(len(m.group(0))), text, flags=re.I
    )
    text = _HUNDREDS.sub(_hundreds, text)  # "rank two-fifty-six" is 256 (it read rank 2: silent)
    text = _percent_words(text)  # "seventy percent ours", "тридцать процентов": a share, read as 70 %
    text = _WEIGHT_WORDS.sub(_weight_words, text)  # «веса один и два», "weights one and two": the weights as said
    text = re.sub(  # "30 процентов", "25 percent": one spelling, "30%", the text's length kept
        r"(?<![\w.])(\d+(?:\.\d+)?)(\s*)(percent|per\s+cent|процент(?:ов|а|ы)?)(?![\w])",
        lambda m: (m.group(1) + "%").ljust(len(m.group(0))),
        text,
        flags=re.IGNORECASE,
    )
    text = _ZERO_POINT.sub(_zero_point, text)  # "гаммой ноль пять" is 0.5, "ноль ноль пять" 0.05
    digit = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
    text = re.sub(  # "dropout point one", "beta point two five": a decimal said without its zero, digit by digit
        rf"(?<![\w.])(?<!zero )(?<!oh )point((?:\s+{digit})+)(?![\w])",
        lambda m: ("0." + "".join(str(word_value(w.lower()) or 0) for w in m.group(1).split())).ljust(len(m.group(0))),
        text,
        flags=re.IGNORECASE,
    )
    if re.search(r"(?<![a-zа-я])(?:orpo|орпо)(?![a-zа-я])", text, re.IGNORECASE) and not re.search(
        r"task[_ ]arithmetic|ties|della|merg|слей|слия|мерж", text, re.IGNORECASE
    ):  # ORPO's λ in the paper is TRL's ORPOConfig.beta: "ORPO, лямбда 0.25" sets it
        text = re.sub(
            r"(?<![\w])(?:lambda|лямбда|лямбдой|лямбду)(?![\w])",
            lambda m: "beta".ljust(len(m.group(0))),
            text,
            flags=re.I,
        )  # "гаммой ноль пять" is 0.5, "ноль ноль пять" 0.05
    text = re.sub(  # "с весом минус 0.3", "weight minus 0.5": a negative value
        r"(?<![\w-])(минус|minus)(\s+)(?=\d)", lambda m: " " * (len(m.group(0)) - 1) + "-", text, flags=re.IGNORECASE
    )  # "two and a half epochs", "две с половиной"

    def decimal(m: re.Match[str]) -> str:
        word = re.search(r"([a-zа-я_]+)\s*$", text[max(0, m.start() - 24) : m.start()])
        listed = r"layers?|blocks?|сло|блок|модул|gpus?|index|индекс" + (
            "" if m.group(0).startswith("0,") else r"|weights|веса\b"
        )
        if word and re.match(listed, word.group(1) + " "):
            return m.group(
                0
            )  # "слои 0,5", "weights 2,1": a list ("вес 0,6", "веса 0,5 и 0,5": decimals, no weight is 0)
        if re.search(  # "layers 0,1,2,3 and 10,11": the list goes on after "and"
            r"(?:layers?|blocks?|сло\w*|блок\w*)\s*(?:[:=]\s*)?\[?\s*(?:\d+\s*(?:,|and|и|&|\+)\s*)+$",
            text[max(0, m.start() - 60) : m.start()],
            re.IGNORECASE,
        ):
            return m.group(0)
        return m.group(0).replace(",", ".")

    return _stage_tags(_DECIMAL_COMMA.sub(decimal, text))


_TAG_NUMBER = r"(?:\d[\d.]*(?:e-?\d+)?|one|two|three|four|five|ten|одн[аy]|один|два|две|три|четыре|пять|десять)"
# "2 epochs sft, 1 epoch dpo", "lr 2e-4 sft; lr 5e-6 dpo": a value with its stage named after it as a tag
_STAGE_TAG = re.compile(
    rf"(?<![\w.-])(?P<value>{_TAG_NUMBER}\s+(?:epochs?|эпох\w*|steps?|шаг\w*)"
    rf"|(?:lr|rank|alpha|beta|ранг|альфа|бета)\s*[=:]?\s*{_TAG_NUMBER})"
    r"(?P<gap>\s+)(?P<stage>sft|dpo|orpo|simpo|kto|ipo|cpo)(?=\s*(?:[,;.)]|$))",
    re.IGNORECASE,
)


# "лр сфт 1e-4", "lr dpo 5e-6": the setting, then its stage, then the value
_SETTING_STAGE = re.compile(
    r"(?<![\w.-])(?P<setting>lr|лр|rank|ранг|alpha|альфа|beta|бета|epochs|эпохи)(?P<gap>\s+)"
    r"(?P<stage>sft|dpo|orpo|simpo|kto|ipo|сфт|дпо)(?=\s*[=:]?\s*\d)",
    re.IGNORECASE,
)


def _stage_tags(text: str) -> str:
    """A stage named after its value as a tag ("2 epochs sft, 1 epoch dpo"), or between a setting and its value
    ("лр сфт 1e-4"), turned round in place so the stage comes first ("sft 2 epochs", "сфт лр 1e-4"), as a stage's
    values are read after it; the text's length is kept."""
    text = _SETTING_STAGE.sub(lambda m: m["stage"] + m["gap"] + m["setting"], text)
    return _STAGE_TAG.sub(lambda m: m["stage"] + m["gap"] + m["value"], text)


# "one" after these is a noun ("the bigger one", "this one", "the sft one"), not the number 1
_ONE_AS_NOUN = re.compile(
    r"\b(?:bigger|larger|smaller|lesser|higher|lower|heavier|other|another|this|that|which|each|every|same|new|old|first"
    r"|second|last|trained|tuned|merged|sft|dpo|base|right|wrong|best)\s+$",
    re.IGNORECASE,
)


def find_numbers(text: str) -> list[Number]:
    """Every number in the text, digits or words, in order; a path's digits are the caller's to mask."""
    found: list[Number] = []
    i = 0
    # "3x" is the number 3 (a multiple said for a member or a setting, counted like any other number)
    pattern = re.compile(
        rf"(?<![\w.]){DIGITS}(?:k|к)?(?![\w])|(?<![\w.]){DIGITS}(?=[xх×](?![\w]))|[a-zа-яё]+", re.IGNORECASE
    )
    while True:
        m = pattern.search(text, i)
        if not m:
            break
        token = m.group(0)
        if token[0].isdigit() or token[0] == ".":
            kilo = token[-1].lower() in "kк"
            value = float(token[:-1].replace("_", "")) * 1000 if kilo else float(token.replace("_", ""))
            places = None if kilo else _PLACES.match(text, m.end())
            if places and places.group(1).lower().startswith(_FRACTION_PLACES):  # "полторы десятитысячных": 1.5e-4
                found.append(Number(m.start(), places.end(), value / _scale(places.group(1)), True))
                i = places.end()
                continue
            found.append(Number(m.start(), m.end(), value, kilo=kilo))
            i = m.end()
            continue
        if m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] == "_"):
            i = m.end()
            continue
        run = _word_run(text, m.start())
        if run is None or (m.group(0).lower() == "one" and _ONE_AS_NOUN.search(text[: m.start()])):
            i = m.end()  # ("the bigger one", "the other one": a noun, not the number 1)
            continue
        value, end = run
        fraction = _ru_fraction(text, end, value)
        if fraction is not None:  # "ноль целых пять десятых", "пять сотых"
            found.append(Number(m.start(), fraction[1], fraction[0], True))
            i = fraction[1]
            continue
        point = _POINT.match(text, end)
        if point:  # "zero point one"
            digits = ""
            j = point.end()
            while True:
                d = _WORD.match(text, j)
                digit = word_value(d.group(0)) if d else None
                if digit is None or digit > 9:  # "zero point zero five": a zero digit is one too
                    break
                digits += str(word_value(d.group(0)))
                end, j = d.end(), _skip_space(text, d.end())
            if digits:
                found.append(Number(m.start(), end, float(f"{value}.{digits}"), True))
                i = end
                continue
        found.append(Number(m.start(), end, float(value), True))
        i = end
    return found


def number_at(text: str, pos: int) -> Number | None:
    """The number that starts at `pos` (after spaces), or None."""
    pos = _skip_space(text, pos)
    for number in find_numbers(text[pos : pos + 60]):
        if number.start == 0:
            return Number(pos, pos + number.end, number.value, number.words, number.kilo)
        break
    return None


def number_before(text: str, end: int) -> Number | None:
    """The number that ends at `end` (before spaces), or None."""
    stop = end
    while stop > 0 and text[stop - 1] == " ":
        stop -= 1
    start = max(0, stop - 60)
    hits = [n for n in find_numbers(text[start:stop]) if n.end == stop - start]
    if not hits:
        return None
    n = hits[-1]
    return Number(start + n.start, start + n.end, n.value, n.words, n.kilo)


def words_to_digits_mapped(text: str) -> tuple[str, list[int], list[int]]:
    """`words_to_digits`, with where each position of the result starts and ends in `text`: a span [i, j) of
    the result is [starts[i], ends[j - 1]) of the text (a digit written for a word stands for all of the word)."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for n in find_numbers(text):
        if not n.words:
            continue
        out.append(text[last : n.start])
        starts.extend(range(last, n.start))
        ends.extend(range(last + 1, n.start + 1))
        digits = str(int(n.value) if n.is_int else n.value)
        out.append(digits)
        starts.extend([n.start] * len(digits))
        ends.extend([n.end] * len(digits))
        last = n.end
    out.append(text[last:])
    starts.extend(range(last, len(text)))
    ends.extend(range(last + 1, len(text) + 1))
    return "".join(out), starts, ends


def words_to_digits(text: str, keep: set[int] | None = None) -> str:
    """The text with number words written as digits ("alpha thirty-two" → "alpha 32"); `keep` lists
    start offsets to leave as words."""
    out, last = [], 0
    for n in find_numbers(text):
        if not n.words or (keep and n.start in keep):
            continue
        value = int(n.value) if n.is_int else n.value
        out.append(text[last : n.start])
        out.append(str(value))
        last = n.end
    out.append(text[last:])
    return "".join(out)
