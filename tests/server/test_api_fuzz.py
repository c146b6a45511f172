"""Schemathesis fuzzes every HTTP route of a live server with the real demo models.

The OpenAPI description comes from the server itself (``GET api/openapi.json``);
schemathesis (run as its own process, so the server keeps serving) sends
generated valid and invalid requests with the server's token and checks: no
5xx, every answer matches the documented schema, status and content type,
and a request without the token is refused. ``max_tokens_limit`` keeps the
generations it asks for short. The number of cases run is printed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Fetch, wait_ready

CHECKS = ",".join(
    [
        "not_a_server_error",
        "response_schema_conformance",
        "status_code_conformance",
        "content_type_conformance",
        "ignored_auth",
    ]
)


@pytest.fixture
def neira_config() -> dict[str, Any]:
    return {"max_tokens_limit": 8, "max_jobs_per_user": 0, "queue_size": 64}


@pytest.mark.timeout(900)
async def test_schemathesis_finds_no_server_error(
    jp_fetch: Fetch,
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    tmp_path: Path,
) -> None:
    await wait_ready(jp_fetch)
    schema = json.loads((await jp_fetch("neira", "api", "openapi.json")).body)
    schema_file = tmp_path / "openapi.json"
    schema_file.write_text(json.dumps(schema), encoding="utf-8")
    token = jp_serverapp.identity_provider.token
    report = tmp_path / "junit.xml"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        str(schema_file),
        "--url",
        f"http://127.0.0.1:{jp_http_port}{jp_base_url}".rstrip("/"),
        "-H",
        f"Authorization: token {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        os.environ.get("NEIRA_FUZZ_EXAMPLES", "25"),
        "--seed",
        "20261130",
        "--workers",
        "1",
        "--request-timeout",
        "120",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    print(text[-4000:])
    assert process.returncode == 0, text[-6000:]
    cases = re.search(r"(\d+) generated", text)
    assert cases is not None and int(cases.group(1)) > 0, text[-2000:]
