"""Models of the organizers app."""
