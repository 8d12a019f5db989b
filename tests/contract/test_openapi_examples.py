"""Every request body in the description has an example, and the route accepts it."""

from __future__ import annotations

import pytest

from actorvid.api.examples import EXAMPLES
from actorvid.api.openapi import build_description
from actorvid.api.validation import Schema
from tests.contract.operations import described_operations

OPERATIONS = described_operations()

WITH_BODY = sorted(key for key, op in OPERATIONS.items() if op.body is not None)


def test_every_body_has_an_example_and_no_example_is_stray(app) -> None:
    assert set(EXAMPLES) == set(WITH_BODY)
    paths = build_description(app)["paths"]
    for path, method in WITH_BODY:
        content = paths[path][method.lower()]["requestBody"]["content"]
        for media_type, media in content.items():
            assert media["example"] == EXAMPLES[(path, method)], (path, method, media_type)


@pytest.mark.parametrize(("path", "method"), WITH_BODY)
def test_the_example_passes_the_routes_own_validation(path, method) -> None:
    body, example = OPERATIONS[(path, method)].body, EXAMPLES[(path, method)]
    assert body is not None
    if isinstance(body, Schema):
        body.validate(example)  # raises ValidationFailed with every problem
    else:  # hand-written schemas (multipart, webhook): at least no unknown field
        assert set(example) <= set(body.get("properties", example)), (path, method)
