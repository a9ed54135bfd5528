#!/usr/bin/env python3
"""Peer benchmark: Python `datasketch` MinHash LSH on the labelled text corpus.

Runs the same corpus contract as `seal eval text` and prints datasketch's pages/s, precision and
recall, optionally next to ours (`--ours ours.json`, written by `seal eval text --json`).

Corpus contract (fixed, shared with `seal eval text`):

* ``--originals DIR``: registered works. ``.txt`` files hold a title on the first line and the body
  after it (both are indexed); ``.html`` files are pages like the queries.
* ``--queries DIR``: pages to check, ``.html`` or ``.txt``.
* ``--truth FILE``: a JSON object mapping each query file name to
  ``{"original": "<original file name>" | null, "kind": "<label>"}``. Other keys are ignored, and so
  are entries that are not objects with an ``original`` key. The per-kind label is ``kind``, else
  ``transform``, else ``"unlabelled"``.

Scoring (same as ours): a query is found when its best hit is the right original. A best hit on a
page whose truth is null, or on the wrong original, is a false positive. precision = TP / (TP + FP),
recall = TP / (queries whose original is not null), and recall per kind.

The pipeline mirrors our engine's front end so that only the matcher differs:

1. Visible text with lxml: ``script``, ``style``, ``noscript``, ``template`` and comments are
   dropped; block elements and ``<br>`` separate words. Bytes are decoded by the BOM, else the
   ``<meta charset>`` / ``http-equiv`` declaration (GBK and GB2312 are read as their superset
   GB18030), else UTF-8, else GB18030.
2. NFKC, then casefold.
3. Tokens: each character of a CJK run (Han, Hiragana, Katakana, Hangul) is a token; elsewhere a
   token is a maximal run of letters, digits and combining marks (Python's ``\\w`` without ``_``,
   plus Unicode category M, so that Indic vowel signs do not split words).
4. Shingles: every window of 5 consecutive tokens (a text with fewer tokens is one shingle), as a
   set; MinHash with 128 permutations (datasketch's default SHA-1 hashing, ``update_batch``).

Two configurations, both with 128 permutations:

* ``lsh``: ``MinHashLSH(threshold=0.5)``. The best hit is the candidate with the highest MinHash
  estimate of Jaccard similarity (``MinHash.jaccard``).
* ``ensemble``: ``MinHashLSHEnsemble(threshold=0.1, num_part=32)``, a containment query of the
  whole page; the originals are indexed with their shingle-set sizes. The best hit is the candidate
  with the highest estimated containment of the page in the original,
  ``c = J * (|Q| + |X|) / ((1 + J) * |Q|)`` (capped at 1), where J is the MinHash Jaccard estimate,
  |Q| the page's shingle count and |X| the original's.

By default every candidate the index returns is eligible, as LSH returns it. ``--verify`` keeps
only candidates whose estimate (Jaccard for ``lsh``, containment for ``ensemble``) reaches the
configuration's threshold, which is how LSH is usually deployed; it trades recall for precision.

Timing: all files are read into memory first. The timed path per query page is extraction,
normalisation, shingling, MinHash and the index query, just as ours; building the index of the
originals is timed and reported separately. Each configuration runs the whole query pass on its
own, so its pages/s includes the shared front end. Pin the process to one core (``taskset -c 0``)
to compare with ours.

Usage::

    python text_datasketch.py --originals DIR --queries DIR --truth truth.json \\
        [--ours ours.json] [--json] [--verify] [--config lsh|ensemble ...]
"""

from __future__ import annotations

import argparse
import codecs
import json
import re
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import datasketch
import lxml
import lxml.etree
import lxml.html
from datasketch import MinHash, MinHashLSH, MinHashLSHEnsemble

NUM_PERM = 128
SHINGLE = 5
SEED = 1

# ---------------------------------------------------------------------------------------------
# Decoding and visible-text extraction
# ---------------------------------------------------------------------------------------------

# Charset declarations are looked for in the first bytes only, as browsers do (they prescan 1024;
# we allow a little more for pages with long heads).
PRESCAN = 4096
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
# Labels whose superset is the safe reading (WHATWG maps gb2312/gbk to GBK; GB18030 decodes both).
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "iso-8859-1": "cp1252",  # WHATWG: latin1 labels mean windows-1252
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}

