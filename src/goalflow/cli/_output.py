"""What commands print: JSON, goals, events and audit entries as text, tables, progress bars."""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import datetime, tzinfo
from typing import Any

import click
import orjson

from goalflow import outcomes
from goalflow.domain.goal import EVENT_TYPES, FINAL_STATUSES, Goal


def print_json(value: Any, *, indent: bool = False) -> None:
    """One JSON line, or (``indent``) a JSON document indented for people."""
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else None).decode())


def json_lines(items: list[dict[str, Any]]) -> None:
    for item in items:
        print_json(item)


def render_event_line(record: dict[str, Any], *, full: bool = False) -> str:
    """One event: position, recorded time, goal, version, type, actor, and what it says."""
    if "problem" in record:  # an event this goalflow cannot read, shown raw
        mark = click.style("ERASED" if record.get("erased") else
                           "UNKNOWN" if record["unknown"] else "UNREADABLE", fg="red",
                           bold=True)
        return (f"#{record['position']:<6} {mark} {record['topic']} (goal {record['goal_id']}"
                f" v{record['version']}): {record['problem']}")
    actor = record["actor"]
    who = f"{actor['id']} ({actor['role']})"
    entry = {"event_type": record["type"], "details": record["data"],
             "reason": record["data"].get("reason")}
    summary = "; ".join(_summary(entry))
    # Fixed widths, so lines printed one at a time (--follow) still line up.
    kind = click.style(f"{record['type']:<{_TYPE_WIDTH}}", bold=True)
    recorded = datetime.fromisoformat(record["recorded_at"]).isoformat(timespec="seconds")
    # A narrow terminal gets git-style short ids; every GOAL_ID argument takes them.
    goal = record["goal_id"] if full or _terminal_width() >= 150 else record["goal_id"][:8]
    head = (f"#{record['position']:<6} {recorded}  {goal}"
            f"  v{record['version']:<4} {kind}  {who:<{_ACTOR_WIDTH}}")
    width = _terminal_width()
    if not full:
        room = width - len(click.unstyle(head)) - 2
        return fit(f"{head}  {shorten(summary, max(room, 20))}".rstrip(), width)
    lines = [fit(head.rstrip(), width), f"       occurred {record['occurred_at']}"]
    for key, value in record["data"].items():
        # In full: a long value wraps onto lines of its own rather than being cut.
        lines += _wrapped(f"       {key}: {brief_value(value)}", width, indent=9)
    return "\n".join(lines)


def _wrapped(line: str, width: int, *, indent: int) -> list[str]:
    if len(line) <= width:
        return [line]
    return textwrap.wrap(line, max(width, indent + 20), subsequent_indent=" " * indent,
                         break_long_words=True, break_on_hyphens=False,
                         drop_whitespace=True) or [line]


_TYPE_WIDTH = max(len(name) for name in EVENT_TYPES)


_ACTOR_WIDTH = 24


class _Pager:
    on = False  # stdout is a pager showing on a terminal: lines still fit the terminal


def _terminal_width() -> int:
    # Piped output keeps every character, as a terminal of generous width would.
    if sys.stdout.isatty() or _Pager.on:
        return shutil.get_terminal_size().columns
    return PIPED_WIDTH


PIPED_WIDTH = 1000
"""The width text output takes when it goes to a pipe or a file: as good as none."""

_STYLE = re.compile(r"\x1b\[[0-9;]*m")


def fit(line: str, width: int) -> str:
    """``line`` cut to ``width`` visible characters (an ellipsis marks the cut), its
    colours kept and closed; one that fits is as it was."""
    if len(click.unstyle(line)) <= width:
        return line
    out, shown, at = [], 0, 0
    for match in _STYLE.finditer(line):
        text = line[at:match.start()]
        take = text[: max(width - 1 - shown, 0)]
        out.append(take)
        shown += len(take)
        if shown >= width - 1:
            break
        out.append(match.group())
        at = match.end()
    else:
        out.append(line[at:][: max(width - 1 - shown, 0)])
    styled = _STYLE.search(line) is not None
    return "".join(out) + "\u2026" + ("\x1b[0m" if styled else "")


def brief_value(value: Any) -> str:
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return "-" if value is None else str(value)


