"""Where a two-model merge's shares are said by owner, clause by clause: "our model 25%, B 75%", «партнёру треть,
остальное нам», «нашей - четверть, партнёру B - 0.75», "B's share is half of ours", «вес B вдвое меньше нашего».

Each share is read with the member it is said for, so the two members' weights come out together or not at all:
a reading that does not give both members a share (summing to the whole) is no reading, and the goal's numbers stay
for the fact check to ask about. Texts here are the readers' lower-cased, path-masked goals (`#` for a path)."""

from __future__ import annotations

import re

from agent.goal_facts import MEMBER_WORD, MERGE_WORDS, Favoured
from agent.goal_numbers import exact_share

# a member: a masked path, a member word, or a member word with its folder in brackets ("partner (B)")
_OWNER = rf"(?:#{{3,}}|{MEMBER_WORD})(?:\s*\(\s*#{{3,}}\s*\))?"  # (ordinals are read as folders: expand_ordinals)
_FRACTIONS = {
    "half": 0.5,
    "a half": 0.5,
    "one half": 0.5,
    "a third": 1 / 3,
    "one third": 1 / 3,
    "third": 1 / 3,
    "a quarter": 0.25,
    "one quarter": 0.25,
    "quarter": 0.25,
    "a fifth": 0.2,
    "a tenth": 0.1,
    "половина": 0.5,
    "половину": 0.5,
    "половины": 0.5,
    "треть": 1 / 3,
    "трети": 1 / 3,
    "третью": 1 / 3,
    "четверть": 0.25,
    "четверти": 0.25,
    "четвертью": 0.25,
    "пятая часть": 0.2,
    "пятую часть": 0.2,
}
_FRACTION = "|".join(sorted(map(re.escape, _FRACTIONS), key=len, reverse=True))


def _value_pattern(k: str) -> str:
    """A share said by number, fraction word, 'the rest' or 'the bigger share', in groups suffixed `k`."""
    return (
        rf"(?:(?<![\w.-])(?P<num{k}>\d*\.?\d+)\s*(?P<pct{k}>%)?(?![\w.])|(?<![\w-])(?P<frac{k}>{_FRACTION})(?![\w-])"
        rf"|(?P<rest{k}>(?:(?:the|all\s+the|всё|все)\s+)?(?:rest|remainder|остальн(?:ое|ая|ую)|остаток|оставшееся))(?![\w-])"
        rf"|(?P<size{k}>(?:the\s+)?(?:bigger|larger|greater|smaller|lesser)|бо?льш(?:ая|ую)|меньш(?:ая|ую))"
        r"(?:\s+(?:share|part|portion|weight|доля|долю|часть))?(?![\w-]))"
    )


# words that may stand between a member and its share: "ours gets 0.6", "партнёру — треть", "доля B - 0.25"
_FILL = (
    r"(?:(?:gets?|takes?|has|keeps?|receives?|getting|should\s+get|will\s+get|is|are|at|of|to|for|by|the|a|share|weighted|weight"
    r"|part|portion|goes\s+to|go\s+to|получает|получит|берет|возьмет|достается|идет|отдай|отдаем|доля|долю|вес|часть"
    r"|пусть|будет|у|для|на|-|:|=)\s*)*"
)
# a number said again after a share word: "B gets the bigger share, 65%", "the smaller share to ours (20%)"
_EXTRA = r"(?:\s*(?:\(\s*|,\s*|-\s*)(?P<xnum>\d*\.?\d+)\s*(?P<xpct>%)?\s*\)?(?=\s*(?:$|[,;.!?)]|-|and\b|и\b|а\b)))?"
_PAIR = re.compile(
    rf"(?P<a>{_OWNER})(?:'s)?\s*{_FILL}{_value_pattern('a')}{_EXTRA.replace('xnum', 'xnuma').replace('xpct', 'xpcta')}"
    rf"|{_value_pattern('b')}\s*{_FILL}(?P<b>{_OWNER})(?:'s)?{_EXTRA.replace('xnum', 'xnumb').replace('xpct', 'xpctb')}"
)
# what may follow a member's number: the end of its clause, not a unit ("ours for 3 epochs")
_CLAUSE_END = re.compile(r"\s*(?:$|[,;.!?)(]|-|(?:and|и|а|then|потом|затем|with|с)(?![\w-]))")
# a relation between two members' shares: "B's share is 0.5 of ours" ("half" is read as 0.5 before this),
# "B to have twice the weight of ours", "B gets 3x the weight of C", «вес B вдвое меньше нашего», «B в два раза больше»
_TIMES = (
    r"(?P<twice>twice|double|вдвое)|(?P<thrice>triple|thrice|втрое)|(?P<n>\d+(?:\.\d+)?|two|three|four|five|ten)\s*(?:x|×|times)"
    r"|в\s+(?P<rn>\d+(?:\.\d+)?|два|две|три|четыре)\s+раза?"
)
_TIMES_WORDS = {"два": 2.0, "две": 2.0, "три": 3.0, "четыре": 4.0, "two": 2.0, "three": 3.0, "four": 4.0, "five": 5.0,
                "ten": 10.0}  # fmt: skip
