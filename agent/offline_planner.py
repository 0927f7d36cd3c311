"""The offline planner: goals in plain English or Russian → a validated plan, with no LLM.

How it reads a goal:
1. The text is normalised and cut into clauses at order words ("then", "after that",
   "finally", "сначала", "потом", "затем", "в конце") and sentence ends.
2. In each clause, action words are found with their positions (fine-tune / дообучи → sft,
   DPO / prefer / предпочтения → dpo, merge the adapter / влей адаптер → merge_adapter,
   TIES / SLERP / blend with → merge_models, one safetensors file / сохрани → write). Each
   action owns the text from its clause start (or the previous action) to the next action.
3. Slots are read from that text: method, targets by role or by name (mapped to the module
   names *this* checkpoint uses), layers ("layers 0-3", "the last 4 layers", "первые два
   слоя"), hyper-parameters, dataset and output paths, merge method, weights and partner.
4. What is missing is filled from the datasets the person named (by their columns) or asked
   as a question; every assumption goes into the notes, and words that were not placed are
   listed, so nothing is silently guessed.
   A value said for one stage ("rank 16 for the SFT and rank 8 for the DPO adapter", "потом DPO с
   рангом 8") goes to that stage, by the same scoping the fact check uses (agent/goal_facts.py `_scope`).
5. The plan is held to the facts the goal states (agent/goal_facts.py): a number, method,
   module, layer selection, dataset or path that the plan does not keep becomes a question.

Where slots are understood: numbers and number words in agent/goal_numbers.py, layer phrases in
agent/goal_layers.py, stated values, corrections ("scratch that", "нет, лучше") and the fact check
in agent/goal_facts.py.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.goal_facts import (
    ADAPTER_NONE,
    AGAIN,
    ALREADY_BEFORE,
    BASE_LEFT_OUT,
    BASE_WORDS,
    BEFORE_THAT,
    CHAT_DATA,
    DORA_AFTER_NOT,
    EVERY_STAGE,
    FAVOUR_WORDS,
    LABEL_GIVEN,
    MARKERS,
    MEMBER_WORD,
    MERGE_METHOD_WORDS,
    MERGE_METHODS,
    MERGE_RESULT_WORD,
    MERGE_WORDS,
    MODULE_SHORTHAND,
    NAME_LIKE,
    NEGATED,
    NEGATED_AFTER,
    NOT_A_PATH,
    OURS,
    PAIRS_DATA,
    PERCENT_WORD,
    PREFERENCE_ONLY,
    RATIO_PARTS,
    RATIO_THEN_NAMES,
    REFERRED_BEFORE,
    RESULT_SHARE,
    SCHEDULER,
    SCOPE_NAMES,
    SIGNED_LIST,
    SLOT_NAMES,
    SUBTRACT,
    THEIRS,
    UNSUPPORTED_METHODS,
    ZERO_BASED,
    Fact,
    Favoured,
    _setting_before,
    _weights_by,
    check_plan_against_goal,
    corrected_text,
    dpo_loss_list,
    each_rest_weights,
    each_weight,
    each_with_one,
    each_with_rest,
    even_rest,
    expand_labels,
    fact_echo,
    favoured_ratio,
    first_stage_word,
    fraction_owned,
    goal_facts,
    in_loss_list,
    left_out,
    letter_modules,
    list_then_rest,
    looks_like_path,
    loss_weights_by_name,
    mask,
    mask_bare_names,
    masked_path,
    member_index,
    member_legend,
    merge_number_facts,
    module_name,
    negated,
    number_facts,
    one_named_weight,
    order_swapped,
    ordinal_weights,
    output_dtype,
    partner_place,
    paths_left_out,
    per_model_weights,
    referred_stage,
    relative_weights,
    resolve,
    scheduler_name,
    setting_misses,
    shard_size,
    shares_said,
    single_weight,
    stage_result_member,
    summed_shares,
    switch_facts,
    taken_back_stages,
    training_noun,
    training_precision,
    trl_full_finetune,
    weight_values,
    weights_for,
)
from agent.goal_layers import parse_layer_selection
from agent.goal_numbers import words_to_digits
from agent.goal_settings import unrun_merge_question, unsupported_merge_methods
from agent.plan import Plan, plan_from_data
from agent.planner import PlanOutcome, PlanRequest
from tools.datasets_io import is_dataset_folder
from tools.errors import GraftError

NUMBER_WORDS = {
    # English
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    # Russian, in the case forms a goal uses
    "один": 1, "одного": 1, "одну": 1, "одна": 1, "два": 2, "двух": 2, "две": 2, "три": 3, "трех": 3,
    "четыре": 4, "четырех": 4, "пять": 5, "пяти": 5, "шесть": 6, "шести": 6, "семь": 7, "семи": 7,
    "восемь": 8, "восьми": 8, "девять": 9, "девяти": 9, "десять": 10, "десяти": 10,
}  # fmt: skip

ORDER_SPLIT = re.compile(
    r"[;!?](?=\s|$)|\.(?=\s|$)|\s(?:→|->|=>)\s|(?:^|\s)[•·▪◦]\s*|(?:^|\s)\(?\d\)\s"
    r"|\b(?:and then|then|after that|afterwards|after this|next|finally|lastly|followed by)\b|^first\b"
    r"|,\s*(?=and\s+(?:that|the|this)\s+(?:merged\s+)?result\s+with\s)"  # "merge A with B, and that result with C"
    # «…, и этот микс ещё раз с C через slerp», ", and that mix again with C": a second merge of the first's result
    r"|,\s*(?=(?:и|а|and)\s+(?:этот|эту|это|that|this)\s+(?:микс|мерж|мердж|смесь|mix|blend|merge)\w*\s+(?:ещ[её]\s+(?:раз\s+)?|again\s+)?(?:с|со|with)\s)"
    r"|(?:сначала|потом|затем|после этого|после чего|в конце|наконец|в завершение|далее|в итоге)"
)

# Action patterns, in priority order for matches that start at the same place.
ACTIONS: list[tuple[str, re.Pattern[str]]] = [
    (
        "merge_models",
        re.compile(
            r"\b(?:ties|dare[_ -]?ties|dare[_ -]?linear|slerp|task[_ -]?arithmetic|mergekit|model soup)\b|"
            + MERGE_METHOD_WORDS
            + r"|\b(?:merge|blend|avg|average|averag\w*)\s+of\s+#{3,}"
            r"|\b(?:average|blend)\s+them\b(?!\s+(?:adapters|loras|doras)\b)"  # "a friend's checkpoint at B. average them?"
            r"|(?<!that )(?<!this )\b(?:merge|blend|mix|combine|average)\w*\s+(?:(?:it|this|that|them|ours|mine|results?|base|original|what\s+(?:came\s+out|you\s+get|we\s+get|comes\s+out)|(?:the|our|my|that|this)\s+(?:[\w'-]+\s+){0,2}?"
            r"(?:result|model|one|checkpoint|base|original))\s+)?(?:\d+(?:\.\d+)?\s*[/:]\s*\d+(?:\.\d+)?\s+)?(?:back\s+)?(?:with|together)\b"
            # "merge w/ B", "merge ours w/ B" (w/ is masked as a path)
            r"|\b(?:merge|blend|mix|combine)\w*\s+(?:(?:it|ours|mine|(?:our|my)\s+model|the\s+base)\s+)?(?:w/|##)(?=\s)"
            # "blend ours after sft and dpo with B", "смешай нашу после sft и dpo с B": the partner comes after the stages
            r"|\b(?:merge|blend|mix|combine)\w*\s+(?:it|this|ours|mine)\s+(?=after\s)"
            r"|(?<![а-я])(?:смешай|слей|смержи|смерджи|замержи|замерджи)\s+(?:нашу|мою|е[её])\s+(?=после\s)"
            r"|\b(?:merge|blend|mix|combine|average)\w*\s+#{3,}\s*(?:,|and|with|&)\s*#{3,}"
            # "merge ours and B 50/50 and write it to out/x", «слей нашу и B»: ours, then a folder
            r"|(?:\b(?:merge|blend|mix|combine|average)\w*|(?<![а-я])(?:слей|слить|смерж|смердж|мерж|мердж|смешай|объедини|влей)\w*)\s+"
            r"(?:the\s+)?(?:" + OURS + r")\s*(?:,|\band\b|&|(?<![а-я])и)\s*(?:the\s+)?(?=#{3,})"
            # "merge B and our model", "слей B и нашу": a folder, then ours
            r"|(?:\b(?:merge|blend|mix|combine|average)\w*|(?<![а-я])(?:слей|слить|смерж|смердж|мерж|мердж|объедини)\w*)\s+#{3,}"
            r"\s*(?:,|\band\b|&|(?<![а-я])и)\s*(?:the\s+)?(?=" + OURS + ")"
            r"|\b(?:merge|blend|mix)\w*\s+#{3,}\s+(?:into|with|at\s+\d|@\s*\d|\d)"  # "merge B 50/50", "merge B 0.7 ours"
            r"|\b(?:merge|blend|mix|combine)\w*\s+w\s+(?=#{3,})"  # "merge w B": "w" for "with"
            r"|\b(?:merge|blend|mix)\w*\s+in\s+#{3,}"  # "then merge in B with model_stock"
            r"|\b(?:merge|blend|mix|fold)\w*\s+in\s+(?:an?\s+)?(?:[\w.%]+\s+){1,2}?of\s+#{3,}"  # "mix in a quarter of B"
            # «слей B в нашу 30%», «влей B в исходную»: one model merged into ours, said with «в»
            r"|(?<![а-я])(?:слей|влей|смерж\w*|смердж\w*|вмерж\w*|вмердж\w*)\s+#{3,}\s+в\s+(?:нашу|мою|базов\w*|исходн\w*|#{3,})"
            r"|\b(?:linear(?:ly)?)\s+merge\b|\b(?:linear|slerp|della|task[_ -]?arithmetic)-merg\w*|\bmerge_method\s*[:=]"  # a pasted mergekit config names its method
            r"|\b(?:merge|blend|mix|combine|average)\w*\s+\d+(?:\.\d+)?\s*%\s+(?:of\s+)?"  # "merge 70% of the result with …"
            r"|\b(?:merge|blend|mix|combine)\w*\s+(?:it\s+)?\d+(?:\.\d+)?\s*[/:]\s*\d+(?:\.\d+)?\s+(?:with|and)\b"  # "merge 50/50 with B"
            r"|(?<![а-я])(?:слить|слива\w*|сливай\w*|вливай\w*|влить|влей\w*)\s+(?:(?!адаптер)[а-я]+\s+)?(?:с|со)\s+(?!адаптер)"  # "потом слить с B"
            r"|(?:смешай|смешать|объедини\w*\s+с|слей\w*\s+(?:(?!адаптер)\w+\s+|#+\s+){0,2}с\s+(?!адаптер)|усредни\w*)"
            # "веса для слияния: база 40%, …", "merge weights: …": the members and their weights follow
            r"|(?<![а-я])веса\s+(?:для\s+)?слияни\w*\s*[:—-]|\b(?:merge\s+weights|weights\s+for\s+the\s+merge)\s*[:—-]"
            r"|(?:слей|слить|объедини\w*|смержи\w*|смерджи\w*)\s+(?:[а-я]+\s*:?\s+)?#{3,}\s*(?:,|и|с|со)\s*#{3,}"  # "слей A и B"
            r"|(?:слей|слить|объедини\w*|смерж\w*|смердж\w*)\s+(?:(?:две|три|четыре|обе|все|эти)\s+)модел\w*"
            r"|\b(?:merge|blend|average)\s+(?:the\s+)?(?:two|three|four|both|these|all)\s+(?:of\s+)?(?:the\s+)?models\b"
            r"|(?<![а-я])слияни\w*(?=\s+(?:с|со|трех|двух|моделей|(?!адаптер|лор)[а-я]+\s+и\s|#))|(?<![а-я])линейн\w+\s+(?:слияни|мерж|мердж)\w*"
            r"|^\s*(?:(?:ещ[её]|also|again)\s+)?(?:линейно|linearly)\s+(?:с|со|with)\s+#"  # "…, потом линейно с B"
            r"|\blinear(?:ly)?\s+with\s+#{3,}"  # "…, then linear with B 3:1 for ours"
            # «линейно B 0.4 C 0.4 наша 0.2, потом dpo», "linear: B 0.6, C 0.4": the method, then members with values
            r"|(?:^\s*|(?<=[,;:]\s))(?:линейно|linearly|linear)\s*:?\s+(?=#{3,}\s*[:=]?\s*\d)"
            # "…, then linear that with C 80/20": the method said as the verb of a second merge
            r"|\b(?:linear|slerp|ties|dare[_ -]?ties|della)\s+(?:that|it|this|the|them)(?:\s+(?:merged\s+)?(?:result|model|one))?"
            r"\s+(?:with|into|and)\s+(?:#{3,}|" + OURS + "|" + BASE_WORDS + ")"
            # «потом результат линейно с нашей 50/50», «затем этот мерж тайсом с B»: the earlier merge's result, merged again
            r"|(?<![а-я])(?:результат\w*|этот\s+мерд?ж|это)\s+(?:линейно|слерпом|тайсом|ties|slerp|через\s+\w+)\s+(?:с|со)\s+(?=#|наш|мо[еёйя]|баз|исходн)"
            # «потом результат с нашей 30/70», «а потом результат ещё раз с C линейно 80/20»: the earlier merge's result
            # merged again, said by the result, the other member and its share or method
            r"|(?<![а-я])(?:результат\w*|итог\w*)\s+(?:ещ[её]\s+(?:раз\s+)?)?(?:с|со)\s+(?=(?:#+|наш\w*|мо[еёйя]\w*|баз\w*|исходн\w*)"
            r"(?:[^.;]|\.(?=\d)){0,40}?(?:линейн|ties|slerp|слерп|dare|della|task|\d+\s*[/:]\s*\d+|\d+\s*%|t\s*=))"
            # "…, and then that result with C linearly 80/20": a second merge said by its members and its method
            r"|\b(?:that|this|the)\s+result\s+with\s+#{3,}(?=(?:[^.;]|\.(?=\d)){0,30}?(?:linear|ties|slerp|dare|della|task|\d+\s*[/:]\s*\d+))"
            # "партнёру B четверть, остальное базе, линейно": shares by member, then the method alone at the end
            r"|(?<=[,;]\s)(?:линейно|линейный\s+мерд?ж)(?=\s*(?:[.;!]|$))"
            # "мерж линейный: база 0,6, B 0,4": the noun, its method, then the members
            r"|(?<![а-я])(?:мерж|мердж|слияние)\w*\s+(?:линейн\w*|ties|slerp|dare\w*|della\w*|task\w*)\s*:"
            r"|(?<![\w-])[a-z_]+-(?:мерж|мердж|м[её]рдж|м[её]рж)\w*"  # "passthrough-мердж": the method named before
            r"|(?:смерж\w*|смердж\w*|замерж\w*|замердж\w*|(?<![а-я])мерж\w*|(?<![а-я])мердж\w*)\s+"
            r"(?:(?:(?!адаптер|лор|lora|dora)\w+\s+){1,2}|#+\s+)?(?:с|со)\s+"
            # "смержи нашу модель после SFT с B": a few words between, then the model's folder
            r"|(?:смерж\w*|смердж\w*|замерж\w*|замердж\w*|слей\w*)\s+(?:(?!адаптер|лор|lora|dora)[\w#]+\s+){2,4}?(?:с|со)\s+#"
            r"|(?<![а-я])усреднени\w*|(?<![а-я])(?:мерж|мердж)\w*\s*[:—-]?\s*#{3,}"
            # "мерж 40% A, 40% B, остальное наша", "merge our model 0.6 and B 0.2": the shares name the members
            r"|(?<![а-я])(?:смерж|смердж|замерж|замердж|мерж|мердж)\w*\s+\d+(?:[.,]\d+)?\s*%"
            r"|\b(?:merge|blend|mix)\w*\s+(?:ours|mine|our\s+model|my\s+model|the\s+base)\s+\d"
            # "merge the sft model and the dpo model", "смержить результат DPO с результатом SFT": stages' results
            r"|\b(?:merge|blend|mix|combine|average)\w*\s+(?:the\s+)?(?=(?:sft|dpo|orpo|simpo|kto)[- ]?(?:\w+[- ])?(?:model|result|one"
            r"|checkpoint|output|version)\b|(?:sft|dpo|orpo|simpo|kto)\s*(?:and|&|\+|/|,)\s*(?:sft|dpo|orpo|simpo|kto)[- ](?:results|models)\b)"
            r"|(?<![а-я])(?:смерж|смердж|замерж|замердж|мерж|мердж|м[её]рдж|слей|слить|смешай|смешать)\w*\s+"
            r"(?=(?:sft|dpo|orpo|simpo|kto|сфт|дпо)-?(?:модел|результат|чекпоинт|верси)|(?:результат|модел|чекпоинт|верси)\w*\s+(?:после\s+)?(?:sft|dpo|orpo|simpo|kto|сфт|дпо))"
            r"|(?<![а-я])(?:мерж|мердж|слияни|смерж|смердж)\w*\s+(?:(?:обоих|двух|этих\s+двух)\s+)?результатов(?![а-я])"
            r"|(?<![а-я])(?:мерж|мердж|слияни)\w*\s+(?:линейн\w*|ties|slerp|dare\w*|della\w*|task\w*)\s+#{3,}"  # "мердж линейный A и B"
            r"|(?<![а-я])(?:слияни\w*|мерж\w*|мердж\w*)\s*[,:]\s*(?:linear|ties|slerp|dare\w*|della\w*|task\w*|model_stock|линейн\w*)"
            # "merge both results", "ties-merge the two", "слей оба результата", "слей их через ties": the runs before
            r"|\b(?:merge|blend|combine|average|ties|slerp)[\w-]*\s+(?:both|the\s+two|them\s+both|the\s+results|both\s+results"
            r"|the\s+two\s+results)\b(?!\s+(?:adapters|loras|doras)\b)"
            r"|\b(?:ties|slerp|linear|dare[_-]?ties|della)\S*\s+(?:двух|обоих|обеих)\s+(?:результат\w*|модел\w*|вет\w*)|(?:слей|слить|смешай|смешать|смерж\w*|смердж\w*|объедини\w*)\s+(?:оба|обе|их|эти\s+два)"
            r"(?!\s+адаптер)(?:\s+(?:результат\w*|модел\w*))?(?=\s+(?:через|методом|linear|ties|slerp|dare|della|линейно|с\s+вес"
            r"|в\s+пропорц|\d|поровну|пополам)|\s*(?:[,.;]|$))|(?<![а-я])линейно\s+(?:слить|слей|смешать|смешай)|\blinearly\s+(?:merge|blend)"
            # "merge the 3: A, B, C", "мерж трёх моделей: база, B, C": the members follow
            r"|\b(?:merge|blend|mix|average)\s+(?:of\s+)?(?:the\s+|these\s+|all\s+)?(?:2|3|4|two|three|four)\s*(?:models\s*)?[:(—-]"
            r"|(?:(?<![а-я])мерж|(?<![а-я])мердж|(?<![а-я])слияни|смешай|смешать|слей|слить)\w*\s+"
            r"(?:двух|трех|четырех|2|3|4)\s+моделей"
            # "мердж моделей: наша 0.25, B 0.75", "merge models: …", "linear: B gets 0.6, …": the members follow
            r"|(?<![а-я])(?:мерж|мердж|слияни|смешивани)\w*\s+моделей\s*[:—-]|\bmerg\w*\s+(?:the\s+)?models\s*:"
            r"|(?:^|[.;]\s*)linear\s*:(?=\s*\S)"
            # "merge: 0.6*A + 0.4*B", "merge base, A, B equally", "слей базу, A и B", "смерджи B в базу", "weights: base 1, B 2"
            r"|\b(?:merge|blend|mix|average)\s*:\s*(?=\S)|(?<![а-я])(?:мерж|мердж|слияние|смешивание)\s*:\s*(?=\S)|\b(?:merge|blend|mix|average)\s+(?:the\s+)?base\s*(?:,|and)\s*#"
            r"|(?:слей|смешай|смешать|смерж\w*|смердж\w*|усредни\w*)\s+(?:линейно\s*:?\s+|через\s+[\w-]+\s*:?\s+)?(?:баз\w*|модель)"
            r"\s*(?:,|и|с)\s*#"  # "слей линейно модель, B и C": the opened model is a member
            r"|(?:смерж\w*|смердж\w*|слей|влей)\s+#{3,}\s+в\s+баз\w*|\bmerge\s+#{3,}\s+into\s+the\s+base\b|\bmerge\w*\s+(?:it\s+)?into\s+(?:the\s+)?base\s+(?:with|and)\s+#"
            r"|(?:смерж\w*|смердж\w*|слей)\s+#{3,}\s+в\s+#{3,}"  # "смержи B в A 70 на 30"
            r"|\bweights?\s*:\s*(?:the\s+)?(?:base|#{3,})\s+\d"
            # "смёрджи B в пользу базы", "merge B in favour of the base": one model named, the base the other
            r"|(?:смерж\w*|смердж\w*|слей)\s+#{3,}\s+(?:в\s+пользу|поверх)|\bmerge\s+#{3,}\s+(?:in\s+favou?r|on\s+top)"
            # a share of another model mixed in: "mix in 10% of B", "add 20% of B", «добавь к нашей модели 15% от B»
            r"|\b(?:mix|blend)\s+in\s+\d+(?:\.\d+)?\s*(?:%|percent\b)\s+of\s+(?:the\s+)?(?=#{3,})"
            r"|\b(?:mix|blend)\s+in\s+(?:a\s+(?:bit|little|touch)\s+of\s+|some\s+(?:of\s+)?)(?:the\s+)?(?=#{3,})"
            r"|\badd\s+\d+(?:\.\d+)?\s*(?:%|percent\b)\s+of\s+(?:the\s+)?(?=#{3,})"
            # «подмешай B к базе», «подмешай в нашу 15% B», «добавь к нашей немного B»: a share of B mixed into ours
            r"|(?<![а-я])(?:подмешай|подмешать|примешай|примешать)(?![а-я])"
            r"|(?<![а-я])добавь\s+(?:к|в)\s+(?:нашей|нашу|моей|мою|базе|базу)(?:\s+модел\w*)?\s+(?:немного\s+|чуть\s+|капельку\s+)?(?=#)"
            # "take 0.9 of ours and 0.1 of B", «возьми B с весом 0.7 и нашу с весом 0.3»: the members with their shares
            r"|\btake\s+(?=\d*\.?\d+\s*%?\s+of\s+(?:ours|our\s+model|mine|#{3,}))"
            r"|(?<![а-я])возьми\s+(?=#{3,}\s+с\s+весом|(?:нашу|мою)\s+(?:модель\s+)?с\s+весом)"
            r"|(?<![а-я])добавь\s+(?:к|в)\s+(?:нашей|нашу|моей|мою|базов\w*|исходн\w*)(?:\s+модел\w*)?\s+"
            r"\d+(?:[.,]\d+)?\s*(?:%|процент\w*)\s+(?:от\s+)?(?=#)"
            # task vectors added or taken away: "add B's task vector at 0.5", "subtract half of B's task vector",
            # "subtract B from ours at weight 0.4", «вычти из нашей модели вектор задачи B», «вычти B из нашей»
            r"|\b(?:add|subtract)\w*\s+(?:[\w.%]+\s+){0,3}?(?:of\s+)?#{3,}(?:'s)?\s+task[ _-]?vectors?"
            r"|\bsubtract\w*\s+(?:the\s+)?#{3,}(?:'s\s+task[ _-]?vectors?)?\s+from\b"
            # «к нашей прибавь вектор задачи B», «прибавь дважды вектор задачи B к базе»; "average the weights of A and B"
            r"|(?<![а-я])(?:прибавь|прибавить|добавь|добавить)\s+(?:[а-я]+\s+){0,2}?(?:вектор\w*\s+задач\w*|task[ _-]?vectors?)\s+#{3,}"
            r"|\b(?:average|avg)\s+(?:the\s+)?(?:weights|parameters|params)\s+of\s+(?=#{3,})"
            # «объедини нашу модель с B поровну», «сделай средневзвешенное трёх: …», "mostly B, a bit of ours"
            r"|(?<![а-я])объедини\w*\s+(?:нашу|мою|базов\w*|исходн\w*)(?:\s+модель)?\s+(?:с|со|и)\s+(?=#)"
            r"|(?<![а-я])(?:средневзвешенн\w*|взвешенн\w*\s+средн\w*)"
            r"|\b(?:mostly|mainly)\s+(?:the\s+)?#{3,}\s*,\s*(?:(?:a\s+(?:bit|little|touch)|some)\s+(?:of\s+)?)(?=ours|mine|our|my|the\s+base)"
            # «добавь к нашей модели вектор задачи (B минус наша)»: the task vector said as a difference in brackets
            r"|(?<![а-я])(?:прибавь|добавь)\s+к\s+(?:нашей|моей|базов\w*|исходн\w*)(?:\s+модел\w*)?\s+вектор\w*\s+задач\w*\s+\(\s*#{3,}"
            # "take B minus ours as a task vector", «возьми разницу B минус наша модель как вектор задачи»
            r"|#{3,}\s+(?:minus|минус)\s+(?:#{3,}|"
            + OURS
            + r")(?=(?:[^.;]){0,40}?(?:task[ _-]?vectors?|вектор\w*\s+задач))"
            # "averge A and B", «среднее трёх моделей: наша, B, C», «возьми среднее A и B», "add the task vector of B"
            r"|\b(?:averge|avrage|avarage|averag)\w*\s+(?=#{3,}|ours|our\s+model)"
            r"|(?<![а-я])средн(?:ее|юю)\s+(?:арифметическ\w+\s+)?(?:(?:от|из|трёх|трех|двух|всех)\s+)?(?:моделей\s*:?\s*)?(?=#|наш)"
            r"|\badd\w*\s+(?:the\s+)?task[ _-]?vectors?\s+(?:of|from)\s+(?:the\s+)?#{3,}"
            r"|(?<![а-я])(?:прибавь|добавь)\s+к\s+(?:нашей|моей|базов\w*|исходн\w*)(?:\s+модел\w*)?\s+(?:вектор\w*|task[ _-]?vector\w*)\s+#{3,}"
            r"|(?<![а-я])(?:вычти|вычесть|отними|отнять)\s+(?:из\s+(?:нашей|моей|базов\w*|исходн\w*)(?:\s+модел\w*)?\s+)?"
            r"(?:[а-я]+\s+){0,2}?(?:(?:вектор\w*\s+задач\w*|task[ _-]?vectors?)\s+)?#{3,}"
        ),
    ),
    (
        "merge_adapter",
        re.compile(
            r"\b(?:merge|fold|bake|fuse|absorb)\w*\s+(?:(?:the|this|that|its|our|sft|dpo|lora|dora|new)\s+)*"
            r"(?:adapters?|lora|dora|it|them|weights)\b|\bmerge[_ -]and[_ -]unload\b|\b(?:merge|fold)\w*\s+(?:it\s+|them\s+)?(?:back\s+)?into\s+(?:the\s+)?(?:base|model)\b(?!\s*(?:with|and|,|&)\s*#)|\b(?:merge|fold)\w*\s+(?:it\s+)?(?:back|in)\b(?!\s+#)"
            r"|\bmerge(?=\s*(?:,|;|\.|$|\band\b|\bthen\b|\bagain\b|->|→))"  # a bare "merge" after training
            r"|(?<![а-я])(?<!первого )(?<!второго )(?<!этого )(?<!того )слияни\w*(?=\s*(?:,|;|\.|$|->|→))"
            r"|\bmerge\s+(?:everything|it all|all of it|all|the lot)\b|(?:слей|влей|смержи)\s+вс[её]\b"
            r"|(?<![а-я])(?:слияни\w*|вливани\w*)\s+(?:\w+\s+)?(?:адаптер\w*|лор[аыу]\w*|lora|dora)"  # «слияние адаптера»
            r"|\bmerge\s+(?:the\s+)?(?:result|fine-?tuned (?:model|one)|trained (?:model|one))\b(?!\s*(?:with|into|and\s+#))"
            r"|(?:сле(?:й|йте)|слить|влей|влейте|влить|вмерж\w*|смерж\w*|запеки|вшей|вшить|объедини"
            r"|(?<![а-я])(?:за|с)?м[её]рд?ж(?:ни|и|ните|ите|ить)(?![а-я]))\s+"
            r"(?:\w+\s+)?(?:адаптер\w*|lora|dora|лор[аоуы]\w*|его|их)"
        ),
    ),
    (
        "dpo",
        re.compile(
            r"\b(?:c?dpo|ipo|orpo|simpo|kto|preference (?:tuning|optimi[sz]ation|training|pairs)|preferences?|prefer\w*)\b"
            r"|\bthumbs?[- ]?(?:up|down)\b|предпоч\w*|(?<![a-z])(?:dpo|orpo|simpo|kto)(?:trainer|config)?(?![a-z])"
            r"|лайк\w*|дизлайк\w*|(?:палец|пальц\w*) (?:вверх|вниз)"
            # TRL's DPO loss types no other trainer has: "exo_pair loss, beta 0.2" is a DPO stage
            r"|(?<![\w-])(?:exo_pair|nca_pair|apo_zero|apo_down|bco_pair|sppo_hard|discopop|aot_pair|sigmoid_norm)(?![\w-])"
        ),
    ),
    (
        "write",
        re.compile(
            r"\b(?:one|a single|single|one final|a final|final)\s+(?:\.?safetensors|file|artifact|checkpoint)\b"
            r"|\ba\s+\.?safetensors(?:\s+file)?\b"  # "I just want a safetensors file in fp16"
            r"|\b(?:write|save|export|output)(?!_proj)\w*\b|\bre-?(?:write|save|export)\b"
            # "convert it to float16 safetensors in 1GB shards", "конвертируй в fp16": a write of the model as it is
            r"|(?:\b(?:convert|cast)\w*|(?<![а-я])(?:конверт\w*|сконверт\w*|переведи|преобразуй))(?=(?:#+|[^.;\n#]){0,60}?"
            r"(?:fp16|bf16|fp32|float16|bfloat16|float32|\bhalf\b|safetensors|шард|shard))"
            r"|(?<![а-я])(?:результат\w*|выход|вывод)\s*(?:в|во|->|→|:|-)\s*(?=#)|\bresult\s*(?:in|to|into|->|→|:)\s*(?=#)"
            r"|(?:сохрани\w*|сохраня\w*|запиши|запишите|записать|запись\s+в|один\s+(?:файл|safetensors)|одним\s+файлом|в\s+один\s+файл|единый\s+файл|выгрузи\w*)"
        ),
    ),
    (
        "sft",
        re.compile(
            r"\b(?:sft|sfttrainer|sftconfig|fine[- ]?tun(?!ing_type)\w*|train(?!er\b|_)\w*|teach\w*|instruction[- ]tun\w*|supervised|adapt it"
            r"|full[- ]?ft|fft|(?:continued|continual|further|domain[- ]adaptive)[- ]pre-?training)\b"
            r"|(?<![a-z])(?:lora|full)_finetune(?![a-z])"  # torchtune's recipes: "tune run lora_finetune_single_device"
            r"|(?:дообуч\w*|обуч\w*|научи\w*|натрен\w*|тренир\w*|файнтюн\w*|подстрой\w*|(?<![а-я])уч(?:им|и|ить|у|ите)(?![а-я]))"
        ),
    ),
    (
        "method_only",
        re.compile(
            r"\b(?:q?lora|dora|use_dora|full fine[- ]?tun\w*|lora_(?:r|alpha|dropout|rank|target)|target_modules|finetuning_type)\b|(?:лор[аоуы]\w*|дор[аоуы]\w*)"
        ),
    ),
]
# Adapters, maybe from disk: "fold the adapter in ./ckpt", "merge these two adapters", "apply my DPO adapter
# on top of the SFT one", "влей адаптер ./ckpt", "наложи DPO-адаптер поверх SFT". Tried before the training
# words, so "my DPO adapter" is an adapter to fold, not a DPO stage.
ACTIONS.insert(
    1,
    (
        "disk_adapter",
        re.compile(
            r"\b(?:merge|fold|bake|fuse|absorb|apply|load|stack|put|add|combine)\w*\s+"
            r"(?:(?:the|this|that|these|those|its|our|my|both|two|three|sft|dpo|orpo|kto|simpo|lora|dora|new|#+)\s+){0,4}"
            r"(?:[\w]+-)?(?:adapters?|loras?|doras?)\b"
            r"(?!\s+(?:to|on|onto|across|over|only on|only to)\s+[^,;.#]{0,50}?"
            r"(?:layers?|blocks?|attention|attn|mlp|modules?|projections?|[a-z]+_proj)\b)"  # "put LoRA on the last layer": training
            r"|\b(?:fold(?!ers?\b)|bake|fuse|apply|load(?!er)|stack)\w*\s+(?:in\s+)?#{3,}"  # "apply ./runs/dpo on top of ./runs/sft"
            r"|(?<![а-я])(?:мерж|мердж|м[её]рдж|слияние|вливание)\w*\s+адаптер\w*\s+#{3,}"  # "мерж адаптера ./x в модель"
            # "мерж лоры в базу", "слияние адаптера с базой": the noun for merging, an adapter named by its kind
            r"|(?<![а-я])(?:м[её]рд?ж|слияние|вливание)(?:а|у|ем)?\s+(?:(?:sft|dpo|мо(?:ей|его)|наш\w*)\s+)?"
            r"(?:lora|dora|адаптер\w*|лор[аыу]\w*)(?=\s+(?:в|с|со|into|with)\s|\s*(?:[,;.]|$|и\s))"
            r"|(?:сле(?:й|йте)|слить|влей|влейте|влить|вмерж\w*|смерж\w*|запеки|вшей|вшить|объедини\w*|примени\w*"
            r"|наложи\w*|накати\w*|подключи\w*|(?<![а-я])(?:за|с|в)?м[её]рд?ж(?:ни|и|ните|ите|ить)(?![а-я]))\s+"
            r"(?:(?:мой|мою|мои|мое|наш\w*|этот|эти|оба|обa|два|две|три|sft|dpo|orpo|kto|#+)\s+){0,3}"
            r"(?:[\w]+-)?(?:адаптер\w*|lora|dora|лор[аыу]\w*)"
        ),
    ),
)

DATASET = re.compile(r"(?<![\w/.~-])(?:[~\w.-]*/)*[\w.-]+\.(?:jsonl|json|ndjson|csv|parquet|arrow)\b")
PATHLIKE = re.compile(
    MODULE_SHORTHAND
    + NOT_A_PATH
    + r"(?:(?<![\w/.~-])(?:\.{0,2}/|~/|/)?(?:[\w.-]*[^\W\d][\w.-]*/)+[\w.-]*|(?<![\w/.~-])[\w.-]+\.safetensors\b"
    r"|(?<![\w/.~-])(?:\.{1,2}|~)/[\w.-]+)"  # ./ckpt, ../other, ~/adapter
)
EXPLICIT_MODULE = re.compile(
    r"\b(?:[a-z]+_proj|c_attn|c_proj|c_fc|query_key_value|qkv_proj|gate_up_proj|dense_h_to_4h|dense_4h_to_h|"
    r"fc1|fc2|wq|wk|wv|wo|w1|w2|w3|out_proj|dense|(?:down|up|gate)[ -]proj(?:ection)?s?)\b"
)


ROLE_MODULES = {
    "query": ("q_proj", "wq", "query"),
    "key": ("k_proj", "wk", "key"),
    "value": ("v_proj", "wv", "value"),
    "output": ("o_proj", "wo", "out_proj"),
    "gate": ("gate_proj", "w1"),
    "up": ("up_proj", "w3"),
    "down": ("down_proj", "w2"),
}
FUSED_ATTENTION = ("c_attn", "qkv_proj", "query_key_value", "Wqkv")
UNSUPPORTED = re.compile(
    r"\b(?:ppo|grpo|rlhf|reward model\w*|distill\w*|prun\w*|quantiz\w*|gguf|awq|gptq)\b"
    r"|\bquantis\w*|(?:дистилл\w*|квантиз\w*|кванту\w*|квантова\w*|прунинг\w*)"
)
STOPWORDS = set(
    """a an the it its it's to of on in into with and or for by as at from my our me i we you your this that
    these those then is are be make model models please so some using use via data dataset datasets file
    files layer layers adapter adapters also only just give me want would like should can into onto
    и в во на с со по к из от для до а но или же это эту этот эти мой мою мне моя наш нашу модель модели
    слой слои слоя слоях слоям данные данных файл файла его их ее ей бы чтобы
    сделай сделать сделаем сделайте давай давайте хочу хотим нужно надо через потом затем сначала после
    результат результата результате обучи обучить дообучи дообучить лору лоры лорой итог итоге
    do run train then first after want need result results final output please
    target targets module modules только""".split()
)


@dataclass
class Action:
    kind: str
    start: int
    end: int
    text: str = ""  # the clause text this action owns
    from_base: bool = False  # "…, DPO on b.jsonl from the base": said to start from the base, not the line before it
    notes: list[str] = field(default_factory=list)  # how the action was read, for the plan's notes


@dataclass
class Context:
    request: PlanRequest
    arch: str
    num_layers: int | None
    modules: dict[str, list[str]]
    datasets: dict[str, str]  # path → "sft" | "dpo" (pairs) | "kto" (prompt/completion/label) | "?"
    notes: list[str] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    used_data: set[str] = field(default_factory=set)
    consumed: list[tuple[int, int]] = field(default_factory=list)
    last_training: dict[str, Any] | None = None
    partners: list[str] = field(default_factory=list)  # models trained only to be merged in
    # the words of the write/fold actions, where a goal with one training stage may carry its config
    # ("…, save merged to out/x: r = 16, target_modules = [...]")
    config_text: str = ""
    merge_config: str = ""  # the same for a goal with one model merge ("TIES A and B; density 0.7, write out/x")
    ids: set[str] = field(default_factory=set)
    disk_adapters: list[str] = field(default_factory=list)  # adapter folders given with --data
    scoped: list[Fact] = field(default_factory=list)  # the goal's facts with the stage each was said for
    data_problems: dict[str, str] = field(default_factory=dict)  # a --data file no stage can read, and why
    rounds: dict[str, int] = field(default_factory=dict)
    output_said: str | None = (
        None  # an output path said inside another stage's words ("…, на выходе в out/x")  # training stages per scope ("sft": 2 for two rounds)
    )
    corrected: str = ""  # the goal with its corrections applied, read once (agent/goal_facts.py corrected_text)

    def unique(self, name: str) -> str:
        candidate, n = name, 2
        while candidate in self.ids:
            candidate, n = f"{name}-{n}", n + 1
        self.ids.add(candidate)
        return candidate

    @property
    def all_modules(self) -> set[str]:
        return {m for group in ("attention", "mlp") for m in self.modules.get(group, [])}


# a merge word anywhere, typos too ("mrege"): with a model folder named and no other action read, the goal is a merge
LOOSE_MERGE = re.compile(
    r"\b(?:merg|mreg|megr|blend|combin)\w*|(?<![а-я])(?:смерж|смердж|замерж|замердж|слей|слить|объедини|мерж|мердж"
    r"|смешай|смешать|мёрж|мёрдж|вле[йт]|влив|вмерж|вмердж)\w*"
    # a merge method named with nothing else to do: "P gets 0.65 and ours the remainder, linear pls", «линейно, P
    # получает три четверти», «добавь P в нашу на 20 процентов»
    r"|\blinear(?:ly)?\b|(?<![а-я])линейн\w*|\bslerp\b|(?<![а-я])слерп\w*|\bties\b|\bdare[_ -]?(?:ties|linear)\b"
    r"|\bdella\b|\btask[_ ]arithmetic\b|(?<![а-я])добавь\s+#{3,}\s+в\s+(?:нашу|мою|базов\w*|исходн\w*)"
)


def normalise(text: str) -> str:
    text = text.replace("ё", "е").replace("Ё", "Е").replace("“", '"').replace("”", '"').replace("«", '"')
    text = text.replace("»", '"').replace("—", "-").replace("–", "-").replace("’", "'")
    from agent.goal_numbers import spelled_numbers

    text = re.sub(r"\s+", " ", spelled_numbers(text.strip()).lower())
    text = PERCENT_WORD.sub(lambda m: "%".ljust(len(m.group(0))), text)  # "25 pct", "60 percent": shares
    return re.sub(r"(?<=\s)c(?=\s+[а-я])", "с", text)  # "смержь B c нашей": a Latin c typed for the Russian "с"


def mask_paths(text: str) -> str:
    """Paths blanked out (same length), so 'sft' in 'data/sft-variant.jsonl' is not an action."""
    masked = text
    for pattern in (DATASET, PATHLIKE, NAME_LIKE):
        masked = pattern.sub(lambda m: m.group(0) if member_legend(m.group(0)) else masked_path(m.group(0)), masked)
    return mask_bare_names(masked, text)


# a training verb and nothing else ("train", "обучи модель", "fine-tune it please"): with two kinds of data given,
# which stage runs on which is a guess
BARE_TRAINING = re.compile(
    r"\s*(?:please\s+|пожалуйста\s*,?\s+)?(?:train|fine[- ]?tune|finetune|tune|обучи|дообучи|натренируй|тренируй|зафайнтюнь"
    r"|файнтюни|потренируй)(?:\s+(?:it|the model|this model|the base|модель|эту модель|ее|его|пожалуйста|please|up))*"
    r"(?:\s+(?:on|на)\s+(?:the\s+|my\s+|our\s+|this\s+|моем\s+|моих\s+|наших\s+|этом\s+|этих\s+)?"
    r"(?:data(?:set)?|датасете|данных))?"
    r"\s*[.!]?\s*"
)
VAGUE_WISH = re.compile(
    r"\b(?:something|anything|somehow|whatever)\b|(?<![а-я])(?:что-нибудь|что-то|как-нибудь|как-то|что-либо)(?![а-я])"
)
# "merge both", "слей их", "merge the two adapters": with no second line of training, the adapters are folded in
MERGE_BOTH = re.compile(
    r"(?:merge|fold|combine|bake|слей|слить|смерж\w*|смердж\w*|объедини\w*)\s+(?:both|the\s+two|them(?:\s+both)?|оба|обе|их)"
    r"(?:\s+(?:adapters|loras|results|адаптер\w*|результат\w*))?(?:\s+(?:in|into the model|в модель))?"
)


# shares said for a merge with no method named: "70/30", "70 на 30", "25%", "0.7 and 0.3", "поровну", "half and half"
BLEND_SAID = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?\s*(?:%|percent\b|per\s+cent\b|процент)|(?<![\w.-])\d+(?:\.\d+)?\s*(?:/|:|-|на|к|to)\s*\d+(?:\.\d+)?(?![\w.])"
    r"|(?<![\w.])0?\.\d+\b|поровну|пополам|(?<![а-я])равн\w*\s+дол|(?<![а-я])средн(?:ее|юю)|\bav(?:e|a)?rage?\b|\baverge\b|\bequal(?:ly)?\b|\bevenly\b|\bhalf\b|\bfifty\b|\bthe rest\b|остальн"
)


MERGE_AGAIN = re.compile(
    r"\s*(?:(?:а|и|and|but)\s+)?(?:ещ[её]\s+(?:раз\s+)?|again\s+|also\s+)?"
    r"(?:(?:этот|эту|это|that|this)\s+(?:микс|мерж|мердж|смесь|результат|mix|blend|merge|result)\w*\s+"
    r"|(?:the\s+)?(?:result|outcome|output|that|it|this)\s+|(?:результат|итог|выход)\w*\s+|(?:его|её|ее|это|этот|эту)\s+"
    r"|(?:то|тот|ту),?\s+что\s+получил\w*,?\s+|(?:what|whatever)\s+(?:came\s+out|you\s+get|we\s+get)\s*,?\s+)?"
    r"(?:(?:ещ[её]|again|also)\s+)?"  # "потом результат ещё линейно с C"
    r"(?:(?:линейно|linearly|через\s+[\w-]+|методом\s+[\w-]+|slerp|ties|dare_ties)\s+)?(?:с|со|with)\s+"
    # («а потом результат с нашей моделью 40 на 60»: the result blended back with ours)
    r"(?:#{3,}|(?:(?<=результат с )|(?<=результат со )|(?<=итог с )|(?<=итог со )|(?<=result with ))"
    r"(?:нашей|моей|ours|our\s+model|mine))"
)


def _after_own_data(action: Action, text: str) -> tuple[str, str]:
    """A stage word and the data said right after it ("sft on x.jsonl"), and the rest of its clause."""
    own = re.match(r"[\w-]*(?:\s+(?:on|на|по)\s+\S+\.(?:jsonl|json|csv|parquet)\b)?[:,]?", text[action.start :])
    end = action.start + (own.end() if own else action.end - action.start)
    clause_end = action.start + len(action.text) - max(0, action.text.find(text[action.start : action.end]))
    return text[action.start : end], text[end:clause_end] if clause_end > end else ""


# "run DPO before SFT", "DPO перед SFT": two stages said already, and which of them runs first
RUN_BEFORE = re.compile(
    r"(?<![\w-])(sft|dpo|ipo|orpo|simpo|kto)\s+(?:first\s+)?(?:before|ahead\s+of|prior\s+to|перед|до)\s+(?:the\s+)?"
    r"(sft|dpo|ipo|orpo|simpo|kto)(?![\w-])"
)


# between two stages of one "after" list: "after sft on a.jsonl and dpo", "после sft и dpo"
AFTER_LIST_GAP = r"(?:\s+(?:on|на|по)\s+#{3,})?\s*(?:,|and|и|&|\+|/)?\s*(?:(?:then|потом|затем)\s+)?"


def find_actions(text: str) -> list[Action]:
    """Actions with the text each one owns, in the order the person wrote them."""
    actions: list[Action] = []
    clauses: list[tuple[int, int]] = []
    seps: list[str] = [""]
    lead = ""
    lead_start = 0
    pos = 0
    masked = mask_paths(text)
    # "скорость обучения 5e-6", "per-device train batch 2": a slot's own words are never an action
    slot_words = [(f.start, f.end) for f in number_facts(text)]
    for match in ORDER_SPLIT.finditer(masked):
        clauses.append((pos, match.start()))
        seps.append(match.group(0))
        pos = match.end()
    clauses.append((pos, len(text)))
    for (c_start, c_end), sep in zip(clauses, seps, strict=True):
        clause = masked[c_start:c_end]
        found: list[Action] = []
        taken: list[tuple[int, int]] = []
        for kind, pattern in ACTIONS:
            for match in pattern.finditer(clause):
                if any(match.start() < e and s < match.end() for s, e in taken):
                    continue
                if any(s <= c_start + match.start() and c_start + match.end() <= e for s, e in slot_words) and not (
                    re.search(r"(?:for|для)\s+(?:the\s+)?$", clause[max(0, match.start() - 12) : match.start()])
                ):  # "lr для SFT 2e-4" names the SFT stage inside a value's words
                    continue
                if kind == "sft" and training_noun(masked, c_start + match.start(), c_start + match.end()):
                    continue  # "a training batch size of 2", "данные для обучения": no stage
                if kind == "sft" and (
                    re.match(
                        r"[\w-]*(?:ed|енн\w*|нн\w*)\s+(?:model|one|version|checkpoint|weights|result|модел\w*|верси\w*"
                        r"|вес\w*|результат\w*)",
                        masked[c_start + match.start() :],
                    )
                    or (
                        re.match(r"[\w-]*(?:ed|енн\w*|нн\w*)\b", masked[c_start + match.start() :])
                        and re.search(r"(?:our|my|the|наш\w*|мо[йяеё]\w*|эт\w+)\s+$", clause[: match.start()])
                    )
                ):
                    continue  # "the tuned model", "дообученную модель": the result of a stage, named (no new stage)
                if (
                    kind == "sft"
                    and re.match(r"fine-?tune\b", match.group(0))
                    and re.search(r"\w's\s+$", clause[max(0, match.start() - 8) : match.start()])
                ):
                    continue  # "a friend's finetune sitting in B": a model, not a stage
                if kind == "sft" and ALREADY_BEFORE.search(
                    masked[max(0, c_start + match.start() - 16) : c_start + match.start()]
                ):
                    continue  # "the base is already instruction-tuned", "уже дообучена": what the model is, no stage
                if kind == "sft" and in_loss_list(masked, c_start + match.start(), c_start + match.end()):
                    continue  # "loss types sigmoid and sft": TRL's SFT loss term inside DPO, not a stage
                if (
                    kind == "merge_models"
                    and re.match(r"mix|combin|blend", match.group(0))
                    and re.search(r"loss|лосс", masked[max(0, c_start + match.start() - 60) : c_start + match.start()])
                ):
                    continue  # "loss types sigmoid and sft mixed with weights 1 and 0.5": DPO's loss mix, no merge
                if kind in ("sft", "dpo") and (
                    REFERRED_BEFORE.search(masked[max(0, c_start + match.start() - 40) : c_start + match.start()])
                    or referred_stage(masked, c_start + match.start(), c_start + match.end())
                ):
                    continue  # "DPO: same as SFT", "lr 10x lower than SFT's": a stage referred to, not run again
                if kind in ("sft", "dpo") and _merged_result(masked, c_start, c_start + match.start()):
                    continue  # "merge the sft model and the dpo model", "мерж sft-модели": results, not stages to run
                found.append(Action(kind, c_start + match.start(), c_start + match.end()))
                taken.append(match.span())
        found.sort(key=lambda a: a.start)
        qualifier = [a.kind for a in found] == ["method_only"]
        found = _tidy(found, masked)
        again = MERGE_AGAIN.match(masked, c_start)
        if (
            again
            and actions
            and actions[-1].kind == "merge_models"
            and sep.strip()
            and not any(a.start < again.end() for a in found)
        ):  # "слить с A через slerp, а потом ещё с B линейно[, сохранить в X]": a second merge, of the first's result
            found.insert(0, Action("merge_models", c_start, again.end()))
            while len(found) > 1 and found[1].kind == "merge_models":
                del found[1]  # «…, а потом результат ещё с C через slerp»: the method word is this merge's, no third
        if (
            [a.kind for a in found] == ["merge_models"]
            and actions
            and actions[-1].kind == "merge_models"
            and re.fullmatch(r"\s*(?:(?:the\s+)?method|метод|способ)\s*(?:is\s+|[:—=-]\s*)?[\w-]+\s*[.!]?\s*", clause)
        ):  # "…, остальное моё. Метод — slerp.": the method of the merge said before
            actions[-1].text += " " + text[c_start:c_end]
            continue
        if (
            qualifier
            and actions
            and actions[-1].kind in ("sft", "dpo", "variant", "variant_dpo")
            and sep.strip() in (";", ".", "!", "?", "…", ":")
            and not _paths(DATASET, text[c_start:c_end])
        ):  # "DPO on prefs.jsonl. LoRA rank 64 on all linear layers.": how the stage before trains, not a new one
            actions[-1].text += " " + text[c_start:c_end]
            continue
        for i, action in enumerate(found):
            begin = c_start if i == 0 else action.start
            end = found[i + 1].start if i + 1 < len(found) else c_end
            action.text = text[begin:end]
            if action.kind in ("sft", "dpo") and (actions or i) and FROM_BASE.search(mask_paths(action.text)):
                action.kind = "variant" if action.kind == "sft" else "variant_dpo"  # "…, DPO on b.jsonl from the base"
                action.from_base = True
        if (
            not found
            and actions
            and sep.strip() not in ("", ";", ".", "!", "?", "…", ":")
            and actions[-1].kind in ("sft", "dpo")
            and _paths(DATASET, text[c_start:c_end])
            and _paths(DATASET, actions[-1].text)
        ):  # "train on a.jsonl then on b.jsonl": a second round on the second dataset
            found = [Action(actions[-1].kind, c_start, c_end, text[c_start:c_end])]
        elif not found and re.fullmatch(
            r"\s*(?:in\s+|as\s+|в\s+)?(?:bf16|bfloat16|fp16|float16|fp32|float32)\b.*", clause
        ):
            actions.append(Action("write", c_start, c_end, text[c_start:c_end]))  # "• merge adapter • bf16 → out/x"
        elif (
            not found
            and actions
            and actions[-1].kind == "write"
            and re.fullmatch(r"\s*#+[.,]?\s*", clause)
            and not _paths(DATASET, text[c_start:c_end])
        ):
            actions[-1].text += " to " + text[c_start:c_end].strip()  # "bf16 → Out/Final": where it is written
        elif (
            not found
            and actions
            and sep.strip() in ("->", "→", "=>")
            and re.fullmatch(r"\s*(?:(?:to|into|out|output|в|выход:?)\s+)?#+[.,]?\s*", clause)
            and not _paths(DATASET, text[c_start:c_end])
        ):  # "… slerp t=0.4 -> out/final": the end of the chain is where the model is written
            actions.append(Action("write", c_start, c_end, "write to " + text[c_start:c_end].strip()))
        elif not found and actions and clause.strip():
            actions[-1].text += " " + text[c_start:c_end]  # "rank 8, alpha 16." after the action's clause
        elif not found and clause.strip():
            lead_start = c_start if not lead else lead_start
            lead += " " + text[c_start:c_end]  # "rank 64 is enough; LoRA on chat": values before the first action
        if found and lead:
            if (
                sep.strip() not in ("", ";", ".", "!", "?", "…", ":", ",")
                and number_facts(lead)
                and not (found[0].kind == "sft" and re.search(r"lora_?config|peft_?config|lora\s*\(", lead))
            ):
                # "ранг 32, потом DPO", "rank 8, then DPO": values before an order word are a stage of their own
                actions.append(Action("sft", lead_start, lead_start, lead))
            else:
                found[0].text = lead + " " + found[0].text
            lead = ""
        if found and actions and _qualifier_clause(sep, found[0], actions[-1]):
            actions[-1].text += " " + found[0].text  # "LoRA on layers 1-3; r=12, train on chat": one stage, not two
            found = found[1:]
        actions.extend(found)
    kept: list[Action] = []
    for a in actions:  # "lr 2e-4 for SFT, 5e-6 for DPO": a stage named after "for" is the one the value is for
        if (
            kept
            and a.kind in ("sft", "dpo")
            and (
                re.search(r"(?:\bfor|(?<![а-я])для)\s+(?:the\s+)?$", masked[max(0, a.start - 12) : a.start])
                or (  # "на DPO ранг 8, на SFT ранг 64", "в SFT ранг 64": a stage said before, then its values
                    re.search(r"(?:(?<![а-я])(?:на|в|во)|\bin)\s+(?:the\s+)?$", masked[max(0, a.start - 8) : a.start])
                    and not DATASET.search(a.text)
                    and (
                        re.match(r"[a-zа-я]+\s*[:,-]?\s*[a-zа-я]*\s*[=:]?\s*\d", masked[a.start : a.end + 24])
                        or re.match(r"[a-zа-я]+\s*(?:[,.;)]|$)", masked[a.start :])  # "…, DoRA только на SFT"
                    )
                )
            )
            and any(_action_scope(b) == _action_scope(a) for b in kept)
        ):
            kept[-1].text += " " + a.text
            continue
        merged_before = next((b for b in reversed(kept) if b.kind == "merge_models"), None)
        if (
            a.kind == "merge_models"
            and merged_before is not None
            and re.match(r"\s*(?:the\s+)?(?:merge|мерж\w*|мердж\w*|слияни\w*)\s*[:—-]", a.text.lower())
            and not re.search(r"#{3,}", mask_paths(merged_before.text))
        ):  # "sft -> dpo -> merge with partner. … Merge: 70% ours, the rest partner ./p": the merge said in detail
            merged_before.text += " " + a.text
            continue
        same = next((b for b in kept if _action_scope(b) == _action_scope(a)), None)
        if (
            same is not None
            and a.kind in ("sft", "dpo")
            and not DATASET.search(a.text)
            and re.search(r"(?:\bthe|\bthat|(?<![а-я])(?:этот|эту|тот|ту))\s+$", masked[max(0, a.start - 6) : a.start])
            and re.match(r"[a-zа-я]+(?:\s+(?:stage|step|run|этап))?\s*(?:[,.;!)]|$)", masked[a.start :])
            and not re.search(r"\b(?:another|again|second|twice)\b|(?<![а-я])(?:ещ[её]|снова|повтор|втор)", masked)
        ):  # "ORPO … then SFT, no wait, SFT first and then the ORPO": the ORPO said before, not a second one
            same.text += " " + a.text
            continue
        if (
            same is not None
            and a.kind in ("sft", "dpo")
            and re.search(r"\(\s*$", masked[max(0, a.start - 3) : a.start])
            and not DATASET.search(a.text)
        ):  # "…, kto lr a tenth of the sft lr (sft lr 1e-4)": the SFT said before, its value in brackets
            same.text += " " + a.text
            continue
        if (
            same is not None
            and a.kind in ("sft", "dpo")
            and not DATASET.search(a.text)
            and re.search(r"(?:\band|(?<![а-я])и|(?<![а-я])а|[,;.])\s+$", masked[max(0, a.start - 6) : a.start])
            and (
                re.match(
                    r"[a-zа-я]+\s+(?:on|with|at|uses|gets|has|takes|на|с|со|использует|получает)\s+(?:all|every|the\s+(?:first|last|top|bottom)|layers?|сло|вс[её]х?"
                    r"|attention|mlp|внимани|rank|ранг|r\b|lr|\d)",
                    masked[a.start :],
                )
                or re.match(  # "…; sft 2 epochs, dpo 1 epoch", "sft: lr 1e-4": the stages said again with values
                    r"[a-zа-я]+\s*[:=-]?\s*(?:\d|(?:lr|rank|ранг|alpha|альфа|beta|бета|dropout|batch|батч|one|two|three"
                    r"|одн[аоу]|один|два|две|три)(?![\w-]))",
                    masked[a.start :],
                )
            )
            and not re.search(r"\b(?:another|again|second|twice)\b|(?<![а-я])(?:ещ[её]|снова|повтор|втор)", masked)
        ):  # "…, but train DPO on layers 6-11 only and SFT on all": the SFT said before, not a second one
            same.text += " " + a.text
            continue
        kept.append(a)
    merged: list[Action] = []
    for a in kept:  # "LoraConfig(r=32, …) then SFTTrainer on chat": the config object is the SFT's, not a stage
        if (
            merged
            and a.kind == "sft"
            and merged[-1].kind == "sft"
            and re.search(r"lora_?config|peft_?config|lora\s*\(", merged[-1].text)
            and not DATASET.search(merged[-1].text)
        ):
            a = Action("sft", merged[-1].start, a.end, merged[-1].text + " " + a.text)
            merged[-1] = a
            continue
        merged.append(a)
    actions = _training_before_fold(merged, text)
    actions = _data_said_before(actions, masked, text)
    actions = _one_stage_said_twice(actions, masked, text)
    described = CHAT_DATA.search(masked)
    if (
        described
        and not any(a.kind in ("sft", "variant") for a in actions)
        and any(a.kind == "dpo" and PAIRS_DATA.fullmatch(masked[a.start : a.end]) for a in actions)
    ):  # "i have some chats and some preference pairs": each kind of data said is trained on, SFT first
        first = next(i for i, a in enumerate(actions) if a.kind == "dpo")
        actions.insert(
            first, Action("sft", described.start(), described.end(), text[described.start() : described.end()])
        )
    if not any(a.kind in ("variant", "variant_dpo") or a.from_base for a in actions):
        for i, a in enumerate(actions):  # "SFT r 16, then DPO r 8, merge both": one line of training, no two results
            if (
                a.kind == "merge_models"
                and any(b.kind in ("sft", "dpo") for b in actions[:i])
                and MERGE_BOTH.fullmatch(mask_paths(a.text).strip(" ,.;"))
            ):
                a.kind = "merge_adapter"
    for scope, where in taken_back_stages(masked):  # "SimPO? no, skip SimPO": the stage said before is dropped
        said = [a for a in actions if a.start < where and _action_scope(a) == scope]
        if said:
            actions.remove(said[-1])
    for i in range(1, len(actions)):  # "DPO on prefs, but SFT on chat first", "DPO; сначала SFT": that one leads
        a = actions[i]
        if (
            a.kind in ("sft", "dpo")
            and (
                first_stage_word(masked, a.start, a.start + len(a.text))
                # "…, сфт сначала": "сначала" splits clauses, so the word after the stage is looked at here
                or re.match(
                    r"\s*(?:сначала|вначале|первым)\s*(?:[,.;!)]|$)",
                    masked[a.start + len(a.text) : a.start + len(a.text) + 16],
                )
                or (
                    re.search(
                        r"(?:(?:^|[,;.]\s*|\s)(?:first|сначала|вначале))[,:]?\s*(?:(?:do|run|сделай|запусти|проведи)\s+)?(?:an?\s+|the\s+)?$",
                        masked[max(0, a.start - 24) : a.start],
                    )
                    and not re.search(
                        r"(?:but|но|а)\s+(?:first|сначала)[,:]?\s*(?:\w+\s+)?$", masked[max(0, a.start - 24) : a.start]
                    )
                )
            )
        ):
            actions.insert(0, actions.pop(i))
    i = 0
    while i < len(actions) - 1:  # "before DPO on prefs, do SFT on chat": the stage after "before" comes later
        a = actions[i]
        if a.kind in ("sft", "dpo") and re.search(
            r"(?:\bbefore|(?<![а-я])перед)\s+(?:an?\s+|the\s+|doing\s+|running\s+)?$",
            masked[max(0, a.start - 20) : a.start],
        ):
            actions[i], actions[i + 1] = actions[i + 1], a
            i += 1
        i += 1
    for i in range(1, len(actions)):  # "DPO on prefs, but before that SFT on chat", "но перед этим SFT": that one first
        a = actions[i]
        if a.kind in ("sft", "dpo") and re.search(
            r"(?:before (?:that|this|it|them)|but first|first,? though|перед (?:этим|ним|ней|тем|ними)|до этого|до него"
            r"|но сначала|а сначала)[\s,:-]*"
            r"(?:(?:do|run|please|сделай|запусти)\s+)?(?:an?\s+|the\s+)?$",
            masked[max(0, a.start - 32) : a.start],
        ):
            if re.search(  # "после дпо смерджи адаптер, но сначала сфт": before everything said, not only the last
                r"(?:but first|first,? though|но сначала|а сначала)[\s,:-]*(?:\w+\s+)?$",
                masked[max(0, a.start - 32) : a.start],
            ):
                actions.insert(0, actions.pop(i))
            else:
                actions[i - 1], actions[i] = a, actions[i - 1]
    for a, b in itertools.pairwise(list(actions)):  # "смерджи нашу модель после SFT с A и B методом ties": the merge's
        if (  # clause, with the SFT said in it as what comes before
            a.kind in ("sft", "dpo")
            and b.kind == "merge_models"
            and re.search(r"(?:\bafter|(?<![а-я])после)\s+(?:an?\s+|the\s+)?$", masked[max(0, a.start - 12) : a.start])
            and re.search(r"#{3,}", mask_paths(_after_own_data(a, text)[1]))
        ):
            own, rest = _after_own_data(a, text)
            head = a.text[: max(0, a.text.find(text[a.start : a.end]))]
            b.text, a.text = head + " " + rest + " " + b.text, own
        elif (  # "dare_ties merge after sft: ours 0.6, B 0.4": the values after the SFT are the merge's
            a.kind == "merge_models"
            and b.kind in ("sft", "dpo")
            and re.search(r"(?:\bafter|(?<![а-я])после)\s+(?:an?\s+|the\s+)?$", masked[max(0, b.start - 12) : b.start])
        ):
            last = b  # "смешай нашу после sft и dpo с B, …": the partner follows the last stage of the "after" list
            for c in actions[actions.index(b) + 1 :]:
                if c.kind not in ("sft", "dpo") or not re.fullmatch(AFTER_LIST_GAP, masked[last.end : c.start]):
                    break
                last = c
            if re.search(r"#{3,}", mask_paths(_after_own_data(last, text)[1])):
                own, rest = _after_own_data(last, text)
                a.text, last.text = a.text + " " + rest, last.text[: max(0, last.text.find(own))] + own
    i = 1
    while i < len(actions):  # "merge with X after an SFT on chat", "DPO после SFT": the SFT comes first
        a, before = actions[i], actions[i - 1]
        if (
            a.kind in ("sft", "dpo")
            and re.search(
                r"(?:\bafter|\bfollowing|(?<![а-я])после)\s+(?:an?\s+|the\s+|my\s+|того,? как\s+)?"
                r"(?:(?:quick|short|brief|small|light|first|initial|q?lora|dora|full|быстр\w*|коротк\w*|небольш\w*|легк\w*)\s+){0,2}$",
                masked[max(0, a.start - 24) : a.start],
            )
            and not re.search(  # "после дпо смерджи адаптер, …": a clause opening with "after X" says what follows X
                r"(?:^|[.;!?]\s*)(?:\bafter|\bfollowing|после)\s+(?:\S+\s+){0,2}$",
                masked[max(0, a.start - 24) : a.start],
            )
        ):
            last = i  # "merge ours with B after sft and dpo": every stage of the "after" list runs before the merge
            while (
                last + 1 < len(actions)
                and actions[last + 1].kind in ("sft", "dpo")
                and re.fullmatch(AFTER_LIST_GAP, masked[actions[last].end : actions[last + 1].start])
            ):
                last += 1
            actions[i - 1 : last + 1] = [*actions[i : last + 1], before]
            i = last + 1
            continue
        i += 1
    results = [r.span() for r in STAGE_RESULT.finditer(masked.lower())]
    for a in [x for x in actions if x.kind in ("sft", "dpo")]:  # "model_stock merge of A and B with our sft result":
        if any(s <= a.start < e for s, e in results):  # the merge takes the SFT's result, so the SFT runs first
            merge = next((x for x in actions if x.kind == "merge_models" and x.start < a.start), None)
            if merge is not None and actions.index(merge) < actions.index(a):
                actions.remove(a)
                actions.insert(actions.index(merge), a)
    for merge in [x for x in actions if x.kind == "merge_models"]:  # "смерджи результат sft с B, sft на a": the SFT
        for r in STAGE_RESULT.finditer(masked.lower(), merge.start, merge.end):  # said after runs before the merge
            for word in (w for w in r.groups() if w):
                scope = {"сфт": "sft", "дпо": "dpo"}.get(word, word)
                later = next(
                    (
                        y
                        for y in actions[actions.index(merge) + 1 :]
                        if _action_scope(y) == scope and y.start >= merge.end
                    ),
                    None,
                )
                if later is not None and not any(_action_scope(y) == scope for y in actions[: actions.index(merge)]):
                    actions.remove(later)
                    actions.insert(actions.index(merge), later)
    for m in re.finditer(  # "DPO on b; перед DPO сделай SFT на a": the stage named after "before X" runs before X
        r"(?:\bbefore|(?<![а-я])перед)\s+(?:the\s+)?(sft|dpo|ipo|orpo|simpo|kto)\b", masked
    ):
        said = next((x for x in actions if x.kind in ("sft", "dpo") and x.start < m.start(1)
                     and masked[x.start : x.end] == m.group(1)), None)  # fmt: skip
        then = next((y for y in actions if y.kind in ("sft", "dpo") and y.start > m.end()), None)
        if said is not None and then is not None and actions.index(then) > actions.index(said):
            actions.remove(then)
            actions.insert(actions.index(said), then)
    for m in RUN_BEFORE.finditer(masked):  # "SFT on a and DPO on b, but run DPO before SFT": the order said now
        first = next((x for x in actions if x.kind in ("sft", "dpo") and masked[x.start : x.end] == m.group(1)), None)
        later = next((y for y in actions if y.kind in ("sft", "dpo") and masked[y.start : y.end] == m.group(2)), None)
        if (
            first is not None
            and later is not None
            and first is not later
            and actions.index(first) > actions.index(later)
        ):
            actions.remove(first)
            actions.insert(actions.index(later), first)
    return actions


TRAINING_SLOTS = {"r", "alpha", "dropout", "epochs", "max_steps", "learning_rate", "batch_size", "max_length"}


def _one_stage_said_twice(actions: list[Action], masked: str, text: str) -> list[Action]:
    """'lora r 16 on both sft and dpo …, sft on a then dpo on b', 'sft lr 2e-5 and dpo lr 5e-7, sft first': a stage
    named again (for its values, its data or its place in the order) is the same stage, unless the goal says it runs
    again; each such repeat had become a second stage with default values (silent)."""
    if any(  # "…, then merge again": the merge is what repeats, not a training stage
        not re.search(
            r"(?:merge|fold|мерж|мердж|м[её]рдж|слей|влей|слить)\w*\s*$", masked[max(0, m.start() - 16) : m.start()]
        )
        for m in AGAIN.finditer(masked)
    ):
        return actions
    kept: list[Action] = []
    for a in actions:
        scope = _action_scope(a) if a.kind in ("sft", "dpo") and not a.from_base else None
        first = next((b for b in kept if scope is not None and b.kind == a.kind and _action_scope(b) == scope), None)
        if (
            first is not None
            and re.search(  # "…, ещё сфт на слоях 2-3", "another SFT on c": a second run, said so
                r"(?:(?<![а-я])ещ[её]|\banother|\bone more|\ba second)\s+(?:(?:одн\w*|один|раз|round of)\s+)?$",
                masked[max(0, a.start - 16) : a.start],
            )
        ):
            kept.append(a)
            continue
        if first is not None and not first.from_base:
            mine, theirs = set(_paths(DATASET, a.text)), set(_paths(DATASET, first.text))
            between = kept[kept.index(first) + 1 :]
            referred = re.search(  # "before DPO, do SFT": the DPO said already, named as a point in time
                r"(?:\bbefore|\buntil|(?<![а-я])(?:перед|до))\s+(?:the\s+|doing\s+|running\s+)?$",
                masked[max(0, a.start - 16) : a.start],
            )
            # "…, then merge again. SFT lr 2e-5, ORPO lr 8e-6": the stage named once more for its values alone
            recap = not mine and re.fullmatch(
                r"\s*[\w-]+\s*:?\s*(?:(?:lr|learning[ _]rate|beta|rank|r|alpha|epochs?|batch(?:[ _]size)?|лр|бета|ранг|альфа"
                r"|эпох\w*|батч)\s*[=:]?\s*[\d.e-]+\s*(?:epochs?|эпох\w*)?[\s,;.]*(?:and\s+|и\s+)?)+",
                a.text,
            )
            if not (mine and theirs and mine != theirs) and (
                referred
                or recap
                or not any(b.kind in ("merge_adapter", "merge_models", "disk_adapter") for b in between)
            ):
                first.text += " " + a.text  # "…; before DPO, do SFT": find_actions then puts the SFT first
                continue
        kept.append(a)
    return kept


def _data_said_before(actions: list[Action], masked: str, text: str) -> list[Action]:
    """'i have chats in a.jsonl and preference pairs in b.jsonl. sft first, then dpo with beta 0.2': the pairs
    describe the data the DPO named later trains on, not a DPO stage of their own (it made two DPO stages)."""
    named = [a for a in actions if a.kind == "dpo" and not PAIRS_DATA.fullmatch(masked[a.start : a.end])]
    described = [a for a in actions if a.kind == "dpo" and PAIRS_DATA.fullmatch(masked[a.start : a.end])]
    if len(named) != 1 or not described:
        return actions
    for action in described:
        pairs = [p for p in _paths(DATASET, action.text) if p.lower() in text[action.start : action.end + 40].lower()]
        if pairs and not _paths(DATASET, named[0].text):
            named[0].text += " on " + pairs[0]  # "preference pairs at b.jsonl": the file the named DPO trains on
    return [a for a in actions if a not in described]


def _action_scope(action: Action) -> str | None:
    if action.kind == "sft":
        return "sft"
    if action.kind == "dpo":
        method = parse_preference_method(action.text[:40])
        return "dpo" if method in (None, "ipo") else method
    return None


def _training_before_fold(actions: list[Action], text: str) -> list[Action]:
    """'lora_r 64, 1 epoch on chat.jsonl, merge the adapter when done': training values and a dataset said with
    no training verb, then a fold, are an SFT stage and the fold of its adapter (not an adapter named chat.jsonl)."""
    if not actions or actions[0].kind not in ("disk_adapter", "merge_adapter"):
        return actions
    first = actions[0]
    verb = text[first.start : first.end]
    k = first.text.find(verb)
    prefix = first.text[:k] if k > 0 else ""
    said = {f.slot for f in number_facts(prefix)}
    if not prefix.strip() or not (said & TRAINING_SLOTS or DATASET.search(prefix)):
        return actions
    sft = Action("sft", first.start, first.start, prefix)
    first.text = first.text[k:]
    return [sft, *actions]


VERB_OF = re.compile(
    r"\s*(?:(?:it|them|the model|this model|модель|ее|его)\s+)?(?:(?:to|with|using|via|by|through|через|с помощью|методом|с|на)\s+)?"
    r"(?:(?:a|an|the)\s+)?"
)


def _verb_of(sft: Action, dpo: Action, masked: str) -> bool:
    """A training word that only says how the preference stage runs ("train with DPO"), not an SFT stage of its
    own ("SFT on a.jsonl and DPO on b.jsonl" keeps both)."""
    if dpo.start >= sft.end:
        between = masked[sft.end : dpo.start]
        if PAIRS_DATA.fullmatch(masked[dpo.start : dpo.end]) and re.fullmatch(
            r"\s+(?:(?:it|the model)\s+)?on\s+(?:the\s+|my\s+|our\s+|some\s+|these\s+)?", between
        ):
            return True  # "train on the preference pairs": the pairs are how it trains
        return bool(VERB_OF.fullmatch(between)) or bool(  # "обучи на thumbs.jsonl методом KTO": how it trains
            re.fullmatch(
                r"\s+(?:(?:it|the model|модель)\s+)?(?:(?:only|just|только|лишь)\s+)?(?:on|на)\s+#+\s*,?\s*"
                r"(?:with|using|via|методом|с помощью|через)"
                r"\s+(?:the\s+)?",
                between,
            )
        )
    if dpo.end <= sft.start and re.fullmatch(r"trained|training|обучен\w*|обучени\w*", masked[sft.start : sft.end]):
        # "DPO on prefs.jsonl: trained with lr 5e-7, 3 epochs": a participle after the stage describes it
        return not ORDER_SPLIT.search(masked[dpo.end : sft.start]) and not DATASET.search(
            masked[sft.end : sft.end + 40]
        )
    return dpo.end <= sft.start and bool(re.fullmatch(r"[\s-]*", masked[dpo.end : sft.start]))


def _qualifier_clause(sep: str, first: Action, previous: Action) -> bool:
    """A clause cut off by punctuation (not an order word) that repeats the previous stage's kind without a
    dataset of its own qualifies that stage; "SFT on a.jsonl; SFT on b.jsonl" stays two rounds."""
    if (
        sep.strip() not in (";", ".", "!", "?", "…", ":", "→", "->", "=>")
        or first.kind != previous.kind
        or first.kind not in ("sft", "dpo")
    ):
        return False
    mine, theirs = set(_paths(DATASET, first.text)), set(_paths(DATASET, previous.text))
    return not mine or not theirs or mine <= theirs  # "Let's do SFT. … Train 2 epochs on chat.jsonl." is one stage


VARIANT_CUE = re.compile(
    r"(?:second|another|other|variant|separate\w*|blend in|mix in|втор\w*|друг\w*|ещ[её] одн\w*|отдельн\w*)"
    r"[\s,]*(?:[\w-]+\s+){0,2}$"
)
# "DPO on prefs.jsonl from the base": a run that does not continue the main line (a branch, when a merge follows)
FROM_BASE = re.compile(
    r"\b(?:starting\s+)?from\s+(?:the\s+)?(?:base|original|starting)\b|(?<![а-я])(?:от|из)\s+(?:базов|исходн|оригинал)\w*"
    r"|(?<![а-я])(?:отдельно\s+)?(?:от|из)\s+баз[ыеу](?![а-я])"
    r"|(?<![а-я])(?:начиная\s+)?с\s+(?:базов|исходн|оригинальн)\w+\s+модели(?![а-я])"
)


NEGATED_STAGE = re.compile(NEGATED + "$")  # one list of negations for the planner and the fact check


def _tidy(found: list[Action], masked: str) -> list[Action]:
    """Drop words that only qualify a neighbouring action ("train with DPO", "DPO with LoRA")."""
    kinds = {a.kind for a in found}
    kept: list[Action] = []
    for action in found:
        if _qualifies_adapters(action, found, masked):
            continue
        if action.kind in ("sft", "dpo", "merge_models", "merge_adapter") and (
            NEGATED_STAGE.search(masked[max(0, action.start - 32) : action.start])
            or NEGATED_AFTER.match(masked, action.end)  # "SFT не нужен, сразу KTO"
        ):
            continue
        if action.kind == "method_only":
            if kinds & {"sft", "dpo"} or re.search(
                r"(?:\b(?:from|for|to|in|of|on)\s+(?:the\s+|all\s+|every\s+|each\s+)?|(?<![а-я])(?:из|для|у|от)\s+)$",
                masked[max(0, action.start - 24) : action.start],
            ):
                continue  # "exclude layer 0 from lora": the adapters the goal already trains, not a new stage
            action.kind = "sft"
        if action.kind == "sft" and any(o.kind == "dpo" and _verb_of(action, o, masked) for o in found):
            continue  # "train it to prefer …", "fine-tune with DPO", "DPO training": one DPO stage
        if (
            action.kind == "sft"
            and "dpo" in kinds
            and any(
                m.start() <= action.start < m.end()
                and (
                    not re.match(r"[\w-]*\s+(?:on|with|using|на|по)\s+#", masked[action.end :])
                    or any(
                        o.kind == "dpo" and 0 <= m.start() - o.end <= 3 for o in found
                    )  # "KTO полным файнтюном на x"
                )
                for m in ADAPTER_NONE.finditer(masked)
            )
        ):
            continue  # "DPO on prefs.jsonl, full fine-tuning instead of LoRA": how the DPO stage trains
        if action.kind == "write" and "write" in {k.kind for k in kept}:
            continue
        if (
            action.kind == "merge_adapter"
            and kept
            and kept[-1].kind == "merge_models"
            and not masked[kept[-1].end : action.start].strip()
            and masked[action.start : action.end] == "merge"
        ):
            continue  # "task arithmetic merge, base A, add B at 1.0": the method's own noun, not a fold
        if action.kind in ("sft", "dpo") and re.search(VARIANT_CUE, masked[max(0, action.start - 40) : action.start]):
            # "blend in a second fine-tune on other.jsonl", "and separately ORPO on prefs.jsonl": a partner for a merge
            action.kind = "variant" if action.kind == "sft" else "variant_dpo"
        if kept and kept[-1].kind == action.kind and action.kind in ("sft", "dpo", "merge_models", "merge_adapter"):
            continue  # "fine-tune … train" or "merge it with … using TIES" in one clause is one stage
        kept.append(action)
    return kept


def parse_layers(text: str, ctx: Context) -> list[int] | None:
    """The layer selection in a stage's words, read by agent/goal_layers.py (the one place layer phrases live)."""
    selection = parse_layer_selection(text, ctx.num_layers, ctx.request.model)
    if selection is None:
        return None
    if selection.note and selection.note not in ctx.notes:
        ctx.notes.append(selection.note)
    return selection.layers


