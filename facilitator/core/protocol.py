"""Names on the wire, defined once and served to the browser as ``/protocol.js``.

Socket.IO event names and the ``type`` of broadcast events are ``noun:verb``
strings. docs/protocol.md describes each one; the JavaScript imports the same
constants, so the two sides cannot drift.
"""

from __future__ import annotations

import json

from facilitator.core.errors import ERROR_CODES

# Server -> client Socket.IO events.
EVENT = "event"  #: a committed change: {seq, type, data}
SNAPSHOT = "snapshot"  #: the whole state for this screen: {seq, ...}
TRANSIENT = "transient"  #: a passing update with no seq: {type, data}

# Client -> server actions (each answered by an ack).
SYNC_REQUEST = "sync:request"
STAGE_GOTO = "stage:goto"
STAGE_NEXT = "stage:next"
STAGE_PREV = "stage:prev"
PARTICIPANT_JOIN = "participant:join"
PARTICIPANT_UPDATE = "participant:update"
PARTICIPANT_REMOVE = "participant:remove"
ORGANISATION_ADD = "organisation:add"
ORGANISATION_EDIT = "organisation:edit"
ORGANISATION_MERGE = "organisation:merge"
WORKSHOP_CLOSE = "workshop:close"
WORKSHOP_REOPEN = "workshop:reopen"
NOTE_CREATE = "note:create"
NOTE_EDIT = "note:edit"
NOTE_MOVE = "note:move"
NOTE_DRAG = "note:drag"
NOTE_DELETE = "note:delete"
GROUP_CREATE = "group:create"
GROUP_RENAME = "group:rename"
GROUP_MOVE = "group:move"
GROUP_DELETE = "group:delete"
BOARD_SETTINGS = "board:settings"
BOARD_REVEAL = "board:reveal"
BOARD_FOCUS = "board:focus"
STAKEHOLDER_ADD = "stakeholder:add"
STAKEHOLDER_ACCEPT = "stakeholder:accept"
STAKEHOLDER_UPDATE = "stakeholder:update"
STAKEHOLDER_PLACE = "stakeholder:place"
STAKEHOLDER_MERGE = "stakeholder:merge"
STAKEHOLDER_REMOVE = "stakeholder:remove"
STAKEHOLDER_ADOPT = "stakeholder:adopt"
MAP_MODE = "map:mode"
PLACEMENT_SET = "placement:set"
POLL_CREATE = "poll:create"
POLL_AMEND = "poll:amend"
POLL_OPEN = "poll:open"
POLL_CLOSE = "poll:close"
POLL_VOTE = "poll:vote"
AGENDA_PROPOSE = "agenda:propose"
AGENDA_PROMOTE = "agenda:promote"
AGENDA_EDIT = "agenda:edit"
AGENDA_REMOVE = "agenda:remove"
AGENDA_ORDER = "agenda:order"
AGENDA_ORDER_BY_DOTS = "agenda:order_by_dots"
AGENDA_DOT = "agenda:dot"
AGENDA_CONFIGURE = "agenda:configure"
AGENDA_REVEAL = "agenda:reveal"
AGENDA_CURRENT = "agenda:current"
AGENDA_TIMER = "agenda:timer"
VOICE_GET = "voice:get"
DISPLAY_SET = "display:set"
WORKSHOP_SET_LANGUAGE = "workshop:set_language"
PLAN_ADD = "plan:add"
PLAN_ADD_FROM = "plan:add_from"
PLAN_EDIT = "plan:edit"
PLAN_ACCEPT = "plan:accept"
PLAN_REMOVE = "plan:remove"
PLAN_OFFER = "plan:offer"
PLAN_SETTLE_OFFER = "plan:settle_offer"
PLAN_FREEZE = "plan:freeze"
SIGNOFF_NAME = "signoff:name"
SIGNOFF_SIGN = "signoff:sign"
STAGE_ADD = "stage:add"
STAGE_EDIT = "stage:edit"
STAGE_MOVE = "stage:move"
STAGE_DUPLICATE = "stage:duplicate"
STAGE_REMOVE = "stage:remove"
WORKSHOP_SCHEDULE = "workshop:schedule"
WORKSHOP_START = "workshop:start"

