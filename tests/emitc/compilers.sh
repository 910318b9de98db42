# compilers.sh - sourced by the emitted-C tests: the strict C99 flags emitted code must build
# with, and the C compilers installed here (gcc and clang when present, else cc).
CFLAGS="-std=c99 -Wall -Wextra -pedantic -Werror -O2"
compilers=""
for cc in gcc clang; do
    command -v $cc >/dev/null 2>&1 && compilers="$compilers $cc"
done
[ -n "$compilers" ] || compilers=cc
