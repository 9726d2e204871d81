"""The workflow engine: definitions loaded from data, run on shared `transitions` machines.

- `loader`     reads and checks definition files (the io side);
- `guards`, `effects`  the registries of names a definition may use;
- `schemas`    builds each trigger's marshmallow input schema;
- `machines`   one shared machine per definition version, and the process registry;
- `diagram`    Mermaid state diagrams, from a separate diagram-only machine.
"""
from .context import Settings, TransitionContext
from .definition import Definition, TriggerSpec
from .machines import CompiledDefinition, DefinitionRegistry, registry, run_guards

__all__ = [
    "Settings", "TransitionContext", "Definition", "TriggerSpec", "CompiledDefinition",
    "DefinitionRegistry", "registry", "run_guards",
]
