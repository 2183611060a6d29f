#!/usr/bin/env python3
"""A second, independent population for probing EMPI: population.py PERSONS SEED OUT.

Households in the West Midlands (couples, adult children, twins with alliterative names
and 30% of them without an NHS number, sons named after their fathers); contributors
(GP practices, acute and mental health trusts, community, social care, ambulance) that
get data wrong in the ways NHS data-quality reports describe: missing and mistyped NHS
numbers, a household member's number on a record, nicknames, middle names used as first,
names in the wrong fields, US-order and estimated dates of birth, old addresses, typos,
upper case. Written without reading datasets/generator; its name lists, rates and
error model are its own, and nothing in the engine was tuned to it. Writes OUT/<source>.csv
in the feed format, OUT/truth.csv and OUT/kinds.csv (person,hard_case).
"""
import csv, os, random, sys

seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
out = sys.argv[3] if len(sys.argv) > 3 else "independent-population"
R = random.Random(seed)
os.makedirs(out, exist_ok=True)

MALE = ("James John Robert Michael David William Richard Thomas Christopher Daniel Matthew Anthony Mark Paul Steven "
        "Andrew Kenneth Joshua Kevin Brian George Edward Ronald Timothy Jason Jeffrey Ryan Jacob Gary Nicholas Eric "
        "Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Frank Alexander Raymond Patrick Jack "
        "Dennis Jerry Tyler Aaron Jose Adam Henry Nathan Douglas Zachary Peter Kyle Walter Ethan Jeremy Harold Keith "
        "Christian Roger Noah Gerald Carl Terry Sean Austin Arthur Lawrence Jesse Dylan Bryan Joe Jordan Billy Bruce "
        "Albert Willie Gabriel Logan Alan Juan Wayne Roy Ralph Randy Eugene Vincent Russell Elijah Louis Bobby Philip "
        "Johnny Oliver Harry Charlie Alfie Leo Oscar Archie Freddie Mohammed Muhammad Ahmed Ali Hassan Imran Tariq "
        "Arjun Rajesh Sanjay Amit Gurpreet Harjit Jaswinder Sukhdev Piotr Tomasz Krzysztof Marek Emeka Chinedu Oluwaseun "
        "Tunde Kwame Wei Jun Liam Connor Callum Declan Kieran Rhys Owen Dafydd Gareth").split()
FEMALE = ("Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Margaret Sandra "
          "Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah Stephanie Rebecca Sharon Laura "
          "Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma Nicole Helen Samantha Katherine Christine Debra "
          "Rachel Carolyn Janet Catherine Maria Heather Diane Ruth Julie Olivia Joyce Virginia Victoria Kelly Lauren "
          "Christina Joan Evelyn Judith Megan Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison "
          "Frances Kathryn Janice Jean Abigail Alice Judy Sophia Grace Denise Amber Doris Marilyn Danielle Beverly "
          "Isabella Theresa Diana Natalie Brittany Charlotte Marie Kayla Alexis Lori Amelia Isla Ava Mia Poppy Freya "
          "Fatima Aisha Ayesha Zainab Maryam Nasreen Shazia Priya Anjali Sunita Harpreet Manjit Jasvir Kulwinder "
          "Agnieszka Katarzyna Magdalena Ngozi Chioma Adaeze Folake Mei Ling Siobhan Niamh Aoife Bethan Ffion Cerys").split()
SURN = ("Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright Walker "
        "White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill Ward Morris "
        "Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young "
        "Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan "
        "Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali "
        "Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens "
        "Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott "
        "Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson "
        "Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman "
        "Barrett Webster Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins "
        "Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson "
        "Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton Byrne "
        "Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Harper Coleman Watkins Moss McCarthy Chambers "
        "Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson Rowe Burke "
        "May Pritchard Gilbert Willis Higgins Read Miles Stevenson Stephenson Hammond Arnold Buckley Walters Hewitt "
        "Barber Nowak Kowalski Wisniewski Okafor Adeyemi Okonkwo Mensah Chen Wang Li Zhang Nguyen Sharma Kumar Mistry "
        "Chauhan Sandhu Bains Dhillon Sidhu Rahman Islam Miah Uddin Akhtar Iqbal Mahmood Hussein Mohamed Abdullah "
        "Sheikh Malik Qureshi Butt Javed Aslam Bibi Lal Joshi Desai Mehta Rana Kerr Fraser Mackenzie MacLeod "
        "Smith-Jones Lloyd-Williams Clarke-Hughes Ap-Rhys").split()
