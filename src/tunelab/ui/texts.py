"""The words of the web UI that explain it: a one-line help for every form field and a
plain-language fix for every data-validation code. Field helps come from the request schemas'
descriptions where those exist (one text feeds the API docs and the form)."""

from __future__ import annotations

from tunelab.api.schemas import CreateJobRequest, KTOHyperparameters
from tunelab.jobs.requests import JobPrivacy


def _described(model, name: str) -> str:
    return model.model_fields[name].description or ""


def field_help() -> dict[str, str]:
    """Form field -> its one-line help."""
    hp = {name: _described(KTOHyperparameters, name) for name in KTOHyperparameters.model_fields}
    return hp | {
        "model": "The model to start from: a base model, or any version or alias to improve "
        "further (the new version records it as its parent).",
        "training_file": "The uploaded dataset the model learns from; check its report first.",
        "validation_file": "Optional: a second dataset to measure progress on. Without one, "
        "tunelab holds back a seeded 10% of the training data.",
        "method": "SFT learns to answer like your examples; DPO learns from pairs of a better "
        "and a worse answer; KTO from single answers marked good or bad.",
        "tuning": "LoRA trains small adapter matrices (fast, small files); full trains every "
        "weight.",
        "pii": _described(JobPrivacy, "pii"),
        "suffix": _described(CreateJobRequest, "suffix"),
        "seed": _described(CreateJobRequest, "seed"),
        "upload": 'JSON Lines (.jsonl) or CSV: chat rows ({"messages": [...]}), '
        "prompt/completion rows, or preference rows (DPO pairs, KTO labels).",
        "check_model": "Tokens are counted with this model's tokenizer and chat template.",
        "api_key": "Kept in this browser tab only (sessionStorage) and sent as an "
        "Authorization header, never in a URL.",
    }


FIXES = {  # validation code -> what to do about it, in plain words
    "invalid_json": "This line is not valid JSON. Check for a missing quote, comma or bracket; "
    "each line must be one complete JSON object.",
    "data_type": "Each line must be a JSON object ({...}), not a string, number or list.",
    "missing_messages_list": 'Give the row a "messages" list of {"role", "content"} turns.',
    "message_missing_key": 'Every message needs both "role" and "content".',
    "message_unrecognized_key": "Remove the extra key; messages take role, content, name and "
    "weight only.",
    "unrecognized_role": "Use one of the roles system, user or assistant (lower case).",
    "missing_content": "Give this message some text; empty answers teach nothing.",
    "example_missing_assistant_message": "Add an assistant turn: it is the answer the model "
    "learns.",
    "last_message_not_assistant": "End the conversation with the assistant's answer.",
    "last_message_not_user": "End an evaluation prompt with the user's question.",
    "too_few_examples": "Add more examples: training needs at least 10 (50 to 100 good ones "
    "is a better start).",
    "example_too_long": "Shorten this example, split it in two, or pick a model with a longer "
    "context.",
    "prompt_too_long": "Shorten the prompt: it leaves no room for the answer.",
    "duplicate_example": "This example repeats an earlier one; remove the copy.",
    "unknown_format": "Use .jsonl or .csv with chat, prompt/completion or preference rows.",
    "mixed_formats": "Use one row format in the whole file.",
    "invalid_encoding": "Save the file as UTF-8.",
    "empty_file": "The file has no rows.",
    "line_too_long": "This line is over the size limit; split the example.",
    "csv_missing_header": "Add a header row naming the columns (prompt,completion).",
    "csv_ragged_row": "This row has a different number of cells than the header.",
    "csv_cell_too_large": "A cell is too large; shorten it.",
    "invalid_field": "This field has the wrong type; see the message for what it should be.",
    "invalid_weight": "weight must be 0 (not trained) or 1 (trained), on assistant turns only.",
    "identical_outputs": "The better and the worse answer are the same; make them differ.",
    "invalid_output": "Give the answer as text or a list with one assistant message.",
    "output_not_assistant": "The answer must be an assistant message.",
    "missing_input": "Give the prompt (input.messages or prompt).",
    "missing_label": 'KTO rows need "label": true (good answer) or false (bad answer).',
    "invalid_label": "label must be true or false.",
    "text_windowed": "A long document is split into context-sized windows; nothing to do.",
    "unsupported_chat_template": "This model's chat template cannot be trained on; pick "
    "another model.",
    "template_error": "The model's chat template refuses this conversation (for example two "
    "user turns in a row); reorder the turns.",
}
