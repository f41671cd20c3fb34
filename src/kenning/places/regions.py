"""The world's regions as Google's landmark classifiers divide it (one model per region:
`landmarks_classifier_<region>_V1`), and the region(s) of a country.

Countries are placed by the continent the UN's geoscheme gives them. A country that
spans two continents (Russia, Turkey, Egypt, Kazakhstan, the Caucasus, Cyprus) is in both
regions, so both models look at its photos.
"""

from __future__ import annotations

REGIONS = ("africa", "asia", "europe", "north_america", "oceania_antarctica", "south_america")
SHORT = {"africa": "af", "asia": "as", "europe": "eu", "north_america": "na",
         "oceania_antarctica": "oc", "south_america": "sa"}

_COUNTRIES = {
    "africa": "DZ AO BJ BW BF BI CV CM CF TD KM CG CD CI DJ EG GQ ER SZ ET GA GM GH GN GW KE "
              "LS LR LY MG MW ML MR MU YT MA MZ NA NE NG RE RW SH ST SN SC SL SO ZA SS SD TZ "
              "TG TN UG EH ZM ZW",
    "asia": "AF AM AZ BH BD BT BN KH CN CY EG GE HK IN ID IR IQ IL JO KZ KW KG LA LB MO MY "
            "MV MN MM NP KP OM PK PS PH QA RU SA SG KR LK SY TW TJ TH TL TR TM AE UZ VN YE IO "
            "CX CC",
    "europe": "AX AL AD AM AT AZ BY BE BA BG HR CY CZ DK EE FO FI FR DE GE GI GR GG HU IS IE "
              "IM IT JE KZ XK LV LI LT LU MT MD MC ME NL MK NO PL PT RO RU SM RS SK SI ES SJ "
              "SE CH TR UA GB VA",
    "north_america": "AI AG AW BS BB BZ BM BQ VG CA KY CR CU CW DM DO SV GL GD GP GT HT HN "
                     "JM MQ MX MS NI PA PR BL KN LC MF PM VC SX TT TC US VI UM",
    "oceania_antarctica": "AS AU CK FJ PF GU KI MH FM NR NC NZ NU NF MP PW PG PN WS SB TK "
                          "TO TV VU WF AQ TF HM BV",
    "south_america": "AR BO BR CL CO EC FK GF GY PY PE SR UY VE GS",
}
_REGIONS_OF: dict[str, frozenset[str]] = {}
for _region, _codes in _COUNTRIES.items():
    for _code in _codes.split():
        _REGIONS_OF[_code] = _REGIONS_OF.get(_code, frozenset()) | {_region}


def regions_of_country(country_code: str | None) -> frozenset[str]:
    """The region(s) of an ISO 3166 alpha-2 country code; empty when unknown."""
    return _REGIONS_OF.get((country_code or "").upper(), frozenset())


def region_in_name(name: str) -> str | None:
    """The region a model file's name says (`landmarks_classifier_europe_V1.tflite`,
    `north-america.onnx`), or None."""
    text = name.lower().replace("-", "_").replace(" ", "_")
    for region in ("north_america", "south_america", "oceania", "africa", "asia", "europe"):
        if region in text:
            return "oceania_antarctica" if region == "oceania" else region
    return None
