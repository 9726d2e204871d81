"""The workflow engine: definitions loaded from data, run on shared `transitions` machines.

- `definition` the checked, frozen form of a definition and the subject kinds it may drive;
- `loader`     reads and checks definition files (the io side);
- `guards`, `effects`  the registries of names a definition may use (`registration_rules` and
  `pairing_rules` add the registration, pairing and project processes' own);
- `schemas`    builds each trigger's marshmallow input schema;
- `machines`   one shared machine per definition version, and the registry of one app's definitions;
- `diagram`    Mermaid state diagrams, from a separate diagram-only machine.

No Flask and no database sessions of its own: the services (workflow/services) open the
transaction, lock the rows and hand them to a machine in a TransitionContext.
"""
# (registers the registration, pairing and project processes' guards and effects)
from . import pairing_rules, registration_rules  # noqa: F401
from .context import Settings, TransitionContext
from .definition import SUBJECTS, Definition, FieldSpec, TriggerSpec
from .machines import CompiledDefinition, DefinitionRegistry, run_guards

__all__ = [
    "Settings", "TransitionContext", "SUBJECTS", "Definition", "FieldSpec", "TriggerSpec", "CompiledDefinition",
    "DefinitionRegistry", "run_guards",
]
