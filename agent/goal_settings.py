"""Setting names in a goal that no reader placed: asked about by name, never dropped.

People paste config lines from TRL, PEFT, transformers, Axolotl, LLaMA-Factory and mergekit
("neftune_noise_alpha: 5", "--use_rslora", "optim: paged_adamw_8bit", "merge with karcher"). A name
Graft reads becomes a fact (agent/goal_facts.py) and the fact check sees whether the plan keeps it;
any other setting name would be a silent drop, so it is named in a question. The names are the
libraries' own (their config fields, listed by `python -m agent.goal_settings`; a test keeps the
lists equal to the pinned libraries), so the net covers the class, not the phrasings seen so far.
"""

from __future__ import annotations

import re
from typing import Any

# fmt: off
TRANSFORMERS_SETTINGS = frozenset("""
accelerator_config activation_checkpointing activation_checkpointing_kwargs adam_beta1 adam_beta2 adam_epsilon
auto_find_batch_size average_tokens_across_devices batch_eval_metrics bf16 bf16_full_eval data_seed
dataloader_drop_last dataloader_in_order dataloader_multiprocessing_context dataloader_num_workers
dataloader_persistent_workers dataloader_pin_memory dataloader_prefetch_factor ddp_backend
ddp_broadcast_buffers ddp_bucket_cap_mb ddp_find_unused_parameters ddp_static_graph ddp_timeout debug
deepspeed disable_tqdm do_eval do_predict do_train enable_jit_checkpoint eval_accumulation_steps eval_delay
eval_do_concat_batches eval_on_start eval_steps eval_strategy eval_use_gather_object fp16 fp16_full_eval fsdp
fsdp_config full_determinism gradient_accumulation_steps gradient_checkpointing gradient_checkpointing_kwargs
greater_is_better hub_always_push hub_model_id hub_private_repo hub_revision hub_strategy hub_token
ignore_data_skip include_for_metrics include_num_input_tokens_seen label_names label_smoothing_factor
learning_rate length_column_name liger_kernel_config load_best_model_at_end local_rank log_level
log_level_replica log_on_each_node logging_first_step logging_nan_inf_filter logging_steps logging_strategy
lr_scheduler_kwargs lr_scheduler_type max_grad_norm max_steps metric_for_best_model neftune_noise_alpha
num_train_epochs optim optim_args optim_target_modules output_dir parallelism_config
per_device_eval_batch_size per_device_train_batch_size prediction_loss_only project push_to_hub
remove_unused_columns report_to restore_callback_states_from_checkpoint resume_from_checkpoint run_name
save_on_each_node save_only_model save_steps save_strategy save_total_limit seed skip_memory_metrics tf32
torch_compile torch_compile_backend torch_compile_mode torch_empty_cache_steps trackio_bucket_id
trackio_space_id trackio_static_space_id train_sampling_strategy use_cache use_cpu use_liger_kernel
warmup_steps weight_decay
""".split())
PEFT_SETTINGS = frozenset("""
alora_invocation_tokens alpha_pattern arrow_config auto_mapping base_model_name_or_path bias corda_config
ensure_weight_tying eva_config exclude_modules fan_in_fan_out inference_mode init_lora_weights kasa_config
layer_replication layers_pattern layers_to_transform loftq_config lora_alpha lora_bias lora_dropout
lora_ga_config megatron_config megatron_core modules_to_save monteclora_config peft_type peft_version
qalora_group_size r rank_pattern revision runtime_config target_modules target_parameters task_type
trainable_token_indices use_bdlora use_dora use_qalora use_rslora velora_config
""".split())
TRL_SETTINGS = frozenset("""
activation_offloading alpha assistant_only_loss beta chat_template_path completion_only_loss cpo_alpha
dataset_kwargs dataset_num_proc dataset_text_field desirable_weight disable_dropout discopop_tau eos_token
eval_packing f_alpha_divergence_coef f_divergence_type generate_during_eval is_encoder_decoder label_smoothing
ld_alpha loss_type loss_weights max_completion_length max_length model_init_kwargs packing packing_strategy
pad_to_multiple_of pad_token padding_free padding_value precompute_ref_batch_size precompute_ref_log_probs
ref_model_mixup_alpha ref_model_sync_steps router_aux_loss_coef shuffle_dataset simpo_gamma sync_ref_model
truncation_mode trust_remote_code undesirable_weight use_weighting
""".split())
MERGEKIT_METHODS = frozenset("""
arcee_fusion breadcrumbs breadcrumbs_ties dare_linear dare_ties della della_linear karcher linear model_stock
multislerp nearswap nuslerp passthrough ram ramplus_tl sce slerp task_arithmetic ties
""".split())
MERGEKIT_SETTINGS = frozenset("""
alpha density eps epsilon filter_wise gamma int8_mask lambda max_iter normalize normalize_weights tol
nuslerp_flatten nuslerp_row_wise r rescale scale select_topk t weight
modules slices models merge_method base_model dtype tokenizer_source tokenizer chat_template out_dtype parameters
""".split())
# Axolotl and LLaMA-Factory keys people paste that are not one of the libraries' field names
TOOL_SETTINGS = frozenset("""
sequence_len sample_packing micro_batch_size num_epochs lora_r lora_target_modules lora_target_linear
load_in_4bit load_in_8bit val_set_size train_on_inputs flash_attention sdp_attention xformers_attention
lr_scheduler optimizer warmup_ratio eval_sample_packing pad_to_sequence_len lora_model_dir chat_template
special_tokens finetuning_type lora_target lora_rank cutoff_len pref_beta pref_loss pref_ftx neat_packing
template stage quantization_bit use_unsloth rope_scaling flash_attn max_samples overwrite_cache
preprocessing_num_workers plot_loss val_size per_device_eval_batch_size
""".split())
# fmt: on

