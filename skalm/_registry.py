"""Name -> class tables (the solvers' and the activations'), filled by class decorators."""

__all__ = ["register", "look_up"]


def register(table, cls, kind):
    """File ``cls`` in ``table`` under its ``name`` and return it (a class decorator's body);
    ``kind`` ("solver", "activation") names it in the error for an empty name."""
    if not cls.name:
        article = "an" if kind[0] in "aeiou" else "a"
        raise ValueError(f"{article} {kind} class needs a non-empty name")
    table[cls.name] = cls
    return cls


def look_up(table, name, kind):
    """The class filed under ``name``: a ValueError naming the parameter ``kind`` and listing
    the registered names otherwise."""
    try:
        return table[name]
    except (KeyError, TypeError):
        raise ValueError(f"{kind} must be one of {sorted(table)}, got {name!r}.") from None
