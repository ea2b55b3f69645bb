#!/usr/bin/python3
"""Times nn and PyTorch on the same layers, training step and inference batch, in one run.

The reference network is the Keras image-classification tutorial's: Rescaling(1/255),
three Conv2D(3x3, same, ReLU) blocks of 16, 32 and 64 filters each followed by MaxPool2D(2),
Flatten, Dense(128, ReLU) and Dense(23), on batches of 32 images of 180x180x3.

PyTorch runs twice, each in its own process:
- "best": channels_last tensors, OpenBLAS (Debian's libopenblas0-openmp, chosen through
  LD_LIBRARY_PATH for that process only), GLIBC_TUNABLES=glibc.malloc.hugetlb=1 and
  torch.set_num_threads(THREADS);
- "installed": NCHW tensors, Debian's reference BLAS, the default thread count and no tunables.
nn's benchmark program runs under the same environment variables as the best configuration.

The table prints, per benchmark, the milliseconds of each and the ratios nn/PyTorch; the ratio
against PyTorch's best configuration is the last column. Each time is the fastest of several
repetitions (--statistic median for the median), the same statistic for all three, and with
--rounds N the median over N rounds that each run all three programs in turn.

Usage (nn built in Release with -DNN_BUILD_BENCHMARKS=ON -DNN_NATIVE=ON):
  /usr/bin/python3 bench/compare_pytorch.py --nn-bench build/perf/bench/layers_bench
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BATCH = 32
SIZE = 180
CLASSES = 23
# (height, width, in_channels, out_channels) of the three convolutions; 3x3, same, stride 1.
CONVS = [(180, 180, 3, 16), (90, 90, 16, 32), (45, 45, 32, 64)]
# (height, width, channels) of the three pooling inputs.
POOLS = [(180, 180, 16), (90, 90, 32), (45, 45, 64)]
DENSE_IN, DENSE_OUT = 22 * 22 * 64, 128

OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
REFERENCE_BLAS_DIR = "/usr/lib/x86_64-linux-gnu/blas"


def conv_name(h, w, cin, cout):
    return f"{h}x{w}x{cin}->{cout}"


def pool_name(h, w, c):
    return f"{h}x{w}x{c}"


def row_names():
    """Return the table rows in print order; nn's benchmarks carry the same names."""
    names = []
    for shape in CONVS:
        names.append(f"Conv2D_Forward/{conv_name(*shape)}")
        names.append(f"Conv2D_Backward/{conv_name(*shape)}")
    for shape in POOLS:
        names.append(f"MaxPool2D_Forward/{pool_name(*shape)}")
        names.append(f"MaxPool2D_Backward/{pool_name(*shape)}")
    names += ["Dense_Forward/30976->128", "Dense_Backward/30976->128", "train_step", "inference"]
    return names


# ---------------------------------------------------------------------------------------------
# PyTorch side, run in a child process so that each configuration gets its own BLAS and malloc.


def loaded_blas():
    """Return the BLAS and LAPACK libraries mapped into this process, from /proc/self/maps."""
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if "blas" in path or "lapack" in path:
                found.add(path)
    return sorted(found)


