"""Known attack phrases: English, German, French, Spanish, Italian, Portuguese, Dutch, Croatian, Polish,
Russian and Chinese.

Each pattern is a whole instruction (a verb that overrides plus what it overrides), not a
trigger word: "ignore this warning" or "forget my password" stay clean, "ignore all previous
instructions" does not. Patterns run on the normalized view (:mod:`.normalize`), lower-cased.
"""

from __future__ import annotations

import re

# ruff: noqa: E501 - one pattern a line reads better than split strings

_EN = [
    r"\b(?:ignore|disregard|forget|skip|override|bypass|drop|abandon|discard)\b[^.\n]{0,40}?\b(?:previous|prior|above|earlier|preceding|former|all|any|every|the|your|initial|original|system)\b[^.\n]{0,25}?\b(?:instructions?|prompts?|rules?|directions?|guidelines?|tasks?|context|commands?|orders?|messages?|constraints?)\b",
    r"\b(?:new|updated|real|actual|different)\s+(?:instructions?|task|rules?|orders?)\s*(?::|are|is|follow)",
    r"\b(?:print|reveal|show|repeat|output|display|tell me|leak|dump|spell out|write out)\b[^.\n]{0,30}?\b(?:your|the)\s+(?:system|initial|original|hidden|secret)?\s*(?:prompt|instructions|rules|guidelines|configuration)\b",
    r"\b(?:what|which)\s+(?:is|are|were)\s+(?:your|the)\s+(?:system\s+prompt|initial\s+instructions|hidden\s+instructions)",
    r"\byou\s+are\s+(?:now|no\s+longer)\b[^.\n]{0,40}",
    r"\b(?:from\s+now\s+on|henceforth)\b[^.\n]{0,30}?\b(?:you|act|respond|answer|behave)\b",
    r"\b(?:act|behave|pretend|roleplay)\s+(?:as|like|to\s+be)\b[^.\n]{0,40}?\b(?:unrestricted|unfiltered|jailbroken|evil|without\s+(?:any\s+)?(?:rules|restrictions|limits|filters))",
    r"\b(?:dan|developer\s+mode|jailbreak(?:ed)?|god\s+mode|do\s+anything\s+now)\b[^.\n]{0,30}?\b(?:mode|enabled|activated|prompt|now)\b",
    r"\bdo\s+not\s+follow\b[^.\n]{0,20}?\b(?:instructions|rules|guidelines)\b",
    r"\b(?:stop|cease)\b[^.\n]{0,20}?\b(?:following|obeying)\b[^.\n]{0,20}?\b(?:instructions|rules)\b",
    r"\bnow\s+(?:focus\s+on|concentrate\s+on|do)\s+(?:your|the|a|this)\s+new\s+task",
    r"(?:^|\n)\s*(?:system|assistant)\s*:\s*(?:you|ignore|new)",
    r"</?(?:system|instructions?|im_start|im_end)>|\[/?inst\]|<<sys>>",
    r"\b(?:forget|ignore|disregard)\s+(?:about\s+)?(?:everything|all\s+(?:of\s+)?(?:that|this|the\s+above))\b",
    r"\b(?:leave|put|remove|delete|clear)\b[^.\n]{0,20}?\b(?:all\s+)?(?:the\s+)?(?:previous|prior|earlier)\s+(?:information|tasks?|instructions?|context)\b",
    r"\b(?:change|replace|update)\s+your\s+(?:instructions|rules|task|prompt)\b",
    r"\b(?:concentrate|focus)\s+on\s+(?:the|your|a)\s+new\s+task\b",
    r"\bnow\s+you\s+are\b",
    r"\bstop\s*[:\-]+\s*(?:write|say|print|answer)\b",
    r"\bdespite\s+what\s+you(?:'ve|\s+have)\s+been\s+told\b",
    r"\b(?:answer|respond)\s+(?:by|from|with)\s+your\s+own\s+knowledge\s+(?:and\s+)?not\b",
    r"\b(?:additional|further|secret|hidden)\s+instructions?\s*[:\-]",
]
_DE = [
    r"\b(?:ignoriere|ignorier|ignorieren\s+sie|vergiss|vergessen\s+sie|missachte|übergehe)\b[^.\n]{0,50}?\b(?:vorherigen?|vorigen?|bisherigen?|obigen?|vorangegangenen?|anweisungen|aufgaben|befehle|regeln|instruktionen|gesagte)\b",
    r"\b(?:neue|nächste)\s+(?:aufgabe|anweisung|anweisungen|befehl)\b\s*(?::|ist|lautet|folgt)",
    r"\b(?:konzentriere|konzentrieren)\s+(?:dich|sie\s+sich)\s+(?:jetzt\s+)?auf\s+(?:deine|ihre|die)\s+neue",
    r"\b(?:zeige?|gib|nenne|verrate|wiederhole)\b[^.\n]{0,30}?\b(?:deinen?|ihren?|den|die)\s+(?:system-?prompt|prompt|anweisungen)\b",
    r"\bdu\s+bist\s+(?:jetzt|nun|ab\s+(?:jetzt|sofort))\b",
    r"\bab\s+(?:jetzt|sofort)\b[^.\n]{0,30}?\b(?:bist|antwortest|handelst|sollst)\b",
    r"\bnun\s+folgen\s+(?:neue|weitere)\s+(?:anweisungen|aufgaben|instruktionen)\b",
    r"\b(?:alle\s+)?(?:vorherigen|bisherigen|vorangegangenen)\s+(?:informationen|aufgaben|anweisungen)\b[^.\n]{0,40}?\b(?:hinter\s+sich|vergessen|streichen|irrelevant|ignorieren)\b",
    r"\baus\s+dem\s+kopf\s+(?:zu\s+)?streichen\b",
    r"\b(?:jetzt|nun)\s+bist\s+du\b",
    r"\babweichend\s+(?:zu|von)\s+(?:den\s+)?(?:vorherigen|bisherigen)\b",
    r"\bvergiss\s+(?:alles|das\s+alles)\b",
]
_FR = [
    r"\b(?:ignore[zr]?|oublie[zr]?|néglige[zr]?)\b[^.\n]{0,40}?\b(?:instructions|consignes|règles|directives)\b[^.\n]{0,20}?\b(?:précédentes|antérieures|ci-dessus)?",
    r"\b(?:affiche|montre|révèle|répète)[sz]?\b[^.\n]{0,20}?\b(?:ton|votre|le)\s+(?:prompt|invite)\s+(?:système|systeme)?",
    r"\btu\s+es\s+maintenant\b",
]
_ES_PT_IT_NL = [
    r"\b(?:ignora|ignore|olvida|esquece|esqueça|dimentica|negeer|vergeet)\b[^.\n]{0,40}?\b(?:instrucciones|instruções|istruzioni|instructies|reglas|regras|regole|regels)\b",
    r"\b(?:muestra|revela|mostra|rivela|toon)\b[^.\n]{0,20}?\b(?:tu|seu|il\s+tuo|je)\s+(?:prompt|instrucciones|istruzioni)",
    r"\b(?:ahora\s+eres|agora\s+você\s+é|ora\s+sei|je\s+bent\s+nu)\b",
    r"\b(?:olvidar?|olvida|esquecer?|dimenticare?)\s+todo\b",
    r"\b(?:zaboravi|zaboravite|zapomnij|zapomeň)\b[^.\n]{0,20}?\b(?:sve|wszystk\w*|všechn\w*|instrukcij\w*|instrukc\w*)\b",
]
_RU_ZH = [
    r"(?:игнорируй|забудь|проигнорируй)[^.\n]{0,40}?(?:инструкции|указания|правила)",
    r"(?:忽略|无视|忘记|忽視)[^。\n]{0,12}?(?:之前|以上|先前|所有|上面)?[^。\n]{0,6}?(?:指令|指示|说明|提示|规则)",
    r"(?:显示|输出|打印|告诉我)[^。\n]{0,8}?(?:系统提示|系统指令|你的提示)",
]

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (lang, re.compile(p, re.IGNORECASE))
    for lang, group in (("en", _EN), ("de", _DE), ("fr", _FR), ("es/pt/it/nl/hr/pl", _ES_PT_IT_NL), ("ru/zh", _RU_ZH))
    for p in group
]


def find(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, language)`` of every attack phrase in ``text``."""
    return [(m.start(), m.end(), lang) for lang, rx in PATTERNS for m in rx.finditer(text)]
