"""Fine-tune the built-in model on the bundled support data through tunelab's OpenAI-compatible
API, with the official openai SDK, unchanged. Start the server first: `.venv/bin/tunelab serve`."""

import time

from openai import OpenAI

client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="local")

with open("examples/support/train.jsonl", "rb") as fh:
    training_file = client.files.create(file=fh, purpose="fine-tune")
job = client.fine_tuning.jobs.create(
    model="smollm2-135m-instruct", training_file=training_file.id, suffix="support"
)
print("job", job.id, job.status)

while job.status not in ("succeeded", "failed", "cancelled"):
    time.sleep(15)
    job = client.fine_tuning.jobs.retrieve(job.id)
    events = client.fine_tuning.jobs.list_events(job.id, limit=1).data
    print(job.status, events[0].message if events else "")

print("model", job.fine_tuned_model, "error", job.error)
question = "How long is the warranty on Lumenfold devices?"
messages = [
    {
        "role": "system",
        "content": "You are the support assistant for Lumenfold, a smart-home lighting company.",
    },
    {"role": "user", "content": question},
]
stream = client.chat.completions.create(
    model=job.fine_tuned_model, messages=messages, stream=True, max_tokens=60
)
print(question)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end="", flush=True)
print()
