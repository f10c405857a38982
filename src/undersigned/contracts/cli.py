"""`undersigned contracts …`: load, fetch and query the contract record."""

import click


@click.group()
def contracts() -> None:
    """The contract record: what each company sells to ICE and the rest of DHS."""
