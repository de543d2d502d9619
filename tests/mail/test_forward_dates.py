"""parse_forward_date on the dates mail clients print in forwarded header blocks, in every language
the product reads: the instant when the text names it unambiguously, None otherwise (never a guess)."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from backend.mail.forward_dates import parse_forward_date

OCT26 = datetime(2021, 10, 26, 11, 25, 8, tzinfo=UTC)
OCT27 = datetime(2021, 10, 27, 9, 31, tzinfo=UTC)
SEP19_Z = datetime(2022, 9, 19, 21, 55, 44, tzinfo=UTC)
SEP19 = datetime(2022, 9, 19, 17, 55, tzinfo=UTC)
OCT28 = datetime(2021, 10, 28, 12, 6, tzinfo=UTC)
OCT28_46 = datetime(2021, 10, 28, 12, 46, tzinfo=UTC)
NOV2 = datetime(2021, 11, 2, 8, 26, 50, tzinfo=UTC)


READS = [
    # Apple Mail, 14:25:08 in a UTC+3 zone
    ("26. října 2021 14:25:08 GMT+3", OCT26),
    ("26. oktober 2021 kl. 14.25.08 EEST", OCT26),
    ("26. Oktober 2021 um 14:25:08 OESZ", OCT26),
    ("26. lokakuuta 2021 klo 14.25.08 UTC+3", OCT26),
    ("26. listopada 2021. u 14:25:08 EEST", OCT26),  # Croatian: "u" before the time
    ("2021. október 26. 14:25:08 EEST", OCT26),
    ("26 października 2021 o 14:25:08 EEST", OCT26),
    ("26 de outubro de 2021, 14:25:08 EEST", OCT26),
    ("26 octombrie 2021, 14:25:08 EEST", OCT26),
    ("26 октября 2021 г. в 14:25:08 GMT+3", OCT26),
    ("26. októbra 2021, 14:25:08 GMT+3", OCT26),
    ("26 Ekim 2021 14:25:08 GMT+3", OCT26),
    ("26 жовтня 2021 р. о 14:25:08 GMT+3", OCT26),
    ("25 October 2021 at 11:17:21 EEST", datetime(2021, 10, 25, 8, 17, 21, tzinfo=UTC)),
    # Gmail, zone-less
    ("st 27. 10. 2021 v 9:31", OCT27),
    ("st 27. 10. 2021 o 9:31", OCT27),
    ("ons. 27. okt. 2021 kl. 09.31", OCT27),
    ("K, 27. oktoober 2021 kell 09:31", OCT27),
    ("ke 27. lokak. 2021 klo 9.31", OCT27),
    ("sri, 27. lis 2021. u 09:31", OCT27),  # Croatian "lis" is October; "sri" is a Wednesday
    ("2021. okt. 27., Sze, 9:31", OCT27),
    ("śr., 27 paź 2021 o 09:31", OCT27),
    ("quarta, 27/10/2021 à(s) 09:31", OCT27),
    ("qua., 27 de out. de 2021 às 09:31", OCT27),
    ("mie., 27 oct. 2021 la 09:31", OCT27),
    ("27 Eki 2021 Çar, 09:31", OCT27),
    ("ср, 27 жовт. 2021 о 09:31", OCT27),
    ("Wed, Oct 27, 2021 at 9:31 AM", OCT27),
    ("Mi., 27. Okt. 2021 um 09:31 Uhr", OCT27),
    ("mer. 27 oct. 2021 à 09:31", OCT27),
    ("wo 27 okt. 2021 om 09:31", OCT27),
    ("ons 27 okt. 2021 kl. 09:31", OCT27),
    ("mié, 27 oct 2021 a las 9:31", OCT27),
    ("mer 27 ott 2021 alle ore 09:31", OCT27),
    ("ср, 27 окт. 2021 г. в 09:31", OCT27),
    ("Τετ, 27 Οκτ 2021 στις 9:31 π.μ.", OCT27),
    ("2021년 10월 27일 (수) 오전 9:31", OCT27),
    ("2021年10月27日(水) 9:31", OCT27),
    ("2021年10月27日周三 上午9:31", OCT27),
    # Outlook
    ("Wednesday, October 27, 2021 9:31 AM", OCT27),
    ("Mittwoch, 27. Oktober 2021 09:31", OCT27),
    ("woensdag 27 oktober 2021 09:31", OCT27),
    ("miércoles, 27 de octubre de 2021 9:31", OCT27),
    ("kolmapäev, 27. oktoober 2021 09:31", OCT27),
    ("2021. október 27., szerda 9:31", OCT27),
    ("srijeda, 27. listopada 2021. 9:31", OCT27),  # Croatian weekday, and 27 Nov 2021 is a Saturday
    ("středa 27. října 2021 9:31", OCT27),
    ("miercuri, 27 octombrie 2021 09:31", OCT27),
    ("середа, 27 жовтня 2021 р. 09:31", OCT27),
    ("mercredi 27 octobre 2021 09:31", OCT27),
    ("keskiviikko 27. lokakuuta 2021 9.31", OCT27),
    ("onsdag den 27. oktober 2021 09.31", OCT27),
    ("den 27 oktober 2021 09:31", OCT27),
    ("streda 27. októbra 2021 9:31", OCT27),
    ("Τετάρτη, 27 Οκτωβρίου 2021 9:31 π.μ.", OCT27),
    ("čtvrtek, 28. října 2021 12:06", OCT28),
    ("torsdag, 28. oktober 2021 kl. 12.06", OCT28),
    ("torstaina, 28. lokakuuta 2021 klo 12.06", OCT28),
    ("štvrtok, 28. októbra 2021, 12:46", OCT28_46),
    ("Perşembe, 28 Ekim 2021 12:46", OCT28_46),
    ("czwartek, 28 października 2021 o 12:46", OCT28_46),
    ("quinta-feira, 28 de outubro de 2021, 12:46", OCT28_46),
    ("28/10/2021 12.46", OCT28_46),
    ("28/10/2021, 12:46 użytkownik", OCT28_46),
    ("28/10/21, 12:46", OCT28_46),
    ("Thursday, 6 April 2023 at 16:17", datetime(2023, 4, 6, 16, 17, tzinfo=UTC)),
    # HubSpot, -0400
    ("maanantai 19. syyskuuta 2022 klo 17.55.44 -0400", SEP19_Z),
    ("2022年9月19日月曜日 17:55:44 -0400", SEP19_Z),
    ("poniedziałek, 19 września 2022, 17:55:44 -0400", SEP19_Z),
    ("segunda-feira, 19 de setembro de 2022 17:55:44 -0400", SEP19_Z),
    # Yahoo, 09:26:50 CET
    ("úterý 2. listopadu 2021 09:26:50 SEČ", NOV2),
    ("tirsdag den 2. november 2021 09.26.50 CET", NOV2),
    ("tiistaina 2. marraskuuta 2021 klo 09.26.50 UTC+1", NOV2),
    ("utorok 2. novembra 2021, 09:26:50 SEČ", NOV2),
    ("2 Kasım 2021 Salı 09:26:50 GMT+1", NOV2),
    ("вівторок, 2 листопада 2021 р., 09:26:50 GMT+1", NOV2),  # Ukrainian листопад is November
    ("marți, 2 noiembrie 2021, 09:26:50 CET", NOV2),
    ("terça-feira, 2 de novembro de 2021, 09:26:50 CET", NOV2),
    ("terça-feira, 2 de novembro de 2021 09:26:50 GMT+1", NOV2),
    ("wtorek, 2 listopada 2021, 09:26:50 CET", NOV2),  # Polish weekday: November
    ("martedì 2 novembre 2021, 09:26:50 CET", NOV2),
    ("Tuesday, November 2, 2021, 09:26:50 AM GMT+1", NOV2),
    # East Asian and Greek
    ("2022年9月19日(月) 17:55", SEP19),
    ("2022/09/19 17:55", SEP19),
    ("2022年9月19日 午後5:55", SEP19),
    ("2022年9月19日 星期一 下午5:55", SEP19),
    ("2022年9月19日 週一 17:55", SEP19),
    ("2022年9月19日 下午 05:55", SEP19),
    ("2022-09-19 17:55 GMT+08:00", datetime(2022, 9, 19, 9, 55, tzinfo=UTC)),
    ("2022년 9월 19일 (월) 오후 5:55", SEP19),
    ("2022년 9월 19일 월요일 오후 5:55", SEP19),
    ("2022. 9. 19. 오전 9:05", datetime(2022, 9, 19, 9, 5, tzinfo=UTC)),
    ("Δευτέρα, 19 Σεπτεμβρίου 2022 5:55 μ.μ.", SEP19),
    ("Δευτέρα, 19 Σεπτεμβρίου 2022 5:55 π.μ.", datetime(2022, 9, 19, 5, 55, tzinfo=UTC)),
    # RFC 2822, ISO, numeric, Italian weekday "mar"
    ("Wed, 3 Nov 2021 15:51:30 +0100", datetime(2021, 11, 3, 14, 51, 30, tzinfo=UTC)),
    ("Wed, 27 Oct 21 09:31:00 +0000", OCT27),
    ("2022-09-19T17:55:44Z", datetime(2022, 9, 19, 17, 55, 44, tzinfo=UTC)),
    ("2022-09-19T17:55:44+03:00", datetime(2022, 9, 19, 14, 55, 44, tzinfo=UTC)),
    ("02/10/2023 4:52 PM EST", datetime(2023, 2, 10, 21, 52, tzinfo=UTC)),  # AM/PM: US month first
    ("Mon, 02/10/2023 4:52 PM", datetime(2023, 10, 2, 16, 52, tzinfo=UTC)),  # only 2 Oct is a Monday
    ("27.10.21 09.31", OCT27),
    ("mer 4 mar 2025 alle ore 10:00", datetime(2025, 3, 4, 10, 0, tzinfo=UTC)),
    ("mar 4 mar 2025 alle ore 10:00", datetime(2025, 3, 4, 10, 0, tzinfo=UTC)),
    ("lundi 3 mars 2025 10h15", datetime(2025, 3, 3, 10, 15, tzinfo=UTC)),
    ("lundi 3 mars 2025 10 h 15", datetime(2025, 3, 3, 10, 15, tzinfo=UTC)),
    # 12 AM / 12 PM
    ("Mar 3, 2025 12:30 AM", datetime(2025, 3, 3, 0, 30, tzinfo=UTC)),
    ("Mar 3, 2025 12:30 PM", datetime(2025, 3, 3, 12, 30, tzinfo=UTC)),
    ("Mar 3, 2025 12:30 a.m.", datetime(2025, 3, 3, 0, 30, tzinfo=UTC)),
    ("2022年9月19日 上午12:05", datetime(2022, 9, 19, 0, 5, tzinfo=UTC)),
    ("2022年9月19日 下午12:05", datetime(2022, 9, 19, 12, 5, tzinfo=UTC)),
]


@pytest.mark.parametrize(("value", "expected"), READS)
def test_reads_the_instant(value, expected):
    assert parse_forward_date(value, timezone.utc) == expected


@pytest.mark.parametrize("value", [
    None, "", "   ", "someday soon", "10:15", "3 March 2025",  # no time of day: midnight would be a guess
    "31 February 2025 10:15", "30 Feb 2024 10:00", "29 Feb 2023 10:00", "3 March 2025 25:00",
    "3 March 2025 10:60", "3 March 1969 10:00", "3 March 2101 10:00", "31/02/2025 10:15",
    "Mar 3, 2025 0:30 AM", "Mar 3, 2025 13:00 PM", "2022年9月19日 午後13:05",
    "09.26.50", "Call me at 10:15 on 3/4", "version 1.2.3 at 10:15",
    "Room 12, 3 March 2025 10:15",  # a number nothing explains
    "10:15 3 March 2025 11:00",  # two times
    "Oct Nov 3 2025 10:15",  # two months
    "3 March 2025 10:15 GMT+15",  # no such offset
    "27 Oct 2021 09:31 WAT",  # a zone it does not know: local time would be a guess
    "26. listopada 2021 14:25:08",  # October in Croatian, November in Polish: nothing says which
    "lis 3 2021 10:00",
])
def test_rejects_what_it_cannot_read_for_sure(value):
    assert parse_forward_date(value, timezone.utc) is None


@pytest.mark.parametrize(("value", "language", "expected"), [
    ("26. listopada 2021. u 14:25:08 EEST", "hr", OCT26),
    ("26. listopada 2021 14:25:08 EEST", "hr", OCT26),
    ("26. listopada 2021 14:25:08 EEST", "hr-HR", OCT26),
    ("26 listopada 2021 14:25:08 EEST", "pl", datetime(2021, 11, 26, 11, 25, 8, tzinfo=UTC)),
    ("26. listopad 2021 14:25:08 EEST", "cs", datetime(2021, 11, 26, 11, 25, 8, tzinfo=UTC)),
    ("26. listopada 2021 14:25:08 EEST", "sk", datetime(2021, 11, 26, 11, 25, 8, tzinfo=UTC)),
    ("26. listopada 2021 14:25:08 EEST", "de", None),  # the hint says nothing about it
    ("sri, 27. lis 2021. u 09:31", "hr", OCT27),
    ("27. lis 2021 09:31", "hr", OCT27),
    ("27. lis 2021 09:31", "pl", datetime(2021, 11, 27, 9, 31, tzinfo=UTC)),
    ("27. srp 2021 09:31", "hr", datetime(2021, 7, 27, 9, 31, tzinfo=UTC)),
    ("27. srp 2021 09:31", "cs", datetime(2021, 8, 27, 9, 31, tzinfo=UTC)),
    ("wt., 2 lis 2021 o 09:26", None, datetime(2021, 11, 2, 9, 26, tzinfo=UTC)),  # Polish words
    ("26. října 2021 14:25:08 GMT+3", "hr", OCT26),  # Czech only: the hint does not matter
])
def test_language_hint_settles_shared_month_names(value, language, expected):
    assert parse_forward_date(value, timezone.utc, language=language) == expected


@pytest.mark.parametrize(("zone", "hours"), [
    ("CET", 1), ("CEST", 2), ("BST", 1), ("GMT", 0), ("UTC", 0), ("EET", 2), ("EEST", 3), ("MSK", 3),
    ("EST", -5), ("EDT", -4), ("CST", -6), ("CDT", -5), ("MST", -7), ("MDT", -6), ("PST", -8),
    ("PDT", -7), ("JST", 9), ("KST", 9), ("HKT", 8), ("IST", 5.5), ("AEST", 10), ("AEDT", 11),
    ("NZST", 12), ("NZDT", 13), ("MEZ", 1), ("MESZ", 2), ("OEZ", 2), ("OESZ", 3), ("SEČ", 1),
    ("SELČ", 2), ("HEC", 1), ("HAEC", 2), ("(UTC+05:30)", 5.5), ("GMT-3", -3), ("+0100", 1), ("-04:00", -4),
])
def test_zones(zone, hours):
    expected = datetime(2025, 3, 3, 10, 15, tzinfo=UTC) - timedelta(hours=hours)
    assert parse_forward_date(f"3 March 2025 10:15 {zone}", timezone.utc) == expected


def test_zone_less_dates_are_read_in_the_default_zone():
    cet = timezone(timedelta(hours=1))
    assert parse_forward_date("28/10/2021 12.46", cet) == datetime(2021, 10, 28, 11, 46, tzinfo=UTC)
    assert parse_forward_date("28/10/2021 12.46") == OCT28_46  # UTC when no default is given
    assert parse_forward_date("28/10/2021 12.46 GMT+2", cet) == datetime(2021, 10, 28, 10, 46, tzinfo=UTC)


def test_dayfirst_settles_numeric_dates():
    assert parse_forward_date("03/04/2025 10:15") == datetime(2025, 4, 3, 10, 15, tzinfo=UTC)
    assert parse_forward_date("03/04/2025 10:15", dayfirst=False) == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    assert parse_forward_date("03/04/2025 10:15 AM", dayfirst=True) == datetime(2025, 4, 3, 10, 15, tzinfo=UTC)
    assert parse_forward_date("25/03/2025 10:15", dayfirst=False) == datetime(2025, 3, 25, 10, 15, tzinfo=UTC)


def test_no_crash_on_random_text():
    rng = random.Random(20211026)
    alphabet = ("0123456789 :./-,+()年月日년월일午後下午오후μπ.amp"
                "GMTUTCEESTlistopadaoctmarWed" + "".join(chr(c) for c in range(0x20, 0x250)))
    for round_ in range(4000):
        if round_ % 3 == 0:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        elif round_ % 3 == 1:
            text = "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(0, 200)))
        else:  # a readable date with a few characters changed, dropped or repeated
            chars = list(rng.choice(READS)[0])
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(chars))
                chars[at:at + 1] = rng.choice([[], [rng.choice(alphabet)], [chars[at]] * 2])
            text = "".join(chars)[:200]
        result = parse_forward_date(text, timezone.utc, language=rng.choice([None, "hr", "pl", "xx", ""]))
        assert result is None or (result.tzinfo is not None and 1969 <= result.year <= 2101)