# Types of broadcast events.
STAGE_CHANGED = "stage:changed"
PARTICIPANT_JOINED = "participant:joined"
PARTICIPANT_UPDATED = "participant:updated"
PARTICIPANT_REMOVED = "participant:removed"
ORGANISATION_ADDED = "organisation:added"
ORGANISATION_UPDATED = "organisation:updated"
ORGANISATION_MERGED = "organisation:merged"
WORKSHOP_CLOSED = "workshop:closed"
WORKSHOP_REOPENED = "workshop:reopened"
NOTE_CREATED = "note:created"
NOTE_UPDATED = "note:updated"
NOTE_MOVED = "note:moved"
NOTE_DELETED = "note:deleted"
NOTE_DRAGGING = "note:dragging"  #: transient
GROUP_CREATED = "group:created"
GROUP_UPDATED = "group:updated"
GROUP_MOVED = "group:moved"
GROUP_DELETED = "group:deleted"
BOARD_CHANGED = "board:changed"
STAKEHOLDER_ADDED = "stakeholder:added"
STAKEHOLDER_UPDATED = "stakeholder:updated"
STAKEHOLDER_REMOVED = "stakeholder:removed"
MAP_CHANGED = "map:changed"
PLACEMENT_SUMMARY = "placement:summary"
POLL_CREATED = "poll:created"
POLL_UPDATED = "poll:updated"
POLL_OPENED = "poll:opened"
POLL_CLOSED = "poll:closed"
POLL_COUNT = "poll:count"  #: transient, coalesced
AGENDA_ITEM_ADDED = "agenda:item_added"
AGENDA_ITEM_UPDATED = "agenda:item_updated"
AGENDA_ITEM_REMOVED = "agenda:item_removed"
AGENDA_ORDERED = "agenda:ordered"
AGENDA_DOTS = "agenda:dots"
AGENDA_CHANGED = "agenda:changed"
AGENDA_COUNT = "agenda:count"  #: transient, coalesced
WORKSHOP_DISPLAY = "workshop:display"
WORKSHOP_LANGUAGE = "workshop:language"
PLAN_CREATED = "plan:created"
PLAN_UPDATED = "plan:updated"
PLAN_REMOVED = "plan:removed"
PLAN_ACCOUNTABILITY = "plan:accountability"  #: transient, coalesced
PLAN_FROZEN = "plan:frozen"
SIGNOFF_REPRESENTATIVE = "signoff:representative"
SIGNOFF_SIGNED = "signoff:signed"
STAGES_CHANGED = "stages:changed"
WORKSHOP_STARTED = "workshop:started"

