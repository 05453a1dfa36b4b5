"""jstmine: Japanese science-policy reports (PDF) → evidence-backed tables.

One module per stage, each a set of pure functions with its input and output types at the top:
acquire → extract → segment (normalize) → tokenize → tag → attribute → facts, relations,
policies, key terms → claims → tables → findings check → publish.
"""

__version__ = "0.1.0"

# Bump a stage's version when its output changes for the same input: the Prefect cache keys
# include it, so a new version re-runs that stage and everything after it. Bump it too when the
# class of its output changes shape (e.g. gains __slots__): a result cached by the old class
# cannot be loaded into the new one.
STAGE_VERSIONS = {
    "extract": "7",  # 4: OCR keeps every word of a confident line; 5: Block has __slots__; 6: run-in titles end their block, a paragraph across the columns keeps its last line; 7: a URL cut by the wrap goes on, joined without a space
    "segment": "5",  # 4: Paragraph, Sentence have __slots__; 5: a ? or ! inside a URL ends no sentence
    "tokenize": "1",
    "tag": "5",  # 3: approximate matches on OCR pages (mentions.approximate); 4: Mention has __slots__; 5: no mention inside a URL, agencies' names (NICT, NEDO, NISC) no technology
    "attribute": "5",  # 4: AttributedMention, SentenceSubject have __slots__; 5: a sentence's own topic (また、米国や欧州も、…)
    "facts": "3",  # 3: a fact's policy is never a method (学習法), as policies
    "relations": "2",
    "policies": "2",  # 2: a name ending in a method noun (学習法, 手法) is no strategy
    "keyterms": "2",
    "claims": "1",
    "analyses": "1",  # KH Coder's analyses (pipeline/analyses.py), in the build-tables step
}
