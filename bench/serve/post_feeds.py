#!/usr/bin/env python3
# post_feeds.py URL TOKEN CONNECTIONS FEED.csv...: every row of the feeds
# (the `empi ingest` columns: source,record_id,nhs_number,family_name,
# given_names,date_of_birth,sex,postcode,address[,restricted]) sent once as
# a FHIR Patient with POST /Patient, file after file, over CONNECTIONS
# keep-alive connections at once (so rows of one file arrive interleaved, as
# a contributor's messages do). Dates DD/MM/YYYY and YYYYMMDD become ISO (a
# FHIR date).
# Prints the outcomes; exits 1 if any request was not answered 200, naming
# the file, line and the server's diagnostic.
import csv, http.client, json, queue, sys, threading, time, urllib.parse
from collections import Counter

url, token, connections, feeds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
target = urllib.parse.urlsplit(url)
NHS = "https://fhir.nhs.uk/Id/nhs-number"
GENDER = {"M": "male", "F": "female"}


def iso(d):
    p = d.split('/')
    if len(p) == 3:
        return f"{p[2]}-{p[1].zfill(2)}-{p[0].zfill(2)}"
    return f"{d[:4]}-{d[4:6]}-{d[6:]}" if len(d) == 8 and d.isdigit() else d


def patient(r):
    p = {"resourceType": "Patient", "identifier": [{"system": "urn:empi:source:" + r["source"], "value": r["record_id"]}]}
    if r.get("nhs_number"):
        p["identifier"].insert(0, {"system": NHS, "value": r["nhs_number"]})
    if r.get("family_name") or r.get("given_names"):
        p["name"] = [{"family": r.get("family_name", ""), "given": r.get("given_names", "").split()}]
    if r.get("date_of_birth"):
        p["birthDate"] = iso(r["date_of_birth"])
    if r.get("sex"):
        p["gender"] = GENDER.get(r["sex"].upper(), "unknown")
    if r.get("postcode") or r.get("address"):
        p["address"] = [{"postalCode": r.get("postcode", ""), "line": [r["address"]] if r.get("address") else []}]
    if r.get("restricted") == "1":
        p["meta"] = {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]}
    return json.dumps(p)


outcomes, failures, lock = Counter(), [], threading.Lock()


def worker(q):
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/fhir+json"}
    while True:
        item = q.get()
        if item is None:
            return
        where, body = item
        resp = None
        for _ in range(3):  # a retried ingest of the same record is "unchanged"
            try:
                conn.request("POST", "/Patient", body, headers)
                resp = conn.getresponse()
                answer = json.loads(resp.read())
                break
            except (http.client.HTTPException, ConnectionError):
                resp = None
                conn.close()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
        with lock:
            if resp is None:
                failures.append(f"{where}: no answer")
            elif resp.status != 200:
                failures.append(f"{where}: HTTP {resp.status}: {answer.get('issue', [{}])[0].get('diagnostics')}")
            else:
                outcomes.update(p["valueCode"] for p in answer["parameter"] if p["name"] == "outcome")


start, sent = time.time(), 0
for feed in feeds:
    q = queue.Queue(maxsize=4 * connections)
    threads = [threading.Thread(target=worker, args=(q,)) for _ in range(connections)]
    for t in threads:
        t.start()
    with open(feed, newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            q.put((f"{feed}:{line}", patient(row)))
            sent += 1
    for _ in threads:
        q.put(None)
    for t in threads:
        t.join()
    print(f"{feed}: {sent} sent, {time.time() - start:.1f} s", file=sys.stderr)
seconds = time.time() - start
print(f"POST /Patient: {sent} records in {seconds:.1f} s ({sent / seconds:.0f}/s) over {connections} connections; "
      + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) + f"; failed {len(failures)}")
for f in failures[:20]:
    print(f, file=sys.stderr)
sys.exit(1 if failures else 0)