ACTIONS = (
    SYNC_REQUEST,
    STAGE_GOTO,
    STAGE_NEXT,
    STAGE_PREV,
    PARTICIPANT_JOIN,
    PARTICIPANT_UPDATE,
    PARTICIPANT_REMOVE,
    ORGANISATION_ADD,
    ORGANISATION_EDIT,
    ORGANISATION_MERGE,
    WORKSHOP_CLOSE,
    WORKSHOP_REOPEN,
    NOTE_CREATE,
    NOTE_EDIT,
    NOTE_MOVE,
    NOTE_DRAG,
    NOTE_DELETE,
    GROUP_CREATE,
    GROUP_RENAME,
    GROUP_MOVE,
    GROUP_DELETE,
    BOARD_SETTINGS,
    BOARD_REVEAL,
    BOARD_FOCUS,
    STAKEHOLDER_ADD,
    STAKEHOLDER_ACCEPT,
    STAKEHOLDER_UPDATE,
    STAKEHOLDER_PLACE,
    STAKEHOLDER_MERGE,
    STAKEHOLDER_REMOVE,
    STAKEHOLDER_ADOPT,
    MAP_MODE,
    PLACEMENT_SET,
    POLL_CREATE,
    POLL_AMEND,
    POLL_OPEN,
    POLL_CLOSE,
    POLL_VOTE,
    AGENDA_PROPOSE,
    AGENDA_PROMOTE,
    AGENDA_EDIT,
    AGENDA_REMOVE,
    AGENDA_ORDER,
    AGENDA_ORDER_BY_DOTS,
    AGENDA_DOT,
    AGENDA_CONFIGURE,
    AGENDA_REVEAL,
    AGENDA_CURRENT,
    AGENDA_TIMER,
    VOICE_GET,
    DISPLAY_SET,
    WORKSHOP_SET_LANGUAGE,
    PLAN_ADD,
    PLAN_ADD_FROM,
    PLAN_EDIT,
    PLAN_ACCEPT,
    PLAN_REMOVE,
    PLAN_OFFER,
    PLAN_SETTLE_OFFER,
    PLAN_FREEZE,
    SIGNOFF_NAME,
    SIGNOFF_SIGN,
    STAGE_ADD,
    STAGE_EDIT,
    STAGE_MOVE,
    STAGE_DUPLICATE,
    STAGE_REMOVE,
    WORKSHOP_SCHEDULE,
    WORKSHOP_START,
)
EVENT_TYPES = (
    STAGE_CHANGED,
    PARTICIPANT_JOINED,
    PARTICIPANT_UPDATED,
    PARTICIPANT_REMOVED,
    ORGANISATION_ADDED,
    ORGANISATION_UPDATED,
    ORGANISATION_MERGED,
    WORKSHOP_CLOSED,
    WORKSHOP_REOPENED,
    NOTE_CREATED,
    NOTE_UPDATED,
    NOTE_MOVED,
    NOTE_DELETED,
    NOTE_DRAGGING,
    GROUP_CREATED,
    GROUP_UPDATED,
    GROUP_MOVED,
    GROUP_DELETED,
    BOARD_CHANGED,
    STAKEHOLDER_ADDED,
    STAKEHOLDER_UPDATED,
    STAKEHOLDER_REMOVED,
    MAP_CHANGED,
    PLACEMENT_SUMMARY,
    POLL_CREATED,
    POLL_UPDATED,
    POLL_OPENED,
    POLL_CLOSED,
    POLL_COUNT,
    AGENDA_ITEM_ADDED,
    AGENDA_ITEM_UPDATED,
    AGENDA_ITEM_REMOVED,
    AGENDA_ORDERED,
    AGENDA_DOTS,
    AGENDA_CHANGED,
    AGENDA_COUNT,
    WORKSHOP_DISPLAY,
    WORKSHOP_LANGUAGE,
    PLAN_CREATED,
    PLAN_UPDATED,
    PLAN_REMOVED,
    PLAN_ACCOUNTABILITY,
    PLAN_FROZEN,
    SIGNOFF_REPRESENTATIVE,
    SIGNOFF_SIGNED,
    STAGES_CHANGED,
    WORKSHOP_STARTED,
)

ROLES = ("facilitator", "projector", "participant", "visitor")


def _constant_name(wire_name: str) -> str:
    return wire_name.replace(":", "_").upper()


def javascript() -> str:
    """The ES module the screens import: the same names, generated from this file."""
    actions = {_constant_name(n): n for n in ACTIONS}
    types = {_constant_name(n): n for n in EVENT_TYPES}
    errors = {c.upper(): c for c in ERROR_CODES}
    return (
        "// Generated from facilitator/core/protocol.py; do not edit.\n"
        f"export const EVENT = {json.dumps(EVENT)};\n"
        f"export const SNAPSHOT = {json.dumps(SNAPSHOT)};\n"
        f"export const TRANSIENT = {json.dumps(TRANSIENT)};\n"
        f"export const ACTIONS = Object.freeze({json.dumps(actions, indent=1)});\n"
        f"export const TYPES = Object.freeze({json.dumps(types, indent=1)});\n"
        f"export const ERRORS = Object.freeze({json.dumps(errors, indent=1)});\n"
    )
