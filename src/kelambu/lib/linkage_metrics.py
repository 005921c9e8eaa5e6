"""Scores a deduplication result against ground truth.

Pure Polars so the evaluation command and the benchmarks can score up to a million
records. Pairs are unordered. Pair counts come from cluster sizes (n*(n-1)/2) and from
the predicted x true contingency table, so pairs are only materialized where a
per-pair answer is needed, and only inside clusters small enough to stay bounded.
"""

import polars as pl

# Largest cluster whose pairs may be materialized: 1,000 records make ~500k pairs.
MAX_MATERIALIZED_CLUSTER = 1000

_ID, _PRED, _TRUE = "_id", "_pred", "_true"


def _pairs(size: pl.Expr) -> pl.Expr:
    # Int64: a million-record cluster has ~5e11 pairs, beyond UInt32.
    n = size.cast(pl.Int64)
    return n * (n - 1) // 2


def _ratio(num: int, den: int) -> float:
    # An empty denominator means nothing to get wrong (or nothing to find): perfect.
    return 1.0 if den == 0 else num / den


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 0.0 if total == 0 else 2 * precision * recall / total


def _scores(tp: int, predicted: int, actual: int) -> dict:
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, actual)
    return {
        "precision": round(precision, 6),
        "recall": round(recall, 6),
        "f1": round(_f1(precision, recall), 6),
    }


def _labels(frame: pl.DataFrame, id_col: str, label_col: str, alias: str, what: str) -> pl.DataFrame:
    """(id, label) with internal names, so pred_col == truth_col cannot collide."""
    for col in (id_col, label_col):
        if col not in frame.columns:
            raise ValueError(f"{what} has no column {col!r}")
    out = frame.select(pl.col(id_col).alias(_ID), pl.col(label_col).alias(alias))
    # A null label would silently become one big cluster; a repeated id would count twice.
    nulls = out.null_count().row(0)
    if any(nulls):
        raise ValueError(f"{what} has null values in {id_col!r} or {label_col!r}")
    dupes = out.filter(pl.col(_ID).is_duplicated())
    if dupes.height:
        raise ValueError(
            f"{what} has {dupes[_ID].n_unique()} repeated {id_col!r} values, e.g. {dupes[_ID][0]!r}"
        )
    return out


def _joined(
    pred: pl.DataFrame, truth: pl.DataFrame, id_col: str, pred_col: str, truth_col: str
) -> pl.DataFrame:
    """One row per record: (_id, _pred, _true). Both frames must hold the same records."""
    p = _labels(pred, id_col, pred_col, _PRED, "prediction")
    t = _labels(truth, id_col, truth_col, _TRUE, "truth")
    for name, left, right in (("prediction", p, t), ("truth", t, p)):
        extra = left.join(right, on=_ID, how="anti")
        if extra.height:
            raise ValueError(
                f"{extra.height} records are only in the {name}, e.g. {id_col}={extra[_ID][0]!r}; "
                "score the same records on both sides"
            )
    return p.join(t, on=_ID, how="inner")


def _cluster_pairs(records: pl.DataFrame, label: str, what: str) -> pl.DataFrame:
    """Materializes (id_l, id_r, label) with id_l < id_r within each cluster of `label`."""
    sized = records.with_columns(pl.len().over(label).alias("_n")).filter(pl.col("_n") > 1)
    if sized.height:
        biggest = sized.sort("_n", descending=True).row(0, named=True)
        if biggest["_n"] > MAX_MATERIALIZED_CLUSTER:
            raise ValueError(
                f"{what} cluster {biggest[label]!r} has {biggest['_n']} records; pairs are only "
                f"listed for clusters of at most {MAX_MATERIALIZED_CLUSTER}"
            )
    side = sized.select(_ID, label)
    return (
        side.rename({_ID: "id_l"})
        .join(side.rename({_ID: "id_r"}), on=label)
        .filter(pl.col("id_l") < pl.col("id_r"))
        .select("id_l", "id_r", label)
    )


