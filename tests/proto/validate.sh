#!/usr/bin/env bash
# Validate proto/ (AsyncAPI document, JSON Schemas, examples) with the real AsyncAPI parser and
# Ajv, installed from npm at the versions pinned in package-lock.json. Needs Node.js >= 18 and npm.
# Also runs test_schemas_py.py (the same contract through Python's jsonschema).
# Exit status: 0 when every check passed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "validate.sh: node and npm are required (Debian: apt-get install nodejs npm)" >&2
    exit 2
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 18 ]; then
    echo "validate.sh: node >= 18 is required, found $(node --version)" >&2
    exit 2
fi

# Reinstall only when the lock file changed since the last install. Install scripts are not run:
# nothing here needs one (the only one in the tree is @scarf/scarf's download telemetry).
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi

# The Python side (schemas.py, which the system tests import) must agree with the examples too.
py_rc=0
if python3 -c 'import jsonschema, referencing, pytest' 2>/dev/null; then
    PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -q -p no:cacheprovider test_schemas_py.py || py_rc=$?
else
    echo "validate.sh: python3 with jsonschema and pytest is required for test_schemas_py.py" >&2
    py_rc=2
fi

node_rc=0
node validate.mjs "$@" || node_rc=$?

if [ "$py_rc" -ne 0 ]; then
    echo "validate.sh: test_schemas_py.py failed (exit $py_rc)" >&2
fi
[ "$py_rc" -eq 0 ] && [ "$node_rc" -eq 0 ]