# names Graft reads (a fact of agent/goal_facts.py, or a value the planner reads beside its method): a mention of
# one of these is checked by the fact check, so it is not asked about here
READ = frozenset(
    """
int8_mask r lora_r lora_rank rank alpha lora_alpha lora_dropout dropout num_train_epochs num_epochs epochs max_steps
learning_rate lr beta pref_beta per_device_train_batch_size micro_batch_size batch_size max_seq_length max_length
max_len cutoff_len sequence_len gradient_accumulation_steps gradient_accumulation warmup_steps warmup_ratio
weight_decay label_smoothing label_smoothing_factor seed eval_fraction val_set_size val_size test_size lr_scheduler_type lr_scheduler max_grad_norm packing
sample_packing neat_packing gradient_checkpointing activation_checkpointing target_modules lora_target_modules
lora_target layers_to_transform loss_type pref_loss simpo_gamma cpo_alpha desirable_weight undesirable_weight kto_chosen_weight kto_rejected_weight
use_dora merge_method density weight weights t models base_model dtype out_dtype output_dir max_shard_size export_size
parameters model random_state num_processes nproc_per_node num_gpus loss_weights max_epochs micro_train_batch_size
train_batch_size
""".split()
)

# names read only with these values ("finetuning_type: freeze" is not a plan Graft makes)
# keys whose value is a path the planner reads ("--data_path chat.jsonl", "dataset: prefs.jsonl")
PATH_KEYS = frozenset(
    {
        "data_path",
        "dataset",
        "dataset_name",
        "train_file",
        "datasets",
        "dataset_path",
        "output_dir",
        "train_dataset",
        "model_name_or_path",
        "pretrained_model_name_or_path",
        "model_path",
        "export_dir",
        "save_path",
        "save_dir",
        "output_path",
        "out_dir",
    }
)
READ_WITH_VALUE = {
    "rlhf_type": "dpo|orpo|simpo|kto",  # ms-swift
    "apply_lora_to_mlp": "true|false",
    "save_method": "merged_16bit",  # Unsloth: the adapter merged into 16-bit weights, as Graft writes them  # torchtune: read (true adds the MLP projections to the ones named)
    "stage": "sft|dpo|kto|orpo|simpo",
    "finetuning_type": "lora|full",
    "train_type": "lora|full",
    "adapter": "lora|dora",
    "train_on_inputs": "false|no|0",  # Graft's SFT loss is on the replies only, as with train_on_inputs off
    "lora_target_linear": "true|yes|1",  # Axolotl: every linear projection, as Graft's default target
    "bias": "none",  # PEFT's default: no bias is trained
    "int8_mask": "true|false|yes|no",
    "task_type": "causal_lm",  # PEFT: a causal language model's LoRA, the only kind Graft trains  # mergekit: how sign masks are stored in memory, not what is merged
    "completion_only_loss": "true|yes|1",
    "do_train": "true|yes|1",  # LLaMA-Factory/transformers: train (what the plan does)
    "merge_lora": "true|yes|1",  # ms-swift export: merge the adapter into the model, as Graft's plan ends
    "export_legacy_format": "false|no|0",  # LLaMA-Factory export: safetensors, what Graft writes
    "assistant_only_loss": "true|yes|1",
}

SOURCES = (
    ("TRL", TRL_SETTINGS),
    ("PEFT", PEFT_SETTINGS),
    ("transformers", TRANSFORMERS_SETTINGS),
    ("mergekit", MERGEKIT_SETTINGS),
    ("Axolotl/LLaMA-Factory", TOOL_SETTINGS),
)
SNAKE = re.compile(r"(?<![\w./#-])-{0,2}([a-z][a-z0-9]*(?:[_-][a-z0-9]+)*_[a-z0-9]+|[a-z][a-z0-9]*)(?![\w/#])")
# a single word is a setting only in config syntax ("optim: adamw", "bias=all", "--tf32"), not in a sentence
CONFIG_VALUE = re.compile(r"\s*(?:=|:)\s*\S")
SAID_VALUE = re.compile(
    r"\s+(?:of\s+|at\s+)?(?:-?\.?\d|(?:true|false)\b)"
)  # "epsilon 0.1", "lambda 1.0": a setting said in a sentence


def source_of(name: str) -> str | None:
    """Which library or tool has a setting of this name, for the question ('a TRL setting')."""
    return next((where for where, names in SOURCES if name in names), None)


def _understood_words() -> frozenset[str]:
    """Snake-case words that are values Graft reads, not settings: module names, methods, losses, schedules."""
    from agent.goal_facts import ATTENTION_NAMES, MLP_NAMES

    words = {*ATTENTION_NAMES, *MLP_NAMES, "all_linear"}
    words |= {"dare_ties", "dare_linear", "della_linear", "model_stock", "task_arithmetic"}
    words |= {"apo_zero", "apo_down", "exo_pair", "nca_pair", "bco_pair", "sppo_hard", "aot_unpaired", "sigmoid_norm"}
    words |= {"apo_zero_unpaired", "cosine_with_restarts", "constant_with_warmup", "inverse_sqrt"}
    words |= {"use_peft", "peft_config", "lora_config", "causal_lm"}  # TRL's flag, PEFT's names: a LoRA adapter
    words |= {"merge_and_unload", "save_pretrained", "from_pretrained"}  # PEFT/transformers calls the planner reads
    words |= {"lora_finetune_single_device", "lora_finetune_distributed", "lora_attn_modules"}  # torchtune's LoRA
    words |= {
        "full_finetune_single_device",
        "full_finetune_distributed",
        "lora_dpo_single_device",
        "lora_dpo_distributed",
    }
    words |= {"peft_use_dora", "layers_pattern", "save_pretrained_merged"}  # Axolotl's DoRA; PEFT's default; Unsloth
    words |= {"merge_adapter", "merge_models", "merge_and_unload"}  # Graft's own stage kinds, PEFT's fold: actions
    return frozenset(words)


