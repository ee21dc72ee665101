"""JSON Schema validators that never leave the schema: no ``$ref`` is fetched.

jsonschema still follows a ``$ref`` to an ``http(s)://`` URL by downloading it (deprecated,
but on by default). A schema comes from a prompt's front matter or a test file -- data from
a pull request -- so following it would let that data reach the network from CI. Every
validator promptkit builds comes from :func:`offline_validator`: references inside the
schema (``#/$defs/...``) resolve as usual; anything else is :class:`SchemaRefRefused`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SchemaRefRefused", "offline_validator", "unresolvable"]


class SchemaRefRefused(LookupError):
    """A ``$ref`` outside the schema itself (never fetched)."""


def _retrieve(uri: str) -> Any:
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)


def offline_validator(schema: dict[str, Any], **kwargs: Any) -> Any:
    """A validator instance for ``schema``'s draft whose registry retrieves nothing."""
    from jsonschema import validators
    from referencing import Registry

    cls = validators.validator_for(schema)
    return cls(schema, registry=Registry(retrieve=_retrieve), **kwargs)  # type: ignore[call-arg]


def unresolvable(exc: BaseException) -> str | None:
    """The reference an exception from validation failed to resolve, or None when the
    exception is something else. (jsonschema raises referencing's ``Unresolvable``, or
    wraps it, depending on the version.)"""
    from referencing.exceptions import Unresolvable

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, Unresolvable):
            return str(getattr(seen, "ref", "") or seen)
        seen = seen.__cause__ or seen.__context__
    return None
