"""The served-model backend: a client for OpenAI-compatible servers (vLLM and the like).

Torch-free and Django-free: the worker half (generation/runner.py) builds it from a ModelSpec and
drives it exactly like the in-process engine (`generate(prompts, params, on_result, should_stop)`).

What one prompt costs: one request with `n` = samples (vLLM shares the prompt's prefix among the
n samples), asking for the log-probability of every sampled token. vLLM's V1 engine returns them
from the raw logits, before temperature, top-k and top-p (its default logprobs mode), which is the
paper's score; `logprob_sum` is their plain sum over exactly the returned tokens, which run up to
and including the token that ended the sample (EOS, or the one that completed a stop string).

Prompts go out as token ids (completions endpoint): the text is tokenized by the server's own
`/tokenize` route, and a suffix the tokenizer appends (ByT5's `</s>`) is dropped, so that, as in the
in-process engine, a causal prompt never ends in EOS. A server without `/tokenize` gets the text.
With `chat` the chat endpoint is used, and the server applies the model's chat template.

Up to `concurrency` requests are in flight at once (threads; results are handed to `on_result` in
the calling thread, so database writes stay on it). Any failed request stops the run with
ServedModelError once the requests in flight have ended (the answered ones are handed over);
requests not yet sent are not sent, so a retry resumes at the first prompt without samples.

Every request goes through generation/served_http.py: only addresses the operator allows
(`allowed`, from SERVED_ALLOWED_HOSTS) are reached, no redirect is followed, `timeout` bounds the
whole request, the bytes read are bounded, and an answer text longer than `max_response_chars`
(MAX_RESPONSE_CHARS) fails the request instead of being stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from generation.sample_types import (
    GeneratedSample,
    PromptRequest,
    PromptResult,
    SamplingParams,
    batch_seed,
    plain_conversation,
)
from generation.served_http import ServedModelError, post
from generation.served_policy import HostAllowList

__all__ = ["NO_LOGPROBS", "HostAllowList", "ServedClient", "ServedEndpoint", "ServedModelError"]

NO_LOGPROBS = (
    "the server returned no log-probabilities, so the paper's selection (which ranks samples by them) "
    "cannot run: generate with --selection none, or serve the model with vLLM"
)
_TOKEN_ID = re.compile(r"^token_id:(-?\d+)$")


@dataclass(frozen=True)
class ServedEndpoint:
    base_url: str  # e.g. http://gpu-host:8000/v1
    served_model: str
    chat: bool = False
    api_key: str | None = None  # read from the environment on the worker, never stored

    @property
    def root(self) -> str:
        """The server's root, where vLLM's own routes (/tokenize, /health) live."""
        base = self.base_url.rstrip("/")
        return base[: -len("/v1")] if base.endswith("/v1") else base


class ServedClient:
    def __init__(
        self,
        endpoint: ServedEndpoint,
        *,
        allowed: HostAllowList,
        concurrency: int = 8,
        timeout: float = 600.0,
        max_response_chars: int = 100_000,
        require_logprobs: bool = True,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.endpoint = endpoint
        self.allowed = allowed  # the operator's SERVED_ALLOWED_HOSTS, checked at every connection
        self.concurrency = concurrency
        self.timeout = timeout  # one whole request, not one read
        self.max_response_chars = max_response_chars  # longest answer text stored
        self.require_logprobs = require_logprobs
        self.last_path = ""
        self._tokenize_ok: bool | None = None  # None: not tried yet

    # ---- public API, as the engine's --------------------------------------------------------
    def generate(
        self,
        prompts: Sequence[PromptRequest],
        params: SamplingParams,
        *,
        on_result: Callable[[PromptResult], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[PromptResult]:
        """Sample `params.samples` responses per prompt; results in the input order."""
        params.check()
        endpoint = "chat" if self.endpoint.chat else "completions"
        self.last_path = f"served {endpoint} x{self.concurrency}"
        results: dict[int, PromptResult] = {}
        pending: dict[Future[PromptResult], int] = {}
        queue = list(enumerate(prompts))
        failure: BaseException | None = None
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="served") as pool:
            while queue or pending:
                stop = failure is not None or (should_stop is not None and should_stop())
                while queue and not stop and len(pending) < self.concurrency:
                    i, request = queue.pop(0)
                    pending[pool.submit(self.prompt_generate, request, params)] = i
                if not pending:
                    break
                done, _ = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in done:
                    i = pending.pop(future)
                    try:
                        result = future.result()
                    except BaseException as exc:
                        failure = failure or exc
                        continue
                    results[i] = result
                    if on_result is not None:
                        on_result(result)
        if failure is not None:
            raise failure
        return [results[i] for i in sorted(results)]

    # ---- one prompt ---------------------------------------------------------------------------
    def prompt_generate(self, request: PromptRequest, params: SamplingParams) -> PromptResult:
        body: dict[str, Any] = {
            "model": self.endpoint.served_model,
            "n": params.samples,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_new_tokens,
            # vLLM gives child sample j the seed + j: keep it well inside 63 bits.
            "seed": batch_seed(params.seed, [request.key]) & 0x7FFF_FFFF,
            "return_tokens_as_token_ids": True,
            "return_token_ids": True,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if params.top_k > 0:
            body["top_k"] = params.top_k
        if params.min_new_tokens > 0:
            body["min_tokens"] = params.min_new_tokens
        prompt_ids: list[int] = []
        if self.endpoint.chat:
            body["messages"] = request.messages()
            body["logprobs"] = True
            body["top_logprobs"] = 0
            answer = self._post("/chat/completions", body, max_bytes=self._answer_bytes(params))
        else:
            # A conversation's turn goes out in the recorded plain template (sample_types).
            text = plain_conversation(request) if request.history is not None else request.text
            ids = self.prompt_encode(text)
            body["prompt"] = ids if ids else text
            body["logprobs"] = 0
            prompt_ids = ids or []
            answer = self._post("/completions", body, max_bytes=self._answer_bytes(params, len(ids or [])))
        prompt_ids = _int_list(answer.get("prompt_token_ids")) or prompt_ids
        choices = answer.get("choices")
        if not isinstance(choices, list) or len(choices) != params.samples:
            got = len(choices) if isinstance(choices, list) else "no"
            raise ServedModelError(f"asked for {params.samples} samples, the server returned {got}")
        samples = [self._sample(c) for c in sorted(choices, key=lambda c: int(c.get("index", 0)))]
        if prompt_ids == [] and choices and "prompt_token_ids" in choices[0]:
            prompt_ids = _int_list(choices[0].get("prompt_token_ids")) or []
        return PromptResult(key=request.key, prompt_token_ids=prompt_ids, samples=samples)

    def prompt_encode(self, text: str) -> list[int] | None:
        """The prompt as the server's tokenizer makes it, without an appended suffix (EOS)."""
        if self._tokenize_ok is False:
            return None
        try:
            full = self._tokenize(text, special=True)
            plain = self._tokenize(text, special=False)
        except ServedModelError as exc:
            if exc.status != 404:
                raise
            self._tokenize_ok = False  # not vLLM: send text
            return None
        self._tokenize_ok = True
        # Keep what the special tokens put before the text (BOS), drop what they put after (EOS).
        for start in range(len(full) - len(plain), -1, -1):
            if full[start : start + len(plain)] == plain:
                ids = full[: start + len(plain)]
                return ids or full[:1]
        return full

    def _tokenize(self, text: str, *, special: bool) -> list[int]:
        body = {"model": self.endpoint.served_model, "prompt": text, "add_special_tokens": special}
        # Token ids of a prompt: a few bytes each in JSON, at most one per byte of the text.
        answer = self._post("/tokenize", body, root=True, max_bytes=65536 + 24 * len(text.encode()))
        tokens = _int_list(answer.get("tokens"))
        if tokens is None:
            raise ServedModelError("the server's /tokenize answer has no token list")
        return tokens

    def _sample(self, choice: dict[str, Any]) -> GeneratedSample:
        if self.endpoint.chat:
            message = choice.get("message") or {}
            text = str(message.get("content") or "")
            content = (choice.get("logprobs") or {}).get("content")
            tokens = [str(c.get("token", "")) for c in content] if isinstance(content, list) else None
            logprobs = [c.get("logprob") for c in content] if isinstance(content, list) else None
        else:
            text = str(choice.get("text") or "")
            block = choice.get("logprobs") or {}
            tokens = block.get("tokens")
            logprobs = block.get("token_logprobs")
        if len(text) > self.max_response_chars:
            raise ServedModelError(
                f"the server returned an answer of {len(text):,} characters; the limit is "
                f"{self.max_response_chars:,} (MAX_RESPONSE_CHARS)"
            )
        token_ids = _int_list(choice.get("token_ids"))
        if token_ids is None and isinstance(tokens, list):
            parsed = [_TOKEN_ID.match(str(t)) for t in tokens]
            token_ids = [int(m.group(1)) for m in parsed if m] if all(parsed) else None
        score: float | None = None
        if isinstance(logprobs, list) and all(isinstance(v, int | float) for v in logprobs):
            if token_ids is not None and len(logprobs) != len(token_ids):
                raise ServedModelError(
                    f"the server returned {len(logprobs)} log-probabilities for {len(token_ids)} tokens"
                )
            score = float(sum(logprobs))
        elif self.require_logprobs:
            raise ServedModelError(NO_LOGPROBS)
        return GeneratedSample(
            text=text,
            token_ids=token_ids or [],
            logprob_sum=score,
            finish_reason=_finish_reason(choice),
        )

    # ---- HTTP ------------------------------------------------------------------------------
    def _answer_bytes(self, params: SamplingParams, prompt_tokens: int = 0) -> int:
        """The most bytes an honest answer can take: each sample's text (JSON-escaped, up to six
        bytes a character) and a log-probability entry per token, with room to spare."""
        per_sample = 6 * self.max_response_chars + 160 * params.max_new_tokens
        return 1024 * 1024 + params.samples * per_sample + 24 * prompt_tokens

    def _post(self, path: str, body: dict[str, Any], *, max_bytes: int, root: bool = False) -> dict[str, Any]:
        url = (self.endpoint.root if root else self.endpoint.base_url.rstrip("/")) + path
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.endpoint.api_key:
            headers["Authorization"] = f"Bearer {self.endpoint.api_key}"
        raw = post(
            url=url,
            body=json.dumps(body).encode(),
            headers=headers,
            allowed=self.allowed,
            timeout=self.timeout,
            max_bytes=max_bytes,
        )
        try:
            answer = json.loads(raw)
        except (ValueError, RecursionError):
            raise ServedModelError(f"{url} answered something that is not JSON") from None
        if not isinstance(answer, dict):
            raise ServedModelError(f"{url} answered JSON that is not an object")
        return answer


def _int_list(value: object) -> list[int] | None:
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    return None


def _finish_reason(choice: dict[str, Any]) -> str:
    """vLLM says "stop" for EOS and for stop strings alike; `stop_reason` tells them apart."""
    reason = choice.get("finish_reason")
    if reason == "length":
        return "length"
    if reason == "stop":
        return "stop" if isinstance(choice.get("stop_reason"), str) else "eos"
    raise ServedModelError(f"the server ended a sample with finish_reason {reason!r}")