def parse_targets(text: str, ctx: Context) -> list[str]:
    """Module names this checkpoint uses, from role words or explicit names; [] means all linear layers."""
    available = ctx.all_modules
    if not available and re.search(
        r"attention|attn|mlp|feed[- ]?forward|ffn|quer|projection|внимани|полносвязн|запрос", text
    ):
        raise NeedsAnswer(
            f"{ctx.request.model} is a pickle checkpoint, so its module names are known only after conversion: "
            f"run `graft convert {ctx.request.model} OUT` and plan on OUT, or train all linear layers?"
        )
    from agent.goal_facts import FROZEN_AFTER, left_out

    named, excluded = [], []
    for match in EXPLICIT_MODULE.finditer(text):
        name = module_name(match.group(0))  # agent/goal_facts.py
        if name == "output_proj" and name not in available and "o_proj" in available and "lora_attn_modules" in text:
            name = "o_proj"  # torchtune's name for the attention output projection
        if name not in available:
            raise GraftError(
                f"{name} is not a module of {ctx.arch}; its trainable modules are {', '.join(sorted(available))}."
            )
        listed_after = excluded and re.fullmatch(r"\s*(?:,|and|и|or|или|&|/)\s*", text[excluded[-1][1] : match.start()])
        if (
            left_out(text, match.start()) or listed_after or FROZEN_AFTER.match(text, match.end())
        ):  # "but not down_proj"
            excluded.append((name, match.end()))
        else:
            named.append(name)
    for start, end, found in letter_modules(text):  # "all the projections except the k projection"
        out = left_out(text, start) or FROZEN_AFTER.match(text, end)
        for role in found:
            hit = next((m for m in ROLE_MODULES[role] if m in available), None)
            if hit and out:
                excluded.append((hit, end))
            elif hit and (named or excluded):  # "not on k_proj: q, v, o only": the list said after the exclusion
                named.append(hit)  # "down_proj and the up and q projections": one list with the names said
    if excluded and not named:
        # "attention projections but not o_proj", "только внимание, без o_proj": the named role less those
        role_attention = re.search(r"\battention\b|\battn\b|self-attention|внимани\w*", text)
        role_mlp = re.search(r"\bmlps?\b|feed[- ]?forward|\bffns?\b|полносвязн\w*|\bмлп\b", text)
        pool: set[str] = set()
        for role, found in (("attention", role_attention), ("mlp", role_mlp)):
            if (
                found
                and not left_out(text, found.start())
                and not FROZEN_AFTER.match(text, found.end())
                and not EXPLICIT_MODULE.match(text, found.end() + 1)
            ):
                pool |= set(ctx.modules.get(role, []))
        keep = sorted((pool or set(available)) - {name for name, _ in excluded})
        if not keep:
            raise NeedsAnswer("Every module was left out; which modules should train?")
        return keep
    if named and re.search(r"apply_lora_to_mlp[\"']?\s*(?:[:=]\s*|\s+)[\"']?(?:true|yes|1)\b", text):
        named += ctx.modules.get("mlp", [])  # torchtune: the MLP projections too
    if named:
        return sorted(set(named))
    targets: set[str] = set()
    attention = re.search(r"\battention\b|\battn\b|self-attention|внимани\w*", text)
    mlp = re.search(r"\bmlps?\b|feed[- ]?forward|\bffns?\b|полносвязн\w*|\bмлп\b", text)
    from agent.goal_facts import left_out

    skip_attention = bool(attention) and (
        left_out(text, attention.start()) or FROZEN_AFTER.match(text, attention.end())
    )
    skip_mlp = bool(mlp) and (left_out(text, mlp.start()) or FROZEN_AFTER.match(text, mlp.end()))
    roles = [role for role, words in (
        ("query", r"\bquer(?:y|ies)\b|(?<![а-я])запрос\w*"),
        ("key", r"\bkeys?\b|(?<![а-я])ключ\w*"),  # not "включительно"
        ("value", r"\bvalues?\b|(?<![а-я])значени\w*"),
        ("output", r"\boutput projection\b|выходн\w+ проекц\w*"),
    ) if re.search(words, text)]  # fmt: skip
    roles += [
        role
        for start, end, found in letter_modules(text)
        if not (left_out(text, start) or FROZEN_AFTER.match(text, end))
        for role in found
        if role not in roles
    ]
    role_words = r"(?:quer(?:y|ies)|keys?|values?|outputs?|запрос\w*|ключ\w*|значени\w*)"
    listed = re.search(  # "LoRA on query and value", "только на запросы и значения"
        rf"\b(?:on|to|targets?|targeting|adapt\w*|only|на|только)\s+(?:the\s+)?{role_words}(?:\s*(?:,|and|&|/|и)\s*{role_words})+",
        text,
    )
    named_roles = roles and (attention or re.search(r"proj|проекц", text) or letter_modules(text) or listed)
    if (skip_attention or skip_mlp) and not named_roles:  # "all modules except the MLP": the other role only
        # ("attention only (q and v), leave the MLP alone" names q and v: those, not all of the attention)
        keep = [] if skip_attention else ctx.modules.get("attention", [])
        keep = [*keep, *([] if skip_mlp else ctx.modules.get("mlp", []))]
        if not keep:
            raise NeedsAnswer("You left out both the attention and the MLP modules; which modules should train?")
        return sorted(set(keep))
    if re.search(
        r"\ball linear (?:layers|modules)\b|\ball (?:modules|projections|weights)\b|всех? (?:линейн\w+ )?модул"
        r"|всех? линейн\w+ сло",
        text,
    ) or (re.search(r"\ball (?:the\s+)?layers\b|всех? сло", text) and not (attention or mlp or letter_modules(text))):
        return []  # "all layers, only mlp": the layers are all, the modules the MLP ("все слои, модули q и v": q, v)
    if named_roles:
        for role in roles:
            hit = next((m for m in ROLE_MODULES[role] if m in available), None)
            fused = next((m for m in FUSED_ATTENTION if m in available), None)
            if not hit and role in ("gate", "up", "down"):
                raise NeedsAnswer(
                    f"{ctx.arch} has no separate {role} projection; which of its modules should train "
                    f"({', '.join(sorted(available))})?"
                )
            if hit:
                targets.add(hit)
            elif fused:
                targets.add(fused)
                ctx.notes.append(
                    f"{ctx.arch} fuses query, key and value in {fused}; the adapter targets all of {fused}."
                )
        return sorted(targets)
    if attention:
        targets.update(ctx.modules.get("attention", []))
    if mlp:
        targets.update(ctx.modules.get("mlp", []))
    return sorted(targets)


