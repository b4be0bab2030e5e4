"""Fingerprints: equality with datasketch, band keys, and the LSH parameters."""

from __future__ import annotations

import json

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import CleanConfig, Cleaner, ConfigError, DedupConfig
from dedupe.fingerprint import (
    KERNEL_MIN_CHARS,
    SCHEMES,
    Fingerprinter,
    char_shingle_hash32,
    jaccard_estimate,
    load_kernels,
    optimal_bands,
    permutations,
    shingle_hash32,
    shingles,
)
from dedupe.normalize import match_key, split_lines

from .conftest import ARTICLE, OTHER, SEEDS
from .test_cli import invoke

words = st.lists(st.sampled_from("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu "
                                 "über café 東京 ж 0".split()), min_size=8, max_size=60)


@given(words, st.integers(1, 5), st.sampled_from([16, 64, 128]), st.integers(0, 2**31))
@settings(max_examples=60, deadline=None)
def test_word_signatures_equal_datasketch(tokens, ngram, num_perm, seed):
    key = " ".join(tokens)
    fp = Fingerprinter(num_perm=num_perm, seed=seed, ngram=ngram, min_length=8, shingle="word", bands=1)
    ours = fp.fingerprint([key]).signatures[0]
    theirs = MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash32)
    theirs.update_batch(shingles(key, ngram, "word"))
    assert np.array_equal(ours, theirs.hashvalues)


@given(st.lists(st.text(min_size=20, max_size=200), min_size=1, max_size=5), st.integers(2, 8),
       st.sampled_from([16, 128]), st.integers(0, 2**31))
@settings(max_examples=60, deadline=None)
def test_char_signatures_equal_datasketch(texts, ngram, num_perm, seed):
    keys = [t for t in texts if len(t) >= 20]
    fp = Fingerprinter(num_perm=num_perm, seed=seed, ngram=ngram, min_length=20, bands=1)
    batch = fp.fingerprint(keys)
    for key, ours in zip(keys, batch.signatures):
        theirs = MinHash(num_perm=num_perm, seed=seed, hashfunc=char_shingle_hash32)
        theirs.update_batch(shingles(key, ngram, "char"))
        assert np.array_equal(ours, theirs.hashvalues)


def test_permutations_equal_datasketch():
    a, b = permutations(128, 7)
    reference = MinHash(num_perm=128, seed=7).permutations
    assert np.array_equal(a, reference[0]) and np.array_equal(b, reference[1])


def test_batch_results_do_not_depend_on_batch_composition():
    fp = Fingerprinter()
    texts = [match_key(f"paragraph number {i} with enough words to be fingerprinted here ok") * (1 + i % 400)
             for i in range(50)]
    whole = fp.fingerprint(texts)
    halves = [fp.fingerprint(texts[:17]), fp.fingerprint(texts[17:])]
    assert np.array_equal(whole.signatures, np.concatenate([h.signatures for h in halves]))
    assert np.array_equal(whole.bands, np.concatenate([h.bands for h in halves]))


def test_short_paragraphs_get_exact_hash_only():
    batch = Fingerprinter(min_length=20).fingerprint(["only five words", "one two three four five six seven eight"])
    assert batch.minhashed.tolist() == [False, True]
    assert batch.signatures.shape[0] == 1 and batch.exact.shape == (2,)


def test_signatures_feed_datasketch_lsh():
    fp = Fingerprinter(num_perm=128)
    base = "the quick brown fox jumps over the lazy dog near the river bank at dawn today"
    edited = base.replace("lazy", "sleepy")
    batch = fp.fingerprint([base, edited])
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    for name, sig in (("base", batch.signatures[0]), ("edited", batch.signatures[1])):
        lsh.insert(name, MinHash(num_perm=128, hashvalues=sig, scheme="affine32"))
    query = MinHash(num_perm=128, hashvalues=batch.signatures[1], scheme="affine32")
    assert "base" in lsh.query(query)
    assert jaccard_estimate(batch.signatures[0], batch.signatures[1]) > 0.5


def test_equal_signatures_give_equal_band_keys():
    fp = Fingerprinter(num_perm=64, bands=16)
    batch = fp.fingerprint(["a b c d e f g h i j k", "a b c d e f g h i j k", "k l m n o p q r s t u"])
    assert np.array_equal(batch.bands[0], batch.bands[1])
    assert not np.array_equal(batch.bands[0], batch.bands[2])


@pytest.mark.parametrize("threshold", [0.5, 0.6, 0.8])
def test_optimal_bands_divide_num_perm(threshold):
    bands, rows = optimal_bands(threshold, 128)
    assert bands * rows == 128
    # the S-curve's midpoint sits near the threshold
    assert abs((1 / bands) ** (1 / rows) - threshold) < 0.15


kernels_needed = pytest.mark.skipif(load_kernels() is None, reason="numba is not installed")
unicode_keys = st.lists(st.text(st.characters(codec="utf-8"), min_size=0, max_size=300), min_size=0, max_size=12)


