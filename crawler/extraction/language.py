"""Language of an article: the declared language, checked against the text.

A small built-in detector, with no model files and no dependency: the writing system decides
for non-Latin scripts (Cyrillic, Arabic, CJK, Greek, Hebrew, Indic, Thai...), and for Latin-script
text the share of each language's most frequent function words decides. It is meant to confirm or
overturn a declaration (CMS templates often say ``lang="en"`` on pages in other languages), not to
tell apart closely related languages: within one :data:`_CLOSE` group the declaration is kept.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter

_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?")
_SAMPLE_CHARS = 4000
_SCRIPT_SAMPLE_CHARS = 1500
_ASCII_LETTER = re.compile("[A-Za-z]")
_LETTER = re.compile(r"[^\W\d_]")
_MIN_WORDS = 15
_MIN_SHARE = 0.10  # share of the text's words that are the winner's function words
_MIN_LEAD = 1.5  # the winner's share over the runner-up's
_MIN_DISTINCT = 4  # different function words of the winner seen: "na" and "za" alone prove nothing

_FUNCTION_WORDS: dict[str, str] = {
    "en": "the of and to in a is that for it on was with he as at by be this are from have or an "
    "they which you were his her has had not but been their its will would who said there",
    "fr": "le la les de des du et est un une que qui dans pour pas sur au aux il elle ce cette "
    "avec par plus sont ont été son sa ses mais ou nous vous leur entre aussi comme été",
    "de": "der die das und ist ein eine nicht zu den von mit sich des auf für im dem auch es "
    "wird sie als an bei nach aus wie noch werden hat sind oder einer durch wurde",
    "es": "el la los las de del y en que un una es por para con no se su al lo como más pero "
    "sus le ya fue este esta entre cuando muy sin sobre también hay son ha",
    "pt": "o a os as de do da dos das e em um uma que é para com não no na nos nas por se mais "
    "como mas foi ao ele ela seu sua ou ser quando muito também já está são",
    "it": "il lo la i gli le di del della dei delle e è un una che per non in con si da al "
    "alla come più ma anche sono ha nel nella questo questa essere stato",
    "nl": "de het een en van is dat op te in voor niet met zijn er aan ook als maar bij door "
    "om dan nog werd worden heeft hij zij dit deze wordt naar",
    "sv": "och att det som en på är av för med till den har de inte om ett var jag men så "
    "från kan vid eller sig efter också hade när över",
    "da": "og i at det er en af til på som med for den de ikke har et var jeg men så fra kan "
    "ved eller sig efter også havde når over blev",
    "nb": "og i det er en av til på som med for den de ikke har et var jeg men så fra kan "
    "ved eller seg etter også hadde når over ble",
    "fi": "ja on ei se että oli hän mutta kun ovat myös tai jos niin kuin joka sen hänen "
    "ole vain nyt mukaan olla sitten jo vielä",
    "pl": "i w nie na się z do że to jest jak po o ale od za co przez tak jego już czy dla "
    "być był tylko może są jej tego oraz",
    "cs": "a v se na je že to s z do o jako ale by pro jsou jeho už jak po tak nebo které "
    "který byl jsem také být když jen",
    "ro": "și în de la a cu pe că nu este un o din pentru care se mai sunt ca dar fost "
    "lui au prin acest această sau ale",
    "hu": "a az és hogy nem is egy van meg de ez volt csak még már mint ki el azt ha mert "
    "vagy lesz pedig kell nagyon után",
    "tr": "ve bir bu da de için ile çok olarak daha olan gibi ne ama en o kadar sonra her "
    "var değil ise mi şey göre ancak",
    "id": "yang dan di itu dengan untuk tidak ini dari dalam akan pada juga saya ke karena "
    "ada oleh mereka bisa atau sudah kita telah lebih",
    "ca": "el la els les de del i que en un una és per amb no es als al com més però hi "
    "seu seva també són ha va aquest aquesta",
    "vi": "của và là các có được trong cho không này những với một người đã khi để đến từ như thì nhiều cũng về sẽ",
}
_WORDS = {code: frozenset(words.split()) for code, words in _FUNCTION_WORDS.items()}
# Declarations inside one group are never overturned: the detector does not separate them.
_CLOSE = (
    frozenset({"da", "nb", "nn", "no"}),
    frozenset({"cs", "sk"}),
    frozenset({"id", "ms"}),
    frozenset({"hr", "sr", "bs", "sl", "me"}),
    frozenset({"es", "ca", "gl", "pt"}),
    frozenset({"ru", "uk", "be", "bg", "mk", "sr"}),
    frozenset({"ar", "fa", "ur"}),
    frozenset({"hi", "mr", "ne"}),
)
_SCRIPT_LANGUAGE = {
    "HANGUL": "ko",
    "GREEK": "el",
    "HEBREW": "he",
    "THAI": "th",
    "DEVANAGARI": "hi",
    "BENGALI": "bn",
    "TAMIL": "ta",
    "TELUGU": "te",
    "KANNADA": "kn",
    "MALAYALAM": "ml",
    "GUJARATI": "gu",
    "GURMUKHI": "pa",
    "GEORGIAN": "ka",
    "ARMENIAN": "hy",
    "ETHIOPIC": "am",
    "KHMER": "km",
    "LAO": "lo",
    "MYANMAR": "my",
    "SINHALA": "si",
}


# (first code point, last code point, script) for the scripts the detector knows.
_RANGES = (
    (0x0041, 0x024F, "LATIN"),
    (0x0370, 0x03FF, "GREEK"),
    (0x0400, 0x052F, "CYRILLIC"),
    (0x0530, 0x058F, "ARMENIAN"),
    (0x0590, 0x05FF, "HEBREW"),
    (0x0600, 0x06FF, "ARABIC"),
    (0x0750, 0x077F, "ARABIC"),
    (0x0900, 0x097F, "DEVANAGARI"),
    (0x0980, 0x09FF, "BENGALI"),
    (0x0A00, 0x0A7F, "GURMUKHI"),
    (0x0A80, 0x0AFF, "GUJARATI"),
    (0x0B80, 0x0BFF, "TAMIL"),
    (0x0C00, 0x0C7F, "TELUGU"),
    (0x0C80, 0x0CFF, "KANNADA"),
    (0x0D00, 0x0D7F, "MALAYALAM"),
    (0x0D80, 0x0DFF, "SINHALA"),
    (0x0E00, 0x0E7F, "THAI"),
    (0x0E80, 0x0EFF, "LAO"),
    (0x1000, 0x109F, "MYANMAR"),
    (0x10A0, 0x10FF, "GEORGIAN"),
    (0x1100, 0x11FF, "HANGUL"),
    (0x1200, 0x137F, "ETHIOPIC"),
    (0x1780, 0x17FF, "KHMER"),
    (0x1E00, 0x1EFF, "LATIN"),
    (0x3040, 0x30FF, "KANA"),
    (0x3130, 0x318F, "HANGUL"),
    (0x31F0, 0x31FF, "KANA"),
    (0x3400, 0x4DBF, "HAN"),
    (0x4E00, 0x9FFF, "HAN"),
    (0xAC00, 0xD7AF, "HANGUL"),
    (0xF900, 0xFAFF, "HAN"),
    (0xFB50, 0xFDFF, "ARABIC"),
    (0xFE70, 0xFEFF, "ARABIC"),
    (0xFF66, 0xFF9F, "KANA"),
)
_STARTS = [start for start, _, _ in _RANGES]


def _script(char: str) -> str:
    code = ord(char)
    index = bisect_right(_STARTS, code) - 1
    if index >= 0 and code <= _RANGES[index][1]:
        return _RANGES[index][2]
    return "OTHER"


def detect_language(text: str) -> str | None:
    """The language of ``text`` as a two-letter code, or None when the text does not tell."""
    sample = text[:_SAMPLE_CHARS]
    ascii_letters = len(_ASCII_LETTER.findall(sample))
    if ascii_letters >= 40 and ascii_letters >= 0.8 * len(_LETTER.findall(sample)):
        return _latin(sample)  # the common case, without classifying every character
    scripts = Counter(_script(ch) for ch in sample[:_SCRIPT_SAMPLE_CHARS] if ch.isalpha())
    letters = sum(scripts.values())
    if letters < 40:
        return None
    script, count = scripts.most_common(1)[0]
    if script in ("HAN", "KANA"):
        kana = scripts.get("KANA", 0)
        return "ja" if kana >= 0.05 * (kana + scripts.get("HAN", 0)) else "zh"
    if count < 0.5 * letters:
        return None
    return _by_script(script, count, sample)


def _by_script(script: str, count: int, sample: str) -> str | None:
    """The language of a text written mostly in ``script`` (``count`` letters of it)."""
    if script == "LATIN":
        return _latin(sample)
    if script == "CYRILLIC":
        return _cyrillic(sample)
    if script == "ARABIC":
        return "fa" if len(re.findall("[\u067e\u0686\u0698\u06af]", sample)) > 0.01 * count else "ar"
    return _SCRIPT_LANGUAGE.get(script)


def _cyrillic(sample: str) -> str:
    lower = sample.lower()
    if len(re.findall("[іїєґ]", lower)) > 0.005 * len(lower):
        return "uk"
    if re.search("[ђћџљњ]", lower):
        return "sr"
    if "ы" not in lower and "э" not in lower and lower.count("ъ") > 0.003 * len(lower):
        return "bg"
    return "ru"


def _latin(sample: str) -> str | None:
    words = [w.lower() for w in _WORD.findall(sample)]
    if len(words) < _MIN_WORDS:
        return None
    counts = Counter(words)
    scores = sorted(((sum(counts[w] for w in vocabulary), code) for code, vocabulary in _WORDS.items()), reverse=True)
    (best, code), (second, _) = scores[0], scores[1]
    if best < _MIN_SHARE * len(words) or best < _MIN_LEAD * second:
        return None
    if sum(1 for w in _WORDS[code] if counts[w]) < _MIN_DISTINCT:
        return None
    return code


def _close(a: str, b: str) -> bool:
    return any(a in group and b in group for group in _CLOSE)


def resolve_language(declared: list[str], text: str) -> str | None:
    """The article's language: the first declaration, unless the text clearly says otherwise.

    ``declared`` is in order of trust (page markup before feed before the source's hint). The
    detected language replaces the declaration when the detector is confident and the two are
    not in one group of closely related languages; with nothing declared, the detection stands.
    """
    detected = detect_language(text) if text else None
    first = next((d for d in declared if d), None)
    if first is None:
        return detected
    if detected is None or detected == first or _close(detected, first):
        return first
    return detected
