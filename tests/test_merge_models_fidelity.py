"""mergekit fidelity: randomised merges are reproducible from their seed, every method gets its inputs or is refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tools.errors import GraftError

pytestmark = pytest.mark.slow


def _digest(folder: Path) -> str:
    sha = hashlib.sha256()
    for file in sorted(folder.glob("*.safetensors")):
        sha.update(file.name.encode())
        sha.update(file.read_bytes())
    return sha.hexdigest()


def _tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    found: dict = {}
    for file in sorted(folder.glob("*.safetensors")):
        found.update(load_file(str(file)))
    return found


@pytest.mark.parametrize("method", ["dare_ties", "dare_linear", "della", "della_linear"])
def test_randomised_merge_is_reproducible_from_its_seed(tiny, tmp_path, method) -> None:  # type: ignore[no-untyped-def]
    from tools.merge_models import MergeModelsSpec, merge_models

    base, a, b = tiny("llama"), tiny("llama", seed=1), tiny("llama", seed=2)
    spec = MergeModelsSpec(method=method, models=[str(a), str(b)], weights=[0.6, 0.4], density=0.5)
    first = merge_models(spec, [str(a), str(b)], str(base), str(tmp_path / "one"))
    merge_models(spec, [str(a), str(b)], str(base), str(tmp_path / "two"))
    other = spec.model_copy(update={"seed": 7})
    merge_models(other, [str(a), str(b)], str(base), str(tmp_path / "three"))
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two"), "same plan, same seed: the same bytes"
    assert _digest(tmp_path / "one") != _digest(tmp_path / "three"), "another seed draws other masks"
    assert first.seed == 0
    saved = (tmp_path / "one" / "mergekit_config.yml").read_text()
    assert "--random-seed 0" in saved and saved == first.config_yaml


def test_deterministic_methods_record_no_seed(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tools.merge_models import MergeModelsSpec, merge_models

    a, b = tiny("llama", seed=1), tiny("llama", seed=2)
    result = merge_models(
        MergeModelsSpec(method="linear", models=[str(a), str(b)]), [str(a), str(b)], None, str(tmp_path / "m")
    )
    assert result.seed is None and "random-seed" not in result.config_yaml


def test_nearswap_gets_its_base_and_t(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """nearswap equals its formula on the base and the one other model (mergekit's own code, reproduced)."""
    import torch

    from tools.merge_models import MergeModelsSpec, merge_models

    base, other = tiny("llama"), tiny("llama", seed=1)
    spec = MergeModelsSpec(method="nearswap", models=[str(base), str(other)], t=0.01)
    merge_models(spec, [str(base), str(other)], str(base), str(tmp_path / "m"))
    merged, a, b = _tensors(tmp_path / "m"), _tensors(base), _tensors(other)
    name = "model.layers.0.self_attn.q_proj.weight"
    weight = (0.01 / (a[name] - b[name]).abs().clamp(min=1e-6)).clamp(min=0, max=1)
    assert torch.allclose(merged[name], weight * b[name] + (1 - weight) * a[name], atol=1e-6)
    assert not torch.equal(merged[name], a[name])


@pytest.mark.parametrize(
    ("method", "models", "base", "wanted"),
    [
        ("nearswap", ["a", "b"], "base", "exactly one other model"),
        ("nearswap", ["a"], None, "needs a base model"),
        ("ties", ["a", "b"], None, "needs a base model"),
        ("slerp", ["a", "b", "c"], None, "exactly two models"),
        ("model_stock", ["a"], "base", "at least two models"),
    ],
)
def test_inputs_a_method_needs_are_checked_first(method, models, base, wanted) -> None:  # type: ignore[no-untyped-def]
    from tools.merge_models import MergeModelsSpec, mergekit_config

    with pytest.raises(GraftError, match=wanted):
        mergekit_config(MergeModelsSpec(method=method, models=models), models, base)


def test_validation_refuses_in_one_sentence_naming_the_stage_once(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agent.plan import plan_from_data
    from agent.validate import validate_plan

    base, a, b = tiny("llama"), tiny("llama", seed=1), tiny("llama", seed=2)
    plan = plan_from_data(
        {
            "goal": "swap",
            "base_model": str(base),
            "output": str(tmp_path / "out"),
            "stages": [{"kind": "merge_models", "id": "swap", "method": "nearswap", "models": [str(a), str(b)]}],
        },
        "test",
    )
    with pytest.raises(GraftError) as info:
        validate_plan(plan)
    message = str(info.value)
    assert "exactly one other model" in message
    assert message.count("swap (merge_models)") == 1 and message.count("stage ") == 1 and "\n" not in message


@pytest.mark.parametrize("method", ["breadcrumbs", "model_stock"])
def test_remaining_methods_run_with_the_inputs_graft_gives(tiny, tmp_path, method) -> None:  # type: ignore[no-untyped-def]
    """The methods no other test runs: each gets its base and parameters, and changes the weights."""
    from typing import get_args

    from tools.merge_models import MergeMethod, MergeModelsSpec, merge_models

    assert method in get_args(MergeMethod)
    base, a, b = tiny("llama"), tiny("llama", seed=1), tiny("llama", seed=2)
    spec = MergeModelsSpec(method=method, models=[str(a), str(b)], density=0.8)
    merge_models(spec, [str(a), str(b)], str(base), str(tmp_path / "m"))
    name = "model.layers.0.self_attn.q_proj.weight"
    merged = _tensors(tmp_path / "m")[name]
    assert not merged.equal(_tensors(base)[name]) and not merged.equal(_tensors(a)[name])


def test_task_arithmetic_of_two_runs_is_peft_cat_of_their_adapters(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The planner reads "two separate runs, then merge both adapters with cat" as task_arithmetic of the two
    fine-tunes over the base at weight 1 each: the same weights PEFT's cat combination folds (W + ΔA + ΔB)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from tools.merge_models import MergeModelsSpec, merge_models

    base = tiny("llama")
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    adapters, tuned = [], []
    for seed, name in ((1, "a"), (2, "b")):
        torch.manual_seed(seed)
        peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(base, torch_dtype=torch.float32), config)
        peft_model.save_pretrained(tmp_path / f"adapter-{name}")
        adapters.append(tmp_path / f"adapter-{name}")
        peft_model.merge_and_unload().save_pretrained(tmp_path / f"tuned-{name}")
        tuned.append(str(tmp_path / f"tuned-{name}"))
    from peft import PeftModel

    both = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base, torch_dtype=torch.float32), adapters[0], adapter_name="a"
    )
    both.load_adapter(adapters[1], adapter_name="b")
    both.add_weighted_adapter(["a", "b"], [1.0, 1.0], "ab", combination_type="cat")
    both.set_adapter("ab")
    want = {k: v for k, v in both.merge_and_unload(adapter_names=["ab"]).state_dict().items()}

    spec = MergeModelsSpec(method="task_arithmetic", models=tuned, weights=[1.0, 1.0])
    merge_models(spec, tuned, str(base), str(tmp_path / "m"))
    have = _tensors(tmp_path / "m")
    name = "model.layers.0.self_attn.q_proj.weight"
    delta = (want[name] - _tensors(base)[name].float()).abs().max()
    assert delta > 0  # the adapters changed the weight
    for key, value in have.items():  # every tensor, to the precision the merged file is written in
        assert torch.allclose(value.float(), want[key].float(), atol=1e-2 * max(1.0, float(delta)), rtol=1e-2), key


