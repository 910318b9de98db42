#!/usr/bin/env python3
"""check_opsets.py - kiln's opset claims (struct kiln_op_info.opsets, printed by
`kiln-opdoc --opsets` and in docs/operators.md) against the onnx package's schema history.

For every op of kiln's registry:
- an op claiming ONNX versions must exist in ONNX's default domain; an op marked as kiln's own
  (since 0) must not exist there up to kiln's newest opset;
- every listed version must be a since_version of the op, and the first ("since") one that is
  not experimental;
- every version after "since" (up to kiln's newest opset) at which the op's inputs, outputs or
  attributes changed -- names aside, the legacy `consumed_inputs` attribute aside -- must be
  listed: that is the form kiln's inference has to read. Deprecated versions are not required.
Versions newer than the installed onnx package knows (Debian's 1.12 stops at opset 17) are
checked against NEWER below, transcribed from ONNX's docs/Changelog.md (ONNX 1.13-1.16).
Prints the ONNX ops kiln does not implement, for information. Exits 77 (skipped) without the
onnx package. Usage: check_opsets.py KILN_OPDOC
"""
import subprocess
import sys

try:
    import onnx.defs
except ImportError:
    print("skip: the onnx Python package is not installed")
    sys.exit(77)

# The default domain's versions of opsets 18-21 (ONNX 1.13-1.16 Changelog.md): op -> {version:
# True when the op's inputs, outputs, attributes or the values an attribute accepts changed (a
# form kiln's inference must read), False when the version only added element types}. An op
# whose first entry is its first version is new in that opset.
NEWER = {
    # opset 18 (ONNX 1.13)
    "BitwiseAnd": {18: True}, "BitwiseNot": {18: True}, "BitwiseOr": {18: True},
    "BitwiseXor": {18: True}, "CenterCropPad": {18: True}, "Col2Im": {18: True},
    "GroupNormalization": {18: True, 21: True},  # 21: stash_type, scale/bias per channel
    "Mish": {18: True},
    "LpPool": {18: True},  # ceil_mode
    "OptionalGetElement": {18: True}, "OptionalHasElement": {18: True},
    "Pad": {18: True, 19: False, 21: False},  # 18: axes input; 19: mode wrap (read from 18)
    "ReduceL1": {18: True}, "ReduceL2": {18: True}, "ReduceLogSum": {18: True},
    "ReduceLogSumExp": {18: True}, "ReduceMax": {18: True, 20: False},
    "ReduceMean": {18: True}, "ReduceMin": {18: True, 20: False}, "ReduceProd": {18: True},
    "ReduceSumSquare": {18: True},
    "Resize": {18: True, 19: True},  # 18: antialias, axes, keep_aspect_ratio_policy;
                                     # 19: half_pixel_symmetric
    "ScatterElements": {18: True}, "ScatterND": {18: True},  # reduction max and min
    "Split": {18: True},  # num_outputs
    # opset 19 (ONNX 1.14)
    "AveragePool": {19: True},  # dilations
    "Cast": {19: True, 21: False}, "CastLike": {19: True, 21: False},  # saturate (float8)
    "Constant": {19: False, 21: False}, "DeformConv": {19: True},
    "DequantizeLinear": {19: False, 21: True},  # 21: block_size
    "Equal": {19: False}, "Identity": {19: False, 21: False}, "If": {19: False, 21: False},
    "Loop": {19: False, 21: False},
    "QuantizeLinear": {19: True, 21: True},  # 19: saturate; 21: block_size, output_dtype
    "Reshape": {19: False, 21: False}, "Scan": {19: False, 21: False},
    "Shape": {19: False, 21: False}, "Size": {19: False, 21: False},
    # opset 20 (ONNX 1.15)
    "AffineGrid": {20: True}, "ConstantOfShape": {20: False, 21: False},
    "DFT": {20: True},  # dft_length and axis as inputs
    "Gelu": {20: True},
    "GridSample": {20: True},  # N-d, modes linear/cubic
    "ImageDecoder": {20: True}, "IsInf": {20: False}, "IsNaN": {20: False},
    "RegexFullMatch": {20: True}, "StringConcat": {20: True}, "StringSplit": {20: True},
    # opset 21 (ONNX 1.16)
    "Flatten": {21: False}, "QLinearMatMul": {21: False}, "Squeeze": {21: False},
    "Transpose": {21: False}, "Unsqueeze": {21: False},
}


