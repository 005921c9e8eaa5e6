"""The evaluation of deduplication (dedup/evaluate.py): no database."""

import polars as pl
import pytest

from kelambu.dedup import evaluate as ev
from kelambu.dedup.engine import INPUT_SCHEMA, MatchSettings, Scored
from kelambu.lib.linkage_metrics import pairwise_scores, summarize
from kelambu.synth.generate import SOURCES, generate

# Fewer sampled pairs than the default: a 2,200-record list has 2.4M pairs in all.
SETTINGS = MatchSettings(u_max_pairs=5e5)


def _pred(clusters: pl.DataFrame) -> pl.DataFrame:
    return clusters.rename({"id": "record_id"})


@pytest.fixture(scope="module")
def synthetic():
    people, truth = ev.synthetic_people(generate(2000, 11, source="p3ke", duplicates=0.1))
    run = ev.run_engine(people, SETTINGS)
    return people, truth, run.scored, run.clusters(SETTINGS.match_threshold)


# ---------------------------------------------------------------- synthetic lists


@pytest.mark.parametrize("source", SOURCES)
def test_synthetic_people_reads_every_source(source):
    result = generate(300, 3, source=source, duplicates=0.2, errors=0.05)
    people, truth = ev.synthetic_people(result)
    assert people.schema == pl.Schema(INPUT_SCHEMA)
    assert people.height == truth.height == result.records.height == 360
    assert people["id"].to_list() == truth["record_id"].to_list() == list(range(360))
    assert truth["source_record_id"].to_list() == result.truth["record_id"].to_list()
    kinds = truth["corruptions"]
    broken_sex = kinds.str.contains("err_sex")
    broken_date = kinds.str.contains("err_birth_date")
    # Every cell the source wrote correctly is read; only the rows broken on purpose are null.
    assert people.filter(~broken_sex)["sex"].is_in(["L", "P"]).all()
    assert people.filter(broken_sex)["sex"].is_null().all()
    assert people.filter(~broken_date)["birth_date"].null_count() == 0
    assert people.filter(broken_date)["birth_date"].is_null().all()
    names = people.filter(~kinds.str.contains("err_name"))["name_norm"]
    assert names.null_count() == 0 and (names == names.str.to_lowercase()).all()
    assert people["village"].str.contains(r"^\d\d\.\d\d\.\d\d\.\d{4}$").all()
    assert people["phone"].null_count() > 0 and not (people["phone"] == "").any()


def test_engine_finds_the_synthetic_duplicates(synthetic):
    people, truth, scored, clusters = synthetic
    pairs = pairwise_scores(_pred(clusters), truth)
    assert pairs["true_pairs"] > 150
    assert pairs["precision"] >= 0.97
    assert pairs["recall"] >= 0.9
    # Blocking lets through nearly every true pair.
    summary = summarize(_pred(clusters), truth, ev.pipeline_candidate_pairs(people, SETTINGS))
    assert summary["blocking"]["recall"] >= 0.98
    assert {k["kind"] for k in summary["errors_by_kind"]} >= {"respell", "moved", "nik_typo"}


def test_baselines_do_worse_than_the_engine(synthetic):
    people, truth, _, clusters = synthetic
    engine = pairwise_scores(_pred(clusters), truth)
    nik = pairwise_scores(_pred(ev.exact_nik_clusters(people)), truth)
    # A duplicate in a list never repeats its original's NIK (the registry already merges those).
    assert nik["recall"] < engine["recall"]
    jw = pairwise_scores(_pred(ev.jaro_winkler_name_clusters(people)), truth)
    assert 0 < jw["recall"] and jw["precision"] < engine["precision"]
    links = ev.jaro_winkler_name_pairs(people)
    assert (links["id_l"] < links["id_r"]).all() and (links["similarity"] >= 0.9).all()


def test_exact_nik_clusters():
    people = pl.DataFrame({"id": [5, 2, 9, 4], "nik": ["1", "2", "1", None]})
    assert ev.exact_nik_clusters(people).rows() == [(2, 2), (4, 4), (5, 5), (9, 5)]


def test_registry_people_merges_one_nik_with_the_newest_values():
    people = pl.DataFrame({
        "id": [0, 1, 2, 3], "nik": ["1606", "1606", None, None], "kk": ["K1", None, "K3", None],
        "name_norm": ["siti aminah", "siti aminah s", "budi", "budi"], "sex": ["P"] * 2 + ["L"] * 2,
        "birth_date": [None] * 4, "village": ["16.06.01.2001"] * 4, "phone": [None, "0812", None, None],
    }, schema_overrides={"birth_date": pl.Date})
    persons, members = ev.registry_people(people)
    assert members.rows() == [(0, 0), (1, 0), (2, 2), (3, 3)]
    first = persons.filter(pl.col("id") == 0).row(0, named=True)
    # The newest record's values where it has them, the older ones where it has none.
    assert (first["name_norm"], first["kk"], first["phone"]) == ("siti aminah s", "K1", "0812")
    assert persons.height == 3