def pairwise_scores(
    pred: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    id_col: str = "record_id",
    pred_col: str = "cluster",
    truth_col: str = "person_key",
) -> dict:
    """Pair precision/recall/F1: a pair is predicted when its records share a cluster."""
    rows = _joined(pred, truth, id_col, pred_col, truth_col)
    predicted = rows.group_by(_PRED).len().select(_pairs(pl.col("len")).sum()).item()
    actual = rows.group_by(_TRUE).len().select(_pairs(pl.col("len")).sum()).item()
    # Each (predicted, true) cell of c records holds c*(c-1)/2 correctly linked pairs.
    tp = rows.group_by(_PRED, _TRUE).len().select(_pairs(pl.col("len")).sum()).item()
    predicted, actual, tp = int(predicted or 0), int(actual or 0), int(tp or 0)
    return {
        "true_pairs": actual,
        "predicted_pairs": predicted,
        "true_positives": tp,
        **_scores(tp, predicted, actual),
    }


def cluster_scores(
    pred: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    id_col: str = "record_id",
    pred_col: str = "cluster",
    truth_col: str = "person_key",
) -> dict:
    """Exact-cluster precision/recall/F1; singletons are clusters too."""
    rows = _joined(pred, truth, id_col, pred_col, truth_col)
    cells = rows.group_by(_PRED, _TRUE).len("_c")
    pred_sizes = rows.group_by(_PRED).len("_np")
    true_sizes = rows.group_by(_TRUE).len("_nt")
    # A predicted cluster equals a true one iff a single cell covers both entirely.
    exact = (
        cells.join(pred_sizes, on=_PRED)
        .join(true_sizes, on=_TRUE)
        .filter((pl.col("_c") == pl.col("_np")) & (pl.col("_c") == pl.col("_nt")))
        .height
    )
    return {
        "true_clusters": true_sizes.height,
        "predicted_clusters": pred_sizes.height,
        "exact_clusters": exact,
        **_scores(exact, pred_sizes.height, true_sizes.height),
    }


def blocking_recall(
    candidate_pairs: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    left: str = "id_l",
    right: str = "id_r",
    id_col: str = "record_id",
    truth_col: str = "person_key",
) -> dict:
    """Share of true pairs that survived blocking.

    A distinct candidate pair is a blocked true pair iff both records share a truth key, so
    candidates are labelled instead of listing every true pair: no cluster-size limit.
    """
    labels = _labels(truth, id_col, truth_col, _TRUE, "truth")
    actual = labels.group_by(_TRUE).len().select(_pairs(pl.col("len")).sum()).item()
    candidates = (
        candidate_pairs.select(
            pl.min_horizontal(left, right).alias("id_l"), pl.max_horizontal(left, right).alias("id_r")
        )
        .filter(pl.col("id_l") != pl.col("id_r"))  # a record paired with itself is no pair
        .unique()
    )
    blocked = (
        candidates.join(labels.rename({_ID: "id_l", _TRUE: "_tl"}), on="id_l")
        .join(labels.rename({_ID: "id_r", _TRUE: "_tr"}), on="id_r")
        .filter(pl.col("_tl") == pl.col("_tr"))
        .height
    )
    actual = int(actual or 0)
    return {
        "true_pairs": actual,
        "true_pairs_blocked": blocked,
        "recall": round(_ratio(blocked, actual), 6),
        "candidate_pairs": candidates.height,
    }


