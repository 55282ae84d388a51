"""The PII scrubber: every type in many formats and scripts, look-alikes kept, placeholders
stable within a dataset, JSON inside strings intact, files rewritten line for line, policies."""

from __future__ import annotations

import csv
import json

import pytest

from tunelab.cli.main import main
from tunelab.data.privacy import PII_TYPES, POLICIES, Scrubber, find_pii, scan_file, scrub_file
from tunelab.errors import ConfigError, DataValidationError

POSITIVES = [
    # (type, text, the value that must be found)
    ("EMAIL", "Contact me at john.doe@example.com tomorrow.", "john.doe@example.com"),
    ("EMAIL", "Mail: josé.garcía@empresa.es", "josé.garcía@empresa.es"),
    ("EMAIL", "请发邮件到anna.k@mail.cn谢谢", "anna.k@mail.cn"),
    ("EMAIL", "write to anna.k [at] example [dot] com", "anna.k [at] example [dot] com"),
    ("PHONE", "Call me at (415) 555-2671.", "(415) 555-2671"),
    ("PHONE", "Mobile: +44 20 7946 0958", "+44 20 7946 0958"),
    ("PHONE", "Ruf mich an: +49 30 1234567", "+49 30 1234567"),
    ("PHONE", "Rappelez-moi au 06 12 34 56 78.", "06 12 34 56 78"),
    ("PHONE", "电话：+86 138 1234 5678", "+86 138 1234 5678"),
    ("PHONE", "電話番号は03-4684-3936です。", "03-4684-3936"),
    ("PHONE", "제 전화번호는 051-971-1834입니다.", "051-971-1834"),
    ("PHONE", "Телефон: +7 495 123-45-67", "+7 495 123-45-67"),
    ("PHONE", "Proszę dzwonić pod numer 669 988 604.", "669 988 604"),
    ("PHONE", "My number is 4155552671", "4155552671"),
    ("CREDIT_CARD", "Card 4111 1111 1111 1111 expires 12/26", "4111 1111 1111 1111"),
    ("CREDIT_CARD", "Amex 3782-822463-10005 please", "3782-822463-10005"),
    ("CREDIT_CARD", "カード番号は5555555555554444です。", "5555555555554444"),
    ("IBAN", "IBAN DE89 3704 0044 0532 0130 00, thanks", "DE89 3704 0044 0532 0130 00"),
    ("IBAN", "Pay to GB82WEST12345698765432.", "GB82WEST12345698765432"),
    (
        "IBAN",
        "返金は口座FR1420041010050500013M02606にお願いします。",
        "FR1420041010050500013M02606",
    ),
    ("IP_ADDRESS", "The server is at 192.168.1.20.", "192.168.1.20"),
    ("IP_ADDRESS", "Blocked 2001:db8::8a2e:370:7334 today", "2001:db8::8a2e:370:7334"),
    ("US_SSN", "SSN: 123-45-6789", "123-45-6789"),
    ("US_SSN", "My social security number is 078051120", "078051120"),
    (
        "SECRET",
        "export OPENAI_API_KEY=sk-proj-a1B2c3D4e5F6g7H8i9J0k1L2m3N4",
        "sk-proj-a1B2c3D4e5F6g7H8i9J0k1L2m3N4",
    ),
    (
        "SECRET",
        "token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
        "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    ),
    ("SECRET", "aws key AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    (
        "SECRET",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w",
    ),
    ("SECRET", "password: hunter22", "hunter22"),
    ("SECRET", "DB_PASSWORD=S3cr3t!pass", "S3cr3t!pass"),
    ("SECRET", "Mein Passwort lautet Sh@d0w!90 danke", "Sh@d0w!90"),
    ("SECRET", "我的密码是Master2025$。", "Master2025$"),
    ("SECRET", "session=q7Xk2LmP9vR4tY8wZ3nB6cJ1hF5dS0aG", "q7Xk2LmP9vR4tY8wZ3nB6cJ1hF5dS0aG"),
    (
        "URL_CREDENTIALS",
        "DATABASE_URL=postgres://admin:s3cret@db.example.com:5432/prod",
        "postgres://admin:s3cret@db.example.com:5432/prod",
    ),
    ("DATE_OF_BIRTH", "I was born on 17 May 1990.", "17 May 1990"),
    ("DATE_OF_BIRTH", "DOB: 05/17/1985", "05/17/1985"),
    ("DATE_OF_BIRTH", "Ich bin am 3. März 1978 geboren.", "3. März 1978"),
    ("DATE_OF_BIRTH", "Je suis né le 12 janvier 1980.", "12 janvier 1980"),
    ("DATE_OF_BIRTH", "Я родился 12 марта 1985 года.", "12 марта 1985 года"),
    ("DATE_OF_BIRTH", "我的生日是1990年5月17日。", "1990年5月17日"),
    ("DATE_OF_BIRTH", "生年月日：昭和27年6月23日", "昭和27年6月23日"),
    (
        "ADDRESS",
        "Ship it to 742 Evergreen Terrace, Springfield, IL 62704.",
        "742 Evergreen Terrace, Springfield, IL 62704",
    ),
    (
        "ADDRESS",
        "I live at 221B Baker Street, London NW1 6XE.",
        "221B Baker Street, London NW1 6XE",
    ),
    ("ADDRESS", "Adresse: Hauptstraße 5, 10115 Berlin", "Hauptstraße 5, 10115 Berlin"),
    ("ADDRESS", "Livraison au 12 rue de la Paix, 75002 Paris.", "12 rue de la Paix, 75002 Paris"),
    ("ADDRESS", "Envíelo a Calle Mayor 5, 28013 Madrid.", "Calle Mayor 5, 28013 Madrid"),
    ("ADDRESS", "Адрес: ул. Тверская, д. 7, кв. 5, Москва", "ул. Тверская, д. 7, кв. 5, Москва"),
    ("ADDRESS", "我住在北京市朝阳区建国路88号。", "北京市朝阳区建国路88号"),
    ("ADDRESS", "住所は東京都千代田区丸の内1-1-1です。", "東京都千代田区丸の内1-1-1"),
    ("ADDRESS", "주소: 서울특별시 강남구 테헤란로 123", "서울특별시 강남구 테헤란로 123"),
]

PERSONS = [
    # (script, text, name)
    ("latin", "My name is Anna Kowalska.", "Anna Kowalska"),
    ("latin", "Please forward this to José García.", "José García"),
    ("latin", "Regards,\nXochitl Tzompantzi", "Xochitl Tzompantzi"),
    ("latin", "I spoke with Dr. Okonkwo this morning.", "Okonkwo"),
    ("latin", "Dear Will, your order has shipped.", "Will"),
    ("latin", "Will Smith called about the refund.", "Will Smith"),
    ("latin", "Patient: Hartmann, Günter", "Hartmann, Günter"),
    ("latin", "Je m'appelle Émilie Laurent.", "Émilie Laurent"),
    ("latin", "my name is john smith", "john smith"),
    ("cyrillic", "Меня зовут Иван Петрович Сидоров.", "Иван Петрович Сидоров"),
    ("cyrillic", "Передайте это Ольге Смирновой, пожалуйста.", "Ольге Смирновой"),
    ("greek", "Ο Γιώργος Παπαδόπουλος τηλεφώνησε χθες.", "Γιώργος Παπαδόπουλος"),
    ("arabic", "اسمي محمد العلي.", "محمد العلي"),
    ("arabic", "اتصل خالد بن سلمان أمس.", "خالد بن سلمان"),
    ("hebrew", "שמי דוד כהן.", "דוד כהן"),
    ("devanagari", "मेरा नाम राहुल शर्मा है।", "राहुल शर्मा"),
    ("chinese", "我叫王小明，请多关照。", "王小明"),
    ("chinese", "张伟先生明天到。", "张伟"),
    ("japanese", "田中太郎さんから電話がありました。", "田中太郎"),
    ("korean", "제 이름은 김민준입니다.", "김민준"),
    ("thai", "สวัสดีครับ ผมชื่อสมชาย ใจดี ครับ", "สมชาย ใจดี"),
    ("mixed", "Regards, สมชาย กิตติศักดิ์", "สมชาย กิตติศักดิ์"),
    ("mixed", "The user's name is 郭一诺. Never repeat it.", "郭一诺"),
]

NEGATIVES = [
    "Your order ORD-12345 has shipped.",
    "Invoice INV-2024-001 is attached.",
    "Upgrade to v2.3.1 to fix the bug.",
    "Version 1.2.3.4 of the firmware is out.",
    "The laptop costs $1,299.00 before tax.",
    "The total is 12 500 000 EUR.",
    "SKU: AB-1029-XL is out of stock.",
    "Tracking number 9400111899223344556677 (USPS).",
    "Tracking: 1Z999AA10123456784",
    "Card 4111 1111 1111 1112 was declined.",  # fails Luhn
    "IBAN DE89 3704 0044 0532 0130 01 is wrong.",  # fails mod-97
    "The meeting is on 2024-03-15 at 10:00.",
    "Release 4.26.0 (24/12/2021) fixed it.",
    "May I help you with anything else?",
    "I will send it tomorrow.",
    "Please pay the bill by Friday.",
    "There is a grace period of 30 days.",
    "Set max_tokens=512 and temperature=0.7.",
    "token = request.headers.get('Authorization')",
    "The password is incorrect.",
    "Use UUID 550e8400-e29b-41d4-a716-446655440000 as the key.",
    "The commit 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f fixed it.",
    "call_hVbYpuMP0kywAheo42AeHWzl",
    "The ISBN is 978-3-16-148410-0.",
    "Pi is roughly 3.14159265.",
    "San Francisco has great weather.",
    "George Street is closed today.",
    "我们明天开会。",
    "Спасибо за помощь!",
    "شكرا جزيلا على مساعدتك.",
]


def tool_record(arguments: dict) -> dict:
    return {
        "messages": [
            {"role": "system", "content": "You are a CRM assistant."},
            {"role": "user", "content": "Save the contact."},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "save_contact", "arguments": json.dumps(arguments)},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "saved"},
            {"role": "assistant", "content": "Done."},
        ]
    }


