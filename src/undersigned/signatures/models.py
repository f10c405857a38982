"""Models of the signatures app."""
