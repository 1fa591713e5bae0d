# Shared by the bench scripts: build, a python with Pillow, start `serve` on a temp data dir.
# Source it from the repo root. PROFILE=release (default) or dev; or BIN=<a built binary>.

PROFILE=${PROFILE:-release}
# BIN=path/to/photoreceipt uses that binary as it is (no build).
build() {
    if [[ -n ${BIN:-} ]]; then
        [[ -x $BIN ]] || { echo "BIN=$BIN is not executable" >&2; exit 1; }
        return
    fi
    if [[ $PROFILE == release ]]; then
        cargo build --release -q -p photoreceipt
    else
        cargo build -q -p photoreceipt
    fi
    local dir=$PROFILE
    [[ $PROFILE == dev ]] && dir=debug
    BIN="${CARGO_TARGET_DIR:-target}/$dir/photoreceipt"
}

# A python with Pillow and numpy: bench/out/venv (bench/requirements.txt versions).
bench_python() {
    local venv=bench/out/venv
    if [[ ! -x $venv/bin/python ]]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet "$(grep '^pillow' bench/requirements.txt)" "$(grep '^numpy' bench/requirements.txt)"
    fi
    PY=$PWD/$venv/bin/python
}

# start_server DATA_DIR OUT_PREFIX [serve flags...]: sets SERVER (pid) and BASE.
start_server() {
    local data=$1 out=$2
    shift 2
    PHOTORECEIPT_LOG=${PHOTORECEIPT_LOG:-warn} "$BIN" serve --listen 127.0.0.1:0 --data-dir "$data" "$@" \
        >"$out.out" 2>"$out.err" &
    SERVER=$!
    for _ in $(seq 300); do
        grep -q '^photoreceipt listening on ' "$out.out" 2>/dev/null && break
        sleep 0.1
    done
    BASE=$(sed -n 's/^photoreceipt listening on //p' "$out.out")
    [[ -n $BASE ]] || { cat "$out.err"; exit 1; }
}

app_key() { # app_key DATA_DIR [app create flags...]
    local data=$1
    shift
    "$BIN" app create --name bench --balance-yuan 100000 --json --data-dir "$data" "$@" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}