@pytest.mark.parametrize(("kind", "text", "value"), POSITIVES)
def test_finds_every_type(kind, text, value):
    found = [(f.type, f.text) for f in find_pii(text)]
    assert (kind, value) in found, found
    redacted, _ = Scrubber().redact(text)
    assert value not in redacted and f"<{kind}_1>" in redacted


@pytest.mark.parametrize(("script", "text", "name"), PERSONS)
def test_finds_person_names_in_any_script(script, text, name):
    redacted, findings = Scrubber().redact(text)
    assert any(f.type == "PERSON" for f in findings), (script, findings)
    for part in name.replace(",", " ").split():
        assert part not in redacted, (script, redacted)


@pytest.mark.parametrize("text", NEGATIVES)
def test_keeps_look_alikes(text):
    assert find_pii(text) == []


# Names in caseless scripts whose surname (or whole name) no list knows: a known given name is
# extended over the next word of its script, a cue over the next two, a known surname takes the
# unknown word before it. None of these surnames is in the lexicons.
UNKNOWN_PARTS = [
    ("hebrew", "יוסף בוזגלו התקשר אתמול.", "יוסף בוזגלו"),
    ("hebrew", "שמי צורית בן חמו.", "צורית בן חמו"),
    ("hebrew", "קוראים לי עדנה ליבוביץ.", "עדנה ליבוביץ"),
    ("hebrew", "מר זלמן טננבאום התקשר אתמול.", "זלמן טננבאום"),
    ("arabic", "محمد طنطاوي طلب استرداد المبلغ.", "محمد طنطاوي"),
    ("arabic", "اسمي نضال برغوثي.", "نضال برغوثي"),
    ("arabic", "السيد منذر قبلاوي اتصل أمس.", "منذر قبلاوي"),
    ("devanagari", "राहुल भटनागर ने कॉल किया था।", "राहुल भटनागर"),
    ("devanagari", "श्री बलविंदर संधू से बात करें।", "बलविंदर संधू"),
    ("devanagari", "मैं भूपेन्द्र ढिल्लों बोल रहा हूँ।", "भूपेन्द्र ढिल्लों"),
    ("thai", "ผมชื่อ ทรงพล ไกรฤกษ์ ครับ", "ทรงพล ไกรฤกษ์"),
    ("thai", "ผมชื่อ สมชาย ศักดิ์สิทธิ์วัฒนกุล ครับ", "สมชาย ศักดิ์สิทธิ์วัฒนกุล"),  # a long surname
]


