"""A server process for the kill tests: opens the database, starts the ActorSystem with the
test workflow and an HTTP fake provider, installs the signal handlers, waits to be stopped.

    python -m tests.actors.run_system DB_PATH PROVIDER_URL
"""

from __future__ import annotations

import logging
import sys

from actorvid.actors.runtime import ActorSystem, install_signal_handlers
from actorvid.store.db import open_database
from tests.actors.conftest import FAST
from tests.actors.fakes import HttpFakeProvider, SimpleWorkflow


def main(db_path: str, provider_url: str) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s %(message)s")
    db = open_database(db_path)
    workflow = SimpleWorkflow(db)
    system = ActorSystem(db, provider=HttpFakeProvider(provider_url),
                         workflows={"standard": workflow}, options=FAST).start()
    install_signal_handlers(system, timeout=5)
    print("READY", flush=True)
    system.wait_stopped()
    db.close()
    print("STOPPED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
