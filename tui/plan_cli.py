"""`graft plan`: a goal in plain words → a validated plan, printed, as JSON, or saved as YAML.

The person is always told who planned (`llm:MODEL` or `offline`) and, when an LLM was
configured but not used, why, in the server's own words. While an LLM plans, one progress line
per request goes to stderr, so stdout stays the plan (or its JSON) alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tools.errors import GraftError
from tui.safe_text import inert


def _progress(line: str) -> None:
    print(f"graft: {line}", file=sys.stderr, flush=True)


def plan_command(args: argparse.Namespace, console: Any) -> int:
    from agent.plan import save_plan
    from agent.planner import PlanRequest, make_plan
    from agent.validate import validate_plan
    from tui.present import print_plan

    request = PlanRequest(goal=args.goal, model=args.model, data=list(args.data), output=args.output)
    outcome = make_plan(request, use_llm=not args.offline, progress=_progress)
    if outcome.plan is None:
        reason = f" ({outcome.planner_note})" if outcome.planner_note else ""
        raise GraftError((outcome.question or "the goal could not be planned.") + reason)
    plan = outcome.plan
    if args.json:
        # The plan model's own fields at the top level (as `graft run` reads them), then who planned.
        data = {**plan.model_dump(mode="json"), "planner": outcome.planner, "planner_note": outcome.planner_note}
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print_plan(console, plan, outcome.report or validate_plan(plan), outcome.facts)
    if outcome.not_understood:
        console.print("not placed in the plan: " + inert(", ".join(outcome.not_understood)))
    if outcome.planner == "offline":
        console.print("planned by the offline planner")
    else:
        console.print(f"planned by {inert(outcome.planner)}; checked against the files like any plan")
    if outcome.planner_note:
        console.print(f"[yellow]{inert(outcome.planner_note)}[/]")
    if args.save:
        save_plan(plan, args.save, overwrite=args.overwrite)
        console.print(f"saved to {inert(args.save)}; run it with `graft run {inert(args.save)}`")
    return 0
