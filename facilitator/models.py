"""Imports every module that defines tables, so the metadata is complete."""

from . import (  # noqa: F401
    accounts,
    agenda,
    board,
    exports,
    live,
    plan,
    polls,
    signoff,
    stakeholders,
    workshops,
)
from .db import Base

metadata = Base.metadata
