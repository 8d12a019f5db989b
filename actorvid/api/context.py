"""What the resources share: settings, database, accounts, clock and id factory."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from actorvid.accounts import Accounts
from actorvid.actors.runtime import ActorSystem
from actorvid.clock import Clock, IdFactory, isoformat_z, new_uuid, utc_now
from actorvid.config import Settings
from actorvid.domain.drafts import SceneDraft
from actorvid.store.db import Database
from actorvid.store.ownership import OwnerLock
from actorvid.store.stamps import StampMemo


class Runtime(Protocol):
    """What the resources use of the running actor system and providers.

    ``actorvid.wiring.Runtime`` builds and owns them; the API sees only this much, so the
    HTTP layer does not import the wiring that sits above it.
    """

    @property
    def system(self) -> ActorSystem: ...

    @property
    def renderer_name(self) -> str: ...

    def prediction_changed(self, provider_id: str) -> None: ...

    def preview_changed(self, job_id: int) -> None: ...

    def render_draft(self, preview_id: str) -> None: ...

    def rewrite_scene(self, brief: Mapping[str, Any], scene: SceneDraft, feedback: str
                      ) -> SceneDraft: ...

    def close(self, timeout: float | None = None) -> None: ...


@dataclass
class AppContext:
    settings: Settings
    db: Database
    accounts: Accounts
    clock: Clock = utc_now
    new_id: IdFactory = new_uuid
    # The actor system and providers; None when the app runs without them (API-only tests).
    runtime: Runtime | None = None
    services: dict[str, Any] = field(default_factory=dict)
    # This process's ownership of the database file (held while serving; see store.ownership).
    owner: OwnerLock | None = None
    # Change stamps kept between commits: what conditional GETs read (store/stamps.py).
    stamps: StampMemo = field(init=False)

    def __post_init__(self) -> None:
        self.stamps = StampMemo(self.db)

    def now(self) -> str:
        return isoformat_z(self.clock())

    def close(self) -> None:
        """Stop the runtime (actors leaf-first, provider pools), then close the database."""
        if self.runtime is not None:
            self.runtime.close()
        self.db.close()
        if self.owner is not None:
            self.owner.release()
