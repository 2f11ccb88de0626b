"""Language detection and the choice between declared and detected language."""

from __future__ import annotations

import pytest

from newsmon.crawler.extraction.language import detect_language, resolve_language

ENGLISH = (
    "The council said on Tuesday that the new bridge would open to cyclists in the spring, after the "
    "contractor finished the work on the northern bank and the lighting along the approach paths."
)
FRENCH = (
    "Le conseil municipal a annoncé mardi que le nouveau pont serait ouvert aux cyclistes au printemps, "
    "après la fin des travaux sur la rive nord et l'installation de l'éclairage le long des accès."
)
GERMAN = (
    "Der Gemeinderat hat am Dienstag mitgeteilt, dass die neue Brücke im Frühjahr für Radfahrer geöffnet "
    "wird, nachdem die Arbeiten am Nordufer und die Beleuchtung der Zufahrtswege abgeschlossen sind."
)
SPANISH = (
    "El ayuntamiento anunció el martes que el nuevo puente se abrirá a los ciclistas en primavera, cuando "
    "terminen las obras en la orilla norte y la iluminación de los accesos que llevan a la estación."
)
RUSSIAN = (
    "Городской совет во вторник объявил, что новый мост откроется для велосипедистов весной, после завершения работ."
)
JAPANESE = (
    "市議会は火曜日、新しい橋が春に自転車利用者に開放されると発表した。北岸の工事と照明の設置が終わった後になるという。"
)
KOREAN = (
    "시의회는 화요일 새 다리가 봄에 자전거 이용자에게 개방될 것이라고 발표했다. "
    "북쪽 강둑 공사가 끝난 뒤가 될 것이라고 한다."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ENGLISH, "en"),
        (FRENCH, "fr"),
        (GERMAN, "de"),
        (SPANISH, "es"),
        (RUSSIAN, "ru"),
        (JAPANESE, "ja"),
        (KOREAN, "ko"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    """Function words tell Latin-script languages apart; the script tells the others."""
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "text", ["", "OK", "12 34 56 78", "Zxq vrt plk mnb qwe rty uio asd fgh jkl zxc vbn qaz wsx edc"]
)
def test_detect_language_abstains(text: str) -> None:
    """Too little text, or text without known function words, gives no language."""
    assert detect_language(text) is None


def test_declared_language_confirmed() -> None:
    """A declaration that the text agrees with stands."""
    assert resolve_language(["fr"], FRENCH) == "fr"


def test_wrong_declaration_is_overturned() -> None:
    """A template's lang="en" on a French article gives way to the detected French."""
    assert resolve_language(["en", "en"], FRENCH) == "fr"


def test_declaration_kept_when_detection_abstains() -> None:
    """When the detector cannot tell, the first declaration is the language."""
    assert resolve_language(["sw", "en"], "Habari za asubuhi") == "sw"


def test_close_languages_keep_declaration() -> None:
    """A declared Catalan page detected as Spanish keeps its declaration: the detector does not separate them."""
    assert resolve_language(["ca"], SPANISH) == "ca"


def test_no_declaration_uses_detection() -> None:
    """With nothing declared, the detected language is used."""
    assert resolve_language([], GERMAN) == "de"
    assert resolve_language([], "") is None
