"""Shared fixtures. Fixtures are defined in code; randomness is seeded."""
