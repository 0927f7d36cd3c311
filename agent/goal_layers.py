"""Layer selections as people say them, English and Russian, resolved against the checkpoint's layer count.

Where are layer phrases understood? Here. The grammar, in the order it is tried:

- exclusion: "all but the first two", "all layers except layer 0", "все слои кроме первого"
- ranges: "layers 4 through 7", "layers 4-7", "from layer 2 to 5", "слои с 4 по 7", "со второго по пятый"
- fractions: "the bottom third", "the top half", "нижняя половина", "верхнюю треть"
- strides: "every other layer", "every third layer", "odd layers", "каждый второй слой"
- first/last N: "the last 4 layers", "top eight blocks", "первые два слоя", "4 последних слоя"
- ordinals: "the third layer", "третий слой", "3rd block" (counted from 1: the third layer is index 2)
- lists and single indices: "layers 2 and 3", "layer 1", "слой 1" (digits are indices, from 0)

Number words are read by `agent.goal_numbers`. A selection that cannot exist in this checkpoint
(the last 6 of 4 layers, layer 9 of 4) is a GraftError naming the checkpoint's range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.goal_numbers import find_numbers, ordinal_value, words_to_digits_mapped
from tools.errors import GraftError

LW = r"(?:layers?|blocks?|сло(?:ями|ях|ям|ев|ем|й|и|я|е|ю)(?![а-я])|блок\w*)"
N = r"(\d+)"
OPEN_END = (  # how an open range ends: "layer 8 onwards", "со слоя 6 и выше", "from the 6th to the end"
    r"(?:\+|and (?:up|above|beyond|later|higher|onwards?)|(?:and\s+)?onwards?|upwards|and higher|or (?:higher|later|above)"
    r"|up(?![\w-])|(?:up\s+|all the way\s+)?to the (?:end|top|last(?: one)?)|и\s+(?:выше|дальше|далее)|и до конца|до конца"
    r"|до последнего)"
)
ORD_EN = (
    r"(?:zeroth|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|\d+(?:st|nd|rd|th))"
)
ORD_RU = (
    r"(?:(?:нулев|перв|втор|трет|четверт|пят|шест|седьм|восьм|девят|десят|одиннадцат|двенадцат)"
    r"(?:ый|ий|ой|ого|ому|ым|ом|ая|ую|ое|ые|ых|ьего|ьему|ьим|ьем|ья|ье|ьи|ьих|ью))"
)
ORD = rf"({ORD_EN}|{ORD_RU}|\d+-?(?:й|го|ого|ий|ый|ом))"
HEAD = r"(first|bottom|lower|early|earliest|initial|last|top|final|upper|late|latest|перв\w*|нижн\w*|начальн\w*|последн\w*|верхн\w*)"
TAILS = ("last", "top", "final", "upper", "late", "latest", "последн", "верхн")


_COUNTED_FROM = (
    r"(?:\b(?:index(?:ed|es|ing)?|indices|counting|counted|numbered|numbering)\s+(?:(?:is|are)\s+)?"
    r"(?:from|starting\s+(?:at|from)|at)\s+|(?:индекс\w*|нумераци\w*|считая|считать|счита\w*|отсч[её]т\w*|сч[её]т\w*"
    r"|номер\w*)\s+(?:(?:идут|идёт|начина\w+)\s+)?(?:с|со|от)\s+)"
)
# "(0-indexed)", "(индексы с нуля)": how the person counts layers; Graft's layer numbers are counted from 0
ZERO_BASED = re.compile(r"\b(?:zero|0)[- ]?(?:indexed|based)\b|" + _COUNTED_FROM + r"(?:zero|0|нуля)(?![\w.])")
# "(1-indexed)", "counting from 1", «если считать с единицы»: the digits said are one more than Graft's indices
ONE_BASED = re.compile(r"\b(?:one|1)[- ]?(?:indexed|based)\b|" + _COUNTED_FROM + r"(?:one|1|единицы|первого)(?![\w.])")
# a selection said relative to the ends or by ordinals is the same however the person counts
_RELATIVE = re.compile(
    r"last|first|top|bottom|every|middle|half|third|quarter|other|even|odd|последн|перв|верхн|нижн|кажд|средн"
    r"|половин|трет|четверт|чет|нечет|\d+(?:st|nd|rd|th|-?(?:й|го|ого|ий|ый|ом))\b"
)


@dataclass
class LayerSelection:
    """Block indices (None: all layers), the words that said so, and how they were read."""

    layers: list[int] | None
    phrase: str
    start: int
    end: int
    note: str | None = None
    main: str = ""  # the selection's own words, before an exclusion cut from it ("layers 1 to 6" of "…, except 3")


def _is_tail(word: str) -> bool:
    return word.startswith(TAILS)


def _edge(head: str, count: int, n: int, model: str) -> list[int]:
    if count > n:
        raise GraftError(f"the model has {n} layers, so there are no {count} {head} layers to train.")
    if count < 1:
        raise GraftError(f"'{head} {count} layers' selects no layer.")
    return list(range(n - count, n)) if _is_tail(head) else list(range(count))


def _span(a: int, b: int) -> list[int]:
    """'layers 11 to 8' is the same four layers as 'layers 8 to 11'."""
    return list(range(min(a, b), max(a, b) + 1))


def _check(layers: list[int], n: int, model: str) -> list[int]:
    bad = [i for i in layers if not 0 <= i < n]
    if bad:
        raise GraftError(f"layer {bad[0]} is out of range: {model} has layers 0-{n - 1}.")
    return layers


def _ordinal_pair(first: str, last: str) -> tuple[tuple[int, bool], tuple[int, bool]]:
    """'с нулевого по третий': one end said as the zeroth counts the other from 0 too (layers 0-3, not 0-2)."""
    ends = _index(first), _index(last)
    if any(t.startswith(("нулев", "zeroth")) for t in (first, last)):
        return tuple((i + 1, False) if ordinal else (i, False) for i, ordinal in ends)  # type: ignore[return-value]
    return ends


def _index(token: str) -> tuple[int, bool]:
    """A layer index from digits (from 0) or an ordinal (from 1); and whether it was an ordinal."""
    if token.isdigit():
        return int(token), False
    if token.startswith(("нулев", "zeroth")):
        return 0, False  # "без нулевого слоя": layer 0, as the person counts from zero
    value = ordinal_value(token)
    if value is None:
        raise ValueError(token)
    return value - 1, True


FRACTIONS = (
    (r"half|halves|половин\w*", 1 / 2),
    (r"(?:two|2)[- ]thirds|(?:две|2) трети", 2 / 3),  # number words are digits here: "two thirds" is "2 thirds"
    (r"(?:three|3)[- ]quarters|(?:три|3) четверти", 3 / 4),
    (r"third|трет(?:ь|и|ью)", 1 / 3),
    (r"quarter|четверт(?:ь|и|ью)", 1 / 4),
)
FRACTION = "|".join(f"(?:{p})" for p, _ in FRACTIONS)


def _layer_word_earlier(text: str, start: int) -> bool:
    """Whether a layer word was said earlier in the same sentence (paths count as one word, however long)."""
    sentence = re.split(r"[.!?;]\s", text[:start])[-1]
    return bool(re.search(LW, re.sub(r"#+", "#", sentence)[-90:]))


# after a range: its end is not in it
END_EXCLUSIVE = (
    r",?\s*\(?(?:end|upper\s+bound|right\s+end)\s+exclusive\)?|,?\s*(?:not\s+including|excluding|without)\s+(?:the\s+)?(?:last(?:\s+one)?|end)"
    r"|,?\s*(?:не\s+включая|исключая|без)\s+(?:последн\w*|конец|конечн\w*|правую\s+границу)"
)


def _simple(text: str, n: int, model: str) -> list[tuple[int, int, list[int], str | None]]:
    """Every selection the text holds that is not an exclusion: (start, end, layers, note)."""
    hits: list[tuple[int, int, list[int], str | None]] = []
    # ranges
    for m in re.finditer(
        rf"{LW}\s*[=:]?\s*\(?\s*(?:from\s+|с\s+|со\s+)?{N}\s*(?:-|–|down\s+to|to|through|thru|until|till|\.\.|по|до)\s*(?:{LW}\s*)?{N}(?:\s*(?:inclusive|включительно))?\)?"
        rf"(?P<excl>{END_EXCLUSIVE})?|(?:between)\s+{LW}\s*{N}\s*and\s*{N}",
        text,
    ):
        a, b = [int(g) for g in m.groups() if g is not None and g.isdigit()]
        if m["excl"]:  # "с 0 по 11 не включая последний", "layers 0 to 12, end exclusive": the range's end is out
            b = b - 1 if b >= a else b + 1
        hits.append((m.start(), m.end(), _check(_span(a, b), n, model), None))
    for m in re.finditer(
        rf"(?:from|с|со)\s+(?:the\s+)?(?:{LW}\s+)?{ORD}\s*(?:{LW}\s*)?(?:to|through|thru|until|по|до)\s+(?:the\s+)?{ORD}(?:\s*{LW})?",
        text,
    ):
        near = text[max(0, m.start() - 12) : m.start()] + " " + text[m.end() : m.end() + 12]
        if not re.search(LW, m.group(0)) and not re.search(LW, near):
            continue
        (a, a_ord), (b, b_ord) = _ordinal_pair(m.group(1), m.group(2))
        note = "ordinal layers are counted from 1 (the second layer is index 1)." if a_ord or b_ord else None
        hits.append((m.start(), m.end(), _check(_span(a, b), n, model), note))
    for m in re.finditer(
        rf"(?:from|с|со)\s+{N}\s*(?:-?(?:го|ого))?\s*(?:to|through|по|до)\s+{N}\s*(?:-?\w{{1,3}}\s+)?{LW}", text
    ):
        a, b = int(m.group(1)), int(m.group(2))
        hits.append((m.start(), m.end(), _check(_span(a, b), n, model), None))
    # ordinals with no "from": "3rd to 6th layers", "second through fifth layers", "2nd-4th layers"
    for m in re.finditer(
        rf"(?:the\s+)?{ORD}\s*(?:-|–|to|through|thru|until|till|по|до)\s*(?:the\s+)?{ORD}\s*{LW}", text
    ):
        (a, _), (b, _) = _ordinal_pair(m.group(1), m.group(2))
        note = "ordinal layers are counted from 1 (the second layer is index 1)."
        hits.append((m.start(), m.end(), _check(_span(a, b), n, model), note))
    # open ranges: "layers 4+", "layer 8 onwards", "from layer 6 up", "layers >= 8", "со слоя 6 и выше"
    for m in re.finditer(
        rf"(?:(?:from|starting (?:from|at|with)|со?|начиная со?)\s+)?{LW}\s*(?:(?:>=|≥)\s*)?{N}(?:-?(?:го|ого))?\s*"
        + OPEN_END,
        text,
    ):
        a = int(m.group(1))
        hits.append(
            (m.start(), m.end(), _check(list(range(a, n)), n, model), f"'{m.group(0).strip()}': layers {a}-{n - 1}.")
        )
    # "layers from 6 to the end", "blocks starting at 8 onwards": an index, then the open end
    for m in re.finditer(rf"{LW}\s+(?:from|starting (?:from|at))\s+{N}\s*{OPEN_END}", text):
        a = int(m.group(1))
        hits.append(
            (m.start(), m.end(), _check(list(range(a, n)), n, model), f"'{m.group(0).strip()}': layers {a}-{n - 1}.")
        )
    # ordinals: "с 6-го слоя и выше", "from the 6th layer onwards", "слои с 6-го до конца"
    for m in re.finditer(
        rf"(?:(?:from|starting (?:from|at|with)|со?|начиная со?)\s+(?:the\s+)?{ORD}\s*{LW}|{LW}\s+(?:from|со?|начиная со?)\s+"
        rf"(?:the\s+)?{ORD})\s*{OPEN_END}",
        text,
    ):
        a, _ = _index(m.group(1) or m.group(2))
        hits.append(
            (
                m.start(),
                m.end(),
                _check(list(range(a, n)), n, model),
                f"'{m.group(0).strip()}': layers {a}-{n - 1} (ordinal layers are counted from 1).",
            )
        )
    # "from layer 4 up to layer 7", "from block 2 to block 5", "с 3 слоя по 6 слой": both ends said
    for m in re.finditer(
        rf"(?:from|со?)\s+{LW}\s*{N}\s+(?:up\s+)?(?:to|through|till|until|по|до)\s+(?:and including\s+)?(?:{LW}\s*)?{N}"
        rf"(?![\d%]|\.\d)",
        text,
    ):
        a, b = int(m.group(1)), int(m.group(2))
        if a <= b:
            hits.append((m.start(), m.end(), _check(_span(a, b), n, model), None))
    for m in re.finditer(
        rf"(?:начиная\s+со?|from)\s+{N}(?:-?(?:го|ого))?\s+{LW}(?!\s*(?:to|through|по|до|-)\s*\d)", text
    ):
        a = int(m.group(1))  # "начиная с 8 слоя": that layer and every later one
        hits.append(
            (m.start(), m.end(), _check(list(range(a, n)), n, model), f"'{m.group(0).strip()}': layers {a}-{n - 1}.")
        )
    for m in re.finditer(rf"{LW}\s*(?:>=|≥)\s*{N}", text):
        a = int(m.group(1))
        hits.append((m.start(), m.end(), _check(list(range(a, n)), n, model), None))
    for m in re.finditer(rf"{LW}\s*(?:>|above|выше)\s*{N}", text):
        a = int(m.group(1)) + 1
        hits.append((m.start(), m.end(), _check(list(range(a, n)), n, model), None))
    for m in re.finditer(
        rf"{LW}\s*(?:(?:<=|≤)\s*{N}|up to\s+(?:and including\s+)?{N}|(?:до|по)\s+{N}\s+включительно)"
        rf"|up to\s+(?:and including\s+)?{LW}\s*{N}",
        text,
    ):
        b = int(m.group(1) or m.group(2) or m.group(3) or m.group(4))
        hits.append((m.start(), m.end(), _check(list(range(0, b + 1)), n, model), None))
    for m in re.finditer(rf"{LW}\s*(?:<|below|ниже)\s*{N}", text):
        hits.append((m.start(), m.end(), _check(list(range(0, int(m.group(1)))), n, model), None))
    for m in re.finditer(rf"{LW}\s+(?:до|по)\s+{ORD}\s+(?:{LW}\s+)?включительно", text):
        b, _ = _index(m.group(1))  # "на слоях до 3-го включительно": the first three
        hits.append((m.start(), m.end(), _check(list(range(0, b + 1)), n, model), None))
    # "the top 25% of layers", "the bottom 50% of the blocks"
    for m in re.finditer(
        rf"(?:the\s+)?{HEAD}\s+{N}\s*%\s*(?:of\s+)?(?:the\s+)?(?:{LW}|model|network|сети|модели)", text
    ):
        count = max(1, round(n * int(m.group(2)) / 100))
        hits.append(
            (
                m.start(),
                m.end(),
                _edge(m.group(1), count, n, model),
                f"'{m.group(0).strip()}' of {n} layers is {count} layers.",
            )
        )
    # "the second half of the network", "только вторую половину сети"
    for m in re.finditer(
        rf"(?:the\s+)?(first|second|перв\w+|втор\w+)\s+(half|половин\w*)\s*(?:of\s+)?(?:the\s+)?(?:{LW}|model|network|сети|модели)",
        text,
    ):
        half = n // 2
        layers = list(range(0, half)) if m.group(1).startswith(("first", "перв")) else list(range(half, n))
        hits.append(
            (m.start(), m.end(), layers, f"'{m.group(0).strip()}' of {n} layers is layers {layers[0]}-{layers[-1]}.")
        )
    # the layer word said with the first half only: "SFT на первой половине слоёв, DPO на второй (половине)",
    # "SFT on the first half of the layers, DPO on the other half"
    for m in re.finditer(
        r"(?:the\s+)?(second|other|latter|втор\w+|друг\w+)\s+(?:half|половин\w*)(?!\s*(?:of\s+)?(?:the\s+)?[a-zа-я#])"
        r"|(?:\bon|(?<![а-я])на)\s+(?:the\s+)?(second|втор\w+)(?=\s*(?:[,.;)]|$|(?:с|with|and|и|at|lr|бет\w*|beta)\b))",
        text,
    ):
        before = text[: m.start()]
        if not re.search(rf"(?:first|перв\w+)\s+(?:half|половин\w*)\s*(?:of\s+)?(?:the\s+)?(?:{LW})", before):
            continue
        half = n // 2
        layers = list(range(half, n))
        hits.append(
            (m.start(), m.end(), layers, f"'{m.group(0).strip()}': the second half of {n} layers, {half}-{n - 1}.")
        )
    # fractions
    for m in re.finditer(
        rf"(?:the\s+)?{HEAD}\s+({FRACTION})(?:\s+(?:of\s+)?(?:the\s+)?(?:{LW}|model|network|сети|модели))?", text
    ):
        head, frac_word = m.group(1), m.group(2)
        frac = next(v for p, v in FRACTIONS if re.fullmatch(p, frac_word))
        count = max(1, round(n * frac))
        layers = _edge(head, count, n, model)
        hits.append((m.start(), m.end(), layers, f"'{m.group(0).strip()}' of {n} layers is {count} layers."))
    # the fraction first, which end after it: "половину слоёв — нижнюю", "a third of the layers, the top one"
    for m in re.finditer(
        rf"(?:the\s+|a\s+)?({FRACTION})\s+(?:of\s+)?(?:the\s+)?{LW}\s*[-—–,:(]\s*(?:the\s+)?{HEAD}"
        r"(?:\s+(?:one|ones|half|part|часть|половин\w*|трет\w*))?\)?",
        text,
    ):
        frac_word, head = m.group(1), m.group(2)
        frac = next(v for p, v in FRACTIONS if re.fullmatch(p, frac_word))
        count = max(1, round(n * frac))
        layers = _edge(head, count, n, model)
        hits.append((m.start(), m.end(), layers, f"'{m.group(0).strip()}' of {n} layers is {count} layers."))
    # the middle fraction: "the middle third", "средняя треть", "the central half of the blocks"
    for m in re.finditer(
        rf"(?:the\s+)?(middle|centre|center|central|средн\w*|центральн\w*)\s+({FRACTION})"
        rf"(?:\s+(?:of\s+)?(?:the\s+)?(?:{LW}|model|network|сети|модели))?",
        text,
    ):
        frac = next(v for p, v in FRACTIONS if re.fullmatch(p, m.group(2)))
        count = max(1, round(n * frac))
        first = (n - count) // 2
        layers = list(range(first, first + count))
        hits.append(
            (m.start(), m.end(), layers, f"'{m.group(0).strip()}' of {n} layers is layers {first}-{first + count - 1}.")
        )
    # strides
    for m in re.finditer(
        r"every\s+(other|second|third|fourth|\d+(?:st|nd|rd|th)?)\s+(?:layer|block)"
        r"|(?:alternate|alternating)\s+(?:layers|blocks)|\b(odd|even)(?:-numbered)?\s+(?:layers|blocks)"
        r"|(?:кажд\w+\s+(втор\w+|трет\w+|четверт\w+|\d+-?\w*)\s+(?:сло\w*|блок\w*))"
        r"|(?:через\s+(?:один|слой))|(нечетн\w+|четн\w+)\s+(?:сло\w*|блок\w*)",
        text,
    ):
        step, start = 2, 0
        word = m.group(1) or m.group(3) or ""
        parity = m.group(2) or m.group(4)
        if word and word not in ("other",):
            step = int(re.match(r"\d+", word).group(0)) if word[0].isdigit() else (ordinal_value(word) or 2)
        if parity in ("odd",) or (parity or "").startswith("нечетн"):
            start = 1
        end = m.end()
        offset = re.match(  # "every other block starting from block 1", "каждый второй слой, начиная с первого"
            rf",?\s*(?:starting|beginning)\s+(?:from|at|with)\s+(?:the\s+)?(?:{LW}\s*|index\s*)?(?:(\d+)(?![\w.])|{ORD})"
            rf"|,?\s*начиная\s+(?:с|со)\s+(?:{LW}\s*|индекс\w*\s*|номер\w*\s*)?(?:(\d+)(?![\w.])|{ORD})(?:\s*{LW})?",
            text[m.end() :],
        )
        if offset:
            digits = offset.group(1) or offset.group(3)
            word = offset.group(2) or offset.group(4)
            start = int(digits) if digits else (0 if re.fullmatch(r"first|перв\w*", word) else _index(word)[0])
            end += offset.end()
        layers = _check(list(range(start, n, step)), n, model) if start < n else _check([start], n, model)
        what = "odd" if start % 2 else "even"
        note = f"'{m.group(0).strip()}': layers {', '.join(map(str, layers))} (every {step}, from {start})."
        if parity:
            note = f"'{m.group(0).strip()}': the {what} indices, counted from 0: {', '.join(map(str, layers))}."
        hits.append((m.start(), end, layers, note))
    # first / last N
    for m in re.finditer(rf"(?:the\s+)?{HEAD}\s+(?:{N}\s*)?{LW}", text):
        count = int(m.group(2)) if m.group(2) else 1
        if (
            m.group(2) is None
            and re.match(r"(?:layers|blocks|слои|слоя|слоях|слоям|слоев)", text[m.end(1) :].strip())
            and not re.search(r"(?:его|ого|ий|ый|ой|ем|ом|ему|ому)$", m.group(1))  # "последнего слоя": the one layer
        ):
            continue  # "the last layers" has no count: not a selection we can place exactly
        hits.append((m.start(), m.end(), _edge(m.group(1), count, n, model), None))
    for m in re.finditer(rf"{N}\s+{HEAD}\s+{LW}", text):
        hits.append((m.start(), m.end(), _edge(m.group(2), int(m.group(1)), n, model), None))
    # «трёх первых и трёх последних слоях», "3 first and 3 last layers": the layer word said once, for both
    for m in re.finditer(rf"{N}\s+{HEAD}(?=\s*(?:,|и|and)\s+(?:{N}\s+{HEAD}|{HEAD}\s+{N})\s+{LW})", text):
        hits.append((m.start(), m.end(), _edge(m.group(2), int(m.group(1)), n, model), None))
    # the layer word said earlier and left out: "not on all layers, only the last four", "только на последних четырёх"
    for (
        m
    ) in re.finditer(  # a word after it is no noun of its own when it starts the next phrase ("… шести с бетой 0.3")
        rf"(?:the\s+)?(?:{HEAD}\s+{N}|{N}\s+{HEAD})(?![\w.-])"
        r"(?!\s*(?!(?:с|со|и|а|но|with|and|but|then|потом|затем|for|для|at)(?![\w-]))[a-zа-я(])",
        text,
    ):
        if _layer_word_earlier(text, m.start()):
            head = m.group(1) or m.group(4)
            count = int(m.group(2) or m.group(3))
            hits.append((m.start(), m.end(), _edge(head, count, n, model), None))
    # a range with the layer word said earlier: "для SFT слои с 0 по 5, а для DPO с 6 по 11"
    for m in re.finditer(
        rf"(?:from|с|со)\s+{N}\s*(?:-|to|through|thru|по|до)\s*{N}(?![\w.])(?!\s*(?:{LW}|[a-zа-я(]))", text
    ):
        if _layer_word_earlier(text, m.start()):
            a, b = int(m.group(1)), int(m.group(2))
            hits.append((m.start(), m.end(), _check(_span(a, b), n, model), None))
    # the middle N: "the middle four layers", "средние два слоя"
    for m in re.finditer(rf"(?:the\s+)?(?:middle|centre|center|central|средн\w*|центральн\w*)\s+{N}\s+{LW}", text):
        count = int(m.group(1))
        first = (n - count) // 2
        layers = _check(list(range(first, first + count)), n, model)
        hits.append(
            (m.start(), m.end(), layers, f"'{m.group(0).strip()}' of {n} layers is layers {first}-{first + count - 1}.")
        )
    # ordinals, and more said after the layer word: "the twelfth layer and the eleventh", "третий слой, пятый и седьмой"
    more = ORD.replace("(", "(?:", 1)
    not_layer = r"(?!\s+(?:stages?|epochs?|rounds?|runs?|pass|models?|adapters?|datasets?|steps?|этап|эпох|раунд|модел|адаптер|прогон|шаг))"
    for m in re.finditer(
        rf"(?:the\s+)?{ORD}\s+{LW}((?:\s*(?:,|and|и|&)\s*(?:the\s+)?{more}(?![\w-]){not_layer})*)", text
    ):
        words = (
            [m.group(1), *(w.group(1) for w in re.finditer(ORD, m.group(m.lastindex)))] if m.lastindex else [m.group(1)]
        )
        indices = sorted({0 if re.fullmatch(r"first|перв\w*", w) else _index(w)[0] for w in words})
        said = m.group(0).strip()
        hits.append(
            (
                m.start(),
                m.end(),
                _check(indices, n, model),
                f"ordinal layers are counted from 1 ('{said}' is layer{'s' if len(indices) > 1 else ''} "
                f"{', '.join(map(str, indices))}).",
            )
        )
    # lists and single indices
    for m in re.finditer(
        rf"(?:layers_to_transform|{LW})\s*(?:[=:]\s*)?\[?\s*((?:\d+\s*(?:,|and|и|&|\+)\s*)+\d+)\s*\]?", text
    ):
        layers = sorted({int(x) for x in re.findall(r"\d+", m.group(1))})
        hits.append((m.start(), m.end(), _check(layers, n, model), None))
    for m in re.finditer(
        rf"{LW}\s*(?:number\s*|no\.?\s*|№\s*|#\s*|index\s*|номер\s*|с индексом\s*|под номером\s*)?{N}(?!\d|\.\d)", text
    ):
        hits.append((m.start(), m.end(), _check([int(m.group(1))], n, model), None))
    return hits


EXCEPT = re.compile(
    rf"(?:(?:all|every(?:thing)?)(?:\s+(?:the\s+)?(?:other\s+)?{LW})?|все\w*(?:\s+(?:сло\w*|блок\w*))?)?,?\s*"
    # "no training on layer 0", "без обучения на первом слое": those layers left out (before the bare "без"); "no LoRA
    # on layer 0" is asked about (goal_facts.NO_ADAPTER_ON_LAYERS): full fine-tuning of it, or LoRA on the others?
    r"(?:no\s+(?:training|updates?|grads?|gradients?)(?:\s+(?:on|in|for|at|to))?"
    r"|без\s+обучени\w*(?:\s+(?:на|в|во))?"
    r"|without training|не обучая|без обучения|but(?:\s+not(?:\s+(?:on|in|to))?)?|exc?ept(?:\s+for)?|excluding|without"
    r"|apart from|other than|кроме|за исключением|исключая|без"
    r"|not\s+(?:on|in|to)|но\s+не\s+(?:на|в|во)|не\s+(?:на|в|во)"
    rf"|(?<![\w-])(?:not|не)(?=\s+(?:the\s+)?(?:{LW}|нулев|перв|последн|first|last|top|bottom))"  # "every layer, not layer 0"
    # verbs that leave layers out: "skip the first layer", "freeze the first two", "заморозь последний слой"
    r"|skip(?:ping)?|freez(?:e|ing)|keep(?:ing)? frozen|leav(?:e|ing) out|exclud(?:e|ing)|(?:do not|don'?t|not|never) (?:train|touch|adapt|update)"
    r"|пропусти\w*|пропуская|замороз\w*|заморажива\w*|не трога\w*|исключи\w*|исключая|не (?:до)?обуча\w*)"
    # "don't train the embeddings or the last layer": the layer after a non-layer part is left out too
    r"(?:\s+(?:the\s+)?(?:embed\w*|эмбеддинг\w*|lm_head|(?:lm\s+)?head|голов\w*|norms?|layer ?norms?)\s+(?:or|and|nor|и|или)"
    r"(?:\s+the)?)?"
    # "except in the first block", "everywhere except on the last layer", "кроме как на первом слое"
    r"(?:\s+(?:in|on|at|within|как(?:\s+(?:на|в|во))?))?\s+"
)


def _exclusions(text: str, n: int, model: str) -> list[tuple[int, int, list[int], str | None]]:
    hits = []
    for m in EXCEPT.finditer(text):
        rest = text[m.end() : m.end() + 60]
        inner = _excluded(rest, n, model)
        while inner is not None:  # "except the first and the last", "кроме первого и последних двух"
            joiner = re.match(r"\s*(?:,|and|и|&|\+|or|или)\s*", rest[inner[0] :])
            more = _excluded(rest[inner[0] + joiner.end() :], n, model) if joiner else None
            if more is None:
                break
            inner = (inner[0] + joiner.end() + more[0], sorted({*inner[1], *more[1]}))
        if inner is None:
            continue
        if not (
            re.search(LW, text[max(0, m.start() - 30) : m.end() + inner[0] + 12])
            or m.group(0).strip()[:3] in ("all", "все")
        ):
            continue
        dropped = set(inner[1])
        keep = [i for i in range(n) if i not in dropped]
        start = m.start()
        leave_out = LEAVE_OUT_BEFORE.search(text[max(0, m.start() - 24) : m.start()])
        if m.group(0).strip()[:3] in ("all", "все", "eve") and leave_out:
            keep = sorted(dropped)  # "freeze all but the last two layers": only those two are trained
            start = max(0, m.start() - 24) + leave_out.start()  # the verb is part of what was read
        if not keep:
            raise GraftError(f"'{(m.group(0) + rest[: inner[0]]).strip()}' leaves no layer of {model} to train.")
        hits.append((start, m.end() + inner[0], keep, None))
    return hits


LEAVE_OUT_BEFORE = re.compile(
    r"(?:skip(?:ping)?|freez(?:e|ing)|leav(?:e|ing) out|exclud(?:e|ing)|пропусти\w*|замороз\w*|заморажива\w*)\s+$"
)


def _excluded(rest: str, n: int, model: str) -> tuple[int, list[int]] | None:
    """The layers one item after 'except'/'кроме' names, and where the item ends."""
    em = re.match(rf"(?:the\s+)?(?:very\s+|сам(?:ый|ого|ом|ому)\s+)?{HEAD}(?:\s+{N})?(?:\s+(?:one|ones|{LW}))?", rest)
    cm = re.match(rf"(?:the\s+)?{N}\s+{HEAD}(?:\s+(?:ones|{LW}))?", rest)  # "кроме двух последних"
    om = re.match(rf"(?:the\s+)?{ORD}(?:\s+{LW})?", rest)
    lead = re.match(rf"(?:the\s+)?(?:{LW}\s+)?", rest).end()  # "не трогай слои с нулевого по третий": the range after
    sub = [h for h in _simple(rest, n, model) if h[0] <= lead]
    if sub and max(h[1] for h in sub) > max(m.end() for m in (em, cm, om, re.match("", rest)) if m):
        # "freeze the first half of the layers": a longer selection than "the first" (which is one layer)
        return max(h[1] for h in sub), max(sub, key=lambda h: h[1])[2]
    if em:
        return em.end(), _edge(em.group(1), int(em.group(2)) if em.group(2) else 1, n, model)
    if cm:
        return cm.end(), _edge(cm.group(2), int(cm.group(1)), n, model)
    if om:
        return om.end(), _check([_index(om.group(1))[0]], n, model)
    sub = [h for h in _simple(rest, n, model) if h[0] == 0]
    if sub:
        return max(h[1] for h in sub), max(sub, key=lambda h: h[1])[2]
    rm = re.match(rf"(?:{LW}\s*)?{N}\s*(?:-|–|to|through|thru|по|до)\s*{N}(?![\d%]|\.\d)(?:\s*{LW})?", rest)
    if rm:  # "all layers except 0-3", "все слои, кроме 0-3"
        a, b = int(rm.group(1)), int(rm.group(2))
        if a <= b:
            return rm.end(), _check(_span(a, b), n, model)
    nm = re.match(rf"(?:{LW}\s*)?{N}(?![\d%]|\.\d)(?:\s*{LW})?", rest)  # "all layers except 3 and 5"
    return (nm.end(), _check([int(nm.group(1))], n, model)) if nm else None


ALL_LAYERS = re.compile(
    rf"\ball\s+(?:the\s+)?(?:\d+\s+)?{LW}|\bevery\s+layer\b|\bвсе\w*\s+(?:\d+\s+)?{LW}|\bкажд\w*\s+сло\w*(?!\s+втор)"
)


SLICE = re.compile(
    r"(?:\b(?:model\.)?layers|(?<![а-я])сло(?:и|ях|ям)|\bblocks)"
    + r"\s*\[\s*(-?\d*)\s*:\s*(-?\d*)\s*(?::\s*(\d*)\s*)?\]"
)  # "layers[2:6]", "слои [::3]"
BARE_SLICE = re.compile(  # "layers 6:", "слои 0:6", "layers -4:", "layers 0:12:2": a slice written without brackets
    r"(?:\blayers|(?<![а-я])сло(?:и|ях|ям)|\bblocks)\s+(-?\d+)\s*:\s*(-?\d+)?(?:\s*:\s*(\d+))?(?!\s*[\d:-])"
    r"(?!\s*(?:and|и)\s*\d)"
)


_STAGE_NAME = r"(?:the\s+)?(?:sft|dpo|orpo|kto|simpo|ipo)\w*(?:\s+(?:stage|run|этап\w*|стади\w*))?"
# "… for the sft and 6 through 11 for the dpo", "… для SFT, а с 6 по 11 для DPO": a second range for the next stage
STAGE_THEN_RANGE = re.compile(
    rf"\s*(?:for|для|в|on|in|на)\s+{_STAGE_NAME}\s*(?:,|;|and|и|а)\s*(?:(?:and|и|а)\s+)?"
    rf"(?:(?:for|для|в|on|in|на)\s+{_STAGE_NAME}\s*:?\s*)?(?:(?:from|с|со)\s+)?(\d+)\s*(?:-|–|to|through|thru|по|до)\s*(\d+)"
    r"(?![\d%]|\.\d)(?!\s*(?:epochs?|steps?|эпох|шаг|%|[a-zа-я]*\s*(?:layers?|сло)))"
)


def find_layer_selections(text: str, num_layers: int | None, model: str = "the model") -> list[LayerSelection]:
    """Every layer selection in the text, in order, with overlaps resolved to the longest phrase."""
    original = text
    text, starts, ends = words_to_digits_mapped(text.lower().replace("ё", "е"))
    # "the middle layers only (4 to 7)": the listing after 'only' is the selection ('only' blanked, same length)
    text = re.sub(rf"({LW})(\s+(?:only|только))(?=\s*\(\s*\d)", lambda m: m.group(1) + " " * len(m.group(2)), text)
    cue = (
        re.search(LW, text)
        or EXCEPT.search(text)
        or re.search(
            rf"(?:{HEAD}|second|втор\w*|middle|cent(?:re|er|ral)|средн\w*|центральн\w*)\s+(?:{FRACTION})|every\s+other",
            text,
        )
    )
    if not cue:
        return []
    if num_layers is not None:  # "layers 5 through the last", "с пятого по последний": the last index, same length

        def _last(m: re.Match[str]) -> str:
            # after an ordinal ("с пятого по последний") the last is the num_layers-th, else its index
            ordinal = re.search(rf"{ORD}\s*(?:{LW}\s*)?$", text[max(0, m.start() - 24) : m.start()])
            last = f"{num_layers}-й" if ordinal and not ordinal.group(1).isdigit() else str(num_layers - 1)
            room = len(m.group(0)) - len(m.group(1))
            return m.group(1) + last.ljust(room) if room >= len(last) else m.group(0)

        text = re.sub(
            r"((?:\bto|\bthrough|\bthru|\buntil|\btill|-|(?<![а-я])по|(?<![а-я])до)\s*)(?:the\s+)?(?:very\s+)?"
            r"(?:last|final|последн(?:ий|его|ем|им))(?:\s+one\b)?(?!\s*\d)(?!\s+(?:two|three|four|\w+\s+layers))",
            _last,
            text,
        )
    if num_layers is None:
        relative = rf"{HEAD}\s+(?:\d+\s*)?{LW}|\d+\s+{HEAD}|{FRACTION}|every|odd|even|alternat|кажд|четн|через"
        if EXCEPT.search(text) or re.search(relative, text):
            raise GraftError("the checkpoint does not say how many layers it has; name the layers by number.")
        num_layers = 10**4  # only explicit indices are read here; the range check is the checkpoint's
    hits = _exclusions(text, num_layers, model) + _simple(text, num_layers, model)
    for m in (*SLICE.finditer(text), *BARE_SLICE.finditer(text)):  # a Python slice, with or without its brackets
        if num_layers < 10**4:
            a, b, step = (int(g) if g not in (None, "", "-") else None for g in (*m.groups(), None, None)[:3])
            picked = list(range(num_layers))[a:b:step] if step != 0 else []
            if picked:
                note = f"'{m.group(0)}': a Python slice, layers {', '.join(map(str, picked))}."
                hits.append((m.start(), m.end(), picked, note))
    hits = [  # "DPO on the first half of prefs.jsonl": a part of the data, not of the layers
        h
        for h in hits
        if re.search(LW, text[h[0] : h[1]])
        or not re.match(
            r"\s+(?:of|из)\s+(?:the\s+|my\s+|our\s+)?(?:[#/~.]|[\w.-]+\.(?:jsonl|json|csv|parquet)\b|data|dataset|examples"
            r"|rows|samples|pairs|prefs|preferences|conversations|датасет|данн|пример)",
            text[h[1] :],
        )
    ]
    hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    chosen: list[LayerSelection] = []
    for start, end, layers, note in hits:
        if any(start < c.end and c.start < end for c in chosen):
            continue
        chosen.append(LayerSelection(layers, text[start:end].strip(), start, end, note))
    for m in ALL_LAYERS.finditer(text):
        if not any(m.start() < c.end and c.start < m.end() for c in chosen):
            chosen.append(LayerSelection(None, m.group(0), m.start(), m.end()))
    chosen.sort(key=lambda c: c.start)
    for c in list(chosen):  # "layers 2 to 4 and the last", "со второго по четвертый и последний": the noun left out
        if c.layers is None:
            continue
        more = re.match(
            rf"\s*(?:,|and|и|plus|плюс|&|\+)\s*(?:(?:on|in|на|в|во)\s+)?(?:the\s+)?{HEAD}(?:\s+{N})?(?![\w-])(?!\s*{LW})",
            text[c.end :],
        )
        if more and not any(o.start >= c.end and o.start < c.end + more.end() for o in chosen if o is not c):
            count = int(more.group(2)) if more.group(2) else 1
            c.layers = sorted({*c.layers, *_edge(more.group(1), count, num_layers, model)})
            c.end += more.end()
            c.phrase = text[c.start : c.end].strip()
        span = re.match(
            rf"\s*(?:,|and|и|plus|плюс|&|\+)\s*(?:{LW}\s*)?(\d+)\s*(?:-|–|to|through|по|до)\s*(\d+)(?![\d%]|\.\d)(?!\s*(?:epochs?|steps?|эпох|шаг|%))",
            text[c.end :],
        )
        if span and not any(o.start >= c.end and o.start < c.end + span.end() for o in chosen if o is not c):
            a, b = int(span.group(1)), int(span.group(2))
            if a <= b:  # "layers 0-3 and 8-11": a second range in the same selection
                c.layers = sorted({*c.layers, *_check(_span(a, b), num_layers, model)})
                c.end += span.end()
                c.phrase = text[c.start : c.end].strip()
        digits = re.match(
            rf"\s*(?:,|and|и|plus|плюс|&|\+)\s*(?:{LW}\s*)?(\d+)(?![\d.%-])(?!\s*[a-zа-я])", text[c.end :]
        )
        if digits and not any(o.start >= c.end and o.start < c.end + digits.end() for o in chosen if o is not c):
            c.layers = sorted({*c.layers, *_check([int(digits.group(1))], num_layers, model)})  # "layers 2-5 and 9"
            c.end += digits.end()
            c.phrase = text[c.start : c.end].strip()
    for c in list(chosen):  # "keep layers 10 and 11 frozen", "слои 10 и 11 заморожены": every other layer trains
        if c not in chosen:
            continue
        frozen = re.match(
            r"\s*(?:(?:are|is|stays?|remains?|будут|остаются|оста[её]тся)\s+)?(?:frozen|заморожен\w*|замороженными"
            r"|alone|untouched|as (?:is|they are)|(?:в покое|нетронут\w*|как есть)|not trained|untrained"
            r"|не (?:до)?обуча\w*|не трога\w*|заморозить|заморозь|замораживаем|замораживать|оставить в покое)(?![а-я\w])",
            text[c.end :],
        )
        if c.layers is not None and frozen:
            listed = [  # "layer 0 and layer 11 frozen", "слой 0 и слой 11 не трогать": both are left alone
                o
                for o in chosen
                if o is not c
                and o.layers is not None
                and o.end <= c.start
                and re.fullmatch(r"\s*(?:,|and|и|&|\+)\s*", text[o.end : c.start])
            ]
            for o in listed:
                c.layers, c.start = sorted({*c.layers, *o.layers}), min(c.start, o.start)
                chosen.remove(o)
            keep = [i for i in range(num_layers) if i not in set(c.layers)]
            if not keep:
                raise GraftError(
                    f"'{text[c.start : c.end + frozen.end()].strip()}' leaves no layer of {model} to train."
                )
            c.layers, c.end = keep, c.end + frozen.end()
            c.phrase = text[c.start : c.end].strip()
    for c in chosen:  # "layers 2 to 9 but not 5", "слои с 0 по 7, кроме третьего": a selection with holes
        cut = re.match(  # (past "counting from one" said between: "layers 1 through 6 counting from one, except 3")
            r"\s*,?\s*(?:\(?(?:"
            + ONE_BASED.pattern
            + r")\)?\s*,?\s*)?(?:but not|but exc?ept|but skip(?:ping)?|but leave out|but freeze|exc?ept(?: for)?|excluding|without"
            r"|minus|skipping|,\s*(?:skip|leave out|exclude|not)|но не|но без|но пропусти\w*|пропуская|кроме|за исключением|исключая|без)\s+",
            text[c.end :],
        )
        if c.layers is None or not cut:
            continue
        rest = text[c.end + cut.end() : c.end + cut.end() + 60]
        inner = _excluded(rest, num_layers, model)
        while inner is not None:  # "but not 5 and 7"
            joiner = re.match(r"\s*(?:,|and|и|&|\+|or|или)\s*", rest[inner[0] :])
            more = _excluded(rest[inner[0] + joiner.end() :], num_layers, model) if joiner else None
            if more is None:
                break
            inner = (inner[0] + joiner.end() + more[0], sorted({*inner[1], *more[1]}))
        if inner is None:
            continue
        excluded = set(inner[1])
        if ONE_BASED.search(text.lower()) and not re.search(r"\d", rest[: inner[0]]):
            excluded = {i + 1 for i in excluded}  # «с 1 по 6, считая с единицы, кроме третьего»: the third is 3 as said
        if not excluded & set(c.layers):
            continue
        c.main = c.main or text[c.start : c.end].strip()
        c.layers = [i for i in c.layers if i not in excluded]
        if not c.layers:
            raise GraftError(f"'{text[c.start : c.end + cut.end() + inner[0]].strip()}' leaves no layer to train.")
        c.end += cut.end() + inner[0]
        c.phrase = text[c.start : c.end].strip()
        chosen = [o for o in chosen if o is c or not (c.start <= o.start < c.end)]
    for c in list(chosen):  # "the first and the last layer", "первый и последний слой", "2nd, 5th and 7th layers"
        while c.layers is not None and _extend_before(c, chosen, text, num_layers, model):
            pass
    for c in list(chosen):  # "layers 0 through 5 for the sft and 6 through 11 for the dpo": the noun left out
        if c.layers is None:
            continue
        other = STAGE_THEN_RANGE.match(text, c.end)
        if other and not any(o.start < other.end() and other.start(1) < o.end for o in chosen if o is not c):
            a, b = int(other.group(1)), int(other.group(2))
            if a <= b:
                picked = _check(_span(a, b), num_layers, model)
                chosen.append(LayerSelection(picked, text[other.start(1) : other.end()], other.start(1), other.end()))
    chosen.sort(key=lambda c: c.start)
    joined: list[LayerSelection] = []
    for c in chosen:  # "not on layer 0 and not on layer 11", "не на слое 0 и не на слое 11": both left out
        last = joined[-1] if joined else None
        if (
            last is not None
            and last.layers is not None
            and c.layers is not None
            and re.search(r"(?:^|\s|,)(?:not|never|не|except|excluding|кроме|без)\s", text[last.start : last.end])
            and LEFT_OUT_START.match(text[c.start : c.end])
            and re.fullmatch(r"\s*(?:,|and|и|or|или|nor|ни)?\s*", text[last.end : c.start])
        ):
            kept = [i for i in last.layers if i in set(c.layers)]
            if not kept:
                raise GraftError(f"'{text[last.start : c.end].strip()}' leaves no layer to train.")
            last.layers, last.end = kept, c.end
            continue
        joined.append(c)
    chosen = joined
    for c in chosen:  # positions and words as the person wrote them ("layers five through eight")
        c.start, c.end = starts[c.start], ends[c.end - 1]
        c.phrase = original[c.start : c.end].strip()
    if ONE_BASED.search(text.lower()):  # "layers 1 through 4, counting from 1": indices 0 to 3
        for c in chosen:
            digits = (
                re.search(r"\d", c.phrase)
                or any(  # "layers one through six, counting from one": words too
                    n.words and ordinal_value(c.phrase[n.start : n.end].lower()) is None for n in find_numbers(c.phrase)
                )
            )
            if c.layers and digits and not _RELATIVE.search((c.main or c.phrase).lower()) and min(c.layers) >= 1:
                c.layers = [i - 1 for i in c.layers]
                said = ", ".join(map(str, c.layers))
                c.note = f"layers counted from 1, as you said: '{c.phrase}' is layer{'s' if len(c.layers) > 1 else ''} {said}."
    return chosen


# a selection said as what is left out: "not on layer 0", "but not layer 11", "не на слое 0", "except the last"
LEFT_OUT_START = re.compile(r"[\s,(]*(?:but\s+|а\s+|но\s+)?(?:not|never|не|except|excluding|кроме|без|skip\w*)\b")


def _extend_before(c: LayerSelection, chosen: list[LayerSelection], text: str, num_layers: int, model: str) -> bool:
    """Take in one list item just before a selection whose noun it shares ("the first and [the last layer]")."""
    before = re.search(
        rf"(?:the\s+)?(?:{HEAD}(?:\s+{N})?|{ORD})\s*(?:,|and|и|&|\+)\s*$", text[max(0, c.start - 40) : c.start]
    )
    if before is None or any(
        o is not c and o.end > c.start - len(before.group(0)) and o.start < c.start for o in chosen
    ):
        return False
    if before.group(1):
        extra = _edge(before.group(1), int(before.group(2)) if before.group(2) else 1, num_layers, model)
    else:
        extra = [0] if re.fullmatch(r"first|перв\w*", before.group(3)) else [_index(before.group(3))[0]]
    c.layers = sorted({*(c.layers or []), *_check(extra, num_layers, model)})
    c.start -= len(before.group(0))
    c.phrase = text[c.start : c.end].strip()
    return True


def parse_layer_selection(text: str, num_layers: int | None, model: str = "the model") -> LayerSelection | None:
    """The layer selection a stage's words make (the first one), or None when they name none."""
    found = [s for s in find_layer_selections(text, num_layers, model) if s.layers is not None]
    if not found:
        return None
    if len(found) > 1:  # "layers 0-1 and the last layer" → the union, in order
        leaving_out = [s for s in found if EXCEPT.match(re.sub(r"^[\s,;]+", "", s.phrase.lower()))]
        kept = [s for s in found if s not in leaving_out] or found
        union = sorted({i for s in kept for i in (s.layers or [])})
        for s in leaving_out if kept is not found else []:  # "layers 3 to 7 …, and skip layer 5": the rest of them
            union = [i for i in union if i in set(s.layers or [])]
        notes = [s.note for s in found if s.note]
        return LayerSelection(
            union, " + ".join(s.phrase for s in found), found[0].start, found[-1].end, " ".join(notes) or None
        )
    return found[0]


