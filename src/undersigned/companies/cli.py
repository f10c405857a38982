"""`undersigned companies …`: the company registry."""

import click


@click.group()
def companies() -> None:
    """The company registry (names, email domains, aliases, parents)."""
