"""Localized words that mail clients write around a forwarded message: separators, header labels, subject prefixes."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Lines longer than this are prose, never a separator or a header label line;
# the cap also keeps every per-line check cheap on huge bodies.
MAX_MARKER_LINE = 300
MAX_LABEL_LENGTH = 30

_SPACES_RE = re.compile(r"\s+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad"), None)


def fold(value: str) -> str:
    """Lower-case, accent-free, single-spaced form used for every table lookup,
    so "Envoyé", "ENVOYE" and "envoyé" (or decomposed accents) compare equal."""
    if value.isascii():  # the common case, and the hot path on huge bodies
        return " ".join(value.lower().split())
    return _fold_unicode(value) if len(value) <= 64 else _fold_uncached(value)


@lru_cache(maxsize=4096)
def _fold_unicode(value: str) -> str:
    return _fold_uncached(value)


def _fold_uncached(value: str) -> str:
    value = unicodedata.normalize("NFKD", value.translate(_INVISIBLE))
    value = "".join(ch for ch in value if not unicodedata.combining(ch))
    return _SPACES_RE.sub(" ", value.casefold()).strip()


def _table(groups: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, words in groups.items():
        for word in words.split("|"):
            out[fold(word)] = key
    return out


# Separator phrases that only ever introduce a forward (Gmail, Thunderbird,
# Apple Mail and their translations; the tail is what quotequail also knows).
FORWARD_PHRASES = _table({
    "apple-mail": "Begin forwarded message|Inizio messaggio inoltrato|Inizio del messaggio inoltrato"
    "|Anfang der weitergeleiteten Nachricht|Anfang der weitergeleiteten E-Mail"
    "|Début du message réexpédié|Début du message transféré|Inicio del mensaje reenviado"
    "|Begin doorgestuurd bericht|Začátek přeposílané zprávy|Start på videresendt besked"
    "|Välitetty viesti alkaa|Započni proslijeđenu poruku|Továbbított levél kezdete"
    "|Videresendt melding|Początek przekazywanej wiadomości|Início da mensagem reencaminhada"
    "|Início da mensagem encaminhada|Începe mesajul redirecționat|Начало переадресованного сообщения"
    "|Začiatok preposlanej správy|Vidarebefordrat mejl|İleti başlangıcı"
    "|Початок листа, що пересилається|Έναρξη προωθημένου μηνύματος",
    "generic": "Forwarded message|Forwarded e-mail|Forwarded email|Messaggio inoltrato"
    "|Weitergeleitete Nachricht|Weitergeleitete E-Mail|Message transféré|Message réexpédié"
    "|Mensaje reenviado|Correo reenviado|Vidarebefordrat meddelande|Doorgestuurd bericht"
    "|Mensagem encaminhada|Mensagem reencaminhada|Пересылаемое сообщение|Переадресованное сообщение"
    "|Přeposlaná zpráva|Preposlaná správa|Wiadomość przekazana dalej|Przekazana wiadomość"
    "|Videresendt meddelelse|Välitetty viesti|Edastatud kiri|Továbbított üzenet"
    "|Mesaj redirecționat|Mesaj transmis|Proslijeđena poruka|İletilen ileti|Переслане повідомлення"
    "|Пересланий лист|Προωθημένο μήνυμα|転送されたメッセージ|メッセージを転送|転送メッセージ"
    "|转发的邮件|转发邮件信息|轉寄的郵件|轉寄郵件|轉寄訊息|전달된 메시지|전달된 메일",
})

# "Original message" separators: Outlook and Thunderbird write them for replies
# too, so they only count when the subject says the mail is a forward.
ORIGINAL_PHRASES = _table({
    "original": "Original message|Messaggio originale|Ursprüngliche Nachricht|Originalnachricht"
    "|Message d'origine|Message original|Mensaje original|Oorspronkelijk bericht"
    "|Origineel bericht|Исходное сообщение|Původní zpráva|Pôvodná správa|Oryginalna wiadomość"
    "|Oprindelig meddelelse|Opprinnelig melding|Ursprungligt meddelande|Alkuperäinen viesti"
    "|Eredeti üzenet|Mesaj original|Izvorna poruka|Mensagem original|Özgün ileti|Orijinal ileti"
    "|Оригінальне повідомлення|Вихідне повідомлення|Αρχικό μήνυμα|元のメッセージ|原始邮件"
    "|原始消息|原始郵件|원본 메시지|원본 메일",
})

HEADER_LABELS = _table({
    "from": "From|Da|Von|De|De la|Mittente|Absender|Remitente|Expéditeur|От|От кого|Van|Från|Fra"
    "|Od|Lähettäjä|Saatja|Feladó|Kimden|Від|Від кого|Από|差出人|送信者|送信元|发件人|寄件者"
    "|寄件人|보낸 사람|보낸사람",
    "to": "To|A|An|À|Para|Pour|Destinatario|Destinatari|Empfänger|Destinataire|Destinataires"
    "|Кому|Aan|Till|Til|Komu|Do|Za|Către|Vastaanottaja|Saaja|Címzett|Kime|Προς|宛先|送信先"
    "|收件人|收件者|받는 사람|받는사람",
    "cc": "Cc|Kopie|Kopie (CC)|Copie|Copie à|Copia|Copia a|Kopi|Kopia|Kópia|Kopija|Kopio|Koopia"
    "|DW|Másolatot kap|Másolat|Bilgi|Копия|Копія|Κοιν|Κοιν.|Κοιν/ση|抄送|副本|참조",
    "bcc": "Bcc|Ccn|Cco|Cci|Blindkopie|Skjult kopi|Dold kopia|UDW|Gizli|Скрытая копия|密送|密件副本|숨은 참조",
    "date": "Date|Sent|Data|Inviato|Inviato il|Datum|Gesendet|Envoyé|Envoyé le|Fecha|Enviado"
    "|Enviado el|Enviada|Sent on|Дата|Отправлено|Verzonden|Skickat|Sendt|Dato|Dată|Trimis"
    "|Odesláno|Odoslané|Wysłano|Wysłane|Päivämäärä|Päiväys|Lähetetty|Kuupäev|Saadetud|Dátum"
    "|Elküldve|Küldve|Tarih|Gönderildi|Gönderilme|Poslano|Надіслано|Ημερομηνία|Στάλθηκε|Εστάλη"
    "|日付|送信日時|日期|发送时间|發送時間|傳送時間|寄件日期|时间|時間|날짜|보낸 날짜",
    "subject": "Subject|Oggetto|Betreff|Objet|Sujet|Asunto|Тема|Onderwerp|Ämne|Assunto|Emne"
    "|Předmět|Predmet|Temat|Aihe|Teema|Tárgy|Subiect|Konu|Θέμα|件名|主题|主旨|제목",
    "message-id": "Message-ID",
    "reply-to": "Reply-To|Reply to|Rispondi a|Antwort an|Répondre à|Responder a",
    # Labels Outlook may add inside the block; they neither end nor count toward it.
    "ignored": "Importance|Priority|Priorità|Wichtigkeit|Priorität|Importancia|Attachments"
    "|Allegati|Anlagen|Pièces jointes|Datos adjuntos|Categories|Kategorien",
})

# Lines that introduce a quoted reply ("On ... wrote:"); a separator found only
# below one of these belongs to an older message in a reply thread.
REPLY_INTRO_ENDINGS = tuple(fold(w) for w in (
    "wrote:", "writes:", "ha scritto:", "schrieb:", "a écrit :", "a écrit:", "escribió:",
    "escreveu:", "schreef:", "skrev:", "написал(а):", "написал:", "napsal(a):", "napísal(a):",
    "napisał(a):", "napisao je:", "kirjoitti:", "kirjutas:", "írta:", "a scris:", "yazdı:",
    "написав(ла):", "написав:", "έγραψε:", "のメッセージ:", "写道：", "寫道：", "写道:", "작성:",
))

FORWARD_PREFIXES = frozenset(fold(w) for w in (
    "fwd", "fw", "wg", "tr", "i", "rv", "enc", "inoltro", "inoltrato", "weiterleitung", "vb", "vl",
    "doorst", "pd", "př", "tov", "ilt", "πρθ", "转发", "轉寄", "転送", "전달", "пересл",
))
REPLY_PREFIXES = frozenset(fold(w) for w in (
    "re", "aw", "r", "rif", "sv", "vs", "antw", "antwort", "ref", "réf", "rép", "rep", "odp", "ynt",
    "vá", "απ", "回复", "回覆", "答复", "返信", "답장", "отв", "ответ",
))

_PREFIX_RE = re.compile(r"\s*([^\W\d_]{1,13})\s?(?:\[\d{1,4}\]|\(\d{1,4}\))?\s?[:：]\s*")
_TAG_RE = re.compile(r"\s*(?:\[[^\[\]]{1,40}\]|\*{1,2}[A-Za-z ]{3,20}\*{1,2})\s*")
_BRACKET_FWD_RE = re.compile(r"\s*\[\s*(?:fwd?|fw)\s*:\s*(.*)\]\s*$", re.IGNORECASE | re.DOTALL)
_TRAILING_FWD_RE = re.compile(r"\s*\((?:fwd|fw)\)\s*$", re.IGNORECASE)


def _leading_prefixes(subject: str) -> tuple[list[str], str]:
    """Peel stacked prefixes and [TAG]s; returns the folded prefix words (tags as
    "[tag]") and what is left. Each round removes at least one character."""
    words: list[str] = []
    rest = subject
    for _ in range(200):  # bounded: no subject stacks this many prefixes
        bracket = _BRACKET_FWD_RE.match(rest)
        if bracket:  # Netscape/Mozilla wrote "[Fwd: subject]"
            words.append("fwd")
            rest = bracket.group(1)
            continue
        tag = _TAG_RE.match(rest)
        if tag and tag.end() < len(rest):
            words.append("[tag]")
            rest = rest[tag.end():]
            continue
        prefix = _PREFIX_RE.match(rest)
        if prefix and fold(prefix.group(1)) in FORWARD_PREFIXES | REPLY_PREFIXES:
            words.append(fold(prefix.group(1)))
            rest = rest[prefix.end():]
            continue
        break
    return words, rest


def strip_subject_prefixes(subject: str) -> str:
    """The subject without stacked Re:/Fwd:/AW:/WG:/R:/I:/TR:/RV:/SV:/VS:/Antw:
    prefixes and [EXTERNAL]-style tags, for threading and matching."""
    if not subject:
        return ""
    _, rest = _leading_prefixes(subject)
    rest = _TRAILING_FWD_RE.sub("", rest)
    return _SPACES_RE.sub(" ", rest).strip()


def has_forward_prefix(subject: str) -> bool:
    """True when the outermost prefix (tags skipped) marks a forward: "Fwd: Re: x"
    is a forward, "Re: Fwd: x" is a reply to one."""
    if not subject:
        return False
    words, rest = _leading_prefixes(subject)
    words = [w for w in words if w != "[tag]"]
    if words:
        return words[0] in FORWARD_PREFIXES
    return bool(_TRAILING_FWD_RE.search(rest))


def strip_forward_prefixes(subject: str) -> str:
    """Only the leading forward prefixes (and tags) removed: "Fwd: Re: x" -> "Re: x"."""
    rest = subject or ""
    for _ in range(200):
        bracket = _BRACKET_FWD_RE.match(rest)
        if bracket:
            rest = bracket.group(1)
            continue
        tag = _TAG_RE.match(rest)
        if tag and tag.end() < len(rest):
            rest = rest[tag.end():]
            continue
        prefix = _PREFIX_RE.match(rest)
        if prefix and fold(prefix.group(1)) in FORWARD_PREFIXES:
            rest = rest[prefix.end():]
            continue
        break
    return _SPACES_RE.sub(" ", _TRAILING_FWD_RE.sub("", rest)).strip()


def unquote(line: str, depth: int | None = None) -> tuple[str, int]:
    """Remove up to ``depth`` (default: all, at most 20) leading ">" quote markers;
    returns the line and how many were removed."""
    limit = 20 if depth is None else depth
    removed = 0
    index = 0
    length = len(line)
    while removed < limit:
        probe = index
        while probe < length and line[probe] in " \t":
            probe += 1
        if probe >= length or line[probe] != ">":
            break
        index = probe + 1
        if index < length and line[index] == " ":
            index += 1
        removed += 1
    return (line[index:] if removed else line), removed


_RULE_CHARS = "-_=*~"
_RFC_HEADER_NAME_RE = re.compile(r"[a-z]{1,20}(?:-[a-z]{1,20}){1,3}$")


def classify_separator(line: str) -> tuple[str, str, int] | None:
    """(strength, flavour, leading dash count) when the line is a separator.
    strength is "strong" (forward phrase) or "weak" (original message, underscores);
    flavour is "apple-mail", "generic", "original" or "underscore"."""
    text = line.strip()
    if not text or len(text) > 120:  # the longest separator is ~60 characters
        return None
    if len(text) >= 10 and set(text) == {"_"}:
        return "weak", "underscore", 0
    dashes = len(text) - len(text.lstrip("-"))
    core = text.strip(_RULE_CHARS + " \t").rstrip(":").strip()
    # Translators write "Début du message réexpédié :" with the French space;
    # the colon is dropped above, so only the words are compared.
    key = fold(core)
    if key in FORWARD_PHRASES:
        return "strong", FORWARD_PHRASES[key], dashes
    if key in ORIGINAL_PHRASES and (dashes or text.endswith("-")):
        return "weak", "original", dashes
    return None


def split_header(line: str) -> tuple[str, str] | None:
    """(field, value) when the line is "Label: value" with a known label; field
    "ignored" for labels such as Importance. Handles "*From:*" and "De :"."""
    text = line.strip()
    if not text or len(text) > 4000:
        return None
    text = text.lstrip("*").lstrip()
    colon = -1
    for index, ch in enumerate(text[: MAX_LABEL_LENGTH + 2]):
        if ch in ":：":
            colon = index
            break
    if colon <= 0:
        return None
    label = fold(text[:colon].strip().strip("*"))
    field = HEADER_LABELS.get(label)
    if field is None:
        # Old clients (Pine, mutt) copy RFC headers such as Resent-From or
        # X-Mailer into the block; they belong to it but carry nothing we use.
        if not _RFC_HEADER_NAME_RE.match(label):
            return None
        field = "ignored"
    return field, text[colon + 1:].strip().lstrip("*").strip()


def is_reply_intro(line: str) -> bool:
    text = line.rstrip()
    if not text.endswith((":", "：")) or len(text) > MAX_MARKER_LINE:
        return False
    return fold(text).endswith(REPLY_INTRO_ENDINGS)