@pytest.mark.parametrize(("script", "text", "name"), UNKNOWN_PARTS)
def test_caseless_names_extend_over_unknown_words(script, text, name):
    names = [f.text for f in find_pii(text) if f.type == "PERSON"]
    assert names == [name], (script, names)


# A name followed by a verb or an ordinary word: the name goes, the sentence stays; a cue
# followed by ordinary words is no name at all.
NAME_THEN_WORDS = [
    ("שרה רוצה לבטל את ההזמנה.", ["שרה"]),
    ("נועה שילמה אתמול בכרטיס.", ["נועה"]),
    ("שמי כתוב לא נכון בחשבונית.", []),
    ("עבור ההזמנה הזאת שילמתי כבר.", []),
    ("נא להעביר את זה עד יום שישי.", []),
    ("محمد يريد إلغاء الطلب.", ["محمد"]),
    ("فاطمة اتصلت أمس بخدمة العملاء.", ["فاطمة"]),
    ("اسمي مكتوب خطأ في الفاتورة.", []),
    ("موعد 28/11/2019 لا يناسبني.", []),
    ("अमित बोला कि पैकेज नहीं आया।", ["अमित"]),
    ("मेरा नाम लिखना भूल गया।", []),
    ("คุณสมชาย ได้รับของแล้วครับ", ["สมชาย"]),
    ("ขอบคุณค่ะ คุณสมชาย เราอัปเดตข้อมูลให้แล้ว", ["สมชาย"]),
    ("Ahmed said the parcel was late.", ["Ahmed"]),
]