# modules a LoRA in Graft does not target (it adapts the linear projections): named back as modules, not settings
NOT_LINEAR = frozenset({"embed_tokens", "lm_head", "wte", "wpe", "embed_in", "embed_out", "word_embeddings", "norm"})


def _default_normalize(masked: str, end: int) -> bool:
    """'normalize: true' where every merge method named normalises its weights by default in mergekit."""
    if not re.match(r"[\"']?\s*(?:[:=]\s*|\s+)[\"']?(?:true|yes|1)\b", masked[end:]):
        return False
    named = re.findall(
        r"(?<![\w-])(?:" + "|".join(sorted(MERGEKIT_METHODS, key=len, reverse=True)) + r")(?![\w-])", masked
    )
    return bool(named) and all(n in ("ties", "linear", "della") for n in named)


# what follows an item's number: "Stage 1: SFT", "step 2.", "stage 1 sft lr 1e-4", "этап 2 — DPO"
ITEM_NUMBER_AFTER = (
    r"\s*(?:[:.)—–-](?!\d)|\s(?=(?:sft|dpo|ipo|orpo|kto|simpo|merg|lora|dora|train|fine|tune|write|save"
    r"|convert|обуч|дообуч|сле|слия|смерж|сохран|запис)))"
)


def unread_settings(masked: str, facts: list[Any]) -> list[str]:
    """Setting names in the goal that no fact holds and Graft does not read: each one would be dropped silently.

    `masked` is the reading text with paths blanked (agent/goal_facts.mask); `facts` the goal's facts."""
    understood = _understood_words()
    found: list[str] = []
    for m in SNAKE.finditer(masked):
        word = m.group(1).replace("-", "_")
        flag = m.group(0).startswith("--")
        snake = "_" in word
        said = CONFIG_VALUE.match(masked, m.end()) or SAID_VALUE.match(masked, m.end())
        if not (snake or flag or (source_of(word) and said)):
            continue
        if word in understood or word in READ or word in MERGEKIT_METHODS:
            continue
        if word == "modules" and re.search(r"(?:target|lora|adapter)\s+$", masked[: m.start()]):
            continue  # "target modules: all-linear, not o_proj": PEFT's target_modules, read as modules
        if word.startswith("use_") and re.match(r"[\"']?\s*[:=]\s*[\"']?(?:false|none|0)\b", masked[m.end() :]):
            continue  # "use_rslora = False": a technique said to be off is what Graft does anyway
        if not snake and not flag and re.match(r"\s*\d+" + ITEM_NUMBER_AFTER, masked[m.end() :]):
            continue  # "Stage 1: SFT …", "step 2.": an item's number, not LLaMA-Factory's "stage: sft"
        if word == "stage" and re.search(
            r"(?:sft|dpo|ipo|orpo|simpo|kto|merge|write|training)\s+$", masked[: m.start()]
        ):
            continue  # "SFT stage: chat.jsonl …; DPO stage: …": a stage named as a heading, not LLaMA-Factory's key
        if not flag and re.match(r"\s*:[ \t]*\n[ \t]+[a-z]", masked[m.end() :]):
            continue  # a YAML section ("optimizer:" above "  lr: 3e-4"): the keys under it are read one by one
        if not flag and re.search(r"[a-z][\w.-]*\s*[:=]\s*[\"'\[]?\s*$", masked[: m.start()]):
            continue  # a value, not a setting: "type: chat_template", "optim: paged_adamw_8bit" (the key is what is set)
        if word in PATH_KEYS and re.match(r"[\"']?\s*(?:=|:)?\s*[\"'\[]?#", masked[m.end() :]):
            continue  # the dataset or folder it names is read as a path
        if word == "normalize" and _default_normalize(masked, m.end()):
            continue  # "normalize: true" with TIES, linear or DELLA: mergekit's default for them, as Graft runs it
        value = READ_WITH_VALUE.get(word)
        if value and re.match(rf"\s*(?:=|:)?\s*[\"']?(?:{value})\b", masked[m.end() :]):
            continue  # LLaMA-Factory's "stage: dpo", "finetuning_type: lora": the value is what is read
        if any(
            f.start <= m.start(1) < f.end
            for f in facts
            if getattr(f, "end", 0) < 10**9
            # "B weight 0.5 density 0.4 epsilon 0.1, C weight 0.5": a weights phrase spans the members' other settings
            and not (
                getattr(f, "slot", "") in ("weights", "each_rest", "favoured_weights")
                and word not in ("weight", "weights")
            )
        ):
            continue  # a fact was read from these words ("lora_r: 8" is a rank)
        if not snake and not source_of(word):
            continue  # "--yes", "-v": a flag of no training library
        found.append(m.group(0))
    return list(dict.fromkeys(found))


GRAFT_MERGES = ("linear", "slerp", "ties", "dare_ties", "dare_linear", "task_arithmetic", "breadcrumbs", "della",
                "della_linear", "model_stock", "nearswap")  # fmt: skip


def unrun_merge_question(name: str) -> str:
    """The one question for a mergekit method Graft does not run (the planner and the fact check both ask it)."""
    if name.split("/")[0].replace("-", "_") not in MERGEKIT_METHODS:
        return (
            f"You named '{name}' as the merge method, and Graft knows no merge by that name (its merges are "
            f"{', '.join(GRAFT_MERGES)}). Which of those should it be?"
        )
    return (
        f"Graft does not merge with {name} (a mergekit method it does not run; its merges are "
        f"{', '.join(GRAFT_MERGES)}). Which of those should it be?"
    )


