"""Cue words before a person's name, in many languages, for ``pii_names``: titles ("Dr",
"Frau", "г-н"), strong cues after which capitalised words are a name even when no list knows
them ("my name is", "Regards,", "Patient:"), and weak cues after which they are a name when one
word is a known name or there are two ("Hi", "Thanks", "ask"). Phrases are lower case (titles
keep their case) and matched on whole words.
"""

from __future__ import annotations


def _phrases(text: str) -> frozenset[str]:
    return frozenset(" ".join(p.split()) for p in text.split("|") if p.strip())


# Cues before a name, matched on the words before it (see ``_cue``). Titles keep their case.
_TITLES = frozenset(
    (
        "Mr Mrs Ms Miss Mx Dr Prof Sir Dame Lady Lord Rev Fr Sr Sra Srta Herr Frau Hr Mme Mlle "
        "Mgr Dott Dott.ssa Sig Sig.ra Señor Señora Senhor Senhora Dona Doña Monsieur Madame "
        "Mademoiselle Signor Signora Signorina Pan Pani Bay Bayan Meneer Mevrouw Dhr Mevr Ing Capt "
        "Captain Col Gen Lt Sgt Officer Detective Judge Professor Doctor Nurse Coach Uncle Aunt "
        "Auntie Sheikh Shri Smt Sri Ustadh Haji Hajji Mister Missus Messrs Dra Drs Doktor Sayın "
        "Kyrie Kyria г-н г-жа господин госпожа гражданин гражданка пан пани товарищ доктор "
        "профессор д-р проф. Г-н Г-жа Господин Госпожа Доктор Профессор κ. κα. κύριος κυρία "
        "κύριε Κύριος Κυρία Κύριε δρ. Δρ."
    ).split()
)
TITLES = _TITLES | {t + "." for t in _TITLES} | {"M."}
# Strong cues: the next capitalised words are a name even if no list knows them.
STRONG = _phrases(
    "my name is|my name's|name is|name's|full name|i am called|call me|signed|sincerely|regards|"
    "best regards|kind regards|warm regards|best wishes|yours truly|yours sincerely|c/o|attn|"
    "attn.|named|je m'appelle|je m’appelle|mon nom est|ich heiße|ich heisse|mein name ist|"
    "me llamo|mi nombre es|mi chiamo|il mio nome è|meu nome é|me chamo|mijn naam is|ik heet|"
    "nazywam się|mam na imię|benim adım|adım|jmenuji se|mit freundlichen grüßen|viele grüße|"
    "liebe grüße|beste grüße|cordialement|bien à vous|atentamente|saludos|un saludo|"
    "cordiali saluti|distinti saluti|atenciosamente|met vriendelijke groet|"
    "met vriendelijke groeten|меня зовут|мене звати|моё имя|мое имя|с уважением|з повагою|"
    "подпись|λέγομαι|με λένε|το όνομά μου είναι|με εκτίμηση"
)
# Strong cues that need their colon: "Name: ...", "Patient: ...".
STRONG_COLON = _phrases(
    "name:|name：|full name:|patient:|customer:|client:|contact:|contact person:|from:|to:|"
    "account holder:|holder:|cardholder:|patient name:|customer name:|name on card:|guest:|"
    "passenger:|employee:|applicant:|beneficiary:|insured:|tenant:|guarantor:|"
    "attn:|nom:|name -|имя:|фио:|όνομα:|signed:|signature:|author:|recipient:|sender:|pt:|"
    "new hire:|hire:|attendee:|member:|user:|owner:|driver:|nombre:|nome:|naam:|imię:|"
    "imię i nazwisko:|nazwisko:|vorname:|nachname:|prénom:|apellido:|cognome:|sobrenome:"
)
# Weak cues: the next words are a name when one is a known name, or when there are two.
WEAK = _phrases(
    "i'm|i’m|i am|this is|it's|email to|forward to|forward this to|forward it to|send to|"
    "send this to|send it to|talk to|talked to|spoke to|spoke with|write to|reply to|"
    "introduce you to|taken by|written by|signed by|approved by|sent by|submitted by|"
    "reported by|prepared by|assigned to|married|contact|call|email|ask for|ask|tell|meet|met|"
    "customer|patient|client|employee|guest|member|guarantor|tenant|applicant|"
    "dear|hi|hello|hey|thanks|thank you|cheers|best|hallo|liebe|lieber|bonjour|salut|cher|"
    "chère|hola|estimado|estimada|querido|querida|ciao|caro|cara|gentile|olá|prezado|prezada|"
    "beste|cc|cc:|je suis|ich bin|soy|sono|eu sou|ik ben|jestem|привет|здравствуйте|дорогой|"
    "дорогая|уважаемый|уважаемая|я|γεια σου|αγαπητέ|αγαπητή|σας ευχαριστώ|"
    "on behalf of|em nome de|namens|au nom de|en nombre de|a nome di|im namen von|w imieniu|"
    "adına|от имени|от лица|εκ μέρους|για λογαριασμό|u spreekt met|spreekt met|parla|"
    "dziękujemy|dziękuję|danke|merci|gracias|grazie|obrigado|obrigada|bedankt|dank u|tack|takk|"
    "kiitos|teşekkürler|спасибо|дякую|ευχαριστώ|father|mother|son|daughter|wife|husband|"
    "brother|sister|friend|colleague|boss|manager|partner|mom|dad|uncle|aunt|grandmother|"
    "grandfather|assisting|concierge for|holder is|the holder is|belongs to|ici|aquí|qui è|"
    "hier ist|hier spricht|tu|это|с вами|εδώ"
)
# More words that, before a short island of another script in Latin text, make it a name:
# "between Contoso and 山口 美月", "a flat for กิตติ เพชรรัตน์".
ISLAND = WEAK | _phrases(
    "and|between|with|for|of|by|to|from|saw|see|visit|visited|called|named|about|via|cc|"
    "new hire|hire|guarantor,|tenant,|landlord,"
)

