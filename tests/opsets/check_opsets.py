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
    for s in onnx.defs.get_all_schemas_with_history():
        if s.domain in ("", "ai.onnx") and s.since_version <= max_opset:
            history.setdefault(s.name, []).append(s)
    for versions in history.values():
        versions.sort(key=lambda s: s.since_version)
    experimental = onnx.defs.OpSchema.SupportType.EXPERIMENTAL
    errors = []
    for name, listed in sorted(claims.items()):
        schemas = history.get(name)
        if listed == [0]:
            if schemas:
                errors.append("%s: marked as kiln's own op, but ONNX defines it from opset %d"
                              % (name, schemas[0].since_version))
            continue
        if not schemas:
            errors.append("%s: claims opsets %s, but ONNX %s has no such op up to opset %d"
                          % (name, listed, onnx.__version__, max_opset))
            continue
        known = {s.since_version: s for s in schemas}
        for v in listed:
            if v not in known:
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
    missing = sorted(n for n, s in history.items() if n not in claims and
                     not all(x.deprecated or x.support_level == experimental for x in s))
    print("check_opsets: %d ops checked against ONNX %s (opsets up to %d); ONNX ops kiln does "
          "not implement (%d): %s" % (len(claims), onnx.__version__, max_opset, len(missing),
                                      ", ".join(missing)))
    for e in errors:
        print("FAIL " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
