"""jstmine: Japanese science-policy reports (PDF) → evidence-backed tables.

One module per stage, each a set of pure functions with its input and output types at the top:
acquire → extract → segment (normalize) → tokenize → tag → attribute → facts, relations,
policies, key terms → claims → tables → findings check → publish.
"""

__version__ = "0.1.0"

# Bump a stage's version when its output changes for the same input: the Prefect cache keys
# include it, so a new version re-runs that stage and everything after it.
STAGE_VERSIONS = {
    "extract": "4",  # 4: OCR keeps every word of a confident line
    "segment": "3",
    "tokenize": "1",
    "tag": "3",  # 3: approximate matches on OCR pages (mentions.approximate)
    "attribute": "3",
    "facts": "2",
    "relations": "2",
    "policies": "1",
    "keyterms": "2",
    "claims": "1",
    "analyses": "1",  # KH Coder's analyses (pipeline/analyses.py), in the build-tables step
}
