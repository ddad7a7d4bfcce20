"""Checks that need the whole flow: links, reachability, endings, answers read before set, commands.

They run after parsing, on the `Flow` values, and report at the line and column each value kept.
"""

from __future__ import annotations

import difflib

from .matching import normalize
from .model import Ask, AskText, Branch, End, Flow, Handoff, Pos, SetValues, Step
from .report import Report

QUESTIONS = (Ask, AskText)


def run(flow: Flow, report: Report, *, broken_ids: frozenset[str] = frozenset()) -> None:
    """Check `flow`; `broken_ids` are steps the builder could not build (links to them are fine)."""
    ids = {s.id for s in flow.steps}
    dangling = _targets(flow, ids | broken_ids, report)
    _choice_words(flow, report)
    if broken_ids or dangling:
        # Some steps could not be read at all, or a link goes nowhere: the path checks on what is
        # left would only mislead (a step reached only through the broken link is not lost, and
        # the steps before it do not go round forever), so the first error stays the cause.
        _commands(flow, report)
        return
    reachable = _reachable(flow, ids)
    for step in flow.steps:
        if step.id not in reachable:
            report.warning(step.pos, step.id, "no path reaches this step; link to it with 'next:' from another "
                           "step, or remove it")
    _endings(flow, ids, reachable, report)
    _silent_loops(flow, ids, reachable, report)
    _reads(flow, ids, reachable, report)
    _commands(flow, report)
    _reply_sizes(flow, ids, reachable, report)


MAX_REPLY = 5


def _reply_sizes(flow: Flow, ids: set[str], reachable: set[str], report: Report) -> None:
    """LINE delivers at most 5 messages per reply; warn where the steps between questions say more."""

    def longest(step_id: str, seen: frozenset[str]) -> int:
        step = flow.step(step_id)
        if isinstance(step, QUESTIONS):
            return 1
        own = 1 if getattr(step, "text", None) is not None else 0
        if isinstance(step, (SetValues, Branch)):
            own = 0
        nexts = [t for t in _edges(flow, step, ids) if t not in seen]
        return own + max((longest(t, seen | {t}) for t in nexts), default=0)

    starts = [(flow.first_step, [flow.first_step.id], 1 if any(c.action == "restart" for c in flow.commands) else 0)]
    for step in flow.steps:
        if isinstance(step, QUESTIONS) and step.id in reachable:
            starts.append((step, _edges(flow, step, ids), 0))
    for step, targets, extra in starts:
        size = extra + max((longest(t, frozenset({t})) for t in targets), default=0)
        if size > MAX_REPLY:
            where = "starting the conversation" if step is flow.first_step and extra else "after this question"
            report.warning(step.pos, step.id, f"{where}, up to {size} messages are sent at once, but LINE "
                           f"delivers at most {MAX_REPLY} in one reply; merge some say steps")


def _edges(flow: Flow, step: Step, ids: set[str]) -> list[str]:
    return [target for target, _ in flow.successors(step) if target in ids]


