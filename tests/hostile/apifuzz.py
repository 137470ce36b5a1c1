"""schemathesis over the live app's OpenAPI document: what a test runs in a thread beside the app.

The app serves in the test's event loop; schemathesis's client is synchronous, so the run happens
in a worker thread (`asyncio.to_thread`) and the loop keeps answering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from schemathesis.core.failures import FailureGroup

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Operations that would end the run's own credentials or the app's state for the rest of it.
SKIP = {
    ("POST", "/api/v1/auth/logout"),
    ("DELETE", "/api/v1/api-keys/{key_id}"),
    ("POST", "/api/v1/admin/queue-check"),
}


@dataclass
class Finding:
    operation: str
    error: str
    curl: str


@dataclass
class Report:
    operations: int = 0
    calls: int = 0
    findings: list[Finding] = field(default_factory=list)


def _probe(
    operation: Any,
    base_url: str,
    headers: dict[str, str],
    session: requests.Session,
    report: Report,
    max_examples: int,
) -> Any:
    label = f"{operation.method.upper()} {operation.path}"
    seen: set[str] = set()

    # derandomize: the examples follow from the operation alone, so every run is the same run.
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=operation.as_strategy())
    def probe(case: Any) -> None:
        report.calls += 1
        response = case.call(base_url=base_url, headers=headers, session=session, timeout=30)
        try:
            case.validate_response(response, checks=CHECKS)
        except (FailureGroup, Exception) as exc:  # FailureGroup is a BaseExceptionGroup
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            if first not in seen:
                seen.add(first)
                report.findings.append(Finding(label, str(exc)[:1500], case.as_curl_command()))

    return probe


def run(base_url: str, headers: dict[str, str], *, max_examples: int) -> Report:
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    report = Report()
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        report.operations += 1
        _probe(operation, base_url, headers, session, report, max_examples)()
    return report
