PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Extras installed with the project: the dev tools by default; the Docker images pass EXTRAS= (none).
EXTRAS ?= [dev]
# Where `make run` listens: make run PORT=8765 HOST=0.0.0.0
PORT ?= 8000
HOST ?= 127.0.0.1
# pytest-xdist workers for `make test`, each with its own Redis database (tests/support.py). On the 2-core VM
# 2 took the suite from 15-17 minutes to 11-11.5 (worksteal 10:57, loadscope 11:31; 3 workers 11:47).
TEST_WORKERS ?= 2

.PHONY: install faces browser vulkan fonts ocr bench-data run test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.$(EXTRAS)'
	@# PIQE for the perception bench; its own requirement is the GUI build of OpenCV, the headless contrib
	@# build (a dependency, for faces) gives the same cv2 without libGL.
	test -z '$(EXTRAS)' || $(BIN)/python -m pip install --quiet --no-deps pypiqe==1.2
	touch $(STAMP)

install: $(STAMP)
	$(BIN)/mindrender models install

run: install faces
	$(BIN)/mindrender serve --host $(HOST) --port $(PORT)

# The browser tests drive Debian's Chromium; install it where we can (root with apt), else they skip.
# Their test-only npm packages (axe-core) come from tests/web/package.json with npm ci.
browser:
	@test -x /usr/bin/chromium || { test "$$(id -u)" = 0 && command -v apt-get >/dev/null && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium || \
	    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }; }; } || \
	  echo "Chromium is not installed: the browser tests will skip (and fail under CI=true)"
	@# axe-core, for the accessibility checks only: pinned by tests/web/package-lock.json, never shipped.
	@if command -v npm >/dev/null; then npm ci --prefix tests/web --no-audit --no-fund --loglevel=error || \
	  echo "npm ci failed: the accessibility checks will skip (and fail under CI=true)"; else \
	  echo "npm is not installed: the accessibility checks will skip (and fail under CI=true)"; fi

# The Vulkan tests run the ncnn backend on Mesa's lavapipe, a software Vulkan device (Debian's
# mesa-vulkan-drivers and its loader libvulkan1); installed where we can, as Chromium is, else they skip.
vulkan:
	@test -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json -o -e /usr/share/vulkan/icd.d/lvp_icd.aarch64.json || \
	  { test "$$(id -u)" = 0 && command -v apt-get >/dev/null && \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mesa-vulkan-drivers libvulkan1 || \
	      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	        mesa-vulkan-drivers libvulkan1; }; }; } || \
	  echo "Mesa's lavapipe is not installed: the Vulkan tests will skip (and fail under CI=true)"

# The DejaVu fonts draw the text pages that training/train_faithful.py can train on (a test draws one).
fonts:
	@test -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || \
	  { test "$$(id -u)" = 0 && command -v apt-get >/dev/null && \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-dejavu-core || \
	      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	        fonts-dejavu-core; }; }; } || \
	  echo "fonts-dejavu-core is not installed: the text-page test will fail"

# The photo preset keeps faces calmer (models/imaging/faces.py) where it finds them with OpenCV's frontal-face
# cascade, Debian's opencv-data; installed where we can, else faces get the preset's detail like the rest.
faces:
	@test -e /usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml || \
	  { test "$$(id -u)" = 0 && command -v apt-get >/dev/null && \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends opencv-data || \
	      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	        opencv-data; }; }; } || \
	  echo "opencv-data is not installed: faces get the photo preset's detail (and the face tests fail under CI=true)"

# Tesseract reads text for the perception bench's character error rate (training/perception.py).
ocr:
	@command -v tesseract >/dev/null || \
	  { test "$$(id -u)" = 0 && command -v apt-get >/dev/null && \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tesseract-ocr || \
	      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	        tesseract-ocr; }; }; } || \
	  echo "tesseract-ocr is not installed: the OCR test will skip (and fail under CI=true)"

# The held-out wallpaper photos of bench/perception.py (one per Debian package; see its WALLPAPERS), and the
# photos bench/autopreset.py reads as uploads (lomiri-wallpapers-16.04: its held-out set).
bench-data:
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	  mate-backgrounds lomiri-wallpapers-20.04 lxqt-themes lomiri-wallpapers-16.04

test: install faces browser vulkan fonts ocr
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app workers models bench training
	$(BIN)/python -m pytest -q -ra --durations=15 -n $(TEST_WORKERS) --dist worksteal

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app workers models bench training

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var build *.egg-info
