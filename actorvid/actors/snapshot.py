"""The debug snapshot of the live tree, read through ``ask`` with short timeouts.

The tree is walked level by level from outside the actors: every actor of a level is asked
:class:`~actorvid.actors.supervision.Describe` at once, and the level waits at most
``ask_timeout`` (within the overall ``timeout``). An actor that does not answer in time is
reported with ``"responding": false`` and what its parent knows of it, plus the last message it
started handling (read without its cooperation: a stuck actor is usually stuck *in* that
message). A stuck actor's children cannot be listed; its parent's view is all there is.
"""

from __future__ import annotations

import time
from typing import Any

import pykka

from actorvid.actors.supervision import Describe


def _peek(ref: pykka.ActorRef[Any]) -> dict[str, Any]:
    """Fields an actor writes atomically (single attribute stores), readable while it is stuck."""
    # pykka offers no public way from a ref to its actor, and asking the actor (ask, proxy)
    # would wait on a stuck one, which is what this view must show; reading three attributes
    # through the ref's weak reference never waits.
    actor = ref._actor_weakref()  # noqa: SLF001
    return {
        "last_message": getattr(actor, "last_message", None),
        "last_message_at": getattr(actor, "last_message_at", None),
        "started_at": getattr(actor, "started_at", None),
    }


def _node(ref: pykka.ActorRef[Any], kind: str, *, child_id: str | None = None,
          labels: dict[str, Any] | None = None, restarts: int = 0,
          started_at: str | None = None) -> dict[str, Any]:
    return {
        "kind": kind,
        "urn": ref.actor_urn,
        "child_id": child_id,
        **(labels or {}),
        "state": None,
        # actor_inbox is public on ActorRef; its ActorInbox protocol has no size, but the
        # threading actors' inbox is a queue.Queue, whose qsize() is public.
        "mailbox": ref.actor_inbox.qsize(),  # type: ignore[attr-defined]
        "started_at": started_at,
        "restarts": restarts,
        "last_message": None,
        "last_message_at": None,
        "responding": False,
        "alive": ref.is_alive(),
        "children": [],
    }


def gather(root: pykka.ActorRef[Any], *, timeout: float = 0.2, ask_timeout: float = 0.05
           ) -> dict[str, Any]:
    """Describe the tree under ``root``; returns within about ``timeout`` whatever happens."""
    deadline = time.monotonic() + timeout
    top = _node(root, getattr(root.actor_class, "kind", root.actor_class.__name__))
    level: list[tuple[dict[str, Any], pykka.ActorRef[Any]]] = [(top, root)]
    while level:
        asked: list[tuple[dict[str, Any], pykka.ActorRef[Any], Any]] = []
        for node, ref in level:
            try:
                asked.append((node, ref, ref.ask(Describe(), block=False)))
            except pykka.ActorDeadError:
                node.update(alive=False, **_peek(ref))
        level_deadline = min(deadline, time.monotonic() + ask_timeout)
        next_level: list[tuple[dict[str, Any], pykka.ActorRef[Any]]] = []
        for node, ref, future in asked:
            try:
                info = future.get(timeout=max(0.0, level_deadline - time.monotonic()))
            except pykka.Timeout:
                node.update(responding=False, **_peek(ref))
                continue
            except pykka.ActorDeadError:
                node.update(responding=False, alive=False, **_peek(ref))
                continue
            node.update(responding=True, state=info["state"], started_at=info["started_at"],
                        last_message=info["last_message"],
                        last_message_at=info["last_message_at"])
            for child in info["children"]:
                child_node = _node(child["ref"], child["kind"], child_id=child["child_id"],
                                   labels=child["labels"], restarts=child["restarts"],
                                   started_at=child["started_at"])
                node["children"].append(child_node)
                next_level.append((child_node, child["ref"]))
        level = next_level
    return top


def count(node: dict[str, Any], **match: Any) -> int:
    """How many nodes of the snapshot match every ``key=value`` (for tests and summaries)."""
    own = int(all(node.get(k) == v for k, v in match.items()))
    return own + sum(count(child, **match) for child in node["children"])


def render_text(node: dict[str, Any], depth: int = 0) -> str:
    """An indented tree for a terminal."""
    ids = " ".join(f"{key}={node[key]}" for key in ("job_id", "scene_id") if node.get(key))
    state = node.get("state") or {}
    detail = " ".join(f"{k}={v}" for k, v in state.items()
                      if k not in ("job_id", "scene_id") and v is not None)
    flag = "" if node["responding"] else " NOT RESPONDING"
    line = (f"{'  ' * depth}{node['kind']} {node['urn'][-12:]} {ids} {detail} "
            f"mailbox={node['mailbox']} restarts={node['restarts']} "
            f"last={node['last_message']}@{node['last_message_at']}{flag}")
    lines = [" ".join(line.split()) if depth == 0 else "  " * depth + " ".join(line.split())]
    lines += [render_text(child, depth + 1) for child in node["children"]]
    return "\n".join(lines)