def torch_worker(config, threads, repeats, min_time, statistic):
    import torch
    import torch.nn.functional as F

    best = config == "best"
    if best:
        torch.set_num_threads(threads)
    layout = torch.channels_last if best else torch.contiguous_format
    torch.manual_seed(0)

    def image(n, h, w, c, requires_grad=False):
        x = torch.rand(n, c, h, w).contiguous(memory_format=layout)
        return x.requires_grad_(requires_grad)

    def timed(fn):
        """Return the milliseconds per call of the fastest (or median) of `repeats` loops."""
        fn()
        fn()
        start = time.perf_counter()
        fn()
        once = time.perf_counter() - start
        iterations = max(1, int(min_time / max(once, 1e-6)))
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(iterations):
                fn()
            samples.append((time.perf_counter() - start) / iterations * 1e3)
        return min(samples) if statistic == "min" else statistics.median(samples)

    results = {}
    with torch.no_grad():
        for h, w, cin, cout in CONVS:
            x = image(BATCH, h, w, cin)
            k = torch.randn(cout, cin, 3, 3).contiguous(memory_format=layout) * 0.1
            b = torch.randn(cout) * 0.1
            results[f"Conv2D_Forward/{conv_name(h, w, cin, cout)}"] = timed(
                lambda: F.relu(F.conv2d(x, k, b, padding=1)))

    # Backward of conv + ReLU: input, kernel and bias gradients from the output gradient.
    for h, w, cin, cout in CONVS:
        x = image(BATCH, h, w, cin, requires_grad=True)
        k = (torch.randn(cout, cin, 3, 3) * 0.1).contiguous(memory_format=layout)
        k.requires_grad_(True)
        b = (torch.randn(cout) * 0.1).requires_grad_(True)
        y = F.relu(F.conv2d(x, k, b, padding=1))
        dy = torch.randn_like(y)
        results[f"Conv2D_Backward/{conv_name(h, w, cin, cout)}"] = timed(
            lambda: torch.autograd.grad(y, [x, k, b], dy, retain_graph=True))

    for h, w, c in POOLS:
        x = image(BATCH, h, w, c, requires_grad=True)
        # With the window positions of the maxima, as a training forward pass needs them.
        with torch.no_grad():
            results[f"MaxPool2D_Forward/{pool_name(h, w, c)}"] = timed(
                lambda: F.max_pool2d(x, 2, return_indices=True))
        y = F.max_pool2d(x, 2)
        dy = torch.randn_like(y)
        results[f"MaxPool2D_Backward/{pool_name(h, w, c)}"] = timed(
            lambda: torch.autograd.grad(y, [x], dy, retain_graph=True))

    x = torch.rand(BATCH, DENSE_IN, requires_grad=True)
    dense = torch.nn.Linear(DENSE_IN, DENSE_OUT)
    with torch.no_grad():
        results["Dense_Forward/30976->128"] = timed(lambda: F.relu(dense(x)))
    y = F.relu(dense(x))
    dy = torch.randn_like(y)
    params = [x, dense.weight, dense.bias]
    results["Dense_Backward/30976->128"] = timed(
        lambda: torch.autograd.grad(y, params, dy, retain_graph=True))

    # The whole reference network.
    class Rescaling(torch.nn.Module):
        def forward(self, x):
            return x * (1.0 / 255.0)

    model = torch.nn.Sequential(
        Rescaling(),
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(DENSE_IN, DENSE_OUT), torch.nn.ReLU(),
        torch.nn.Linear(DENSE_OUT, CLASSES))
    model = model.to(memory_format=layout)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    images = image(BATCH, SIZE, SIZE, 3) * 255.0
    images = images.contiguous(memory_format=layout)
    labels = torch.randint(0, CLASSES, (BATCH,))

    def train_step():
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()

    results["train_step"] = timed(train_step)
    model.eval()

    def inference():
        with torch.inference_mode():
            model(images)

    results["inference"] = timed(inference)
    info = {"threads": torch.get_num_threads(), "blas": loaded_blas(),
            "torch": torch.__version__}
    return {"results": results, "info": info}


# ---------------------------------------------------------------------------------------------
# Driver.