def errors_by_kind(
    pred: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    kinds_col: str = "corruptions",
    id_col: str = "record_id",
    pred_col: str = "cluster",
    truth_col: str = "person_key",
) -> pl.DataFrame:
    """Pair recall per corruption kind: which corruptions make the matcher miss pairs.

    A pair carries every kind of either record, so it counts once under each kind.
    """
    rows = _joined(pred, truth, id_col, pred_col, truth_col)
    if kinds_col not in truth.columns:
        raise ValueError(f"truth has no column {kinds_col!r}")
    # Parse kinds once per record, not per pair.
    kinds = truth.select(
        pl.col(id_col).alias(_ID),
        pl.col(kinds_col)
        .cast(pl.String)
        .fill_null("none")
        .str.split("+")
        .list.eval(pl.element().str.strip_chars())
        .list.filter((pl.element() != "none") & (pl.element() != ""))
        .alias("_k"),
    )
    records = rows.join(kinds, on=_ID)
    pairs = _cluster_pairs(records.select(_ID, _TRUE), _TRUE, "true")
    left = records.select(pl.col(_ID).alias("id_l"), pl.col(_PRED).alias("_pl"), pl.col("_k").alias("_kl"))
    right = records.select(pl.col(_ID).alias("id_r"), pl.col(_PRED).alias("_pr"), pl.col("_k").alias("_kr"))
    union = pl.concat_list("_kl", "_kr").list.unique()
    return (
        pairs.join(left, on="id_l")
        .join(right, on="id_r")
        .select(
            (pl.col("_pl") != pl.col("_pr")).alias("_missed"),
            # Two clean records make a "none" pair rather than vanishing in the explode.
            pl.when(union.list.len() == 0)
            .then(pl.concat_list(pl.lit("none")))
            .otherwise(union)
            .alias("kind"),
        )
        .explode("kind")
        .group_by("kind")
        .agg(pl.len().cast(pl.Int64).alias("true_pairs"), pl.col("_missed").sum().cast(pl.Int64).alias("missed"))
        .with_columns(((pl.col("true_pairs") - pl.col("missed")) / pl.col("true_pairs")).round(6).alias("recall"))
        .sort(["missed", "kind"], descending=[True, False])
        .select("kind", "true_pairs", "missed", "recall")
    )


def false_positive_examples(
    pred: pl.DataFrame,
    truth: pl.DataFrame,
    limit: int = 20,
    *,
    id_col: str = "record_id",
    pred_col: str = "cluster",
    truth_col: str = "person_key",
) -> pl.DataFrame:
    """Up to `limit` predicted pairs that are not true pairs, as (id_l, id_r, cluster).

    Only clusters mixing several true keys can hold a false positive, so pure clusters are
    never materialized; a mixed cluster above MAX_MATERIALIZED_CLUSTER raises.
    """
    rows = _joined(pred, truth, id_col, pred_col, truth_col)
    mixed = rows.filter(pl.col(_TRUE).n_unique().over(_PRED) > 1)
    pairs = _cluster_pairs(mixed.select(_ID, _PRED), _PRED, "predicted")
    keys = rows.select(_ID, _TRUE)
    return (
        pairs.join(keys.rename({_ID: "id_l", _TRUE: "_tl"}), on="id_l")
        .join(keys.rename({_ID: "id_r", _TRUE: "_tr"}), on="id_r")
        .filter(pl.col("_tl") != pl.col("_tr"))
        .sort(_PRED, "id_l", "id_r")  # stable examples across runs
        .head(limit)
        .select("id_l", "id_r", pl.col(_PRED).alias("cluster"))
    )


def summarize(
    pred: pl.DataFrame,
    truth: pl.DataFrame,
    candidate_pairs: pl.DataFrame | None = None,
    **kw,
) -> dict:
    """All metrics in one dict; `kw` holds the column names, each passed where it applies.

    "errors_by_kind" is None when truth has no kinds column (real data has no corruptions).
    """
    unknown = set(kw) - {"id_col", "pred_col", "truth_col", "kinds_col", "left", "right"}
    if unknown:
        raise TypeError(f"unknown keyword arguments: {sorted(unknown)}")
    cols = {k: kw[k] for k in ("id_col", "pred_col", "truth_col") if k in kw}
    truth_cols = {k: kw[k] for k in ("id_col", "truth_col") if k in kw}
    kinds_col = kw.get("kinds_col", "corruptions")
    blocking = None
    if candidate_pairs is not None:
        pair_cols = {k: kw[k] for k in ("left", "right") if k in kw}
        blocking = blocking_recall(candidate_pairs, truth, **pair_cols, **truth_cols)
    kinds = None
    if kinds_col in truth.columns:
        kinds = errors_by_kind(pred, truth, kinds_col=kinds_col, **cols).to_dicts()
    return {
        "pairwise": pairwise_scores(pred, truth, **cols),
        "cluster": cluster_scores(pred, truth, **cols),
        "blocking": blocking,
        "errors_by_kind": kinds,
    }