# Greetings and thanks after which one capitalised word, then a comma or "!", is a name.
GREETINGS = frozenset(
    "hi|hello|hey|dear|thanks|thank you|cheers|hallo|liebe|lieber|vielen dank|danke|bonjour|"
    "salut|cher|chère|merci|hola|gracias|estimado|estimada|querido|querida|ciao|caro|cara|grazie|"
    "gentile|olá|obrigado|obrigada|prezado|prezada|bedankt|beste|dag|hoi|dziękujemy|dziękuję|"
    "witaj|cześć|tack|takk|kiitos|hej|hei|merhaba|teşekkürler|привет|спасибо|здравствуйте|"
    "дорогой|дорогая|уважаемый|уважаемая|γεια σου|αγαπητέ|αγαπητή|ευχαριστώ|good morning|"
    "good afternoon|good evening|goedemiddag|goedemorgen|guten tag|guten morgen|buongiorno|"
    "bom dia|boa tarde|buenos días|buenas tardes".split("|")
)
# German and Dutch words: text in them capitalises nouns, so title case says nothing there.
GERMANIC_WORDS = frozenset(
    "der das und ist sind wurde wurden werden wird mit auf für von zu zum zur im den dem des "
    "ein eine einer eines nicht auch bei nach aus über unter wie oder sich wir ihr het een "
    "voor zijn wordt niet ook bij naar uit worden deze dit".split()
)
# Words of product, place, organisation and document names, never part of a person's name.
NOT_PERSON_WORDS = frozenset(
    """
    studio code air pro max mini plus ultra lite tab watch phone pad book cloud server drive
    office teams sheets docs slides forms mail maps store play charge paperwhite galaxy pixel
    surface echo alexa kindle fire tv box station series edition version update release notes
    guide manual policy terms service services privacy security support center centre portal
    account accounts billing payment payments invoice order orders shipping delivery returns
    learning machine deep neural network data science intelligence artificial computer vision
    language model models engine search web site website page app apps application platform
    system systems tools tool kit sdk api framework library open source project projects
    university college school institute academy hospital clinic bank group company corp inc
    ltd llc gmbh foundation association council committee department ministry agency office
    street road avenue square park bridge tower hall palace castle museum gallery theatre
    theater cathedral church temple river lake mountain valley ocean sea bay island islands
    beach coast desert forest national state states united kingdom republic city county
    north south east west central middle upper lower greater new old saint san santa
    east coast west coast black friday cyber monday christmas easter eve day week month year
    quick start getting started step steps chapter section part summary overview introduction
    conclusion appendix table figure example examples test tests unit integration
    traders trading shop store stores market mart supermarket bakery cafe café restaurant
    hotel hotels airlines airways motors solutions technologies tech labs studios media
    consulting partners holdings industries enterprises logistics foods pharma health
    insurance capital ventures global international digital software electronics outfitters
    supply supplies works factory brewery boutique loja tienda negozio winkel webwinkel
    laden geschäft magasin boutique bottega mercado switch pot duo console speaker headphones
    earbuds buds camera vacuum blender fryer kettle router printer monitor keyboard mouse
    laptop tablet notebook desktop charger cable adapter case cover bundle kit
    aires rica lanka aviv kong lumpur vegas angeles zealand arabia emirates africa america
    korea kingdom wars trek potter simpsons avengers marvel disney reef falls canyon peak
    glacier gorge cliffs gulf strait cape harbour harbor lagoon
    """.split()
)