SETTING_BEFORE = (
    r"(?:\brank|\br|ранг\w*|\balpha|альф\w*|\blr|лр|\bepochs?|эпох\w*|\bbatch(?:\s+size)?|батч\w*|\bbeta|бет\w*"
    r"|lora|лор[аыу])\s*[=:]?\s*$"
)
LAYER_WORD = rf"(?:{HEAD}|{ORD_EN}|{ORD_RU}|\d+(?:-?(?:й|го|ого|ий|ый|ом|st|nd|rd|th))?|every|кажд\w*)"
LAYER_PHRASE = re.compile(
    rf"(?<![\w-])(?:(?:the|and|и|or|или|,|of|&|\+|{LAYER_WORD})\s*)*?{LAYER_WORD}\s*(?:(?:the|and|и|,|&|\+)\s*)*"
    rf"(?:{LAYER_WORD}\s*)*{LW}(?!\w)"
)


def unread_layer_words(text: str, num_layers: int | None) -> list[str]:
    """Layer phrases part of which no selection read ("the first and the last layer" read as the last only):
    asked about by the fact check, never silently narrowed."""
    try:
        selections = find_layer_selections(text, num_layers)
    except GraftError:
        return []  # the selection itself is refused with its reason
    lowered = text.lower().replace("ё", "е")
    spans = [(s.start, s.end) for s in selections]
    unread = []
    for m in re.finditer(
        rf"(?:middle|central|centre|center|средн\w*|центральн\w*)\s+{LW}(?!\w)"
        r"(?!\s*(?:only\s*|только\s*)?\(?\s*(?:(?:from|с|со)\s+)?\d)",
        lowered,
    ):
        if not any(a <= m.start() < b for a, b in spans):  # "the middle layers": how many, and which?
            unread.append(text[m.start() : m.end()].strip())
    for m in LAYER_PHRASE.finditer(lowered):
        for w in re.finditer(LAYER_WORD, m.group(0)):
            at = m.start() + w.start()
            if w.group(0).isdigit() and re.search(SETTING_BEFORE, lowered[max(0, at - 24) : at]):
                continue  # "ранг 8, каждый второй слой": the 8 is the rank's
            if not any(a <= at < b for a, b in spans):
                unread.append(text[m.start() : m.end()].strip())
                break
    return unread
