"""The fleet's web page and JSON API (FastAPI)."""
