"""The facts a goal states, and the check that a plan keeps every one of them (for both planners).

Where are stated values read? Here: numbers with their slot (rank, alpha, dropout, epochs, steps,
learning rate, beta, batch size, max length), methods (SFT, DPO, IPO, ORPO, SimPO, KTO, and the
ones Graft does not run: PPO, GRPO, …), the adapter (LoRA, DoRA, full / "not LoRA" / "без LoRA"),
module names and roles, layer selections (`agent.goal_layers`), dataset files, paths, and the
output dtype. Number words come from `agent.goal_numbers`; PEFT/TRL argument names (`lora_r`,
`lora_alpha`, `lora_dropout`, `num_train_epochs`, `learning_rate`, …) are slot words too.

Two values for one slot: the later one wins only after a correction marker ("scratch that",
"I meant", "нет, лучше", "вернее"), and the fact remembers what it replaced, so the review can
say "rank 16 (you said 64, then 16)". Without a marker both values stay stated facts, and a plan
that places only one of them misses the other: `check_plan_against_goal` names it, and the
planner asks instead of guessing. Fail closed: a stated fact is in the plan or in a question.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from agent.goal_layers import ONE_BASED, ZERO_BASED
from agent.goal_numbers import DIGITS, Number, exact_share, find_numbers, number_at, number_before

SLOT_NAMES = {
    "r": "rank", "alpha": "alpha", "dropout": "dropout", "epochs": "epochs", "max_steps": "steps",
    "learning_rate": "learning rate", "beta": "beta", "batch_size": "batch size", "max_length": "max length",
    "gradient_accumulation": "gradient accumulation", "warmup_steps": "warmup", "weight_decay": "weight decay",
    "label_smoothing": "label smoothing", "seed": "seed", "max_grad_norm": "gradient clipping norm",
    "eval_fraction": "held-out share", "simpo_gamma": "SimPO gamma", "cpo_alpha": "CPO alpha",
    "desirable_weight": "desirable weight", "undesirable_weight": "undesirable weight", "gpus": "GPU count",
}  # fmt: skip
INT_SLOTS = {"r", "max_steps", "batch_size", "max_length", "gradient_accumulation", "seed", "gpus"}
PREFERENCE_ONLY = {  # settings only a preference stage has
    "beta", "label_smoothing", "simpo_gamma", "cpo_alpha", "desirable_weight", "undesirable_weight",
}  # fmt: skip
# keyword → slot; the value follows the keyword ("rank 16", "lora_alpha=32", "с альфой восемь")
# the commonest slot words with their common typos ("lerning rate", "2 epcohs", "max lenght"): read, and shown
# back in the review as the setting they were read as
LEARNING_WORD = r"(?:learning|lerning|learnig|learnign|leanring|laerning|learing|learnin)"
EPOCH_WORD = r"(?:epoch(?:e?s)?|epcohs?|epohcs?|epocs|eopchs?|epchs?|epohs?|epcoh)"
LENGTH_WORD = r"(?:length|lenght|lengh|lenth|legnth|lentgh)"
AFTER = [
    (
        "r",
        r"\blora_r\b|\blora_rank\b|\branks?\b|\brnak\b|\brakn\b|\brnk\b|(?<![\w.-])r(?=[\"']?\s*[=:]|\s+\d|\s+(?:four|eight|sixteen|thirty|sixty|one hundred|восемь|четыре"
        r"|шестнадцать|тридцать|шестьдесят|сто)\b)|ранг\w*|рангом"
        # "лора 16", "lora 8 on q,v": a bare count after the adapter's name is its rank
        r"|(?<![\w.-])(?:q?lora|dora|лор[аыу]|дор[аы])(?=\s+\d{1,3}(?![\d.%])(?!\s*(?:-?bit|бит|x|layers?|сло|gpu|гпу|epoch"
        r"|эпох|steps?|шаг|гб|gb|mb|мб|раз|times)))",
    ),
    ("cpo_alpha", r"\bcpo[_ ]alpha\b"),  # before alpha: "cpo alpha 0.1" is not the LoRA's
    (
        "alpha",
        r"\blora_alpha\b|(?<!cpo )\b(?:alpha|alpah|aplha|alhpa|apha)\b|α|альф\w*|(?<![\w.-])a(?=\s*=\s*\d)|(?<=\d )a(?=\s+\d)",
    ),
    (
        "dropout",
        r"\blora_dropout\b|\b(?:lora\s+)?dropout\b(?:\s+of\s+the\s+(?:lora|adapter))?|дропаут\w*(?:\s+(?:лоры|лора|lora|адаптера))?|\bdrop(?=\s*[=:]?\s*0?\.\d+(?!\s*(?:of|%|из))(?![\d%]))",
    ),
    (
        "epochs",
        r"\bnum_train_epochs\b|\bnum_epochs\b|\bmax_epochs\b|\b"
        + EPOCH_WORD
        + r"\b|\bep\b|эпох\w*|(?<![а-я])эп(?![а-я])",
    ),
    (
        "max_steps",
        r"\bmax_steps\b|\bmax_iters?\b|(?<!warmup )(?<!warm up )(?<!warm-up )(?<!warmup_)"
        r"(?:\b(?:steps|iters|iterations)\b(?=\s*[=:])|\bsteps\s*(?=\d))|(?<!прогрева )шаг\w*(?=\s*[=:])"
        r"|(?<![а-я])(?:с\s+)?(?:шагами|шагов)(?=\s+\d+(?![\d.%])(?!\s*(?:шаг|step|прогрев|разогрев|warm)))",  # «с шагами 300»
    ),
    (
        "learning_rate",
        r"(?<!min )(?<!min_)(?<!minimum )(?<!final )(?<!минимальная )(?<!минимальной )"  # a floor is no lr (TECHNIQUES)
        r"(?:\b" + LEARNING_WORD + r"[_ -]rates?\b|\blrs?\b|скорост\w*(?:\s+обучения)?|\bлр\b|л[её]рнинг[- ]?рейт\w*)"
        r"|(?<![а-я])шаг\w*\s+обучения",  # "шаг обучения 3e-5": the learning rate, as Russian courses call it
    ),
    (
        "beta",
        r"\bbeta\b|\bpref_beta\b|\brl_beta\b|\bdpo_beta\b|\borpo_alpha\b|β|бет\w*|\btau\b|τ|(?<![а-я])тау(?![а-я])",
    ),  # Axolotl: rl_beta, ORPO's orpo_alpha
    ("simpo_gamma", r"\bsimpo_gamma\b|\bgamma\b|γ|гамм\w*"),
    (
        "desirable_weight",
        r"\bkto_chosen_weight\b|\bkto_desirable_weight\b|\bdesirable[_ ]weight\b\)?|\bdesirable\b(?=\s+(?:stays?|is|=|at)\b)"
        r"|(?<!un)\bdesirable\b(?=\s*[=:]?\s*\d)|вес\w*\s+желательн\w*(?:\s+(?:примеров|ответов))?(?:\s*\(desirable_weight\))?"
        r"|(?<![а-я])желательн\w*(?=\s*[:=]?\s*\d)",
    ),
    (
        "undesirable_weight",
        r"\bkto_rejected_weight\b|\bkto_undesirable_weight\b|\bundesirable[_ ]weight\b\)?"
        r"|\bundesirable\b(?=\s*[=:]?\s*\d)|(?:вес\w*\s+)?нежелательн\w*(?:\s+(?:примеров|ответов|пример\w*))?"
        r"(?:\s*\(undesirable_weight\))?|\bweight\s+(?:of|for)\s+(?:the\s+)?(?:undesirable|rejected|bad|negative)\s+(?:examples|samples)",
    ),
    (
        "batch_size",
        r"\bper_device_train_batch_size\b|\bmicro_batch_size\b|\bmicro_train_batch_size\b|\btrain_batch_size\b"
        r"|\bper[- ]device(?:\s+batch(?:\s+size)?)?\b|\bmicro[ -]?batch(?:es)?(?:[_ ]size)?\b|\bbatch[_ ]size\b|\bbatch\b|\bbs\b"
        r"|батч\w*|размер\w* батча|б[эе]тч\w*(?:[- ]сайз\w*)?|(?<![а-я])бач(?:а|у|ем)?(?![а-я])",
    ),
    (
        "max_length",
        r"\bmax_seq_length\b|(?<![\w.-])ml(?=\s*[=:]?\s*\d)|\bmax[_ ]"
        + LENGTH_WORD
        + r"\b|\bmax_?len\b|\bmax len\b|\bcutoff_len\b|\bcutoff[ -]len(?:gth)?\b|\bsequence[_ ]len(?:gth)?\b|\bmax[_ ]seq(?:uence)?(?:[_ ]len(?:gth)?)?\b"
        r"|\bcontext(?: length| window)?\b|\bseq len\b|длин\w*(?:\s+контекста|\s+последовательност\w*)?|контекст\w*",
    ),
    (
        "gradient_accumulation",
        r"\bgradient_accumulation(?:_steps)?\b|\bgrad(?:ient)?[_ ]acc(?:um(?:ulation)?)?(?:[_ ]steps)?\b"
        r"|\baccumulat\w*(?:\s+steps)?\b|\baccum\b|\bgas\b|накоплени\w*(?:\s+градиент\w*)?|аккумуляци\w*(?:\s+градиент\w*)?"
        r"|\bga\b(?=\s*[=:]|\s+\d)",
    ),
    ("warmup_steps", r"\bwarm[_ -]?up(?:[_ ](?:steps|ratio))?\b|прогрев\w*|разогрев\w*"),
    (
        "gpus",
        r"\b(?:num_gpus|n_gpus|gpus|gpu_count|num_processes|nproc_per_node|nproc-per-node|num-processes)\b(?=\s*[=:]|\s+\d)"
        r"|--(?:num_processes|nproc_per_node|num-processes|nproc-per-node|gpus)\b",
    ),
    ("label_smoothing", r"\blabel[_ ]smoothing\b|сглаживани\w*(?:\s+мет\w*)?"),
    ("seed", r"\b(?:random[_ ])?seed\b|\brandom_state\b|\bсид\w*"),
    ("weight_decay", r"\bweight[_ ]decay\b|\bwd\b|затухани\w* весов"),
    (
        "eval_fraction",
        r"\beval_fraction\b|\bval(?:idation)?_set_size\b|\bval_size\b|\btest_size\b|\beval_split\b"
        r"|\b(?:eval(?:uation)?|validation|val|held[- ]out|holdout|dev)\s+(?:split|set|fraction|share|size|portion)\b"
        r"|\bhold(?:ing)?[- ]out\b|\bhold\s+back\b|на\s+валидаци\w*|(?<![а-я])(?:оценива\w*|оцени|валидируй\w*)(?=\s+на\s+\d)"
        r"|\b(?:evaluate|eval|validate)\s+on(?=\s+\d*\.?\d+\s*%)|валидаци\w*\s+(?:выборк\w*|дол\w*|част\w*)"
        r"|отлож\w*(?:\s+(?:выборк\w*|дол\w*|част\w*|данн\w*|набор\w*))?|(?:тестов|контрольн)\w*\s+(?:выборк\w*|дол\w*|част\w*)"
        r"|\b(?:eval|val|валидаци\w*)(?:\s+на)?(?=\s*[=:]?\s*\d+(?:\.\d+)?\s*%)"  # "eval 2%", «eval на 20% данных»
        r"|\b(?:eval|val|валидаци\w*)(?=\s*[=:]?\s*(?:0?\.\d+|0)(?![\d.%])\s*(?:[,;.)(]|$|\s+(?:then|потом|затем|и|and)\b))"  # "eval 0", "eval 0.05"
        r"|\b(?:eval(?:uate|uation)?|validat\w*)\s+on(?=\s+\d+(?:\.\d+)?\s*%)",  # "eval on 5% of the data"
    ),
    (
        "max_grad_norm",
        r"\bmax[_ ]grad(?:ient)?[_ ]norm\b|\bgrad(?:ient)?[_ ]norm(?:[_ ]clip(?:ping)?)?\b|\bclip(?:ping)?[_ ]grad\w*(?:[_ ]norm)?"
        r"|\bgrad(?:ient)?s?[_ ]clip(?:ping|ped)?\b|\bclip(?:ping)?\s+(?:the\s+)?(?:gradients?|grads?)(?:\s+norm)?(?:\s+at|\s+to)?"
        r"|\b(?:gradient|grad)\s+clipping(?:\s+at|\s+to)?|клиппинг\w*(?:\s+градиент\w*)?|обрез\w*\s+градиент\w*(?:\s+по\s+норм\w*)?"
        r"|норм\w*\s+градиент\w*",
    ),
]
# the value comes first ("3 epochs", "за 5 шагов", "500 steps")
BEFORE = [
    # "100 шагов разогрева", "50 steps of warmup": warmup steps, before "steps" is read as how long to train
    ("warmup_steps", r"(?:шаг\w*|steps?)\s+(?:of\s+)?(?:прогрев\w*|разогрев\w*|warm[_ -]?up)"),
    (
        "epochs",
        r"(?:"
        + EPOCH_WORD
        + r"|ep|эпох\w*)\b|(?:full\s+)?pass(?:es)?\s+(?:over|through)\s+(?:the\s+|my\s+)?(?:data(?:set)?|rows)\b"
        r"|проход\w*\s+по\s+(?:данным|датасету|выборке)",
    ),
    (
        "max_steps",
        r"(?:optimizer\s+|training\s+|max(?:imum)?\s+)?(?:steps?|шаг\w*|iterations?|iters?|updates|итераци\w*)\b",
    ),
    (
        "max_length",
        r"(?:-?\s*tokens?\s+)?(?:context(?: length| window)?|контекст\w*|max(?:imum)?\s+(?:seq(?:uence)?\s+)?length)\b",
    ),
    ("gradient_accumulation", r"(?:grad(?:ient)?\s+)?accum(?:ulation)?(?:\s+steps)?\b"),
    ("r", r"(?:lora\s+)?rank\b"),  # "2e-4 lr, 16 rank"
    ("dropout", r"(?:lora[_ ])?dropout\b"),  # "lr 2e-4 and 0.05 lora dropout"
    ("learning_rate", r"(?:" + LEARNING_WORD + r"[_ -]rate|lr)\b"),  # "at a 2e-4 learning rate"
    (  # "on 4 GPUs", "8x A100", "на двух видеокартах"
        "gpus",
        r"(?:x\s*|×\s*)?(?:gpus?|gpu-s|видеокарт\w*|гпу|карт(?:ах|ы|ами)|(?:nvidia\s+)?(?:a100|h100|h200|a6000|4090|3090|l40s?)s?)\b",
    ),
    ("warmup_steps", r"(?:warm[_ -]?up|прогрев\w*|разогрев\w*)(?:\s+(?:steps?|шаг\w*))?"),  # "100 warmup steps"
    (  # "64 on 8 GPUs, 2 per device", "по 2 на карту": the batch each device takes
        "batch_size",
        r"(?:examples?\s+|samples?\s+|rows?\s+)?per[- ](?:device|gpu|card)\b(?!\s*(?:batch|train))"
        r"|(?:пример\w*\s+)?на\s+(?:карту|устройство|gpu|гпу|видеокарту|девайс)(?![а-я])",
    ),
    (  # "5% for eval", "10% held out", "5% на валидацию"
        "eval_fraction",
        r"%?\s*(?:of\s+(?:the\s+)?(?:data|rows|dataset)\s+|(?:данных|строк|примеров|датасета)\s+)?(?:for\s+|as\s+(?:an?\s+)?)?"
        r"(?:eval(?:uation)?|validation|held[- ]out|holdout|"
        r"на\s+валидаци\w*|для\s+валидаци\w*|в\s+валидаци\w*)",
    ),
]
FILLER = r"[\"']?\s*(?:\([a-zа-я_ ]{1,12}\)\s*)?(?:(?:also|too|тоже|также)\s+)?(?:=|:|-|(?:of|is|to|at|set to|should be|must be|will be|stays?(?: at)?|remains?|у обоих|у обеих|у всех|for both|in both|равн\w*|равен|equals?|в|на|около|сделай|поставь|выставь|установи|задай|пусть будет|будет)(?=\s))?\s*"

MARKERS = re.compile(
    # «1e-3... нет, слишком много, 1e-4», "no, that's too high, 1e-4": the correction's reason, then the value
    r"(?<![а-я])нет\s*[,!.:-]\s*(?:это\s+)?(?:слишком\s+\w+|многовато|маловато)\s*[,!.:-]?"
    r"|\bno\s*[,!.:-]\s*(?:that'?s\s+|it'?s\s+)?too\s+(?:many|much|few|high|low|big|small)\s*[,!.:-]?"
    r"|scratch that|strike that|i meant|i mean|actually|correction|sorry|make (?:it|that)|or rather|rather"
    r"|let'?s (?:make|use|go with|do|say)|go with|\bhm+\b|\bхм+\b|давай(?:те)? (?:лучше|сделаем|поставим)"
    r"|\bno\b\s*[,!.:-]|\bno\b(?=\s+\d*\.?\d+(?:e-?\d+)?(?![\w.%-]))|\bno wait\b|\bwait\b|oops|нет\b\s*[,!.:-]?\s*(?:лучше|давай|пусть)?|вернее|точнее"
    r"|то есть|на самом деле|\bой\b|(?<![а-я])(?:извини(?:те)?|прости(?:те)?|сорри|пардон)(?![а-я])|хотя нет|хотя давай|(?<![а-я])(?:подожди|погоди|стоп)(?![а-я-])|исправлюсь|поправка|\bлучше\b(?=\s*[\d\w]{0,3}\s*\d)"
    r"|\ber+\b|\buh+\b|\bum+\b|\bэ+(?:-э+)*\b|\bэм+\b"
    r"|just kidding|\bjk\b|шучу|on second thought|\bedit\s*:|ладно,?\s*(?:пусть|давай)|хотя\s+лучше"
    r"|простите|извините|извиняюсь|сорри|сори|\bpardon\b|my bad|\bsry\b"
    r"|(?<![а-я])не\s*,\s*(?:(?:многовато|маловато|много|мало|слишком\s+\w+)\s*,?\s*)?"
    r"|\bok(?:ay)?,?\s+make it|\btoo (?:many|much|few|high|low)\b,?(?!\.)(?=\s*(?:[—–-]\s*)?(?:[a-z]+\s+){0,2}\d)"
)
ALTERNATIVE = re.compile(r"\s*(?:or|or maybe|or perhaps|или|либо|/)\s*")

NEGATED = (
    r"(?:\binstead of|\brather than|\bnot|\bno|\bwithout|\bskip(?:ping)?|\bnever|\bno need for|\bdrop(?:ping)?|\bdon'?t|\bdo not"
    r"|\b(?:don'?t|do not|doesn'?t|won'?t|shouldn'?t)\s+(?:\w+\s+){0,2}(?:use|do|run|want|need|apply|bother with|train(?: with)?)"
    r"|(?<![а-я])не\s+(?:надо|нужно|нужен|нужна|нужны|используй\w*|делай\w*|запускай\w*|применяй\w*|хочу|стоит)"
    r"|(?<![а-я])не|(?<![а-я])без|вместо|пропусти\w*|никак\w+)"
    r"\s+(?:the\s+|a\s+|an\s+|any\s+|an?\s+|никакого\s+)?(?:separate\s+|extra\s+|отдельн\w+\s+|дополнительн\w+\s+)?"
)


# "q_proj frozen", "а MLP не трогай", "the MLP stays untouched", "leave the MLP alone" (said after the module)
FROZEN_AFTER = re.compile(
    r"(?:\s*(?:,|and|и)\s*[a-z_]+_proj)*\s*(?:(?:(?:are|is|stays?|remains?|оставь\w*|остаются|оста[её]тся)\s+)?"
    r"(?:frozen|untouched|alone|заморожен\w*|замороженными|нетронут\w*|в\s+покое)\b"
    r"|(?:пусть\s+)?не\s+(?:трогай\w*|трогаем|трогать|трогается|обучай\w*|обучаем|обучается|адаптируй\w*|нуж\w+|надо"
    r"|включай\w*|участвует)(?![а-я])|(?:is|are)\s+(?:not\s+(?:trained|touched|needed|included)|left\s+(?:out|alone))\b"
    r"|(?:should\s+)?(?:stays?|remains?)\s+out\b|out\b(?!\s+of))"  # "leave k_proj out: q, v, o"
)


def left_out(text: str, start: int) -> bool:
    """'all modules except the MLP', 'кроме MLP', 'but not on the attention', 'not the MLP': left out, not asked for."""
    return (
        negated(text, start)
        or bool(
            re.search(
                r"(?:\bexc?ept(?: for)?|\bnot|\bexcluding|\bexclude(?:_modules)?|\bapart from|\bwithout|кроме|за исключением|исключая"
                r"|(?<![а-я])не|(?<![а-я])без"
                r"|\bminus|\bbut(?!\s+only)|\bfreez\w*|\bdrop|\bremove|\bignor\w*|(?<![а-я])убер\w*|(?<![а-я])убра\w*|(?<![а-я])выкин\w*|\bkeep\s+frozen|замороз\w*|заморажива\w*|исключи\w*|не обучай"
                r"|\bbut\s+not|\bno\s+(?:lora|adapters?)|(?<![а-я])без\s+(?:lora|лор\w*|адаптер\w*)"
                r"|\bnothing\s+(?:from|of)|\bnone\s+of|(?<![а-я])ничего\s+(?:от|из)"  # "nothing from ours": no member
                r"|\b(?:don'?t|do not|never)\s+(?:touch|train|adapt|tune)|\bleave\s+(?:out|alone)"
                r"|(?<![а-я])не\s+(?:трогай\w*|трогать|трогаем|обучай\w*|обучать|адаптируй\w*))"
                # "except lm_head and gate_proj", "не трогай последние два слоя и attention": the rest of the list
                r"(?:\s+(?:(?!\b(?:train|tune|use|only|but|on|to|modules?)\b|обуч|только|но\b|модул)[\w'-]+[\s,]+){0,5}?"
                r"(?:and|и|or|или|,|&))?"
                r"\s+(?:(?:on|to|in|for|touching|на|в|во|трогая)\s+)?(?:the\s+|any\s+)?"
                r"(?:(?:mlp|attention|attn|self-attention|feed[- ]?forward|ffn|мlp|млп|внимани\w*)(?:'s)?\s+)?$",
                text[max(0, start - 60) : start],
            )
        )
    )


NEGATED_AFTER = re.compile(
    r"\s*(?:is\s+)?(?:not needed|not necessary|isn'?t needed|unnecessary|не нуж(?:ен|на|но|ны)|не надо|не требуется|не будет)\b"
    # "SFT is already baked into this checkpoint", "SFT не делаем", "SFT уже сделан": done before, not to run
    r"|\s*(?:is|was|has been|'s)\s+already\s+(?:baked|done|applied|in|there|merged|trained)\b"
    r"|\s*(?:уже\s+(?:сделан\w*|есть|вшит\w*|вмерж\w*|был\w*)|не\s+(?:делаем|делать|будем|нужно делать)|пропускаем)"
)


# "а prefs.jsonl не трогай", "b.jsonl is not needed", "leave b.jsonl alone": a file given and not to be trained on
DATA_LEFT_ALONE = re.compile(
    r"[\s,]*(?:(?:is\s+|are\s+)?(?:not\s+(?:needed|used|to\s+be\s+used)|unused|alone)\b|не\s+(?:трогай\w*|трогаем"
    r"|используй\w*|используем|бери|берем|нуж\w+|надо)(?![а-я])|оставь\w*\s+в\s+покое|пока\s+не\s+нуж\w+)"
    r"(?=\s*(?:[,.;!?)]|$|(?:and|but|и|а|но)\s))"  # "a.jsonl, не трогай эмбеддинги" turns down the embeddings
)


# "the base is already instruction-tuned", "уже дообучена": what the model is, not a stage to run
ALREADY_BEFORE = re.compile(r"(?:\balready|(?<![а-я])уже)\s+(?:been\s+|a\s+|an\s+)?$")


def negated(text: str, start: int) -> bool:
    """'not SFT', 'skip the SFT', 'без SFT', 'instead of PPO', "don't use DoRA", 'не делай SFT': not wanted."""
    if re.match(r"[\w-]+\s+(?:loss(?:[_ ]type)?|лосс\w*)\b", text[start:]):
        return False  # "don't use dpo loss sigmoid, use hinge": a loss turned down, not the DPO stage
    return bool(
        re.search(NEGATED + r"$", text[max(0, start - 32) : start])
        or re.search(  # "don't use dpo loss sigmoid": the loss named after the turned-down "loss" is the one not wanted
            NEGATED + r"(?:(?:the\s+)?dpo\s+)?(?:loss(?:[_ ]type)?|лосс\w*)\s*[:=]?\s*$",
            text[max(0, start - 48) : start],
        )
    )


PREFERENCE_WORDS = [
    ("kto", r"(?<![a-z])kto(?:trainer|config)?(?![a-z])|thumbs?[- ]?(?:up|down)|лайк\w*|дизлайк\w*"),
    ("orpo", r"(?<![a-z])orpo(?:trainer|config)?(?![a-z])|орпо"),
    ("simpo", r"(?<![a-z])simpo(?![a-z])|симпо"),
    ("ipo", r"(?<![a-z])ipo(?![a-z])"),
    (
        "dpo",
        r"(?<![a-z])c?dpo(?:trainer|config)?(?![a-z])|preference (?:tuning|optimi[sz]ation|training)|предпоч\w*|prefer\w*"
        r"|(?<![a-z])sigmoid(?![a-z])"  # DPO's own loss: "loss=ipo, no actually loss=sigmoid"
        # loss types only TRL's DPO has: "exo_pair loss, beta 0.2" is a DPO stage
        r"|(?<![\w-])(?:exo_pair|nca_pair|apo_zero|apo_down|bco_pair|sppo_hard|discopop|aot_pair|sigmoid_norm)(?![\w-])",
    ),
]
SFT_WORDS = r"(?<![a-z])sft(?:trainer)?(?![a-z])|supervised fine[- ]?tun\w*|instruction[- ]tun\w*"
UNSUPPORTED_METHODS = re.compile(
    r"(?<![a-z])(?:ppo|grpo|rloo|reinforce\+*|xpo|nash[- ]md|gkd|prm|cpo)(?![a-z])|online[- ]dpo|(?<![а-я])он-?лайн(?:овый|овым|ого)?[- ](?:dpo|дпо)|reward model\w*"
    r"|\brlhf\b(?!.*(?<![a-z])(?:dpo|orpo|simpo|kto|ipo)(?![a-z]))|модел\w* наград\w*|ревард[- ]модел\w*"
    r"|модел\w* вознагражд\w*|вознагражд\w* модел\w*"
    r"|\bdistill\w*|(?<![а-я])дистилл\w*|knowledge distillation|reward[- ]?модел\w*"
)
ADAPTER_NONE = re.compile(
    r"\bfull(?:[- ]parameter|[- ]weight|[- ]rank)?[\s-]+(?:fine[- ]?tun\w*|training|sft|ft)\b|\bfull[- ]parameter\b|\bfull ft\b"
    r"|\b(?:finetuning|train)_type\s*[=:]?\s*full\b|all (?:the )?parameters|(?:not|no|without|instead of|rather than)\s+(?:a\s+)?(?:lora|adapters?|peft)\b(?!\s+(?:on|to|for|in|at)\b)"
    r"|полн\w+\s+(?:дообуч|обуч|fine|файнтюн)\w*|все параметры|всех параметр\w*|без\s+(?:lora|лор\w*|адаптер\w*|peft)"
    r"|(?<=[,;:]\s)полн(?:ый|ым|ое|ая|ую)(?=\s*[,;.]|\s*$)"  # "файнтюн на data, полный, лр 1e-5": a list item
    r"|не\s+(?:lora|лор\w*)|\bfull_finetune_(?:single_device|distributed)\b"  # torchtune's full fine-tune recipes
    # "KTO на b, полные веса, бета 0.1": every weight trains (not "сохрани полные веса": the merged model written)
    r"|(?<!сохрани )(?<!запиши )(?<!выгрузи )(?<!save )(?<!write )(?<!export )(?<![а-я])полн(?:ые|ыми|ых)\s+вес(?:а|ами|ов)(?![а-я])"
    r"|(?<!save )(?<!write )(?<!export )(?<!the )\bfull\s+weights\b(?!\s+(?:to|in|as)\b)"
    # "fully fine-tune the rest", "train it fully", "обучи остальное полностью": every weight of what is trained
    r"|\bfully\s+(?:fine[- ]?tun\w*|train\w*)|\b(?:train|fine[- ]?tune)\w*\s+(?:[\w-]+\s+){0,6}?fully\b(?!\s+(?:merged|converged|trained\s+model))"
    r"|(?<![а-я])(?:обуч|дообуч|тренир|файнтюн)\w*\s+(?:[а-я]+\s+)?полностью|(?<![а-я])полностью\s+(?:обуч|дообуч|тренир|файнтюн)\w*"
)
# "trl sft --model_name_or_path … --learning_rate 2e-5": TRL's command line trains every parameter unless --use_peft
TRL_CLI = re.compile(r"(?<![\w/-])trl\s+(?:sft|dpo|kto|orpo|cpo)\b(?=.*\s--[a-z])", re.DOTALL)


def trl_full_finetune(text: str) -> re.Match[str] | None:
    """A pasted TRL command with no --use_peft (nor LoRA said in words): what it runs is a full fine-tune."""
    m = TRL_CLI.search(text)
    return m if m and not re.search(r"use_peft|lora|dora|peft|adapter|лор[аоуы]|адаптер", text) else None


DORA_AFTER_NOT = re.compile(
    r"\s*[,;—–-]*\s*(?:but|rather|instead|а|но|лучше)?\s*(?:(?:use|go with|take|do|используй|возьми|сделай|давай)\s+)?"
    r"(?:a\s+)?(?:dora|дор[аоуы]\w*)\b"
)  # "не LoRA, а DoRA", "not LoRA, use DoRA"
DATASET_PATH = re.compile(r"(?<![\w/.~-])(?:[~\w.-]*/)*[\w.-]+\.(?:jsonl|json|csv|parquet)\b")
# "gate/up/down", "q/k/v": module shorthand, never a path
MODULE_SHORTHAND = (
    r"(?!(?:(?:up|down)\s*/\s*)*gate(?:\s*/\s*(?:gate|up|down))*(?![\w/.-])|[qkvo](?:\s*/\s*[qkvo])+(?![\w/.-]))"
)
# "tiny-llama-3.2.dpo", "qwen2.5-7b-sft": a name with digits and two or more separators, never an instruction
NAME_LIKE = re.compile(r"(?<![\w/.~-])(?=[\w.+-]*\d)(?=[\w.+-]*[a-zа-я]{2})\w+(?:[.+-]\w+){2,}(?![\w/])")
NOT_A_PATH = r"(?!(?:w/o|w/|b/c|n/a|and/or|и/или)(?![\w.~/-]))"  # "merge w/ TIES": an abbreviation, not a folder
PATH = re.compile(
    MODULE_SHORTHAND
    + NOT_A_PATH
    + r"(?:(?<![\w/.~-])(?:\.{0,2}/|~/|/)?(?:[\w.-]*[^\W\d][\w.-]*/)+[\w.-]*|(?<![\w/.~-])[\w.-]+\.(?:safetensors|bin|pt)\b"
    r"|(?<![\w/.~-])(?:\.{1,2}|~)/[\w.-]+)"
)
DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16", "half precision": "float16",
          "fp32": "float32", "float32": "float32", "full precision": "float32",
          # other spellings people type ("экспорт в f16", "bf-16", "float 16", "half-precision", "половинной точности")
          "f16": "float16", "f32": "float32", "fp-16": "float16", "fp-32": "float32", "bf-16": "bfloat16",
          "float 16": "float16", "float 32": "float32", "bfloat 16": "bfloat16", "half-precision": "float16",
          "full-precision": "float32", "половинной точности": "float16", "половинная точность": "float16",
          "полной точности": "float32", "полная точность": "float32", "32bit": "float32", "32-bit": "float32",
          "32 bit": "float32"}  # fmt: skip
# "merged in 16bit" (Unsloth's save_pretrained_merged): float16 or bfloat16 — asked, never left at the source's dtype
SIXTEEN_BIT = re.compile(
    r"(?<![\w.-])16[- ]?bits?(?![\w-])|(?<![\w.-])16[- ]?бит\w*|merged_16bit|\bhalf\b(?=\s+(?:weights|model|size))"
)


SHARD_SIZE = re.compile(
    r"(?:max[_ ]shard[_ ]size|shard[_ ]size|shards?(?:\s+of(?:\s+at\s+most)?)?(?:\s+(?:no|not)\s+(?:bigger|larger|more)\s+than"
    r"|\s+(?:of\s+)?up\s+to|\s+under|\s+(?:at\s+most|max(?:imum)?))?|sharded\s+(?:at|into|to|in|by)(?:\s+at\s+most)?"
    r"|шард\w*(?:\s+(?:по|не больше|не более|до))?|(?:кусками|частями|файлами|chunks|pieces|parts)\s+(?:по|of))[\"']?\s*[=:]?\s*[\"']?\s*(?:of\s+)?(\d+\s*(?:gb|mb|гб|мб))"
    r"|(\d+\s*(?:gb|mb|гб|мб))\s*(?:shards?|pieces|files|шард\w*|част\w*)"
)


SHARD_IN_WORDS = re.compile(
    r"(?:шард\w*|shards?|sharded)\s+(?:по|of|at|in|into)?\s*(?:(\d+|[a-zа-я]+)\s+)?(гигабайт\w*|мегабайт\w*|gigabytes?|megabytes?|гиг[аов]?(?![а-я])|гигов|метров|мег[аов]?(?![а-я])|gigs?|megs?)"
)  # "шарды по 2 гига", "shards of 2 gigs": the colloquial unit


def shard_size(masked: str) -> tuple[str, int, int] | None:
    """'max shard size 2GB', '2GB shards', 'шарды по 2 ГБ': the final write's shard size, as transformers spells it."""
    m = SHARD_SIZE.search(masked)
    export = re.search(r"\bexport_size\s*[:=]\s*(\d+)\b(?!\s*(?:gb|mb))", masked)
    if export and not m:  # LLaMA-Factory's export_size is the shard size in GB
        return f"{export.group(1)}GB", export.start(), export.end()
    words = SHARD_IN_WORDS.search(masked)
    if words and not m:  # "шардами по гигабайту", "shards of two gigabytes": the unit said as a word
        from agent.goal_numbers import word_value

        count = words.group(1)
        n = (
            1
            if not count or re.match(r"одн|a\b|an\b|one", count)
            else (int(count) if count.isdigit() else word_value(count))
        )
        if n:
            unit = "GB" if re.match(r"гиг|gig", words.group(2)) else "MB"
            return f"{n}{unit}", words.start(), words.end()
    if not m:
        return None
    size = (m.group(1) or m.group(2)).replace(" ", "").upper().replace("ГБ", "GB").replace("МБ", "MB")
    return size, m.start(), m.end()


def output_dtype(masked: str) -> tuple[str, int, int] | None:
    """The dtype the final file is written in, and where it was said: the first one not negated ("don't save in
    bf16, keep fp32") and not the training precision ("mixed precision fp16", "train in bf16")."""
    for m in re.finditer(rf"\b(?:{'|'.join(map(re.escape, sorted(DTYPES, key=len, reverse=True)))})\b", masked):
        before = masked[max(0, m.start() - 24) : m.start()]
        if re.search(
            r"(?:\bnot|\bno|n'?t\s+\w+(?:\s+in)?|(?<![а-я])не\s+\w+(?:\s+в)?|(?<![а-я])не|(?<![а-я])без)\s+(?:in\s+|as\s+|в\s+)?$",
            before,
        ):
            continue
        if training_precision(masked, m.start(), m.end()):
            continue
        if re.match(r"[^.;!?\n]*\?", masked[m.end() :]) or re.match(r"\s+(?:or|или)\s", masked[m.end() :]):
            continue  # "Is this checkpoint bf16 or fp32? convert to fp16": a question about it, not what to write
        return DTYPES[m.group(0)], m.start(), m.end()
    return None


def training_precision(masked: str, start: int, end: int) -> bool:
    """'mixed precision fp16', 'train in bf16', '--bf16': how it trains, not what it writes."""
    before = masked[max(0, start - 24) : start]
    return bool(TRAINING_PRECISION.search(before) or re.match(r"\s*(?:mixed|training|train)\b", masked[end:]))


TRAINING_PRECISION = re.compile(
    r"(?:mixed[- ]precision|amp|(?:train(?:ing|ed)?|fine-?tun\w*|finetun\w*)\s+(?:it\s+)?(?:in|with)|(?:до)?обуч\w*\s+в"
    r"|тренир\w*\s+в|(?<![\w-])--"
    # "SFT with gradient checkpointing and bf16": a training switch, then the precision it trains in
    r"|(?:checkpointing|packing|чекпоинтинг\w*|упаковк\w*)\s*(?:and|&|\+|,|и)\s*(?:in\s+|в\s+)?)\s*$"
)
MODULE_NAME = re.compile(
    r"(?<![\w])(?:[a-z]+_proj|c_attn|c_proj|c_fc|query_key_value|qkv_proj|gate_up_proj|dense_h_to_4h|dense_4h_to_h|"
    r"fc1|fc2|wq|wk|wv|wo|w1|w2|w3|out_proj|(?:down|up|gate)[ -]proj(?:ection)?s?)(?![\w])"
)
# "q and v projections", "q/k/v", "на q и v проекциях": the attention projections by letter
_ROLE_ITEM = r"(?:[qkvo]|gate|up|down)"
_ROLE_JOIN = r"\s*(?:,|and|и|/|&|\+)\s*"
LETTER_MODULES = re.compile(  # "q and v projections", "the up and down projections", "q,k,v,o and gate", "gate/up/down"
    rf"(?<![\w/#.-])({_ROLE_ITEM}(?:{_ROLE_JOIN}{_ROLE_ITEM})*)(?:\s+|\s*-\s*)(?:proj(?:ection)?s?\b|проекци\w*|матриц\w*)"
    rf"|(?<![\w/#.'-])({_ROLE_ITEM}(?:{_ROLE_JOIN}{_ROLE_ITEM})+|[qkvo](?:\s+[qkvo]){{1,3}}(?:\s+(?:gate|up|down)(?![\w/#.'-]))*|[qkvo](?={_ROLE_JOIN}(?:mlp|млп)\b))(?![\w/#.'-])"  # "on q and v only", "q k v o", "o и mlp"
)
LETTER_ROLES = {"q": "query", "k": "key", "v": "value", "o": "output", "gate": "gate", "up": "up", "down": "down"}
LLAMA_NAMES = {"query": "q_proj", "key": "k_proj", "value": "v_proj", "output": "o_proj", "gate": "gate_proj",
               "up": "up_proj", "down": "down_proj"}  # fmt: skip


def module_name(words: str) -> str:
    """'down projection' and 'gate-proj' are the checkpoint's down_proj and gate_proj."""
    return re.sub(r"[ -]proj(?:ection)?s?$", "_proj", words)


def letter_modules(text: str) -> list[tuple[int, int, list[str]]]:
    """(start, end, roles) for each run of projection letters: 'q and v projections' → query, value."""
    return [
        (
            m.start(),
            m.end(),
            [LETTER_ROLES[c] for c in re.findall(r"gate|up|down|[qkvo]", m.group(1) or m.group(2))],
        )
        for m in LETTER_MODULES.finditer(text)
        if m.group(1) or re.search(r"(?<![a-z])(?:[qkvo]|gate)(?![a-z])", m.group(2))  # not "thumbs up and down"
    ]


ATTENTION_NAMES = {"q_proj", "k_proj", "v_proj", "o_proj", "c_attn", "c_proj", "qkv_proj", "query_key_value", "wq", "wk",
                   "wv", "wo", "out_proj", "query", "key", "value", "dense", "Wqkv"}  # fmt: skip
MLP_NAMES = {"gate_proj", "up_proj", "down_proj", "c_fc", "c_proj", "fc1", "fc2", "w1", "w2", "w3", "gate_up_proj",
             "dense_h_to_4h", "dense_4h_to_h"}  # fmt: skip
# every method tools/merge_models.py runs (mergekit's names), longest first: the one lexicon of merge methods
MERGE_METHODS = [
    ("dare_ties", r"dare[_ -]?ties"), ("dare_linear", r"dare[_ -]?linear"), ("della_linear", r"della[_ -]?linear"),
    ("della", r"\bdella\b|делл\w*"), ("breadcrumbs", r"\bbreadcrumbs\b"), ("model_stock", r"model[_ -]?stock"),
    ("nearswap", r"near[_ -]?swap"), ("slerp", r"\bslerp\b|слерп\w*|сферическ\w*|(?<![а-я])сфер(?:а|ой|у)(?![а-я])|spherical(?:ly)?"), ("task_arithmetic", r"task[_ -]?arith(?:metic)?\b|арифметик\w*\s+задач\w*"),
    ("ties", r"\bties\b"),
    ("linear", r"\blinear(?:ly)?\s+merge|\bmodel soup\b|\bmerge\w*\s+linear(?:ly)?\b|(?<![а-я])линейн(?:о|ым|ое|ого)\b"
     r"|\b(?:use|using|via|method:?)\s+linear\b(?!\s+(?:sched\w*|warm\w*|decay|lr|learning|anneal\w*))"
     r"|\blinear\s+instead\b"),
]  # fmt: skip
MERGE_METHOD_WORDS = "|".join(p for _, p in MERGE_METHODS[:-1])
MERGE_METHOD_RE = re.compile(r"(?<![\w])(?:" + MERGE_METHOD_WORDS + r")(?![\w])")
# merge settings that are numbers: "density 0.7", "плотностью 0.6", "t=0.3", "at t 0.3"
MERGE_NUMBERS = [
    ("density", r"\bdensit(?:y|ies)\b|плотност\w*"),
    (
        "t",
        r"(?<![\w.-])t(?=\s*[=:]|\s+(?:(?:равн\w*|равен|is|of|set to|equals?|at)\s+)?(?:\d|0?\.\d|(?:ноль|нуль|zero|point|half|половин)\w*"
        r"|[a-zа-яё]+\s+(?:tenths|hundredths|десят|сот|четверт|трет)\w*))",  # "t равно семи десятым", "t seven tenths"
    ),
]
# one weight for every model: "weights 0.5 each", "weight 1.0 for each model", "с весом 0.5 у каждой", "по 0.5"
EACH_WEIGHT = re.compile(
    r"(?:weights?|вес\w*)\s*(?:of\s+|=\s*|:\s*)?(\d*\.?\d+)\s*(?:each|apiece|for (?:each|every|both|all)\b|у (?:каждой|каждого|обеих|обоих|всех)|каждой|каждому|обеим|обоим)"
    r"|(?<![а-я])по\s+(\d*\.?\d+)\s+(?:у\s+)?(?:каждой|каждому|каждого|обеим|всем)"
    r"|(?<![\w.])(\d*\.\d+|1(?:\.0+)?)\s+(?:each|apiece|for\s+(?:each|every|both)(?:\s+(?:one|model|of\s+them))?)\b"
    r"|\beach\s+(?:at\s+|with\s+)?(\d*\.\d+|1(?:\.0+)?)(?![\d%/])"  # "merge w B each 0.5"
    r"|\beach\s+(?:with\s+(?:a\s+)?)?weight\s+(?:of\s+)?(\d*\.?\d+)(?![\d.%])"  # "each weight 0.5", "each with weight 0.5"
    r"|(?<=#)\s+по\s+(\d*\.?\d+)(?![\d.%]|\s*(?:эпох|шаг|сло|ранг|lr))"  # "B и C по 0.5"
    r"|(?:веса|весами|weights)\s+по\s+(\d*\.?\d+)(?![\d.])"
    # "по трети каждой", "веса по половине", "a third each": the share said as a word
    r"|(?:(?:веса|весами|с\s+весом)\s+)?(?<![а-я])по\s+(трети|четверти|половине)(?:\s+(?:у\s+)?(?:каждой|каждому|каждого|обеим|обоим|всем))?"
    r"(?![а-я])|\b(a\s+third|one\s+third|thirds|a\s+quarter|one\s+quarter|quarters|half|halves)\s+(?:each|apiece)\b"
    r"|\b(?:in(?:\s+equal)?|equal)\s+(thirds|quarters|halves)\b"  # "merge the three in equal thirds"
    r"|\beach\s+(?:getting|gets|taking|takes|with)\s+(a\s+third|one\s+third|a\s+quarter|one\s+quarter|half)\b"  # "each getting a third"
    r"|\beach\s+at\s+density\s+\d*\.?\d+\s+and\s+weight\s+(\d*\.?\d+)(?![\d.%])"
    r"|\bboth\s+(?:at|with)\s+(?:a\s+)?weight\s+(?:of\s+)?(\d*\.?\d+)(?![\d.%])"  # "both at weight 1"  # "each at density 0.5 and weight 0.5"
    r"|\beach\s+(?:gets\s+|at\s+|with\s+)?(1/3|1/4|1/2)(?![\d/])|(?<![\d/.])(1/3|1/4|1/2)\s+each\b"  # "each 1/3"
    # "50% each", «50 процентов каждой» (the percent word is read as "%" before this)
    r"|(?<![\w.])(\d+(?:\.\d+)?\s*%)\s*(?:each|apiece|for\s+(?:each|both)|(?:у\s+)?(?:каждой|каждому|каждого|обеим|обоим|обеих|обоих))(?![\w-])"
)
EACH_PART = {"трети": 1 / 3, "четверти": 0.25, "половине": 0.5, "a third": 1 / 3, "one third": 1 / 3, "thirds": 1 / 3,
             "a quarter": 0.25, "one quarter": 0.25, "quarters": 0.25, "half": 0.5, "halves": 0.5, "1/3": 1 / 3,
             "1/4": 0.25, "1/2": 0.5}  # fmt: skip


def _setting_before(masked: str, start: int) -> bool:
    """Whether another merge setting's word comes right before a value: "density 0.5 each" is no weight."""
    return bool(
        re.search(
            r"(?:densit\w*|плотност\w*|epsilon|lambda|эпсилон\w*|лямбд\w*|(?<![\w.-])t)\s*[:=]?\s*$",
            masked[max(0, start - 20) : start],
        )
    )


def each_weight(masked: str) -> tuple[float, int, int] | None:
    """'weights 0.5 each', 'по 0.5 каждой', 'по трети каждой': the one weight every member gets, and where."""
    m = next((m for m in EACH_WEIGHT.finditer(masked) if not _setting_before(masked, m.start())), None)
    if not m:
        return None
    said = re.sub(r"\s+", " ", next(g for g in m.groups() if g))
    if said.endswith("%"):
        return round(float(said.rstrip(" %")) / 100, 6), m.start(), m.end()
    return round(EACH_PART[said], 6) if said in EACH_PART else float(said), m.start(), m.end()


# one weight for the one model merged into the base: "with weight 0.8", "с весом 0.8" (not KTO's "desirable weight")
# words that lean a SLERP towards one model ("favouring B 3 to 1"): the planner sets t from them, the fact check
# does not ask about their numbers
# words for a merge's members: the trained result ("ours", "наш"), the one other model ("theirs", "его"), the base
OURS = (
    r"(?:ours|mine|my\s+(?:own\s+)?model|our(?:\s+(?:own|model|one|result|checkpoint))+|(?:the\s+)?(?:result|(?:fine-?|sft-?|dpo-?)?tuned"
    r"(?:\s+(?:model|one))?|trained(?:\s+(?:model|one))?)|наш\w*(?:\s+модел\w*)?|результат\w*"
    r"|(?<![а-я])мо(?:я|ей|ю|ему|ем|ём|й)(?:\s+модел\w*)?|(?<![а-я])нам(?![а-я])|(?<![а-я])мне(?![а-я])"  # "0.6 нам и 0.4 партнёру"
    r"|our\s+favou?r|\b(?:we|us)(?![\w'-])|(?<![а-я])(?:мы|нас)(?![а-я])"  # "in our favour", "we get the rest", «мы 0.5»
    r"|(?:до)?обученн\w*(?:\s+модел\w*)?)(?![\w-])"
)
THEIRS = (
    r"(?:theirs|their\s+(?:model|one)|their\s+favou?r|(?:the\s+)?(?:partner|other(?:\s+(?:one|model))?)|(?<![а-я])(?:его|их|ему|ей|него|нему|н[её]е|них)|\b(?:his|her)(?![\w'-])"
    r"|партн[её]р\w*|друг\w+(?:\s+модел\w*)?)(?![\w-])"
)
BASE_WORDS = (
    r"(?:(?:the\s+)?(?:base|original|opened|open|current|starting)(?:\s+(?:model|one|checkpoint))?\b"
    r"|(?:(?<![а-я])баз|исходн|текущ|открыт|оригинал)\w*(?:\s+модел\w*)?)"
)
# "the sft result", "dpo model", «результат sft», «sft-результат»: one earlier stage's result, named by its method
STAGE_RESULT_WORD = (
    r"(?:(?:the\s+)?(?:sft|dpo|orpo|kto|simpo|ipo)[- ]?(?:result|model|checkpoint)s?(?![\w-])"
    r"|результат\w*\s+(?:sft|dpo|orpo|kto|simpo|ipo|сфт|дпо|орпо)(?![\w-])|(?:sft|dpo|orpo|kto|simpo)[- ]?результат\w*)"
)
MEMBER_WORD = rf"(?:{STAGE_RESULT_WORD}|{OURS}|{THEIRS}|{BASE_WORDS})"


def stage_result_member(word: str, members: list[str]) -> str | None:
    """The member a stage-result word names ("the sft result" → @sft-merged), where exactly one member is that."""
    if not re.fullmatch(rf"{STAGE_RESULT_WORD}|sft|dpo|orpo|kto|simpo|ipo|сфт|дпо|орпо", word.strip()):
        return None  # (a bare "sft" only where a favour word put it: "70 на 30 в пользу sft")
    said = re.search(r"sft|dpo|orpo|kto|simpo|ipo|сфт|дпо|орпо", word).group(0)
    kind = {"сфт": "sft", "дпо": "dpo", "орпо": "orpo"}.get(said, said)
    hits = [m for m in members if re.match(rf"@{kind}(?:-|$)", m)]
    return hits[0] if len(hits) == 1 else None


# "favouring B", "skewed toward B", "с перевесом в сторону B", "с уклоном в B", "перевес партнёру": who gets more
FAVOUR_WORDS = (
    r"(?:favou?r(?:ing|s)|in favou?r of|(?:weighted|leaning|leans?|tilt(?:ed|ing)?|skew(?:ed|ing)?|bias(?:ed)?)\s+"
    r"(?:more\s+|heavily\s+)?towards?|closer to|в пользу|ближе к|(?:с\s+)?(?:перевес\w*|уклон\w*|крен\w*)\s+"
    r"(?:в\s+сторону|в\s+пользу|к|в)|в\s+сторону|(?:с\s+)?перевес\w*(?=\s+(?:партн|баз|наш|исходн|друг|#)))"
)
_ORDINAL = r"(?:first|second|перв\w*|втор\w*)"
_TIMES = {
    "twice": 2.0, "two times": 2.0, "2x": 2.0, "2 times": 2.0, "вдвое": 2.0, "в два раза": 2.0, "в 2 раза": 2.0,
    "three times": 3.0, "thrice": 3.0, "3x": 3.0, "3 times": 3.0, "втрое": 3.0, "в три раза": 3.0, "в 3 раза": 3.0,
    "half": 0.5, "вполовину": 0.5,
}  # fmt: skip
# "weight the second one twice as much as the first", "второй с весом вдвое больше первого": a ratio of two members
RELATIVE_WEIGHT = re.compile(
    rf"(?P<a>{_ORDINAL})(?:\s+(?:one|model|partner|модел\w*|партн[её]р\w*))?\s+(?:(?:with|at|с)\s+(?:a\s+)?(?:weight|вес\w*)\s+|gets?\s+)?"
    rf"(?P<k>{'|'.join(sorted(map(re.escape, _TIMES), key=len, reverse=True))})\s+"
    r"(?:as\s+)?(?P<dir>much|heavy|heavily|high|large|big|more|больше|тяжелее|весомее|выше|сильнее|less|lower|меньше|ниже)?"
    rf"\s*(?:as|than|,?\s*чем)?\s*(?:the\s+|у\s+)?(?P<b>{_ORDINAL})"
)


# "60-40 in favour of the second one", "семьдесят на тридцать в пользу нашей", "3:1 towards B": a share and who has it
_PRONOUN = r"(?:it|him|него|неё|нее)(?![\w-])"  # "slerp B favouring it 3 to 1": the one model named before
FAVOURED_RATIO = re.compile(
    r"(?<![\w.:/])(?P<a>\d+(?:\.\d+)?)\s*(?:-|–|/|:|to|на|к)\s*(?P<b>\d+(?:\.\d+)?)(?![\w.:/])\s*,?\s*"
    r"(?:(?:ratio|split|соотношени\w*|пропорци\w*)\s+)?"  # "3:1 ratio in favour of ours"
    rf"(?:{FAVOUR_WORDS}\s+|towards?\s+|(?=for\s+(?:{OURS}|{THEIRS}|{BASE_WORDS}))for\s+"  # "3:1 for ours"
    rf"|(?P<bare>)(?=(?:{OURS}|{THEIRS})(?![\w-])(?!\s*(?:[:/]|and|и|,)\s*\S))"  # "70/30 ours"
    # "70/30 in our favour", "70 на 30 в нашу пользу": the owner inside the favour words
    r"|in\s+(?=(?:our|their|(?:the\s+)?(?:partner|base|original)(?:'s)?|#{3,}(?:'s)?)\s+favou?r)"
    r"|в\s+(?=(?:нашу|мою|его|их)(?:\s+пользу|\s*(?:[,.;!]|$))))(?:the\s+)?"  # "2 к 1 в нашу"
    rf"(?P<who>#{{3,}}|{MEMBER_WORD}|(?:sft|dpo|orpo|kto|simpo|сфт|дпо|орпо)(?![\w-])|(?:first|second|перв\w*|втор\w*)(?:\s+(?:one|model|модел\w*))?|{_PRONOUN})"
)


# "in favour of B, 3:1", "в пользу базы, примерно 3 к 1", "favouring ours 3 to 1": who first, then the ratio
FAVOURED_FIRST = re.compile(
    FAVOUR_WORDS + r"\s+(?:the\s+)?"
    rf"(?P<who>#{{3,}}|{MEMBER_WORD}|(?:first|second|перв\w*|втор\w*)(?:\s+(?:one|model|модел\w*))?|{_PRONOUN})"
    r"(?:\s*\(?\s*#{3,}\s*\)?)?"  # "в пользу партнёра ../b 3 к 1": the partner's folder said after it
    r"[\s,:—–-]*(?:(?:at|by|with|as|about|roughly|around|примерно|около|где-то)\s+)?"
    r"(?P<a>\d+(?:\.\d+)?)\s*(?:-|–|/|:|to|на|к)\s*(?P<b>\d+(?:\.\d+)?)(?![\w.])"
)


# "70/30, the bigger share to it", «70 на 30, большая доля партнёру»: the ratio, then the share's size, then its owner
SHARE_SIZE_AFTER = re.compile(
    r"(?<![\w.:/])(?P<a>\d+(?:\.\d+)?)\s*%?\s*(?:-|–|/|:|to|на|к)\s*(?P<b>\d+(?:\.\d+)?)\s*%?(?![\w.:/])"
    r"[\s,(—–-]+(?:with\s+|and\s+|и\s+|а\s+)?(?:the\s+|a\s+)?"
    r"(?:(?P<big>bigger|larger|higher|heavier|greater|большая|большую|бо́льшая)|(?P<less>smaller|lower|lesser|меньшая|меньшую))"
    r"\s+(?:share|part|weight|one|half|долю|доля|часть|вес)\s+(?:(?:goes\s+)?(?:to|for)\s+|у\s+|для\s+)?(?:the\s+)?"
    rf"(?P<who>#{{3,}}|{MEMBER_WORD}|{_PRONOUN})"
)
# "30/70, partner the bigger share", "40/60, партнёру больше", «один к трём, наша меньшая»: the ratio, then who has the
# bigger (or smaller) share of it
SHARE_SIZE_SAID = re.compile(
    r"(?<![\w.:/])(?P<a>\d+(?:\.\d+)?)\s*%?\s*(?:-|–|/|:|to|на|к)\s*(?P<b>\d+(?:\.\d+)?)\s*%?(?![\w.:/])"
    r"[\s,(—–-]+(?:and\s+|и\s+|а\s+|but\s+|но\s+|with\s+|where\s+|причём\s+|причем\s+)?(?:the\s+|у\s+)?"
    rf"(?P<who>#{{3,}}|{MEMBER_WORD})\s*(?:(?:gets|has|takes|having|with|is|получает|берёт|берет)\s+)?(?:the\s+|a\s+)?"
    r"(?:(?P<big>bigger|larger|higher|heavier|greater|больше|побольше|большая|большую|бо́льшая|тяжелее|весомее)"
    r"|(?P<less>smaller|lower|lesser|less|меньше|поменьше|меньшая|меньшую))"
    r"(?:\s+(?:share|part|weight|one|half|долю|доля|часть|вес))?(?![\w-])"
)


# "giving it the bigger share, 60-40", "the partner's share is the bigger one: 60/40", «у партнёра доля меньше, 40 на
# 60»: who has the bigger (or smaller) share said first, then the ratio
SHARE_SIZE_BEFORE = re.compile(
    rf"(?:(?:giving|give|дай|отдай|отдав\w*)\s+)?(?:у\s+)?(?:the\s+)?(?P<who>#{{3,}}|{MEMBER_WORD}|{_PRONOUN})(?:'s\s+(?:share|weight))?"
    r"\s+(?:(?:gets|has|takes|getting|having|with|is|получает|берёт|берет)\s+)?(?:the\s+|a\s+)?"
    r"(?:(?:share|weight|доля|долю|вес)\s+(?:is\s+)?(?:the\s+)?)?"
    r"(?:(?P<big>bigger|larger|higher|heavier|greater|больше|побольше|большая|большую|бо́льшая)"
    r"|(?P<less>smaller|lower|lesser|less|меньше|поменьше|меньшая|меньшую))"
    r"(?:\s+(?:share|part|weight|one|half|долю|доля|часть|вес))?[\s,:—–-]*(?:(?:like|about|say|at|so|e\.g\.|т\.е\.|то\s+есть)\s+)?"
    r"(?P<a>\d+(?:\.\d+)?)\s*%?\s*(?:-|–|/|:|to|на|к)\s*(?P<b>\d+(?:\.\d+)?)\s*%?(?![\w.:/])"
)


@dataclass
class Favoured:
    """A two-model merge's weights said as a ratio in favour of one member."""

    big: float
    small: float
    who: str
    start: int
    end: int
    who_start: int
    who_end: int
    other: str = ""  # the other member, where it was named: "B gets 3x the weight of C"


# "60% in favour of B", «70% в пользу B»: one share said with the member it favours (the other has the rest)
PERCENT_IN_FAVOUR = re.compile(
    r"(?<![\w.:/])(?P<a>\d+(?:\.\d+)?)\s*%\s*(?:in\s+favou?r\s+of|в\s+пользу)\s+(?:the\s+)?"
    rf"(?P<who>#{{3,}}|{MEMBER_WORD})"
)

# «в пользу B, 70 процентов», "in favour of B, 70%", "favouring B at 70%": the favoured member, then its share
PERCENT_AFTER_FAVOUR = re.compile(
    rf"(?:in\s+favou?r\s+of|\bfavou?ring|(?<![а-я])в\s+пользу)\s+(?:the\s+)?(?P<who>#{{3,}}|{MEMBER_WORD})"
    r"\s*(?:[,—–:(-]\s*|\s+(?:at|by|with|на|с)\s+)(?:(?:like|about|around|roughly|примерно|около|где-то)\s+)?"
    r"(?P<a>\d+(?:\.\d+)?)\s*%(?!\s*(?:/|:|to\b|к\b|на\b)\s*\d)"
)


def favoured_ratio(masked: str) -> Favoured | None:
    """The ratio and its favoured member, with positions in `masked` (number words read as digits)."""
    from agent.goal_numbers import words_to_digits_mapped
    from agent.goal_shares import owned_pair, share_relation

    if relation := share_relation(masked):  # "B's share is half of ours": before "half" is read as B's own share
        return relation
    if (single := PERCENT_IN_FAVOUR.search(masked) or PERCENT_AFTER_FAVOUR.search(masked)) and 50 < float(
        single["a"]
    ) < 100:
        share = round(float(single["a"]) / 100, 6)
        return Favoured(share, round(1 - share, 6), single["who"], single.start(), single.end(), *single.span("who"))
    digits, starts, ends = words_to_digits_mapped(masked)
    m = (
        SHARE_SIZE_SAID.search(digits)
        or SHARE_SIZE_AFTER.search(digits)
        or SHARE_SIZE_BEFORE.search(digits)
        or FAVOURED_RATIO.search(digits)
        or FAVOURED_FIRST.search(digits)
    )
    if m and m.re is FAVOURED_RATIO and FRACTION_OWNED.match(digits, m.start()):
        return None  # "1/4 for the partner": a fraction of the whole for one member (fraction_owned), not 1:4
    if not m:
        # (shares each said with its member, "B 0.6, C 0.4", are weights_for's: per member, not a favoured one)
        return _share_of(digits, starts, ends, masked) or (None if weights_for(masked) else owned_pair(masked))
    a, b = float(m["a"]), float(m["b"])
    lesser = (
        m.re in (SHARE_SIZE_SAID, SHARE_SIZE_AFTER, SHARE_SIZE_BEFORE) and m["less"]
    )  # "1:3, наша меньшая": the smaller share
    if a + b <= 0 or (m.re is FAVOURED_RATIO and m["bare"] is not None and a < b):
        return None  # "30/70 ours" with no favour word: whose is the 70 is not said
    start, end = starts[m.start()], ends[m.end() - 1]
    who_start, who_end = starts[m.start("who")], ends[m.end("who") - 1]
    if re.fullmatch(_PRONOUN, masked[who_start:who_end]):
        named = list(re.finditer(r"#{3,}", masked[:start]))
        if len(named) != 1:
            return None  # "it" with no one model named before it: nobody to favour
        who_start, who_end = named[0].span()
    big, small = round(max(a, b) / (a + b), 6), round(min(a, b) / (a + b), 6)
    if lesser:
        big, small = small, big  # (`big` is the named member's share)
    return Favoured(big, small, masked[who_start:who_end], start, end, who_start, who_end)


_WHO = rf"(?:#{{3,}}|{MEMBER_WORD})"
_PART_WORDS = {"a quarter": 0.25, "quarter": 0.25, "a third": 1 / 3, "third": 1 / 3, "half": 0.5, "two thirds": 2 / 3,
               "three quarters": 0.75, "четверть": 0.25, "треть": 1 / 3, "половина": 0.5, "половину": 0.5,
               "две трети": 2 / 3, "три четверти": 0.75}  # fmt: skip
_PART = r"(?P<p>\d+(?:\.\d+)?\s*%|0?\.\d+|" + "|".join(sorted(map(re.escape, _PART_WORDS), key=len, reverse=True)) + ")"
# "a quarter partner, the rest base", "80% of B and the rest from the base", "на 30% B, остальное — база"
SHARE_THE_REST = re.compile(
    _PART
    + rf"\s+(?:of\s+|from\s+|for\s+|to\s+|на\s+|для\s+)?(?:the\s+)?(?P<who>{_WHO})\s*(?:[,;]\s*|\s+)(?:and\s+|а\s+|и\s+)?"
    rf"(?:the\s+rest|остальн\w*)\s*(?:(?:is|from|for|to|goes to|—|-|:|на|от|из|у)\s+)?(?:the\s+)?(?P<other>{_WHO})"
)
# "mostly partner — like 80%", "в основном B, процентов 80": the one member's share
MOSTLY = re.compile(
    rf"(?:mostly|mainly|largely|в основном|преимущественно)\s+(?:the\s+)?(?P<who>{_WHO})[\s,—–(-]*"
    rf"(?:(?:a\s+(?:bit|little|touch)|some)\s+of\s+(?:the\s+)?{_WHO}[\s,—–(-]*)?"
    r"(?:like|about|around|roughly|~|say|около|примерно|где-то|процентов)?\s*(?P<p>\d+(?:\.\d+)?)\s*(?:%|процентов"
    r"|/\s*(?P<q>\d+(?:\.\d+)?)(?![\d.]))"  # "mostly B, a bit of ours — like 90/10"
)

# «B поменьше — процентов 20», "B smaller, 20%": one member's share, said with its size
SIZED_SHARE = re.compile(
    rf"(?P<who>{_WHO})\s+(?P<size>по?меньше|по?больше|less|more|smaller|bigger|lower|higher)\s*[—–:,(-]?\s*"
    r"(?:(?:like|about|around|~|около|примерно|где-то)\s+)?(?P<p>\d+(?:\.\d+)?\s*%)"
)

# "lean 70% toward the partner", "с уклоном 70% в сторону партнёра": the one member's share
LEAN = re.compile(
    r"(?:lean\w*|tilt\w*|skew\w*|bias\w*|weighted|уклон\w*|перекос\w*)\s+(?:by\s+|на\s+)?(?P<p>\d+(?:\.\d+)?)\s*%\s+"
    rf"(?:toward\w*|to|in favou?r of|в\s+сторону|в\s+пользу|к)\s+(?:the\s+)?(?P<who>{_WHO})"
)


# "70% партнёра", "30 percent of the partner", "a third from the base": the one share said, with its member after it
SHARE_OF = re.compile(
    r"(?<![\w.])(?P<p>\d+(?:\.\d+)?\s*%)\s+(?:of\s+|from\s+|for\s+|to\s+|towards?\s+|на\s+|для\s+|от\s+"
    rf"|в\s+сторону\s+)?(?:the\s+)?(?P<who>{_WHO})"
)


# "the partner weighted twice as much as the base", "партнёр в два раза весомее базы": a ratio by member
TIMES_MEMBER = re.compile(
    rf"(?P<who>{_WHO})\s+(?:(?:is\s+|should\s+be\s+)?weighted\s+|weighs\s+|counts?\s+|gets\s+|getting\s+|весит\s+|весил[аи]?\s+"
    r"|с\s+весом\s+)?"
    rf"(?P<k>{'|'.join(sorted(map(re.escape, _TIMES), key=len, reverse=True))})\s+(?:as\s+)?"
    r"(?P<dir>much|heavy|heavily|more|больше|тяжелее|весомее|сильнее|less|меньше|легче)\s*(?:as|than|,?\s*чем)?\s*"
    rf"(?:the\s+|у\s+)?(?P<other>{_WHO})"
)


# "partner gets twice the weight of ours", "второму в два раза больше": a multiple said for one member; the other
# of a two-model merge is the one compared with, named or not
# (a multiple in digits too: "4 times", «в 4 раза»)
_TIMES_SAID = r"\d+(?:\.\d+)?\s*(?:x|×|times)|в\s+\d+(?:\.\d+)?\s+раза?|" + "|".join(
    sorted((re.escape(t) for t in _TIMES if _TIMES[t] > 1), key=len, reverse=True)
)


def times_value(said: str) -> float:
    """The multiple a word or digits say: "twice" 2, "4 times" 4, «в 4 раза» 4."""
    return _TIMES[said] if said in _TIMES else float(re.search(r"\d+(?:\.\d+)?", said).group(0))


# "у него вес в 3 раза меньше", "partner's share 4 times smaller than ours": the named one takes the small share
TIMES_ONE = re.compile(
    rf"(?P<who>{_WHO}|{_PRONOUN}|(?:first|second|перв\w*|втор\w*)(?:\s+(?:one|model|модел\w*))?)"
    r"(?:\s*\(\s*#{3,}\s*\))?"  # «партнёру (B) в два раза больше»
    r"(?:'s\s+(?:weight|share)|\s+(?:вес|доля))?\s+"
    r"(?:(?:в\s+(?:мердже|мерже|слиянии|смеси)|in\s+the\s+(?:merge|mix|blend))\s+)?"  # «наша в мердже весит в 3 раза меньше»
    r"(?:(?:is\s+|should\s+be\s+)?weighted\s+|weighs\s+|counts?\s+|gets\s+|getting\s+|получает\s+|получит\s+|весит\s+|весил[аи]?\s+"
    r"|с\s+весом\s+|(?:is|should\s+be|будет|было|был[аи]?)\s+)?(?:an?\s+)?"
    rf"(?P<k>{_TIMES_SAID})\s+(?:as\s+)?"
    r"(?P<dir>much|heavy|heavily|more(?:\s+important)?|bigger|larger|больше|больш(?:ий|ую|ая)|тяжелее|весомее|сильнее|важнее"
    r"|the\s+weight|веса|(?P<less>less|smaller|lower|меньше|меньш(?:ий|ую|ая)|легче|ниже))(?![\w-])"
    r"(?:\s+(?:вес|веса|долю|доля|share|weight|part))?"
    rf"(?:\s*(?:as|than|of|,?\s*чем)?\s*(?:the\s+|у\s+)?(?P<other>{OURS}|{THEIRS}|{BASE_WORDS}))?"
)


# "partner at 3x our weight", "B gets twice what ours gets", "B at 1.5 times ours": a multiple of the other's weight
TIMES_OF = re.compile(
    rf"(?P<who>{_WHO})(?:'s\s+(?:share|weight)\s+(?:is|should\s+be)\s+|\s+(?:(?:is\s+|should\s+be\s+)?(?:at|gets|getting|with|has|weighted(?:\s+at)?|weighs|получает)\s+)?|\s+)"
    rf"(?:a\s+)?(?P<k>\d+(?:\.\d+)?\s*(?:x|×|times)|{'|'.join(sorted(map(re.escape, _TIMES), key=len, reverse=True))})\s+"
    r"(?:(?:what|the\s+weight\s+of|the\s+share\s+of|as\s+much\s+as|of)\s+)?(?:the\s+)?"
    rf"(?P<other>{_WHO}|our|my|their|his)(?:'s)?(?:\s+(?:weight|share|gets|get|does))?(?![\w-])"
)


# "where ours counts double", «наша модель считается вдвое»: one member counted a multiple of the other
COUNTS_TIMES = re.compile(
    rf"(?P<who>{_WHO})\s+(?:(?:модел\w*\s+)?(?:counts?|weighs|считается|весит|идёт|идет)\s+)(?P<k>double|twice|triple|thrice"
    r"|вдвое|втрое|в\s+(?:два|три|2|3)\s+раза)(?![\w-])(?!\s+(?:as|than|чем|меньше|больше|less|more)\b)"
)
_COUNTED = {"double": 2.0, "twice": 2.0, "triple": 3.0, "thrice": 3.0, "вдвое": 2.0, "втрое": 3.0}


# "twice as much weight on B", "3x the weight for B", "double weight on B", «вдвое больший вес у B», «двойной вес
# для B»: a multiple of the weight put on one member (the other of two takes one part)
WEIGHT_ON_TIMES = re.compile(
    rf"(?P<k>{_TIMES_SAID}|double|двойн\w*|тройн\w*)\s+(?:as\s+much\s+|the\s+|more\s+|больш\w+\s+)?"
    r"(?:weight|share|вес|веса|долю|доля)\s+(?:on|to|for|у|для|на|к)\s+(?:the\s+)?"
    rf"(?P<who>{_WHO})"
)


def _times_member(digits: str, starts: list[int], ends: list[int], masked: str) -> Favoured | None:
    if on := WEIGHT_ON_TIMES.search(digits):
        said = re.sub(r"\s+", " ", on["k"])
        k = _COUNTED.get(said) or (
            2.0 if said.startswith("двойн") else 3.0 if said.startswith("тройн") else times_value(said)
        )
        who_start, who_end = starts[on.start("who")], ends[on.end("who") - 1]
        return Favoured(round(k / (k + 1), 6), round(1 / (k + 1), 6), masked[who_start:who_end],
                        starts[on.start()], ends[on.end() - 1], who_start, who_end)  # fmt: skip
    m = TIMES_MEMBER.search(digits)
    if not m and (counted := COUNTS_TIMES.search(digits)):
        said = re.sub(r"\s+", " ", counted["k"])
        k = _COUNTED.get(said) or (2.0 if re.search(r"два|2", said) else 3.0)
        who_start, who_end = starts[counted.start("who")], ends[counted.end("who") - 1]
        return Favoured(round(k / (k + 1), 6), round(1 / (k + 1), 6), masked[who_start:who_end],
                        starts[counted.start()], ends[counted.end() - 1], who_start, who_end)  # fmt: skip
    if not m and not RELATIVE_WEIGHT.search(digits):
        m = TIMES_ONE.search(digits) or TIMES_OF.search(digits)
    if m and m.re is TIMES_OF:
        said = m["k"]
        k = _TIMES[said] if said in _TIMES else float(re.match(r"\d+(?:\.\d+)?", said).group(0))
        if k <= 0 or k == 1:
            return None
        return Favoured(round(k / (k + 1), 6), round(1 / (k + 1), 6), masked[starts[m.start("who")] : ends[m.end("who") - 1]],
                        starts[m.start()], ends[m.end() - 1], starts[m.start("who")], ends[m.end("who") - 1])  # fmt: skip
    if not m or m["k"] in ("half", "вполовину"):
        return None
    k = times_value(m["k"])
    if k <= 1:
        return None
    big, small = round(k / (k + 1), 6), round(1 / (k + 1), 6)
    less = m["dir"] in ("less", "меньше", "легче") or (m.re is TIMES_ONE and m["less"])
    who = "who" if not less or m.re is TIMES_ONE else "other"
    if less and m.re is TIMES_ONE:
        big, small = small, big  # "B's weight 3 times smaller": `big` is the named member's share, here the small one
    who_start, who_end = starts[m.start(who)], ends[m.end(who) - 1]
    if re.fullmatch(_PRONOUN, masked[who_start:who_end]):
        named = list(re.finditer(r"#{3,}", masked[:who_start]))
        if len(named) != 1:
            return None  # "у него" with no one model named before it: asked
        who_start, who_end = named[0].span()
    return Favoured(big, small, masked[who_start:who_end], starts[m.start()], ends[m.end() - 1], who_start, who_end)


# «подмешай B к базе, процентов 20», "mix in a bit of B … 10%": the one model mixed in takes the one share said
MIXED_IN = re.compile(
    r"(?:(?<![а-я])(?:подмешай|подмешать|примешай|примешать)|\bmix\s+in|(?<![а-я])добавь\s+(?:к|в)\s+\S+(?:\s+модел\w*)?)"
    r"\s+(?:немного\s+|чуть\s+|(?:a\s+(?:bit|little|touch)|some)\s+of\s+)?(?:the\s+)?(?P<who>#{3,})"
)


def _share_of(digits: str, starts: list[int], ends: list[int], masked: str) -> Favoured | None:
    """A share said for one of two members, the other taking the rest."""
    if times := _times_member(digits, starts, ends, masked):
        return times
    m = SHARE_THE_REST.search(digits) or MOSTLY.search(digits) or LEAN.search(digits)
    if not m and (sized := SIZED_SHARE.search(digits)):  # «B поменьше — процентов 20»: the share agrees with the size
        smaller = re.match(r"по?меньше|less|smaller|lower", sized["size"])
        if (float(sized["p"].rstrip("% ")) < 50) == bool(smaller):
            m = sized
    shares = re.findall(r"(?<![\w.])\d+(?:\.\d+)?\s*%", digits)
    if not m and len(shares) == 1 and (mixed := MIXED_IN.search(digits)) and not weights_for(digits):
        share = float(shares[0].rstrip("% ")) / 100
        at = re.search(r"(?<![\w.])\d+(?:\.\d+)?\s*%", digits)
        if 0 < share < 1:
            who_start, who_end = starts[mixed.start("who")], ends[mixed.end("who") - 1]
            return Favoured(round(share, 6), round(1 - share, 6), masked[who_start:who_end],
                            starts[min(mixed.start(), at.start())], ends[max(mixed.end(), at.end()) - 1],
                            who_start, who_end)  # fmt: skip
    if (
        not m
        and len(re.findall(r"(?<![\w.])\d+(?:\.\d+)?\s*%", digits)) == 1
        and not re.search(r"(?<![\w.])\d+(?:\.\d+)?\s*[/:]\s*\d", digits)  # "30/70 (30% partner)": the ratio's
        and MERGE_WORDS.search(digits)
        and not weights_for(digits)  # "40 процентов база, 60 партнёр": each member's weight said
    ):
        m = SHARE_OF.search(digits)  # one share in the goal: "slerp с B, 70% партнёра"
    if not m:
        return None
    said = m["p"].replace(" ", "")
    value = float(said.rstrip("%")) if m["p"] not in _PART_WORDS else 0.0
    share = _PART_WORDS.get(m["p"]) or (value / 100 if said.endswith("%") or value > 1 else value)  # "80%", "0.25"
    if "q" in m.re.groupindex and m["q"]:  # "mostly B … like 90/10": B's part of the ratio
        share = value / (value + float(m["q"])) if value > float(m["q"]) else 0.0
    if not 0 < share < 1:
        return None
    who_start, who_end = starts[m.start("who")], ends[m.end("who") - 1]
    return Favoured(
        round(share, 6),
        round(1 - share, 6),
        masked[who_start:who_end],
        starts[m.start()],
        ends[m.end() - 1],
        who_start,
        who_end,
    )


class _Said:
    """A match-like span over the goal for weights read from number words ("два к одному")."""

    def __init__(self, text: str, start: int, end: int, digits: str) -> None:
        self._text, self._start, self._end, self._digits = text, start, end, digits

    def group(self, index: int = 0) -> str:
        return self._text[self._start : self._end] if index == 0 else self._digits

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end


def _ratio_said(masked: str) -> _Said | None:
    """'70/30', '1:3', '0.5, 0.3 and 0.2', 'два к одному' in a goal that merges: the weights, in the order said."""
    from agent.goal_numbers import words_to_digits_mapped

    digits, starts, ends = words_to_digits_mapped(masked)
    m = next(
        (
            m
            for m in re.finditer(
                r"(?<![\w.])(\d*\.?\d+\s*%?(?:\s*(?:/|на|:|к|\bto\b)\s*\d*\.?\d+\s*%?)+|0?\.\d+(?:\s*(?:,|and|и)\s*0?\.\d+)+"
                r"|\d+\s*%?(?:\s*(?:,|and|и)\s*\d+\s*%?)+\s*(?:%|percent\b|процент\w*))(?![\w/])",
                digits,
            )
            # "3 to 1" is a ratio; "layers 2 to 9", "from 2 to 4" are ranges
            if not re.search(r"\bto\b", m.group(1))
            or not re.search(
                r"(?:layers?|blocks?|from|between|steps?|epochs?|warm-?up|lr|rank|beta|len\w*|сло\w*|блок\w*)\s*$",
                digits[max(0, m.start() - 24) : m.start()],
            )
        ),
        None,
    )
    m = m or summed_shares(digits)
    if m and fraction_owned(masked):
        return None  # "B gets 2/3": a share, read by one_named_weight
    return _Said(masked, starts[m.start()], ends[m.end() - 1], m.group(1)) if m else None


# "60 40", "65-35", "0.7 0.3": a dash would be a range and a space a list of anything, so these are shares only when
# they add up to 100 or to 1
SUMMED_SHARES = re.compile(r"(?<![\w.\-–])(\d*\.?\d+%?(?:(?:\s*[-–]\s*|\s+)\d*\.?\d+%?)+)(?![\w.\-–])")


def summed_shares(masked: str) -> re.Match[str] | None:
    """The first run of numbers with only spaces or dashes between that adds up to a whole, not after a setting word."""
    for m in SUMMED_SHARES.finditer(masked):
        values = [float(n) for n in re.findall(r"\d*\.?\d+", m.group(0))]
        if (
            min(values) > 0
            and any(abs(sum(values) - whole) < 1e-6 for whole in (1, 100))
            and not _setting_before(masked, m.start())
        ):
            return m
    return None


def weight_values(numbers: list[tuple[str, str]]) -> list[float]:
    """Weights from (number, '%' or '') pairs: '0.7/0.3' as said, '70/30' and '70%/30%' as percent, and a ratio
    such as '1:3' or '2 к 1' (numbers above 1 that do not add up to 100) as shares of their sum."""
    values = [float(n) for n, _ in numbers]
    if any(p for _, p in numbers) or (any(v > 1 for v in values) and abs(sum(values) - 100) < 1e-6):
        return [v / 100 for v in values]
    if any(v > 1 for v in values) and sum(values) > 0:
        return [round(v / sum(values), 6) for v in values]
    return values


def relative_weights(masked: str) -> tuple[list[float], int, int] | None:
    """'the second one twice as much as the first' → ([1.0, 2.0], span): relative weights of two members, for a
    merge that normalises its weights (linear, TIES, DELLA), where only the ratio matters."""
    m = RELATIVE_WEIGHT.search(masked)
    if not m:
        return None
    a, b = (0 if re.match(r"first|перв", m[g]) else 1 for g in ("a", "b"))
    if a == b:
        return None
    k = _TIMES[m["k"]]
    if m["dir"] in ("less", "lower", "меньше", "ниже"):
        k = 1 / k
    values = [1.0, 1.0]
    values[a] = k
    return values, m.start(), m.end()


SINGLE_WEIGHT = re.compile(
    r"(?<!desirable )(?:\bweight|\bвес(?:ом)?|\bcoefficient|(?<![а-я])коэффициент(?:ом)?"
    # «дельту B умноженную на 0.8», "B's delta scaled by 0.8": a task vector's scale is its weight
    r"|(?:(?<=#)|(?<=#'s)|(?<=vector)|(?<=vectors)|(?<=delta)|(?<=deltas)|(?<=дельту)|(?<=дельта)|(?<=вектор)"
    r"|(?<=вектора))\s+(?:scaled\s+by|multiplied\s+by|times|умноженн\w+\s+на|с\s+множителем))\s*(?:of|=|:)?\s*"
    r"(\d*\.\d+|1(?:\.0+)?(?![\d%/])|\d{1,2}\s*%)(?![\d%/])"
)


def single_weight_value(m: re.Match[str]) -> float:
    """'weight 0.8' is 0.8, 'с весом 30%' is 0.3."""
    said = m.group(1).replace(" ", "")
    return float(said.rstrip("%")) / 100 if said.endswith("%") else float(said)


def single_weight(masked: str) -> tuple[float, int, int] | None:
    """'with weight 0.8', 'с весом ноль целых пять': (the weight, start, end in `masked`), number words read."""
    from agent.goal_numbers import words_to_digits_mapped

    digits, starts, ends = words_to_digits_mapped(masked)
    m = SINGLE_WEIGHT.search(digits)
    return (single_weight_value(m), starts[m.start()], ends[m.end() - 1]) if m else None


PER_MODEL_WEIGHT = re.compile(
    r"(?:(?<!desirable )(?<!desirable_)(?:\bweight|\bвес(?:ом)?|\bcoefficient|(?<![а-я])коэффициент(?:ом)?)\s*(?:=|:|of)?|(?:(?<=#)|(?<=#'s)|(?<=vector)|(?<=vectors))\s+(?:at|@))"
    r"\s*(-?\d*\.?\d+)\s*(%?)"  # "B's task vector at 0.5 and subtract C's at 0.3"
)


# "0.25 for B and 0.75 for the base", "0.7 для A, 0.3 для базовой", "1.0 for ours": each weight with its model
WEIGHT_FOR = re.compile(
    r"(?<![\w.])(\d*\.?\d+)\s*(%?)\s+(?:for|to|на|для|у|от)\s+(?:the\s+)?(?P<name>#{3,}|" + MEMBER_WORD + ")"
)
# "take 0.9 of ours and 0.1 of B": a list of shares "of" each member (never one alone: "half of ours" is a multiple)
WEIGHT_OF = re.compile(r"(?<![\w.])(\d*\.?\d+)\s*(%?)\s+of\s+(?:the\s+)?(?P<name>#{3,}|" + MEMBER_WORD + ")")


# "the first partner", "второго партнёра", "второй": a partner by its place among the partners named (read as such
# only in a list that also names ours or the base: "наша 0.5, первого партнёра 0.3, второго 0.2")
ORDINAL_PARTNER = (
    r"(?<![\w-])(?:the\s+)?(?:first|second|third|перв(?:ый|ая|ого|ой|ому|ую)|втор(?:ой|ая|ого|ому|ую)"
    r"|трет(?:ий|ья|ьего|ьей|ьему|ью))(?:\s+(?:partner|партн[её]р\w*|one|model|модел\w*))?"
)


def partner_place(word: str) -> int | None:
    """0 for 'the first partner', 1 for 'второго', …; None for any other word."""
    m = re.fullmatch(ORDINAL_PARTNER, word.strip())
    if not m:
        return None
    core = re.sub(r"^the\s+", "", word.strip())
    return 0 if core.startswith(("first", "перв")) else 1 if core.startswith(("second", "втор")) else 2


# "70% A, 30% B", "A 0.7, B 0.3", "A: 0.7 and B: 0.3", "0.7 ours / 0.3 theirs", "80% наш, 20% его",
# "70% of the result with 30% of the original model": a weight right next to the model it is for, no weight word
_PART_COUNTS = {"one": 1, "two": 2, "three": 3, "four": 4, "одна": 1, "одну": 1, "один": 1, "две": 2, "два": 2, "три": 3,
                "четыре": 4}  # fmt: skip  # "две части нашей, одна часть его"
WEIGHT_BY = re.compile(
    # ("75% of the weights from B", «75% весов от B», «25% от нашей»: a share taken from a member)
    r"(?<![\w.])(\d*\.?\d+)\s*(%|процент\w*|percent)\s*(?:of\s+(?:the\s+weights\s+(?:from\s+)?)?|(?:весов\s+|веса\s+)?от\s+|from\s+)?"
    r"(?:the\s+)?(?P<name>#{3,}|" + MEMBER_WORD + ")"
    r"|(?P<name2>#{3,}|(?<![\w-])(?:the\s+)?(?:base|база|базе|базу|базы))(?:'s(?:\s+(?:task[ -]?vectors?|deltas?))?)?\s*(?:[:=]\s*|\s[—–-]\s+|\(\s*|\s(?:at|@)\s+(?:(?:a\s+)?weight\s+(?:of\s+)?)?|\s(?:тоже|также|too|also)\s+|\s(?:weight|вес)\s+(?:of\s+)?|\swith\s+(?:a\s+)?(?:negative\s+)?weight\s+(?:of\s+)?|\sw\s*=\s*|\swith\s+the\s+(?:smaller|bigger|larger)\s+share\s*[:,—-]?\s*|\sс\s+(?:отрицательн\w+\s+)?весом\s+)?(-?\d*\.?\d+)\s*(%?)\)?(?![\w%]|\.\d)"
    r"|(?<![\w.])(?P<v3>\d*\.?\d+)\s+(?P<name3>"
    + OURS
    + "|"
    + THEIRS
    + "|"
    + BASE_WORDS
    + r"(?!\w)(?!\s*[:=—-]?\s*#{3}))"  # "0.7 нам", "0.2 base"
    # "веса 0.4 (партнёр) и 0.6 (наша)": each number's owner in brackets after it
    r"|(?<![\w.])(?P<v10>\d*\.?\d+)\s*(?P<p10>%?)\s*\(\s*(?:(?:for|для)\s+)?(?P<name10>#{3,}|" + MEMBER_WORD + r")\s*\)"
    r"|(?<![\w.])(?P<v4>\d*\.?\d+)\s*\*\s*(?P<name4>#{3,}|" + BASE_WORDS + ")"  # "0.6*A + 0.4*B"
    r"|(?P<name5>"
    + OURS
    + "|"
    + THEIRS
    + r")\s*(?:[:=]\s*|(?<=\s)[—–]\s*|(?<=\s)-\s+|(?:gets|takes|receives|keeps|получает|получит|берёт|берет|достаётся|достается|оставляет)\s+"
    r"|(?:'s\s+)?(?:(?:дай|дайте|даем|дадим|поставь|ставь|назначь)\s+)?(?:weight|вес|share|доля)\s*(?:(?:is|=|:|[—-])\s*)?"  # "his weight is 0.35", "его доля 0,3", "нашей дай вес 0.4"
    r"|(?:is|weighs|весит)\s+|weighted\s+(?:at\s+|by\s+)?|(?:gets\s+|takes\s+)?the\s+remain(?:ing|der)(?:\s+of)?\s+"
    # "give the partner the smaller share, 0.2", «партнёру большая доля, 0.6»: the share's size said, then its value
    r"|(?:(?:gets|takes|has|getting|получает|берёт|берет)\s+)?(?:the\s+|a\s+)?(?:bigger|larger|smaller|higher|lower|больш(?:ая|ую|ий)"
    r"|меньш(?:ая|ую|ий))\s+(?:share|part|weight|one|доля|долю|часть|вес)\s*[,:—-]?\s*"
    r"|(?:доля|share)\s+(?:больше|меньше|bigger|smaller|larger)\s*[,:—-]?\s*"  # «наша доля больше: 0.7»
    r"|getting\s+|(?:будет|should\s+be|will\s+be)\s+)?(?P<v5>\d*\.?\d+)\s*(?P<p5>%?)(?![\w%]|\.\d)"  # "наша 0.6", "ему 0.3", "ours gets 0.33", "theirs weight 0.5"
    r"|(?P<name6>#{3,}|"
    + BASE_WORDS
    + r")\s+(?:(?:should|will|would|must|can)\s+(?:get|take|receive)|gets|takes|receives"
    r"|получает|получит|берёт|берет|должна\s+получить|должен\s+получить|дай|дайте|даем|дадим|give)\s+(?:(?:weight|вес)\s+)?"
    r"(?P<v6>\d*\.?\d+)\s*(?P<p6>%?)(?![\w%]|\.\d)"  # "B gets 0.6", "the base gets 40%"
    r"|(?<![\w.])(?P<v7>-?(?:0?\.\d+|1(?:\.0+)?))\s+(?:(?:from|от|of)\s+)?(?P<name7>#{3,})"  # "мерж: 0.5 A, 0.3 B, остальное наша"
    r"|(?<![\w.])(?P<v8>\d+(?:\.\d+)?|"
    + "|".join(_PART_COUNTS)
    + r")\s+(?:parts?|shares?|част(?:ь|и|ей)|дол(?:я|и|ей))\s+(?:of\s+)?(?:the\s+)?"
    r"(?P<name8>#{3,}|" + MEMBER_WORD + ")"  # "1 part base, 2 parts B", "2 части нашей, 1 часть B"
    # "доля партнёра 0.3", "вес базы 0.2", "доля {model} 0.8", "share of the partner 0.3": the share word, then its owner
    r"|(?<![\w-])(?:доля|вес|share\s+of|weight\s+of)\s+(?:the\s+)?(?P<name11>#{3,}|" + MEMBER_WORD + r")\s*[:=—-]?\s*"
    r"(?:is\s+|—\s+)?(?P<v11>\d*\.?\d+)\s*(?P<p11>%?)(?![\w%]|\.\d)"
    rf"|(?P<name9>{ORDINAL_PARTNER})\s*[:=—-]?\s*(?P<v9>\d*\.?\d+)\s*(?P<p9>%?)(?![\w%]|\.\d)"  # "первого партнёра 0.3"
    # "ours x1, B x1, C x2": each member's multiple, a ratio
    r"|(?P<name12>#{3,}|" + MEMBER_WORD + r")\s+[x×х]\s?(?P<v12>\d+(?:\.\d+)?)(?![\w%.])"
)


_TOKEN = re.compile(rf"\s*(?:[,;]\s*)?(?:(?:and|и|а)\s+)?(?:(?P<n>\d*\.?\d+\s*%?)|(?P<w>#{{3,}}|{MEMBER_WORD}))")


def _ends_on_name(text: str, start: int) -> bool:
    """Whether the run of names and numbers from `start` ends on a name ("B 0.7 нам 0.3 ему")."""
    last, pos = None, start
    while (t := _TOKEN.match(text, pos)) is not None and t.end() > pos:
        last, pos = ("n" if t["n"] else "w"), t.end()
    return last == "w"


def _weights_by(text: str) -> list[tuple[float, int, int, int, int, bool]]:
    """(value as said, name start, name end, match start, match end, said with %) for 'WEIGHT% MODEL' / 'MODEL
    WEIGHT' pairs; weights_for reads the values together ('base 1, B 2' is a ratio, 'A 70, B 30' percent)."""
    found = []
    pos = 0
    while (m := WEIGHT_BY.search(text, pos)) is not None:
        pos = m.end()
        after = WEIGHT_BY.match(text, m.start(5))
        if m.group("name2") and (
            (
                after
                and not after.group("name2")
                # "base 0.2 ours 0.5 partner 0.3" ends on a number: each name is before its number; "с B 0.7
                # нам 0.3 ему" ends on a name: each number is before its name
                and _ends_on_name(text, m.start())
            )
            or WEIGHT_FOR.match(text, m.start(5))
        ):
            pos = m.start(5)  # "with B: 80% ours", "B and C: 0.5 for the base": the number belongs to the word after it
            continue
        if m.group("name5"):
            found.append(
                (float(m.group("v5")), m.start("name5"), m.end("name5"), m.start(), m.end(), bool(m.group("p5")))
            )
        elif m.group("name7"):  # ("task_arithmetic: +0.8 B, -0.4 C": signed only in task arithmetic)
            if float(m.group("v7")) >= 0 or re.search(r"task[_ -]?arith", text):
                found.append((float(m.group("v7")), m.start("name7"), m.end("name7"), m.start(), m.end(), False))
        elif m.group("name8"):
            count = float(_PART_COUNTS.get(m.group("v8"), 0) or m.group("v8"))
            found.append((count, m.start("name8"), m.end("name8"), m.start(), m.end(), False))
        elif m.group("name9"):
            found.append(
                (float(m.group("v9")), m.start("name9"), m.end("name9"), m.start(), m.end(), bool(m.group("p9")))
            )
        elif m.group("name6"):
            found.append(
                (float(m.group("v6")), m.start("name6"), m.end("name6"), m.start(), m.end(), bool(m.group("p6")))
            )
        elif m.group("name"):
            found.append((float(m.group(1)), m.start("name"), m.end("name"), m.start(), m.end(), True))
        elif m.group("name11"):
            found.append(
                (float(m.group("v11")), m.start("name11"), m.end("name11"), m.start(), m.end(), bool(m.group("p11")))
            )
        elif m.group("name12"):
            found.append((float(m.group("v12")), m.start("name12"), m.end("name12"), m.start(), m.end(), False))
        elif m.group("name10"):
            found.append(
                (float(m.group("v10")), m.start("name10"), m.end("name10"), m.start(), m.end(), bool(m.group("p10")))
            )
        elif m.group("name4"):
            found.append((float(m.group("v4")), m.start("name4"), m.end("name4"), m.start(), m.end(), False))
        elif m.group("name3"):
            found.append((float(m.group("v3")), m.start("name3"), m.end("name3"), m.start(), m.end(), False))
        elif float(m.group(5)) >= 0 or re.search(r"task[_ -]?arith", text):  # "B +1.0 and C -0.5" in task arithmetic;
            found.append((float(m.group(5)), m.start("name2"), m.end("name2"), m.start(), m.end(), bool(m.group(6))))
    return found  # a negative weight elsewhere is not read, so it is asked about


_REST_NAME = rf"(?:#{{3,}}|{MEMBER_WORD})"
# "the rest to B", "ours gets the rest", "остальное нашей", "партнёр — остальное": the member that takes what is left
REST_TO = re.compile(
    rf"(?:the\s+)?(?:rest|remainder)(?:\s+of\s+(?:it|the\s+weight))?\s+(?:(?:goes\s+)?(?:to|for|from)\s+|(?:is|stays|remains)"
    rf"\s+(?:with\s+|for\s+)?)?(?:the\s+)?(?P<a>{_REST_NAME})"  # "the rest is ours", "the rest stays the base"
    rf"|(?P<b>{_REST_NAME})\s*(?:[:—-]\s*|\s(?:gets?|takes?|taking|getting|keeps?|keeping|has|have|having|contributes?)\s+|\s)"
    r"(?:the\s+)?(?:rest|remainder|remaining(?:\s+(?:half|part|share|weight|\d*\.?\d+\s*%?))?)\b"
    r"(?!\s+(?:goes\s+)?(?:to|for)\s)"  # not "70% ours rest to partner": that rest is the partner's
    rf"|\b(?:keep|leave|give)\s+the\s+(?:rest|remainder)\s+(?:to\s+|for\s+)?(?P<e>{_REST_NAME})"
    rf"|(?<![а-я])(?:остальное|остаток)\s+(?:[—-]\s*|(?:ид[её]т|уходит|оста[её]тся|отда[йё]\w*)\s+(?:у\s+)?)?(?P<c>{_REST_NAME})"
    rf"|(?P<d>{_REST_NAME})\s*(?:[:—-]\s*)?(?:(?:получает|получит|берет|берёт|забирает)\s+)?(?:вс[её]\s+)?(?:остальное|остаток)(?![а-я])"
    # "ours takes whatever is left", "C — что останется": the rest said as what is left
    rf"|(?P<f>{_REST_NAME})\s+(?:(?:takes|gets|keeps)\s+)?(?:whatever|what)\s+(?:is\s+|'s\s+)?(?:left|remains)"
    rf"|(?P<g>{_REST_NAME})\s*(?:[:—-]\s*)?(?:(?:получает|берет|берёт)\s+)?(?:что|сколько|всё,?\s+что)\s+останется"
    # "merge into ours 15 percent of B and 5 percent of C", «подмешай в нашу 15% B и 10% C»: ours keeps what is left
    r"|\binto\s+(?P<h>ours|our\s+model|mine|my\s+model)(?=\s+\d)"
    r"|(?<![а-я])(?:подмешай|примешай|добавь|влей)\s+(?:в|к)\s+(?P<i>нашу|нашей|мою|моей)(?:\s+модел\w*)?(?=\s+\d)"
)


_SHARE = r"\d*\.?\d+\s*%?"
# "each gets 0.25", "40% each", "каждому по 0,2", "по 20% партнёрам": one share for every member but one
EACH_SHARE = re.compile(
    rf"\beach\s+(?:one\s+)?(?:gets?|getting|at|with|of)?\s*(?P<a>{_SHARE})(?!\s*(?:epochs?|steps?))"
    rf"|(?<![\w.])(?P<b>{_SHARE})\s+(?:each|apiece)\b"
    rf"|(?<![а-я])(?:каждому|каждой|каждого|обоим|обеим)\s+(?:партн\w+\s+)?по\s+(?P<c>{_SHARE})"
    rf"|(?<![а-я])по\s+(?P<d>{_SHARE})\s+(?:каждому|каждой|каждого|обоим|обеим|партн[её]рам)(?![а-я])"
    rf"|\b(?:the\s+)?(?:partners|others|other\s+two|two\s+others)\s+(?:get\s+|at\s+)?(?P<e>{_SHARE})\s*(?:each|apiece)?"
    rf"|(?<![а-я])(?:партн[её]р(?:ы|ам)|остальн(?:ые|ым)|други[ем]|обе\s+другие)\s+(?:модел(?:и|ям)\s+)?по\s+(?P<f>{_SHARE})"
    rf"|\b(?:each|every)\s+(?:partner|other(?:\s+(?:one|model))?)\s+(?:gets?\s+|at\s+|with\s+)?(?P<g>{_SHARE})"  # "each partner gets 25%"
    # «B и C по 30 процентов», "B and C at 0.25 each": the two named, one share for both
    rf"|#{{3,}}\s+(?:и|and)\s+#{{3,}}\s+(?:по|at|get|gets)\s+(?P<h>{_SHARE})(?=\s*(?:%|процент\w*|each|apiece|,|;|$|\s))"
)


def each_with_rest(text: str) -> tuple[float, re.Match[str], re.Match[str]] | None:
    """'each gets 0.25, ours the rest', 'каждому по 0,2, остальное нашей': (the share each member gets, the
    share's words, the words naming the one member that takes what is left). `text` has paths masked."""
    each = next((m for m in EACH_SHARE.finditer(text) if not _setting_before(text, m.start())), None)
    rest = REST_TO.search(text)
    if not each or not rest or (each.start() < rest.end() and rest.start() < each.end()):
        return None
    value = _each_value(each)
    return (value, each, rest) if 0 < value < 1 else None


def _each_value(each: re.Match[str]) -> float:
    said = next(g for g in each.groups() if g).replace(" ", "")
    return float(said.rstrip("%")) / (100 if said.endswith("%") or float(said.rstrip("%")) > 1 else 1)


def each_with_one(text: str) -> tuple[float, float, int, int, int, int] | None:
    """'0.4 for ours and 0.3 each for the partners', 'наша вес 1, партнёры по 0,5': (the share each other member
    gets, the one named member's own share, its name's start and end, start, end). `text` has paths masked."""
    each = next((m for m in EACH_SHARE.finditer(text) if not _setting_before(text, m.start())), None)
    if not each or REST_TO.search(text):
        return None
    named = [
        (v / 100 if pct else v, ns, ne, ms, me)
        for v, ns, ne, ms, me, pct in _weights_by(text)
        if me <= each.start() or ms >= each.end()
    ] + [
        (float(m.group(1)) / (100 if m.group(2) else 1), m.start("name"), m.end("name"), m.start(), m.end())
        for m in WEIGHT_FOR.finditer(text)
        if m.end() <= each.start() or m.start() >= each.end()
    ]
    named = list({n[1]: n for n in named}.values())  # one value read by both patterns is one
    if len(named) != 1:
        return None
    own, name_start, name_end, start, end = named[0]
    value = _each_value(each)
    if not 0 < value <= 1 or own <= 0:
        return None
    return value, own, name_start, name_end, min(start, each.start()), max(end, each.end())


# "weights 0.2, 0.3 and the rest", "веса 0.2, 0.3 и остальное": the members in the order named, the last takes what is left
LIST_THEN_REST = re.compile(
    r"(?:weights?|веса|весами|shares?|доли)\s*[:=]?\s*(?P<list>\d*\.?\d+\s*%?(?:\s*(?:,|and|и)\s*\d*\.?\d+\s*%?)*)"
    r"\s*,?\s*(?:and|и|,)\s*(?:the\s+)?(?:rest|remainder|остальное|остаток)(?![\w])"
)


def list_then_rest(masked: str) -> tuple[list[float], int, int] | None:
    """The weights of a list that ends in 'the rest' (1 minus the others), or None where they leave nothing."""
    m = LIST_THEN_REST.search(masked)
    if not m:
        return None
    said = re.findall(r"(\d*\.?\d+)\s*(%?)", m["list"])
    percent = any(p for _, p in said) or any(float(v) > 1 for v, _ in said)
    values = [float(v) / 100 if percent else float(v) for v, _ in said]
    left = round(1 - sum(values), 6)
    return ([*values, left], m.start(), m.end()) if 0 < left < 1 else None


# "ours gets 50%, the rest split evenly", "40% ours, the other two split the rest", «наша 0.5, остальное поровну»
EVEN_REST = re.compile(
    r"(?:the\s+)?(?:rest|remainder)\s+(?:is\s+|gets\s+)?(?:split|shared|divided)\s+(?:evenly|equally)"
    r"|(?:the\s+)?other\s+(?:two|three|ones|partners)\s+(?:split|share)\s+the\s+(?:rest|remainder)(?:\s+(?:evenly|equally))?"
    r"|(?:the\s+)?(?:rest|remainder)\s+(?:evenly|equally)"
    # "what's left goes to the other two equally", "the rest to the others, equally", "split the rest evenly"
    r"|(?:(?:the\s+)?(?:rest|remainder)|what(?:'s|\s+is)\s+left)\s+(?:goes\s+|go\s+)?(?:to\s+)?(?:the\s+)?"
    r"(?:other\s+(?:two|three|ones|models|partners)|others|two\s+others)\s*,?\s+(?:split\s+)?(?:evenly|equally|in\s+equal\s+parts)"
    r"|\bsplit\s+(?:the\s+rest|the\s+remainder|what(?:'s|\s+is)\s+left)\s+(?:evenly|equally)"
    # "half ours, and split the other half evenly between the two partners", «другую половину поровну между ними»
    r"|\b(?:split|share|divide)\s+the\s+other\s+half\s+(?:evenly|equally)"
    r"(?:\s+(?:between|among)\s+(?:the\s+)?(?:other\s+)?(?:two|three|ones|models|partners|others|them)(?:\s+(?:partners|models|ones))?)?"
    r"|(?<![а-я])(?:другую|вторую|оставшуюся)\s+половину\s+поровну(?:\s+между\s+(?:ними|партн[её]рами|остальными|двумя\s+другими))?"
    r"|(?<![а-я])(?:остальное|остаток)\s+(?:[—-]\s+)?(?:поровну|пополам|делят\s+поровну|(?:делится|делим)\s+поровну)"
    r"|(?<![а-я])(?:остальн\w+|оставш\w+)\s+(?:двум|двоим|трём|трем|моделям)?\s*(?:[—-]\s+)?поровну"
    # "average the three: A, B, C, but give C half", «усредни все три, но C дай половину»: one share, the rest even
    r"|\b(?:average|equal(?:ly)?|evenly)\b(?=[^.;]*?\bbut\s+(?:give|with|make)\b)"
    r"|(?<![а-я])(?:усредни\w*|поровну)(?=[^.;]*?,?\s+но\s)"
)


def _owned_shares_outside(text: str, start: int, end: int) -> list[tuple[float, int, int, int, int, bool]]:
    """The (value, name start, name end, start, end, said with %) shares said with their owners, outside the words
    at start:end that give the rest ("the rest to C", "the rest split evenly")."""
    pairs = [p for p in _weights_by(text) if p[4] <= start or p[3] >= end]
    shares_of = list(WEIGHT_OF.finditer(text))  # ("into ours 15 percent of B and 5 percent of C": a list of them)
    pairs += [
        (float(m.group(1)), m.start("name"), m.end("name"), m.start(), m.end(), bool(m.group(2)))
        for m in [*WEIGHT_FOR.finditer(text), *(shares_of if len(shares_of) >= 2 else [])]
        if not any(ms <= m.start(1) < me for _, _, _, ms, me, _ in pairs) and (m.end() <= start or m.start() >= end)
    ]
    return pairs


def even_rest(text: str) -> tuple[float, int, int, int, int] | None:
    """(own share, name start, name end, start, end) for one member's share and 'the rest split evenly' among the
    others; `text` has paths masked."""
    split = EVEN_REST.search(text)
    if not split:
        return None
    pairs = _owned_shares_outside(text, split.start(), split.end())
    if len(pairs) != 1:
        return None
    value, name_start, name_end, start, end, pct = pairs[0]
    own = value / 100 if pct or value > 1 else value
    return own, name_start, name_end, min(start, split.start()), max(end, split.end())


def _rest_weights(text: str) -> tuple[list[tuple[float, int, int]], int, int] | None:
    """'0.5 for the base, 0.3 for B, the rest to C', 'наша 0.6, партнёр остальное': the weights said with their
    models and the one model that takes the rest (1 minus their sum), in the order named."""
    rest = REST_TO.search(text)
    if not rest:
        return None
    group = next(g for g in "abcdefghi" if rest.group(g))
    pairs = _owned_shares_outside(text, rest.start(), rest.end())
    if not pairs:
        return None
    percent = any(p[5] for p in pairs) or any(p[0] > 1 for p in pairs)
    said = [(exact_share(p[0] / 100 if percent else p[0]), p[1], p[2]) for p in pairs]  # ("треть" written 0.333)
    left = round(1 - sum(v for v, _, _ in said), 6)
    if not 0 < left < 1:
        return None
    said.append((left, rest.start(group), rest.end(group)))
    said.sort(key=lambda x: x[1])
    return said, min(rest.start(), *(p[3] for p in pairs)), max(rest.end(), *(p[4] for p in pairs))


# "30% sft", "30 sft": a merge share said with the stage whose result takes it ("merge the sft and dpo results")
RESULT_SHARE = re.compile(
    r"(?<![\w.])(?<!stage )(?<!step )(?<!phase )(?<!этап )(?<!шаг )(?P<v>\d+(?:\.\d+)?)\s*%?\s+(?P<s>sft|dpo|orpo|simpo|kto|сфт|дпо)(?![\w-])"
)
_NAME_LIST = rf"{_REST_NAME}(?:\s*(?:,|and|и|&)\s*(?:and\s+|и\s+)?{_REST_NAME})+"
RATIO_THEN_NAMES = re.compile(
    r"(?<![\w.])(?P<ratio>\d*\.?\d+\s*%?(?:\s*(?:[:/]|на|to)\s*\d*\.?\d+\s*%?)+)(?![\w.])\s*"
    r"(?:(?:ratio|split|соотношени\w*|пропорци\w*)\s*)?"  # "1:3 ratio (ours:partner)"
    rf"(?:(?:for|to|для|на|у|[:—-])?\s*(?:the\s+)?(?P<names>{_NAME_LIST})"
    # "60:40 (partner:ours)", "1:3 (партнёр:наша)": a legend in brackets names each share's owner in order
    rf"|\(\s*(?P<legend>(?:the\s+)?{_REST_NAME}(?:\s*(?:[:/]|\sto\s|\sна\s|\sк\s)\s*(?:the\s+)?{_REST_NAME})+)\s*\))"
)


def weights_for(text: str) -> tuple[list[tuple[float, int, int]], int, int] | None:
    """(weight, name start, name end) for each model named with its weight, or None; `text` has paths masked."""
    if rest := _rest_weights(text):
        from agent.goal_shares import owned_list

        owned = owned_list(text)  # «нам 50%, B — треть, остальное C»: three shares, not one and the rest
        return owned if owned and len(owned[0]) > len(rest[0]) else rest
    by = _weights_by(text)
    if any(partner_place(text[b[1] : b[2]]) is not None for b in by) and all(
        partner_place(text[b[1] : b[2]]) is not None for b in by
    ):
        by = []  # "первая 0.3, вторая 0.2" alone: the members in order (ordinal_weights), not partners
    if (
        len(by) >= 2
        and all(  # "my model 2 parts, B 1 part": a share's unit word may follow it
            re.fullmatch(
                r"\s*(?:parts?|shares?|част(?:ь|и|ей)|дол(?:я|и|ей))?\s*(?:,|and|и|;|&|/|\+|with|с|со|to|vs\.?|versus|к|против|на)?\s*"
                r"(?:and\s+|и\s+|а\s+|but\s+|while\s+)?"
                # "mix in 10% of B, keep 90% ours", "add B's at 0.5 and subtract C's at 0.3"
                r"(?:(?:keep|keeping|leave|leaving|add|subtract|оставь|оставляя|прибавь|вычти)\s+)?"
                r"(?:(?:партн[её]р\w*|(?:the\s+)?partner|(?:the\s+)?other(?:\s+model)?|друг\w+(?:\s+модел\w*)?)\s+)?",
                text[a[4] : b[3]],
            )
            for a, b in pairwise(by)
        )
    ):
        raw = [b[0] for b in by]
        percent = any(b[5] for b in by) or (any(v > 1 for v in raw) and abs(sum(raw) - 100) < 1e-6)
        values = [v / 100 for v in raw] if percent else raw  # "A 70, B 30" percent; "base 1, B 2" as said
        for i in range(1, len(by)):  # "B 1.0 and subtract C 0.3", «B 0.5, вычти C 0.2»: a task vector taken away
            if values[i] > 0 and SUBTRACT.search(text[by[i - 1][4] : by[i][3]]):
                values[i] = -values[i]
        unit = re.match(r"\s*(?:parts?|shares?|част(?:ь|и|ей)|дол(?:я|и|ей))(?![\w-])", text[by[-1][4] :])
        return (
            [(v, b[1], b[2]) for v, b in zip(values, by, strict=True)],
            by[0][3],
            by[-1][4] + (unit.end() if unit else 0),
        )
    if listed := RATIO_THEN_NAMES.search(text):  # "1:2:3 base, A and B": the shares, then their owners in order
        group = "names" if listed["names"] else "legend"
        names = list(re.finditer(_REST_NAME, listed[group]))
        numbers = re.findall(r"\d*\.?\d+", listed["ratio"])
        if len(names) == len(numbers):
            values = weight_values([(n, "%" if "%" in listed["ratio"] else "") for n in numbers])
            at = listed.start(group)
            return (
                [(v, at + n.start(), at + n.end()) for v, n in zip(values, names, strict=True)],
                listed.start(),
                listed.end(),
            )
    hits = list(WEIGHT_FOR.finditer(text))
    if len(hits) < 2:
        hits = list(WEIGHT_OF.finditer(text))
    if len(hits) < 2 or not all(
        re.fullmatch(r"\s*(?:,|and|и|;|&)\s*(?:and\s+|и\s+)?", text[a.end() : b.start()]) for a, b in pairwise(hits)
    ):
        from agent.goal_shares import owned_list

        return owned_list(text)  # "ours half, B a third, C the rest": three members, each with its share
    values = weight_values([(m.group(1), m.group(2)) for m in hits])  # "1 for ours and 2 for B" is a ratio
    return (
        [(v, m.start("name"), m.end("name")) for v, m in zip(values, hits, strict=True)],
        hits[0].start(),
        hits[-1].end(),
    )


INTO_BASE_AT = re.compile(
    rf"(?P<name>#{{3,}}|{THEIRS})\s+(?:into|в)\s+(?:the\s+|our\s+|my\s+)?(?:base|original|базу|базовую|исходную|ours|mine"
    r"|model|one|нашу|мою)\w*(?:\s+(?:model|модель))?"
    # (a bare percent after the model merged into is the same share: "merge B into ours 25 percent")
    r",?\s+(?:(?:at|@|with\s+(?:a\s+)?weight(?:\s+of)?|weighted|с\s+весом|на)\s+|(?=\d*\.?\d+\s*%))(?P<v>\d*\.?\d+)\s*%?"
)


# "partner2 gets 2/3", "1/3 to B": one member's share as a fraction (not a 2:3 ratio of two members)
FRACTION_OWNED = re.compile(
    rf"(?P<name>#{{3,}}|{MEMBER_WORD})\s+(?:gets|takes|receives|получает|получит|берет|берёт)\s+"
    r"(?P<a>\d)\s*/\s*(?P<b>\d{1,2})(?![\d/:.])"
    r"|(?<![\w./:])(?P<a2>\d)\s*/\s*(?P<b2>\d{1,2})\s+(?:to|for|для)\s+(?:the\s+)?"
    rf"(?P<name2>#{{3,}}|{MEMBER_WORD})"
)


def fraction_owned(text: str) -> tuple[float, int, int, int, int] | None:
    """(share, name start, name end, start, end) for 'B gets 2/3' with the fraction below 1; `text` has paths masked."""
    m = FRACTION_OWNED.search(text)
    if not m:
        return None
    a, b, name = (int(m["a"]), int(m["b"]), "name") if m["a"] else (int(m["a2"]), int(m["b2"]), "name2")
    if not 0 < a < b:
        return None
    return round(a / b, 6), m.start(name), m.end(name), m.start(), m.end()


_FROM_OURS = r"(?:из\s+(?:нашей|моей|базов\w*|исходн\w*)(?:\s+модел\w*)?\s+|from\s+(?:ours|our\s+model|the\s+base)\s+)"
# "subtract B from ours at weight 0.4", «вычесть B из нашей с весом 0.3», «вычти B из нашей …, вес -1»
SUBTRACTED_FROM = re.compile(
    # «наша минус B с весом 0.3», "ours minus B at 0.3"
    r"(?:\bours|\bour\s+model|\bbase|#{3,}|(?<![а-я])(?:наша|нашей|наш|база|базы))\s+(?:minus|минус|-)\s+(?P<name2>#{3,})"
    r"(?:#+|[^.;\d#]){0,30}?(?:weight|вес\w*|at)\s*(?:of\s+|[:=]\s*)?(?P<v2>-?\d*\.?\d+)|"
    r"(?:\bsubtract(?:ing)?|(?<![а-я])(?:вычти|вычесть|вычитаем|отними|отнять))\s+(?:the\s+)?(?P<name>#{3,})"
    r"(?:'s\s+task\s+vectors?)?\s+(?:from|из|от)\s+(?:the\s+|our\s+)?(?:ours|base|model|нашей|нашу|базы|базовой|исходной)"
    r"(?:\s+(?:model|модели))?(?:#+|[^.;\d#]){0,40}?(?:weight|вес\w*|at)\s*(?:of\s+|[:=]\s*)?(?P<v>-?\d*\.?\d+)|"
    # "subtract half of B's task vector", «вычти из нашей модели половину вектора задачи B»: the share said first
    r"(?:\bsubtract(?:ing)?|(?<![а-я])(?:вычти|вычесть|отними|отнять))\s+" + _FROM_OURS + r"?"
    r"(?P<v3>half|a\s+third|a\s+quarter|\d*\.?\d+\s*%?|половин\w*|треть|четверть)\s+(?:of\s+)?(?:the\s+)?"
    r"(?:(?P<name3>#{3,})(?:'s)?\s+task[ _-]?vectors?|(?:вектор\w*\s+задач\w*|task[ _-]?vectors?)\s+(?P<name4>#{3,}))|"
    # «вычти из нашей модели вектор задачи B с весом 0.5»: the task vector named, its weight after
    r"(?<![а-я])(?:вычти|вычесть|отними|отнять)\s+"
    + _FROM_OURS
    + r"?(?:вектор\w*\s+задач\w*|task[ _-]?vectors?)\s+(?P<name5>#{3,})"
    r"(?:#+|[^.;\d#]){0,40}?(?:вес\w*|коэффициент\w*)\s*[:=]?\s*(?P<v5>-?\d*\.?\d+)"  # (a path counts as one)
)
_SUBTRACTED_SHARE = {"half": 0.5, "a third": 1 / 3, "a quarter": 0.25, "треть": 1 / 3, "четверть": 0.25}


def subtracted_weight(taken: re.Match[str]) -> tuple[float, str]:
    """The negated weight of a task vector said as taken away, and the group naming whose it is."""
    for name, value in (("name", "v"), ("name2", "v2"), ("name3", "v3"), ("name4", "v3"), ("name5", "v5")):
        if taken[name]:
            said = re.sub(r"\s+", " ", taken[value])
            if said in _SUBTRACTED_SHARE or said.startswith("половин"):
                share = _SUBTRACTED_SHARE.get(said, 0.5)
            else:
                share = float(said.rstrip("% ")) / (100 if said.endswith("%") else 1)
            return -abs(round(share, 6)), name
    raise ValueError("no task vector named")


def one_named_weight(text: str, original: str = "") -> tuple[float, int, int, int, int] | None:
    """'0.8 to partner', '25% partner', 'partner 0.8': one model named with its weight in a merge (the other member
    of a two-model merge takes the rest) as (weight, name start, name end, start, end). `text` has paths masked;
    `original`, where given, shows what a masked name was (a dataset file is no member)."""
    if weights_for(text) or not merge_said(text) or re.search(r"near[_ -]?swap", text):
        return None
    if fraction := fraction_owned(text):  # "partner2 gets 2/3"
        return fraction
    if taken := SUBTRACTED_FROM.search(text):  # "subtract B from ours at weight 0.4": B's task vector, negated
        value, name = subtracted_weight(taken)
        return value, taken.start(name), taken.end(name), taken.start(), taken.end()
    found: dict[int, tuple[re.Match[str], str, str]] = {}  # by where the value is: "B: 0.8 to partner" is one
    for m in WEIGHT_FOR.finditer(text):
        if re.match(r"\S+\s*%?\s+(?:to|к)\s", m.group(0)) and re.search(
            r"\badd\w*|(?<![а-я])(?:прибав|добав)\w*",
            re.split(r"[.;!?]\s|,\s*(?:then|потом|затем)\b", text[: m.start()])[-1],
        ):
            continue  # "add B's delta scaled by 0.8 to ours": where it is added, not whose the 0.8 is
        found.setdefault(m.start(1), (m, "name", m.group(1)))
    for m in WEIGHT_BY.finditer(text):
        for group, value in (
            ("name", 1),
            ("name2", m.re.groupindex["name2"] + 1),
            ("name3", "v3"),
            ("name4", "v4"),
            ("name5", "v5"),
            ("name6", "v6"),
            ("name7", "v7"),
            ("name11", "v11"),
        ):
            if group == "name2" and re.search(r"(?:\binto|(?<![а-я])в)\s+$", text[max(0, m.start() - 8) : m.start()]):
                continue  # "merge B into base at 0.25": how much of B goes in, not the base's own weight
            owner = WEIGHT_BY.match(text, m.start(value)) if group == "name2" and m.group(group) else None
            label = next((g for g in ("name3", "name") if owner and owner.group(g) and "#" not in owner.group(g)), None)
            if label:  # "мерж с B 70 нам", "merge B 0.7 ours": the word after the number says whose share it is
                found.setdefault(m.start(value), (owner, label, m.group(value)))
                continue
            if m.group(group) and m.group(value):
                found.setdefault(m.start(value), (m, group, m.group(value)))
    for m in INTO_BASE_AT.finditer(text):  # "merge B into the base at 0.25": B's share
        found[m.start("v")] = (m, "name", m.group("v"))
    if len(found) != 1:
        return None
    at, (m, group, said) = next(iter(found.items()))
    if original and re.search(r"\.(?:jsonl?|csv|parquet|txt|arrow)$", original[m.start(group) : m.end(group)]):
        return None  # "r 16 на chat.jsonl": the data a value was said with, not a merge member
    signed = said.startswith("-")  # "B at weight -0.2": the sign read with the value
    said = said.lstrip("-")
    percent = "%" in m.group(0)
    if not percent and float(said) > 1 and not (float(said).is_integer() and float(said) >= 10):
        return None  # "the partner's share is 1.5": no share of one (as percent it was 0.015); asked, not guessed
    value = float(said) / 100 if percent or float(said) > 1 else float(said)
    if not 0 < value < 1:
        return None
    # "вес партнёра -0.3": a negative weight ("доля - 0.3", spaced, is a dash between the words and the value)
    if signed or re.search(r"(?<![\w.])-$", text[max(0, at - 2) : at]):
        if re.search(r"task[_ -]?arith", text) or not (MERGE_METHOD_RE.search(text) or LINEAR_BLEND.search(text)):
            value = -value  # task arithmetic, said or (with no method named) chosen for it, subtracts
        else:
            return None  # only task arithmetic subtracts; elsewhere it is asked, never planned as +0.3
    return value, m.start(group), m.end(group), m.start(), m.end()


_ORDINAL_MEMBER = (
    r"(?P<o>first|second|third|fourth|перв\w*|втор\w*|трет\w*|четв[её]рт\w*)(?:\s+(?:one|model|модел\w*))?"
)
_ORDINAL_VALUE = r"(?P<v>\d*\.?\d+)\s*(?P<p>%|percent|процент\w*)?"
# "80% for the first and 20% for the second", "80 процентов первой и 20 второй", "первой 0.8, второй 0.2"
ORDINAL_WEIGHT = re.compile(
    rf"(?<![\w.]){_ORDINAL_VALUE}\s+(?:(?:for|to|on|на|для|у|от)\s+)?(?:the\s+)?{_ORDINAL_MEMBER}"
    rf"|(?<![\w-])(?:the\s+)?{_ORDINAL_MEMBER.replace('<o>', '<o2>')}\s*(?:[:=—-]\s*|\s(?:gets|takes|получает)\s+)?"
    rf"{_ORDINAL_VALUE.replace('<v>', '<v2>').replace('<p>', '<p2>')}(?![\w.])"
)


def ordinal_weights(text: str) -> tuple[list[float], int, int] | None:
    """Weights said for 'the first' and 'the second' member, in the members' order: (weights, start, end)."""
    from agent.goal_numbers import ordinal_value

    hits = [
        m
        for m in ORDINAL_WEIGHT.finditer(text)
        if not re.search(
            r"(?:densit\w*|плотност\w*|epsilon|lambda|эпсилон)\s*[:=]?\s*$", text[max(0, m.start() - 16) : m.start()]
        )
    ]  # "density 0.4 for the first and 0.8 for the second": each member's density, not its weight
    if len(hits) < 2 or not all(
        re.fullmatch(r"\s*(?:,|and|и|;|&|/)?\s*(?:and\s+|и\s+|а\s+)?", text[a.end() : b.start()])
        for a, b in pairwise(hits)
    ):
        return None
    said: dict[int, tuple[str, str]] = {}
    for m in hits:
        word = (m.group("o") or m.group("o2")).lower()
        order = ordinal_value(word) or next(
            (n for stem, n in (("перв", 1), ("втор", 2), ("трет", 3), ("четв", 4)) if word.startswith(stem)), None
        )
        if order is None or order in said:
            return None
        value, percent = (m.group("v"), m.group("p")) if m.group("v") else (m.group("v2"), m.group("p2"))
        said[order] = (value, "%" if percent else "")
    if sorted(said) != list(range(1, len(said) + 1)):
        return None
    return weight_values([said[k] for k in sorted(said)]), hits[0].start(), hits[-1].end()


def per_model_weights(text: str) -> tuple[list[float], int, int] | None:
    """'A (weight 0.7) and B (weight 0.3)', 'A с весом 0.6, B с весом 0.4': one weight word per model → the list."""
    ours = re.search(
        r"weights?\s*(\d*\.?\d+)\s+for\s+(?:ours|our (?:model|one)|the (?:fine-?tuned|trained|sft|merged) (?:one|model)|it)\s*"
        r"(?:,|and)\s*(\d*\.?\d+)\s+for\s+(?:the\s+)?(?:partner|other(?: one| model)?|theirs|them)",
        text,
    )
    if ours:  # "weight 1.0 for ours and 0.5 for the partner": the trained model first, as the merge lists it
        return [float(ours.group(1)), float(ours.group(2))], ours.start(), ours.end()
    hits = list(PER_MODEL_WEIGHT.finditer(text))
    if len(hits) < 2:
        return None
    values = [float(m.group(1)) for m in hits]
    if any(m.group(2) for m in hits) or (any(v > 1 for v in values) and not any("." in m.group(1) for m in hits)):
        values = [v / 100 for v in values]  # "A weight 70, B weight 30" is percent; mergekit's "weight: 3.0" as said
    for i, m in enumerate(hits):  # "прибавь A с весом 0.7 и вычти B с весом 0.3": a task vector taken away
        segment = text[hits[i - 1].end() if i else max(0, m.start() - 60) : m.start()]
        if values[i] > 0 and (SUBTRACT.search(segment) or re.search(r"\bminus\b", segment)):
            values[i] = -values[i]
    return values, hits[0].start(), hits[-1].end()  # "weight -0.5 (subtract it)": task arithmetic's negation kept


DELTAS_KEPT = re.compile(
    r"(?:(?P<keep>\bkeep(?:ing)?|\bretain\w*|(?<![а-я])остав\w*|(?<![а-я])сохрани\w*)"
    r"|\bdrop(?:ping)?|\bprun\w*|\bdiscard\w*|\bremov\w*|отбрас\w*|выкин\w*|отбрось|выбрось)"
    r"\s+(?:only\s+|только\s+|лишь\s+)?(?:the\s+)?(?:top\s+|largest\s+|biggest\s+)?"
    r"(?P<share>\d+(?:[.,]\d+)?)\s*(?P<pct>%|percent)?\s+(?:of\s+)?(?:the\s+|its\s+|their\s+)?(?:largest\s+|biggest\s+)?"
    r"(?:самых\s+)?(?:больших\s+|крупных\s+)?"
    r"(?:deltas?|task[ -]vectors?|(?:delta\s+)?(?:parameters|params|weights)(?=\s|$|[,.;])|diffs?|differences|дельт\w*|разниц\w*|параметр\w*)"
    r"|(?:\bdrop[_ ]rate|доля\s+отбрасывани\w*|вероятност\w*\s+отбрасывани\w*)\s*(?:=|:|of)?\s*(?P<share_rate>0?\.\d+)"
)


REMARK = re.compile(r"\b(?:would|otherwise|means|i\.e\.|e\.g\.)|(?<![а-я])(?:было\s+бы|будет|значит|т\.е\.|иначе)")


def _in_remark(text: str, at: int) -> bool:
    """Whether `at` is inside brackets that explain rather than set ("t=0.7 (t=1 would be all partner)")."""
    opened = text.rfind("(", 0, at)
    closed = text.find(")", at)
    return opened > text.rfind(")", 0, at) and closed >= 0 and bool(REMARK.search(text[opened:closed]))


FRACTION_VALUE = re.compile(r"(\d+)\s*/\s*(\d+)(?![\d.,/])")  # "t=1/3", "density 1/2"


def merge_number_facts(text: str) -> list[Fact]:
    """A merge's density and SLERP's t, as stated (not in a bracketed remark: "(t=1 would be all partner)")."""
    return [f for f in _merge_number_facts(text) if not _in_remark(text, f.start)]


def _merge_number_facts(text: str) -> list[Fact]:
    facts = []
    for m in re.finditer(r"(?<![\w-])(?:at|@)\s+(0?\.\d+|0|1(?:\.0+)?)(?![\w.%/])", text):
        if re.search(r"slerp|слерп|near[_ -]?swap", text[: m.start()]) and not re.search(
            r"[,;]", text[m.start() - 3 : m.start()]
        ):
            value = float(m.group(1))  # "SLERP it with B at 0.4": the interpolation factor
            facts.append(Fact("t", value, m.group(0), m.start(), m.end()))
    for m in re.finditer(r"(?<![\w-])(?:slerp|слерп\w*)\s+(0?\.\d+|0|1(?:\.0+)?)(?![\w.%/])", text):
        facts.append(Fact("t", float(m.group(1)), m.group(0), m.start(), m.end()))  # "using slerp 0.5"
    for m in re.finditer(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:%|percent)\s+of\s+the\s+way\b", text):
        if re.search(r"slerp|слерп", text) and 0 < float(m.group(1)) <= 100:  # "slerp towards B, 70 percent of the way"
            facts.append(Fact("t", float(m.group(1)) / 100, m.group(0), m.start(), m.end()))
    for m in re.finditer(r"(?<![\w.])(\d+)\s*/\s*(\d+)\s+of\s+the\s+way\b", text):  # "3/4 of the way towards B"
        if re.search(r"slerp|слерп", text) and 0 < int(m.group(1)) < int(m.group(2)):
            facts.append(Fact("t", round(int(m.group(1)) / int(m.group(2)), 6), m.group(0), m.start(), m.end()))
    for m in DELTAS_KEPT.finditer(text):  # "keep only the top 20% of deltas" → density 0.2; "drop 90%" → 0.1
        if m.group("share_rate"):  # DARE's drop rate p keeps 1 - p of each delta
            share, kept = float(m.group("share_rate")), False
        else:
            share = float(m.group("share").replace(",", ".")) / (100 if m.group("pct") else 1)
            kept = bool(m.group("keep"))
        if 0 < share <= 1:
            facts.append(Fact("density", round(share if kept else 1 - share, 6), m.group(0), m.start(), m.end()))
    for slot, keyword in MERGE_NUMBERS:
        for m in re.finditer(keyword, text):
            f = re.match(FILLER, text[m.end() :])
            at = m.end() + (f.end() if f else 0)
            fraction = FRACTION_VALUE.match(text, at)
            if fraction and 0 < int(fraction[1]) < int(fraction[2]):  # "t=1/3": a share as a fraction
                value = round(int(fraction[1]) / int(fraction[2]), 6)
                facts.append(Fact(slot, value, text[m.start() : fraction.end()], m.start(), fraction.end()))
                continue
            number = number_at(text, at)
            if number is not None:
                percent = re.match(r"\s*(?:%|percent|процент\w*)", text[number.end :])
                if slot == "density" and percent and 0 < number.value <= 100:  # "density 50%", "плотность 30%"
                    end = number.end + percent.end()
                    facts.append(Fact(slot, round(number.value / 100, 6), text[m.start() : end], m.start(), end))
                    continue
                facts.append(Fact(slot, number.value, text[m.start() : number.end], m.start(), number.end))
    return facts


# transformers' schedule names (tools/training.py SchedulerName), longest first
SCHEDULERS = [
    ("cosine_with_restarts", r"cosine[_ ]with[_ ](?:hard[_ ])?restarts|косинус\w*\s+с\s+(?:жестк\w+\s+)?(?:перезапуск|рестарт)\w*"), ("constant_with_warmup", r"constant[_ ]with[_ ]warmup"),
    ("inverse_sqrt", r"inverse[_ ]sqrt"), ("polynomial", r"polynomial|полиномиальн\w*"),
    ("cosine", r"cosine|косинус\w*"), ("constant", r"constant|постоянн\w*|константн\w*"), ("linear", r"linear|линейн\w*"),
]  # fmt: skip
_SCHED_NAMES = "|".join(p for _, p in SCHEDULERS)
SCHEDULER = re.compile(
    rf"(?:lr_scheduler(?:_type)?|scheduler|schedule|шедулер\w*|планировщик\w*|расписани\w*)[\"']?\s*[=:]?\s*[\"']?({_SCHED_NAMES})\b"
    rf"|\b({_SCHED_NAMES})\s+(?:lr\s+|learning[- ]rate\s+)?(?:schedule|scheduler|decay|annealing|расписани\w*|шедулер\w*)"
    r"|(?<![\w-])(constant|cosine|linear|константн\w*|косинусн\w*|постоянн\w*|линейн\w*)\s+(?:lr|learning[- ]rate|скорост\w*|лр)"
    r"(?![\w])"  # "a constant lr", "с постоянным лр"
    # "SFT на chat, косинус, разогрев 10%", "cosine w/ 10 warmup steps": the word alone names the schedule
    rf"|(?<![\w-])({SCHEDULERS[0][1]}|cosine|косинус\w*)(?![\w-])(?!\s+(?:similarity|sim\b|distance|сходств|расстоян))"
)


def scheduler_name(m: re.Match[str]) -> str:
    word = m.group(1) or m.group(2) or m.group(3) or m.group(4)
    return next(n for n, p in SCHEDULERS if re.fullmatch(p, word))


@dataclass
class Fact:
    """One thing the person stated: a slot and its value, the words, and any value it replaced."""

    slot: str
    value: Any
    phrase: str
    start: int
    end: int
    replaced: list[Any] = field(default_factory=list)
    scope: str | None = None  # the training stage it was stated for: "sft", "dpo", "orpo", "simpo", "kto"
    derived: str = ""  # how a value said by reference was found ("from 'the same lr as the SFT'")

    def describe(self) -> str:
        """The fact as the review shows it: "rank 16", "DPO", "full fine-tuning", "output Out/MyModel"."""
        value = self.value
        words = {
            "method": lambda: {
                "dpo": "DPO",
                "ipo": "IPO (DPO loss)",
                "orpo": "ORPO",
                "simpo": "SimPO",
                "kto": "KTO",
            }.get(value, str(value)),
            "stage": lambda: "an SFT stage",
            "adapter": lambda: {"none": "full fine-tuning (no adapter)", "dora": "DoRA"}.get(value, str(value)),
            "role": lambda: f"{value} modules",
            "module": lambda: f"module {value}",
            "dataset": lambda: f"dataset {value}",
            "not_dataset": lambda: f"not dataset {value}",
            "path": lambda: f"path {value}",
            "dtype": lambda: f"{value} output",
            "max_shard_size": lambda: f"shards of at most {value}",
            "effective_batch": lambda: f"effective batch {_show(value)} (batch × accumulation)",
            "merge_method": lambda: f"{value} merge",
            "sharding_stage": lambda: f"{'ZeRO-' if value[0] == 'deepspeed' else 'FSDP'}{value[1]}",
            "each_rest": lambda: (
                f"weight {_show(value[2])} for {value[1]}, the rest split evenly"
                if value[0] is None
                else f"weight {_show(value[0])} for each member, the rest for {value[1]}"
            ),
            "favoured_weights": lambda: (
                f"weight {_show(value[0])} for {_owner(value[2])}"  # a task vector taken away: no share of a whole
                if value[0] < 0
                else f"weight {_show(value[0])} for {_owner(value[2])}, {_show(value[1])} for the other member"
            ),
            "distributed": lambda: {"fsdp": "FSDP", "deepspeed": "DeepSpeed", "ddp": "DDP"}.get(value, value),
            "unsupported": lambda: f"{str(value).upper()} (not run by Graft)",
            "no_base_member": lambda: "the base is no merge member",
            "loss_type": lambda: f"{value} loss",
            "reference": lambda: f"'{self.phrase}'",
            "same_as": lambda: f"the same {value} as the stage before",
            **{slot: (lambda name=name: name if value else f"no {name}") for slot, name in SWITCH_NAMES.items()},
        }
        if self.slot in words:
            return words[self.slot]()
        if self.slot == "warmup_steps" and isinstance(value, float) and 0 < value < 1:
            # transformers reads warmup_steps below 1 as a share of all steps: what warmup_ratio said
            return f"warmup {_show(value)} of the total steps (warmup_steps below 1 is a ratio)"
        name = SLOT_NAMES.get(self.slot, self.slot.replace("_", " "))
        return f"{name} {_show(value)}"


@dataclass
class Miss:
    """A stated fact the plan does not keep, as the sentence to ask the person."""

    fact: Fact | None
    message: str
    unrunnable: bool = False  # a method or technique Graft does not run: asked first, before any value


def _owner(who: str) -> str:
    """'our favour' as a merge member is 'ours'."""
    return re.sub(r"^(our|their)\s+favou?r$", r"\1s", who)


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    return str(value)


def reading_text(goal: str) -> str:
    """The goal as the fact reader sees it: lower case, one spelling of quotes and dashes, same length."""
    from agent.goal_numbers import spelled_numbers

    table = str.maketrans({"ё": "е", "Ё": "Е", "“": '"', "”": '"', "«": '"', "»": '"', "—": "-", "–": "-", "’": "'"})
    text = spelled_numbers(goal.translate(table)).lower()  # before lower case: "КТО" is KTO, "кто" is who
    return PERCENT_WORD.sub(lambda m: "%".ljust(len(m.group(0))), text)  # "60 percent towards B" is "60%"


PERCENT_WORD = re.compile(r"(?<=\d)\s*(?:percent|per\s+cent|pct|процент(?:а|ов)?)(?![\w-])")


def member_legend(said: str) -> bool:
    """'base/partner', 'ours/theirs', 'sft/dpo': member or stage words joined by '/', a ratio's legend, not a path."""
    parts = said.strip(".,()").split("/")
    return len(parts) >= 2 and all(
        re.fullmatch(r"base|partner|ours|theirs|mine|sft|dpo|orpo|kto|simpo|база|наша|партн[её]р|его|наш", p)
        for p in parts
    )


def masked_path(said: str) -> str:
    """A path blanked with '#', but a sentence's full stop or comma after it kept ("… and B. 60 40.")."""
    kept = len(said) - len(said.rstrip(".,"))
    if not kept or kept == len(said):
        return "#" * len(said)
    return "#" * (len(said) - kept) + said[-kept:]


# a folder's own name said again without its path ("merge ours with ../ckpt/llama-ft, llama-ft gets 2/3"): only a
# name no word could be (a digit, "-", "_" or "."), so "partner" or "final" keep their meaning as words
BARE_NAME = re.compile(r"(?=[\w.-]*[^\W\d_])(?=[\w.-]*[\d_.-])[\w.-]{3,}")


SETTING_LIKE_NAME = re.compile(
    r"(?:fp|bf|float|bfloat|int|nf|q|fp8_)\d+\w*|[a-z]+_proj|\d+(?:\.\d+)?[kmgt]i?b?|[vr]\d+|e\d+|top[_-]?\d+"
)


def mask_bare_names(masked: str, text: str) -> str:
    """`masked` (paths blanked in `text`, same length) with each masked folder's bare name blanked too, so it is read
    as the member it names and its digits are no numbers."""
    names = set()
    for run in re.finditer(r"#{3,}", masked):
        said = text[run.start() : run.end()].rstrip("/")
        name = said.rsplit("/", 1)[-1]
        if (
            "/" in said
            and BARE_NAME.fullmatch(name)
            and not re.search(r"\.(?:jsonl?|ndjson|csv|parquet|arrow)$", name)
            and not SETTING_LIKE_NAME.fullmatch(name)  # "write fp16 … to out/fp16": the word is the dtype
        ):
            names.add(name)
    for name in names:
        masked = re.sub(rf"(?<![\w#/.~-]){re.escape(name)}(?![\w#/-]|\.\w)", lambda m: "#" * len(m.group(0)), masked)
    return masked


# "B (../ckpt/b)", "B = ../ckpt/b", "../ckpt/b (B)": a short name given to a folder, used for it later ("3:1 в пользу B")
LABEL = r"(?:[A-ZА-Я]\d?|[A-Za-z]\w*[\d_-][\w-]*)"
LABEL_GIVEN = re.compile(
    rf"(?<![\w/.~-])(?P<label>{LABEL})\s*(?:\(\s*(?P<path>\S+?)\s*\)|(?:=|:)\s*(?P<path2>\S+?)[,;.)]*(?=\s|$))"
    rf"|(?P<path3>\S+?)\s*\(\s*(?:aka\s+|as\s+|call\s+it\s+)?(?P<label2>{LABEL})\s*\)"
    rf"|(?<![\w/.~-])(?P<label3>{LABEL})\s+(?:is|=|это|-|—)\s+(?P<path4>\S+?)[,;.)]*(?=\s|$)"  # "(B is ../b)", "B это ../b"
    # "let's call ../b \"bob\"", «папку ../b назовём петя»: any word, named as such
    r"|(?:\b(?:call|name)|(?<![а-я])(?:назов[её]м|назови))\s+(?P<path5>\S+?)\s+(?:(?:модел(?:ью|ь|и)|model)\s+)?(?:[\"'«](?P<label7>[A-Za-zА-Яа-яЁё])[\"'»]|(?P<label8>[A-ZА-ЯЁ])(?=[\s,.;!]|$)|[\"'«]?(?P<label5>[A-Za-zА-Яа-яЁё][\w-]{1,15})[\"'»]?)(?=[\s,.;!]|$)"
    r"|(?P<path6>\S+?)\s+(?:назов[её]м|назови|зов[её]м|будет)\s+[\"'«]?(?P<label6>[A-Za-zА-Яа-яЁё][\w-]{1,15})[\"'»]?(?=[\s,.;!]|$)"
    # «назови ../a «А», а ../b «Б»», "call ../a 'A' and ../b 'B'": the second name given with the verb left out
    r"|(?:(?<=[,;]\s)|(?<=\sand\s)|(?<=\sи\s)|(?<=\sа\s))(?:(?:а|и|and)\s+)?(?P<path7>\S+/\S*?)\s+"
    r"(?:[\"'«](?P<label9>[A-Za-zА-Яа-яЁё])[\"'»]|(?P<label10>[A-ZА-ЯЁ]))(?=[\s,.;!]|$)"
)


FLIPPED = re.compile(
    r"\s*(?:--|—|–|-|,|;|\.|!)?\s*(?:(?:sorry|oops|no|wait|actually|ой|нет|извини|хотя)[,!.]?\s+)?"
    r"(?:flip\s+(?:that|it|them|those|the\s+(?:weights|shares|numbers))|swap\s+(?:them|those|the\s+(?:weights|shares|numbers))"
    r"|(?:the\s+)?other\s+way\s+(?:round|around)|(?:сделай\s+|давай\s+)?наоборот|поменяй\s+(?:их\s+|веса\s+)?местами)"
    r"(?=\s*(?:[.;!]|$)|\s*,(?![^.;]*\d))",  # (not "…, наоборот, 30/70": the new values are said)
    re.IGNORECASE,
)


def swap_flipped(goal: str) -> str:
    """ "ours 0.7 and B 0.3 -- sorry, flip that", «нам 70, ему 30, ой, наоборот»: the two shares said just before,
    swapped, so every reader sees the weights meant (the correction words themselves are dropped)."""
    for m in reversed(list(FLIPPED.finditer(goal))):
        ends = list(re.finditer(r"[.!?](?=\s)", goal[: m.start()]))  # the sentence's start ("0.3" is no end)
        start = ends[-1].end() if ends else 0
        clause = mask(goal[start : m.start()])  # (no digit inside a path is a share)
        values = list(re.finditer(r"(?<![\w.#-])\d*\.?\d+%?(?![\w.#-])", clause))
        if len(values) < 2 or re.search(r"\d[eE]-?\d", clause) or not merge_said(clause.lower()):
            continue  # "lr 1e-5 for SFT, 5e-7 for DPO, no, the other way round": the stages' values, read elsewhere
        a, b = values[-2], values[-1]
        text = goal[start : m.start()]
        text = text[: a.start()] + b.group(0) + text[a.end() : b.start()] + a.group(0) + text[b.end() :]
        goal = goal[:start] + text + goal[m.end() :]
    return goal


# "A, B and C: the first one 50%, the second 30%, the third the rest", «A, B и C: первому половину, второму треть»:
# members named by their place in the list just said, each with its share
_ORDINAL_OWNER = re.compile(
    r"(?<![\w-])(?:(?:the\s+)?(?P<en>first|second|third)(?:\s+(?:one|model))?"
    r"|(?P<ru>перв|втор|трет)(?:ому|ой|ей|ьему|ьей|ая|ья|ую|ью)(?:\s+модел\w*)?)(?![\w-])"
)
_SHARE_NEAR = re.compile(
    r"\s*(?:[:=—-]\s*|gets\s+|takes\s+|at\s+|получает\s+|достается\s+|достаётся\s+)?"
    r"(?:\d*\.?\d+\s*%?(?![\w.])|(?:the\s+)?(?:rest|remainder|half|a\s+third|a\s+quarter)\b"
    r"|половин\w*|трет\w*|четверт\w*|остальн\w*|остаток)"
)
_MEMBER_LIST = re.compile(
    r"(\S+/\S*?)[,;]?\s+(?:and\s+|и\s+|&\s+|with\s+|с\s+)?(\S+/\S*?)(?:[,;]?\s+(?:and\s+|и\s+|&\s+)?(\S+/\S*?))?(?=[\s,.:;]|$)"
)


def expand_ordinals(goal: str) -> str:
    """Members named by their place in the list of folders just said, each with its share, as those folders."""
    listed = next((m for m in _MEMBER_LIST.finditer(goal) if all(PATH.fullmatch(g) for g in m.groups() if g)), None)
    if listed is None:
        return goal
    members = [g.rstrip(",.:;") for g in listed.groups() if g]
    order = {"first": 0, "перв": 0, "second": 1, "втор": 1, "third": 2, "трет": 2}
    pieces, last = [], listed.end()
    for m in _ORDINAL_OWNER.finditer(goal, listed.end()):
        index = order[(m["en"] or m["ru"]).lower()]
        share_after = _SHARE_NEAR.match(goal, m.end())
        share_before = re.search(r"(?:\d*\.?\d+\s*%?|половин\w*|трет\w*|четверт\w*|rest|остальное)\s*(?:to\s+|for\s+)?$",
                                 goal[max(0, m.start() - 16) : m.start()])  # fmt: skip
        if index >= len(members) or not (share_after or (share_before and len(members) >= 3)):
            # "the first 3 layers", a third member in a list of two: not a member named by place ("60% второй" in a
            # merge of two is the favoured member's reader's, which keeps the members in the order said)
            continue
        if re.match(r"\s*(?:\d+\s+)?(?:layers?|blocks?|epochs?|stage|сло|эпох|этап)", goal[m.end() :]) or re.match(
            r"\s+(?:half|third|quarter|половин\w*|трет\w*|четверт\w*)\s+(?:of\s+)?(?:the\s+)?(?:layers?|blocks?|сло\w*|блок\w*)",
            goal[m.end() :],
        ):
            continue  # "the first half of the layers": a part of the layers, not a member
        pieces += [goal[last : m.start()], members[index]]
        last = m.end()
    if not pieces:
        return goal
    return goal[: listed.end()] + "".join(pieces) + goal[last:]


def expand_labels(goal: str) -> str:
    """The goal with each later use of a folder's short name replaced by the folder's path, so that every reader
    finds the member where the person named it; a name given to two folders is left alone (it names neither).
    Two shares taken back with "flip that" are swapped here too, for the same reason."""
    goal = swap_flipped(goal)
    given: dict[str, set[str]] = {}
    spans = []
    for m in LABEL_GIVEN.finditer(goal):
        path = m["path"] or m["path2"] or m["path3"] or m["path4"] or m["path5"] or m["path6"] or m["path7"]
        label = (
            m["label"] or m["label2"] or m["label3"] or m["label5"] or m["label6"] or m["label7"] or m["label8"]
            or m["label9"] or m["label10"]
        )  # fmt: skip
        if m["path7"] and not re.search(r"\b(?:call|name)\b|(?<![а-я])(?:назов[её]м|назови)", goal[: m.start()]):
            continue  # a quoted letter after a folder, with no naming said before it
        if m["label6"] and re.fullmatch(r"[а-яё]+", label.lower()) and len(label) > 3:
            label = label[:-1] if label[-1].lower() in "аяоеьйы" else label  # «петя»: «петей», «пете» are it too
        if not PATH.fullmatch(path) or "/" not in path or label.lower() in {"and", "or", "with", "to"}:
            continue
        given.setdefault(label, set()).add(path)
        spans.append((m.start(), m.end()))
    for label, paths in given.items():
        if len(paths) != 1:
            continue
        path = next(iter(paths))
        flags = 0 if len(label) <= 2 else re.IGNORECASE  # a one-letter "B", never the Russian preposition "в"
        pieces, last = [], 0
        ending = r"[а-яё]{0,3}" if re.fullmatch(r"[а-яё]+", label.lower()) else ""  # Russian case endings
        for m in re.finditer(rf"(?<![\w/.~'-]){re.escape(label)}{ending}(?![\w/-])", goal, flags):
            if any(a <= m.start() < b for a, b in spans):
                continue
            pieces += [goal[last : m.start()], path]
            last = m.end()
        goal = "".join(pieces) + goal[last:]
        if pieces:  # "3 to 1 (B is ../b), in favour of B": the bracket only named B, and B is now the path itself
            goal = re.sub(rf"\s*\(\s*{re.escape(label)}\s+(?:is|=|это|-|—)\s+{re.escape(path)}\s*\)", "", goal)
        spans = [  # the replacements moved them ("Б: ../a" after А was replaced names no folder "Б")
            (m.start(), m.end())
            for m in LABEL_GIVEN.finditer(goal)
            if (
                found := next(
                    (m[g] for g in ("path", "path2", "path3", "path4", "path5", "path6", "path7") if m[g]), ""
                )
            )
            and PATH.fullmatch(found)
            and "/" in found
        ]
    return expand_ordinals(goal)


def mask(text: str, patterns: tuple[re.Pattern[str], ...] = (DATASET_PATH, PATH, NAME_LIKE)) -> str:
    def blank(m: re.Match[str]) -> str:
        if all(MODULE_NAME.fullmatch(part) or part in LETTER_ROLES for part in m.group(0).split("/")):
            return m.group(0)  # "q_proj/v_proj", "q/k/v" name modules, not a path
        if member_legend(m.group(0)):
            return m.group(0)  # "0.9/0.1 (base/partner)": the shares' owners, not a path
        return masked_path(m.group(0))

    masked = text
    for pattern in patterns:
        masked = pattern.sub(blank, masked)
    return mask_bare_names(masked, text)


FRACTION_SLOTS = {"dropout", "warmup_steps", "label_smoothing", "eval_fraction", "weight_decay"}


# "batch size 16 via 4 x 4", "батч 32 = 4 × 8": the effective batch, then per-device batch × accumulation
BATCH_PRODUCT = re.compile(
    r"\s*(?:via|as|from|through|using|with|=|:|\(|через|как|из|это)\s*(?:per[- ]device\s+)?(?P<a>\d+)\s*(?:x|×|\*|х)\s*"
    r"(?P<b>\d+)(?!\s*(?:gpus?|гпу|видеокарт\w*|devices?|устройств\w*|nodes?))"
)


def _number_fact(slot: str, number: Number, text: str, start: int) -> Fact:
    value: Any = number.value
    if slot in FRACTION_SLOTS - {"eval_fraction"} and re.match(r"\s*(?:%|percent|процент)", text[number.end :]):
        value = number.value / 100  # "dropout 5%", "warmup 3%": a share (warmup below 1 is a share of the steps)
    if slot == "eval_fraction" and re.match(r"\s*(?:%|percent|процент)", text[number.end :]):
        value = number.value / 100  # "hold out 5%": a share of the rows
    if number.kilo and slot == "max_length":
        value = number.value / 1000 * 1024  # "4k context" is 4096 tokens
    if slot in INT_SLOTS:
        value = int(value)
    return Fact(slot, value, text[start : number.end].strip(), start, number.end)


OWN_VALUE = r"\w*[\"']?\s*[:=]|_\w+\s+-?\.?\d"  # a setting key followed by its own value ("warmup_ratio 0.1")


def _value_first(masked: str, end: int, slot: str) -> bool:
    """Whether the number ending at `end` is followed by a slot word that has no value of its own after it
    (not its own unit: "warmup 10 steps" is the warmup's)."""
    for other, keyword in BEFORE:
        if other == slot or (slot in ("warmup_steps", "gradient_accumulation") and other == "max_steps"):
            continue
        m = re.match(r"[ \t]*(?:-\s*)?(?:a\s+)?" + f"(?:{keyword})", masked[end:])
        if m:
            after = masked[end + m.end() :]
            if re.match(OWN_VALUE, after):
                return False  # "2.0 warmup_ratio: 0.1": the next key has its own value
            f = re.match(r"(?:\s+(?:ratio|rate|steps?|size|fraction|share|доля|долю|шаг\w*))?" + FILLER, after)
            return number_at(after, f.end() if f else 0) is None  # "lr 5e-7 warmup ratio 0.1": the warmup has 0.1
    return False


STAGE_INFIX = (  # "alpha for SFT 64", "alpha for SFT is 64", «lr для DPO будет 5e-6»
    r"\s+(?:for|для)\s+(?:the\s+)?(?:sft|dpo|orpo|simpo|kto|ipo)(?:\s+stage|\s+этап\w*)?\s*(?:[:=-]|\bis\b|будет)?\s*"
)


GLUED_KEYS = [("r", r"r|rank|ранг"), ("alpha", r"a|α|alpha|альфа"), ("learning_rate", r"lr|лр"), ("epochs", r"ep|эп"),
              ("batch_size", r"bs")]  # fmt: skip
GLUED = re.compile(r"(?<![\w.-])(r|rank|ранг|a|α|alpha|альфа|lr|лр|ep|эп|bs)(\d+(?:\.\d+)?(?:e-\d+)?)(?![\w.])")
_STAGE_NAME = r"(?:the\s+)?(?:sft|dpo|ipo|orpo|simpo|kto|сфт|дпо)(?:\s+stage|\s+этап\w*)?"
# after a setting's word, "for each", "per stage", "для каждого этапа", then a list of stage-value pairs
PER_STAGE_OPENING = (
    r"(?:\s+(?:for|per|in)\s+(?:each|every|both|either)(?:\s+(?:stage|one|run|step|of them))?|\s+per\s+stage"
    r"|\s+(?:для|на|в)\s+(?:каждого|каждом|обоих|каждой)(?:\s+этап\w*)?)?\s*[:=-]?\s*"
)
PER_STAGE_ITEM = re.compile(
    rf"(?:{_STAGE_NAME})\s*[:=-]?\s*(?P<v1>{DIGITS})(?![\w.])"  # "sft 1e-4"
    rf"|(?P<v2>{DIGITS})\s+(?:for|для|на|in|в)\s+{_STAGE_NAME}(?![\w])"  # "32 for sft"
    r"(?:\s+(?:on|на|по)\s+#{3,})?"  # "ранг 8 для SFT на a.jsonl и 16 для DPO на b.jsonl": the stage's data may follow
)
RESPECTIVE = (
    rf"({DIGITS})\s*(?:,|and|и)\s*({DIGITS})(?:\s*(?:,|and|и)\s*({DIGITS}))?\s*,?\s*(?:respectively|соответственно)"
)


def _unit_carried(masked: str, facts: list[Fact], used: set[int]) -> list[Fact]:
    """'SFT for one epoch, then DPO for two': a later bare 'for N' / 'на N' ends its stage with the unit said first."""
    said = next(
        (
            f
            for f in facts
            if f.slot == "epochs" and re.search(r"(?:\bfor|(?<![а-я])на)\s+$", masked[max(0, f.start - 6) : f.start])
        ),
        None,
    )
    if said is None:
        return []
    carried = []
    for m in re.finditer(r"(?:\bfor|(?<![а-я])на)\s+", masked[said.end :]):
        number = number_at(masked, said.end + m.end())
        if number is None or number.start in used or number.start != said.end + m.end():
            continue
        if not re.match(r"\s*(?:[,.;)]|$|(?:then|and|but|потом|затем|и|а|но)(?![\w-]))", masked[number.end :]):
            continue
        used.add(number.start)
        carried.append(_number_fact("epochs", number, masked, said.end + m.start()))
    return carried


def number_facts(text: str) -> list[Fact]:
    """Numbers with their slot, in order, before corrections ("rank 64, scratch that, 16" gives two)."""
    masked = mask(text)
    facts: list[Fact] = []
    used: set[int] = set()
    pair = r"(\d*\.?\d+)\s*/\s*(\d*\.?\d+)"
    for m in re.finditer(rf"\b(?:lora_r|rank|r|ранг)\s*/\s*(?:lora_alpha|alpha|α|альфа)\s*(?:=|:|of)?\s*{pair}", text):
        for slot, group in (("r", 1), ("alpha", 2)):  # "r/alpha 16/32"
            number = Number(m.start(group), m.end(group), float(m.group(group)))
            used.add(number.start)
            facts.append(_number_fact(slot, number, masked, m.start()))
    for slot, keyword in AFTER:
        for m in re.finditer(keyword, masked):
            f = re.match(FILLER, masked[m.end() :])
            number = number_at(masked, m.end() + (f.end() if f else 0))
            if number is None or number.start in used:
                continue
            if slot == "r" and m.group(0) == "r" and not re.match(r"[\"']?\s*[=:]?\s*\d", masked[m.end() :]):
                if number.start != m.end() + (f.end() if f else 0) or not re.match(
                    r"\s+[a-zа-я]|\s*[=:]\s*[a-zа-я]", masked[m.end() :]
                ):  # "r sixteen", "r=thirty-two": the rank in words
                    continue  # "r sixteen" is the rank; "r" before anything else is a letter
            if _value_first(masked, number.end, slot):
                continue  # "1 epoch at 2e-4 learning rate": 2e-4 is the learning rate's, said before its word
            if re.match(r"\s*(?:раза?|times)(?![\w-])", masked[number.end :]):
                continue  # «альфа в два раза меньше ранга», "alpha two times the rank": a multiple (goal_references)
            if (
                slot == "eval_fraction"
                and number.value >= 1
                and not re.match(r"\s*(?:%|percent|процент)", masked[number.end :])
            ):
                continue  # "val_set_size 2000" is a row count; the plan holds a share, so the number is asked about
            if (
                any(slot == other and re.match(keyword + "$", m.group(0)) for other, keyword in BEFORE)
                and (
                    (before := number_before(masked, m.start())) is not None
                    and before.start not in used
                    and not re.search(r"[,;:=]", masked[before.end : m.start()])
                    and not re.search(
                        r"(?<![\w.-])(?:a|r|bs|ml|ep|lr|эп|лр)\s*[=:]?\s*$", masked[: before.start]
                    )  # "a 16 ep 2": 16 is a's
                    and not any(re.search(f"(?:{kw}){FILLER}$", masked[: before.start]) for _, kw in AFTER)
                    and not re.search(r"[=:]", masked[m.end() : number.start])
                )
            ):
                continue  # "two epochs at 1e-4": the epochs' value came before the word; 1e-4 is not theirs
            used.add(number.start)
            facts.append(_number_fact(slot, number, masked, m.start()))
            alt = ALTERNATIVE.match(masked, number.end)
            other = number_at(masked, alt.end()) if alt else None
            if other is not None and other.start not in used:  # "rank 8 or 16", "рангом восемь или шестнадцать"
                used.add(other.start)
                facts.append(_number_fact(slot, other, masked, other.start))
    for m in GLUED.finditer(
        masked
    ):  # "r8 a16", "lr2e-4", "альфа16", "ep3": a setting's short name and its value, unspaced
        key, digits = m.group(1), m.group(2)
        slot = next(s for s, k in GLUED_KEYS if re.fullmatch(k, key))
        if (
            slot == "alpha"
            and key in ("a", "α")
            and not re.search(r"(?<![\w.-])r\s*\d", masked[max(0, m.start() - 14) : m.start()])
        ):
            continue  # a bare "a32" is an alpha only beside a rank ("r16 a32"): "A100" is a GPU
        if m.start(2) in used:
            continue
        number = Number(m.start(2), m.end(2), float(digits))
        used.add(number.start)
        facts.append(_number_fact(slot, number, masked, m.start()))
    for slot, keyword in AFTER:  # "learning rates were 5e-7 and 2e-5 respectively": one value per stage, in order
        plural = re.sub(
            r"\b(rate|size|length)s\b", r"\1 ", masked
        )  # "learning rates were …": one spelling, same length
        for m in re.finditer(rf"(?:{keyword})\s+(?:were|are|of|:|=|-)?\s*{RESPECTIVE}", plural):
            for group in (1, 2, 3):
                if m.group(group) and m.start(group) not in used:
                    number = number_at(masked, m.start(group))
                    if number is not None:
                        used.add(number.start)
                        facts.append(_number_fact(slot, number, masked, number.start))
    for (
        slot,
        keyword,
    ) in AFTER:  # "learning rates: sft 1e-4, dpo 5e-7", "a different rank for each: 32 for sft, 8 for dpo"
        for m in re.finditer(rf"(?:{keyword}){PER_STAGE_OPENING}", masked):
            items, pos = [], m.end()
            while item := PER_STAGE_ITEM.match(masked, pos):
                items.append(item)
                pos = item.end()
                gap = re.match(r"\s*(?:,|;|/|and\b|и(?![а-я])|а(?![а-я]))\s*(?:(?:and|и|а)\s+)?", masked[pos:])
                pos += gap.end() if gap else 0
            if len(items) < 2:
                continue
            for item in items:
                group = "v1" if item.group("v1") else "v2"
                number = number_at(masked, item.start(group))
                if number is not None and number.start not in used:
                    used.add(number.start)
                    facts.append(_number_fact(slot, number, masked, number.start))
    for slot, keyword in AFTER:  # "beta not 0.1 but 0.25", "бета не 0.1, а 0.25": the second value, the first replaced
        for m in re.finditer(
            rf"(?:{keyword})\s*[:=]?\s*(?:not|не)\s+({DIGITS})\s*,?\s*(?:but|а|but rather)\s+({DIGITS})(?![\w.])",
            masked,
        ):
            if m.start(1) in used or m.start(2) in used:
                continue
            number = number_at(masked, m.start(2))
            if number is None:
                continue
            used.update((m.start(1), number.start))
            fact = _number_fact(slot, number, masked, m.start())
            fact.replaced = [float(m.group(1))]
            facts.append(fact)
    for slot, keyword in AFTER:  # "lr для SFT 2e-4", "rank for the DPO stage: 8": the stage named between
        for m in re.finditer(rf"(?:{keyword}){STAGE_INFIX}", masked):
            number = number_at(masked, m.end())
            if number is not None and number.start not in used:
                used.add(number.start)
                facts.append(_number_fact(slot, number, masked, m.start()))
    for slot, keyword in BEFORE:
        for m in re.finditer(keyword, masked):
            number = number_before(masked, m.start())
            if number is None and slot in FRACTION_SLOTS and re.search(r"%\s*$", masked[: m.start()]):
                number = number_before(masked, masked[: m.start()].rstrip().rfind("%"))  # "10% warmup"
            if number is None or number.start in used:
                continue
            if "\n" in masked[number.end : m.start()] or re.match(OWN_VALUE, masked[m.end() :]):
                continue  # "num_train_epochs: 2.0\nwarmup_ratio: 0.1": the next line's key has its own value
            if re.search(
                r"(?:every|each|warm ?up\w*|eval\w*|save\w*|log\w*|каждые|прогрев\w*)\s*$", masked[: number.start]
            ):
                continue  # "save every 100 steps", "warmup 10 steps": not how long to train
            used.add(number.start)
            facts.append(_number_fact(slot, number, masked, number.start))
            facts[-1].end = m.end()
            facts[-1].phrase = masked[number.start : m.end()]
    facts += _unit_carried(masked, facts, used)
    for m in re.finditer(
        r"\b(half|a quarter of|quarter|one and a half|1\.5)\s+(?:an?\s+)?epochs?\b|(?<![а-я])(пол|полтор[аы])\s*-?\s*эпох\w*"
        r"|половин\w+\s+эпохи",
        masked,
    ):
        word = m.group(1) or m.group(2) or ""  # "half an epoch", "полэпохи", "one and a half epochs", "полторы эпохи"
        value = (
            0.25 if "quarter" in word else 1.5 if ("and a half" in word or "полтор" in word or word == "1.5") else 0.5
        )
        facts = [f for f in facts if not (f.slot == "epochs" and m.start() <= f.start < m.end())]
        facts.append(Fact("epochs", value, m.group(0), m.start(), m.end()))
    relative = relative_alpha(masked)
    if relative:  # "alpha = 2 * r", "alpha equal to the rank", "альфа равна рангу": alpha follows the rank said
        facts = [f for f in facts if not (f.slot == "alpha" and relative.start() <= f.start < relative.end())]
        k = alpha_ratio(relative)
        rank = next((f for f in facts if f.slot == "r"), None)
        if rank is not None:
            facts.append(Fact("alpha", k * rank.value, relative.group(0), relative.start(), relative.end()))
    for f in [f for f in facts if f.slot == "batch_size"]:
        said = re.match(
            r"\s*\(\s*(?:effective|global|total|эффективн\w*|глобальн\w*)\s*(?:batch(?:[_ ]size)?|батч\w*)?\s*[=:]?\s*(\d+)\s*\)",
            masked[f.end :],
        )
        if said and not any(g.slot == "gradient_accumulation" for g in facts) and int(said.group(1)) % f.value == 0:
            number = Number(f.end + said.start(1), f.end + said.end(1), float(said.group(1)))
            used.add(number.start)  # "bs 8 (effective 64)": 8 accumulation steps make the 64
            accumulation = _number_fact("gradient_accumulation", number, masked, number.start)
            accumulation.value = int(said.group(1)) // int(f.value)
            facts.append(accumulation)
    micro = [f for f in facts if f.slot == "batch_size" and re.match(r"micro[_ -]batch", f.phrase)]
    whole = [
        f
        for f in facts
        if f.slot == "batch_size" and re.match(r"(?:global[_ ]|total[_ ]|effective[_ ])?batch", f.phrase)
    ]
    if micro and whole and not any(f.slot == "gradient_accumulation" for f in facts):
        steps = (
            whole[0].value / micro[0].value
        )  # alpaca-lora: --batch_size 128 --micro_batch_size 4 is 32 accumulations
        if steps.is_integer() and steps >= 1:
            whole[0].slot, whole[0].value = "gradient_accumulation", int(steps)
    for m in re.finditer(
        r"(?<![\w.])(\d+)\s*(?:×|x|\*)\s*(?:grad(?:ient)?[_ ]acc\w*|accum\w*)\s*(?:=|:)?\s*(\d+)", masked
    ):
        if m.start(1) not in used:  # "8 × grad_accum 16": the per-device batch times the accumulation
            used.add(m.start(1))
            facts.append(
                _number_fact("batch_size", Number(m.start(1), m.end(1), float(m.group(1))), masked, m.start(1))
            )
    for m in re.finditer(r"(?<![\w.=:-])(\d(?:\.\d+)?e-\d+)(?![\w.])", masked):
        if m.start(1) not in used and not any(
            f.slot == "learning_rate" and abs(f.start - m.start()) < 40 for f in facts
        ):
            before = masked[max(0, m.start() - 20) : m.start()]
            if re.search(r"(?:,|;|\(|on\s+#+|на\s+#+)\s*$", before):  # "full SFT on chat.jsonl, 2e-5, one epoch"
                used.add(m.start(1))
                facts.append(
                    _number_fact("learning_rate", Number(m.start(1), m.end(1), float(m.group(1))), masked, m.start(1))
                )
    effective = [
        f
        for f in facts
        if f.slot == "batch_size"
        and (
            re.search(
                r"(?:effective|global|total)[_ ]$|(?:эффективн|глобальн|общ|суммарн)\w*\s+$",
                masked[max(0, f.start - 14) : f.start],
            )
            or re.match(r"\s*\(\s*(?:effective|global|total|эффективн\w*|глобальн\w*)\s*\)", masked[f.end :])
            or re.match(r"-*train_batch_size", f.phrase)  # OpenRLHF's --train_batch_size is the global batch
            # "batch size 64 made of micro batches of 8": 64 is the product
            or re.match(
                r"\s*(?:made\s+(?:up\s+)?of|composed\s+of|built\s+from|from)\s+(?:\w+\s+)?(?:micro[ -]?batch"
                r"|\d+\s+(?:per[ -](?:device|gpu)|on\s+each\s+(?:device|gpu)))",
                masked[f.end :],
            )
        )
    ]
    for f in [f for f in facts if f.slot == "batch_size" and f not in effective]:
        product = BATCH_PRODUCT.match(masked, f.end)  # "batch size 16 via 4 x 4 accumulation": 16 is the product
        if product:  # (a product that is not 16 leaves the effective batch unmet: asked by the fact check)
            effective.append(f)
            for slot, group in (("batch_size", "a"), ("gradient_accumulation", "b")):
                facts[:] = [x for x in facts if x.start != product.start(group)]
                used.add(product.start(group))
                number = Number(product.start(group), product.end(group), float(product[group]))
                facts.append(_number_fact(slot, number, masked, number.start))
    per_device = [f for f in facts if f.slot == "batch_size" and f not in effective]
    accum = [f for f in facts if f.slot == "gradient_accumulation"]
    for f in effective:  # "effective batch 128 (8 × grad_accum 16)": the product, not the per-device batch
        if per_device or accum:
            f.slot = "effective_batch"  # checked as batch × accumulation of a stage
    stage_word = r"(?:the\s+)?(?:sft|dpo|orpo|simpo|kto|ipo|fine-?tun\w*|preference\w*)"
    for m in re.finditer(
        rf"(?:[,;]\s*(?:and\s+|и\s+|а\s+)?|\s+(?:and|и|а)\s+)({DIGITS})\s+(?:for|для)\s+{stage_word}", masked
    ):
        if m.start(1) in used:
            continue  # "lr 2e-4 for SFT, 5e-6 for DPO": the second value is the same setting's, for the other stage
        prev = [f for f in facts if f.end <= m.start() and f.slot in SLOT_NAMES]
        if prev and re.search(rf"(?:for|для)\s+{stage_word}\s*$", masked[prev[-1].end : m.start()]):
            number = Number(m.start(1), m.end(1), float(m.group(1).replace("_", "")))
            used.add(number.start)
            facts.append(_number_fact(prev[-1].slot, number, masked, number.start))
    for m in re.finditer(
        rf"\s*,?\s*(?:and\s+|и\s+|а\s+)?(?:then|later|потом|затем)\s+({DIGITS})\s+(?:for|для)\s+{stage_word}", masked
    ):  # "SFT with lr 5e-5 and then 1e-5 for DPO": the same setting, for the stage named after the value
        said = [f for f in facts if f.end == m.start() and f.slot in SLOT_NAMES]
        if said and m.start(1) not in used:
            number = Number(m.start(1), m.end(1), float(m.group(1).replace("_", "")))
            used.add(number.start)
            facts.append(_number_fact(said[0].slot, number, masked, number.start))
    for m in re.finditer(rf"[,;]\s*(?:and\s+|и\s+|а\s+)?((?:for|для)\s+{stage_word}\s*[:=-]?\s*)({DIGITS})", masked):
        if m.start(2) in used:
            continue  # "lr для SFT 2e-4, а для DPO 1e-5": the same setting, for the stage named before the value
        prev = [f for f in facts if f.end <= m.start() and f.slot in SLOT_NAMES]
        if prev and re.search(STAGE_INFIX, prev[-1].phrase):
            number = Number(m.start(2), m.end(2), float(m.group(2).replace("_", "")))
            used.add(number.start)
            facts.append(_number_fact(prev[-1].slot, number, masked, m.start(1)))
    for m in re.finditer(
        rf"(?:\(\s*)?(?:not|instead of|rather than|вместо|а не|не)\s+({DIGITS})(?:\s*\))?(?![\w.])", masked
    ):  # "lr 1e-4 (not 2e-4)", "batch 8 instead of 4", "рангом 8 вместо 16": the value replaced, said for contrast
        said = [f for f in facts if f.end <= m.start() and m.start() - f.end <= 6 and f.slot in SLOT_NAMES]
        if said and m.start(1) not in used:
            used.add(m.start(1))
            said[-1].end = m.end()  # the replaced value is read (not asked about) and not planned
    for m in re.finditer(
        rf"\bnot\s+({DIGITS})\s+(\w+)\s+but\s+({DIGITS})\b|(?<![а-я])не\s+({DIGITS})\s+(\w+),?\s+а\s+({DIGITS})", masked
    ):
        wrong = [f for f in facts if f.start <= m.start(1 if m.group(1) else 4) < f.end]  # "not 3 epochs but 2"
        if wrong and wrong[0].slot in SLOT_NAMES:
            right = m.group(3) or m.group(6)
            start = m.start(3) if m.group(3) else m.start(6)
            number = Number(start, start + len(right), float(right))
            fact = _number_fact(wrong[0].slot, number, masked, number.start)
            fact.replaced, fact.start, fact.phrase = [wrong[0].value], m.start(), m.group(0)
            facts = [f for f in facts if f is not wrong[0]]
            used.add(number.start)
            facts.append(fact)
    for m in re.finditer(r"(?:(?<![\w-])at|@)\s*((?:\d+(?:\.\d+)?)e-\d+)(?![\w.])", masked):
        if m.start(1) not in used:  # "two epochs at 1e-4", "@ 2e-5": a small number in e-notation is the learning rate
            used.add(m.start(1))
            number = Number(m.start(1), m.end(1), float(m.group(1)))
            facts.append(_number_fact("learning_rate", number, masked, m.start()))
    facts.sort(key=lambda f: f.start)
    return facts


# on/off settings of a training stage: the word turns it on, a negation or "= false/off" turns it off
SWITCHES = {
    "packing": r"\b(?:sample[_ ]|neat[_ ])?pack(?:ing|ed)\b|упаковк\w*|упаковыва\w*|пакинг\w*",
    "gradient_checkpointing": r"\b(?:use_)?(?:gradient|activation)[_ ]checkpointing\b|\bgrad(?:ient)?[_ ]ckpt\b"
    r"|(?:градиентн\w*\s+)?чекпоинтинг\w*(?:\s+градиент\w*)?|\bcheckpointing\b",
}
DISTRIBUTED = (
    ("fsdp", r"\bfsdp\d?\b|\bfully[- ]sharded\b"),
    (
        "deepspeed",
        r"\bdeep[_ -]?speed\b(?:[\s,-]*(?:zero|stage)[- _]?(?:stage[- _]?)?[123]\b)?|\bzero[- _]?(?:stage[- _]?)?[123]\b"
        r"|\bds[_ ]config\b|(?<![а-я])дипспид\w*",
    ),
    ("ddp", r"\bddp\b|\bdistributed data[- ]parallel\b"),
)
SWITCH_NAMES = {"packing": "sequence packing", "gradient_checkpointing": "gradient checkpointing"}
SWITCH_OFF = re.compile(
    r"\s*(?:=|:)?\s*(?:false|off|no|none|disabled?|0|нет|выкл\w*)\b|\s+(?:is\s+|should be\s+)?(?:off|disabled)\b"
)
TURN_OFF = re.compile(r"(?:turn(?:ed)?\s+off|switch(?:ed)?\s+off|disabl\w*|отключи\w*|выключи\w*|без)\s+(?:the\s+)?$")


def alpha_ratio(relative: re.Match[str]) -> float:
    """alpha / rank said by 'alpha = 2 * r', 'alpha twice the rank', 'альфа равна рангу'."""
    factor = relative.group(1) or relative.group(2)
    if factor:
        return float(factor)
    if re.search(r"thrice|triple|втрое|три раза", relative.group(0)):
        return 3.0
    if re.search(r"half|половин|вдвое\s+меньше", relative.group(0)):
        return 0.5
    return 2.0 if re.search(r"twice|double|вдвое|два раза", relative.group(0)) else 1.0


RELATIVE_ALPHA = re.compile(
    r"(?:lora_)?(?:alpha|альф\w*)\s*,?\s*(?:=|:|of|is|set to|should be|must be|to be|равн\w*|должна быть)?\s*(?:(\d+(?:\.\d+)?)\s*(?:\*|x|×|times)\s*(?:the\s+)?(?:r|rank|ранг\w*)\b"
    r"|(?:equal to|same as|=|the same as)?\s*(?:the\s+|its\s+)?(?:r|rank)\b(?!\s*[=:]?\s*\d)|рангу|как\s+(?:у\s+)?ранг\w*"
    r"|(?:twice|double|thrice|triple)\s+(?:the\s+)?(?:r|rank)\b|вдвое\s+больше\s+ранга|в\s+(?:два|2)\s+раза\s+больше\s+ранга"
    r"|(?:half|a\s+half)\s+(?:of\s+)?(?:the\s+)?(?:r|rank)\b|(?:в\s+)?половин[аеуы]?\s+ранга|вдвое\s+меньше\s+ранга"
    # "ранг 8, альфа в два раза больше": the rank just said, in the same stage (not "больше, чем у SFT")
    r"|(?:вдвое|втрое|в\s+(?:два|три|2|3)\s+раза)\s+больше(?![\s,]*(?:чем|у|для|на|than)\b)"
    r"|(?:twice|double|thrice|triple)(?:\s+(?:that|it))?(?=\s*(?:[,;.]|$)))"
    r"|(?:r|rank)\s*(?:\*|x|×)\s*(\d+(?:\.\d+)?)\s*(?:for|as)\s+(?:the\s+)?alpha"
)
RANK_JUST_SAID = re.compile(r"(?:\branks?|\br|(?<![а-я])ранг\w*|lora_r)\s*[=:]?\s*\d+\s*[,;]?\s*(?:(?:и|and|a|а)\s+)?$")


def relative_alphas(masked: str) -> list[re.Match[str]]:
    """Alphas said relative to the rank; one that names no rank ("альфа в два раза больше", "alpha double") is
    relative to the rank only when the rank was said just before it."""
    return [
        m
        for m in RELATIVE_ALPHA.finditer(masked)
        if re.search(r"\b(?:r|rank)\b|ранг", m.group(0))
        or RANK_JUST_SAID.search(masked[max(0, m.start() - 24) : m.start()])
    ]


def relative_alpha(masked: str) -> re.Match[str] | None:
    found = relative_alphas(masked)
    return found[0] if found else None


# a quantity said without its value: asked, never planned as a default or as the number in it
VAGUE = re.compile(
    r"\b(?:a few|several|a couple(?: of)?|couple of|many|a handful of|a bunch of|dozens of|hundreds of|thousands of"
    r"|a small|a low|a high|a big|a large|a bigger|a smaller|a higher|a lower|small|low|high|big|large|tiny|huge)\s+"
    r"(?:hundred\s+|thousand\s+|more\s+)?(?:epochs?|steps?|iterations?|rank|lr|learning rate|alpha|beta|batch(?: size)?|dropout)\b"
    r"|\b(?:double|twice|triple|(?<!and a )half|halve|quadruple)\s+(?:the\s+)?(?:default\s+)?(?:epochs|steps|rank|lr|learning rate|alpha|beta|batch(?: size)?)\b"
    r"|\b(?:higher|lower|bigger|smaller|larger)\s+than\s+(?:the\s+)?default"
    r"|(?<![а-я])(?:пару|пара|несколько|немного|много|пару-тройку|малую|маленьк\w*|небольш\w*|высок\w*|низк\w*|больш\w*)\s+"
    r"(?:сотен\s+|тысяч\s+)?(?:эпох\w*|шаг\w*|итерац\w*|ранг\w*|скорост\w*|бет\w*|батч\w*)"
    r"|(?:в\s+(?:\d+|[а-я]+)\s+раза?|вдвое|втрое)\s+(?:больше|меньше|выше|ниже)|половинн\w+|удвоенн\w+|утроенн\w+|учетвер[её]нн\w+"
    r"|\b\d+\s*(?:x|×|times)\s+(?:smaller|lower|bigger|higher|larger|less|more)\b"
    # a merge weight said relative to another member: which numbers go to which model is asked
    r"|\b(?:twice|double|triple|half|\d+\s*(?:x|×|times))\s+(?:the\s+|as much\s+)?weight\b|\bweighted\s+(?:twice|double)"
    r"|(?:вдвое|втрое|в\s+\S+\s+раза?)\s+(?:больш\w+|меньш\w+)\s+вес\w*"
)
EVERY_STAGE = re.compile(
    r"\bboth\b(?!\s+(?:models|datasets|files|adapters))|\bfor (?:all|every|each) (?:the )?(?:stages?|runs?|of them)\b|\bfor everything\b"
    r"|\beverywhere\b|\bin all stages\b|(?<=\d)\s+\w+\s+each\b|\beach\b(?=\s*(?:[,;.]|$))|(?<![а-я])(?:у|для)\s+(?:обоих|обеих|всех\s+этапов|всех|каждого\s+этапа)|(?<![а-я])обоим\b"
    # "каждому по две эпохи", "each gets 2 epochs", "для каждого этапа": every stage (not "каждый второй слой")
    r"|(?<![а-я])каждому(?![а-я])(?!\s+(?:слою|модулю))|(?<![а-я])(?:для|на)\s+каждого\s+(?:этапа|из\s+них|прогона)"
    r"|(?<![а-я])каждый\s+(?:этап|из\s+них|прогон)|\beach\s+(?:stage|one|of\s+them|run|gets)\b"
    r"|(?<![а-я])везде\b|(?:^|(?<=[.;:(]\s))everything\b(?!\s+(?:else|into|to|in|goes)\b)|(?<![а-я])вс[её]\s+с(?=\s)"
    # "…, all lora r 8", "all three stages", "обе стадии ранг 32", "во всех этапах"
    r"|\ball(?:\s+(?:three|four|two|the))?\s+(?:stages?|runs?|of\s+them)\b|\ball(?:\s+(?:three|four))?\s+(?:lora|dora)\b(?!\s*[-_]?(?:layers?|modules?|targets?|linear))"
    r"|\b(?:from|for|in|to)\s+(?:the\s+|all\s+|every\s+|each\s+)?(?:loras|adapters|lora\s+adapters|lora)\b(?=\s*(?:[,;.]|$))"
    r"|(?<![а-я])(?:в|на|во)\s+(?:обоих|обеих)(?![а-я])"  # "лора r 8 в обоих"
    r"|(?<![а-я])(?:обе|оба|обеих|обоих)\s+(?:стади\w*|этап\w*|прогон\w*)|(?<![а-я])(?:оба|обе)\s+(?=(?:с|со|на|в)\s|[—:-]|(?:lora|dora|лор\w*|дор\w*|адаптер\w*)\s)|(?<![а-я])(?:все|всех|во\s+всех|на\s+всех)\s+(?:тр[её]х?\s+|четыр\w*\s+)?(?:стади\w*|этап\w*)"
)
NO_CLIPPING = re.compile(
    r"(?:\bno|\bwithout|\bdisabl\w*|\bturn off|(?<![а-я])без|(?<![а-я])отключи\w*)\s+(?:the\s+|any\s+)?"
    r"(?:gradient\s+|grad\s+)?(?:clipping|norm clipping)|без\s+(?:клиппинга|обрезки)(?:\s+градиент\w*)?"
)


def switch_facts(masked: str) -> list[Fact]:
    """'with packing', 'sample_packing: true', 'no packing', 'gradient checkpointing off', 'без упаковки'."""
    facts = []
    for slot, pattern in SWITCHES.items():
        for m in re.finditer(pattern, masked):
            if any(f.start <= m.start() < f.end for f in facts):
                continue
            said_off = SWITCH_OFF.match(masked, m.end())
            said_on = re.compile(r"\s*(?:=|:)?\s*(?:true|on|yes|1|вкл\w*)\b").match(masked, m.end())
            off = bool(
                said_off or negated(masked, m.start()) or TURN_OFF.search(masked[max(0, m.start() - 20) : m.start()])
            )
            end = (said_on or said_off).end() if (said_on or said_off) else m.end()
            facts.append(Fact(slot, not off, masked[m.start() : end], m.start(), end))
    return facts


NAMED_AFTER = re.compile(
    r"\s*-?\s*(?:adapters?|ones?|loras?|doras?|checkpoints?|models?|runs?|outputs?|weights|адаптер\w*|лор\w*|модел\w*|чекпоинт\w*)\b"
)
# "the same lr as the SFT", "10x lower than SFT's", "что и у SFT": a stage referred to, not another one to run
REFERRED_BEFORE = re.compile(
    r"(?:\bsame\s+(?:[\w-]+\s+){0,2}as(?:\s+(?:for|in|on|with))?(?:\s+the)?|\bthan(?:\s+(?:for|in|on))?(?:\s+the)?"
    r"|\bas\s+(?:many|much|long|high|low|large|big|small)\s+(?:[\w-]+\s+){0,2}as(?:\s+(?:for|in|on))?(?:\s+the)?"
    r"|(?<![а-я])(?:что|чем|как)\s+(?:и\s+)?(?:у|в|для|на|при)"
    r"|\bin\s+favou?r\s+of(?:\s+the)?|\bfavou?ring(?:\s+the)?|\btowards?(?:\s+the)?|(?<![а-я])в\s+пользу|(?<![а-я])в\s+сторону"
    # "модель уже после сфт", "the model already went through SFT": done before, not a stage to run
    r"|\balready\s+(?:(?:went|been|gone)\s+through|had|did|done|has\s+had|after)(?:\s+(?:an?|the|its|our))?"
    r"|(?<![а-я])уже\s+(?:после|прош\w*|прогнан\w*\s+через|был\w*|сделан\w*)(?:\s+(?:через|этап))?)\s*$"
)
# "the sft lr", "SFT's rank", "the SFT model": a stage's setting or result referred to, not another stage to run
REFERRED_AFTER = re.compile(
    r"(?:'s|'d|-?ed)?\s+(?:lr|learning rate|rank|alpha|epochs?|beta|batch(?: size)?|settings|hyper-?param\w*|config"
    r"|model|checkpoint|result|output|weights)\b"
)


def referred_stage(masked: str, start: int, end: int) -> bool:
    """'the sft lr', "SFT's rank", 'the SFT model as reference' (not 'DPO beta 0.1', a stage and its value)."""
    if re.match(r"'s\b", masked[end : end + 3]):
        return True  # "one tenth of the SFT's": a possessive names a stage said elsewhere
    if re.search(r"(?<![а-я])у\s+$", masked[max(0, start - 3) : start]) and re.match(
        r"\s*(?:ранг|альф|lr|лр|learning|скорост|эпох|бет|батч|дропаут|r\b)", masked[end:]
    ):
        return True  # «а у SFT ранг 8»: a setting of the stage said before, not a stage of its own
    return bool(
        REFERRED_AFTER.match(masked, end)
        and (
            masked[end : end + 2] in ("'s", "'d")
            or re.search(r"\b(?:the|its|that|this)\s+$", masked[max(0, start - 6) : start])
        )
    )


NAMED_BEFORE = re.compile(
    r"(?:adapters?|адаптер\w*|on top of(?: the)?|over(?: the)?|onto(?: the)?|поверх)\s*$|" + REFERRED_BEFORE.pattern
)


def names_a_thing(text: str, start: int, end: int) -> bool:
    """'my DPO adapter', 'the SFT one', 'адаптер dpo': a method word naming an existing thing, not a stage to run."""
    return bool(NAMED_AFTER.match(text, end) or NAMED_BEFORE.search(text[max(0, start - 30) : start]))


def method_facts(text: str) -> list[Fact]:
    masked = mask(text)
    facts = []
    for method, pattern in PREFERENCE_WORDS:
        for m in re.finditer(pattern, masked):
            if any(f.start <= m.start() < f.end for f in facts) or names_a_thing(masked, m.start(), m.end()):
                continue
            if negated(masked, m.start()) or NEGATED_AFTER.match(masked, m.end()):
                continue  # "без DPO", "dpo не надо"
            facts.append(Fact("method", method, m.group(0), m.start(), m.end()))
    for m in UNSUPPORTED_METHODS.finditer(masked):
        if negated(masked, m.start()) or NEGATED_AFTER.match(masked, m.end()):
            continue  # "DPO instead of PPO", "PPO не надо"
        if m.group(0) == "cpo" and any(not negated(masked, s.start()) for s in re.finditer(r"simpo|симпо", masked)):
            continue  # CPO-SimPO (CPOConfig with loss_type simpo) is SimPO with cpo_alpha
        facts.append(Fact("unsupported", m.group(0), m.group(0), m.start(), m.end()))
    if re.search(r"pref_loss\s*[=:]?\s*(?:orpo|simpo)\b", masked):  # LLaMA-Factory: stage dpo + pref_loss orpo is ORPO
        facts = [f for f in facts if not (f.slot == "method" and f.value == "dpo")]
    # "→ SimPO? no, skip SimPO": a method said and then negated by name is taken back
    taken_back = {
        method
        for method, pattern in PREFERENCE_WORDS
        for m in re.finditer(pattern, masked)
        if negated(masked, m.start())
        and re.search(r"\b(?:skip|drop|no|not|без|не|пропусти\w*)\b", masked[max(0, m.start() - 16) : m.start()])
    }
    facts = [
        f for f in facts if not (f.slot == "method" and f.value in taken_back and _said_before_negation(f, masked))
    ]
    # "make it prefer shorter answers with SimPO": the wish and the method that grants it are one stage
    named = [f for f in facts if f.slot == "method" and not GENERIC_PREFERENCE.fullmatch(f.phrase)]
    facts = [
        f
        for f in facts
        if not (
            f.slot == "method"
            and GENERIC_PREFERENCE.fullmatch(f.phrase)
            and any(abs(n.start - f.start) <= 60 and not ORDER_WORD.search(_between(masked, f, n)) for n in named)
        )
    ]
    facts.sort(key=lambda f: f.start)
    return facts


GENERIC_PREFERENCE = re.compile(r"prefer\w*|предпоч\w*|preference (?:tuning|optimi[sz]ation|training)")
ORDER_WORD = re.compile(r"\b(?:then|after|afterwards|next|finally)\b|потом|затем|после|[;→]|->")


def _between(masked: str, a: Fact, b: Fact) -> str:
    return masked[min(a.end, b.end) : max(a.start, b.start)]


def _said_before_negation(fact: Fact, masked: str) -> bool:
    """Whether the method is negated by name after this mention ("SimPO? no, skip SimPO")."""
    for method, pattern in PREFERENCE_WORDS:
        if method == fact.value:
            return any(m.start() > fact.start and negated(masked, m.start()) for m in re.finditer(pattern, masked))
    return False


def _gap(masked: str, start: int, end: int) -> int:
    """Characters between two places, a path counted as one: how near a correction is does not depend on how long
    the dataset's folder name is."""
    return len(re.sub(r"#+", "#", masked[start:end]))


def resolve(facts: list[Fact], text: str) -> list[Fact]:
    """Apply correction markers: a later value of the same slot right after a marker replaces the earlier one."""
    masked = mask(text)
    facts = sorted(facts, key=lambda f: f.start)
    numbers = [n for n in find_numbers(masked)]
    for marker in MARKERS.finditer(masked):
        before = [f for f in facts if f.end <= marker.start() and _gap(masked, f.end, marker.start()) <= 40]
        if not before:
            continue
        old = before[-1]
        named_next = next(  # "rank 8 and alpha 16 -- actually make the rank 12": the setting is named again
            (
                f
                for f in facts
                if f.start >= marker.end()
                and _gap(masked, marker.end(), f.start) <= 30
                and f.slot != old.slot
                and f.slot in SLOT_NAMES
                and re.fullmatch(
                    r"[\s,.:;!-]*(?:(?:make|set|change|let|use|put)\s+(?:the\s+)?)?", masked[marker.end() : f.start]
                )
            ),
            None,
        )
        earlier_same = [f for f in before if named_next is not None and f.slot == named_next.slot]
        if named_next is not None and earlier_same and _gap(masked, earlier_same[-1].end, marker.start()) <= 60:
            old = earlier_same[-1]
        later = [
            f
            for f in facts
            if f.start >= marker.end()
            and (f.slot == old.slot or (old.slot == "unsupported" and f.slot == "method"))
            and _gap(masked, marker.end(), f.start) <= 30
            # "три эпохи — нет, две, — потом DPO … одну эпоху": a value past the next stage is that stage's own
            and not (
                f.slot != "method"
                and re.search(
                    r"\b(?:then|after that|next|finally)\b|потом|затем|после\s+этого|→|->",
                    masked[marker.end() : f.start],
                )
            )
        ]
        if later:
            new = later[0]
            if old.slot == "method" and new.value == old.value:
                continue  # "DPO on prefs. Хотя нет, DPO не надо": the same method again is no new value
        else:
            if old.slot in ("method", "unsupported"):
                continue
            if any(
                old.end <= n.start < marker.start() and not any(f.start <= n.start < f.end for f in facts)
                for n in numbers
            ):
                continue  # "rank 16 on layers 2 through 4 -- sorry, 2 through 6": the nearer value is corrected
            orphan = next(
                (
                    n
                    for n in numbers
                    if marker.end() <= n.start <= marker.end() + 20
                    and not any(f.start <= n.start < f.end for f in facts)
                    and re.fullmatch(
                        r"[\s,.:;!-]*(?:(?:make it|make that|it'?s|it is|use|set (?:it )?to|change (?:it )?to|to|лучше|давай"
                        r"|пусть|будет|сделай|поставь|ставь|вс[её]-?таки|на|let it be|say)[\s,.:;!-]+){0,3}",
                        masked[marker.end() : n.start],
                    )
                ),
                None,
            )
            if orphan is None:
                continue
            new = _number_fact(old.slot, orphan, masked, orphan.start)
            facts.append(new)
        new.replaced = [*old.replaced, old.value]
        new.phrase = masked[old.start : new.end]
        new.start = old.start
        facts.remove(old)
        facts.sort(key=lambda f: f.start)
    return facts


def corrected_text(goal: str) -> tuple[str, list[str]]:
    """The goal with each corrected value cut out ("rank 64, scratch that, 16" → "rank 16"), and notes saying so.

    Positions are kept in the reading text's coordinates; the planner reads the result."""
    kept = retract(goal)
    text = reading_text(kept)
    facts = resolve(number_facts(text) + method_facts(text) + merge_number_facts(mask(text)), text)
    notes = []
    last = next(reversed(list(RETRACT.finditer(mask(reading_text(goal))))), None)
    if last is not None:
        notes.append(f"you took back '{goal[: last.start()].strip()}'; only what follows it is planned.")
    for m in QUESTIONED_FIRST.finditer(mask(reading_text(goal))):  # "first DPO? no, first SFT on chat"
        notes.append(
            f"you took back '{reading_text(goal)[m.start('old') : m.end('old')].strip()}'; the answer is planned."
        )
    text, span_notes = _corrected_spans(text)
    notes.extend(span_notes)
    for fact in sorted((f for f in facts if f.replaced), key=lambda f: -f.start):
        keyword = next(
            (
                m.group(0)
                for slot, kw in (*AFTER, *MERGE_NUMBERS)
                if slot == fact.slot
                for m in [re.match(kw, text[fact.start :])]
                if m
            ),
            "",
        )
        value_text = _value_text(fact, text)
        after = next(
            (
                m.group(0)
                for slot, kw in BEFORE
                if slot == fact.slot
                for m in [re.search(kw, text[fact.start : fact.end])]
                if m
            ),
            "",
        )
        if keyword:
            replacement = f"{keyword} {value_text}".strip()
        elif after and not re.search(re.escape(after) + r"\s*$", value_text):
            replacement = f"{value_text} {after}"  # "5 epochs — make that 3" → "3 epochs"
        else:
            replacement = value_text
        if fact.slot == "method":
            replacement += _kept_between(text[fact.start : fact.end])  # "IPO on prefs.jsonl… no, DPO": data stays
        else:
            replacement += _kept_words(text[fact.start : fact.end], fact.slot)  # "r 32 on attention -- make it 8"
            inner = [f for f in facts if f is not fact and fact.start < f.start and f.end <= fact.end]
            for f in inner:  # "rank 8 and alpha 16 -- actually make the rank 12": the alpha said between stays
                replacement += ", " + text[f.start : f.end]
        text = text[: fact.start] + replacement + text[fact.end :]
        said = ", then ".join(_show(v) for v in [*fact.replaced, fact.value])
        notes.append(f"{fact.describe()}: you said {said}; the correction was taken.")
    return text, notes[::-1]


MERGE_TAKEN_BACK = re.compile(
    r"(?<![\w-])(" + MERGE_METHOD_WORDS + r"|linear(?:ly)?|линейн\w*)(?:[- ]?(?:merge|мерж\w*|мёрж\w*|слияни\w*))?"
    # "ties merge with A and B, actually make it dare_ties": the members said between are kept
    r"(?P<between>(?:[\s,]+(?:with|of|on|over|для|с|со|и|and|&|#+|the|base|базой|базы|модел\w*|models?|density|плотност\w*"
    r"|t\s*[=:]?(?=\s*\d)|\d*\.?\d+(?:\s*[/:]\s*\d*\.?\d+)*)(?=[\s,.…]))*)"  # "ties 0.5/0.5, actually use linear"
    r"[\s?.!…,;:—–-]*(?P<marker>(?:(?:" + MARKERS.pattern + r")[\s,.:;!—–-]*)+)"
    r"(?:(?:let'?s\s+(?:do|use|go with)|давай(?:те)?|лучше|use|switch to|change (?:it )?to|make (?:it|that)|сделай|через|методом"
    r"|method|using)\s+)*"
    r"(?=(?P<new>" + MERGE_METHOD_WORDS + r"|linear|линейн\w*)(?![\w-]))"
)


def _corrected_merge_methods(text: str) -> tuple[str, list[str]]:
    """'TIES merge? no, let's do DARE-TIES', 'ТАЙС? нет, давай SLERP': the merge method before the marker is blanked
    (the text keeps its length), so only the corrected one is planned."""
    notes = []
    for m in reversed(list(MERGE_TAKEN_BACK.finditer(mask(text)))):
        said = [
            next((name for name, p in MERGE_METHODS if re.fullmatch(p, g)), "linear") for g in (m.group(1), m["new"])
        ]  # "linear" said alone names the method only after a correction marker
        if said[0] == said[1]:
            continue
        kept = m.end("between") if m["between"].strip() else m.start()
        text = text[:kept] + " " * (m.end() - kept) + text[m.end() :]
        after = re.split(r"[.;!?](?!\d)", mask(text)[m.end() : m.end() + 60])[0]
        restated = (
            re.search(r"(?<![\w-])t\s*[=:]?\s*\d|\bat\s+0?\.\d", after)
            if said[1] == "slerp"
            else re.search(r"\d\s*[/:]\s*\d|(?:weights?|веса|весами)\s*[=:]?\s*\d", after)
        )
        if restated and not re.search(r"same\s+(?:weights|shares|ratio)|те\s+же\s+(?:веса|доли)", after):
            # "linear 0.6/0.4 -- actually slerp t=0.4": the new method's own value replaces the old one's numbers
            between = text[m.start("between") : m.end("between")]
            blanked = re.sub(
                r"(?<![\w#])(?:t\s*[=:]?\s*)?\d*\.?\d+(?:\s*[/:]\s*\d*\.?\d+)*",
                lambda x: " " * len(x.group(0)),
                between,
            )
            text = text[: m.start("between")] + blanked + text[m.end("between") :]
        if kept != m.start():  # the old method's name goes; the members said after it stay
            text = text[: m.start()] + " " * (m.end(1) - m.start()) + text[m.end(1) :]
        notes.insert(0, f"merge method {said[1]}: you said {said[0]}, then {said[1]}; the correction was taken.")
    return text, notes


SETTING_RENAMED = re.compile(
    r"(?<![\w.-])(?P<old>(?!(?:well|yeah|yes|okay|then|and|but|also|wait|hmm|actually|sorry|that)\b)[a-z_]{3,}"
    r"|лямбд\w*|эпсилон\w*|гамм\w*|альф\w*|бет\w*|ранг\w*|дропаут\w*|температур\w*)\s*(?:\.\.\.|…|,|—|-)?\s*(?P<marker>i mean|i meant|sorry|no,|нет,|точнее"
    r"|вернее|то есть|ой,?)\s*,?\s*(?=(?P<new>" + "|".join(kw for _, kw in AFTER) + r")\s*[=:]?\s*\d)"
)


def _corrected_setting_names(text: str) -> tuple[str, list[str]]:
    """'lambda... I mean beta 0.1', 'эпсилон, то есть бета 0.2': a setting's name said without a value, then
    corrected to another with one; the first name is blanked (the text keeps its length), so it is not asked about."""
    notes = []
    for m in reversed(list(SETTING_RENAMED.finditer(text))):
        new = re.match(r"[\w-]+", text[m.end() :]).group(0)
        text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
        if m["old"].strip() != new:  # "beta... I mean beta 0.2" (ORPO's lambda is read as beta): the same name
            notes.insert(0, f"you said '{m['old']}', then corrected it to '{new}'; the correction was taken.")
    return text, notes


def _kept_words(span: str, slot: str) -> str:
    """'r 32 on attention -- actually make it 8': what the first value's words say after it ('on attention')
    belongs to the stage, not to the value taken back."""
    first = next((f for f in number_facts(span) if f.slot == slot), None)
    marker = MARKERS.search(mask(span))
    if first is None or marker is None or first.end > marker.start():
        return ""
    between = span[first.end : marker.start()].rstrip(" ,.;:!?-—–…")
    return between if re.match(r"\s+(?:on|for|in|at|на|для|в|во)\s+\S", between) else ""


def _kept_between(span: str) -> str:
    """What a replaced method's words hold before the correction marker ('on prefs.jsonl' in 'IPO on prefs.jsonl...
    no, plain DPO'): it belongs to the stage, not to the taken-back method."""
    first = method_facts(span)
    marker = MARKERS.search(mask(span))
    if not first or not marker or first[0].end > marker.start():
        return ""
    return span[first[0].end : marker.start()].rstrip(" ,.;:!?-—–…")


CORRECTED_GAP = re.compile(r"[\s,.…;:!()-]*(?:(?:а|но|but|oh|ah)[\s,]+)?")  # «косинусный шедулер, а нет, линейный»


def _corrected_spans(text: str) -> tuple[str, list[str]]:
    """Every correction of a span, not a number, blanked out (the text keeps its length): a merge method, a
    setting's name, a layer selection or schedule, merge weights; with a note for each."""
    text, notes = _corrected_merge_methods(text)
    text, more = _corrected_setting_names(text)
    text, most = _corrected_selections(text)
    text, weights = _corrected_ratios(text)
    text, swapped = _swapped_back(text)
    text, sharding = _corrected_sharding(text)
    text, order = _order_swapped(text)
    text, words = _corrected_words(text)
    text, members = _corrected_members(text)
    text, dropped = _dropped_modules(text)
    return text, notes + more + most + weights + swapped + sharding + order + words + members + dropped


# "lora on q, k, v -- actually drop k", "q, k, v, o, потом убери o": one module taken out of the list just said
MODULE_DROPPED = re.compile(
    rf"[\s,;:!—–-]*(?:(?:{MARKERS.pattern})[\s,;:!—–-]*)*"
    r"(?:drop|remove|minus|without|except|but\s+not|not|no|убери|убрать|выкинь|выкини|без|кроме|но\s+не)\s+(?:the\s+)?"
    r"(?P<item>[qkvo]|gate|up|down)(?:_proj)?(?![\w-])"
)


def _dropped_modules(text: str) -> tuple[str, list[str]]:
    """A module dropped right after a list that names it: it and the words that drop it are blanked (length kept)."""
    notes: list[str] = []
    for m in reversed(list(MODULE_DROPPED.finditer(text.lower()))):
        item = m["item"]
        before = text.lower()[max(0, m.start() - 80) : m.start()]
        said = list(re.finditer(rf"(?<![\w-]){item}(?:_proj)?(?![\w-])\s*(?:,\s*|\s+and\s+|\s+и\s+)?", before))
        listed = re.findall(r"(?<![\w-])(?:[qkvo]|gate|up|down)(?:_proj)?(?![\w-])", before)
        if not said or len(listed) < 3:
            continue  # no list of modules right before it to take the module out of
        at = max(0, m.start() - 80) + said[-1].start()
        end = max(0, m.start() - 80) + said[-1].end()
        words = text[m.start() : m.end()].strip(" ,;:!—–-")
        text = text[:at] + " " * (end - at) + text[end : m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
        notes.insert(0, f"you said '{words}'; {item} is left out of the modules.")
    return text, notes


# "merge with B — no, with C", "мерж с B, нет, с C": a merge member named, then replaced by another
MEMBER_REPLACED = re.compile(
    rf"(?P<old>#{{3,}})[\s,.…;:!—–-]*(?:(?:{MARKERS.pattern})[\s,.…:;!—–-]*)+(?:(?:with|с|со)\s+)?(?=(?P<new>#{{3,}}))"
)


def _corrected_members(text: str) -> tuple[str, list[str]]:
    """A merge member replaced after a correction marker: the first is blanked (length kept), with a note."""
    notes: list[str] = []
    for m in reversed(list(MEMBER_REPLACED.finditer(mask(text, (PATH,))))):
        new = PATH.match(text, m.start("new"))
        notes.insert(
            0,
            f"you said '{text[m.start('old') : m.end('old')]}', then '{new.group(0) if new else ''}'; the correction was taken.",
        )
        text = text[: m.start()] + " " * (m.start("new") - m.start()) + text[m.start("new") :]
    return text, notes


# word values that a later word of the same kind corrects: "hinge loss … actually make it sigmoid", "bf16 - нет, в
# fp16", "Full finetune, actually no, use DoRA", "LoRA… хотя нет, полное дообучение"
_WORD_VALUES = (
    r"sigmoid|hinge|ipo|robust|bco_pair|sppo_hard|nca_pair|aot_pair|aot|apo_zero|apo_down|exo_pair|discopop|sft",
    "|".join(sorted(map(re.escape, DTYPES), key=len, reverse=True)),
    r"full[- ]?(?:parameter[- ]?)?(?:fine[- ]?tun\w*|finetun\w*|ft\b|training)|q-?lora|lora|dora"
    r"|полн\w*\s+(?:дообучени\w*|файнтюн\w*|обучени\w*)|полный\s+ft|лор[аоуы]\w*|дор[аоуы]\w*",
)


def _corrected_words(text: str) -> tuple[str, list[str]]:
    """A loss type or an output dtype said, then corrected to another of its kind: the first is blanked (length kept)."""
    notes: list[str] = []
    masked = mask(text)
    for kind in _WORD_VALUES:
        taken = re.compile(
            rf"(?<![\w-])(?P<old>{kind})(?![\w-])(?P<between>(?:[^.;?!]|(?<=\d)\.(?=\d)){{0,40}}?)"
            rf"(?P<marker>[\s,;:!—–….-]*(?:(?:{MARKERS.pattern})[\s,;:!—–….-]*)+"
            r"(?:(?:make\s+(?:it|the\s+loss(?:\s+type)?)|(?:switch|change)\s+(?:it\s+)?to|use|go\s+with|just|do|a|an|лучше"
            r"|просто|давай|сделай|возьми|пусть\s+будет|в|to|in|as)\s+)*)"
            rf"(?=(?P<new>{kind})(?![\w-]))"
        )
        for m in reversed(list(taken.finditer(masked))):
            if re.sub(r"\W", "", m["old"]) == re.sub(r"\W", "", m["new"]) or (
                re.search(r"\d", m["between"]) and kind == _WORD_VALUES[1]
            ):
                continue  # the same value again; a dtype with numbers between is no correction of it
            for group in ("marker", "old"):  # the value and the words that take it back; what is between stays
                text = text[: m.start(group)] + " " * (m.end(group) - m.start(group)) + text[m.end(group) :]
            notes.insert(0, f"you said '{m['old']}', then '{m['new']}'; the correction was taken.")
    return text, notes


# "сначала DPO? нет, сначала SFT на a, потом DPO", "first dpo? no, first sft": a stage order asked, then answered
QUESTIONED_FIRST = re.compile(
    r"(?<![\w-])(?P<old>(?:first|сначала|вначале)\s+[^?.;!]{1,80}\?)\s*(?:no|nope|нет|не)\b[\s,.:;!—–-]*"
    r"(?=(?:first|сначала|вначале)\s)"
)


# "sft on a then dpo on b, actually swap the order", "…, нет, поменяй порядок": the two stages said run the other way
ORDER_SWAPPED = re.compile(
    r"[\s,.;:!—–-]*(?:(?:no|nope|нет|хотя нет|actually|wait|sorry|oops|ой|а)[\s,.;:!—–-]+)*"
    r"(?:(?:swap|reverse|flip|invert)\s+(?:the\s+)?(?:order|two|stages|them)(?:\s+of\s+(?:the\s+)?(?:stages|two))?"
    r"|(?:do|run)\s+(?:it|them)\s+in\s+(?:the\s+)?(?:reverse|opposite|other)\s+order|the other way (?:round|around)"
    r"|in\s+(?:the\s+)?(?:reverse|opposite)\s+order|(?:поменя\w*|переставь\w*)\s+(?:их\s+|этапы\s+)?(?:порядок|местами)"
    r"|в\s+обратном\s+порядке|наоборот)(?![\w-])[\s.!]*$"
)


def order_swapped(goal: str) -> bool:
    """Whether the goal ends by asking its stages to run the other way round (not two values: see SWAPPED)."""
    text = mask(reading_text(goal))
    text, _ = _swapped_back(text)
    return bool(ORDER_SWAPPED.search(text))


def _order_swapped(text: str) -> tuple[str, list[str]]:
    """'…, actually swap the order': the words are blanked (length kept), so they are no correction of a value;
    the planner runs the two stages the other way (offline_planner), and says so."""
    m = ORDER_SWAPPED.search(mask(text))
    if m is None:
        return text, []
    return text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :], []


SHARDS_TAKEN_BACK = re.compile(
    r"(?P<old>(?:in\s+)?\d+(?:\.\d+)?\s*(?:gb|mb|гб|мб|gib|mib)\s+shards?|shards?\s+(?:of\s+)?\d+(?:\.\d+)?\s*(?:gb|mb|gib|mib)"
    r"|(?:с\s+)?шард\w*\s+по\s+\d+(?:[.,]\d+)?\s*(?:gb|mb|гб|мб|гиг\w*))"
    rf"[\s,.;:!—–-]*(?:(?:no|нет)\s+)?(?:(?:{MARKERS.pattern})[\s,.;:!—–-]*)+(?:(?:make\s+it|just|лучше|просто|давай)\s+)?"
    r"(?=(?:one|a single|single|одн\w*|в\s+один|единым)\s+(?:safetensors?\s+)?(?:file|файл\w*)|unsharded|без\s+шард)"
)


def _corrected_sharding(text: str) -> tuple[str, list[str]]:
    """'2GB shards no actually one file': the shard size taken back for one file is blanked (length kept)."""
    notes: list[str] = []
    for m in reversed(list(SHARDS_TAKEN_BACK.finditer(mask(text)))):
        text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
        notes.insert(0, f"you said '{m['old'].strip()}', then one file; the correction was taken.")
    return text, notes


# "вес партнёра 0.4, а нашей 0.6 — нет, наоборот", "lr 1e-5 for SFT and 2e-4 for DPO, no, the other way round"
SWAPPED = re.compile(
    r"(?P<a>(?<![\w.])\d*\.?\d+(?:e-?\d+)?%?)(?P<mid>(?:#++|[^\d;#]){1,48}?)(?P<b>(?<![\w.])\d*\.?\d+(?:e-?\d+)?%?)(?![\w]|\.\d)"
    r"(?P<marker>[\s,.;:!—–-]*(?:(?:no|нет|хотя нет|sorry|oops|ой|actually)[\s,.;:!—–-]*)?(?:наоборот|the other way (?:round|around)"
    r"|vice versa|reversed|swap(?:ped)? them|поменяй\w* (?:их )?местами))(?![\w])",
    re.IGNORECASE,
)


def _swapped_back(text: str) -> tuple[str, list[str]]:
    """'A 0.4, B 0.6 — нет, наоборот': the two values just said change places (the text keeps its length, the
    words 'нет, наоборот' are blanked), so A gets 0.6 and B 0.4."""
    notes: list[str] = []
    for m in reversed(list(SWAPPED.finditer(mask(text)))):
        a, b = text[m.start("a") : m.end("a")], text[m.start("b") : m.end("b")]
        swapped = b + text[m.end("a") : m.start("b")] + a
        end = m.end("marker")
        restated = re.match(  # "70/30, ой, наоборот, 30/70": the swapped pair said again is the same pair
            rf"[\s,.;:!—–-]*{re.escape(b)}\s*(?:/|:|to|на|к)\s*{re.escape(a)}(?![\w]|\.\d)", text[end:]
        )
        if restated:
            end += restated.end()
        text = text[: m.start("a")] + swapped + " " * (end - m.end("b")) + text[end:]
        notes.insert(0, f"you said {a} and {b}, then 'the other way round': {b} and {a} were swapped.")
    return text, notes


_RATIO = r"\d*\.?\d+(?:\s*%)?(?:(?:\s*(?:/|:|,|and|и|на|к|to)\s*|\s+)\d*\.?\d+(?:\s*%)?)+"  # ("0.3 0.7" too)
RATIO_TAKEN_BACK = re.compile(
    rf"(?<![\w.])(?P<old>{_RATIO})(?!\w|\.\d)"
    # "60 на 40 в нашу пользу, ой, нет, 65 на 35": who is favoured stays with the new ratio
    r"(?P<fav>\s*,?\s*(?:в\s+(?:нашу|мою|его|их)\s+пользу|in\s+(?:our|my|their)\s+favou?r|ours|mine|нам|мне"
    r"|(?:в\s+пользу|in\s+favou?r\s+of|favou?ring)\s+(?:the\s+)?(?:#{3,}|[\w-]+)))?"
    # "weights 0.8 and 0.2 linear, no wait, 0.6 and 0.4": the method said between stays
    rf"(?P<kept>\s+(?:{MERGE_METHOD_WORDS}|linear(?:ly)?|линейн\w*)(?![\w-]))?"
    rf"[\s?.!…,;:—–-]*(?:(?:but|но|а|oh|ah)\s+)?(?P<marker>(?:(?:{MARKERS.pattern})[\s,.:;!—–-]*)+)"
    rf"(?:(?:let'?s\s+(?:do|use|go with|say)|давай(?:те)?|лучше|use|make (?:it|that)|сделай|пусть|будет)\s+)*"
    rf"(?=(?P<new>{_RATIO})(?!\w|\.\d))"
)


# "0.9 for the partner... sorry I meant 0.1 for the partner", "партнёру 0.7, ой, нет, 0.3": one member's weight, redone
WEIGHT_TAKEN_BACK = re.compile(
    rf"(?:(?P<who>{MEMBER_WORD}|#{{3,}}|(?<![\w-])(?:weight|вес(?:ом)?))\s*(?:[:=]|\s(?:in\s+)?(?:at|@))?\s*)?(?<![\w.])"
    r"(?P<old>\d*\.?\d+\s*%?)(?![\w.])"  # ("merge with B at 0.3 -- no, 0.35")
    rf"(?P<owner>\s*(?:for|to|на|для)\s+(?:the\s+)?(?:{MEMBER_WORD}|#{{3,}}))?[\s?.!…,;:—–-]*"
    rf"(?:(?:but|но|а|oh|ah)\s+)?(?:(?:{MARKERS.pattern})[\s,.:;!—–-]*)+"
    rf"(?:(?:let'?s\s+(?:do|use|go with|say)|давай(?:те)?|лучше|use|make (?:it|that)|сделай|пусть)\s+)*"
    rf"(?=(?P<new>\d*\.?\d+\s*%?)(?![\w.]))"
)


# "наша 0.7, B 0.3 — хотя нет, сделай 0.5 и 0.5": the members' weights said again as a bare list, in the same order
NAMED_LIST_REDONE = re.compile(
    rf"(?P<old>(?:(?:{MEMBER_WORD}|#{{3,}})\s*[:=]?\s*\d*\.?\d+\s*%?\s*(?:,|and|и)?\s*){{2,}})[\s.…;:!—–-]*"
    rf"(?:(?:but|но|а|oh|ah)\s+)?(?:(?:{MARKERS.pattern})[\s,.:;!—–-]*)+"
    rf"(?:(?:let'?s\s+(?:do|use|go with|say)|давай(?:те)?|лучше|use|make (?:it|that|them)|сделай|пусть)\s+)*"
    r"(?=(?P<new>\d*\.?\d+\s*%?(?:\s*(?:/|,|and|и)\s*\d*\.?\d+\s*%?)+)(?![\w.]))"
)


LIST_THEN_EACH = re.compile(
    r"(?<![\w.])(?P<old>\d*\.?\d+\s*%?(?:\s*(?:/|,|and|и)\s*\d*\.?\d+\s*%?)+)[\s,.…;:!—–-]*"
    rf"(?:(?:{MARKERS.pattern})[\s,.:;!—–-]*)+"
    r"(?=(?P<new>\d*\.?\d+\s*%?\s+(?:each|apiece|каждой|каждому|обеим|обоим)|по\s+\d*\.?\d+\s*%?))"
)


def _corrected_ratios(text: str) -> tuple[str, list[str]]:
    """'merge with B 70/30, no wait, 60/40', 'слей 50 на 50, хотя нет, 70 на 30': merge weights said again after a
    correction marker; the first ones are blanked (the text keeps its length), so only the later are planned."""
    from agent.goal_numbers import _MERGING

    notes: list[str] = []
    if not _MERGING.search(text):
        return text, notes
    for m in reversed(list(RATIO_TAKEN_BACK.finditer(mask(text)))):
        count = [len(re.findall(r"\d*\.?\d+", m[g])) for g in ("old", "new")]
        if count[0] != count[1] or re.search(
            r"(?:layers?|слои|слоях|слоя|blocks?|rank|ранг|lr|epochs?|эпох\w*)\s*$",
            text[max(0, m.start() - 16) : m.start()],
        ):
            continue  # "layers 2,3 — no, 4,5" is a selection; weights are corrected by as many weights
        if m["fav"] and len(m["new"]) <= len(m["old"]):  # the new ratio takes the old one's place, by its favour words
            new_end = m.end("new")
            text = (
                text[: m.start("old")]
                + m["new"].ljust(len(m["old"]))
                + text[m.start("fav") : m.end("fav")]
                + " " * (new_end - m.end("fav"))
                + text[new_end:]
            )
        elif m["kept"] and not m["fav"]:
            kept = text[m.start("kept") : m.end("kept")]
            text = (
                text[: m.start()]
                + " " * (m.start("kept") - m.start())
                + kept
                + " " * (m.start("new") - m.end("kept"))
                + text[m.start("new") :]
            )
        else:
            text = text[: m.start()] + " " * (m.start("new") - m.start()) + text[m.start("new") :]
        notes.insert(
            0,
            f"merge weights {m['new'].strip()}: you said {m['old'].strip()}, then {m['new'].strip()}; "
            "the correction was taken.",
        )
    for m in reversed(list(LIST_THEN_EACH.finditer(mask(text)))):  # "0.6 and 0.4, no wait, 0.5 each"
        text = text[: m.start()] + " " * (m.start("new") - m.start()) + text[m.start("new") :]
        notes.insert(
            0,
            f"merge weights {m['new'].strip()}: you said {m['old'].strip()}, then {m['new'].strip()}; the correction was taken.",
        )
    for m in reversed(list(NAMED_LIST_REDONE.finditer(mask(text)))):  # «наша 0.7, B 0.3 — хотя нет, 0.5 и 0.5»
        said_old = text[m.start("old") : m.end("old")]  # (the person's own words: a masked path is never written back)
        old_values = list(re.finditer(r"(?<![\w.#/])\d*\.?\d+(?:\s*%)?(?![\w/])", mask(said_old)))
        new_values = re.findall(r"\d*\.?\d+(?:\s*%)?", m["new"])
        if len(old_values) != len(new_values):
            continue  # as many weights again, or it is not the list redone
        if all(len(n) <= len(o.group(0)) for n, o in zip(new_values, old_values, strict=True)):
            # each new weight written where the old one stood, beside its member; the list after the marker goes
            pieces, last = [], 0
            for n, o in zip(new_values, old_values, strict=True):
                pieces += [said_old[last : o.start()], n.ljust(len(o.group(0)))]
                last = o.end()
            redone = "".join(pieces) + said_old[last:]
            text = text[: m.start("old")] + redone + " " * (m.end("new") - m.end("old")) + text[m.end("new") :]
        else:
            blanked = "".join(
                " " * len(ch) if any(o.start() <= i < o.end() for o in old_values) else ch
                for i, ch in enumerate(said_old)
            )
            text = text[: m.start("old")] + blanked + " " * (m.start("new") - m.end("old")) + text[m.start("new") :]
        notes.insert(0, f"merge weights {m['new'].strip()}: you said {said_old.strip()}, then {m['new'].strip()}; "
                        "the correction was taken.")  # fmt: skip
    masked = mask(text)
    for m in reversed(list(WEIGHT_TAKEN_BACK.finditer(masked))):
        if not (m["who"] or m["owner"]) or re.search(
            r"(?:layers?|слои|слоях|слоя|blocks?|rank|ранг|lr|epochs?|эпох\w*|beta|бет\w*|alpha|альф\w*|density"
            r"|плотност\w*)\s*[:=]?\s*$",
            masked[max(0, m.start("old") - 16) : m.start("old")],
        ):
            continue  # a weight with no member named is a ratio's or another setting's
        text = text[: m.start("old")] + " " * (m.start("new") - m.start("old")) + text[m.start("new") :]
        notes.insert(
            0,
            f"merge weights {m['new'].strip()}: you said {m['old'].strip()}, then {m['new'].strip()}; "
            "the correction was taken.",
        )
    masked = mask(text)
    for m in reversed(list(NAMED_WEIGHT_REDONE.finditer(masked))):  # "ours 0.5 and partner 0.5, wait no, partner 0.3"
        who = re.escape(text[m.start("who") : m.end("who")])
        said = list(re.finditer(rf"(?<![\w#-]){who}\s*[:=]?\s*(?P<old>\d*\.?\d+\s*%?)(?![\w.])", masked[: m.start()]))
        # "70/30, oh wait, partner 60": the ratio is taken back and the member's share said after it stands
        ratio = RATIO_BEFORE_REDONE.search(masked, max(0, m.start() - 40), m.start())
        if ratio and (not said or said[-1].start() < ratio.start()):
            said = [ratio]
        if not said or m.start() - said[-1].start() > 120:
            continue
        old = said[-1]
        text = text[: old.start()] + " " * (m.start("who") - old.start()) + text[m.start("who") :]
        notes.insert(
            0,
            f"merge weights {m.group('who')} {m['new'].strip()}: you said {old.group(0).strip()}, "
            f"then {m.group('who')} {m['new'].strip()}; "
            "the correction was taken.",
        )
    masked = mask(text)
    for m in reversed(list(VALUE_OWNER_REDONE.finditer(masked))):  # "40% mine, wait no, 30% mine"
        who = re.escape(masked[m.start("who") : m.end("who")])
        said = list(
            re.finditer(rf"(?<![\w.])\d*\.?\d+\s*%?\s+(?:(?:for|to|для|на)\s+)?{who}(?![\w#])", masked[: m.start()])
        )
        if not said or m.start() - said[-1].start() > 120:
            continue
        old = said[-1]
        text = text[: old.start()] + " " * (m.start("new") - old.start()) + text[m.start("new") :]
        notes.insert(
            0,
            f"merge weights {m['new'].strip()} {m['who']}: you said {_said_words(old)}, then {m['new'].strip()} "
            f"{m['who']}; the correction was taken.",
        )
    return text, notes


def _said_words(m: re.Match[str]) -> str:
    """The words a match covers, with their spacing made single (a blanked correction leaves runs of spaces)."""
    return " ".join(m.group(0).split())


# "40% mine, wait no, 30% mine": after a marker, a share said again with its owner after it
VALUE_OWNER_REDONE = re.compile(
    rf"[\s,.…;:!—–-]*(?:(?:{MARKERS.pattern})[\s,.:;!—–-]*)+(?P<new>\d*\.?\d+\s*%?)\s+(?:(?:for|to|для|на)\s+)?"
    rf"(?P<who>{MEMBER_WORD}|#{{3,}})(?![\w#])"
)


# "ours 0.5 and partner 0.5, wait no, partner 0.3": after a marker, a member named again with its new weight
RATIO_BEFORE_REDONE = re.compile(
    r"(?<![\w.#])\d+(?:\.\d+)?\s*%?\s*(?:/|:)\s*\d+(?:\.\d+)?\s*%?(?=[\s,.…;:!—–-]*(?:(?:oh|ah|ой|ах|ай)[\s,.…;:!—–-]*)?$)"
)
NAMED_WEIGHT_REDONE = re.compile(
    rf"[\s,.…;:!—–-]*(?:(?:{MARKERS.pattern})[\s,.:;!—–-]*)+(?P<who>{MEMBER_WORD}|#{{3,}})\s*[:=]?\s*"
    r"(?P<new>\d*\.?\d+\s*%?)(?![\w.])"
)


def _corrected_selections(text: str) -> tuple[str, list[str]]:
    """'layers 2 through 4 -- sorry, 2 through 5', 'a linear schedule, actually cosine', 'слои 2-4, точнее 2-6':
    a layer selection or schedule right before a correction marker is blanked and the one after it kept.

    The text keeps its length (the fact reader's positions hold); the layer noun or 'schedule' is put back
    before the corrected value so it reads on its own."""
    from agent.goal_layers import find_layer_selections

    notes: list[str] = []
    for _ in range(4):  # one correction per pass; positions move after each
        masked = mask(text)
        done = False
        for marker in MARKERS.finditer(masked):
            try:
                selections = find_layer_selections(masked, None if "%" in masked else 10**6)
            except Exception:
                selections = []
            old = next(
                (
                    s
                    for s in selections
                    if s.end <= marker.start() and CORRECTED_GAP.fullmatch(masked[s.end : marker.start()])
                ),
                None,
            )
            if old is None:  # "the first six layers w/ rank 4 — wait, the first four": the same shape again
                earlier = [  # a path counts as one word however long it is
                    s
                    for s in selections
                    if s.end <= marker.start() and len(re.sub(r"#+", "#", masked[s.end : marker.start()])) <= 40
                ]
                shape = re.match(r"(?:the\s+)?(\w+)", earlier[-1].phrase) if earlier else None
                again = re.match(r"[\s,.;:!—–-]*(?:the\s+)?(\w+)", masked[marker.end() :])
                if shape and again and shape.group(1) == again.group(1) and not re.fullmatch(r"\d+", shape.group(1)):
                    old = earlier[-1]
            adjacent = old is not None and CORRECTED_GAP.fullmatch(masked[old.end : marker.start()]) is not None
            if old is not None:
                head = re.match(r"\D*?(?=\d|\b(?:first|last|top|bottom|перв|последн|верхн|нижн))", old.phrase)
                rest = masked[marker.end() :]
                lead = CORRECTED_GAP.match(rest).end()
                while (more := MARKERS.match(rest, lead)) and more.end() > lead:  # «ой, нет, слои 0-5»: two markers
                    lead = CORRECTED_GAP.match(rest, more.end()).end()
                tail = rest[lead : lead + 48]
                noun = "слоях " if re.search(r"[а-я]", old.phrase) else "layers "
                for candidate in (tail, (head.group(0) if head else "") + tail, noun + tail) if adjacent else ():
                    try:
                        found = find_layer_selections(candidate, None if "%" in candidate else 10**6)
                    except Exception:
                        found = []
                    added = len(candidate) - len(tail)  # the layer noun put back before the new numbers
                    if found and found[0].start <= added:
                        new_start = marker.end() + lead
                        blank = new_start - old.start - added
                        if blank < 0:
                            continue
                        text = text[: old.start] + " " * blank + candidate[:added] + text[new_start:]
                        notes.append(
                            f"layers: you said '{old.phrase}', then '{candidate[: found[0].end]}'; "
                            "the correction was taken."
                        )
                        done = True
                        break
                said = re.match(r"[^,;.—–()]*?(?=\s*(?:[,;.—–()]|\s-+\s|$))", tail)
                noun_after = re.search(r"\b(?:layers?|blocks?|сло\w*|блок\w*)\s*$", old.phrase)
                if not done and said and said.group(0).strip() and noun_after:
                    # "the first six layers — wait, the first four": the new words with the layer noun after them
                    words = re.sub(r"^(?:the|a)\s+", "", said.group(0).strip())  # room for the noun after them
                    new_phrase = words + " " + noun_after.group(0).strip()
                    new_end = marker.end() + lead + said.end()
                    try:
                        found = find_layer_selections(new_phrase, 10**6)
                    except Exception:
                        found = []
                    if found and found[0].start == 0 and found[0].end == len(new_phrase):
                        if len(new_phrase) <= new_end - marker.start():  # the old selection blanked, the new one
                            text = (  # written over the marker and its words; what lies between is kept
                                text[: old.start]
                                + " " * (old.end - old.start)
                                + text[old.end : marker.start()]
                                + new_phrase.rjust(new_end - marker.start())
                                + text[new_end:]
                            )
                            notes.append(
                                f"layers: you said '{old.phrase}', then '{new_phrase}'; the correction was taken."
                            )
                            done = True
            if done:
                break
            # "q_proj, k_proj... actually just q_proj and v_proj", "slerp -- no, TIES": the list or method after wins
            for pattern, joiner in ((MODULE_NAME, r"\s*(?:,|and|и|&|/)\s*"), (MERGE_METHOD_RE, None)):
                before = [m for m in pattern.finditer(masked) if m.end() <= marker.start()]
                if not before or not CORRECTED_GAP.fullmatch(masked[before[-1].end() : marker.start()]):
                    continue
                first = before[-1]
                for m in reversed(before[:-1]):  # the whole list said before the marker
                    if joiner and re.fullmatch(joiner, masked[m.end() : first.start()]):
                        first = m
                    else:
                        break
                lead = re.match(
                    r"[\s,.;:!-]*(?:(?:just|only|use|make it|go with|via|with|using|through|только|просто|лучше|давай|через)\s+)*",
                    masked[marker.end() :],
                )
                if not pattern.match(masked, marker.end() + lead.end()) and not (
                    pattern is MODULE_NAME
                    and re.match(
                        r"all(?:\s+the)?\s+linear|all-linear|все\s+линейн\w*", masked[marker.end() + lead.end() :]
                    )
                ):
                    continue
                new_start = marker.end() + lead.end()
                said = masked[first.start() : before[-1].end()]
                text = text[: first.start()] + " " * (new_start - first.start()) + text[new_start:]
                notes.append(f"you said '{said}', then corrected it; the correction was taken.")
                done = True
                break
            if done:
                break
            before = [m for m in SCHEDULER.finditer(masked) if m.end() <= marker.start()]
            if before and CORRECTED_GAP.fullmatch(masked[before[-1].end() : marker.start()]):
                rest = masked[marker.end() :]
                new = re.match(
                    r"[\s,.;:!-]*(?:(?:use|make it|go with|лучше|давай)\s+)?(?:an?\s+)?(" + _SCHED_NAMES + r")\b", rest
                )
                if new:
                    old_m = before[-1]
                    name = next(n for n, p in SCHEDULERS if re.fullmatch(p, new.group(1)))
                    old_name = scheduler_name(old_m)
                    word_at = marker.end() + new.start(1)
                    filler = "schedule "
                    if word_at - old_m.start() < len(filler):
                        continue
                    text = (
                        text[: old_m.start()] + " " * (word_at - old_m.start() - len(filler)) + filler + text[word_at:]
                    )
                    notes.append(f"schedule: you said {old_name}, then {name}; the correction was taken.")
                    done = True
                    break
        if not done:
            break
    return _unmatched_open_blanked(text), notes


def _unmatched_open_blanked(text: str) -> str:
    """'layers (4-7), no wait, 3-8': a correction that blanked the ')' leaves its '(' open, which would make every
    word after it a remark in brackets; that '(' is blanked too (length kept)."""
    depth_at: list[int] = []
    for i, ch in enumerate(text):
        if ch == "(":
            depth_at.append(i)
        elif ch == ")" and depth_at:
            depth_at.pop()
    for i in depth_at:
        text = text[:i] + " " + text[i + 1 :]
    return text


SOFT_MARKER = re.compile(
    r"make (?:it|that)|let'?s|go with|rather|\bhm+\b|\bхм+\b|\ber+\b|\buh+\b|\bum+\b|\bэ|то есть|давай"
)


def unread_corrections(goal: str, facts: list[Fact]) -> list[str]:
    """Correction markers ('sorry', 'I meant', 'точнее', 'no wait') that no reader took: what they correct is
    unknown, so the plan would hold the first value silently. Each is returned with its words around it."""
    text = mask(_corrected_spans(reading_text(retract(goal)))[0])
    unread: list[str] = []
    last_end: int | None = None
    for m in MARKERS.finditer(text):
        if SOFT_MARKER.match(m.group(0)) or any(f.start <= m.start() < f.end for f in facts):
            continue
        if (
            m.group(0).strip() == "actually"
            and not re.search(r"[,;:(-]\s*$", text[: m.start()])
            and not re.match(r"\s*,", text[m.end() :])
        ):
            continue  # "I actually want DPO": not a correction
        after = text[m.end() : m.end() + 40]
        if re.match(r"[\s,.:;!-]*(?:" + NEGATED + r")", after) or re.match(
            r"[\s,.:;!-]*(?:(?:just|only|plain|regular|normal|simple|after all|просто|только|обычн\w*|прост\w*|вс[её]-?таки)\s+)?"
            + r"(?:"
            + STAGE_START
            + r")",
            after,
        ):
            continue  # "SimPO? no, skip SimPO", "IPO… нет, лучше обычный DPO": a method taken back or replaced
        if not text[: m.start()].strip() or (last_end is not None and m.start() - last_end <= 12):
            last_end = m.end()
            continue  # "sorry, I meant": one correction
        last_end = m.end()
        left = re.search(r"(?:\S+\s+){0,4}$", goal[: m.start()]).group(0)
        right = re.match(r"(?:\s*\S+){0,4}", goal[m.end() :]).group(0)
        unread.append((left + goal[m.start() : m.end()] + right).strip())
    return unread


def _value_text(fact: Fact, text: str) -> str:
    if fact.slot == "method":
        return _method_word(fact, text)
    tail = text[: fact.end]
    number = number_before(tail, fact.end)
    if number is not None and number.end == fact.end:
        return text[number.start : number.end]
    if fact.slot in ("epochs", "max_steps"):  # "3 epochs": the phrase ends in the keyword
        m = re.search(rf"{DIGITS}\s*\S+$|[a-zа-я-]+(?:\s+[a-zа-я-]+)?\s+\S+$", text[fact.start : fact.end])
        if m:
            return m.group(0)
    return _show(fact.value)


def _method_word(fact: Fact, text: str) -> str:
    hits = [m for _, pattern in PREFERENCE_WORDS for m in re.finditer(pattern, text[fact.start : fact.end])]
    return max(hits, key=lambda m: m.start()).group(0) if hits else str(fact.value)


STAGE_START = (
    r"(?:a\s+|an\s+|the\s+)?(?:q?lora|dora|sft|dpo|ipo|orpo|simpo|kto|ppo|grpo|rloo|fine[- ]?tun|train|merg|blend|"
    + MERGE_METHOD_WORDS
    + r"|дообуч|обуч|слей|смешай|объедин|смерж|смердж|влей|вмерж|fold)"
)
RETRACT = re.compile(
    r"(?:scratch (?:all )?(?:that|this)|strike that|forget (?:all )?(?:that|it|about that|this)|start over|never ?mind"
    r"|cancel (?:that|this)|забудь(?:те)?(?: (?:это|про это|вс[её]))?|отбой|отмена|начн\w+ заново|нет,? не так)"
    r"[\s,.:;!-]*(?:(?:just|only|instead|simply|rather|let'?s|просто|только|сразу|лучше|вместо этого|давай)[\s,]+)*"
    r"(?:(?:do|run|use|make it|сделай|запусти)\s+)?(?=" + STAGE_START + ")"
    # a softer "actually no" retracts only when a negated or "just …" stage follows: "do SFT, actually no, skip SFT"
    r"|(?:actually,?\s+no|no,?\s+wait|wait,?\s+no|on second thought|хотя нет|нет,?\s+стоп|ой,?\s+нет|а,?\s+нет"
    r"|(?:or|or maybe),?\s+actually|or rather|или лучше|а лучше|или вернее)"
    r"[\s,.:;!-]*(?=(?:" + NEGATED + r")" + STAGE_START + r"|(?:just|only|просто|только|сразу)\s+" + STAGE_START + ")"
    # "dpo beta 0.1 then simpo... no, just simpo": a bare "no" or "wait" retracts only when "just <stage>" follows
    r"|(?:\bno\b|\bnope\b|\bwait\b|\bsorry\b|(?<![а-я])нет(?![а-я])|(?<![а-я])стоп(?![а-я-]))"
    r"[\s,.:;!-]*(?=(?:just|only|просто|только|сразу)\s+" + STAGE_START + ")"
)


def retract(goal: str) -> str:
    """'SFT then DPO. Scratch that, just DPO', 'забудь это, сразу DPO': a plan taken back is no longer stated.

    What came before the last such marker (one followed by a new stage) is blanked, same length so positions
    hold, for the fact reader and the planner alike; a value correction ("rank 64, scratch that, 16") is not this."""
    last = next(reversed(list(RETRACT.finditer(mask(reading_text(goal))))), None)
    if last is not None:
        goal = " " * last.end() + goal[last.end() :]
    for m in reversed(list(QUESTIONED_FIRST.finditer(mask(reading_text(goal))))):  # "сначала DPO? нет, сначала SFT"
        goal = goal[: m.start()] + " " * (m.end() - m.start()) + goal[m.end() :]
    return goal


# where a clause ends and the next stage's words begin (as the planner splits stages)
SEGMENT_SPLIT = re.compile(
    r"[;!?](?=\s|$)|\.(?=\s|$)|…|\s(?:→|->|=>)\s|(?:^|\s)[•·▪◦]\s*|(?:^|\s)\(?\d\)\s"
    r"|\b(?:and then|then|after that|afterwards|next|finally|followed by)\b"
    r"|(?:сначала|потом|затем|после этого|после чего|в конце|наконец|далее)"
)
SCOPED_SLOTS = {*SLOT_NAMES, *SWITCHES, "layers", "dataset", "adapter", "lr_scheduler_type", "reference", "distributed"}
# data described, not a method named: "some chats", "our support conversations", "диалоги" (an SFT stage's data)
# preference data named as data ("preference pairs", "пары предпочтений"), which a DPO stage trains on
PAIRS_DATA = re.compile(
    r"preference pairs|preferences?\b(?!\s+(?:tuning|optimi|training))|(?:пар\w*\s+)?предпочтени\w*"
)
CHAT_DATA = re.compile(
    r"\b(?:chats?|conversations?|dialogues?|dialogs?|chat\s+logs?|transcripts|demonstrations)\b"
    r"|(?<![а-я])(?:диалог\w*|переписк\w*|чаты|чатов|чатами|разговор\w*)"
)
GENERIC_TRAINING = re.compile(
    r"\bfine[- ]?tun(?!ing_type)\w*|\btrain(?!er\b|_dataset)\w*|\binstruction[- ]tun\w*|дообуч\w*|(?<![а-я])обуч(?:и|ить|ай|им)\b"
)
VERB_GAP = re.compile(
    r"\s*(?:(?:it|them|the model|this model|модель|ее|его)\s+)?(?:(?:to|with|using|via|by|through|через|с помощью"
    r"|методом|с|на)\s+)?(?:(?:a|an|the)\s+)?"
)
# a training word used as a noun's modifier ("training batch size", "the training data", "скорость обучения"):
# it names a setting or the data, not a stage to run
TRAINING_NOUN = re.compile(
    r"\b(?:train(?:ing)?|fine[- ]?tuning)[\s_-]+(?:batch\w*|data\w*|set|examples?|samples?|steps?|loss|rate|length|split"
    r"|runs?|time|budget|config\w*|args|arguments|hyper\w*|params?|parameters|epochs?|precision|dtype|recipe|script)\b"
    r"|(?:размер\w*(?:\s+батча)?|батч\w*|скорост\w*|данн\w*|набор\w*|шаг\w*|эпох\w*|врем\w*|конфиг\w*|параметр\w*"
    r"|выборк\w*|лосс\w*|функци\w* потерь)\s+(?:для\s+)?(?:до)?обучени\w*"
    # "my two finetunes A and B", "both fine-tunes": models, named by what made them (no stage)
    r"|\b(?:my|our|the|these|those|two|three|both|\d)\s+(?:(?:two|three|own|lora|sft|dpo|\w+-?ed)\s+)?fine-?tunes\b"
    r"|(?<![а-я])(?:мои|наши|эти|два|две|три|оба)\s+(?:(?:два|две|три)\s+)?файнтюн(?:а|ы|ов)\b"
)


def training_noun(text: str, start: int, end: int) -> bool:
    """Whether the training word at start..end only qualifies a noun ("training batch size", "данные обучения")."""
    return any(m.start() <= start and end <= m.end() for m in TRAINING_NOUN.finditer(text))


# a stage word followed straight by a value of its own ("для sft 3 эпохи", "for dpo: beta 0.2")
OWN_VALUES_AFTER = re.compile(
    r"\s*:?\s*(?:(?:lr|learning rate|rank|ранг\w*|r|beta|бет\w*|alpha|альф\w*|epochs?|эпох\w*|batch|батч\w*)\s*[=:]?\s*)?"
    r"(?:\d|(?:one|two|three|four|five|одн\w*|один|два|две|три|четыре|пять)(?![\w]))"
    # "…, на SFT все слои", "…, for SFT all layers": a layer selection of the stage's own
    r"|\s*:?\s*(?:(?:only|just|только|лишь)\s+)?(?:(?:all|every|все|всех|всём|всем)\s+)?(?:the\s+)?(?:layers|слои|слоях|слоям)\b"
)
FOR_STAGE = re.compile(r"(?:for|in|on|для|в|на)\s+(?:the\s+|it'?s\s+|its\s+)?(?:stage\s+|этапа?\s+)?")


# "DPO as full fine-tuning", "DPO (full fine-tune)", "ДПО полным дообучением": how that stage trains, no SFT
FULL_AS = re.compile(
    r"(?:\s*(?:on|на|with|с)\s+#{3,})?[\s(,:—-]*(?:(?:as|with|using|via|by|в\s+виде|как|через)\s+)?(?:an?\s+)?(?:full(?:y)?|full[- ]parameter"
    r"|полн\w*|полнопараметрич\w*)[\s-]*(?:parameter\s+|weights?\s+)?"
)


def _scope(facts: list[Fact], masked: str) -> None:
    """Which training stage each stated value is for: "rank 16 for the SFT and rank 8 for the DPO adapter",
    "SFT with lr 2e-4, then DPO with beta 0.2 and lr 5e-6 for it", "SFT с рангом 16, потом DPO с рангом 8".

    A clause (cut where the planner cuts stages) that names one training method gives its values to that
    stage; in a clause naming two, "for/для <method>" after a value names its stage, else a value belongs to
    the method named before it. Unscoped values may go to any stage."""
    words: list[tuple[int, int, str]] = []
    pairs = [m.span() for m in PAIRS_DATA.finditer(masked)]
    named_too = any(
        not any(s <= m.start() < e for s, e in pairs) for _, p in PREFERENCE_WORDS for m in re.finditer(p, masked)
    )  # "i have chats in a and preference pairs in b. sft, then dpo": the pairs name data, the DPO its stage
    for f in facts:
        if f.slot == "method" and named_too and any(s <= f.start < e for s, e in pairs):
            continue
        if f.slot == "method":
            words.append((f.start, f.end, "dpo" if f.value == "ipo" else f.value))
        elif f.slot == "stage":
            words.append((f.start, f.end, "sft"))
    named = [(m, "sft") for m in re.finditer(SFT_WORDS, masked)]
    named += [
        (m, "dpo" if method == "ipo" else method)
        for method, p in PREFERENCE_WORDS
        for m in re.finditer(p, masked)
        if not (named_too and any(s <= m.start() < e for s, e in pairs))
    ]
    referred = [(f.start, f.end) for f in facts if f.slot == "reference"]
    for m, scope in named:  # "rank 8 for the DPO adapter": the adapter a DPO stage trains
        if any(s <= m.start() < e for s, e in referred) or referred_stage(masked, m.start(), m.end()):
            continue  # "the same lr as the SFT", "a tenth of the sft lr": that stage is referred to
        if not any(s <= m.start() < e for s, e, _ in words) and not negated(masked, m.start()):
            words.append((m.start(), m.end(), scope))
    preference = [w for w in words if w[2] != "sft"]
    for m in GENERIC_TRAINING.finditer(masked):  # "fine-tune on a.jsonl and DPO on b.jsonl": an SFT stage too
        if any(s <= m.start() < e for s, e, _ in words) or negated(masked, m.start()):
            continue
        if training_noun(masked, m.start(), m.end()):
            continue
        if re.fullmatch(r"trained|training|обучен\w*|обучени\w*", m.group(0)) and any(
            w[1] <= m.start() and not SEGMENT_SPLIT.search(masked[w[1] : m.start()]) for w in preference
        ):
            continue  # "DPO on prefs: trained with lr 5e-7": how the preference stage was trained
        if names_a_thing(masked, m.start(), m.end()) or any(
            (w[0] >= m.end() and VERB_GAP.fullmatch(masked[m.end() : w[0]]))
            or (w[1] <= m.start() and re.fullmatch(r"[\s-]*", masked[w[1] : m.start()]))
            or (w[1] <= m.start() and FULL_AS.fullmatch(masked[w[1] : m.start()]))
            for w in preference
        ):
            continue  # "train it with DPO", "DPO training": how the preference stage runs
        words.append((m.start(), m.end(), "sft"))
    bounds = [0, *(m.end() for m in SEGMENT_SPLIT.finditer(masked)), len(masked) + 1]
    for lo, hi in pairwise(bounds):
        here = sorted(w for w in words if lo <= w[0] < hi)
        inside = [f for f in facts if f.slot in SCOPED_SLOTS and lo <= f.start < hi and f.start < 10**9]
        for f in list(inside):  # "the SFT lr 1e-5", "DPO's beta 0.2": the stage named right before the setting
            said_for = re.search(  # (also in a clause of its own: "…, then DPO on b; the SFT rank is 32")
                r"(?<![\w-])(sft|dpo|ipo|orpo|simpo|kto)(?:'s|-stage|\s+stage(?:'s)?)?\s+$"
                r"|(?<![а-я])у\s+(sft|dpo|ipo|orpo|simpo|kto)\s+$",  # «а у SFT ранг 8»
                masked[max(0, f.start - 16) : f.start],
            )
            if said_for and f.slot in SLOT_NAMES:
                named = said_for.group(1) or said_for.group(2)
                f.scope = "dpo" if named == "ipo" else named
                inside.remove(f)
        if not here:
            continue
        if len({w[2] for w in here}) == 1:
            for f in inside:
                f.scope = here[0][2]
            continue
        for f in inside:
            named_in = [w for w in here if f.start < w[0] and w[1] <= f.end]
            if named_in and re.search(STAGE_INFIX, " " + f.phrase):
                f.scope = named_in[0][2]  # "lr для SFT 2e-4": the stage named inside the value's words
                continue
            just_before = [w for w in here if w[1] <= f.start]
            said_for = next(  # "…, 5e-6 for DPO": the stage named right after the value wins
                (
                    w
                    for w in here
                    if w[0] >= f.end
                    and re.fullmatch(  # "DoRA только на SFT", "rank 8 only for the DPO"
                        r"\s*(?:(?:only|just|только|лишь)\s+)?(?:for|для|на)\s+(?:the\s+)?", masked[f.end : w[0]]
                    )
                ),
                None,
            )
            if said_for is not None:
                f.scope = said_for[2]
                continue
            tagged = next(  # "2 epochs sft, 1 epoch dpo", "2 эпохи SFT, 1 эпоха DPO": the stage as a tag after it
                (
                    w
                    for w in here
                    if w[0] >= f.end
                    and re.fullmatch(r" ?", masked[f.end : w[0]])
                    and re.match(r"\s*(?:[,;.)]|$)", masked[w[1] :])
                ),
                None,
            )
            if tagged is not None and re.match(r"\d", f.phrase.strip()):
                f.scope = tagged[2]
                continue
            if (
                just_before
                and re.fullmatch(  # "на этапе DPO только слои 10 и 11": "only" may stand between
                    r"[\s(:,-]*(?:(?:stage|этап\w*)\s*)?[\s(:,-]*(?:(?:on|with|using|at|in|на|с|со|по)\s+)?(?:the\s+|its\s+)?"
                    r"(?:(?:only|just|только|лишь)\s+)?",
                    masked[just_before[-1][1] : f.start],
                )
            ):
                f.scope = just_before[-1][2]  # "SFT on a.jsonl", "ORPO with beta 0.1": the method said right before it
                continue
            link = next(
                (
                    w
                    for w in here
                    if w[0] >= f.end
                    and re.fullmatch(r"[\s,]*" + FOR_STAGE.pattern, masked[f.end : w[0]])
                    and not (
                        "," in masked[f.end : w[0]] and OWN_VALUES_AFTER.match(masked, w[1])
                    )  # "beta 0.3 и 2 эпохи, для sft 3 эпохи": "для sft" opens the SFT's own values
                ),
                None,
            )
            if link is None:  # "rank 8 on layers 0 to 3 for SFT": the next method word, named with for/для
                following = next((w for w in here if w[0] >= f.end), None)
                gap = masked[f.end : following[0]] if following else ""
                if (
                    re.search(r"(?:for|для)\s+(?:the\s+)?$", gap)
                    and not re.search(r"[,;]\s*(?:and|а|и|but|но|while|whereas|тогда как)\s", gap)
                    and not ("," in gap and OWN_VALUES_AFTER.match(masked, following[1]))
                ):  # not across "…, а для DPO" or "…, для sft 3 эпохи": that "для" opens the next part
                    link = following
            before = [w for w in here if w[1] <= f.start]
            if link is not None:
                f.scope = link[2]
            elif before:
                f.scope = before[-1][2]


def stage_scope(stage: Any) -> str:
    """The scope name of a plan's training stage: "sft", or the preference method."""
    return "sft" if stage.kind == "sft" else str(getattr(stage, "method", "dpo"))


def contradicted_stages(goal: str) -> list[tuple[str, str]]:
    """Stages asked for and then negated with no correction marker taking the first back: (scope, negating words).

    "SFT on chat, DPO on prefs, no SFT though": the plan cannot keep both; the person is asked."""
    masked = mask(reading_text(retract(goal)))
    mentions = [(m, "sft") for m in re.finditer(SFT_WORDS, masked)]
    mentions += [(m, "dpo" if k == "ipo" else k) for k, p in PREFERENCE_WORDS for m in re.finditer(p, masked)]
    mentions.sort(key=lambda x: x[0].start())
    said: set[str] = set()
    out = []
    for m, scope in mentions:
        after = NEGATED_AFTER.match(masked, m.end())  # "…, но SFT не надо", "but the SFT is not needed"
        if negated(masked, m.start()) or (after and scope in said):
            if m.group(0) in ("ipo", "sigmoid"):
                continue  # "DPO, not IPO", "IPO loss instead of sigmoid": a DPO loss swapped, not a DPO taken back
            phrase = None if after else re.search(NEGATED + "$", masked[max(0, m.start() - 32) : m.start()])
            if scope in said and _taken_back(masked, m.start() - len(phrase.group(0)) if phrase else m.start()):
                said.discard(scope)  # "SimPO? no, skip SimPO", "SimPO… нет, пропусти SimPO": the person took it back
            elif scope in said:
                words = masked[m.start() : after.end()] if after else (phrase.group(0) if phrase else "") + m.group(0)
                out.append((scope, words.strip()))
        elif not names_a_thing(masked, m.start(), m.end()):
            said.add(scope)
    return out


def refused_stages(goal: str) -> list[tuple[str, str]]:
    """Stages the goal turns down and never asks for by name: (scope, negating words). "DPO only, no SFT, but
    first train on chat": a plan with an SFT stage contradicts the goal, whatever made it."""
    masked = mask(reading_text(retract(goal)))
    mentions = [(m, "sft") for m in re.finditer(SFT_WORDS, masked)]
    mentions += [(m, "dpo" if k == "ipo" else k) for k, p in PREFERENCE_WORDS for m in re.finditer(p, masked)]
    mentions.sort(key=lambda x: x[0].start())
    said: set[str] = set()
    refused: dict[str, str] = {}
    for m, scope in mentions:
        if negated(masked, m.start()) or NEGATED_AFTER.match(masked, m.end()):
            if m.group(0) in ("ipo", "sigmoid") or scope in said:
                continue  # said and then negated: contradicted_stages asks about that
            phrase = re.search(NEGATED + "$", masked[max(0, m.start() - 32) : m.start()])
            refused.setdefault(scope, ((phrase.group(0) if phrase else "") + m.group(0)).strip())
        elif not names_a_thing(masked, m.start(), m.end()):
            if scope in refused and MARKERS.search(masked[max(0, m.start() - 24) : m.start()]):
                del refused[scope]  # "no SFT — actually, do SFT first": the refusal taken back
            said.add(scope)
    return list(refused.items())


RANK_FROM_ALPHA = re.compile(
    r"\b(?:rank|r)\s+(?:is\s+)?(?:equal\s+to|the\s+same\s+as|same\s+as|equals|=|matching)\s+(?:the\s+)?alpha\b"
    r"|(?<![а-я])ранг\w*\s+(?:равн\w*|равен|такой\s+же,?\s+как(?:\s+и)?|как\s+у)\s+альф\w*"
)
# "skip the ties step", «пропусти слияние»: a merge said, then left out
SKIPPED_MERGE = re.compile(
    r"(?:\bskip|\bdrop|\bomit|\bleave\s+out|\bremove|(?<![а-я])пропусти|(?<![а-я])убери|(?<![а-я])выкинь"
    r"|(?<![а-я])не\s+делай)\s+(?:the\s+|this\s+|that\s+|the\s+final\s+|the\s+last\s+)?"
    r"(?P<m>ties|slerp|linear|dare[_ -]?ties|task[_ -]arithmetic|della|merge|слияни\w*|мерж\w*|мердж\w*)"
    r"(?:\s+(?:step|stage|merge|part|шаг|этап))?(?![\w-])"
)
TAKE_BACK = re.compile(r"(?:\bno|(?<![а-я])нет|\bactually|хотя нет|\bwait)[,.!…]*\s*$")
# "…, but skip the sft", "…, но пропусти SFT": an order to leave a stage out takes it back ("but no SFT" is asked)
BUT_BEFORE = re.compile(r"(?:\bbut|(?<![а-я])но)[,.!…]*\s*$")
LEAVE_OUT_ORDER = re.compile(
    r"(?:skip|drop|omit|leave\s+out|remove|don'?t\s+(?:do|run)|пропусти|убери|выкинь|не\s+делай|не\s+запускай)\b"
)


def _taken_back(masked: str, start: int) -> bool:
    before = masked[max(0, start - 16) : start]
    return bool(TAKE_BACK.search(before)) or bool(BUT_BEFORE.search(before) and LEAVE_OUT_ORDER.match(masked, start))


def taken_back_stages(masked: str) -> list[tuple[str, int]]:
    """(scope, where) for each stage said and then taken back by name ("SimPO… нет, пропусти SimPO") in the
    reading text: the planner drops the mention before it."""
    mentions = [(m, "sft") for m in re.finditer(SFT_WORDS, masked)]
    mentions += [(m, "dpo" if k == "ipo" else k) for k, p in PREFERENCE_WORDS for m in re.finditer(p, masked)]
    out = []
    for m, scope in mentions:
        phrase = re.search(NEGATED + "$", masked[max(0, m.start() - 32) : m.start()])
        if phrase and _taken_back(masked, m.start() - len(phrase.group(0))):
            out.append((scope, m.start() - len(phrase.group(0))))
        elif NEGATED_AFTER.match(masked, m.end()) and _taken_back(masked, m.start()):
            out.append((scope, m.start()))  # "…, потом DPO. Хотя нет, DPO не надо"
    return out


SCOPE_NAMES = {"sft": "SFT", "dpo": "DPO", "orpo": "ORPO", "simpo": "SimPO", "kto": "KTO"}
ARTICLE = {"SFT": "an", "ORPO": "an"}


def _scope_stages(plan: Any, scope: str) -> list[Any]:
    return [s for s in plan.stages if s.kind in ("sft", "preference") and stage_scope(s) == scope]


# a list of weights with a minus on one ("weights -0.5 and 1.5", «с весами -0.2 и 1.2»): signed, not dashed
SIGNED_LIST = re.compile(
    r"(?:\bweights?|(?<![а-я])вес(?:ами|а))\s*[:=]?\s*[\[(]?\s*"
    r"((?:-\s?)?\d*\.?\d+(?:\s*(?:,|and|и|/)\s*(?:-\s?)?\d*\.?\d+)+)(?![\w.])"
)


def _merge_weight_facts(masked: str, text: str, taken: list[Fact], then_merge: bool = False) -> list[Fact]:
    """The weights one merge is said to have, in any of the ways people say them; `taken` are facts read already
    (KTO's "desirable weight 1.0" is no merge weight); `then_merge`: the clause is a later merge of the earlier one's
    result ("…, а затем результат с C 3 к 1"), named by its partner alone."""
    facts: list[Fact] = []
    per_model = per_model_weights(masked)
    m = (
        None
        if per_model
        else re.search(
            r"(?:weights?|weighted(?:\s+(?:at|by|as))?|весами|веса|в\s+весах|with|в пропорции|scaling(?:\s+(?:factors?|coefficients?))?"
            r"|(?<!warmup )(?<!warmup_)(?<!warm-up )(?<!warm up )ratio)\s*(?:of|=|:)?\s*[\[(]?\s*(\d*\.?\d+(?:\s*%)?(?:\s*(?:/|,|and|и|:|на)\s*\d*\.?\d+(?:\s*%)?|\s+\d*\.?\d+(?:\s*%)?)+)[\])]?",
            masked,
        )
    )
    if (
        (
            not m
            and re.search(
                r"merg|blend|mix|ties|slerp|dare|averag|\bavg\b|soup|interpolat"
                r"|(?<!all-)(?<!all_)(?<!all )linear(?!\s+(?:decay|schedule|warmup|lr|learning))|линейн\w*(?!\s+(?:расписан|затухан|прогрев|спад))|смеш|слей"
                r"|слить|слия|объедин|усредн|мерж|мердж",
                masked,
            )
        )
        or (
            then_merge
            and re.search(
                r"(?:\bwith|(?<![а-я])(?:с|со))\s+(?:the\s+)?(?:#{3,}|ours\b|mine\b|our\b|my\b|base\b|наш|мо[еёйя]|баз|исходн)",
                masked,
            )
        )
        or shares_said(masked)
    ):
        m = _ratio_said(masked)
    each = each_weight(masked)
    if (signed := SIGNED_LIST.search(masked)) and "-" in signed.group(1):  # "weights 1 and -1": signed, in order
        values = [float(v.replace(" ", "")) for v in re.findall(r"(?:-\s?)?\d*\.?\d+", signed.group(1))]
        facts.append(Fact("weights", values, text[signed.start() : signed.end()], signed.start(), signed.end()))
    elif evenly := even_rest(masked):  # "наша 0.5, остальное поровну между партнёрами"
        own, name_start, name_end, start, end = evenly
        facts.append(Fact("each_rest", (None, text[name_start:name_end], own), text[start:end], start, end))
    elif listed_rest := list_then_rest(masked):  # "веса 0.2, 0.3 и остальное"
        values, w_start, w_end = listed_rest
        facts.append(Fact("weights", values, text[w_start:w_end], w_start, w_end))
    elif each_rest := each_with_rest(masked):  # "each gets 0.25, ours the rest": one member takes what is left
        value, share, rest = each_rest
        who = next(g for g in "abcdefghi" if rest.group(g))
        start, end = min(share.start(), rest.start()), max(share.end(), rest.end())
        facts.append(Fact("each_rest", (value, text[rest.start(who) : rest.end(who)]), text[start:end], start, end))
    elif each_one := each_with_one(masked):  # "0.4 for ours and 0.3 each for the partners"
        value, own, name_start, name_end, start, end = each_one
        facts.append(Fact("each_rest", (value, text[name_start:name_end], own), text[start:end], start, end))
    elif RATIO_THEN_NAMES.search(masked) and (named := weights_for(masked)):  # "1:2:3 for the base, A and B"
        pairs, w_start, w_end = named
        facts.append(Fact("weights", [v for v, _, _ in pairs], text[w_start:w_end], w_start, w_end))
    elif each:  # one value for every member: the plan's weights are all that value
        value, w_start, w_end = each
        facts.append(Fact("weights", [value], text[w_start:w_end], w_start, w_end))
    elif halves := re.search(r"\bhalf[- ]and[- ]half\b|\bfifty[- ]fifty\b|\b50[- ]50\b", masked):
        facts.append(Fact("weights", [0.5], halves.group(0), halves.start(), halves.end()))  # two members, 0.5 each
    elif per_model:
        values, w_start, w_end = per_model
        facts.append(Fact("weights", values, text[w_start:w_end], w_start, w_end))
    elif (named := weights_for(masked)) and any(partner_place(text[a:b]) is not None for _, a, b in named[0]):
        pairs, w_start, w_end = named  # "наша 0.5, первого партнёра 0.3, второго 0.2": ours and the partners by place
        facts.append(Fact("weights", [v for v, _, _ in pairs], text[w_start:w_end], w_start, w_end))
    elif (
        len(shares := list(RESULT_SHARE.finditer(masked.lower()))) >= 2
        and len({m["s"] for m in shares}) == len(shares)
        and MERGE_WORDS.search(masked[: shares[0].start()])
    ):
        values = weight_values([(m["v"], "%" if "%" in m.group(0) else "") for m in shares])  # "30% sft 70% dpo"
        w_start, w_end = shares[0].start(), shares[-1].end()
        facts.append(Fact("weights", values, text[w_start:w_end], w_start, w_end))
    elif ordinal := ordinal_weights(masked):  # "80% for the first and 20% for the second"
        values, w_start, w_end = ordinal
        facts.append(Fact("weights", values, text[w_start:w_end], w_start, w_end))
    elif (rest_said := _rest_weights(masked)) and len(rest_said[0]) >= 3:  # "0.5 for A, 0.3 for B, the rest to C"
        values, w_start, w_end = [v for v, _, _ in rest_said[0]], rest_said[1], rest_said[2]
        facts.append(Fact("weights", values, text[w_start:w_end], w_start, w_end))
    elif fav := favoured_ratio(masked):
        who = text[fav.who_start : fav.who_end]  # the path as written, where the member is named by its folder
        facts.append(Fact("favoured_weights", (fav.big, fav.small, who), text[fav.start : fav.end], fav.start, fav.end))
    elif not m and (named := weights_for(masked)):
        pairs, w_start, w_end = named
        facts.append(Fact("weights", [v for v, _, _ in pairs], text[w_start:w_end], w_start, w_end))
    elif not m and (one_named := one_named_weight(masked, text)):  # "0.8 to partner": the other member takes the rest
        share, who = one_named[0], text[one_named[1] : one_named[2]]  # whose share it is, checked as such
        facts.append(
            Fact(
                "favoured_weights",
                (share, round(1 - share, 6), who),
                text[one_named[3] : one_named[4]],
                one_named[3],
                one_named[4],
            )
        )
    elif not m and (ratio := relative_weights(masked)):
        values, w_start, w_end = ratio
        facts.append(
            Fact("weights", values, text[w_start:w_end], w_start, w_end, derived=f"from '{text[w_start:w_end]}'")
        )
    elif not m and (one := single_weight(masked)):
        value, w_start, w_end = one
        if not any(f.start <= w_start < f.end for f in (*taken, *facts)):  # not KTO's "desirable weight 1.0"
            facts.append(Fact("weights", [value], text[w_start:w_end], w_start, w_end))  # "weight 0.8"
    elif m:
        numbers = re.findall(r"(\d*\.?\d+)\s*(%?)", m.group(1))
        facts.append(Fact("weights", weight_values(numbers), m.group(0), m.start(), m.end()))
    return facts


BASE_LEFT_OUT = re.compile(
    r"(?:\bwithout|\bnot|\bexcept|\bexcluding|\bno|(?<![а-я])без|(?<![а-я])не|(?<![а-я])кроме)\s+(?:the\s+|its\s+)?"
    r"(?:base|original|opened model|баз(?:ы|у|ой|а)|базов(?:ой|ую|ая)|исходн\w*|оригинал\w*)(?:\s+(?:model|модели))?(?![\w-])"
    # "leave the base out", "базу не трогай", "the base stays out"
    r"|\b(?:leave|keep)\s+(?:the\s+)?(?:base|original)(?:\s+model)?\s+out\b|\b(?:the\s+)?base\s+(?:stays|is\s+left|left)\s+out\b"
    r"|(?<![а-я])(?:базу|исходную(?:\s+модель)?)\s+не\s+(?:трогай|трогаем|бери|берём|берем|включай|добавляй|смешивай)\w*"
    # "база не участвует", "the base is not included", "the base doesn't take part"
    r"|(?<![а-я])(?:база|исходная(?:\s+модель)?)\s+не\s+(?:участвует|входит|нужна)(?![а-я])"
    r"|\b(?:the\s+)?base(?:\s+model)?\s+(?:is\s+not|isn'?t)\s+(?:included|part\b|a\s+member)"
    r"|\b(?:the\s+)?base(?:\s+model)?\s+(?:does\s+not|doesn'?t)\s+take\s+part"
)
# an order word and a second merge after the first merge's weights: "…, а потом ещё с B линейно 80 на 20"
THEN_MERGE = re.compile(
    r"(?:\bthen\b|\bafter that\b|(?<![а-я])(?:потом|затем|после этого)|;|,\s*(?=and\s+(?:that|the|this)\s+result\s+with\s))"
    r"(?=[^.;]*?(?:merg|blend|slerp|ties|dare|linear"
    r"|линейн|сле[йт]|слия|смерж|смердж|смешай|(?:\bwith|(?<![а-я])(?:с|со))\s+#{3,}"
    r"|(?:результат|итог|\bresult)\w*\s+(?:ещ[её]\s+(?:раз\s+)?|again\s+)?(?:\bwith|(?<![а-я])(?:с|со))\s))"  # «результат с нашей 30/70»
)


def goal_facts(goal: str, num_layers: int | None = None) -> list[Fact]:
    """Every fact the goal states, corrections applied, in the order stated."""
    from agent.goal_layers import EXCEPT, find_layer_selections
    from agent.goal_references import default_scaled_facts, reference_facts, resolve_references, scaled_default

    goal = retract(goal)
    text, _ = _corrected_spans(reading_text(goal))
    masked = mask(text)
    facts = resolve(number_facts(text) + method_facts(text), text)
    methods = [f for f in facts if f.slot == "method"]
    for first, later in pairwise(methods):  # "ORPO with beta 0.1 -- hmm, make that SimPO": the later replaces it
        if first.value != later.value and MARKERS.search(masked, first.end, later.start) is not None:
            later.replaced, later.start = [*later.replaced, first.value], first.start
            facts.remove(first)
    m = next(
        (
            m
            for m in re.finditer(SFT_WORDS, masked)
            if not names_a_thing(masked, m.start(), m.end())
            and not negated(masked, m.start())
            and not NEGATED_AFTER.match(masked, m.end())
            and not in_loss_list(masked, m.start(), m.end())
            and not ALREADY_BEFORE.search(masked[max(0, m.start() - 16) : m.start()])
        ),
        None,
    )
    said_methods = [f for f in facts if f.slot == "method"]
    if m is None and said_methods:  # "train LoRA on chat.jsonl …, and DPO on prefs.jsonl": the LoRA on its own data
        lora = re.search(  # is an SFT stage before the preference one (its values are the SFT's)
            r"(?:\b(?:train|fine-?tune)\s+(?:a\s+)?|(?<![а-я])(?:обучи|дообучи)\s+)?\b(?:lora|dora)\s+(?:adapter\s+)?"
            r"(?:on|на)\s+#{3,}",
            masked,
        )
        if lora and lora.end() < said_methods[0].start:
            m = lora
    if m:
        facts.append(Fact("stage", "sft", m.group(0), m.start(), m.end()))
    m = ADAPTER_NONE.search(masked) or trl_full_finetune(masked)
    if m and (
        re.search(r"dora\W{0,3}$|dora\W+(?:a\s+|а\s+)?$", masked[max(0, m.start() - 12) : m.start()])
        or DORA_AFTER_NOT.match(masked, m.end())
    ):
        facts.append(
            Fact("adapter", "dora", m.group(0), m.start(), m.end())
        )  # "DoRA instead of LoRA", "DoRA, а не LoRA"
    elif m:
        facts.append(Fact("adapter", "none", m.group(0), m.start(), m.end()))
    else:
        m = re.search(r"(?<![a-z])(?:use_)?dora(?![a-z])(?!['\"]?\s*[:=]\s*false)|дор[аоуы]\w*", masked)
        if m and negated(masked, m.start()):  # "don't use DoRA", "без DoRA": the adapter is a plain LoRA
            facts.append(Fact("adapter", "lora", m.group(0), m.start(), m.end()))
        elif m:
            later = MARKERS.search(masked, m.end())
            back = later and re.search(
                r"(?:plain|just|regular|normal|simple|обычн\w*|прост\w*)?\s*(?<![a-z])lora(?![a-z])|лор[аоуы]\w*",
                masked[later.end() : later.end() + 40],
            )
            if back:  # "DoRA r 16 — no wait, plain LoRA": corrected to a LoRA
                facts.append(
                    Fact(
                        "adapter",
                        "lora",
                        masked[m.start() : later.end() + back.end()],
                        m.start(),
                        later.end() + back.end(),
                    )
                )
            else:
                facts.append(Fact("adapter", "dora", m.group(0), m.start(), m.end()))
    last_out = None
    for m in MODULE_NAME.finditer(masked):
        listed = last_out is not None and re.fullmatch(r"\s*(?:,|and|и|or|или|&|/)\s*", masked[last_out : m.start()])
        if (
            left_out(masked, m.start()) or listed or FROZEN_AFTER.match(masked, m.end())
        ):  # "except o_proj", "q_proj frozen"
            facts.append(Fact("module", "not " + module_name(m.group(0)), m.group(0), m.start(), m.end()))
            last_out = m.end()
            continue
        name = module_name(m.group(0))
        if name == "output_proj" and "lora_attn_modules" in masked:
            name = "o_proj"  # torchtune's name for the attention output projection
        facts.append(Fact("module", name, m.group(0), m.start(), m.end()))
    for start, end, roles in letter_modules(masked):  # "q и v проекции": q_proj and v_proj (Llama names)
        out = "not " if left_out(masked, start) or FROZEN_AFTER.match(masked, end) else ""  # "except the k projection"
        for role in roles:
            facts.append(Fact("module", out + LLAMA_NAMES[role], masked[start:end], start, end))
    every = re.search(  # "LoRA on all linear layers", «на всех линейных слоях», target_modules: all-linear
        r"\ball(?:\s+the)?\s+linear(?:\s+(?:layers|modules|projections))?\b|\ball[-_]linear\b"
        r"|(?<![а-я])(?:все|всех|всем|всеми)\s+линейн\w*(?:\s+(?:сло|модул|проекци)\w*)?",
        masked,
    )
    if every and not left_out(masked, every.start()):
        facts.append(Fact("role", "all linear", every.group(0), every.start(), every.end()))
    m = re.search(r"\battention\b|\battn\b|self-attention|внимани\w*", masked)
    if m and MODULE_NAME.match(masked, m.end() + 1):
        m = None  # "the attention o_proj": which module, not the role
    if m and not re.search(r"\ball (?:linear )?(?:layers|modules|projections)", masked):
        after = FROZEN_AFTER.match(masked, m.end())  # "attention stays frozen": the words that leave it out, read
        role = "not attention" if left_out(masked, m.start()) or after else "attention"
        end = after.end() if after else m.end()
        facts.append(Fact("role", role, masked[m.start() : end], m.start(), end))
    m = re.search(r"\bmlps?\b|feed[- ]?forward|\bffns?\b|полносвязн\w*|\bмлп\b", masked)
    if m and MODULE_NAME.match(masked, m.end() + 1):
        m = None  # "exclude the MLP down projection": one MLP module, not the whole MLP
    if m:  # "not the MLP", "кроме MLP": the plan must leave those modules alone
        after = FROZEN_AFTER.match(masked, m.end())  # "attention stays frozen": the words that leave it out, read
        role = "not mlp" if left_out(masked, m.start()) or after else "mlp"
        end = after.end() if after else m.end()
        facts.append(Fact("role", role, masked[m.start() : end], m.start(), end))
    try:
        selections = find_layer_selections(masked, num_layers)
    except Exception:  # the planner says why a selection cannot exist; here it is only a fact
        selections = []
    for sel in selections:
        if sel.layers is None:
            continue
        last = facts[-1] if facts and facts[-1].slot == "layers" else None
        if last and re.fullmatch(
            r"\s*(?:,|and(?: also)?|и|&|\+|or|или|plus|as well as|along with|together with|плюс|а также)?"
            r"\s*(?:(?:on|in|to|на|в|во)\s+)?(?:the\s+)?",
            masked[last.end : sel.start],
        ):
            # "layer 0 and layer 11": one selection of the stage, as the planner reads it
            last.value = sorted({*last.value, *sel.layers})
            last.phrase, last.end = text[last.start : sel.end], sel.end
            continue
        gap = masked[last.end : sel.start] if last else ""
        if (
            last
            and EXCEPT.match(re.sub(r"^[\s,;]+", "", sel.phrase.lower()))
            and len(re.sub(r"#+", "#", gap)) <= 40
            and not ORDER_WORD.search(gap)
        ):  # "layers 3 to 7 on chat.jsonl, and skip layer 5": the rest of those, as the planner reads it
            last.value = [i for i in last.value if i in set(sel.layers)]
            last.phrase, last.end = text[last.start : sel.end], sel.end
            continue
        facts.append(Fact("layers", sel.layers, sel.phrase, sel.start, sel.end))
    for m in DATASET_PATH.finditer(goal):
        slot = (
            "not_dataset"
            if re.search(
                r"(?:\bnot|\binstead of|\brather than|\bignore|\bskip|\bwithout|(?<![а-я])не|вместо|без|игнорируй\w*)\s+"
                r"(?:on\s+|на\s+|the\s+)?$",
                masked[max(0, m.start() - 16) : m.start()],
            )
            or DATA_LEFT_ALONE.match(masked, m.end())
            else "dataset"
        )
        facts.append(Fact(slot, m.group(0).rstrip(".,"), m.group(0), m.start(), m.end()))
    datasets = {f.value for f in facts if f.slot in ("dataset", "not_dataset")}
    for m in PATH.finditer(goal):
        path = m.group(0).rstrip(".,")
        if path in datasets or any(path in d for d in datasets) or not looks_like_path(goal, m.start(), path):
            continue
        if re.search(r"--config[\s=]*$", goal[max(0, m.start() - 12) : m.start()]) and not Path(path).exists():
            continue  # "tune run … --config llama3_2/1B_lora": torchtune's recipe config, by name
        facts.append(Fact("path", path, m.group(0), m.start(), m.end()))
    m = SCHEDULER.search(masked)
    if m:  # "a cosine schedule", "lr_scheduler_type: cosine", "косинусное расписание"
        name = scheduler_name(m)
        facts.append(Fact("lr_scheduler_type", name, m.group(0), m.start(), m.end()))
    said = output_dtype(masked)
    if said:
        facts.append(Fact("dtype", said[0], masked[said[1] : said[2]], said[1], said[2]))
    shards = shard_size(masked)
    if shards:
        facts.append(Fact("max_shard_size", shards[0], masked[shards[1] : shards[2]], shards[1], shards[2]))
    cuts = [0, *(m.start() for m in THEN_MERGE.finditer(masked)), len(masked)]
    for lo, hi in pairwise(cuts):  # "мерж с A 30%, потом мерж результата с B 50 на 50": each merge's own weights
        more = _merge_weight_facts(masked[lo:hi], text[lo:hi], [f for f in facts if lo <= f.start < hi], lo > 0)
        for f in more:
            f.start, f.end = f.start + lo, f.end + lo
        facts.extend(more)
    named_losses = {
        (loss, m.start(), m.end())
        for loss, pattern in _dpo_loss_words()
        if loss not in ("ipo", "sft")  # IPO is read as a method; "sft" is a stage far more often than a loss
        for m in pattern.finditer(masked)
        if not negated(masked, m.start())
        and (loss != "sigmoid" or re.match(r"\s*(?:loss|лосс|потер)", masked[m.end() :]))
    }
    if not dpo_loss_list(masked):  # "SFT with hinge loss"; "hinge loss, … and also sigmoid loss": one is asked about
        for loss, start, end in sorted(named_losses, key=lambda x: x[1]):
            if not any(f.slot == "loss_type" and f.value == loss for f in facts):
                facts.append(Fact("loss_type", loss, masked[start:end], start, end))
    if (left_out_base := BASE_LEFT_OUT.search(masked)) and MERGE_WORDS.search(masked):
        facts.append(  # "смешай A и B поровну, без базы": the opened model is not blended in
            Fact("no_base_member", True, left_out_base.group(0), left_out_base.start(), left_out_base.end())
        )
    listed_losses = dpo_loss_list(masked)
    if len(listed_losses) > 1 and (by_name := loss_weights_by_name(masked, listed_losses)):
        first = re.search(rf"(?<![\w-]){listed_losses[0].replace('_', '[_ -]?')}", masked)
        last = re.search(
            rf"(?<![\w-]){listed_losses[-1].replace('_', '[_ -]?')}(?:['\"]?\s*[:=]?\s*\d*\.?\d+|\s+(?:loss|лосс|потер)\w*)",
            masked,
        )  # (or "…plus 0.5 sft loss": the weight before the name)
        if first and last:  # the span holds the weights, so no number in it is asked about
            facts = [f for f in facts if not (f.slot == "weights" and first.start() <= f.start < last.end())]
            facts.append(Fact("loss_weights", by_name, text[first.start() : last.end()], first.start(), last.end()))
    if len(listed_losses) > 1 and not any(not _loss_mix(masked, m.start()) for m in MERGE_WORDS.finditer(masked)):
        for f in facts:  # "loss types sigmoid and sft, weights 1.0 and 1.0": the losses' weights, not a merge's
            if f.slot == "weights":
                f.slot = "loss_weights"
    merge_numbers = merge_number_facts(masked)
    for slot in ("t", "density"):  # "t=0.5 — actually make it t=0.25": the correction replaces the first
        said = [f for f in merge_numbers if f.slot == slot]
        for first, later in pairwise(said):
            if MARKERS.search(masked[first.end : later.start]):
                later.replaced, later.start = [*first.replaced, first.value], first.start
                merge_numbers.remove(first)
    merge_numbers = resolve(merge_numbers, text)  # "t = 0.3, нет, лучше 0.4": the value after the marker
    facts = [  # "t=1/3": the fraction is t's value, not a 1:3 ratio of weights
        f
        for f in facts
        if not (f.slot in ("weights", "favoured_weights") and any(n.start <= f.start < n.end for n in merge_numbers))
    ]
    facts.extend(merge_numbers)
    facts.extend(switch_facts(masked))
    for name, pattern in DISTRIBUTED:  # "with FSDP", "DeepSpeed ZeRO-3": how several GPUs share the work
        m = re.search(pattern, masked)
        if m and not negated(masked, m.start()):
            facts.append(Fact("distributed", name, m.group(0), m.start(), m.end()))
            stage = re.search(r"(?:zero|stage)[- _]?(?:stage[- _]?)?([123])\b|\bfsdp([12])\b", m.group(0))
            if stage:  # Graft's accelerate configs run DeepSpeed ZeRO-3 and FSDP2 (tools/distributed.py)
                facts.append(
                    Fact(
                        "sharding_stage", (name, int(stage.group(1) or stage.group(2))), m.group(0), m.start(), m.end()
                    )
                )
            break
    for m in re.finditer(
        r"\bno\s+(?:eval(?:uation)?|validation|held[- ]out)\b|\bwithout\s+(?:eval(?:uation)?|validation)\b|без\s+(?:eval(?:uation)?|валидаци\w*|оценк\w*|эвал\w*)(?![\w-])",
        masked,
    ):
        facts.append(Fact("eval_fraction", 0.0, m.group(0), m.start(), m.end()))  # "no eval": nothing held out
    for m in re.finditer(r"\b(?:no|without|zero)\s+(?:lora\s+)?dropout\b|(?<![а-я])без\s+дропаут\w*", masked):
        facts.append(Fact("dropout", 0.0, m.group(0), m.start(), m.end()))  # "без дропаута": dropout 0
    for m in NO_CLIPPING.finditer(masked):  # "without gradient clipping": max_grad_norm 0 turns clipping off
        if not any(f.slot == "max_grad_norm" and f.start <= m.start() < f.end for f in facts):
            facts.append(Fact("max_grad_norm", 0.0, m.group(0), m.start(), m.end()))
    references = reference_facts(masked, facts)  # "the same lr as the SFT", "half that rank"
    defaults = default_scaled_facts(masked)  # "half the default lr": a factor of Graft's own default
    references = [r for r in references if not any(r.start < d.end and d.start < r.end for d in defaults)]
    facts = [f for f in facts if not any(r.start <= f.start < r.end for r in (*references, *defaults))]
    facts += references + defaults
    _scope(facts, masked)
    for d in defaults:
        scaled_default(d)  # (its value depends on the stage it was said for: an SFT's lr or a DPO's)
    for m in RANK_FROM_ALPHA.finditer(masked):  # "rank equal to alpha = 32", «ранг равен альфе»: r is alpha's value
        alphas = [f for f in facts if f.slot == "alpha" and float(f.value).is_integer()]
        if len(alphas) == 1 and not any(f.slot == "r" for f in facts):
            facts.append(
                Fact("r", int(alphas[0].value), m.group(0), m.start(), m.end(), alphas[0].scope, f"from '{m.group(0)}'")
            )
    for f in facts:
        if f.slot in PREFERENCE_ONLY and f.scope == "sft":
            f.scope = None  # "…; лр сфт 1e-4, бета 0.1": an SFT has no beta, so the clause did not name its stage
        elif (
            f.slot in ("gpus", "distributed", "sharding_stage")
            and f.scope not in (None, "all")
            and not re.search(
                r"(?:\bfor|(?<![а-я])для|(?<![а-я])на)\s+(?:the\s+)?(?:sft|dpo|orpo|kto|simpo|сфт|дпо)\b",
                masked[max(0, f.start - 24) : f.end + 24],
            )
        ):
            f.scope = None  # "на 4 гпу с FSDP: сфт, потом дпо": the hardware of the run, every stage's
    for scope, where in taken_back_stages(masked):  # "Then DPO on prefs.jsonl. Actually, skip the DPO": its data too
        said = [
            m.start()
            for k, p in (("sft", SFT_WORDS), *PREFERENCE_WORDS)
            for m in re.finditer(p, masked[:where])
            if ("dpo" if k == "ipo" else k) == scope and not negated(masked, m.start())
        ]
        if said:
            start = max(said)
            facts = [
                f
                for f in facts
                if not (
                    (start <= f.start < where and (f.slot in ("dataset", "method", "stage") or f.scope == scope))
                    or (f.start == where and f.slot in ("method", "stage"))  # "DPO не надо" itself
                )
            ]
    for ref in (r for r in references if r.slot == "same_as" and r.value == "settings"):
        listed = re.match(r"\s*\(([^()]*)\)", masked[ref.end :])
        for f in facts:
            if listed and ref.end + listed.start(1) <= f.start < ref.end + listed.end(1) and f.slot in SLOT_NAMES:
                f.scope = "all"  # "(r 32, alpha 64)" after "the same settings as the SFT": both stages
    for m in EVERY_STAGE.finditer(masked):  # "both with r 32 and 2 epochs", "lr 1e-5 for everything", "у обоих ранг 8"
        if PER_STAGE_ITEM.match(masked, m.end() + re.match(r"\s*[:=-]?\s*", masked[m.end() :]).end()):
            continue  # "lr для каждого этапа: сфт 1e-4, дпо 5e-7": each stage's own value follows
        seg_end = next((x.start() for x in SEGMENT_SPLIT.finditer(masked, m.end())), len(masked))
        seg_start = max([0, *(x.end() for x in SEGMENT_SPLIT.finditer(masked[: m.start()]))])
        if not re.match(r"\s*:", masked[m.end() :]):
            # "two epochs of SFT, then 1 epoch DPO, both at lr 1e-5": only the comma-part with "both" is for both
            commas = [  # a comma inside a module list ("q_proj,v_proj в обоих") does not end the part
                c.end() for c in re.finditer(r",(?!\s*(?:[a-z]+_proj|[qkvo]\b|gate|up|down))", masked[: m.start()])
            ]
            seg_start = max(seg_start, *(commas[-1:] or [0]), masked.rfind(";", 0, m.start()) + 1)
            cut = re.search(r"[,;]", masked[m.end() :])
            seg_end = min(seg_end, m.end() + cut.start()) if cut else seg_end
        for f in facts:
            if (f.slot in SLOT_NAMES or f.slot in ("adapter", "module", "role")) and seg_start <= f.start < seg_end:
                if re.match(  # "alpha 32 for both stages and rank 8 for the DPO only": that one stays the DPO's
                    r"\s*(?:only\s+|just\s+|только\s+|лишь\s+)?(?:for|для|на|in|at)\s+(?:the\s+)?(?:sft|dpo|ipo|orpo|kto|simpo|дпо|сфт)\b",
                    masked[f.end :],
                ):
                    continue
                f.scope = "all"
    ranges = list(re.finditer(r"layer_range\s*[:=]\s*\[\s*(\d+)\s*,\s*(\d+)\s*\]", masked))
    if ranges and num_layers and all((int(r.group(1)), int(r.group(2))) == (0, num_layers) for r in ranges):
        start = masked.rfind("slices", 0, ranges[0].start())
        start = start if start >= 0 else ranges[0].start()  # "slices: … layer_range: [0, 12]" on a 12-layer model
        facts.append(Fact("full_slices", True, masked[start : ranges[-1].end()], start, ranges[-1].end()))
    stages_said = list(
        dict.fromkeys(
            ("dpo" if f.value == "ipo" else f.value) if f.slot == "method" else "sft"
            for f in sorted(facts, key=lambda f: f.start)
            if f.slot in ("method", "stage")
        )
    )
    for m in re.finditer(RESPECTIVE, masked):  # "…, learning rates 5e-7 and 2e-5 respectively": stages in said order
        values = [f for f in facts if f.slot in SLOT_NAMES and m.start() < f.end <= m.end()]
        if len(values) == len(stages_said) > 1:
            for f, scope in zip(sorted(values, key=lambda f: f.start), stages_said, strict=True):
                f.scope = scope
    others = [f for f in facts if f not in references]
    resolved = resolve_references(others, references)
    facts = (
        others
        + [  # "lr a tenth of the sft lr": two readings of one phrase; the one that resolved stands
            r
            for r in resolved
            if not (
                r.slot == "reference"
                and any(
                    o is not r and o.slot == r.value and o.derived and o.start < r.end and r.start < o.end
                    for o in resolved
                )
            )
            # two unresolved readings of one phrase ("lr one tenth of the SFT lr", from either lr): asked about once
            and not any(
                o.slot == r.slot == "reference" and o.value == r.value and o.start < r.end and r.start < o.end
                for o in resolved[: resolved.index(r)]
            )
        ]
    )
    relative = relative_alpha(masked)
    if relative:  # alpha from the rank said last (after corrections and references), of the same stage when scoped
        alpha = next((f for f in facts if f.slot == "alpha" and f.start == relative.start()), None)
        ranks = [f for f in facts if f.slot == "r" and (alpha is None or alpha.scope is None or f.scope == alpha.scope)]
        before = [f for f in ranks if f.start < relative.start()] or ranks
        if alpha is not None and before:
            alpha.value = alpha_ratio(relative) * max(before, key=lambda f: f.start).value
    for name, pattern in MERGE_METHODS:
        m = re.search(pattern, masked)
        if m and name == "linear" and not MERGE_WORDS.search(masked[: m.start()] + masked[m.end() :]):
            continue  # "с линейным расписанием": a schedule, not a merge
        if m:
            facts.append(Fact("merge_method", name, m.group(0), m.start(), m.end()))
            break
    from agent.goal_numbers import exact_share

    for f in facts:  # "треть" was written as 0.333: a third to six places, as the planner takes it
        if f.slot == "weights":
            f.value = [exact_share(v) for v in f.value]
        elif f.slot == "favoured_weights":
            f.value = (exact_share(f.value[0]), exact_share(f.value[1]), f.value[2])
        elif f.slot == "t" and isinstance(f.value, float):
            f.value = exact_share(f.value)
    facts.sort(key=lambda f: f.start)
    return facts


def looks_like_path(goal: str, start: int, path: str) -> bool:
    """'up/down', 'chosen/rejected', '0.7/0.3' are alternatives or ratios; './x', 'Out/MyModel' after 'to' are paths."""
    if path.lower() in ("w/", "w/o", "b/c", "n/a"):
        return False  # "DPO w/ loss_type ipo": an abbreviation
    if re.fullmatch(r"[\d.%/]+", path) or all(MODULE_NAME.fullmatch(p) or p in LETTER_ROLES for p in path.split("/")):
        return False  # a ratio, or module names ("q_proj/v_proj")
    if path.startswith(("/", "./", "../", "~")) or Path(path).expanduser().exists() or re.search(r"\.\w+$", path):
        return True
    if re.fullmatch(r"[a-zа-я][a-zа-я-]*/[a-zа-я][a-zа-я-]*", path.lower()):  # word/word: a path only where a place
        cue = PLACE_CUE.search(goal[max(0, start - 24) : start].lower())  # is expected ("thumbs-up/down data")
        # "на файле с лайками/дизлайками": Russian words after "с"/"из" describe the data, they name no folder
        return bool(cue) and not (re.search(r"[а-я]", path.lower()) and re.fullmatch(r"(?:с|из|под)\s*", cue.group(0)))
    return True


# what comes before a word/word said as a place: "save to out/final", "…, out/final", "→ out/x", "merge with org/name"
PLACE_CUE = re.compile(
    r"(?:\b(?:to|into|in|at|as|under|from|with|out|dir|folder|path)|(?<![а-я])(?:в|во|под|из|с|папк\w*|выход\w*"
    r"|путь)|[,;:→>=]|->|\bsave\w*|\bwrite\w*|\boutput\w*|\bexport\w*|сохрани\w*|запиши\w*)\s*[\"'«`]?$"
)


def _same_path(a: str, b: str) -> bool:
    """Whether two spellings are one file: equal, the same resolved path, or one (nothing at that path)
    the trailing part of the other, a file that exists (`sft.jsonl` in a goal ~ `--data data/sft.jsonl`)."""
    if a == b:
        return True
    try:
        if Path(a).expanduser().resolve() == Path(b).expanduser().resolve():
            return True
        return _names_existing(a, b) or _names_existing(b, a)
    except (OSError, RuntimeError):
        return False


def _names_existing(short: str, full: str) -> bool:
    parts = Path(short).expanduser().parts
    return (
        bool(parts and full)
        and not Path(short).expanduser().exists()
        and Path(full).exists()
        and Path(full).parts[-len(parts) :] == parts
    )


# "that result", «итог»: the one merge said before, named by the word for its output (planner and fact check alike)
MERGE_RESULT_WORD = r"(?:the\s+|that\s+)?(?:result|outcome|output|merged?(?:\s+(?:one|model))?)|результат\w*|итог\w*"


def member_index(who: str, members: list[str]) -> int:
    """Which merge member a word names ('ours', 'the base', 'нашей', a path), or -1: the trained model is 'ours'."""
    who = who.strip()
    if (result := stage_result_member(who, members)) is not None:
        return members.index(result)
    trained = [m for m in members if m.startswith("@") and m != "@base"]
    if (
        re.fullmatch(MERGE_RESULT_WORD, who) and len(trained) == 1 and trained[0].startswith("@merge")
    ):  # "then merge that result with A, 30% for the result": the merge before (the planner reads it so too)
        return members.index(trained[0])
    if re.fullmatch(OURS, who):
        trained = [i for i, m in enumerate(members) if m.startswith("@") and m != "@base"]
        if "@base" in members and all(members[i].startswith("@merge") for i in trained):
            return members.index("@base")  # a merge of other models blended back with ours: ours is the opened one
        return trained[0] if trained else -1
    if re.fullmatch(BASE_WORDS, who):
        return members.index("@base") if "@base" in members else -1
    if re.fullmatch(THEIRS, who):
        others = [i for i, m in enumerate(members) if not m.startswith("@")]
        return others[0] if len(others) == 1 else -1
    return next((i for i, m in enumerate(members) if m == who or _same_path(m, who)), -1)


def each_rest_weights(
    value: float | None, who: str, members: list[str], own: float | None = None
) -> list[float] | None:
    """'each gets 0.25, ours the rest' over these members: every member `value`, the one named what is left (or
    its `own` share, where one was said: '0.4 for ours, 0.3 each for the partners'). A `value` of None is 'the
    rest split evenly': the others share what `own` leaves."""
    index = member_index(who, members)
    if value is None:
        if own is None or len(members) < 3 or not 0 < own < 1:
            return None
        value = round((1 - own) / (len(members) - 1), 6)
    rest = own if own is not None else round(1 - value * (len(members) - 1), 6)
    if own is not None:
        return None if index < 0 or len(members) < 3 else [rest if i == index else value for i in range(len(members))]
    if index < 0 or not 0 < rest < 1:
        return None
    return [rest if i == index else value for i in range(len(members))]


def _favoured_kept(value: tuple[float, float, str], stage: Any) -> bool:
    """Whether a two-model merge gives the member said to be favoured its share ("60-40 in favour of the second")."""
    share, rest, who = value
    shares = [1 - stage.t, stage.t] if stage.method == "slerp" else list(stage.weights or [])
    if len(shares) == 1 and len(stage.models) == 1:  # "B into the base with task_arithmetic, 0.7 for B": B's scale
        return member_index(who, list(stage.models)) == 0 and abs(shares[0] - share) < 1e-6
    if len(shares) != 2:
        return False
    members = list(stage.models)
    if re.fullmatch(r"first|перв\w*", who.split()[0]):
        index = 0
    elif re.fullmatch(r"second|втор\w*", who.split()[0]):
        index = 1
    else:  # "ours", "the base", "the partner", a path
        index = member_index(who, members)
    if index < 0:  # a member no word of the goal pins down: the two shares, either way round
        return all(abs(a - b) < 1e-6 for a, b in zip(sorted(shares), sorted([share, rest]), strict=True))
    return abs(shares[index] - share) < 1e-6 and abs(shares[1 - index] - rest) < 1e-6


def _placed(fact: Fact, plan: Any, num_layers: int | None) -> bool:
    stages = list(plan.stages)
    training = [s for s in stages if s.kind in ("sft", "preference")]
    if fact.scope == "all" and fact.slot in ("module", "role") and not str(fact.value).startswith("not "):
        names = (
            {fact.value}
            if fact.slot == "module"
            else (ATTENTION_NAMES if str(fact.value).endswith("attention") else MLP_NAMES)
        )  # "таргеты q_proj,v_proj в обоих": every adapter trained has them
        adapters = [s for s in training if getattr(s, "adapter", "") != "none"]
        return bool(adapters) and all(set(s.target_modules or []) & names for s in adapters)
    if fact.scope == "all" and fact.slot in SLOT_NAMES:  # "both with r 32": every training stage that has the field
        have = [
            s for s in training if hasattr(s, fact.slot) and not (fact.slot in ("r", "alpha") and s.adapter == "none")
        ]
        return bool(have) and all(
            getattr(s, fact.slot) is not None
            and abs(float(getattr(s, fact.slot)) - float(fact.value)) <= 1e-12 + 1e-9 * abs(float(fact.value))
            for s in have
        )
    if fact.scope is not None:  # a value said for one stage must be in that stage, not just somewhere
        training = [s for s in training if stage_scope(s) == fact.scope] or training
    slot, value = fact.slot, fact.value
    if slot in SLOT_NAMES:
        if slot == "seed":  # a merge's seed (dare_* and della* draw random masks) is a seed said too
            training = training + [s for s in stages if s.kind == "merge_models"]
        for s in training:
            have = getattr(s, slot, None)
            if have is None:
                continue
            if slot in ("r", "alpha") and getattr(s, "adapter", "") == "none":
                continue
            if isinstance(have, (int, float)) and abs(float(have) - float(value)) <= 1e-12 + 1e-9 * abs(float(value)):
                return True
        return False
    if slot == "method":
        for s in training:
            if s.kind != "preference":
                continue
            if value == "ipo" and s.method == "dpo" and (s.loss_type == "ipo" or "ipo" in (s.loss_type or [])):
                return True  # "--loss_type sigmoid ipo": IPO as one loss of TRL's weighted list
            if value == "dpo" and s.method == "dpo" and s.loss_type not in fact.replaced:
                return True  # "IPO… no, plain DPO": the IPO loss must be gone
            if value == s.method:
                return True
        return False
    if slot in ("unsupported", "reference"):
        return False
    if slot == "same_as":  # "the same layers": the planner carries an earlier stage's layers and modules
        return True
    if slot == "lr_scheduler_type" and value == "constant":  # (with warmup said: constant_with_warmup keeps it)
        return any(
            s.lr_scheduler_type == "constant" or (s.lr_scheduler_type == "constant_with_warmup" and s.warmup_steps > 0)
            for s in training
        )
    if slot in ("lr_scheduler_type", "distributed", *SWITCHES):
        return any(getattr(s, slot, None) == value for s in training)
    if slot == "stage":
        return any(s.kind == "sft" for s in training)
    if slot == "adapter":
        return any(getattr(s, "adapter", None) == value for s in training)
    if slot == "module":
        if value.startswith("not "):  # every training stage names its modules, and not this one
            return bool(training) and all(s.target_modules and value[4:] not in s.target_modules for s in training)
        return any(value in (s.target_modules or []) for s in training)
    if slot == "role" and value == "all linear":  # Graft's default targets (PEFT's all-linear), or both roles named
        return any(
            not s.target_modules or (set(s.target_modules) & ATTENTION_NAMES and set(s.target_modules) & MLP_NAMES)
            for s in training
        )
    if slot == "role":
        names = ATTENTION_NAMES if value.endswith("attention") else MLP_NAMES
        if value.startswith("not "):  # every training stage names its modules, none of them these
            return bool(training) and all(s.target_modules and not set(s.target_modules) & names for s in training)
        return any(s.target_modules and set(s.target_modules) & names for s in training)
    if slot == "layers":
        return any(s.layers is not None and sorted(s.layers) == sorted(value) for s in training)
    if slot == "dataset":  # a file named beside two stages ("SFT и DPO (chat, prefs)") is used by either
        return any(
            _same_path(getattr(s, "dataset", "") or "", value) for s in stages if s.kind in ("sft", "preference")
        )
    if slot == "not_dataset":  # "on Other.jsonl (not chat.jsonl)": no stage trains on it
        return not any(
            _same_path(getattr(s, "dataset", "") or "", value) for s in stages if s.kind in ("sft", "preference")
        )
    if slot == "path":
        places = [plan.base_model, plan.output]
        for s in stages:
            places += [m for m in getattr(s, "models", []) or [] if not m.startswith("@")]
            if s.kind == "merge_models" and not str(getattr(s, "base", "") or "").startswith("@"):
                places.append(str(s.base or ""))  # "use B as the base": the merge's reference
            places += list(getattr(s, "adapters", []) or [])
            places += [getattr(s, "source", "") or "", getattr(s, "dataset", "") or "", getattr(s, "output", "") or ""]
        if any(p == value for p in places):
            return True
        # a path spelt differently but the same place counts only when its spelling is kept (never case-folded)
        return any((_same_path(p, value) and value.lower() != p) or p.endswith(value) for p in places if p)
    if slot == "loss_weights":
        return any(getattr(s, "loss_weights", None) == list(value) for s in training)
    if slot == "dtype":
        return any(s.kind == "write" and s.dtype == value for s in stages)
    if slot == "full_slices":  # mergekit slices over every layer of each model: the same as no slices
        return any(s.kind == "merge_models" for s in stages)
    if slot == "effective_batch":  # per-device batch × accumulation, × the GPUs where the plan names several
        return any(
            abs(s.batch_size * s.gradient_accumulation * n - float(value)) < 1e-9
            for s in training
            for n in {1, int(getattr(s, "gpus", 1) or 1)}
        )
    if slot == "max_shard_size":
        return any(s.kind == "write" and str(s.max_shard_size).upper() == value for s in stages)
    if slot == "sharding_stage":
        return value in (("deepspeed", 3), ("fsdp", 2))
    if slot == "favoured_weights":
        return any(_favoured_kept(value, s) for s in stages if s.kind == "merge_models" and len(s.models) in (1, 2))
    if slot == "each_rest":
        return any(
            (
                want := each_rest_weights(
                    value[0],
                    "@base" if _same_path(value[1], str(plan.base_model)) else value[1],  # the opened folder, named
                    list(s.models),
                    *value[2:],
                )
            )
            is not None
            and len(s.weights or []) == len(want)
            and all(abs(a - b) < 1e-6 for a, b in zip(s.weights, want, strict=True))
            for s in stages
            if s.kind == "merge_models"
        )
    if slot == "loss_type":
        return any(
            s.kind == "preference"
            and (s.loss_type == value or (isinstance(s.loss_type, list) and value in s.loss_type))
            for s in stages
        )
    if slot == "no_base_member":
        return not any("@base" in s.models for s in stages if s.kind == "merge_models")
    if slot == "weights":
        for s in stages:
            have = list(getattr(s, "weights", None) or [])
            if (
                s.kind == "merge_models"
                and len(value) == 1
                and len(have) > 1
                and all(abs(w - value[0]) < 1e-9 for w in have)
            ):
                return True  # "weights 0.5 each"
            if s.kind == "merge_models" and s.method == "slerp" and value == [0.5] and abs(s.t - 0.5) < 1e-9:
                return True  # "slerp B with ours, half and half": t 0.5
            if (
                s.kind == "merge_models"
                and len(value) == 1
                and len(have) == 2
                and any(abs(w - value[0]) < 1e-9 for w in have)
                and abs(sum(have) - 1) < 1e-6
            ):
                return True  # "merge B into the base with weight 0.3", "0.8 to partner": the other takes the rest
            if s.kind in ("merge_models", "merge_adapter") and have and len(have) == len(value):
                if all(abs(a - b) < 1e-9 for a, b in zip(have, value, strict=True)):
                    return True
            if (
                s.kind == "merge_models"
                and s.method == "slerp"
                and len(value) == 2
                and sum(value) > 0
                and abs(s.t - value[1] / sum(value)) < 1e-6
            ):
                return True  # t is the second's share: "0.7 and 0.3" is t 0.3, "1:1" is t 0.5
            if (
                s.kind == "merge_models"
                and s.method not in ("linear", "slerp")
                and s.base not in s.models
                and len(value) == len(have) + 1
                and all(abs(a - b) < 1e-9 for a, b in zip(have, value[1:], strict=True))
            ):
                return True  # the base named first with a weight: mergekit ignores a task-vector merge's base weight
        return False
    if slot in ("density", "t"):
        return any(
            abs(float(getattr(s, slot, -1.0) or -1.0) - float(value)) < 1e-9
            for s in stages
            if s.kind == "merge_models" or (slot == "density" and s.kind == "merge_adapter")
        )
    if slot == "merge_method":
        return any(getattr(s, "method", None) == value for s in stages if s.kind == "merge_models") or any(
            getattr(s, "combination", None) == value for s in stages if s.kind == "merge_adapter"
        )
    return False  # a slot this check does not know is not shown as kept


def stated_facts(goal: str, num_layers: int | None = None, feedback: list[str] | None = None) -> list[Fact]:
    """The goal's facts, then each rejection reason's: a reason's value replaces the goal's for that slot."""
    facts = goal_facts(goal, num_layers)
    for reason in feedback or []:
        for new in goal_facts(reason, num_layers):
            if new.slot in ("dataset", "path", "unsupported"):
                facts.append(new)
                continue
            old = [f for f in facts if f.slot == new.slot]
            facts = [f for f in facts if f.slot != new.slot]
            new.replaced = [v for f in old for v in (*f.replaced, f.value)]
            new.start = 10**9  # after the goal
            facts.append(new)
        if re.search(r"\b(?:instead|rather)\b|вместо", reading_text(reason)):
            # "use DPO instead of ORPO": the method named as replaced is no longer a stated fact
            kept = {
                f.value
                for f in goal_facts(
                    re.sub(r"(?:instead of|rather than|not|вместо|не)\s+\S+", " ", reading_text(reason)), num_layers
                )
                if f.slot == "method"
            }
            if kept:
                facts = [f for f in facts if f.slot != "method" or f.value in kept]
    return facts


# words after which a number is a value the planners read outside the fact slots (merge t, density, SimPO's
# gamma, KTO's weights, shards, GPUs, …), or that a number is part of (a model name, a percentage of data)
OTHER_VALUES = re.compile(
    r"(?:\bt|density|плотност\w*|shards?|halfway|top|first|last|layers?|blocks?|сло\w*|блок\w*)"
    r"[\s=:]*(?:of\s+|the\s+|is\s+)?$"
)


LIST_JOIN = re.compile(r"\s*(?:/|,|;|and|и|or|или|-|to|through|thru|по|до|на|x|×)\s*$")


def _number_chain(masked: str, number: Number) -> list[Number]:
    """The numbers joined to this one by list, ratio or range words: "32 и 64", "0.7/0.3", "2 to 5", "8, 16 or 32"."""
    numbers = find_numbers(masked)
    i = next(k for k, n in enumerate(numbers) if n.start == number.start)
    lo = hi = i
    while lo > 0 and LIST_JOIN.fullmatch(masked[numbers[lo - 1].end : numbers[lo].start]):
        lo -= 1
    while hi + 1 < len(numbers) and LIST_JOIN.fullmatch(masked[numbers[hi].end : numbers[hi + 1].start]):
        hi += 1
    return numbers[lo : hi + 1]


def _covered(number: Number, facts: list[Fact]) -> bool:
    return any(f.start <= number.start < f.end and f.end != 10**9 and not _left_out_of(number, f) for f in facts)


def _left_out_of(number: Number, fact: Fact) -> bool:
    """A decimal share inside a weights fact's span that is none of its values ("B вес 0.5, блин, 0.3; C вес 0.7"
    read as 0.5 and 0.7): the 0.3 was not read, so it is asked about rather than taken as held."""
    if fact.slot != "weights" or not isinstance(fact.value, list) or len(fact.value) < 2 or number.words:
        return False
    # "-0.5" is read as 0.5; "a third" is written 0.33333 in the text and read as 0.333333
    return 0 < number.value < 1 and all(abs(abs(v) - number.value) > 5e-4 for v in fact.value)


# a size in GB said about hardware ("a 24GB GPU", "16 ГБ памяти"), not about the files written
MEMORY_CONTEXT = r"vram|gpu|memory|\bram\b|card|disk|a100|h100|4090|3090|памят|видеокарт|карт|диск|озу"


def _restated(value: float, facts: list[Fact]) -> bool:
    """Whether a number is one of the values read already (a share as said, 70 for 0.7, counts too)."""
    said: list[float] = []
    for f in facts:
        values = f.value if isinstance(f.value, (list, tuple)) else [f.value]
        said += [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return any(abs(v - value) < 1e-9 or abs(v * 100 - value) < 1e-6 for v in said)


# a two-part ratio with both parts kept ("1 к 3", "70/30"): a label may name one part again ("(нам 3)")
RATIO_PARTS = re.compile(r"(?<![\w.])(\d*\.?\d+)\s*(?:/|:|к|на|to)\s*(\d*\.?\d+)(?![\w.])")


def orphan_numbers(goal: str, facts: list[Fact]) -> list[str]:
    """Numbers in the goal that no fact holds and no known parameter word precedes: asked about, not dropped."""
    from agent.goal_settings import ITEM_NUMBER_AFTER, unread_settings

    text, _ = _corrected_spans(reading_text(goal))
    masked = mask(text)
    orphans = []
    named = unread_settings(masked, facts)  # asked about by name ("epsilon 0.1": Graft's plan has no epsilon)
    from agent.goal_settings import TECHNIQUES

    refused = [m.span() for pattern, _ in TECHNIQUES for m in re.finditer(pattern, masked)]
    for number in find_numbers(masked):
        if _covered(number, facts):
            continue
        if any(s <= number.start < e for s, e in refused):
            continue  # «QLoRA 4 бита»: the number is part of a technique that is refused by name
        if any(
            re.search(re.escape(name) + r"[\"']?\s*(?:=|:|of|at)?\s*[\"']?-?$", masked[: number.start])
            for name in named
        ):
            continue
        if (
            re.match(r"\)\s", masked[number.end : number.end + 2])
            and re.search(r"(?:^|\s)\(?$", masked[: number.start])
            and re.fullmatch(r"\d{1,2}", masked[number.start : number.end])
        ):
            continue  # "1) SFT … 2) DPO": an item's number (not "(0.2)", a value in brackets)
        opened = re.search(r"\(([^()]*)$", masked[: number.start])
        closed = re.match(r"[^()]*\)", masked[number.end :])
        if (
            opened
            and closed
            and all(
                _restated(n.value, facts) for n in find_numbers(masked[opened.start(1) : number.end + closed.end()])
            )
        ):
            continue  # "70/30 (ours 70)": values read already, said again in brackets
        if re.search(
            r"(?:\beach|\ball|\bevery\s+one|кажд\w+|вс\w+)\s+(?:of\s+|из\s+)?(?:the\s+|these\s+|этих\s+)?$",
            masked[max(0, number.start - 20) : number.start],
        ) and re.match(rf"\s*(?:models?\s*|моделей\s*)?[(:]\s*(?:#{{3,}}|{MEMBER_WORD})", masked[number.end :]):
            continue  # "each of the three (ours, B, C)": how many members the list that follows has
        ratio_before = list(RATIO_PARTS.finditer(masked[: number.start]))
        if (
            opened
            and closed
            and ratio_before
            and ratio_before[-1].end() <= opened.start()
            and re.search(rf"(?:#{{3,}}|{MEMBER_WORD})", masked[opened.start(1) : number.end + closed.end()])
            and number.value in (float(ratio_before[-1][1]), float(ratio_before[-1][2]))
            and any(f.slot in ("weights", "favoured_weights") for f in facts)
        ):
            continue  # "1 к 3 (нам 3)": a part of the ratio said again with its owner
        if (
            re.search(r"(?:\bthe|причём|причем|(?<![а-я])где)\s+$", masked[max(0, number.start - 8) : number.start])
            and re.match(
                rf"\s*%?\s+(?:is|goes\s+to|—|-|for)\s+(?:это\s+|for\s+)?(?:the\s+)?(?:#{{3,}}|{MEMBER_WORD})",
                masked[number.end :],
            )
            and _restated(number.value, facts)
        ):
            continue  # "80/20, the 80 is the partner": a share read already, said again with its owner
        if (
            re.search(
                rf"(?:#{{3,}}|{MEMBER_WORD})\s+(?:gets|takes|has|keeps|получает|берёт|берет|достаётся|достается)\s+(?:the\s+)?$",
                masked[max(0, number.start - 40) : number.start],
            )
            and re.search(r"(?<![\w.])\d+(?:\.\d+)?\s*%?\s*(?:/|:|to|на|к)\s*\d", masked[: number.start])
            and _restated(number.value, facts)
        ):
            continue  # "70/30, ours gets the 70": a share of the ratio read already, said again with its owner
        token = (
            re.search(r"[\w.-]*$", masked[: number.start]).group(0)
            + masked[number.start : number.end]
            + re.match(r"[\w.-]*", masked[number.end :]).group(0)
        )
        if re.search(r"(?:\bstage|\bstep|\bpart|этап|шаг|часть)\s*$", masked[: number.start]) and re.match(
            ITEM_NUMBER_AFTER, masked[number.end :]
        ):
            continue  # "Stage 1: SFT …", "Этап 2: DPO …": an item's number
        if re.search(r"[a-zа-я_]+\s*/\s*[a-zа-я_]+\s*=\s*$", text[: number.start]):
            continue  # "(so gamma/beta = 0.5)": a ratio of two settings said, not a setting
        if re.match(r"-(?:indexed|based)\b", masked[number.end : number.end + 9]) or any(
            m.start() <= number.start < m.end() for p in (ZERO_BASED, ONE_BASED) for m in p.finditer(masked)
        ):
            continue  # "zero-indexed", "1-based", "индексы с нуля": how layers are counted (one-based is asked)
        if (
            re.search(
                r"\b(?:llama|qwen|mistral|mixtral|gemma|phi|smollm|gpt|deepseek|falcon|olmo|yi|zephyr|tulu)[\s-]?$",
                masked[: number.start],
            )
            and not number.words
        ):
            continue  # "the unsloth llama 3 notebook", "Qwen 2.5": a model family's version, not a setting
        if not number.words and "-" in token and re.search(r"[a-zа-я]{3,}", token):
            continue  # "Llama-3-8B", "zero-indexed", "0-based": part of a name, not a setting
        aside = re.search(r"\(([^()]*)$", masked[: number.start])
        inside = (
            masked[aside.end(1) : masked.find(")", number.end) if ")" in masked[number.end :] else None]
            if aside
            else ""
        )
        listed = [n.value for n in find_numbers(aside.group(1) + inside)] if aside else []
        if aside and any(
            f.slot == "layers" and 0 <= aside.start() - f.end <= 2 and all(v in f.value for v in listed) for f in facts
        ):
            continue  # "every other layer (0,2,4,...,10)": the selection spelt out again
        if aside and re.search(
            r"default|would|too |otherwise|instead|underfit|overfit|дефолт|по умолчанию|будет|мало|много|иначе",
            aside.group(1) + masked[number.end : number.end + 40].split(")")[0],
        ):
            continue  # "2 epochs (1 would underfit)", "(the default 2e-4 is too slow)": a remark, not a setting
        if any(
            number.start in (m.start("n"), m.start("n2"), m.start("n3"), m.start("n4"))
            for m in MEMBER_COUNT.finditer(masked)
        ):
            continue  # "all three equal": how many models the merge has, checked against the plan's merge
        before = masked[max(0, number.start - 30) : number.start]
        after = masked[number.end : number.end + 12]
        ratio = re.search(r"(\d+)\s*[/:]\s*(\d+)\s*%?\s*\(\s*$", before)
        if ratio and re.match(r"\s*%", after) and number.value == float(ratio.group(1)):
            continue  # "30/70 (30% partner)": the ratio's first share said again in brackets
        if re.search(
            FAVOUR_WORDS + r"\s+(?:the\s+)?\S+(?:\s+model)?"
            r"[\s,]*(?:(?:at|by|with|as)\s+)?(?:\d+(?:\.\d+)?\s*(?:to|:|/|к)\s*)?$",
            masked[max(0, number.start - 80) : number.start],
        ) and re.search(r"slerp|слерп", masked):
            continue  # "favouring B 3 to 1": SLERP's t, read by the planner from which model is favoured
        if re.match(r"\s*(?:gpus?|видеокарт|гпу|nodes?|узл|devices?|устройств)", after):
            orphans.append(masked[number.start : number.end])  # "on 4 GPUs": hardware the plan does not set
            continue
        if (
            re.match(r"\s*(?:gb|mb|гб|мб)\b", after)
            and not OTHER_VALUES.search(before)
            and not re.search(
                MEMORY_CONTEXT,
                masked[max(0, number.start - 40) : number.end + 30],
            )
        ):
            orphans.append(masked[number.start : number.end + re.match(r"\s*\w+", after).end()])
            continue  # "shards 2GB" unread once kept the 5GB default: a size nothing placed is asked about
        if OTHER_VALUES.search(before) or re.match(r"\s*(?:gb|mb|gib|mib|k\b|b\b|st|nd|rd|th|-?(?:й|го|я))", after):
            continue
        chain = [n for n in _number_chain(masked, number) if not _covered(n, facts)]
        if len(chain) > 1:  # a list, ratio or range nothing read ("32 и 64"): asked about once, all of it
            if number.start == chain[0].start:
                orphans.append(masked[chain[0].start : chain[-1].end])
            continue
        if re.match(
            r"[\s-]*(?:epochs?|steps?|эпох|шаг|layers?|blocks?|сло|блок|adapters?|models?|адаптер|модел|files?|файл|results?|outputs?|branch|checkpoints?|результат|ветк|(?:\S+\s+)?(?:rounds?|times|stages?|passes|runs?|раунд|раз|этап|прогон|fine-?tunes?|finetunes?|trainings?|обучени|loras?|doras?|лор|адаптер|losses|лосс|projections|проекци))",
            masked[number.end : number.end + 30],
        ):
            continue  # "two-stage thing", "Два независимых прогона", "two separate finetunes": a count
        if (
            number.words
            and re.search(
                r"\b(?:merge|blend|mix|soup|average)\s+of\s+$|(?:слияние|смесь|средн\w*|средневзвешенн\w*|мерж|мердж)\s+$",
                before,
            )
        ) or (
            re.search(r"\b(?:merge|blend|mix|average)\s+(?:the\s+|these\s+|all\s+)?$", before)
            and re.match(r"\s*(?:models\s*)?[:(—-]", after)
        ):
            continue  # "Linear merge of three: A 0.5, B 0.25, C 0.25": how many models, each named after
        if (
            number.words
            and re.search(r"\b(?:the|these|those|both|all)\s+$", masked[: number.start])
            and re.match(r"\s*(?:with|together|into|using|via|by|at|in|and|[,.;)]|$)", after)
        ):
            continue  # "merge the two with slerp": a pronoun for what came before, not a setting
        if number.words and number.value == 1:
            continue  # "one safetensors file", "the SFT one", "один файл": a word for 1 is rarely a setting
        sign = "-" if re.search(r"(?<![\w.])-$", masked[: number.start]) else ""  # "at weight -0.2": said back signed
        orphans.append(sign + masked[number.start : number.end])
    for m in re.finditer(r"(?<![\w.])\d+(?:\.\d+)?(?:gb|mb|гб|мб)\b", masked):  # "pieces around 2GB", glued
        if any(f.start <= m.start() < f.end for f in facts) or re.search(
            MEMORY_CONTEXT,
            masked[max(0, m.start() - 40) : m.end() + 30],
        ):
            continue
        orphans.append(m.group(0))
    return orphans


def _range_slot(masked: str, orphan: str) -> tuple[str, str] | None:
    """'lr between 1e-4 and 3e-4', 'rank 8-16', 'lr от 1e-4 до 3e-4': the setting a range of values was said for."""
    at = masked.find(orphan)
    if at < 0:
        return None
    ends = r"\s*(?:-|–|to|and|до|и|through)\s*"
    lead = masked[max(0, at - 40) : at]
    said = orphan
    if not re.search(rf"{DIGITS}{ends}{DIGITS}", orphan):  # one end of it: "rank 8-16" read 8 and left 16
        first = re.search(rf"{DIGITS}\s*(?:-|–|to|до|through)\s*$", lead)
        said = (masked[at - len(lead) + first.start() : at] + orphan) if first else orphan
        lead = lead[: first.start()] if first else ""
        after = re.match(rf"{ends}{DIGITS}\s*", masked[at + len(orphan) :])  # "2-3 epochs" read 3 and left 2
        if after:
            for slot, keyword in BEFORE:
                if re.match(rf"(?:{keyword})", masked[at + len(orphan) + after.end() :]):
                    return SLOT_NAMES.get(slot, slot), (orphan + after.group(0)).strip()
        if not lead:
            return None
    for slot, keyword in AFTER:
        if re.search(
            rf"(?:{keyword})\s*(?:[:=]\s*)?(?:(?:between|from|in\s+the\s+range(?:\s+of)?|range|somewhere|от|между|в\s+диапазоне)\s+)?$",
            lead,
        ):
            return SLOT_NAMES.get(slot, slot), said.strip()
    return None


def _misspelt_slot(masked: str, number: str) -> str | None:
    """'learnign rate 3e-4', 'rnak 8': the setting a misspelt word before the number most likely is (asked, not assumed)."""
    import difflib

    at = masked.find(number)
    words = re.findall(r"[a-zа-я_]+", masked[max(0, at - 30) : at])[-2:]
    names = {name: slot for slot, name in SLOT_NAMES.items()} | {slot: slot for slot in SLOT_NAMES}
    for tail in (" ".join(words), words[-1] if words else ""):
        close = difflib.get_close_matches(tail, names, n=1, cutoff=0.75)
        if tail and close:
            return SLOT_NAMES[names[close[0]]]
    return None


SUBTRACT = re.compile(
    r"\b(?:subtract\w*|negat(?:e|ive|ing)\w*)\b|(?<![а-я])(?:вычт\w*|вычит\w*|вычес\w*|отним\w*|отними|отня\w*)"
)


def _subtracted_misses(masked: str, plan: Any) -> list[Miss]:
    """'вычти B', 'subtract B's task vector': a merge where no weight is negative has not subtracted anything."""
    said = SUBTRACT.search(masked) or re.search(  # "ours minus B's task vector": taken away as well
        r"(?:\bminus|(?<![а-я])минус)\s+(?:the\s+)?(?:#{3,}|task|вектор)", masked
    )
    merges = [s for s in plan.stages if s.kind == "merge_models"]
    if not said or not merges or any(w < 0 for s in merges for w in (s.weights or [])):
        return []
    return [
        Miss(
            None,
            f"You wrote '{said.group(0)}', and no merge weight in the plan is negative; which model's task vector "
            "should be subtracted, and with what weight?",
        )
    ]


# "more of the partner", «побольше партнёра», "mostly ours": a lean with no amount said
VAGUE_LEAN = re.compile(
    rf"\b(?:more\s+(?:of\s+)?|mostly\s+|heavier\s+on\s+|leaning\s+(?:to(?:wards?)?\s+)?)(?:the\s+)?(?:#{{3,}}|{MEMBER_WORD})"
    rf"|(?<![а-я])(?:побольше|больше|в\s+основном|преимущественно)\s+(?:#{{3,}}|{MEMBER_WORD})"
    # "B should get the bigger share", «чтобы B досталось больше»: which member leans, by how much is not said
    rf"|(?:#{{3,}}|{MEMBER_WORD})(?:'s)?\s+(?:should\s+|must\s+|will\s+)?(?:gets?|has|have|receives?|takes?)\s+"
    r"(?:the\s+|a\s+)?(?:bigger|larger|greater|higher|more)(?:\s+(?:share|weight|part|portion))?\b"
    r"|\b(?:the\s+)?(?:bigger|larger|greater|higher)\s+(?:share|weight|part|portion)\s+(?:goes\s+)?(?:to|for)\s+"
    rf"(?:the\s+)?(?:#{{3,}}|{MEMBER_WORD})"
    rf"|(?:#{{3,}}|{MEMBER_WORD})\s+(?:досталось|достанется|доставалось|получит|получила|получило|должн\w+\s+получить)\s+"
    r"(?:больше|бóльшую|большую|большая)"
    rf"|(?<![а-я])(?:больше|бóльшая\s+доля|большая\s+доля|больший\s+вес)\s+(?:досталось|достанется|получит|у)\s+"
    rf"(?:#{{3,}}|{MEMBER_WORD})"
)


# "B counts for five times more", «B в пять раз важнее»: a multiple said beside a member of the merge
MULTIPLE_NEAR_MEMBER = re.compile(
    rf"(?:#{{3,}}|{MEMBER_WORD})[^.;,]{{0,30}}?(?:\b(?:\d+(?:\.\d+)?|two|three|four|five|six|ten)\s*(?:x|×|times)(?![\w-])"
    r"|\btwice\b|\bdouble\b|\btriple\b|(?<![а-я])в\s+\S+\s+раза?(?![а-я])|(?<![а-я])(?:вдвое|втрое|вчетверо)(?![а-я]))"
)


def _vague_lean_misses(masked: str, plan: Any) -> list[Miss]:
    """'slerp with B, more of the partner': a lean with no amount is asked about, not planned as an even blend."""
    said = VAGUE_LEAN.search(masked)
    if not said or re.search(r"(?<![\w.])\d", masked[max(0, said.start() - 60) : said.end() + 60]):
        said = MULTIPLE_NEAR_MEMBER.search(masked)  # a multiple read as no share at all leaves an even blend
        if said is None or not any(
            s.kind == "merge_models" and len(s.models) >= 2 and not s.weights and s.method != "slerp"
            for s in plan.stages
        ):
            return []
    even = [
        s
        for s in plan.stages
        if s.kind == "merge_models"
        and ((s.method == "slerp" and abs(s.t - 0.5) < 1e-9) or len(set(s.weights or [])) <= 1)
    ]
    if not even:
        return []
    if said.re is MULTIPLE_NEAR_MEMBER:
        return [
            Miss(
                None,
                f"You wrote '{said.group(0)}', and Graft did not read which shares that gives; say each "
                "member's share (e.g. 0.8 and 0.2).",
            )
        ]
    return [Miss(None, f"You wrote '{said.group(0)}'; by how much? Say the share (e.g. 0.7) or SLERP's t.")]


# "all three equal", "все три поровну", "the 3 models equally": the number of a merge's members
MEMBER_COUNT = re.compile(
    r"(?:\ball(?:\s+of\s+the)?|\bthe|(?<![а-я])(?:все|всех|всем|эти|этих))\s+(?P<n>\S+)"
    r"(?=\s+(?:(?P<other>other|others|остальн\w*|други\w*)\s+)?(?:models?|checkpoints?|equal\w*|evenly|the\s+same|модел\w*"
    r"|поровну|одинаков\w*|равн\w*)|\s+(?P<partners>partners|партн[её]р(?:ов|ам|ы|ами)|others)(?![\w-]))"
    # "merge of three models", "мерж трёх моделей: …"
    r"|(?:\bmerg\w*(?:\s+of)?|\bblend\w*(?:\s+of)?|(?<![а-я])(?:мерж|мердж|слияни|смешивани|слей|слить)\w*)\s+(?P<n2>\S+)"
    r"(?=\s+(?:models|checkpoints|моделей|модели|чужих|чужие)(?![а-я\w])|\s*:)"  # "мерж трех: наша, B, C"
    # "three way linear of ours, B, C": how many models the merge has
    r"|(?<![\w-])(?P<n4>[\w]+)[- ]way\b"
    # "equal parts, all three (ours too)", "все три, поровну": the count said on its own
    r"|(?:\ball|(?<![а-я])(?:все|всех|всем))\s+(?P<n3>[\w-]+)(?=\s*(?:\(|[,.;]|$))"
)


# "no LoRA on layer 0", "без лоры на первом слое": LoRA on every other layer, or a full fine-tune of that one?
NO_ADAPTER_ON_LAYERS = re.compile(
    r"(?:\bno|\bwithout|(?<![а-я])без)\s+(?:q?lora|dora|adapters?|лор\w*|адаптер\w*)\s+(?:on|in|for|at|на|в|во)\s+"
    r"(?:the\s+)?(?:(?:first|last|top|bottom|перв\w*|последн\w*|верхн\w*|нижн\w*|\d+|[a-zа-я]+)\s+)?"
    r"(?:layers?|blocks?|сло\w*|блок\w*)(?:\s*\d+(?:\s*(?:-|to|,|и|and|по)\s*\d+)*)?"
)


def _no_adapter_on_layers_misses(masked: str, goal: str) -> list[Miss]:
    said = NO_ADAPTER_ON_LAYERS.search(masked)
    if said is None or re.search(r"\ball\b|\bevery\b|(?<![а-я])(?:всех|всем|все)(?![а-я])", said.group(0)):
        return []  # "полный файнтюн без лоры на всех слоях": a full fine-tune, said twice
    if ADAPTER_NONE.search(masked[max(0, said.start() - 40) : said.start()]) or re.search(
        r"\bfull\b|полн\w*", masked[max(0, said.start() - 30) : said.start()]
    ):
        return []  # "full fine-tune, no LoRA, on layers 0-5": which layers the full fine-tune trains
    words = goal[said.start() : said.end()] if len(goal) == len(masked) else said.group(0)
    return [
        Miss(
            None,
            f"You wrote '{words}': should those layers be fully fine-tuned (no adapter), or should a LoRA train "
            "every other layer and leave them out?",
        )
    ]


def _member_count_misses(masked: str, plan: Any) -> list[Miss]:
    """'all three equal' over a merge of two: the count said is the merge's, or it is asked about."""
    merges = [s for s in plan.stages if s.kind == "merge_models"]
    misses = []
    for m in MEMBER_COUNT.finditer(masked):
        group = next(g for g in ("n", "n2", "n3", "n4") if m.group(g))
        said = next((n for n in find_numbers(masked[m.start(group) :]) if n.start == 0), None)
        others = m.group("other") is not None  # "the two other checkpoints": ours and two more
        partners = m.group("partners") is not None  # "the two partners": the folders merged, with ours or without it
        if (
            said is None
            or not merges
            or any(
                (not partners and len(s.models) - others == said.value)
                or (partners and len([x for x in s.models if not x.startswith("@")]) == said.value)
                # "мерж трех: наша, B, C, ties": ours is the reference of a task-vector merge, counted by the person
                or (
                    s.method in ("ties", "dare_ties", "della", "task_arithmetic", "dare_linear", "della_linear")
                    and "@base" not in s.models
                    and len(s.models) + 1 == said.value
                )
                for s in merges
            )
        ):
            continue
        have = ", ".join(f"{s.id}: {len(s.models)}" for s in merges)
        misses.append(
            Miss(
                None,
                f"You wrote '{m.group(0)}', and the plan's merge has a different number of models ({have}); "
                "which models should it merge?",
            )
        )
    return misses


# "merge A with B and C, but not C actually", "… с B и C, но без C": a folder named, then left out of the merge
_LEFT_OUT_BEFORE = re.compile(
    r"(?:\bbut\s+not|\bnot|\bwithout|\bexcept|\bexcluding|(?<![а-я])без|(?<![а-я])кроме|(?<![а-я])но\s+не)\s+$"
)


# "… и с C... нет, без второго", "…, actually without the last one": a member left out by its place in the list
_LEFT_OUT_ORDINAL = re.compile(
    r"(?:\bbut\s+not|\bnot|\bwithout|\bexcept|\bexcluding|\bdrop|(?<![а-я])без|(?<![а-я])кроме|(?<![а-я])но\s+не)\s+"
    r"(?:the\s+)?(?P<o>second|third|last|втор(?:ого|ой|ую)|трет(?:ьего|ьей|ью)|последн(?:его|ей|юю))"
    r"(?:\s+(?:one|model|partner|модели|партн[её]ра))?(?![\w-])"
)


def paths_left_out(text: str, pattern: re.Pattern[str] = PATH) -> list[str]:
    """The paths the text names right after a negation (the planner skips them as merge members, the check agrees),
    or by their place among the models named ("и с C… нет, без второго")."""
    found = list(pattern.finditer(text))
    out = [m.group(0).rstrip(".,") for m in found if _LEFT_OUT_BEFORE.search(text[max(0, m.start() - 16) : m.start()])]
    models = [m for m in found if not DATASET_PATH.fullmatch(m.group(0).rstrip(".,"))]
    for m in MEMBER_REPLACED.finditer(mask(text, (pattern,))):  # "merge with B — no, with C": B is no member
        out.append(text[m.start("old") : m.end("old")].rstrip(".,"))
    for said in _LEFT_OUT_ORDINAL.finditer(text):
        before = [m for m in models if m.end() <= said.start()]
        word = said["o"]
        place = -1 if word.startswith(("last", "последн")) else 1 if word.startswith(("second", "втор")) else 2
        if len(before) >= 2 and (place == -1 or place < len(before)):
            out.append(before[place].group(0).rstrip(".,"))
    return out


def check_plan_against_goal(
    goal: str, plan: Any, num_layers: int | None = None, feedback: list[str] | None = None
) -> list[Miss]:
    """Every stated fact the plan does not keep, each as a question; [] when the plan keeps them all.

    Both planners' plans go through this: a miss is asked about or repaired, never shown as a
    plan that quietly differs from what the person said."""
    goal = expand_labels(goal)  # "3:1 в пользу B" with B (../b) named earlier: read as ../b, for either planner
    if num_layers is None:
        num_layers = _layer_count(plan.base_model)
    misses = []
    facts = stated_facts(goal, num_layers, feedback)
    said = mask(reading_text(retract(goal)))
    swapped = order_swapped(goal)  # "…, actually swap the order": the order said is turned round on purpose
    if not swapped:
        misses.extend(_order_misses(facts, plan))
    misses.extend(_before_that_misses(facts, said, plan))
    misses.extend(_subtracted_misses(said, plan))
    misses.extend(_vague_lean_misses(said, plan))
    misses.extend(_member_count_misses(said, plan))
    misses.extend(_no_adapter_on_layers_misses(said, retract(goal)))
    if (sixteen := SIXTEEN_BIT.search(said)) and not any(
        s.kind == "write" and s.dtype in ("float16", "bfloat16") for s in plan.stages
    ):
        misses.append(Miss(None, f"You wrote '{sixteen.group(0)}': should the output be float16 or bfloat16?"))
    if not swapped:
        misses.extend(_first_misses(said, plan))
    misses.extend(_unstated_order_misses(said, plan))
    corrected = mask(_corrected_spans(reading_text(retract(goal)))[0])  # what was taken back is blanked
    misses.extend(_both_adapters_misses(corrected, plan))
    for scope, words in contradicted_stages(goal):
        if _scope_stages(plan, scope):
            name = SCOPE_NAMES.get(scope, scope.upper())
            misses.append(
                Miss(
                    None,
                    f"You asked for {name} and then said '{words}'; should the plan have {ARTICLE.get(name, 'a')} {name} stage?",
                )
            )
    for scope, words in refused_stages(goal):
        if _scope_stages(plan, scope):
            name = SCOPE_NAMES.get(scope, scope.upper())
            misses.append(
                Miss(None, f"You said '{words}', and the plan has {ARTICLE.get(name, 'a')} {name} stage; should it?")
            )
    misses.extend(_invented_stages(goal, plan, feedback))
    for m in SKIPPED_MERGE.finditer(said):  # "… then ties with ours as base — actually skip the ties step"
        word = m["m"]
        kept = [
            s
            for s in plan.stages
            if s.kind == "merge_models"
            and (not re.match(r"ties|slerp|linear|dare|task|della", word) or word[:4] in s.method)
        ]
        if kept:
            misses.append(Miss(None, f"You said '{m.group(0).strip()}', and the plan has that merge; should it?"))
    misses.extend(_role_misses(facts, plan))
    from agent.goal_layers import unread_layer_words

    for phrase in unread_layer_words(corrected, num_layers):
        misses.append(
            Miss(None, f"You wrote '{phrase}', and only part of it was read as layers; which layers should be trained?")
        )
    masked_goal = mask(reading_text(goal))
    read = goal_facts(goal, num_layers)  # the goal's own facts (stated_facts adds the feedback's)
    for orphan in orphan_numbers(goal, read):
        if ranged := _range_slot(masked_goal, orphan):
            misses.append(
                Miss(
                    None,
                    f"You gave a range for {ranged[0]} ({ranged[1]}); a run trains with one value. Which should it be?",
                )
            )
            continue
        guess = _misspelt_slot(masked_goal, orphan)
        misses.append(
            Miss(
                None,
                f"You wrote {orphan}, and the plan does not say what it is for; "
                + (f"did you mean {guess} {orphan}?" if guess else "which setting is it?"),
            )
        )
    for words in unread_load_bearing(goal, read):
        misses.append(
            Miss(
                None,
                f"You wrote '{words}', and Graft did not read what that changes in the plan; "
                "say it with a value (or leave it out)?",
            )
        )
    for words in unread_corrections(goal, read):
        misses.append(
            Miss(
                None,
                f"You wrote '{words}', which reads as a correction, but Graft could not tell which value it "
                "replaces; which value should the plan use?",
            )
        )
    misses.extend(setting_misses(goal, num_layers, read))
    taken_back = {path.lower() for path in paths_left_out(reading_text(retract(goal)))}
    for fact in facts:
        if _placed(fact, plan, num_layers):
            continue
        if fact.slot == "path" and str(fact.value).lower() in taken_back:
            continue  # left out as said (the planner skips it as a member)
        if fact.slot == "unsupported":
            message = (
                f"Graft does not run {fact.value.upper()} (it trains with SFT, DPO/IPO, ORPO, SimPO and KTO); "
                "say which of those you want instead, or drop it."
            )
        elif fact.slot == "sharding_stage":
            message = (
                f"You said '{fact.phrase}'; Graft runs DeepSpeed as ZeRO-3 and FSDP as FSDP2 "
                "(tools/distributed.py). Go on with that, or drop the multi-GPU setting?"
            )
        elif fact.slot == "reference":
            what = "settings" if fact.value == "all" else SLOT_NAMES.get(fact.value, str(fact.value).replace("_", " "))
            message = (
                f"You wrote '{fact.phrase}', but the goal states no {what} for another stage that it could refer to"
                f" (each stage otherwise gets Graft's own default). Which {what} should the plan use?"
            )
        elif fact.slot in ("r", "alpha") and all(
            getattr(s, "adapter", "") == "none" for s in plan.stages if s.kind in ("sft", "preference")
        ):
            message = (
                f"You said {fact.describe()}, and also a full fine-tune, which has no adapter and no rank; "
                "a LoRA with that rank, or full fine-tuning?"
            )
        elif fact.slot in SLOT_NAMES and fact.scope and (stages := _scope_stages(plan, fact.scope)):
            name, stage_name = SLOT_NAMES[fact.slot], SCOPE_NAMES.get(fact.scope, fact.scope.upper())
            have = ", ".join(_show(getattr(st, fact.slot, None)) for st in stages)
            message = (
                f"You said {fact.describe()} for the {stage_name} stage; the plan's {stage_name} stage uses {have}. "
                f"Which stage takes which {name}?"
            )
        elif (
            fact.slot == "simpo_gamma"
            and not any(s.kind == "preference" for s in plan.stages)
            and any(s.kind == "merge_models" for s in plan.stages)
        ):  # "breadcrumbs merge …, gamma 0.01": mergekit's gamma, which Graft's merges do not take
            message = (
                f"You said gamma {_show(fact.value)} for the merge; Graft's merges take no gamma (mergekit's breadcrumbs "
                "gamma is left at its default). Drop it, or say what it should change?"
            )
        elif fact.slot in SLOT_NAMES:
            same = [f for f in facts if f.slot == fact.slot and f is not fact and f.value != fact.value]
            others = ", ".join(f.describe() for f in same)
            message = (
                f"You said {fact.describe()}"
                + (f" and also {others}" if others else "")
                + "; the plan does not use it. Which value should it be, and for which stage?"
            )
        elif fact.slot == "layers" and not any(s.kind in ("sft", "preference") for s in plan.stages):
            message = (  # "slerp B in only for layers 6-11": mergekit slices, which Graft's merges do not take
                f"You said '{fact.phrase}' (layers {_show(fact.value)}); Graft merges every layer of the models "
                "(no per-layer or sliced merge), and the plan trains nothing. Merge all layers, or drop the layer "
                "range?"
            )
        elif fact.slot == "layers":
            message = (
                f"You said '{fact.phrase}' (layers {_show(fact.value)}); the plan trains other layers. Which layers?"
            )
        elif fact.slot in ("dataset", "path") and re.search(r"\.(?:txt|md|text)$", str(fact.value)):
            message = (
                f"You named {fact.value}, a plain-text file; Graft trains on .jsonl, .json, .csv or .parquet rows. "
                "Put each document in a 'text' field of a .jsonl file and name that?"
            )
        elif fact.slot in ("dataset", "path"):
            message = f"You named {fact.value}; the plan does not use it. What is it for?"
        else:
            message = f"You said '{fact.phrase}'; the plan does not do that. Should it?"
        misses.append(Miss(fact, message))
    for miss in misses:  # a quote taken from the masked reading shows the person's own words, paths included
        miss.message = unmasked_quotes(miss.message, said, reading_text(retract(goal)))
    return sorted(misses, key=lambda m: not m.unrunnable)  # what cannot run at all is asked before any value


def unmasked_quotes(message: str, masked: str, text: str) -> str:
    """Quotes in `message` cut from `masked` (paths blanked, same length as `text`), with the paths put back."""
    if len(masked) != len(text):
        return message

    def put_back(quote: re.Match[str]) -> str:
        inner = quote.group(2)
        at = masked.find(inner)
        if "###" not in inner or at < 0:
            return quote.group(0)
        return quote.group(1) + text[at : at + len(inner)] + quote.group(3)

    return re.sub(r"(['«])([^'«»]*?#{3,}[^'«»]*?)(['»])", put_back, message)


# a hub model named as the one to train ("sft on x.jsonl using mistral-7b"): not the opened model, never downloaded
OTHER_MODEL = re.compile(
    r"(?:\b(?:using|with|on|from|base(?:\s+model)?\s*[:=]?|model\s*[:=]|download|pull|fetch|grab|get|take)"
    r"|(?<![а-я])(?:скача\w*|скачи\w*|загруз\w*|стян\w*|подтян\w*|возьми|бер[её]м))"
    r"\s+(?:the\s+)?(?P<name>(?:llama|mistral|mixtral|qwen|gemma|phi"
    r"|smollm|deepseek|falcon|olmo|tinyllama)[\w.]*(?:-[\w.]+)*?-\d+(?:\.\d+)?[bm](?:-[\w.]+)*)(?![\w.-]|/)"
)
# a Hugging Face Hub id ("mistralai/Mistral-7B-v0.1", "Qwen/Qwen2.5-0.5B"): Graft downloads nothing
HUB_ID = re.compile(
    r"(?<![\w/.~-])(?P<name>(?:meta-llama|mistralai|qwen|google|microsoft|huggingfacetb|tinyllama|eleutherai|tiiuae|bigscience"
    r"|nousresearch|teknium|unsloth|deepseek-ai|openai-community|allenai|01-ai|stabilityai|facebook|hf-internal-testing"
    r"|nvidia|ibm-granite|internlm|thudm|baichuan-inc|openlm-research)/[\w.-]*[\w])(?![\w/-])"
)
# a download from the hub said without a model id: "скачай модель с huggingface", "pull it from the HF hub"
HUB_DOWNLOAD = re.compile(
    r"(?:\b(?:download|pull|fetch|grab|get)\w*|(?<![а-я])(?:скача\w*|скачи\w*|загруз\w*|стян\w*|подтян\w*|выкач\w*))"
    r"\s+(?:[\w.#-]+\s+){0,3}?(?:from|off|с|из|со)\s+(?:the\s+)?(?:hugging\s*face|huggingface|hf|hub|хаба|хаб"
    r"|ха(?:г|гг)ин(?:г|гг)?\s*фейс\w*|обнимашк\w*)"
    r"(?:\s+hub|\s+хаба)?(?![\w/-])"
)
# a recipe named by where it is written down, not by its values: "as in the LLaMA-Factory example", "как в статье"
OUTSIDE_RECIPE = re.compile(
    r"\b(?:as|like)\s+(?:in\s+)?(?:the\s+|their\s+|an?\s+)?(?:[\w.-]+\s+){0,3}?(?:example|recipe|paper|notebook|tutorial"
    r"|blog\s*post|guide|model card)s?\b(?!\s+of\b)|\bwhat\s+the\s+(?:[\w.-]+\s+){0,3}?(?:example|recipe|paper|notebook|tutorial)\s+does"
    r"|(?<![а-я])как\s+в\s+(?:[\w.-]+\s+){0,2}?(?:пример\w*|стать\w*|рецепт\w*|ноутбук\w*|туториал\w*|гайд\w*"
    r"|блог\w*|карточк\w*)(?:\s+[\w.-]+){0,2}?(?=\s*(?:[,;:.]|для|только|но|$))|(?<![а-я])по\s+рецепту(?:\s+[\w.-]+){0,2}"
)


def setting_misses(goal: str, num_layers: int | None, facts: list[Fact] | None = None) -> list[Miss]:
    """Setting names no reader placed and mergekit methods Graft does not run (agent/goal_settings.py), by name."""
    from agent.goal_settings import (
        NOT_LINEAR,
        source_of,
        unread_settings,
        unrun_merge_question,
        unsupported_merge_methods,
        unsupported_techniques,
    )

    masked = mask(reading_text(retract(goal)))
    facts = goal_facts(goal, num_layers) if facts is None else facts
    misses = []
    for name in unread_settings(masked, facts):
        if name in NOT_LINEAR and any(left_out(masked, m.start()) for m in re.finditer(re.escape(name), masked)):
            continue  # "all linear layers except lm_head": left out, as LoRA leaves it anyway
        if name in NOT_LINEAR:
            misses.append(
                Miss(
                    None,
                    f"You named {name}; Graft's LoRA adapts the linear projections only, not {name}. Go on without it?",
                )
            )
            continue
        where = source_of(name.lstrip("-").replace("-", "_"))
        misses.append(
            Miss(
                None,
                f"You wrote '{name}'"
                + (f" (a {where} setting)" if where else "")
                + "; Graft's plan has no such setting, so it would not be applied. Drop it, or say what it should "
                "change in the plan?",
            )
        )
    relative = relative_alpha(masked)
    referred = [
        (f.start, f.end) for f in facts if f.derived or f.slot in ("reference", "dtype")
    ]  # "в половинной точности"
    if favoured := favoured_ratio(masked):  # "partner weighted twice as much as the base": a ratio by member
        referred.append((favoured.start, favoured.end))
    for m in VAGUE.finditer(masked):
        if relative and relative.start() <= m.start() < relative.end():
            continue  # "alpha should be twice the rank": alpha from the rank, not a vague rank
        if any(start <= m.start() < end or m.start() <= start < m.end() for start, end in referred):
            continue  # "half that rank" after "rank 32": read as 16, or asked about as a reference
        misses.append(Miss(None, f"You wrote '{m.group(0).strip()}'; which exact value should the plan use?"))
    relative = relative_alpha(masked)
    if relative and not any(f.slot == "r" for f in facts):
        misses.append(
            Miss(None, f"You set alpha from the rank ('{relative.group(0).strip()}') but named no rank; which rank?")
        )
    for m in OTHER_MODEL.finditer(reading_text(retract(goal))):  # unmasked: "qwen2.5-0.5b" is name-like
        misses.append(
            Miss(
                None,
                f"You named the model '{m.group('name')}'; Graft trains the model you opened and downloads none. "
                "Is the opened model the one you mean, or should you open that model's folder instead?",
            )
        )
    for m in HUB_ID.finditer(reading_text(goal)):
        said = goal[m.start("name") : m.end("name")]
        if not Path(said).expanduser().exists():
            misses.append(
                Miss(
                    None,
                    f"'{said}' looks like a Hugging Face Hub model id; Graft downloads nothing and trains the model you "
                    "opened. Open a local folder of that model with --model, or is it meant as something else?",
                )
            )
    if not HUB_ID.search(reading_text(goal)) and (hub := HUB_DOWNLOAD.search(masked)):
        misses.append(
            Miss(
                None,
                f"You wrote '{reading_text(goal)[hub.start() : hub.end()]}'; Graft downloads nothing and trains the model "
                "you opened. Open a local "
                "folder of that model with --model, or is it meant as something else?",
            )
        )
    for m in OUTSIDE_RECIPE.finditer(masked):
        if re.fullmatch(r"as an? (?:example|guide)", m.group(0).strip()):
            continue  # "as an example": not a recipe
        if re.match(r"\s*(?:does|did|uses|used|делает|там)?\s*[:—-]", masked[m.end() :]):
            continue  # "do what the unsloth notebook does: rank 16, …": the values follow
        misses.append(
            Miss(
                None,
                f"You wrote '{m.group(0).strip()}'; Graft does not know that recipe's settings, so every value you "
                "did not say would be Graft's default. Which values should the plan take from it?",
            )
        )
    for words, why in unsupported_techniques(masked):
        misses.append(Miss(None, f"You asked for '{words}' ({why}). Go on without it, or change the goal?", True))
    for name in unsupported_merge_methods(masked):
        misses.append(Miss(None, unrun_merge_question(name), True))
    return misses


# "linear" or «линейно» with a model folder named: a linear merge, unless it is the schedule's ("linear warmup")
LINEAR_BLEND = re.compile(
    r"\blinear(?:ly)?\b(?!\s+(?:sched\w*|warm\w*|decay|lr|learning|rate|anneal\w*))"
    r"|(?<![а-я])линейн\w*(?!\s+(?:планировщ|расписан|прогрев|затухан|спад|шедулер))"
    r"|(?<![а-я])добавь\s+#{3,}\s+в\s+(?:нашу|мою|базов\w*|исходн\w*)"
)


def merge_said(masked: str) -> bool:
    """A merge word, or "linear"/«линейно» with a model folder named ("P gets 0.65 and ours the rest, linear pls"),
    or shares said for model folders with no merge word at all."""
    return bool(
        MERGE_WORDS.search(masked) or ("###" in masked and (LINEAR_BLEND.search(masked) or shares_said(masked)))
    )


def shares_said(masked: str) -> bool:
    """Shares for named model folders with no merge word: "B and C get 25% each, ours the rest", «50 на 50 с B»,
    "take 0.9 of ours and 0.1 of B" (`masked` has paths masked)."""
    from agent.goal_numbers import words_to_digits
    from agent.goal_shares import owned_pair, share_relation

    digits = words_to_digits(masked)
    named = weights_for(digits)
    owned = owned_pair(masked) or share_relation(masked)  # "our model 25%, B 75%", «вес B вдвое меньше нашего»
    return bool(
        (owned and "#" in masked[owned.start : owned.end])
        or each_with_rest(digits)
        or each_weight(digits)  # «каждой из трёх моделей по трети: наша, B, C»
        or re.search(
            r"(?<![а-я])поровну|\bequally\b|\bevenly\b|в\s+равных\s+долях|\bin\s+equal\s+(?:parts|shares)", digits
        )
        or re.search(
            r"(?<![\w.])\d+(?:\.\d+)?\s*%?\s*(?:/|:|на|к|to)\s*\d+(?:\.\d+)?\s*%?\s+(?:с|со|with)\s+#{3,}", digits
        )
        or (named and any("#" in digits[a:b] for _, a, b in named[0]))
        or re.search(  # «треть от B, треть от C, остальное наша», «75% весов от B»: shares taken from a folder
            r"(?:(?<![\w.])\d+(?:\.\d+)?\s*%|(?<![\w.])0?\.\d+|(?<![а-я])(?:треть|трети|половин\w*|четверть|четверти)"
            r"|\b(?:a\s+third|a\s+quarter|half))\s+(?:(?:весов|веса|of\s+the\s+weights|of\s+it)\s+)?(?:от|from)\s+#{3,}",
            digits,
        )
    )


MERGE_WORDS = re.compile(
    r"\bweights?\s*:\s*(?:the\s+)?(?:base|#{3,})\s+\d|(?:^|[.;]\s*)linear\s*:(?=\s*\S)"
    r"|(?<![а-я])линейно\s+(?:с|со)\s+#|(?<=[,;]\s)линейно(?=\s*(?:[.;!]|$))|\blinear(?:ly)?\s+with\s+#|merg|\bmreg|\bmegr|blend|mix|combin|averag|\bavg\b|soup|interpolat|смеш|сле[йт]|сли(?:ть|вай|вать)|слива|слия|(?<![а-я])вле[йт]|(?<![а-я])влив|объедин|усредн|смерж|мерж|мердж|"
    + MERGE_METHOD_WORDS
    # task vectors added or taken away, a share of another model added: "subtract B's task vector", «вычти … B»,
    # «добавь к нашей модели 15% от B», "add 20% of B"
    + r"|task[ _-]?vectors?|вектор\w*\s+задач|\b(?:mostly|mainly)\s+(?:the\s+)?#{3,}\s*,\s*(?:a\s+(?:bit|little|touch)|some)\s+of\b|\bsubtract\w*\s+(?:the\s+)?#{3,}|(?<![а-я])(?:вычти|вычесть)\s+(?:[а-я]+\s+){0,4}?#{3,}"
    r"|(?<![а-я])добавь\s+(?:к|в)\s+(?:нашей|нашу|моей|мою|базов\w*|исходн\w*|базе|базу)(?:\s+модел\w*)?\s+(?:\d|немного|чуть|капельку|#)"
    r"|подмеша|примеша|\btake\s+\d*\.?\d+\s*%?\s+of\s|(?<![а-я])возьми\s+\S+\s+с\s+весом"
    r"|(?<![а-я])(?:прибав|отним|отня)\w*\s+(?:[а-я]+\s+){0,4}?(?:вектор|#{3,})"
    r"|\badd\s+\d+(?:\.\d+)?\s*(?:%|percent\b)\s+of\s+(?:the\s+)?#{3,}"
)


def _loss_mix(text: str, start: int) -> bool:
    """'a mix of sigmoid and sft losses', 'смесь лоссов': losses mixed inside one DPO stage, not a model merge."""
    return bool(
        re.match(r"\w*\s+(?:of\s+)?(?:[\w-]+\s+){0,4}?(?:loss(?:es)?|лосс\w*|потер\w*)\b", text[start:])
        or re.search(  # "loss types sigmoid and sft mixed": the losses named before the word
            r"(?:loss(?:es|_types?|\s+types?)?|лосс\w*|потер\w*)\b[^.;]{0,40}$", text[max(0, start - 48) : start]
        )
    )


# "merge the sft model and the dpo model", "мерж sft-модели и dpo-модели": models named as what is merged (not
# "merge the adapter into the model", "смержи адаптер в модель": a fold)
# "мердж не нужен", "no merge", "без мерджа", "skip the merge", "don't merge": a merge of models turned down
MERGE_NOT_WANTED = re.compile(
    r"(?<![а-я])(?:м[её]р(?:д)?ж\w*|слияни\w*)\s+(?:не\s+(?:нуж\w*|надо|требуется|делай|делаем))"
    r"|(?<![а-я])(?:без|не\s+надо)\s+(?:м[её]р(?:д)?ж\w*|слияни\w*)"
    r"|\b(?:no|skip\s+the|without\s+(?:a|the)?)\s*merg\w*|\bdon'?t\s+merge\b|\bmerg\w*\s+(?:is\s+)?not\s+needed\b"
)
MODELS_AFTER = re.compile(
    r"(?![^.;]{0,14}?(?:adapter|адаптер|lora|лор|\binto\b|\bin\b|(?<![а-я])(?:в|во)(?![а-я])))"
    r"[^.;]{0,12}?(?:model|модел|results?\b|результат|checkpoint|чекпоинт)"
)
MERGE_VERB = re.compile(
    r"\b(?:merg(?:e|ing)|blend(?:ing)?|mix(?:ing)?|average|fold(?:ing)?|bake|fuse)\b(?![_-])"
    r"|(?<![а-я])(?:смешай\w*|слей\w*|слить|влей\w*|влить|объедини\w*|усредни\w*|смержи\w*|вмержи\w*|смерджи\w*"
    r"|м[её]рдж\w*|мерж(?:а|ем|у|и)?(?![а-я]))"  # "мерж sft-модели и dpo-модели": the noun names a merge too
)


def _invented_stages(goal: str, plan: Any, feedback: list[str] | None) -> list[Miss]:
    """A preference stage or a model merge in a plan whose goal never asks for one: a stage the person did not
    ask for is as much a drift as a dropped value (an LLM plan may add one; the offline planner never should)."""
    text = mask(reading_text(retract(" ".join([goal, *(feedback or [])]))))
    misses = []
    methods = [p for p in plan.stages if p.kind == "preference"]
    if (
        methods
        and not any(re.search(p, text) for _, p in PREFERENCE_WORDS)
        and not re.search(r"(?<![a-z])(?:dpo|ipo|orpo|simpo|kto)|chosen|rejected|пары|парн", text)
    ):
        name = SCOPE_NAMES.get(stage_scope(methods[0]), "preference")
        misses.append(
            Miss(None, f"The plan has a {name} stage, and the goal asks for no preference tuning; should it?")
        )
    sft_cue = (
        re.search(SFT_WORDS, text)
        or GENERIC_TRAINING.search(text)
        or CHAT_DATA.search(text)
        or re.search(
            r"(?<![a-z])(?:lora|dora|rslora|peft|adapter|rank|r\s*[=:]?\s*\d|alpha|epoch|layer|block|learning rate|lr|tun\w*|teach|adapt"
            r"|ранг|альф|эпох|сло[йияе]|адаптер|лор[аоуы]|научи|натренир|тренир|файнтюн|тюнинг|#{3,}"
            # settings of a training run alone: «скорость обучения 5e-5, батч 4», «максимальная длина 2048»
            r"|скорост\w*\s+обучени|батч|планировщ|шедулер|разогрев|прогрев|затухани|накоплени\w*\s+градиент|длин\w*"
            r"|warmup|batch|schedul|weight\s+decay|decay|затухани|клиппинг|gradient\s+clipping|max_grad_norm)",
            text,
        )
    )
    if any(s.kind == "sft" for s in plan.stages) and not sft_cue:
        misses.append(Miss(None, "The plan has an SFT stage, and the goal asks for no fine-tuning; should it?"))
    if any(s.kind == "merge_models" for s in plan.stages) and not merge_said(text):
        misses.append(Miss(None, "The plan merges models, and the goal asks for no merge; should it?"))
    misses.extend(_stages_on_unsaid_data(goal, plan, feedback))
    said = [m for m in MERGE_VERB.finditer(text) if not negated(text, m.start()) and not _loss_mix(text, m.start())]
    folded_at_write = any(getattr(s, "adapter", "none") != "none" for s in plan.stages) and any(
        s.kind == "write" for s in plan.stages
    )
    if folded_at_write:  # "потом смержить и сохранить одним файлом": the write folds the trained adapter in
        plain = reading_text(retract(" ".join([goal, *(feedback or [])])))
        output = str(getattr(plan, "output", "") or "").lower().rstrip("/")

        def into_output(m: re.Match[str]) -> bool:  # "then merge into out/x", "merge the end result to out/x"
            into = re.match(
                r"\s+(?:it\s+|(?:the\s+)?(?:end\s+|final\s+)?result\s+)?(?:into|to)\s+(#{3,})", text[m.end() :]
            )
            return bool(
                into and output and plain[m.end() + into.start(1) : m.end() + into.end(1)].rstrip("/.,") == output
            )

        said = [
            m
            for m in said
            if not into_output(m)
            and (
                (
                    not re.match(
                        r"\s*[,;]?\s*(?:а\s+|and\s+)?(?:потом|затем|then)\b", text[m.end() :]
                    )  # "смержи, потом KTO"
                    and re.search(r"\b(?:with|into)\b|(?<![а-я])(?:с|со)(?![а-я])", text[m.end() : m.end() + 30])
                )
                or MODELS_AFTER.match(text, m.end())  # "мерж sft-модели и dpo-модели": models named, not an adapter
                or not re.match(
                    r"merg|fold|bake|fuse|смерж|смердж|мерж|мердж|м[её]рдж|слей|слить|влей|влить|вмерж", m.group(0)
                )
            )
        ]
    taken_back = MERGE_NOT_WANTED.search(text)
    if taken_back and any(s.kind == "merge_models" for s in plan.stages):  # "…, хотя мердж не нужен, просто сохрани"
        misses.append(Miss(None, f"You said '{taken_back.group(0)}', and the plan merges models; should it merge?"))
    if said and not any(s.kind in ("merge_adapter", "merge_models") for s in plan.stages):
        misses.append(Miss(None, f"You said '{said[0].group(0)}', and the plan merges nothing; what should be merged?"))
    elif not any(s.kind == "merge_models" for s in plan.stages) and (
        models_said := next(
            (m for m in said if MODELS_AFTER.match(text, m.end())),
            None,
        )
    ):  # "мерж sft-модели и dpo-модели пополам": models to merge, and the plan only folds adapters in
        words = re.match(r"[^.;,]{0,40}", text[models_said.start() :]).group(0).strip()
        misses.append(Miss(None, f"You wrote '{words}', and the plan merges no models; which models should be merged?"))
    return misses


AGAIN = re.compile(  # a stage said to run more than once
    r"\b(?:twice|again|repeat\w*|(?:second|another|more|two|three|2|3)\s+(?:rounds?|pass(?:es)?|times|runs?|sft|dpo|kto|orpo"
    r"|simpo|fine-?tunes?|stages? of|lora|dora|adapter))\b|\b[2-9]\s*(?:x|×)\s|\brounds\b|\bthe same data\b"
    r"|(?<![а-я])(?:дважды|снова|опять|ещ[её] (?:раз|один|одн)|повтор\w*|(?:втор\w*|два|две|три|2|3)\s+(?:раунд\w*|раз\w*"
    r"|прогон\w*|проход\w*|sft|dpo|лор\w*|адаптер\w*)|(?:тех|том) же (?:данных|датасете))(?![а-я])"
)


def _stages_on_unsaid_data(goal: str, plan: Any, feedback: list[str] | None) -> list[Miss]:
    """Training stages of a method the goal never names on data it never names, and one dataset trained twice
    by one method where the goal says it once: stages read from a qualifier ("LoRA r 64 on all linear layers"
    after "DPO on prefs.jsonl"), never asked for."""
    said = [m.group(0) for m in DATASET_PATH.finditer(" ".join([goal, *(feedback or [])]))]
    training = [s for s in plan.stages if s.kind in ("sft", "preference") and getattr(s, "dataset", None)]
    if not training:
        return []
    misses = []
    text = mask(reading_text(retract(" ".join([goal, *(feedback or [])]))))
    for s in training if said else []:  # with no data named, each stage's data is a file given with --data
        scope = stage_scope(s)
        words = SFT_WORDS if scope == "sft" else dict(PREFERENCE_WORDS).get(scope, scope)
        if scope == "dpo":  # "IPO loss, beta 0.01": an IPO stage is a DPO stage with TRL's ipo loss
            words = f"(?:{words})|(?:{dict(PREFERENCE_WORDS)['ipo']})"
        asked_for = re.search(words, text) or (
            scope == "sft" and (GENERIC_TRAINING.search(text) or _adapter_clause_alone(text))
        )
        if not asked_for and not any(_same_path(s.dataset, d) for d in said):
            name = SCOPE_NAMES.get(stage_scope(s), "SFT") if s.kind == "preference" else "SFT"
            misses.append(
                Miss(
                    None,
                    f"The plan's {name} stage '{s.id}' trains on {s.dataset}, which the goal never names; "
                    f"should the plan have that stage, and on which data?",
                )
            )
    if AGAIN.search(text):
        return misses  # "two rounds of SFT", "ещё раз DPO": a stage said more than once
    seen: dict[tuple[str, str], Any] = {}
    for s in training:
        key = (stage_scope(s), str(Path(s.dataset).expanduser().resolve()))
        times = sum(1 for d in said if _same_path(s.dataset, d))
        words = SFT_WORDS if key[0] == "sft" else dict(PREFERENCE_WORDS).get(key[0], key[0])
        named = sum(  # "a tenth of the sft lr (sft lr 1e-4)": a stage referred to is not asked for again
            1
            for m in re.finditer(words, text)
            if not referred_stage(text, m.start(), m.end())
            and not re.search(r"\(\s*$", text[max(0, m.start() - 3) : m.start()])
            and not (  # "…, no wait, SFT first and then the ORPO": the stage said before, referred to
                re.search(
                    r"(?:\bthe|\bthat|(?<![а-я])(?:этот|эту|тот|ту))\s+$", text[max(0, m.start() - 6) : m.start()]
                )
                and not re.match(r"[\w-]*\s+(?:on|на)\s+#", text[m.start() :])
            )
            and not (  # "в DPO ранг 4; в SFT ранг 64": a stage named for its values, not asked for again
                re.search(
                    r"(?:\bfor|\bin|(?<![а-я])(?:для|в|во|на))\s+(?:the\s+)?$", text[max(0, m.start() - 8) : m.start()]
                )
                and re.match(
                    r"\s*[:,-]?\s*(?:rank|ранг|lr|лр|alpha|альф|beta|бет|epochs?|эпох|dropout|r\b|\d)", text[m.end() :]
                )
            )
        )
        if key in seen and times < 2 and named < 2:
            name = SCOPE_NAMES.get(key[0], key[0].upper())
            misses.append(
                Miss(
                    None,
                    f"The plan trains {name} on {s.dataset} twice ('{seen[key].id}' and '{s.id}'), and the goal names "
                    "that data once; should it?",
                )
            )
        seen.setdefault(key, s)
    return misses


ADAPTER_CLAUSE = re.compile(r"(?:^|[.;:,]\s*|\b(?:first|сначала)\s+)(?:a\s+)?(?:q?lora|dora)\b([^.;,]*)")

THEN_WORD = re.compile(r"\b(?:then|next|after that)\b|(?<![а-я])(?:потом|затем|после)(?![а-я])")


def _adapter_clause_alone(text: str) -> bool:
    """'LoRA on the MLP, then ORPO on prefs': a clause that opens with an adapter and names no preference method asks
    for a training stage of its own ('DPO on prefs, LoRA r 64' is the DPO's qualifier, a clause after it)."""
    for m in ADAPTER_CLAUSE.finditer(text):
        names_preference = any(re.search(words, m.group(0)) for _, words in PREFERENCE_WORDS)
        stage_follows = THEN_WORD.search(text[m.end() : m.end() + 20])
        if stage_follows and not names_preference:
            return True
    return False


FIRST_WORD = re.compile(r"\bfirst\b|(?<![а-я])(?:сначала|вначале|в первую очередь)(?![а-я])")


@functools.cache
def _dpo_loss_words() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """TRL's DPO loss names (tools/training.py), longest first, each as the pattern a goal spells it with."""
    from tools.training import DPO_LOSSES

    return tuple(
        (loss, re.compile(rf"(?<![\w-]){loss.replace('_', '[_ -]?')}(?![\w-])"))
        for loss in sorted(DPO_LOSSES, key=len, reverse=True)
    )


def dpo_loss_list(text: str) -> list[str]:
    """The DPO loss types a goal names, in order, when it names a list ('sigmoid and sft', '[sigmoid, bco_pair]')."""
    found: list[tuple[int, int, str]] = []
    for loss, pattern in _dpo_loss_words():
        for m in pattern.finditer(text):
            if not negated(text, m.start()) and not any(s <= m.start() < e for s, e, _ in found):
                found.append((m.start(), m.end(), loss))
    found.sort()
    runs: list[list[tuple[int, int, str]]] = []
    for hit in found:  # the names side by side as a list, not one here and one in another clause
        if (
            runs
            and re.fullmatch(
                r"[\s,/+&\[\]()\"'-]*(?:loss\s*)?(?:[:=]?\s*\d*\.?\d+[\s,]*)?(?:and|и|plus|плюс|with|с|,\s*and)?[\s,/+&\[\]()\"'-]*"
                r"(?:\d*\.?\d+\s*[*x×]?\s*)?",  # "sigmoid loss plus 0.5 sft loss": the weight before the second
                text[runs[-1][-1][1] : hit[0]],  # "sigmoid 0.8 and sft 0.2": each loss with its weight
            )
        ):
            runs[-1].append(hit)
        else:
            runs.append([hit])
    found = (
        max(runs, key=len) if runs else []
    )  # "sft then dpo, loss_type: [sigmoid, bco_pair]": the list, not the stage
    names = [loss for _, _, loss in found]
    joined = any(  # "a mix of sigmoid and sft loss": two names joined right before the word
        re.fullmatch(r"(?:\s+loss)?\s*(?:\+|,|and|и|&|/|plus|плюс)\s*(?:\d*\.?\d+\s*[*x×]?\s*)?", text[a[1] : b[0]])
        and re.match(r"\s+loss\b", text[b[1] :])
        for a, b in pairwise(found)
    )
    listed = (bool(re.search(r"loss(?:_type|_weights|es| types?| weights)|лосс\w*|потер\w*", text)) or joined) and len(
        set(names)
    ) > 1
    return list(dict.fromkeys(names)) if listed else []


def loss_weights_by_name(text: str, losses: list[str]) -> list[float] | None:
    """'loss weights sigmoid 0.8 and sft 0.2': each listed loss with its own weight after it, in the list's order."""
    values: list[float | None] = []
    for loss in losses:
        name = loss.replace("_", "[_ -]?")
        m = re.search(rf"(?<![\w-]){name}['\"]?\s*[:=]?\s*(\d*\.?\d+)(?![\w.])", text) or re.search(
            rf"(?:\+|plus|плюс|and|и|with|с)\s*(\d*\.?\d+)\s*[*x×]?\s*(?:the\s+)?{name}\s+(?:loss|лосс|потер)", text
        )  # "sigmoid loss plus 0.5 sft loss": the weight said before the name
        values.append(float(m.group(1)) if m else None)
    if values and values[0] is None and all(v is not None for v in values[1:]) and len(values) > 1:
        first = losses[0].replace("_", "[_ -]?")
        if re.search(rf"(?<![\w-]){first}\s+loss\s*(?:\+|plus|плюс)", text):
            values[0] = 1.0  # "sigmoid loss plus 0.5 sft loss": the main loss, as said, whole
    return None if any(v is None for v in values) else [float(v) for v in values if v is not None]


def in_loss_list(masked: str, start: int, end: int) -> bool:
    """'loss types sigmoid and sft', 'потери sigmoid и sft': this 'sft' is TRL's SFT loss term, not an SFT stage."""
    names = "|".join(p.pattern for loss, p in _dpo_loss_words() if loss != "sft")
    before = re.search(
        rf"(?:\b(?:{names})['\"]?(?:\s*[:=]?\s*\d*\.?\d+)?|loss(?:_type|es| types?)?\s*[=:]?|потер\w*|лосс\w*)\s*[\[(]?\s*(?:[,+&]|and|и|plus|плюс)?\s*[\[(]?\s*['\"]?$",
        masked[max(0, start - 40) : start],
    )
    after = re.match(rf"['\"]?\s*(?:[,+&]|and|и|plus|плюс)\s*['\"]?(?:{names})\b", masked[end:])
    mixed_in = (
        re.match(r"[\s-]*(?:loss|лосс|потер)\w*", masked[end:])
        and re.search(  # "plus 0.5 sft loss"
            rf"(?:\b(?:{names})(?:\s+loss)?|dpo\s+loss|лосс\w*|loss)\s*(?:[,+&]|and|и|plus|плюс|with|с)\s*(?:\d*\.?\d+\s*[*x×]?\s*)?$",
            masked[max(0, start - 60) : start],
        )
    )
    return bool(before or after or mixed_in)


def first_stage_word(masked: str, start: int, end: int) -> bool:
    """'SFT on chat first', 'first, SFT on chat', 'сначала SFT': the stage said in masked[start:end] comes first.

    Not 'the first 4 layers', 'first epoch', 'the first stage's lr' (an ordinal of something else)."""
    for m in FIRST_WORD.finditer(masked, start, end):
        after = masked[m.end() : m.end() + 24]
        if re.match(
            r"\s*(?:\d|[a-zа-я]+\s+(?:layers?|blocks?|сло)|(?:layers?|blocks?|epochs?|stage|one|run|step|half|third|"
            r"quarter|time|сло|блок|эпох|этап|половин|трет|четверт|раз))",
            after,
        ):
            continue
        before = masked[max(start, m.start() - 6) : m.start()]
        if re.search(r"(?:the|at|in|its)\s*$", before):
            continue
        if re.search(rf"(?:{OURS}|{THEIRS}|{BASE_WORDS})\s*$", masked[max(start, m.start() - 24) : m.start()]):
            continue  # "weights 0.5, 0.3, 0.2 (ours first)": the order of a merge's members, not of the stages
        leads = re.match(
            r"[\s,:]*(?:(?:do|run|please|сделай|запусти|проведи)\s+)?(?:an?\s+|the\s+)?" + STAGE_START,
            masked[m.end() :],
        )
        if leads:  # "but first SFT on chat": the stage after the word comes first, if it is this one
            if m.end() + leads.end() <= end and re.search(STAGE_START, masked[start : m.start()]) is None:
                return True
            continue
        if re.search(STAGE_START, masked[start : m.start()]):  # "SFT on chat first": the word ends this stage's words
            return True
    return False


def _both_adapters_misses(masked: str, plan: Any) -> list[Miss]:
    """'полный файнтюн и LoRA одновременно': a full fine-tune and a LoRA asked for together, with no 'instead' or
    'not' taking one back and no stage named for each; whichever the plan kept, the other was dropped."""
    full = [
        m
        for m in ADAPTER_NONE.finditer(masked)
        if not re.search(r"(?:not|no|without|instead of|rather than|без|не)\s", m.group(0))
    ]
    lora = [
        m
        for m in re.finditer(r"(?<![\w-])(?:q?lora|лор[аыуе]\w*)(?![\w-])", masked)
        if not negated(masked, m.start())
        and not re.search(
            r"(?:instead of|rather than|not|no|without|вместо|а не|не|без)\s+(?:a\s+)?$",
            masked[max(0, m.start() - 14) : m.start()],
        )
        and not any(f.start() <= m.start() < f.end() for f in ADAPTER_NONE.finditer(masked))
    ]
    trained = [s for s in plan.stages if s.kind in ("sft", "preference")]
    if (
        not full
        or not lora
        or len(trained) != 1
        or re.search(r"\b(?:then|after|before)\b|потом|затем|после|сначала", masked)
    ):
        return []
    return [
        Miss(
            None,
            f"You asked for '{full[0].group(0)}' and '{lora[0].group(0)}' in one stage; should it be a full fine-tune "
            "or a LoRA?",
        )
    ]


ORDER_CUE = re.compile(
    r"\b(?:then|after|afterwards|before|first|next|finally|followed by|later)\b|(?<![а-я])(?:потом|затем|после|перед|сначала"
    r"|вначале|далее|в конце|наконец)(?![а-я])|→|->|=>|(?:^|\s)\(?\d\)|\b(?:stage|step)\s*\d|(?:этап|шаг)\s*\d"
)


def _unstated_order_misses(masked: str, plan: Any) -> list[Miss]:
    """'DPO лр вдвое меньше, чем у SFT, SFT лр 4e-4': a preference stage planned before an SFT stage only because it
    was named first; with no word of order in the goal, the person is asked (SFT usually comes first)."""
    kinds = [s.kind for s in plan.stages if s.kind in ("sft", "preference")]
    if "sft" not in kinds or "preference" not in kinds or kinds.index("preference") > kinds.index("sft"):
        return []
    if ORDER_CUE.search(masked):
        return []
    first = next(s for s in plan.stages if s.kind == "preference")
    name = SCOPE_NAMES.get(stage_scope(first), "DPO")
    return [Miss(None, f"The plan runs {name} before SFT only because {name} was named first; which should run first?")]


def _first_misses(masked: str, plan: Any) -> list[Miss]:
    """'DPO on prefs, but SFT on chat first': the stage said to come first is the plan's first training stage."""
    training = [s for s in plan.stages if s.kind in ("sft", "preference")]
    if len(training) < 2:
        return []
    bounds = [
        0,
        *(m.end() for m in SEGMENT_SPLIT.finditer(masked) if m.group(0).strip() not in ("сначала",)),
        len(masked),
    ]
    for lo, hi in pairwise(bounds):
        if not first_stage_word(masked, lo, hi):
            continue
        scopes = [("sft", m.start()) for m in re.finditer(SFT_WORDS, masked[lo:hi])]
        scopes += [
            ("dpo" if p == "ipo" else p, m.start())
            for p, pat in PREFERENCE_WORDS
            for m in re.finditer(pat, masked[lo:hi])
        ]
        named = {scope for scope, _ in scopes}
        if len(named) != 1:
            continue
        scope = named.pop()
        if stage_scope(training[0]) != scope:
            name = SCOPE_NAMES.get(scope, scope.upper())
            return [
                Miss(
                    None,
                    f"You said {name} comes first; the plan starts with {stage_scope(training[0]).upper()}. "
                    f"Which stage should run first?",
                )
            ]
    return []


def _role_misses(facts: list[Fact], plan: Any) -> list[Miss]:
    """'attention projections but not o_proj': one role named (and no module of the other) means the other
    role's modules stay untouched; a plan that adapts them (all linear less o_proj) is asked about."""
    roles = {f.value for f in facts if f.slot == "role" and not f.value.startswith("not ")}
    modules = {f.value for f in facts if f.slot == "module" and not f.value.startswith("not ")}
    if len(roles) != 1 or modules or roles == {"all linear"}:
        return []
    role = roles.pop()
    other = MLP_NAMES if role == "attention" else ATTENTION_NAMES
    own = ATTENTION_NAMES if role == "attention" else MLP_NAMES
    for s in plan.stages:
        if s.kind in ("sft", "preference") and set(s.target_modules or []) & (other - own):
            return [
                Miss(
                    None,
                    f"You named the {role} modules; the plan's {s.id} stage also adapts "
                    f"{', '.join(sorted(set(s.target_modules) & (other - own)))}. Which modules should it train?",
                )
            ]
    return []


BEFORE_THAT = re.compile(
    r"\b(?:before (?:that|this|it|them)|beforehand|first of all)\b|перед (?:этим|тем|ним|ней|ними)|до этого|до него"
    r"|заранее|предварительно"
)


def _before_that_misses(facts: list[Fact], masked: str, plan: Any) -> list[Miss]:
    """'DPO on prefs — and SFT on chat before that': the stage said second runs first."""
    misses = []
    said = sorted((f for f in facts if f.slot in ("method", "stage")), key=lambda f: f.start)
    training = [s for s in plan.stages if s.kind in ("sft", "preference")]
    order = [stage_scope(s) for s in training]
    for m in BEFORE_THAT.finditer(masked):
        owner = next((f for f in said if m.end() <= f.start <= m.end() + 30), None) or next(
            (f for f in reversed(said) if f.end <= m.start()), None
        )
        if owner is None:
            continue
        first = "sft" if owner.slot == "stage" else owner.value
        others = ["sft" if f.slot == "stage" else f.value for f in said if f.start < owner.start]
        second = next((o for o in reversed(others) if o != first), None)
        if second and first in order and second in order and order.index(first) > order.index(second):
            misses.append(Miss(None, f"You wrote '{m.group(0)}': should {first.upper()} run before {second.upper()}?"))
    return misses


def _order_misses(facts: list[Fact], plan: Any) -> list[Miss]:
    """'rank 8 for SFT, then DPO with rank 4': values of one slot go to the training stages in the order said."""
    training = [s for s in plan.stages if s.kind in ("sft", "preference")]
    misses = []
    for slot in SLOT_NAMES:
        said = [f for f in facts if f.slot == slot and f.start < 10**9 and f.scope is None]
        values = [f.value for f in said]
        if len({float(v) for v in values}) < 2:
            continue
        have = [float(getattr(s, slot)) for s in training if getattr(s, slot, None) is not None]
        i = 0
        for value in have:  # is what was said a subsequence of what the stages do?
            if i < len(values) and abs(value - float(values[i])) <= 1e-12 + 1e-9 * abs(float(values[i])):
                i += 1
        if i < len(values):
            name = SLOT_NAMES[slot]
            misses.append(
                Miss(
                    said[0],
                    f"You said {', then '.join(f'{name} {_show(v)}' for v in values)}; the plan's stages use "
                    f"{', '.join(_show(v) for v in have)}. Which stage takes which {name}?",
                )
            )
    return misses


def _layer_count(model: str) -> int | None:
    try:
        from tools.inspect import InspectArgs, inspect_checkpoint

        return inspect_checkpoint(InspectArgs(path=model)).num_layers
    except Exception:  # a checkpoint that cannot be read has no layer count to resolve against
        return None


def _merged_as(fact: Fact, plan: Any) -> str:
    """'dpo-merged 0.4, partner 0.6': each member of the merge a weight fact is placed in, with its weight."""
    merges = [s for s in plan.stages if s.kind == "merge_models" and s.weights and len(s.weights) == len(s.models)]
    if fact.slot == "weights" and len(merges) > 1:
        merges = [
            s
            for s in merges
            if len(s.weights) == len(fact.value) or (len(fact.value) == 1 and len(set(s.weights)) == 1)
        ]
    if len(merges) != 1:
        return ""
    stage = merges[0]
    return ", ".join(
        f"{Path(m).name if not m.startswith('@') else m.lstrip('@')} {round(w, 4):g}"
        for m, w in zip(stage.models, stage.weights, strict=True)
    )


def fact_echo(goal: str, plan: Any, num_layers: int | None = None, feedback: list[str] | None = None) -> list[str]:
    """One line per stated fact with what the plan does with it, for the review: "rank 16 (you said 64, then 16)"."""
    goal = expand_labels(goal)
    if num_layers is None:
        num_layers = _layer_count(plan.base_model)
    lines = []
    for fact in stated_facts(goal, num_layers, feedback):
        placed = _placed(fact, plan, num_layers)
        text = fact.describe() if fact.slot != "layers" else f"layers {_show(fact.value)} ('{fact.phrase}')"
        if fact.replaced:
            text += f" (you said {', then '.join(_show(v) for v in [*fact.replaced, fact.value])})"
        if fact.derived:
            text += f" ({fact.derived})"
        if placed and fact.slot in ("weights", "each_rest", "favoured_weights") and (shares := _merged_as(fact, plan)):
            text += f" — merged as: {shares}"  # whose share is whose, as the plan has it: a swap is seen
        slerps = [s for s in plan.stages if s.kind == "merge_models" and s.method == "slerp" and len(s.models) == 2]
        if placed and fact.slot == "t" and len(slerps) == 1:  # t is the second model's share: which one that is, seen
            first, second = (Path(m).name if not m.startswith("@") else m.lstrip("@") for m in slerps[0].models)
            text += f" — merged as: {first} {round(1 - slerps[0].t, 4):g}, {second} {round(slerps[0].t, 4):g}"
        if fact.scope == "all":
            text += " — every training stage"
        elif fact.scope and len([s for s in plan.stages if s.kind in ("sft", "preference")]) > 1:
            text += f" — {SCOPE_NAMES.get(fact.scope, fact.scope)} stage"  # which stage it was said for
        lines.append(text + ("" if placed else " — NOT in the plan"))
    return list(dict.fromkeys(lines))  # "DPO on prefs …, 5e-6 for DPO": one line for DPO


# Words that change what the words around them mean. One that no reader took (no fact holds it, and for
# an exclusion or "only" no fact follows it) leaves the plan quietly different: asked about instead.
LOAD_BEARING = re.compile(
    r"(?<![\w-])(?:"
    r"(?P<vague>higher|lower|bigger|smaller|larger|more|less|fewer|slightly|usual|better|stronger|weaker|longer|shorter"
    r"|побольше|поменьше|получше|похуже|подольше|покороче|повыше|пониже|больше|меньше|выше|ниже|чуть|слегка|немного"
    r"|как-нибудь|как-то|somehow|умнее|лучше"
    r"|small|smaller|tiny|large|big|huge|high|low|небольш\w*|маленьк\w*|большо\w*|больш(?:им|ую|ая|ое)|высок\w*"
    r"|низк\w*|крупн\w*|мелк\w*)"
    r"|(?P<part>half|halves|thirds?|quarters?|portion|половин\w*|трет\w*|четверт\w*|часть|части)"
    r"|(?P<times>thrice|twice|double|triple|вдвое|втрое|трижды|дважды|в\s+(?:два|три|четыре|пять|десять|\d+)\s+раз\w*)"
    r"|(?P<scope>except|excluding|exclude|exclusive|without|skip|freeze|frozen|unmerged|rest|instead|only|кроме|исключ\w*"
    r"|не\s+включая"
    r"|заморо\w*|пропус\w*|остальн\w*|вместо|только|лишь)"
    r"|(?P<other>same|such|previous|another|other|какую-нибудь|какой-нибудь|какие-нибудь|ещ[её]|такой|такие|такую|тот|те)"
    r")(?![\w-])"
)


SLOT_WORD_HINT = (
    r"\blr\b|(?<![а-я])лр(?![а-я])|learning rate|скорост|epoch|эпох|rank|ранг|alpha|альф|beta|бет|batch|батч|steps|шаг"
    r"|dropout|дропаут"
    r"|warm|прогрев|length|длин|weight|вес|density|плотн|data|данн|датасет"
)


def unread_load_bearing(goal: str, facts: list[Fact]) -> list[str]:
    """Load-bearing words no reader took, each with the words around it ('a slightly higher learning rate')."""
    plain = _corrected_spans(reading_text(retract(goal)))[0]
    text = mask(plain)
    found = []
    models = [m.end() for m in PATH.finditer(plain) if not DATASET_PATH.fullmatch(m.group(0).rstrip(".,"))]
    ordinal_left_out = [  # "… и с C… нет, без второго": a member dropped by its place among the models named
        m.span() for m in _LEFT_OUT_ORDINAL.finditer(text) if len([e for e in models if e <= m.start()]) >= 2
    ]
    for m in LOAD_BEARING.finditer(text):
        if any(f.start <= m.start() < f.end for f in facts) or any(a <= m.start() < b for a, b in ordinal_left_out):
            continue
        kind, word = m.lastgroup, m.group(0)
        rest = text[m.end() : m.end() + 40]
        cut = SEGMENT_SPLIT.search(rest)
        window = text[m.end() : m.end() + (cut.start() if cut else len(rest))]
        lead = text[max(0, m.start() - 30) : m.start()]
        lead = lead[SEGMENT_SPLIT.search(lead).end() :] if SEGMENT_SPLIT.search(lead) else lead
        after = [f for f in facts if m.end() <= f.start < m.end() + len(window)]
        before = [f for f in facts if m.start() - 30 <= f.end <= m.start() and f.end >= m.start() - len(lead)]
        if kind == "vague":
            sized = re.fullmatch(
                r"small|smaller|tiny|large|big|huge|high|low|небольш\w*|маленьк\w*|больш\w*|высок\w*|низк\w*|крупн\w*|мелк\w*",
                word,
            )
            if (
                sized
                and not re.match(
                    r"\s*(?:" + SLOT_WORD_HINT + ")",
                    window.replace("data", "").replace("данн", "").replace("датасет", ""),
                )
                # "the bigger share", «большая доля»: whose share is bigger is a merge fact; unread, it is asked
                and not re.match(r"\s*(?:share|part|portion|weight|one|доля|долю|часть|вес)(?![\w-])", window)
            ):
                continue  # "a small beta", "с небольшим лр" are asked; "a big dataset", "high quality" are not settings
            if not re.search(SLOT_WORD_HINT, lead[-24:] + " " + window[:24]) and not re.match(
                r"как-нибудь|как-то|somehow", word
            ):
                continue  # "fewer thumbs-down rows", "нет, лучше обычный DPO": not about a setting's value
        elif kind == "scope":
            if word in ("only", "только", "лишь", "instead") and (after or any(m.start() - f.end <= 3 for f in before)):
                continue  # "only on q_proj", "q_proj/v_proj only", "make beta 0.4 instead"
            if any(
                str(f.value).startswith("not ")
                or f.slot in ("not_dataset", "same_as", "method", "unsupported", "adapter", "eval_fraction")
                or (f.slot in SLOT_NAMES and word in ("instead", "вместо"))
                or (f.slot in SWITCHES and f.value is False)  # "without packing": the switch read as off
                for f in after
            ):
                continue  # "except o_proj", "without eval", "кроме MLP": the reader took what follows as left out
            if re.match(
                r"\W*(?:of\s+)?(?:the\s+|a\s+)?(?:"
                + STAGE_START
                + r"|ppo|grpo|rlhf|cpo|dora|lora|adapter|embed|lm_head|head"
                r"|sigmoid|hinge|robust|\w+_pair|\w+_hard|apo_\w+|exo\w*)",
                window,
            ):
                continue  # "instead of PPO", "skip SimPO", "without DoRA", "кроме lm_head": a method or part named
            if (
                word in ("instead", "вместо")
                and re.match(r"\s*(?:of\s+)?(?:the\s+)?(?:epochs?|эпох\w*)\b", window)
                and any(f.slot == "max_steps" for f in before)
            ):
                continue  # "max_steps 200 вместо эпох": steps, not epochs, decide the length (the plan's max_steps)
            if re.match(r"rest|остальн", word) and any(f.slot == "layers" for f in before + after):
                continue  # "layers 5-8, остальное заморожено", "skip the first 4, train the rest"
            if (
                re.match(r"rest|остальн|everything else|all else", word)
                and any(f.slot in ("module", "role") and not str(f.value).startswith("not ") for f in before)
                and FROZEN_AFTER.match(text, m.end())
            ):
                continue  # "лору на q и v, остальное не трогай", "q and v, the rest frozen": only those modules train
            if re.match(r"freez|frozen|заморо", word) and re.search(r"rest|остальн|other", lead) and before:
                continue  # "…, остальное заморожено": the rest of what was selected stays frozen
        elif kind == "other" and after:
            continue  # "another SFT on b.jsonl", "the same layers" read by what follows
        elif (
            kind == "other"
            and re.match(r"\s+(?:density|плотност\w*|t\b)", window)
            and any(f.slot in ("density", "t") and f.end <= m.start() for f in facts)
        ):
            continue  # "…, actually use della, same density": the one density said before stays
        elif kind in ("part", "times") and any(f.slot in ("layers", "reference") or f.derived for f in after):
            continue  # "half of the layers", "twice the rank of …": read by what follows
        elif (
            kind == "times"
            and (
                said_again := re.match(
                    r"\s*\(\s*(?:(?:weight|вес\w*)\s*(?:of\s+|=\s*|:\s*)?)?(\d+(?:\.\d+)?)\s*\)", window
                )
            )
            and {**_COUNTED, "дважды": 2.0, "трижды": 3.0}.get(word.lower()) == float(said_again.group(1))
            and any(f.start >= m.end() and f.slot == "weights" for f in facts)
        ):
            continue  # "add B's task vector twice (weight 2.0)": the multiple said again as the weight read
        left = re.search(r"(?:\S+\s+){0,3}$", goal[: m.start()]).group(0) if goal[: m.start()] else ""
        right = re.match(r"(?:\s*\S+){0,3}", goal[m.end() :]).group(0)
        found.append((left + goal[m.start() : m.end()] + right).strip())
    return found
