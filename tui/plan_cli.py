"""`graft plan`: a goal in plain words → a validated plan, printed, as JSON, or saved as YAML."""

from __future__ import annotations

import argparse
from typing import Any

from tools.errors import GraftError
from tui.safe_text import inert


def plan_command(args: argparse.Namespace, console: Any) -> int:
    from agent.plan import save_plan
    from agent.planner import PlanRequest, make_plan
    from agent.validate import validate_plan
    from tui.present import print_plan

    request = PlanRequest(goal=args.goal, model=args.model, data=list(args.data), output=args.output)
    outcome = make_plan(request, use_llm=not args.offline)
    if outcome.plan is None:
        raise GraftError(outcome.question or "the goal could not be planned.")
    plan = outcome.plan
    if args.json:
        print(plan.model_dump_json(indent=2))
        return 0
    print_plan(console, plan, outcome.report or validate_plan(plan))
    if outcome.not_understood:
        console.print("not placed in the plan: " + inert(", ".join(outcome.not_understood)))
    console.print(f"planned by the {outcome.planner} planner")
    if args.save:
        save_plan(plan, args.save, overwrite=args.overwrite)
        console.print(f"saved to {inert(args.save)}; run it with `graft run {inert(args.save)}`")
    return 0
