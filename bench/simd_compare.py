#!/usr/bin/python3
"""simd_compare.py - the float32 GEMM's micro-kernels side by side (docs/benchmarks.md, "SIMD
GEMM kernels"). Per model: `kiln bench --configs O2+simd:portable,O2+simd:avx2,O2+simd:avx512`
(the variants this CPU runs), which times them interleaved run by run in one process and
compares their outputs with the portable one; with --base OLD_KILN also OLD_KILN's O2 (say a
build of main before the SIMD kernels), run as a separate process that alternates with the
other one round by round. Reports the median over the rounds of each config's median latency
as a Markdown table. Short runs on purpose (a shared machine).

usage: bench/simd_compare.py [--kiln build/kiln] [--base OLD_KILN] [--repeat N] [--warmup N]
                             [--rounds R] MODEL.onnx...
Inputs: MODEL.input.npy or MODEL.input.<k>.npy next to the model, else kiln's seeded random data.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys


def variants():
    """portable, and avx2 / avx512 when /proc/cpuinfo lists them (x86-64 Linux)."""
    try:
        with open('/proc/cpuinfo') as f:
            flags = next((l.split(':', 1)[1].split() for l in f if l.startswith('flags')), [])
    except OSError:
        flags = []
    v = ['portable']
    if 'avx2' in flags and 'fma' in flags:
        v.append('avx2')
        if 'avx512f' in flags:
            v.append('avx512')
    return v


def inputs_of(model):
    base = model[:-5] if model.endswith('.onnx') else model
    if os.path.exists(base + '.input.npy'):
        return ['--input', base + '.input.npy']
    args = []
    for f in sorted(glob.glob(base + '.input.[0-9]*.npy')):
        args += ['--input', f]
    return args


def bench(kiln, model, configs, a):
    cmd = [kiln, 'bench', model, '--configs', ','.join(configs), '--repeat', str(a.repeat),
           '--warmup', str(a.warmup), '--no-rss', '--format', 'json'] + inputs_of(model)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, env=dict(os.environ)).stdout
    return {c['label']: c for c in json.loads(out)['configs']}


def fmt_ms(x):
    return f'{x:.4g}' if x < 100 else f'{x:.0f}'


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--kiln', default='build/kiln')
    p.add_argument('--base', help='another kiln executable whose O2 is the "before" column')
    p.add_argument('--repeat', type=int, default=10)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('models', nargs='+')
    a = p.parse_args()
    vs = variants()
    configs = [f'O2+simd:{v}' for v in vs]
    head = ['model']
    if a.base:
        head.append('before ms')
    head += [f'{v} ms' for v in vs] + [f'{v} speedup' for v in vs[1:]]
    if a.base:
        head.append(f'{vs[-1]} vs before')
    head.append('max abs diff vs portable')
    rows = []
    for model in a.models:
        med = {c: [] for c in configs + ['base']}
        diff = {}
        for r in range(a.rounds):
            order = ['new', 'base'] if r % 2 == 0 else ['base', 'new']
            for who in order:
                if who == 'base' and a.base:
                    res = bench(a.base, model, ['O2'], a)
                    med['base'].append(res['O2']['latency_ms']['median'])
                elif who == 'new':
                    res = bench(a.kiln, model, configs, a)
                    for c in configs:
                        med[c].append(res[c]['latency_ms']['median'])
                        diff[c] = max(diff.get(c, 0), res[c]['max_abs_error'] or 0)
            print(f'simd_compare: {os.path.basename(model)} round {r + 1}/{a.rounds}',
                  file=sys.stderr)
        m = {c: statistics.median(v) for c, v in med.items() if v}
        row = [os.path.basename(model)]
        if a.base:
            row.append(fmt_ms(m['base']))
        row += [fmt_ms(m[c]) for c in configs]
        row += [f'{m[configs[0]] / m[c]:.2f}x' for c in configs[1:]]
        if a.base:
            row.append(f"{m['base'] / m[configs[-1]]:.2f}x")
        row.append(' / '.join(f'{diff[c]:.1e}' for c in configs[1:]) or '-')
        rows.append(row)
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '|'.join('---' if i == 0 else '---:' for i in range(len(head))) + '|')
    for row in rows:
        print('| ' + ' | '.join(row) + ' |')
    print()
    print(f'Median over {a.rounds} rounds of the median of {a.repeat} timed runs (after '
          f'{a.warmup} warm-up) per config; speedup = portable / variant; "max abs diff": the '
          f'largest output difference of {", ".join(vs[1:]) or "-"} from the portable path.')


if __name__ == '__main__':
    main()