def test_a_weight_on_the_base_of_a_task_vector_merge_is_refused(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """mergekit reads the base's weight in a TIES merge and ignores it (the base has no task vector): two configs
    that differ only there give the same bytes, so Graft refuses the weight instead of running what was not said."""
    import yaml
    from mergekit.config import MergeConfiguration
    from mergekit.merge import run_merge
    from mergekit.options import MergeOptions

    from tools.merge_models import MergeModelsSpec, check_merge_inputs, merge_models

    base, a, b = tiny("llama"), tiny("llama", seed=1), tiny("llama", seed=2)
    for weight, out in ((0.5, "half"), (0.1, "tenth")):
        config = {
            "merge_method": "ties",
            "base_model": str(base),
            "dtype": "float32",
            "models": [
                {"model": str(base), "parameters": {"weight": weight, "density": 0.5}},
                {"model": str(a), "parameters": {"weight": 0.3, "density": 0.5}},
                {"model": str(b), "parameters": {"weight": 0.2, "density": 0.5}},
            ],
        }
        run_merge(MergeConfiguration.model_validate(yaml.safe_load(yaml.safe_dump(config))), str(tmp_path / out),
                  MergeOptions(allow_crimes=True, lazy_unpickle=False))  # fmt: skip
    assert _digest(tmp_path / "half") == _digest(tmp_path / "tenth"), "mergekit ignores the base's weight"
    models = [str(base), str(a), str(b)]
    with pytest.raises(GraftError, match="gives the base itself no weight"):
        check_merge_inputs("ties", models, str(base), [0.5, 0.3, 0.2])
    with pytest.raises(GraftError, match="no weight"):
        merge_models(MergeModelsSpec(method="ties", models=models, weights=[0.5, 0.3, 0.2]), models, str(base),
                     str(tmp_path / "graft"))  # fmt: skip
    check_merge_inputs("linear", models, str(base), [0.5, 0.3, 0.2])  # a linear merge weighs every member
