"""Commands that read the record: goals, their events and history, plans, audit, reviews."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import click

from goalflow import inspection
from goalflow.cli import _complete as complete
from goalflow.cli._context import Context, stop_on_sigterm
from goalflow.cli._listing import (
    Output,
    Paging,
    emit,
    format_options,
    paged,
    paging_options,
)
from goalflow.cli._options import (
    json_option,
    min_position_options,
    occurred_options,
    parse_date,
    parse_timestamp,
    poll_option,
    resolve_goal,
    since_option,
    subject_option,
    until_option,
)
from goalflow.cli._output import (
    STATUS_COLOURS,
    json_lines,
    print_json,
    render_audit_entry,
    render_change,
    render_cloned_plans,
    render_event_line,
    render_goal,
    render_plan_goal,
    render_table,
)
from goalflow.domain.goal import EVENT_TYPES, STATUSES
from goalflow.errors import InvalidCommand


@click.command()
@click.argument("goal_id", shell_complete=complete.goal_ids)
@click.option("--version", "version", type=click.IntRange(min=1), help="Show this version.")
@click.option("--as-of", "as_of", metavar="TIMESTAMP",
              help="Show the goal as recorded at this moment (a date means its end, in the"
              " store's time zone).")
@click.option("--clinical", is_flag=True, help="With --as-of: the goal with every event"
              " that happened by then, including those recorded later.")
@min_position_options
@json_option("Print JSON.")
@click.pass_obj
def show(obj: Context, goal_id: str, version: int | None, as_of: str | None,
         clinical: bool, as_json: bool) -> None:
    """Print a goal, now or at a past version or moment. Never creates a store.

    --as-of T shows what the record said at T; --as-of T --clinical what had happened
    by T, events entered late included (replayed in the order they were recorded).

    \b
    Examples:
      goalflow show 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b --as-of 2026-03-01
      goalflow show 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b --as-of 2026-03-01 --clinical
      goalflow --db "$REPLICA" show 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b --min-position 1042
    """
    if version is not None and as_of is not None:
        raise click.UsageError("give --version or --as-of, not both")
    if clinical and as_of is None:
        raise click.UsageError("--clinical needs --as-of (the moment to look back from)")
    goals = obj.goals(readonly=True)
    moment = parse_timestamp("--as-of", as_of, end_of_day=True, goals=goals) if as_of else None
    goal = goals.get(resolve_goal(goals, goal_id), version=version, as_of=moment,
                     clinical=clinical)
    if as_json:
        print_json(goal.to_dict(), indent=True)
    else:
        click.echo(render_goal(goal, goals.tzinfo))


@click.command()
@click.option("--goal", "goal_id", metavar="ID", help="Only this goal's events.",
              shell_complete=complete.goal_ids)
@subject_option
@click.option("--type", "event_type", metavar="EVENT", help="Only this event type, e.g."
              " Revised.", shell_complete=complete.event_types)
@click.option("--actor", metavar="ID", help="Only events by this actor id.")
@since_option
@until_option
@occurred_options
@paging_options(positions=True)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events until Ctrl-C"
              " (from now, or from --after).")
@poll_option("With --follow: seconds between looks at the log (SQLite).")
@format_options("Print JSON Lines, the full events.")
@click.pass_obj
def events(obj: Context, goal_id: str | None, subject: str | None, event_type: str | None,
           actor: str | None, since: str | None, until: str | None,
           occurred_since: str | None, occurred_until: str | None, paging: Paging,
           follow: bool, poll: float, output: Output) -> None:
    """Print the global log in order, one line per event.

    \b
    Examples:
      goalflow events --type Revised --since 2026-03-01
      goalflow events --goal 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b --json
      goalflow events -n 20
      goalflow events --csv --fields position,recorded_at,type,actor.id > log.csv
      goalflow events --follow
    """
    goals = obj.goals(readonly=True)
    if event_type is not None and event_type not in EVENT_TYPES:
        raise InvalidCommand(f"--type: unknown event type {event_type!r} (known:"
                             f" {', '.join(EVENT_TYPES)})", field="--type")
    only = [resolve_goal(goals, goal_id)] if goal_id else None

    def chosen_goals() -> list[UUID] | None:
        # Asked again on every pass, so --follow sees goals drafted meanwhile.
        if subject is None:
            return only
        theirs = [g.goal_id for g in goals.goal_index(subject=subject)]
        return theirs if only is None else [g for g in only if g in theirs]

    keep = inspection.between(
        parse_timestamp("--since", since, end_of_day=False, goals=goals) if since else None,
        parse_timestamp("--until", until, end_of_day=True, goals=goals) if until else None,
        actor, **occurred_bounds(goals, occurred_since, occurred_until))
    types = [event_type] if event_type else []

    def records(start: int, upto: int | None = None, newest_first: bool = False
                ) -> Iterator[dict[str, Any]]:
        for entry in inspection.log(goals, after=start, upto=upto, goal_ids=chosen_goals(),
                                    types=types, keep=keep, newest_first=newest_first):
            yield inspection.event_record(*entry)

    if not follow:
        emit(paging.window(records(paging.after or 0,
                                   None if paging.before is None else paging.before - 1,
                                   paging.newest_first)),
             output, render=render_event_line, columns=EVENT_COLUMNS, open_prefixes=("data.",),
             empty="No events.")
        return
    if paging.newest_first or paging.offset or paging.before is not None:
        raise click.UsageError("--follow goes forward: not with --reverse, -n, --offset or"
                               " --before")
    if output.format in ("csv", "tsv"):
        raise click.UsageError("--follow prints text or --json, not --csv or --tsv")
    after = goals.projections.head() if paging.after is None else paging.after
    shown = 0
    stop_on_sigterm()
    try:
        while paging.limit is None or shown < paging.limit:
            for record in records(after):
                if output.text:
                    click.echo(render_event_line(record))
                else:
                    print_json(record)
                after = record["position"]
                shown += 1
                if paging.limit is not None and shown >= paging.limit:
                    return
            goals.store.wait_for_events(poll)
    except KeyboardInterrupt:
        pass


EVENT_COLUMNS: Final = ("position", "recorded_at", "occurred_at", "goal_id", "version",
                        "type", "actor.id", "actor.role", "schema_version")
"""The columns of ``events --csv``; --fields may also name ``data.FIELD``."""


def occurred_bounds(goals: Any, since: str | None, until: str | None
                    ) -> dict[str, datetime | None]:
    """--occurred-since and --occurred-until as times (a date: its start, or its end)."""
    return {
        "occurred_since": parse_timestamp("--occurred-since", since, end_of_day=False,
                                          goals=goals) if since else None,
        "occurred_until": parse_timestamp("--occurred-until", until, end_of_day=True,
                                          goals=goals) if until else None,
    }


@click.command()
@subject_option
@click.option("--status", type=click.Choice(STATUSES), help="Only goals in this status.")
@paging_options(positions=False)
@format_options("Print JSON Lines, one goal per line.")
@click.pass_obj
def goals(obj: Context, subject: str | None, status: str | None, paging: Paging,
          output: Output) -> None:
    """List goals, most recently changed first (from the read models, no replay).

    \b
    Examples:
      goalflow goals --subject client-7 --status active
      goalflow goals --csv > goals.csv
    """
    # (The index is newest first already: --reverse turns it round.)
    shown = [g.to_dict() for g in paging.fetch(functools.partial(
        obj.goals(readonly=True).goal_index, subject=subject, status=status))]
    if output.text:
        if not shown:
            click.echo("No goals.")
            return
        with paged():
            click.echo(render_table(
                ["goal", "status", "subject", "version", "last change", "statement"],
                [[g["goal_id"], click.style(g["status"], fg=STATUS_COLOURS.get(g["status"])),
                  f"{g['subject_kind']} {g['subject_id']}", g["version"], g["updated_at"],
                  g["statement"]] for g in shown]))
        return
    emit(shown, output, render=str, columns=GOAL_COLUMNS)


GOAL_COLUMNS: Final = ("goal_id", "subject_kind", "subject_id", "status", "terms_version",
                       "statement", "version", "drafted_at", "updated_at")


@click.command()
@click.argument("goal_id", shell_complete=complete.goal_ids)
@paging_options(positions=False)
@format_options("Print JSON Lines, the full events.")
@click.pass_obj
def history(obj: Context, goal_id: str, paging: Paging, output: Output) -> None:
    """Print every event of one goal, decoded in full, oldest first.

    \b
    Examples:
      goalflow history 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b --json
      goalflow history 7a1f3e2c -n 3
    """
    goals = obj.goals(readonly=True)
    entries = inspection.history(goals, resolve_goal(goals, goal_id))
    if paging.newest_first:
        entries.reverse()
    emit((inspection.event_record(*entry) for entry in paging.window(entries)), output,
         render=lambda record: render_event_line(record, full=True), columns=EVENT_COLUMNS,
         open_prefixes=("data.",))


@click.command()
@click.argument("position", type=click.IntRange(min=1))
@json_option("Print the event as one JSON document.")
@click.pass_obj
def event(obj: Context, position: int, as_json: bool) -> None:
    """Print the one event at POSITION in the log, decoded in full.

    \b
    Example:
      goalflow event 42 --json
    """
    goals = obj.goals(readonly=True)
    found = next(iter(inspection.log(goals, after=position - 1, limit=1)), None)
    if found is None or found.position != position:
        head = goals.projections.head()
        raise InvalidCommand(f"no event at position {position}: the log holds positions 1"
                             f" to {head}" if head else f"no event at position {position}:"
                             " the log is empty", field="position")
    record = inspection.event_record(*found)
    if as_json:
        print_json(record, indent=True)
    else:
        click.echo(render_event_line(record, full=True))


@click.command()
@click.argument("goal_id", shell_complete=complete.goal_ids)
@click.argument("v1", type=click.IntRange(min=1))
@click.argument("v2", type=click.IntRange(min=1), required=False)
@json_option("Print one JSON document.")
@click.pass_obj
def diff(obj: Context, goal_id: str, v1: int, v2: int | None, as_json: bool) -> None:
    """What changed in a goal's state between versions V1 and V2 (default: the latest).

    \b
    Examples:
      goalflow diff 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b 3 8
      goalflow diff 7a1f3e2c 3
    """
    goals = obj.goals(readonly=True)
    gid = resolve_goal(goals, goal_id)
    before = goals.get(gid, version=v1).to_dict()
    latest = goals.get(gid) if v2 is None else None
    after = (latest or goals.get(gid, version=v2)).to_dict()
    v2 = after["version"]
    changes = inspection.diff(before, after)
    if as_json:
        print_json({"goal_id": before["goal_id"], "from": v1, "to": v2, "changes": changes},
                   indent=True)
        return
    click.echo(f"Goal {before['goal_id']}: version {v1} -> {v2}")
    if not changes:
        click.echo("  no change")
    for change in changes:
        for line in render_change(change):
            click.echo(f"  {line}")


@click.command()
@json_option("Print one JSON document.")
@click.pass_obj
def stats(obj: Context, as_json: bool) -> None:
    """Events by type, goals by status, subjects, store size, first and last recorded time.

    \b
    Example:
      goalflow stats --json
    """
    figures = inspection.stats(obj.goals(readonly=True))
    if as_json:
        print_json(figures, indent=True)
        return
    click.echo(f"store         {figures['store']} ({figures['store_bytes']:,} bytes)")
    click.echo(f"events        {figures['events']:,}")
    for name, count in figures["events_by_type"].items():
        click.echo(f"  {name:<18}{count:>8,}")
    click.echo(f"goals         {figures['goals']:,}")
    for name, count in figures["goals_by_status"].items():
        click.echo(f"  {name:<18}{count:>8,}")
    click.echo(f"subjects      {figures['subjects']:,}")
    click.echo(f"first event   {figures['first_recorded_at'] or '-'}")
    click.echo(f"last event    {figures['last_recorded_at'] or '-'}")


@click.command()
@click.argument("subject_id")
@click.option("--all", "include_closed", is_flag=True,
              help="Include completed, cancelled and rejected goals.")
@format_options("Print JSON Lines, one goal per line.")
@click.pass_obj
def plan(obj: Context, subject_id: str, include_closed: bool, output: Output) -> None:
    """Print a client's (or group's) current treatment plan.

    \b
    Examples:
      goalflow plan client-7 --all
      goalflow plan client-7 --csv --fields goal_id,status,statement,target_date
    """
    opened = obj.goals(readonly=True)
    goals = [g.to_dict() for g in opened.plan(subject_id, include_closed=include_closed)]
    if not output.text:
        emit(goals, output, render=str, columns=PLAN_COLUMNS)
        return
    if not goals and opened.store.encrypted:
        for erasure in opened.store.erasures(subject_id):
            click.echo(f"{subject_id}: erased on {erasure}")
    if not goals:
        click.echo(f"No {'' if include_closed else 'open '}goals for {subject_id}.")
        return
    with paged():
        click.echo("\n\n".join(render_plan_goal(goal) for goal in goals))


PLAN_COLUMNS: Final = (
    "goal_id", "subject_kind", "subject_id", "status", "terms_version", "awaiting_agreement",
    "awaiting_agreement_from", "statement", "client_words", "target_date", "next_review_on",
    "drafted_at", "version", "updated_at", "group_goal", "steps", "measures",
    "achievement_status")


@click.command()
@click.argument("goal_id", required=False, shell_complete=complete.goal_ids)
@click.option("--actor", help="Only entries by this actor id.")
@click.option("--subject", help="Only goals of this client or group (and group goals a client"
              " is a member of).")
@since_option
@until_option
@occurred_options
@click.option("--event", "event_type", metavar="TYPE", help="Only this event type, e.g."
              " Revised.", shell_complete=complete.event_types)
@click.option("--unagreed", is_flag=True, help="Revisions of previously agreed goals whose"
              " revised terms still await agreement.")
@click.option("--late", is_flag=True, help="Entries recorded more than --days after they"
              " occurred.")
@click.option("--days", type=click.FloatRange(min=0),
              help="How late counts as late, for --late (default 2).")
@click.option("--flagged", is_flag=True, help="What auditors flag as cloned plans: revisions"
              " that changed nothing but the target date, then the subjects whose plans"
              " changed nothing but dates in their latest review period.")
@click.option("--interval", "interval_days", type=click.IntRange(min=1), default=90,
              show_default=True, envvar="GOALFLOW_REVIEW_INTERVAL_DAYS",
              help="With --flagged: days in a review period ($GOALFLOW_REVIEW_INTERVAL_DAYS).")
@paging_options(positions=True)
@format_options("Print JSON Lines, one entry per line (with --flagged, then one"
                " {\"cloned_plan\": ...} line per flagged subject).")
@click.pass_obj
def audit(obj: Context, goal_id: str | None, actor: str | None, subject: str | None,
          since: str | None, until: str | None, occurred_since: str | None,
          occurred_until: str | None, event_type: str | None, unagreed: bool, late: bool,
          days: float | None, flagged: bool, interval_days: int, paging: Paging,
          output: Output) -> None:
    """Print the audit trail: every event, with who, when, why, and every revision.

    \b
    Examples:
      goalflow audit --subject client-7 --unagreed
      goalflow audit --late --days 3 --json
      goalflow audit --flagged
      goalflow audit -n 10
      goalflow audit --csv --fields position,recorded_at,event_type,actor_id,reason
    """
    if days is not None and not late:
        raise click.UsageError("--days goes with --late")
    late_days = (2.0 if days is None else days) if late else None
    goals = obj.goals(readonly=True)
    bounds = occurred_bounds(goals, occurred_since, occurred_until)
    page = 1000 if paging.limit is None else min(1000, paging.offset + paging.limit)
    found = goals.audit_entries(
        resolve_goal(goals, goal_id) if goal_id else None, actor=actor, subject=subject,
        since=parse_timestamp("--since", since, end_of_day=False, goals=goals) if since
        else None,
        until=parse_timestamp("--until", until, end_of_day=True, goals=goals) if until
        else None,
        event=event_type, unagreed=unagreed, late_days=late_days, date_only=flagged,
        after=paging.after, before=paging.before, newest_first=paging.newest_first,
        page=page)
    entries = (entry.to_dict() for entry in found)
    if any(bound is not None for bound in bounds.values()):
        entries = (e for e in entries if _happened_within(e, **bounds))
    shown = emit(paging.window(entries), output,
                 render=lambda entry: render_audit_entry(entry, late_days=late_days or 2.0),
                 columns=AUDIT_COLUMNS, open_prefixes=("details.", "agreement."),
                 empty=None if flagged else "No entries.")
    if not flagged:
        return
    if output.format in ("csv", "tsv"):
        return  # the flagged subjects are a list of their own: --json or text
    clones = goals.cloned_plans(interval_days=interval_days)
    if subject is not None:
        clones = [c for c in clones if c["subject_id"] == subject]
    if output.format == "json":
        json_lines([{"cloned_plan": c} for c in clones])
        return
    if not shown:
        click.echo("No date-only revisions.")
    click.echo(render_cloned_plans(clones, interval_days))


AUDIT_COLUMNS: Final = (
    "position", "goal_id", "version", "event_type", "recorded_at", "occurred_at",
    "late_seconds", "actor_id", "actor_role", "on_behalf_of", "reason", "subject_kind",
    "subject_id", "details", "changes", "agreement", "date_only")


def _happened_within(entry: dict[str, Any], occurred_since: datetime | None,
                     occurred_until: datetime | None) -> bool:
    moment = datetime.fromisoformat(entry["occurred_at"])
    return ((occurred_since is None or moment >= occurred_since)
            and (occurred_until is None or moment <= occurred_until))


@click.command()
@click.option("--as-of", "as_of", metavar="DATE", help="Judge due and overdue on this date"
              " (default today, in the store's time zone).")
@click.option("--overdue", is_flag=True, help="Only goals whose review is overdue.")
@click.option("--interval", "interval_days", type=click.IntRange(min=1), default=90,
              show_default=True, envvar="GOALFLOW_REVIEW_INTERVAL_DAYS",
              help="Days between reviews when the last review set no date"
              " ($GOALFLOW_REVIEW_INTERVAL_DAYS).")
@paging_options(positions=False)
@format_options("Print JSON Lines, one goal per line.")
@click.pass_obj
def reviews(obj: Context, as_of: str | None, overdue: bool, interval_days: int,
            paging: Paging, output: Output) -> None:
    """Print the reviews worklist: active and on-hold goals, oldest due first.

    \b
    Examples:
      goalflow reviews --overdue --as-of 2026-12-01
      goalflow reviews --tsv --fields due_on,goal_id,subject_id,days_overdue
    """
    day = parse_date("--as-of", as_of) if as_of else None
    worklist = [item.to_dict() for item in paging.fetch(functools.partial(
        obj.goals(readonly=True).reviews, as_of=day, overdue=overdue,
        interval_days=interval_days))]
    if not output.text:
        emit(worklist, output, render=str, columns=REVIEW_COLUMNS)
        return
    if not worklist:
        click.echo("No reviews due." if overdue else "No active or on-hold goals.")
        return
    with paged():
        click.echo(render_table(
            ["due", "", "goal", "subject", "status", "basis", "statement"],
            [[item["due_on"], click.style("OVERDUE", fg="red") if item["overdue"] else "",
              item["goal_id"], item["subject_id"], item["status"], item["basis"],
              item["statement"]] for item in worklist]))


REVIEW_COLUMNS: Final = (
    "due_on", "overdue", "days_overdue", "basis", "goal_id", "subject_kind", "subject_id",
    "status", "statement", "activated_at", "last_review_at", "next_review_on")


COMMANDS: Final = (show, events, event, goals, history, diff, stats, plan, audit, reviews)
