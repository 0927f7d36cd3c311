"""What a message asks for: an answer from the files, a plan, or a question back.

Decided by meaning, not punctuation. A message asks for information when one of its clauses
opens with a question word or a request to be told something ("how many", "what", "give me",
"show", "tell me", "сколько", "какой", "покажи", "расскажи"), or when it is only the name of a
fact ("the parameter count", "количество параметров"). It asks for a change when a clause opens
with an action ("train", "fine-tune", "merge", "DPO …", "обучи", "дообучи", "слей"), after any
"please / can you / I want to / хочу / давай". Both at once ("tell me the parameter count, then
train LoRA"), or a question about doing it ("which layers should I fine-tune?"), is ambiguous:
the person is asked which they meant instead of Graft guessing. Order words ("then", "потом")
only split clauses; they decide nothing by themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from agent.goal_numbers import kto_word

Route = Literal["question", "goal", "ambiguous"]

# Clause boundaries: sentence ends, semicolons, and order words between clauses.
_SPLIT = re.compile(
    r"[.;!?\n]+(?=\s|$)|[;\n]|,?\s+(?:and\s+then|and\s+after\s+that|after\s+that|and\s+also|then|"
    r"а\s+потом|и\s+потом|потом|затем|а\s+затем|и\s+затем|после\s+этого)\s+|,\s*(?:and|и|а)\s+|\s*[→—]\s*"
    # "merge the adapter and tell me …": a bare 'and' before a request to be told starts a new clause
    r"|\s+(?:and|и|а)\s+(?=(?:tell|show|give\s+me|list|print|report|what|how|which|скажи|покажи|расскажи|сколько|"
    r"какой|какая|какие|выведи)\b)"
)
# Words that may open a clause without changing what it asks for.
_FILLER = re.compile(
    r"^(?:(?:and|also|then|now|so|ok|okay|well|hey|hi|hello|just|first|next|finally|after that|"
    r"и|а|потом|затем|также|ещё|еще|теперь|ну|так|сначала|сперва|далее|привет)\b[\s,]*)+"
)
_POLITE = re.compile(
    r"^(?:(?:please|pls|kindly|(?:can|could|would|will)\s+you(?:\s+please)?|(?:can|could|may|shall)\s+(?:i|we)|"
    r"try|i(?:\s+(?:want|need|would\s+like)|'d\s+like)(?:\s+you)?\s+to|i\s+wanna|we\s+(?:want|need)\s+to|"
    r"let'?s|let\s+us|go\s+ahead\s+and|try\s+to|time\s+to|"
    r"пожалуйста|хочу|хотим|хотелось\s+бы|надо|нужно|давай(?:те)?|можешь|можете|сможешь|попробуй|будь\s+добр|"
    r"а\s+можно|можно(?:\s+ли)?|нельзя\s+ли)\b[\s,]*)+"
)
# A suggestion ("how about rank 32", "what about LoRA on layers 2-3", "а если ранг 8"): a goal when it names a recipe.
_SUGGEST = re.compile(
    r"^(?:(?:how|what)\s+about|why\s+not|maybe|perhaps|instead|а\s+если|может\s+(?:быть\s+)?|лучше|или)\b[\s,]*"
)

# A clause that opens with one of these asks to be told something.
_INFO_LEAD = re.compile(
    r"^(?:what|what's|whats|which|how|why|where|when|who|whose|"
    r"(?:is|are|was|were|does|do|did|has|have|had|can|could|will|would|should|shall|may)\s+"
    r"(?!the\s+same\b|it\s+again\b|the\s+(?:usual|standard|default|normal|regular|sft|dpo|ipo|orpo|kto|simpo|lora|dora"
    r"|merge|training|fine-?tun\w*)\b)(?:it|this|that|these|those|they|the|its|my|our|any|all|there|i|we|you\s+know)\b|"
    r"see\b|look\s+at\b|посмотр\w*|посмотри\w*|глянь\w*|узна\w*|взглян\w*|"
    r"(?:can|could|would|will)\s+you(?:\s+please)?\s+(?:tell|show|give|list|say|count|explain|describe|report|print|check)\b|"
    r"tell\s+me|show\b|give\s+me|list\b|print\b|display\b|report\b|describe\b|explain\b|count\b|summari[sz]e\b|"
    r"i\s+(?:would|'d|’d)\s+like\s+to\s+know|i\s+want\s+to\s+know|i\s+wonder|let\s+me\s+know|any\s+idea|"
    r"check\s+(?:what|how|whether|if|which)|find\s+out|look\s+up|"
    r"сколько|какой|какая|какое|какие|каков\w*|что|чем|где|почему|зачем|когда|кто|чей|есть\s+ли|ли\b|"
    r"покажи\w*|расскажи\w*|скажи\w*|назови\w*|перечисли\w*|выведи\w*|дай(?:те)?\b|подскажи\w*|опиши\w*|"
    r"объясни\w*|сообщи\w*|посчитай\w*|уточни\w*|хочу\s+(?:знать|узнать)|интересно|можешь\s+(?:сказать|показать|"
    r"рассказать|подсказать|посчитать))(?!\w)"  # "что" is not "чтобы", "how" is not "however"
)
# The name of a fact on its own ("the parameter count", "количество параметров").
_INFO_NOUN = re.compile(
    r"\b(?:params?|parameters|param(?:eter)?s?\s+count|parameter\s+number|параметр\w*|number\s+of|count\s+of|layer\s+count|"
    r"hidden\s+size|vocab(?:ulary)?\s+size|dtype|количеств\w+|число\s+\w+|размер\s+\w+)\b"
)
# Words of a training/merging recipe: with them, a bare noun phrase is a goal.
_RECIPE = re.compile(
    r"\b(?:lora|qlora|dora|sft|dpo|ipo|orpo|kto|simpo|cpo|ppo|grpo|epochs?|rank|alpha|beta|steps?|batch|"
    r"learning\s+rate|lr|merge|ties|slerp|dare|linear|jsonl|эпох\w*|ранг\w*|альф\w*|бет\w*|шаг\w*|слей|слить)\b"
    r"|\.jsonl\b|\b(?:dare_ties|dare_linear|della\w*|task_arithmetic|model_stock|breadcrumbs|nearswap|merge_method|density)\b"
    r"|\bdtype\s*[:=]?\s*(?:bfloat16|float16|float32|bf16|fp16|fp32)\b"
)
# An action that opens a clause (after any politeness): a request to change or train the model.
_ACTION_LEAD = re.compile(
    r"^(?:train|retrain|pretrain|re-train|fine[- ]?tune|finetune|tune|merge|combine|blend|fuse|fold|distill|teach|"
    r"align|quantize|quantise|prune|convert|export|save|write|run|apply|use|do\s+(?:a|an|the\s+same|it\s+again|"
    r"lora|dora|sft|dpo|orpo|kto|full|the\s+(?:sft|dpo|ipo|orpo|kto|simpo|lora|dora|merge|fine-?tun\w*|training))\b|make|start|launch|continue|carry\s+on|keep\s+going|build\s+on|add|attach|"
    r"swap|switch|replace|resume|set|change|increase|decrease|lower|raise|bump|double|halve|drop|remove|skip|"
    r"freeze|unfreeze|stack|unload|produce|create|turn|redo|repeat|"
    r"sft|dpo|ipo|orpo|kto|simpo|cpo|ppo|grpo|rlhf|lora|qlora|dora|full|preference[- ]tune|"
    r"обучи\w*|обучить|дообучи\w*|переобучи\w*|натренир\w*|тренир\w*|потренир\w*|слей\w*|слить|сли(?:ть|вай)|"
    r"смерж\w*|смердж\w*|объедини\w*|совмести\w*|квантуй\w*|квантизир\w*|сконвертир\w*|конвертир\w*|преобразуй\w*|"
    r"сохрани\w*|запиши\w*|экспортир\w*|выгрузи\w*|запусти\w*|примени\w*|используй\w*|сделай\w*|сделать|"
    r"добавь\w*|поставь\w*|измени\w*|увеличь\w*|уменьши\w*|замени\w*|продолж\w*|заморозь\w*|"
    r"обучение|дообучение)\b"
)
# "give me one safetensors file": asking for an artifact is asking Graft to make it.
_OUTPUT_REQUEST = re.compile(
    r"^(?:give|get|send|hand)\s+me\s+(?:back\s+)?(?:a|an|one|the|two|\d+)?\s*(?:[\w.-]+\s+){0,2}"
    r"(?:files?|models?|checkpoints?|adapters?|cop(?:y|ies)|versions?|merges?|outputs?|safetensors|bf16|fp16|fp32|bfloat16|float16|float32"
    r"|runs?|pass(?:es)?|training|fine-?tunes?|finetunes?)\b"
    r"|^дай(?:те)?\s+(?:мне\s+)?(?:[\w.-]+\s+){0,2}(?:файл\w*|модел\w*|чекпо\w*|адаптер\w*|копи\w*|верси\w*)"
)
# Base forms of training/merging verbs: inside a question they ask how to *do* something.
_ACTION_ANYWHERE = re.compile(
    r"\b(?:train|retrain|fine[- ]?tune|finetune|merge|distill|quantize|"
    r"обучи|обучить|обучите|дообучи|дообучить|дообучите|натренируй|натренировать|слей|слить|слейте|"
    r"смержи|смержить|смерджи|объедини|объединить|квантуй|квантовать)\b"
)


@dataclass
class Intent:
    """What a message asks for, and the words that decided it (shown when Graft asks back)."""

    route: Route
    asks: list[str] = field(default_factory=list)
    acts: list[str] = field(default_factory=list)

    def question_back(self, text: str) -> str:
        """The question Graft asks when the message reads both as a question and as a request to act."""
        ru = re.search(r"[а-яё]", text.lower()) is not None
        asked = ", ".join(f"«{w}»" if ru else f"'{w}'" for w in self.asks) or ("?" if not ru else "вопрос")
        acted = ", ".join(f"«{w}»" if ru else f"'{w}'" for w in self.acts)
        if ru:
            return (
                f"Не понял, чего вы хотите: {asked} — это вопрос о файлах модели, а {acted} — просьба её изменить. "
                "Спросите отдельно (например, «сколько параметров?») или опишите цель отдельно "
                "(например, «обучи LoRA на chat.jsonl»)."
            )
        return (
            f"I can't tell what you want: {asked} reads as a question about the model's files, and {acted} as a "
            "request to change the model. Ask the question on its own (e.g. 'how many parameters?'), or state "
            "the goal on its own (e.g. 'train LoRA on chat.jsonl')."
        )


def clauses(text: str) -> list[str]:
    """The message cut at sentence ends and order words, each clause without its opening fillers."""
    t = kto_word(text.strip())  # "потом КТО на thumbs" is KTO, not "who"
    t = t.lower().replace("ё", "е").replace("’", "'")
    parts = [_FILLER.sub("", p.strip(" ,:-–")) for p in _SPLIT.split(t) if p and p.strip(" ,:-–")]
    return [p for p in parts if p]


def classify(text: str) -> Intent:
    """Route a message by what it asks for (see the module docstring)."""
    asks: list[str] = []
    acts: list[str] = []
    for clause in clauses(text):
        made = _OUTPUT_REQUEST.match(_POLITE.sub("", clause))
        if made:
            acts.append(made.group(0).strip())
            continue
        stripped = _POLITE.sub("", clause)
        if stripped != clause and _ACTION_LEAD.match(stripped):  # "could we try DPO", "а можно дообучить"
            acts.append(_ACTION_LEAD.match(stripped).group(0).strip())  # type: ignore[union-attr]
            continue
        suggested = _SUGGEST.match(clause)
        if suggested:
            rest = clause[suggested.end() :]
            recipe = _ACTION_LEAD.match(_POLITE.sub("", rest)) or _RECIPE.search(rest)
            if recipe:
                acts.append(recipe.group(0).strip())
                continue
        info = _INFO_LEAD.match(clause)
        if info:
            asks.append(info.group(0).strip())
            continue
        info = _INFO_LEAD.match(stripped)
        if info:
            asks.append(info.group(0).strip())
            continue
        act = _ACTION_LEAD.match(stripped)
        if act:
            acts.append(act.group(0).strip())
    if asks and not acts:
        inner = _ACTION_ANYWHERE.search(text.lower().replace("ё", "е"))
        if inner:
            acts.append(inner.group(0))
    t = text.strip().lower()
    if asks and acts:
        return Intent("ambiguous", asks, acts)
    if asks:
        return Intent("question", asks)
    if acts:
        return Intent("goal", acts=acts)
    recipe = _RECIPE.search(t)
    if t.endswith("?"):
        if recipe and re.search(
            r"\.(?:jsonl|json|csv|parquet)\b|\b(?:lora_)?(?:rank|r|alpha|beta|lr|epochs?)\s*[=:]?\s*\d", t
        ):
            # "beta 0.1 or 0.05 for DPO on prefs.jsonl?": a plan the planner asks about, not a question to answer
            return Intent("goal", acts=[recipe.group(0)])
        return Intent("ambiguous", ["?"], [recipe.group(0)]) if recipe else Intent("question", ["?"])
    noun = _INFO_NOUN.search(t)
    if noun and not recipe:
        return Intent("question", [noun.group(0)])
    return Intent("goal")


def route_message(text: str) -> Route:
    """'question', 'goal' or 'ambiguous' for one message from the person."""
    return classify(text).route if text.strip() else "goal"
