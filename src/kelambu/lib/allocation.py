"""Allocation: which eligible people each sponsor funds.

Pure core (Polars + numpy, no Django). The caller turns budgets and the contribution in force
into a head-count `capacity` per sponsor; this module decides who.

The rule. People are taken in priority order (decile ascending with unknown last, then the
caller's keys, then person_id). A person is funded iff everyone already funded plus them can
still be matched to sponsors within capacities and quotas; already-funded people may be moved
to another sponsor to make room, never dropped. That is the greedy algorithm on a matroid
(sponsors with laminar quotas make the fundable sets a matroid: a gammoid over the flow network
person -> sponsor quota bucket -> ... -> sponsor -> sink), so the funded set is the largest
possible and, among the largest, the best by priority: nobody is left out while someone of lower
priority is funded in a place that could have been theirs.

Speed. People with the same signature (eligible sponsors and, per sponsor, the quota bucket
they fall in) are interchangeable: a "type". Types are few (hundreds or thousands), so the flow
lives on a type x sponsor graph with counts. People are fed in priority-ordered chunks; a chunk
is added in bulk when the whole chunk fits (the common case), and is bisected down to single
people only around the moments a type stops fitting. Once a type does not fit it never fits
again (matroid closure only grows), so all its later people are rejected without search, and
every other type that can no longer reach the sink is closed at the same moment.

Quotas. Per sponsor, category quotas (disjoint) and region quotas (nested prefixes) are each
laminar and go into the flow network exactly. When one sponsor has both kinds, they may cross;
its region quotas are then enforced as side limits: an entry into that sponsor is allowed only
while the side limit has room, at most one such entry per search. That never breaks a quota but
may fund fewer than the maximum for that sponsor (a documented greedy).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import polars as pl

# Reason codes for unassigned people: stable strings the web translates, with JSON params.
NO_SPONSOR_IN_SCOPE = "no_sponsor_in_scope"  # params: village, category
AGE_OUT_OF_RANGE = "age_out_of_range"  # params: age, limits [{sponsor, min_age, max_age}]
CAPACITY_EXHAUSTED = "capacity_exhausted"  # params: sponsors [keys], decile
QUOTA_FULL = "quota_full"  # params: quotas [{sponsor, field, value, limit}], sponsors_full, decile
FUNDED = "funded"  # explain() only; params: sponsor, rank, kept

# Largest chunk added in one go: bigger chunks mean fewer bulk steps, but a chunk that does
# not fit is retried in halves, and that wasted work grows with it.
MAX_CHUNK = 1 << 15

MESSAGES = {
    FUNDED: "funded by {sponsor} (priority rank {rank}{kept_text})",
    NO_SPONSOR_IN_SCOPE: "not funded: no sponsor covers village {village} and category {category}",
    AGE_OUT_OF_RANGE: "not eligible: age {age} outside {limits_text}",
    CAPACITY_EXHAUSTED: "not funded: budget exhausted in decile {decile} ({sponsors_text} full)",
    QUOTA_FULL: "not funded: quota full ({quotas_text}) in decile {decile}",
}


@dataclass(frozen=True)
class Quota:
    field: str  # "category" or "region"
    value: str
    limit: int


@dataclass(frozen=True)
class Sponsor:
    key: str
    capacity: int
    regions: tuple[str, ...] = ()  # dotted Kemendagri prefixes; empty = anywhere
    categories: tuple[str, ...] = ()  # empty = any
    quotas: tuple[Quota, ...] = ()
    priority: int = 0  # preferred when several can take a person: lower first, ties by key
    min_age: int | None = None  # a program's own age rule ("under 60"); None = no rule
    max_age: int | None = None


@dataclass
class SponsorSummary:
    key: str
    capacity: int
    funded: int
    kept: int
    funded_by_decile: dict  # decile (None = unknown) -> people


@dataclass
class Allocation:
    assigned: pl.DataFrame  # person_id, sponsor, rank, kept
    unassigned: pl.DataFrame  # person_id, rank, reason, params (JSON), previous_sponsor
    summary: list[SponsorSummary] = field(default_factory=list)
    stats: dict = field(default_factory=dict)  # sizes of the internal problem, for benchmarks

    def reason(self, person_id: int) -> tuple[str, dict]:
        """(code, params) for one person: the form the web translates."""
        row = self.assigned.filter(pl.col("person_id") == person_id)
        if row.height:
            r = row.row(0, named=True)
            return FUNDED, {"sponsor": r["sponsor"], "rank": r["rank"], "kept": r["kept"]}
        row = self.unassigned.filter(pl.col("person_id") == person_id)
        if not row.height:
            raise KeyError(person_id)
        r = row.row(0, named=True)
        params = json.loads(r["params"])
        if r["previous_sponsor"] is not None:
            params["previous_sponsor"] = r["previous_sponsor"]
        return r["reason"], params

    def explain(self, person_id: int) -> str:
        code, params = self.reason(person_id)
        return render(code, params)


def render(code: str, params: dict) -> str:
    """Plain English for a (code, params) pair."""
    p = dict(params)
    p["kept_text"] = ", kept from the previous run" if p.get("kept") else ""
    p["sponsors_text"] = ", ".join(p.get("sponsors", [])) or "every sponsor"
    p["quotas_text"] = "; ".join(
        f"{q['sponsor']} {q['field']} {q['value']} limit {q['limit']}" for q in p.get("quotas", [])
    )
    p["limits_text"] = "; ".join(
        f"{lim['sponsor']} " + "-".join(str(x) for x in (lim["min_age"], lim["max_age"]) if x is not None)
        for lim in p.get("limits", [])
    )
    if p.get("decile") is None:
        p["decile"] = "unknown"
    text = MESSAGES[code].format(**p)
    if p.get("previous_sponsor") and code != FUNDED:
        text += f"; was enrolled with {p['previous_sponsor']}"
    return text


def _in_region(village: str | None, prefixes) -> bool:
    # Dotted codes: '16.06' covers '16.06.01.2001' but '16.0' covers nothing.
    if village is None:
        return False
    return any(village == p or village.startswith(p + ".") for p in prefixes)


# --- the flow engine on types -----------------------------------------------------------------


class _Engine:
    """Max flow on the type -> bucket graph, with counts.

    Buckets: one root per sponsor (limit = capacity, edge to the sink) and one per tree quota
    (limit = quota limit, edge to its parent bucket). A type enters each eligible sponsor at
    one bucket. at[b][t] = people of type t entering at bucket b (only counts > 0, so the
    search walks occupied places only); flow[b] = people through bucket b.
    """

    def __init__(self, elig, parent, limit, bucket_sponsor, side_limit, n_types):
        self.T = n_types
        self.elig = elig  # t -> list of (s, entry bucket, chain tuple, side tuple), preferred first
        self.side_of = [{b: sd for _, b, _, sd in lst} for lst in elig]  # t -> entry bucket -> side
        self.parent = parent
        self.limit = limit
        self.bsp = bucket_sponsor
        self.flow = [0] * len(parent)
        self.children = [[] for _ in parent]
        for b, p in enumerate(parent):
            if p >= 0:
                self.children[p].append(b)
        self.users = [[] for _ in parent]  # bucket -> types that may enter there
        for t, lst in enumerate(elig):
            for _, b, _, _ in lst:
                self.users[b].append(t)
        self.side_limit = side_limit
        self.side_flow = [0] * len(side_limit)
        self.at = [dict() for _ in parent]

    # state -----------------------------------------------------------------------------------
    def snapshot(self):
        return [d.copy() for d in self.at], self.flow[:], self.side_flow[:]

    def restore(self, snap):
        at, flow, side = snap
        self.at, self.flow, self.side_flow = [d.copy() for d in at], flow[:], side[:]

    def _side_room(self, side):
        return min((self.side_limit[q] - self.side_flow[q] for q in side), default=1 << 60)

    def _count(self, b, t, k, side):
        d = self.at[b]
        c = d.get(t, 0) + k
        if c:
            d[t] = c
        else:
            del d[t]
        for q in side:
            self.side_flow[q] += k

    # adding people -------------------------------------------------------------------------
    def add(self, demand: dict) -> bool:
        """Place demand[t] more people of each type t, moving placed ones if needed.
        True if all fit; on False the state is partial (the caller restores a snapshot)."""
        flow, limit = self.flow, self.limit
        rest = {}
        # Most constrained types first: fewer later moves (the result does not depend on it).
        for t in sorted(demand, key=lambda t: (len(self.elig[t]), t)):
            need = demand[t]
            for _s, b, chain, side in self.elig[t]:  # preferred sponsor first, no moves
                room = min(limit[c] - flow[c] for c in chain)
                if side:
                    room = min(room, self._side_room(side))
                if room > 0:
                    k = min(room, need)
                    self._count(b, t, k, side)
                    for c in chain:
                        flow[c] += k
                    need -= k
                    if not need:
                        break
            if need:
                rest[t] = need
        while rest:
            path = self._search(rest)
            if path is None:
                return False
            self._augment(path, rest)
        return True

    def _search(self, sources):
        """BFS in the residual graph from types with demand to the sink. Nodes: types 0..T-1,
        buckets T+b. Returns the node path ending at a root bucket with room, or None."""
        T, flow, limit, parent, at = self.T, self.flow, self.limit, self.parent, self.at
        prev = {t: -1 for t in sorted(sources)}
        queue = list(prev)
        gated = set()  # sponsors entered through a side-limited edge in this search
        for u in queue:
            if u < T:
                for s, b, _, side in self.elig[u]:
                    node = T + b
                    if node in prev:
                        continue
                    if side:
                        if s in gated or self._side_room(side) <= 0:
                            continue
                        gated.add(s)
                    prev[node] = u
                    queue.append(node)
                continue
            b = u - T
            if flow[b] < limit[b]:
                p = parent[b]
                if p < 0:
                    path = [u]
                    while prev[path[-1]] != -1:
                        path.append(prev[path[-1]])
                    return path[::-1]
                if T + p not in prev:
                    prev[T + p] = u
                    queue.append(T + p)
            for c in self.children[b]:
                if flow[c] > 0 and T + c not in prev:
                    prev[T + c] = u
                    queue.append(T + c)
            for t2 in at[b]:  # people here who could move elsewhere
                if t2 not in prev:
                    prev[t2] = u
                    queue.append(t2)
        return None

    def _augment(self, path, rest):
        T, flow, limit, parent = self.T, self.flow, self.limit, self.parent
        steps = []
        k = rest[path[0]]
        for u, v in zip(path, path[1:], strict=False):
            if u < T:  # type u enters at bucket v
                side = self.side_of[u][v - T]
                if side:
                    k = min(k, self._side_room(side))
                steps.append((1, v - T, u, side))
            elif v < T:  # people of type v leave bucket u (to go elsewhere)
                k = min(k, self.at[u - T][v])
                steps.append((-1, u - T, v, self.side_of[v][u - T]))
            elif parent[u - T] == v - T:
                k = min(k, limit[u - T] - flow[u - T])
                steps.append((2, u - T, 0, ()))
            else:
                k = min(k, flow[v - T])
                steps.append((-2, v - T, 0, ()))
        root = path[-1] - T
        k = min(k, limit[root] - flow[root])
        for kind, b, t, side in steps:
            if kind == 1 or kind == -1:
                self._count(b, t, kind * k, side)
            else:
                flow[b] += (kind // 2) * k
        flow[root] += k
        rest[path[0]] -= k
        if not rest[path[0]]:
            del rest[path[0]]

    def reaching(self):
        """Types that can still reach the sink (reverse BFS from the sink)."""
        T, flow, limit, at = self.T, self.flow, self.limit, self.at
        seen = set()
        queue = []
        for b, p in enumerate(self.parent):
            if p < 0 and flow[b] < limit[b]:
                seen.add(T + b)
                queue.append(T + b)
        for v in queue:
            if v < T:  # buckets with a reverse edge into v: where v has people
                for _, b, _, _ in self.elig[v]:
                    if v in at[b] and T + b not in seen:
                        seen.add(T + b)
                        queue.append(T + b)
                continue
            p = v - T
            for c in self.children[p]:
                if flow[c] < limit[c] and T + c not in seen:
                    seen.add(T + c)
                    queue.append(T + c)
            q = self.parent[p]
            if q >= 0 and flow[p] > 0 and T + q not in seen:
                seen.add(T + q)
                queue.append(T + q)
            for t in self.users[p]:
                if t in seen:
                    continue
                side = self.side_of[t][p]
                if side and self._side_room(side) <= 0:
                    continue
                seen.add(t)
                queue.append(t)
        return {v for v in seen if v < T}


# --- eligibility and types -------------------------------------------------------------------


def _prepare(people: pl.DataFrame, sponsors: list[Sponsor], priority, keep_existing: bool):
    extra = list(priority or [])
    keys = ["decile", *[c for c, _ in extra], "person_id"]
    desc = [False, *[not asc for _, asc in extra], False]
    cols = ["person_id", "village", "category", "decile", "age"]
    df = people.select(
        *[pl.col(c) for c in cols if c in people.columns],
        *[pl.col(c) for c, _ in extra],
        (pl.col("kept_sponsor") if keep_existing and "kept_sponsor" in people.columns
         else pl.lit(None, pl.Utf8).alias("kept_sponsor")),
    )
    if "age" not in df.columns:
        df = df.with_columns(pl.lit(None, pl.Int64).alias("age"))
    df = df.sort(keys, descending=desc, nulls_last=True).with_row_index("pos")
    return df


def _unique_rows(m: np.ndarray):
    """Distinct rows (sorted by their bytes: deterministic) and each row's index. Faster than
    np.unique(axis=0) on wide int rows."""
    m = np.ascontiguousarray(m, dtype=np.int64)
    keys = [r.tobytes() for r in m]
    distinct = sorted(set(keys))
    index = {k: i for i, k in enumerate(distinct)}
    rows = np.array([np.frombuffer(k, dtype=np.int64) for k in distinct], dtype=np.int64)
    return rows.reshape(len(distinct), m.shape[1]), np.array([index[k] for k in keys], dtype=np.int64)


def _sponsor_tables(sponsors):
    """Buckets, tree quotas and side quotas per sponsor (sponsors already in preference order)."""
    S = len(sponsors)
    parent, limit, bsp = [-1] * S, [s.capacity for s in sponsors], list(range(S))
    qinfo = {}  # bucket -> (sponsor key, field, value, limit)
    cat_bucket = [dict() for _ in range(S)]  # category -> bucket
    reg_bucket = [dict() for _ in range(S)]  # prefix -> bucket (tree region quotas)
    side = []  # (sponsor index, prefix, limit)
    for si, sp in enumerate(sponsors):
        merged = {}
        for q in sp.quotas:
            if q.field not in ("category", "region"):
                raise ValueError(f"quota field must be 'category' or 'region', not {q.field!r}")
            merged[(q.field, q.value)] = min(q.limit, merged.get((q.field, q.value), q.limit))
        both = {f for f, _ in merged} == {"category", "region"}
        for (fld, val), lim in sorted(merged.items()):
            if fld == "category":
                cat_bucket[si][val] = len(parent)
            elif both:
                side.append((si, val, lim))
                continue
            else:
                reg_bucket[si][val] = len(parent)
            qinfo[len(parent)] = (sp.key, fld, val, lim)
            parent.append(si)
            limit.append(lim)
            bsp.append(si)
        # nested region quotas: parent = the longest other quota prefix that covers it
        for val, b in reg_bucket[si].items():
            covers = [(len(v), bb) for v, bb in reg_bucket[si].items() if v != val and _in_region(val, [v])]
            if covers:
                parent[b] = max(covers)[1]
    return parent, limit, bsp, qinfo, cat_bucket, reg_bucket, side


def allocate(
    people: pl.DataFrame,
    sponsors: list[Sponsor],
    priority: list[tuple[str, bool]] | None = None,
    keep_existing: bool = True,
) -> Allocation:
    """Assign `people` (person_id, village, category, decile, age, [kept_sponsor], [extra
    priority columns]) to `sponsors`. `priority`: extra (column, ascending) sort keys after the
    decile; person_id breaks ties. See the module docstring for the rule."""
    sponsors = sorted(sponsors, key=lambda s: (s.priority, s.key))
    if len({s.key for s in sponsors}) != len(sponsors):
        raise ValueError("sponsor keys must be unique")
    S = len(sponsors)
    skey = [s.key for s in sponsors]
    df = _prepare(people, sponsors, priority, keep_existing)
    n = df.height
    parent, limit, bsp, qinfo, cat_bucket, reg_bucket, side = _sponsor_tables(sponsors)

    # Small dimension tables: each distinct village / category / age once.
    villages = df["village"].drop_nulls().unique().sort().to_list() + [None]
    categories = df["category"].drop_nulls().unique().sort().to_list() + [None]
    use_age = any(s.min_age is not None or s.max_age is not None for s in sponsors)
    ages = (df["age"].drop_nulls().unique().sort().to_list() if use_age else []) + [None]
    V, C = len(villages), len(categories)

    def index_of(col, values):
        m = pl.DataFrame({col: values[:-1], "_i": np.arange(len(values) - 1, dtype=np.int64)},
                         schema={col: df.schema[col], "_i": pl.Int64})
        idx = df.select(col).join(m, on=col, how="left", maintain_order="left")["_i"]
        return idx.fill_null(len(values) - 1).to_numpy()

    vi = index_of("village", villages)
    ci = index_of("category", categories)
    ages_i = index_of("age", ages) if use_age else np.zeros(n, dtype=np.int64)

    # Per dimension value x sponsor: in scope, and the quota bucket entered.
    reg_ok = np.array([[not sp.regions or _in_region(v, sp.regions) for sp in sponsors] for v in villages],
                      dtype=bool).reshape(V, S)
    cat_ok = np.array([[not sp.categories or c in sp.categories for sp in sponsors] for c in categories],
                      dtype=bool).reshape(C, S)
    age_ok = np.array([[a is not None or (sp.min_age is None and sp.max_age is None) for sp in sponsors]
                       for a in ages], dtype=bool).reshape(len(ages), S)
    for i, a in enumerate(ages):
        for j, sp in enumerate(sponsors):
            if a is not None and ((sp.min_age is not None and a < sp.min_age) or
                                  (sp.max_age is not None and a > sp.max_age)):
                age_ok[i, j] = False
    # Ages matter only through which sponsors' rules they pass: a few classes, not ~60 ages.
    age_classes, age_class = _unique_rows(age_ok)
    ai = age_class[ages_i]
    age_ok = age_classes.astype(bool)
    A = len(age_ok)
    reg_entry = np.full((V, S), -1, dtype=np.int64)
    for i, v in enumerate(villages):
        for j in range(S):
            best = [(len(p), b) for p, b in reg_bucket[j].items() if _in_region(v, [p])]
            if best:
                reg_entry[i, j] = max(best)[1]
    cat_entry = np.full((C, S), -1, dtype=np.int64)
    for i, c in enumerate(categories):
        for j in range(S):
            cat_entry[i, j] = cat_bucket[j].get(c, -1)
    side_member = np.array([[_in_region(v, [p]) for (_, p, _) in side] for v in villages],
                           dtype=bool).reshape(V, len(side))

    # Combos: distinct (village, category, age) present; their signatures give the types.
    combo_key = (vi * C + ci) * A + ai
    combos, pc = np.unique(combo_key, return_inverse=True)
    cv, cc, ca = combos // (C * A), (combos // A) % C, combos % A
    scope = reg_ok[cv] & cat_ok[cc]
    elig = scope & age_ok[ca]
    entry = np.where(reg_entry[cv] >= 0, reg_entry[cv], np.arange(S)[None, :])
    entry = np.where(cat_entry[cc] >= 0, cat_entry[cc], entry)
    entry = np.where(elig, entry, -1)
    side_sp = np.array([si for si, _, _ in side], dtype=np.int64)
    sidecols = side_member[cv] & elig[:, side_sp] if side else np.zeros((len(combos), 0), bool)
    sig = np.hstack([entry, sidecols.astype(np.int64)])

    # Kept people: a signature restricted to their sponsor (if still eligible for it).
    kept_idx = np.full(n, -1, dtype=np.int64)
    ks = df["kept_sponsor"]
    if ks.null_count() < n:
        kmap = pl.DataFrame({"kept_sponsor": skey, "_k": np.arange(S, dtype=np.int64)})
        kept_idx = df.select("kept_sponsor").join(kmap, on="kept_sponsor", how="left",
                                                  maintain_order="left")["_k"].fill_null(-1).to_numpy()
    has_kept = kept_idx >= 0
    has_kept[has_kept] &= elig[pc[has_kept], kept_idx[has_kept]]
    kpair_key = pc[has_kept] * S + kept_idx[has_kept]
    kpairs, kinv = np.unique(kpair_key, return_inverse=True)
    ksig = np.full((len(kpairs), sig.shape[1]), -1, dtype=np.int64)
    kc, kss = kpairs // S, kpairs % S
    ksig[np.arange(len(kpairs)), kss] = sig[kc, kss]
    ksig[:, S:] = np.where(side_sp[None, :] == kss[:, None], sig[kc][:, S:], 0) if side else ksig[:, S:]
    sigs, tinv = _unique_rows(np.vstack([sig, ksig]))
    T = len(sigs)
    type_regular = tinv[pc]
    type_kept = np.full(n, -1, dtype=np.int64)
    type_kept[has_kept] = tinv[len(combos) + kinv.reshape(-1)]

    # Engine graph per type: (sponsor, entry bucket, chain to root, side limits), preferred first.
    elig_lists = []
    for t in range(T):
        lst = []
        for s in range(S):
            b = int(sigs[t, s])
            if b < 0:
                continue
            chain = [b]
            while parent[chain[-1]] >= 0:
                chain.append(parent[chain[-1]])
            sd = tuple(q for q in range(len(side)) if side[q][0] == s and sigs[t, S + q])
            lst.append((s, b, tuple(chain), sd))
        elig_lists.append(lst)
    eng = _Engine(elig_lists, parent, limit, bsp, [lim for _, _, lim in side], T)

    decile = df["decile"].to_numpy()
    decile = decile.astype(object) if df["decile"].null_count() else decile
    if df["decile"].null_count():
        decile[df["decile"].is_null().to_numpy()] = None
    closed_at = np.full(T, np.iinfo(np.int64).max, dtype=np.int64)
    reasons: list[tuple[str, str]] = []  # reason id -> (code, params JSON)
    type_reason = np.full(T, -1, dtype=np.int64)
    for t in range(T):
        if not elig_lists[t]:
            closed_at[t] = -1

    def close(t_list, pos, dec):
        for t in t_list:
            closed_at[t] = pos
            full_sp, quotas = [], []
            for s, _b, chain, sd in elig_lists[t]:
                if eng.flow[s] >= limit[s]:
                    full_sp.append(skey[s])
                    continue
                quotas += [qinfo[b] for b in chain if b in qinfo and eng.flow[b] >= limit[b]]
                quotas += [(skey[s], "region", side[q][1], side[q][2]) for q in sd
                           if eng.side_flow[q] >= side[q][2]]
            d = None if dec is None else int(dec)
            if quotas:
                params = {"quotas": [dict(zip(("sponsor", "field", "value", "limit"), q, strict=True))
                                     for q in quotas], "sponsors_full": full_sp, "decile": d}
                reasons.append((QUOTA_FULL, json.dumps(params)))
            else:
                reasons.append((CAPACITY_EXHAUSTED, json.dumps({"sponsors": full_sp, "decile": d})))
            type_reason[t] = len(reasons) - 1

    def run(seq, offset):
        """Feed the sequence of types (priority order) to the engine; set closed_at."""
        n_seq = len(seq)
        i, size = 0, 4096
        while i < n_seq:
            j = min(n_seq, i + size)
            if segment(seq, offset, i, j):
                size = min(size * 2, MAX_CHUNK)
            else:
                size = max(size // 4, 1024)
            i = j

    def segment(seq, offset, i, j):
        block = seq[i:j]
        block = block[closed_at[block] > offset + i]  # open types (closures are all behind i)
        if not len(block):
            return True
        counts = np.bincount(block, minlength=T)
        nz = np.flatnonzero(counts)
        demand = {int(t): int(counts[t]) for t in nz}
        snap = eng.snapshot()
        if eng.add(demand):
            return True
        eng.restore(snap)
        if j - i > 256:
            mid = (i + j) // 2
            segment(seq, offset, i, mid)
            segment(seq, offset, mid, j)
            return False
        for k in range(i, j):
            t = int(seq[k])
            if closed_at[t] <= offset + k:
                continue
            if not eng.add({t: 1}):
                # t is spanned from now on; so is every type that cannot reach the sink.
                reach = eng.reaching()
                now = [t] + [u for u in range(T) if u != t and closed_at[u] > offset + k and u not in reach]
                close(now, offset + k, decile[order[k]])
        return False

    # Pass 1: kept people, restricted to their sponsor. Pass 2: everyone not kept.
    kept_rows = np.flatnonzero(type_kept >= 0)
    order = kept_rows
    run(type_kept[kept_rows], 0)
    kept_ok = np.zeros(n, dtype=bool)
    kept_ok[kept_rows] = np.arange(len(kept_rows)) < closed_at[type_kept[kept_rows]]
    n1 = len(kept_rows)
    rest_rows = np.flatnonzero(~kept_ok)
    order = rest_rows
    run(type_regular[rest_rows], n1)

    # Per sequence element: global position, type, funded?
    seq_rows = np.concatenate([kept_rows, rest_rows])
    seq_type = np.concatenate([type_kept[kept_rows], type_regular[rest_rows]])
    seq_pos = np.arange(len(seq_rows))
    funded = seq_pos < closed_at[seq_type]
    funded[:n1] &= kept_ok[kept_rows]  # pass 1 elements that failed reappear in pass 2

    # Which sponsor: within a type, funded people in order go to sponsors in preference
    # order, f[t][s] each (people of one type are interchangeable).
    f_rows = sorted((t, bsp[b], c) for b in range(len(parent)) for t, c in eng.at[b].items())
    ft = np.array([r[0] for r in f_rows], dtype=np.int64)
    fs = np.array([r[1] for r in f_rows], dtype=np.int64)
    fc = np.array([r[2] for r in f_rows], dtype=np.int64)
    cum = np.cumsum(fc)
    type_base = np.zeros(T + 1, dtype=np.int64)
    np.add.at(type_base, ft + 1, fc)
    type_base = np.cumsum(type_base)
    fr, ftp = seq_rows[funded], seq_type[funded]
    o = np.argsort(ftp, kind="stable")  # stable: keeps priority order within a type
    within = np.empty(len(o), dtype=np.int64)
    starts = np.searchsorted(ftp[o], ftp[o], side="left")
    within[o] = np.arange(len(o)) - starts
    slot = type_base[ftp] + within
    spons = fs[np.searchsorted(cum, slot, side="right")] if len(slot) else np.zeros(0, np.int64)
    assert len(slot) == (int(cum[-1]) if len(cum) else 0), "flow and funded people disagree"

    pid = df["person_id"]
    assigned = pl.DataFrame({
        "person_id": pid.gather(fr),
        "sponsor": pl.Series(skey, dtype=pl.Utf8).gather(spons),
        "rank": pl.Series(fr + 1, dtype=pl.Int64),
        "kept": pl.Series(np.concatenate([np.ones(int(funded[:n1].sum()), bool),
                                          np.zeros(int(funded[n1:].sum()), bool)])),
    }).sort("rank")

    # Reasons for the rest: a closed type's reason, or why no sponsor is in scope.
    lost = np.flatnonzero(~funded[n1:]) + n1
    lr, lt = seq_rows[lost], seq_type[lost]
    rid = type_reason[lt]
    no_elig = rid < 0
    if no_elig.any():
        combo_reason = {}
        # keyed by (combo, age index): the age reason names the person's own age
        key = pc[lr[no_elig]] * len(ages) + ages_i[lr[no_elig]]
        uniq, inv = np.unique(key, return_inverse=True)
        for k in uniq:
            c, age = int(k) // len(ages), ages[int(k) % len(ages)]
            if scope[c].any():
                lims = [{"sponsor": skey[s], "min_age": sponsors[s].min_age, "max_age": sponsors[s].max_age}
                        for s in np.flatnonzero(scope[c])]
                reasons.append((AGE_OUT_OF_RANGE, json.dumps({"age": age, "limits": lims})))
            else:
                v, cat = villages[cv[c]], categories[cc[c]]
                reasons.append((NO_SPONSOR_IN_SCOPE, json.dumps({"village": v, "category": cat})))
            combo_reason[int(k)] = len(reasons) - 1
        rid[no_elig] = np.array([combo_reason[int(k)] for k in uniq], dtype=np.int64)[inv.reshape(-1)]
    rtable = pl.DataFrame({"_r": np.arange(len(reasons), dtype=np.int64),
                           "reason": [r[0] for r in reasons], "params": [r[1] for r in reasons]},
                          schema={"_r": pl.Int64, "reason": pl.Utf8, "params": pl.Utf8})
    unassigned = (
        pl.DataFrame({"person_id": pid.gather(lr), "rank": pl.Series(lr + 1, dtype=pl.Int64),
                      "_r": pl.Series(rid, dtype=pl.Int64),
                      "previous_sponsor": df["kept_sponsor"].gather(lr)})
        .join(rtable, on="_r", how="left", maintain_order="left")
        .select("person_id", "rank", "reason", "params", "previous_sponsor")
        .sort("rank")
    )

    # Per-sponsor summary.
    by = (assigned.select("sponsor", "kept", pl.col("rank"))
          .with_columns(df["decile"].gather(assigned["rank"] - 1).alias("decile"))
          .group_by("sponsor", "decile").agg(pl.len().alias("n"), pl.col("kept").sum().alias("k")))
    summary = []
    for sp in sponsors:
        rows = by.filter(pl.col("sponsor") == sp.key).sort("decile", nulls_last=True)
        summary.append(SponsorSummary(
            key=sp.key, capacity=sp.capacity, funded=int(rows["n"].sum()), kept=int(rows["k"].sum()),
            funded_by_decile=dict(zip(rows["decile"].to_list(), rows["n"].to_list(), strict=True)),
        ))
    stats = {"people": n, "combos": len(combos), "types": T, "buckets": len(parent)}
    return Allocation(assigned=assigned, unassigned=unassigned, summary=summary, stats=stats)


# --- naive baseline --------------------------------------------------------------------------


def naive_allocate(people: pl.DataFrame, sponsors: list[Sponsor]) -> dict[int, str]:
    """The obvious loop, for benchmarks: each person in priority order goes to the first
    sponsor in scope with room (capacity and quotas). No moves, so it can fund fewer."""
    sponsors = sorted(sponsors, key=lambda s: (s.priority, s.key))
    used = {s.key: 0 for s in sponsors}
    qused: dict = {}
    out = {}
    cols = ["person_id", "village", "category", "age"]
    rows = people.sort(["decile", "person_id"], nulls_last=True).select(cols).iter_rows()
    for pid, village, category, age in rows:
        for sp in sponsors:
            if used[sp.key] >= sp.capacity:
                continue
            if sp.regions and not _in_region(village, sp.regions):
                continue
            if sp.categories and category not in sp.categories:
                continue
            if (sp.min_age is not None or sp.max_age is not None) and (
                    age is None or (sp.min_age is not None and age < sp.min_age)
                    or (sp.max_age is not None and age > sp.max_age)):
                continue
            hit = [q for q in sp.quotas
                   if (q.field == "category" and q.value == category)
                   or (q.field == "region" and _in_region(village, [q.value]))]
            if any(qused.get((sp.key, q), 0) >= q.limit for q in hit):
                continue
            for q in hit:
                qused[(sp.key, q)] = qused.get((sp.key, q), 0) + 1
            used[sp.key] += 1
            out[pid] = sp.key
            break
    return out