@pytest.mark.parametrize(("text", "names"), NAME_THEN_WORDS)
def test_names_do_not_swallow_the_words_after_them(text, names):
    assert [f.text for f in find_pii(text)] == names


def test_findings_are_sorted_and_do_not_overlap():
    text = (
        "Anna Schmidt (anna.schmidt@example.com, +49 30 1234567) lives at Hauptstraße 5, "
        "10115 Berlin."
    )
    findings = find_pii(text)
    assert [f.type for f in findings] == ["PERSON", "EMAIL", "PHONE", "ADDRESS"]
    assert all(a.end <= b.start for a, b in zip(findings, findings[1:], strict=False))
    assert all(text[f.start : f.end] == f.text for f in findings)


def test_same_value_same_placeholder_across_records():
    scrubber = Scrubber()
    first, _ = scrubber.redact("Mail anna@example.com or bob@example.com.")
    second, _ = scrubber.redact("Again: ANNA@example.com, then call (415) 555-2671.")
    assert first == "Mail <EMAIL_1> or <EMAIL_2>."
    assert second == "Again: <EMAIL_1>, then call <PHONE_1>."


def test_tool_call_arguments_stay_json_with_the_same_keys():
    record = tool_record(
        {
            "name": "Anna Kowalska",
            "email": "anna@example.com",
            "phone": "+44 20 7946 0958",
            "password": "hunter2",
            "notes": "VIP",
        }
    )
    new, found = Scrubber().scrub_record(record)
    arguments = json.loads(new["messages"][2]["tool_calls"][0]["function"]["arguments"])
    assert list(arguments) == ["name", "email", "phone", "password", "notes"]
    assert arguments["email"] == "<EMAIL_1>" and arguments["notes"] == "VIP"
    assert arguments["name"].startswith("<PERSON_") and arguments["password"] == "<SECRET_1>"
    pointers = {pointer for pointer, _ in found}
    assert "/messages/2/tool_calls/0/function/arguments/email" in pointers
    assert new["messages"][2]["tool_calls"][0]["function"]["name"] == "save_contact"
    assert json.dumps(record).count('"role"') == json.dumps(new).count('"role"')


def test_keys_inside_tool_arguments_are_reported_not_renamed():
    record = tool_record({"anna@example.com": "owner", "to": "bob@example.com"})
    new, found = Scrubber().scrub_record(record)
    arguments = json.loads(new["messages"][2]["tool_calls"][0]["function"]["arguments"])
    assert list(arguments) == ["anna@example.com", "to"] and arguments["to"] == "<EMAIL_2>"
    assert sum(f.type == "EMAIL" for _, f in found) == 2


