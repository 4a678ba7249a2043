"""A realistic canonical plan (docs/plan.md) and its signatures, for tests and benchmarks.

An HRH Action Framework workshop in a province: ministries, regulators, training
institutions, UN agencies and NGOs agree objectives and actions. Some actions have no
lead, no indicator or no due date, one organisation in the room leads nothing and one
sector has no action, so every accountability gap shows. Deterministic for a seed; no
pytest imports, so the benchmarks can use it too.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

SECTORS = [
    "Health",
    "Education",
    "Finance",
    "Public service and labour",
    "Planning and development",
    "Local government",
    "Professional regulation",
    "Private sector",
    "Civil society",
    "Development partners",
]

ACTION_FIELDS = [
    {"id": "policy", "name": "Policy"},
    {"id": "hr-management", "name": "HR Management Systems"},
    {"id": "finance", "name": "Finance"},
    {"id": "education", "name": "Education"},
    {"id": "partnership", "name": "Partnership"},
    {"id": "leadership", "name": "Leadership"},
]

CYCLE_PHASES = [
    {"id": "situation-analysis", "name": "Situation analysis"},
    {"id": "planning", "name": "Planning"},
    {"id": "implementation", "name": "Implementation"},
    {"id": "monitoring-evaluation", "name": "Monitoring and evaluation"},
]

CATEGORIES = [
    "International agency or donor",
    "National political",
    "Public sector",
    "Labour and professional associations",
    "Commercial",
    "Non-profit",
    "Civil society",
    "Service users and communities",
]

LEVELS = ["Federal", "Provincial", "District", "Community"]

# (name, sector): the organisations in the room.
ORGANISATIONS = [
    ("Provincial Department of Health", "Health"),
    ("Directorate General Health Services", "Health"),
    ("Lady Health Workers Programme", "Health"),
    ("Department of Higher Education", "Education"),
    ("Provincial Health Sciences University", "Education"),
    ("Finance Department", "Finance"),
    ("Services and General Administration Department", "Public service and labour"),
    ("Planning and Development Board", "Planning and development"),
    ("Nursing and Midwifery Council", "Professional regulation"),
    ("Medical and Dental Council", "Professional regulation"),
    ("Association of Private Hospitals", "Private sector"),
    ("Young Nurses Association", "Civil society"),
    ("Midwives' Association", "Civil society"),
    ("WHO country office", "Development partners"),
    ("UNICEF", "Development partners"),
    ("UNFPA", "Development partners"),
    ("World Bank", "Development partners"),
    ("Jhpiego", "Development partners"),
]
# Leads no action: the partner who "owns nothing".
NEVER_LEADS = "Young Nurses Association"
# Partners named on actions who were not in the room.
ABSENT_PARTNERS = ["Global Fund", "Provincial Assembly Health Committee", "District councils"]

FIRST = [
    "Ayesha",
    "Bilal",
    "Fatima",
    "Hamza",
    "Sana",
    "Imran",
    "Nadia",
    "Usman",
    "Zainab",
    "Kamran",
    "Mehwish",
    "Tariq",
    "Rabia",
    "Farhan",
    "Saima",
    "Adeel",
    "Hina",
    "Omar",
    "Grace",
    "Peter",
    "Amina",
    "Joseph",
    "Maria",
    "Daniel",
    "Lucia",
    "Samuel",
]
LAST = [
    "Khan",
    "Qureshi",
    "Malik",
    "Siddiqui",
    "Butt",
    "Chaudhry",
    "Shah",
    "Rana",
    "Javed",
    "Akhtar",
    "Baig",
    "Hussain",
    "Mirza",
    "Okello",
    "Mensah",
    "Fernandes",
    "Lindqvist",
    "Haddad",
    "Ncube",
    "Dubois",
]
HONORIFICS = ["Dr", "Dr", "Prof.", "", "", ""]
TITLES = [
    "Director Human Resources",
    "Additional Secretary (Health)",
    "Registrar",
    "Dean of Nursing",
    "Programme Coordinator",
    "Health Specialist",
    "Deputy Director Planning",
    "Technical Officer, Health Workforce",
    "Chief Executive",
    "President",
    "Section Officer (Budget)",
]

OBJECTIVES = [
    "1. Every district has the health workers its population needs, deployed where the "
    "need is greatest",
    "2. Pre-service and in-service education matched to priority health needs",
    "3. Health workers stay in rural and hard-to-reach posts",
    "4. Reliable workforce information for planning and accountability",
    "5. Strong HRH leadership and multi-stakeholder coordination",
]

# action field id -> (activity, expected output, indicator, baseline, target, verification)
ACTIVITIES: dict[str, list[tuple[str, str, str, str, str, str]]] = {
    "policy": [
        (
            "Revise the scope of practice of community midwives to include basic emergency "
            "obstetric care",
            "Notified scope of practice",
            "Scope of practice notified",
            "Draft of 2014",
            "Notified by Q3",
            "Official gazette",
        ),
        (
            "Draft staffing norms for basic health units based on workload (WISN)",
            "Approved staffing norms",
            "Facilities with WISN-based norms",
            "0%",
            "100%",
            "Norms document signed by the Secretary",
        ),
        (
            "Harmonise licensing and re-licensing rules for nurses across the province",
            "Single licensing regulation",
            "Licensing regulation adopted",
            "Three rule sets",
            "One regulation",
            "Council minutes",
        ),
        (
            "Introduce a bonding policy for publicly funded medical graduates",
            "Bonding policy",
            "Graduates serving their bond",
            "None",
            "80% of each cohort",
            "HRIS deployment records",
        ),
    ],
    "hr-management": [
        (
            "Fill vacant posts of women medical officers through a fast-track recruitment round",
            "Posts filled",
            "Vacancy rate, women medical officers",
            "38%",
            "15%",
            "Quarterly vacancy report",
        ),
        (
            "Deploy the HR information system to all district health offices",
            "HRIS live in districts",
            "Districts reporting through HRIS",
            "4 of 36",
            "36 of 36",
            "HRIS dashboard",
        ),
        (
            "Set up performance appraisal linked to supportive supervision for LHWs",
            "Appraisal tool in use",
            "LHWs appraised in the year",
            "12%",
            "75%",
            "Supervision reports",
        ),
        (
            "Map the workforce of private hospitals and clinics by cadre",
            "Private sector workforce census",
            "Private facilities covered",
            "0",
            "90%",
            "Census report",
        ),
    ],
    "finance": [
        (
            "Cost the staffing norms and include the gap in the medium-term budget framework",
            "Costed HRH plan",
            "HRH budget gap costed",
            "Not costed",
            "Costed and tabled",
            "Budget call circular",
        ),
        (
            "Introduce a hard-area allowance for staff in remote union councils",
            "Allowance notified",
            "Staff in hard areas receiving allowance",
            "0%",
            "95%",
            "Payroll extracts",
        ),
        (
            "Establish national health workforce accounts for the province",
            "First NHWA data set",
            "NHWA modules reported",
            "2 of 10",
            "8 of 10",
            "WHO NHWA platform",
        ),
        (
            "Mobilise development partner funds for midwifery school upgrades",
            "Financing agreement",
            "Funds committed (USD)",
            "0",
            "2.5 million",
            "Signed agreements",
        ),
    ],
    "education": [
        (
            "Align the nursing curriculum with the essential package of health services",
            "Revised curriculum",
            "Schools teaching the revised curriculum",
            "0 of 22",
            "22 of 22",
            "Council inspection reports",
        ),
        (
            "Train district managers in workforce planning and rostering",
            "Trained managers",
            "District managers trained",
            "0",
            "72",
            "Training attendance records",
        ),
        (
            "Accredit community midwifery schools against national standards",
            "Accredited schools",
            "Schools accredited",
            "5",
            "18",
            "Accreditation register",
        ),
        (
            "Run in-service refresher training on integrated newborn care for LHWs",
            "Refresher course delivered",
            "LHWs completing refresher",
            "0",
            "8,000",
            "Training database",
        ),
    ],
    "partnership": [
        (
            "Agree a memorandum with private hospitals on clinical placements for students",
            "Signed memorandum",
            "Students placed in private hospitals",
            "120",
            "600",
            "Placement logs",
        ),
        (
            "Create a provincial HRH coordination forum that meets every quarter",
            "Forum with terms of reference",
            "Forum meetings held",
            "0",
            "4 a year",
            "Minutes",
        ),
        (
            "Involve community health committees in monitoring staff attendance",
            "Committees active",
            "Facilities with active committees",
            "10%",
            "60%",
            "Committee registers",
        ),
        (
            "Pool development partner support for HRH behind one provincial plan",
            "Joint financing arrangement",
            "Partners aligned to the plan",
            "1",
            "5",
            "Joint annual review report",
        ),
    ],
    "leadership": [
        (
            "Appoint an HRH focal person in every district health office",
            "Focal persons notified",
            "Districts with an HRH focal person",
            "6",
            "36",
            "Notifications",
        ),
        (
            "Run a leadership and management course for medical superintendents",
            "Course delivered",
            "Superintendents trained",
            "0",
            "40",
            "Course reports",
        ),
        (
            "Publish an annual HRH report card reviewed by the coordination forum",
            "Annual report card",
            "Report card published",
            "No",
            "Yes, each June",
            "Department website",
        ),
        (
            "Name HRH champions among professional association leaders",
            "Champions network",
            "Champions active",
            "0",
            "12",
            "Forum minutes",
        ),
    ],
}
PLACES = [
    "Lahore",
    "Multan",
    "Bahawalpur",
    "Dera Ghazi Khan",
    "Rajanpur",
    "Muzaffargarh",
    "Faisalabad",
    "Sialkot",
    "Rawalpindi",
    "Sargodha",
    "Layyah",
    "Jhang",
]
RISKS = [
    "Recruitment ban extended by the Finance Department",
    "Delays in the budget release",
    "Turnover of trained staff",
    "Security situation limits travel to remote districts",
    "Competing priorities during the polio campaign",
    "",
]
STATUSES = ["planned", "planned", "planned", "in_progress", "delayed"]

STAKEHOLDER_BASES = [
    ("Provincial Department of Health", "Public sector", "Health", "Provincial"),
    ("Chief Minister's Office", "National political", "Planning and development", "Provincial"),
    ("Federal Ministry of National Health Services", "Public sector", "Health", "Federal"),
    ("Finance Department", "Public sector", "Finance", "Provincial"),
    (
        "Nursing and Midwifery Council",
        "Labour and professional associations",
        "Professional regulation",
        "Federal",
    ),
    (
        "Medical and Dental Council",
        "Labour and professional associations",
        "Professional regulation",
        "Federal",
    ),
    ("Young Doctors' Association", "Labour and professional associations", "Health", "Provincial"),
    ("Lady Health Workers' Union", "Labour and professional associations", "Health", "Community"),
    ("WHO country office", "International agency or donor", "Development partners", "Federal"),
    ("UNICEF", "International agency or donor", "Development partners", "Provincial"),
    ("World Bank", "International agency or donor", "Development partners", "Federal"),
    ("Association of Private Hospitals", "Commercial", "Private sector", "Provincial"),
    ("Pharmaceutical distributors", "Commercial", "Private sector", "Provincial"),
    ("Aga Khan Health Service", "Non-profit", "Civil society", "Provincial"),
    ("Women's rights network", "Civil society", "Civil society", "Provincial"),
    ("Community health committees", "Service users and communities", "Civil society", "Community"),
    ("Provincial Assembly Health Committee", "National political", "Health", "Provincial"),
    ("Public Service Commission", "Public sector", "Public service and labour", "Provincial"),
    ("District Health Authority", "Public sector", "Local government", "District"),
    ("Nursing schools", "Public sector", "Education", "District"),
]
SALIENCE = ["definitive", "dominant", "dependent", "dangerous", "discretionary", "dormant"]

METHODS = [
    ("gradients", "Gradients of agreement", "No veto, and at least 50% at 1–3", True),
    ("fist", "Fist of five", "Everyone at 3 fingers or more", False),
    ("consensus", "Consensus", "No block, and at least 50% of those voting agree", False),
    ("consent", "Consent", "No unresolved reasoned objection", True),
]
# (title, proposal, reasons a dissenting voter gave)
DECISION_TOPICS = [
    (
        "Priorities of the plan",
        "Rural retention and workforce information are the two priorities of this plan.",
        [
            "Education quality matters as much as retention; it should be a third priority.",
            "Without a costed allowance the retention priority is not credible.",
        ],
    ),
    (
        "Hard-area allowance",
        "Ask the Finance Department to notify a hard-area allowance from 1 July.",
        [
            "The allowance must be in the budget call before July, or it will not be paid.",
            "Hard areas need a transparent definition first.",
        ],
    ),
    (
        "Coordination forum chair",
        "The Provincial Department of Health chairs the HRH coordination forum; UNICEF "
        "co-chairs for the first year.",
        [
            "The Planning and Development Board should co-chair: the forum is multisectoral.",
            "A rotating co-chair would keep all partners engaged.",
        ],
    ),
    (
        "Bonding of graduates",
        "Publicly funded medical graduates serve two years in a district posting.",
        [
            "Bonding without decent housing will push graduates abroad.",
            "Two years is too long for women graduates with families; one year, then review.",
        ],
    ),
    (
        "Private sector placements",
        "Private hospitals offer clinical placements under a memorandum with the council.",
        [
            "Our members need the council to accredit private wards before students arrive.",
            "Supervision of students in private wards is not yet defined.",
        ],
    ),
    (
        "Single HR information system",
        "All partners report workforce data through the provincial HRIS, not parallel systems.",
        [
            "Parallel reporting to donors must stop first, or the HRIS doubles the workload.",
            "District offices lack the connectivity to report monthly.",
        ],
    ),
    (
        "Midwifery school accreditation",
        "Schools that are not accredited within two years stop admitting students.",
        [
            "The council's consent is needed before any change to the accreditation rules.",
            "Closing admissions hurts districts that already lack midwives.",
        ],
    ),
    (
        "Annual report card",
        "An HRH report card is published every June and reviewed by the forum.",
        ["June clashes with the budget session; September would get more attention."],
    ),
]

# Choices whose voters give a reason: reservations, objections, blocks and vetoes.
DISSENT = {
    "gradients": {"3 Support with reservations", "7 Serious disagreement", "8 Veto"},
    "fist": {"0 Block", "1 Serious concerns", "2 Concerns"},
    "consensus": {"Disagree", "Block"},
    "consent": {"Reasoned objection"},
}


def _person(rng: random.Random) -> str:
    honorific = rng.choice(HONORIFICS)
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    return f"{honorific} {name}".strip()


def _tally(method: str, voters: int, rng: random.Random) -> list[dict[str, Any]]:
    labels = {
        "gradients": [
            "1 Whole-hearted endorsement",
            "2 Agree with a minor point",
            "3 Support with reservations",
            "4 Abstain",
            "5 More discussion needed",
            "6 Don't like it but will support it",
            "7 Serious disagreement",
            "8 Veto",
        ],
        "fist": [
            "0 Block",
            "1 Serious concerns",
            "2 Concerns",
            "3 Can live with it",
            "4 Support",
            "5 Will champion it",
        ],
        "consensus": ["Agree", "Abstain", "Disagree", "Block"],
        "consent": ["Consent", "Reasoned objection"],
    }[method]
    # Most of the room leans towards agreement.
    weights = [max(1, len(labels) - i) ** 3 for i in range(len(labels))]
    weights[-1] = 0 if rng.random() < 0.7 else 1  # a veto or block is rare
    if method == "fist":
        weights = list(reversed(weights))
    counts = [0] * len(labels)
    for _ in range(voters):
        counts[rng.choices(range(len(labels)), weights)[0]] += 1
    return [{"label": label, "count": n} for label, n in zip(labels, counts, strict=True)]


def _outcome(method: str, rows: list[dict[str, Any]], turnout: int) -> tuple[bool | None, str]:
    c = [r["count"] for r in rows]
    if not turnout:
        return None, "No ballots."
    if method == "gradients":
        if c[7]:
            return False, f"{c[7]} veto."
        support = sum(c[:3])
        share = support / turnout
        if share >= 0.5:
            return True, f"{support} of {turnout} at 1–3 ({share:.0%}, needed 50%), no veto."
        return False, f"Only {support} of {turnout} at 1–3 ({share:.0%}, needed 50%)."
    if method == "fist":
        below = sum(c[:3])
        if below:
            return False, f"{below} of {turnout} below 3 fingers."
        return True, "Everyone at 3 fingers or more."
    if method == "consensus":
        if c[3]:
            return False, f"{c[3]} block."
        voting = c[0] + c[2]
        if not voting:
            return None, "Everyone abstained."
        share = c[0] / voting
        verdict = share >= 0.5
        text = f"{c[0]} of {voting} agree ({share:.0%}, needed 50%)"
        return verdict, text + (", no block." if verdict else ".")
    if c[1]:
        return False, f"{c[1]} reasoned objection."
    return True, "No objection."


def _decisions(count: int, people: list[str], present: int, rng: random.Random) -> list[dict]:
    decisions = []
    for index in range(count):
        method, label, rule_text, anonymous = METHODS[index % len(METHODS)]
        title, proposal, topic_reasons = DECISION_TOPICS[index % len(DECISION_TOPICS)]
        round_no = index // len(DECISION_TOPICS) + 1
        turnout = present - rng.randint(0, 3)
        if index == count - 1 and count > 2:
            turnout = 0  # a round closed with no ballots: no decision
        rows = _tally(method, turnout, rng)
        decided, explanation = _outcome(method, rows, turnout)
        reasons = []
        for row in rows:
            dissent = row["label"] in DISSENT[method]
            for _ in range(min(row["count"], 2) if dissent else 0):
                reason: dict[str, Any] = {
                    "choice": row["label"],
                    "reason": topic_reasons[len(reasons) % len(topic_reasons)],
                }
                if not anonymous:
                    reason["name"] = rng.choice(people)
                reasons.append(reason)
        hour = 10 + index // 4
        decisions.append(
            {
                "title": title if round_no == 1 else f"{title} (round {round_no})",
                "proposal": proposal,
                "round": round_no,
                "method": method,
                "method_label": label,
                "rule": {"text": rule_text},
                "rule_text": rule_text,
                "anonymous": anonymous,
                "decided": decided,
                "explanation": explanation,
                "tally_rows": rows,
                "turnout": turnout,
                "present": present,
                "reasons": reasons,
                "closed_at": f"2026-11-22T{hour:02d}:{(index * 13) % 60:02d}:00Z",
            }
        )
    return decisions


def _stakeholders(count: int, scale_max: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for index in range(count):
        name, category, sector, level = STAKEHOLDER_BASES[index % len(STAKEHOLDER_BASES)]
        if index >= len(STAKEHOLDER_BASES):
            place = PLACES[(index // len(STAKEHOLDER_BASES)) % len(PLACES)]
            name = f"{name}, {place}" if level != "Federal" else f"{name} ({place} office)"
        power = round(rng.uniform(0.5, scale_max - 0.5) * 2) / 2
        interest = round(rng.uniform(0.5, scale_max - 0.5) * 2) / 2
        mid = scale_max / 2
        if power >= mid:
            quadrant = "manage_closely" if interest >= mid else "keep_satisfied"
        else:
            quadrant = "keep_informed" if interest >= mid else "monitor"
        out.append(
            {
                "name": name,
                "category": category,
                "sector": sector,
                "level": level,
                "power": power,
                "interest": interest,
                "quadrant": quadrant,
                "salience": rng.choice(SALIENCE),
                "notes": rng.choice(
                    [
                        "",
                        "Position may shift after the budget.",
                        "Ally on retention; opposes bonding.",
                    ]
                ),
            }
        )
    return out


def _actions(count: int, leads: list[str], rng: random.Random) -> list[dict[str, Any]]:
    fields = [f["id"] for f in ACTION_FIELDS]
    sector_of = dict(ORGANISATIONS)
    drafts = []
    for index in range(count):
        objective = index % len(OBJECTIVES)
        field = fields[(index * 7 + objective) % len(fields)]
        variants = ACTIVITIES[field]
        activity, output, indicator, baseline, target, verification = variants[
            (index // len(fields)) % len(variants)
        ]
        if index >= len(fields) * len(variants):
            activity = (
                f"{activity} (phase {index // (len(fields) * len(variants)) + 1}, "
                f"{PLACES[index % len(PLACES)]} division)"
            )
        lead = rng.choice(leads)
        partners = rng.sample([o for o, _ in ORGANISATIONS if o != lead], rng.randint(1, 3))
        if index % 7 == 3:
            partners.append(rng.choice(ABSENT_PARTNERS))
        start = date(2027, 1, 1) + timedelta(days=30 * rng.randint(0, 9))
        due = start + timedelta(days=30 * rng.randint(3, 15))
        review = start + timedelta(days=90)
        amount = rng.choice([15_000, 40_000, 85_000, 120_000, 250_000, 600_000, 1_200_000])
        action: dict[str, Any] = {
            "objective": OBJECTIVES[objective],
            "activity": activity,
            "action_field": field,
            "cycle_phase": rng.choice(CYCLE_PHASES)["id"],
            "sector": sector_of[lead],
            "lead": lead,
            "partners": partners,
            "level": rng.choice(LEVELS[1:]),
            "geography": rng.choice(
                [
                    "Province-wide",
                    "All 36 districts",
                    "South Punjab districts",
                    PLACES[index % len(PLACES)],
                ]
            ),
            "start": start.isoformat(),
            "due": due.isoformat(),
            "budget": {
                "amount": str(amount),
                "currency": rng.choice(["PKR", "USD", "USD"]) if amount < 1_000_000 else "USD",
                "source": rng.choice(
                    [
                        "Provincial ADP",
                        "World Bank loan",
                        "UNICEF",
                        "Recurrent budget",
                        "To be mobilised",
                    ]
                ),
            },
            "indicator": indicator,
            "baseline": baseline,
            "target": target,
            "verification": verification,
            "risks": rng.choice(RISKS),
            "review_date": review.isoformat(),
            "status": rng.choice(STATUSES),
            "custom": {"output": output},
        }
        # Gaps the accountability section must show.
        if index % 9 == 4:
            action["lead"] = ""
            action["sector"] = ""
        if index % 11 == 6:
            action["indicator"] = action["baseline"] = action["target"] = ""
        if index % 13 == 8:
            action["due"] = ""
        if index == 10:
            action["budget"] = {"amount": "", "currency": "", "source": ""}
        drafts.append((objective, fields.index(field), index, action))
    drafts.sort(key=lambda d: d[:3])
    actions = []
    for number, (*_, action) in enumerate(drafts, start=1):
        actions.append({"ref": f"A{number}", **action})
    return actions


def sample_plan(
    actions: int = 20, stakeholders: int = 60, decisions: int = 10, *, seed: int = 1
) -> dict[str, Any]:
    """A canonical plan with the given numbers of actions, stakeholders and decisions."""
    rng = random.Random(seed)
    organisations = []
    people = []
    for name, sector in ORGANISATIONS:
        participants = [{"name": _person(rng)} for _ in range(rng.randint(1, 3))]
        people.extend(p["name"] for p in participants)
        organisations.append({"name": name, "sector": sector, "participants": participants})
    leads = [o for o, sector in ORGANISATIONS if o != NEVER_LEADS and sector != "Local government"]
    plan_actions = _actions(actions, leads, rng)
    plan: dict[str, Any] = {
        "format": "facilitator.plan/2",
        "version": 2,
        "frozen_at": "2026-11-22T14:03:00Z",
        "override": None,
        "workshop": {
            "id": 7,
            "title": "Punjab HRH Action Plan 2027–2029: multi-stakeholder planning workshop",
            "kit": "hrh-action-framework",
            "kit_title": "HRH Action Framework planning workshop",
            "date": "2026-11-22",
            "place": "Lahore",
        },
        "sectors": list(SECTORS),
        "action_fields": [dict(f) for f in ACTION_FIELDS],
        "cycle_phases": [dict(p) for p in CYCLE_PHASES],
        "columns": [
            {"id": "ref", "label": "Ref"},
            {"id": "objective", "label": "Objective"},
            {"id": "action_field", "label": "Action field"},
            {"id": "activity", "label": "Activity"},
            {"id": "output", "label": "Expected output"},
            {"id": "lead", "label": "Lead (accountable)"},
            {"id": "partners", "label": "Partners"},
            {"id": "sector", "label": "Sector"},
            {"id": "geography", "label": "Geography"},
            {"id": "start", "label": "Start"},
            {"id": "due", "label": "Due"},
            {"id": "budget", "label": "Budget"},
            {"id": "indicator", "label": "Indicator"},
            {"id": "target", "label": "Target"},
            {"id": "status", "label": "Status"},
        ],
        "organisations": organisations,
        "stakeholder_map": {
            "scale_max": 10,
            "quadrants": {
                "manage_closely": "Key players: manage closely",
                "keep_satisfied": "Keep satisfied",
                "keep_informed": "Keep informed",
                "monitor": "Monitor",
            },
            "stakeholders": _stakeholders(stakeholders, 10, rng),
        },
        "agenda": [
            {"title": title, "dots": dots, "minutes": minutes}
            for title, dots, minutes in [
                ("Rural retention: allowances, housing and career paths", 23, 30),
                ("One HR information system for all partners", 17, 25),
                ("Midwifery education and accreditation", 12, 20),
                ("Staffing norms and the recruitment ban", 9, 20),
                ("Private sector role in clinical training", 6, 15),
                ("Coordination forum and annual review", 4, 10),
            ]
        ],
        "decisions": _decisions(decisions, people, len(people), rng),
        "actions": plan_actions,
    }
    missing = [f"{a['ref']}: no lead organisation" for a in plan_actions if not a["lead"]]
    missing += [f"{a['ref']}: no indicator" for a in plan_actions if not a["indicator"]]
    missing += [f"{a['ref']}: no due date" for a in plan_actions if not a["due"]]
    if missing:
        plan["override"] = {
            "reason": "The room agreed to freeze the plan today so that the Secretary can "
            "table it; the coordination forum completes the missing leads, indicators and "
            "dates at its first meeting in January.",
            "missing": missing,
        }
    return plan


def sample_signatures(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Signatures on the plan: most endorse, one with reservations, one declines, one
    organisation leaves unsigned, and one organisation signs that was not listed."""
    signatures = []
    organisations = plan["organisations"]
    for index, organisation in enumerate(organisations):
        if index == len(organisations) - 2:
            continue  # took part, did not sign
        decision, text = "endorse", ""
        if index == 2:
            decision = "endorse_with_reservations"
            text = (
                "We endorse the plan on the understanding that LHW stipends are revised "
                "before the retention actions start."
            )
        elif index == 10:
            decision = "decline"
            text = (
                "The bonding policy (A4) was not discussed with our members; we cannot "
                "commit to it as written."
            )
        signatures.append(
            {
                "organisation": organisation["name"],
                "representative": organisation["participants"][0]["name"],
                "title": TITLES[index % len(TITLES)],
                "decision": decision,
                "text": text,
                "signed_at": f"2026-11-22T15:{10 + index:02d}:00Z",
            }
        )
    signatures.append(
        {
            "organisation": "Provincial Assembly Health Committee",
            "representative": "Ms Rukhsana Bano",
            "title": "Member, Standing Committee on Health",
            "decision": "endorse",
            "text": "",
            "signed_at": "2026-11-22T16:02:00Z",
        }
    )
    return signatures
