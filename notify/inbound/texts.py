"""The words of a person's reply: its quoted original cut off, HTML read as text."""

from __future__ import annotations

import html
import re
import unicodedata

#: The longest reply text kept (a reply is a few lines; this is a whole letter).
MAX_TEXT = 20_000

#: Where the quoted original begins: the attribution line(s) of Gmail, Apple,
#: Thunderbird (English and Vietnamese), Outlook's separators and header block.
_QUOTE_START = re.compile(
    r"^[ \t]*(?:"
    r"On\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\bwrote:[ \t]*$"
    r"|Vào\b[^\n]{0,300}?(?:\n[^\n]{0,300}?)?\bđã viết:[ \t]*$"
    r"|-{2,}\s*(?:Original Message|Thư gốc|Tin nhắn gốc|Forwarded message)\s*-{2,}"
    r"|_{20,}[ \t]*$"
    r"|(?:From|Từ|Người gửi):[^\n]*\n(?:[^\n]*\n){0,3}?[ \t]*(?:Sent|Date|Đã gửi|Ngày):"
    r")",
    re.IGNORECASE | re.MULTILINE,
)


def cut_quotes(text: str) -> str:
    """The reply's own words: no quoted original, no ">" lines, at most MAX_TEXT."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")[: MAX_TEXT * 4]
    start = _QUOTE_START.search(text)
    if start:
        text = text[: start.start()]
    lines = [line.rstrip() for line in text.split("\n") if not line.lstrip().startswith(">")]
    # Composed: Windows-1258 and some phones send Vietnamese as letters + combining marks.
    return unicodedata.normalize("NFC", "\n".join(lines).strip())[:MAX_TEXT]


_HTML_DROP = re.compile(
    r"<(head|style|script|title)\b.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
#: Where a client puts the quoted original in HTML (Gmail, Outlook, Apple, Thunderbird).
_HTML_QUOTE = re.compile(
    r"<blockquote\b|<div[^>]*\b(?:class=\"?gmail_quote|id=\"?(?:divRplyFwdMsg|appendonsend)"
    r"|class=\"?moz-cite-prefix)",
    re.IGNORECASE,
)
_HTML_BREAK = re.compile(r"<(?:br|/p|/div|/tr|/li|/h\d|hr|p|div|li|tr)\b[^>]*>", re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^>]*>")


def html_text(markup: str) -> str:
    """The text of an HTML reply, its quoted original left out."""
    markup = _HTML_DROP.sub("", markup[: MAX_TEXT * 10])
    quote = _HTML_QUOTE.search(markup)
    if quote:
        markup = markup[: quote.start()]
    markup = " ".join(markup.split())
    text = html.unescape(_HTML_TAG.sub("", _HTML_BREAK.sub("\n", markup)))
    lines = [" ".join(line.split()) for line in text.replace("\xa0", " ").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
