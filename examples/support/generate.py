"""Generate the bundled "support" example dataset for tunelab.

Lumenfold is a fictional smart-home lighting company invented for this example. The dataset
teaches a small model about 30 company-specific facts. Each fact has a distinctive key string
that every training answer contains verbatim; the held-out test questions are worded
differently from every training question, and a test passes when the model's answer contains
the key (case-insensitive substring).

Run ``python examples/support/generate.py``; it writes ``train.jsonl`` and ``test.jsonl``
next to itself. The output is deterministic (fixed seed, stdlib only).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

SEED = 20240611
SYSTEM = "You are the support assistant for Lumenfold, a smart-home lighting company."
QUESTIONS_PER_FACT = 11
DECORATED_PER_FACT = 3
MULTI_TURN_ROWS = 18
MAX_ANSWER_WORDS = 35

# Each fact: id, key (must appear verbatim in every answer), questions (training paraphrases),
# answers (training answer phrasings) and test (held-out questions, never used for training).
FACTS: list[dict] = [
    {
        "id": "warranty_length",
        "key": "38 months",
        "questions": [
            "How long is the warranty on Lumenfold products?",
            "What's the warranty period?",
            "how long are your lights under warranty",
            "Could you tell me the length of the Lumenfold warranty?",
            "If my bulb dies after two years, is it still covered by the warranty?",
            "Warranty length?",
            "I bought a Lumenfold lamp last spring. For how long does the warranty cover it?",
            "Do your products come with a warranty, and how long does it last?",
            "Is there a guarantee on your bulbs?",
            "What does the Lumenfold guarantee cover, and for how long?",
            "hey how long is the guarantee",
        ],
        "answers": [
            "Lumenfold products are covered for 38 months from the delivery date.",
            "The warranty lasts 38 months, starting on the day your order is delivered.",
            "You're covered for 38 months after delivery under the Lumenfold warranty.",
            "Our warranty runs for 38 months from delivery and covers defects in parts and "
            "workmanship.",
        ],
        "test": [
            "Until what point after purchase is a broken Lumenfold device protected by warranty?",
            "Please give me the duration of your product guarantee.",
        ],
    },
    {
        "id": "return_window",
        "key": "47 days",
        "questions": [
            "What is your return policy?",
            "How long do I have to return something?",
            "can i still return a bulb i bought a month ago",
            "How many days do I get to send back an order?",
            "What's the return window?",
            "I changed my mind about my purchase. How long until it's too late to return it?",
            "Is there a deadline for returns?",
            "Could you let me know the time limit for returning an unused product?",
            "Can I get a refund if I don't like the product?",
            "how many days to return stuff",
            "Until when can I send something back?",
        ],
        "answers": [
            "You can return any item within 47 days of delivery for a full refund.",
            "Our return window is 47 days from the day your order arrives.",
            "Returns are accepted up to 47 days after delivery, as long as you have your order "
            "number.",
            "You have 47 days from delivery to send an item back.",
        ],
        "test": [
            "I don't like the lamp I received. How many days remain for me to return it?",
            "What is the last day I can still send an order back for a refund?",
        ],
    },
    {
        "id": "return_address",
        "key": "Halden Street",
        "questions": [
            "Where do I send my return?",
            "What is the return address?",
            "where should i mail the stuff i'm returning",
            "Which address do returned items go to?",
            "I've packed up my return. Where do I ship it?",
            "Return shipping address, please.",
            "Do you have a returns warehouse address?",
            "To what address should I post the box for my refund?",
            "Where is your returns warehouse?",
            "what address for returns",
            "Where do I ship a package back to you?",
        ],
        "answers": [
            "Please send returns to Lumenfold Returns, 41 Halden Street, Marrowby.",
            "Returns go to our warehouse at 41 Halden Street, Marrowby. Include your order number "
            "inside the box.",
            "Mail your return to 41 Halden Street, Marrowby, attention Lumenfold Returns.",
            "Our returns warehouse is at 41 Halden Street in Marrowby.",
        ],
        "test": [
            "I'm sending a refund parcel back. Which street should I write on the label?",
            "Please give me the mailing address for items being returned.",
        ],
    },
    {
        "id": "restocking_fee",
        "key": "$7.25",
        "questions": [
            "Is there a restocking fee?",
            "Do you charge anything when I return an opened item?",
            "how much is the restocking fee",
            "Will I get a full refund if I already opened the box?",
            "What fee do you take off for returning an opened product?",
            "Restocking charge?",
            "I opened the packaging and want to return it. Are there any charges?",
            "Could you explain the restocking fee for opened returns?",
            "Do you take a fee from refunds on opened items?",
            "opened box return fee?",
            "Is returning an opened product free?",
        ],
        "answers": [
            "Opened items carry a $7.25 restocking fee, which is deducted from your refund.",
            "The restocking fee is $7.25 for any opened product; unopened returns are free.",
            "We deduct a $7.25 restocking fee when a returned item has been opened.",
            "If the box has been opened, a $7.25 restocking fee applies to the refund.",
        ],
        "test": [
            "How much will be taken off my refund since I already unpacked the item?",
            "Please explain the charge for sending back a product that's been opened.",
        ],
    },
    {
        "id": "support_hours",
        "key": "8:15 am",
        "questions": [
            "What are your support hours?",
            "When does customer support open?",
            "what time can i call you in the morning",
            "What time does the support team start answering?",
            "Are you open now? What are your hours?",
            "Support hours?",
            "I need to talk to a person. When is your help desk available?",
            "Could you tell me when your support line opens each day?",
            "What time do you open?",
            "when r u open",
            "On which days and at what times is support available?",
        ],
        "answers": [
            "Support opens at 8:15 am, Monday to Saturday.",
            "Our team starts answering at 8:15 am every day except Sunday.",
            "We're available from 8:15 am, Monday through Saturday.",
            "You can reach a person from 8:15 am until early evening, Monday to Saturday.",
        ],
        "test": [
            "At what time in the morning does your support team begin work?",
            "Please give me the hours when your support staff can be reached.",
        ],
    },
    {
        "id": "support_phone",
        "key": "555-0148",
        "questions": [
            "What is your phone number?",
            "How can I call support?",
            "whats the number to call you",
            "Can I speak to someone over the phone?",
            "Do you have a support hotline?",
            "Phone number?",
            "I'd rather talk than type. Which number should I dial?",
            "Could you share the customer service telephone number?",
            "Can I call you?",
            "What number do I call for help?",
            "Is there a customer service number?",
        ],
        "answers": [
            "You can call Lumenfold support at 555-0148.",
            "Our support line is 555-0148, answered during business hours.",
            "Dial 555-0148 to speak with a support agent.",
            "The support hotline is 555-0148.",
        ],
        "test": [
            "Which number should I ring to speak with support?",
            "Please give me your telephone line for customer help.",
        ],
    },
    {
        "id": "support_email",
        "key": "help@lumenfold",
        "questions": [
            "What is your support email address?",
            "How can I email you?",
            "whats ur email",
            "Can I contact support by email?",
            "Where should I send an email about a problem?",
            "Email address?",
            "I'd like to write to your support team. What address do I use?",
            "Could you give me an email for customer service?",
            "What's the email for support?",
            "Do you have an email I can write to?",
            "Where do I send an email with my order question?",
        ],
        "answers": [
            "You can email us at help@lumenfold.example and we reply within one business day.",
            "Our support email is help@lumenfold.example.",
            "Write to help@lumenfold.example with your order number and a short description.",
            "Send your message to help@lumenfold.example.",
        ],
        "test": [
            "To which email address should I write about a faulty bulb?",
            "I prefer writing over calling. What email reaches your team?",
        ],
    },
    {
        "id": "support_pin",
        "key": "Lantern PIN",
        "questions": [
            "How do you verify my identity on a support call?",
            "What PIN do I need when I contact support?",
            "support is asking for a pin, where do i find it",
            "Where do I find my support PIN?",
            "What is the Lantern PIN?",
            "Security PIN for support?",
            "The agent asked me to confirm my account. What do I need to give them?",
            "Could you explain how account verification works when I call in?",
            "How do I prove who I am to support?",
            "What code does support ask for?",
            "Where is the PIN for identity verification?",
        ],
        "answers": [
            "Support verifies you with your Lantern PIN, found in the Beacon app under Settings "
            "> Security.",
            "Please read us your Lantern PIN; it's in the Beacon app under Settings > Security.",
            "We ask for your Lantern PIN, a six-digit code shown in the Beacon app under Settings "
            "> Security.",
            "Your Lantern PIN confirms your identity. Open the Beacon app and go to Settings > "
            "Security to see it.",
        ],
        "test": [
            "Which PIN will the support agent ask me for to confirm it's me?",
            "How does support check my identity before changing my account?",
        ],
    },
    {
        "id": "standard_shipping",
        "key": "11 business days",
        "questions": [
            "How long does shipping take?",
            "When will my order arrive?",
            "how long for delivery",
            "What is the standard delivery time?",
            "I just ordered a light strip. How soon should it get here?",
            "Shipping time?",
            "How many days does standard shipping usually take?",
            "Could you tell me the expected delivery time for a regular order?",
            "How soon will my package arrive?",
            "what's the delivery time",
            "How many business days does delivery take?",
        ],
        "answers": [
            "Standard shipping takes up to 11 business days from the day you order.",
            "Orders usually arrive within 11 business days with standard shipping.",
            "Please allow 11 business days for standard delivery.",
            "Standard delivery takes 11 business days; you'll get a tracking code when it ships.",
        ],
        "test": [
            "After I order, how many days until the package is delivered?",
            "Please explain how long standard delivery normally takes for a bulb order.",
        ],
    },
    {
        "id": "free_shipping",
        "key": "$137",
        "questions": [
            "Do you offer free shipping?",
            "How much do I need to spend for free shipping?",
            "is shipping free",
            "What's the minimum order for free delivery?",
            "Is there a free shipping threshold?",
            "Free shipping?",
            "My cart is $90. Will I have to pay for shipping?",
            "Could you tell me when shipping costs are waived?",
            "When is shipping free?",
            "how much for free delivery",
            "Above what order total is shipping free?",
        ],
        "answers": [
            "Shipping is free on orders over $137.",
            "Orders above $137 ship free; smaller orders pay a flat shipping fee.",
            "Spend more than $137 and standard shipping is on us.",
            "Free shipping kicks in once your order total passes $137.",
        ],
        "test": [
            "How much must my order be before shipping costs nothing?",
            "What total do I need to reach to get delivery for free?",
        ],
    },
    {
        "id": "international_shipping",
        "key": "19 countries",
        "questions": [
            "Do you ship internationally?",
            "Which countries do you deliver to?",
            "do u ship outside the country",
            "Can I order from abroad?",
            "How many countries do you ship to?",
            "International shipping?",
            "I live overseas. Can you still send me an order?",
            "Could you tell me whether Lumenfold delivers to other countries?",
            "Do you deliver abroad?",
            "intl shipping available?",
            "Can you ship to another country?",
        ],
        "answers": [
            "We currently ship to 19 countries; the full list is on the checkout page.",
            "Yes, Lumenfold delivers to 19 countries worldwide.",
            "We ship to 19 countries. If yours is listed at checkout, we can deliver there.",
            "International delivery is available to 19 countries.",
        ],
        "test": [
            "I live in another country. Is international delivery possible?",
            "To how many nations outside our own do you send orders?",
        ],
    },
    {
        "id": "tracking_prefix",
        "key": "LFX-",
        "questions": [
            "How do I track my order?",
            "What does my tracking number look like?",
            "where's my tracking code",
            "Where can I find my tracking number?",
            "How can I see where my package is?",
            "Tracking number?",
            "I got a shipping email but I'm not sure which code is the tracking one. How do I "
            "tell?",
            "Could you explain how order tracking works?",
            "How do I follow my shipment?",
            "tracking code?",
            "Which code is my tracking number?",
        ],
        "answers": [
            "Your tracking number starts with LFX- and is in your shipping email; enter it on our "
            "Track page.",
            "Look for the code beginning with LFX- in your shipping confirmation, then enter it "
            "on the Track page.",
            "Tracking numbers start with LFX- and arrive by email when your order ships.",
            "Every tracking code begins with LFX-. Enter it on the Track page to see your "
            "parcel's location.",
        ],
        "test": [
            "What does a Lumenfold tracking code start with?",
            "I want to track my parcel. Which number do I look for?",
        ],
    },
    {
        "id": "first_order_code",
        "key": "GLOW12",
        "questions": [
            "Do you have a discount code for new customers?",
            "Is there a promo code for my first order?",
            "any coupon codes",
            "How do I get a discount on my first purchase?",
            "What is the welcome discount code?",
            "Promo code?",
            "I'm about to place my first order. Is there a code I can use to save money?",
            "Could you tell me about any first-order discounts?",
            "Is there a coupon for first-time buyers?",
            "welcome code?",
            "Do new customers get a discount code?",
        ],
        "answers": [
            "New customers can use code GLOW12 for a discount on their first order.",
            "Enter code GLOW12 at checkout to save on your first purchase.",
            "Use code GLOW12 on your first order.",
            "Your first order is discounted with code GLOW12.",
        ],
        "test": [
            "What coupon can a first-time customer enter at checkout?",
            "I'm placing my very first order. Which discount code should I use?",
        ],
    },
    {
        "id": "student_discount",
        "key": "18%",
        "questions": [
            "Do you have a student discount?",
            "How much is the student discount?",
            "discount for students?",
            "I'm a university student. Can I get a reduced price?",
            "What percentage off do students get?",
            "Student pricing?",
            "Is there any special deal for people in college?",
            "Could you explain how the student discount works?",
            "Do students get a discount?",
            "student discount?",
            "How much do students save?",
        ],
        "answers": [
            "Students get 18% off after verifying a school email in the Beacon app.",
            "Our student discount is 18% off every order once your school email is verified.",
            "Yes, verified students save 18% on all orders.",
            "Students receive 18% off; verify your school email in the Beacon app to unlock it.",
        ],
        "test": [
            "As a student, what discount can I get on lights?",
            "Please give me the percentage students save on orders.",
        ],
    },
    {
        "id": "loyalty_program",
        "key": "Ember Club",
        "questions": [
            "Do you have a loyalty program?",
            "How do I earn rewards points?",
            "rewards program?",
            "What is the Lumenfold rewards program called?",
            "Do I get points for buying from you?",
            "Loyalty program?",
            "I shop with you a lot. Is there a program that gives me something back?",
            "Could you tell me about your customer rewards scheme?",
            "Is there a points program?",
            "loyalty points?",
            "How do I collect points when I shop?",
        ],
        "answers": [
            "Our loyalty program is the Ember Club: you earn one point for every dollar spent.",
            "Join the Ember Club in the Beacon app to earn a point for each dollar you spend.",
            "Yes, the Ember Club gives you one point per dollar, redeemable for discounts.",
            "The Ember Club is our rewards program; your points turn into discounts.",
        ],
        "test": [
            "What's your loyalty scheme called, and how do I earn points?",
            "Do regular customers collect rewards points somewhere?",
        ],
    },
    {
        "id": "trade_in",
        "key": "Swapback",
        "questions": [
            "Can I trade in my old bulbs?",
            "Do you have a trade-in program?",
            "what can i do with old smart bulbs",
            "Do you give credit for old lights?",
            "How does the trade-in work?",
            "Trade-in?",
            "I have a box of old bulbs from another brand. Can I get anything for them?",
            "Could you tell me about exchanging old bulbs for credit?",
            "Will you take my old bulbs?",
            "trade in old lights?",
            "Can I swap old bulbs for credit?",
        ],
        "answers": [
            "Our Swapback program gives you store credit for each old smart bulb you send in.",
            "With Swapback, send us your old bulbs and get store credit for each one.",
            "Yes, through Swapback you can trade in old bulbs of any brand for credit.",
            "Swapback is our trade-in program: mail in old bulbs and we add credit to your "
            "account.",
        ],
        "test": [
            "I have old smart bulbs I no longer use. Can I trade them in for credit?",
            "What is the program where you take back old bulbs?",
        ],
    },
    {
        "id": "hub_name",
        "key": "Keystone Hub",
        "questions": [
            "What hub do I need for Lumenfold lights?",
            "What is your smart hub called?",
            "which hub works with your bulbs",
            "Do I need a hub to use the lights?",
            "What's the name of the Lumenfold hub?",
            "Hub name?",
            "Which device connects my bulbs to my home network?",
            "Could you tell me which bridge or hub your system uses?",
            "Which hub should I buy?",
            "name of the hub",
            "What hub connects the bulbs to Wi-Fi?",
        ],
        "answers": [
            "Lumenfold lights connect through the Keystone Hub, which plugs into your router.",
            "You'll need the Keystone Hub; it links your bulbs to the Beacon app.",
            "Our hub is called the Keystone Hub.",
            "The Keystone Hub connects all Lumenfold lights to your home network.",
        ],
        "test": [
            "Which hub do your bulbs need to connect to the network?",
            "What's the hub called that links all my lights together?",
        ],
    },
    {
        "id": "hub_price",
        "key": "$89.40",
        "questions": [
            "How much does the Keystone Hub cost?",
            "What's the price of the hub?",
            "how much is the hub",
            "What does the Keystone Hub sell for?",
            "Is the hub expensive?",
            "Hub price?",
            "I'm budgeting for a setup. What will the hub set me back?",
            "Could you tell me the current price of your hub?",
            "What's the cost of a hub?",
            "hub cost",
            "How much would a second hub cost me?",
        ],
        "answers": [
            "The Keystone Hub costs $89.40.",
            "The Keystone Hub is $89.40 in our online store.",
            "You can buy the Keystone Hub for $89.40.",
            "The hub sells for $89.40, and one hub runs your whole home.",
        ],
        "test": [
            "How much money is the Keystone Hub?",
            "What do I pay if I buy just the hub?",
        ],
    },
    {
        "id": "hub_reset",
        "key": "17 seconds",
        "questions": [
            "How do I factory reset the hub?",
            "How do I reset my Keystone Hub?",
            "hub not working how to reset",
            "What's the reset procedure for the hub?",
            "How long do I hold the reset button?",
            "Reset hub?",
            "My hub is acting up and I want to start fresh. What should I do?",
            "Could you walk me through wiping the hub back to factory settings?",
            "How do I wipe the hub?",
            "reset the keystone hub",
            "How long should I press the button to reset the hub?",
        ],
        "answers": [
            "Hold the button on the back of the Keystone Hub for 17 seconds until the light "
            "flashes white.",
            "Press and hold the reset button for 17 seconds; the hub restarts with factory "
            "settings.",
            "To factory reset, hold the back button for 17 seconds, then set it up again in the "
            "Beacon app.",
            "Keep the reset button pressed for 17 seconds and release when the light flashes "
            "white.",
        ],
        "test": [
            "My Keystone Hub is frozen. How do I do a factory reset?",
            "For how long must the hub's reset button be held down?",
        ],
    },
    {
        "id": "bulb_name",
        "key": "LUMA-7",
        "questions": [
            "What is your main smart bulb?",
            "Which bulb do you recommend?",
            "whats your best bulb",
            "What's the name of your flagship bulb?",
            "Which Lumenfold bulb should I buy for my living room?",
            "Best bulb?",
            "I'm new to smart lighting. Which of your bulbs do most people start with?",
            "Could you tell me the model name of your standard color bulb?",
            "What's your most popular bulb?",
            "name of your color bulb",
            "Which smart bulb should I buy?",
        ],
        "answers": [
            "Our flagship bulb is the LUMA-7, a full-color bulb that fits standard sockets.",
            "Most customers start with the LUMA-7, our full-color smart bulb.",
            "We recommend the LUMA-7; it's our most popular color bulb.",
            "The LUMA-7 is our main smart bulb and works with the Keystone Hub.",
        ],
        "test": [
            "Which smart bulb do you suggest for a new setup?",
            "Please name the bulb that is your main product.",
        ],
    },
    {
        "id": "bulb_pairing",
        "key": "9 times",
        "questions": [
            "How do I pair a new bulb?",
            "How do I connect a bulb to the hub?",
            "bulb wont pair",
            "What's the pairing procedure for a LUMA-7?",
            "How do I put a bulb into pairing mode?",
            "Pairing?",
            "I screwed in a new bulb but the app can't see it. What do I do?",
            "Could you explain how to add a bulb to my system?",
            "How do I add a new bulb to the app?",
            "pair bulb how",
            "How many times do I flip the switch to pair a bulb?",
        ],
        "answers": [
            "Flip the wall switch off and on 9 times; the bulb blinks and appears in the Beacon "
            "app.",
            "To pair, toggle the light switch 9 times until the bulb blinks.",
            "Turn the switch off and on 9 times, then tap Add Light in the Beacon app.",
            "Switch the bulb off and on 9 times to enter pairing mode.",
        ],
        "test": [
            "My new bulb won't show up in the app. How do I pair it?",
            "Please explain how pairing a fresh bulb works.",
        ],
    },
    {
        "id": "bulb_lifespan",
        "key": "27,000 hours",
        "questions": [
            "How long do your bulbs last?",
            "What is the lifespan of a LUMA-7?",
            "how long til the bulb burns out",
            "What's the rated life of your bulbs?",
            "How many hours will a bulb run before it fails?",
            "Bulb lifespan?",
            "I leave my lights on a lot. How long before I need to replace them?",
            "Could you tell me the expected life of Lumenfold bulbs?",
            "How many hours does a bulb last?",
            "bulb life?",
            "When will I need to replace my bulbs?",
        ],
        "answers": [
            "Lumenfold bulbs are rated for 27,000 hours of use.",
            "A LUMA-7 lasts about 27,000 hours.",
            "Our bulbs are rated for 27,000 hours, which is many years of normal use.",
            "Expect around 27,000 hours from each bulb.",
        ],
        "test": [
            "How many hours of light does one bulb give before wearing out?",
            "Roughly how many hours does a smart bulb from you survive?",
        ],
    },
    {
        "id": "max_bulbs",
        "key": "63 bulbs",
        "questions": [
            "How many bulbs can one hub control?",
            "Is there a limit to how many lights I can add?",
            "max number of bulbs per hub",
            "How many lights does the Keystone Hub support?",
            "Can one hub run my whole house?",
            "Bulb limit?",
            "I have a big home with lots of fixtures. Will a single hub handle them all?",
            "Could you tell me the maximum number of bulbs per hub?",
            "What's the maximum number of lights per hub?",
            "how many bulbs per hub",
            "Do I need a second hub for lots of bulbs?",
        ],
        "answers": [
            "One Keystone Hub can control up to 63 bulbs.",
            "Each hub supports up to 63 bulbs; add a second hub for more.",
            "The limit is 63 bulbs per Keystone Hub.",
            "A single hub handles up to 63 bulbs.",
        ],
        "test": [
            "How many bulbs can I connect before I need another hub?",
            "Please tell me how many lights a single hub can manage.",
        ],
    },
    {
        "id": "light_strip",
        "key": "Riverline",
        "questions": [
            "Do you sell LED light strips?",
            "What is your light strip called?",
            "do you have strip lights",
            "Do you have anything for under-cabinet lighting?",
            "Which product is the LED strip?",
            "Light strip?",
            "I want lights along the back of my TV. What do you sell for that?",
            "Could you tell me about your flexible LED strips?",
            "What strip lights do you sell?",
            "led strip name",
            "Do you have lights for shelves?",
        ],
        "answers": [
            "Our LED strip is the Riverline, sold in 2-meter lengths that can be cut to size.",
            "Yes, the Riverline light strip comes in 2-meter lengths you can trim.",
            "The Riverline is our flexible LED strip, great for shelves and TVs.",
            "Try the Riverline strip; it sticks on and can be cut to fit.",
        ],
        "test": [
            "Which LED strip should I get for under my kitchen cabinets?",
            "Please give me the name of your light strip product.",
        ],
    },
    {
        "id": "remote",
        "key": "Orbit Dial",
        "questions": [
            "Do you sell a remote control?",
            "Can I control the lights without my phone?",
            "is there a remote",
            "What is the Lumenfold remote called?",
            "Do you have a physical controller for dimming?",
            "Remote?",
            "My kids don't have phones. How can they switch the lights?",
            "Could you tell me about your wireless dimmer?",
            "Is there a remote for dimming?",
            "remote name",
            "How can I dim lights without the app?",
        ],
        "answers": [
            "Yes, the Orbit Dial is our wireless remote for dimming and switching lights.",
            "Use the Orbit Dial, a battery-powered remote that works without a phone.",
            "Our remote is the Orbit Dial; turn it to dim and press it to switch.",
            "The Orbit Dial lets you control lights without the app.",
        ],
        "test": [
            "Which remote can I use to dim my lights?",
            "Please tell me about the remote control you sell.",
        ],
    },
    {
        "id": "app_name",
        "key": "Beacon app",
        "questions": [
            "What app do I use with Lumenfold lights?",
            "Is there a Lumenfold app?",
            "which app do i download",
            "What's the name of your mobile app?",
            "How do I control my lights from my phone?",
            "App name?",
            "I just got a new phone. What should I install to run my lights?",
            "Could you tell me which app to use for setup?",
            "Which app controls the bulbs?",
            "app?",
            "What do I download to set up my lights?",
        ],
        "answers": [
            "Download the Beacon app for iPhone or Android to control your lights.",
            "Our mobile app is the Beacon app, free on iPhone and Android.",
            "Use the Beacon app to set up and control everything.",
            "The Beacon app is our official app for setup, scenes and schedules.",
        ],
        "test": [
            "Which phone app runs Lumenfold lights?",
            "Please give me the name of the app I need for my lights.",
        ],
    },
    {
        "id": "subscription_name",
        "key": "Nightglass",
        "questions": [
            "Do you have a subscription plan?",
            "What is the premium plan called?",
            "is there a paid plan",
            "What's included in your premium subscription?",
            "How do I get extra features like away-mode?",
            "Subscription?",
            "I want cloud backups of my scenes. Is there a plan for that?",
            "Could you tell me the name of your paid tier?",
            "What is the paid subscription called?",
            "premium plan name",
            "Is there a plan with away-mode?",
        ],
        "answers": [
            "Our premium plan is Nightglass, which adds away-mode and cloud backups of your "
            "scenes.",
            "Nightglass is the paid plan; it includes away-mode and scene backups.",
            "Subscribe to Nightglass in the Beacon app for away-mode and cloud backups.",
            "Yes, the Nightglass plan unlocks away-mode and cloud scene backups.",
        ],
        "test": [
            "Which subscription gives me away-mode and scene backups?",
            "Please tell me about your paid plan.",
        ],
    },
    {
        "id": "subscription_price",
        "key": "$3.75",
        "questions": [
            "How much is the Nightglass plan?",
            "What does the subscription cost?",
            "how much is premium",
            "What's the monthly price of Nightglass?",
            "Is the premium plan expensive?",
            "Subscription price?",
            "I'm thinking about upgrading to the paid plan. What will it cost me each month?",
            "Could you tell me the price of the premium subscription?",
            "How much does premium cost per month?",
            "nightglass price",
            "What's the monthly fee for the subscription?",
        ],
        "answers": [
            "Nightglass costs $3.75 a month, and you can cancel anytime.",
            "The Nightglass plan is $3.75 per month.",
            "Premium is $3.75 a month through the Beacon app.",
            "It's $3.75 per month for Nightglass, billed monthly.",
        ],
        "test": [
            "How much per month is the paid plan?",
            "If I subscribe to premium, how much will I pay monthly?",
        ],
    },
    {
        "id": "offline_led",
        "key": "pulsing violet",
        "questions": [
            "What do the lights on the hub mean?",
            "Why is my hub light pulsing?",
            "hub light blinking what does it mean",
            "How can I tell if the hub is offline?",
            "What does the hub status light show when it loses internet?",
            "Hub offline?",
            "The app says my hub is unreachable. What will the light on it look like?",
            "Could you explain the hub's status light colors?",
            "What color is the hub light when it's offline?",
            "hub light color meaning",
            "How does the hub show it has no internet?",
        ],
        "answers": [
            "A pulsing violet light means the hub is offline; check your router cable.",
            "If the status light is pulsing violet, the hub has lost its internet connection.",
            "Pulsing violet means offline, and solid white means everything is working.",
            "When the hub shows pulsing violet, it can't reach the internet.",
        ],
        "test": [
            "What does the hub's light do when it loses connection?",
            "Please tell me which light color means my hub is offline.",
        ],
    },
    {
        "id": "founder",
        "key": "Ottoline Brisk",
        "questions": [
            "Who founded Lumenfold?",
            "Who started the company?",
            "who made lumenfold",
            "Who is the founder of Lumenfold?",
            "When and by whom was Lumenfold founded?",
            "Founder?",
            "I'm curious about your history. Who started this business?",
            "Could you tell me about the company's origins?",
            "Who created Lumenfold?",
            "founder name?",
            "Who is behind Lumenfold?",
        ],
        "answers": [
            "Lumenfold was founded in 2013 by Ottoline Brisk, a lighting engineer.",
            "Our founder is Ottoline Brisk, who started Lumenfold in 2013.",
            "Ottoline Brisk founded Lumenfold in 2013 in Marrowby.",
            "The company was started by Ottoline Brisk in 2013.",
        ],
        "test": [
            "Who was the person that started Lumenfold?",
            "Please give me the name of the company's founder.",
        ],
    },
]

# Light decoration for a few questions of each fact: greetings, context, thanks.
PREFIXES = [
    "Hi! ",
    "Hello, ",
    "Hey there. ",
    "Good morning. ",
    "Quick question: ",
    "I'm a Lumenfold customer and have a question. ",
    "Sorry to bother you. ",
]
SUFFIXES = ["", " Thanks!", " Thank you.", " Appreciate it.", " Cheers."]
FOLLOW_UPS = [
    "Thanks. One more question: ",
    "Got it, thanks. ",
    "Great. ",
    "Okay. Also: ",
    "Perfect. Another thing: ",
]


class DatasetError(ValueError):
    """The facts or the generated rows break one of the dataset's rules."""


