#!/usr/bin/env python3
"""Makes an ntk wheel self-contained: auditwheel repair, then two fixes it needs (scripts/build-wheel.sh).

    python3 scripts/repair_wheel.py dist/raw/ntk-*.whl OUT_DIR

1. auditwheel copies the system libraries the extension and the `ntk` CLI need (libpng, libjpeg, libsvm,
   libsleef, GCC's libgomp) into ntk.libs/ with hashed names. Intel MKL is excluded: it is the wheel's `mkl`
   dependency (PyPI), installed into <env>/lib.
2. libgomp keeps its real name (libgomp.so.1) and soname: MKL's libmkl_gnu_thread.so.3 (from the mkl wheel,
   which cannot be patched) needs libgomp.so.1, and the loader matches that name to the copy the extension
   loads first (its direct dependency), so MKL and ntk share one OpenMP runtime and no system libgomp is needed.
3. Run paths: auditwheel moves the CLI to <platlib>/ntk.scripts/ntk (a small launcher execs it) and drops the
   extension's path to <env>/lib; both get $ORIGIN/../ntk.libs (the copied libraries) and $ORIGIN/../../..
   (<env>/lib, from <env>/lib/pythonX.Y/site-packages/<dir>: MKL).
"""

import base64
import csv
import glob
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

RPATH = "$ORIGIN/../ntk.libs:$ORIGIN/../../.."


def run(*cmd):
    subprocess.run(list(cmd), check=True)


def record_line(root, rel):
    with open(os.path.join(root, rel), "rb") as f:
        data = f.read()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [rel, f"sha256={digest}", str(len(data))]


def main(src, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        rep = os.path.join(tmp, "repaired")
        run(sys.executable, "-m", "auditwheel", "repair", "--exclude", "libmkl_*", "-w", rep, src)
        (wheel,) = glob.glob(os.path.join(rep, "*.whl"))
        root = os.path.join(tmp, "tree")
        with zipfile.ZipFile(wheel) as z:
            z.extractall(root)
            modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in z.infolist()}
        libs = os.path.join(root, "ntk.libs")
        elves = glob.glob(os.path.join(root, "ntk", "_ntk*.so")) + glob.glob(os.path.join(root, "ntk.scripts", "*"))
        gomp = glob.glob(os.path.join(libs, "libgomp-*.so*"))
        for g in gomp:
            old = os.path.basename(g)
            os.rename(g, os.path.join(libs, "libgomp.so.1"))
            run("patchelf", "--set-soname", "libgomp.so.1", os.path.join(libs, "libgomp.so.1"))
            for e in elves + [p for p in glob.glob(os.path.join(libs, "*")) if not p.endswith("libgomp.so.1")]:
                needed = subprocess.run(["patchelf", "--print-needed", e], capture_output=True, text=True,
                                        check=True).stdout.split()
                if old in needed:
                    run("patchelf", "--replace-needed", old, "libgomp.so.1", e)
            modes["ntk.libs/libgomp.so.1"] = modes.pop(f"ntk.libs/{old}", 0o755)
        for e in elves:
            run("patchelf", "--force-rpath", "--set-rpath", RPATH, e)
        # RECORD, then the zip (dist-info last, as wheels are written)
        (dist_info,) = glob.glob(os.path.join(root, "*.dist-info"))
        record = os.path.join(dist_info, "RECORD")
        files = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
        files = [f for f in files if f != os.path.relpath(record, root)]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for f in files:
            w.writerow(record_line(root, f))
        w.writerow([os.path.relpath(record, root), "", ""])
        with open(record, "w") as f:
            f.write(buf.getvalue())
        target = os.path.join(out_dir, os.path.basename(wheel))
        files.sort(key=lambda f: (".dist-info/" in f, f))
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
            for f in files + [os.path.relpath(record, root)]:
                info = zipfile.ZipInfo(f, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = (modes.get(f, 0o644) | 0o100000) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(os.path.join(root, f), "rb") as fh:
                    z.writestr(info, fh.read())
        print(target)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