def parse_method(text: str) -> str | None:
    if trl_full_finetune(text):
        return "none"  # "trl sft --model_name_or_path … --learning_rate 2e-5" with no --use_peft: a full fine-tune
    none = ADAPTER_NONE.search(text)
    if none and (
        re.search(r"dora\W{0,3}$|dora\W+(?:a\s+|а\s+)?$", text[max(0, none.start() - 12) : none.start()])
        or DORA_AFTER_NOT.match(text, none.end())
    ):
        return "dora"  # "DoRA instead of LoRA", "DoRA, а не LoRA", "не LoRA, а DoRA"
    if none:  # "full-parameter, not LoRA", "без LoRA"
        return "none"
    if re.search(
        r"\bfull(?:[- ]parameter)?\s+(?:fine[- ]?tun\w*|training|sft)|\bfull ft\b|all parameters|полн\w+\s+(?:дообуч|обуч|fine|файнтюн)|все параметры",
        text,
    ):
        return "none"
    dora = re.search(
        r"\bdora\b|(?<![a-z])use_dora\b(?!['\"]?\s*[:=]\s*false)|дор[аоуы]", text
    )  # Axolotl: peft_use_dora
    doras = list(re.finditer(r"\bdora\b|дор[аоуы]", text))
    if (
        dora
        and any(negated(text, m.start()) for m in doras[1:])
        and MARKERS.search(text[dora.end() : doras[-1].start()])
    ):
        return "lora"  # "SFT с DoRA? нет, без DoRA, обычная LoRA": DoRA said, then taken back
    if dora and negated(text, dora.start()):
        return "lora"  # "DPO without DoRA", "без DoRA на DPO": a plain LoRA, never the DoRA of the stage before
    if dora:
        later = MARKERS.search(text, dora.end())
        if later and re.match(
            r"[\s,]*(?:(?:plain|just|regular|normal|simple|обычн\w*|прост\w*)\s+)?(?:lora|лор[аоуы]\w*)",
            text[later.end() :],
        ):
            return "lora"  # "DoRA r 16 — no wait, plain LoRA"
        return "dora"
    if re.search(r"\bq?lora\b|лор[аоуы]", text):
        return "lora"
    return None


# "org/name" with no file suffix and nothing before it: read as a Hugging Face Hub id when it is not a local path
HUB_LIKE = re.compile(r"[A-Za-z0-9][\w-]*/[\w.-]*[A-Za-z0-9]")


def missing(path: str, named: str) -> str:
    """Why a path the goal names cannot be used; a Hub-id shape says that Graft downloads nothing, since a person
    who wrote 'meta-llama/Llama-3.2-1B' needs that, not 'does not exist'."""
    message = f"{path} does not exist ({named})."
    if HUB_LIKE.fullmatch(path) and not Path(path).suffix.lstrip(".").isalpha():
        message += (
            f" If {path} is a Hugging Face Hub id: Graft downloads nothing; download it yourself and name its local "
            "folder."
        )
    return message


def _is_weights(path: Path) -> bool:
    """A checkpoint or an adapter (tools/checkpoint.py decides which files are one), or a folder with a model or
    adapter config: never taken for where the result goes."""
    from tools.checkpoint import resolve_checkpoint

    if path.is_dir() and any((path / name).is_file() for name in ("config.json", "adapter_config.json")):
        return True
    try:
        resolve_checkpoint(path)
    except GraftError:
        return False
    return True


def _is_opened(path: str, ctx: Context) -> bool:
    """Whether a path the goal names is the model already open."""
    return Path(path).expanduser().resolve() == Path(ctx.request.model).expanduser().resolve()


# "two separate LoRAs from the base", "Два независимых прогона от базы", "отдельно DPO": runs that each start from the
# base, to be merged after
SEPARATE_RUNS = re.compile(
    r"\bseparate(?:ly)?\b|\bindependent(?:ly)?\b|\bin parallel\b|\bboth\s+(?:starting\s+)?from\s+(?:the\s+)?base\b"
    r"|(?<![а-я])(?:отдельн\w*|независим\w*|параллельн\w*)"
)


# "both adapters", "оба адаптера": the two runs' adapters combined after separate runs
BOTH_ADAPTERS = re.compile(
    r"\b(?:both|the\s+two|these\s+two)\s+(?:adapters|loras|doras)\b|(?<![а-я])(?:оба|обе|эти\s+два|два)\s+(?:адаптер|лор|дор)\w*"
)


