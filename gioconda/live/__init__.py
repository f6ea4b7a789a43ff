"""Live sessions: a portrait that talks as its audio arrives (:class:`LiveSession`)."""

from gioconda.live.session import LiveFrame, LiveOptions, LiveSession, LiveStats

__all__ = ["LiveFrame", "LiveOptions", "LiveSession", "LiveStats"]
