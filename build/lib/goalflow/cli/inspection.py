"""Commands that read the record: goals, their events and history, plans, audit, reviews."""

from __future__ import annotations

from typing import Final
from uuid import UUID

import click

from goalflow import inspection
from goalflow.application import parse_goal_id
from goalflow.cli._context import Context, stop_on_sigterm
from goalflow.cli._options import (
    json_option,
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
    brief_value,
    json_lines,
    print_json,
    render_audit_entry,
    render_event_line,
    render_goal,
    render_plan_goal,
    render_table,
)
from goalflow.domain.goal import EVENT_TYPES, STATUSES
from goalflow.errors import InvalidCommand


@click.command()
@click.argument("goal_id")
@click.option("--version", "version", type=click.IntRange(min=1), help="Show this version.")
@click.option("--as-of", "as_of", metavar="TIMESTAMP",
              help="Show the goal as recorded at this moment (a date means its end, in the"
              " store's time zone).")
@json_option("Print JSON.")
@click.pass_obj
def show(obj: Context, goal_id: str, version: int | None, as_of: str | None,
         as_json: bool) -> None:
    """Print a goal, now or at a past version or moment. Never creates a store.

    \b
    Example:
      goalflow show 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b --as-of 2026-03-01
    """
    if version is not None and as_of is not None:
        raise click.UsageError("give --version or --as-of, not both")
    goals = obj.goals(readonly=True)
    moment = parse_timestamp("--as-of", as_of, end_of_day=True, goals=goals) if as_of else None
    goal = goals.get(resolve_goal(goals, goal_id), version=version, as_of=moment)
    if as_json:
        print_json(goal.to_dict(), indent=True)
    else:
        click.echo(render_goal(goal, goals.tzinfo))


@click.command()
@click.option("--goal", "goal_id", metavar="ID", help="Only this goal's events.")
@subject_option
@click.option("--type", "event_type", metavar="EVENT", help="Only this event type, e.g."
              " Revised.")
@click.option("--actor", metavar="ID", help="Only events by this actor id.")
@since_option
@until_option
@click.option("--after", "after", type=click.IntRange(min=0),
              help="Start after this position in the log (with --follow: default now).")
