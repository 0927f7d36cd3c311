"""Values said by reference to another stage: "DPO with the same lr as the SFT", "DPO at half that rank",
"a 10x lower lr for DPO", "те же настройки, что у SFT", "ранг вдвое меньше".

A reference becomes a fact with the referred value (scoped to the stage it was said for, so the
plan and the review both show the number), or, where the goal states no value to refer to, a
"reference" fact the plan can never hold: the fact check then asks which value was meant. Nothing
is planned from a guess at what "the same" points to.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agent.goal_numbers import word_value

if TYPE_CHECKING:
    from agent.goal_facts import Fact

# slot words a reference can name (the value is what the other stage was given)
REFERRED = {
    "learning_rate": r"learning[_ -]rates?|lrs?|скорост\w*(?:\s+обучения)?|лр",
    "r": r"ranks?|r|ранг\w*",
    "alpha": r"alphas?|альф\w*",
    "epochs": r"(?:(?:number|count)\s+of\s+)?epochs?|(?:(?:числ\w*|количеств\w*)\s+)?эпох\w*",  # "the same number of epochs"
    "max_steps": r"(?:number of\s+)?steps|шаг\w*",
    "beta": r"betas?|бет\w*",
    "batch_size": r"batch(?:[_ ]size)?|батч\w*",
    "max_length": r"max(?:imum)?[_ ](?:seq(?:uence)?[_ ])?length|max[_ ]len|context(?: length)?|длин\w*(?:\s+контекста)?",
    "warmup_steps": r"warm[_ -]?up|прогрев\w*",
    "dropout": r"dropout|дропаут\w*",
    "weight_decay": r"weight[_ ]decay",
    "lr_scheduler_type": r"(?:lr\s+|learning rate\s+)?schedul(?:e|er)|расписани\w*|шедулер\w*",
    "layers": r"layers|blocks|сло(?:и|ях|ям)|блок(?:и|ах)",
    "module": r"(?:target\s+)?modules|targets|target modules|projections|модул(?:и|ях)|проекци(?:и|ях)|таргет\w*",
    "all": r"settings|hyper-?param(?:eter)?s|hparams|params|parameters|config|recipe|setup|настройк\w*|гиперпараметр\w*"
    r"|параметр\w*|конфиг\w*",
}
SLOT_WORD = "|".join(f"(?P<{slot}>{pattern})" for slot, pattern in REFERRED.items())
STAGE_WORD = (
    r"(?P<stage>sft|dpo|ipo|orpo|simpo|kto|(?:the\s+)?(?:first|previous|earlier|last|other)\s+(?:stage|one|run|step|adapter)"
    r"|before|above|первого|первом|предыдущ\w*|прошл\w*)"
)
STAGE_NAMES = {"ipo": "dpo"}


def _as(pattern: str, prefix: str) -> str:
    """The pattern with its named groups renamed (one regex may hold the same words in two alternatives)."""
    return pattern.replace("?P<", f"?P<{prefix}")


SAME_EN = re.compile(
    r"\b(?:the\s+|its\s+)?same\s+(?:lora\s+|adapter\s+)?(?:" + SLOT_WORD + r")\b"
    r"(?:\s+(?:as|like)\s+(?:(?:for|in|on|with)\s+)?(?:the\s+)?" + STAGE_WORD + r"(?:\s+(?:stage|run|one|step))?)?"
    r"|\b(?:"
    + _as(SLOT_WORD, "x_")
    + r")\s+(?:the\s+)?same\s+as\s+(?:(?:for|in|on)\s+)?(?:the\s+)?"
    + _as(STAGE_WORD, "x_")
    + r"|\b(?:the\s+)?same\s+as\s+(?:(?:for|in|on|with)\s+)?(?:the\s+)?"
    + _as(STAGE_WORD, "y_")
    + r"(?!\s*(?:data|dataset|file))"
)
SAME_EN_ALL = re.compile(  # "keep everything the same but beta 0.2", "everything else as in the SFT"
    r"\b(?:keep\s+)?(?:everything|all(?:\s+(?:else|the rest))?|the rest|the other settings)(?:\s+else)?\s+(?:the\s+)?same\b"
    r"(?:\s+as\s+(?:(?:for|in|on)\s+)?(?:the\s+)?" + STAGE_WORD + r")?"
    r"|\beverything\s+(?:else\s+)?(?:as|like)\s+(?:(?:for|in|on)\s+)?(?:the\s+)?"
    + _as(STAGE_WORD, "x_")
    + r"|(?<![а-я])(?:вс[её]\s+(?:остальное\s+)?(?:то\s+же\s+самое|так\s+же|как\s+(?:у|в|для|при))|остальное\s+(?:так\s+же|как\s+(?:у|в|для|при)))"
)
SAME_RU_AFTER = re.compile(  # "DPO — lr такой же", "ранг тот же"
    r"(?<![\w.-])(?:" + SLOT_WORD + r")\s*(?:-|—|:)?\s*(?:тот|та|то|те|такой|такая|такое|такие)\s+же(?![а-я])"
)
SAME_RU = re.compile(
    r"(?<![а-я])(?:тот|та|ту|то|те|тем|той|теми|такой|такая|такую|такие|таким|такими|такое)\s+же\s+(?:"
    + SLOT_WORD
    + r")"
    r"(?:,?\s*(?:что|как)\s+(?:и\s+)?(?:(?:у|в|для|на|при)\s+)?" + STAGE_WORD + ")?"
    r"|(?:" + _as(SLOT_WORD, "x_") + r")\s+(?:такой\s+же\s+|такая\s+же\s+|такие\s+же\s+|те\s+же\s+)?"
    r"как\s+(?:и\s+)?(?:у|в|для|на|при)\s+" + _as(STAGE_WORD, "x_")
)

_FACTOR = (
    r"(?P<factor>half|halve[ds]?|twice|double[ds]?|triple[ds]?|quadruple[ds]?|(?P<num>\d+)\s*/\s*(?P<den>\d+)"
    r"|(?:a|one)\s+(?P<part>third|quarter|fourth|fifth|hundredth|thousandth|[a-z]+th)(?:\s+of)?"
    r"|(?P<times>\d+(?:\.\d+)?|[a-z]+)\s*(?:x|×|times)(?:\s+(?P<dir>lower|smaller|less|higher|bigger|larger|more|greater))?"
    r"|вдвое|втрое|вчетверо|в\s+(?P<ru_times>\d+(?:[.,]\d+)?|[а-я]+)\s+раза?|половин\w*|удвоенн\w*|утроенн\w*|учетвер[её]нн\w*"
    r"|(?P<ru_part>трет\w*|четвёрт\w*|четверт\w*|пят\w*|десят\w*|сот\w*|тысячн\w*)\s+част\w*(?:\s+от)?)"  # «десятой частью»
)
RU_DIRECTION = r"(?P<ru_dir>меньш\w*|ниж\w*|больш\w*|выш\w*|крупн\w*)"
# "half that rank", "a 10x lower lr", "twice the epochs of the SFT", "вдвое меньший ранг"
FACTOR_FIRST = re.compile(
    # ("… и вдвое меньшим lr": after «и» only a factor with its direction, not "… и половина")
    r"(?:(?<!and )(?<!and a )|(?=(?:half|double|twice|triple|quadruple)\s+(?:of\s+)?(?:that|the\s+same)\s)"
    # "… and a fifth of its lr": a part of another stage's value, after "and"
    r"|(?=(?:(?:a|one)\s+)?(?:[a-z]+th|third|quarter)\s+of\s+(?:that|its|the\s+same|the\s+sft'?s?)\s))"
    r"(?:(?<![а-я] и )|(?=(?:вдвое|втрое|вчетверо|в\s+\S+\s+раза?)\s+(?:меньш|больш|ниж|выш)))"
    r"(?:\bat\s+|\bwith\s+|\bс\s+)?(?:\ban?\s+)?"
    + _FACTOR
    + r"(?:\s+"
    + RU_DIRECTION
    + r")?"
    + r"\s+(?:(?:of\s+)?(?:that|the|its|this|the same|этого|этой|того|той|от)\s+)?(?:(?P<owner>sft|dpo|orpo|kto|simpo)(?:'s)?\s+)?"
    + r"(?:(?:числ\w*|количеств\w*)\s+)?(?:"  # «вдвое большим числом эпох»
    + SLOT_WORD
    + r")\b"
    + r"(?:\s+(?:than|as|of|чем)\s+(?:(?:for|in|on|у|в|для|на)\s+)?(?:the\s+)?"
    + STAGE_WORD
    + r"(?:'s)?)?"
)
# "lr 10x lower", "rank half of that", "ранг вдвое меньше", "lr в 10 раз меньше, чем у SFT"
SLOT_FIRST = re.compile(
    r"(?<![\w.-])(?:"
    + _as(SLOT_WORD, "x_")
    + r")\s*(?:is\s+|of\s+|at\s+|=\s*|в\s+(?=\S+\s+част))?"
    + _as(_FACTOR, "x_")
    + r"(?:\s+"
    + _as(RU_DIRECTION, "x_")
    + r")?"
    # not "epochs at a tenth of that learning rate": the factor is the next setting's
    + r"(?!\s+(?:(?:of\s+)?(?:that|the|its|this|этого|этой|того|той)\s+)?(?:"
    + _as(SLOT_WORD, "w_")
    + r")\b)"
    + r"(?:\s+(?:of\s+)?(?:that|the sft'?s?|sft'?s|the sft one|of sft))?"
    + r"(?:,?\s+(?:than|as|of|чем)\s+(?:(?:for|in|on|у|в|для|на)\s+)?(?:the\s+)?"
    + _as(STAGE_WORD, "x_")
    + r"(?:'s)?)?"
)
# "lr для SFT 2e-4, а для DPO в десять раз меньше", "lr 1e-4 for SFT, for DPO ten times lower": the setting
# said last before it, for the stage named
ELIDED = re.compile(
    r"(?<![\w.-])(?P<target>sft|dpo|orpo|kto|simpo)(?:\s+stage|\s+этап\w*)?\s*[:,—-]?\s*(?:(?:is|at|with|с)\s+)?(?:an?\s+)?"
    + _FACTOR
    + r"(?:\s+"
    + RU_DIRECTION
    + r")?(?![\w-])(?!\s+(?:(?:of\s+)?(?:that|the|its|this)\s+)?(?:"
    + _as(SLOT_WORD, "z_")
    + r")\b)"
)
# "…, then DPO on b.jsonl 10x lower for dpo", "в 10 раз меньше для DPO": the factor, then the stage it is for
ELIDED_FOR = re.compile(
    r"(?<![\w.-])"
    + _FACTOR
    + r"(?:\s+"
    + RU_DIRECTION
    + r")?\s+(?:for|для)\s+(?:the\s+)?(?P<target>sft|dpo|orpo|kto|simpo)\b(?!\s*(?:'s)?\s*(?:"
    + _as(SLOT_WORD, "z_")
    + r")\b)"
)
OF_THAT = re.compile(
    r"(?:\bat\s+)?" + _FACTOR + r"\s+(?:of\s+)?(?:that|it|this)\b(?!\s+(?:" + _as(SLOT_WORD, "z_") + r"))"
)
AS_MANY = re.compile(r"(?:\bfor\s+)?" + _FACTOR + r"\s+as\s+(?:many|long)(?:\s+(?:epochs|steps))?")
COUNTED = re.compile(r"(?P<epochs>\bepochs?\b|эпох\w*)|(?P<steps>\bsteps\b|шаг\w*)")
NUMERIC = {"learning_rate", "r", "alpha", "epochs", "max_steps", "beta", "batch_size", "max_length", "warmup_steps",
           "dropout", "weight_decay"}  # fmt: skip


def _group(m: re.Match[str], name: str) -> str | None:
    for prefix in ("", "x_", "y_"):
        value = m.groupdict().get(prefix + name)
        if value is not None:
            return value
    return None


def _slot(m: re.Match[str]) -> str | None:
    return next((slot for slot in REFERRED if _group(m, slot) is not None), None)


def _stage(m: re.Match[str]) -> str | None:
    word = _group(m, "stage") or _group(m, "owner")
    if word is None:
        return None
    word = word.strip()
    return STAGE_NAMES.get(word, word) if word in ("sft", "dpo", "ipo", "orpo", "simpo", "kto") else "earlier"


def _factor(m: re.Match[str]) -> float | None:
    word = (_group(m, "factor") or "").strip()
    direction = _group(m, "dir") or _group(m, "ru_dir") or ""
    smaller = bool(re.match(r"lower|smaller|less|меньш|ниж", direction))
    if re.match(r"half|halve|половин", word):
        return 0.5
    if _group(m, "num") and _group(m, "den"):  # "at 1/40 of that"
        return float(_group(m, "num")) / float(_group(m, "den")) if float(_group(m, "den")) else None
    if ru_part := _group(m, "ru_part"):  # «с десятой частью этой скорости», «пятую часть ранга SFT»
        stems = {"трет": 3, "четв": 4, "пят": 5, "десят": 10, "сот": 100, "тысячн": 1000}
        n = next((v for stem, v in stems.items() if ru_part.startswith(stem)), None)
        return 1.0 / n if n else None
    part = _group(m, "part")
    if part:
        from agent.goal_numbers import ordinal_value

        n = {"third": 3, "quarter": 4, "hundredth": 100, "thousandth": 1000}.get(part) or ordinal_value(part)
        return 1.0 / n if n else None
    if re.match(r"twice|double|удвоенн", word):
        return 2.0
    if re.match(r"утроенн|учетвер", word):  # «утроенный ранг», «учетверённому рангу»
        return 3.0 if word.startswith("утр") else 4.0
    fixed = {"вдвое": 2.0, "втрое": 3.0, "вчетверо": 4.0}
    times_word = _group(m, "times") or _group(m, "ru_times")
    if word.startswith(("triple", "quadruple")):
        return 3.0 if word.startswith("triple") else 4.0
    if word in fixed:
        n = fixed[word]
    elif times_word is not None:
        n = float(times_word.replace(",", ".")) if re.fullmatch(r"[\d.,]+", times_word) else word_value(times_word)
        if n is None or n <= 0:
            return None
    else:
        return None
    if not direction and not times_word:
        return None
    return 1.0 / float(n) if smaller else float(n)


# "the same lr divided by 10", "тот же lr, делённый на 10", "same rank times 2": a value said by reference, scaled
SCALED = re.compile(
    r"\s*,?\s*(?:divided\s+by|over|/|делённ\w*\s+на|деленн\w*\s+на|поделённ\w*\s+на|поделенн\w*\s+на|делить\s+на"
    r"|multiplied\s+by|times|умноженн\w*\s+на|умножить\s+на)\s*(?P<n>\d+(?:\.\d+)?)(?![\w.])"
)


def reference_facts(masked: str, said: list[Fact] | None = None) -> list[Fact]:
    """The references in the goal, each a fact whose value is still to be found ('reference' until resolved)."""
    from agent.goal_facts import Fact, relative_alphas

    facts: list[Fact] = []
    # "alpha = 2x the rank", "альфа = 2 × ранг": alpha from this stage's rank, read by the alpha reader
    facts_alpha = [(m.start(), m.end()) for m in relative_alphas(masked)]
    for pattern in (SAME_EN_ALL, SAME_EN, SAME_RU, SAME_RU_AFTER):
        for m in pattern.finditer(masked):
            listed = re.match(r"\s*\(([^()]*)\)", masked[m.end() :])
            if (
                (_slot(m) or "all") == "all"
                and listed
                and said
                and any(m.end() + listed.start(1) <= f.start < m.end() + listed.end(1) for f in said)
            ):  # "the same LoRA settings as the SFT (r 32, alpha 64)": those values, for every stage
                facts.append(Fact("same_as", "settings", m.group(0).strip(), m.start(), m.end()))
                continue
            said_value = re.match(r"\s*\(\s*([\d.]+(?:e[-+]?\d+)?)\s*\)", masked[m.end() :]) or re.match(
                # "same rank for both = 8", "same lr for all stages: 1e-5", "тот же ранг для обоих — 8"
                r"\s*(?:(?:for|across|in)\s+(?:both|all|each|every)(?:\s+(?:stages?|runs?|of\s+them))?"
                r"|для\s+(?:обоих|обеих|всех|каждого)(?:\s+(?:этапов|этапа|стадий))?|(?:у|в)\s+(?:обоих|обеих|всех))?"
                r",?\s*(?:=|:|—|-|is|of|at|равн\w*)?\s*([\d.]+(?:e[-+]?\d+)?)(?![\w.])",
                masked[m.end() :],
            )
            if said_value and _slot(m) in NUMERIC:  # "the same lr as SFT (3e-5)": that value for both stages
                value = float(said_value.group(1))
                fact = Fact(_slot(m), value, m.group(0).strip(), m.start(), m.end() + said_value.end(), scope="all")
                fact.derived = "said for both stages"
                facts.append(fact)
                continue
            if any(f.start <= m.start() < f.end for f in facts) or any(
                s <= m.start() < e or m.start() <= s < m.end() for s, e in facts_alpha
            ):
                continue
            slot = _slot(m) or "all"
            scaled = SCALED.match(masked, m.end()) if slot in NUMERIC else None
            if scaled:  # "the same lr divided by 10", "тот же lr, делённый на 10": that value, scaled
                n = float(scaled.group("n"))
                factor = n if re.match(r"\s*,?\s*(?:multipl|times|умнож)", scaled.group(0)) else (1 / n if n else 0.0)
                if factor > 0:
                    end = scaled.end()
                    facts.append(
                        Fact("reference", (slot, factor, _stage(m)), masked[m.start() : end].strip(), m.start(), end)
                    )
                    continue
            fact = Fact("reference", (slot, 1.0, _stage(m)), m.group(0).strip(), m.start(), m.end())
            facts.append(fact)
            more = re.match(r"\s+(?:and|и|&)\s+(?:the\s+)?(?:" + _as(SLOT_WORD, "w_") + r")\b", masked[m.end() :])
            own = more and re.match(
                r"\s*(?:[=:]|\.?\d|[a-zа-я]*\s*(?:вдвое|втрое|вчетверо|половин|half|twice|double|в\s+\S+\s+раз|\d))",
                masked[m.end() + more.end() :],
            )
            if more and slot != "all" and not own:  # "the same targets and rank": both said by reference
                other = next(s for s in REFERRED if more.groupdict().get("w_" + s) is not None)
                end = m.end() + more.end()
                facts.append(
                    Fact("reference", (other, 1.0, _stage(m)), masked[m.start() : end].strip(), m.start(), end)
                )
    for m in AS_MANY.finditer(masked):  # "for one third as many", "twice as many": the count said before
        factor = _factor(m)
        said = [c for c in COUNTED.finditer(masked[: m.start()])]
        if factor is None or not said:
            continue
        slot = "epochs" if said[-1].group("epochs") else "max_steps"
        facts.append(Fact("reference", (slot, factor, None), m.group(0).strip(), m.start(), m.end()))
    for pattern in (FACTOR_FIRST, SLOT_FIRST):
        for m in pattern.finditer(masked):
            slot = _slot(m)
            factor = _factor(m)
            if slot not in NUMERIC or factor is None or any(f.start <= m.start() < f.end for f in facts):
                continue
            if any(s <= m.start() < e or m.start() <= s < m.end() for s, e in facts_alpha):
                continue
            facts.append(Fact("reference", (slot, factor, _stage(m)), m.group(0).strip(), m.start(), m.end()))
    for m in (*ELIDED.finditer(masked), *ELIDED_FOR.finditer(masked)):
        factor = _factor(m)
        start = m.start("factor")
        earlier = [f for f in said or [] if f.slot in NUMERIC and f.end <= m.start()]
        if factor is None or not (_group(m, "dir") or _group(m, "ru_dir")):
            continue  # "DPO twice" is two DPO runs; a ratio with no setting needs "lower"/"меньше" to be one
        if not earlier or any(f.start <= start < f.end or start <= f.start < m.end() for f in facts):
            continue
        slot = max(earlier, key=lambda f: f.end).slot
        facts.append(Fact("reference", (slot, factor, None), masked[start : m.end()].strip(), start, m.end()))
    for m in OF_THAT.finditer(masked):  # "DPO at a twentieth of that": the number said last before it
        factor = _factor(m)
        earlier = [f for f in said or [] if f.slot in NUMERIC and f.end <= m.start()]
        if (
            factor is None
            or not earlier
            or any(f.start <= m.start() < f.end or m.start() <= f.start < m.end() for f in facts)
        ):
            continue
        slot = max(earlier, key=lambda f: f.end).slot
        facts.append(Fact("reference", (slot, factor, None), m.group(0).strip(), m.start(), m.end()))
    for f in facts:  # "lora alpha equal to twice the rank", «альфа — удвоенный ранг»: alpha said by this stage's rank
        if f.slot != "reference" or not isinstance(f.value, tuple):
            continue
        if f.value[0] == "r" and f.value[1] != 1.0 and ALPHA_BEFORE.search(masked[max(0, f.start - 30) : f.start]):
            f.value = ("alpha", f.value[1], f.value[2])
    return facts


ALPHA_BEFORE = re.compile(
    r"(?:lora[_ ])?alpha\s*(?:equal\s+to|equals|=|:|is|of|at|set\s+to|as|to)?\s*(?:the\s+)?$"
    r"|(?<![а-я])альф\w*\s*,?\s*(?:равн\w*|=|:|-)?\s*$"
)


def resolve_references(facts: list[Fact], references: list[Fact]) -> list[Fact]:
    """Each reference as the facts it stands for ("same lr as SFT" → learning rate 2e-5 for DPO), or left a
    'reference' fact naming what is missing, which the fact check asks about."""
    from agent.goal_facts import INT_SLOTS, SLOT_NAMES, Fact

    out: list[Fact] = []
    for ref in references:
        if ref.slot == "same_as":
            out.append(ref)
            continue
        if ref.slot != "reference":  # a value said with the reference: for every stage it names
            ref.scope = "all"
            out.append(ref)
            continue
        slot, factor, stage = ref.value
        scope = ref.scope
        if slot in ("layers", "module") and factor == 1.0:
            ref.slot, ref.value = "same_as", slot  # the planner carries an earlier stage's layers and modules
            out.append(ref)
            continue
        slots = [s for s in SLOT_NAMES if s not in ("seed",)] if slot == "all" else [slot]
        made: list[Fact] = []
        own_rank = False  # alpha said by the rank of its own stage, which needs no other stage
        for name in slots:
            if slot == "all" and any(f.slot == name and f.scope == scope for f in facts):
                continue  # "same as SFT but beta 0.1": what is said for this stage is its own
            earlier = [
                f
                for f in facts
                if f.slot == name
                and (f.start < ref.start or stage not in (None, "earlier"))
                and f.scope != scope
                and (stage in (None, "earlier") or f.scope in (stage, None, "all"))
                and f.value is not None
            ]
            if not earlier and name == "alpha" and factor != 1.0:
                # "ранг 64, альфа вдвое больше": alpha is said relative to the rank said before it, in its own stage
                earlier = [f for f in facts if f.slot == "r" and f.start < ref.start and f.scope == scope]
                later = [f for f in facts if f.slot == "r" and f.start > ref.end and f.scope == scope]
                if not earlier and len(later) == 1:
                    earlier = later  # "alpha equal to twice the rank, rank 24": the stage's one rank, said after
                ranks = [f for f in facts if f.slot == "r"]
                if not earlier and len(ranks) == 1 and ranks[0].scope in (None, "all"):
                    earlier = ranks  # "rank 128 LoRA on x, alpha half that rank": the goal's one rank, said before
                    scope = scope or ranks[0].scope
                own_rank = bool(earlier)
            if not earlier:
                continue
            source = earlier[-1]
            value = source.value
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = value * factor
                if name in INT_SLOTS:
                    if abs(value - round(value)) > 1e-9 or round(value) < 1:
                        continue
                    value = round(value)
            elif factor != 1.0:
                continue
            fact = Fact(name, value, ref.phrase, ref.start, ref.end, scope=scope)
            fact.derived = f"from '{ref.phrase}'"
            made.append(fact)
        if made and (scope is not None or own_rank):
            out.extend(made)
        else:
            ref.value = slot
            out.append(ref)
    return out


# "half the default lr", "twice the default rank", «lr вдвое меньше дефолтного»: a factor of Graft's own default
_DEFAULT_WORD = r"(?:default|usual|standard|graft'?s\s+default|дефолтн\w*|стандартн\w*|по\s+умолчанию)"
DEFAULT_SCALED = re.compile(
    _FACTOR
    + r"(?:\s+"
    + RU_DIRECTION
    + r")?\s+(?:of\s+)?(?:the\s+)?"
    + _DEFAULT_WORD
    + r"\s+(?:"
    + SLOT_WORD
    + r")\b"
    + r"|(?<![\w.-])(?:"
    + _as(SLOT_WORD, "x_")
    + r")\s+"
    + _as(_FACTOR, "x_")
    + r"(?:\s+"
    + _as(RU_DIRECTION, "x_")
    + r")?\s+(?:(?:of|than|чем)\s+)?(?:the\s+)?"
    + _DEFAULT_WORD
)
DEFAULTS = {"r": 16.0, "beta": 0.1, "epochs": 1.0, "batch_size": 4.0, "max_length": 1024.0}
DEFAULT_LR = {"sft": 2e-4}  # every preference method's default is 5e-5 (agent/offline_planner.py)


# "lr the same as the default", «lr такой же, как по умолчанию»: Graft's default, said as such
DEFAULT_SAME = re.compile(
    r"(?<![\w.-])(?:"
    + SLOT_WORD
    + r")\s*(?:is\s+|=\s*|—\s*|-\s*)?(?:the\s+)?(?:same\s+as|(?:такой|такая|такое|тот|та)\s+же,?"
    r"\s+как)\s+(?:и\s+)?(?:the\s+|graft'?s\s+)?(?:default|по\s+умолчанию|дефолтн\w*)"
)


def default_scaled_facts(masked: str) -> list[Fact]:
    """Values said as a factor of Graft's own default, unscoped; `scaled_default` gives the value once scoped."""
    from agent.goal_facts import Fact

    facts = []
    for m in DEFAULT_SCALED.finditer(masked):
        slot, factor = _slot(m), _factor(m)
        if slot in (*DEFAULTS, "learning_rate") and factor:
            facts.append(Fact(slot, factor, m.group(0).strip(), m.start(), m.end(), derived="default"))
    for m in DEFAULT_SAME.finditer(masked):
        slot = _slot(m)
        if slot in (*DEFAULTS, "learning_rate") and not any(f.start < m.end() and m.start() < f.end for f in facts):
            facts.append(Fact(slot, 1.0, m.group(0).strip(), m.start(), m.end(), derived="default"))
    return facts


def scaled_default(fact: Fact) -> None:
    """The factor said for Graft's default, turned into the value for the fact's stage (in place)."""
    factor = float(fact.value)
    default = DEFAULTS.get(fact.slot) or DEFAULT_LR.get(fact.scope or "sft", 5e-5)
    value = factor * default
    fact.value = (
        int(value) if fact.slot in ("r", "batch_size", "max_length") and value.is_integer() else float(f"{value:.6g}")
    )
    fact.derived = f"{factor:g} × Graft's default {default:g}"