@kernels_needed
@given(unicode_keys, st.integers(1, 8), st.sampled_from([16, 128, 320]), st.integers(0, 2**31),
       st.sampled_from(SCHEMES), st.sampled_from(["char", "word"]))
@settings(max_examples=120, deadline=None)
def test_compiled_kernels_equal_numpy(keys, ngram, num_perm, seed, scheme, shingle):
    made = {compiled: Fingerprinter(num_perm=num_perm, seed=seed, ngram=ngram, min_length=ngram, shingle=shingle,
                                    scheme=scheme, bands=num_perm // 8, compiled=compiled)
            for compiled in (False, True)}
    numpy, compiled = (made[flag].fingerprint(keys) for flag in (False, True))
    for field in ("exact", "minhashed", "signatures", "bands"):
        assert np.array_equal(getattr(numpy, field), getattr(compiled, field)), field


@kernels_needed
@given(st.lists(st.text(min_size=20, max_size=200), min_size=1, max_size=5), st.integers(2, 8), st.integers(0, 2**31))
@settings(max_examples=30, deadline=None)
def test_compiled_signatures_equal_datasketch(texts, ngram, seed):
    batch = Fingerprinter(seed=seed, ngram=ngram, compiled=True).fingerprint(texts)
    for key, ours in zip(texts, batch.signatures):
        theirs = MinHash(num_perm=128, seed=seed, hashfunc=char_shingle_hash32)
        theirs.update_batch(shingles(key, ngram, "char"))
        assert np.array_equal(ours, theirs.hashvalues)


def test_kernels_take_over_after_enough_characters():
    fp = Fingerprinter(num_perm=16)
    key = "a paragraph long enough to be fingerprinted " * 100
    first = fp.fingerprint([key])
    assert fp._chars_seen < KERNEL_MIN_CHARS
    many = fp.fingerprint([key] * (KERNEL_MIN_CHARS // len(key) + 1))
    assert fp._chars_seen >= KERNEL_MIN_CHARS
    assert np.array_equal(many.signatures[-1], first.signatures[0])


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_estimates_jaccard(scheme):
    rng = np.random.default_rng(5)
    alphabet = np.array(list("abcdefghij"))
    errors = []
    for _ in range(60):
        base = "".join(rng.choice(alphabet, 400))
        cut = int(rng.integers(0, 400))
        edited = base[:cut] + "".join(rng.choice(alphabet, int(rng.integers(0, 300)))) + base[cut + 100:]
        batch = Fingerprinter(scheme=scheme).fingerprint([base, edited])
        first, second = (set(shingles(k, 5, "char")) for k in (base, edited))
        exact = len(first & second) / len(first | second)
        errors.append(jaccard_estimate(batch.signatures[0], batch.signatures[1]) - exact)
    # 128 slots: the standard error of one estimate is at most 0.044
    assert abs(float(np.mean(errors))) < 0.02 and float(np.std(errors)) < 0.07


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="scheme must be one of"):
        Fingerprinter(scheme="simhash")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_clean_run_records_the_similarity_of_its_configured_scheme(scheme):
    edited = ARTICLE[1].replace("about 40,000 homes", "roughly 40,000 homes")
    docs = [{"id": "a", "text": "\n".join(ARTICLE)}, {"id": "b", "text": "\n".join([edited] + OTHER)}]
    cleaner = Cleaner(CleanConfig(dedup=DedupConfig(scheme=scheme)))
    (dup,) = [r for res in cleaner.run(docs) for r in res.removals if r.reason == "duplicate"]
    sig = Fingerprinter(scheme=scheme).fingerprint([match_key(ARTICLE[1]), match_key(edited)]).signatures
    assert dup.rule == "minhash" and dup.similarity == jaccard_estimate(sig[0], sig[1])


def test_the_scheme_option_gives_the_same_output_whatever_the_jobs(runner, tmp_path):
    outputs = []
    for jobs in (1, 2):
        out, rec = tmp_path / f"o{jobs}.jsonl", tmp_path / f"r{jobs}.jsonl"
        result = invoke(runner, "clean", SEEDS, "-o", out, "--removed", rec, "--jobs", jobs, "--scheme", "oph", "-q")
        assert result.exit_code == 0, result.output
        outputs.append((out.read_bytes(), rec.read_bytes()))
    assert outputs[0] == outputs[1]
    result = invoke(runner, "clean", SEEDS, "-o", tmp_path / "x.jsonl", "--scheme", "simhash", "-q")
    assert result.exit_code == 2 and "simhash" in result.output


@kernels_needed
@given(st.lists(st.text(max_size=12), max_size=8), st.integers(1, 6))
@settings(max_examples=80, deadline=None)
def test_shingle_kernel_hashes_each_window_and_skips_short_keys(keys, ngram):
    kernels = load_kernels()
    points = np.frombuffer("".join(keys).encode("utf-32-le"), dtype=np.uint32)
    starts = np.concatenate([[0], np.cumsum([len(k) for k in keys])]).astype(np.int64)
    expected = [char_shingle_hash32(key[i : i + ngram].encode("utf-8"))
                for key in keys for i in range(len(key) - ngram + 1)]
    assert kernels.char_shingle_hashes(points, starts, ngram).tolist() == expected


def test_the_defaults_are_the_configuration_defaults():
    d = DedupConfig()
    fp = Fingerprinter()
    assert (fp.num_perm, fp.seed, fp.ngram, fp.min_length, fp.shingle, fp.max_length) == (
        d.num_perm, d.seed, d.ngram, d.min_minhash_length, d.shingle, d.max_minhash_chars)
    assert (fp.bands, fp.rows) == optimal_bands(d.threshold, d.num_perm)
    assert fp.scheme == d.scheme


def test_lean_minhashes_are_datasketch_minhashes_and_find_the_same_candidates():
    """Signatures handed to datasketch index and query as datasketch's own do."""
    lines = [line for row in (SEEDS / "demo.jsonl").read_text(encoding="utf-8").splitlines()
             for line in split_lines(json.loads(row)["text"])]
    keys = list(dict.fromkeys(match_key(line) for line in lines))
    fp = Fingerprinter()
    ours, theirs = {}, {}
    for number, (key, lean) in enumerate(zip(keys, fp.lean_minhashes(keys))):
        if lean is None:
            assert not fp.fingerprint([key]).minhashed[0]
            continue
        reference = MinHash(num_perm=fp.num_perm, seed=fp.seed, hashfunc=char_shingle_hash32)
        reference.update_batch(shingles(key, fp.ngram, "char"))
        assert lean == LeanMinHash(reference)
        ours[number], theirs[number] = lean, reference
    assert len(ours) > 100
    indexes = []
    for signatures in (ours, theirs):
        lsh = MinHashLSH(threshold=DedupConfig().threshold, num_perm=fp.num_perm)
        for number, signature in signatures.items():
            lsh.insert(number, signature)
        indexes.append(lsh)
    found = [{number: sorted(lsh.query(signature)) for number, signature in signatures.items()}
             for lsh, signatures in zip(indexes, (ours, theirs))]
    assert found[0] == found[1]
    assert sum(len(candidates) > 1 for candidates in found[0].values()) > 0  # some lines have copies


def test_lean_minhashes_are_refused_for_signatures_datasketch_does_not_make():
    with pytest.raises(ConfigError, match="datasketch scheme"):
        Fingerprinter(scheme="oph").lean_minhashes(["storm ada floods harbour towns along the northern coast"])


#: Digests of a few fingerprints per hash scheme. The index records HASH_SCHEMES[scheme] and serves
#: only runs with the same one: arithmetic that changes fingerprints must come with a new name there
#: (and a new line here), or an index built before would silently mix two kinds of fingerprint.
FINGERPRINT_DIGESTS = {
    "char:fmix64-roll64|word:xxh3-64-roll64>fmix64-32/minhash:affine32/bands:xormul-fmix64/exact:xxh3-64":
        {"char": "97d725777e1449e2", "word": "077c2c5371aaa615"},
    "char:fmix64-roll64|word:xxh3-64-roll64>fmix64-32/minhash:oph-optimal-densification-v1"
    "/bands:xormul-fmix64/exact:xxh3-64":
        {"char": "79e1cfc99f577560", "word": "25727ffc43d0faf2"},
}


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=kernels_needed)])
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("shingle", ["char", "word"])
def test_the_fingerprints_are_the_ones_the_hash_scheme_names(shingle, scheme, compiled):
    import hashlib

    from dedupe.fingerprint import HASH_SCHEMES

    keys = ["storm ada floods harbour towns along the northern coast",
            "the council voted on tuesday to build new bike lanes", "short"]
    batch = Fingerprinter(shingle=shingle, min_length=5 if shingle == "word" else 20, threshold=0.5,
                          scheme=scheme, compiled=compiled).fingerprint(keys)
    digest = hashlib.sha256(batch.exact.tobytes() + batch.signatures.tobytes() + batch.bands.tobytes()).hexdigest()
    assert digest[:16] == FINGERPRINT_DIGESTS[HASH_SCHEMES[scheme]][shingle]


@kernels_needed
@given(st.integers(1, 300), st.sampled_from([(32, 4), (16, 8), (1, 128)]), st.integers(0, 2**31))
@settings(max_examples=40, deadline=None)
def test_a_band_key_from_the_kernels_is_numpys(count, layout, seed):
    from dedupe.fingerprint import band_key

    bands, rows = layout
    signatures = np.random.default_rng(seed).integers(0, 2**32, (count, bands * rows), dtype=np.uint32)
    numpy_keys = Fingerprinter(num_perm=bands * rows, bands=bands, compiled=False).band_keys(signatures)
    for band in {0, bands // 2, bands - 1}:
        assert np.array_equal(band_key(signatures, band, rows), numpy_keys[:, band])