DROPPED_ELEMENTS = ("script", "style", "noscript", "template")
# Elements that break words apart: their text must not run into their neighbours'.
BLOCK_ELEMENTS = frozenset((
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4",
    "h5", "h6", "head", "header", "hr", "html", "li", "main", "nav", "ol", "option", "p", "pre",
    "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "title", "tr", "ul",
))
HTML_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)


def declared_charset(data: bytes) -> str | None:
    """The Python codec named by a BOM or a <meta> charset declaration, if it is one Python knows."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    match = META_CHARSET.search(data[:PRESCAN])
    if not match:
        return None
    label = match.group(1).decode("ascii", "replace").lower()
    label = CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode(data: bytes, honour_meta: bool) -> str:
    """Bytes to text: declared charset, else UTF-8, else GB18030, else UTF-8 with replacements."""
    tried = []
    if honour_meta or data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        declared = declared_charset(data)
        if declared:
            tried.append(declared)
    tried += ["utf-8", "gb18030"]
    for codec in tried:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", "replace")


def html_text(data: bytes) -> str:
    """The visible text of an HTML page, one space or newline between blocks."""
    text = XML_DECL.sub("", decode(data, honour_meta=True), count=1)
    if not text.strip():
        return ""
    try:
        root = lxml.html.document_fromstring(text, parser=HTML_PARSER)
    except (lxml.etree.ParserError, ValueError):
        return ""
    lxml.etree.strip_elements(root, *DROPPED_ELEMENTS, with_tail=False)
    parts = []
    for event, element in lxml.etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            if element.tag in BLOCK_ELEMENTS:
                parts.append("\n")
            if element.text:
                parts.append(element.text)
        else:
            if element.tag in BLOCK_ELEMENTS:
                parts.append("\n")
            if element.tail and element is not root:
                parts.append(element.tail)
    return "".join(parts)


def page_text(name: str, data: bytes) -> str:
    """Visible text of a corpus file: `.txt` is plain text (title line and body), the rest HTML."""
    if name.lower().endswith(".txt"):
        return decode(data, honour_meta=False)
    return html_text(data)


# ---------------------------------------------------------------------------------------------
# Normalisation, tokens, shingles, MinHash
# ---------------------------------------------------------------------------------------------

# CJK scripts whose characters are tokens on their own: Han (incl. radicals, ideographic
# iteration/number marks, compatibility and extension blocks), Hiragana, Katakana (incl. phonetic
# extensions and halfwidth forms) and Hangul (jamo, compatibility jamo, syllables).
CJK = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u2e80-\u2fdf"  # CJK radicals, Kangxi radicals
    "\u3005\u3007\u3021-\u3029\u3038-\u303b"  # Han marks and numerals
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u3130-\u318f"  # Hangul compatibility jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul jamo extended A
    "\uac00-\ud7ff"  # Hangul syllables, jamo extended B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # halfwidth Katakana
    "\uffa0-\uffdc"  # halfwidth Hangul
    "\U0001b000-\U0001b16f"  # Kana supplement / extended A
    "\U00020000-\U0003134f"  # CJK extensions B-G, compatibility supplement
)


def _mark_ranges() -> str:
    """A regex class body of every combining mark (category M), which ``\\w`` leaves out."""
    ranges, start, prev = [], None, None
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code))[0] == "M":
            if start is None:
                start = code
            prev = code
        elif start is not None:
            ranges.append(f"\\U{start:08x}-\\U{prev:08x}")
            start = None
    return "".join(ranges)


MARKS = _mark_ranges()
TOKEN = re.compile(f"[{CJK}]|(?:[^\\W_{CJK}]|[{MARKS}])+")


def tokens(text: str) -> list[str]:
    """NFKC + casefold, then word tokens outside CJK and one token per CJK character."""
    return TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def shingles(toks: list[str]) -> set[bytes]:
    """The set of 5-token shingles (one shingle for a shorter, non-empty text), as UTF-8 bytes."""
    if not toks:
        return set()
    if len(toks) < SHINGLE:
        return {"\x1f".join(toks).encode("utf-8")}
    return {"\x1f".join(toks[i : i + SHINGLE]).encode("utf-8") for i in range(len(toks) - SHINGLE + 1)}


def sketch(shingle_set: set[bytes]) -> MinHash:
    """A 128-permutation MinHash of a shingle set."""
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch(shingle_set)
    return minhash


@dataclass
class Doc:
    """One fingerprinted file: its MinHash and shingle count (None when it has no text)."""

    minhash: MinHash | None
    size: int


def fingerprint(name: str, data: bytes) -> Doc:
    """Extraction, normalisation, shingling and MinHash of one file."""
    shingle_set = shingles(tokens(page_text(name, data)))
    if not shingle_set:
        return Doc(None, 0)
    return Doc(sketch(shingle_set), len(shingle_set))


# ---------------------------------------------------------------------------------------------
# The two configurations
# ---------------------------------------------------------------------------------------------


def containment(jaccard: float, query_size: int, original_size: int) -> float:
    """Estimated |Q ∩ X| / |Q| from the Jaccard estimate and the two set sizes."""
    if query_size == 0:
        return 0.0
    estimate = jaccard * (query_size + original_size) / ((1.0 + jaccard) * query_size)
    return min(1.0, estimate)


class LshConfig:
    """MinHashLSH(threshold=0.5): best hit by estimated Jaccard."""

    name = "lsh"
    threshold = 0.5
    describe = f"MinHashLSH(threshold=0.5, num_perm={NUM_PERM}); best = max MinHash Jaccard"

    def __init__(self, originals: dict[str, Doc]):
        self.originals = originals
        self.index = MinHashLSH(threshold=self.threshold, num_perm=NUM_PERM)
        for key, doc in originals.items():
            if doc.minhash is not None:
                self.index.insert(key, doc.minhash)

    def best(self, doc: Doc, verify: bool) -> str | None:
        if doc.minhash is None:
            return None
        scored = [(doc.minhash.jaccard(self.originals[key].minhash), key) for key in self.index.query(doc.minhash)]
        if verify:
            scored = [(score, key) for score, key in scored if score >= self.threshold]
        # Highest score; ties go to the smallest name so runs are repeatable.
        return min(scored, key=lambda sk: (-sk[0], sk[1]))[1] if scored else None


class EnsembleConfig:
    """MinHashLSHEnsemble(threshold=0.1, num_part=32) containment query: best by containment."""

    name = "ensemble"
    threshold = 0.1
    describe = (
        f"MinHashLSHEnsemble(threshold=0.1, num_perm={NUM_PERM}, num_part=32); "
        "best = max estimated containment J(|Q|+|X|)/((1+J)|Q|)"
    )

    def __init__(self, originals: dict[str, Doc]):
        self.originals = originals
        self.index = MinHashLSHEnsemble(threshold=self.threshold, num_perm=NUM_PERM, num_part=32)
        entries = [(key, doc.minhash, doc.size) for key, doc in originals.items() if doc.minhash is not None]
        if entries:
            self.index.index(entries)
        self.empty = not entries

    def best(self, doc: Doc, verify: bool) -> str | None:
        if doc.minhash is None or self.empty:
            return None
        scored = []
        for key in set(self.index.query(doc.minhash, doc.size)):
            original = self.originals[key]
            score = containment(doc.minhash.jaccard(original.minhash), doc.size, original.size)
            if not verify or score >= self.threshold:
                scored.append((score, key))
        return min(scored, key=lambda sk: (-sk[0], sk[1]))[1] if scored else None


CONFIGS: dict[str, Callable[[dict[str, Doc]], LshConfig | EnsembleConfig]] = {
    "lsh": LshConfig,
    "ensemble": EnsembleConfig,
}

# ---------------------------------------------------------------------------------------------
# Corpus, truth and scoring
# ---------------------------------------------------------------------------------------------


@dataclass
class Truth:
    """What truth.json says about one query."""

    original: str | None
    kind: str


def load_truth(path: Path) -> dict[str, Truth]:
    """truth.json, read exactly as `seal eval text` reads it."""
    value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        sys.exit(f"{path} must hold a JSON object mapping query names to truth entries")
    truth = {}
    for query, entry in value.items():
        if not isinstance(entry, dict) or "original" not in entry:
            continue
        original = entry["original"]
        if original is not None and not isinstance(original, str):
            sys.exit(f'truth for {query}: "original" must be a string or null, not {original!r}')
        kind = next(
            (entry[key] for key in ("kind", "transform") if isinstance(entry.get(key), str)), "unlabelled"
        )
        truth[query] = Truth(original, kind)
    return truth


def read_dir(path: Path) -> list[tuple[str, bytes]]:
    """Every regular, non-hidden file of a folder, sorted by name, read into memory."""
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        sys.exit(f"{path} holds no files")
    return [(p.name, p.read_bytes()) for p in files]


@dataclass
class Tally:
    """Correct and wrong best hits over a corpus (the same rules as ours)."""

    tp: int = 0
    fp: int = 0
    positives: int = 0
    per_kind: dict[str, list[int]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    def record(self, query: str, truth: Truth, best: str | None) -> None:
        if truth.original is not None:
            self.positives += 1
            slot = self.per_kind.setdefault(truth.kind, [0, 0])
            slot[1] += 1
            if best == truth.original:
                self.tp += 1
                slot[0] += 1
                return
        if best is not None:
            self.fp += 1
        if best is not None or truth.original is not None:
            expected = truth.original or "nothing"
            self.misses.append(f"{query}: expected {expected}, best hit {best or 'nothing'} ({truth.kind})")

    def scores(self) -> dict:
        def ratio(a: int, b: int) -> float:
            return 1.0 if b == 0 else a / b

        precision = ratio(self.tp, self.tp + self.fp)
        recall = ratio(self.tp, self.positives)
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        return {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "false_positives": self.fp,
            "per_kind": {k: {"recall": ratio(f, n), "n": n} for k, (f, n) in sorted(self.per_kind.items())},
        }


def run_config(make, originals, queries, truth, verify):
    """Builds one configuration's index, then times the query pass. Returns its report."""
    started = time.perf_counter()
    docs = {name: fingerprint(name, data) for name, data in originals}
    config = make(docs)
    build_seconds = time.perf_counter() - started

    tally = Tally()
    query_bytes = 0
    seconds = 0.0
    for name, data in queries:
        started = time.perf_counter()
        best = config.best(fingerprint(name, data), verify)
        seconds += time.perf_counter() - started
        query_bytes += len(data)
        tally.record(name, truth[name], best)

    report = tally.scores()
    report.update(
        {
            "pages": len(queries),
            "seconds": seconds,
            "pages_per_s": len(queries) / seconds if seconds > 0 else float("inf"),
            "mb_per_s": query_bytes / 1e6 / seconds if seconds > 0 else float("inf"),
            "index_originals": len(originals),
            "index_seconds": build_seconds,
            "verify": verify,
            "config": config.describe,
        }
    )
    return report, tally.misses


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def print_report(name: str, report: dict, misses: list[str], show_misses: int) -> None:
    print(f"== datasketch {name}: {report['config']}{' (verified)' if report['verify'] else ''}")
    print(f"pages            {report['pages']}")
    print(f"pages/s          {report['pages_per_s']:.1f}   ({report['mb_per_s']:.2f} MB/s, {report['seconds']:.3f} s)")
    print(f"index build      {report['index_seconds']:.3f} s for {report['index_originals']} originals")
    print(f"precision        {report['precision']:.4f}")
    print(f"recall           {report['recall']:.4f}")
    print(f"f1               {report['f1']:.4f}")
    print(f"false positives  {report['false_positives']}")
    print(f"{'kind':<24} {'recall':>8} {'n':>6}")
    for kind, kr in report["per_kind"].items():
        print(f"{kind:<24} {kr['recall']:>8.4f} {kr['n']:>6}")
    if show_misses and misses:
        print(f"misses and false positives ({len(misses)}):")
        for miss in misses[:show_misses]:
            print(f"  {miss}")
    print()


