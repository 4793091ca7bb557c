"""signage-agent: the edge agent of a city's LED and LCD information boards."""

# The one place the version is written: pyproject.toml reads it for the wheel
# ([tool.setuptools.dynamic]), and heartbeats, presence, `ping`, `--version` and the
# User-Agent read it here, so a source checkout reports the same version as an install.
__version__ = "0.1.0"
