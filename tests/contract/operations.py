"""Every described operation, keyed by ``(path, METHOD)``, for tests that parametrise over them.

Since issue 16 each operation is written next to its responder and found through the routes
Falcon serves, so knowing the paths takes an app: one is built here once (with the actor
system, so the debug route is there too) over a throwaway database.
"""

from __future__ import annotations

import functools
import tempfile

from actorvid.api import openapi
from actorvid.api.operations import Op
from actorvid.app import build_app, create_context
from actorvid.config import load_settings
from tests.conftest import TEST_SCRYPT


@functools.cache
def described_operations() -> dict[tuple[str, str], Op]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"ACTORVID_DB": f"{tmp}/actorvid.db", "ACTORVID_DATA_DIR": tmp,
                                  "ACTORVID_PROVIDER": "local",
                                  "ACTORVID_SCRYPT_PARAMS": TEST_SCRYPT}, dotenv=None)
        ctx = create_context(settings, bootstrap=False, start_actors=True)
        try:
            table = openapi.served_operation_table(build_app(ctx))
        finally:
            ctx.close()
    return {key: op for key, op in table.items() if op is not None}
