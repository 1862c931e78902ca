"""microGPT's training job in PyTorch: the reference job (docs/engines.md) with torch's autograd.

Everything random comes from Python's `random`, called in microgpt.py's order (the shuffle, every
initial parameter as gauss(0, std) matrix by matrix and row by row, then `random.choices` per sampled
token); the model is float64 torch tensors, the gradients torch.autograd's, and Adam is microgpt.py's
update element for element. It prints microgpt.py's lines (`step    1 / 1000 | loss 3.3660`,
`sample  1: kamon`) and the training time, so bench:all checks its losses and samples against the
reference like any external program.

Modes:
  eager    the model as microgpt.py runs it: one position at a time with a KV cache, per-head
           attention (the graph microgpt.py builds, in vector operations).
  batched  the same function over every position of the document at once, attention under a causal
           mask: fewer, larger operations (the same gradients to rounding).
  traced   batched, with its forward compiled by torch.jit.trace once per document length.

Bad input: one line on stderr and exit code 2. PyTorch missing, or a valgrind that cannot run it:
one line on stderr and exit code 3.
"""

import argparse
import json
import math
import os
import random
import sys
import time
import warnings

MISSING_TORCH_EXIT = 3
SHIM_NAME = "libhwy-timer-shim.so"
HERE = os.path.dirname(os.path.abspath(__file__))


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake is one line on stderr and exit code 2 (the project's rule for bad input)."""

    def error(self, message):
        sys.stderr.write(f"microgpt_torch.py: {message}\n")
        sys.exit(2)


def positive_int(text):
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def parse_args(argv):
    p = OneLineParser(description=__doc__.split("\n")[0])
    p.add_argument("--version", action="store_true", help="print torch's version and exit (3 if it is missing)")
    p.add_argument("--data", help="dataset: a UTF-8 text file, one document per line")
    p.add_argument("--steps", type=positive_int, default=1000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--n-layer", type=positive_int, default=1)
    p.add_argument("--n-embd", type=positive_int, default=16)
    p.add_argument("--block-size", type=positive_int, default=16)
    p.add_argument("--n-head", type=positive_int, default=4)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--beta1", type=float, default=0.85)
    p.add_argument("--beta2", type=float, default=0.99)
    p.add_argument("--eps-adam", type=float, default=1e-8)
    p.add_argument("--init-std", type=float, default=0.08)
    p.add_argument("--rms-eps", type=float, default=1e-5)
    p.add_argument("--temperature", type=float, default=0.5)
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--loss-decimals", type=int, choices=range(0, 18), default=4, metavar="0..17")
    p.add_argument("--mode", choices=["eager", "batched", "traced"], default="eager")
    p.add_argument("--grads-out", help="write step 1's loss and parameter gradients here as JSON")
    args = p.parse_args(argv)
    if args.n_embd % args.n_head != 0:
        p.error(f"--n-head {args.n_head} must divide --n-embd {args.n_embd}")
    if args.samples < 0:
        p.error(f"--samples {args.samples}: expected 0 or more")
    return args


def fail(code, message):
    sys.stderr.write(message + "\n")
    sys.exit(code)


def under_valgrind():
    return "vgpreload" in os.environ.get("LD_PRELOAD", "")


def import_torch():
    """torch, or exit 3 saying why it cannot be had here."""
    if under_valgrind():
        # Debian's libtorch links OpenCV, which pulls in libhwy, whose initializer times itself with
        # rdtscp: valgrind 3.19 does not know the instruction and the process dies by SIGILL before
        # Python sees it. The shim (valgrind-shim.c) replaces that one timer function.
        shim = os.path.join(HERE, "build", SHIM_NAME)
        if not os.path.exists(shim):
            fail(
                MISSING_TORCH_EXIT,
                "valgrind 3.19 cannot run torch: SIGILL in libhwy's initializer (rdtscp, via Debian's OpenCV); "
                "build the shim that avoids it: sh frameworks/pytorch/build-shim.sh",
            )
        import ctypes

        ctypes.CDLL(shim, mode=ctypes.RTLD_GLOBAL)
    try:
        import torch
    except ImportError as err:
        fail(MISSING_TORCH_EXIT, f"PyTorch not installed: apt-get install python3-torch ({sys.executable}: {err})")
    return torch


def load_docs(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        fail(2, f"--data {path}: {err.strerror or err}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        fail(2, f"--data {path}: not valid UTF-8 text")
    docs = [line.strip() for line in text.split("\n") if line.strip()]
    if not docs:
        fail(2, f"--data {path}: contains no documents (every line is blank)")
    return docs


class Model:
    """microgpt.py's parameters as views into one flat float64 leaf, in its state_dict order."""

    def __init__(self, torch, args, vocab_size):
        self.torch = torch
        e = args.n_embd
        shapes = [("wte", vocab_size, e), ("wpe", args.block_size, e), ("lm_head", vocab_size, e)]
        for i in range(args.n_layer):
            shapes += [
                (f"layer{i}.attn_wq", e, e),
                (f"layer{i}.attn_wk", e, e),
                (f"layer{i}.attn_wv", e, e),
                (f"layer{i}.attn_wo", e, e),
                (f"layer{i}.mlp_fc1", 4 * e, e),
                (f"layer{i}.mlp_fc2", e, 4 * e),
            ]
        self.shapes = shapes
        self.num_params = sum(r * c for _, r, c in shapes)
        # gauss(0, std) per parameter, matrix by matrix, row by row: microgpt.py's draws in its order.
        values = [random.gauss(0, args.init_std) for _ in range(self.num_params)]
        self.flat = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        self.n_layer = args.n_layer
        self.n_head = args.n_head
        self.head_dim = e // args.n_head
        self.rms_eps = args.rms_eps
        # microgpt.py divides the scores by head_dim**0.5, i.e. multiplies by its inverse.
        self.attn_scale = (self.head_dim**0.5) ** -1

    def weights(self):
        """The matrices as views of the flat leaf (built per step: a view records its own autograd node)."""
        out, offset = {}, 0
        for name, rows, cols in self.shapes:
            out[name] = self.flat[offset : offset + rows * cols].view(rows, cols)
            offset += rows * cols
        return out

    def rmsnorm(self, x):
        # ms = Σx² · (1/n); x · (ms + eps)^-0.5, as microgpt.py's rmsnorm (last dimension).
        n = int(x.shape[-1])  # a constant in a trace (traced once per document length)
        ms = (x * x).sum(-1, keepdim=True) * (n**-1)
        return x * (ms + self.rms_eps) ** -0.5

    def softmax(self, x):
        # exp(x − max) / Σ, the max taken on the values (no gradient), as microgpt.py does.
        exps = (x - x.detach().amax(-1, keepdim=True)).exp()
        return exps * exps.sum(-1, keepdim=True) ** -1

    # --- eager: one position at a time, as microgpt.py ---

    def gpt(self, w, token, pos, keys, values):
        x = self.rmsnorm(w["wte"][token] + w["wpe"][pos])
        hd = self.head_dim
        for li in range(self.n_layer):
            p = f"layer{li}."
            residual = x
            x = self.rmsnorm(x)
            q = w[p + "attn_wq"] @ x
            keys[li].append(w[p + "attn_wk"] @ x)
            values[li].append(w[p + "attn_wv"] @ x)
            k_all = self.torch.stack(keys[li])
            v_all = self.torch.stack(values[li])
            heads = []
            for h in range(self.n_head):
                s = slice(h * hd, (h + 1) * hd)
                weights = self.softmax((k_all[:, s] @ q[s]) * self.attn_scale)
                heads.append(weights @ v_all[:, s])
            x = w[p + "attn_wo"] @ self.torch.cat(heads) + residual
            residual = x
            x = self.rmsnorm(x)
            x = w[p + "mlp_fc2"] @ self.torch.relu(w[p + "mlp_fc1"] @ x) + residual
        return w["lm_head"] @ x

    def eager_loss(self, tokens):
        w = self.weights()
        n = len(tokens) - 1
        keys = [[] for _ in range(self.n_layer)]
        values = [[] for _ in range(self.n_layer)]
        losses = []
        for pos in range(n):
            logits = self.gpt(w, tokens[pos], pos, keys, values)
            probs = self.softmax(logits)
            losses.append(-probs[tokens[pos + 1]].log())
        return self.torch.stack(losses).sum() * (1 / n)

    # --- batched: every position at once, attention under a causal mask ---

    def batched_loss(self, flat, inputs, targets, mask):
        """The document's loss from the flat parameters; inputs, targets: token ids; mask: -inf above the diagonal."""
        torch = self.torch
        w, offset = {}, 0
        for name, rows, cols in self.shapes:
            w[name] = flat[offset : offset + rows * cols].view(rows, cols)
            offset += rows * cols
        n = int(inputs.shape[0])
        x = self.rmsnorm(w["wte"][inputs] + w["wpe"][:n])
        hd = self.head_dim
        for li in range(self.n_layer):
            p = f"layer{li}."
            residual = x
            x = self.rmsnorm(x)
            q = (x @ w[p + "attn_wq"].t()).view(n, self.n_head, hd).transpose(0, 1)
            k = (x @ w[p + "attn_wk"].t()).view(n, self.n_head, hd).transpose(0, 1)
            v = (x @ w[p + "attn_wv"].t()).view(n, self.n_head, hd).transpose(0, 1)
            weights = self.softmax((q @ k.transpose(1, 2)) * self.attn_scale + mask)
            heads = (weights @ v).transpose(0, 1).reshape(n, self.n_head * hd)
            x = heads @ w[p + "attn_wo"].t() + residual
            residual = x
            x = self.rmsnorm(x)
            x = torch.relu(x @ w[p + "mlp_fc1"].t()) @ w[p + "mlp_fc2"].t() + residual
        probs = self.softmax(x @ w["lm_head"].t())
        picked = probs.gather(1, targets.view(n, 1))
        return -picked.log().sum() * (1 / n)


class BatchedStep:
    """The batched loss, compiled by torch.jit.trace per document length when `traced`."""

    def __init__(self, torch, model, traced):
        if traced:
            # TorchScript's optimising executors re-profile and re-specialise each traced graph on its
            # first calls: over the first 300 steps of names.txt (load average 25 on 2 cores) the
            # profiling executor trained at 143 ms/step, the legacy one at 41, and with optimisation
            # off at 6.4, against 4.9 for the same function run eagerly (batched).
            torch._C._set_graph_executor_optimize(False)
        self.torch = torch
        self.model = model
        self.traced = traced
        self.compiled = {}
        self.masks = {}

    def loss(self, tokens):
        torch = self.torch
        n = len(tokens) - 1
        inputs = torch.tensor(tokens[:n], dtype=torch.long)
        targets = torch.tensor(tokens[1:], dtype=torch.long)
        mask = self.masks.get(n)
        if mask is None:
            mask = torch.full((n, n), float("-inf"), dtype=torch.float64).triu(1)
            self.masks[n] = mask
        if not self.traced:
            return self.model.batched_loss(self.model.flat, inputs, targets, mask)
        fn = self.compiled.get(n)
        if fn is None:
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            fn = torch.jit.trace(self.model.batched_loss, (self.model.flat, inputs, targets, mask), check_trace=False)
            self.compiled[n] = fn
        return fn(self.model.flat, inputs, targets, mask)


class Adam:
    """
    microgpt.py's Adam, element for element, with the project's float operations (workload/adam.ts):
    the same operations in the same order per parameter, bit for bit (checked against a scalar loop
    over 5,000 parameters for 50 steps). microgpt.py writes g ** 2 and v_hat ** 0.5, which CPython
    computes with C's pow: it differs from g * g and sqrt in the last bit for about 0.1% of values
    (82 and 92 of 100,000 Gaussian gradients measured), and torch has no pow that rounds as glibc's.
    """

    def __init__(self, torch, size, args):
        self.torch = torch
        self.m = torch.zeros(size, dtype=torch.float64)
        self.v = torch.zeros(size, dtype=torch.float64)
        self.args = args

    def update(self, params, grads, step):
        a = self.args
        lr_t = a.lr * (1 - step / a.steps)
        m_correction = 1 - a.beta1 ** (step + 1)
        v_correction = 1 - a.beta2 ** (step + 1)
        torch = self.torch
        m, v = self.m, self.v
        # m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= lr_t · m̂ / (√v̂ + ε): one op at a time, no fusing.
        m.mul_(a.beta1).add_(grads * (1 - a.beta1))
        v.mul_(a.beta2).add_((grads * grads) * (1 - a.beta2))
        # Division by a tensor of the correction, not by a Python scalar: torch may turn a scalar
        # divisor into a multiplication by its reciprocal, which rounds differently.
        m_hat = m / torch.full_like(m, m_correction)
        v_hat = v / torch.full_like(v, v_correction)
        params.sub_((m_hat * lr_t) / (v_hat.sqrt() + a.eps_adam))


def sample(torch, model, args, bos, vocab_size):
    """One name as microgpt.py draws it: softmax(logits / T) on plain floats, then random.choices."""
    w = model.weights()
    keys = [[] for _ in range(model.n_layer)]
    values = [[] for _ in range(model.n_layer)]
    inv_t = args.temperature**-1
    token, out = bos, []
    for pos in range(args.block_size):
        logits = [l * inv_t for l in model.gpt(w, token, pos, keys, values).tolist()]
        top = max(logits)
        exps = [math.exp(l + -top) for l in logits]
        total = 0.0
        for e in exps:
            total += e
        if not math.isfinite(total):
            fail(1, f"diverged: the logits are not finite at position {pos}")
        inv = total**-1
        token = random.choices(range(vocab_size), weights=[e * inv for e in exps])[0]
        if token == bos:
            break
        out.append(token)
    return out


def main(argv):
    args = parse_args(argv)
    if args.version:
        print(f"torch {import_torch().__version__} under Python {sys.version.split()[0]} ({sys.executable})")
        return
    if args.data is None:
        fail(2, "microgpt_torch.py: the following arguments are required: --data")
    docs = load_docs(args.data)
    torch = import_torch()
    torch.set_num_threads(1)
    torch.set_grad_enabled(True)

    random.seed(args.seed)
    random.shuffle(docs)
    chars = sorted(set("".join(docs)))
    ids = {ch: i for i, ch in enumerate(chars)}
    bos = len(chars)
    vocab_size = len(chars) + 1
    model = Model(torch, args, vocab_size)
    print(f"num docs: {len(docs)}")
    print(f"vocab size: {vocab_size}")
    print(f"num params: {model.num_params}")

    batched = None if args.mode == "eager" else BatchedStep(torch, model, args.mode == "traced")
    adam = Adam(torch, model.num_params, args)
    training_s = 0.0
    for step in range(args.steps):
        doc = docs[step % len(docs)]
        tokens = [bos] + [ids[ch] for ch in doc] + [bos]
        tokens = tokens[: args.block_size + 1]
        t0 = time.perf_counter()
        loss = model.eager_loss(tokens) if batched is None else batched.loss(tokens)
        loss.backward()
        grads = model.flat.grad
        if step == 0 and args.grads_out:
            write_grads(args.grads_out, loss.item(), grads)
        with torch.no_grad():
            adam.update(model.flat, grads, step)
        model.flat.grad = None
        training_s += time.perf_counter() - t0
        value = loss.item()
        if not math.isfinite(value):
            fail(1, f"diverged: loss became {value} at step {step + 1} of {args.steps}")
        print(f"step {step + 1:4d} / {args.steps:4d} | loss {value:.{args.loss_decimals}f}")
    print(f"training time: {training_s:.6f} s ({training_s * 1000 / args.steps:.3f} ms/step, mode {args.mode})")

    if args.samples > 0:
        print("--- inference (new, hallucinated names) ---")
        with torch.no_grad():
            for i in range(args.samples):
                name = "".join(chars[t] for t in sample(torch, model, args, bos, vocab_size))
                print(f"sample {i + 1:2d}: {name}")


def write_grads(path, loss, grads):
    """Step 1's loss and gradients (flat, in the parameters' order), written whole or not at all."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump({"loss": loss, "grads": grads.tolist()}, f)
        os.replace(tmp, path)
    except OSError as err:
        fail(2, f"--grads-out {path}: {err.strerror or err}")


if __name__ == "__main__":
    main(sys.argv[1:])
