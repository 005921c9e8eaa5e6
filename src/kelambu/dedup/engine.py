"""Probabilistic record linkage of people with Splink (no Django import).

    people = pl.DataFrame({"id": ..., "nik": ..., "kk": ..., "name_norm": ..., "sex": ...,
                           "birth_date": ..., "village": ..., "phone": ...})
    result = score(people, MatchSettings())
    result.pairs    # id_l < id_r, match_probability, match_weight, gamma_* and mw_* per comparison

How the model is built (docs/guide/dedup.md explains it to users):

- Splink's Fellegi-Sunter model over seven comparisons: NIK, name (on the matching key of
  lib/matchnames.py), birth date, sex, household (KK, village, district, regency), phone.
- The m probabilities (how often a true duplicate shows each level) are set from what lists
  do to a person's record, and kept in `M_PROBABILITIES`: unsupervised EM learns
  "same household" instead of "same person" here, because family members share KK,
  address, village and phone. The u probabilities (how often two different people agree
  by chance) are measured on each run from random pairs of the data itself, and exact name
  agreement is adjusted by the frequency of the name (term frequency), so two "Siti Aminah"
  in one district are not taken for one person.
- Comparisons overlap where the data does: a NIK carries the birth date and the district of
  issue, so a NIK one digit away from another is weak evidence on its own (people born the
  same day in one district have NIKs that differ only in the serial); its u is fixed, not
  sampled. A shared phone inside one KK is the family's phone and counts for nothing.
- Blocking rules decide which pairs are scored at all; each is an equality join, so the
  same settings run on Splink's Spark backend (`splink_settings("spark")`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from kelambu.lib.matchnames import load_variants, match_name_expr

# The columns `score` needs, one row per person.
INPUT_SCHEMA = {
    "id": pl.Int64, "nik": pl.Utf8, "kk": pl.Utf8, "name_norm": pl.Utf8, "sex": pl.Utf8,
    "birth_date": pl.Date, "village": pl.Utf8, "phone": pl.Utf8,
}
COMPARISONS = ("nik", "name", "birth_date", "sex", "household", "phone")

# P(level | same person), per comparison, in level order (null level excluded). What lists
# do to one person's record: see the module docstring and docs/guide/dedup.md.
M_PROBABILITIES: dict[str, tuple[float, ...]] = {
    # one digit or a swap apart; different (a wrong NIK is common in lists)
    # one digit or a swap apart; issued in the same district while living in different
    # districts (a NIK never changes when its holder moves); different (a wrong NIK is
    # common in lists)
    "nik": (0.30, 0.10, 0.60),
    # same key; same words in another order; core similar >= 0.92; one name's words all in
    # the other's ("Yudi" / "Yudi Adi"); same initials and first word ("Sity H." / "Sity
    # Hamidah"); an uncommon word in common; core similar >= 0.80; different (nicknames)
    "name": (0.50, 0.02, 0.17, 0.10, 0.06, 0.07, 0.06, 0.02),
    # same; day and month swapped; same month and year or same day and month; different
    "birth_date": (0.92, 0.04, 0.02, 0.02),
    "sex": (0.99, 0.01),
    # same KK; same village; same district; same regency; elsewhere
    "household": (0.80, 0.08, 0.04, 0.06, 0.02),
    # the family's phone (fixed, no weight); same; different
    "phone": (0.50, 0.70, 0.30),
}
# Fixed u probabilities for levels whose chance agreement random pairs misjudge.
FIXED_U: dict[tuple[str, int], float] = {
    ("nik", 0): 0.10,
    ("nik", 2): 0.90,
    ("phone", 0): 0.50,
}
# u for levels so rare among different people that the random sample may hold none of them
# (then Splink would fall back to a generic default, e.g. 7.8 bits for a shared phone at one
# million records and 19 bits at 100,000, where one pair happened to be sampled). Used only
# when the sample sees no such pair; a level that is seen is measured as usual.
UNSEEN_U: dict[tuple[str, int], float] = {
    # "Ahmad Yani" / "Yani Ahmad": two given names, written in either order; for different
    # people rarer than the same name (u about 3e-4)
    ("name", 1): 1e-5,
    # one phone outside one KK: relatives in other households, or the operator's phone
    # written for people who have none; 1e-5 is ten times what an unseen level in two
    # million sampled pairs suggests
    ("phone", 1): 1e-5,
    # one KK: different people share it only within a family, about 2 / (records) of all
    # pairs, so a sample of a million pairs from a large list may hold none
    ("household", 0): 1e-5,
}


@dataclass(frozen=True)
class MatchSettings:
    """What a run may change without touching code (all have defaults)."""

    review_threshold: float = 0.5  # pairs at or above are kept and reviewed
    match_threshold: float = 0.9  # "probably the same person": clusters and evaluation
    auto_threshold: float = 0.999  # automatic merge, when auto_merge allows it
    auto_merge: bool = True
    # An automatic merge needs one of these exact identifiers besides the probability.
    auto_merge_requires: tuple[str, ...] = ("kk", "nik_typo")
    common_token_share: float = 0.005  # a name word this frequent is "common"
    # Random pairs sampled to estimate u. 1.2e6 and 2e6 gave the same F1 (within 0.001) at
    # 110,000 records (two seeds) and 1,100,000, and 1.2e6 trains 40% faster; 1e6 exactly
    # would make Splink warn that it is its default.
    u_max_pairs: float = 1.2e6
    seed: int = 42
    variants_file: str | None = None
    m_probabilities: dict[str, tuple[float, ...]] = field(default_factory=lambda: dict(M_PROBABILITIES))

    def as_dict(self) -> dict:
        return {
            "review_threshold": self.review_threshold, "match_threshold": self.match_threshold,
            "auto_threshold": self.auto_threshold, "auto_merge": self.auto_merge,
            "auto_merge_requires": list(self.auto_merge_requires),
            "common_token_share": self.common_token_share, "u_max_pairs": self.u_max_pairs,
            "seed": self.seed, "variants_file": self.variants_file,
            "m_probabilities": {k: list(v) for k, v in self.m_probabilities.items()},
        }


@dataclass
class Scored:
    pairs: pl.DataFrame  # id_l, id_r, match_probability, match_weight, gamma_*, mw_*
    model: dict  # the Splink model used (settings with m, u and the prior)
    people: int
    timings: dict[str, float]
    levels: dict[str, list[str]]  # comparison -> level labels, in gamma order (index = gamma)
    candidates: int = 0  # pairs the blocking rules produced (all scored)
    candidate_pairs: pl.DataFrame | None = None  # id_l, id_r of those, when asked for


def _check_input(people: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in INPUT_SCHEMA if c not in people.columns]
    if missing:
        raise ValueError(f"people frame lacks column(s): {', '.join(missing)}")
    people = people.select([pl.col(c).cast(t) for c, t in INPUT_SCHEMA.items()])
    if people["id"].is_duplicated().any():
        raise ValueError("people frame has duplicate ids")
    return people


def prepare(people: pl.DataFrame, settings: MatchSettings | None = None) -> pl.DataFrame:
    """The columns the model compares, derived from the input frame."""
    settings = settings or MatchSettings()
    people = _check_input(people)
    variants = load_variants(settings.variants_file) if settings.variants_file else None
    dob = pl.col("birth_date")
    frame = people.with_columns(
        match_name_expr(pl.col("name_norm"), variants).alias("name_key"),
        pl.col("village").str.slice(0, 8).alias("district"),
        pl.col("village").str.slice(0, 5).alias("regency"),
        dob.cast(pl.Utf8).alias("dob"),
        # The date as it reads with day and month swapped (only where that is a date).
        pl.when(dob.dt.day() <= 12).then(pl.date(dob.dt.year(), dob.dt.day(), dob.dt.month()))
        .cast(pl.Utf8).alias("dob_swap"),
        dob.dt.year().alias("birth_year"),
        pl.col("nik").str.slice(6, 10).alias("nik_tail"),
    ).with_columns(pl.col("name_key").str.split(" ").alias("name_tokens"))
    # Words frequent in this data ("siti", "nur", "muhammad") say little about identity.
    counts = frame.select(pl.col("name_tokens").explode().alias("t")).drop_nulls().group_by("t").len()
    common = counts.filter(pl.col("len") > max(frame.height * settings.common_token_share, 2))["t"].implode()
    frame = frame.with_columns(
        pl.col("name_tokens").list.eval(pl.element().filter(~pl.element().is_in(common.first()))).alias("name_rare"),
        pl.col("name_tokens").list.sort().list.join(" ").alias("name_sorted"),
        pl.col("name_tokens").list.eval(pl.element().str.slice(0, 1)).list.join("").alias("name_initials"),
        pl.col("name_tokens").list.first().alias("name_first"),
        pl.col("name_tokens").list.last().str.slice(0, 1).alias("init_last"),
        pl.col("name_key").str.slice(0, 1).alias("init_first"),
    ).with_columns(
        # The distinctive part of a name: without its common words (all of it if all are).
        pl.when(pl.col("name_rare").list.len() > 0).then(pl.col("name_rare").list.join(" "))
        .otherwise(pl.col("name_key")).alias("name_core"),
    )
    return frame.rename({"id": "unique_id"})


def _levels(settings: MatchSettings):
    """The comparisons as Splink creators (dialect-independent)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    m = settings.m_probabilities

    def comparison(name: str, null_col: str, levels: list):
        configured = []
        for i, level in enumerate(levels):
            kw = {"m_probability": m[name][i]}
            if (name, i) in FIXED_U:
                kw.update(u_probability=FIXED_U[(name, i)], fix_u_probability=True)
                if name == "phone" and i == 0:
                    kw.update(fix_m_probability=True)
            elif (name, i) in UNSEEN_U:
                kw.update(u_probability=UNSEEN_U[(name, i)])  # replaced when sampled
            configured.append(level.configure(**kw))
        return cl.CustomComparison(
            comparison_levels=[cll.NullLevel(null_col), *configured], output_column_name=name,
        )

    custom = cll.CustomLevel
    return [
        comparison("nik", "nik", [
            cll.DamerauLevenshteinLevel("nik", 1).configure(label_for_charts="one digit or a swap apart"),
            # Only for people living in different districts: for neighbours the district of
            # issue mostly repeats where they live, which the household comparison counts.
            custom('substr("nik_l", 1, 6) = substr("nik_r", 1, 6) AND "district_l" <> "district_r"',
                   "issued in the same district, living elsewhere"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ]),
        comparison("name", "name_key", [
            cll.ExactMatchLevel("name_key", term_frequency_adjustments=True).configure(label_for_charts="same"),
            cll.ExactMatchLevel("name_sorted").configure(label_for_charts="same words, other order"),
            cll.JaroWinklerLevel("name_core", 0.92).configure(label_for_charts="very similar"),
            cll.ArraySubsetLevel("name_tokens").configure(label_for_charts="one name inside the other"),
            custom('"name_initials_l" = "name_initials_r" AND "name_first_l" = "name_first_r"',
                   "same initials and first word"),
            cll.ArrayIntersectLevel("name_rare", 1).configure(label_for_charts="an uncommon word in common"),
            cll.JaroWinklerLevel("name_core", 0.80).configure(label_for_charts="similar"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ]),
        comparison("birth_date", "dob", [
            cll.ExactMatchLevel("dob").configure(label_for_charts="same"),
            custom('"dob_l" = "dob_swap_r"', "day and month swapped"),
            custom('substr("dob_l", 1, 7) = substr("dob_r", 1, 7) OR substr("dob_l", 6, 5) = substr("dob_r", 6, 5)',
                   "same month and year, or same day and month"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ]),
        comparison("sex", "sex", [
            cll.ExactMatchLevel("sex").configure(label_for_charts="same"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ]),
        comparison("household", "village", [
            cll.ExactMatchLevel("kk").configure(label_for_charts="same KK"),
            cll.ExactMatchLevel("village").configure(label_for_charts="same village"),
            cll.ExactMatchLevel("district").configure(label_for_charts="same district"),
            cll.ExactMatchLevel("regency").configure(label_for_charts="same regency"),
            cll.ElseLevel().configure(label_for_charts="elsewhere"),
        ]),
        comparison("phone", "phone", [
            custom('"phone_l" = "phone_r" AND "kk_l" = "kk_r"', "the family's phone"),
            cll.ExactMatchLevel("phone").configure(label_for_charts="same"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ]),
    ]


def blocking_rules() -> list:
    """Which pairs are scored: each true pair should meet at least one rule (the evaluation
    measures how many do). Equality joins only, so every backend runs them fast."""
    from splink import block_on

    return [
        block_on("dob", "regency", "sex", "init_first"),
        block_on("dob", "regency", "sex", "init_last"),
        "l.dob = r.dob_swap AND l.regency = r.regency AND l.sex = r.sex AND l.init_first = r.init_first",
        block_on("kk"),
        # The same name with the birth date mistyped: in the regency when the dates still
        # share month and year, or day and month; within the district when they share only
        # the year. A pair whose dates differ weighs too little to reach review from further
        # away in a large list (on 1.1M synthetic records "same name, same year, same
        # regency" made 1.6M pairs no other rule made, not one a duplicate); in a small one
        # the prior is higher, hence the partial-date rules. name_sorted, not name_key: the
        # same words in another order ("Yani Ahmad") are a name level too.
        block_on("name_sorted", "district", "birth_year"),
        "l.name_sorted = r.name_sorted AND l.regency = r.regency AND substr(l.dob, 1, 7) = substr(r.dob, 1, 7)",
        "l.name_sorted = r.name_sorted AND l.regency = r.regency AND substr(l.dob, 6, 5) = substr(r.dob, 6, 5)",
        block_on("phone"),
        block_on("nik_tail", "regency", "init_first"),
    ]


def splink_settings(settings: MatchSettings | None = None, prior: float = 1e-6):
    from splink import SettingsCreator

    settings = settings or MatchSettings()
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=prior,
        blocking_rules_to_generate_predictions=blocking_rules(),
        comparisons=_levels(settings),
        retain_intermediate_calculation_columns=True,
        # Splink 5 outputs the level met (gamma_*) only with the matching columns.
        retain_matching_columns=True,
    )


def level_labels(model: dict) -> dict[str, list[str]]:
    """comparison -> labels indexed by gamma value (Splink numbers non-null levels from the
    last, 0, upwards; the null level is -1)."""
    out = {}
    for comp in model["comparisons"]:
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        out[comp["output_column_name"]] = [lv["label_for_charts"] for lv in reversed(levels)]
    return out


def score(people: pl.DataFrame, settings: MatchSettings | None = None,
          progress: Callable[[str], None] | None = None, keep_candidates: bool = False) -> Scored:
    """Scores the candidate pairs of `people` and returns those at or above the review
    threshold."""
    import logging

    from splink import DuckDBAPI, Linker, block_on

    settings = settings or MatchSettings()
    say = progress or (lambda _step: None)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    frame = prepare(people, settings)
    timings["prepare"] = time.perf_counter() - t
    empty = pl.DataFrame(schema={"id_l": pl.Int64, "id_r": pl.Int64, "match_probability": pl.Float64,
                                 "match_weight": pl.Float64})
    if frame.height < 2:
        return Scored(empty, {}, frame.height, timings, {})
    logging.getLogger("splink").setLevel(logging.WARNING)
    say("train")
    t = time.perf_counter()
    db = DuckDBAPI()
    table = db.register(frame.to_arrow())
    linker = Linker(table, splink_settings(settings), log_level=None)
    # The prior: how many pairs are the same person, from pairs that agree on nearly
    # everything (assumed to find 60% of them).
    try:
        linker.training.estimate_probability_two_random_records_match(
            [block_on("name_key", "dob", "regency")], recall=0.6)
    except ValueError:
        pass  # no such pair at all: keep the default prior
    linker.training.estimate_u_using_random_sampling(max_pairs=settings.u_max_pairs, seed=settings.seed)
    timings["train"] = time.perf_counter() - t
    # Training switches off the per-comparison columns the review page explains pairs with:
    # predict from the trained model with them back on.
    trained = linker.misc.save_model_to_json()
    trained["retain_intermediate_calculation_columns"] = True
    prior = trained.get("probability_two_random_records_match") or 0
    if not 0 < prior < 1:
        # No pair agreed on name, birth date and regency (a tiny list): one in a million.
        trained["probability_two_random_records_match"] = 1e-6
    linker = Linker(table, trained, log_level=None)
    say("predict")
    t = time.perf_counter()
    # Blocked pairs first, to count them (predict reuses them from Splink's cache).
    blocked = linker.inference.compute_blocked_pairs_for_predict().as_duckdbpyrelation()
    candidates = blocked.aggregate("count(*)").fetchall()[0][0]
    candidate_pairs = None
    if keep_candidates:
        candidate_pairs = blocked.pl().select(
            pl.min_horizontal("join_key_l", "join_key_r").cast(pl.Int64).alias("id_l"),
            pl.max_horizontal("join_key_l", "join_key_r").cast(pl.Int64).alias("id_r"),
        )
    predictions = linker.inference.predict(threshold_match_probability=settings.review_threshold)
    pairs = predictions.as_duckdbpyrelation().pl()
    timings["predict"] = time.perf_counter() - t
    model = linker.misc.save_model_to_json()
    keep = ["match_probability", "match_weight"]
    keep += [c for c in pairs.columns if c.startswith(("gamma_", "mw_"))]
    pairs = pairs.select(
        pl.min_horizontal("unique_id_l", "unique_id_r").cast(pl.Int64).alias("id_l"),
        pl.max_horizontal("unique_id_l", "unique_id_r").cast(pl.Int64).alias("id_r"),
        *keep,
    ).sort("id_l", "id_r")
    return Scored(pairs, model, frame.height, timings, level_labels(model), candidates, candidate_pairs)


def clusters(ids: pl.Series, pairs: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """Connected components of the pairs at or above `threshold`: one row per id with
    `cluster` = the smallest id of its component (singletons are their own cluster)."""
    edges = pairs.filter(pl.col("match_probability") >= threshold).select("id_l", "id_r")
    label = pl.DataFrame({"id": ids.cast(pl.Int64)}).with_columns(pl.col("id").alias("cluster"))
    if edges.is_empty():
        return label
    # Label propagation to the minimum over edges: each round halves the longest path,
    # and the components here are small (a person's few records).
    for _ in range(64):
        lookup = label.rename({"id": "id_l", "cluster": "c_l"})
        e = edges.join(lookup, on="id_l").join(lookup.rename({"id_l": "id_r", "c_l": "c_r"}), on="id_r")
        low = pl.concat([
            e.select(pl.col("id_l").alias("id"), pl.min_horizontal("c_l", "c_r").alias("m")),
            e.select(pl.col("id_r").alias("id"), pl.min_horizontal("c_l", "c_r").alias("m")),
            # Pointer jumping: a node also takes its cluster's cluster.
        ]).group_by("id").agg(pl.col("m").min())
        new = label.join(low, on="id", how="left").select(
            "id", pl.min_horizontal("cluster", pl.col("m").fill_null(pl.col("cluster"))).alias("cluster"))
        new = new.join(new.rename({"id": "cluster", "cluster": "c2"}), on="cluster", how="left").select(
            "id", pl.min_horizontal("cluster", pl.col("c2").fill_null(pl.col("cluster"))).alias("cluster"))
        if new.sort("id").equals(label.sort("id")):
            return new.sort("id")
        label = new
    raise RuntimeError("clustering did not converge")


def evidence_expr(pairs: pl.DataFrame, levels: dict[str, list[str]]) -> pl.Expr:
    """Why each pair scored as it did, as JSON text per row (vectorized): per comparison the
    level met, its gamma and its weight in bits (the match weight, with the name's frequency
    adjustment): [{"comparison": "nik", "level": "different", "gamma": 0, "weight": -0.36}, ...]."""
    parts = []
    for comp in COMPARISONS:
        if f"gamma_{comp}" not in pairs.columns:
            continue
        labels = levels.get(comp, [])
        gamma = pl.col(f"gamma_{comp}")
        label = gamma.replace_strict(list(range(len(labels))), labels, default="missing", return_dtype=pl.Utf8)
        weight = pl.col(f"mw_{comp}").fill_null(0.0)
        if f"mw_tf_adj_{comp}" in pairs.columns:
            weight = weight + pl.col(f"mw_tf_adj_{comp}").fill_null(0.0)
        parts.append(pl.format('{{"comparison": "{}", "level": "{}", "gamma": {}, "weight": {}}}',
                               pl.lit(comp), label, gamma, weight.round(2)))
    if not parts:
        return pl.lit("[]")
    return pl.concat_str([pl.lit("["), pl.concat_str(parts, separator=", "), pl.lit("]")])
