"""signage-agent: the edge agent of a city's LED and LCD information boards."""

__version__ = "0.1.0"