def check_newer(name, listed, max_opset, pkg_max, errors):
    """Checks the versions of `name` past the onnx package's last opset against NEWER."""
    newer = {v: c for v, c in NEWER.get(name, {}).items() if v <= max_opset}
    since = listed[0]
    for v in listed:
        if v > pkg_max and v not in newer:
            errors.append("%s: lists opset %d, which is not a version of the op in ONNX's "
                          "changelog (NEWER in this script: %s)" % (name, v, sorted(newer)))
    for v, changed in sorted(newer.items()):
        if changed and v > since and v not in listed:
            errors.append("%s: ONNX changed the op's inputs, outputs or attributes at opset "
                          "%d; make infer read that form and add %d to its opsets"
                          % (name, v, v))


def kiln_claims(opdoc):
    out = subprocess.run([opdoc, "--opsets"], check=True, capture_output=True, text=True).stdout
    lines = out.split("\n")
    head = lines[0].split()
    if len(head) != 2 or head[0] != "max_opset":
        raise SystemExit("check_opsets: unexpected first line from %s: %r" % (opdoc, lines[0]))
    claims = {}
    for line in lines[1:]:
        if line:
            name, *versions = line.split()
            claims[name] = [int(v) for v in versions]
    return int(head[1]), claims


def signature(s):
    """What a model's node carries for schema s: the form kiln's inference must read."""
    attrs = tuple(sorted((name, int(a.type), a.required, a.default_value.SerializeToString())
                         for name, a in s.attributes.items() if name != "consumed_inputs"))
    ins = tuple(int(f.option) for f in s.inputs)
    outs = tuple(int(f.option) for f in s.outputs)
    return attrs, ins, outs, s.min_input, s.max_input, s.min_output, s.max_output


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    max_opset, claims = kiln_claims(sys.argv[1])
    history = {}
    pkg_max = 0
    for s in onnx.defs.get_all_schemas_with_history():
        if s.domain in ("", "ai.onnx"):
            pkg_max = max(pkg_max, s.since_version)
    for s in onnx.defs.get_all_schemas_with_history():
        if s.domain in ("", "ai.onnx") and s.since_version <= min(max_opset, pkg_max):
            history.setdefault(s.name, []).append(s)
    for versions in history.values():
        versions.sort(key=lambda s: s.since_version)
    experimental = onnx.defs.OpSchema.SupportType.EXPERIMENTAL
    errors = []
    for name, listed in sorted(claims.items()):
        schemas = history.get(name)
        newer = sorted(v for v in NEWER.get(name, {}) if v <= max_opset)
        if listed == [0]:
            if schemas or newer:
                errors.append("%s: marked as kiln's own op, but ONNX defines it from opset %d"
                              % (name, schemas[0].since_version if schemas else newer[0]))
            continue
        check_newer(name, listed, max_opset, pkg_max, errors)
        if not schemas:
            if not newer or listed[0] != newer[0]:
                errors.append("%s: claims opsets %s, but ONNX has no such op up to opset %d "
                              "(first version in NEWER: %s)"
                              % (name, listed, max_opset, newer[0] if newer else None))
            continue
        known = {s.since_version: s for s in schemas}
        for v in listed:
            if v not in known and v <= pkg_max:
                errors.append("%s: lists opset %d, which is not a version of the op in ONNX "
                              "(versions %s)" % (name, v, sorted(known)))
        since = listed[0]
        if since in known and known[since].support_level == experimental:
            errors.append("%s: since %d is an experimental version" % (name, since))
        for prev, cur in zip(schemas, schemas[1:]):
            v = cur.since_version
            if v <= since or v in listed or cur.deprecated:
                continue
            if signature(prev) != signature(cur):
                errors.append("%s: ONNX changed the op's inputs, outputs or attributes at opset "
                              "%d; make infer read that form and add %d to its opsets"
                              % (name, v, v))
    missing = sorted(set(n for n, s in history.items() if n not in claims and
                         not all(x.deprecated or x.support_level == experimental for x in s)) |
                     set(n for n, v in NEWER.items() if n not in claims and n not in history and
                         min(v) <= max_opset))
    print("check_opsets: %d ops checked against ONNX %s (opsets up to %d); ONNX ops kiln does "
          "not implement (%d): %s" % (len(claims), onnx.__version__ + " + NEWER", max_opset,
                                      len(missing),
                                      ", ".join(missing)))
    for e in errors:
        print("FAIL " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
