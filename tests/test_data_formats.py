"""Data in every common format, through the libraries: each layout `graft data` names, in each file
kind `datasets` reads, reaches the stages as the same rows TRL takes; ShareGPT SFT and implicit-prompt
DPO train exactly what their explicit equivalents train; malformed data is refused by row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.datasets_io import read_dataset, split_holdout, training_rows
from tools.errors import GraftError
from tools.tiny_data import chat_preference_rows, dpo_rows, sft_rows, write_jsonl

ROOT = Path(__file__).resolve().parents[1]


def _user(text: str) -> dict:
    return {"role": "user", "content": text}


def _assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


# (name, rows as a person writes them, method, rows as the stage must receive them, layout trained on)
CASES = [
    (
        "messages",
        [{"messages": [_user("Hi?"), _assistant("Hello.")]}, {"messages": [_user("Sky?"), _assistant("Blue.")]}],
        "sft",
        [{"messages": [_user("Hi?"), _assistant("Hello.")]}, {"messages": [_user("Sky?"), _assistant("Blue.")]}],
        "messages",
    ),
    (
        "sharegpt-from-value",
        [
            {
                "conversations": [
                    {"from": "system", "value": "Be brief."},
                    {"from": "human", "value": "Hi?"},
                    {"from": "gpt", "value": "Hello."},
                ]
            },
            {"conversations": [{"from": "human", "value": "Sky?"}, {"from": "gpt", "value": "Blue."}]},
        ],
        "sft",
        [
            {"messages": [{"role": "system", "content": "Be brief."}, _user("Hi?"), _assistant("Hello.")]},
            {"messages": [_user("Sky?"), _assistant("Blue.")]},
        ],
        "messages",
    ),
    (
        "sharegpt-role-content",
        [
            {"conversations": [_user("Hi?"), _assistant("Hello.")]},
            {"conversations": [_user("Sky?"), _assistant("Blue.")]},
        ],
        "sft",
        [{"messages": [_user("Hi?"), _assistant("Hello.")]}, {"messages": [_user("Sky?"), _assistant("Blue.")]}],
        "messages",
    ),
    (
        "alpaca",
        [
            {"instruction": "Add the numbers.", "input": "2 and 2", "output": "4"},
            {"instruction": "Say hi.", "input": "", "output": "hi"},
        ],
        "sft",
        [  # LLaMA-Factory's convention: "\n".join of the non-empty instruction and input, as the user turn
            {"prompt": [_user("Add the numbers.\n2 and 2")], "completion": [_assistant("4")]},
            {"prompt": [_user("Say hi.")], "completion": [_assistant("hi")]},
        ],
        "prompt+completion",
    ),
    (
        "alpaca-without-input",
        [{"instruction": "Say hi.", "output": "hi"}, {"instruction": "Say yes.", "output": "yes"}],
        "sft",
        [
            {"prompt": [_user("Say hi.")], "completion": [_assistant("hi")]},
            {"prompt": [_user("Say yes.")], "completion": [_assistant("yes")]},
        ],
        "prompt+completion",
    ),
    (
        "prompt-completion",
        [{"prompt": "The sky is", "completion": " blue."}, {"prompt": "Grass is", "completion": " green."}],
        "sft",
        [{"prompt": "The sky is", "completion": " blue."}, {"prompt": "Grass is", "completion": " green."}],
        "prompt+completion",
    ),
    (
        "text",
        [{"text": "The cat sees the plan."}, {"text": "Кошка спит."}],
        "sft",
        [{"text": "The cat sees the plan."}, {"text": "Кошка спит."}],
        "text",
    ),
    (
        "preference-explicit",
        [{"prompt": "Q?", "chosen": "Yes.", "rejected": "No."}, {"prompt": "R?", "chosen": "Ok.", "rejected": "Bad."}],
        "dpo",
        [{"prompt": "Q?", "chosen": "Yes.", "rejected": "No."}, {"prompt": "R?", "chosen": "Ok.", "rejected": "Bad."}],
        "paired",
    ),
    (
        "preference-implicit-text",
        [{"chosen": "Q? Yes.", "rejected": "Q? No."}, {"chosen": "R? Ok.", "rejected": "R? Bad."}],
        "dpo",
        [
            {"prompt": "Q?", "chosen": " Yes.", "rejected": " No."},
            {"prompt": "R?", "chosen": " Ok.", "rejected": " Bad."},
        ],
        "paired",
    ),
    (
        "preference-implicit-chat",
        [
            {"chosen": [_user("Q?"), _assistant("Yes.")], "rejected": [_user("Q?"), _assistant("No.")]},
            {"chosen": [_user("R?"), _assistant("Ok.")], "rejected": [_user("R?"), _assistant("Bad.")]},
        ],
        "dpo",
        [
            {"prompt": [_user("Q?")], "chosen": [_assistant("Yes.")], "rejected": [_assistant("No.")]},
            {"prompt": [_user("R?")], "chosen": [_assistant("Ok.")], "rejected": [_assistant("Bad.")]},
        ],
        "paired",
    ),
    (
        "kto-unpaired",
        [
            {"prompt": "Q?", "completion": "Yes.", "label": True},
            {"prompt": "Q?", "completion": "No, never, not at all.", "label": False},
        ],
        "kto",
        [
            {"prompt": "Q?", "completion": "Yes.", "label": True},
            {"prompt": "Q?", "completion": "No, never, not at all.", "label": False},
        ],
        "unpaired",
    ),
]
FLAT = {
    "alpaca",
    "alpaca-without-input",
    "prompt-completion",
    "text",
    "preference-explicit",
    "preference-implicit-text",
}


def _write(kind: str, rows: list[dict], folder: Path) -> Path:
    """The rows as a file (or folder) of the given kind, written by the libraries people use."""
    import datasets

    folder.mkdir(parents=True, exist_ok=True)
    if kind == "jsonl":
        return write_jsonl(folder / "d.jsonl", rows)
    if kind in ("json-array", "array-in-jsonl"):
        path = folder / ("d.json" if kind == "json-array" else "d.jsonl")
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        return path
    table = datasets.Dataset.from_list(rows)
    if kind == "parquet":
        table.to_parquet(str(folder / "d.parquet"))
        return folder / "d.parquet"
    if kind == "csv":
        table.to_csv(str(folder / "d.csv"), index=False)
        return folder / "d.csv"
    if kind == "arrow":
        import pyarrow as pa

        with pa.OSFile(str(folder / "d.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.data.schema) as out:
            out.write_table(table.data.table)
        return folder / "d.arrow"
    if kind == "save_to_disk":
        table.save_to_disk(str(folder / "saved"))
        return folder / "saved"
    datasets.DatasetDict({"train": table}).save_to_disk(str(folder / "saved_dict"))
    return folder / "saved_dict"


KINDS = ("jsonl", "json-array", "array-in-jsonl", "parquet", "csv", "arrow", "save_to_disk", "save_to_disk_dict")


@pytest.mark.parametrize(("name", "rows", "method", "expected", "layout"), CASES, ids=[c[0] for c in CASES])
def test_each_format_in_each_file_kind_gives_the_same_rows(tmp_path, name, rows, method, expected, layout) -> None:
    for kind in KINDS:
        if kind == "csv" and name not in FLAT:
            continue  # CSV holds text columns only: no lists of messages, no booleans
        path = _write(kind, rows, tmp_path / kind)
        got, got_layout, _ = training_rows(path, method)
        assert (got, got_layout) == (expected, layout), (name, kind)


def test_the_held_out_split_is_taken_from_the_normalised_rows_in_file_order(tmp_path) -> None:
    """Same rows, same seed: ShareGPT and messages files hold out the same conversations."""
    messages = sft_rows(20, seed=3)
    share = [
        {
            "conversations": [
                {"from": {"user": "human"}.get(m["role"], "gpt"), "value": m["content"]} for m in r["messages"]
            ]
        }
        for r in messages
    ]
    a, _, _ = training_rows(write_jsonl(tmp_path / "m.jsonl", messages), "sft")
    b, _, _ = training_rows(_write("parquet", share, tmp_path / "p"), "sft")
    assert a == b == messages
    assert split_holdout(b, 0.25, 7) == split_holdout(messages, 0.25, 7)
    train, held = split_holdout(b, 0.25, 7)
    assert len(held) == 5 and len(train) == 15  # n_eval = max(1, round(n * fraction))


# ------------------------------------------------------------------ trained through the real stages


def _adapter(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def _same(a: dict, b: dict) -> None:
    import torch

    assert set(a) == set(b) and any("lora_B" in k and a[k].abs().sum() > 0 for k in a)  # trained, not the init
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_sharegpt_sft_trains_exactly_what_messages_train(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tools.sft import run_sft
    from tools.training import TrainSpec

    base = tiny("llama")
    messages = sft_rows(12, seed=1)
    names = {"user": "human", "assistant": "gpt"}
    share = [
        {"conversations": [{"from": names[m["role"]], "value": m["content"]} for m in r["messages"]]} for r in messages
    ]
    plain = write_jsonl(tmp_path / "chat.jsonl", messages)
    sharegpt = tmp_path / "share.json"
    sharegpt.write_text(json.dumps(share), encoding="utf-8")  # a JSON array, as ShareGPT dumps usually are
    fields = {"max_steps": 1, "batch_size": 4, "learning_rate": 5e-2, "r": 4, "alpha": 8, "seed": 5}
    one = run_sft(TrainSpec(dataset=str(plain), **fields), str(base), str(tmp_path / "a"))
    two = run_sft(TrainSpec(dataset=str(sharegpt), **fields), str(base), str(tmp_path / "b"))
    assert (one.steps, two.steps) == (1, 1)
    _same(_adapter(tmp_path / "a"), _adapter(tmp_path / "b"))
    assert one.eval_loss_before == two.eval_loss_before  # the same held-out rows, scored the same


def test_implicit_prompt_dpo_trains_exactly_what_explicit_prompts_train(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tools.preference import run_preference
    from tools.training import PreferenceSpec

    base = tiny("llama")
    explicit = chat_preference_rows(12, seed=2)
    implicit = [{"chosen": r["prompt"] + r["chosen"], "rejected": r["prompt"] + r["rejected"]} for r in explicit]
    one_path = write_jsonl(tmp_path / "explicit.jsonl", explicit)
    two_path = _write("save_to_disk", implicit, tmp_path / "implicit")  # and from a save_to_disk folder
    fields = {"max_steps": 1, "batch_size": 4, "learning_rate": 5e-2, "r": 4, "alpha": 8, "seed": 5, "beta": 0.1}
    one = run_preference(PreferenceSpec(dataset=str(one_path), **fields), str(base), str(tmp_path / "a"))
    two = run_preference(PreferenceSpec(dataset=str(two_path), **fields), str(base), str(tmp_path / "b"))
    assert (one.steps, two.steps) == (1, 1)
    _same(_adapter(tmp_path / "a"), _adapter(tmp_path / "b"))


# ------------------------------------------------------------------ refused, each by its one sentence


def _chat(*turns: tuple[str, object]) -> dict:
    return {"conversations": [{"from": who, "value": what} for who, what in turns]}


MALFORMED = [
    ("missing-column", "dpo", '{"prompt": "Q", "chosen": "A", "rejected": "B"}\n{"prompt": "Q", "chosen": "A"}\n',
     "row 2 has no value in column 'rejected'"),
    ("unknown-sharegpt-role", "sft", json.dumps(_chat(("human", "Hi"), ("bot", "Hello"))) + "\n",
     "row 1 column 'conversations': message 2 has role 'bot'; ShareGPT roles are human, user, gpt"),
    ("non-string-content", "sft",
     json.dumps({"messages": [_user("a"), _assistant("b")]}) + "\n" + json.dumps({"messages": [_user("a"), {"role": "assistant", "content": 5}]}) + "\n",
     "row 2 column 'messages': message 2 content is int; it must be text"),
    ("message-without-content", "sft", json.dumps(_chat(("human", "Hi"), ("gpt", None))) + "\n",
     "row 1 column 'conversations': message 2 lacks its content"),
    ("empty-file", "sft", "", "has no rows"),
    ("empty-array", "sft", "[]", "has no rows"),
    ("not-json", "sft", '{"text": "a"}\n{"text": "b"\n', "line 2 is not JSON"),
    ("not-a-record", "sft", '{"text": "a"}\n["text", "b"]\n', "line 2 is not a record"),
    ("label-not-boolean", "kto", '{"prompt": "Q", "completion": "A", "label": "yes"}\n', "KTO needs true"),
    ("no-shared-prompt", "dpo", '{"chosen": "Yes.", "rejected": "No."}\n', "row 1: after taking out the prompt"),
    ("sft-given-pairs", "sft", '{"prompt": "Q", "chosen": "A", "rejected": "B"}\n', "SFT needs messages"),
    ("dpo-given-chat", "dpo", json.dumps({"messages": [_user("a"), _assistant("b")]}) + "\n", "lacks 'chosen', 'rejected'"),
    ("kto-given-alpaca", "kto", '{"instruction": "Do.", "output": "Done."}\n', "KTO needs prompt/completion/label"),
    ("mixed-layouts", "dpo", json.dumps({"messages": [_user("a"), _assistant("b")]}) + '\n{"prompt": "Q", "chosen": "A", "rejected": "B"}\n',
     "row 1 is messages while the file reads as preference; one file holds one layout"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "method", "content", "fragment"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_data_is_refused_by_row_in_one_sentence(tmp_path, name, method, content, fragment) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GraftError) as info:
        training_rows(path, method)
    message = str(info.value)
    assert fragment in message and str(path) in message and "\n" not in message
    if name.split("-")[1] == "given":  # a layout this method cannot use: the formats accepted are named
        assert "Accepted formats: messages; conversations (ShareGPT" in message


def test_a_folder_that_is_not_a_dataset_and_an_unknown_suffix(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(GraftError, match="unknown format"):
        read_dataset(tmp_path / "notes.txt")
    with pytest.raises(GraftError, match="folder with no data files"):
        read_dataset(tmp_path)


def test_rows_under_one_key_of_a_json_object_are_read_as_rows(tmp_path) -> None:
    rows = sft_rows(4)
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps({"data": rows}), encoding="utf-8")
    assert read_dataset(path) == (rows, "json")
    # one record that merely has a "data" column stays one record
    single = tmp_path / "single.jsonl"
    single.write_text(json.dumps({"data": "not a list"}) + "\n", encoding="utf-8")
    assert read_dataset(single) == ([{"data": "not a list"}], "json")


def _graft(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRAFT_HOME": str(home), "COLUMNS": "200"}
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def test_command_line_refuses_with_exit_2_and_one_line(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = write_jsonl(tmp_path / "chat.jsonl", [_chat(("human", "Hi"), ("bot", "Hello"))])
    for args in (
        ("data", str(bad)),
        ("plan", "fine-tune with LoRA on chat.jsonl", "--model", str(tiny("llama")), "--data", str(bad), "--offline"),
    ):
        proc = _graft(*args, home=tmp_path / "home")
        assert proc.returncode == 2, (args[0], proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.startswith("graft:")]
        assert len(lines) == 1 and "message 2 has role 'bot'" in lines[0], (args[0], proc.stderr)
    # The same planner takes a save_to_disk folder of ShareGPT chats and implicit-prompt pairs.
    names = {"user": "human", "assistant": "gpt"}
    share = [
        {"conversations": [{"from": names[m["role"]], "value": m["content"]} for m in r["messages"]]}
        for r in sft_rows(8)
    ]
    folder = _write("save_to_disk", share, tmp_path / "chats")
    pairs = write_jsonl(tmp_path / "pairs.jsonl", [{"chosen": f"{r['prompt']} {r['chosen']}", "rejected": f"{r['prompt']} {r['rejected']}"} for r in dpo_rows(8)])  # fmt: skip
    goal = "fine-tune with LoRA on the chats, then DPO on pairs.jsonl"
    proc = _graft("plan", goal, "--model", str(tiny("llama")), "--data", str(folder), str(pairs), "--offline", "--json", home=tmp_path / "home")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    stages = {s["kind"]: s for s in json.loads(proc.stdout)["stages"]}
    assert stages["sft"]["dataset"] == str(folder) and stages["preference"]["dataset"] == str(pairs)


def test_graft_plan_accepts_sharegpt_and_implicit_prompt_files(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The offline planner and the validator take the formats `graft data` names."""
    from agent.offline_planner import classify_dataset
    from agent.plan import plan_from_data
    from agent.validate import validate_plan

    share = tmp_path / "share.json"
    share.write_text(json.dumps([_chat(("human", "Hi?"), ("gpt", "Hello."))] * 8), encoding="utf-8")
    rows = dpo_rows(8)
    implicit = write_jsonl(tmp_path / "pairs.jsonl", [{"chosen": f"{r['prompt']} {r['chosen']}", "rejected": f"{r['prompt']} {r['rejected']}"} for r in rows])  # fmt: skip
    alpaca = _write("save_to_disk_dict", [{"instruction": "Say hi.", "input": "", "output": "hi"}] * 4, tmp_path / "a")
    assert [classify_dataset(str(p)) for p in (share, implicit, alpaca)] == ["sft", "dpo", "sft"]
    base = tiny("llama")
    plan = plan_from_data(
        {
            "goal": "t",
            "base_model": str(base),
            "output": str(tmp_path / "out"),
            "stages": [
                {"kind": "sft", "id": "chat", "dataset": str(share)},
                {"kind": "sft", "id": "alpaca", "dataset": str(alpaca)},
                {"kind": "preference", "id": "pref", "method": "dpo", "dataset": str(implicit)},
            ],
        }
    )
    validate_plan(plan)


