# autr_d2: every target bootstraps what it needs on first use and is a fast no-op afterwards.
#   make demo   the main job: offline benchmark data, CPU training, evaluation, pictures, video demo
#   make test   the test suite (pytest, CPU)
#   make setup  .venv with torch, Detectron2 (tools/install_detectron2.py) and autr_d2 -e .[dev,offline,export]
#   make media  the Debian packages whose recorded media build the AVS-Synth benchmark
#   make study  the AVS-Synth ablation study (make study-quick: the whole table in < 30 min)
#   make lint   ruff

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
# PyPI's torch 2.14.1 for Linux x86_64 is the CUDA 13.0 build. Another build of the same version:
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu   (or .../whl/cu126; see INSTALL.md)
TORCH_INDEX ?=
# the audio bank's media (autr_d2/data/synth/catalog.py MEDIA_PACKAGES; a test keeps them equal):
# Tux Paint's cut-outs, backgrounds and recordings, FluidR3 GM, and real recordings of eighteen
# more packages (~1.2 GB download, ~1.9 GiB installed; bank 4's seven packages from megaglest-data
# on are ~690 MB and ~930 MiB of that)
MEDIA_PKGS := csoundqt-examples fluid-soundfont-gm gcompris-qt-data lmms-common lugaru-data \
	openttd-opensfx pekka-kana-2-data scorched3d-data searchandrescue-data sonic-pi-samples \
	sound-theme-freedesktop tuxpaint-data tuxpaint-stamps-default wesnoth-1.16-data \
	megaglest-data micropolis-data qabcs-data scratch simutrans-pak64 sound-icons widelands-data
# Anything that changes what `setup` installs must invalidate its stamp.
SETUP_INPUTS := setup.py tools/install_detectron2.py Makefile

.PHONY: setup media test demo study study-quick lint clean-setup

setup: $(VENV)/.stamp-setup

$(VENV)/.stamp-setup: $(SETUP_INPUTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) $(TORCH_PINS)
	$(PY) -m pip install --quiet -e ".[dev,offline,export]"
	# tinysoundfont declares pyaudio (does not build without portaudio); it needs nothing else.
	$(PY) -m pip install --quiet --no-deps "tinysoundfont>=0.3"
	$(PY) tools/install_detectron2.py
	touch $@

media: .stamp-media

.stamp-media: Makefile
	@missing=""; for p in $(MEDIA_PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian media packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing \
	    >/dev/null; \
	fi
	touch $@

# TEST_WORKERS pytest processes (pytest-xdist), a test file per process at a time
TEST_WORKERS ?= 2
test: setup media
	$(PY) -m pytest tests -n $(TEST_WORKERS) --dist loadfile

lint: setup
	$(VENV)/bin/ruff check .

# DEMO_ARGS=--long: 2000 training clips, 2000 iterations at 160 px (an estimated hour on 2 cores)
demo: setup media
	$(PY) tools/run_demo.py $(DEMO_ARGS)

# The AVS-Synth ablation study (tools/run_study.py): full budget (hours) or --quick (< 30 min)
study: setup media
	$(PY) tools/run_study.py

study-quick: setup media
	$(PY) tools/run_study.py --quick

clean-setup:
	rm -f $(VENV)/.stamp-setup .stamp-media
