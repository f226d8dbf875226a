"""Regenerate ``data/wordnet_synonyms.json.gz`` from WordNet 3.0.

One-off build step, not needed at run time: ``core.data.text_edits`` only reads the
committed table, so augmentation works offline on any machine without nltk
or WordNet installed.

WordNet is read with nltk from the Debian packages ``wordnet-base`` and
``wordnet-sense-index`` (NLTK's own downloader needs a server we may not
reach). The dictionary files are copied into a temporary nltk corpus folder
together with a generated ``lexnames`` file, and that folder is put on
``nltk.data.path``.

Usage::

    apt-get install -y wordnet-base wordnet-sense-index   # once, as root
    .venv/bin/python scripts/build_synonyms.py [--install] [--out PATH]

The output is deterministic: the same WordNet files give the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WORDNET_SRC = Path("/usr/share/wordnet")
DEBIAN_PACKAGES = ("wordnet-base", "wordnet-sense-index")
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "data" / "wordnet_synonyms.json.gz"
MAX_SYNONYMS = 8

# Words kept in the table: lower-case letters, optionally joined by one
# hyphen or apostrophe ("well-made", "o'clock"); at least two letters.
WORD_RE = re.compile(r"^[a-z]+(?:[-'][a-z]+)*$")

# Function words are never replaced: WordNet maps them to unrelated senses
# ("a" -> "ampere", "in" -> "inch", "can" -> "toilet"). This is the stop word
# list used by the reference EDA implementation (Wei & Zou 2019).
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves
    he him his himself she her hers herself it its itself they them their
    theirs themselves what which who whom this that these those am is are was
    were be been being have has had having do does did doing a an the and but
    if or because as until while of at by for with about against between into
    through during before after above below to from up down in out on off over
    under again further then once here there when where why how all any both
    each few more most other some such no nor not only own same so than too
    very s t can will just don should now""".split()
)

# The 45 WordNet lexicographer files (man 5 lexnames): number, name and
# syntactic category (1 noun, 2 verb, 3 adjective, 4 adverb).
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact "
    "noun.attribute noun.body noun.cognition noun.communication noun.event "
    "noun.feeling noun.food noun.group noun.location noun.motive noun.object "
    "noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance "
    "noun.time verb.body verb.change verb.cognition verb.communication "
    "verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social "
    "verb.stative verb.weather adj.ppl"
).split()
CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

# Order of parts of speech when two senses are equally frequent.
POS_ORDER = {"a": 0, "s": 0, "n": 1, "v": 2, "r": 3}


def lexnames_text() -> str:
    """The ``lexnames`` file nltk expects, which Debian does not ship."""
    assert len(LEXNAMES) == 45
    lines = [
        f"{i:02d}\t{name}\t{CATEGORY[name.split('.')[0]]}"
        for i, name in enumerate(LEXNAMES)
    ]
    return "\n".join(lines) + "\n"


def ensure_wordnet_files(install: bool) -> None:
    """Make sure the Debian WordNet files exist; install them if asked."""
    needed = [WORDNET_SRC / "data.noun", WORDNET_SRC / "index.sense",
              WORDNET_SRC / "cntlist.rev"]
    if all(p.exists() for p in needed):
        return
    if install:
        subprocess.run(["apt-get", "install", "-y", *DEBIAN_PACKAGES], check=True)
        if all(p.exists() for p in needed):
            return
    sys.exit(
        "WordNet 3.0 files are missing from /usr/share/wordnet. Install them with\n"
        f"    apt-get install -y {' '.join(DEBIAN_PACKAGES)}\n"
        "or rerun this script as root with --install."
    )


def make_corpus(root: Path) -> None:
    """Lay out ``root/corpora/wordnet`` the way nltk's reader wants it."""
    target = root / "corpora" / "wordnet"
    target.mkdir(parents=True)
    patterns = ("*.exc", "data.*", "index.*", "cntlist.rev")
    for pattern in patterns:
        for src in sorted(WORDNET_SRC.glob(pattern)):
            shutil.copy(src, target / src.name)
    (target / "lexnames").write_text(lexnames_text(), encoding="ascii")


def load_wordnet(root: Path):
    """Return nltk's WordNet reader over the corpus laid out in ``root``."""
    import nltk

    nltk.data.path.insert(0, str(root))
    from nltk.corpus import wordnet

    wordnet.ensure_loaded()
    if wordnet.get_version() != "3.0":
        sys.exit(f"expected WordNet 3.0, found {wordnet.get_version()}")
    return wordnet


def is_candidate(word: str) -> bool:
    """Whether ``word`` may be a key or a synonym in the table."""
    return bool(WORD_RE.match(word)) and len(word) > 1 and word not in STOP_WORDS


def synonyms_of(wordnet, word: str) -> list[str]:
    """Single-word synonyms of ``word``, most useful first.

    Senses are ordered by how often ``word`` is tagged with that sense in
    SemCor (``cntlist.rev``), so the common meaning ("good" as adjective)
    comes before rare ones ("good" as commodity); ties keep part-of-speech
    and WordNet's own order. Within a sense, lemmas are ordered by their own
    tag count. Proper nouns (capitalised lemmas), multiword lemmas and the
    word itself are dropped.
    """
    senses = wordnet.lemmas(word)
    ranked = sorted(
        enumerate(senses),
        key=lambda item: (-item[1].count(), POS_ORDER[item[1].synset().pos()], item[0]),
    )
    found: list[str] = []
    for _, sense in ranked:
        lemmas = sorted(
            enumerate(sense.synset().lemmas()),
            key=lambda item: (-item[1].count(), item[0]),
        )
        for _, lemma in lemmas:
            name = lemma.name()
            if name != name.lower() or name == word or name in found:
                continue
            if is_candidate(name):
                found.append(name)
    return found[:MAX_SYNONYMS]


def build_table(wordnet) -> dict[str, list[str]]:
    """Map every single lower-case WordNet word that has synonyms to them."""
    words = sorted({w for w in wordnet.all_lemma_names() if is_candidate(w)})
    table: dict[str, list[str]] = {}
    for word in words:
        synonyms = synonyms_of(wordnet, word)
        if synonyms:
            table[word] = synonyms
    return table


def write_table(table: dict[str, list[str]], out: Path) -> None:
    """Write compact JSON, gzip'ed with a fixed timestamp for stable bytes."""
    payload = json.dumps(table, ensure_ascii=True, sort_keys=True,
                         separators=(",", ":")).encode("ascii")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer,
                       compresslevel=9, mtime=0) as handle:
        handle.write(payload)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    """Build the table and report its size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--install", action="store_true",
                        help="apt-get install the WordNet packages if missing")
    args = parser.parse_args(argv)

    ensure_wordnet_files(args.install)
    with tempfile.TemporaryDirectory(prefix="wordnet-") as tmp:
        make_corpus(Path(tmp))
        wordnet = load_wordnet(Path(tmp))
        table = build_table(wordnet)
    write_table(table, args.out)
    pairs = sum(len(v) for v in table.values())
    print(f"wrote {args.out}: {len(table)} words, {pairs} synonyms, "
          f"{args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
