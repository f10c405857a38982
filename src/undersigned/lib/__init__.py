"""Helpers without models: settings parsing, hashing, canonical JSON, email composition."""
