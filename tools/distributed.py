"""Multi-GPU training goes through `accelerate launch` with a config file Graft writes.

Never a home-made launcher: this module only writes accelerate's own config YAML (FSDP,
DeepSpeed ZeRO-3 or plain multi-GPU DDP) and builds the `accelerate launch` command line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

Strategy = Literal["fsdp", "deepspeed", "ddp"]


def accelerate_config(gpus: int, strategy: Strategy, mixed_precision: str = "bf16", nodes: int = 1) -> dict[str, Any]:
    """accelerate's config-file schema for one training stage."""
    config: dict[str, Any] = {
        "compute_environment": "LOCAL_MACHINE",
        "num_machines": nodes,
        "machine_rank": 0,
        "num_processes": gpus * nodes,
        "mixed_precision": mixed_precision,
        "use_cpu": False,
        "same_network": True,
        "main_training_function": "main",
        "rdzv_backend": "static",
    }
    if strategy == "fsdp":
        config["distributed_type"] = "FSDP"
        config["fsdp_config"] = {
            "fsdp_version": 2,
            "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "fsdp_reshard_after_forward": True,
            "fsdp_state_dict_type": "SHARDED_STATE_DICT",
            "fsdp_cpu_ram_efficient_loading": True,
            "fsdp_offload_params": False,
            "fsdp_activation_checkpointing": False,
        }
    elif strategy == "deepspeed":
        config["distributed_type"] = "DEEPSPEED"
        config["deepspeed_config"] = {
            "zero_stage": 3,
            "zero3_init_flag": True,
            "zero3_save_16bit_model": True,
            "offload_optimizer_device": "none",
            "offload_param_device": "none",
            "gradient_accumulation_steps": 1,
        }
    else:
        config["distributed_type"] = "MULTI_GPU"
    return config


def launch_command(job_file: Path, config_file: Path, gpus: int, strategy: Strategy) -> list[str]:
    """The `accelerate launch` argv that runs one stage job on `gpus` processes."""
    import yaml

    config_file.write_text(yaml.safe_dump(accelerate_config(gpus, strategy), sort_keys=False), encoding="utf-8")
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config_file),
        "--num_processes",
        str(gpus),
        "-m",
        "tools.stage_entry",
        str(job_file),
    ]
