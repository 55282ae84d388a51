"""A small held-out check of the scrubber's person names, written apart from both the scrubber
and bench/pii_corpus.py (whose failures the scrubber was tuned on): 121 sentences, names in ten
scripts that neither uses, plus ten look-alike negatives. Prints per-script recall (every part of
the name gone) and the misses.

    .venv/bin/python bench/pii_heldout.py
"""

from tunelab.data.privacy import Scrubber

NAMES = {
    "latin": [
        "Bartholomew Okonkwo",
        "Ingrid Solberg",
        "Tadeusz Wiśniewski",
        "Aurélie Fontaine",
        "Joaquín Echeverría",
        "Siobhán Ní Bhriain",
        "Henrik Lindqvist",
        "Dragana Petrović",
        "Kwame Mensah",
        "Beatriz Alencar",
    ],
    "cyrillic": [
        "Ярослав Кузнецов",
        "Евдокия Смирнова",
        "Тарас Шевчук",
        "Всеволод Орлов",
        "Людмила Ковальчук",
    ],
    "greek": ["Θεόδωρος Καραμανλής", "Ευανθία Παπαδάκη", "Σπυρίδων Λάμπρου", "Χαρίκλεια Βλάχου"],
    "arabic": ["عبد الرحمن الشمري", "فاطمة الزهراء بنعلي", "يوسف القحطاني", "مريم الحداد"],
    "hebrew": ["אביטל שמואלי", "נחום ברקוביץ", "תמר אלמוג", "יהונתן רוזנבלום"],
    "chinese": ["欧阳娜娜", "司马光明", "诸葛亮平", "上官婉清", "黄志强"],
    "japanese": ["渡辺 健太", "小林 さくら", "高橋 翔太", "山本 美咲"],
    "korean": ["최민준", "윤서연", "장동건", "한지민"],
    "devanagari": ["अनुराग कश्यप", "सुनीता विलियम्स", "हरप्रीत सिंह", "मीनाक्षी शेषाद्रि"],
    "thai": ["ประยุทธ์ จันทร์โอชา", "ศรีสุดา วงศ์สวัสดิ์", "ธนากร ศรีบุญ", "พิมพ์ชนก ลือวิเศษไพบูลย์"],
}
TEMPLATES = {
    "latin": [
        "Hi, my name is {} and I need help.",
        "Please forward this to {} by Friday.",
        "Regards,\n{}",
        "Patient {} was admitted on Monday.",
    ],
    "cyrillic": [
        "Меня зовут {}, помогите пожалуйста.",
        "Передайте это {} до пятницы.",
        "С уважением,\n{}",
    ],
    "greek": ["Με λένε {} και χρειάζομαι βοήθεια.", "Ο ασθενής {} εισήχθη σήμερα."],
    "arabic": ["اسمي {} وأحتاج إلى مساعدة.", "يرجى إرسال هذا إلى {} قبل الجمعة."],
    "hebrew": ["שמי {} ואני צריך עזרה.", "נא להעביר את זה ל{} עד יום שישי."],
    "chinese": ["我叫{}，需要帮助。", "请把文件交给{}先生。"],
    "japanese": ["私の名前は{}です。", "{}様、ご連絡ありがとうございます。"],
    "korean": ["제 이름은 {}입니다.", "{} 고객님, 문의 감사합니다."],
    "devanagari": ["मेरा नाम {} है और मुझे मदद चाहिए।", "कृपया यह {} को भेज दें।"],
    "thai": ["ผมชื่อ {} ครับ ต้องการความช่วยเหลือ", "กรุณาส่งเอกสารให้คุณ{}"],
}
NEG = [
    "May I help you with your order ORD-55821?",
    "I will pay the bill tomorrow.",
    "Version v4.12.3 fixed the crash.",
    "The price is $1,249.99 including tax.",
    "Your tracking number is 1Z999AA10123456784.",
    "Meeting on 2024-03-15 at 10:00.",
    "Grace period ends in May.",
    "SKU AB-7731-XL is back in stock.",
    "Invoice INV-2023-0042 is overdue.",
    "Build 10.0.19045.3803 installed.",
]
total = found = 0
for script, names in NAMES.items():
    hit = n = 0
    for name in names:
        for t in TEMPLATES[script]:
            text = t.format(name)
            out, _ = Scrubber().redact(text)
            parts = name.split()
            n += 1
            ok = all(p not in out for p in parts)
            hit += ok
            if not ok:
                print("  miss", script, repr(out))
    print(script, hit, "/", n)
    total += n
    found += hit
kept = sum(Scrubber().redact(s)[0] == s for s in NEG)
print("names", found, "/", total, round(found / total, 3), "negatives kept", kept, "/", len(NEG))
for s in NEG:
    o = Scrubber().redact(s)[0]
    if o != s:
        print("  damaged", repr(o))
