#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image
# from autograder.zip (written by `tito grade autograder`), which it unpacks
# into /autograder/source. It:
#   1. installs the Debian packages that building and grading need;
#   2. builds tito from the sources in the bundle (tito-source/);
#   3. puts the course's real data in its cache (Debian's Fashion-MNIST);
#   4. builds the instructor's course and lists its tests (tito grade
#      prepare), so that each submission's run builds only the submission.
# AUTOGRADER names another folder laid out like /autograder (for trying the
# bundle out); TITO names a tito already built, to skip step 2.
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
AUTOGRADER="${AUTOGRADER:-$(dirname "$SOURCE")}"
# shellcheck source=/dev/null
. "$SOURCE/autograder.env"

echo "setup: Debian packages"
"$SOURCE/tito-source/scripts/deps" --grading

if [ -z "${TITO:-}" ]; then
  echo "setup: building tito"
  cmake -S "$SOURCE/tito-source" -B "$AUTOGRADER/tito-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DTITO_TOOL_ONLY=ON >/dev/null
  cmake --build "$AUTOGRADER/tito-build" --target tito
  TITO="$AUTOGRADER/tito-build/tito/tito"
fi
echo "TITO=\"$TITO\"" >"$AUTOGRADER/tito.env"

COURSE="$SOURCE/course"
if grep -q '"fashion-mnist"' "$COURSE/data/datasets.json" 2>/dev/null; then
  echo "setup: Fashion-MNIST into the course's data cache"
  "$TITO" --root "$COURSE" data fetch fashion-mnist --from /usr/share/datasets/fashion-mnist
fi

echo "setup: building the course and listing its tests"
"$TITO" --root "$COURSE" grade prepare --out "$AUTOGRADER/grades" --timeout "$TIMEOUT"
