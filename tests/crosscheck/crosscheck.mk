# crosscheck.mk - the independent PyTorch reference (included at the end of the Makefile).
#
#   make crosscheck                float build: logits, every stage norm and stage-gradient
#                                  norm, every weight gradient vs tests/crosscheck/crosscheck.py
#   make crosscheck SCALAR=double  the same against the double build (tight tolerances)
#
# Installs Debian's python3-torch and python3-numpy with apt-get when /usr/bin/python3 cannot
# import them (sudo when not root), then runs the system /usr/bin/python3 (not a venv).

XC_PY  := /usr/bin/python3
XC_DIR := $(BUILD)/crosscheck

.PHONY: crosscheck crosscheck-deps

$(BUILD)/crosscheck-dump: tests/crosscheck/dump.c $(LIB)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) $(LDFLAGS) -o $@

crosscheck-deps:
	@if ! $(XC_PY) -c 'import torch, numpy' >/dev/null 2>&1; then \
	  echo "microlm: installing python3-torch and python3-numpy with apt-get (for the cross-check)"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends python3-torch python3-numpy >/dev/null || \
	  { echo "microlm: apt-get failed; run: sudo apt-get install python3-torch python3-numpy" >&2; exit 1; }; fi

crosscheck: check-deps crosscheck-deps
	@$(MAKE) --no-print-directory $(LIB) $(BUILD)/crosscheck-dump
	@rm -rf $(XC_DIR) && $(BUILD)/crosscheck-dump $(XC_DIR)
	@$(XC_PY) tests/crosscheck/crosscheck.py $(XC_DIR)
