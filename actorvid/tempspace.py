"""Private temp folders of this process, and the removal of those left by dead processes.

Every temp folder actorvid makes (stitch work dirs, upload copies, local renders) lives under one
root per process, ``<tmp>/actorvid-proc-XXXX`` (mode 0700). The root holds an ``.owner`` file
that the process keeps ``flock``-ed for its whole life, so the kernel says whether its owner is
alive: at start the owner of the database removes every root whose lock it can take — the
folders of processes that were killed — and never one of a live process (its own, or another
server's on another database).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

logger = logging.getLogger(__name__)

ROOT_PREFIX = "actorvid-proc-"
OWNER_FILE = ".owner"

_root: Path | None = None
_root_fd: int | None = None
_root_lock = threading.Lock()


def process_root() -> Path:
    """This process's private temp root, made (and locked) on first use."""
    global _root, _root_fd
    with _root_lock:
        if _root is None or not _root.is_dir():
            root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))  # 0700
            fd = os.open(root / OWNER_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            if _root_fd is not None:
                os.close(_root_fd)
            _root, _root_fd = root, fd
        return _root


def make_dir(prefix: str) -> Path:
    """A new private folder under this process's root; the caller removes it when done."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=process_root()))


def make_file(prefix: str, suffix: str = "") -> tuple[int, str]:
    """A new private file (``mkstemp``'s ``(fd, path)``) under this process's root."""
    return tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=process_root())


def remove_abandoned(base: Path | None = None) -> int:
    """Remove the temp roots of dead processes under ``base`` (the system temp dir)."""
    base = base or Path(tempfile.gettempdir())
    removed = 0
    for root in base.glob(f"{ROOT_PREFIX}*"):
        owner = root / OWNER_FILE
        if not root.is_dir() or root.is_symlink() or not owner.is_file():
            continue
        try:
            fd = os.open(owner, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # its process is alive
        finally:
            os.close(fd)
        shutil.rmtree(root, ignore_errors=True)
        removed += 1
    if removed:
        logger.info("removed %d temp folder(s) left by stopped actorvid processes", removed)
    return removed