def _branches(actions: list[Action], goal: str) -> list[Action]:
    """Training runs said to be separate, each from the base, with one merge after them all: every run after the
    first is a branch from the base that the merge takes as its partner."""
    masked = mask_paths(goal)
    training = [a for a in actions if a.kind in ("sft", "dpo", "variant", "variant_dpo")]
    merges = [a for a in actions if a.kind == "merge_models"]
    if (
        len(training) == 3
        and not _paths(DATASET, training[0].text)
        and all(_paths(DATASET, a.text) for a in training[1:])
        and (
            re.search(r"\b(?:two|2|both)\b|(?<![а-я])(?:две|два|оба|обе)(?![а-я])", training[0].text)
            or re.fullmatch(
                r"\s*(?:train|fine-?tune|обучи|дообучи|сделай)\w*\s+(?:separately|отдельно|independently|независимо)\s*",
                training[0].text,
            )
        )
    ):  # "two separate finetunes from the base: one SFT on a, one ORPO on b": the count, then the two runs
        training[1].text = training[0].text + training[1].text
        actions = [a for a in actions if a is not training[0]]
        training = training[1:]
    folds = [a for a in actions if a.kind in ("merge_adapter", "disk_adapter") and BOTH_ADAPTERS.search(a.text)]
    if (
        len(training) == 2
        and not merges
        and folds
        and folds[0].start > training[-1].start
        and SEPARATE_RUNS.search(masked)
    ):
        # "two separate runs …, then merge both adapters equally": each run's delta over the base, averaged; a
        # linear merge of the two fine-tuned models is that sum (W + w1·ΔA + w2·ΔB) exactly
        peft_only = re.search(r"\bsvd\b|\w*_svd\b|magnitude_prune\w*", folds[0].text)
        if peft_only:
            raise NeedsAnswer(
                f"You asked for the two separate runs' adapters to be combined with '{peft_only.group(0)}', a lossy "
                "low-rank PEFT combination Graft does not run on adapters trained in the same plan; merge the two "
                "fine-tuned models instead (linear, TIES, task arithmetic), or keep one adapter?"
            )
        folds[0].kind = "merge_models"
        named = re.search(MERGE_METHOD_WORDS, folds[0].text)
        if re.search(r"\bcat\b|concat\w*", folds[0].text):
            # "merge both adapters with cat": concatenating the two LoRAs adds their deltas, W + ΔA + ΔB, which is
            # mergekit's task arithmetic of the two fine-tunes over the base at weight 1 each, exactly
            folds[0].text += " task_arithmetic, weights 1 and 1"
            folds[0].notes.append(
                "'cat' of the two runs' adapters is W + ΔA + ΔB: planned as mergekit's task_arithmetic of the two "
                "fine-tunes over the base, weight 1 each (the same weights)."
            )
        elif named and not re.match(r"linear|линейн", named.group(0)):
            # "merge both adapters with TIES": mergekit's TIES of the two fine-tunes over the base, each run's
            # whole delta its task vector (PEFT's ties would prune the LoRA factors A and B apart instead)
            folds[0].notes.append(
                f"the two runs are merged by mergekit's {named.group(0)} over the base: each run's merged delta "
                "is its task vector (not PEFT's add_weighted_adapter on the LoRA factors)."
            )
        elif not named:
            folds[0].text += " linear"
        merges = [folds[0]]
    if len(training) != 2 or len(merges) != 1 or merges[0].start < training[-1].start:
        return actions
    if any((Path(p).expanduser() / "config.json").exists() for p in _paths(PATHLIKE, merges[0].text)):
        return actions  # the merge names a model of its own
    between = actions[actions.index(training[0]) + 1 : actions.index(training[1])]
    said = SEPARATE_RUNS.search(masked) or FROM_BASE.search(masked[: training[-1].start])
    if not said or said.start() > training[-1].end or any(a.kind == "merge_adapter" for a in between):
        return actions
    first, second = training
    first.kind = {"variant": "sft", "variant_dpo": "dpo"}.get(first.kind, first.kind)
    second.kind = {"sft": "variant", "dpo": "variant_dpo"}.get(second.kind, second.kind)
    second.from_base = True
    return actions


def _config_then_data(actions: list[Action]) -> list[Action]:
    """'CPOConfig(loss_type="simpo", …), train on prefs.jsonl': a preference config with no data, then a bare
    training verb with the data, is one preference stage (not a preference stage and an SFT)."""
    kept: list[Action] = []
    for a in actions:
        prev = kept[-1] if kept else None
        if (
            prev is not None
            and a.kind == "sft"
            and prev.kind == "dpo"
            and not _paths(DATASET, prev.text)
            and _paths(DATASET, a.text)
            and re.match(
                r"\s*(?:and\s+|и\s+)?(?:train|fine-?tune|обучи|дообучи)\w*\s+(?:it\s+|её\s+|ее\s+)?(?:on|на)\s", a.text
            )
        ):
            prev.text += a.text
            continue
        kept.append(a)
    return kept


ONE_FILE = re.compile(
    r"\b(?:one|a single|single)\s+(?:final\s+)?(?:\.?safetensors\s+)?file\b|\bun-?sharded\b|\bno\s+shard\w*"
    r"|\b(?:not|don'?t|do\s+not|never|without)\s+(?:be\s+)?(?:shard\w*|split\w*(?:\s+(?:it|into\s+shards))?)\b"
    r"|(?<![а-я])не\s+(?:шард\w*|дели|разбивай|режь)"
    r"|(?<![а-я])(?:одн(?:им|ом)|единым|цельным)\s+файл\w*|в\s+один\s+файл|без\s+шард\w*"
    r"|(?<![а-я])(?:один|одним|в\s+один)\s+safetensors?\b|\b(?:one|a single)\s+safetensors?\b(?!\s+file)"
)


def _one_file(goal: str, ctx: Context) -> None:
    """'одним файлом', 'one safetensors file': the write is unsharded. Under the 5GB default the model already is
    one file (said in a note); above it the shard size is set past the model's size (it was kept at 5GB: silent)."""
    write = ctx.stages[-1] if ctx.stages and ctx.stages[-1]["kind"] == "write" else None
    if write is None or not ONE_FILE.search(goal) or write.get("max_shard_size"):
        return
    base = Path(ctx.request.model).expanduser()
    files = [base] if base.is_file() else [*base.glob("*.safetensors"), *base.glob("*.bin")]
    size = sum(f.stat().st_size for f in files if f.is_file()) * (2 if write.get("dtype") == "float32" else 1)
    if size > 5e9:
        write["max_shard_size"] = f"{math.ceil(size / 1e9) + 1}GB"
        ctx.notes.append(f"one file: the shard size is set to {write['max_shard_size']}, above the model's size.")
    else:
        ctx.notes.append(f"one file: the model is {size / 1e6:.0f} MB, under the 5GB shard size, so it is one file.")


def _bare(action: Action) -> bool:
    """A training action that is only its method's name ('sft', ' dpo, '): no data, no value, no selection."""
    words = re.sub(
        r"\b(?:sft|dpo|ipo|orpo|kto|simpo|then|and|first|потом|затем|и|сначала)\b|[\s,;.:→>-]", "", action.text
    )
    return action.kind in ("sft", "dpo") and not words


def _without_overview(actions: list[Action], ctx: Context) -> list[Action]:
    """'sft then dpo, sft lr 1e-4 r 8; dpo lr 5e-6 beta .3': the list said first and then each stage with its
    settings is one pipeline, not four stages. A bare run is dropped only where the same kinds follow in order."""
    for start in range(len(actions)):
        run = list(itertools.takewhile(_bare, actions[start:]))
        if len(run) < 2:
            continue
        after = [a for a in actions[start + len(run) :] if a.kind in ("sft", "dpo")][: len(run)]
        if [a.kind for a in after] == [a.kind for a in run] and not any(_bare(a) for a in after):
            ctx.notes.append(
                f"'{' '.join(a.text.strip(' ,;.') for a in run)}' is read as the list of the stages said after it, "
                "each with its settings."
            )
            return actions[:start] + actions[start + len(run) :]
    return actions


OUTPUT_NAMED = re.compile(  # a name for the result, not a path: "the output should be called X", "назови модель X"
    r"(?:\b(?:output|result|model|folder|checkpoint|it)\s+(?:should\s+be\s+|will\s+be\s+|is\s+)?(?:called|named)"
    r"|\bname\s+(?:it|the\s+(?:output|result|model|folder))|(?<![а-яА-Я])(?:назови|назовите|назвать)"
    r"(?:\s+(?:его|её|ее|результат|модель|папку))?|под\s+(?:названием|именем)|с\s+именем"
    # "Output to bot-model-v0.3 (relative folder)": a bare folder name with a version in it, after an output verb
    r"|\b(?:output|save|write|export)\w*\s+(?:it\s+|the\s+(?:model|result)\s+)?(?:to|into|as|in|dir|folder|:|->|→)"
    r"(?=\s+[\"'«`]?[a-z][\w]*(?:[-_.][\w]+)*[-_.]v?\d[\w.-]*(?![\w/])))\s+[\"'«`]?"
    r"(?P<name>[\w][\w.+-]*[\w])[\"'»`]?",
    re.IGNORECASE,
)


def _unclaimed_output(goal: str, ctx: Context) -> str | None:
    """The one folder the goal names that the plan does not read and that holds no model, adapter or data: where
    the person wants the result ("…, в out/x", "final goes to out/x"). Two such folders are not guessed between."""
    used = {ctx.request.model, *ctx.request.data}
    for stage in ctx.stages:
        for key in ("dataset", "source", "base", "input"):
            if isinstance(stage.get(key), str):
                used.add(stage[key])
        used.update(m for m in stage.get("models", []) or [] if isinstance(m, str))
        used.update(a for a in stage.get("adapters", []) or [] if isinstance(a, str))
    used_resolved = {Path(u).expanduser().resolve() for u in used if not u.startswith("@")}
    found: list[str] = []
    for path in _paths(PATHLIKE, goal):
        if path in ("w/", "w/o", "b/c", "n/a") or DATASET.fullmatch(path):
            continue
        at = goal.find(path)
        if goal.rfind("(", 0, at) > goal.rfind(")", 0, at) and not re.search(r"[\"']$", goal[:at]):
            continue  # "70/30 (tuned/base)": words in brackets beside a ratio ('save_pretrained_merged("out/x")' is quoted)
        at = goal.find(path)
        if re.search(
            r"hub|hugging\s*face|\bhf\b|repo|upload|push|хаб|залей|выложи", goal[max(0, at - 40) : max(at, 0)]
        ):
            continue  # "push it to the hub as me/model": a hub name, which Graft never writes to
        if re.search(r"(?:--config|\bconfig|\brecipe|конфиг\w*|рецепт\w*)[\s=:]*$", goal[max(0, at - 20) : max(at, 0)]):
            continue  # "tune run … --config llama3_2/1B_lora": a recipe's name, not where the model goes
        if Path(path).suffix and not re.fullmatch(r"\.\d+", Path(path).suffix):
            continue  # "corpus.txt", "config.yaml": a file, not the folder a model is written to
        if not looks_like_path(goal, at, path):
            continue  # "kto на лайках/дизлайках", "thumbs-up/down data": two words with a slash, said as no place
        path = _verbatim(path, ctx)
        where = Path(path).expanduser()
        if where.resolve() in used_resolved or _is_weights(where) or (where.exists() and not where.is_dir()):
            continue
        if (
            where.is_dir()
            and any(where.iterdir())
            and not re.search(r"out|output|result|выход|save|export", path.lower())
        ):
            continue  # a folder with other things in it is not taken for an output without saying so
        found.append(path)
    found = list(dict.fromkeys(found))
    return found[0] if len(found) == 1 else None


def _verbatim(path: str, ctx: Context) -> str:
    """A path as the person spelt it (the goal is read in lower case; `Out/MyModel` stays `Out/MyModel`)."""
    m = re.search(re.escape(path), ctx.request.goal, re.IGNORECASE)
    return m.group(0) if m else path


def _float(pattern: str, text: str) -> float | None:
    m = re.search(pattern, text)
    return float(m.group(1)) if m else None


NUM = r"(\d+(?:\.\d+)?(?:e-?\d+)?)"


def parse_hyper(text: str, kind: str) -> dict[str, Any]:
    """Hyper-parameters a stage's words set: the numeric slots from agent/goal_facts.py, the method's own here."""
    found: dict[str, Any] = {}
    said = resolve(number_facts(text), text)  # agent/goal_facts.py: words, PEFT names, later-wins on a correction
    for fact in said:
        if (fact.slot in PREFERENCE_ONLY and kind != "dpo") or fact.slot not in SLOT_NAMES:
            continue  # (an effective batch is checked, not set: the stage holds batch and accumulation)
        found[fact.slot] = fact.value
    effective = next((f.value for f in said if f.slot == "effective_batch"), None)
    if effective and "batch_size" in found and "gradient_accumulation" not in found:
        # "effective batch 32 (per-device 4)": 8 accumulation steps; "global batch 64 on 8 GPUs, 2 per device": 4
        steps = effective / found["batch_size"] / int(found.get("gpus", 1) or 1)
        if float(steps).is_integer() and steps >= 1:
            found["gradient_accumulation"] = int(steps)
    schedule = SCHEDULER.search(text)
    if schedule:
        found["lr_scheduler_type"] = scheduler_name(schedule)
    for switch in switch_facts(mask(text)):  # "with packing", "no packing", "gradient_checkpointing: true"
        if switch.slot != "packing" or kind == "sft":
            found[switch.slot] = switch.value
    if kind == "dpo":
        method = parse_preference_method(text)
        if method == "dpo":
            from tools.training import DPO_LOSSES

            listed = dpo_loss_list(mask_paths(text))
            if listed:  # "loss types sigmoid and sft, weights 1.0 and 1.0": TRL's weighted list of losses
                found["loss_type"] = listed
                weights = re.search(
                    r"(?:weights?|weighted(?:\s+(?:at|by|as))?|с\s+весами|веса|весами|в\s+весах)\s*(?:of|=|:)?\s*\[?\s*"
                    r"(\d*\.?\d+(?:(?:\s*(?:,|and|и|/)\s*|\s+)\d*\.?\d+)+)",  # "--loss_weights 0.8 0.2"
                    mask_paths(text),
                )
                values = [float(v) for v in re.findall(r"\d*\.?\d+", weights.group(1))] if weights else []
                if len(values) != len(listed):  # "loss weights sigmoid 0.8 and sft 0.2": each with its own
                    values = loss_weights_by_name(mask_paths(text), listed) or []
                if len(values) == len(listed):
                    found["loss_weights"] = values
            for loss in sorted((x for x in DPO_LOSSES if x != "sft"), key=len, reverse=True):
                if listed:
                    break
                said = [
                    m for m in re.finditer(rf"\b{loss.replace('_', '[_ -]?')}\b", text) if not negated(text, m.start())
                ]
                if said:  # "DPO, not IPO": the sigmoid default, not the loss named after "not"
                    found["loss_type"] = loss
                    break
        elif method == "simpo":
            gamma = _float(rf"(?:gamma|γ|гамм\w*|simpo_gamma)\s*(?:=|:|of|is)?\s*{NUM}", text)
            if gamma is not None:
                found["simpo_gamma"] = gamma
            cpo = _float(rf"cpo[_ ]alpha\s*(?:=|:|of|is)?\s*{NUM}", text)
            if cpo is not None:
                found["cpo_alpha"] = cpo
        elif method == "kto":
            for side in ("undesirable", "desirable"):
                weight = _float(rf"(?<!un){side}(?:[_ ]weight)?\s*(?:=|:|of|is)?\s*{NUM}", text)  # "undesirable 1.5"
                if weight is not None:
                    found[f"{side}_weight"] = weight
    return found


PREFERENCE_METHODS = (  # the word → the preference stage's method; DPO's loss types stay DPO
    (
        "kto",
        r"\bkto\b|(?<![a-z])kto(?:config|trainer)?(?![a-z])|thumbs?[- ]?(?:up|down)|unpaired|лайк\w*|дизлайк\w*|пал\w* (?:вверх|вниз)",
    ),
    ("orpo", r"(?<![a-z])orpo(?:config|trainer)?(?![a-z])|орпо"),
    ("simpo", r"(?<![a-z])simpo(?![a-z])|симпо"),
    (
        "dpo",
        r"(?<![a-z])(?:dpo|ipo)(?:config|trainer)?(?![a-z])|\bhinge\b|\bsigmoid\b"
        r"|(?<![\w-])(?:exo_pair|nca_pair|apo_zero|apo_down|bco_pair|sppo_hard|discopop|aot_pair|sigmoid_norm)(?![\w-])",
    ),
)


def parse_preference_method(text: str) -> str | None:
    loss = re.search(r"pref_loss\s*[=:]?\s*(orpo|simpo)\b", text)  # LLaMA-Factory: stage dpo, pref_loss orpo is ORPO
    if loss:
        return loss.group(1)
    return _preference_method_word(text)


def _preference_method_word(text: str) -> str | None:
    """The preference method a text names (ORPO, SimPO, KTO or DPO with its loss types), or None."""
    hits = sorted(
        (m.start(), method)
        for method, pattern in PREFERENCE_METHODS
        for m in re.finditer(pattern, text)
        if not negated(text, m.start())  # "instead of DPO use KTO", "not IPO": not the method asked for
    )
    if len(hits) > 1 and MARKERS.search(text[hits[0][0] : hits[-1][0]]):
        return hits[-1][1]  # "ORPO with beta 0.1 -- hmm, make that SimPO": the corrected method
    return hits[0][1] if hits else None


def _replacement_method(reason: str) -> str | None:
    """'use DPO instead of ORPO' / 'SimPO, not DPO' / 'вместо ORPO сделай DPO' → the method wanted, or None."""
    replaced = r"(?:instead of|rather than|not|вместо|не)\s+(?:the\s+)?\w+"
    kept = re.sub(replaced, " ", reason)
    return parse_preference_method(kept)


PLAIN_RATIO = re.compile(
    r"(?<![\w.])\d*\.?\d+(?:\s*%)?(?:(?:\s*(?:/|and|,|и|:|to|на|к)\s*|\s+(?=0?\.\d))\d*\.?\d+(?:\s*%)?)+"
)


_PRONOUNS = r"it|him|her|them|него|неё|нее|ней|нему"


OF_THE_WAY = re.compile(r"\s+of\s+the\s+way\b")  # "3/4 of the way towards B": SLERP's t, not a ratio


def ratio_owner_unread(text: str) -> str | None:
    """A member named after a plain ratio in words Graft does not read as whose share is bigger ("70/30, heavier on
    the partner side", "70 на 30, больше партнёра"): the weights would go in said order, maybe the wrong way round."""
    if per_model_weights(mask_paths(text)) or ordinal_weights(mask_paths(text)):
        return None
    masked = words_to_digits(mask_paths(text))
    m = PLAIN_RATIO.search(masked)
    if not m or not re.search(r"[/:]|\b(?:to|на|к)\b", m.group(0)) or OF_THE_WAY.match(masked, m.end()):
        return None
    if len(set(weight_values(re.findall(r"(\d*\.?\d+)\s*(%?)", m.group(0))))) < 2:
        return None  # "50/50": no share is bigger
    lean = re.search(  # «с перевесом коллеги 3 к 1», "tilted to my colleague's, 3:1": favoured, but whom?
        r"(?:перевес\w*|уклон\w*|крен\w*|в\s+пользу|favou?r\w*|tilt\w*|lean\w*|skew\w*|bias\w*)\s+"
        r"(?:(?:the|of|to|towards?|в|к|на)\s+)?(?:(?:my|his|her|their|a)\s+)?(?P<w>[^\s,.;!?]+)\s*[,:]?\s*"
        r"(?:(?:at|by|with|as)\s+)?$",
        masked[max(0, m.start() - 50) : m.start()],
    )
    if (
        lean
        and not re.fullmatch(rf"#{{3,}}|{MEMBER_WORD}|{_PRONOUNS}|first|second|перв\w*|втор\w*", lean["w"])
        and not favoured_ratio(mask_paths(text))
    ):
        return lean["w"]
    owners = re.match(r"\s*(?:for|для|to)\s+(?:the\s+)?(#{3,}(?:\s*(?:,|/|and|и)\s*#{3,})+)", masked[m.end() :])
    if owners and len(re.findall(r"#{3,}", owners[1])) == len(re.findall(r"\d*\.?\d+", m.group(0))):
        return None  # "weights 1.0/0.5 for B and C": each weight's owner named in its place
    after = re.sub(r"\([^)]*\)?", " ", masked[m.end() : m.end() + 60])  # "70/30 (ours 70)": read by its own rule
    after = re.split(r"[;.!?]|\b(?:then|after|but|потом|затем|после|но)\b", after)[0]
    said = re.search(MEMBER_WORD, after)
    return said.group(0) if said else None


def parse_weights(text: str) -> list[float]:
    """'0.7 and 0.3', '70/30', '0.5, 0.3 and 0.2', '50%/50%', 'A (weight 0.7) and B (weight 0.3)' → fractions,
    one per model (paths never read)."""
    per_model = per_model_weights(mask_paths(text)) or ordinal_weights(mask_paths(text))
    if per_model:
        return per_model[0]
    if (signed := SIGNED_LIST.search(mask_paths(text))) and "-" in signed.group(1):  # "weights 1 and -1"
        return [float(v.replace(" ", "")) for v in re.findall(r"(?:-\s?)?\d*\.?\d+", signed.group(1))]
    if listed_rest := list_then_rest(mask_paths(text)):  # "weights 0.2, 0.3 and the rest"
        return listed_rest[0]
    if fraction_owned(mask_paths(text)):
        return []  # "B gets 2/3": one member's share (one_named_weight), not a 2:3 ratio
    if (each := each_weight(mask_paths(text))) and "/" in mask_paths(text)[each[1] : each[2]]:
        return []  # "each 1/3": every member's share (each_weight), not a 1:3 ratio
    masked = words_to_digits(mask_paths(text))  # "в пропорции два к одному"
    m = next(  # "0.5 0.25 и 0.25": decimals with only a space between are one list; "density 0.5 and 0.7" are no weights
        (
            m
            for m in PLAIN_RATIO.finditer(masked)
            if not _setting_before(masked, m.start()) and not OF_THE_WAY.match(masked, m.end())
        ),
        None,
    )
    if not m:  # "weights 0.5 0.25 0.25": a list with spaces only after the word
        m = re.search(r"(?<=weights)\s*[:=]?\s*\(?(\d*\.?\d+(?:\s+\d*\.?\d+)+)", masked)
    if not m:  # "linear 60 40", "65-35": numbers with only a space or a dash between, read as shares when they add up
        m = summed_shares(masked)
    if not m:
        return []
    return weight_values(re.findall(r"(\d*\.?\d+)\s*(%?)", m.group(0)))


# "merge B into the base", "влей B в базу": B is the one weighed, the base the one it goes into
INTO_BASE = re.compile(
    r"\b(?:into|to)\s+(?:the\s+|our\s+|my\s+)?(?:base|original|starting)\b"
    r"|(?<![а-я])в\s+(?:базу|базовую|исходную|оригинал)(?![а-я])"
)


def _single_weight(text: str) -> list[float]:
    """'with weight 0.8', 'с весом 0.8': one weight, for the one model merged into the base."""
    said = single_weight(mask_paths(text))  # agent/goal_facts.py reads it as a fact the same way
    return [said[0]] if said else []


def _paths(pattern: re.Pattern[str], text: str) -> list[str]:
    return [m.group(0).rstrip(".,") for m in pattern.finditer(text)]


def classify_dataset(path: str, problems: dict[str, str] | None = None) -> str:
    """'sft', 'dpo' or '?' from a dataset's columns, for assigning datasets to stages; why a file is '?'
    goes into `problems`, so the question that follows can say it instead of asking as if none was given."""
    from tools.datasets_io import load_rows, normalise_rows

    rows = load_rows(path)
    try:
        _, fmt = normalise_rows(rows, path)  # the format `graft data` names (ShareGPT, Alpaca, implicit prompts…)
    except GraftError as exc:
        if problems is not None:
            problems[path] = str(exc)
        return "?"
    if fmt in ("preference", "preference-implicit-prompt"):
        return "dpo"
    return "kto" if fmt == "unpaired-kto" else "sft"


def _dataset_for(kind: str, action: Action, ctx: Context) -> str:
    named = [_verbatim(p, ctx) for p in _paths(DATASET, action.text)]  # as spelt: `Data/Chat.jsonl`
    if len(named) > 1 and all(Path(p).expanduser().exists() for p in named):
        # "SFT и DPO (chat.jsonl, prefs.jsonl)": of the files named together, the one shaped for this stage
        wanted = ("kto", "dpo") if kind == "dpo" and parse_preference_method(action.text) == "kto" else (kind,)
        shaped = [p for p in named if (ctx.datasets.get(str(Path(p).expanduser())) or classify_dataset(p)) in wanted]
        if shaped:
            return str(Path(shaped[0]).expanduser())
    for path in named:
        if not Path(path).expanduser().exists():
            # `sft.jsonl` in the goal with `--data data/sft.jsonl`: the name means the file given
            given = [d for d in ctx.datasets if path_names_same_file(path, d)]
            if len(given) == 1:
                return given[0]
            if len(given) > 1:
                raise NeedsAnswer(f"Which {path} do you mean: {', '.join(given)}?")
            raise GraftError(missing(path, f"named in the goal for the {kind} stage"))
        return str(Path(_verbatim(path, ctx)).expanduser())
    shapes = (kind,)
    if kind == "dpo" and parse_preference_method(action.text) == "kto":
        shapes = ("kto", "dpo")  # thumbs-up/down rows first; TRL's KTOTrainer unpairs pairs itself
    fits = [p for shape in shapes for p, s in ctx.datasets.items() if s == shape and p not in ctx.used_data]
    fits = fits or [p for shape in shapes for p, s in ctx.datasets.items() if s == shape]
    if fits:
        if len([p for p, s in ctx.datasets.items() if s == kind]) > 1:
            ctx.notes.append(
                f"the {kind} stage uses {fits[0]}, the first {kind}-shaped dataset given; name another in the goal to change it."
            )
        return fits[0]
    from tools.datasets_io import ACCEPTED

    unusable = [f" {problem}" for path, problem in ctx.data_problems.items() if ctx.datasets.get(path) == "?"]
    raise NeedsAnswer(
        f"Which dataset should the {kind} stage train on?{''.join(unusable)} Accepted formats: {ACCEPTED} (--data FILE)."
    )


def path_names_same_file(named: str, given: str) -> bool:
    """A path as written in a goal names a `--data` file when it is that file's trailing part (`sft.jsonl`,
    `data/sft.jsonl`) and nothing exists at the written path itself."""
    named_parts, given_parts = Path(named).expanduser().parts, Path(given).parts
    return bool(named_parts) and given_parts[-len(named_parts) :] == named_parts


# "train on both datasets", "используй все данные": every file given is meant to be trained on
ALL_THE_DATA = re.compile(
    r"\b(?:both|all(?:\s+(?:the|my|of\s+the))?|each\s+of\s+the|the\s+two)\s+(?:datasets|data\s*sets|files|data)\b"
    r"|(?<![а-я])(?:оба|обоих|обоими|все|всех|всеми|обa)\s+(?:датасет\w*|набор\w*|файл\w*|данн\w*)"
)
DATA_SHAPES = {"sft": "chat rows, for SFT", "dpo": "preference pairs", "kto": "thumbs-up/down rows, for KTO"}


class NeedsAnswer(Exception):
    """Something essential is missing: the message is the question for the person."""


def _stage_scope_name(stage: dict[str, Any]) -> str:
    """The fact scope of a stage being built: "sft", or its preference method."""
    return "sft" if stage["kind"] == "sft" else str(stage.get("method", "dpo"))


