# Two commands do all set-up on a fresh machine (Python >= 3.11 with venv):
#   make book   create .venv, install eicore with pinned versions, build the HTML book
#   make test   create .venv, install, run the unit tests and re-execute every chapter (nbval)
#   make browser-test   open every page of the built book in headless Chromium and check it
#               (needs `make book` first and Debian's chromium: apt-get install chromium)
# `make ci` runs exactly what CI runs (.ci/run).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export EICORE_DATA ?= $(abspath ../shared/data)
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
# no progress bars in stored notebook outputs or rendered pages (see eicore/progress.py)
export EICORE_PROGRESS ?= 0

.PHONY: book test unit notebooks browser-test ci clean

$(BIN)/jupyter-book: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[book,test]"
	touch $@

book: $(BIN)/jupyter-book
	$(BIN)/jupyter-book build book
	@echo "open book/_build/html/index.html"

test: unit notebooks

unit: $(BIN)/jupyter-book
	$(BIN)/ruff check .
	$(BIN)/pytest tests -n 2

notebooks: $(BIN)/jupyter-book
	$(BIN)/pytest --nbval book -n 2 --dist loadfile

browser-test: $(BIN)/jupyter-book
	EICORE_BROWSER=1 $(BIN)/pytest tests/browser -q
	@echo "screenshots in book/_build/screenshots/"

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) book/_build .ci/venv
