"""GET /api/v1/workflows and /api/v1/workflows/{name}/{version}: the definitions, as data."""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask_smorest import Blueprint

from workflow import runtime
from workflow.engine.diagram import mermaid
from workflow.errors import DefinitionError, NotFound

from .schemas import WorkflowSchema, WorkflowSummarySchema

blp = Blueprint("v1_workflows", __name__, url_prefix="/api/v1/workflows", description="Workflow definitions")

_converter_plugin = MarshmallowPlugin()
APISpec("schemas", "1", "3.0.3", plugins=[_converter_plugin])
_diagrams: dict = {}


def _summary(d) -> dict:
    return {"name": d.name, "version": d.version, "subject": d.subject, "title": d.title, "title_en": d.title_en,
            "active": runtime.current().is_active(d.name, d.version)}


def input_schema(schema) -> dict:
    return _converter_plugin.converter.schema2jsonschema(schema)


@blp.route("", methods=["GET"])
@blp.response(200, WorkflowSummarySchema(many=True))
def list_workflows():
    return [_summary(c.definition) for c in runtime.registry().all()]


@blp.route("/<name>/<int(max=2147483647):version>", methods=["GET"])
@blp.response(200, WorkflowSchema)
def get_workflow(name, version):
    try:
        compiled = runtime.registry().get(name, version)
    except DefinitionError:
        raise NotFound(f"workflow {name}@{version} not found") from None
    d = compiled.definition
    if d.key not in _diagrams:
        _diagrams[d.key] = mermaid(d)
    return {
        **_summary(d), "initial": d.initial,
        "states": [{"name": s.name, "label": s.label, "label_en": s.label_en, "final": s.final} for s in d.states],
        "triggers": [{
            "name": t.name, "label": t.label, "label_en": t.label_en, "sources": list(t.sources), "dest": t.dest,
            "roles": list(t.roles), "internal": t.internal, "style": t.style, "confirm": t.confirm,
            "confirm_en": t.confirm_en,
            "guards": [{"name": c.name, "params": dict(c.params)} for c in t.guards],
            "effects": [{"name": c.name, "params": dict(c.params)} for c in t.effects],
            "fields_": [{"name": f.name, "type": f.type, "required": f.required,
                         "required_for_categories": list(f.required_for_categories), "label": f.label,
                         "label_en": f.label_en, "help": f.help, "help_en": f.help_en, "widget": f.widget,
                         "personal": f.personal, "ref": f.ref,
                         "choices": [{"value": c.value, "label": c.label, "label_en": c.label_en}
                                     for c in f.choices]} for f in t.fields],
            "input_schema": input_schema(compiled.schemas[t.name]),
            "notify": [{"kind": n.kind, "to": list(n.to)} for n in t.notify],
        } for t in d.triggers],
        "timers": [{"name": t.name, "states": list(t.states), "due": t.due_text, "fire": t.fire,
                    "notify": [{"kind": n.kind, "to": list(n.to)} for n in t.notify]} for t in d.timers],
        "mermaid": _diagrams[d.key],
    }