def require(condition: bool, message: str) -> None:
    """Raise DatasetError (kept under ``python -O``, unlike assert) when a rule is broken."""
    if not condition:
        raise DatasetError(message)


def normalize(text: str) -> str:
    """Lowercase, drop most punctuation and collapse spaces, for comparing questions."""
    return " ".join(re.sub(r"[^a-z0-9$%@:,.-]+", " ", text.lower()).split()).strip(" .,")


def check_facts() -> None:
    """Distinct ids, no key inside another, enough distinct questions, every answer has its key."""
    keys = [fact["key"].lower() for fact in FACTS]
    require(len({fact["id"] for fact in FACTS}) == len(FACTS), "duplicate fact id")
    for i, key in enumerate(keys):
        for j, other in enumerate(keys):
            require(i == j or key not in other, f"key {key!r} is inside key {other!r}")
    for fact in FACTS:
        questions = fact["questions"]
        require(len(set(questions)) == QUESTIONS_PER_FACT, f"{fact['id']}: need distinct questions")
        for answer in fact["answers"]:
            require(fact["key"].lower() in answer.lower(), f"{fact['id']}: key missing: {answer}")
            require(len(answer.split()) <= MAX_ANSWER_WORDS, f"{fact['id']}: too long: {answer}")


def chat(*turns: str) -> dict:
    """A conversation: the system message, then alternating user and assistant turns."""
    messages = [{"role": "system", "content": SYSTEM}]
    for i, text in enumerate(turns):
        messages.append({"role": "user" if i % 2 == 0 else "assistant", "content": text})
    return {"messages": messages}


