"""Benchmark: our sampling engine against per-prompt `generate(num_return_sequences=k)` + re-scoring.

Both sides use the same model, the same prompts (the bundled usability set, or a few built-in
prompts when it is absent), k=5 samples per prompt, the same temperature and max new tokens,
and both produce the same thing: k samples per prompt with their summed raw log probabilities.

- baseline: for each prompt, `model.generate(do_sample=True, num_return_sequences=k)` (k copies
  of the prompt), then one teacher-forced forward pass over prompt + samples to score them.
- ours: `generation.engine.Engine.generate` (batches of prompts prefilled once, cache shared
  by the k samples, finished rows dropped, scores taken during decoding).

- vllm (when .venv-vllm exists, `make vllm`): the same weights saved to a folder and served by
  vLLM's OpenAI-compatible server (a separate process), driven by our served-model client
  (generation/served.py) with the same prompts, k, temperature and length, 8 requests in flight.
  Only for `--model-size tiny` (the CPU build serves it; it needs head_dim 64, so with vLLM the
  tiny model is 128 wide with 2 heads); `vllm_ratio` = vLLM tokens/s over ours.

Throughput counts real generated tokens (up to and including EOS), divided by wall time.
The last line is `key=value` pairs: speedup, ours_tok_s, baseline_tok_s, device, model, ...,
and vllm_tok_s, vllm_ratio when vLLM ran.

    python bench/generation.py                     # tiny Llama on CPU (about a minute)
    python bench/generation.py --model-size gpt2   # GPT-2-small-sized (124M) from its config; for a GPU
    python bench/generation.py --model-size qwen0.5b --prompts 190   # Qwen2.5-0.5B's shape (bench/gpu_check.sh)

The last line also holds ``exact_max_abs_diff``: the largest difference between a stored score
(``logprob_sum``) and the teacher-forced score of the same tokens (``LoadedModel.score``), over the
samples of the first ``--exactness`` prompts, in the benchmark's dtype.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from generation.engine import Engine  # noqa: E402
from generation.sampling import PromptRequest, SamplingParams  # noqa: E402
from generation.served import HostAllowList, ServedClient, ServedEndpoint  # noqa: E402
from generation.tiny import BYTE_VOCAB, byte_tokenizer, save_tiny, tiny_causal  # noqa: E402
from generation.vllm_local import VLLM_PYTHON, LocalVllm, vllm_start  # noqa: E402

BUILTIN_PROMPTS = [
    "Write a haiku about a lighthouse keeper.",
    "Explain why the sky is blue to a ten-year-old.",
    "Give three tips for writing a clear email to a busy colleague.",
    "Summarise the plot of a heist film in two sentences.",
    "List the steps to repot a houseplant.",
    "What is the difference between weather and climate?",
    "Write a polite message declining a meeting invitation.",
    "Suggest a name for a bakery that only opens at night, and explain it.",
]


def load_prompts(count: int) -> tuple[list[str], str]:
    path = ROOT / "eval_sets" / "data" / "usability-190.jsonl"
    if path.is_file():
        prompts = [json.loads(line)["prompt"] for line in path.read_text().splitlines() if line.strip()]
        source = "usability-190"
    else:
        prompts, source = BUILTIN_PROMPTS, "builtin"
    return [prompts[i % len(prompts)] for i in range(count)], source


class _WideByteTokenizer:
    """The byte tokenizer for a model whose vocabulary is larger (GPT-2's 50257): extra ids
    decode as some byte, which is enough for timing random weights."""

    def __init__(self) -> None:
        self.inner = byte_tokenizer()
        self.eos_token_id = self.inner.eos_token_id
        self.pad_token_id = self.inner.pad_token_id
        self.bos_token_id = None
        self.chat_template = None

    def __call__(self, text: str, add_special_tokens: bool = True) -> Any:
        return self.inner(text, add_special_tokens=add_special_tokens)

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        folded = [i if i < BYTE_VOCAB else 3 + (i - 3) % 256 for i in ids]
        return str(self.inner.decode(folded, skip_special_tokens=skip_special_tokens))


def build_model(size: str, device: torch.device, *, vllm: bool = False) -> tuple[Any, Any, str]:
    if size == "tiny":
        model = tiny_causal(seed=0, **({"hidden": 128, "heads": 2} if vllm else {}))
        tokenizer: Any = byte_tokenizer()
    elif size == "qwen0.5b":
        from transformers import Qwen2Config, Qwen2ForCausalLM

        torch.manual_seed(0)
        # Qwen2.5-0.5B's shape (494M parameters, tied embeddings); random weights time the same.
        qwen = Qwen2Config(
            vocab_size=151936,
            hidden_size=896,
            intermediate_size=4864,
            num_hidden_layers=24,
            num_attention_heads=14,
            num_key_value_heads=2,
            tie_word_embeddings=True,
            bos_token_id=1,
            eos_token_id=1,
            pad_token_id=0,
        )
        model = Qwen2ForCausalLM(qwen).eval()
        tokenizer = _WideByteTokenizer()
    else:
        from transformers import GPT2Config, GPT2LMHeadModel

        torch.manual_seed(0)
        # GPT-2 small's shape (124M parameters); random weights are fine for timing.
        config = GPT2Config(
            n_embd=768, n_layer=12, n_head=12, vocab_size=50257, bos_token_id=1, eos_token_id=1
        )
        model = GPT2LMHeadModel(config).eval()
        tokenizer = _WideByteTokenizer()
    dtype = torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    model = model.to(device=device, dtype=dtype).eval()  # type: ignore[call-arg]
    params = sum(p.numel() for p in model.parameters()) / 1e6
    return model, tokenizer, f"{size}-{params:.1f}M-{str(dtype).removeprefix('torch.')}"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.inference_mode()
def baseline(engine: Engine, prompts: list[str], params: SamplingParams) -> int:
    """Per prompt: generate k sequences, then score them with a separate forward pass."""
    model, k = engine.model, params.samples
    eos = next(iter(engine.eos_ids))
    torch.manual_seed(params.seed)
    tokens = 0
    for text in prompts:
        ids = torch.tensor([engine.encode_prompt(text)], device=engine.device)
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            do_sample=True,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k,
            max_new_tokens=params.max_new_tokens,
            num_return_sequences=k,
            pad_token_id=engine.pad_id,
        )
        generated = out[:, ids.shape[1] :]
        is_eos = generated == eos
        # Tokens up to and including the first EOS count; generate pads after it.
        after_end = (is_eos.cumsum(-1) - is_eos.long()) > 0
        keep = ~after_end
        logits = model(input_ids=out, attention_mask=torch.ones_like(out)).logits[:, ids.shape[1] - 1 : -1]
        logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, generated[..., None]).squeeze(-1)
        scores = (logp * keep).sum(-1)
        scores.tolist()  # materialise, as a job would store them
        tokens += int(keep.sum())
    return tokens


def ours(engine: Engine, prompts: list[str], params: SamplingParams) -> int:
    requests = [PromptRequest(key=str(i), text=t) for i, t in enumerate(prompts)]
    results = engine.generate(requests, params)
    return sum(s.num_tokens for r in results for s in r.samples)


def exactness(engine: Engine, prompts: list[str], params: SamplingParams) -> float:
    """Largest |stored logprob_sum - teacher-forced score| over the samples of these prompts."""
    requests = [PromptRequest(key=str(i), text=t) for i, t in enumerate(prompts)]
    worst = 0.0
    for result in engine.generate(requests, params):
        for sample in result.samples:
            forced = engine.score(result.prompt_token_ids, sample.token_ids)
            worst = max(worst, abs(float(sample.logprob_sum or 0.0) - forced))
    return worst


def served(client: ServedClient, prompts: list[str], params: SamplingParams) -> int:
    requests = [PromptRequest(key=str(i), text=t) for i, t in enumerate(prompts)]
    results = client.generate(requests, params)
    return sum(s.num_tokens for r in results for s in r.samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model-size", choices=["tiny", "gpt2", "qwen0.5b"], default=None, help="tiny on CPU, gpt2 on GPU"
    )
    parser.add_argument("--prompts", type=int, default=None, help="number of prompts (CPU 16, GPU 64)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=None, help="prompts per batch for our engine")
    parser.add_argument("--device", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="interleaved runs of each side; medians")
    parser.add_argument(
        "--vllm",
        choices=["auto", "on", "off"],
        default="auto",
        help="vLLM column (auto: if .venv-vllm exists)",
    )
    parser.add_argument("--exactness", type=int, default=8, help="prompts whose stored scores are re-scored")
    parser.add_argument("--vllm-concurrency", type=int, default=8, help="requests in flight to vLLM")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    gpu = device.type == "cuda"
    size = args.model_size or ("gpt2" if gpu else "tiny")
    count = args.prompts or (64 if gpu else 16)
    batch_size = args.batch_size or (64 if gpu else 16)
    prompts, source = load_prompts(count)
    use_vllm = size == "tiny" and (args.vllm == "on" or (args.vllm == "auto" and VLLM_PYTHON.exists()))
    if args.vllm == "on" and not use_vllm:
        parser.error("the vLLM column needs --model-size tiny (the CPU build in .venv-vllm serves it)")
    model, tokenizer, label = build_model(size, device, vllm=use_vllm)
    engine = Engine(model, tokenizer, kind="causal", batch_size=batch_size)
    server: LocalVllm | None = None
    client: ServedClient | None = None
    if use_vllm:
        folder = Path(tempfile.mkdtemp(prefix="bench-vllm-"))
        save_tiny(model.float().cpu(), folder / "model")
        print("starting vLLM (about a minute on 2 cores) ...", file=sys.stderr)
        server = vllm_start(
            folder / "model", served_model="bench", log=folder / "server.log", max_model_len=2048
        )
        endpoint = ServedEndpoint(base_url=server.base_url, served_model="bench")
        # The bench's own server, on loopback: allowed explicitly, as an operator would.
        allowed = HostAllowList.parse([urlsplit(server.base_url).hostname or "127.0.0.1"])
        client = ServedClient(endpoint, allowed=allowed, concurrency=args.vllm_concurrency)
    try:
        _run(args, device, count, label, source, prompts, engine, client)
    finally:
        if server is not None:
            server.stop()


def _run(
    args: argparse.Namespace,
    device: torch.device,
    count: int,
    label: str,
    source: str,
    prompts: list[str],
    engine: Engine,
    client: ServedClient | None,
) -> None:

    # Warm-up both paths (allocator, kernels) on one prompt. The samples and temperature are a
    # job's defaults (generation/params.py): the paper's five at 0.7.
    warm = SamplingParams(max_new_tokens=4, seed=args.seed)
    baseline(engine, prompts[:1], warm)
    ours(engine, prompts[:1], warm)
    if client is not None:
        served(client, prompts[:1], warm)

    # Interleaved repeats, medians: on a shared machine one side must not get the quiet moments.
    base_rates: list[float] = []
    our_rates: list[float] = []
    vllm_rates: list[float] = []
    base_tokens = our_tokens = 0
    base_seconds = our_seconds = 0.0
    for repeat in range(args.repeats):
        run = SamplingParams(max_new_tokens=args.max_new_tokens, seed=args.seed + repeat)
        sync(device)
        start = time.perf_counter()
        base_tokens = baseline(engine, prompts, run)
        sync(device)
        base_seconds = time.perf_counter() - start
        base_rates.append(base_tokens / base_seconds)

        start = time.perf_counter()
        our_tokens = ours(engine, prompts, run)
        sync(device)
        our_seconds = time.perf_counter() - start
        our_rates.append(our_tokens / our_seconds)

        if client is not None:
            start = time.perf_counter()
            vllm_tokens = served(client, prompts, run)
            vllm_rates.append(vllm_tokens / (time.perf_counter() - start))

    exact = exactness(engine, prompts[: args.exactness], run) if args.exactness else float("nan")
    base_rate = statistics.median(base_rates)
    our_rate = statistics.median(our_rates)
    print(f"baseline tokens/s per repeat: {', '.join(f'{r:.0f}' for r in base_rates)}")
    print(f"ours tokens/s per repeat:     {', '.join(f'{r:.0f}' for r in our_rates)} ({engine.last_path})")
    vllm_part = ""
    if vllm_rates:
        vllm_rate = statistics.median(vllm_rates)
        print(
            f"vllm tokens/s per repeat:     {', '.join(f'{r:.0f}' for r in vllm_rates)} ({client.last_path if client else ''})"
        )
        vllm_part = f" vllm_tok_s={vllm_rate:.0f} vllm_ratio={vllm_rate / our_rate:.2f}"
    print(
        f"speedup={our_rate / base_rate:.2f} ours_tok_s={our_rate:.0f} baseline_tok_s={base_rate:.0f} "
        f"device={device.type} model={label} prompts={count} samples={warm.samples} max_new_tokens={args.max_new_tokens} "
        f"prompt_source={source} threads={torch.get_num_threads()} repeats={args.repeats}{vllm_part} "
        f"exact_max_abs_diff={exact:.2e}"
    )


if __name__ == "__main__":
    main()