NICK = {"William": ["Bill", "Will", "Billy"], "Robert": ["Bob", "Rob", "Bobby"], "Richard": ["Rick", "Dick"],
        "Margaret": ["Maggie", "Peggy", "Meg"], "Elizabeth": ["Liz", "Beth", "Betty", "Lizzie"],
        "Edward": ["Ted", "Eddie", "Ed"], "Katherine": ["Kate", "Kathy"], "Catherine": ["Cathy", "Kate"],
        "Michael": ["Mike", "Mick"], "Christopher": ["Chris"], "Anthony": ["Tony"], "Thomas": ["Tom", "Tommy"],
        "Patricia": ["Pat", "Trish"], "Jennifer": ["Jenny", "Jen"], "Susan": ["Sue", "Susie"],
        "Stephen": ["Steve"], "Steven": ["Steve"], "Andrew": ["Andy", "Drew"], "Daniel": ["Dan", "Danny"],
        "Samuel": ["Sam"], "Alexander": ["Alex", "Sandy"], "Rebecca": ["Becky", "Becca"], "Deborah": ["Debbie", "Deb"],
        "Victoria": ["Vicky", "Tori"], "Nicholas": ["Nick"], "Matthew": ["Matt"], "Joshua": ["Josh"],
        "Benjamin": ["Ben"], "Jonathan": ["Jon", "Jonny"], "Samantha": ["Sam", "Sammy"], "Frances": ["Fran"],
        "Charlotte": ["Charlie", "Lottie"], "Abigail": ["Abbie", "Abby"], "Harold": ["Harry"], "Henry": ["Harry"],
        "Dorothy": ["Dot", "Dolly"], "Kenneth": ["Ken", "Kenny"], "Gerald": ["Gerry"], "Raymond": ["Ray"],
        "Lawrence": ["Larry"], "Timothy": ["Tim"], "Gregory": ["Greg"], "Peter": ["Pete"], "Frederick": ["Fred"],
        "Mohammed": ["Mohammad", "Mohamed", "Muhammed"], "Muhammad": ["Mohammed", "Mohamed"]}
TOWNS = [("CV", "Coventry", 1, 7), ("B", "Birmingham", 1, 99), ("WR", "Worcester", 1, 15), ("HR", "Hereford", 1, 9),
         ("CV", "Nuneaton", 10, 13), ("CV", "Rugby", 21, 23), ("B", "Solihull", 90, 94), ("CV", "Warwick", 34, 35)]
STREETS = ("High Street|Station Road|Church Lane|Park Avenue|Victoria Road|Green Lane|Manor Road|Church Street|"
           "Kings Road|Queens Road|New Road|Mill Lane|School Lane|The Crescent|Grange Road|Springfield Road|"
           "Albert Road|Stratford Road|Warwick Road|Coventry Road|Alcester Road|Birmingham Road|Holly Lane|"
           "Oak Tree Close|Meadow View|Elm Grove|Beech Avenue|Chestnut Drive|Foleshill Road|Soho Road|"
           "Ladypool Road|Walsgrave Road|Binley Road|Tile Hill Lane").split("|")
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def zipf_pick(lst):
    # heavier weight on the head of each list
    i = int(len(lst) * (R.random() ** 2.2))
    return lst[min(i, len(lst) - 1)]


def nhs_number():
    while True:
        d = [R.randrange(10) for _ in range(9)]
        if d[0] == 0:
            continue
        s = sum(v * (10 - i) for i, v in enumerate(d))
        c = 11 - s % 11
        if c == 11:
            c = 0
        if c == 10:
            continue
        return "".join(map(str, d)) + str(c)


used_nhs = set()


def fresh_nhs():
    while True:
        n = nhs_number()
        if n not in used_nhs:
            used_nhs.add(n)
            return n


def address():
    pre, town, lo, hi = R.choice(TOWNS)
    district = f"{pre}{R.randint(lo, hi)}"
    pc = f"{district} {R.randint(1, 9)}{R.choice(LETTERS)}{R.choice(LETTERS)}"
    line = f"{R.randint(1, 240)} {R.choice(STREETS)}, {town}"
    if R.random() < 0.12:
        line = f"Flat {R.randint(1, 30)}, " + line
    return pc, line


def dob(age_lo, age_hi):
    y = 2026 - R.randint(age_lo, age_hi)
    m = R.randint(1, 12)
    d = R.randint(1, 28 if m == 2 else 30)
    return (y, m, d)


persons = []  # dict: id, given, middle, family, sex, dob, nhs, pc, addr, old(pc,addr), prev_family, kind