_RELATION = re.compile(
    rf"(?:(?:вес|доля|weight\s+of|share\s+of)\s+)?(?P<a>{_OWNER})(?:'s)?\s+(?:(?:share|weight|вес|доля)\s+)?"
    r"(?:(?:is|should\s+be|will\s+be|to\s+(?:have|get|be)|gets?|has|have|(?:should\s+|must\s+|to\s+)?(?:counts?|weighs?)"
    r"|=|-|будет|должн\w+\s+быть)\s+)?"
    rf"(?:(?P<part>0?\.\d+)\s+(?:of|от)\s+(?:that\s+of\s+)?|(?:{_TIMES})\s*(?P<dir>больше|меньше|smaller|less|bigger|more|larger)?"
    r"\s*(?:(?:the|that|as\s+much)\s+)?(?:(?:share|weight|part)\s+)?(?:(?:of|as|than|чем|от)\s+)?(?:that\s+of\s+)?)"
    rf"(?P<b>{_OWNER})?(?:'s)?(?![\w-])"
)


def _value(m: re.Match[str], k: str) -> tuple[float | str, str]:
    """A share as a fraction of the whole, or 'rest' where a word stands for it; and 'big'/'small' where a size
    word was said with it ('' where none)."""
    size = m[f"size{k}"] or ""
    size = "small" if re.search(r"smaller|lesser|меньш", size) else "big" if size else ""
    number, percent = m[f"num{k}"] or m[f"xnum{k}"], m[f"pct{k}"] or m[f"xpct{k}"]
    if number is not None:
        value = float(number)
        return (value / 100 if percent else value), size  # (a bare 25 is a percent only beside a 75)
    if m[f"frac{k}"] is not None:
        return _FRACTIONS[m[f"frac{k}"]], size
    return ("rest" if m[f"rest{k}"] is not None else size), size


def _who(m: re.Match[str], group: str) -> tuple[int, int]:
    """The member's own span: the folder in brackets after a member word ("partner (B)") names it best."""
    start, end = m.span(group)
    inner = re.search(r"\(\s*(#{3,})\s*\)", m.string[start:end])
    return (start + inner.start(1), start + inner.end(1)) if inner else (start, end)


def owned_pair(masked: str) -> Favoured | None:
    """Two members, each said with its share ("our model 25%, B 75%", «партнёру треть, остальное нам», "the bigger
    share to ours (0.75), the smaller to B"), or one member's share with the other left to take the rest ("нашей
    модели отдай большую долю - 0.6"), as the first member's share and the other's."""
    pairs = []
    at = 0
    fraction_said = False
    while m := _PAIR.search(masked, at):
        at = m.end()
        k = "a" if m["a"] is not None else "b"
        if m[f"num{k}"] is not None and not m[f"xnum{k}"] and k == "a" and not _CLAUSE_END.match(masked, m.end()):
            at = m.start("numa")  # "ours for 3 epochs": a number of something else; "A and B: 65% the first one":
            continue  # the number may be the share of the member said after it
        if k == "b" and m["numb"] is not None and not m["pctb"] and not masked[m.end("numb") : m.start("b")].strip():
            continue  # "density 0.5; B …": a bare number then a member, with no word that gives it the number
        value, size = _value(m, k)
        pairs.append((_who(m, k), value, size, m.start(), m.end()))
        fraction_said = fraction_said or (  # «доля партнёра — четверть», "partner gets a third" (not "x.jsonl at half")
            m[f"frac{k}"] is not None
            and bool(
                re.search(r"gets?|takes?|receives?|share|weight|доля|долю|получ|достает|достаёт|[-:=—]", m.group(0))
            )
        )
    if not pairs or len(pairs) > 2:
        return None
    if (
        len(pairs) == 1
        and not pairs[0][2]
        and not (fraction_said and isinstance(pairs[0][1], float) and MERGE_WORDS.search(masked))
    ):
        return None  # "B at 0.25": one member's share alone is one_named_weight's to read (not «доля B — четверть»)
    if len(pairs) == 1:
        pairs.append(((-1, -1), "rest", "", pairs[0][4], pairs[0][4]))  # the other member: whatever is left
    (who, first, first_size, start, _), (other, second, second_size, _, end) = pairs
    if other[0] >= 0 and masked[who[0] : who[1]] == masked[other[0] : other[1]]:
        return None  # one member said twice: no second member's share
    numbers = [v for v in (first, second) if isinstance(v, float)]
    if len(numbers) == 2 and all(v > 1 for v in numbers) and abs(sum(numbers) - 100) < 1e-6:
        first, second = first / 100, second / 100  # "ours 25, B 75": percents
        numbers = [first, second]
    if not numbers or any(not 0 < v for v in numbers) or (len(numbers) == 1 and numbers[0] >= 1):
        return None
    if len(numbers) == 2 and abs(sum(numbers) - 1) > 1e-6:
        if not re.search(r"weigh\w*|(?<![а-я])вес\w*", masked[max(0, start - 20) : end]):
            return None  # "ours 0.3, B 0.3": not two shares of one whole
        total = sum(numbers)
        first, second = first / total, second / total  # "weighting ours by 3 and theirs by 2": a ratio
    elif isinstance(first, float):
        second = round(1 - first, 6)
    else:
        first = round(1 - second, 6)
    if not (_size_fits(first_size, first, second) and _size_fits(second_size, second, first)):
        return None  # "the smaller share to ours (70%)": the words and the numbers disagree
    named = masked[other[0] : other[1]] if other[0] >= 0 else ""
    return Favoured(round(first, 6), round(second, 6), masked[who[0] : who[1]], start, end, *who, named)


