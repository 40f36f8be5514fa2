#!/usr/bin/env python3
"""Generates docgate's Estonian lemma lexicon (lexicon/et/lexicon.tsv) at
development time. Run once; the Rust side (examples/build_et_lexicon.rs) turns the
TSV into the committed FST. Needs `pip install estnltk` (Vabamorf) and the
Estonian hunspell word list (Debian myspell-et: /usr/share/hunspell/et_EE.dic).

Vocabulary: every word of the hunspell list, plus the words of the texts given as
arguments (directories, read recursively: .txt .eml .xml .md .json). Each word is
lemmatised by Vabamorf (no disambiguation; the word itself when it is one of
the analyses' lemmas, else a noun, an adjective, a verb, ... in that order). A
row is

    folded_form  strip  append  part1  part2

where the lemma is the (unfolded) form minus `strip` final characters plus
`append`, and part1/part2 are the lengths (characters) of the compound lemma's
last two heads ("lähisuhtevägivald" → 8 "vägivald", 4 "vald"), 0 when none.
Rows starting with "\\x01" are the suffix model for words not in the lexicon: the
reversed final letters of a form and the rule most forms ending so follow.
"""
import collections, os, re, sys
from estnltk.vabamorf.morf import Vabamorf

FOLD = {}
for src, dst in [("õöóòôø", "o"), ("äáàâåã", "a"), ("üúùû", "u"), ("š", "s"), ("ž", "z"), ("éèêë", "e"), ("íìîï", "i")]:
    for c in src:
        FOLD[ord(c)] = dst

def fold(s):
    return s.translate(FOLD)

WORD = re.compile(r"^[a-zõäöüšž]{2,40}$")
TOKEN = re.compile(r"[^\W\d_]+")
POS_ORDER = {p: i for i, p in enumerate("S A V H D K J P N G O Y X Z I C U".split())}

NOMINAL_FORMS = ["sg n", "sg g", "sg p", "sg ill", "sg in", "sg el", "sg all", "sg ad", "sg abl",
                 "sg tr", "sg ter", "sg es", "sg kom", "adt", "pl n", "pl g", "pl p", "pl ill", "pl in",
                 "pl el", "pl all", "pl ad", "pl abl", "pl tr", "pl kom"]
VERB_FORMS = ["ma", "da", "b", "s", "sid", "takse", "ti", "tud", "nud", "des", "vad", "gu", "v", "mata"]

def vocabulary(dic, dirs):
    words = set()
    with open(dic, encoding="iso-8859-15") as f:
        next(f)
        for line in f:
            w = line.split("/")[0].strip().lower()
            if WORD.match(w):
                words.add(w)
    for d in dirs:
        for root, _, files in os.walk(d):
            for name in files:
                if not name.endswith((".txt", ".eml", ".xml", ".md", ".json")):
                    continue
                with open(os.path.join(root, name), encoding="utf-8", errors="ignore") as f:
                    for t in TOKEN.findall(f.read()):
                        t = t.lower()
                        if WORD.match(t):
                            words.add(t)
    return sorted(words)

def choose(word, analyses):
    best = None
    for a in analyses:
        lemma = a["lemma"].lower()
        if not WORD.match(lemma):
            continue
        key = (lemma != word, POS_ORDER.get(a["partofspeech"], 99))
        if best is None or key < best[0]:
            best = (key, lemma, a["root_tokens"])
    return best

def parts(lemma, root_tokens):
    bounds, acc = [], ""
    for t in root_tokens[:-1]:
        acc += t.replace("=", "").replace("+", "").lower()
        if lemma.startswith(acc) and len(acc) >= 2:
            bounds.append(len(acc))
    lens = [len(lemma) - b for b in bounds if len(lemma) - b >= 4]
    lens = lens[-2:]
    while len(lens) < 2:
        lens.append(0)
    return min(lens[0], 63), min(lens[1], 63)

def main():
    dic, out, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    words = vocabulary(dic, dirs)
    print(f"{len(words)} words", file=sys.stderr)
    vm = Vabamorf.instance()
    rows = {}
    lemmas = {}
    for i in range(0, len(words), 20000):
        chunk = words[i:i + 20000]
        for w, r in zip(chunk, vm.analyze(chunk, guess=True, propername=False, disambiguate=False)):
            c = choose(w, r["analysis"])
            if c is None:
                continue
            _, lemma, root_tokens = c
            p = 0
            while p < min(len(w), len(lemma)) and w[p] == lemma[p]:
                p += 1
            strip, append = len(w) - p, lemma[p:]
            if strip > 63 or "\t" in append:
                continue
            p1, p2 = parts(lemma, root_tokens)
            pos = c[0][1]
            if lemma not in lemmas:
                lemmas[lemma] = ("SAV"[pos] if pos < 3 else "X", p1, p2)
            key = fold(w)
            # A folded key keeps the rule of the spelling without diacritics, else the first.
            if key not in rows or w == key:
                rows[key] = (strip, append, p1, p2)
    # Every case form of the nouns and adjectives, and the common verb forms,
    # synthesised from the lemmas found (Vabamorf's synthesis): the lexicon then
    # knows "ohvritele" and "identiteetide" though the word list had only "ohver".
    synth = 0
    for lemma, (pos, p1, p2) in sorted(lemmas.items()):
        for form in (NOMINAL_FORMS if pos in "SA" else VERB_FORMS if pos == "V" else ()):
            for w in vm.synthesize(lemma, form, pos):
                w = w.lower()
                if not WORD.match(w):
                    continue
                key = fold(w)
                if key in rows:
                    continue
                p = 0
                while p < min(len(w), len(lemma)) and w[p] == lemma[p]:
                    p += 1
                if len(w) - p > 63:
                    continue
                rows[key] = (len(w) - p, lemma[p:], p1, p2)
                synth += 1
    print(f"{synth} synthesised forms", file=sys.stderr)
    # The suffix model: final letters -> the rule most lexicon forms ending so follow.
    counts = collections.defaultdict(collections.Counter)
    for form, (strip, append, _, _) in rows.items():
        for k in range(1, 8):
            if len(form) <= k + 1 or strip > k:
                continue
            counts[form[-k:]][(strip, append)] += 1
    model = {}
    for k in range(1, 8):
        for suf, c in counts.items():
            if len(suf) != k:
                continue
            total = sum(c.values())
            rule, n = c.most_common(1)[0]
            if total < 5 or n / total < 0.5:
                continue
            parent = model.get(suf[1:]) if k > 1 else None
            if parent == rule:
                continue
            model[suf] = rule
    with open(out, "w", encoding="utf-8") as f:
        for form in sorted(rows):
            strip, append, p1, p2 = rows[form]
            f.write(f"{form}\t{strip}\t{append}\t{p1}\t{p2}\n")
        for suf in sorted(model):
            strip, append = model[suf]
            f.write(f"\x01{suf[::-1]}\t{strip}\t{append}\t0\t0\n")
    print(f"{len(rows)} forms, {len(model)} suffix rules", file=sys.stderr)

main()