def test_a_worker_scan_looks_up_exactly_the_strings_the_scrubber_redacts():
    # pii_files' workers run Scrubber.scan; the writing process then finds every string it
    # redacts among theirs, so the two walks must visit the same strings.
    record = tool_record({"anna@example.com": "owner", "to": "bob@example.com", "n": [1, "x"]})
    record["messages"].append({"role": "user", "content": '["Jane Doe", {"k": "v"}]'})
    record["extra"] = {"Olga Petrova": None, "nested": ["+44 20 7946 0958", 3.5]}
    scanned, scrubbed = Scrubber(keep_found=True), Scrubber(keep_found=True)
    scanned.scan(record)
    _, found = scrubbed.scrub_record(record)
    assert list(scanned.found) == list(scrubbed.found) and scanned.found == scrubbed.found
    assert "owner" in scanned.found and '["Jane Doe", {"k": "v"}]' not in scanned.found
    last = len(record["messages"]) - 1
    assert {"/extra/nested/0", "/extra/Olga Petrova", f"/messages/{last}/content/0"} <= {
        pointer for pointer, _ in found
    }


def test_keys_and_system_prompts_are_scanned():
    record = {
        "messages": [
            {"role": "system", "content": "The user's SSN is 123-45-6789."},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
        ],
        "metadata": {"anna@example.com": "owner"},
    }
    new, found = Scrubber().scrub_record(record)
    assert new["messages"][0]["content"] == "The user's SSN is <US_SSN_1>."
    assert list(new["metadata"]) == ["<EMAIL_1>"]
    assert {("/messages/0/content", "US_SSN"), ("/metadata/anna@example.com", "EMAIL")} <= {
        (pointer, f.type) for pointer, f in found
    }


def write_lines(path, lines: list[str], newline: str = "\n") -> None:
    path.write_bytes(newline.join(lines).encode("utf-8") + newline.encode())


def chat(text: str) -> str:
    return json.dumps(
        {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "OK."}]}
    )


