"""State diagrams of a definition as Mermaid `stateDiagram-v2` text.

Drawn by `transitions`' own GraphMachine (mermaid engine, no system packages) from a
diagram-only machine, kept apart from the shared execution machines.
"""
from transitions.extensions import GraphMachine

from .definition import Definition


class _DiagramModel:
    """A throw-away model: GraphMachine draws the graph of a model it holds."""


def mermaid(definition: Definition) -> str:
    drawing = _DiagramModel()
    GraphMachine(
        model=drawing,
        states=[s.name for s in definition.states],
        initial=definition.initial,
        transitions=[
            {"trigger": t.name, "source": list(t.sources), "dest": t.dest} for t in definition.triggers
        ],
        auto_transitions=False,
        graph_engine="mermaid",
        title=definition.label,
        show_conditions=False,
    )
    return drawing.get_graph().draw(None)