def unsupported_merge_methods(masked: str) -> list[str]:
    """mergekit methods Graft does not run ('karcher', 'sce', 'passthrough'), named in a merge: never read as TIES."""
    merging = re.search(
        r"merg|blend|mix|combin|frankenmerge|mergekit|смеш|сле[йт]|слия|объедин|смерж|мерж|мердж|склей|склейк", masked
    )
    found = [  # a frankenmerge is mergekit's passthrough: named by both words
        "passthrough/" + m.group(0)
        for m in re.finditer(r"\bfranken-?merg\w*|франкен-?м[её]рд?ж\w*|франкен-?слия\w*", masked)
    ]
    for name in sorted(MERGEKIT_METHODS - set(GRAFT_MERGES), key=len, reverse=True):
        if name == "passthrough" and re.search(
            r"passthrough\s*[:(]|\(\s*passthrough\s*\)|(?:method|метод\w*)\W{0,3}passthrough", masked
        ):
            merging = merging or True  # "passthrough: layers 0-6 of A and 6-12 of B": mergekit's method by name
        if not merging and name in ("ram", "sce", "passthrough"):
            continue  # words of their own outside a merge; "nuslerp A and B" is a merge by its name alone
        spelled = name.replace("_", r"[_ -]?")
        for m in re.finditer(  # "passthrough-мердж", "karcher-merge": the method's name joined to the word for merge
            rf"(?<![\w-]){spelled}(?:(?![\w-])|(?=-(?:merg|мерж|мердж|м[её]рдж|м[её]рж|слия|склей|склейк)))", masked
        ):
            if any(m.start() >= masked.find(f) and m.start() < masked.find(f) + len(f) for f in found):
                continue
            if name in ("ram", "sce") and not (
                re.search(
                    r"(?:method|метод\w*)\W{0,3}$|(?:merg\w*|слей|слия\w*|мерж\w*|мердж\w*|сли\w*)\s+(?:with|using|via|by"
                    r"|методом|через|с помощью)\s+$|(?:\s|^)(?:через|с помощью|using|via|with)\s+$",
                    masked[max(0, m.start() - 24) : m.start()],
                )
                or re.match(
                    r"\W{0,2}(?:merg\w*|слия\w*|метод\w*|method|мерж\w*|мердж\w*)", masked[m.end() : m.end() + 12]
                )
            ):
                continue  # "RAM" is memory unless it names a merge
            found.append(m.group(0))
    if merging and not found and (named := _unknown_method_named(masked)):
        found.append(named)
    return found


# "using cosine-fusion merge", "merge_method: frob", "методом foo-blend": a word in the place of a merge's method
METHOD_PLACE = re.compile(
    r"\b(?:using|via|by|with)\s+(?:the\s+|a\s+|an\s+)?(?P<a>[a-z][a-z0-9]*(?:[-_][a-z0-9]+)+)\s+(?:merge|merging|method)\b"
    r"|\b(?:using|via|by)\s+(?:the\s+|a\s+|an\s+)?(?P<b>[a-z][a-z0-9]*)\s+(?:merge|merging|method)\b"
    r"|\bmerge[_ ]method\s*[:=]?\s*(?P<c>[a-z][a-z0-9_-]*)"
    r"|(?<![а-я])(?:методом|метод)\s+(?P<d>[a-z][a-z0-9_-]*)"
)
# words that can stand in a method's place and name none: "using the weighted merge", "via mergekit method"
_NOT_A_METHOD = re.compile(
    r"(?:the|a|an|simple|simplest|weighted|plain|model|models|final|full|lora|dora|adapter|adapters|same|default"
    r"|standard|usual|normal|mergekit|that|this|your|my|our|any|some|best|good|peft|weight|weights|average|averaging"
    r"|avg|soup|uniform|equal|layer|layerwise|svd|cat|concat|lr|learning)"
)


SPACED_METHODS = (
    r"(?:task[_ -]?arithmetic|dare[_ -]?(?:ties|linear)|della[_ -]?linear|model[_ -]?stock|near[_ -]?swap"
    r"|breadcrumbs[_ -]?ties|ram[_ -]?plus)(?![\w-])"
)


def _unknown_method_named(masked: str) -> str | None:
    """A word said where a merge's method goes that names no merge Graft or mergekit knows ('cosine-fusion')."""
    for m in METHOD_PLACE.finditer(masked):
        word = next(g for g in m.groups() if g).strip("-_")
        start = next(m.start(g) for g in "abcd" if m.group(g))
        if re.match(SPACED_METHODS, masked[start:]):
            continue  # "методом task arithmetic", "method dare linear": a known method in two words
        if _NOT_A_METHOD.fullmatch(word) or word.replace("-", "_") in MERGEKIT_METHODS:
            continue
        if re.fullmatch(r"dare[_ -]?ties|dare[_ -]?linear|della(?:[_ -]?linear)?|task[_ -]?arithmetic|model[_ -]?stock"
                        r"|near[_ -]?swap|slerp|ties|linear|breadcrumbs(?:[_ -]?ties)?", word):  # fmt: skip
            continue
        return word
    return None


