"""Real services the tests start for themselves (a PostgreSQL cluster, ...)."""


class PartMissing(Exception):
    """This machine lacks something a part needs; fixtures turn it into a skip with the reason."""
