#!/usr/bin/env python3
"""Canonical parity fixtures for landmark's pretrained-LLM path.

Runs where PyTorch, transformers and tokenizers are installed (the device
machine; nothing else needs them). Writes, under OUT:

  tokenizers/<name>/tokenizer.json + cases.json
      tokenizers trained with the `tokenizers` library in the shapes real
      models ship (byte-level BPE with the Llama 3 / Qwen2 / GPT-2 split
      rules, SentencePiece-style BPE with byte fallback, legacy and Metaspace
      forms); cases.json: ids of hard strings (`encode(text)`, with and
      without special tokens, and with special tokens read as text), the
      tokens, and `decode`.
  models/<name>/  config.json, *.safetensors (one model sharded), tokenizer
      files, generation_config.json, and reference/: prompts' ids, logits
      (float64 forward in transformers with eager attention, saved as f32),
      greedy continuations, the RoPE inverse frequencies.
  chat/templates.json: real chat templates of each family rendered by
      transformers' apply_chat_template (or the error it raised).

  python3 tests/data/llm/make_fixtures.py OUT
"""
import gzip
import json
import os
import shutil
import sys

import numpy as np
import torch
import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(ROOT, "..", "..", ".."))

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# ---------------------------------------------------------------- corpus

MULTILINGUAL = [
    "Café, naïve, résumé, façade, coöperate, jalapeño, Ærøskøbing, Straße, İstanbul.",
    "Le cœur a ses raisons que la raison ne connaît point.",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Γαζέες καὶ μυρτιὲς δὲν θὰ βρῶ πιὰ στὸ χρυσαφὶ ξέφωτο.",
    "色は匂へど散りぬるを 我が世誰ぞ常ならむ",
    "我能吞下玻璃而不伤身体。你好，世界！",
    "나는 유리를 먹을 수 있어요. 그래도 아프지 않아요.",
    "أنا قادر على أكل الزجاج و هذا لا يؤلمني.",
    "मैं काँच खा सकता हूँ और मुझे उससे कोई चोट नहीं पहुंचती.",
    "def f(x):\n    return x ** 2  # square\n\nprint(f(12345))\n",
    "{\"id\": 42, \"tags\": [\"a\", \"b\"], \"ok\": true}\n",
    "Numbers: 0 1 12 123 1234 12345 3.14159 2,718 1e-9 -42 +7 100%",
    "I'm sure you'll see they've said we'd DON'T WON'T it's He'S",
    "   indented line\n\tTabbed line\n\n\nThree newlines above.\r\nWindows line.",
]