class _Progress:
    """A progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=max(total, 1), label=self.label,
                                         file=sys.stderr)
            self.bar.__enter__()
        self.bar.length = max(total, 1)
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[_Progress]:
    progress = _Progress(label)
    try:
        yield progress
    finally:
        progress.close()


class Phases:
    """One labelled progress bar per phase of a long run (the events copied, then each
    read model built), each closed as the next begins; on stderr when it is a terminal,
    and not at all when ``quiet`` (--json)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._current: _Progress | None = None

    def __call__(self, label: str) -> Callable[[int, int], None]:
        self.close()
        self._current = _Progress(label)
        return self._current if not self.quiet else _silent

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None


def _silent(done: int, total: int) -> None:
    """Progress under --json: none."""


@contextlib.contextmanager
def phases(*, quiet: bool = False) -> Iterator[Phases]:
    """:class:`Phases`, the last one closed on the way out."""
    shown = Phases(quiet)
    try:
        yield shown
    finally:
        shown.close()


def shorten(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "\u2026"


def render_table(headers: list[str], rows: list[list[Any]]) -> str:
    """Aligned columns that fit the terminal; the last column is shortened to fit."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(click.unstyle(h))] + [len(click.unstyle(r[i])) for r in cells])
              for i, h in enumerate(headers)]
    if sys.stdout.isatty() or _Pager.on:  # piped output keeps every character
        room = shutil.get_terminal_size().columns - sum(widths[:-1]) - 2 * len(widths[:-1])
        widths[-1] = max(min(widths[-1], room), 10)

    def line(row: list[str]) -> str:
        parts = [c + " " * (w - len(click.unstyle(c))) for c, w in zip(row[:-1], widths,
                                                                      strict=False)]
        return fit("  ".join([*parts, shorten(row[-1], widths[-1])]).rstrip(),
                   _terminal_width())

    return "\n".join([click.style(line(headers), bold=True), *(line(r) for r in cells)])


def render_plan_goal(goal: dict[str, Any]) -> str:
    status = click.style(goal["status"], fg=STATUS_COLOURS.get(goal["status"]), bold=True)
    kind = "  (group goal)" if goal["group_goal"] else ""
    lines = [f"{goal['goal_id']}  {status}  terms v{goal['terms_version']}{kind}",
             f"  {goal['statement']}"]
    if goal["awaiting_agreement"]:
        lines.append(f"  awaiting agreement from {', '.join(goal['awaiting_agreement_from'])}")
    if goal["status"] in FINAL_STATUSES:  # a finished goal has no review ahead
        lines.append(f"  target {goal['target_date'] or '-'}")
    else:
        lines.append(f"  target {goal['target_date'] or '-'}; next review"
                     f" {goal['next_review_on'] or '-'}")
    for step in goal["steps"]:
        mark = "[x]" if step["status"] == "completed" else "[ ]"
        lines.append(f"  {mark} {step['step_id']} {step['description']}")
    for m in goal["measures"]:
        latest = f", latest {m['latest']} ({m['latest_at'][:10]})" if m["latest"] is not None \
            else ""
        lines.append(f"  {m['name']}: baseline {_number(m['baseline'])}, target"
                     f" {_number(m['target'])} ({m['direction']}){latest}")
    achieved = goal.get("achievement_status")
    if achieved and achieved["code"]:
        lines.append(f"  achievement: {achieved['code']} ({achieved['explanation']})")
    width = _terminal_width()  # a long statement or step wraps on a terminal, never cut
    return "\n".join(wrapped for line in lines for wrapped in _wrapped(line, width, indent=4))


def render_audit_entry(entry: dict[str, Any], *, late_days: float = 2.0) -> str:
    who = f"{entry['actor_id']} ({entry['actor_role']}"
    who += f" for {entry['on_behalf_of']})" if entry["on_behalf_of"] else ")"
    late = ""
    if entry["late_seconds"] > late_days * 86400:
        late = click.style(f"  [entered {_duration(entry['late_seconds'])} late]", fg="yellow")
    lines = [f"#{entry['position']:<5} {entry['recorded_at']}  {entry['goal_id']}"
             f" v{entry['version']}  {click.style(entry['event_type'], bold=True)}"
             f"  by {who}{late}"]
    lines += [f"       {shorten(text, 100)}" for text in _summary(entry)]
    if entry["occurred_at"] != entry["recorded_at"]:
        lines.append(f"       occurred {entry['occurred_at']}")
    for change in entry.get("changes", ()):
        if change["change"] == "changed":
            lines.append(f"       {change['field']}: {shorten(_brief(change['before']), 45)}"
                         f" -> {shorten(_brief(change['after']), 45)}")
        elif change["change"] == "step reworded":
            lines.append(f"       step {change['step_id']} reworded: {change['before']!r} ->"
                         f" {change['after']!r}")
        else:
            text = change["after"] if change["change"] == "step added" else change["before"]
            lines.append(f"       {change['change']} {change['step_id']}: {text}")
    if entry.get("date_only"):
        lines.append("       " + click.style("date only: the target date is all it changed",
                                             fg="yellow"))
    agreement = entry.get("agreement")
    if agreement:
        state = agreement["agreement"]
        if state == "agreed":
            state += f" at {agreement['agreed_at']}"
        elif state == "pending":
            waiting = [p for p in agreement["required_parties"]
                       if p not in agreement["agreed_parties"]]
            state += f" (awaiting {', '.join(waiting)})"
        else:
            state += f" by #{agreement['superseded_by']}"
        lines.append(f"       client agreement to terms v{agreement['terms_version']}: {state}")
    width = _terminal_width()
    return "\n".join(fit(line, width) for line in lines)


def _duration(seconds: int) -> str:
    if seconds >= 86400:
        return f"{seconds // 86400} days"
    if seconds >= 3600:
        return f"{seconds // 3600} hours"
    return f"{seconds // 60} minutes"


def _summary(entry: dict[str, Any]) -> list[str]:
    """What an entry says, in a line or two, by event type."""
    d = entry["details"]
    kind = entry["event_type"]
    if kind == "Drafted":
        return [d["statement"]]
    if kind == "AgreedByClient":
        witness = f", witnessed by {d['witnessed_by']['id']}" if d["witnessed_by"] else ""
        return [f"{d['party']} agreed to terms v{d['terms_version']} ({d['method']}{witness})"]
    if kind == "ClientDisagreed":
        lines = [f"{d['party']} disagreed: {entry['reason']}"]
        if d["alternative"]:
            lines.append(f"would rather: {d['alternative']}")
        return lines
    if kind in ("StepCompleted", "StepReopened", "StepAdded"):
        text = d.get("description") or d.get("note") or entry["reason"]
        return [f"step {d['step_id']}" + (f": {text}" if text else "")]
    if kind == "ProgressRecorded":
        return [f"{d['measure']} = {_number(d['value'])}"]
    if kind == "GasScaleSet":
        scale = d["scale"]
        return [f"GAS scale, weight {_number(scale['weight'])}, baseline"
                f" {scale['baseline_level']:+d}; expected (0): {scale['levels'][2]}"]
    if kind == "AttainmentRated":
        return [f"attainment {d['level']:+d} ({d['rater_role']}'s rating)"]
    if kind == "ReviewHeld":
        line = f"outcome {d['outcome']}"
        if d["next_review_on"]:
            line += f"; next review {d['next_review_on']}"
        return [line] + ([d["notes"]] if d["notes"] else [])
    text = entry["reason"] or d.get("evidence")
    return [text] if text else []


def _brief(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(v["name"] if isinstance(v, dict) and "name" in v else str(v)
                         for v in value) or "(none)"
    return "(none)" if value is None else str(value)


STATUS_COLOURS = {"proposed": "yellow", "active": "green", "on-hold": "blue",
                  "completed": "cyan", "cancelled": "red", "rejected": "red",
                  "entered-in-error": "magenta"}


def render_goal(goal: Goal, zone: tzinfo) -> str:
    """A goal for people: labelled lines, times in ISO 8601 with their offset; a reading's
    date is the clinic's (``zone``, the store's time zone)."""
    status = click.style(goal.status, fg=STATUS_COLOURS.get(goal.status), bold=True)
    rows: list[tuple[str, str]] = [
        ("Subject", _subject(goal)),
        ("Statement", goal.statement),
    ]
    if goal.client_words:
        rows.append(("Client's words", f"\u201c{goal.client_words}\u201d"))
    rows += [
        ("Addresses", "; ".join(goal.addresses) or "-"),
        ("Strengths", "; ".join(goal.strengths) or "-"),
        ("Target date", goal.target_date.isoformat() if goal.target_date else "-"),
    ]
    for n, measure in enumerate(goal.measures):
        reading = goal.readings.get(measure.name)
        latest = (f"; latest {_number(reading.value)} on"
                  f" {reading.occurred_at.astimezone(zone).date()}" if reading else "")
        rows.append(("Measures" if n == 0 else "",
                     f"{measure.name}: baseline {_number(measure.baseline)}, target"
                     f" {_number(measure.target)} ({measure.direction}){latest}"))
    for n, step in enumerate(goal.steps):
        mark = "[x]" if step.status == "completed" else "[ ]"
        rows.append(("Steps" if n == 0 else "", f"{mark} {step.step_id} {step.description}"))
    for n, agreement in enumerate(goal.agreements):
        how: str = agreement.method
        if agreement.witnessed_by is not None:
            how += f", witnessed by {agreement.witnessed_by.describe()}"
        by = "" if agreement.by.id == agreement.party else f" (by {agreement.by.describe()})"
        rows.append(("Agreements" if n == 0 else "",
                     f"{agreement.party} agreed to terms v{agreement.terms_version}{by}"
                     f" ({how}) at {agreement.occurred_at.isoformat()}"))
    if goal.awaiting_agreement_from and goal.status == "proposed":
        rows.append(("Awaiting", "agreement from " + ", ".join(goal.awaiting_agreement_from)))
    if goal.status_reason:
        rows.append(("Status reason", goal.status_reason))
    achieved = outcomes.achievement(goal)
    rows.append(("Achievement", f"{achieved.code or '-'} ({achieved.explanation})"))
    if goal.gas_scale is not None:
        scale = goal.gas_scale
        rated = "; ".join(f"{role} {r.level:+d} on {r.occurred_at.astimezone(zone).date()}"
                          for role, r in goal.ratings.items()) or "not rated yet"
        rows.append(("GAS", f"weight {_number(scale.weight)}, baseline"
                     f" {scale.baseline_level:+d}; {rated}"))
    if not goal.is_final:  # a finished goal has no review ahead
        rows.append(("Next review",
                     goal.next_review_on.isoformat() if goal.next_review_on else "-"))
    rows += [
        ("Drafted", f"{goal.drafted_at.isoformat()} by {goal.drafted_by.describe()}"),
        ("Last recorded", goal.modified_on.isoformat()),
    ]
    width = max(len(label) for label, _ in rows) + 2
    header = f"Goal {goal.id}  {status}  (version {goal.version}, terms v{goal.terms_version})"
    columns = _terminal_width()  # a long value wraps on a terminal, under its own column
    return "\n".join([fit(header, columns), *(
        wrapped for label, value in rows
        for wrapped in _wrapped(f"{label:<{width}}{value}", columns, indent=width))])


def _subject(goal: Goal) -> str:
    if goal.subject.kind == "group":
        return f"group {goal.subject.id} (members: {', '.join(goal.subject.members)})"
    return f"client {goal.subject.id}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def render_outcomes(result: dict[str, Any], zone: tzinfo) -> str:
    """A subject's outcomes for people: each goal, its measures with the rule behind each
    judgement, its paired result and achievementStatus, then the GAS T-scores."""
    lines = [f"Outcomes for {result['subject_id']}"
             + (f" as of {result['as_of']}" if result["as_of"] else "")]
    if not result["goals"]:
        lines.append("No goals.")
    for goal in result["goals"]:
        status = goal["achievement_status"]
        lines += ["", f"Goal {goal['goal_id']}  {goal['status']}  {goal['statement']}",
                  f"  achievementStatus: {status['code'] or '-'} ({status['explanation']})"]
        for m in goal["measures"]:
            latest = "no readings" if m["latest"] is None else \
                f"latest {_number(m['latest'])}" + (
                    f" on {datetime.fromisoformat(m['latest_at']).astimezone(zone).date()}")
            lines.append(f"  {m['measure']}: baseline {_number(m['baseline'])}"
                         f" ({m['baseline_from'] or '-'}), {latest}, change"
                         f" {_number(m['change'])} ({m['readings']} readings)")
            for label, key in (("reliable", "reliable"), ("rci", "rci"),
                               ("clinical at baseline", "clinical_at_baseline"),
                               ("clinical now", "clinical_now"), ("recovered", "recovered"),
                               ("reliably recovered", "reliably_recovered"),
                               ("target met", "target_met")):
                judged = m[key]
                value = judged["value"]
                shown = f"{value:.2f}" if isinstance(value, float) else _yes_no(value)
                lines.append(f"    {label + ':':<22}{shown}  [{judged['rule']}]")
        pair = goal["paired"]
        if pair is not None:
            lines.append(f"  paired: reliable {pair['reliable']}, recovered"
                         f" {_yes_no(pair['recovered'])}, reliably recovered"
                         f" {_yes_no(pair['reliably_recovered'])}  [{pair['rule']}]")
    gas = result["gas"]
    lines.append("")
    if gas["t_score"] is None:
        lines.append("GAS: no rated goals")
    else:
        used = ", ".join(f"{g['goal_id'][:8]} {g['level']:+d} (w {_number(g['weight'])},"
                         f" {g['rater_role']})" for g in gas["goals"])
        lines.append(f"GAS T-score {gas['t_score']:.1f} (baseline {gas['baseline_t_score']:.1f})"
                     f" over {len(gas['goals'])} goals: {used}  [{gas['rule']}]")
    return "\n".join(lines)


def render_service(figures: dict[str, Any]) -> str:
    """Service-level rates with the counts behind each."""
    since = f" since {figures['since']}" if figures["since"] else ""
    lines = [f"Goals ended{since} with a baseline and a later reading: {figures['ended']}"
             f" ({figures['not_clinical_at_baseline']} not clinical at baseline)"]
    for label, key in (("reliable improvement", "reliable_improvement"),
                       ("reliable deterioration", "reliable_deterioration"),
                       ("recovery", "recovery"), ("reliable recovery", "reliable_recovery")):
        rate = figures[key]
        shown = "-" if rate["rate"] is None else f"{100 * rate['rate']:.1f}%"
        lines.append(f"  {label + ':':<24}{shown:>7}  ({rate['count']} of {rate['of']})")
    return "\n".join(lines)


def _yes_no(value: Any) -> str:
    return {True: "yes", False: "no", None: "-"}.get(value, str(value))


def render_cloned_plans(clones: list[dict[str, Any]], interval_days: int) -> str:
    """The subjects whose plans changed nothing but dates in their latest review period."""
    if not clones:
        return f"No plan changed only dates in its latest {interval_days}-day review period."
    lines = [f"Plans that changed nothing but dates in their latest {interval_days}-day"
             " review period:"]
    for c in clones:
        lines.append(f"  {c['subject_id']}: {c['period_start']} to {c['period_end']},"
                     f" {len(c['revisions'])} date-only revisions (#"
                     + ", #".join(str(p) for p in c["revisions"]) + f"), {len(c['reviews'])}"
                     f" reviews that continued; goals {', '.join(c['goals'])}")
    return "\n".join(lines)


def render_change(change: dict[str, Any]) -> list[str]:
    """One change of ``goalflow diff`` in words: a step, measure or agreement by what it
    says, a changed item by the parts that changed; never a JSON blob."""
    field, before, after = change["field"], change["before"], change["after"]
    if isinstance(before, dict) and isinstance(after, dict):
        return [f"{field}.{key}: {_in_words(before.get(key))} -> {_in_words(after.get(key))}"
                for key in after.keys() | before.keys()
                if before.get(key) != after.get(key)] or [f"{field}: changed"]
    if field.endswith(" (added)"):
        name = field.removesuffix(" (added)")
        return [f"{name}: added {_in_words(item)}" for item in after]
    if before is None and isinstance(after, dict):
        return [f"{field}: added {_in_words(after)}"]
    if after is None and isinstance(before, dict):
        return [f"{field}: removed {_in_words(before)}"]
    return [f"{field}: {_in_words(before)} -> {_in_words(after)}"]


def _in_words(value: Any) -> str:
    """A value of a goal's ``to_dict()`` as a person would write it."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return "; ".join(_in_words(item) for item in value) or "(none)"
    if not isinstance(value, dict):
        return str(value)
    if "step_id" in value:
        return f"{value['step_id']} {value['description']} ({value['status']})"
    if "terms_version" in value and "party" in value:
        how = value["method"]
        if value.get("witnessed_by"):
            how += f", witnessed by {_in_words(value['witnessed_by'])}"
        return f"{value['party']} agreed to terms v{value['terms_version']} ({how})"
    if "role" in value and "id" in value:
        return f"{value['role']} {value['id']}"
    if "value" in value and "occurred_at" in value:
        return f"{_number(value['value'])} on {str(value['occurred_at'])[:10]}"
    if "name" in value and "direction" in value:
        return (f"{value['name']}: baseline {_number(value.get('baseline'))}, target"
                f" {_number(value.get('target'))} ({value['direction']})")
    return ", ".join(f"{k} {_in_words(v)}" for k, v in value.items() if v is not None)
