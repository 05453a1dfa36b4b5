"""What the report's executive summary (../shared/reference/fy2024-rr02-executive-summary.txt)
states, as the pipeline's claims: its facts and figures, written once for the tests that check
them (tests/test_claims.py, tests/test_acceptance.py)."""
from __future__ import annotations

# Subject → the broad technologies its paragraph names.
TECHNOLOGIES = {
    "IN": {"ai", "quantum", "semiconductors", "ict", "biotechnology"},
    "AU": {"ai", "quantum", "biotechnology", "clean_energy"},
    "ASEAN": {"ai", "digital", "green", "biotechnology"},
    "US": {"ai", "quantum", "biotechnology"},
    "DE": {"semiconductors", "ai", "green", "biotechnology", "nanotechnology", "defense"},
    "FR": {"quantum", "ai"},
}
COUNTS_ONLY = {"CN", "KR", "GB", "EU"}  # their paragraphs give counts but name no specific technology

# (country, count, part_of, item, year, year qualifier, update interval)
FACTS = {
    ("CN", 8, None, "新興技術産業", None, None, None), ("CN", 9, None, "未来産業", None, None, None),
    ("IN", None, None, "国家戦略文書", 2021, "since", None), ("KR", 12, None, "国家戦略技術", 2022, "in", None),
    ("US", 20, None, "優先技術分野", 2020, "in", 2), ("GB", 5, None, "重要技術", 2023, "in", None),
    ("EU", 10, None, "技術", 2023, "in", None), ("EU", 4, 10, "技術分野", 2023, "in", None),
}

# (subject, relation, other)
RELATIONS = {
    ("US", "competitor", "CN"), ("US", "competitor", "RU"), ("US", "partner", "G7"), ("US", "partner", "EU"),
    ("US", "partner", "AU"), ("US", "partner", "KR"), ("US", "partner", "IN"), ("US", "partner", "VN"),
    ("US", "partner", "SG"), ("US", "framework", "QUAD"), ("US", "framework", "AUKUS"),
    ("US", "framework", "US_JP_KR_ESD"), ("US", "framework", "JP"), ("US", "framework", "KR"),
    ("AU", "framework", "AUKUS"), ("DE", "other", "CN"), ("ASEAN", "partner", "EU"), ("ASEAN", "other", "CN"),
    ("IN", "partner", "WEST"), ("ASEAN", "partner", "WEST"),  # 西側諸国
}


def by_kind(claims) -> tuple[dict[str, set[str]], set[tuple], set[tuple]]:
    """Claims (``Claim`` values or summary_claims rows) as (technologies, facts, relations) in
    the shapes above."""
    def get(c, name):
        return c[{"count": "item_count"}.get(name, name)] if isinstance(c, dict) else getattr(c, name)

    tech: dict[str, set[str]] = {}
    for c in claims:
        if get(c, "kind") == "technology":
            tech.setdefault(get(c, "country"), set()).add(get(c, "technology"))
    facts = {tuple(get(c, f) for f in ("country", "count", "part_of", "item", "year", "year_qualifier",
                                         "update_every_years")) for c in claims if get(c, "kind") == "fact"}
    relations = {(get(c, "country"), get(c, "relation"), get(c, "other")) for c in claims if get(c, "kind") == "relation"}
    return tech, facts, relations
