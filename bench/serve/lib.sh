# lib.sh: what bench/serve/ratio.sh and table.sh share; sourced, from the
# repository's top folder.

# make_work FEED.csv NAME: a fresh work folder (printed; set as $work) with
# the wrk scripts over FEED.csv (make_scripts.py) and an RS256 signing key
# (idp.key) with its public half (jwt-keys.pem).
make_work() {
  work=$(mktemp -d "/tmp/empi-$2.XXXXXX")
  echo "work folder: $work" >&2
  python3 bench/serve/make_scripts.py "$1" "$work"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/idp.key" 2>/dev/null
  openssl pkey -in "$work/idp.key" -pubout -out "$work/jwt-keys.pem"
}

# start_server EMPI DB SCHEME PORT LOG [SERVE FLAGS...]: `empi serve` on
# 127.0.0.1:PORT with $work's keys and 32 threads, in the background (its
# pid set as $server, killed if the script exits), once it answers.
start_server() {
  local empi=$1 db=$2 scheme=$3 port=$4 log=$5
  shift 5
  "$empi" serve --db "$db" --listen "127.0.0.1:$port" --jwt-keys "$work/jwt-keys.pem" \
    --jwt-issuer https://idp.example.nhs.uk --jwt-audience empi --threads 32 "$@" 2>"$log" &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    curl -sk -o /dev/null "$scheme://127.0.0.1:$port/changes" && break  # any answer (401) will do
    sleep 0.2
  done
}

# stop_server: SIGTERM, and waits for it to exit.
stop_server() {
  kill -TERM "$server"
  wait "$server" || true
  trap - EXIT
}