def _training_stage(kind: str, action: Action, ctx: Context) -> None:
    text = action.text
    dataset = _dataset_for(kind, action, ctx)
    ctx.used_data.add(dataset)
    method = parse_method(text)
    if method is None and ctx.config_text:
        method = parse_method(ctx.config_text)
    if method is None and re.search(
        r"(?:без|without|no|not|не)\s+(?:dora|доры|дору|дора)\s+(?:(?:на|for|в|для|in)\s+)?(?:the\s+)?$",
        ctx.request.goal[max(0, action.start - 30) : action.start],
        re.IGNORECASE,
    ):
        method = "lora"  # "DoRA на SFT, но без DoRA на DPO": the words before the stage take DoRA away from it
    inherited = method is None and ctx.last_training is not None and ctx.last_training.get("adapter", "lora") != "lora"
    if method is None:
        method = ctx.last_training["adapter"] if ctx.last_training else "lora"
    if "qlora" in text:
        ctx.notes.append("QLoRA's 4-bit base is not supported here; the stage trains a plain LoRA.")
    stage: dict[str, Any] = {"kind": kind, "id": ctx.unique(kind), "adapter": method, "dataset": dataset}
    if kind == "dpo":  # a preference stage: DPO, ORPO, SimPO or KTO (kind becomes `preference` in the plan)
        chosen = parse_preference_method(text) or "dpo"
        stage["method"] = chosen
        if chosen != "dpo":
            ctx.ids.discard(stage["id"])
            stage["id"] = ctx.unique(chosen)
    if inherited and ctx.last_training is not None:  # "full fine-tune SFT, then DPO": said, never quietly widened
        what = {"none": "a full fine-tune", "dora": "a DoRA"}.get(method, f"a {method}")
        ctx.notes.append(f"stage {stage['id']} is {what} too, as {ctx.last_training['id']} is.")
    targets = parse_targets(text, ctx)
    if not targets and ctx.config_text:
        targets = parse_targets(ctx.config_text, ctx)
    if not targets and ctx.last_training and not re.search(r"\ball\b|\bвсе", text):
        targets = list(ctx.last_training.get("target_modules", []))
        if targets:
            ctx.notes.append(
                f"stage {stage['id']} trains the same modules as {ctx.last_training['id']}: {', '.join(targets)}."
            )
    stage["target_modules"] = targets
    layers = parse_layers(text, ctx)
    if layers is None and ctx.config_text:
        layers = parse_layers(ctx.config_text, ctx)
    if (
        layers is None
        and ctx.last_training
        and ctx.last_training.get("layers")
        and not re.search(r"\ball\b|\bвсе", text)
    ):
        layers = list(ctx.last_training["layers"])  # not silently widened to every layer
        ctx.notes.append(f"stage {stage['id']} trains the same layers as {ctx.last_training['id']}: {layers}.")
    if layers is not None:
        stage["layers"] = layers
    stage.update(parse_hyper(text, kind))
    _scoped_values(stage, ctx)
    if ctx.last_training:  # "…, then dpo on only the last two": a value said for this stage replaced the carried one
        for key, phrase in (("layers", "trains the same layers as"), ("target_modules", "trains the same modules as")):
            if stage.get(key) != ctx.last_training.get(key):
                ctx.notes[:] = [n for n in ctx.notes if not n.startswith(f"stage {stage['id']} {phrase} ")]
    last = ctx.last_training
    only_for = [  # "rank 8 only for SFT", "ранг 8 только на SFT": said for one stage alone, never carried on
        f
        for f in ctx.scoped
        if f.slot in ("r", "alpha", "dropout")
        and f.scope not in (None, "all", _stage_scope_name(stage))
        and (
            re.search(
                r"\b(?:only|just|alone)\b|(?<![а-я])(?:только|лишь)(?![а-я])",
                ctx.request.goal[f.end : f.end + 24].lower(),
            )
            # "для SFT ранг 8", "for SFT: rank 8": the stage named right before the value
            or re.search(
                r"(?:\bfor|(?<![а-я])для|(?<![а-я])на)\s+(?:the\s+)?(?:sft|dpo|orpo|kto|simpo|сфт|дпо)\s*[:,—-]?\s*$",
                ctx.request.goal[max(0, f.start - 20) : f.start].lower(),
            )
        )
    ]
    if (
        method != "none"
        and "r" not in stage
        and last
        and last.get("adapter", "lora") != "none"
        and "r" in last
        and not [f for f in only_for if f.slot != "dropout"]
    ):
        # "LoRA … rank 8 …, then DPO": the rank said once holds for the later adapter too, visibly
        stage["r"] = last["r"]
        carried_alpha = "alpha" in last and "alpha" not in stage
        if carried_alpha:
            stage["alpha"] = last["alpha"]
        alpha_said = f" and alpha {stage['alpha']:g}" if carried_alpha else ""  # (said back too: it was silent)
        ctx.notes.append(f"stage {stage['id']} uses the same rank as {last['id']}: r={stage['r']}{alpha_said}.")
    if (
        method != "none"
        and "dropout" not in stage
        and last
        and "dropout" in last
        and last.get("adapter") != "none"
        and not [f for f in only_for if f.slot == "dropout"]
    ):
        stage["dropout"] = last["dropout"]  # carried with the rank, modules and layers, never dropped to 0 unsaid
        ctx.notes.append(f"stage {stage['id']} uses the same LoRA dropout as {last['id']}: {last['dropout']:g}.")
    if method == "none" and any(k in stage for k in ("r", "alpha")):
        ctx.notes.append(f"stage {stage['id']}: full fine-tuning has no rank or alpha; those were dropped.")
        stage.pop("r", None)
        stage.pop("alpha", None)
    if stage.get("lr_scheduler_type") == "constant" and stage.get("warmup_steps", 0) > 0:
        # transformers' "constant" schedule ignores warmup: "warmup 50 steps, then a constant lr" is constant_with_warmup
        stage["lr_scheduler_type"] = "constant_with_warmup"
        ctx.notes.append(
            f"stage {stage['id']}: a constant learning rate after warmup is transformers' constant_with_warmup "
            "(its plain 'constant' schedule skips the warmup)."
        )
    ctx.stages.append(stage)
    ctx.last_training = stage


def _scoped_values(stage: dict[str, Any], ctx: Context) -> None:
    """Values said for this stage win over what its words hold; a value said for another stage is not this one's.

    "rank 16 for the SFT and rank 8 for the DPO adapter" is one clause: the SFT's words hold both ranks."""
    scope = "sft" if stage["kind"] == "sft" else stage.get("method", "dpo")
    for slot in SLOT_NAMES:
        if slot in PREFERENCE_ONLY and stage["kind"] != "dpo":
            continue
        said = [f for f in ctx.scoped if f.slot == slot]
        mine = {f.value for f in said if f.scope in (scope, "all")}
        elsewhere = {f.value for f in said if f.scope not in (None, scope) and f.scope in ctx.rounds}
        free = {f.value for f in said if f.scope is None or f.scope not in ctx.rounds}  # no such stage: anyone's
        own = stage.get(slot)
        if own is not None and own in elsewhere and own not in mine and own not in free:
            del stage[slot]  # said for another stage
        if len(mine) == 1 and ctx.rounds.get(scope, 1) == 1:
            stage[slot] = next(iter(mine))  # said for this stage, the only one of its kind (two rounds: own words)
        elif slot == "gpus" and not mine and len(free) == 1:
            stage[slot] = next(iter(free))  # "on 4 GPUs": the hardware every stage runs on
        elif not mine and len(free) == 1 and sum(ctx.rounds.values()) == 1 and slot not in stage:
            stage[slot] = next(iter(free))  # "SFT on a.jsonl; keep the adapter light, rank 8": the only stage's
    effective = {f.value for f in ctx.scoped if f.slot == "effective_batch" and f.scope in (None, "all", scope)}
    accumulation_said = any(f.slot == "gradient_accumulation" for f in ctx.scoped)
    if len(effective) == 1 and not accumulation_said and stage.get("batch_size"):
        steps = next(iter(effective)) / stage["batch_size"] / int(stage.get("gpus", 1) or 1)
        if float(steps).is_integer() and steps >= 1:  # "--train_batch_size 128 --micro_train_batch_size 1" said apart
            stage["gradient_accumulation"] = int(steps)
    every = [f for f in ctx.scoped if f.slot in ("module", "role") and f.scope == "all"]
    if every and not any(str(f.value).startswith("not ") for f in every):  # "target q_proj and v_proj in both"
        named = {f.value for f in every if f.slot == "module"}
        for f in (f for f in every if f.slot == "role"):
            named |= set(ctx.modules.get("attention" if f.value == "attention" else "mlp", []))
        if named:
            stage["target_modules"] = sorted(named)
    for fact in ctx.scoped:  # "with FSDP", "DeepSpeed ZeRO-3": every training stage said for (or all)
        if fact.slot == "distributed" and fact.scope in (None, "all", scope):
            stage["distributed"] = fact.value
            if int(stage.get("gpus", 1) or 1) <= 1:  # the runner launches a one-GPU stage as one plain process
                raise NeedsAnswer(
                    f"You said '{fact.phrase}'; Graft launches a stage through accelerate with that strategy only "
                    "when it runs on more than one GPU, and this one runs on one. On how many GPUs should it run?"
                )
    said_layers = [f for f in ctx.scoped if f.slot == "layers"]
    mine_layers = [f.value for f in said_layers if f.scope == scope]
    if len(mine_layers) == 1 and ctx.rounds.get(scope, 1) == 1:
        stage["layers"] = list(mine_layers[0])  # "layers 0 to 3 for SFT, and layers 8 to 11 for DPO"
    elif (
        said_layers
        and not mine_layers
        and all(f.scope in ctx.rounds and f.scope != scope for f in said_layers)
        and not (ctx.last_training and stage.get("layers") == ctx.last_training.get("layers"))
    ):
        stage.pop("layers", None)  # its words held only selections said for another stage (kept: inherited ones)


def _pending_adapter(ctx: Context) -> str | None:
    for stage in reversed(ctx.stages):
        if stage["kind"] in ("sft", "dpo"):
            return stage["id"] if stage["adapter"] != "none" else None
        if stage["kind"] in ("merge_adapter", "merge_models"):
            return None
    return None


def _fold(ctx: Context, reason: str | None = None) -> str:
    """Insert a merge_adapter for the pending adapter; return the id of the current model."""
    pending = _pending_adapter(ctx)
    if pending:
        ctx.stages.append({"kind": "merge_adapter", "id": ctx.unique(f"{pending}-merged")})
        if reason:
            ctx.notes.append(reason)
    for stage in reversed(ctx.stages):
        if stage["kind"] in ("merge_adapter", "merge_models") or (
            stage["kind"] in ("sft", "dpo") and stage["adapter"] == "none"
        ):
            return "@" + stage["id"]
    return "@base"


def _model_before(ctx: Context, partner: str) -> str:
    """The main line's model just before a variant branch (the partner) was started."""
    ids = [s["id"] for s in ctx.stages]
    branch_end = ids.index(partner[1:])
    for stage in reversed(ctx.stages[:branch_end]):
        if stage.get("input") == "@base" and stage["kind"] in ("sft", "dpo"):
            branch_start = ctx.stages.index(stage)
            for main in reversed(ctx.stages[:branch_start]):
                if main["kind"] in ("merge_adapter", "merge_models") or (
                    main["kind"] in ("sft", "dpo") and main["adapter"] == "none"
                ):
                    return "@" + main["id"]
            return "@base"
    return "@base"


# words before a path that make it where the result goes: "out {out}", "на выходе fp16 в {out}", "→ записать в {out}"
OUTPUT_BEFORE = re.compile(  # never the tail of a path before it ("merge ./out ./b": ./b is not where it goes)
    r"(?<![\w/.-])(?:на выходе|(?:output|out|export|save)_(?:dir|path)\b|output|\bout|save|write|(?<!relative )(?<!compared )(?<!added )(?<!applied )(?<!similar )(?<!close )(?<!rest )(?<!remainder )(?<!goes )\bto|into|записать|запиши|сохрани\w*|результат|→|->|выход|вс[её]\s+в)\s*"
    r"(?:(?:fp16|bf16|fp32|float16|bfloat16|float32)\s*)?"
    r"(?:(?:folder|dir|directory|path|папк\w*|директори\w*|каталог\w*)\s*)?(?:в|to|into|:|=|is|-)?\s*$"
)
# "add it to C", "and apply the difference to C", «и прибавь его к C»: a task vector added to another model
VECTOR_ADDED_TO = re.compile(
    r"(?:\b(?:add|apply)\w*\s+(?:it|this|that|them|the\s+(?:task\s+)?(?:vector|difference|delta|diff)s?)\s+(?:on)?to"
    r"|(?<![а-я])(?:прибав|добав)\w*\s+(?:его|е[её]|это|их|вектор\w*|разниц\w*|дельт\w*)\s+к)\s*(?:the\s+)?$"
)
# "leave ours out of it", "ours stays out", «нашу не включай»: the member just named takes no part in the merge
MEMBER_OUT_AFTER = re.compile(
    r"\s+(?:out\s+of\s+it|out\b|(?:stays|is\s+left|left|kept|is\s+kept)\s+out|(?:is\s+not|isn'?t)\s+(?:included|part\b|a\s+member)"
    r"|(?:does\s+not|doesn'?t)\s+take\s+part|не\s+(?:трога|бер|включа|добавля|смешива|участву|входит)\w*)"
)
MERGE_BASE_AFTER = re.compile(
    r"[\s,]*(?:as (?:the |its |their )?(?:base|reference|ancestor)(?: model)?\b|как\s+баз\w*|в качестве баз\w*"
    r"|(?:is|будет)\s+(?:the\s+)?(?:base|базой))"
)
MERGE_BASE_BEFORE = re.compile(  # not the tail of a path: "base /tmp/w/base  /tmp/w/partner" names no base for partner
    r"(?<![\w/.-])(?<!our )(?<!my )(?<!нашей )(?<!наша )(?<!as the )(?<!as )(?:base_model|base model|the base is|with base|базовая модель|базой|база|base)"
    # «базой возьми B», «за базу возьми B», «в качестве базы возьми B», "take B as base" is MERGE_BASE_AFTER's
    r"\s*(?:[:=—-]|is|будет|возьми|берём|берем|возьмём|возьмем|пусть\s+будет|сделай)?\s*$"
    r"|(?<![а-я])(?:за\s+базу|в\s+качестве\s+базы)\s+(?:возьми|берём|берем|возьмём|возьмем)\s*$"
)  # "task arithmetic on our base: B 1.0 and C -0.5": "our base" is the opened model, and B is a member
# ("A as the base: B 0.7, C 0.3": the base was said before the colon; B after it is a member)
MERGE_BASE_WORDS = re.compile(
    r"(?:as (?:the |its |their )?base(?: model)?|base_model\s*[:=]?|как\s+баз\w*|в качестве баз\w*|базовая модель\s*[:=—-]?)"
)


# "the sft model", "the DPO result", "sft-модели", "результат DPO": a training stage's result, named as a merge member
_STAGE_WORD = r"(?:sft|dpo|orpo|simpo|kto|сфт|дпо)"
STAGE_RESULT = re.compile(
    r"(?<![\w-])(?P<a>sft|dpo|orpo|simpo|kto|сфт|дпо)(?:[- ]?(?:tuned|trained|ed|'d))?[- ](?:models?|results?|ones?|checkpoints?"
    r"|outputs?|versions?|модел\w*|верси\w*|результат\w*|чекпоинт\w*)(?![\w-])"
    # "результат DPO" names DPO's result; "на результате DPO на b" is DPO trained on the result
    r"|(?<![а-я])(?<!на )(?<!в )(?:модел\w*|результат\w*|чекпоинт\w*|верси\w*)\s+(?:после\s+)?(?P<b>sft|dpo|orpo|simpo|kto|сфт|дпо)(?![\w-])"
    # "the SFT and DPO results", "результаты sft и dpo": two stages' results named together
    rf"|(?<![\w-])(?P<c>{_STAGE_WORD})\s*(?:and|и|&|\+|/|,)\s*(?P<d>{_STAGE_WORD})(?:[- ]?(?:tuned|trained))?[- ]"
    r"(?:results|models|checkpoints|outputs|versions|результат\w*|модел(?:и|ей|ями)|чекпоинт\w*|верси\w*)(?![\w-])"
    rf"|(?<![а-я])(?:результат(?:ы|ов|ами)|модел(?:и|ей|ями)|чекпоинт\w*)\s+(?:после\s+)?(?P<e>{_STAGE_WORD})\s*(?:и|,|/)\s*"
    rf"(?P<f>{_STAGE_WORD})(?![\w-])"
)
# "merge the two results", "слей оба результата": with no stage named, the pipeline's two trained results
TWO_RESULTS = re.compile(
    r"\b(?:the\s+two|both(?:\s+of\s+the)?|these\s+two)\s+(?:results|checkpoints|outputs|trained\s+models)\b"
    r"|(?<![а-я])(?:оба|обоих|двух|эти\s+два|этих\s+двух)\s+(?:результат\w*|чекпоинт\w*)"
    r"|\b(?:merge|blend|combine|average)\w*\s+(?:of\s+)?the\s+results\b"
    r"|(?<![а-я])(?:мерж|мердж|слияни|смерж|смердж)\w*\s+результатов(?![а-я])"
)
# "1 к 3 (dpo:sft)": a legend in brackets names each share's stage in order
RESULT_LEGEND = re.compile(rf"\(\s*(?P<a>{_STAGE_WORD})\s*(?:[:/]|\sto\s|\sна\s|\sк\s)\s*(?P<b>{_STAGE_WORD})\s*\)")


def _result_scopes(text: str) -> list[str]:
    """The stages whose results a merge names, in the order named ("sft" for "сфт")."""
    said = []
    for m in STAGE_RESULT.finditer(text.lower()):
        said += [m[g] for g in "abcdef" if m[g]]
    return list(dict.fromkeys({"сфт": "sft", "дпо": "dpo"}.get(w, w) for w in said))


def _merged_result(masked: str, clause_start: int, start: int) -> bool:
    """Whether the stage word at `start` names its stage's result inside a merge ("merge the sft model and …")."""
    lowered = masked.lower()
    results = [m.span() for m in (*STAGE_RESULT.finditer(lowered), *RESULT_LEGEND.finditer(lowered))]  # "(dpo:sft)"
    inside = any(a <= start < b for a, b in results) or any(
        m.start("s") == start for m in RESULT_SHARE.finditer(lowered)
    )  # "…, 30% sft 70% dpo": a share's label
    word = re.match(r"[a-zа-я]+", lowered[start:])
    run_before = (
        word is not None
        and any(  # the stage itself is asked for earlier ("sft on a, then dpo, then merge …")
            not any(a <= m.start() < b for a, b in results)
            # (earlier in this clause too: «после DPO на prefs сделай slerp DPO-модели с B»)
            for m in re.finditer(rf"(?<![\w-]){re.escape(word.group(0))}(?![\w-])", lowered[:start])
        )
    )
    if word is not None and word.group(0) in ("sft", "сфт") and not run_before:
        # "lora r 32 on chat, …, then slerp the merged sft model with B": the SFT asked for as a LoRA run
        run_before = bool(re.search(r"\b(?:q?lora|dora|fine-?tun\w*|train\w*)\b|лор[аоуы]\w*|обуч\w*", lowered[:start]))
    return inside and run_before and bool(MERGE_WORDS.search(lowered[max(0, clause_start - 80) : start]))


def _stage_results(text: str, ctx: Context, partners_named: bool = False) -> list[str]:
    """The members of a merge of two or more earlier stages' results ("merge the sft model and the dpo model"),
    each folded into a model where it was trained; [] when the merge names fewer than two."""
    scopes = _result_scopes(text)
    if len(scopes) < 2 and not partners_named and TWO_RESULTS.search(text.lower()):
        trained = [
            "sft" if st["kind"] == "sft" else st.get("method", "dpo")
            for st in ctx.stages
            if st["kind"] in ("sft", "dpo")
        ]
        if len(trained) == 2 and len(set(trained)) == 2:  # "sft, then dpo, then merge the two results"
            scopes = trained
    if len(scopes) < 2:
        return []
    if (legend := RESULT_LEGEND.search(text.lower())) and len(scopes) == 2:  # "1 к 3 (dpo:sft)": in the legend's order
        named = [{"сфт": "sft", "дпо": "dpo"}.get(legend[g], legend[g]) for g in "ab"]
        if sorted(named) == sorted(scopes):
            scopes = named
    members = []
    for scope in scopes:
        trained = [
            s
            for s in ctx.stages
            if (s["kind"] == "sft" and scope == "sft") or (s["kind"] == "dpo" and s.get("method", "dpo") == scope)
        ]
        if not trained:
            raise NeedsAnswer(
                f"You named the {SCOPE_NAMES.get(scope, scope)} result as a merge member, and the plan has "
                f"no {SCOPE_NAMES.get(scope, scope)} stage; which models should be merged?"
            )
        where = ctx.stages.index(trained[-1])
        after = ctx.stages[where + 1] if where + 1 < len(ctx.stages) else None
        if after is not None and after["kind"] == "merge_adapter":
            members.append("@" + after["id"])
        elif after is None:
            members.append(_fold(ctx))
        elif trained[-1].get("adapter") == "none":
            members.append("@" + trained[-1]["id"])
        else:  # the next stage trains on this result: it is written as a model of its own first
            folded = {"kind": "merge_adapter", "id": ctx.unique(f"{trained[-1]['id']}-merged")}
            ctx.stages.insert(where + 1, folded)
            members.append("@" + folded["id"])
    if _pending_adapter(ctx):
        _fold(ctx)
    labels = [  # "30% sft 70% dpo", "30 на 70 (30 sft)": a share said with the stage it is for
        (float(m["v"]), {"сфт": "sft", "дпо": "dpo"}.get(m["s"], m["s"]))
        for m in RESULT_SHARE.finditer(mask_paths(text).lower())
    ]
    if labels and len({scope for _, scope in labels}) == len(labels) == len(members) and not parse_weights(text):
        order = [scopes.index(scope) for _, scope in labels if scope in scopes]  # "30% sft 70% dpo": by the labels
        if sorted(order) == list(range(len(members))):
            members = [members[i] for i in order]
            labels = []
    if labels:
        weights = parse_weights(text)
        said = [round(v / 100, 6) if v > 1 else v for v, _ in labels]
        shares = [round(w, 6) for w in weights]
        owner = {
            scopes.index(scope): shares.index(v) for v, (_, scope) in zip(said, labels, strict=True) if v in shares
        }
        if len(set(shares)) != len(shares) or len(owner) < len(members) - 1 or len(set(owner.values())) != len(owner):
            raise NeedsAnswer(
                f"You wrote '{text.strip(' ,.;')}'; which weight goes to which stage's result "
                f"({', '.join(m.lstrip('@') for m in members)})?"
            )
        free = [i for i in range(len(members)) if i not in owner]
        free_place = [k for k in range(len(members)) if k not in owner.values()]
        owner.update(zip(free, free_place, strict=True))
        members = [members[i] for i in sorted(owner, key=lambda i: owner[i])]  # in the order the weights were said
    ctx.notes.append(f"the merge's members are the stages' results: {', '.join(m.lstrip('@') for m in members)}.")
    return members


def _result_share_weights(text: str, members: list[str]) -> list[float]:
    """'30% sft 70% dpo' over members put in that order by _stage_results: the shares as said, or []."""
    labels = [float(m["v"]) for m in RESULT_SHARE.finditer(mask_paths(text).lower())]
    if len(labels) != len(members) or not all(m.startswith("@") for m in members):
        return []
    return weight_values([(str(v), "%" if v > 1 else "") for v in labels])


# which member SLERP starts from: "B as first model and ours as the second", «B первой, нашу второй»
SLERP_ROLES = re.compile(
    rf"(?P<a>#{{3,}}|{MEMBER_WORD})\s+(?:as\s+(?:the\s+)?first(?:\s+(?:model|one))?|(?:[—-]\s+)?перв(?:ой|ая|ую)(?:\s+модел\w*)?)"
    rf"\s*(?:,|and|и|а)?\s*(?P<b>#{{3,}}|{MEMBER_WORD})\s+(?:as\s+(?:the\s+)?second|(?:[—-]\s+)?втор(?:ой|ая|ую))"
)
# words before the opened model that make it a task-vector merge's reference: "on top of ours", "dare_ties B on ours"
REFERENCE_BEFORE = (
    r"(?:on top of|atop|over|onto|\bon|relative to|against|поверх|над|относительно|(?<![а-я])(?:к|на)"
    r"|(?<![а-я])(?:база|базой)\s*[—:=-]?|(?<![а-я])(?:на|с)\s+баз(?:е|ой)|\bbase\s*[:=—-]"
    # «а базой возьми нашу модель», "with our model as the base", "use ours as base": the reference, named so
    r"|(?<![а-я])(?:базой|базу|в\s+качестве\s+базы)\s+(?:возьми|берём|берем|возьмём|возьмем|пусть\s+будет|будет|сделай)"
    r"|\b(?:base|reference)\s*(?:is|=|:|will\s+be|should\s+be)|\buse)\s+(?:the\s+)?$"
)
# "base ours", "base model: ours", «база — наша», «база исходная»: the opened model, named as the reference by a word
_OPENED_WORDS = (
    r"(?:ours|mine|(?:our|my)\s+(?:own\s+)?model|the\s+(?:opened|current|original)\s+(?:model|one)|the\s+original"
    r"|наш(?:а|у|ей)?|мо(?:я|ю|ей)|исходн\w*|оригинальн\w*|текущ\w*)(?![\w-])"
)
OURS_NAMED_AFTER_BASE = re.compile(
    r"(?:\s+model)?\s*(?:[:=—–-]|\bis\b|\bwill\s+be\b|будет)?\s*(?:модель\s+)?" + _OPENED_WORDS
)
OURS_AS_BASE_BEFORE = re.compile(  # "with ours as the base", «нашу в качестве базы», «наша как база»
    r"(?:ours|mine|(?:our|my)\s+(?:own\s+)?model|наш\w*(?:\s+модел\w*)?|мо[юяей]\w*(?:\s+модел\w*)?)\s+"
    r"(?:as|как|в\s+качестве)\s+(?:the\s+|its\s+|their\s+)?$"
)
# a task vector added or taken away: with no method named, the merge is task arithmetic
TASK_VECTOR_SAID = re.compile(  # (the subtraction words are the fact check's own: agent/goal_facts.py SUBTRACT)
    SUBTRACT.pattern + r"|task[ _-]?vectors?|вектор\w*\s+задач|\bminus\b|(?<![а-я])минус"
    r"|(?:weight|вес|весом|at)\s+-\d*\.?\d|отрицательн\w*\s+вес"  # "at weight -0.2": taken away
)


