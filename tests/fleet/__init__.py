"""Tests of signage-fleet (CONTRACT §9)."""