def test_engine_run_gives_each_record_its_persons_cluster():
    # Records 0 and 1 share a NIK (one person, 0); the engine linked persons 0 and 3.
    members = pl.DataFrame({"id": [0, 1, 2, 3], "person": [0, 0, 2, 3]})
    pairs = pl.DataFrame({"id_l": [0], "id_r": [3], "match_probability": [0.95]})
    run = ev.EngineRun(Scored(pairs, {}, 3, {}, {}), pl.Series("id", [0, 2, 3]), members)
    assert run.clusters(0.9).rows() == [(0, 0), (1, 0), (2, 2), (3, 0)]
    assert run.clusters(0.99).rows() == [(0, 0), (1, 0), (2, 2), (3, 3)]


# ---------------------------------------------------------------- exported clusters


def _write(path, text):
    path.write_text(text)
    return path


@pytest.fixture
def export_files(tmp_path):
    truth = _write(tmp_path / "truth.csv", (
        "record_id,person_key,corruptions\n"
        "R1,P1,none\nR2,P1,respell\nR3,P1,moved\nR4,P2,none\nR5,P3,none\nR6,P3,nik_typo\nR7,P4,err_sex\n"
    ))
    # R7 was rejected at import; X1 is another list's record. R3 waits for review (proposed
    # into R1's person); R6 was never found.
    clusters = _write(tmp_path / "clusters.csv", (
        "source_batch,record_id,person_id,proposed_person_id,match_probability\n"
        "1,R1,10,,\n1,R2,10,,\n1,R3,12,10,0.8\n1,R4,13,,\n1,R5,14,,\n1,R6,15,,\n2,X1,99,,\n"
    ))
    return clusters, truth


def test_score_clusters_file_reads_both_readings(export_files):
    result = ev.score_clusters_file(*export_files)
    c = result["counts"]
    assert (c["scored_records"], c["truth_not_in_export"], c["export_not_in_truth"], c["pending_review"]) == (6, 1, 1, 1)
    assert (c["true_people"], c["people_merged"], c["people_if_accepted"]) == (3, 5, 4)
    # True pairs: R1-R2, R1-R3, R2-R3, R5-R6 = 4.
    accepted = result["if_accepted"]["pairwise"]
    assert (accepted["true_pairs"], accepted["predicted_pairs"], accepted["true_positives"]) == (4, 3, 3)
    merged = result["merged"]["pairwise"]
    assert (merged["predicted_pairs"], merged["true_positives"]) == (1, 1)
    assert merged["recall"] == 0.25 and accepted["recall"] == 0.75
    kinds = {k["kind"]: k for k in result["if_accepted"]["errors_by_kind"]}
    assert kinds["nik_typo"]["missed"] == 1 and kinds["moved"]["missed"] == 0
    assert result["if_accepted"]["cluster"]["exact_clusters"] == 2  # {R1,R2,R3} and {R4}


def test_score_clusters_file_picks_a_batch(export_files):
    result = ev.score_clusters_file(*export_files, batch="1")
    assert result["counts"]["export_not_in_truth"] == 0
    with pytest.raises(ValueError, match="no record of source_batch 7"):
        ev.score_clusters_file(*export_files, batch="7")


def test_score_clusters_file_errors(tmp_path, export_files):
    clusters, truth = export_files
    with pytest.raises(ValueError, match="not found"):
        ev.score_clusters_file(tmp_path / "nope.csv", truth)
    bad = _write(tmp_path / "bad.csv", "record_id,person\nR1,1\n")
    with pytest.raises(ValueError, match=r"lacks column\(s\) person_id"):
        ev.score_clusters_file(bad, truth)
    with pytest.raises(ValueError, match=r"lacks column\(s\) person_key"):
        ev.score_clusters_file(clusters, clusters)
    other = _write(tmp_path / "other.csv", "record_id,person_id\n1,1\n2,1\n")
    with pytest.raises(ValueError, match="no record_id of .* is in"):
        ev.score_clusters_file(other, truth)
    twice = _write(tmp_path / "twice.csv", "source_batch,record_id,person_id\n1,R1,1\n2,R1,1\n")
    with pytest.raises(ValueError, match="repeats 1 record_id"):
        ev.score_clusters_file(twice, truth)


# ---------------------------------------------------------------- FEBRL


def test_febrl4_maps_onto_the_engine_input():
    people, truth = ev.febrl_people("febrl4")
    assert people.schema == pl.Schema(INPUT_SCHEMA)
    assert people.height == truth.height == 10_000
    assert truth["person_key"].n_unique() == 5_000
    assert truth.group_by("person_key").len()["len"].to_list() == [2] * 5_000
    assert truth["file"].value_counts().sort("file").rows() == [("A", 5000), ("B", 5000)]
    assert people["nik"].str.contains(r"^\d{16}$").all()
    assert (people["sex"] == "L").all() and people["kk"].is_null().all() and people["phone"].is_null().all()
    # One regency for the whole file; the district part is the postcode.
    assert (people["village"].drop_nulls().str.slice(0, 5) == ev.FEBRL_REGENCY).all()
    assert people["birth_date"].null_count() < 500
    assert people["name_norm"].null_count() < 10
    with pytest.raises(ValueError, match="unknown FEBRL set"):
        ev.febrl_people("febrl9")