def _merge_models(action: Action, ctx: Context) -> None:
    text = action.text
    method = "ties"
    # "then linear the ties result with C": a method word naming the earlier merge's result is not this merge's method
    said_methods = (
        re.sub(
            # («результат слерпом с C» names this merge's method: the instrumental case says how it is merged)
            r"(?:(?:the|that|this|its)\s+|результат\w*\s+(?!(?:слерп|тайс)ом\b))"
            r"(?:ties|slerp|dare[_ -]?ties|della|linear|task[_ -]?arithmetic|тайс\w*|слерп\w*)"
            r"(?:[- ](?:merge|мерж\w*))?(?=\s+(?:result|output|model|one|merge)|\b(?!\s+(?:merge|мерж|method|метод)))",
            lambda m: " " * len(m.group(0)),
            text,
        )
        # (or, after an earlier merge, "then linear merge the slerp with ours": "the slerp" is that merge)
        if re.search(r"\b(?:result|output)\b|результат", text) or any(s["kind"] == "merge_models" for s in ctx.stages)
        else text
    )
    for name, pattern in (*MERGE_METHODS[:-1], ("linear", r"linear|average|усредн|soup|линейн")):  # agent/goal_facts.py
        if re.search(pattern, said_methods):
            method = name
            break
    else:
        method = ""  # chosen below, once the members are known
    if not method and (dare := re.search(r"(?<![\w-])dare(?![\w-])|(?<![а-я])даре(?![а-я])", mask_paths(text))):
        raise NeedsAnswer(  # "DARE слияние B и C": mergekit has two DARE methods, and neither is the default
            f"You said '{dare.group(0)}'; mergekit runs DARE as dare_ties (with TIES sign election) or dare_linear. "
            "Which one?"
        )
    partners: list[str] = list(ctx.partners)
    ctx.partners.clear()
    results = _stage_results(text, ctx, partners_named=bool(partners))
    if results:  # "merge the sft model and the dpo model 50/50": two stages' results are the members
        current, partners = results[0], [*results[1:], *partners]
    elif partners:
        current = _model_before(ctx, partners[0])
    else:
        current = _fold(ctx, "the adapter is merged into the model before the model merge.")
    from tools.merge_models import _NEEDS_BASE

    base_words = [
        m
        for m in re.finditer(
            r"\bbase\b|\boriginal\b|\bstarting (?:model|point|checkpoint)\b|\bthe model (?:it|we) started from\b"
            r"|\b(?:the\s+)?(?:opened|open|current|loaded) (?:model|one)\b|открыт\w*\s+модел\w*|текущ\w*\s+модел\w*"
            r"|(?<![а-я])текущ(?:ая|ую|ей|ий|его)(?![а-я])"
            r"|базов\w*|исходн\w*|начальн\w*|оригинал\w*|(?<![а-я])баз(?:а|у|ы|ой|е)(?![а-я])"
            r"|(?<![а-я])открыт(?:ую|ая|ой)(?![а-я])"
            # "merge of the model, B and C", "слей модель, B и C": the model, listed among the members, is the opened one
            r"|\bthe model(?=\s*,\s*#{3,})|(?<![а-я])модель(?=\s*,\s*#{3,})",
            mask_paths(text),  # not "/tmp/w/base": a folder's name is no word for the opened model
        )
        if not re.search(  # "смешай A и B поровну, без базы", "without the base": the base is left out
            r"(?:\bwithout|\bnot|\bexcept|\bexcluding|\bno|(?<![а-я])без|(?<![а-я])не|(?<![а-я])кроме"
            r"|\b(?:leave|keep))\s+(?:the\s+|its\s+)?$",
            mask_paths(text)[max(0, m.start() - 16) : m.start()],
        )
        and not re.match(
            r"\w*\s+(?:не\s+(?:трога|бер|включа|добавля|смешива|участву|входит)|(?:stays|is\s+left|left)\s+out"
            r"|(?:is\s+not|isn'?t)\s+(?:included|part\b|a\s+member)|(?:does\s+not|doesn'?t)\s+take\s+part)",
            mask_paths(text)[m.start() :],
        )
    ]
    reference_only = (
        (method in _NEEDS_BASE or not method)
        and all(
            re.search(  # "ties of the result with B on top of the original model": the base is the reference
                REFERENCE_BEFORE,
                mask_paths(text)[max(0, m.start() - 20) : m.start()],
            )
            # "…, base ours", "base model: ours", «база исходная», "ours as the base": the opened model named as
            # the reference by a word, not by its folder
            or re.match(OURS_NAMED_AFTER_BASE, mask_paths(text)[m.end() :])
            or re.search(OURS_AS_BASE_BEFORE, mask_paths(text)[max(0, m.start() - 40) : m.start()])
            # "…, база MODEL", "base: MODEL" with the opened model: the reference of a task-vector merge, named
            or (
                re.match(r"\s*[:=—-]?\s*#{3,}", mask_paths(text)[m.end() :])
                and any(_is_opened(_verbatim(p, ctx), ctx) for p in _paths(PATHLIKE, text[m.end() : m.end() + 200])[:1])
            )
            for m in base_words
        )
    )
    if base_words and not reference_only:
        partners.append("@base")
    elif (
        ctx.stages
        and ctx.stages[-1]["kind"] == "merge_models"
        and not any(s["kind"] in ("sft", "dpo", "preference") for s in ctx.stages)
        and any(
            not left_out(mask_paths(text), m.start())
            for m in re.finditer(
                r"\b(?:ours|mine|my\s+(?:own\s+)?model|our\s+(?:own\s+)?model|us)\b"
                r"|(?<![а-я])(?:наш(?:а|у|ей|ему|ей|ой)?|мо(?:я|ю|ей))(?:\s+модел\w*)?(?![а-я])",
                mask_paths(text),
            )
        )
    ):  # "ties A with B, then linear that result with ours": after a merge of others, "ours" is the opened model
        partners.append("@base")
    elif (
        not partners
        and any(s["kind"] in ("sft", "dpo", "preference") for s in ctx.stages)
        and re.search(  # the result and ours joined as the two members, not "the result with B: 80% ours"
            r"\bresult\s+(?:with|and|&)\s+(?:ours|mine|(?:my|our)\s+(?:own\s+)?model)\b"
            r"|\b(?:ours|mine|(?:my|our)\s+(?:own\s+)?model)\s+(?:with|and|&)\s+(?:the\s+|that\s+)?result\b"
            r"|(?<![а-я])результат\w*\s+(?:с|со|и)\s+(?:наш|мо[еёйя])\w*"
            r"|(?<![а-я])(?:наш|мо[юя])\w*(?:\s+(?:модель|исходную|исходн\w*))?\s+(?:с|со|и)\s+результат\w*",
            mask_paths(text),
        )
    ):  # "SFT …, then slerp the result with ours": beside the trained result, "ours" is the model it started from
        partners.append("@base")
        ctx.notes.append("'ours' beside the trained result is the model it started from (the opened model).")
    dataset_paths = set(_paths(DATASET, text))
    opened_in_paths = any(  # "слей три модели: MODEL, B, C": the opened model named among the members
        _is_opened(_verbatim(p, ctx), ctx)
        and not left_out(text, text.find(p))
        and not re.match(r"\s+(?:out\b|aside\b|excluded\b)", text[text.find(p) + len(p) :])
        for p in _paths(PATHLIKE, text)
    )
    if not method and TASK_VECTOR_SAID.search(mask_paths(text)):
        # "subtract B's task vector", «вычти вектор задачи B»: differences from the base, added or taken away
        method = "task_arithmetic"
        ctx.notes.append(
            "no merge method was named; task vectors added or subtracted are a task_arithmetic merge (say ties for another)."
        )
    elif not method and re.search(r"(?<![\w-])t\s*[=:]\s*(?:0?\.\d+|0|1)(?![\w.])", mask_paths(text)):
        method = "slerp"  # "merge with B with t=0.45": t is SLERP's interpolation factor, no other method has one
        ctx.notes.append(
            "no merge method was named; t is SLERP's factor, so the merge is a SLERP (say another to change it)."
        )
    elif not method and ("@base" in partners or opened_in_paths):
        # "blend the result back with the original, 70/30": the base is a member; TIES would take it as its own ancestor
        method = "linear"
        ctx.notes.append(
            "no merge method was named; a blend with the starting model is a linear merge (say ties or slerp for another)."
        )
    elif (
        not method
        and (
            BLEND_SAID.search(words_to_digits(mask_paths(text)))
            or favoured_ratio(mask_paths(text))
            or one_named_weight(mask_paths(text), text)  # "ours gets 90", "partner 60" (after a correction)
            or each_weight(mask_paths(text))  # «каждой из трёх моделей по трети: наша, B, C»
        )
        and not re.search(r"densit|плотн|trim|sparsif", text)
    ):
        method = "linear"  # "мердж с B 70 на 30", "merge B at 25%, the rest base": a blend in the shares said
        ctx.notes.append(
            "no merge method was named; a blend in the shares you gave is a linear merge (say ties or slerp for another)."
        )
    elif not method:
        method = "ties"
        ctx.notes.append("no merge method was named; TIES was chosen (say linear, slerp or dare_ties for another).")

    trained = any(s["kind"] != "convert" for s in ctx.stages)  # nothing trained before this merge
    # "merge A, B and the base equally with linear": the base named in a merge with no ancestor is a member
    opened_named = "@base" in partners and method not in _NEEDS_BASE and not trained
    named_base = None
    for m in PATHLIKE.finditer(text):  # "use B as the base", "B как базу", "base_model: B": the reference, not a member
        if re.match(MERGE_BASE_AFTER, text[m.end() :]) or re.search(MERGE_BASE_BEFORE, text[: m.start()]):
            named_base = _verbatim(m.group(0).rstrip(".,"), ctx)
            if _is_opened(named_base, ctx):
                named_base = None  # "on top of base MODEL" with the opened model: the default reference
    if (
        named_base
        and "@base" in partners
        and not re.search(r"\bbase\b(?!_model|\s+model\s*[:=])|базов\w*|исходн\w*", MERGE_BASE_WORDS.sub(" ", text))
    ):
        partners.remove("@base")  # the word "base" named the reference, not the opened model as a member
    opened_reference = False  # the opened model named as the reference of a task-vector merge
    taken_back = {_verbatim(p, ctx) for p in paths_left_out(text, PATHLIKE)}  # "с B и C, но без C": C is no member
    for path in sorted(taken_back):
        ctx.notes.append(f"{path} is left out of the merge, as you said.")
    for path in _paths(PATHLIKE, text):
        if path in dataset_paths or any(path in d for d in dataset_paths) or path in ("w/", "w/o", "b/c", "n/a"):
            continue
        path = _verbatim(path, ctx)
        if path in taken_back:
            continue
        opened = _is_opened(path, ctx)
        before_path = text[: text.lower().find(path.lower())].lower() if path.lower() in text.lower() else ""
        if (
            not opened and _is_weights(Path(path).expanduser()) and re.search(VECTOR_ADDED_TO, before_path[-60:])
        ):  # "take B minus ours as a task vector and add it to C": C + (B - ours) = ours + (C - ours) + (B - ours)
            if method != "task_arithmetic" or re.search(r"(?<![\w.])-?\d*\.?\d+(?![\w.])", mask_paths(text)):
                raise NeedsAnswer(
                    f"You asked for a task vector to be added to {path}, a model other than the base it is taken "
                    f"from; Graft runs that as task arithmetic over the base with {path} as a member at weight 1. "
                    "Which weight should each task vector have?"
                )
            ctx.notes.append(
                f"{path} + (task vector) is run as task arithmetic over the base with {path} as a member at weight 1: "
                f"base + ({path} - base) + (vector) is the same model."
            )
            partners.append(str(Path(path).expanduser()))
            continue
        if (
            not opened
            and OUTPUT_BEFORE.search(before_path)
            and not (  # "slerp ours to B": the model merged with, not where the result goes
                _is_weights(Path(path).expanduser())
                and re.search(rf"(?:slerp|merg\w*|blend\w*|ties|linear\w*)\s+(?:{OURS}|it|this)\s+to\s*$", before_path)
            )
        ):
            ctx.output_said = ctx.output_said or path
            continue  # "…, на выходе fp16 в out/x": where the result goes, not a model to merge
        if named_base and path == named_base:
            continue
        where = Path(path).expanduser()
        at = text.lower().find(path.lower())
        joined = (
            re.search(r"(?:\band|\bwith|&|(?<![а-я])и|(?<![а-я])со?)\s*$", text[: max(at, 0)].lower())
            or (
                # "merge A and B using ties (weights …), out/x": after a comma, a new folder is a member only
                # while the merge still lacks one
                re.search(r",\s*$", text[: max(at, 0)])
                and len(partners) < (1 if trained else 2)
                # (not "slerp ours with B, t=1.2, out/x": a comma after a setting, not after a member, ends the list)
                and (
                    where.exists()
                    or re.search(rf"(?:#{{3,}}|{OURS}|{BASE_WORDS})\s*,\s*$", mask_paths(text)[: max(at, 0)].lower())
                )
            )
        )
        last = path.lower() == _paths(PATHLIKE, text)[-1].lower() and (partners or trained) and not joined
        bracketed = text.rfind("(", 0, max(at, 0)) > text.rfind(")", 0, max(at, 0))  # "70/30 (tuned/base)"
        if bracketed and not where.exists():
            continue  # "blend it back 70/30 (tuned/base)": a label for the ratio, not a model
        if not bracketed and ((where.is_dir() and not _is_weights(where)) or (not where.exists() and last)):
            # "…, store it in out/x as float16": a folder with no model in it is where the result goes
            if ctx.output_said and ctx.output_said != path:
                raise NeedsAnswer(f"{path} holds no model; is it where the result goes, or a model to merge with?")
            ctx.output_said = path
            ctx.notes.append(f"{path} holds no model, so it is where the merged model is written.")
            continue
        if not where.exists():
            raise GraftError(missing(path, "named as a model to merge with"))
        if _is_opened(path, ctx):
            if re.match(r"\s+(?:out\b|aside\b|excluded\b)", text[at + len(path) :]) or left_out(text, max(at, 0)):
                continue  # "…, but keep MODEL out of it": the opened model is no member
            if (method in _NEEDS_BASE) and (
                re.search(
                    r"(?:\bbase(?:[_ ]model)?|(?<![а-я])(?:база|базой|базу|базовая\s+модель))\s*[:=—-]?\s*$"
                    r"|(?:\bonto|\bon\s+top\s+of|(?<![а-я])поверх|(?<![а-я])на\s+баз\w*|(?<![а-я])на\s+основе)\s+(?:the\s+)?$",
                    text[max(0, at - 24) : max(at, 0)].lower(),
                )
                or MERGE_BASE_AFTER.match(text.lower(), at + len(path))  # "ties it with C using MODEL as base"
            ):
                opened_reference = True
                continue  # "ties with B, …, база MODEL", "B onto MODEL": the opened model as the reference, no member
            if (
                method == "task_arithmetic"
                and re.search(r"(?:\bto|\bonto|(?<![а-я])к)\s*$", text[max(0, at - 8) : max(at, 0)].lower())
                and re.search(r"\b(?:add|subtract)\w*|(?<![а-я])(?:прибав|добав|вычт|вычес)\w*", text.lower())
            ):
                opened_reference = True
                continue  # "add B's task vector to MODEL", «к A прибавь вектор задачи B»: the reference, not a member
            partners.append("@base")  # the model already open, named again: the base, counted once
            opened_named = opened_named or method not in _NEEDS_BASE  # a member only where the merge has no ancestor
            continue
        if Path(path).expanduser().is_dir() or path.endswith(".safetensors"):
            partners.append(str(Path(path).expanduser()))
    ours_named = (
        not trained
        and any(  # "мерж трёх моделей: моя, B и C"; not "only B and C (not our model)"
            not left_out(mask_paths(text), m.start())
            and not MEMBER_OUT_AFTER.match(mask_paths(text), m.end())
            # «результат сохрани в X», "the result to X": with nothing trained, a result is what the merge makes
            and not re.match(r"(?:the\s+)?(?:результат|result|outcome|output)", m.group(0))
            # "dare_ties B and C on ours": the reference of a task-vector merge, not a member
            and not (
                method in _NEEDS_BASE
                and (
                    re.search(REFERENCE_BEFORE, mask_paths(text)[max(0, m.start() - 20) : m.start()])
                    # "…, base ours", "base model ours", "ours as the base", «наша как база»: the reference, named
                    or re.search(
                        r"(?:\bbase(?:[_ ]model)?|(?<![а-я])(?:база|базовая\s+модель))\s*[:=—–-]?\s*$",
                        mask_paths(text)[max(0, m.start() - 20) : m.start()],
                    )
                    or MERGE_BASE_AFTER.match(mask_paths(text), m.end())
                )
            )
            for m in re.finditer(rf"(?<![\w-]){OURS}", mask_paths(text))
        )
    )
    if named_base and current == "@base" and not opened_named and not trained and not ours_named:
        current = (
            ""  # "a TIES merge of B on top of A as base": B is the member, A the reference; the opened model is neither
        )
    if (
        method in _NEEDS_BASE
        and current == "@base"
        and not trained
        and any(p != "@base" for p in partners)
        and (opened_reference or (method == "task_arithmetic" and TASK_VECTOR_SAID.search(mask_paths(text))))
    ):
        current = ""  # "add B's task vector to ours", "B onto MODEL": the opened model is the reference, not a member
    if opened_reference and method in _NEEDS_BASE and "@base" in partners and len(partners) > 1:
        partners.remove("@base")  # "ties of B and C on top of MODEL as base": the word "base" named no member
    if opened_named and method not in _NEEDS_BASE and current == "@base":
        current = ""  # "слей линейно A, B и C" with A the opened model: a member like the others, not the ancestor
    partners = list(dict.fromkeys(p for p in partners if p != current))
    if (
        not trained
        and not opened_named
        and not ours_named
        and len([p for p in partners if not p.startswith("@")]) >= 2
        and current in ("@base", "@convert")
    ):
        # "merge A and B using TIES": A and B are the members; the opened model is their common ancestor
        ctx.notes.append(
            f"the merge's members are {', '.join(partners)}; {ctx.request.model} is their base (the common ancestor), "
            "not a member."
        )
        current = ""
    if not partners and dataset_paths:
        # "blend in a second fine-tune on variant.jsonl": train that variant from the base first.
        variant = Action("sft", action.start, action.end, text)
        before = ctx.last_training
        _training_stage("sft", variant, ctx)
        ctx.stages[-1]["input"] = "@base"
        ctx.notes.append(
            f"a second fine-tune ({ctx.stages[-1]['id']}) on {ctx.stages[-1]['dataset']} starts from the base, to merge with."
        )
        partners.append(_fold(ctx))
        ctx.last_training = before
    if not partners:
        raise NeedsAnswer(
            "Merge with which model? Name a model folder, 'the base', or a dataset for a second fine-tune."
        )
    left_out_base = BASE_LEFT_OUT.search(mask_paths(text))
    if method in _NEEDS_BASE and not named_base and left_out_base and not trained:
        raise NeedsAnswer(  # "ties of B and C without the base model": a task-vector merge has no meaning without one
            f"You wrote '{left_out_base.group(0)}', and a {method} merge takes each model's task vector from a base "
            "(their common ancestor). Should the opened model be that base (the reference, not a member), should "
            "another folder be, or should the merge be linear?"
        )
    if named_base:
        if not Path(named_base).expanduser().exists():
            raise GraftError(missing(named_base, "named as the merge's base"))
        ctx.notes.append(f"{named_base} is the merge's base (the reference its task vectors are taken from).")
    stage: dict[str, Any] = {
        "kind": "merge_models",
        "id": ctx.unique("merge"),
        "method": method,
        "models": [m for m in (current, *partners) if m],
    }
    if named_base:
        stage["base"] = named_base
    convert = next((s["id"] for s in ctx.stages if s["kind"] == "convert"), None)
    if convert:  # a pickle base: the merge reads the converted model, never the pickle
        stage["models"] = ["@" + convert if m == "@base" else m for m in stage["models"]]
        stage["base"] = "@" + convert
    if method in _NEEDS_BASE:
        masked = mask_paths(text)
        for _, name_start, name_end, start, end, _ in _weights_by(masked):
            if re.fullmatch(BASE_WORDS, masked[name_start:name_end].strip()) and not re.search(
                r"(?:\binto|(?<![а-я])в)\s+$", masked[max(0, name_start - 8) : name_start]
            ):  # "…, базе тоже 0,3": a weight for the reference itself, which mergekit does not weigh
                raise _base_weighed(text[start:end], method)
    if evenly := even_rest(mask_paths(text)):  # "ours gets 50%, the rest split evenly"
        own, name_start, name_end, _, _ = evenly
        who = text[name_start:name_end]
        member = _member_named(who, stage["models"], ctx) or _member_said(who, ctx)  # (the opened folder is @base)
        weights = each_rest_weights(None, member, stage["models"], own)
        if weights is None:
            raise NeedsAnswer(
                f"You wrote '{text[evenly[3] : evenly[4]]}'; which member takes {own:g}, and which share the rest "
                f"({', '.join(m.lstrip('@') for m in stage['models'])})?"
            )
        stage["weights"] = weights
        _finish_merge(stage, text, ctx)
        return
    if each_rest := each_with_rest(
        mask_paths(text)
    ):  # "each gets 0.25, ours the rest", "каждому по 0,2, остальное нашей"
        value, share, rest = each_rest
        group = next(g for g in "abcdefghi" if rest.group(g))
        who = text[rest.start(group) : rest.end(group)]
        weights = each_rest_weights(value, _member_said(who, ctx), stage["models"])
        if weights is None and method in _NEEDS_BASE and re.fullmatch(BASE_WORDS, who.strip()):
            raise _base_weighed(text[rest.start() : rest.end()], method)
        if weights is None:
            raise NeedsAnswer(
                f"You wrote '{text[share.start() : share.end()]}' and '{text[rest.start() : rest.end()]}'; which member "
                f"takes the rest ({', '.join(m.lstrip('@') for m in stage['models'])}), and is it above 0?"
            )
        stage["weights"] = weights
        _finish_merge(stage, text, ctx)
        return
    if each_one := each_with_one(mask_paths(text)):  # "0.4 for ours and 0.3 each for the two partners"
        value, own, name_start, name_end, said_start, said_end = each_one
        who = text[name_start:name_end]
        weights = each_rest_weights(value, _member_said(who, ctx), stage["models"], own)
        if (
            weights is not None
            and method in _NEEDS_BASE
            and stage["models"][member_index(who, stage["models"])] == "@base"
        ):
            raise _base_weighed(text[said_start:said_end], method)
        if weights is not None:
            stage["weights"] = weights
            _finish_merge(stage, text, ctx)
            return
    favoured = favoured_ratio(mask_paths(text))
    listed = weights_for(mask_paths(text))  # "0.5 A, 0.3 B, остальное наша": three shares, not one and the rest
    if (
        favoured
        and method in _NEEDS_BASE
        and len(stage["models"]) == 3
        and "@base" in stage["models"]
        and stage.get("base", "@base") == "@base"
        and _member_named(text[favoured.who_start : favoured.who_end], stage["models"], ctx) not in (None, "@base")
        and favoured.other
        and _member_named(_relation_other(favoured, text), stage["models"], ctx) not in (None, "@base")
    ):  # "ties: B gets 3x the weight of C, base ours": ours is the reference, B and C are weighed
        stage["models"] = [m for m in stage["models"] if m != "@base"]
    if favoured and len(stage["models"]) == 2 and not (listed and len(listed[0]) >= 3):
        _favoured_weights(favoured, stage, method, text, ctx)  # "60-40 in favour of the second one"
        _finish_merge(stage, text, ctx)
        return
    weights = parse_weights(text) or parse_weights(ctx.merge_config) or _result_share_weights(text, stage["models"])
    signed = SIGNED_LIST.search(mask_paths(text))
    if signed and "-" in signed.group(1) and method not in _NEEDS_BASE:  # "weights -0.5 and 1.5, linear"
        raise NeedsAnswer(
            f"You gave the weights {signed.group(1).strip()}, one of them below 0; a {method} merge with a negative "
            "weight extrapolates away from that model, and Graft subtracts a model only in a task_arithmetic merge. "
            "Should it be task_arithmetic, or which weights above 0?"
        )
    if listed and (
        RATIO_THEN_NAMES.search(mask_paths(text))
        or any(partner_place(mask_paths(text)[a:b]) is not None for _, a, b in listed[0])
    ):
        weights = []  # "1:2:3 base, A and B": each share goes with the owner named in its place
    if (
        weights
        and len(weights) == 2
        and len(set(weights)) == 2
        and not weights_for(mask_paths(text))
        and any(  # not "merge B and C into out/x": where the result goes is no member
            _verbatim(text[m.start(1) : m.end(1)].rstrip(".,"), ctx) != ctx.output_said
            for m in re.finditer(r"#{3,}\s+(?:into|in\s+to|(?<![а-я])в)\s+(#{3,})", mask_paths(text))
        )
    ):  # "merge B into A 70/30": whether A keeps 70 or B brings 70 is read both ways
        raise NeedsAnswer(
            f"You wrote '{text.strip(' ,.;')}': one model merged into another, with a ratio; which weight goes to "
            f"which model ({', '.join(m.lstrip('@') for m in stage['models'])})?"
        )
    labelled = _label_placed(weights, stage, text, ctx)  # "60/40 with B (60 for partner)": B takes 0.6
    if weights and not labelled and (unread := ratio_owner_unread(text)) is not None:
        sentence = next((s for s in reversed(re.split(r"(?<=[.!?])\s+|\s{2,}", text)) if unread in s), text)
        raise NeedsAnswer(
            f"You wrote '{sentence.strip(' ,.;!?')}', and Graft did not read whose share is bigger; which weight goes to "
            f"which model ({', '.join(m.lstrip('@') for m in stage['models'])})?"
        )
    named = weights_for(mask_paths(text))
    if named and not weights:
        order = []
        for _, s, e in named[0]:
            name = text[s:e]
            hit = _member_named(name, stage["models"], ctx)
            if hit is None and "@base" not in stage["models"] and _member_word(name, [*stage["models"], "@base"]):
                stage["models"].append("@base")  # "0.5 A, 0.3 B, остальное наша модель": the opened model is one
                hit = "@base"
            order.append(hit)
        if (
            None not in order
            and "@base" in stage["models"]
            and "@base" not in order
            and method in _NEEDS_BASE
            and stage.get("base", "@base") == "@base"  # (with another base named, ours is a member to weigh)
            and sorted(order) == sorted(m for m in stage["models"] if m != "@base")
        ):  # "task_arithmetic with B over the base, 1.0 for ours and 0.3 for B": the base is the reference
            stage["models"] = [m for m in stage["models"] if m != "@base"]
        if None in order or sorted(order) != sorted(stage["models"]):
            raise NeedsAnswer(
                f"You wrote '{text[named[1] : named[2]]}', and those weights do not name each model of the merge "
                f"({', '.join(m.lstrip('@') for m in stage['models'])}) once; which weight goes to which model?"
            )
        stage["models"] = order  # "0.25 for B and 0.75 for the base": each weight with the model it was said for
        weights = [v for v, _, _ in named[0]]
        parts = re.search(r"\bparts?\b|\bshares?\b|(?<![а-я])част(?:ь|и|ей)(?![а-я])", text[named[1] : named[2]])
        if parts and method not in ("linear", "ties", "della"):  # "2 parts and 1 part" is a ratio, so normalised
            raise NeedsAnswer(
                f"You wrote '{text[named[1] : named[2]]}': shares as parts, which fix the merge only where mergekit "
                f"normalises the weights (linear, TIES, DELLA); which weight should each model get in {method}?"
            )
    if (
        not weights
        and len(stage["models"]) == 1
        and method in _NEEDS_BASE
        and (one := one_named_weight(mask_paths(text), text))
        and _member_named(text[one[1] : one[2]], stage["models"], ctx) == stage["models"][0]
    ):  # "add B's task vector at 0.8 onto ours": the one member's weight (its scale); the reference takes none
        weights = [one[0]]
        named = True
    if not weights and len(stage["models"]) == 2 and (one := one_named_weight(mask_paths(text), text)):
        hit = _member_named(text[one[1] : one[2]], stage["models"], ctx)
        if (
            hit is not None
            and method in _NEEDS_BASE
            and "@base" in stage["models"]
            and hit != "@base"
            and stage.get("base", "@base") == "@base"  # (with another base named, ours is a member to weigh)
        ):
            # "B into the base with task_arithmetic, weight 0.7 for B": the base is the reference, B's vector is scaled
            stage["models"] = [hit]
            weights = [one[0]]
            named = True
        elif (
            hit is not None
            and method in _NEEDS_BASE
            and "@base" not in stage["models"]
            and re.search(r"weight|(?<![а-я])вес", mask_paths(text)[one[3] : one[4]])
        ):  # (a share, "ours two thirds", «нашей модели две трети», leaves the rest to the other)
            # "fine-tune, then ties with B with weight 0.8": each task vector has its own weight; no "rest" is implied
            other = next(m for m in stage["models"] if m != hit)
            raise NeedsAnswer(
                f"You gave {hit.lstrip('@')} the weight {one[0]:g}; in a {method} merge each model's task vector has its "
                f"own weight, so what weight should {other.lstrip('@')} get?"
            )
        elif hit is not None:  # "then merge that with B: 0.8 to partner": B 0.8, ours the rest
            weights = [one[0] if m == hit else round(1 - one[0], 6) for m in stage["models"]]
            named = True  # each weight is with its member already: the members are not reordered
            other = next(m for m in stage["models"] if m != hit)
            ctx.notes.append(
                f"{other.lstrip('@')} takes the rest of the merge: {1 - one[0]:g} (you gave {hit.lstrip('@')} {one[0]:g})."
            )
    if not weights and (ratio := relative_weights(mask_paths(text))):
        if method not in ("linear", "ties", "della") or len(stage["models"]) != 2:
            raise NeedsAnswer(
                f"You wrote '{text[ratio[1] : ratio[2]]}': a ratio of weights, which fixes the merge only where the "
                "weights are normalised (linear, TIES, DELLA over two models); which weight should each model get?"
            )
        weights = ratio[0]
        ctx.notes.append(
            f"weights {weights[0]:g} and {weights[1]:g} from '{text[ratio[1] : ratio[2]]}' (mergekit normalises them)."
        )
    merge_numbers = merge_number_facts(ctx.merge_config) + merge_number_facts(mask_paths(text))
    each_density = re.search(  # "density 0.4 for the first and 0.8 for the second", "плотность 0.4 у первой и 0.8 у второй"
        r"(?:densit\w*|плотност\w*)\s*[:=]?\s*\d*\.?\d+\s+(?:for|to|on|у|для|на)\s+(?:the\s+)?\S+(?:\s+(?:one|model|модел\w*))?"
        r"\s*(?:,|and|и|а)\s*(\d*\.?\d+)\s+(?:for|to|on|у|для|на)\s",
        mask_paths(text),
    )
    if each_density:
        merge_numbers.append(
            Fact("density", float(each_density.group(1)), "", each_density.start(1), each_density.end(1))
        )
    for listed in re.finditer(  # "density 0.5 and 0.7 respectively", "плотность 0.5 и 0.7": one value per model
        r"(?:densit\w*|плотност\w*)\s*[:=]?\s*(\d*\.?\d+(?:\s*(?:,|and|и|/)\s*\d*\.?\d+)+)", mask_paths(text)
    ):
        if (half := re.fullmatch(r"(\d+)\s*/\s*(\d+)", listed.group(1))) and int(half[1]) < int(half[2]):
            continue  # "density 1/2": one value as a fraction (read so in agent/goal_facts.py), not two
        for value in re.findall(r"\d*\.?\d+", listed.group(1)):
            merge_numbers.append(Fact("density", float(value), "", listed.start(1), listed.end(1)))
    for slot in ("density", "t"):  # "A density 0.4, B density 0.8": Graft's merge has one value of each
        values = {f.value for f in merge_numbers if f.slot == slot}
        if len(values) > 1:
            raise NeedsAnswer(
                f"You gave the merge {len(values)} values of {slot} ({', '.join(f'{v:g}' for v in sorted(values))}); "
                f"Graft's merge gives every model one {slot}. Which one should it be?"
            )
    said = {f.slot: f.value for f in merge_numbers}  # agent/goal_facts.py: density, t (also said after the merge)
    if method in ("slerp", "nearswap"):
        toward = re.search(  # "t=0.2 towards B", «t=0.2 в сторону B»: t is the way to B, so B is the second model
            rf"(?<![\w-])t\s*[=:]?\s*(?:0?\.\d+|0|1)\s*,?\s*(?:towards?|в\s+сторону|ближе\s+к)\s+(?:the\s+)?"
            rf"(?P<a>#{{3,}}|{OURS}|{BASE_WORDS})",
            mask_paths(text),
        )
        towards = _member_named(text[toward.start("a") : toward.end("a")], stage["models"], ctx) if toward else None
        if len(stage["models"]) == 2 and towards is not None:
            stage["models"] = [next(m for m in stage["models"] if m != towards), towards]
        elif len(stage["models"]) == 2 and (roles := SLERP_ROLES.search(mask_paths(text))):
            first = _member_named(text[roles.start("a") : roles.end("a")], stage["models"], ctx)
            if first is not None:  # "B as first model and ours as the second": t is the second's (ours') share
                stage["models"] = [first, next(m for m in stage["models"] if m != first)]
        elif len(stage["models"]) == 2 and (
            into := re.search(
                rf"\b(?:merge|blend|fold|slerp|mix)\w*\s+(?:the\s+)?#{{3,}}\s+(?:in|into|onto)\s+(?:the\s+)?"
                rf"(?P<a>#{{3,}}|{OURS}|{BASE_WORDS})"
                r"|(?<![а-я])(?:влей|влить|вмерж\w*|вмердж\w*|смерж\w*|смердж\w*|слей|слерпни)\s+#{3,}\s+в\s+"
                rf"(?P<b>#{{3,}}|{OURS}|{BASE_WORDS})",
                mask_paths(text),
            )
        ):  # "merge B into A with slerp, t 0.7": A is where t starts (t 0), B the share t gives
            group = "a" if into["a"] else "b"
            first = _member_named(text[into.start(group) : into.end(group)], stage["models"], ctx)
            if first is not None:
                stage["models"] = [first, next(m for m in stage["models"] if m != first)]
        elif (
            len(stage["models"]) == 2
            and said.get("t") is not None
            and not any(s["kind"] != "convert" for s in ctx.stages)
        ):
            # "slerp B with ours, t 0.1": t is the second named model's share, so the members go in the order said
            stage["models"] = _in_said_order(stage["models"], text, ctx)
        t = said.get("t")
        if t is None:
            t = _float(r"\bat\s+(\d*\.\d+)", text)
        favour = re.search(FAVOURING, text)
        if t is None and favour and method == "slerp" and len(stage["models"]) == 2:
            t = _favoured_t(favour, stage["models"], ctx)  # "favouring B 3 to 1": t is the second model's share
        if t is None and weights and method == "slerp" and len(weights) == 2 and sum(weights) > 0:
            t = round(weights[1] / sum(weights), 6)  # "1:1 with slerp" is t 0.5: the second's share of the two
            if abs(sum(weights) - 1) > 1e-6:
                ctx.notes.append(
                    f"slerp's t is the second model's share: {weights[0]:g} and {weights[1]:g} give t {t:g}."
                )
        if re.search(r"halfway|half way|midpoint|half[- ]and[- ]half|fifty[- ]fifty|посередине|пополам|поровну", text):
            t = 0.5
        if t is not None:
            stage["t"] = t
    elif (each := each_weight(mask_paths(text))) and not weights:  # "weights 0.5 each", "по трети каждой"
        if (
            method in _NEEDS_BASE
            and "@base" in stage["models"]
            and len(stage["models"]) > 2
            and stage.get("base", "@base") == "@base"
        ):
            # "ties ours + B + C, B and C 0.5 each": in a task-vector merge ours is the reference, weighed by none
            stage["models"] = [m for m in stage["models"] if m != "@base"]
        stage["weights"] = [each[0]] * len(stage["models"])
    elif weights or (weights := _single_weight(text)):
        if (
            not named and not labelled
        ):  # "B with the base, 70/30": B takes 0.7 (a weight said with its model is placed already)
            stage["models"] = _in_said_order(stage["models"], text, ctx)
        if (
            len(weights) == len(stage["models"]) - 1
            and "@base" in stage["models"]
            and method in _NEEDS_BASE
            and stage.get("base", "@base") == "@base"  # (with another base named, ours is a member to weigh)
        ):
            # "add B to the base with weight 0.8", "B weight 1.0 relative to A as base": the base is the ancestor,
            # B's task vector is scaled by the weight
            stage["models"] = [m for m in stage["models"] if m != "@base"]
            ctx.notes[:] = [n for n in ctx.notes if not n.startswith("the merge's members are listed as you named")]
        if (
            len(weights) == len(stage["models"]) + 1
            and "@base" not in stage["models"]
            and method in _NEEDS_BASE
            and stage.get("base", "@base") == "@base"
        ):
            places = _said_places(["@base", *stage["models"]], text, ctx)
            listed = re.search(r"(?<![\w.])\d*\.?\d+(?:\s*(?:,|;|/|and|и)\s*\d*\.?\d+){2,}(?![\w.])", mask_paths(text))
            if not listed:  # "база A, B вес 0.6, C вес 0.4, и базе вес 1": each weight has its owner; the order of
                raise NeedsAnswer(  # the names is not the order of the weights (it gave B 0.4 and C 1: silent)
                    f"You gave {len(weights)} weights for the base and {len(stage['models'])} models in a {method} merge, "
                    "where mergekit gives the base no weight; which weight is each model's?"
                )
            if places and sorted(places, key=places.get) == ["@base", *stage["models"]]:
                # "TIES merge the base with B and C, weights 0.5, 0.3 and 0.2": mergekit takes no task vector
                # from the base, so the base's weight changes nothing; B and C take the rest in order
                ctx.notes.append(
                    f"the base's weight {weights[0]:g} is left out: a {method} merge takes task vectors relative to "
                    "the base, so mergekit ignores a weight given to the base itself."
                )
                weights = weights[1:]
        if (
            len(weights) == 1
            and 0 < weights[0] < 1
            and method == "linear"
            and len(stage["models"]) == 2
            and "@base" in stage["models"]
            and INTO_BASE.search(mask_paths(text))
        ):  # "merge B into the base with weight 0.3": B's share is said, the base keeps the rest
            share = weights[0]
            weights = [round(1 - share, 6) if m == "@base" else share for m in stage["models"]]
            ctx.notes.append(
                f"the base keeps the rest of the linear merge: {1 - share:g} to the base, {share:g} to the model merged into it."
            )
        if len(weights) != len(stage["models"]):
            names = ", ".join(m.lstrip("@") for m in stage["models"])
            said = re.search(r"(?:weights?|вес\w*|with|с)\s*[:=]?\s*\d[\d.,/\s%иand]*", text)
            raise NeedsAnswer(
                (f"You wrote '{said.group(0).strip()}': " if said else "")
                + f"{len(weights)} weight{'s' if len(weights) > 1 else ''} ({', '.join(f'{w:g}' for w in weights)}) "
                f"for a merge of {len(stage['models'])} models ({names}); which weight goes to which model?"
            )
        stage["weights"] = weights
    elif re.search(
        r"halfway|half way|equal|half and half|fifty[- ]fifty|поровну|пополам|50 на 50|(?:равн|одинаков)\w*\s+(?:вес|дол|част)",
        text,
    ):
        if (
            method in _NEEDS_BASE
            and "@base" in stage["models"]
            and len(stage["models"]) > 2
            and stage.get("base", "@base") == "@base"
        ):
            # "dare_ties B and C on top of ours, equal weights": ours is the reference, the others weigh the same
            stage["models"] = [m for m in stage["models"] if m != "@base"]
        # (a linear merge is an average: each of n members 1/n, as said; mergekit would normalise 0.5 each the same)
        share = round(1 / len(stage["models"]), 6) if method == "linear" else 0.5
        stage["weights"] = [share] * len(stage["models"])
    if "density" in said:
        stage["density"] = said["density"]
    _finish_merge(stage, text, ctx)