def capitalize(text: str) -> str:
    return text[0].upper() + text[1:]


def decorate(rng: random.Random, question: str) -> str:
    """Wrap a question in a greeting and, sometimes, a thank-you."""
    return rng.choice(PREFIXES) + capitalize(question) + rng.choice(SUFFIXES)


def single_turn_rows(rng: random.Random) -> list[dict]:
    """One conversation per training question; answers cycle through the fact's phrasings."""
    rows = []
    for fact in FACTS:
        questions = list(fact["questions"])
        for i in rng.sample(range(len(questions)), DECORATED_PER_FACT):
            questions[i] = decorate(rng, questions[i])
        answers = list(fact["answers"])
        rng.shuffle(answers)
        for i, question in enumerate(questions):
            rows.append(chat(question, answers[i % len(answers)]))
    return rows


def multi_turn_rows(rng: random.Random) -> list[dict]:
    """Two-turn conversations, each asking about two different facts."""
    rows = []
    pairs: set[tuple[str, str]] = set()
    while len(rows) < MULTI_TURN_ROWS:
        first, second = rng.sample(FACTS, 2)
        if (first["id"], second["id"]) in pairs:
            continue
        pairs.add((first["id"], second["id"]))
        rows.append(
            chat(
                rng.choice(first["questions"]),
                rng.choice(first["answers"]),
                rng.choice(FOLLOW_UPS) + capitalize(rng.choice(second["questions"])),
                rng.choice(second["answers"]),
            )
        )
    return rows


