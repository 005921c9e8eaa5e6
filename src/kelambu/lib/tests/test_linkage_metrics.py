from itertools import combinations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kelambu.lib.linkage_metrics import (
    blocking_recall,
    cluster_scores,
    errors_by_kind,
    false_positive_examples,
    pairwise_scores,
    summarize,
)


def frames(pred: dict, truth: dict, corruptions: dict | None = None, dtype=None):
    """pred/truth map record id -> label; returns (pred frame, truth frame).

    `dtype` types ids and labels, which an empty dict cannot infer.
    """
    schema = {"record_id": dtype, "cluster": dtype} if dtype else None
    p = pl.DataFrame({"record_id": list(pred), "cluster": list(pred.values())}, schema=schema)
    t = {"record_id": list(truth), "person_key": list(truth.values())}
    if corruptions is not None:
        t["corruptions"] = [corruptions[r] for r in truth]
    t = pl.DataFrame(t, schema={"record_id": dtype, "person_key": dtype} if dtype else None)
    return p, t


# Truth {a,b,c},{d},{e,f}; prediction {a,b},{c,d},{e,f}.
TRUTH = {"a": "T1", "b": "T1", "c": "T1", "d": "T2", "e": "T3", "f": "T3"}
PRED = {"a": "P1", "b": "P1", "c": "P2", "d": "P2", "e": "P3", "f": "P3"}


def test_pairwise_hand_example():
    # True pairs: {a,b,c} -> 3, {d} -> 0, {e,f} -> 1: 4.
    # Predicted pairs: {a,b}, {c,d}, {e,f}: 3.
    # Cells: P1∩T1={a,b} -> 1, P2∩T1={c} -> 0, P2∩T2={d} -> 0, P3∩T3={e,f} -> 1: TP 2.
    # Precision 2/3, recall 2/4, F1 = 2*(1/3)/(7/6) = 4/7.
    assert pairwise_scores(*frames(PRED, TRUTH)) == {
        "true_pairs": 4,
        "predicted_pairs": 3,
        "true_positives": 2,
        "precision": 0.666667,
        "recall": 0.5,
        "f1": 0.571429,
    }


def test_cluster_hand_example():
    # Only {e,f} is predicted exactly: 1 of 3 predicted, 1 of 3 true, so F1 1/3.
    assert cluster_scores(*frames(PRED, TRUTH)) == {
        "true_clusters": 3,
        "predicted_clusters": 3,
        "exact_clusters": 1,
        "precision": 0.333333,
        "recall": 0.333333,
        "f1": 0.333333,
    }


def test_perfect_prediction_scores_one_everywhere():
    pred = {r: f"P{k}" for r, k in TRUTH.items()}  # same partition, other labels
    p, t = frames(pred, TRUTH)
    pair = pairwise_scores(p, t)
    assert (pair["true_positives"], pair["predicted_pairs"]) == (4, 4)
    assert pair["precision"] == pair["recall"] == pair["f1"] == 1.0
    clus = cluster_scores(p, t)
    assert clus["exact_clusters"] == 3
    assert clus["precision"] == clus["recall"] == clus["f1"] == 1.0