def new_person(pid, family, sex, birth, home, kind="", given=None, nhs=True):
    g = given or zipf_pick(MALE if sex == "M" else FEMALE)
    mid = zipf_pick(MALE if sex == "M" else FEMALE) if R.random() < 0.55 else ""
    if mid == g:
        mid = ""
    return dict(id=pid, given=g, middle=mid, family=family, sex=sex, dob=birth,
                nhs=fresh_nhs() if nhs else "", pc=home[0], addr=home[1], old=None, prev_family=None, kind=kind)


pid = 0
while len(persons) < N:
    home = address()
    fam = zipf_pick(SURN)
    r = R.random()
    pid += 1
    if r < 0.30:  # single adult
        persons.append(new_person(pid, fam, R.choice("MF"), dob(18, 95), home))
        continue
    # couple
    a = new_person(pid, fam, "M", dob(25, 85), home)
    pid += 1
    b = new_person(pid, fam, "F", (a["dob"][0] + R.randint(-6, 4), R.randint(1, 12), R.randint(1, 28)), home)
    if R.random() < 0.5:
        b["prev_family"] = zipf_pick(SURN)
    persons += [a, b]
    if a["dob"][0] > 2026 - 45:
        continue
    kids = R.choice([0, 1, 1, 2, 2, 3])
    for k in range(kids):
        by = a["dob"][0] + R.randint(22, 38)
        if by > 2008:
            break
        pid += 1
        sex = R.choice("MF")
        given = a["given"] if sex == "M" and k == 0 and R.random() < 0.15 else None  # named after father
        kid = new_person(pid, fam, sex, (by, R.randint(1, 12), R.randint(1, 28)), home,
                         kind="junior" if given else "child", given=given)
        persons.append(kid)
        if R.random() < 0.06:  # twins
            pid += 1
            sex2 = R.choice("MF")
            tw = new_person(pid, fam, sex2, kid["dob"], home, kind="twin", nhs=R.random() > 0.3)
            # twins often given alliterative or rhyming names
            pool = MALE if sex2 == "M" else FEMALE
            same_initial = [n for n in pool if n[0] == kid["given"][0] and n != kid["given"]]
            if same_initial and R.random() < 0.5:
                tw["given"] = R.choice(same_initial)
            if tw["given"] == kid["given"]:
                tw["given"] = R.choice([n for n in pool if n != kid["given"]])
            kid["kind"] = "twin"
            persons.append(tw)
persons = persons[:N]

# People with no NHS number (recent arrivals): 2%
for p in persons:
    if R.random() < 0.02:
        p["nhs"] = ""
        p["kind"] = p["kind"] or "no_nhs"
    if R.random() < 0.15:  # moved: contributors may hold the old address
        p["old"] = address()

CONTRIB = [("M82001", "gp", 0.0), ("M82002", "gp", 0.0), ("M82003", "gp", 0.0), ("M82004", "gp", 0.0),
           ("RQ1", "acute", 0.55), ("RQ2", "acute", 0.45), ("RQ3", "acute", 0.30), ("MHT", "mental", 0.08),
           ("CCT", "community", 0.25), ("SC1", "social", 0.12), ("SC2", "social", 0.08), ("AMB", "ambulance", 0.20)]
# quality: probability the NHS number is absent, and the rate of errors
QUAL = {"gp": (0.005, 0.5), "acute": (0.04, 1.0), "mental": (0.06, 1.2), "community": (0.08, 1.2),
        "social": (0.35, 2.0), "ambulance": (0.45, 2.5)}
KEYS = "qwertyuiopasdfghjklzxcvbnm"
ADJ = {c: set() for c in KEYS}
rows_kb = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
for r_ in rows_kb:
    for i, c in enumerate(r_):
        if i:
            ADJ[c].add(r_[i - 1])
        if i + 1 < len(r_):
            ADJ[c].add(r_[i + 1])


def typo(s):
    if len(s) < 3:
        return s
    i = R.randrange(1, len(s))
    t = R.random()
    c = s[i].lower()
    if t < 0.3 and c in ADJ:
        rep = R.choice(sorted(ADJ[c]))
        return s[:i] + (rep.upper() if s[i].isupper() else rep) + s[i + 1:]
    if t < 0.55:
        return s[:i] + s[i + 1:]
    if t < 0.75 and i + 1 < len(s):
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    return s[:i] + s[i] + s[i:]


def fmt_dob(d, style):
    y, m, dd = d
    if style == "iso":
        return f"{y:04d}-{m:02d}-{dd:02d}"
    return f"{dd:02d}/{m:02d}/{y:04d}"