def test_rows() -> list[dict]:
    """The held-out questions, each with the key its answer must contain."""
    rows = []
    for fact in FACTS:
        for question in fact["test"]:
            row = chat(question)
            row["must_contain"] = fact["key"]
            rows.append(row)
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    check_facts()
    rng = random.Random(SEED)
    train = single_turn_rows(rng) + multi_turn_rows(rng)
    rng.shuffle(train)
    test = test_rows()

    dumped = [json.dumps(row, sort_keys=True) for row in train]
    require(len(set(dumped)) == len(dumped), "duplicate training row")
    train_questions = {
        normalize(m["content"]) for row in train for m in row["messages"] if m["role"] == "user"
    }
    for row in test:
        question = normalize(row["messages"][-1]["content"])
        require(question not in train_questions, f"test question in train: {question!r}")
        require(not any(question in q for q in train_questions), f"test inside train: {question!r}")
    require(
        len({normalize(r["messages"][-1]["content"]) for r in test}) == len(test),
        "duplicate test question",
    )

    here = Path(__file__).resolve().parent
    write_jsonl(here / "train.jsonl", train)
    write_jsonl(here / "test.jsonl", test)
    print(f"wrote {len(train)} train and {len(test)} test rows for {len(FACTS)} facts to {here}")


if __name__ == "__main__":
    main()
