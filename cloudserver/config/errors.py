"""The one exception of configuration parsing (its own module so the
section parsers and the package import it without a circle)."""
from __future__ import annotations


class ConfigError(Exception):
    """The configuration cannot be used; the message says which file and field."""