def _size_fits(said: str, share: float, other: float) -> bool:
    """Whether 'the bigger share' (or 'the smaller') is the share the numbers leave for it."""
    return not said or (said == "big" and share > other) or (said == "small" and share < other)


# "twice as much partner as ours", "3x as much B as C", «вдвое больше партнёра, чем нашей»: the multiple said first
_RELATION_FIRST = re.compile(
    rf"(?:{_TIMES})\s+(?:as\s+much|(?P<dir>больше|меньше))\s+(?:of\s+)?(?:the\s+)?(?P<a>{_OWNER})(?:'s)?\s*,?\s+"
    rf"(?:as|чем)\s+(?:(?:у|of)\s+)?(?:the\s+)?(?P<b>{_OWNER})(?:'s)?(?![\w-])"
)


def share_relation(masked: str) -> Favoured | None:
    """One member's share as a multiple of the other's ("B's share is half of ours", «B в два раза больше»), as the
    first member's share of the two; where the other is not named, it is the one other member of the merge."""
    for m in [*_RELATION_FIRST.finditer(masked), *_RELATION.finditer(masked)]:
        part = m.groupdict().get("part")
        if part is not None:
            factor = float(part)
        elif m["twice"] or m["thrice"]:
            factor = 2.0 if m["twice"] else 3.0
        elif m["n"] or m["rn"]:
            said = m["n"] or m["rn"]
            factor = _TIMES_WORDS.get(said) or float(said)
        else:
            continue
        if m["dir"] and re.fullmatch(r"меньше|smaller|less", m["dir"]):
            factor = 1 / factor
        elif not m["dir"] and m["rn"] and m.re is _RELATION:
            continue  # «в 2 раза» with no «больше»/«меньше»: which way is not said
        if factor <= 0 or (m["b"] is None and (part is not None or not m["dir"])):
            continue  # "B twice (weight 2.0)": no comparison said
        who = _who(m, "a")
        if m["b"] is not None and masked[slice(*_who(m, "b"))] == masked[who[0] : who[1]]:
            continue
        share = round(factor / (1 + factor), 6)
        other = masked[slice(*_who(m, "b"))] if m["b"] is not None else ""
        return Favoured(share, round(1 - share, 6), masked[who[0] : who[1]], m.start(), m.end(), *who, other)
    return None


def owned_list(masked: str) -> tuple[list[tuple[float, int, int]], int, int] | None:
    """Three or more members each said with its share ("ours half, B a third, C the rest", «нам 50%, B — треть,
    остальное C»), as weights_for gives them: (share, member start, member end), and where the shares are said."""
    pairs = []
    for m in _PAIR.finditer(masked):
        k = "a" if m["a"] is not None else "b"
        if m[f"num{k}"] is not None and not m[f"xnum{k}"] and k == "a" and not _CLAUSE_END.match(masked, m.end()):
            return None  # "ours for 3 epochs": a number of something else, so no clean list of shares
        if k == "b" and m["numb"] is not None and not m["pctb"] and not masked[m.end("numb") : m.start("b")].strip():
            return None
        value, size = _value(m, k)
        if size:
            return None  # "the bigger share" among three: which one is bigger than which is not a share
        pairs.append((_who(m, k), value, m.start(), m.end()))
    names = [masked[a:b] for (a, b), *_ in pairs]
    if len(pairs) < 3 or len(set(names)) != len(names):
        return None
    pairs = [(w, exact_share(v) if isinstance(v, float) else v, s, e) for w, v, s, e in pairs]  # "треть" as 0.333
    numbers = [v for _, v, _, _ in pairs if isinstance(v, float)]
    rests = len(pairs) - len(numbers)
    if all(v > 1 for v in numbers) and abs(sum(numbers) - 100) < 1e-6 and not rests:
        numbers = [v / 100 for v in numbers]  # "ours 50, B 30, C 20": percents
        pairs = [(w, v / 100, s, e) for w, v, s, e in pairs]
    if rests > 1 or any(not 0 < v < 1 for v in numbers):
        return None
    left = round(1 - sum(numbers), 6)
    if (rests and not 0 < left < 1) or (not rests and abs(left) > 1e-6):
        return None  # the shares do not make one whole
    shares = [(round(v, 6) if isinstance(v, float) else left, a, b) for (a, b), v, _, _ in pairs]
    return shares, pairs[0][2], pairs[-1][3]
