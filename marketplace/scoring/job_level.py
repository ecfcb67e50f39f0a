"""A person's job level, read from the job title they typed (English or French).

Four levels, from the least to the most senior: other, manager, director, executive.
The title is compared without case, accents or punctuation, word by word, against the
lists below, the most senior first ("directeur général" is an executive before it is a
director). A title naming an assistant or an intern is "other" whatever else it says:
the CEO's assistant does not sign the order. The lists are documented in
docs/scoring.md ("Job level"); a title that matches none is "other".
"""

from __future__ import annotations

import re
import unicodedata

OTHER, MANAGER, DIRECTOR, EXECUTIVE = "other", "manager", "director", "executive"
# From the least to the most senior: a more senior level never scores fewer points.
LEVELS = (OTHER, MANAGER, DIRECTOR, EXECUTIVE)

NOT_A_LEVEL = ("assistant", "assistante", "intern", "stagiaire", "alternant", "alternante")

# Each phrase as it reads once lowercased, without accents, its punctuation made spaces.
WORDS = {
    EXECUTIVE: (
        # English
        "ceo",
        "cfo",
        "coo",
        "cto",
        "cio",
        "cmo",
        "cso",
        "cpo",
        "ciso",
        "chief",
        "c level",
        "president",
        "vice president",
        "vp",
        "founder",
        "co founder",
        "cofounder",
        "managing director",
        "general manager",
        "business owner",
        # French
        "pdg",
        "dg",
        "dga",
        "daf",
        "dsi",
        "presidente",
        "fondateur",
        "fondatrice",
        "cofondateur",
        "cofondatrice",
        "co fondateur",
        "co fondatrice",
        "directeur general",
        "directrice generale",
        "directeur generale",
        "gerant",
        "gerante",
        "dirigeant",
        "dirigeante",
        "chef d entreprise",
    ),
    DIRECTOR: (
        "director",
        "head of",
        "directeur",
        "directrice",
        "chef de service",
        "chef de departement",
    ),
    MANAGER: (
        "manager",
        "team lead",
        "team leader",
        "tech lead",
        "supervisor",
        "responsable",
        "chef de projet",
        "chef d equipe",
        "chef de produit",
        "chef de rayon",
        "superviseur",
        "superviseuse",
        "encadrant",
        "encadrante",
        "cadre",
    ),
}


def _words(text: str) -> str:
    """Lowercase words without accents, separated by single spaces and framed by them."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " " + " ".join(re.split(r"[^a-z0-9]+", plain)).strip() + " "


def job_level(job_title: str | None) -> str | None:
    """The level a job title names, or None when no title was given."""
    if not job_title or not job_title.strip():
        return None
    words = _words(job_title)
    if any(f" {word} " in words for word in NOT_A_LEVEL):
        return OTHER
    for level in (EXECUTIVE, DIRECTOR, MANAGER):
        if any(f" {phrase} " in words for phrase in WORDS[level]):
            return level
    return OTHER