# techniques people name that change what training does and that Graft does not run: named back, never
# planned as plain LoRA (PEFT's own method and initialisation names; quantised training; optimiser tricks)
TECHNIQUES = (
    (
        r"q-?lora|(?<!adamw )(?<!adam )(?<!adamw_)(?<!adamw-)(?<!adam_)(?<![\w-])(?:4|8)[- ]?bits?(?![\w-])(?!\s*(?:adam|optim))|\bnf4\b|bitsandbytes|\bbnb\b"
        r"|(?<!оптимизатор )(?<!оптимизатор в )(?:четыр\w*|восьм\w*|4|8)[- ]?(?:бит\w*|битн\w*)(?!\w)(?!\s+(?:оптимизатор|adam|адам)\w*)|квантован\w*",
        "quantised training (QLoRA): Graft trains the adapter on the unquantised weights",
    ),
    (
        r"\b(?:adalora|boft|ia3|\(ia\)3|loha|lokr|oft|vera|fourierft|glora|xlora|hra|vblora|randlora|hira|shira|delora"
        r"|gralora|tinylora|lora\+|lora[_ -]?plus|loraplus|relora|pissa|olora|loftq|corda|mora)\b"
        r"|\bprefix[- ]tuning\b|\bprompt[- ]tuning\b|\bp[- ]tuning\b|\brs-?lora\b|\brank[- ]stabili[sz]ed\b",
        "a PEFT method or initialisation Graft does not run: it trains LoRA or DoRA, initialised as PEFT's default",
    ),
    (r"\bneftune\b|\bnoisy embeddings?\b", "NEFTune noise: Graft's trainer adds none"),
    (
        # "with Unsloth", «через Unsloth», use_gradient_checkpointing="unsloth" (not "Unsloth's defaults: r=16, …",
        # "as in the Unsloth notebook": a recipe retold, whose values follow)
        r"(?<!as in )(?<!like )(?<!как в )(?<!как у )(?<!из )(?<!from )(?<!from the )(?<!as in the )(?<!like the )"
        r"\bunsloth(?![^,;.]{0,30}?\b(?:defaults?|notebooks?|recipes?|guides?|docs|blog|colab|examples?|style|settings)\b)"
        r"|(?<![а-я])анслот\w*",
        "Unsloth: Graft trains with TRL and PEFT, the same LoRA without Unsloth's patched kernels",
    ),
    (
        # "the trl default lr", "lr по умолчанию из trl": a value left to another library (not "Unsloth's defaults:
        # r=16, …", where the values follow)
        r"\b(?:trl|transformers|hf|hugging\s*face|axolotl|unsloth|llama-?factory|peft|torchtune)(?:'s)?\s+default\w*"
        r"(?=\s+(?:lr|learning[ _]rate|beta|rank|r|alpha|epochs?|batch(?:[ _]size)?|dropout|warmup|scheduler|settings"
        r"|hyper-?param\w*|values?)\b)"
        r"|\b(?:lr|learning[ _]rate|beta|rank|alpha|epochs?|batch(?:[ _]size)?|dropout|warmup|scheduler|settings)\s+"
        r"(?:by\s+)?defaults?\s+(?:of|from|in)\s+(?:trl|transformers|hf|axolotl|unsloth|llama-?factory|peft|torchtune)\b"
        r"|(?<![а-я])(?:лр|lr|бет\w*|beta|ранг\w*|альф\w*|эпох\w*|батч\w*|настройк\w*)\s+(?:по\s+умолчанию|дефолтн\w*)\s+"
        r"(?:из\s+|как\s+в\s+|в\s+)?(?:trl|transformers|hf|axolotl|unsloth|llama-?factory|peft)\b"
        r"|\b(?:trl|transformers|axolotl|unsloth|llama-?factory|peft)\w*\s+(?:по\s+умолчанию|дефолтн\w*)\s+"
        r"(?:лр|lr|бет\w*|beta|ранг\w*|альф\w*|эпох\w*|батч\w*|настройк\w*)",
        "another library's defaults: Graft's own are LoRA r 16, alpha 2r, lr 2e-4 (SFT) and 5e-5 (preference); say the "
        "value to use",
    ),
    (
        r"\b(?:output|write|save|export|store)\w*\s+(?:it\s+|the\s+model\s+)?(?:in\s+|as\s+|to\s+)?(?:int8|int4|gptq|awq|nf4)\b"
        r"|(?:сохрани|запиши|выгрузи)\w*\s+(?:\w+\s+)?(?:в\s+)?(?:int8|int4|gptq|awq|nf4)\b|\b(?:int8|int4)\s+(?:output|weights|export)\b",
        "a quantised output: Graft writes float32, bfloat16 or float16 safetensors",
    ),
    (
        r"\b(?:at|with)\s+(?:a\s+)?\d*\.?\d+\s*(?:x\s+)?(?:strength|scale|scaling)\b|\b(?:strength|scaling|scale)\s*(?:of|=|:)?\s*0?\.\d+(?![\d.]|\s*(?:,|and|и|/)\s*\d|\s+(?:for|to|на|для)\s)"
        r"|(?<![а-я])(?:с\s+)?(?:силой|масштабом|коэффициентом)\s+\d*[.,]?\d+",
        "an adapter folded in at a scale: Graft folds each adapter in at the scale it was trained with (alpha / r)",
    ),
    (
        r"\b(?:without|no|skip(?:ping)?|disable|turn(?:ing)?\s+off|don'?t|do\s+not)\s+(?:the\s+|any\s+)?(?:weights?\s+)?"
        r"normali[sz]\w*|\bun-?normali[sz]ed\b|\bnormali[sz]e(?:_weights)?\s*(?:=|:)?\s*(?:false|off|no)\b"
        r"|(?<![а-я])(?:без|не)\s+(?:нормализ|нормир|нормализов)\w*",
        "a merge without weight normalisation: Graft's linear, TIES and DELLA merges normalise the weights "
        "(mergekit's default)",
    ),
    (
        r"\bevolution\w*\s+(?:model\s+)?(?:merg\w*|search\w*|optimi\w*)|\bmergekit[- _]evolve\b|\bcma-?es\b"
        r"|(?<![а-я])эволюционн\w*\s+(?:поиск\w*|слияни\w*|мерж\w*|мердж\w*|оптимизаци\w*)",
        "an evolutionary merge search (mergekit-evolve): Graft runs the one merge recipe you give; name its method and "
        "weights",
    ),
    (r"\blong-?lora\b|\bs2[- ]?attn\b", "LongLoRA (shifted sparse attention): Graft trains plain LoRA or DoRA"),
    (
        r"\b(?:train\w*|model|pre-?train\w*)\s+(?:it\s+|a\s+model\s+)?from\s+scratch\b|\bfrom\s+scratch\s+(?:train|pre-?train)\w*"
        r"|\brandom(?:ly)?\s+init\w*|\bpre-?train(?:ing)?\s+(?:a\s+)?new\s+model\b"
        r"|(?<![а-я])(?:обуч\w*|дообуч\w*|трен\w*|модел\w*|претрейн\w*)\s+с\s+нуля(?![а-я])"
        r"|(?<![а-я])с\s+нуля\s+(?:обуч|трен|претрейн)\w*",
        "training from scratch: Graft post-trains the model you open (LoRA, full fine-tuning, preference tuning); "
        "it does not pretrain a new one",
    ),
    (
        r"\bfp8\b|\bfloat8\w*|\be4m3\w*|\be5m2\w*|\btransformer[_ -]engine\b",
        "fp8: Graft trains in bf16 (CUDA) or fp32 and writes float32, bfloat16 or float16",
    ),
    (
        r"\b(?:separate|custom|different|another|own|external)\s+ref(?:erence)?(?:\s+model)?\b|\bref_model\b"
        r"|\bref(?:erence)?[_ ]model(?:_name_or_path)?\s*[:=]|(?:отдельн\w*|друг\w*|сво\w*|внешн\w*)\s+референс\w*(?:\s+модел\w*)?"
        # "DPO using B as the reference model", «с референсной моделью B» (the SFT result as the reference is what
        # Graft does already, and is not this)
        r"|#{3,}\s+(?:as|for)\s+(?:the\s+|a\s+|its\s+)?ref(?:erence)?(?:[\s_-]model)?\b"
        r"|\bref(?:erence)?[_ -]?model\s*(?:is|will\s+be)?\s*#{3,}"
        r"|(?<![а-я])(?:референсн\w*|опорн\w*)\s+модел\w*\s*[:=—–-]?\s*#{3,}"
        r"|#{3,}\s+(?:как|в\s+качестве)\s+(?:референс\w*|опорн\w*)",
        "a separate reference model: Graft's preference stages take the model the stage starts from as their reference",
    ),
    (
        r"\bmixed[- ]precision\b|\b(?:amp|autocast)\b|\btrain(?:ing|ed)?\s+(?:it\s+)?(?:in|with)\s+(?:bf16|fp16|fp32|bfloat16|float16|float32)\b"
        r"|(?:checkpointing|packing)\s*(?:and|&|\+|,)\s*(?:in\s+)?(?:bf16|fp16|fp32|bfloat16|float16|float32)\b"
        r"|(?<![\w-])--(?:bf16|fp16|tf32)\b|обуч\w*\s+в\s+(?:bf16|fp16|fp32)",
        "the training precision: Graft trains in bf16 on a CUDA GPU that supports it and in fp32 on CPU",
    ),
    (
        r"\b(?:adapter|lora)\s+only\b(?!\s+(?:on|to|in|for|at|the)\b)|\b(?:save|keep|output|write)\s+only\s+(?:the\s+)?(?:adapter|lora)\b|\b(?:don'?t|do not|no need to)\s+merge\b"
        r"|\bwithout merging\b|\bkeep (?:the|it as an?) (?:adapter|lora)\b(?!\s+(?:light|small|tiny|lean|low|simple|cheap))|(?<![а-я])не\s+(?:сливай|мержи|объединяй)\w*"
        r"|только\s+адаптер\w*|(?<![а-я])не\s+(?:влива|слива|вмерж|мерж|мердж|м[её]рдж|м[её]рж)\w*"
        r"|(?<![а-я])(?:за|с)?(?:мерж|мердж|м[её]рдж|м[её]рж|слива|влива)\w*\s+(?:адаптер\w*\s+)?не\s+(?:надо|нужно|будем)"
        r"|(?<![а-я])не\s+(?:надо|нужно|стоит|будем|хочу)\s+(?:за|с|в)?(?:мерж|мердж|м[её]рдж|м[её]рж|слива|влива|слить|влить)\w*"
        r"|\b(?:don'?t|do not|no need to)\s+(?:\w+\s+){0,2}(?:merge|fold|bake)\b(?!\s+(?:with|it\s+with)\b)"
        r"|\bmerg\w*\s+(?:the\s+)?(?:adapter\s+)?(?:is\s+)?(?:not\s+needed|unnecessary)"
        r"|(?:сохрани|оставь|запиши)\s+адаптер\w*\s+отдельно|\b(?:save|keep)\s+the\s+adapter\s+separately|только\s+веса\s+(?:lora|лор\w*|адаптер\w*)"
        r"|\b(?:no|without)\s+(?:a\s+|the\s+|any\s+)?(?:final\s+)?merg\w*\b(?:\s+(?:at\s+the\s+end|afterwards|after))?"
        r"(?!\s+(?:with|of|into|and|между)\b)"
        r"|(?<![а-я])без\s+(?:финальн\w+\s+)?(?:м[её]рдж\w*|мерж\w*|слияни\w*|влива\w*|вливани\w*)(?![а-я])(?!\s+(?:с|со|моделей)\b)",
        "an adapter as the result: Graft's last stage writes one merged model (each trained adapter stays in the run folder)",
    ),
    (
        r"\b(?:first|last|top|random|only)\s+(?:\d[\d,._]*\s*k?|[a-z]+(?:\s+thousand|\s+hundred)?)\s+"
        r"(?:examples|rows|samples|records|lines|conversations|dialogues|pairs|items)\b"
        r"|\b(?:only\s+|just\s+)?(?:the\s+)?(?:first|last)\s+\d+\s*%\s+of\s+(?:it|the\s+data(?:set)?|the\s+rows|the\s+file)"
        r"|\b(?:a\s+)?(?:random\s+)?(?:sub-?set|sub-?sample|sample)\s+of\s+(?:the\s+)?(?:data|dataset|rows|examples|\d)"
        r"|\bmax_samples\b|\bmax_train_samples\b|\bnum_samples\b|\bdataset_size\b|\bselect\(range"
        r"|(?<![а-я])(?:первы\w+|последни\w+|случайны\w+)\s+\d[\d\s]*k?\s*(?:пример\w*|строк\w*|запис\w*|диалог\w*|пар(?:ах|ы)?|сэмпл\w*)(?![а-я])"
        r"|подвыборк\w*|(?<![а-я])(?:только|лишь)\s+\d[\d\s]*\s*(?:примеров|строк|записей)"
        r"|\bonly\s+(?:the\s+)?(?!first\b|last\b)[a-z]+(?:[- ][a-z]+)?\s+(?:examples|rows|samples|records|pairs|conversations|dialogues)\b"
        r"|(?<![а-я])только\s+(?:на\s+)?[а-я]+\s+(?:пример\w*|строк\w*|пар(?:ах|ы)|диалог\w*)",
        "a subset of the rows: Graft trains on every row of the dataset file (cut the file to those rows first)",
    ),
    (
        r"\bloss\s+on\s+(?:the\s+)?(?:full|whole|entire)\s+(?:sequence|text|conversation|input|prompt)\w*"
        r"|\bprompts?\s+(?:tokens?\s+)?(?:included|too|as well)\b|\btrain_on_inputs\s*[:=]\s*true\b"
        r"|\b(?:completion|assistant)_only_loss\s*[:=]\s*false\b|\binclud\w*\s+(?:the\s+)?(?:prompts?|inputs?|instructions?)\s+in\s+the\s+loss"
        r"|\b(?:don'?t|do not|no|without)\s+mask\w*\s+(?:the\s+)?(?:prompts?|inputs?|instructions?|user)"
        r"|\btrain\s+on\s+(?:the\s+)?(?:prompts?|inputs?)\s+(?:too|as well)\b"
        r"|(?:лосс|loss|потер\w*)\s+(?:и\s+)?(?:на|по)\s+(?:всей|всему|всем)\s+(?:последовательност\w*|тексту|диалогу|токенам)"
        r"|(?:включая|вместе с)\s+(?:промпт\w*|инструкци\w*)",
        "loss on the prompt tokens: Graft's SFT puts the loss on the replies only (TRL's completion-only loss)",
    ),
    (
        r"(?:\bonly|\bjust|(?<![а-я])только)\s+(?:the\s+)?(?:embed\w*|эмбеддинг\w*|lm[_ ]head|голов\w*)"
        r"|\btrain\s+(?:the\s+)?(?:embed\w*|lm[_ ]head)|(?<![а-я])обуч\w*\s+(?:только\s+)?эмбеддинг\w*",
        "training the embeddings or the LM head: Graft's LoRA adapts the linear projections only",
    ),
    (
        r"\breference[- ]free\b|\bwithout (?:a |the )?ref(?:erence)?(?: model)?\b|\bno ref(?:erence)? model\b"
        r"|без\s+(?:референс\w*|reference|ref|реф\w*)(?:\s+модел\w*)?|\breference_free\s*[:=]\s*true",
        "reference-free preference training: Graft's DPO keeps the frozen starting model as the reference",
    ),
    (
        r"(?<!type: )(?<!type:)\bchat[- _]?template\b(?!\.(?!default\b))|\bchatml\b|\bllama-?3 template\b|\btemplate:\s*\w+",
        "a chat template: Graft formats rows with the tokenizer's own template",
    ),
    (
        r"\btruncat\w*\s+(?:from\s+)?(?:the\s+)?(?:left|right|start|beginning)\b|\btruncation[_ ]side\b|\btruncation[_ ]mode\b"
        r"|обрез\w*\s+слева",
        "which side is truncated: Graft keeps TRL's default",
    ),
    (
        r"\b(?:save|log|logg?ing|eval(?:uate)?|checkpoint)\w*\s+every\s+\d+\s*(?:steps?)?\b|\bevery\s+\d+\s+steps\b"
        r"|сохраня\w*\s+кажд\w+|кажд\w+\s+\d+\s+шаг\w*",
        "a logging/saving/eval interval: Graft logs every step, evaluates before and after, and saves each stage once",
    ),
    (
        r"\bflash[- _]?attn\w*|\bflash[- ]attention\w*|\bsdpa\b|\bliger\b",
        "a kernel choice: Graft uses the model's default attention",
    ),
    (
        # (GaLore, APOLLO, LISA, LOMO, BAdam train the full model through the optimiser, not through PEFT)
        r"\b(?:8[- ]?bit|paged)\s*(?:adam\w*|optimi[sz]er\w*|optim\b)|(?:8|восьми)[- ]?битн\w*\s+(?:оптимизатор|adam|адам)\w*"
        r"|оптимизатор\w*\s+(?:в\s+|на\s+)?(?:8|восемь)[- ]?бит\w*|\b(?:8[- ]?bit|paged)\b(?=[^.;]{0,20}\boptimi[sz]er)|\badam\w*[\s_-]*(?:8[- ]?bit|bnb|paged)\w*|\badafactor\b|\blion\b|\bsophia\b|\bmuon\b|\bsgd\b|\bgalore\w*|\bapollo\b"
        r"|\blisa\b|\b(?:ada)?lomo\b|\bbadam\b|\bschedule[- ]?free\b",
        "an optimiser: Graft trains with AdamW",
    ),
    (
        r"\bmin(?:imum)?[_ ](?:lr|learning[_ ]rate)\b|\blr[_ ]min\b|\beta_min\b|\bcosine_with_min_lr\b|\bfinal\s+lr\b"
        r"|(?<![а-я])минимальн\w*\s+(?:lr|лр|скорост\w*)",
        "a floor for the learning rate: Graft's schedules (linear, cosine, ...) decay to 0 or stay constant",
    ),
    (r"\bearly[- ]stopping\b|\bema\b|\bcurriculum\b", "a training schedule Graft does not run"),
    (
        r"\b(?:vision|image|visual|audio|speech)\s+(?:tower|encoder|backbone|projector|adapter|model)\b|\bmm_projector\b"
        r"|\bmulti-?modal\w*|(?<![а-я])(?:визуальн|зрительн|аудио)\w*\s+(?:энкодер|часть|башн)\w*",
        "a vision or audio part: Graft adapts a language model's own linear layers",
    ),
    (
        r"\b(?:evaluat\w*|benchmark\w*)\s+(?:it\s+|the\s+\w+\s+)?(?:on|with|against)\b(?!\s+\d*\.?\d+\s*%)|\b(?:mmlu|gsm8k|humaneval|hellaswag|arc[- ]?c"
        r"|truthfulqa|mt[- ]?bench|alpacaeval|lm[- ]eval\w*)\b|(?<![а-я])(?:оцени\w*|прогони\w*)\s+(?:\w+\s+)?на\s+"
        r"(?:бенчмарк\w*|mmlu|gsm8k)|\bperplexity\b|перплекси\w*|(?<![а-я])посчитай\w*\s+(?:метрик\w*|точност\w*|accuracy)",
        "an evaluation: Graft trains, merges and writes; it runs no benchmarks",
    ),
    (
        r"\b(?:push|upload|publish|share)\w*\s+(?:\S+\s+){0,4}?(?:to|on|onto)\s+(?:the\s+)?"
        r"(?:hf\s+|hugging\s*face\s+)?(?:hub|hugging\s*face|hf|huggingface\.co)\b|\bpush_to_hub\b|\bhub_model_id\b"
        r"|(?:залей|залить|выложи|выложить|загрузи|загрузить|опубликуй|опубликовать|запушь|запушить)\w*\s+"
        r"(?:\S+\s+){0,3}?(?:на|в)\s+(?:хаб|hub|hf|hugging\s*face|хаггинг\w*)",
        "an upload: Graft writes to your disk and never sends weights anywhere",
    ),
    (
        r"\b(?:ollama|vllm|llama\.?cpp|lm\s*studio|sglang|text-generation-inference|tgi|triton)\b",
        "serving the model: Graft writes a safetensors folder (and `graft export --as gguf` a llama.cpp file); "
        "loading it into a server is that tool's step",
    ),
)


