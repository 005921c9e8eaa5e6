"""Person names as they come in lists, and the plain form used to compare them.

`normalize_name` only takes off the surface: case, accents, punctuation, spacing and
titles ("H. AHMAD FAUZI, S.Pd.I" -> "ahmad fauzi"). Respellings (Muhammad / M., oe / u)
belong to matching, not here.

The scalar and the Polars expression give the same result: the scalar runs the
expression on a one-row Series.
"""

import re

import polars as pl

# Titles that come before a name: religious, social and the academic ones written first.
PREFIX_TITLES = (
    "h", "hj", "hjh", "haji", "hajjah", "bpk", "bapak", "ibu", "tn", "ny", "sdr", "sdri",
    "alm", "almh", "almarhum", "almarhumah",
    "drs", "dra", "dr", "ir", "prof",
)
# Degrees written after a name (after punctuation became spaces: "S.Pd.I" -> "s pd i"),
# and the "almarhum" family, also written after ("Budi (Alm)").
SUFFIX_TITLES = (
    "s pd i", "spdi", "s pd", "spd", "s ag", "sag", "s e", "se", "s h", "sh",
    "s sos", "ssos", "s kom", "skom", "s t", "st", "s ip", "sip", "a md", "amd",
    "m pd", "mpd", "m si", "msi", "s kep", "skep", "s km", "skm",
    "alm", "almh", "almarhum", "almarhumah",
)
ALL_TITLES = tuple(dict.fromkeys(PREFIX_TITLES + SUFFIX_TITLES))


def _alternation(titles: tuple[str, ...]) -> str:
    # Longest first, so "s pd i" is tried before "s pd".
    return "|".join(re.escape(t) for t in sorted(titles, key=len, reverse=True))


_PREFIX = _alternation(PREFIX_TITLES)
_SUFFIX = _alternation(SUFFIX_TITLES)
_ANY = _alternation(ALL_TITLES)
# From a comma on, when everything after it is titles: ", s pd i", ", s pd , m pd".
_COMMA_TAIL = rf"(?: ?,(?: ?(?:{_ANY})(?-u:\b))* ?)"
# One pass removes, once punctuation is spaces and the text is stripped of spaces and commas:
# - leading titles, each followed by a space, so the last word is never taken: a name that
#   is only a title ("Haji") stays;
# - trailing degrees, each after a space, so the first word is never taken, and any comma
#   tails after them;
# - comma tails alone. The text never starts with a comma, so what is left is never empty.
_TITLES = rf"^(?:(?:{_PREFIX}),? )+|(?: (?:{_SUFFIX}))+{_COMMA_TAIL}*$|{_COMMA_TAIL}+$"


def clean_name(text: str | None) -> str:
    """Whitespace collapsed and stripped; the name is otherwise kept as written."""
    if text is None:
        return ""
    return " ".join(str(text).split())


def clean_name_expr(expr: pl.Expr) -> pl.Expr:
    """`clean_name` for a column (null stays null)."""
    return expr.str.replace_all(r"\s{2,}|[^\S ]", " ").str.strip_chars(" ")


def normalize_name_expr(expr: pl.Expr) -> pl.Expr:
    """Lowercase ASCII words without punctuation or titles; null stays null."""
    # NFKD only where there is something beyond ASCII (a masked entry costs nothing).
    ascii_only = expr.str.len_bytes() == expr.str.len_chars()
    folded = pl.coalesce(
        pl.when(~ascii_only).then(expr).str.normalize("NFKD").str.replace_all(r"[^\x00-\x7f]+", ""),
        expr,
    )
    # Each pattern matches only where there is something to change: Polars copies a string
    # it does not change much faster than it rebuilds one.
    return (
        folded.str.to_lowercase()
        .str.replace_all(r"[^a-z0-9,]*[^a-z0-9, ][^a-z0-9,]*| {2,}", " ")
        .str.strip_chars(" ,")
        .str.replace_all(_TITLES, "")
        .str.replace_all(r"[ ,]*,[ ,]*", " ")
        .str.strip_chars(" ")
    )


def normalize_name(text: str | None) -> str:
    """The scalar form of `normalize_name_expr`; "" for None."""
    if text is None:
        return ""
    out = pl.Series("n", [str(text)], dtype=pl.String).to_frame().select(
        normalize_name_expr(pl.col("n"))
    ).item()
    return out or ""
