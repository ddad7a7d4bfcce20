"""Draw a flow as a Mermaid or Graphviz diagram: steps as nodes, choices on the edges.

Questions are hexagons, branches diamonds, handoff and end nodes are marked so that a coordinator
can see at a glance where a conversation can finish.
"""

from __future__ import annotations

from .model import Ask, AskText, Branch, End, Flow, Handoff, SetValues, Step, Text, value_key

FORMATS = ("mermaid", "dot")


def _preview(flow: Flow, text: Text | None, language: str, width: int = 24) -> str:
    if text is None or not text.by_lang:
        return ""
    first = text.get(language, flow.default_language).strip().split("\n")[0]
    return first if len(first) <= width else first[: width - 1] + "…"


def _node_label(flow: Flow, step: Step, language: str) -> list[str]:
    kind = {"ask_text": "ask (text)", "set": "set"}.get(step.kind, step.kind)
    if isinstance(step, Ask) and step.multiple:
        kind = "ask (several)"
    lines = [f"{step.id}", f"{kind}"]
    if isinstance(step, SetValues):
        lines.append(", ".join(f"{var} = {value_key(v) if not isinstance(v, list) else v}" for var, v in step.values))
    else:
        preview = _preview(flow, getattr(step, "text", None), language)
        if preview:
            lines.append(preview)
    return lines


def edges(flow: Flow, step: Step, language: str) -> list[tuple[str, str | None]]:
    """(target, label) for each way out of a step; choices to the same step share one edge."""
    if isinstance(step, Ask) and not step.multiple:
        groups: dict[str, list[str]] = {}
        for choice in step.choices:
            target = choice.next or step.next
            if target is None:
                continue
            label = choice.label.get(language, flow.default_language) + (" (urgent)" if choice.urgent else "")
            groups.setdefault(target, []).append(label)
        if len(groups) == 1 and not any(c.urgent for c in step.choices):
            return [(next(iter(groups)), None)]
        return [(target, " / ".join(labels)) for target, labels in groups.items()]
    if isinstance(step, Branch):
        out: list[tuple[str, str | None]] = []
        for case in step.cases:
            cond = " and ".join(
                f"{var} = {' or '.join(value_key(v) for v in val) if isinstance(val, tuple) else value_key(val)}"
                for var, val in case.when
            )
            out.append((case.next, cond))
        if step.next is not None:
            out.append((step.next, "otherwise"))
        return out
    if isinstance(step, (AskText, Ask)) and step.next is not None:
        return [(step.next, "answered")]
    return [(target, None) for target, _ in flow.successors(step)]


def mermaid(flow: Flow, *, language: str | None = None) -> str:
    language = language or flow.default_language

    def esc(text: str) -> str:
        return text.replace('"', "#quot;")

    out = ["flowchart TD"]
    for step in flow.steps:
        label = esc("<br/>".join(_node_label(flow, step, language)))
        if isinstance(step, (Ask, AskText)):
            shape = f'{{{{"{label}"}}}}'
        elif isinstance(step, Branch):
            shape = f'{{"{label}"}}'
        elif isinstance(step, (Handoff, End)):
            shape = f'(["{label}"])'
        elif isinstance(step, SetValues):
            shape = f'[/"{label}"/]'
        else:
            shape = f'["{label}"]'
        out.append(f"  s_{step.id}{shape}")
    for step in flow.steps:
        for target, edge in edges(flow, step, language):
            arrow = f' -- "{esc(edge)}" --> ' if edge else " --> "
            out.append(f"  s_{step.id}{arrow}s_{target}")
    handoffs = [f"s_{s.id}" for s in flow.steps if isinstance(s, Handoff)]
    ends = [f"s_{s.id}" for s in flow.steps if isinstance(s, End)]
    out.append("  classDef handoff fill:#d9f2d9,stroke:#2e7d32,stroke-width:2px")
    out.append("  classDef finish fill:#eeeeee,stroke:#616161,stroke-width:2px")
    if handoffs:
        out.append(f"  class {','.join(handoffs)} handoff")
    if ends:
        out.append(f"  class {','.join(ends)} finish")
    return "\n".join(out) + "\n"


def dot(flow: Flow, *, language: str | None = None) -> str:
    language = language or flow.default_language

    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    out = [f"digraph {q(flow.id)} {{", "  rankdir=TB;", '  node [fontname="sans-serif"];',
           '  edge [fontname="sans-serif", fontsize=10];']
    for step in flow.steps:
        attrs = {"label": "\\n".join(_node_label(flow, step, language))}
        if isinstance(step, (Ask, AskText)):
            attrs["shape"] = "hexagon"
        elif isinstance(step, Branch):
            attrs["shape"] = "diamond"
        elif isinstance(step, Handoff):
            attrs.update(shape="doubleoctagon", style="filled", fillcolor="#d9f2d9")
        elif isinstance(step, End):
            attrs.update(shape="doubleoctagon", style="filled", fillcolor="#eeeeee")
        elif isinstance(step, SetValues):
            attrs["shape"] = "parallelogram"
        else:
            attrs["shape"] = "box"
        rendered = ", ".join(
            f"label={q(v).replace(chr(92) * 2 + 'n', chr(92) + 'n')}" if k == "label" else f"{k}={q(v)}"
            for k, v in attrs.items()
        )
        out.append(f"  {q(step.id)} [{rendered}];")
    for step in flow.steps:
        for target, label in edges(flow, step, language):
            extra = f" [label={q(label)}]" if label else ""
            out.append(f"  {q(step.id)} -> {q(target)}{extra};")
    out.append("}")
    return "\n".join(out) + "\n"


def render(flow: Flow, *, fmt: str, language: str | None = None) -> str:
    return mermaid(flow, language=language) if fmt == "mermaid" else dot(flow, language=language)