def _targets(flow: Flow, ids: set[str], report: Report) -> bool:
    """Report every link to a step that does not exist; True if there was one."""
    found: list[str] = []

    def check(step: Step, target: str | None, pos: Pos | None, what: str) -> None:
        if target is None or target in ids:
            return
        found.append(target)
        close = difflib.get_close_matches(target, sorted(ids), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        report.error(pos or step.pos, step.id, f"{what} goes to '{target}', but there is no step with that id{hint}")

    for step in flow.steps:
        check(step, step.next, step.next_pos, "'otherwise:'" if isinstance(step, Branch) else "'next:'")
        if isinstance(step, Ask):
            for choice in step.choices:
                check(step, choice.next, choice.next_pos, f"the choice '{choice.key}'")
        if isinstance(step, Branch):
            for case in step.cases:
                check(step, case.next, case.next_pos, "a case")
    return bool(found)


def _reachable(flow: Flow, ids: set[str]) -> set[str]:
    seen = {flow.first_step.id}
    todo = [flow.first_step]
    while todo:
        for target in _edges(flow, todo.pop(), ids):
            if target not in seen:
                seen.add(target)
                todo.append(flow.step(target))
    return seen


def _endings(flow: Flow, ids: set[str], reachable: set[str], report: Report) -> None:
    finishing = {s.id for s in flow.steps if isinstance(s, (Handoff, End))}
    changed = True
    while changed:
        changed = False
        for step in flow.steps:
            if step.id not in finishing and any(t in finishing for t in _edges(flow, step, ids)):
                finishing.add(step.id)
                changed = True
    for step in flow.steps:
        if step.id in reachable and step.id not in finishing:
            report.error(step.pos, step.id, "from here the conversation can never reach an end or handoff step "
                         "(it goes round forever); make one of its paths lead to an end or handoff step")


def _silent_loops(flow: Flow, ids: set[str], reachable: set[str], report: Report) -> None:
    """A loop with no question in it would make the engine talk forever without waiting."""
    silent = {s.id for s in flow.steps if not isinstance(s, QUESTIONS + (Handoff, End))}
    state: dict[str, int] = {}

    def visit(step_id: str, path: list[str]) -> None:
        state[step_id] = 1
        path.append(step_id)
        for target in _edges(flow, flow.step(step_id), ids):
            if target not in silent:
                continue
            if state.get(target) == 1:
                loop = path[path.index(target):] + [target]
                report.error(flow.step(target).pos, target, "these steps go round in a loop without asking "
                             "anything: " + " → ".join(loop) + "; put a question in the loop or break it")
            elif target not in state:
                visit(target, path)
        path.pop()
        state[step_id] = 2

    for step in flow.steps:
        if step.id in silent and step.id in reachable and step.id not in state:
            visit(step.id, [])


def _gen(step: Step, target_key: str | None) -> set[str]:
    """Answers set when leaving `step` along the edge labelled `target_key`."""
    if isinstance(step, Ask):
        out = {step.save_as} if step.save_as else set()
        # In a multi-select question an urgent choice may or may not be picked, so it sets nothing
        # for certain; in a single one it is set along that choice's edge.
        if not step.multiple and any(c.urgent and c.key == target_key for c in step.choices):
            out.add("urgent")
        return out
    if isinstance(step, AskText):
        return {step.save_as} if step.save_as else set()
    if isinstance(step, SetValues):
        return {var for var, _ in step.values}
    return set()


def _reads(flow: Flow, ids: set[str], reachable: set[str], report: Report) -> None:
    steps = [s for s in flow.steps if s.id in reachable]
    universe: set[str] = set()
    for s in steps:
        for key in [None] + [c.key for c in getattr(s, "choices", ())]:
            universe |= _gen(s, key)
    must: dict[str, set[str]] = {s.id: set(universe) for s in steps}
    may: dict[str, set[str]] = {s.id: set() for s in steps}
    must[flow.first_step.id] = set()
    changed = True
    while changed:
        changed = False
        for step in steps:
            for target, key in flow.successors(step):
                if target not in must:
                    continue
                out_must = must[step.id] | _gen(step, key)
                out_may = may[step.id] | _gen(step, key)
                new_must = must[target] & out_must if target != flow.first_step.id else set()
                new_may = may[target] | out_may
                if new_must != must[target] or new_may != may[target]:
                    must[target], may[target] = new_must, new_may
                    changed = True
    for step in steps:
        if not isinstance(step, Branch):
            continue
        for case in step.cases:
            for var, _ in case.when:
                if var not in may[step.id]:
                    report.error(case.pos, step.id, f"reads the answer '{var}', but no step before this one sets "
                                 "it; check the spelling or ask for it earlier (save_as / set)")
                elif var not in must[step.id]:
                    report.warning(case.pos, step.id, f"reads the answer '{var}', which is not set on every path "
                                   "to this step; it counts as empty there")


def _choice_words(flow: Flow, report: Report) -> None:
    """Each word names one choice of a question: a label, value or synonym that names two would
    have to be asked about every time, and two ranges must not share an amount."""
    for step in flow.steps:
        if not isinstance(step, Ask):
            continue
        owner: dict[str, str] = {}
        for choice in step.choices:
            names = [(text, choice.label.pos) for text in choice.label.all()] + [(choice.key, choice.pos)]
            names += [(word, choice.pos) for word in choice.synonyms]
            for text, pos in names:
                norm = normalize(text)
                other = owner.get(norm)
                if other is not None and other != choice.key:
                    report.error(pos, step.id, f"'{text}' names both the choice '{other}' and the choice "
                                 f"'{choice.key}'; a label or synonym may name one choice only (a person "
                                 "who answers with it would be asked which one every time)")
                owner.setdefault(norm, choice.key)
        ranged = sorted(((c.range, c) for c in step.choices if c.range is not None), key=lambda rc: rc[0])
        for (low_range, low), (high_range, high) in zip(ranged, ranged[1:], strict=False):
            if high_range[0] <= low_range[1]:
                report.error(high.pos, step.id, f"the range {list(high_range)} of the choice '{high.key}' "
                             f"overlaps the range {list(low_range)} of the choice '{low.key}'; an amount "
                             "may belong to one choice only")


def _commands(flow: Flow, report: Report) -> None:
    owner: dict[str, str] = {}
    for command in flow.commands:
        for word in command.words:
            norm = normalize(word)
            if norm in owner and owner[norm] != command.name:
                report.error(command.pos, None, f"the word '{word}' belongs to both the '{owner[norm]}' and "
                             f"'{command.name}' commands; give each word to one command")
            owner.setdefault(norm, command.name)
    # A choice with the same words as a language command wins over it (by design), so only stop
    # and restart words can shadow a choice.
    actions = {c.name: c.action for c in flow.commands}
    owner = {word: name for word, name in owner.items() if actions[name] != "language"}
    if not owner:
        return
    doing = {"stop": "end the conversation", "restart": "start the conversation again",
             "language": "switch the language"}
    effects = {c.name: doing[c.action] for c in flow.commands}
    for step in flow.steps:
        labels: list[tuple[str, Pos]] = []
        if isinstance(step, Ask):
            for choice in step.choices:
                labels += [(text, choice.label.pos) for text in choice.label.all()]
                labels.append((choice.key, choice.pos))
                labels += [(word, choice.pos) for word in choice.synonyms]
            for extra in (step.more, step.done):
                if extra is not None:
                    labels += [(text, extra.pos) for text in extra.all()]
        if isinstance(step, AskText) and step.skip is not None:
            labels += [(text, step.skip.pos) for text in step.skip.all()]
        reported: set[str] = set()
        for text, pos in labels:
            name = owner.get(normalize(text))
            if name is not None and normalize(text) not in reported:
                reported.add(normalize(text))
                report.error(pos, step.id, f"the choice '{text}' is also a word of the global command '{name}', "
                             f"so choosing it would {effects[name]} instead; reword the choice")
