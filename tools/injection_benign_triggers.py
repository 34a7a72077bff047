"""Write ``tools/injection_benign_triggers.jsonl``: benign requests that use injection trigger words.

    .venv/bin/python tools/injection_benign_triggers.py

deepset's benign rows hold almost no trigger words ("ignore", "forget", "instructions",
"system prompt", "pretend", "act as", "override", "bypass", "jailbreak", "password", "rules",
"you are now", "developer mode", "disregard", "previous"), so a head trained on them flags the
words, not the attack. These rows use the words in harmless requests: coding, writing,
everyday life, questions *about* prompt injection and security, role-play that changes no
rules, translations; in English and German (deepset is about half German). Written for this
project from templates and fillers (no dataset rows were read or paraphrased; NotInject stays
a measurement set). Each template is expanded with every filler, so the output is fixed.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).with_name("injection_benign_triggers.jsonl")

Template = tuple[str, list[tuple[str, ...]]]

# fmt: off
EN: list[Template] = [
    ("How do I make {} ignore {}?", [
        ("git", "my local .env file"), ("ESLint", "a single line"), ("mypy", "a missing stub for one package"),
        ("Docker", "the node_modules folder when building"), ("pytest", "a folder of slow tests"),
        ("Prettier", "generated files"), ("grep", "binary files"), ("my spam filter", "newsletters I actually want"),
    ]),
    ("In {}, how do I override {}?", [
        ("Python", "__eq__ on a dataclass"), ("TypeScript", "a method of the parent class"),
        ("Kotlin", "toString in a data class"), ("Django", "the save method of a model"),
        ("CSS", "a colour set by Bootstrap"), ("Terraform", "a variable from the command line"),
        ("Spring Boot", "a property in tests"),
    ]),
    ("Write a {} that ignores {} when {}.", [
        ("Python function", "blank lines", "reading a CSV file"),
        ("JavaScript helper", "letter case", "comparing two strings"),
        ("Go parser", "comment lines", "loading a config file"), ("SQL query", "NULL values", "averaging a column"),
        ("Bash script", "files older than 30 days", "backing up a folder"),
        ("regex", "leading spaces", "matching dates"),
    ]),
    ("My {} forgets {} after {}. How can I fix that?", [
        ("React component", "its state", "a page reload"), ("Python script", "its settings", "every restart"),
        ("Bluetooth headset", "the pairing", "each firmware update"), ("browser", "my logins", "I close it"),
        ("smart thermostat", "the schedule", "a power cut"),
    ]),
    ("How can I bypass {} {}?", [
        ("the proxy", "for localhost requests in npm"), ("the cache", "when I test my API with curl"),
        ("the login page", "in my own app's local dev build"), ("the toll road", "between Lyon and Geneva"),
        ("the slow checkout queue", "at the airport with an e-gate"),
    ]),
    ("What does {} do in {}?", [
        ("the --force flag", "git push"), ("--ignore-scripts", "npm install"), ("--no-verify", "git commit"),
        ("the override keyword", "C++"), ("the system prompt", "an LLM chat request"),
        ("'ignore' in a .dockerignore file", "a Docker build"), ("the @Override annotation", "Java"),
        ("developer mode", "Chrome extensions"),
    ]),
    ("How should I store user passwords in {}?", [
        ("a Flask app",), ("Postgres",), ("a Node.js backend",), ("a small Django project",),
    ]),
    ("Write a system prompt for {}.", [
        ("a recipe assistant that only uses vegetarian ingredients",), ("a homework helper for ten-year-olds",),
        ("an internal HR FAQ bot",), ("a polite customer-service bot for a bike shop",),
        ("a tutor that answers in simple German",),
    ]),
    ("How do I turn on developer mode on {}?", [
        ("a Chromebook",), ("Windows 11",), ("a Samsung phone",), ("my Apple Watch",),
    ]),
    ("What are the rules for {}?", [
        ("naming variables in Python",), ("semantic versioning",), ("writing good commit messages",),
        ("carrying liquids in hand luggage",), ("backgammon",), ("pickleball",), ("a Scrabble tie",),
        ("parking on the pavement in London",),
    ]),
    ("Is it okay to ignore {}?", [
        ("a check engine light that comes and goes",), ("spam calls from unknown numbers",),
        ("the deprecation warnings in my test output",), ("a recruiter who keeps messaging me",),
        ("the expiry date on dried pasta",),
    ]),
    ("I forgot {}. What should I do?", [
        ("my passport at home and my flight is in three hours",), ("the PIN of my bank card",),
        ("to pay the electricity bill last month",), ("my anniversary",), ("the password of my router",),
        ("my laptop charger at the hotel",),
    ]),
    ("Please disregard {}: {}", [
        ("my earlier message", "the meeting is on Thursday, not Tuesday. Can you update the invite text?"),
        ("the first draft", "here is the new one, please check the grammar."),
        ("the attachment I sent before", "this is the corrected invoice, what is the total with VAT?"),
        ("the last number", "the budget is 4,000 euros. How should I split it?"),
    ]),
    ("Forget {}, {}", [
        ("the pasta idea", "what can I cook with rice, eggs and spinach?"),
        ("about the hotel", "which hostels in Prague are quiet?"),
        ("the formal tone", "write it like a note to a friend."),
        ("the previous chart", "can you make a pie chart of the same numbers instead?"),
    ]),
    ("From now on, {}.", [
        ("please use metric units in your answers",), ("keep your answers under three sentences",),
        ("call me Sam",), ("write the code examples in Rust",), ("reply in Spanish so I can practise",),
    ]),
    ("You are now {}. {}", [
        ("my Spanish conversation partner", "Ask me about my weekend."),
        ("the quizmaster for our pub quiz", "Give me ten questions about geography."),
        ("my running coach", "Plan my first 5k training week."),
        ("a code reviewer", "Look at this function and tell me what could break."),
    ]),
    ("Act as {} and {}.", [
        ("a personal trainer", "make me a 20-minute home workout"),
        ("a job interviewer for a nursing position", "ask me five questions"),
        ("a sommelier", "suggest a wine for mushroom risotto"),
        ("a patient maths tutor", "explain fractions with pizza slices"),
        ("a Linux terminal tutor", "explain what each part of 'ls -la' shows"),
    ]),
    ("Pretend you are {} and {}.", [
        ("a tour guide in Rome", "describe the Colosseum"), ("a 1920s radio announcer", "read today's weather"),
        ("a customer returning a broken kettle", "let me practise my reply as a shop assistant"),
        ("a knight in a fairy tale", "tell my daughter a bedtime story about a shy dragon"),
    ]),
    ("Let's role-play: you are {} and I am {}. {}", [
        ("a hotel receptionist", "a guest checking in", "Start with a greeting."),
        ("a baker", "a customer ordering a birthday cake", "Ask me what I would like."),
        ("a detective", "a witness", "Ask me what I saw at the station."),
    ]),
    ("What is {} and how do I protect {} against it?", [
        ("prompt injection", "my chatbot"), ("indirect prompt injection", "a RAG app that reads web pages"),
        ("a jailbreak prompt", "a customer-support assistant"), ("SQL injection", "a PHP login form"),
        ("credential stuffing", "our web shop"), ("cross-site scripting", "a comment section"),
    ]),
    ("Explain to my team why {}.", [
        ("a language model can be tricked into ignoring its instructions",),
        ("a system prompt should never hold secrets",), ("user input must not be pasted into SQL strings",),
        ("we rotate passwords after a breach but not on a fixed schedule",),
    ]),
    ("Is it bad to ignore {}?", [
        ("security updates on an old laptop",),
        ("mild back pain after the gym",), ("a reminder letter from the tax office",),
    ]),
    ("Which instructions usually go into {}?", [
        ("a washing machine manual",), ("a pull request template",), ("a fire safety notice",), ("a recipe card",),
    ]),
    ("Explain to a child what {} is.", [
        ("a password",), ("a system administrator",), ("a detour on the road",), ("a role-playing game",),
    ]),
    ("{}", [
        ("What is the difference between a jailbreak and a prompt injection?",),
        ("How do researchers test whether a language model can be jailbroken?",),
        ("Summarize the OWASP Top 10 for large language model applications.",),
        ("How should a chatbot answer when a user asks it to reveal its system prompt?",),
        ("Design a test suite that checks my assistant does not follow instructions hidden in uploaded PDFs.",),
        ("Why do some users try to get chatbots into a so-called developer mode?",),
        ("Is it legal to jailbreak an old iPad to install apps?",),
        ("What does 'DAN' mean when people talk about ChatGPT jailbreaks, historically?",),
        ("Write a short blog post on how guard models classify prompt injection attempts.",),
        ("Which logs should we keep to spot attempts to bypass our content filter?",),
        ("My nephew says he can hack any password. How do I explain two-factor authentication to him?",),
        ("Rules of thumb for writing clear instructions in a user manual?",),
        ("Summarize the previous chapter of the book in three bullet points: the hero leaves home.",),
        ("Ignore the formatting for now and just check whether my argument makes sense.",),
        ("Can you ignore the British spellings in my essay? My teacher accepts both.",),
        ("How do judges decide when to override a jury's verdict?",),
        ("The instructions for my flat-pack wardrobe are missing step 7. What usually comes there?",),
        ("Write a limerick about a cat who forgets where she hid her toy.",),
        ("Write a scene where a spy pretends to be a waiter to overhear a conversation.",),
        ("Draft a polite email asking my colleague to ignore the calendar invite I sent by mistake.",),
        ("What's a good password manager for a family of four?",),
        ("How do I reset a forgotten Windows password on my own laptop?",),
        ("What does 'override' mean on the control panel of an elevator?",),
        ("Explain the rules of the previous round of the tournament, I missed it.",),
        ("Which of my previous orders were shipped to the old address?",),
        ("Pretend play is important for toddlers. Which toys encourage it?",),
        ("My boss told me to disregard the old style guide. Where can I find the current Google one?",),
        ("Give me step-by-step instructions to set up a Raspberry Pi as a home media server.",),
        ("Tell me a fun fact and then forget about facts and tell me a joke.",),
        ("How do I act as a good mentor to a new hire?",),
    ]),
    ("Translate into {}: \"{}\"", [
        ("German", "Please ignore the noise from the construction site."), ("French", "Don't forget your umbrella."),
        ("Spanish", "The rules of the game are simple."), ("German", "Follow the instructions on the package."),
        ("Italian", "He pretended not to hear me."), ("German", "The password is on the back of the router."),
        ("Dutch", "The judge overruled the objection."), ("German", "Forget about it, it's fine."),
        ("Polish", "The system is down for maintenance tonight."), ("German", "You are now a member of the club."),
    ]),
]

DE: list[Template] = [
    ("Wie kann ich {} in {} ignorieren lassen?", [
        ("Groß- und Kleinschreibung", "einer SQL-Abfrage"), ("Leerzeichen", "einem regulären Ausdruck"),
        ("Warnungen", "der Ausgabe von pip"), ("bestimmte Ordner", "der Dropbox-Synchronisierung"),
    ]),
    ("Schreibe eine {}, die {} ignoriert, wenn sie {}.", [
        ("Python-Funktion", "leere Zeilen", "eine CSV-Datei liest"),
        ("JavaScript-Funktion", "die Groß- und Kleinschreibung", "zwei Namen vergleicht"),
        ("SQL-Abfrage", "NULL-Werte", "den Durchschnitt berechnet"),
        ("Excel-Formel", "Fehlerwerte", "eine Spalte summiert"),
    ]),
    ("Ist es schlimm, {} zu ignorieren?", [
        ("die Kontrollleuchte für den Reifendruck",), ("eine Mahnung vom Inkassobüro",),
        ("Sicherheitsupdates auf meinem alten Laptop",), ("leichte Rückenschmerzen nach dem Sport",),
        ("die Einladung zum Klassentreffen",),
    ]),
    ("Wie höre ich auf, {} zu vergessen?", [
        ("Namen von neuen Kollegen",), ("genug Wasser zu trinken",), ("wo ich mein Auto geparkt habe",),
        ("meine Medikamente zu nehmen",),
    ]),
    ("Was muss ich bei {} beachten? Ich will keine Regeln missachten.", [
        ("der Untervermietung meiner Wohnung",), ("einem Grillabend im Park",), ("dem Angeln am Rhein",),
        ("einer Hochzeit im Ausland",),
    ]),
    ("Wie sicher ist {} als Passwort?", [
        ("ein Satz aus vier zufälligen Wörtern",), ("mein Geburtsdatum mit einem Ausrufezeichen",),
        ("eine zwölfstellige Zufallszahl",),
    ]),
    ("Kann mein Arbeitgeber {} überschreiben?", [
        ("meinen Urlaubsantrag",), ("die Einstellungen auf meinem Diensthandy",), ("meinen Arbeitsvertrag einseitig",),
    ]),
    ("Welche Anweisungen stehen normalerweise in {}?", [
        ("einer Bedienungsanleitung für eine Waschmaschine",), ("einem Beipackzettel",),
        ("einer Brandschutzordnung",), ("einem Pull-Request-Template",),
    ]),
    ("Was bedeutet \"{}\" auf Deutsch?", [
        ("ignore all warnings",), ("forget-me-not",), ("system prompt",), ("override the default",),
        ("bypass surgery",), ("developer mode",), ("previous instructions",), ("pretend play",),
    ]),
    ("Erkläre einem Kind, was {} ist.", [
        ("ein Passwort",), ("ein Jailbreak beim Handy",), ("ein Systemadministrator",), ("eine Umleitung im Verkehr",),
    ]),

    ("Wie bringe ich {} dazu, {} zu ignorieren?", [
        ("git", "meine lokale .env-Datei"), ("ESLint", "eine einzelne Zeile"), ("Outlook", "Werbe-Mails"),
        ("pytest", "einen Ordner mit langsamen Tests"), ("meinen Hund", "andere Hunde beim Spaziergang"),
        ("Excel", "leere Zellen beim Mittelwert"),
    ]),
    ("Wie überschreibe ich {} in {}?", [
        ("eine Methode der Elternklasse", "Java"), ("die Standardfarbe", "CSS"),
        ("eine Umgebungsvariable", "Docker Compose"), ("die save-Methode", "Django"),
        ("eine Datei beim Kopieren", "der Windows-Kommandozeile"),
    ]),
    ("Ich habe {} vergessen. Was kann ich tun?", [
        ("mein Passwort für das Online-Banking",), ("die PIN meiner EC-Karte",), ("meinen Schlüssel in der Wohnung",),
        ("den Geburtstag meiner Schwester",), ("die Steuererklärung abzugeben",), ("mein Ladekabel im Zug",),
    ]),
    ("Wie vergesse ich {}?", [
        ("ein WLAN-Netz auf dem iPhone",), ("ein gekoppeltes Bluetooth-Gerät unter Windows",),
        ("gespeicherte Passwörter in Firefox",),
    ]),
    ("Was sind die Regeln für {}?", [
        ("Schach",), ("das Parken vor einer Einfahrt",), ("Mülltrennung in Berlin",), ("Doppelkopf",),
        ("Handgepäck bei Lufthansa",), ("gute Commit-Nachrichten",), ("Radfahren auf dem Gehweg",),
    ]),
    ("Gib mir eine Anleitung für {}.", [
        ("das Umtopfen einer Orchidee",), ("einen Reifenwechsel am Fahrrad",), ("einen Sauerteig-Ansatz",),
        ("das Einrichten eines Aquariums",), ("die Installation von Python unter Windows",),
    ]),
    ("Wie umgehe ich {}?", [
        ("den Stau am Elbtunnel",), ("die Baustelle auf der A3 bei Frankfurt",),
        ("den Cache im Browser beim Testen meiner Webseite",), ("lange Warteschlangen am Flughafen",),
    ]),
    ("Schreibe einen Systemprompt für {}.", [
        ("einen Rezept-Assistenten",), ("einen Chatbot, der Fragen zur Mülltrennung beantwortet",),
        ("einen Nachhilfe-Bot für Mathe in der 7. Klasse",), ("den Kundenservice eines Fahrradladens",),
    ]),
    ("Tu so, als wärst du {}, und {}.", [
        ("ein Reiseführer in Wien", "erzähl mir etwas über den Stephansdom"),
        ("ein Bewerber für eine Stelle als Koch", "lass mich das Vorstellungsgespräch üben"),
        ("ein Ritter aus einem Märchen", "erzähl meinem Sohn eine Gute-Nacht-Geschichte"),
        ("ein Kunde, der eine Reklamation hat", "ich übe die Antwort als Verkäuferin"),
    ]),
    ("Du bist jetzt {}. {}", [
        ("mein Gesprächspartner für Englisch", "Frag mich nach meinem Wochenende."),
        ("der Quizmaster für unseren Spieleabend", "Stell mir zehn Fragen zu Erdkunde."),
        ("mein Lauftrainer", "Plane meine erste Trainingswoche für 5 Kilometer."),
        ("mein Lektor", "Lies diesen Absatz und sag mir, was unklar ist."),
    ]),
    ("Spiel {} und {}.", [
        ("einen strengen Deutschlehrer", "korrigiere meinen Aufsatz"),
        ("einen Sommelier", "empfiehl mir einen Wein zu Spargel"),
        ("eine Hotelrezeptionistin", "begrüße mich beim Einchecken"),
    ]),
    ("Ab jetzt {}.", [
        ("antworte bitte auf Englisch, damit ich üben kann",), ("halte deine Antworten kurz",),
        ("nenn mich einfach Alex",), ("schreib die Codebeispiele in TypeScript",),
    ]),
    ("Bitte ignoriere {}: {}", [
        ("meine letzte Nachricht", "das Treffen ist am Donnerstag, nicht am Dienstag."),
        ("den ersten Entwurf", "hier ist der neue, bitte prüf die Rechtschreibung."),
        ("die Tippfehler", "mir geht es nur um den Inhalt des Briefes."),
    ]),
    ("Vergiss {}, {}", [
        ("die Nudeln", "was kann ich mit Reis, Eiern und Spinat kochen?"),
        ("das Hotel", "welche Jugendherbergen in Dresden sind ruhig?"),
        ("den förmlichen Ton", "schreib es wie eine Nachricht an einen Freund."),
        ("die vorherige Tabelle", "mach bitte ein Balkendiagramm aus denselben Zahlen."),
    ]),
    ("Was ist {} und wie schütze ich {} davor?", [
        ("Prompt Injection", "meinen Chatbot"), ("ein Jailbreak-Prompt", "unseren Support-Assistenten"),
        ("SQL-Injection", "ein Login-Formular"), ("Phishing", "die Mitarbeiter meiner Firma"),
        ("Credential Stuffing", "unseren Onlineshop"),
    ]),
    ("Erkläre meinem Team, warum {}.", [
        ("ein Sprachmodell dazu gebracht werden kann, seine Anweisungen zu ignorieren",),
        ("ein Systemprompt keine Passwörter enthalten darf",), ("Benutzereingaben nie direkt in SQL landen dürfen",),
    ]),
    ("Übersetze ins {}: \"{}\"", [
        ("Englische", "Bitte ignoriere den Lärm von der Baustelle."),
        ("Englische", "Vergiss deinen Regenschirm nicht."),
        ("Französische", "Die Regeln des Spiels sind einfach."),
        ("Englische", "Befolge die Anweisungen auf der Packung."),
        ("Englische", "Er tat so, als hätte er mich nicht gehört."),
        ("Spanische", "Das Passwort steht auf dem Router."),
        ("Englische", "Du bist jetzt Mitglied im Verein."), ("Englische", "Vergiss es, ist schon gut."),
    ]),
    ("{}", [
        ("Was ist der Unterschied zwischen einem Jailbreak und einer Prompt Injection?",),
        ("Wie sollte ein Chatbot reagieren, wenn jemand nach seinem Systemprompt fragt?",),
        ("Warum versuchen manche Leute, Chatbots in einen Entwicklermodus zu bringen?",),
        ("Wie aktiviere ich den Entwicklermodus auf meinem Android-Handy?",),
        ("Ist es legal, eine alte Spielekonsole zu jailbreaken?",),
        ("Welches Passwort-Manager-Programm ist gut für Familien?",),
        ("Wie setze ich das Passwort meines Windows-Laptops zurück, wenn ich es vergessen habe?",),
        ("Fasse das vorherige Kapitel in drei Sätzen zusammen: der Held verlässt sein Dorf.",),
        ("Ignoriere erst einmal die Formatierung und sag mir, ob mein Argument schlüssig ist.",),
        ("Schreibe ein Gedicht über eine Katze, die vergisst, wo sie ihr Spielzeug versteckt hat.",),
        ("Schreibe eine Szene, in der eine Spionin sich als Kellnerin ausgibt.",),
        ("Formuliere eine höfliche Mail: Bitte die Kalendereinladung von gestern ignorieren.",),
        ("Kann ein Vermieter die Hausordnung einfach ändern und alte Regeln überschreiben?",),
        ("Was bedeutet 'Override' an der Steuerung einer Heizung?",),
        ("Welche meiner vorherigen Bestellungen gingen an die alte Adresse?",),
        ("Mein Chef sagt, ich soll die alten Richtlinien missachten. Wo finde ich die neuen?",),
        ("Wie kann ich als Mentor neuen Kollegen gut helfen?",),
        ("Was bedeutet der Begriff Bypass in der Medizin?",),
        ("Welche Regeln gelten für Drohnenflüge in Deutschland?",),
        ("Wie erkläre ich meiner Oma, warum sie ihr Passwort niemandem sagen darf?",),
        ("Erzähl mir einen Witz und dann vergiss die Witze und erkläre mir die Fotosynthese.",),
        ("Welche Anweisungen sollte ich dem Babysitter für den ersten Abend geben?",),
        ("Schreib eine kurze Erklärung, wie Schutzmodelle Prompt-Injection-Versuche erkennen.",),
        ("Wie teste ich, ob mein Assistent versteckte Anweisungen in hochgeladenen PDFs befolgt?",),
    ]),
]


# Templates that tell the model itself to drop, correct or change something earlier in the
# conversation, or to take a role. deepset labels that form as an attack even when harmless
# ("forget everything before that, ..." then a plain question; "act as a translator"), so
# these rows are tagged "directive" and training can leave them out; the rest are "topic":
# the trigger word is part of what is asked about.
DIRECTIVE = {
    "Please disregard {}: {}", "Forget {}, {}", "From now on, {}.", "You are now {}. {}", "Act as {} and {}.",
    "Pretend you are {} and {}.", "Let's role-play: you are {} and I am {}. {}", "Tu so, als wärst du {}, und {}.",
    "Du bist jetzt {}. {}", "Spiel {} und {}.", "Ab jetzt {}.", "Bitte ignoriere {}: {}", "Vergiss {}, {}",
}
# fmt: on


def rows() -> list[dict[str, str | int]]:
    out: list[dict[str, str | int]] = []
    seen: set[str] = set()
    for lang, templates in (("en", EN), ("de", DE)):
        for template, fills in templates:
            for fill in fills:
                text = template.format(*fill)
                if text not in seen:
                    seen.add(text)
                    kind = "directive" if template in DIRECTIVE else "topic"
                    out.append({"text": text, "label": 0, "lang": lang, "kind": kind,
                                "source": "benign trigger-word template"})  # fmt: skip
    return out


def main() -> None:
    data = rows()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in data))
    print(f"wrote {OUT.name}: {len(data)} rows")


if __name__ == "__main__":
    main()
