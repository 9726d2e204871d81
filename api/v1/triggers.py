"""The API routes of a subject's triggers, made from its definitions.

`POST /api/v1/<subjects>/{id}/<trigger>` is registered once per trigger name that some
loaded definition of that subject offers to callers: internal triggers (expiry, slot
counts, cascades) and creating triggers (a claim's `claim`, which is POST
/tasks/{id}/claims) are not routes. The body is validated by the service with the schema
of the definition version the subject pinned; the OpenAPI description documents each
version's schema (anyOf when versions differ), with the fields' labels as title and
description. A trigger added to a definition file is a route with no code change.
"""
from workflow.engine import DefinitionRegistry

from . import http


def trigger_names(registry: DefinitionRegistry, subject: str) -> list[str]:
    """Every trigger of `subject` a caller can fire through the API, across the loaded definitions."""
    names: list[str] = []
    for compiled in registry.all(subject):
        d = compiled.definition
        creating = {t.name for t in d.creating_triggers}
        for t in d.triggers:
            if t.internal or t.name in creating or not t.name.isidentifier() or t.name in names:
                continue
            names.append(t.name)
    return names


def component_name(definition, trigger_name: str) -> str:
    return "".join(p.title() for p in trigger_name.split("_")) + f"Input_{definition.name}_v{definition.version}"


def input_components(registry: DefinitionRegistry, subject: str) -> dict[str, list[tuple[str, object]]]:
    """trigger name → [(component name, schema instance)], one per definition version that has it."""
    out: dict[str, list] = {}
    names = trigger_names(registry, subject)
    for compiled in registry.all(subject):
        d = compiled.definition
        for name in names:
            if d.trigger(name) is not None:
                out.setdefault(name, []).append((component_name(d, name), compiled.schemas[name]))
    return out


def _doc(registry, subject: str, name: str) -> str:
    lines = [f"Fire `{name}` on a {subject}, with the input its pinned definition's schema validates. "
             f"Returns the {subject} with its new state, version, ETag and allowed_triggers. 409 (with "
             "allowed_triggers) when its state or a guard does not allow it; 412 for a stale If-Match; "
             "404 when the caller may not see it or its process has no such trigger."]
    for compiled in registry.all(subject):
        t = compiled.definition.trigger(name)
        if t is not None:
            lines.append(f"- {compiled.definition.label}: {t.label} / {t.label_en}; from {', '.join(t.sources)} "
                         f"to {t.dest}; roles {', '.join(t.roles)}")
    return "\n".join(lines)


def add_trigger_routes(blp, registry: DefinitionRegistry, *, subject: str, id_arg: str, fire, render,
                       response_schema, headers: dict) -> None:
    """One POST route per trigger. `fire(subject_id, trigger, actor, data, **kw)` is the
    service; `render(view, status)` makes the answer from its result's view."""
    components = input_components(registry, subject)
    for name in trigger_names(registry, subject):
        refs = [{"$ref": f"#/components/schemas/{component}"} for component, _ in components[name]]
        schema = refs[0] if len(refs) == 1 else {"anyOf": refs}
        decorated = blp.doc(
            summary=f"Fire {name}", description=_doc(registry, subject, name),
            requestBody={"required": False, "content": {"application/json": {"schema": schema}}},
            parameters=http.documented_headers("Idempotency-Key", "If-Match"))(
            blp.response(200, response_schema, headers=headers)(_view(subject, id_arg, name, fire, render)))
        blp.route(f"/<int(max=2147483647):{id_arg}>/{name}", methods=["POST"], endpoint=f"fire_{name}")(decorated)


def _view(subject: str, id_arg: str, name: str, fire, render):
    def view(**kwargs):
        subject_id = kwargs[id_arg]
        actor = http.actor()
        data = http.json_body()
        expected = http.expected_version(subject, subject_id)

        def call(idempotency):
            return fire(subject_id, name, actor, data, expected_version=expected, request_id=http.request_id(),
                        idempotency=idempotency)
        return http.idempotent_post(call, render)
    view.__name__ = f"fire_{name}"
    return view


def register_components(spec, registry: DefinitionRegistry) -> None:
    """Every trigger input schema of every subject, as an OpenAPI component."""
    for subject in sorted({c.definition.subject for c in registry.all()}):
        for components in input_components(registry, subject).values():
            for name, schema in components:
                if name not in spec.components.schemas:
                    spec.components.schema(name, schema=schema)
