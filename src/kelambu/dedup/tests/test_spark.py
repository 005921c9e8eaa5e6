"""The same engine settings on Splink's Spark backend, in local mode (national scale runs
on a cluster; docs/guide/dedup.md). Slow to start (a JVM), so it runs once: on the SQLite
pass of the suite, not again on the PostgreSQL pass, which it does not touch."""

import os
import shutil
import tempfile

import polars as pl
import pytest

from kelambu.dedup import engine
from kelambu.lib.names import normalize_name_expr
from kelambu.synth.generate import generate

pyspark = pytest.importorskip("pyspark")
pytestmark = pytest.mark.skipif(
    "postgres" in os.environ.get("KELAMBU_DATABASE_URL", ""), reason="database-independent; runs on the SQLite pass"
)


def _people() -> pl.DataFrame:
    rec = generate(400, seed=9, regencies=("16.06",), duplicates=0.05).records
    return rec.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("id"),
        pl.col("NIK").alias("nik"), pl.col("No KK").alias("kk"),
        normalize_name_expr(pl.col("Nama Lengkap")).alias("name_norm"),
        pl.col("Jenis Kelamin").str.slice(0, 1).alias("sex"),
        pl.col("Tanggal Lahir").str.to_date("%d-%m-%Y").alias("birth_date"),
        pl.col("Kode Desa").alias("village"), pl.col("No HP").alias("phone"),
    )


def test_the_same_settings_run_on_spark():
    from pyspark.sql import SparkSession
    from splink import Linker, SparkAPI
    from splink.backends.spark import similarity_jar_location

    people = _people()
    checkpoints = tempfile.mkdtemp(prefix="kelambu-spark-")
    spark = (SparkSession.builder.master("local[1]").appName("kelambu-test")
             .config("spark.jars", similarity_jar_location())
             .config("spark.sql.shuffle.partitions", "1").config("spark.ui.enabled", "false").getOrCreate())
    try:
        spark.sparkContext.setLogLevel("ERROR")
        spark.sparkContext.setCheckpointDir(checkpoints)
        frame = engine.prepare(people)
        db = SparkAPI(spark_session=spark)
        linker = Linker(db.register(spark.createDataFrame(frame.to_arrow())), engine.splink_settings(),
                        log_level=None)
        linker.training.estimate_u_using_random_sampling(max_pairs=2e5, seed=1)
        predicted = linker.inference.predict(threshold_match_probability=0.9).as_spark_dataframe()
        spark_pairs = {(min(r.unique_id_l, r.unique_id_r), max(r.unique_id_l, r.unique_id_r))
                       for r in predicted.select("unique_id_l", "unique_id_r").collect()}
    finally:
        spark.stop()
        shutil.rmtree(checkpoints, ignore_errors=True)
    duck = engine.score(people, engine.MatchSettings(u_max_pairs=2e5, review_threshold=0.9))
    duck_pairs = set(duck.pairs.select("id_l", "id_r").iter_rows())
    assert len(duck_pairs) >= 10
    # u is sampled on each backend, so a pair near the threshold may fall either side.
    assert len(spark_pairs & duck_pairs) >= 0.9 * len(duck_pairs)
    assert len(spark_pairs ^ duck_pairs) <= 0.1 * len(duck_pairs) + 1
