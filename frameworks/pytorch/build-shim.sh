#!/bin/sh
# Builds build/libhwy-timer-shim.so from valgrind-shim.c, which lets valgrind count the PyTorch
# program (see that file). Needs a C compiler (Debian gcc); .ci/run runs it.
set -eu
here=$(dirname "$0")
mkdir -p "$here/build"
${CC:-cc} -O2 -shared -fPIC -o "$here/build/libhwy-timer-shim.so" "$here/valgrind-shim.c"
