"""The goals table (tests/phrasing/goals.yaml) and its held-out part, planned offline against a real tiny model.

A case is right when the plan has the expected stages and keeps every stated fact, or when the
expected question (or refusal) comes back. A *silent* miss is a plan that drops or changes a
stated fact, or has other stages, with no question: the one kind of wrong that must not happen.
Run with `-s` to see the scores: `pytest -s tests/test_phrasing_table.py`.

First runs, before anything was fixed from them (the honest held-out numbers): goals_heldout.yaml 44/50
(88%, 1 silent: "слои с третьего по шестой"); goals_heldout2.yaml 43/45 (96%, 0 silent); the adversarial
goals_heldout3.yaml 27/40 (68%, 6 silent: sentence-split qualifiers, "not SFT"/"skip the SFT"/"не SFT",
"rank 8 or 16"). All three were then fixed where the miss was a general bug, so their current scores are
no longer held-out estimates. goals_heldout4.yaml, written after all of that and run once on the
finished planner: 34/40 (85%), 0 silent — every miss a question; its general bugs were then fixed too. (heldout3's "save the result as bf16 under …" expects a plan; a question is
arguably right there, and it stays as written.)
goals_heldout5.yaml (66 goals, 40% Russian, multi-stage recipes with per-stage values checked per stage via
the `s` key), written before any fix of that round and run once: 54/66 (82%), 8 silent — della/model_stock
merges read as TIES, "weight 0.7 … weight 0.3" per model dropped, gradient_accumulation_steps dropped,
"don't use DoRA" trained DoRA, "middle third" and "except the first and the last" misread, "не делай SFT"
and "SFT then DPO. Scratch that, just DPO" kept the SFT stage. Those were fixed by class (per-stage scoping of
values in goal_facts, used by the planner and the check), after which heldout5 reads 65/66 — no longer held out.
goals_heldout6.yaml (38 goals, 39% Russian), written after those fixes and run once: 35/38 (92%), 2 silent —
"then another SFT pass on b.jsonl" became a merge variant (a branch from the base that nothing merged) and
"do SFT, actually no, skip SFT and just run KTO" kept the SFT stage. With time left, those two silent classes
WERE then fixed from heldout6 (a variant with no merge is the next round; "actually no" before a negated stage
takes it back, and a stage asked for then negated is asked about), so heldout6's current 37/38 is no longer a
held-out estimate either: the honest numbers are the first runs, heldout5 82% (8 silent), heldout6 92% (2 silent).
goals_heldout7.yaml (31 goals, 42% Russian), written after all of the above, run once: 26/31 (84%), 3 silent —
"the upper two thirds" (number words made it "2 thirds"), "skip the first layer and train the rest" trained
layer 0 only, "со второго по четвёртый и последний" lost "и последний"; asked (not silent): "1 epoch at 2e-4
learning rate" and "let's make beta 0.4 instead". Those were then fixed by class too (verbs that leave layers
out — skip/freeze/заморозь/не трогай, with "freeze all but …" inverted; fractions spelt with number words; a list
item with its noun left out; a value said before its word; "let's make …"/"хм, давай" as corrections), so its
31/31 now is not held out. heldout4's "skip the first 4 layers, train the rest" gained its layers fact then: it
had planned layers 0-3, which the case could not see.
goals_heldout8.yaml (31 goals, 42% Russian; TRL flags, Axolotl/mergekit config lines), written after all of that
and the layer-phrase safety net, run once: 27/31 (87%), 3 silent — "at the end merge everything" dropped the
merge, "dare_ties merge …, after an SFT on …" ran the merge first, "ранг 16… нет, 32, потом DPO" lost the
stage the rank was for; asked: "100 warmup steps". Fixed by class afterwards (a merge verb with no merge in the
plan is a question in the fact check; "merge everything/the result" folds; "X after an SFT"/"после SFT" puts the
SFT first; values before "then/потом" with no verb are an SFT stage; the schedule and value-first warmup are
facts), so its 31/31 now is not held out. The honest first-run numbers of this round: 82%, 92%, 84%, 87%, with
8, 2, 3, 3 silent — every fresh set still found a new silent class, so the next fresh set should be expected
near 85-90% with a silent case or two, not at the tuned tables' 100%.
goals_heldout9.yaml (30 goals, 43% Russian), written after the heldout8 fixes, run once: 24/30 (80%), 2 silent —
"label smoothing 0.1" dropped (its number was listed as read elsewhere, and nothing read it), "DPO without DoRA
(plain LoRA)" planned a full fine-tune; asked (not silent): "two SFT rounds", "rank 8 on layers 0 to 3 for SFT,
and rank 4 on layers 8 to 11 for DPO", "every other block starting from block 1", "последних четырёх".
With time left its two silent classes and two of the asked ones WERE then fixed (label smoothing and seed are
slots, a GPU count is asked about; "without DoRA" is a LoRA; "… for SFT"/"для SFT" after a value names its stage,
layers included; "two SFT rounds"; a stride's start, "every other block starting from block 1"), so heldout9
now reads 29/30 — the honest number is its first run, 80%.
Next round (2026-11-26): goals_heldout10.yaml (37) and goals_heldout11.yaml (38), written blind by a helper
from real recipes before the round's first change was run on them. heldout10, run once after the settings
net (agent/goal_settings.py: library config names, techniques, mergekit methods, switches, max_grad_norm):
27/37 (73%), 1 silent ("Обучи на chat, 32 и 64": a number list nothing read). heldout11 was run (by
accident, in the same table run) after that and the number-list fix: 26/38 (68%), 6 silent — "the middle four
layers", a typo'd "learnign rate 3e-4" beside "500 steps" (a list with one number read counted as read),
cosine_with_min_lr read as understood, PiSSA and LoftQ planned as plain LoRA, "…и на последнем" lost. Both
were then fixed by class (the number of each list checked one by one; layer spans after number words; the
middle N; a layer noun said earlier; "but not 5"; PEFT method/initialisation names; "(not a.jsonl)"; "no,
skip SimPO" as a take-back; bullets and "bf16 → path"), so their current scores are not held out.
goals_heldout12.yaml (40, 16 Russian; config pastes from alpaca-lora, torchtune, ms-swift, LLaMA-Factory, model
cards), written blind by a helper after all of that and run once at 16c6a96: 24/40 (60%), 2 silent — a JSON
"lr_scheduler_type": "cosine" dropped, "DoRA … no wait, plain LoRA" kept DoRA; 14 asked (config flags of those
tools named back as unknown settings, numbered lists, "w/", "SFT не нужен", distillation not refused by name).
Its classes were then fixed (config keys of those tools that name a path or a method, "DoRA … no wait, plain
LoRA", bare "2e-5" after a dataset, list numbers, "effective batch 128 (8 × grad_accum 16)", "SFT не нужен",
pref_loss orpo, the opened model as a member of a linear merge, "weight 1.0 for ours and 0.5 for the partner"):
38/40 now, not held out.

heldout13 (45 goals, 18 Russian), written blind by a helper on 2026-11-26 while red-team pass 3's fixes were
being made, run once after them: 23/45 (51%), 3 silent ("a tenth of the sft lr" made a second SFT stage,
"alpha same as its rank" after "half that rank" kept alpha 64, "every layer exept the last two" trained the
last two). goals_redteam3.yaml (155) is red-team pass 3's goals with what each meant: tuned against.
goals_redteam4.yaml (199) is red-team pass 4's fresh goals (judged at 08e329d: 77.5% right, 13 silent): tuned
against. heldout14 (45, 18 Russian), written blind at about 11:35 while pass 4's fixes were made, run once at
dc97990: 36/45 (80%), 3 silent ("SFT is already baked into this checkpoint, so just DPO" and "SFT не делаем,
сразу KTO" planned an SFT; "split across 4 GPUs with DDP" was planned with gpus 4 and DDP where the set expected
a question, which I count as a disputed expectation, not a silent miss).
goals_redteam5.yaml (201) is red-team pass 5's fresh goals, judged by hand at 167c92f (after everything above):
163/201 = 81.1% right or rightly asked, 4 silent (2%) — the honest number for this round; tuned against since.
2026-11-27: red-team passes 15a and 15b (221 fresh goals, blind, at 20d460c) read 78.9% (2 silent) and 84.1%
(5 silent); goals_redteam15.yaml holds them, fixed from by class (208/221 now, 1 known silent row, ratcheted). Pass 16
(126 fresh goals at f44e9f0, after those fixes, not tuned against): 86.5% right, 3 silent.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.goal_facts import _placed, goal_facts
from agent.offline_planner import plan_offline
from agent.planner import PlanRequest
from tools.errors import GraftError
from tools.tiny_data import dpo_rows, kto_rows, sft_rows, write_jsonl

HERE = Path(__file__).parent / "phrasing"
LAYERS = 12


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from tools.tiny import TinyModelArgs, build_tiny_model

    root = tmp_path_factory.mktemp("phrasing")
    model = root / "base"
    build_tiny_model(TinyModelArgs(architecture="llama", output=str(model), num_layers=LAYERS))
    for name in ("partner", "partner2"):
        shutil.copytree(model, root / name)
    (root / "out").mkdir()
    return {
        "model": str(model),
        "sft": str(write_jsonl(root / "chat.jsonl", sft_rows(12))),
        "dpo": str(write_jsonl(root / "prefs.jsonl", dpo_rows(12))),
        "kto": str(write_jsonl(root / "thumbs.jsonl", kto_rows(12))),
        "other": str(write_jsonl(root / "Other.jsonl", sft_rows(12, seed=4))),
        "partner": str(root / "partner"),
        "partner2": str(root / "partner2"),
        "out": str(root / "out"),
    }


def _fill(value: Any, world: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


# merge methods whose weights mergekit normalises to sum to 1 (its `normalize` default): only the proportions matter
NORMALISED = {"linear", "ties", "della"}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):  # (shares are rounded to 6 places: 2/3 is 0.666667)
        return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b)))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


# a Russian goal is asked in Russian (agent/question_language.py): the word the question must hold, in Russian
ASKED_IN_RUSSIAN = {"rank": "ранг", "beta": "бета", "does not run": "не запускает", "epoch": "эпох"}


def judge(case: dict[str, Any], world: dict[str, str]) -> tuple[bool, bool, str]:
    """(right, silent, why) for one case."""
    goal = _fill(case["g"], world)
    data = [world[d] for d in case.get("data", ["sft", "dpo"])]
    try:
        outcome = plan_offline(PlanRequest(goal=goal, model=world["model"], data=data))
    except GraftError as exc:
        if "err" in case and case["err"] in str(exc):
            return True, False, ""
        if "ask" in case and case["ask"].lower() in str(exc).lower():
            return True, False, ""  # a refusal that names it is as good as the question: never silent
        return False, False, f"refused: {exc}"
    if "ask" in case or "err" in case:
        want = case.get("ask") or case.get("err")
        asked = (outcome.question or "").lower()
        if asked and (want.lower() in asked or ASKED_IN_RUSSIAN.get(want.lower(), "\0") in asked):
            return True, False, ""
        if outcome.plan is not None:
            return False, True, f"planned instead of asking about {want}"
        return False, False, f"asked something else: {outcome.question}"
    if outcome.plan is None:
        return False, False, f"asked: {outcome.question}"
    plan = outcome.plan
    kinds = [s.method if s.kind == "preference" else s.kind for s in plan.stages if s.kind not in ("write", "convert")]
    if "k" in case and kinds != case["k"]:
        return False, True, f"stages {kinds}, expected {case['k']}"
    if "s" in case:  # per stage: a value stated for one stage must be in that stage
        stages = [s for s in plan.stages if s.kind not in ("write", "convert")]
        for i, want_stage in enumerate(case["s"]):
            paired = {"models", "weights"} <= set(want_stage or {}) and i < len(stages)
            if paired:  # a merge's weights go with their members: the order the members are listed in is free
                have_weights, want_weights = list(stages[i].weights or []), list(want_stage["weights"])
                if getattr(stages[i], "method", "") in NORMALISED and all(w > 0 for w in have_weights + want_weights):
                    # mergekit divides these methods' weights by their sum: "two parts to one part" is 2/3 and 1/3
                    have_weights = [w / sum(have_weights) for w in have_weights]
                    want_weights = [w / sum(want_weights) for w in want_weights]
                have_pairs = sorted(zip(stages[i].models, have_weights, strict=False))
                want_pairs = sorted(zip(_fill(want_stage["models"], world), want_weights, strict=False))
                if len(have_pairs) != len(want_pairs) or not all(
                    h[0] == w[0] and _same(h[1], w[1]) for h, w in zip(have_pairs, want_pairs, strict=True)
                ):
                    return False, True, f"stage {i + 1} merges {have_pairs}, expected {want_pairs}"
            for attr, want in (want_stage or {}).items():
                if paired and attr in ("models", "weights"):
                    continue
                want = _fill(want, world)
                have = getattr(stages[i], attr, None) if i < len(stages) else None
                if attr == "dataset" and isinstance(have, str) and isinstance(want, str):
                    from agent.goal_facts import _same_path

                    if _same_path(have, want):
                        continue
                if (
                    attr == "weights"
                    and getattr(stages[i], "method", "") in NORMALISED
                    and have
                    and all(w > 0 for w in [*have, *want])
                ):  # (normalised by mergekit: only the proportions matter)
                    have, want = [w / sum(have) for w in have], [w / sum(want) for w in want]
                if not _same(have, want):
                    return False, True, f"stage {i + 1} has {attr}={have!r}, expected {want!r}"
    facts = goal_facts(goal, LAYERS)
    for slot, want in (case.get("f") or {}).items():
        want = _fill(want, world)
        hits = [f for f in facts if f.slot == slot and _same(f.value, want)]
        if not hits:
            said = [f.value for f in facts if f.slot == slot]
            # a fact not read is silent only when the plan also lacks it
            from agent.goal_facts import Fact

            if not _placed(Fact(slot, want, "", 0, 0), plan, LAYERS):
                return False, True, f"{slot} {want} not read (read {said}) and not in the plan"
            return False, False, f"{slot} {want} not read as a fact (read {said}), though the plan has it"
        if not _placed(hits[-1], plan, LAYERS):
            return False, True, f"{slot} {want} read but not in the plan"
    return True, False, ""


def score(name: str, world: dict[str, str]) -> tuple[float, int, list[str]]:
    cases = yaml.safe_load((HERE / name).read_text(encoding="utf-8"))
    right, silent, report = 0, 0, []
    for case in cases:
        ok, quiet, why = judge(case, world)
        right += ok
        silent += quiet
        if not ok:
            report.append(f"{'SILENT ' if quiet else ''}{case['g']!r}: {why}")
    rate = right / len(cases)
    print(f"\n{name}: {right}/{len(cases)} right ({rate:.0%}), {silent} silent")
    for line in report:
        print("  " + line)
    return rate, silent, report


def test_table_is_broad() -> None:
    cases = yaml.safe_load((HERE / "goals.yaml").read_text(encoding="utf-8"))
    russian = [c for c in cases if any("а" <= ch <= "я" for ch in c["g"].lower())]
    assert len(cases) >= 200 and len(russian) >= 60
    held = yaml.safe_load((HERE / "goals_heldout.yaml").read_text(encoding="utf-8"))
    held2 = yaml.safe_load((HERE / "goals_heldout2.yaml").read_text(encoding="utf-8"))
    assert len(held) >= 40 and len(held2) >= 40
    goals = [c["g"] for c in cases + held + held2]
    assert len(goals) == len(set(goals))


def test_goals_table(world: dict[str, str]) -> None:
    rate, silent, report = score("goals.yaml", world)
    assert silent == 0, report
    assert rate >= 0.9, report


@pytest.mark.parametrize(
    "name",
    [
        "goals_heldout.yaml",
        "goals_heldout2.yaml",
        "goals_heldout3.yaml",
        "goals_heldout4.yaml",
        "goals_heldout5.yaml",
        "goals_heldout6.yaml",
        "goals_heldout7.yaml",
        "goals_heldout8.yaml",
        "goals_heldout9.yaml",
        "goals_heldout10.yaml",
        "goals_heldout11.yaml",
        "goals_heldout12.yaml",
        "goals_heldout13.yaml",
        "goals_redteam3.yaml",
        "goals_redteam4.yaml",
        "goals_heldout14.yaml",
        "goals_redteam5.yaml",
        "goals_redteam6.yaml",
        "goals_redteam7.yaml",
        "goals_redteam9.yaml",
        "goals_redteam11.yaml",
        "goals_redteam15.yaml",
    ],
)
def test_heldout_table(world: dict[str, str], name: str) -> None:
    """Each set's first run is its honest held-out number (in the docstring); once its misses were fixed by class
    it guards them: no silent miss, and at least 9 in 10 right. A set never tuned against is only reported."""
    rate, silent, report = score(name, world)
    if name in FRESH:
        return
    if name in RATCHET:  # fixed from in part: the misses left may only shrink
        most_silent, least_rate = RATCHET[name]
        assert silent <= most_silent and rate >= least_rate, report
        return
    assert silent == 0, report
    if name in NO_SILENT_ONLY:
        return
    assert rate >= 0.9, report


FRESH: set[str] = set()  # a set run once for the number and not yet fixed from (none now)
# red-team tables hold every shape a pass found, unnecessary questions included: no silent miss is the bar there
NO_SILENT_ONLY = {"goals_redteam3.yaml", "goals_redteam4.yaml"}
# red-team pass 15's table (tests/phrasing/goals_redteam15.yaml, 221 goals): its silent classes were fixed by class, and
# three silent rows remain as known misses (a vague goal naming chats and pairs planned as DPO, "no SFT, but first train
# on X", a hub model name read as the output): the count and the rate may only get better
RATCHET: dict[str, tuple[int, float]] = {"goals_redteam15.yaml": (1, 0.9)}
