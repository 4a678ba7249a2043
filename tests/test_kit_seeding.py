"""What a kit prepares in a new workshop: starter stakeholders, board areas, agenda
topics and draft polls, as ordinary rows of the real database."""

from __future__ import annotations

from sqlalchemy import select

from facilitator.core.db import db
from facilitator.domain.agenda import AgendaItem
from facilitator.domain.board import NoteGroup
from facilitator.domain.kits import parse_kit
from facilitator.domain.polls import Poll
from facilitator.domain.seeding import create_workshop
from facilitator.domain.stakeholders import Stakeholder

KIT = '''
title = "Seeded"
sectors = ["Health", "Education"]

[stakeholder_map]
starters = [
  { name = "Provincial health department", sector = "Health", power = 9, interest = 8 },
  { name = "Lady Health Workers", power = 2, interest = 9, notes = "Community voice" },
]

[[stages]]
id = "swot"
type = "board"
title = "SWOT"
config = { areas = ["Strengths", "Weaknesses", "Opportunities", "Threats", "Ideas"] }

[[stages]]
id = "agenda"
type = "agenda"
title = "Agenda"
config = { topics = ["Stunting", "Wasting"], default_minutes = 25 }

[[stages]]
id = "rate"
type = "vote"
title = "Rate"

[[stages.config.polls]]
title = "Shared vision"
method = "scale"
scale_max = 5

[[stages.config.polls]]
title = "Adopt the goal"
method = "consensus"
rule = { min_agree_share = 0.75 }
anonymous = false
'''


def test_a_new_workshop_starts_with_what_its_kit_prepares(factory):
    user_id, _ = factory.user()
    kit = parse_kit(KIT, "seeded.toml")
    with db.transaction() as s:
        workshop = create_workshop(s, user_id, "seeded", kit, "")
        stages = {st.key: st.id for st in workshop.stages}
        wid = workshop.id
    with db.reader() as s:
        people = s.scalars(select(Stakeholder).where(Stakeholder.workshop_id == wid)).all()
        assert {p.name: (p.power, p.interest, p.status) for p in people} == {
            "Provincial health department": (9, 8, "accepted"),
            "Lady Health Workers": (2, 9, "accepted"),
        }
        areas = s.scalars(
            select(NoteGroup).where(NoteGroup.stage_id == stages["swot"]).order_by(NoteGroup.id)
        ).all()
        assert [a.title for a in areas] == [
            "Strengths", "Weaknesses", "Opportunities", "Threats", "Ideas"
        ]
        assert len({(a.x, a.y) for a in areas}) == 5  # laid out, not stacked
        assert all(0 <= a.x < 1200 and 0 <= a.y < 750 for a in areas)
        topics = s.scalars(
            select(AgendaItem).where(AgendaItem.stage_id == stages["agenda"])
            .order_by(AgendaItem.position)
        ).all()
        assert [(t.title, t.minutes) for t in topics] == [("Stunting", 25), ("Wasting", 25)]
        polls = s.scalars(select(Poll).where(Poll.stage_id == stages["rate"]).order_by(Poll.id))
        assert [(p.title, p.method, p.status, p.anonymous, p.config, p.rule) for p in polls] == [
            ("Shared vision", "scale", "draft", True, {"scale_max": 5}, {"min_median": None}),
            ("Adopt the goal", "consensus", "draft", False, {}, {"min_agree_share": 0.75}),
        ]
