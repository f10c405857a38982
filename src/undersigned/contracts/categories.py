"""Categories of awards, from the rules in ``data/categories.toml``; every tag carries its explanation."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from django.db import connection
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from undersigned.contracts.models import Award, AwardCategory

RULES_FILE = Path(__file__).resolve().parent / "data" / "categories.toml"


@dataclass(frozen=True)
class Rule:
    id: str
    psc: tuple[str, ...] = ()
    naics: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    @property
    def pattern(self) -> re.Pattern | None:
        if not self.keywords:
            return None
        words = "|".join(re.escape(word.upper()) for word in sorted(self.keywords, key=len, reverse=True))
        return re.compile(rf"(?<![A-Z0-9])({words})(?![A-Z0-9])")

    def explain(self, description: str, psc: str, naics: str) -> str | None:
        """Why this rule matches an award (``matched PSC 7A20 and the word 'facial'``), or None."""
        reasons = []
        psc, naics = (psc or "").upper(), naics or ""
        if self.psc:
            if not any(psc.startswith(prefix.upper()) for prefix in self.psc):
                return None
            reasons.append(f"PSC {psc}")
        if self.naics:
            if not any(naics.startswith(prefix) for prefix in self.naics):
                return None
            reasons.append(f"NAICS {naics}")
        if self.keywords:
            match = _compiled(self).search(" ".join((description or "").upper().split()))
            if not match:
                return None
            word = match.group(1).lower()
            reasons.append(f"the {'words' if ' ' in word else 'word'} '{word}'")
        return "matched " + " and ".join(reasons) if reasons else None


# What Rule.explain writes (the stored text, kept in English for the CSV and the API): its reasons in
# order, PSC, NAICS, then the keyword, joined by " and ". The keyword is last and may hold any character.
_EXPLANATION = re.compile(r"matched (?:PSC (?P<psc>\S+)(?: and |$))?(?:NAICS (?P<naics>\S+)(?: and |$))?"
                          r"(?:the words? '(?P<word>.*)')?", re.S)


@lru_cache(maxsize=4096)
def _explanation_in(language: str, text: str) -> str:
    found = _EXPLANATION.fullmatch(text)
    if not found or not any(found.groups()):
        return text  # not written by Rule.explain: shown as stored
    reasons = []
    if found["psc"]:
        reasons.append(_("PSC %(code)s") % {"code": found["psc"]})
    if found["naics"]:
        reasons.append(_("NAICS %(code)s") % {"code": found["naics"]})
    if found["word"] is not None:
        word = found["word"]
        reasons.append(_("the words “%(words)s”") % {"words": word} if " " in word else _("the word “%(word)s”") % {"word": word})
    return _("matched %(reasons)s") % {"reasons": _(" and ").join(reasons)}


def explanation_in_language(text: str) -> str:
    """A stored explanation (``matched PSC 7A20 and the word 'facial'``) in the active language, for pages."""
    return _explanation_in(get_language() or "en", text or "")


@cache
def _compiled(rule: Rule) -> re.Pattern:
    return rule.pattern


@dataclass(frozen=True)
class Category:
    slug: str
    names: tuple[tuple[str, str], ...]  # (language code, name), English first
    descriptions: tuple[tuple[str, str], ...]  # (language code, description), English first
    rules: tuple[Rule, ...]

    @property
    def name(self) -> str:
        """The name in the active language (pages are translated; English where a translation is missing)."""
        return _in_active_language(self.names)

    @property
    def description(self) -> str:
        return _in_active_language(self.descriptions)


    def match(self, description: str, psc: str, naics: str) -> tuple[Rule, str] | None:
        for rule in self.rules:
            explanation = rule.explain(description, psc, naics)
            if explanation:
                return rule, explanation
        return None


def _in_active_language(texts: tuple[tuple[str, str], ...]) -> str:
    language = (get_language() or "en")[:2]
    return next((text for code, text in texts if code == language), texts[0][1])


def parse_rules(text: str) -> dict[str, Category]:
    data = tomllib.loads(text)
    categories = {}
    for entry in data.get("category", []):
        rules = tuple(
            Rule(id=rule["id"], psc=tuple(rule.get("psc", ())), naics=tuple(rule.get("naics", ())),
                 keywords=tuple(rule.get("keywords", ())))
            for rule in entry.get("rules", [])
        )
        if any(not (rule.psc or rule.naics or rule.keywords) for rule in rules):
            raise ValueError(f"category {entry['slug']}: a rule without any condition would match everything")
        names = (("en", entry["name"]), *((key[5:], value) for key, value in entry.items() if key.startswith("name_")))
        descriptions = (("en", entry.get("description", "")),
                        *((key[12:], value) for key, value in entry.items() if key.startswith("description_")))
        categories[entry["slug"]] = Category(entry["slug"], names, descriptions, rules)
    return categories


@cache
def all_categories() -> dict[str, Category]:
    return parse_rules(RULES_FILE.read_text())


@cache
def _any_keyword() -> re.Pattern:
    words = {word.upper() for category in all_categories().values() for rule in category.rules for word in rule.keywords}
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![A-Z0-9])({alternatives})(?![A-Z0-9])")


@cache
def _code_rules() -> bool:
    return any(rule.psc or rule.naics for category in all_categories().values() for rule in category.rules)


@lru_cache(maxsize=65536)
def categorise(description: str, psc: str, naics: str) -> tuple[tuple[Category, Rule, str], ...]:
    """The categories of an award with the rule that matched each, explained (many awards share a
    description, "IGF::OT::IGF COMPUTERS", hence the cache)."""
    text = " ".join((description or "").upper().split())
    if not _any_keyword().search(text) and not any(
        not rule.keywords and rule.explain(text, psc, naics)
        for category in all_categories().values() for rule in category.rules
    ):
        return ()  # most awards: one scan of the description decides
    found = []
    for category in all_categories().values():
        if hit := category.match(text, psc, naics):
            found.append((category, *hit))
    return tuple(found)


def assign(award_keys: set[str] | None) -> int:
    """Re-tag awards (those in the ``touched_award`` temp table, or all when None)."""
    from undersigned.contracts import db

    table, tags = Award._meta.db_table, AwardCategory._meta.db_table
    if award_keys is not None:
        if not award_keys:
            return 0
        db.execute(f"DELETE FROM {tags} WHERE award_id IN (SELECT key FROM touched_award)")
        where = "WHERE award_key IN (SELECT key FROM touched_award)"
    else:
        db.execute(f"DELETE FROM {tags}")
        where = ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT award_key, description, psc, naics FROM {table} {where}")
        rows = cursor.fetchall()
    found = [(key, category.slug, rule.id[:80], explanation[:300])
             for key, description, psc, naics in rows
             for category, rule, explanation in categorise(description or "", psc or "", naics or "")]
    db.insert(tags, ["award_id", "category", "rule", "explanation"], found)  # the awards' tags were deleted above
    return len(found)