def _base_weighed(said: str, method: str) -> NeedsAnswer:
    """A share said for the base of a task-vector merge: asked (one wording, so its Russian form is one too)."""
    return NeedsAnswer(
        f"You wrote '{said}', and in a {method} merge the base is the reference whose differences the others add; "
        "mergekit gives the base no weight. Should the others' weights be as said (they are normalised), or should "
        "it be a linear merge?"
    )


# the words right before a member that take its task vector away: "subtract C's", «вычти вектор C», "minus C"
TAKEN_AWAY_BEFORE = re.compile(
    rf"(?:{SUBTRACT.pattern}|\bminus\b|(?<![а-я])минус)\s+(?:the\s+)?(?:task[ _-]?vectors?\s+(?:of\s+)?"
    r"|(?:вектор\w*|дельт\w*)(?:\s+задач\w*)?\s+)?$"
)


def _signs_said(stage: dict[str, Any], text: str, ctx: Context) -> None:
    """Task arithmetic with no weights said: a member named right after "subtract" is taken away at -1, the rest
    added at 1 (mergekit's weight of a task vector), and the review says so."""
    masked = mask_paths(text).lower()
    signs = []
    for model in stage["models"]:
        at = text.lower().find(model.lower()) if not model.startswith("@") else -1
        if at < 0:
            return
        signs.append(-1.0 if TAKEN_AWAY_BEFORE.search(masked[max(0, at - 40) : at]) else 1.0)
    if -1.0 in signs and 1.0 in signs:
        stage["weights"] = signs
        ctx.notes.append(
            "task arithmetic: "
            + ", ".join(
                f"{Path(m).name} {'subtracted' if w < 0 else 'added'} at weight {w:g}"
                for m, w in zip(stage["models"], signs, strict=True)
            )
            + "."
        )


def _finish_merge(stage: dict[str, Any], text: str, ctx: Context) -> None:
    from agent.goal_numbers import exact_share

    if stage.get("method") == "task_arithmetic" and not stage.get("weights") and len(stage["models"]) >= 2:
        _signs_said(stage, text, ctx)  # "add B's task vector, subtract C's": B at +1, C at -1
    if stage.get("weights"):  # "a third" had five characters to be written in: 1/3 to six places, as said
        stage["weights"] = [exact_share(w) for w in stage["weights"]]
    if stage.get("t") is not None:
        stage["t"] = exact_share(stage["t"])
    if "@base" in stage["models"]:  # "…: base 50%, B 30%, the rest C": the weights made the base a member after all
        stale = f"{ctx.request.model} is their base (the common ancestor), not a member."
        ctx.notes[:] = [n for n in ctx.notes if not n.endswith(stale)]
    seed = [f.value for f in number_facts(mask_paths(text) + " " + ctx.merge_config) if f.slot == "seed"]
    if seed:
        stage["seed"] = seed[-1]  # "dare_ties …, seed 42": the random masks' seed
    ctx.stages.append(stage)


# "favouring B 3 to 1", "в пользу B 3 к 1": a SLERP leaning towards one of its two models
FAVOURING = (
    FAVOUR_WORDS + r"\s+(?:the\s+)?"
    r"(?P<who>\S+?(?:\s+model)?)[\s,]*(?:(?:at|by|with|as|about|roughly|around|примерно|около)\s+)?(?P<a>\d+(?:\.\d+)?)\s*(?:to|:|/|к)\s*(?P<b>\d+(?:\.\d+)?)"
)


def _favoured_t(favour: re.Match[str], models: list[str], ctx: Context) -> float:
    """SLERP's t (the second model's share) from the model said to be favoured and the ratio said for it."""
    a, b = float(favour["a"]), float(favour["b"])
    who = favour["who"].rstrip(".,")
    if re.fullmatch(r"(?:base|original|opened|current|starting)(?:\s+model)?|базов\w*|исходн\w*", who):
        target = "@base"
    elif re.fullmatch(
        r"ours|our(?:\s+(?:own|model|one|result|checkpoint))+|(?:the\s+)?(?:result|(?:fine-?|sft-?|dpo-?)?tuned"
        r"|trained|sft|dpo)(?:\s+(?:model|one|result|checkpoint))?|наш\w*(?:\s+модел\w*)?|результат\w*"
        r"|(?:до)?обученн\w*(?:\s+модел\w*)?",
        who,
    ):  # "favouring ours 3 to 1": the one trained stage's result among the two
        trained = [m for m in models if m.startswith("@") and m != "@base"]
        target = trained[0] if len(trained) == 1 else ""
    else:
        path = Path(_verbatim(who, ctx)).expanduser().resolve()
        target = (
            "@base"
            if _is_opened(str(path), ctx)
            else next((m for m in models if not m.startswith("@") and Path(m).resolve() == path), "")
        )
    if target not in models or a + b <= 0:
        raise NeedsAnswer(
            f"You wrote '{favour.group(0)}', and Graft could not tell which of the SLERP's two models "
            f"({', '.join(m.lstrip('@') for m in models)}) that is; what t should it use?"
        )
    share = a / (a + b)
    t = round(share if target == models[1] else 1 - share, 6)
    ctx.notes.append(f"t {t:g} from '{favour.group(0)}' (t is {models[1].lstrip('@')}'s share).")
    return t


def _relation_other(favoured: Favoured, text: str) -> str:
    """The other member of a share relation as the goal spells it (a path unmasked)."""
    at = mask_paths(text).find(favoured.other, favoured.who_end)
    return text[at : at + len(favoured.other)] if at >= 0 else favoured.other


def _favoured_weights(favoured: Favoured, stage: dict[str, Any], method: str, text: str, ctx: Context) -> None:
    """A two-model merge's weights (or SLERP's t) from a ratio said in favour of one member."""
    models = _in_said_order(stage["models"], text, ctx)
    who = text[favoured.who_start : favoured.who_end]
    if re.fullmatch(r"#+", mask_paths(who)):
        path = Path(_verbatim(who, ctx)).expanduser().resolve()
        target = (
            "@base"
            if _is_opened(str(path), ctx)
            else next((m for m in models if not m.startswith("@") and Path(m).resolve() == path), None)
        )
    elif re.match(r"first|перв", who):
        target = models[0]
    elif re.match(r"second|втор", who):
        target = models[1]
    else:
        target = _member_named(who, models, ctx)
    said = text[favoured.start : favoured.end]
    if target not in models:
        raise NeedsAnswer(
            f"You wrote '{said}', and Graft could not tell which of the merge's two models "
            f"({', '.join(m.lstrip('@') for m in models)}) that is; which weight goes to which model?"
        )
    other = next(m for m in models if m != target)
    if favoured.other and _member_named(_relation_other(favoured, text), models, ctx) != other:
        raise NeedsAnswer(  # "0.7 for C and 0.3 for the base" in a merge of B and C: the base is no member
            f"You wrote '{said}', and those shares do not name each model of the merge "
            f"({', '.join(m.lstrip('@') for m in models)}) once; which weight goes to which model?"
        )
    stage["models"] = models
    if method == "slerp":
        stage["t"] = favoured.big if target == models[1] else favoured.small
        ctx.notes.append(f"t {stage['t']:g} from '{said}' (t is {models[1].lstrip('@')}'s share).")
    else:
        stage["weights"] = [favoured.big if m == target else favoured.small for m in models]
        ctx.notes.append(f"weights {', '.join(f'{w:g}' for w in stage['weights'])} from '{said}'.")
    said = {f.slot: f.value for f in merge_number_facts(ctx.merge_config) + merge_number_facts(mask_paths(text))}
    if "density" in said:
        stage["density"] = said["density"]


def _member_said(who: str, ctx: Context) -> str:
    """A member as the goal named it: a folder as the planner spells its path, a word ("ours", "партнёру") as said."""
    return _verbatim(who, ctx) if "/" in who else who


def _member_named(name: str, models: list[str], ctx: Context) -> str | None:
    """The member a said name is: a folder by its path or bare name (the opened model too), else a member word."""
    if "/" in name or name.startswith((".", "~")):
        k = Path(_verbatim(name, ctx)).expanduser().resolve()
        hit = next((m for m in models if not m.startswith("@") and Path(m).resolve() == k), None)
        if hit is None and "@base" in models and k == Path(ctx.request.model).expanduser().resolve():
            return "@base"
        return hit
    if (result := stage_result_member(name, models)) is not None:  # "in favour of the sft result"
        return result
    by_name = [m for m in models if not m.startswith("@") and Path(m).name.lower() == name.lower()]
    if not by_name and "@base" in models and Path(ctx.request.model).name.lower() == name.lower():
        return "@base"
    return by_name[0] if len(by_name) == 1 else _member_word(name, models)


def _member_word(word: str, models: list[str]) -> str | None:
    """The member a word names: "ours"/"наш" the one trained result, "theirs"/"его" the one other model, "base"."""
    trained = [m for m in models if m.startswith("@") and m != "@base"]
    others = [m for m in models if not m.startswith("@")]
    merged = [m for m in trained if m.startswith("@merge")]
    if re.fullmatch(MERGE_RESULT_WORD, word) and (
        len(merged) == 1 and len(trained) == 1
    ):  # "then merge that result with A, 30% for the result": the merge before, not the opened model
        return merged[0]
    if re.fullmatch(OURS, word):
        if "@base" in models and (not trained or all(m.startswith("@merge") for m in trained)):
            # nothing trained ("ours" is the model the person opened); or a merge of other models, blended back
            # with ours: «slerp B с C, потом смешай это линейно с нашей, нам 0.7»
            return "@base"
        return trained[0] if len(trained) == 1 else None
    if re.fullmatch(THEIRS, word):
        return others[0] if len(others) == 1 else None
    if (place := partner_place(word)) is not None:  # "первого партнёра": the partners in the order they were named
        return others[place] if place < len(others) else None
    return "@base" if "@base" in models and re.fullmatch(BASE_WORDS, word) else None


# "70/30 (ours 70)", "60/40 with B (60 for partner)", "(партнёру 60)": one share of a ratio said again with its owner
RATIO_LABEL = re.compile(
    # "80/20, the 80 is the partner", «80/20, причём 80 — это партнёр»: the label said after the ratio, unbracketed
    # ("80-20 - the 20 for ours", «80 на 20 с B, где 20 - наша»)
    rf"(?:\bthe\s+|причём\s+|причем\s+|где\s+)(?P<v3>\d*\.?\d+)\s*%?\s+(?:is|goes\s+to|—|-|for)\s+(?:это\s+|for\s+)?(?:the\s+)?"
    rf"(?P<who3>#{{3,}}|{MEMBER_WORD})"
    # "70/30, ours gets the 70", «70 на 30, нашей достаётся 70»
    rf"|(?P<who4>#{{3,}}|{MEMBER_WORD})\s+(?:gets|takes|has|keeps|получает|берёт|берет|достаётся|достается)\s+(?:the\s+)?"
    r"(?P<v4>\d*\.?\d+)\s*%?(?![\w.])"
    rf"|\(\s*(?:(?P<v>\d*\.?\d+)\s*%?\s*(?:(?:for|to|для|на|у)\s+)?(?:the\s+)?(?P<who>#{{3,}}|{MEMBER_WORD})"
    rf"|(?P<who2>#{{3,}}|{MEMBER_WORD})\s*[:=—-]?\s*(?P<v2>\d*\.?\d+)\s*%?)\s*\)"
)


def _label_placed(weights: list[float], stage: dict[str, Any], text: str, ctx: Context) -> bool:
    """A two-model ratio whose one share is said again with its owner: the members are ordered so that owner takes
    it (the ratio's order alone had given it to the other: silent). Asked when the label fits neither share."""
    masked = mask_paths(text)
    label = RATIO_LABEL.search(masked)
    if not (weights and len(weights) == 2 and len(stage["models"]) == 2 and label):
        return False
    group, value = next(
        (g, label[v]) for g, v in (("who", "v"), ("who2", "v2"), ("who3", "v3"), ("who4", "v4")) if label[g]
    )
    hit = _member_named(text[label.start(group) : label.end(group)], stage["models"], ctx)
    share = float(value) / 100 if float(value) > 1 else float(value)
    places = [i for i, w in enumerate(weights) if abs(w - share) < 1e-6]
    said = list(RATIO_PARTS.finditer(masked[: label.start()]))
    if not places and said and float(value) > 1:  # "1 к 3 (нам 3)": the label names a part of the ratio as said
        parts = [float(said[-1][1]), float(said[-1][2])]
        places = [i for i, p in enumerate(parts) if abs(p - float(value)) < 1e-9]
    if hit is None or len(places) != 1 or len(set(weights)) < 2:
        raise NeedsAnswer(
            f"You wrote '{text[label.start() : label.end()]}' beside the ratio; which weight goes to which model "
            f"({', '.join(m.lstrip('@') for m in stage['models'])})?"
        )
    other = next(m for m in stage["models"] if m != hit)
    stage["models"] = [hit, other] if places[0] == 0 else [other, hit]
    return True


def _in_said_order(models: list[str], text: str, ctx: Context) -> list[str]:
    """The members in the order the person named them, so listed weights go to the model they were said for.

    Only for the opened model and model folders; a trained stage's result is named by no word to place."""
    places = _said_places(models, text, ctx)
    if places is None:
        return models
    ordered = sorted(models, key=lambda m: places[m])
    if ordered != models:
        ctx.notes.append(f"the merge's members are listed as you named them: {', '.join(ordered)}.")
    return ordered


# a folder given a short name ("call ../b B", «назовём ../b моделью Б»), read in the lower-cased goal
LABEL_NAMING = re.compile(LABEL_GIVEN.pattern, re.IGNORECASE)
OURS_AFTER_MEMBER = re.compile(
    rf"#{{3,}}\s*(?:,|\band\b|\bwith\b|&|(?<![а-я])и|(?<![а-я])со?)\s*(?:the\s+)?(?P<ours>{OURS})"
)


def _said_places(models: list[str], text: str, ctx: Context) -> dict[str, int] | None:
    """Where the goal first names each member; None when one of them is named by no word."""
    places: dict[str, int] = {}
    naming = [  # (a bare letter after a path is a name only in the cased goal: "и ../b с t=0.4" is none)
        m.span() for m in LABEL_NAMING.finditer(text) if m["path5"] or m["path6"] or m["label9"] or m["label2"]
    ]
    for model in models:
        if model == "@base":
            hits = [m.start() for m in re.finditer(
                r"\bbase\b|\boriginal\b|\bstarting (?:model|point)|базов\w*|исходн\w*|оригинал\w*", text
            )]  # fmt: skip
            k = text.lower().find(ctx.request.model.lower())
            hits += [k] if k >= 0 else []
            if not any(m.startswith("@") and m != "@base" for m in models):  # "B and my model": nothing trained
                hits += [m.start() for m in re.finditer(rf"(?<![\w#])(?:{OURS})", mask_paths(text))]
        elif model.startswith("@"):  # "merge B with ours, 0.2 and 0.8": ours named right after a member, as one
            said = OURS_AFTER_MEMBER.search(mask_paths(text))
            if not said:
                return None
            hits = [said.start("ours")]
        else:  # (not where it is given a name: "call ../b B. slerp ours with B" names ours first)
            said = [m.start() for m in re.finditer(re.escape(model.lower()), text.lower())]
            hits = [k for k in said if not any(a <= k < b for a, b in naming)] or said[:1]
        if not hits:
            return None
        places[model] = min(hits)
    return places


ADAPTER_NAMED_AFTER = re.compile(r"\s*-?\s*(?:adapters?|ones?|loras?|checkpoints?|адаптер\w*|лор\w*)\b")
ADAPTER_NAMED_BEFORE = re.compile(r"(?:adapters?|адаптер\w*|on top of(?: the)?|over(?: the)?|onto(?: the)?|поверх)\s*$")
COMBINATIONS = (
    ("dare_ties", r"dare[_ -]?ties"), ("dare_linear", r"dare[_ -]?linear"), ("ties", r"\bties\b"),
    ("svd", r"\bsvd\b"), ("linear", r"\blinear\w*|weighted average|усредн\w*|линейн\w*"),
)  # fmt: skip
ON_TOP = re.compile(r"on top of|over the|поверх|сверху на|на (?:результат|модель после)")


def _qualifies_adapters(action: Action, found: list[Action], masked: str) -> bool:
    """In a clause that folds adapters, "the SFT one" / "DPO adapter" name adapters and "with TIES" says
    how to combine them: neither is a stage of its own."""
    if action.kind == "disk_adapter" or not any(a.kind == "disk_adapter" for a in found):
        return False
    if action.kind == "merge_models":  # "…adapter and dare_ties with ../b": a model merge of its own, after the fold
        return bool(re.fullmatch(r"ties|dare[_ -]?ties|dare[_ -]?linear", masked[action.start : action.end])) and not (
            re.match(r"\s+(?:with|с|со)\s+#{3,}", masked[action.end :])
        )
    if action.kind in ("sft", "dpo", "method_only"):
        return bool(
            ADAPTER_NAMED_AFTER.match(masked, action.end)
            or ADAPTER_NAMED_BEFORE.search(masked[max(0, action.start - 30) : action.start])
        )
    return False


def _adapter_folder(path: Path) -> bool:
    from tools.checkpoint import resolve_checkpoint

    try:
        return path.is_dir() and resolve_checkpoint(path).is_adapter
    except GraftError:
        return False


def _named_adapters(action: Action, ctx: Context) -> list[str]:
    """Adapter folders the action's words name: paths in the goal (original spelling), else --data folders by name."""
    text = action.text
    named: list[tuple[int, str]] = []
    for token in re.findall(r"\S+", ctx.request.goal):
        token = token.lstrip("\"'(«").rstrip(".,;:!?\"')»")
        if not re.search(r"[^\W\d]", token):  # 0.7/0.3 and 70/30 are weights, not folders
            continue
        pos = text.find(normalise(token))
        if pos < 0 or not ("/" in token or Path(token).is_dir()):
            continue
        if OUTPUT_BEFORE.search(text[:pos]):
            continue  # "слить адаптер и записать в out/x": where the result goes, not an adapter
        path = Path(token).expanduser()
        if not path.exists():
            if "/" in token:
                raise GraftError(missing(token, "named in the goal as an adapter"))
            continue
        if not _adapter_folder(path):
            if "/" in token and path.resolve() != Path(ctx.request.model).resolve():
                from tools.checkpoint import resolve_checkpoint

                resolve_checkpoint(path)  # says why it is no checkpoint (e.g. only trainer checkpoints inside)
                raise GraftError(
                    f"{token} is a full model, not an adapter; to blend models say 'merge it with {token}'."
                )
            continue
        if str(path) not in [p for _, p in named]:
            named.append((pos, str(path)))
    if named:
        return [p for _, p in sorted(named)]
    if not ctx.disk_adapters:
        return []
    by_word: list[tuple[int, str]] = []
    for match in re.finditer(r"[a-zа-я0-9_]{3,}", text):
        hits = [p for p in ctx.disk_adapters if match.group(0) in normalise(Path(p).as_posix())]
        if len(hits) == 1 and hits[0] not in [p for _, p in by_word]:
            by_word.append((match.start(), hits[0]))
    if by_word:
        return [p for _, p in by_word]
    many = re.search(r"adapters|both|two|three|all|адаптеры|оба|два|две|три|все", text)
    if len(ctx.disk_adapters) == 1 or many:
        return list(ctx.disk_adapters)
    raise NeedsAnswer("Which adapter should be folded in: " + ", ".join(ctx.disk_adapters) + "? Name it in the goal.")


def _disk_adapters(action: Action, ctx: Context) -> None:
    """merge_adapter stage(s) for adapters on disk: checked against the base, in the order they apply."""
    from tools.lora_tools import fit_adapter, read_adapter

    paths = _named_adapters(action, ctx)
    if not paths:  # "merge the adapter" after a training stage
        if not _pending_adapter(ctx):
            raise NeedsAnswer(
                "Which adapter should be folded in? Name its folder in the goal (e.g. ./ckpt) or pass it with --data."
            )
        _fold(ctx)
        return
    for path in paths:
        fit = fit_adapter(read_adapter(path), ctx.request.model)
        if not fit.fits:
            raise GraftError(f"the adapter {path} does not fit {ctx.request.model}: {fit.problems[0]}")
    if _pending_adapter(ctx):
        _fold(ctx, "the adapter trained in this plan is folded in before the adapters from disk.")
    text = action.text
    if len(paths) > 1 and ON_TOP.search(text):
        paths = paths[::-1]  # "apply A on top of B": B first
        for path in paths:
            ctx.stages.append({"kind": "merge_adapter", "id": ctx.unique("fold"), "adapters": [path]})
        ctx.notes.append(
            "the adapters are folded one after another, each onto the model the previous one made: "
            + " → ".join(paths)
            + "."
        )
        return
    stage: dict[str, Any] = {"kind": "merge_adapter", "id": ctx.unique("fold"), "adapters": paths}
    if len(paths) > 1:
        combination = next((name for name, pattern in COMBINATIONS if re.search(pattern, text)), None)
        if combination:
            stage["combination"] = combination
        else:
            ctx.notes.append(
                "the adapters' deltas are summed (PEFT's 'cat' combination, exact); say TIES, linear or SVD for another."
            )
        weights = parse_weights(text)
        if weights:
            if len(weights) != len(paths):
                raise GraftError(f"{len(weights)} weights for {len(paths)} adapters.")
            stage["weights"] = weights
        density = _float(r"density\s*(?:=|of)?\s*(\d*\.?\d+)", text) or _float(r"плотност\w*\s*(\d*\.?\d+)", text)
        if density:
            stage["density"] = density
    ctx.stages.append(stage)


def _write(action: Action, ctx: Context) -> str | None:
    text = action.text
    output = None
    dataset_paths = set(_paths(DATASET, text))
    for m in re.finditer(
        r"(?:to|into|in|at|as|under|output:?|out:?|write|save|в|во|под|выход:?)\s+(\S+/\S*|\S+\.safetensors)",
        action.text,
    ):
        path = m.group(1).rstrip(".,:;)]'\"")  # "write out/x:" before a pasted config, "(… write out/x)"
        opened = _is_opened(path, ctx)
        if path not in dataset_paths and not opened:  # "rewrite MODEL as bf16 in out/x": out/x, not the model
            output = _verbatim(path, ctx)
            break
    stage: dict[str, Any] = {"kind": "write", "id": ctx.unique("write")}
    # the goal's output dtype (agent/goal_facts.py): not a negated one ("don't save in bf16" is in the words
    # before this action's), not the training precision
    whole = mask_paths(normalise(ctx.corrected or ctx.request.goal))  # "2GB shards, no actually one file"
    said = output_dtype(whole) or output_dtype(mask_paths(text))
    if said:
        stage["dtype"] = said[0]
    shard = shard_size(whole)  # agent/goal_facts.py
    if shard:
        stage["max_shard_size"] = shard[0]
    ctx.stages.append(stage)
    return output


def _amend(reason: str, ctx: Context) -> None:
    """Apply a rejection reason ("use DoRA instead", "only the last 2 layers", "rank 4") to the training stages."""
    changes: dict[str, Any] = {}
    method = parse_method(reason)
    if method:
        changes["adapter"] = method
    targets = parse_targets(reason, ctx)
    if targets:
        changes["target_modules"] = targets
    layers = parse_layers(reason, ctx)
    if layers is not None:
        changes["layers"] = layers
    wanted = _replacement_method(reason)
    for stage in ctx.stages:
        if stage["kind"] == "dpo" and wanted and stage.get("method", "dpo") != wanted:
            for key in (
                "method", "beta", "loss_type", "loss_weights", "label_smoothing", "simpo_gamma", "cpo_alpha",
                "desirable_weight", "undesirable_weight",
            ):  # fmt: skip
                stage.pop(key, None)  # the new method's own defaults, not the old one's values
            stage["method"] = wanted
            changes["method"] = wanted
            name = {"dpo": "DPO", "kto": "KTO", "orpo": "ORPO", "simpo": "SimPO"}[wanted]
            ctx.notes[:] = [
                (
                    f"the SFT adapter is folded in before {name}, so {name}'s reference model is the fine-tuned one."
                    if wanted in ("dpo", "kto")
                    else f"the SFT adapter is folded in before {name}, which trains on it (no reference model)."
                )
                if n.startswith("the SFT adapter is folded in before")
                else n
                for n in ctx.notes
            ]
    for kind in ("sft", "dpo"):
        hyper = parse_hyper(reason, kind)
        for stage in ctx.stages:
            if stage["kind"] == kind:
                update = {**changes, **hyper}
                if kind != "dpo":
                    update.pop("method", None)
                stage.update(update)
    changed = {*changes, *parse_hyper(reason, "dpo"), *parse_hyper(reason, "sft")}
    stale = {
        "r": "uses the same rank as",
        "target_modules": "trains the same modules as",
        "layers": "trains the same layers as",
        "dropout": "uses the same LoRA dropout as",
    }
    ctx.notes[:] = [  # "stage dpo uses the same rank as sft: r=8" after the feedback set rank 4: no longer true
        n for n in ctx.notes if not any(key in changed and f" {phrase} " in n for key, phrase in stale.items())
    ]
    if changes or parse_hyper(reason, "dpo"):
        ctx.notes.append(
            f"changed after your feedback ({reason}): "
            + ", ".join(sorted({*changes, *parse_hyper(reason, "dpo")}))
            + "."
        )
    else:
        ctx.notes.append(
            f"your feedback ({reason}) named nothing the offline planner can change; the plan is the same."
        )


