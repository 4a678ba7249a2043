"""Facilitator: real-time facilitation of multistakeholder planning workshops.

The package import stays light on purpose: the process entry point
(``facilitator.__main__``) must be able to monkey-patch for eventlet before
Flask, SQLAlchemy or the socket stack are imported.
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from facilitator.app import create_app as create_app


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from facilitator.app import create_app  # on use: the package import stays light

        return create_app
    raise AttributeError(name)
