"""`graft export`: a plan as a standalone script, as mergekit YAML, or as TRL configs.

The script needs only transformers, peft, trl, datasets and mergekit (no Graft): a person can
read it, change it, and run it on a cluster where Graft is not installed. It follows the
same stage semantics: an unmerged adapter is folded in before the next training stage, "@id"
refers to an earlier stage's output, and the final write casts and shards the model.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from agent.plan import Plan

ExportFormat = Literal["script", "mergekit", "trl"]

SCRIPT = '''#!/usr/bin/env python
"""Exported by Graft from the plan: {goal}

Runs the same stages with transformers, peft, trl, datasets and mergekit alone:
    python {name} [--run-dir RUN]
"""

import argparse
import json
from pathlib import Path

import torch
import yaml
from datasets import load_dataset
from peft import LoraConfig, PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

PLAN = json.loads(r"""{plan_json}""")


def load(path, adapter=None):
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    if adapter:
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()  # fold, never stack
    return model, tokenizer


def lora(stage, model):
    if stage["adapter"] == "none":
        return None
    targets = stage["target_modules"] or "all-linear"
    if targets == "all-linear" and stage.get("layers") is not None:  # PEFT wants names with layers_to_transform
        targets = sorted({{n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                          if type(m).__name__ in ("Linear", "Conv1D") and not n.endswith("lm_head")}})
    return LoraConfig(
        r=stage["r"], lora_alpha=stage["alpha"], lora_dropout=stage["dropout"],
        target_modules=targets, layers_to_transform=stage.get("layers"),
        use_dora=stage["adapter"] == "dora", task_type="CAUSAL_LM",
    )


def train_args(stage, out):
    cuda = torch.cuda.is_available()
    return dict(
        output_dir=str(out / "trainer"), per_device_train_batch_size=stage["batch_size"],
        gradient_accumulation_steps=stage["gradient_accumulation"], num_train_epochs=stage["epochs"],
        max_steps=stage.get("max_steps") or -1, learning_rate=stage["learning_rate"], max_length=stage["max_length"],
        lr_scheduler_type=stage.get("lr_scheduler_type", "linear"), weight_decay=stage.get("weight_decay", 0.0),
        warmup_steps=stage.get("warmup_steps", 0) if stage.get("warmup_steps", 0) < 1 else int(stage["warmup_steps"]),
        max_grad_norm=stage.get("max_grad_norm", 1.0), logging_steps=1, save_strategy="no", report_to=[], seed=stage["seed"],
        gradient_checkpointing=stage.get("gradient_checkpointing", False), use_cpu=not cuda, bf16=cuda,
    )


def train(stage, model_path, adapter, out):
    model, tokenizer = load(model_path, adapter)
    data = load_dataset("json", data_files=stage["dataset"], split="train")
    if stage["kind"] == "sft":
        from trl import SFTConfig, SFTTrainer

        extra = {{"completion_only_loss": True}} if "completion" in data.column_names else {{}}
        if "messages" in data.column_names:
            if "{{% generation %}}" in (tokenizer.chat_template or ""):
                extra = {{"assistant_only_loss": True}}  # the template marks the replies
            else:  # no generation block: each reply a completion, the conversation before it the prompt
                from datasets import Dataset

                data = Dataset.from_list([{{"prompt": m[:i], "completion": [m[i]]}} for m in data["messages"]
                                          for i in range(1, len(m)) if m[i]["role"] == "assistant"])
                extra = {{"completion_only_loss": True}}
        config = SFTConfig(**train_args(stage, out), packing=stage.get("packing", False), **extra)
        trainer = SFTTrainer(model=model, args=config, train_dataset=data,
                             processing_class=tokenizer, peft_config=lora(stage, model))
    else:
        import importlib

        module, config_name, trainer_name = TRAINERS[stage["method"]]
        trl_module = importlib.import_module(module)
        config = getattr(trl_module, config_name)(**train_args(stage, out), **METHOD_ARGS[stage["id"]])
        # DPO and KTO score against a reference: with LoRA the adapter switched off, else a frozen copy.
        # ORPO and SimPO are reference-free.
        trainer = getattr(trl_module, trainer_name)(model=model, args=config, train_dataset=data,
                                                    processing_class=tokenizer, peft_config=lora(stage, model))
    trainer.train()
    trainer.model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return "adapter" if stage["adapter"] != "none" else "model"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", default="{run_dir}")
    run = Path(parser.parse_args().run_dir)
    run.mkdir(parents=True, exist_ok=True)
    base = PLAN["base_model"]
    outputs = {{"@base": base}}
    current, pending = base, None

    def ref(value):
        return outputs[value] if value in outputs else value

    for stage in PLAN["stages"]:
        out = run / stage["id"]
        print(f"== {{stage['id']}} ({{' '.join(filter(None, (stage['kind'], stage.get('method'))))}})", flush=True)
        if stage["kind"] in ("sft", "preference"):
            model_path = ref(stage["input"]) if stage.get("input") else current
            adapter = None if stage.get("input") else pending
            made = train(stage, model_path, adapter, out)
            current, pending = (model_path, str(out)) if made == "adapter" else (str(out), None)
            if adapter and made == "adapter":
                # the folded adapter is part of this stage's base from now on
                folded = run / (stage["id"] + "-base")
                m, t = load(model_path, adapter)
                m.save_pretrained(str(folded)); t.save_pretrained(str(folded))
                current = str(folded)
        elif stage["kind"] == "merge_adapter":
            adapters = [ref(a) for a in stage["adapters"]] or [pending]
            base_path = ref(stage["input"]) if stage.get("input") else current
            model, tokenizer = load(base_path)
            weights = stage["weights"] or [1.0] * len(adapters)
            if len(adapters) == 1 and weights == [1.0]:
                model = PeftModel.from_pretrained(model, adapters[0]).merge_and_unload()
            else:
                peft = PeftModel.from_pretrained(model, adapters[0], adapter_name="a0")
                for i, a in enumerate(adapters[1:], 1):
                    peft.load_adapter(a, adapter_name=f"a{{i}}")
                names = [f"a{{i}}" for i in range(len(adapters))]
                peft.add_weighted_adapter(names, weights, "combined", combination_type=stage["combination"],
                                          **({{"density": stage["density"]}} if "ties" in stage["combination"] or "dare" in stage["combination"] else {{}}))
                peft.set_adapter("combined")
                model = peft.merge_and_unload()
            model.save_pretrained(str(out)); tokenizer.save_pretrained(str(out))
            current, pending = str(out), None
        elif stage["kind"] == "merge_models":
            from mergekit.config import MergeConfiguration
            from mergekit.merge import run_merge
            from mergekit.options import MergeOptions

            config = yaml.safe_load(MERGEKIT[stage["id"]].replace("@RUN", str(run)).replace("@BASE", base))
            # The same seed Graft passed: randomised methods (dare_*, della*) give the same bytes here.
            run_merge(MergeConfiguration.model_validate(config), str(out),
                      options=MergeOptions(copy_tokenizer=True, random_seed=stage.get("seed", 0)))
            current, pending = str(out), None
        elif stage["kind"] == "write":
            model, tokenizer = load(current, pending)
            if stage["dtype"] != "auto":
                model = model.to(getattr(torch, stage["dtype"]))
            target = stage.get("output") or PLAN["output"]
            if Path(target).exists():
                raise SystemExit(f"{{target}} exists; remove it or change the plan's output.")
            model.save_pretrained(target, max_shard_size=stage["max_shard_size"])
            tokenizer.save_pretrained(target)
            print(f"wrote {{target}}")
        outputs["@" + stage["id"]] = str(out)


MERGEKIT = {mergekit_json}

# Preference stages: which TRL trainer runs each method, and each stage's own arguments.
TRAINERS = {trainers_json}
METHOD_ARGS = {method_args_json}

if __name__ == "__main__":
    main()
'''


def _ref_path(ref: str | None, plan: Plan) -> str | None:
    if ref is None:
        return None
    if ref == "@base":
        return "@BASE"
    if ref.startswith("@"):
        return f"@RUN/{ref[1:]}"
    return ref


def mergekit_documents(plan: Plan) -> dict[str, dict[str, Any]]:
    """The mergekit configuration of each merge_models stage, with @RUN/@BASE placeholders."""
    from tools.merge_models import MergeModelsSpec, mergekit_config

    docs: dict[str, dict[str, Any]] = {}
    previous: str | None = None
    for stage in plan.stages:
        if stage.kind == "merge_models":
            spec = MergeModelsSpec.model_validate(stage.model_dump(exclude={"id", "kind", "input", "notes"}))
            models = [_ref_path(m, plan) or m for m in stage.models]
            docs[stage.id] = mergekit_config(spec, models, _ref_path(stage.base, plan))
        previous = stage.id
    del previous
    return docs


def trl_configs(plan: Plan) -> dict[str, Any]:
    """TRL (SFTConfig, DPOConfig, ORPOConfig, CPOConfig, KTOConfig) and PEFT (LoraConfig) arguments of each
    training stage, with the module each trainer is imported from."""
    from tools.inspect import InspectArgs, inspect_checkpoint
    from tools.preference import TRAINERS, method_config
    from tools.training import common_config

    modules = inspect_checkpoint(InspectArgs(path=plan.base_model)).modules
    linear = sorted({m for group in ("attention", "mlp") for m in modules.get(group, [])})
    configs: dict[str, Any] = {}
    for stage in plan.stages:
        if stage.kind not in ("sft", "preference"):
            continue
        args = common_config(stage, f"runs/{stage.id}")  # type: ignore[arg-type]
        args.pop("use_cpu", None)
        module, config_name, trainer_name = ("trl", "SFTConfig", "SFTTrainer")
        if stage.kind == "preference":
            module, config_name, trainer_name = TRAINERS[stage.method]
            args.update(method_config(stage))
        else:
            args["packing"] = stage.packing
        entry: dict[str, Any] = {"trainer": trainer_name, "module": module, "dataset": stage.dataset}
        if stage.kind == "preference":
            entry["method"] = stage.method
            entry["reference_model"] = (
                ("the base with the adapter switched off" if stage.adapter != "none" else "a frozen copy of the input")
                if stage.uses_reference
                else None
            )
        entry["config"] = {config_name: args}
        if stage.adapter != "none":
            entry["peft"] = {
                "LoraConfig": {
                    "r": stage.r,
                    "lora_alpha": stage.alpha,
                    "lora_dropout": stage.dropout,
                    "target_modules": stage.target_modules or (linear if stage.layers is not None else "all-linear"),
                    "layers_to_transform": stage.layers,
                    "use_dora": stage.adapter == "dora",
                    "task_type": "CAUSAL_LM",
                }
            }
        configs[stage.id] = entry
    return configs


def export_plan(plan: Plan, form: ExportFormat, name: str = "graft_pipeline.py", run_dir: str = "graft-run") -> str:
    """The plan in the requested form, as text."""
    import yaml

    if form == "mergekit":
        docs = mergekit_documents(plan)
        if not docs:
            return "# this plan has no merge_models stage\n"
        header = "# mergekit configurations, one document per merge_models stage.\n# @RUN: the run folder; @BASE: the base model.\n"
        return header + yaml.safe_dump_all(list(docs.values()), sort_keys=False)
    if form == "trl":
        return yaml.safe_dump(trl_configs(plan), sort_keys=False, allow_unicode=True)
    plan_json = json.dumps(plan.model_dump(mode="json"), indent=2, ensure_ascii=False)
    merge_yaml = {k: yaml.safe_dump(v, sort_keys=False) for k, v in mergekit_documents(plan).items()}
    from tools.preference import TRAINERS, method_config

    method_args = {s.id: method_config(s) for s in plan.stages if s.kind == "preference"}
    return SCRIPT.format(
        goal=plan.goal.replace('"""', "'''").splitlines()[0] if plan.goal else "",
        name=name,
        plan_json=plan_json.replace('"""', '\\"\\"\\"'),
        run_dir=run_dir,
        mergekit_json=json.dumps(merge_yaml, indent=4),
        trainers_json=json.dumps({k: list(v) for k, v in TRAINERS.items()}, indent=4),
        method_args_json=json.dumps(method_args, indent=4),
    )
