"""actorvid: an AI marketing-video studio backend."""

__version__ = "0.1.0"