def comparison(ours: dict, theirs: dict) -> dict:
    """Our figures against one configuration's: speed ratio and accuracy differences."""
    ours_speed, their_speed = ours.get("pages_per_s"), theirs["pages_per_s"]
    speed = ours_speed / their_speed if ours_speed and their_speed else None
    return {
        "speed_ratio": speed,
        "precision_delta": ours["precision"] - theirs["precision"],
        "recall_delta": ours["recall"] - theirs["recall"],
        "f1_delta": ours["f1"] - theirs["f1"],
        "false_positives_delta": ours["false_positives"] - theirs["false_positives"],
    }


def print_side_by_side(ours: dict, reports: dict[str, dict]) -> None:
    names = list(reports)
    width = 14
    print("== ours vs datasketch (ratio = our pages/s / theirs; deltas = ours - theirs)")
    header = f"{'':<22}{'ours':>{width}}" + "".join(f"{n:>{width}}" for n in names)
    print(header)

    def row(label, fmt, get_ours, get_theirs):
        cells = f"{label:<22}{fmt(get_ours(ours)):>{width}}"
        cells += "".join(f"{fmt(get_theirs(reports[n])):>{width}}" for n in names)
        print(cells)

    def num(fmt):
        return lambda v: "-" if v is None else format(v, fmt)

    row("pages/s", num(".1f"), lambda r: r.get("pages_per_s"), lambda r: r["pages_per_s"])
    row("precision", num(".4f"), lambda r: r["precision"], lambda r: r["precision"])
    row("recall", num(".4f"), lambda r: r["recall"], lambda r: r["recall"])
    row("f1", num(".4f"), lambda r: r["f1"], lambda r: r["f1"])
    row("false positives", num("d"), lambda r: r["false_positives"], lambda r: r["false_positives"])
    kinds = sorted(set(ours.get("per_kind", {})) | {k for r in reports.values() for k in r["per_kind"]})
    for kind in kinds:
        row(
            f"recall {kind}"[:21],
            num(".4f"),
            lambda r, k=kind: r.get("per_kind", {}).get(k, {}).get("recall"),
            lambda r, k=kind: r["per_kind"].get(k, {}).get("recall"),
        )
    print()
    print(f"{'vs':<22}{'speed ×':>{width}}{'Δprecision':>{width}}{'Δrecall':>{width}}{'Δf1':>{width}}{'ΔFP':>{width}}")
    for name in names:
        c = comparison(ours, reports[name])
        speed = "-" if c["speed_ratio"] is None else f"{c['speed_ratio']:.2f}x"
        print(
            f"{name:<22}{speed:>{width}}{c['precision_delta']:>+{width}.4f}{c['recall_delta']:>+{width}.4f}"
            f"{c['f1_delta']:>+{width}.4f}{c['false_positives_delta']:>+{width}d}"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--originals", type=Path, required=True, help="folder of registered originals")
    parser.add_argument("--queries", type=Path, required=True, help="folder of query pages")
    parser.add_argument("--truth", type=Path, required=True, help="truth.json")
    parser.add_argument("--ours", type=Path, help="JSON from `seal eval text --json`, to compare against")
    parser.add_argument("--json", action="store_true", help="print one JSON object keyed by configuration")
    parser.add_argument("--verify", action="store_true", help="drop candidates whose estimate is under the threshold")
    parser.add_argument("--config", action="append", choices=list(CONFIGS), help="run only these configurations")
    parser.add_argument("--misses", type=int, default=0, metavar="N", help="list up to N misses per configuration")
    args = parser.parse_args()

    truth = load_truth(args.truth)
    originals = read_dir(args.originals)
    all_queries = read_dir(args.queries)
    queries = [(name, data) for name, data in all_queries if name in truth]
    unlabelled = len(all_queries) - len(queries)
    missing = sorted(set(truth) - {name for name, _ in all_queries})
    if unlabelled:
        print(f"note: {unlabelled} query files have no truth entry and are skipped", file=sys.stderr)
    if missing:
        print(f"note: {len(missing)} truth entries have no query file, e.g. {missing[0]}", file=sys.stderr)
    if not queries:
        sys.exit("no query file has a truth entry")

    ours = json.loads(args.ours.read_text(encoding="utf-8")) if args.ours else None
    reports, misses = {}, {}
    for name in args.config or list(CONFIGS):
        reports[name], misses[name] = run_config(CONFIGS[name], originals, queries, truth, args.verify)
        if ours is not None:
            reports[name]["vs_ours"] = comparison(ours, reports[name])

    # The physical reference: lxml (C) extracting visible text, nothing else, best of three passes.
    extract_seconds = min(_time_extraction(queries) for _ in range(3))
    lxml_pages_per_s = len(queries) / extract_seconds

    if args.json:
        reports["lxml_extraction_pages_per_s"] = lxml_pages_per_s
        json.dump(reports, sys.stdout, indent=2)
        print()
        return
    print(
        f"datasketch {datasketch.__version__}, lxml {lxml.__version__}, Python {sys.version.split()[0]}; "
        f"{len(originals)} originals, {len(queries)} queries"
    )
    print()
    for name, report in reports.items():
        print_report(name, report, misses[name], args.misses)
    print(f"lxml extraction alone: {lxml_pages_per_s:,.0f} pages/s")
    if ours is not None:
        print(f"ours (extraction + fingerprinting + matching) / lxml extraction alone: "
              f"{ours['pages_per_s'] / lxml_pages_per_s:.2f}x")
        print_side_by_side(ours, reports)


def _time_extraction(queries: list[tuple[str, bytes]]) -> float:
    started = time.perf_counter()
    for name, data in queries:
        page_text(name, data)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
