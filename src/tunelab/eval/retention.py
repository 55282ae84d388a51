"""The general-ability retention set bundled with tunelab: what a fine-tune should not forget.

Two parts, written for the project (not taken from a benchmark):

- ``QUESTIONS``: general-knowledge questions with an answer check (``must_contain``, case-
  insensitive). Each was kept because the built-in base model (SmolLM2-135M-Instruct) answers
  it correctly with greedy decoding, so on that base the retention accuracy starts at 100% and
  any drop is forgetting. (Of 90 questions drafted, the 45 it answered plainly right were kept;
  a question it got right only by accident of wording, "-18.0" containing "0", was dropped.)
- ``TEXTS``: short plain-text passages of ordinary prose; their loss (next-token, every token)
  measures how much a fine-tune moved the model's general language modelling.

A different base model may not pass every question: forgetting is always measured against the
parent, never against 100%.
"""

from __future__ import annotations

from tunelab.data.formats import Example

QUESTIONS: tuple[tuple[str, str], ...] = (
    ("What is the capital of France?", "Paris"),
    ("What is the capital of Japan?", "Tokyo"),
    ("What is the capital of Germany?", "Berlin"),
    ("What is the capital of England?", "London"),
    ("What is the capital of Russia?", "Moscow"),
    ("What is the capital of China?", "Beijing"),
    ("What is the capital of Egypt?", "Cairo"),
    ("What is the capital of Canada?", "Ottawa"),
    ("What is the capital of Australia?", "Canberra"),
    ("Which planet is known as the Red Planet?", "Mars"),
    ("What gas do plants absorb from the air for photosynthesis?", "carbon dioxide"),
    ("At what temperature in Celsius does water boil at sea level?", "100"),
    ("How many days are in a week?", "7"),
    ("How many hours are in a day?", "24"),
    ("How many legs does a dog have?", "four"),
    ("What color is the sky on a clear day?", "blue"),
    ("What is the chemical symbol for water?", "H2O"),
    ("What is the chemical symbol for gold?", "Au"),
    ("Who wrote Romeo and Juliet?", "Shakespeare"),
    ("Who painted the Mona Lisa?", "Leonardo"),
    ("Who developed the theory of relativity?", "Einstein"),
    ("What is the largest ocean on Earth?", "Pacific"),
    ("What is the longest river in Africa?", "Nile"),
    ("What is the tallest mountain in the world?", "Everest"),
    ("What is the largest mammal?", "whale"),
    ("What is the opposite of hot?", "cold"),
    ("What is the opposite of up?", "down"),
    ("What is the plural of mouse?", "mice"),
    ("What is 2 plus 2?", "4"),
    ("What is 12 divided by 4?", "3"),
    ("What language is spoken in Brazil?", "Portuguese"),
    ("What language is mainly spoken in Mexico?", "Spanish"),
    ("What is the currency of the United Kingdom?", "pound"),
    ("Which organ pumps blood through the body?", "heart"),
    ("Which country is home to the kangaroo?", "Australia"),
    ("In which country are the pyramids of Giza?", "Egypt"),
    ("How many sides does a triangle have?", "three"),
    ("What is the largest desert in the world?", "Sahara"),
    ("What is the main language spoken in France?", "French"),
    ("What force keeps us on the ground?", "gravity"),
    ("Which season comes after summer?", "fall"),
    ("What is the smallest prime number?", "2"),
    ("What instrument has 88 keys?", "piano"),
    ("Which is the coldest continent?", "Antarctica"),
    ("What is the center of an atom called?", "nucleus"),
)

TEXTS: tuple[str, ...] = (
    "The kettle clicked off and the kitchen filled with steam. She poured the water over the "
    "tea leaves, waited three minutes, and carried the cup to the window to watch the rain.",
    "A bicycle is a simple machine. The rider pushes the pedals, the chain turns the rear "
    "wheel, and the gears decide how far the bicycle travels with each turn of the pedals.",
    "Bread needs only flour, water, salt and yeast. The yeast eats the sugars in the flour and "
    "releases gas, which is trapped by the dough and makes the loaf rise in the oven.",
    "Every autumn the leaves of many trees turn yellow, orange and red. The green pigment fades "
    "as the days grow shorter, and the other colours that were hidden all summer show through.",
    "The library opens at nine in the morning and closes at six in the evening. Books can be "
    "borrowed for three weeks, and a reader may renew a book twice if nobody else asked for it.",
    "Rivers begin as small streams in the hills. As they flow downhill they join other streams, "
    "grow wider and slower, and finally reach the sea, often through a wide, muddy delta.",
    "To plant a tomato, dig a hole deeper than the pot, set the plant in it, fill the hole with "
    "soil and water it well. Tomatoes like sun, warm nights and a steady supply of water.",
    "The train left the station on time. Outside the window, fields and small villages passed "
    "by, and after two hours the mountains appeared, their tops still white with snow.",
    "A good email is short and clear. It says in the first line what it is about, gives the "
    "details the reader needs, and ends with what the writer would like to happen next.",
    "The moon has no light of its own. It reflects the light of the sun, and as it travels "
    "around the earth we see more or less of its lit side, from a thin crescent to a full moon.",
    "Washing your hands with soap for twenty seconds removes most germs. Rinse them under clean "
    "running water and dry them with a clean towel or let them dry in the air.",
    "The market was busy on Saturday morning. People bought apples, cheese, fresh bread and "
    "flowers, and a man with a guitar played old songs beside the fountain in the square.",
)


def retention_questions() -> list[Example]:
    """The questions as chat examples carrying ``must_contain`` (scored like a test file)."""
    return [
        Example(
            line=i,
            messages=[{"role": "user", "content": question}],
            meta={"must_contain": answer},
        )
        for i, (question, answer) in enumerate(QUESTIONS, 1)
    ]


def retention_texts() -> list[Example]:
    """The passages as plain-text examples (every token scored)."""
    return [Example(line=i, messages=[], kind="text", text=t) for i, t in enumerate(TEXTS, 1)]
