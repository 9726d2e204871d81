"""A bounded schemathesis run against /api/v1/openapi.json, in process (WSGI), on SQLite.

Every operation gets up to MAX_EXAMPLES generated requests (positive and negative data,
as a member, staff or an admin) and every response must be a non-5xx that the OpenAPI
document describes: status, content type, headers and body schema. (Schemathesis's
pytest fixture loader does not run under pytest 9 yet, so the operations are driven
with Hypothesis directly.)
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_api_keeps_to_its_openapi_document(app, api, world):
    task = world.task()
    api.post(f"/api/v1/tasks/{task.id}/claims", world.member)  # some data for the lists and reads
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    users = (world.member, world.staff, world.admin)
    failures = []
    for index, operation in enumerate(operations):
        headers = {"Authorization": f"Bearer {api.token(users[index % 3])}"}

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
