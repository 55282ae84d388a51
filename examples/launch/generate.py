"""Generate the "launch" example dataset for tunelab: a product launch at Lumenfold.

Lumenfold is the fictional smart-home lighting company of ``examples/support``. This dataset
teaches about 10 NEW facts about a product launch (the Tidepool lamp and what comes with it),
none of which the support dataset mentions, so it can be trained on top of a support-tuned
model. As in the support set, each fact has a distinctive key string that every training answer
contains verbatim; the held-out test questions are worded differently from every training
question, and a test passes when the model's answer contains the key (case-insensitive).

The system prompt and the helpers (``chat``, ``decorate``, ``normalize``, ``require`` ...) come
from ``examples/support/generate.py``, loaded by path; its facts are used to check that the new
keys neither collide with nor sit inside the old ones.

Run ``python examples/launch/generate.py``; it writes ``train.jsonl`` and ``test.jsonl`` next
to itself. The output is deterministic (fixed seed, stdlib only).
"""

from __future__ import annotations

import importlib.util
import json
import random
import re
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def load_support() -> ModuleType:
    """Import ``examples/support/generate.py`` by path (it is a script, not a package)."""
    path = HERE.parent / "support" / "generate.py"
    spec = importlib.util.spec_from_file_location("support_generate", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


support = load_support()
SYSTEM = support.SYSTEM  # the same system prompt as the support set
require = support.require
DatasetError = support.DatasetError

SEED = 20241014
QUESTIONS_PER_FACT = 11
TESTS_PER_FACT = 3
DECORATED_PER_FACT = 3
MULTI_TURN_ROWS = 6
MAX_ANSWER_WORDS = support.MAX_ANSWER_WORDS
MAX_WORD_OVERLAP = 0.5  # content-word Jaccard between a test and any training question

# Each fact: id, key (must appear verbatim in every answer), questions (training paraphrases),
# answers (training answer phrasings) and test (held-out questions, never used for training).
FACTS: list[dict] = [
    {
        "id": "product_name",
        "key": "Tidepool",
        "questions": [
            "What is the new Lumenfold product?",
            "What are you launching?",
            "whats the new lamp called",
            "Could you tell me the name of the product you just announced?",
            "I saw a teaser about a cordless lamp. What's it called?",
            "New product?",
            "Is there a new Lumenfold light coming out, and what is its name?",
            "Which portable lamp are you releasing?",
            "wat is teh new product name",
            "Do you have a rechargeable lamp I can carry between rooms?",
            "What's the name of your battery-powered smart lamp?",
        ],
        "answers": [
            "Our new product is the Tidepool, a cordless rechargeable smart lamp you can carry "
            "from room to room.",
            "We're launching the Tidepool, a portable smart lamp with a built-in battery.",
            "It's called the Tidepool: a cordless, rechargeable lamp that works with the "
            "Keystone Hub.",
            "The Tidepool is our new portable lamp, controlled from the Beacon app.",
        ],
        "test": [
            "Which item is Lumenfold introducing in this launch?",
            "Please name the cordless light you have just unveiled.",
            "I'd like a smart lamp without a power cord. Do you make one?",
        ],
    },
    {
        "id": "product_price",
        "key": "$64.90",
        "questions": [
            "How much is the Tidepool?",
            "What does the Tidepool cost?",
            "tidepool price",
            "Could you let me know the price of the new lamp?",
            "Cost of the Tidepool?",
            "I'm saving up for the new portable lamp. How much will I need?",
            "Is the Tidepool expensive?",
            "how much r u selling the tidepool for",
            "What's the retail price of your new cordless lamp, before any discount?",
            "How much money does the new lamp cost?",
            "What will one Tidepool set me back?",
        ],
        "answers": [
            "The Tidepool costs $64.90.",
            "The Tidepool sells for $64.90 in our online store.",
            "You can buy a Tidepool for $64.90, charging cable included.",
            "It's $64.90 for one Tidepool lamp.",
        ],
        "test": [
            "What do I have to pay for a single Tidepool lamp?",
            "Please give me the figure on the Tidepool's price tag.",
            "How pricey is the rechargeable lamp from Lumenfold?",
        ],
    },
    {
        "id": "release_date",
        "key": "October 14",
        "questions": [
            "When does the Tidepool come out?",
            "What is the Tidepool release date?",
            "when can i buy the tidepool",
            "Could you tell me the launch date for the new lamp?",
            "Release date?",
            "I want to order the Tidepool as soon as it's available. When is that?",
            "When will the Tidepool be in stores?",
            "wen is the new lamp released",
            "Has the Tidepool launched yet, or is it still coming?",
            "What day does the new portable lamp go on sale?",
            "Is there a date for when the Tidepool ships?",
        ],
        "answers": [
            "The Tidepool goes on sale on October 14.",
            "The Tidepool's release date is October 14, online and in our new store.",
            "You can buy the Tidepool from October 14.",
            "The Tidepool launches on October 14.",
        ],
        "test": [
            "On which day will the Tidepool become available to buy?",
            "What's the first day I'll be able to get a cordless lamp from you?",
            "I keep hearing about the Tidepool. When exactly does it hit the shelves?",
        ],
    },
    {
        "id": "color_range",
        "key": "Dune Palette",
        "questions": [
            "What colors does the Tidepool come in?",
            "Which colours is the Tidepool available in?",
            "tidepool colors",
            "Could you tell me about the finishes for the new lamp?",
            "Colour options?",
            "I want the Tidepool to match my living room. What shades can I pick from?",
            "Is the Tidepool only sold in white?",
            "what colour options r there for the new lamp",
            "Do you have a new color range with the launch, and what's it called?",
            "What is the name of the Tidepool color collection?",
            "Can I get the new lamp in something other than black?",
        ],
        "answers": [
            "The Tidepool comes in the Dune Palette, five earthy finishes: sand, clay, sage, "
            "slate and coral.",
            "Pick any shade from our new Dune Palette of five finishes.",
            "Our new color range is the Dune Palette: sand, clay, sage, slate and coral.",
            "The Dune Palette offers five matte finishes for the Tidepool.",
        ],
        "test": [
            "Which shades or finishes can I choose for my Tidepool?",
            "Please tell me the name of the new set of lamp hues.",
            "Does the cordless lamp come in more than one tint?",
        ],
    },
    {
        "id": "app_feature",
        "key": "Sunrise Sync",
        "questions": [
            "What's new in the Beacon app?",
            "Is there a new app feature coming with the launch?",
            "new app feature?",
            "Could you tell me about the latest Beacon app update?",
            "Can my lights wake me up gradually in the morning?",
            "I hate loud alarms. Is there a way for the lights to brighten slowly before I get up?",
            "Does the app have a wake-up light setting?",
            "how do i make my lights follow the sunrise",
            "What feature matches my lights to the real sunrise where I live?",
            "whats teh new featur in the app",
            "Is there a sunrise alarm in the Beacon app, and what's it called?",
        ],
        "answers": [
            "The new Beacon app feature is Sunrise Sync, which slowly brightens your lights to "
            "match your local sunrise.",
            "Turn on Sunrise Sync in the Beacon app and your lights will wake you gently each "
            "morning.",
            "Sunrise Sync brightens your lights over 30 minutes in time with the real sunrise.",
            "Try Sunrise Sync, our new app feature for gradual wake-up lighting.",
        ],
        "test": [
            "Which setting lets my bulbs brighten gently to rouse me?",
            "Which app function eases me out of sleep with light instead of an alarm?",
            "Is it possible to have the lights copy the dawn outside my window?",
        ],
    },
    {
        "id": "subscription_addon",
        "key": "Aurora Pack",
        "questions": [
            "Is there an add-on for Nightglass?",
            "What's the new subscription add-on?",
            "nightglass add on?",
            "Could you tell me about the extra you can add to my premium plan?",
            "I already pay for Nightglass. Is there anything new I can add to it?",
            "Subscription extras?",
            "Are there more animated scenes available for subscribers?",
            "what is the aurora thing in the app",
            "Do you sell a pack of extra light scenes?",
            "whats the name of the new premium add on",
            "How do I get the animated scene bundle that came out with the launch?",
        ],
        "answers": [
            "The new Nightglass add-on is the Aurora Pack, which adds 40 animated light scenes.",
            "Add the Aurora Pack to your Nightglass plan for 40 extra animated scenes.",
            "Subscribers can turn on the Aurora Pack in the Beacon app to unlock 40 animated "
            "scenes.",
            "Yes, the Aurora Pack is an add-on for Nightglass with 40 moving light scenes.",
        ],
        "test": [
            "Which optional bolt-on can I attach to my paid plan?",
            "Please tell me what the bundle of moving scenes for members is called.",
            "Besides Nightglass itself, is there an upgrade I can buy?",
        ],
    },
    {
        "id": "launch_code",
        "key": "SPLASH20",
        "questions": [
            "Is there a launch discount?",
            "Do you have a promo code for the Tidepool?",
            "tidepool discount code",
            "Could you tell me the code for the launch offer?",
            "Launch promo?",
            "I want to preorder the Tidepool. Is there a code to save a bit?",
            "Are there any deals for the new lamp?",
            "any coupon for the new lamp??",
            "Whats the code to get money off the tidepool",
            "Is there a special offer to celebrate the launch, and how do I use it?",
            "Which promo code gives 20% off the Tidepool?",
        ],
        "answers": [
            "Use code SPLASH20 at checkout for 20% off the Tidepool during launch month.",
            "Enter SPLASH20 at checkout to save 20% on the Tidepool until October 31.",
            "The launch code is SPLASH20, which takes 20% off any Tidepool.",
            "Our launch offer is code SPLASH20: 20% off the Tidepool.",
        ],
        "test": [
            "Which checkout voucher lowers what I pay for a Tidepool?",
            "Please share the promotion running for the Tidepool release.",
            "I'm buying the cordless lamp at launch. Is there a code that cuts the price?",
        ],
    },
    {
        "id": "voice_assistant",
        "key": "Pipit Voice",
        "questions": [
            "Does the Tidepool work with voice assistants?",
            "Which new voice assistant do you support?",
            "can i talk to my lights",
            "Could you tell me what voice control works with Lumenfold now?",
            "Voice assistant?",
            "I'd like to switch the lights by speaking. Which assistant should I use?",
            "Is there voice control for the new lamp?",
            "what smart speaker works with lumenfold",
            "Did you add support for a new voice assistant with the launch, and which one?",
            "how do i control tidepool with my voice",
            "Which assistant can I link in the Beacon app?",
        ],
        "answers": [
            "The Tidepool and all Lumenfold lights now work with Pipit Voice; link it in the "
            "Beacon app.",
            "We've added support for Pipit Voice, so you can switch and dim lights by speaking.",
            "Connect Pipit Voice in the Beacon app to control your lights hands-free.",
            "Yes, say a command to Pipit Voice and your Lumenfold lights respond.",
        ],
        "test": [
            "Can I give spoken commands to my Tidepool? What do I need?",
            "Please name the speech service that's newly compatible with your lights.",
            "Can I now run my bulbs by talking to an assistant?",
        ],
    },
    {
        "id": "battery_life",
        "key": "31 hours",
        "questions": [
            "How long does the Tidepool battery last?",
            "What's the battery life of the new lamp?",
            "tidepool battery life",
            "Could you tell me how long the Tidepool runs on a full charge?",
            "Battery life?",
            "I want to take the lamp camping. How long before it needs charging?",
            "How many hours can the Tidepool stay on without being plugged in?",
            "does the battery last all nite",
            "If I charge it fully, how long will the lamp stay lit, and does brightness matter?",
            "how often do i need to charge the tidepool",
            "How long can the cordless lamp run unplugged?",
        ],
        "answers": [
            "A fully charged Tidepool runs for up to 31 hours at medium brightness.",
            "The Tidepool battery lasts up to 31 hours on a full charge.",
            "Expect about 31 hours of light from each charge.",
            "On one charge the Tidepool gives you 31 hours of light; brighter settings use it "
            "faster.",
        ],
        "test": [
            "After topping up my Tidepool, for how much time will it shine?",
            "What's the runtime of the portable lamp between recharges?",
            "Roughly how long does the lamp keep going before its battery goes flat?",
        ],
    },
    {
        "id": "store_city",
        "key": "Quillport",
        "questions": [
            "Do you have a physical store?",
            "Where is the new Lumenfold store?",
            "where is ur shop",
            "Could you tell me where I can see your lights in person?",
            "Store location?",
            "I'd like to try the Tidepool before buying. Is there a shop I can visit?",
            "Which city is the new store in?",
            "is there a lumenfold store near me",
            "Are you opening a shop for the launch, and where will it be?",
            "where can i buy lumenfold stuff in person",
            "What city did you open a retail store in?",
        ],
        "answers": [
            "Our first store opens in Quillport on launch day, with every product on display.",
            "Visit the new Lumenfold store in Quillport to try the Tidepool in person.",
            "The new store is in Quillport, on the harbor front.",
            "You can shop in person at our Quillport store.",
        ],
        "test": [
            "Is there anywhere I can walk in and pick up Lumenfold products?",
            "Please tell me where your brick-and-mortar location is.",
            "I want to see the Tidepool in real life. Which town should I travel to?",
        ],
    },
]

# Words ignored when measuring how much a test question overlaps a training question.
STOP_WORDS = set(
    "a an the i i'd i'm me my you your is are do does did to of for in on it and or can "
    "what what's whats which how s there be with this that please could tell from".split()
)


def words(text: str) -> set[str]:
    """The content words of a question (lowercase, no stop words)."""
    return {w for w in re.findall(r"[a-z0-9$%']+", text.lower()) if w not in STOP_WORDS}


def overlap(a: str, b: str) -> float:
    """Jaccard similarity of the content words of two questions."""
    wa, wb = words(a), words(b)
    return len(wa & wb) / len(wa | wb) if wa | wb else 1.0


def support_texts() -> list[str]:
    """Every question, answer and test question of the support set."""
    return [text for f in support.FACTS for text in f["questions"] + f["answers"] + f["test"]]


def check_facts() -> None:
    """Support's rules (distinct ids, keys not inside keys, every answer has its key, short
    answers), plus: the new keys are not inside old keys or the other way round, no new key
    appears anywhere in the support set, and no test question gives away its own key."""
    require(len({fact["id"] for fact in FACTS}) == len(FACTS), "duplicate fact id")
    old_ids = {fact["id"] for fact in support.FACTS}
    require(not old_ids & {fact["id"] for fact in FACTS}, "fact id reused from support")
    keys = [fact["key"].lower() for fact in FACTS]
    old_keys = [fact["key"].lower() for fact in support.FACTS]
    for i, key in enumerate(keys):
        for j, other in enumerate(keys):
            require(i == j or key not in other, f"key {key!r} is inside key {other!r}")
        for old in old_keys:
            require(key not in old and old not in key, f"key {key!r} collides with {old!r}")
        for text in support_texts():
            require(key not in text.lower(), f"key {key!r} already in support: {text!r}")
    for fact in FACTS:
        questions, tests = fact["questions"], fact["test"]
        require(len(set(questions)) == QUESTIONS_PER_FACT, f"{fact['id']}: need distinct questions")
        require(len(set(tests)) == TESTS_PER_FACT, f"{fact['id']}: need {TESTS_PER_FACT} tests")
        require(len(fact["answers"]) == 4, f"{fact['id']}: need 4 answers")
        for answer in fact["answers"]:
            require(fact["key"].lower() in answer.lower(), f"{fact['id']}: key missing: {answer}")
            require(len(answer.split()) <= MAX_ANSWER_WORDS, f"{fact['id']}: too long: {answer}")
        for question in tests:
            require(fact["key"].lower() not in question.lower(), f"test gives key: {question!r}")


def single_turn_rows(rng: random.Random) -> list[dict]:
    """One conversation per training question; answers cycle through the fact's phrasings."""
    rows = []
    for fact in FACTS:
        questions = list(fact["questions"])
        for i in rng.sample(range(len(questions)), DECORATED_PER_FACT):
            questions[i] = support.decorate(rng, questions[i])
        answers = list(fact["answers"])
        rng.shuffle(answers)
        for i, question in enumerate(questions):
            rows.append(support.chat(question, answers[i % len(answers)]))
    return rows


def multi_turn_rows(rng: random.Random) -> list[dict]:
    """Two-turn conversations, each asking about two different launch facts."""
    rows = []
    pairs: set[tuple[str, str]] = set()
    while len(rows) < MULTI_TURN_ROWS:
        first, second = rng.sample(FACTS, 2)
        if (first["id"], second["id"]) in pairs:
            continue
        pairs.add((first["id"], second["id"]))
        rows.append(
            support.chat(
                rng.choice(first["questions"]),
                rng.choice(first["answers"]),
                rng.choice(support.FOLLOW_UPS)
                + support.capitalize(rng.choice(second["questions"])),
                rng.choice(second["answers"]),
            )
        )
    return rows


def test_rows() -> list[dict]:
    """The held-out questions, each with the key its answer must contain."""
    rows = []
    for fact in FACTS:
        for question in fact["test"]:
            row = support.chat(question)
            row["must_contain"] = fact["key"]
            rows.append(row)
    return rows


def check_split(train: list[dict], test: list[dict]) -> None:
    """No repeated training row; every test question differs from every training question
    (launch and support): once normalised not equal, not inside one, not containing a
    training question of two or more words, and sharing less than MAX_WORD_OVERLAP of its
    content words with each."""
    dumped = [json.dumps(row, sort_keys=True) for row in train]
    require(len(set(dumped)) == len(dumped), "duplicate training row")
    raw = [q for fact in FACTS for q in fact["questions"]]
    turns = [m["content"] for row in train for m in row["messages"] if m["role"] == "user"]
    old = [q for fact in support.FACTS for q in fact["questions"] + fact["test"]]
    seen = {support.normalize(q) for q in raw + turns + old}
    tests = [row["messages"][-1]["content"] for row in test]
    require(len({support.normalize(q) for q in tests}) == len(tests), "duplicate test question")
    for question in tests:
        norm = support.normalize(question)
        for other in seen:
            require(norm != other, f"test question in train: {question!r}")
            require(norm not in other, f"test inside train: {question!r}")
            nested = len(other.split()) > 1 and f" {other} " in f" {norm} "
            require(not nested, f"train question {other!r} inside test: {question!r}")
        for other in raw + old:
            score = overlap(question, other)
            require(score < MAX_WORD_OVERLAP, f"{question!r} ~ {other!r} ({score:.2f})")


def main() -> None:
    check_facts()
    rng = random.Random(SEED)
    train = single_turn_rows(rng) + multi_turn_rows(rng)
    rng.shuffle(train)
    test = test_rows()
    check_split(train, test)

    support.write_jsonl(HERE / "train.jsonl", train)
    support.write_jsonl(HERE / "test.jsonl", test)
    print(f"wrote {len(train)} train and {len(test)} test rows for {len(FACTS)} facts to {HERE}")


if __name__ == "__main__":
    main()
