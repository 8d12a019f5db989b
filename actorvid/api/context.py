"""What the resources share: settings, database, accounts, clock and id factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from actorvid.accounts import Accounts
from actorvid.clock import Clock, IdFactory, isoformat_z, new_uuid, utc_now
from actorvid.config import Settings
from actorvid.store.db import Database


@dataclass
class AppContext:
    settings: Settings
    db: Database
    accounts: Accounts
    clock: Clock = utc_now
    new_id: IdFactory = new_uuid
    # Filled by later layers (actor system, providers, media); None until they exist.
    services: dict[str, Any] = field(default_factory=dict)

    def now(self) -> str:
        return isoformat_z(self.clock())