def corpus():
    path = os.path.join(REPO, "train", "data", "filler.txt.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        text = f.read()
    words = text.split(" ")
    lines = [" ".join(words[i:i + 24]) for i in range(0, min(len(words), 120000), 24)]
    return lines + MULTILINGUAL * 40


HARD_STRINGS = [
    "",
    " ",
    "a",
    "Hello world",
    "Hello, world! How are you today?",
    "  leading spaces and  double  spaces ",
    "trailing spaces   ",
    "Tab\tand\nnewline\r\nand\n\n\nruns of\n \n newlines",
    "Numbers 12345 and 3.14159 and 1,000,000 and 2024-12-04",
    "I'm sure you'll see they've said we'd DON'T WON'T it's He'S",
    "Café naïve résumé ñ Straße İstanbul",
    "e\u0301 (e + combining acute) vs \u00e9 (precomposed); A\u030a vs \u00c5",
    "Emoji 😀 👋🏽 👨‍👩‍👧‍👦 🇫🇷 and CJK 你好，世界 and 日本語",
    "Привет, мир! Γειά σου κόσμε! مرحبا بالعالم",
    "def f(x):\n    return x ** 2  # square\n",
    "ALLCAPS SHOUTING!!! ??? ... --- ***",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "https://example.com/path?query=1&b=2#frag user@example.org",
    "\u200b zero width \u00a0 nbsp \u2028 line sep \ufeff bom",
    "unknown chars: \U0001f9ec \u0f3a \U00010348 \ue000",
]


def special_strings(specials):
    """Strings that hold the tokenizer's special tokens."""
    out = []
    for s in specials[:4]:
        out += [s, f"before {s} after", f"{s}{s}x{s}", f"  {s}  spaced  "]
    if specials:
        out.append(f"partial {specials[0][:-1]} not special")
    return out


# ---------------------------------------------------------------- tokenizers

def train_bpe(tok, vocab_size, byte_level):
    kw = dict(vocab_size=vocab_size, show_progress=False, min_frequency=2, special_tokens=[])
    if byte_level:
        kw["initial_alphabet"] = pre_tokenizers.ByteLevel.alphabet()
    tok.train_from_iterator(corpus(), trainers.BpeTrainer(**kw))
    return json.loads(tok.to_str())


def added(content, id, special=True, lstrip=False, rstrip=False, normalized=None, single_word=False):
    return {"id": id, "content": content, "single_word": single_word, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": (not special) if normalized is None else normalized, "special": special}


def byte_level_tokenizer(split, nfc, specials, bos=None, ignore_merges=False, vocab_size=1200, non_special=()):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(split), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    j = train_bpe(tok, vocab_size, byte_level=True)
    j["normalizer"] = {"type": "NFC"} if nfc else None
    j["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    j["model"]["ignore_merges"] = ignore_merges
    n = len(j["model"]["vocab"])
    j["added_tokens"] = [added(s, n + i) for i, s in enumerate(specials)]
    j["added_tokens"] += [added(s, n + len(specials) + i, special=False, normalized=False)
                          for i, s in enumerate(non_special)]
    byte_post = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    if bos:
        bos_id = n + specials.index(bos)
        template = {"type": "TemplateProcessing",
                    "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                    "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                             {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                    "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}}
        j["post_processor"] = {"type": "Sequence", "processors": [byte_post, template]}
    else:
        j["post_processor"] = byte_post
    return Tokenizer.from_str(json.dumps(j))


def gpt2_style_tokenizer():
    """SmolLM2's shape: digits split one by one, then GPT-2's byte-level regex."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    j = train_bpe(tok, 900, byte_level=True)
    j["normalizer"] = None
    j["decoder"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
    n = len(j["model"]["vocab"])
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    j["added_tokens"] = [added(s, n + i) for i, s in enumerate(specials)]
    j["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
    return Tokenizer.from_str(json.dumps(j))


def sentencepiece_tokenizer(legacy, vocab_size=700):
    """SentencePiece-style BPE with byte fallback: <unk>, <s>, </s>, <0x00>..<0xFF>, then pieces."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=True)
    trained = train_bpe(tok, vocab_size - 259, byte_level=False)
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = 3 + b
    for piece, _ in sorted(trained["model"]["vocab"].items(), key=lambda kv: kv[1]):
        vocab.setdefault(piece, len(vocab))
    j = trained
    j["model"] = {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": trained["model"]["merges"]}
    j["added_tokens"] = [added("<unk>", 0), added("<s>", 1), added("</s>", 2)]
    if legacy:  # Llama 2 / TinyLlama / Mistral v0.1 as converted by transformers
        j["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
        j["pre_tokenizer"] = None
    else:  # newer conversions: Metaspace, no normalizer
        j["normalizer"] = None
        j["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
    j["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    j["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    return Tokenizer.from_str(json.dumps(j))


def tokenizer_cases(tok):
    specials = [t.content for t in tok.get_added_tokens_decoder().values() if t.special]
    cases = []
    for text in HARD_STRINGS + special_strings(specials):
        enc = tok.encode(text)
        plain = tok.encode(text, add_special_tokens=False)
        case = {"text": text, "ids": enc.ids, "tokens": enc.tokens, "ids_no_special": plain.ids,
                "decoded": tok.decode(enc.ids, skip_special_tokens=False),
                "decoded_skip_special": tok.decode(enc.ids, skip_special_tokens=True)}
        try:
            tok.encode_special_tokens = True
            case["ids_specials_as_text"] = tok.encode(text, add_special_tokens=False).ids
        finally:
            tok.encode_special_tokens = False
        cases.append(case)
    return cases


def write_tokenizer(tok, out):
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizers_version": tokenizers.__version__, "cases": tokenizer_cases(tok)}, f,
                  ensure_ascii=False, indent=0)


# ---------------------------------------------------------------- chat templates

LLAMA2_CHAT = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
    "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
    "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}")

LLAMA3_CHAT = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")

LLAMA32_CHAT = (
    "{{- bos_token }}\n{%- if custom_tools is defined %}\n    {%- set tools = custom_tools %}\n{%- endif %}\n"
    "{%- if not tools_in_user_message is defined %}\n    {%- set tools_in_user_message = true %}\n{%- endif %}\n"
    "{%- if not date_string is defined %}\n    {%- if strftime_now is defined %}\n"
    "        {%- set date_string = strftime_now(\"%d %b %Y\") %}\n    {%- else %}\n"
    "        {%- set date_string = \"26 Jul 2024\" %}\n    {%- endif %}\n{%- endif %}\n"
    "{%- if not tools is defined %}\n    {%- set tools = none %}\n{%- endif %}\n\n"
    "{#- This block extracts the system message, so we can slot it into the right place. #}\n"
    "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content']|trim %}\n"
    "    {%- set messages = messages[1:] %}\n{%- else %}\n    {%- set system_message = \"\" %}\n{%- endif %}\n\n"
    "{#- System message #}\n{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n"
    "{%- if tools is not none %}\n    {{- \"Environment: ipython\\n\" }}\n{%- endif %}\n"
    "{{- \"Cutting Knowledge Date: December 2023\\n\" }}\n{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n"
    "{{- system_message }}\n{{- \"<|eot_id|>\" }}\n\n"
    "{%- for message in messages %}\n"
    "    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}\n"
    "        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' }}\n    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n"
    "    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n")

QWEN2_CHAT = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

QWEN25_CHAT = (
    "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n    {%- endif %}\n"
    "{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n{%- endif %}\n{%- for message in messages %}\n"
    "    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or "
    "(message.role == \"assistant\" and not message.tool_calls) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    "    {%- endif %}\n{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n")

CHATML_PLAIN = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + "
    "'\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

SMOLLM2_CHAT = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

MISTRAL_V01_CHAT = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}")

MISTRAL_V03_CHAT = (
    "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content'] %}\n"
    "    {%- set loop_messages = messages[1:] %}\n{%- else %}\n    {%- set loop_messages = messages %}\n{%- endif %}\n\n"
    "{{- bos_token }}\n{%- for message in loop_messages %}\n"
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n"
    "        {{- raise_exception('After the optional system message, conversation roles must alternate "
    "user/assistant/user/assistant/...') }}\n    {%- endif %}\n    {%- if message['role'] == 'user' %}\n"
    "        {%- if loop.last and system_message is defined %}\n"
    "            {{- '[INST] ' + system_message + '\\n\\n' + message['content'] + '[/INST]' }}\n"
    "        {%- else %}\n            {{- '[INST] ' + message['content'] + '[/INST]' }}\n        {%- endif %}\n"
    "    {%- elif message['role'] == 'assistant' %}\n        {{- ' ' + message['content'] + eos_token}}\n"
    "    {%- else %}\n        {{- raise_exception('Only user and assistant roles are supported, with the exception "
    "of an initial optional system message!') }}\n    {%- endif %}\n{%- endfor %}\n")

ZEPHYR_CHAT = (  # TinyLlama-Chat: not a family landmark recognises (an error listing the choices)
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + "
    "eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
    "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}")

CONVERSATIONS = [
    [{"role": "user", "content": "What is the pass key?"}],
    [{"role": "system", "content": "You answer from the documents."},
     {"role": "user", "content": "  Where is vault 7?  "}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"},
     {"role": "user", "content": "Summarise the file.\nBriefly."}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "One"},
     {"role": "assistant", "content": " Two "}, {"role": "user", "content": "Three"}],
]


def chat_fixtures(out):
    sp = PreTrainedTokenizerFast_(sentencepiece_tokenizer(legacy=True), "<s>", "</s>", "<unk>")
    l3 = PreTrainedTokenizerFast_(byte_level_tokenizer(LLAMA3_SPLIT, False, LLAMA3_SPECIALS, "<|begin_of_text|>"),
                                  "<|begin_of_text|>", "<|eot_id|>", None)
    qw = PreTrainedTokenizerFast_(byte_level_tokenizer(QWEN2_SPLIT, True, QWEN_SPECIALS), None, "<|im_end|>", None)
    templates = [("llama2", LLAMA2_CHAT, sp), ("llama3", LLAMA3_CHAT, l3), ("llama3.2", LLAMA32_CHAT, l3),
                 ("qwen2", QWEN2_CHAT, qw), ("qwen2.5", QWEN25_CHAT, qw), ("chatml", CHATML_PLAIN, qw),
                 ("smollm2", SMOLLM2_CHAT, qw), ("mistral-v0.1", MISTRAL_V01_CHAT, sp),
                 ("mistral-v0.3", MISTRAL_V03_CHAT, sp), ("zephyr", ZEPHYR_CHAT, sp)]
    result = []
    for name, template, tok in templates:
        entry = {"name": name, "template": template, "bos_token": tok.bos_token, "eos_token": tok.eos_token,
                 "cases": []}
        for messages in CONVERSATIONS:
            for gen in (True, False):
                case = {"messages": messages, "add_generation_prompt": gen}
                try:
                    case["rendered"] = tok.apply_chat_template(messages, chat_template=template, tokenize=False,
                                                               add_generation_prompt=gen, date_string="26 Jul 2024")
                    case["ids"] = tok(case["rendered"], add_special_tokens=False)["input_ids"]
                except Exception as e:  # raise_exception in the template
                    case["error"] = str(e)
                entry["cases"].append(case)
        result.append(entry)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "templates.json"), "w", encoding="utf-8") as f:
        json.dump({"transformers_version": transformers.__version__, "templates": result}, f, ensure_ascii=False,
                  indent=1)


def PreTrainedTokenizerFast_(tok, bos, eos, unk, chat_template=None):
    kw = {}
    if bos:
        kw["bos_token"] = bos
    if eos:
        kw["eos_token"] = eos
    if unk:
        kw["unk_token"] = unk
    cls = getattr(transformers, "PreTrainedTokenizerFast", None) or getattr(transformers, "TokenizersBackend")
    t = cls(tokenizer_object=tok, **kw)
    if chat_template:
        t.chat_template = chat_template
    return t


# ---------------------------------------------------------------- models

LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                   "<|eot_id|>"]
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

PROMPTS = [
    "The pass key for vault 7 is 31415. Remember it.",
    "Once upon a time, in a land far away, there lived a dragon who loved numbers: 1, 12, 123, 1234.",
    ("Long prompt. " + MULTILINGUAL[0] + " " + MULTILINGUAL[10] + " The end of it."),
]


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.08 * torch.randn(p.shape, generator=g))


def make_model(name, arch, cfg_kwargs, tok, hf_tok_kwargs, chat_template, out_root, seed, shard=None,
               save_dtype=torch.float32, extra_dtypes=()):
    cls_cfg = getattr(transformers, arch.replace("ForCausalLM", "Config"))
    cls = getattr(transformers, arch)
    vocab = tok.get_vocab_size(with_added_tokens=True)
    cfg = cls_cfg(vocab_size=vocab, **cfg_kwargs)
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = cls(cfg).eval()
    randomise(model, seed)
    if cfg.tie_word_embeddings:
        model.tie_weights()

    def save(dirname, dtype):
        out = os.path.join(out_root, dirname)
        os.makedirs(out, exist_ok=True)
        m = model.to(dtype)
        kw = {"max_shard_size": shard} if shard else {}
        m.save_pretrained(out, **kw)
        hf = PreTrainedTokenizerFast_(tok, chat_template=chat_template, **hf_tok_kwargs)
        hf.save_pretrained(out)
        # The model as its weights were saved, evaluated in float64.
        ref = cls(cfg).eval()
        ref.load_state_dict({k: v.to(torch.float64) for k, v in m.state_dict().items()}, strict=True)
        if cfg.tie_word_embeddings:
            ref.tie_weights()
        ref = ref.to(torch.float64)
        write_reference(ref, hf, os.path.join(out, "reference"))
        model.to(torch.float32)
        print(f"{dirname}: {sorted(os.listdir(out))}", flush=True)

    save(name, save_dtype)
    for suffix, dtype in extra_dtypes:
        save(f"{name}-{suffix}", dtype)


def write_reference(model, hf, out):
    os.makedirs(out, exist_ok=True)
    meta = {"transformers_version": transformers.__version__, "torch_version": torch.__version__, "prompts": []}
    for i, text in enumerate(PROMPTS):
        ids = hf(text)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].to(torch.float32).numpy()
            gen = model.generate(torch.tensor([ids]), max_new_tokens=12, do_sample=False,
                                 attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                 pad_token_id=hf.eos_token_id if hf.eos_token_id is not None else 0)
        # Long prompts keep the first and last 8 positions and every 7th between (fixture size).
        T = len(ids)
        positions = list(range(T)) if T <= 40 else list(range(8)) + list(range(8, T - 8, 7)) + list(range(T - 8, T))
        np.save(os.path.join(out, f"logits_{i}.npy"), logits[positions])
        top2 = np.sort(logits, axis=1)[:, -2:]
        meta["prompts"].append({"text": text, "ids": ids, "positions": positions, "greedy": gen[0, len(ids):].tolist(),
                                "min_top2_gap": float((top2[:, 1] - top2[:, 0]).min())})
    rotary = getattr(model.model, "rotary_emb", None)
    if rotary is not None:
        meta["inv_freq"] = rotary.inv_freq.to(torch.float64).tolist()
        meta["attention_scaling"] = float(getattr(rotary, "attention_scaling", 1.0))
    with open(os.path.join(out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)


def guarded(f, *a, **k):
    try:
        f(*a, **k)
    except Exception:
        import traceback
        traceback.print_exc()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "fixtures"
    shutil.rmtree(out, ignore_errors=True)
    print("torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__,
          flush=True)
    torch.set_num_threads(8)

    toks = {
        "llama3": byte_level_tokenizer(LLAMA3_SPLIT, False, LLAMA3_SPECIALS, "<|begin_of_text|>", ignore_merges=True),
        "qwen2": byte_level_tokenizer(QWEN2_SPLIT, True, QWEN_SPECIALS, non_special=["<tool_call>", "</tool_call>"]),
        "gpt2-digits": gpt2_style_tokenizer(),
        "sentencepiece-legacy": sentencepiece_tokenizer(legacy=True),
        "sentencepiece-metaspace": sentencepiece_tokenizer(legacy=False),
    }
    for name, tok in toks.items():
        write_tokenizer(tok, os.path.join(out, "tokenizers", name))
        print("tokenizer", name, tok.get_vocab_size(), flush=True)
    chat_fixtures(os.path.join(out, "chat"))
    print("chat templates done", flush=True)

    small = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=2048, rms_norm_eps=1e-5, hidden_act="silu")
    models_dir = os.path.join(out, "models")
    l3_rope = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 8192}
    run = lambda *a, **k: guarded(make_model, *a, **k)
    run("llama3", "LlamaForCausalLM",
               dict(small, head_dim=16, rope_theta=500000.0, rope_scaling=l3_rope, tie_word_embeddings=True,
                    bos_token_id=None, eos_token_id=None),
               toks["llama3"], dict(bos="<|begin_of_text|>", eos="<|eot_id|>", unk=None), LLAMA32_CHAT,
               models_dir, seed=1, shard="150KB", extra_dtypes=[("bf16", torch.bfloat16)])
    run("qwen2", "Qwen2ForCausalLM",
               dict(small, rope_theta=1000000.0, tie_word_embeddings=False, use_sliding_window=False),
               toks["qwen2"], dict(bos=None, eos="<|im_end|>", unk=None), QWEN25_CHAT, models_dir, seed=2,
               extra_dtypes=[("f16", torch.float16)])
    run("qwen3", "Qwen3ForCausalLM",
               dict(small, head_dim=32, rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False),
               toks["qwen2"], dict(bos=None, eos="<|im_end|>", unk=None), CHATML_PLAIN, models_dir, seed=3)
    run("mistral", "MistralForCausalLM",
               dict(small, rope_theta=10000.0, tie_word_embeddings=False, sliding_window=16),
               toks["sentencepiece-metaspace"], dict(bos="<s>", eos="</s>", unk="<unk>"), MISTRAL_V03_CHAT,
               models_dir, seed=4)
    run("llama2", "LlamaForCausalLM",
               dict(small, num_key_value_heads=4, rope_theta=10000.0, tie_word_embeddings=False),
               toks["sentencepiece-legacy"], dict(bos="<s>", eos="</s>", unk="<unk>"), LLAMA2_CHAT, models_dir,
               seed=5)
    for name in sorted(os.listdir(models_dir)):
        with open(os.path.join(models_dir, name, "config.json")) as f:
            print(name, f.read(), flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