def _leftovers(
    text: str, actions: list[Action], trained_on: set[str] = frozenset(), num_layers: int | None = None
) -> list[str]:
    """Words that no rule placed: shown, so the person knows what was not taken as an instruction. A word that is
    the name of a dataset a stage trains on ("SFT on chat" with chat.jsonl) was placed."""
    known = re.compile(
        r"\d|\.jsonl|\.json|\.csv|\.parquet|/|_proj|c_attn|c_fc|rank|alpha|beta|epoch|layer|attention|mlp|"
        r"lora|dora|merge|adapter|weight|dataset|data|output|model|last|first|слой|сло|эпох|ранг|внимани|адаптер|"
        r"модел|данн|файл|safetensors|then|after|finally|потом|затем|сначала|конце|"
        r"top|bottom|final|upper|lower|последн|перв|верхн|нижн|halfway|поровну|пополам|base|баз|исходн|"
        r"full|полн|query|key|value|quer|запрос|ключ|значени|projection|проекц|learning|rate|скорост|обучени|выход|"
        r"steps|шаг|batch|батч|density|плотност|precision|shard|линейн|linear|percent|процент|"
        r"slerp|ties|dare|arithmetic|task|blend|second|another|variant|втор|друг|бета|метод|method|вес|using|"
        r"dpo|ipo|orpo|simpo|kto|thumbs|desirable|undesirable|gamma|sft|hinge|sigmoid|robust|loss|лайк|дизлайк|pack|упаков|"
        r"both|everything|everywhere|обоих|обеих|везде|inclusive|включительн|skip|dtype|type"
    )
    from agent.goal_numbers import ordinal_value, word_value

    numbers = set(NUMBER_WORDS)
    # words a stated fact was read from ("batch size 8", "с альфой восемь") were placed or asked about
    numbers |= {w for f in goal_facts(text, num_layers) for w in re.findall(r"[a-zа-я][a-zа-я'-]{3,}", f.phrase)}
    text = EXPLICIT_MODULE.sub(" ", mask_paths(text))
    words = re.findall(r"[a-zа-я][a-zа-я'-]{3,}", text)
    words = [w for w in words if word_value(w) is None and ordinal_value(w) is None]
    covered = {w for a in actions for w in re.findall(r"[a-zа-я][a-zа-я'-]{3,}", text[a.start : a.end])}
    # SLERP's t; how layers are counted; "каждому", "each one": the values said go to every stage
    for said in (
        *re.finditer(FAVOURING, text),
        *ZERO_BASED.finditer(text),
        *EVERY_STAGE.finditer(text),
        *RUN_BEFORE.finditer(text),
    ):
        covered |= set(re.findall(r"[a-zа-я][a-zа-я'-]{3,}", said.group(0)))
    from agent.goal_settings import READ_WITH_VALUE

    for key, value in READ_WITH_VALUE.items():  # "int8_mask: true", "bias: none": a setting read as what Graft does
        for said in re.finditer(rf"(?<![\w-]){key}[\"']?\s*[:=]?\s*[\"']?(?:{value})\b", text):
            covered |= set(re.findall(r"[a-zа-я][a-zа-я'-]{3,}", said.group(0))) | set(key.split("_"))
    if any(a.from_base for a in actions):  # "two separate runs": read, each run starts from the base
        for said in SEPARATE_RUNS.finditer(text):
            covered |= {said.group(0), "runs", "run", "прогона", "прогонов", "прогоны", "запуска", "запусков"}
    return [
        w
        for w in dict.fromkeys(words)
        if w not in STOPWORDS
        and w not in covered
        and w not in numbers
        and w not in trained_on
        and not known.match(w)
        and not UNSUPPORTED.fullmatch(w)
    ][:12]


def plan_offline(request: PlanRequest) -> PlanOutcome:
    """Read the goal and build a plan; a missing essential becomes a question (in the goal's language),
    bad input a GraftError."""
    from agent.question_language import facts_in_language, in_language, notes_in_language, refusal_in_language

    try:
        outcome = _plan_offline(request)
    except GraftError as refused:
        said = refusal_in_language(str(refused), request.goal)
        if said != str(refused):
            raise GraftError(said) from None  # a Russian goal is refused in Russian where the sentence has a form
        raise
    if outcome.question:
        outcome.question = in_language(outcome.question, request.goal)
    outcome.notes = notes_in_language(outcome.notes, request.goal)
    if outcome.plan is not None:
        outcome.plan.notes = notes_in_language(outcome.plan.notes, request.goal)
    if outcome.report is not None:
        outcome.report.notes = notes_in_language(outcome.report.notes, request.goal)
    outcome.facts = facts_in_language(outcome.facts, request.goal)  # the review's echo, in the goal's language
    return outcome


def _plan_offline(request: PlanRequest) -> PlanOutcome:
    from agent.validate import validate_plan
    from tools.inspect import InspectArgs, inspect_checkpoint

    said_goal = request.goal  # what the person wrote: the plan records it as written
    request = request.model_copy(update={"goal": expand_labels(request.goal)})  # "3:1 в пользу B" for B (path)
    corrected, correction_notes = corrected_text(request.goal)  # "rank 64, scratch that, 16" → "rank 16"
    goal = normalise(corrected)
    if not goal:
        return PlanOutcome(
            question="What should the model become? Describe the goal, e.g. 'LoRA on attention with data.jsonl, then DPO'."
        )
    if not Path(request.model).exists():
        raise GraftError(f"{request.model} does not exist.")
    base = inspect_checkpoint(InspectArgs(path=request.model))
    if base.kind == "adapter":
        raise GraftError(
            f"{request.model} is an adapter, not a model; plan on its base ({base.adapter.base_model if base.adapter else '?'})."
        )
    datasets: dict[str, str] = {}
    problems: dict[str, str] = {}
    adapters: list[str] = []
    for path in request.data:
        if not Path(path).exists():
            raise GraftError(f"{path} does not exist.")
        if Path(path).is_dir() and not is_dataset_folder(path):  # an adapter to fold in (or a save_to_disk dataset)
            if not _adapter_folder(Path(path)):
                raise GraftError(
                    f"{path} is a folder but not a PEFT adapter or a datasets.save_to_disk folder; "
                    "--data takes dataset files, save_to_disk folders and adapters."
                )
            adapters.append(path)
            continue
        datasets[path] = classify_dataset(path, problems)
    ctx = Context(request, base.architecture or "this model", base.num_layers, base.modules, datasets)
    ctx.data_problems = problems
    ctx.disk_adapters = adapters
    ctx.notes.extend(correction_notes)
    ctx.corrected = corrected
    ctx.scoped = goal_facts(corrected, base.num_layers)
    refused = _unsupported_methods(goal)
    if refused:
        return PlanOutcome(
            question=f"Graft does not run {', '.join(refused)}: it trains with SFT, DPO (and IPO and its other losses), "
            "ORPO, SimPO and KTO. Which of those should the plan use instead, or should that part be left out?",
            notes=ctx.notes,
        )
    unsupported = sorted(
        {
            m.group(0)
            for m in UNSUPPORTED.finditer(goal)
            if not negated(goal, m.start())
            and not NEGATED_AFTER.match(goal, m.end())  # "PPO не надо, давай DPO"
            # "swift rlhf --rlhf_type dpo", "RLHF with DPO": the family name of a method Graft runs
            and not (m.group(0) == "rlhf" and re.search(r"(?<![a-z])(?:dpo|ipo|orpo|simpo|kto)(?![a-z])", goal))
        }
    )
    if unsupported:  # "quantization-aware training in int8", "квантизуй в int4": never planned as something else
        return PlanOutcome(
            question=_named_first(
                request,
                f"Graft does not do '{', '.join(unsupported)}': it trains (SFT, DPO, ORPO, SimPO, KTO), merges and "
                "writes float32, bfloat16 or float16 safetensors. Go on without it, or change the goal?",
            ),
            notes=ctx.notes,
        )
    if base.format == "pickle":
        ctx.stages.append({"kind": "convert", "id": ctx.unique("convert"), "source": request.model})
        ctx.notes.append(
            "the base is a pickle checkpoint; it is converted to safetensors first (without unpickling code)."
        )
    actions = find_actions(goal)
    if (
        not actions
        and (LOOSE_MERGE.search(mask_paths(goal)) or shares_said(mask_paths(goal)))
        and any(
            _is_weights(Path(_verbatim(p, ctx)).expanduser()) and not _is_opened(_verbatim(p, ctx), ctx)
            for p in _paths(PATHLIKE, goal)
        )
    ):  # "hey can u merge my model w/ B, like 70% mine", "объедини нашу модель с партнёрской B": a merge said loosely
        actions = [Action("merge_models", 0, len(goal), goal)]
    for scope, where in taken_back_stages(mask_paths(goal)):  # "SFT, DPO, merge, but skip the sft": say it is gone
        if not any(a.kind in ("sft", "dpo") and _action_scope(a) == scope for a in actions):
            words = re.match(r"[^,.;!?]*", goal[where:]).group(0).strip()
            ctx.notes.append(f"'{words}': the {SCOPE_NAMES.get(scope, scope)} stage said before it is left out.")
    for m in BEFORE_THAT.finditer(mask_paths(goal)):  # "DPO on prefs — а SFT на chat перед этим": it runs first
        training = [a for a in actions if a.kind in ("sft", "dpo")]
        owner = next((a for a in training if m.end() <= a.start <= m.end() + 30), None) or next(
            (a for a in reversed(training) if a.start < m.start()), None
        )
        k = actions.index(owner) if owner else 0
        if owner and k > 0 and actions[k - 1].kind in ("sft", "dpo") and actions[k - 1].kind != owner.kind:
            actions[k - 1], actions[k] = owner, actions[k - 1]
            ctx.notes.append(f"'{m.group(0)}': {goal[owner.start : owner.end].upper()} runs first.")
    if not any(a.kind == "merge_models" for a in actions) and (unrun := unsupported_merge_methods(mask(goal))):
        return PlanOutcome(  # "возьми слои 4–8 из B, остальное из базы (passthrough)": no merge read, the method named
            question=_named_first(request, unrun_merge_question(unrun[0])),
            notes=ctx.notes,
        )
    if order_swapped(request.goal):  # "sft on a then dpo on b, actually swap the order"
        training = [a for a in actions if a.kind in ("sft", "dpo")]
        if len(training) != 2:
            return PlanOutcome(
                question=f"You asked to swap the order, and the goal names {len(training)} training stages; "
                "in which order should they run?",
                notes=ctx.notes,
            )
        first, second = (actions.index(a) for a in training)
        actions[first], actions[second] = training[1], training[0]
        names = [goal[a.start : a.end].upper() for a in training]
        ctx.notes.append(f"you asked to swap the order: {names[1]} runs before {names[0]}.")
    restated: list[Action] = []  # "Actually, skip the DPO, just the SFT": the SFT said again, not a second round
    restating = False  # "… ORPO? no, skip the ORPO. Just SFT then DPO": the whole list said again
    for i, a in enumerate(actions):
        said_again = (
            a.kind in ("sft", "dpo")
            and not _paths(DATASET, re.split(r"[.;!?](?:\s|$)", goal[a.end : a.end + 80])[0])
            and any(b.kind == a.kind for b in actions[:i])
        )
        if said_again and re.search(
            r"(?:just|only|только|лишь|просто)\s+(?:the\s+|a\s+)?$", goal[max(0, a.start - 16) : a.start]
        ):
            restating = True
            continue
        if said_again and restating:
            continue  # the next stage of the list said again
        restating = False
        restated.append(a)
    try:
        actions = _config_then_data(_branches(_without_overview(restated, ctx), goal))
    except NeedsAnswer as question:
        return PlanOutcome(question=_named_first(request, str(question)), notes=ctx.notes)
    for i, a in enumerate(actions[:-1]):
        if a.kind == "merge_models" and not _paths(PATHLIKE, a.text) and actions[i + 1].kind == "write":
            a.text += actions[i + 1].text  # "Run this mergekit config and write out/x:\nmodels: …": its members follow
    joined: list[Action] = []
    for i, a in enumerate(actions):  # "get_peft_model(model, r = 16, …) then train on chat.jsonl": one stage
        after = actions[i + 1] if i + 1 < len(actions) else None
        if (
            a.kind == "sft"
            and after is not None
            and after.kind == "sft"  # "LoRA r=8 on attention, then DPO" is an SFT stage, then DPO
            and not _paths(DATASET, a.text)
            and not re.search(
                r"\b(?:sft|fine-?tun\w*|train\w*|teach\w*)\b|обуч\w*|дообуч\w*|тренир\w*", mask_paths(a.text)
            )
        ):
            after.text = a.text + after.text  # the adapter's config said before the stage it is for
            continue
        joined.append(a)
    actions = joined
    merged: list[Action] = []
    for a in actions:  # "merge_method: dare_ties" inside the pasted config is that merge's method, not a second merge
        before = goal[max(0, a.start - 16) : a.start]
        config = [b for b in merged if b.kind == "merge_models"]
        if (
            a.kind == "merge_models"
            and config
            and (re.search(r"merge_method\s*[:=]\s*[\"']?$", before) or goal.startswith("merge_method", a.start))
        ):
            config[-1].text += " " + a.text
            continue
        merged.append(a)
    actions = merged
    actions = [  # "learning rate: 1e-4 for SFT and 1e-6 for DPO; sft on a, dpo on b": stages a value was said for
        a
        for a in actions
        if not (
            a.kind in ("sft", "dpo")
            and re.search(r"\d\S*\s+(?:for|для)\s+(?:the\s+)?$", goal[max(0, a.start - 24) : a.start])
            and not _paths(DATASET, re.split(r"[,.;!?](?:\s|$)", goal[a.end : a.end + 80])[0])
            and sum(_action_scope(b) == _action_scope(a) for b in actions) > 1
        )
    ]
    stage_kinds = {"sft", "dpo", "variant", "variant_dpo", "merge_models", "merge_adapter", "disk_adapter"}
    if not any(a.kind in stage_kinds for a in actions) and _states_training(request.goal, base.num_layers):
        # "rank 8, two epochs, lr 1e-4 — and save to out/x", a pasted torchtune config: training values, no verb
        actions = [Action("sft", 0, 0, goal), *(a for a in actions if a.kind != "method_only")]
        ctx.notes.append("no training method was named; the values you gave are for a LoRA fine-tune (SFT).")
    for i, action in enumerate(actions[:-1]):
        if (
            action.kind == "merge_adapter"
            and actions[i + 1].kind == "sft"
            and re.match(r"\s*sft[\s_-]*(?:adapter|lora|адаптер)", actions[i + 1].text.lower())
        ):  # "merge and unload the SFT adapter, then ORPO": the SFT it names is trained first
            actions[i], actions[i + 1] = actions[i + 1], action
    for i, action in enumerate(actions):
        if action.kind in ("variant", "variant_dpo") and not any(a.kind == "merge_models" for a in actions[i + 1 :]):
            if action.from_base:
                said = FROM_BASE.search(mask_paths(action.text)).group(0)
                return PlanOutcome(
                    question=_named_first(
                        request,
                        f"You wrote '{said.strip()}' for a stage after another one, and nothing merges the two "
                        "results; should it continue from the stage before it, or be merged with it (and how)?",
                    ),
                    notes=ctx.notes,
                )
            # "then another SFT pass on b.jsonl": no merge to blend into, so a next round
            action.kind = "sft" if action.kind == "variant" else "dpo"
        if action.kind in ("sft", "dpo", "variant", "variant_dpo"):  # a branch is a round of its kind too
            scope = "sft" if action.kind in ("sft", "variant") else parse_preference_method(action.text) or "dpo"
            ctx.rounds[scope] = ctx.rounds.get(scope, 0) + 1
    if sum(ctx.rounds.values()) == 1:
        ctx.config_text = " ".join(a.text for a in actions if a.kind in ("write", "merge_adapter"))
    if sum(a.kind == "merge_models" for a in actions) == 1:
        ctx.merge_config = " ".join(mask_paths(a.text) for a in actions if a.kind == "write")
    output = request.output
    try:
        for action in actions:
            ctx.notes.extend(action.notes)
            if action.kind in ("sft", "dpo"):
                pending = _pending_adapter(ctx)
                if (
                    action.kind == "dpo"
                    and pending
                    and next(s for s in ctx.stages if s["id"] == pending)["kind"] == "sft"
                ):
                    # (after a DPO adapter, "DPO then KTO", the validator's note says whose adapter is folded)
                    name = {"dpo": "DPO", "kto": "KTO", "orpo": "ORPO", "simpo": "SimPO"}[
                        parse_preference_method(action.text) or "dpo"
                    ]
                    ctx.notes.append(
                        f"the SFT adapter is folded in before {name}, so {name}'s reference model is the fine-tuned one."
                        if name in ("DPO", "KTO")
                        else f"the SFT adapter is folded in before {name}, which trains on it (no reference model)."
                    )
                _training_stage(action.kind, action, ctx)
            elif action.kind == "merge_adapter":
                if not _pending_adapter(ctx):
                    ctx.notes.append("'merge the adapter' came before any adapter was trained; it was skipped.")
                    continue
                _fold(ctx)
            elif action.kind in ("variant", "variant_dpo"):
                before = ctx.last_training
                current = _fold(ctx, "the adapter is merged into the model before the model merge.")
                _training_stage("sft" if action.kind == "variant" else "dpo", action, ctx)
                ctx.stages[-1]["input"] = "@base"
                ctx.notes.append(
                    f"stage {ctx.stages[-1]['id']} is a separate {'fine-tune' if action.kind == 'variant' else 'preference run'}"
                    f" from the base on "
                    f"{ctx.stages[-1]['dataset']}, to merge with {current}."
                )
                ctx.partners.append(_fold(ctx))
                ctx.last_training = before
            elif action.kind == "merge_models":
                _merge_models(action, ctx)
            elif action.kind == "write":
                output = _write(action, ctx) or output
            elif action.kind == "disk_adapter":
                _disk_adapters(action, ctx)
    except NeedsAnswer as question:
        return PlanOutcome(question=_named_first(request, str(question)), notes=ctx.notes)
    if not any(s["kind"] in ("sft", "dpo", "merge_adapter", "merge_models") for s in ctx.stages) and (
        unrun := unsupported_merge_methods(mask(goal))
    ):
        return PlanOutcome(
            question=_named_first(request, unrun_merge_question(unrun[0])),
            notes=ctx.notes,
        )
    written = [s for s in ctx.stages if s["kind"] == "write" and (s.get("dtype") or s.get("max_shard_size"))]
    if not re.search(
        r"\b(?:convert|cast|re-?save|re-?write|reshard|export)\w*|\b(?:save|write|store)\s+(?:it|this|the model|this model|the checkpoint)\b"
        r"|конверт\w*|перевед\w*|пересохран\w*|перепиш\w*|перезапиш\w*|(?:сохрани|запиши)\s+(?:[а-я]+\s+)?(?:её|ее|модель|чекпоинт)"
        # "save as fp16 to out/x", "сохрани в fp16 в out/x": the dtype is what is written
        r"|\b(?:save|write|store)\s+(?:as|in|to)\s+(?:fp16|bf16|fp32|float16|bfloat16|float32|half)\b"
        r"|(?:сохрани|запиши)\s+(?:в|как)\s+(?:fp16|bf16|fp32|float16|bfloat16|float32)"
        # "save in 500MB shards to out/x", "сохрани шардами по 500 мегабайт": the goal's only verb is the write
        r"|^\W*(?:(?:just|only|please|просто|только|пожалуйста)\s+)?(?:save|write|store|сохрани\w*|запиши|выгрузи\w*)\b",
        goal,
    ) or re.search(r"\bresult|результат", goal):
        written = []  # a dtype or shard size alone is a write of the opened model only where the goal says so
    low_bits = re.search(
        r"\b(?:int8|int4|fp8|nf4|8[- ]?bit|4[- ]?bit|q4\w*|q8\w*|gguf|awq|gptq)\b|(?:8|4)\s*бит\w*", goal
    )
    if low_bits and not any(s["kind"] in ("sft", "dpo", "merge_adapter", "merge_models") for s in ctx.stages):
        return PlanOutcome(
            question=_named_first(
                request,
                f"Graft writes float32, bfloat16 or float16 safetensors; '{low_bits.group(0)}' would need quantisation, "
                "which Graft does not do. Write one of those, or train or merge something first?",
            ),
            notes=ctx.notes,
        )
    if not any(s["kind"] in ("sft", "dpo", "merge_adapter", "merge_models") for s in ctx.stages) and not written:
        from agent.intent import classify

        if classify(request.goal).route == "question":  # "what does MODEL contain?": answered from the files
            return PlanOutcome(
                question="That reads as a question about a checkpoint, not a goal (`graft inspect MODEL` answers it "
                "from the files, `graft diff A B` compares two, the TUI answers it in the chat); what should the plan "
                "do to the model?",
                notes=ctx.notes,
            )
        return PlanOutcome(
            question=_named_first(
                request,
                "What should be done to the model? Say e.g. 'fine-tune with LoRA on data.jsonl', "
                "'then DPO on prefs.jsonl', or 'merge it with ../other-model using TIES'.",
            ),
            notes=ctx.notes,
            not_understood=_leftovers(goal, actions),
        )
    both = re.search(  # "…, оба только на v_proj", "все на слоях 6-11": the modules and layers of every training stage
        r"(?<![\w-])(?:(?:both|all|оба|обе|все|у обоих|для обоих)(?:\s+(?:stages|runs|adapters|of them|этапа|этапов))?"
        r"(?:\s*:\s*|\s+(?:only\s+|только\s+)?(?:on|to|in|на|в)\s+)|(?:both|оба|обе|у обоих|для обоих)\s+)"
        r"(?:the\s+)?([^;.]+)",
        goal,
    )
    if not both:  # "…, but exclude layer 0 and layer 11 from lora": the comma-part before it, for every adapter
        both = re.search(
            r"(?:^|[,;]|\bbut\b)\s*([^,;]*?)\s+(?:from|for|in|to)\s+(?:the\s+|all\s+|every\s+|each\s+)?"
            r"(?:loras|adapters|lora\s+adapters|lora)\b(?=\s*(?:[,;.]|$))",
            goal,
        )
    trained = [s for s in ctx.stages if s["kind"] in ("sft", "dpo")]
    if both and len(trained) > 1:
        targets = parse_targets(both.group(1), ctx)
        layers = parse_layers(both.group(1), ctx)
        adapter = parse_method(both.group(1)[:24])  # "both DoRA", "оба с DoRA": every training stage's adapter
        for stage in trained:
            if adapter and stage.get("adapter") != "none":
                stage["adapter"] = adapter
            if targets and stage.get("adapter") != "none":
                stage["target_modules"] = targets
            if layers is not None:
                stage["layers"] = layers
    for reason in request.feedback:
        _amend(normalise(reason), ctx)
    if not any(s["kind"] == "write" for s in ctx.stages):
        ctx.stages.append({"kind": "write", "id": ctx.unique("write")})
        said = output_dtype(mask_paths(goal))  # "don't save in bf16, keep fp32": a dtype with no write verb
        if said:
            ctx.stages[-1]["dtype"] = said[0]
        shard = shard_size(mask_paths(goal))  # "max shard size 2GB" with no write verb
        if shard:
            ctx.stages[-1]["max_shard_size"] = shard[0]
        dtype = re.search(r"\b(bf16|bfloat16|fp16|float16|fp32|float32)\b(?![^.;!?\n]*\?)(?!\s+(?:or|или)\s)", goal)
        if (
            dtype and not said and not training_precision(mask_paths(goal).lower(), dtype.start(), dtype.end())
        ):  # "…, dtype bfloat16" anywhere, but never in a question ("is it bf16 or fp32?") nor how it trains
            ctx.stages[-1]["dtype"] = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}.get(
                dtype.group(1), dtype.group(1)
            )
        ctx.notes.append("a final write was added: the plan ends in one safetensors model.")
    writes = [s for s in ctx.stages if s["kind"] == "write"]
    ctx.stages = [s for s in ctx.stages if s["kind"] != "write"] + writes[:1]  # the write comes last
    _one_file(goal, ctx)
    output = output or ctx.output_said
    named = OUTPUT_NAMED.search(request.goal)
    if output is None and named and not Path(named.group("name")).expanduser().exists():
        output = named.group("name")  # "the output should be called tiny-llama-3.2.dpo": a new folder here
        ctx.notes.append(f"{output} (the name you gave) is where the final model is written, in the current folder.")
    if output is None and (unclaimed := _unclaimed_output(goal, ctx)):
        output = unclaimed  # "…, в out/x", "Put it in out/x", "Output dir out/x": no model or data is there
        ctx.notes.append(f"{output} is not a model, an adapter or a dataset: the final model is written there.")
    if output is None:
        output = str(Path(request.model).with_name(Path(request.model).name + "-graft"))
        ctx.notes.append(f"no output was named; the final model goes to {output}.")
    used = {str(Path(s["dataset"]).expanduser().resolve()) for s in ctx.stages if s.get("dataset")}
    unused = [
        p for p, shape in ctx.datasets.items() if shape != "?" and str(Path(p).expanduser().resolve()) not in used
    ]
    if unused and (both := ALL_THE_DATA.search(mask_paths(goal))):
        raise_question = (
            f"You said '{both.group(0)}', and the plan trains on "
            + (", ".join(Path(p).name for p in used) if used else "none of them")
            + f"; which stage should train on {', '.join(Path(p).name for p in unused)} "
            + f"({', '.join(DATA_SHAPES[ctx.datasets[p]] for p in unused)})?"
        )
        return PlanOutcome(question=_named_first(request, raise_question), notes=ctx.notes)
    vague = VAGUE_WISH.search(mask_paths(goal)) or BARE_TRAINING.fullmatch(mask_paths(goal))
    if unused and vague and not re.search(r"\b(?:sft|dpo|ipo|orpo|simpo|kto|lora|dora)\b|#{3,}", mask_paths(goal)):
        return PlanOutcome(  # "обучи что-нибудь хорошее" with two datasets: which stage, on which data, is a guess
            question=_named_first(
                request,
                f"You wrote '{vague.group(0)}': which training should the plan do, on which data? Given: "
                + ", ".join(
                    f"{Path(p).name} ({DATA_SHAPES[shape]})" for p, shape in ctx.datasets.items() if shape != "?"
                )
                + ".",
            ),
            notes=ctx.notes,
        )
    for path in unused:  # a file given and not trained on is said, never dropped quietly
        ctx.notes.append(f"{Path(path).name} was given as data, and no stage trains on it.")
    stages = [{**s, "kind": "preference"} if s["kind"] == "dpo" else s for s in ctx.stages]
    try:
        plan: Plan = plan_from_data(
            {"goal": said_goal.strip(), "base_model": request.model, "output": output, "stages": stages}, "the plan"
        )
    except GraftError as exc:  # a value read from the goal that no stage can take ("lr 0"): asked, not refused
        return PlanOutcome(
            question=f"A value read from your goal does not fit the plan ({str(exc).removeprefix('the plan: ')}) "
            "Which value did you mean?",
            notes=ctx.notes,
        )
    report = validate_plan(plan)
    trained_on = {  # "SFT on chat" with chat.jsonl, "train on my_chats" with my_chats.jsonl
        part
        for st in ctx.stages
        if st.get("dataset")
        for part in {Path(st["dataset"]).stem.lower(), *re.split(r"[-_. ]+", Path(st["dataset"]).stem.lower())}
    }
    int8_mask = r"(?<![\w-])int8[_ -]?(?:mask|маск)\w*|маск\w*\s+(?:в\s+)?int8"
    if re.search(int8_mask, goal) and any(s["kind"] == "merge_models" for s in ctx.stages):
        goal = re.sub(int8_mask, lambda m: " " * len(m.group(0)), goal)  # said back below, so no leftover word
        ctx.notes.append(  # said back, not dropped: it changes how mergekit stores its masks, not what it computes
            "int8_mask: mergekit's memory saving for its 0/1 masks; the merged weights are the same without it, "
            "and Graft's merge keeps its masks in the weights' dtype."
        )
    leftovers = _leftovers(goal, actions, trained_on, ctx.num_layers)
    if leftovers:
        ctx.notes.append("read as a description, not as instructions: " + ", ".join(leftovers) + ".")
    plan.notes = list(ctx.notes)
    # Fail closed: every fact the goal states is in the plan, or the person is asked (agent/goal_facts.py).
    misses = check_plan_against_goal(request.goal, plan, base.num_layers, feedback=request.feedback)
    if misses:
        return PlanOutcome(
            question=" ".join(dict.fromkeys(m.message for m in misses[:3])), notes=ctx.notes, not_understood=leftovers
        )
    return PlanOutcome(
        plan=plan,
        notes=ctx.notes,
        not_understood=leftovers,
        planner="offline",
        report=report,
        facts=fact_echo(request.goal, plan, base.num_layers, feedback=request.feedback),
    )


def _named_first(request: PlanRequest, question: str) -> str:
    """A question asked before any plan exists still names the settings and methods Graft would not apply."""
    named = [m.message for m in setting_misses(request.goal, None)]
    refused = _unsupported_methods(request.goal)
    if refused:
        named.insert(0, f"Graft does not run {', '.join(refused)} (it trains with SFT, DPO/IPO, ORPO, SimPO and KTO).")
    return " ".join(dict.fromkeys([*named[:2], question]))


def _states_training(goal: str, num_layers: int | None) -> bool:
    """'rank 16, alpha 32' or 'all but the first two layers' with no verb: values only a training stage takes."""
    training = {"r", "alpha", "dropout", "epochs", "max_steps", "learning_rate", "batch_size", "max_length", "layers",
                "gradient_accumulation", "warmup_steps", "weight_decay", "max_grad_norm", "scheduler"}  # fmt: skip
    return any(
        f.slot in training or (f.slot == "reference" and f.value in training) for f in goal_facts(goal, num_layers)
    )


def _unsupported_methods(goal: str) -> list[str]:
    """Training methods Graft does not run (PPO, GRPO, a reward model, …) that the goal asks for (not 'instead of PPO')."""
    named = []
    for m in UNSUPPORTED_METHODS.finditer(mask_paths(goal)):
        if re.search(NEGATED + r"$", goal[max(0, m.start() - 16) : m.start()]) or NEGATED_AFTER.match(
            mask_paths(goal), m.end()
        ):
            continue  # "instead of PPO", "PPO не надо, давай DPO"
        if m.group(0).lower() == "cpo" and any(
            not negated(goal.lower(), s.start()) for s in re.finditer(r"simpo|симпо", goal.lower())
        ):
            continue  # CPO with loss_type simpo is CPO-SimPO: SimPO with cpo_alpha, which Graft runs
        named.append(m.group(0).upper() if len(m.group(0)) <= 6 else m.group(0))
    return list(dict.fromkeys(named))
