"""Forwards written by Outlook and Gmail in Japanese, Chinese (simplified and traditional), Korean
and Greek. No permissively licensed real samples of these exist in public fixtures (see
tests/forwardset/SOURCES.md), so the header blocks are written here in the clients' documented
shapes: Outlook's localized labels, Gmail's separator with its localized dates."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from backend.mail.forwards import find_forwarded
from backend.mail.message import Address, ParsedMessage

REP = Address("Sam Rep", "sam.rep@ourco.example")
BODY = "\n\nお世話になっております。\n"
CASES = {
    "outlook-ja": ("FW: 見積もり", "差出人: 山田 太郎 <taro.yamada@example.co.jp>\n送信日時: 2022年9月19日 17:55\n"
                   "宛先: Sam Rep <sam.rep@ourco.example>\nCC: 佐藤 <sato@example.co.jp>\n件名: 見積もり",
                   "taro.yamada@example.co.jp", datetime(2022, 9, 19, 17, 55), "見積もり"),
    "gmail-ja": ("Fwd: 見積もり", "---------- Forwarded message ---------\n送信元：山田 太郎 <taro.yamada@example.co.jp>\n"
                 "日付：2022年9月19日月曜日 17:55:44 +0900\n件名：見積もり\n送信先：sam.rep@ourco.example",
                 "taro.yamada@example.co.jp", datetime(2022, 9, 19, 8, 55, 44), "見積もり"),
    "outlook-zh-cn": ("转发: 报价", "发件人: 王伟 <wang.wei@example.cn>\n发送时间: 2022年9月19日 17:55\n"
                      "收件人: Sam Rep <sam.rep@ourco.example>\n抄送: 李娜 <li.na@example.cn>\n主题: 报价",
                      "wang.wei@example.cn", datetime(2022, 9, 19, 17, 55), "报价"),
    "outlook-zh-tw": ("FW: 報價", "寄件者: 陳怡君 <chen@example.com.tw>\n寄件日期: 2022年9月19日 下午 05:55\n"
                      "收件者: Sam Rep <sam.rep@ourco.example>\n副本: 林 <lin@example.com.tw>\n主旨: 報價",
                      "chen@example.com.tw", datetime(2022, 9, 19, 17, 55), "報價"),
    "outlook-ko": ("FW: 견적", "보낸 사람: 김민준 <minjun.kim@example.co.kr>\n보낸 날짜: 2022년 9월 19일 월요일 오후 5:55\n"
                   "받는 사람: Sam Rep <sam.rep@ourco.example>\n참조: 이서연 <seoyeon@example.co.kr>\n제목: 견적",
                   "minjun.kim@example.co.kr", datetime(2022, 9, 19, 17, 55), "견적"),
    "gmail-ko": ("Fwd: 견적", "---------- Forwarded message ---------\n보낸사람: 김민준 <minjun.kim@example.co.kr>\n"
                 "Date: 2022년 9월 19일 (월) 오전 9:05\nSubject: 견적\nTo: <sam.rep@ourco.example>",
                 "minjun.kim@example.co.kr", datetime(2022, 9, 19, 9, 5), "견적"),
    "outlook-el": ("ΠΡΘ: Προσφορά", "Από: Γιώργος Παπαδόπουλος <g.papadopoulos@example.gr>\n"
                   "Στάλθηκε: Δευτέρα, 19 Σεπτεμβρίου 2022 5:55 μ.μ.\nΠρος: Sam Rep <sam.rep@ourco.example>\n"
                   "Κοιν.: Μαρία <maria@example.gr>\nΘέμα: Προσφορά",
                   "g.papadopoulos@example.gr", datetime(2022, 9, 19, 17, 55), "Προσφορά"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_in_an_east_asian_or_greek_client(name):
    subject, block, sender, date, original_subject = CASES[name]
    found = find_forwarded(ParsedMessage(subject=subject, from_=[REP], text="FYI\n\n" + block + BODY))
    assert found is not None, name
    assert found.sender.email == sender
    assert found.date == date.replace(tzinfo=timezone.utc)
    assert found.subject == original_subject
    assert "sam.rep@ourco.example" in [a.email for a in found.to]
    assert "お世話になっております" in found.text and found.note == "FYI"