@click.option("--limit", type=click.IntRange(min=1), help="Show at most N events.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events until Ctrl-C.")
@poll_option("With --follow: seconds between looks at the log (SQLite).")
@json_option("Print JSON Lines, the full events.")
@click.pass_obj
def events(obj: Context, goal_id: str | None, subject: str | None, event_type: str | None,
           actor: str | None, since: str | None, until: str | None, after: int | None,
           limit: int | None, follow: bool, poll: float, as_json: bool) -> None:
    """Print the global log in order, one line per event.

    \b
    Examples:
      goalflow events --type Revised --since 2026-03-01
      goalflow events --goal 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b --json
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
        theirs = [parse_goal_id(g["goal_id"]) for g in goals.goal_index(subject=subject)]
        return theirs if only is None else [g for g in only if g in theirs]

    keep = inspection.between(
        parse_timestamp("--since", since, end_of_day=False, goals=goals) if since else None,
        parse_timestamp("--until", until, end_of_day=True, goals=goals) if until else None,
        actor)
    types = [event_type] if event_type else []
    shown = 0

    def show_from(start: int, remaining: int | None) -> int:
        nonlocal shown
        last = start
        for last, event, schema_version in inspection.log(
                goals, after=start, limit=remaining, goal_ids=chosen_goals(), types=types,
                keep=keep):
            record = inspection.event_record(last, event, schema_version)
            if as_json:
                print_json(record)
            else:
                click.echo(render_event_line(record))
            shown += 1
        return last

    if not follow:
        show_from(after or 0, limit)
        if not shown and not as_json:
            click.echo("No events.")
        return
    if after is None:
        after = goals.projections.head()
    stop_on_sigterm()
    try:
        while limit is None or shown < limit:
            after = max(after, show_from(after, None if limit is None else limit - shown))
            goals.store.wait_for_events(poll)
    except KeyboardInterrupt:
        pass


@click.command()
@subject_option
@click.option("--status", type=click.Choice(STATUSES), help="Only goals in this status.")
@json_option("Print JSON Lines, one goal per line.")
@click.pass_obj
def goals(obj: Context, subject: str | None, status: str | None, as_json: bool) -> None:
    """List goals, most recently changed first (from the read models, no replay).

    \b
    Example:
      goalflow goals --subject client-7 --status active
    """
    index = obj.goals(readonly=True).goal_index(subject=subject, status=status)
    if as_json:
        json_lines(index)
        return
    if not index:
        click.echo("No goals.")
        return
    click.echo(render_table(
        ["goal", "status", "subject", "version", "last change", "statement"],
        [[g["goal_id"], click.style(g["status"], fg=STATUS_COLOURS.get(g["status"])),
          f"{g['subject_kind']} {g['subject_id']}", g["version"], g["updated_at"],
          g["statement"]] for g in index]))


@click.command()
@click.argument("goal_id")
@json_option("Print JSON Lines, the full events.")
@click.pass_obj
def history(obj: Context, goal_id: str, as_json: bool) -> None:
    """Print every event of one goal, decoded in full, oldest first.

    \b
    Example:
      goalflow history 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b --json
    """
    goals = obj.goals(readonly=True)
    for position, event, schema_version in inspection.history(goals,
                                                             resolve_goal(goals, goal_id)):
        record = inspection.event_record(position, event, schema_version)
        if as_json:
            print_json(record)
            continue
        click.echo(render_event_line(record, full=True))


@click.command()
@click.argument("goal_id")
@click.argument("v1", type=click.IntRange(min=1))
@click.argument("v2", type=click.IntRange(min=1))
@json_option("Print one JSON document.")
@click.pass_obj
def diff(obj: Context, goal_id: str, v1: int, v2: int, as_json: bool) -> None:
    """What changed in a goal's state between versions V1 and V2.

    \b
    Example:
      goalflow diff 7a1f3e2c-5b6d-4e8f-9a0b-1c2d3e4f5a6b 3 8
    """
    goals = obj.goals(readonly=True)
    gid = resolve_goal(goals, goal_id)
    before = goals.get(gid, version=v1).to_dict()
    after = goals.get(gid, version=v2).to_dict()
    changes = inspection.diff(before, after)
    if as_json:
        print_json({"goal_id": before["goal_id"], "from": v1, "to": v2, "changes": changes},
                   indent=True)
        return
    click.echo(f"Goal {before['goal_id']}: version {v1} -> {v2}")
    if not changes:
        click.echo("  no change")
    for change in changes:
        click.echo(f"  {change['field']}: {brief_value(change['before'])}"
                   f" -> {brief_value(change['after'])}")


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
@json_option("Print JSON Lines, one goal per line.")
@click.pass_obj
def plan(obj: Context, subject_id: str, include_closed: bool, as_json: bool) -> None:
    """Print a client's (or group's) current treatment plan.

    \b
    Example:
      goalflow plan client-7 --all
    """
    goals = obj.goals(readonly=True).plan(subject_id, include_closed=include_closed)
    if as_json:
        json_lines(goals)
        return
    if not goals:
        click.echo(f"No {'' if include_closed else 'open '}goals for {subject_id}.")
    for n, goal in enumerate(goals):
        if n:
            click.echo()
        click.echo(render_plan_goal(goal))


@click.command()
@click.argument("goal_id", required=False)
@click.option("--actor", help="Only entries by this actor id.")
@click.option("--subject", help="Only goals of this client or group (and group goals a client"
              " is a member of).")
@since_option
@until_option
@click.option("--event", "event_type", metavar="TYPE", help="Only this event type, e.g."
              " Revised.")
@click.option("--unagreed", is_flag=True, help="Revisions of previously agreed goals whose"
              " revised terms still await agreement.")
@click.option("--late", is_flag=True, help="Entries recorded more than --days after they"
              " occurred.")
@click.option("--days", type=click.FloatRange(min=0),
              help="How late counts as late, for --late (default 2).")
@json_option("Print JSON Lines, one entry per line.")
@click.pass_obj
def audit(obj: Context, goal_id: str | None, actor: str | None, subject: str | None,
          since: str | None, until: str | None, event_type: str | None, unagreed: bool,
          late: bool, days: float | None, as_json: bool) -> None:
    """Print the audit trail: every event, with who, when, why, and every revision.

    \b
    Examples:
      goalflow audit --subject client-7 --unagreed
      goalflow audit --late --days 3 --json
    """
    if days is not None and not late:
        raise click.UsageError("--days goes with --late")
    late_days = (2.0 if days is None else days) if late else None
    goals = obj.goals(readonly=True)
    entries = goals.audit(
        resolve_goal(goals, goal_id) if goal_id else None, actor=actor, subject=subject,
        since=parse_timestamp("--since", since, end_of_day=False, goals=goals) if since
        else None,
        until=parse_timestamp("--until", until, end_of_day=True, goals=goals) if until
        else None,
        event=event_type, unagreed=unagreed, late_days=late_days)
    if as_json:
        json_lines(entries)
        return
    if not entries:
        click.echo("No entries.")
    for entry in entries:
        click.echo(render_audit_entry(entry, late_days=late_days or 2.0))


@click.command()
@click.option("--as-of", "as_of", metavar="DATE", help="Judge due and overdue on this date"
              " (default today, in the store's time zone).")
@click.option("--overdue", is_flag=True, help="Only goals whose review is overdue.")
@click.option("--interval", "interval_days", type=click.IntRange(min=1), default=90,
              show_default=True, envvar="GOALFLOW_REVIEW_INTERVAL_DAYS",
              help="Days between reviews when the last review set no date"
              " ($GOALFLOW_REVIEW_INTERVAL_DAYS).")
@json_option("Print JSON Lines, one goal per line.")
@click.pass_obj
def reviews(obj: Context, as_of: str | None, overdue: bool, interval_days: int,
            as_json: bool) -> None:
    """Print the reviews worklist: active and on-hold goals, oldest due first.

    \b
    Example:
      goalflow reviews --overdue --as-of 2026-12-01
    """
    day = parse_date("--as-of", as_of) if as_of else None
    worklist = obj.goals(readonly=True).reviews(as_of=day, overdue=overdue,
                                               interval_days=interval_days)
    if as_json:
        json_lines(worklist)
        return
    if not worklist:
        click.echo("No reviews due." if overdue else "No active or on-hold goals.")
        return
    click.echo(render_table(
        ["due", "", "goal", "subject", "status", "basis", "statement"],
        [[item["due_on"], click.style("OVERDUE", fg="red") if item["overdue"] else "",
          item["goal_id"], item["subject_id"], item["status"], item["basis"],
          item["statement"]] for item in worklist]))


COMMANDS: Final = (show, events, goals, history, diff, stats, plan, audit, reviews)
