#!/usr/bin/env bash
# mkjwt.sh KEY SUB ORG PURPOSE ROLES_JSON: an RS256 token valid for 2 hours.
set -euo pipefail
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
header=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
payload=$(printf '{"iss":"https://idp.example.nhs.uk","aud":"empi","sub":"%s","org":"%s","purpose":"%s","roles":%s,"nbf":%d,"exp":%d}' \
  "$2" "$3" "$4" "$5" "$now" "$((now + 7200))" | b64url)
sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$1" -binary | b64url)
printf '%s.%s.%s\n' "$header" "$payload" "$sig"
