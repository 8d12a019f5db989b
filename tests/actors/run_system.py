"""A server process for the kill tests: opens the database, starts the ActorSystem with the
test pipeline and the real Replicate renderer pointed at the fake Replicate, installs the
signal handlers, waits to be stopped.

    python -m tests.actors.run_system DB_PATH REPLICATE_API_URL REPLICATE_TOKEN
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

from actorvid.actors.runtime import ActorSystem, install_signal_handlers
from actorvid.providers.replicate import ReplicateClient, ReplicateRenderer
from actorvid.store.blobs import blob_info, iter_blob
from actorvid.store.db import open_database
from tests.actors.conftest import FAST
from tests.actors.fakes import SimplePipeline


def main(db_path: str, api_url: str, token: str) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s %(message)s")
    db = open_database(db_path)

    def read_blob(blob_id: str) -> Iterator[bytes]:
        return iter_blob(db, blob_info(db, blob_id))

    # No Cancel-After: the test holds predictions for as long as it needs.
    client = ReplicateClient(api_url, token, timeout=5, cancel_after="")
    pipeline = SimplePipeline(db)
    system = ActorSystem(db, provider=ReplicateRenderer(client, read_blob),
                         pipelines={"standard": pipeline}, options=FAST).start()
    install_signal_handlers(system, timeout=5)
    print("READY", flush=True)
    system.wait_stopped()
    db.close()
    print("STOPPED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3]))
