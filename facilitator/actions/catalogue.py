"""Every tool's actions: importing this module registers them all (see
:func:`facilitator.actions.spec.action`)."""

from facilitator.actions import (  # noqa: F401
    agenda,
    board,
    design,
    organisations,
    plan,
    polls,
    signoff,
    stakeholders,
    workshops,
)
