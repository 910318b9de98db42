# Top-level wrapper around CMake.
#   make        install missing Debian packages (as root), configure and build build/kiln
#   make test   build and run every test through ctest
#   make demo   compile and run the bundled example model (build output only on failure)
#   make fuzz [FUZZ_SECONDS=60]   build the libFuzzer targets with clang (build-fuzz) and run
#               each for FUZZ_SECONDS (tests/fuzz/run_fuzz.sh, docs/robustness.md)
#   make install [PREFIX=/usr/local] [DESTDIR=...]   kiln, libkilnrt, headers, pkg-config and
#               CMake files (docs/install.md)
BUILD     ?= build
CMAKE_ARGS ?=
CTEST_ARGS ?=
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX    ?= /usr/local
FUZZ_SECONDS ?= 60
DEPS      := gcc make cmake pkg-config libprotobuf-c-dev protobuf-c-compiler libonnx-dev \
             libonnx-testdata libopenblas-dev libcmocka-dev clang python3-onnx python3-numpy
SUDO_HINT := apt-get update && apt-get install -y $(DEPS)

.PHONY: all deps configure build test demo install clean fuzz

all: build

deps:
	@missing=""; for p in $(DEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "kiln: installing$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || exit 1; \
	  else \
	    echo "kiln: missing packages:$$missing"; \
	    echo "kiln: run as root: $(SUDO_HINT)"; exit 1; \
	  fi; \
	fi

configure: deps
	@cmake -S . -B $(BUILD) $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# The build's log goes to a file and is shown only when the build fails, so that the demo's
# output is all `make demo` prints.
demo: configure
	@log=$(BUILD)/demo-build.log; \
	cmake --build $(BUILD) -j $(JOBS) >$$log 2>&1 || \
	  { cat $$log; echo "make demo: the build failed (log above, in $$log)" >&2; exit 1; }
	@sh models/demo.sh $(BUILD)

fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DKILN_FUZZ=ON -DKILN_TESTS=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target kiln fuzz_onnx fuzz_bundle fuzz_npy fuzz_args
	@sh tests/fuzz/run_fuzz.sh build-fuzz $(FUZZ_SECONDS)

install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

clean:
	rm -rf $(BUILD)