def unsupported_techniques(masked: str) -> list[tuple[str, str]]:
    """(words, why) for each technique the goal asks for that Graft does not run ('init with PiSSA', 'QLoRA')."""
    from agent.goal_facts import negated

    found = []
    for pattern, why in TECHNIQUES:
        for m in re.finditer(pattern, masked):
            if negated(masked, m.start()):
                continue  # "no QLoRA, plain LoRA"
            if re.search(
                r"(?:\bno\b|\bactually\b|(?<![а-я])нет\b|вс[её]-?таки|хотя)[\s,.!—–-]*(?:вс[её]-?таки\s+|after all\s+)?"
                r"(?:смерж|смердж|слей|влей|вмерж|merge|fold)",
                masked[m.end() :],
            ):
                continue  # "не мёржь адаптер; нет, всё-таки смержи": taken back by a later correction
            if why.startswith("an adapter folded in at a scale") and re.search(
                r"task[ _-]?vectors?|вектор\w*\s+задач|\bsubtract|(?<![а-я])(?:вычт|вычес|отним|отня)", masked
            ):
                continue  # «вычти task vector B с коэффициентом 0.3»: a task vector's weight, not an adapter's scale
            found.append((m.group(0).strip(), why))
            break
    return found


def _library_fields() -> dict[str, frozenset[str]]:
    """The pinned libraries' own setting names, read from their config classes (slow: imports TRL)."""
    import dataclasses
    import os

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    import mergekit.merge_methods as merge_methods
    from mergekit.config import MergeConfiguration
    from peft import LoraConfig
    from transformers import TrainingArguments
    from trl import DPOConfig, KTOConfig, SFTConfig
    from trl.experimental.cpo import CPOConfig
    from trl.experimental.orpo import ORPOConfig

    def names(*classes: Any) -> set[str]:
        return {f.name for c in classes for f in dataclasses.fields(c)}

    transformers = names(TrainingArguments)
    peft = names(LoraConfig) - transformers
    trl = names(SFTConfig, DPOConfig, KTOConfig, ORPOConfig, CPOConfig) - transformers - peft
    methods = merge_methods.registered_methods()
    return {
        "transformers": frozenset(transformers),
        "PEFT": frozenset(peft),
        "TRL": frozenset(trl),
        "mergekit methods": frozenset(m.spec.name for m in methods),
        "mergekit": frozenset(
            {p.name for m in methods for p in m.spec.parameters} | set(MergeConfiguration.model_fields)
        ),
    }


if __name__ == "__main__":  # print the lists above from the installed libraries
    import textwrap

    for where, names in _library_fields().items():
        print(f"{where} ({len(names)}):\n" + textwrap.fill(" ".join(sorted(names)), 110) + "\n")