# ------------------------------------------------------------------ identity and the standalone script


def test_changing_an_arrow_file_in_a_save_to_disk_folder_changes_its_identity(tmp_path) -> None:
    """The run cache keys a stage by its dataset's content: a DatasetDict's split lives in a sub-folder."""
    import datasets

    from tools.content_hash import HashCache, content_digest

    for kind in ("save_to_disk", "save_to_disk_dict"):
        folder = _write(kind, [{"text": "one"}, {"text": "two"}], tmp_path / kind)
        before = content_digest(folder, HashCache(None))
        assert content_digest(folder, HashCache(None)) == before
        arrows = sorted(folder.rglob("*.arrow"))
        assert arrows
        other = datasets.Dataset.from_list([{"text": "one"}, {"text": "TWO"}])
        other.save_to_disk(str(tmp_path / "other" / kind))
        arrows[0].write_bytes(next((tmp_path / "other" / kind).glob("*.arrow")).read_bytes())
        assert content_digest(folder, HashCache(None)) != before, kind


def test_the_portable_block_reads_and_splits_alike_without_graft(tmp_path) -> None:
    """agent/export.py embeds `portable_source()` in its standalone script: it must run with no Graft module."""
    from tools.datasets_io import PORTABLE, portable_source

    assert {"read_dataset", "normalise_rows", "split_holdout"} <= set(PORTABLE)
    share = [_chat(("human", f"Q{i}?"), ("gpt", f"A{i}.")) for i in range(10)]
    path = _write("parquet", share, tmp_path / "p")
    script = tmp_path / "standalone.py"
    script.write_text(
        "import json, sys\n"
        "sys.modules['tools'] = None  # any import of Graft fails\n"
        + portable_source()
        + "\n\nrows, fmt = normalise_rows(read_dataset(sys.argv[1])[0], sys.argv[1], 'sft')\n"
        "print(json.dumps([fmt, training_layout(rows, fmt), split_holdout(rows, 0.2, 3)]))\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, str(script), str(path)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    rows, layout, fmt = training_rows(path, "sft")
    assert json.loads(proc.stdout) == [fmt, layout, [list(part) for part in split_holdout(rows, 0.2, 3)]]


def test_alpaca_sft_trains_exactly_what_chat_prompt_completion_trains(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tools.sft import run_sft
    from tools.training import TrainSpec

    base = tiny("llama")
    alpaca = [
        {"instruction": r["messages"][0]["content"], "input": "" if i % 2 else f"case {i}", "output": r["messages"][1]["content"]}
        for i, r in enumerate(sft_rows(12, seed=4))
    ]  # fmt: skip
    chat = [
        {
            "prompt": [_user(r["instruction"] + (f"\n{r['input']}" if r["input"] else ""))],
            "completion": [_assistant(r["output"])],
        }
        for r in alpaca
    ]
    fields = {"max_steps": 1, "batch_size": 4, "learning_rate": 5e-2, "r": 4, "alpha": 8, "seed": 5}
    one = run_sft(
        TrainSpec(dataset=str(write_jsonl(tmp_path / "c.jsonl", chat)), **fields), str(base), str(tmp_path / "a")
    )
    two_path = _write("csv", alpaca, tmp_path / "csv")  # Alpaca as a spreadsheet would save it
    two = run_sft(TrainSpec(dataset=str(two_path), **fields), str(base), str(tmp_path / "b"))
    assert one.loss_on == two.loss_on == "completions only (prompts carry no loss)"
    _same(_adapter(tmp_path / "a"), _adapter(tmp_path / "b"))


def test_run_cache_reruns_when_an_arrow_file_of_a_save_to_disk_folder_changes(tiny, tmp_path, offline_home) -> None:  # type: ignore[no-untyped-def]
    """The runner keys a stage by its dataset's bytes: unchanged, the key (and so the reuse) holds;
    one Arrow file of a DatasetDict's split changed, the key changes and the stage retrains.

    (Checked on the key in one process: across `graft run` processes the key also carries a digest
    of Graft's code, which other edits in a shared checkout would change under the test.)"""
    import datasets

    from agent.plan import plan_from_data
    from agent.runner import StageRunner

    base = tiny("llama")
    folder = _write("save_to_disk_dict", sft_rows(8, seed=0), tmp_path / "data")
    plan = plan_from_data(
        {
            "goal": "t",
            "base_model": str(base),
            "output": str(tmp_path / "final"),
            "stages": [{"kind": "sft", "id": "sft", "dataset": str(folder), "max_steps": 1}],
        }
    )
    stage = plan.stages[0]
    key = StageRunner(plan, tmp_path / "run").cache_key(stage, [str(base)])
    training_rows(folder, "sft")  # reading it leaves it as it was
    assert StageRunner(plan, tmp_path / "run2").cache_key(stage, [str(base)]) == key
    changed = datasets.Dataset.from_list(sft_rows(8, seed=1))
    changed.save_to_disk(str(tmp_path / "changed"))
    (arrow,) = (folder / "train").glob("*.arrow")
    arrow.write_bytes(next((tmp_path / "changed").glob("*.arrow")).read_bytes())
    assert StageRunner(plan, tmp_path / "run3").cache_key(stage, [str(base)]) != key


NO_NETWORK = """
import socket, sys
lookups = []
def refuse(host, *args, **kwargs):
    lookups.append(host)
    raise OSError("no network")
socket.getaddrinfo = refuse
from tools.datasets_io import read_dataset
rows, how = read_dataset(sys.argv[1])
print(len(rows), how, lookups)
"""


def test_reading_a_dataset_asks_no_host_even_without_the_offline_variables(tmp_path) -> None:
    """`datasets.load_dataset` sends a download-count request to the Hub for each file it reads; on a machine
    without network that is a DNS lookup that can hang. Graft reads local files only."""
    path = write_jsonl(tmp_path / "chat.jsonl", sft_rows(3))
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK, str(path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["3", "json", "[]"]


def test_graft_plan_says_why_a_given_file_cannot_be_used(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A --data file the reader refuses is named with the reader's reason, not asked for as if none was given."""
    from agent.offline_planner import PlanRequest, plan_offline

    bad = tmp_path / "chats.jsonl"
    bad.write_text(json.dumps(_chat(("alien", "Hi?"), ("gpt", "Hello."))) + "\n", encoding="utf-8")
    outcome = plan_offline(PlanRequest(goal="LoRA rank 4", model=str(tiny("llama")), data=[str(bad)]))
    assert outcome.plan is None and outcome.question is not None
    assert "role 'alien'" in outcome.question and "Accepted formats" in outcome.question


@pytest.mark.parametrize("name", ["a[1].jsonl", "[bold]x.jsonl", "run*?.jsonl"])
def test_a_file_name_with_glob_characters_is_the_file_itself(tmp_path: Path, name: str) -> None:
    """datasets reads data_files as glob patterns: 'a[1].jsonl' matched nothing and was reported as having no rows."""
    path = write_jsonl(tmp_path / name, sft_rows(5))
    rows, builder = read_dataset(path)
    assert builder == "json" and len(rows) == 5
    assert rows == read_dataset(write_jsonl(tmp_path / "plain.jsonl", sft_rows(5)))[0]