def run_torch(config, args):
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    if config == "best":
        env["LD_LIBRARY_PATH"] = OPENBLAS_DIR
        env["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1"
    else:
        env["LD_LIBRARY_PATH"] = REFERENCE_BLAS_DIR
        env.pop("GLIBC_TUNABLES", None)
    command = [sys.executable, os.path.abspath(__file__), "--torch-worker", config,
               "--threads", str(args.threads), "--repeats", str(args.repeats),
               "--min-time", str(args.min_time), "--statistic", args.statistic]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def run_nn(args):
    env = dict(os.environ)
    env["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=1"
    env["OMP_NUM_THREADS"] = str(args.threads)
    command = [args.nn_bench, "--benchmark_format=json",
               f"--benchmark_repetitions={args.repeats}",
               f"--benchmark_min_time={args.min_time}"]
    if args.filter:
        command.append(f"--benchmark_filter={args.filter}")
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
    samples, counters = {}, {}
    for entry in report["benchmarks"]:
        if entry.get("run_type") != "iteration":
            continue
        name = entry["run_name"]
        name = name[3:] if name.startswith("BM_") else name
        name = name.split("/real_time")[0]
        time_ms = entry["real_time"] * scale[entry["time_unit"]]
        # Counters of the fastest repetition (for FMA_Peak, the highest rate).
        if name not in samples or time_ms < min(samples[name]):
            counters[name] = {k: entry[k] for k in ("FLOPS", "allocations", "threads")
                              if k in entry}
        samples.setdefault(name, []).append(time_ms)
    pick = min if args.statistic == "min" else statistics.median
    results = {name: pick(values) for name, values in samples.items()}
    return results, counters


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nn-bench", default="build/perf/bench/layers_bench",
                        help="nn's layers_bench program")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.5,
                        help="seconds each repetition of a benchmark runs at least")
    parser.add_argument("--statistic", choices=["min", "median"], default="min",
                        help="per benchmark, the fastest repetition (robust to load from other "
                             "processes) or the median one")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run all three in turn this many times and report per-cell medians, "
                             "so that load from other processes spreads over all columns")
    parser.add_argument("--filter", default="", help="regex passed to nn's benchmark program")
    parser.add_argument("--json", help="also write all numbers to this file")
    parser.add_argument("--torch-worker", choices=["best", "installed"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.torch_worker:
        print(json.dumps(torch_worker(args.torch_worker, args.threads, args.repeats,
                                      args.min_time, args.statistic)))
        return

    load_before = os.getloadavg()[0]
    rounds = []
    for _ in range(max(1, args.rounds)):
        best = run_torch("best", args)
        installed = run_torch("installed", args)
        nn, nn_counters = run_nn(args) if os.path.exists(args.nn_bench) else ({}, {})
        rounds.append((best["results"], installed["results"], nn))
    if not nn:
        print(f"note: {args.nn_bench} not found or reported nothing; nn column left empty")

    def median_of(column):
        names = set().union(*(r[column].keys() for r in rounds))
        return {n: statistics.median(r[column][n] for r in rounds if n in r[column])
                for n in names}

    best["results"], installed["results"], nn = median_of(0), median_of(1), median_of(2)

    print(f"load average (1 min) before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}; "
          f"{len(rounds)} round(s) of {args.repeats} repetitions, {args.statistic} per round, "
          f"median over rounds, {args.threads} threads")
    print(f"PyTorch {best['info']['torch']}; best: {best['info']['threads']} threads, "
          f"BLAS {', '.join(os.path.basename(p) for p in best['info']['blas'])}; "
          f"installed: {installed['info']['threads']} threads, "
          f"BLAS {', '.join(os.path.basename(p) for p in installed['info']['blas'])}")
    header = (f"{'benchmark':<34} {'torch best ms':>13} {'torch inst ms':>13} {'nn ms':>9} "
              f"{'nn/inst':>8} {'nn/best':>8}")
    print(header)
    print("-" * len(header))
    for name in row_names():
        b = best["results"].get(name)
        i = installed["results"].get(name)
        n = nn.get(name)

        def ms(v):
            return f"{v:.2f}" if v is not None else "-"

        def ratio(a, c):
            return f"{a / c:.2f}" if a is not None and c else "-"

        print(f"{name:<34} {ms(b):>13} {ms(i):>13} {ms(n):>9} {ratio(n, i):>8} {ratio(n, b):>8}")
    for name in ("train_step", "inference"):
        if "allocations" in nn_counters.get(name, {}):
            print(f"nn heap allocations per {name} after the first: "
                  f"{nn_counters[name]['allocations']:g}")
    if "FMA_Peak" in nn_counters:
        peak = nn_counters["FMA_Peak"]
        print(f"measured fp32 FMA peak: {peak['FLOPS'] / 1e9:.0f} GFLOP/s on "
              f"{peak.get('threads', args.threads):g} threads")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"torch_best": best, "torch_installed": installed, "nn": nn,
                       "nn_counters": nn_counters}, out, indent=1)


if __name__ == "__main__":
    main()
