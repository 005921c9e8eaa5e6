"""Matching keys for person names: the respellings lists use, folded away (REFERENCE 6).

`normalize_name` (lib/names.py) gives the name as written, in plain lowercase words.
`match_name_expr` goes further, for comparing records only: two spellings of one name
should give one key ("M. Sholeh", "Moh. Saleh" and "Muhammad Soleh" -> "muhammad saleh").
A key is never shown as the person's name.

Steps, in this order (1-2 run once per distinct word of a batch, 3-6 only on the names they
can change: each string operation costs about a column copy, whatever it changes):

1. letters: old spelling (oe/u, dj/j, tj/c, sj/sy, ch/kh, hj/hy), Arabic transliteration
   (dh/d, th/t, sh/s, dz/z, q/k), doubled consonants, "iya"/"ia", final "y" after a
   consonant ("rizky"/"rizki");
2. the variant dictionary, word by word (data/name_variants.csv, plus a user file);
3. "bin"/"binti" inside a name dropped;
4. split noble prefixes joined ("ki agus" -> "kiagus");
5. titles left at the start dropped, also after a noble prefix ("kgs h m yusuf");
6. a leading "m" / "md" / "st" read as Muhammad / Siti.

Doubled consonants are collapsed everywhere: Indonesian has no geminate consonants, so a
double letter in a name is a spelling habit (Arabic shadda, Dutch spelling: Muhammad /
Muhamad, Hassan, Sitti, Effendi, Jamaluddin), never what tells two names apart. Vowels are
left alone: a double vowel usually stands for a lost glottal stop (Sa'adah) or is a Dutch
"oo" handled word by word (Noor). Dictionary keys go through the same letter step, so the
file can list "mochammad" as written, and a canonical word keeps its usual spelling in the
key ("muhammad", not "muhamad").

Old "j" for "y" (Wahjudi) is folded only after "h" (and by the dictionary for a few common
names, Jusuf / Yusuf): elsewhere "j" is also a modern letter (Joko, Sarjono). Old "nj" for
"ny" is not folded either: modern names write "nj" for the old "ndj" (Panji, Sanjaya).

A single "m" means Muhammad only as the first word of a longer name (or right after a
noble prefix: "Kgs. M. Yusuf"); "Ali M." ends in an initial of anything. Likewise "st" is
Siti only first ("St. Aminah"); at the end it is a degree (S.T.), which normalize_name drops.

The key is idempotent: applied to its own output it gives the same output.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

import polars as pl

from kelambu.lib.names import PREFIX_TITLES, normalize_name

VARIANTS_FILE = Path(__file__).parent / "data" / "name_variants.csv"

# Honorifics that normalize_name leaves (it only knows the list in names.PREFIX_TITLES).
# "ny" is not used here: folded it would read "ni", the Balinese name prefix (Ni Made), and
# normalize_name already drops a leading "Ny.".
HONORIFICS = (
    "ust", "ustad", "ustadz", "ustaz", "ustadzah", "ustazah", "ustadzhah", "kh", "k h", "kyai",
    "kiai", "nyai", "tgk", "teungku", "bu", "pak", "mbah", "mbak", "hajah", "hjh",
)
# Palembang noble prefixes (canonical spelling), part of the registered name: kept, but titles
# written after them are dropped and a following "m" is still Muhammad.
NOBLE_PREFIXES = ("kemas", "kiagus", "masagus", "raden", "nyimas", "nyayu")
# Noble prefixes lists write in two words.
_SPLIT_NOBLES = (("ki", "agus"), ("mas", "agus"), ("nyi", "mas"), ("nyi", "ayu"))
# Patronymic connectors ("Ahmad bin Umar" / "Ahmad Umar").
_CONNECTORS = ("bin", "binti")
# Abbreviations read only as the first word of a longer name (or right after a noble prefix):
# "M. Ali" but "Ali M."; "Md." first is Muhammad, after "I" it is the Balinese "Made".
_POSITIONAL = {"m|md": "muhammad", "st": "siti"}

_CONSONANTS = "bcdfghjklmnpqrstvwxyz"
# One pass collapses every run of a doubled consonant: "(b)b+|(c)c+|..." -> "$1$2...";
# groups that did not take part are empty (Rust regex has no backreferences).
_COLLAPSE = "|".join(f"({c}){c}+" for c in _CONSONANTS)
_COLLAPSE_TO = "".join(f"${{{i}}}" for i in range(1, len(_CONSONANTS) + 1))
# Letter rewrites, in an order where no rewrite can create the pattern of an earlier one
# (dh -> d before dj -> j before tj -> c before ch -> kh), and each absorbs runs (d+j+), so a
# single pass gives a fixed point.
_LETTER_RULES = (
    (r"d+h+", "d"),  # Ramadhan / Ramadan, Ridho / Rido
    (r"t+h+", "t"),  # Luthfi / Lutfi, Thamrin / Tamrin
    (r"s+h+", "s"),  # Sholeh / Soleh (sy, the other "sh", is a separate spelling)
    (r"d+z+", "z"),  # Hafidz / Hafiz, Dzulkifli / Zulkifli
    (r"d+j+", "j"),  # Djoko / Joko
    (r"t+j+", "c"),  # Tjahjono / Cahyono
    (r"s+j+", "sy"),  # Sjarifah / Syarifah
    (r"c+h+", "kh"),  # Achmad / Akhmad, Chairul / Khairul
    (r"(?-u:\B)h+j+", "hy"),  # Wahju / Wahyu (inside a word only: "Hj" is a title)
    (r"o+e+", "u"),  # Abdoel / Abdul, Soetjipto / Sucipto
    (r"q+", "k"),  # Taufiq / Taufik, Qomariah / Komariah
)
_AFTER_COLLAPSE = (
    (r"uloh(?-u:\b)", "ulah"),  # Abdulloh / Abdullah, Hidayatulloh (Javanese -lloh for -llah)
    (r"iy([aeou])", "i$1"),  # Rukiyah / Rukiah, Supriyadi / Supriadi
    (rf"([{_CONSONANTS.replace('y', '')}])y(?-u:\b)", "${1}i"),  # Rizky / Rizki, Desy / Desi
)


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def fold_letters_expr(expr: pl.Expr) -> pl.Expr:
    """Step 1 alone: spelling folded letter by letter, word by word."""
    out = expr.str.replace_all(_COLLAPSE, _COLLAPSE_TO)
    for pattern, to in _LETTER_RULES:
        out = out.str.replace_all(pattern, to)
    out = out.str.replace_all(_COLLAPSE, _COLLAPSE_TO)
    for pattern, to in _AFTER_COLLAPSE:
        out = out.str.replace_all(pattern, to)
    return out


def _fold_words(words: list[str]) -> list[str]:
    s = pl.Series("w", words, dtype=pl.String)
    return s.to_frame().select(fold_letters_expr(pl.col("w"))).to_series().to_list()


# ---------------------------------------------------------------- the variant dictionary

_WORD = re.compile(r"[a-z0-9]+")
_WORDS = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")


def _check_row(variant: str, canonical: str, where: str) -> None:
    if not variant or not canonical:
        raise ValueError(f"{where}: empty {'variant' if not variant else 'canonical'}")
    if not _WORD.fullmatch(variant):
        raise ValueError(f"{where}: variant {variant!r} must be one word of a-z, 0-9")
    if not _WORDS.fullmatch(canonical):
        raise ValueError(f"{where}: canonical {canonical!r} must be words of a-z, 0-9")


def _read_variants(path: Path) -> list[tuple[str, str, str]]:
    """(variant, canonical, "file:line") rows of one file, checked one by one."""
    rows: list[tuple[str, str, str]] = []
    seen: dict[str, tuple[str, str]] = {}
    header: list[str] | None = None
    with open(path, encoding="utf-8-sig", newline="") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = f"{path}:{lineno}"
            fields = [x.strip() for x in next(csv.reader([line]))]
            if header is None:
                header = [x.lower() for x in fields]
                missing = [c for c in ("variant", "canonical") if c not in header]
                if missing:
                    raise ValueError(
                        f"{where}: header lacks column(s) {', '.join(missing)} "
                        f"(need 'variant,canonical', got {','.join(fields)!r})"
                    )
                iv, ic = header.index("variant"), header.index("canonical")
                continue
            variant = fields[iv].lower() if iv < len(fields) else ""
            canonical = " ".join(fields[ic].lower().split()) if ic < len(fields) else ""
            _check_row(variant, canonical, where)
            if variant in seen and seen[variant][0] != canonical:
                raise ValueError(
                    f"{where}: {variant!r} -> {canonical!r}, but {seen[variant][1]} "
                    f"maps it to {seen[variant][0]!r}"
                )
            seen[variant] = (canonical, where)
            rows.append((variant, canonical, where))
    if header is None:
        raise ValueError(f"{path}:1: no header row 'variant,canonical'")
    return rows


def _compile(variants: dict[str, str], where: dict[str, str]) -> dict[str, str]:
    """The lookup used on folded words: folded variant -> canonical.

    Checked here: no chains (a canonical word that is itself a variant of something else),
    and no two entries that meet once folded but lead to different canonicals. Each canonical
    word is also reachable from its own folded form, which keeps the key idempotent.
    """
    for variant, canonical in variants.items():
        for word in canonical.split(" "):
            target = variants.get(word, word)
            if target != word:
                raise ValueError(
                    f"{where[variant]}: canonical {word!r} is itself a variant of "
                    f"{target!r} ({where[word]}): map {variant!r} to {target!r}"
                )
    keys = list(variants)
    words = sorted({w for c in variants.values() for w in c.split(" ")})
    entries = [(fk, variants[k], where[k]) for k, fk in zip(keys, _fold_words(keys), strict=True)]
    entries += [(fw, w, f"canonical {w!r}") for w, fw in zip(words, _fold_words(words), strict=True)]
    out: dict[str, str] = {}
    origin: dict[str, str] = {}
    for key, canonical, source in entries:
        if key in out and out[key] != canonical:
            raise ValueError(
                f"{source}: spelled {key!r} once folded, which {origin[key]} maps to "
                f"{out[key]!r}, not {canonical!r}"
            )
        out[key] = canonical
        origin[key] = source
    # The words the positional rule writes, unless the dictionary already says what they become.
    positional = list(_POSITIONAL.values())
    for word, key in zip(positional, _fold_words(positional), strict=True):
        out.setdefault(key, word)
    return {k: v for k, v in out.items() if k != v}


@lru_cache(maxsize=1)
def _shipped() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    rows = _read_variants(VARIANTS_FILE)
    variants = {v: c for v, c, _ in rows}
    where = {v: w for v, _, w in rows}
    return variants, where, _compile(variants, where)


def load_variants(extra: str | Path | None = None) -> dict[str, str]:
    """Variant word -> canonical word(s): the shipped list, with `extra` (same CSV format)
    overriding and extending it. Raises ValueError naming the file and line of a bad row."""
    variants, where, _ = _shipped()
    if extra is None:
        return dict(variants)
    variants, where = dict(variants), dict(where)
    for v, c, w in _read_variants(Path(extra)):
        variants[v] = c
        where[v] = w
    _compile(variants, where)
    return variants


def _lookup(variants: dict[str, str] | None) -> dict[str, str]:
    if variants is None:
        return _shipped()[2]
    where = {v: f"variant {v!r}" for v in variants}
    for v, c in variants.items():
        _check_row(v, c, where[v])
    return _compile(variants, where)


# ---------------------------------------------------------------- the key

_TITLE_WORDS = tuple(t for t in PREFIX_TITLES if t != "ny") + HONORIFICS
_TITLES = _alternation(_TITLE_WORDS + tuple(_fold_words(list(_TITLE_WORDS))))
_NOBLES = _alternation(NOBLE_PREFIXES)
# Leading titles, before and after an optional noble prefix; each title is followed by a space,
# so the last word always stays (a name that is only a title is kept).
_LEADING_TITLES = (
    rf"^(?:(?:{_TITLES}) )+((?:{_NOBLES}) )?(?:(?:{_TITLES}) )*|^((?:{_NOBLES}) )(?:(?:{_TITLES}) )+"
)
_SPLIT_NOBLE = (
    r"(?-u:\b)(?:"
    + "|".join(f"({a}) ({b})" for a, b in _SPLIT_NOBLES)
    + r")(?-u:\b)"
)
_SPLIT_NOBLE_TO = "".join(f"${{{i}}}" for i in range(1, 2 * len(_SPLIT_NOBLES) + 1))
_POSITIONAL_FOLDED = tuple(_fold_words(list(_POSITIONAL.values())))
_INNER_CONNECTORS = rf"(?: (?:{_alternation(_CONNECTORS)}))+ "
# Names the word-order steps (3-6) can change; the others skip them.
_STRUCTURE = (
    rf"^(?:{_TITLES}|{_NOBLES}|{'|'.join(_POSITIONAL)}) "
    rf"|(?-u:\b)(?:{'|'.join(f'{a} {b}' for a, b in _SPLIT_NOBLES)})(?-u:\b)"
    rf"|{_INNER_CONNECTORS}"
)


def _structure_expr(expr: pl.Expr, lookup: dict[str, str]) -> pl.Expr:
    """Steps 3-6 on names whose words already went through the letters and the dictionary."""
    out = (
        expr.str.replace_all(_INNER_CONNECTORS, " ")
        .str.replace_all(_SPLIT_NOBLE, _SPLIT_NOBLE_TO)
        .str.replace(_LEADING_TITLES, "${1}${2}")
    )
    for (short, word), folded in zip(_POSITIONAL.items(), _POSITIONAL_FOLDED, strict=True):
        # What the dictionary makes of the word, so that the key stays a fixed point.
        word = lookup.get(folded, word)
        out = out.str.replace(rf"^((?:{_NOBLES}) )?(?:{short}) ", f"${{1}}{word} ")
    return out


def _keys(names: pl.Series, lookup: dict[str, str]) -> pl.Series:
    """Keys of one batch of names: the per-word steps (letters, dictionary) once per distinct
    word of the batch, the word-order steps only on the few names they can change."""
    names = names.cast(pl.String)
    frame = names.to_frame("n")
    vocab = frame.select(pl.col("n").str.split(" ").explode().drop_nulls().unique().alias("w"))
    vocab = vocab.with_columns(k=fold_letters_expr(pl.col("w")).replace(lookup)).filter(
        pl.col("w") != pl.col("k")
    )
    if vocab.height:
        out = frame.select(
            pl.col("n")
            .str.split(" ")
            .list.eval(pl.element().replace(vocab["w"], vocab["k"]))
            .list.join(" ")
        ).to_series()
    else:
        out = names.clone()
    rows = out.str.contains(_STRUCTURE).fill_null(False).arg_true()
    if len(rows):
        part = out.gather(rows).to_frame("n").select(_structure_expr(pl.col("n"), lookup))
        out = out.scatter(rows, part.to_series())
    return out.rename(names.name)


def match_name_expr(expr: pl.Expr, variants: dict[str, str] | None = None) -> pl.Expr:
    """Matching key of names already normalized by `normalize_name_expr`; null stays null.

    `variants` replaces the shipped dictionary (pass `load_variants(extra)` to extend it).
    Runs on whole batches (never a Python call per row); it is elementwise, so streaming and
    group contexts can split the column as they like.
    """
    lookup = _lookup(variants)
    return expr.map_batches(
        lambda names: _keys(names, lookup), return_dtype=pl.String, is_elementwise=True
    )


def match_name(text: str | None, variants: dict[str, str] | None = None) -> str:
    """The scalar form: `normalize_name` then `match_name_expr`; "" for None or empty."""
    normalized = normalize_name(text)
    if not normalized:
        return ""
    out = pl.Series("n", [normalized], dtype=pl.String).to_frame().select(
        match_name_expr(pl.col("n"), variants)
    ).item()
    return out or ""


def _sorted_words(keys: pl.Series) -> pl.Series:
    """Words of each key in alphabetical order. Sorting lists is slow in Polars, so a name of
    two words is swapped by one comparison and only longer names are sorted as lists."""
    out = keys.cast(pl.String).clone()
    spaces = out.str.count_matches(" ", literal=True)
    rows = (spaces == 1).fill_null(False).arg_true()
    if len(rows):
        two = out.gather(rows).to_frame("k").select(
            pl.when(pl.col("k").str.extract(r"^(\S*)") <= pl.col("k").str.extract(r"(\S*)$"))
            .then(pl.col("k"))
            .otherwise(pl.col("k").str.replace(r"^(\S*) (\S*)$", "$2 $1"))
        )
        out = out.scatter(rows, two.to_series())
    rows = (spaces > 1).fill_null(False).arg_true()
    if len(rows):
        # list.eval(sort) in a frame: the Series' list.sort is many times slower.
        more = out.gather(rows).to_frame("k").select(
            pl.col("k").str.split(" ").list.eval(pl.element().sort()).list.join(" ")
        )
        out = out.scatter(rows, more.to_series())
    return out


def name_parts_expr(key: pl.Expr) -> dict[str, pl.Expr]:
    """Parts of a matching key for blocking and comparison; nulls stay null.

    name_first / name_last: first and last word; name_sorted: the words in alphabetical order
    (names written in another order meet); name_initials: first letters of the words.
    """
    return {
        "name_first": key.str.extract(r"^(\S*)").alias("name_first"),
        "name_last": key.str.extract(r"(\S*)$").alias("name_last"),
        "name_sorted": key.map_batches(
            _sorted_words, return_dtype=pl.String, is_elementwise=True
        ).alias("name_sorted"),
        "name_initials": key.str.split(" ")
        .list.eval(pl.element().str.slice(0, 1))
        .list.join("")
        .alias("name_initials"),
    }