feeds = {c[0]: [] for c in CONTRIB}
truth = []
kinds = []
seq = 0
for p in persons:
    gp = R.choice([c for c in CONTRIB if c[1] == "gp"])
    holders = [gp]
    for c in CONTRIB:
        if c[1] != "gp" and R.random() < c[2]:
            holders.append(c)
            if c[1] == "acute" and R.random() < 0.12:
                holders.append(c)  # duplicate registration in one trust
    if R.random() < 0.03:
        holders.append(R.choice([c for c in CONTRIB if c[1] == "gp"]))  # re-registered elsewhere
    for code, ctype, _ in holders:
        miss_nhs, err = QUAL[ctype]
        seq += 1
        rid = f"{code[:2]}{seq:08d}"
        given = p["given"] + (" " + p["middle"] if p["middle"] and R.random() < (0.8 if ctype == "gp" else 0.4) else "")
        family = p["family"]
        if p["prev_family"] and ctype != "gp" and R.random() < 0.35:
            family = p["prev_family"]
        nhs = p["nhs"] if R.random() > miss_nhs else ""
        d = p["dob"]
        pc, addr = p["pc"], p["addr"]
        if p["old"] and ctype != "gp" and R.random() < 0.5:
            pc, addr = p["old"]
        e = err * 0.08
        if R.random() < e:
            given = typo(given)
        if R.random() < e:
            family = typo(family)
        if R.random() < e * 0.6 and p["given"] in NICK:
            given = R.choice(NICK[p["given"]])
        if R.random() < e * 0.3 and p["middle"]:
            given = p["middle"] + " " + p["given"]  # known by middle name
        if R.random() < e * 0.15:
            given, family = family, given  # swapped fields
        if R.random() < e * 0.3 and "-" in family:
            family = family.split("-")[R.randrange(2)]
        if R.random() < e * 0.2 and family in ("Singh", "Kaur") and p["middle"]:
            family = p["middle"]
        if R.random() < e * 0.3:
            d = (d[0], d[2], d[1]) if d[2] <= 12 else d  # US order
        if R.random() < e * 0.3:
            d = (d[0], 1, 1)  # estimated
        if R.random() < e * 0.25:
            d = (d[0] + R.choice([-1, 1]), d[1], d[2])
        if R.random() < e * 0.2:
            dd = list(f"{d[2]:02d}")
            dd[1] = str(R.randrange(10))
            nd = int("".join(dd))
            if 1 <= nd <= 28:
                d = (d[0], d[1], nd)
        if nhs and R.random() < e * 0.15:
            nd = list(nhs)
            i = R.randrange(9)
            nd[i], nd[i + 1] = nd[i + 1], nd[i]
            nhs = "".join(nd)
        if nhs and R.random() < e * 0.08:
            # a household member's number (parent's on a child's record and the like)
            others = [q for q in persons[max(0, p["id"] - 4):p["id"] + 3] if q is not p and q["nhs"]
                      and q["family"] == p["family"]]
            if others:
                nhs = R.choice(others)["nhs"]
        if R.random() < e * 0.4:
            pc = pc[:-1] + R.choice(LETTERS)
        if R.random() < 0.04 * err:
            pc = ""
        if R.random() < 0.06 * err:
            addr = ""
        if ctype == "ambulance" and R.random() < 0.1:
            addr, pc = "", ""
        if R.random() < 0.2:
            given, family = given.upper(), family.upper()
        if ctype == "social" and R.random() < 0.15:
            d = None
        style = "iso" if ctype in ("acute", "ambulance") else "dmy"
        feeds[code].append(dict(source=code, record_id=rid, nhs_number=nhs, family_name=family, given_names=given,
                                date_of_birth=fmt_dob(d, style) if d else "", sex=p["sex"], postcode=pc,
                                address=addr, restricted="1" if R.random() < 0.002 else "0"))
        truth.append((code, rid, f"Q{p['id']:07d}"))
        kinds.append(p["kind"])

hdr = ["source", "record_id", "nhs_number", "family_name", "given_names", "date_of_birth", "sex", "postcode",
       "address", "restricted"]
for code, rows in feeds.items():
    R.shuffle(rows)
    with open(f"{out}/{code}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=hdr)
        w.writeheader()
        w.writerows(rows)
with open(f"{out}/truth.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["source", "record_id", "person"])
    w.writerows(truth)
with open(f"{out}/kinds.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["person", "hard_case"])
    seen = set()
    for t, k in zip(truth, kinds):
        if t[2] not in seen and k:
            seen.add(t[2])
            w.writerow([t[2], k])
print(len(persons), "persons", len(truth), "records", file=sys.stderr)
