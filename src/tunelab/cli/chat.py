"""``tunelab chat MODEL``: an interactive chat that streams tokens as they are generated, decoded
as the server decodes them (``serve.chat.stream_reply`` -> ``serve.decode``)."""

from __future__ import annotations

import sys


def register(sub) -> None:
    parser = sub.add_parser("chat", help="Chat with a base model or a fine-tuned run.")
    parser.add_argument(
        "model",
        help="A base model name, a local model folder, a run folder, or a version id, "
        "checkpoint id or alias of the local registry.",
    )
    parser.add_argument("--system", default=None, help="A system message for the conversation.")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument(
        "--temperature", type=float, default=0.0, help="0 answers greedily (deterministic)."
    )
    parser.set_defaults(func=chat_command)


def chat_command(args) -> int:
    from tunelab.cli.refs import load_model_ref
    from tunelab.serve.chat import stream_reply

    model, tokenizer = load_model_ref(args.model)
    messages = [{"role": "system", "content": args.system}] if args.system else []
    print("tunelab chat: empty line or Ctrl-D to quit.", file=sys.stderr)
    while True:
        try:
            text = input("you> ").strip()
        except EOFError:
            break
        if not text:
            break
        messages.append({"role": "user", "content": text})
        print("assistant> ", end="", flush=True)
        reply = []
        for piece in stream_reply(
            model,
            tokenizer,
            messages,
            max_new_tokens=args.max_new_tokens,
            temperature=args.temperature,
        ):
            reply.append(piece)
            print(piece, end="", flush=True)
        print()
        messages.append({"role": "assistant", "content": "".join(reply).strip()})
    return 0
