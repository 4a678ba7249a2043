"""Imports every module that defines tables, so the metadata is complete."""

from . import accounts, agenda, board, live, polls, stakeholders, workshops  # noqa: F401
from .db import Base

metadata = Base.metadata