def test_all_singletons():
    ids = list("abcd")
    singles = {r: r for r in ids}
    # Both sides all singletons: no pairs, nothing to get wrong; all 4 clusters exact.
    pair = pairwise_scores(*frames(singles, singles))
    assert pair == {"true_pairs": 0, "predicted_pairs": 0, "true_positives": 0,
                    "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert cluster_scores(*frames(singles, singles))["exact_clusters"] == 4
    # Singleton prediction against truth {a,b,c},{d}: 3 pairs all missed, precision vacuous.
    truth = {"a": 1, "b": 1, "c": 1, "d": 2}
    pair = pairwise_scores(*frames(singles, truth))
    assert (pair["true_pairs"], pair["predicted_pairs"], pair["true_positives"]) == (3, 0, 0)
    assert (pair["precision"], pair["recall"], pair["f1"]) == (1.0, 0.0, 0.0)
    # Only {d} matches: 1 of 4 predicted, 1 of 2 true.
    clus = cluster_scores(*frames(singles, truth))
    assert (clus["exact_clusters"], clus["precision"], clus["recall"]) == (1, 0.25, 0.5)


def test_mismatched_ids_raise():
    p, t = frames({"a": 1, "b": 1, "x": 2}, {"a": 1, "b": 1, "c": 2})
    with pytest.raises(ValueError, match=r"1 records are only in the prediction.*'x'"):
        pairwise_scores(p, t)
    with pytest.raises(ValueError, match="only in the"):
        cluster_scores(p, t)
    p, t = frames({"a": 1}, {"a": 1, "b": 1, "c": 2})
    with pytest.raises(ValueError, match=r"2 records are only in the truth"):
        pairwise_scores(p, t)


def test_repeated_or_null_labels_raise():
    p = pl.DataFrame({"record_id": ["a", "a"], "cluster": [1, 2]})
    t = pl.DataFrame({"record_id": ["a", "b"], "person_key": [1, 1]})
    with pytest.raises(ValueError, match="repeated"):
        pairwise_scores(p, t)
    p = pl.DataFrame({"record_id": ["a", "b"], "cluster": [1, None]})
    with pytest.raises(ValueError, match="null"):
        pairwise_scores(p, t)


def test_same_label_column_name_on_both_sides():
    p, t = frames(PRED, TRUTH)
    t = t.rename({"person_key": "cluster"})
    assert pairwise_scores(p, t, truth_col="cluster")["true_positives"] == 2


def test_blocking_recall_orders_and_duplicates():
    # Distinct unordered candidates: {a,b} (given twice, both orders), {a,c}, {c,d}, {e,f};
    # (a,a) is no pair. True pairs ab, ac, bc, ef: all but bc blocked, 3 of 4.
    cand = pl.DataFrame({
        "id_l": ["b", "a", "a", "c", "f", "a"],
        "id_r": ["a", "b", "c", "d", "e", "a"],
    })
    _, t = frames(PRED, TRUTH)
    assert blocking_recall(cand, t) == {
        "true_pairs": 4, "true_pairs_blocked": 3, "recall": 0.75, "candidate_pairs": 4,
    }
    empty = cand.clear()
    assert blocking_recall(empty, t)["recall"] == 0.0


# a clean, b respelled, c respelled and lost its NIK; d, e, f clean.
CORRUPTIONS = {"a": "none", "b": "respell", "c": "respell+nik_missing",
               "d": "none", "e": "none", "f": "none"}


def test_errors_by_kind():
    # True pairs and the prediction {a,b},{c,d},{e,f}:
    #   ab found {respell}; ac missed {respell, nik_missing};
    #   bc missed {respell, nik_missing}; ef found {none}.
    # respell 3 pairs, 2 missed; nik_missing 2, 2 missed; none 1, 0 missed.
    got = errors_by_kind(*frames(PRED, TRUTH, CORRUPTIONS))
    assert got.to_dicts() == [
        {"kind": "nik_missing", "true_pairs": 2, "missed": 2, "recall": 0.0},
        {"kind": "respell", "true_pairs": 3, "missed": 2, "recall": 0.333333},
        {"kind": "none", "true_pairs": 1, "missed": 0, "recall": 1.0},
    ]


def test_errors_by_kind_without_true_pairs_is_empty():
    singles = {r: r for r in "abc"}
    got = errors_by_kind(*frames(singles, singles, {r: "none" for r in "abc"}))
    assert got.columns == ["kind", "true_pairs", "missed", "recall"] and got.height == 0


def test_false_positive_examples():
    # Only {c,d} joins two people; {a,b} and {e,f} are pure.
    got = false_positive_examples(*frames(PRED, TRUTH))
    assert got.to_dicts() == [{"id_l": "c", "id_r": "d", "cluster": "P2"}]
    # Everything in one cluster: pairs across T1, T2, T3 are the 15 - 4 = 11 false ones.
    p, t = frames(dict.fromkeys(TRUTH, "all"), TRUTH)
    assert false_positive_examples(p, t, limit=100).height == 11
    assert false_positive_examples(p, t, limit=5).height == 5


def test_big_clusters_refuse_materializing():
    n = 1001
    ids = list(range(n))
    one = pl.DataFrame({"record_id": ids, "cluster": [0] * n})
    truth = pl.DataFrame({"record_id": ids, "person_key": [0] * n, "corruptions": ["none"] * n})
    with pytest.raises(ValueError, match="1001 records"):
        errors_by_kind(one, truth)
    mixed = truth.with_columns(person_key=pl.col("record_id") % 2)
    with pytest.raises(ValueError, match="1001 records"):
        false_positive_examples(one, mixed)
    # Counting needs no pairs, so the big cluster still scores.
    assert pairwise_scores(one, truth)["true_pairs"] == n * (n - 1) // 2
    cand = pl.DataFrame({"id_l": [0], "id_r": [1]})
    assert blocking_recall(cand, truth)["true_pairs_blocked"] == 1
    # A pure big cluster has no false positives to list.
    assert false_positive_examples(one, truth).height == 0


def test_summarize():
    p, t = frames(PRED, TRUTH, CORRUPTIONS)
    cand = pl.DataFrame({"id_l": ["a"], "id_r": ["b"]})
    got = summarize(p, t, cand)
    assert got["pairwise"]["true_positives"] == 2
    assert got["cluster"]["exact_clusters"] == 1
    assert got["blocking"]["true_pairs_blocked"] == 1
    assert [row["kind"] for row in got["errors_by_kind"]] == ["nik_missing", "respell", "none"]
    bare = summarize(p, t.drop("corruptions"))
    assert bare["blocking"] is None and bare["errors_by_kind"] is None


def brute_pairs(labels: dict) -> set:
    return {frozenset((x, y)) for x, y in combinations(labels, 2) if labels[x] == labels[y]}


@st.composite
def labelings(draw):
    n = draw(st.integers(0, 30))
    labels = st.lists(st.integers(0, 6), min_size=n, max_size=n)
    return dict(enumerate(draw(labels))), dict(enumerate(draw(labels)))


@settings(max_examples=80, deadline=None)
@given(labelings())
def test_pairwise_matches_brute_force(case):
    pred, truth = case
    predicted, actual = brute_pairs(pred), brute_pairs(truth)
    got = pairwise_scores(*frames(pred, truth, dtype=pl.Int64))
    assert got["predicted_pairs"] == len(predicted)
    assert got["true_pairs"] == len(actual)
    assert got["true_positives"] == len(predicted & actual)
    precision = len(predicted & actual) / len(predicted) if predicted else 1.0
    recall = len(predicted & actual) / len(actual) if actual else 1.0
    assert got["precision"] == round(precision, 6)
    assert got["recall"] == round(recall, 6)
    # Exact clusters: member sets present on both sides.
    def members(labels):
        return {frozenset(r for r in labels if labels[r] == k) for k in set(labels.values())}
    assert cluster_scores(*frames(pred, truth, dtype=pl.Int64))["exact_clusters"] == len(members(pred) & members(truth))
    # Treating the predicted pairs as blocking candidates finds exactly the true positives.
    cand = pl.DataFrame(
        {"id_l": [min(q) for q in predicted], "id_r": [max(q) for q in predicted]},
        schema={"id_l": pl.Int64, "id_r": pl.Int64},
    )
    assert blocking_recall(cand, frames(pred, truth, dtype=pl.Int64)[1])["true_pairs_blocked"] == len(predicted & actual)