def test_scrub_file_keeps_lines_and_structure(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [
        chat("Mail anna@example.com"),
        "",
        chat("No PII here."),
        '{"broken": ',
        chat("Call +44 20 7946 0958"),
    ]
    write_lines(source, lines, "\r\n")
    report = scrub_file(source, out)
    produced = out.read_bytes().decode().split("\r\n")
    assert len(produced) == len(lines) + 1 and produced[-1] == ""
    assert produced[1] == "" and produced[2] == lines[2] and produced[3] == lines[3]
    assert json.loads(produced[0])["messages"][0]["content"] == "Mail <EMAIL_1>"
    assert json.loads(produced[4])["messages"][0]["content"] == "Call <PHONE_1>"
    assert report.to_dict()["counts"] == {"EMAIL": 1, "PHONE": 1}
    assert report.to_dict()["lines"] == {"EMAIL": [1], "PHONE": [5]}
    assert report.records_scanned == 4 and report.records_with_pii == 2
    assert "anna@example.com" not in json.dumps(report.to_dict())


def test_scrub_csv_keeps_line_count_with_multiline_cells(tmp_path):
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    with open(source, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["prompt", "completion"])
        writer.writerow(["Where do I live?", "At 742 Evergreen Terrace,\nSpringfield, IL 62704"])
        writer.writerow(["Plain", "row"])
        writer.writerow(["Email?", "anna@example.com"])
    report = scrub_file(source, out)
    before, after = source.read_text(), out.read_text()
    assert before.count("\n") == after.count("\n")
    rows = list(csv.reader(after.splitlines(keepends=True)))
    assert rows[0] == ["prompt", "completion"] and rows[2] == ["Plain", "row"]
    assert "Evergreen" not in after and "anna@example.com" not in after
    assert report.to_dict()["lines"] == {"EMAIL": [5], "ADDRESS": [2]}


def test_block_policy_names_lines_and_types(tmp_path):
    source = tmp_path / "in.jsonl"
    write_lines(source, [chat("No PII."), chat("Mail anna@example.com, SSN 123-45-6789")])
    report = scan_file(source, policy="block")
    assert not report.ok
    issue = report.to_dict()["issues"][0]
    assert issue["code"] == "pii_found" and issue["line"] == 2
    assert "EMAIL" in issue["message"] and "US_SSN" in issue["message"]
    assert "anna@example.com" not in issue["message"]
    with pytest.raises(DataValidationError) as raised:
        scrub_file(source, tmp_path / "out.jsonl", policy="block")
    assert raised.value.code == "pii_found" and not (tmp_path / "out.jsonl").exists()
    assert scan_file(source, policy="report").ok


def test_policies_and_their_names():
    assert POLICIES == ("off", "report", "redact", "block")
    assert PII_TYPES[0] == "EMAIL" and len(PII_TYPES) == 11
    with pytest.raises(ConfigError):
        scan_file("x.jsonl", policy="strict")


def test_report_policy_copies_the_file_unchanged(tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_lines(source, [chat("Mail anna@example.com")])
    report = scrub_file(source, out, policy="report")
    assert out.read_bytes() == source.read_bytes() and report.to_dict()["counts"] == {"EMAIL": 1}


def test_cli_scrub_writes_the_file_and_prints_counts_not_values(tmp_path, capsys):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_lines(source, [chat("Mail anna@example.com"), chat("Hi"), chat("Mail bob@example.com")])
    assert main(["data", "scrub", str(source), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "EMAIL: 2 (lines 1, 3)" in printed and "example.com" not in printed
    assert "example.com" not in out.read_text()


def test_cli_scrub_report_json_and_block(tmp_path, capsys):
    source = tmp_path / "in.jsonl"
    write_lines(source, [chat("Hi"), chat("SSN 123-45-6789")])
    assert main(["data", "scrub", str(source), "--report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"US_SSN": 1} and report["lines"] == {"US_SSN": [2]}
    assert (
        main(["data", "scrub", str(source), "-o", str(tmp_path / "o.jsonl"), "--policy", "block"])
        == 2
    )
    assert "pii_found" in capsys.readouterr().err
    assert main(["data", "scrub", str(source)]) == 2  # no -o and no --report
    assert "-o OUT" in capsys.readouterr().err


def test_data_check_shows_privacy(tiny_model_dir, tmp_path, capsys):
    source = tmp_path / "data.jsonl"
    rows = [chat(f"Question {i}?") for i in range(10)] + [
        chat("I live at 221B Baker Street, London NW1 6XE")
    ]
    write_lines(source, rows)
    main(["data", "check", str(source), "--model", str(tiny_model_dir), "--json"])
    privacy = json.loads(capsys.readouterr().out)["privacy"]
    assert privacy["counts"] == {"ADDRESS": 1} and privacy["lines"] == {"ADDRESS": [11]}


def test_a_large_file_scanned_by_several_processes_gives_what_one_process_gives(
    tmp_path, monkeypatch
):
    from tunelab.data import pii_files

    names = ["Jane Doe", "Олег Петров", "Σοφία Παπαδοπούλου", "山田太郎"]
    rows = []
    for i in range(1300):  # three blocks and more: placeholders numbered across blocks
        who = names[i % len(names)]
        text = (
            f"Hi, I'm {who}, mail me at user{i % 7}@example.com or call +1 415 555 01{i % 90:02d}."
        )
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": text},
                    {"role": "assistant", "content": f"Order {i} ok."},
                ]
            }
        )
    src = tmp_path / "big.jsonl"
    src.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        + "not json: bob@example.org\n"
    )
    one = scrub_file(src, tmp_path / "one.jsonl")
    one_scan = scan_file(src)
    monkeypatch.setattr(pii_files, "PARALLEL_BYTES", 1)
    assert pii_files.workers_for(src.stat().st_size) >= 2 or pii_files.os.cpu_count() == 1
    many = scrub_file(src, tmp_path / "many.jsonl")
    many_scan = scan_file(src)
    assert (tmp_path / "many.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert many.to_dict() | {"file": ""} == one.to_dict() | {"file": ""}
    assert many_scan.to_dict() == one_scan.to_dict() and one.counts["EMAIL"] == 1301
    last = (tmp_path / "many.jsonl").read_text().splitlines()[-1]
    assert last == "not json: <EMAIL_8>"  # 7 addresses in the records, then bob's
