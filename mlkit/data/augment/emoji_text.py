"""emoji: emoji as their names (":red_heart:" -> "red heart"), or removed."""

from __future__ import annotations


def emoji_to_words(text: str, mode: str) -> str:
    import emoji

    if mode == "remove":
        return " ".join(emoji.replace_emoji(text, replace="").split())
    spaced = emoji.demojize(text, delimiters=(" ", " "))
    return " ".join(spaced.replace("_", " ").split())
