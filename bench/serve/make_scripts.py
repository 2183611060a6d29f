#!/usr/bin/env python3
# make_scripts.py FEED.csv OUTDIR: writes the wrk Lua scripts of the
# `empi serve` load benchmark (docs/benchmarks.md): resolve.lua ($resolve by
# source record), match.lua ($match by name and birth date) and ingest.lua
# (new records of source RBENCH, copies of the feed's patients), each over
# 2,000 records of FEED.csv (an `empi generate` feed) in a seeded random order.
# The token comes from the TOKEN environment variable (bench/serve/mkjwt.sh).
import csv, json, random, sys

feed, out = sys.argv[1], sys.argv[2]
random.seed(1)
rows = list(csv.DictReader(open(feed)))
random.shuffle(rows)
rows = rows[:2000]

def iso(d):
    p = d.split('/')
    return f"{p[2]}-{p[1]}-{p[0]}" if len(p) == 3 else ""

res = [json.dumps({"resourceType": "Parameters", "parameter": [{"name": "identifier", "valueIdentifier": {
    "system": "urn:empi:source:" + r['source'], "value": r['record_id']}}]}) for r in rows]
mat, ing = [], []
for r in rows:
    d = iso(r['date_of_birth'])
    name = [{"family": r['family_name'], "given": r['given_names'].split()}]
    if r['family_name'] and d:
        mat.append(json.dumps({"resourceType": "Parameters", "parameter": [
            {"name": "resource", "resource": {"resourceType": "Patient", "name": name, "birthDate": d}},
            {"name": "count", "valueInteger": 5}]}))
    p = {"resourceType": "Patient", "identifier": [{"system": "urn:empi:source:RBENCH", "value": "__ID__"}],
         "name": name, "gender": r['sex']}
    if d: p["birthDate"] = d
    if r['nhs_number']: p["identifier"].insert(0, {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": r['nhs_number']})
    if r['postcode']: p["address"] = [{"postalCode": r['postcode']}]
    ing.append(json.dumps(p))

def lua(name, bodies, path, ingest=False):
    with open(f"{out}/{name}", 'w') as f:
        f.write('local bodies = {\n' + ''.join('  [==[' + b + ']==],\n' for b in bodies) + '}\n')
        f.write('local token = os.getenv("TOKEN")\nlocal i = 0\nlocal counter = 1\n')
        f.write('function setup(thread) counter = counter + 1; thread:set("tid", counter) end\n')
        f.write('function request()\n  i = i + 1\n  local b = bodies[(i % #bodies) + 1]\n')
        if ingest:
            f.write('  b = string.gsub(b, "__ID__", "T" .. tostring(tid) .. "-" .. tostring(i) .. "-" .. tostring(os.time()))\n')
        f.write(f'  return wrk.format("POST", "{path}", {{["Content-Type"]="application/fhir+json", '
                '["Authorization"]="Bearer " .. token}, b)\nend\n')

lua('resolve.lua', res, '/Patient/$resolve')
lua('match.lua', mat, '/Patient/$match')
lua('ingest.lua', ing, '/Patient', True)
