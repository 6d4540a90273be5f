#!/usr/bin/env python3
"""Regenerates the generated files of the ssmix test corpus, deterministically.

    python3 testdata/gen.py            # from the repository root (or anywhere)

Only the Python standard library is used; every random choice comes from a seeded
SplitMix64 written below (not `random`, whose algorithms may change between Python
versions), so the output is the same on every machine. Hand-written files
(english.txt, utf8_mixed.txt, source.c, source_range.rs) are inputs, not outputs,
except that english.txt is compressed into english.txt.gz / english.txt.xz and
quoted in sample.txt.
"""

import gzip
import io
import json
import lzma
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
MASK64 = (1 << 64) - 1


class SplitMix64:
    """The SplitMix64 generator (Steele, Lea, Flood 2014)."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n

    def pick(self, seq):
        return seq[self.below(len(seq))]

    def chance(self, num, den):
        return self.below(den) < num

    def bytes(self, n):
        out = bytearray()
        while len(out) < n:
            out += self.next().to_bytes(8, "little")
        return bytes(out[:n])


def write(name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def read(name):
    with open(os.path.join(HERE, name), "rb") as f:
        return f.read()


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def gen_syslog():
    rng = SplitMix64(1)
    hosts = ["web01", "web02", "db01", "cache01"]
    lines = []
    t = 0
    pid_sshd = 1200
    for _ in range(420):
        t += rng.below(40) + 1
        day = 3 + t // 86400
        hh, mm, ss = (t // 3600) % 24, (t // 60) % 60, t % 60
        stamp = f"Mar {day:2d} {hh:02d}:{mm:02d}:{ss:02d}"
        host = rng.pick(hosts)
        kind = rng.below(10)
        ip = f"203.0.113.{rng.below(254) + 1}"
        if kind < 3:
            pid_sshd += rng.below(7) + 1
            user = rng.pick(["root", "admin", "deploy", "git", "ubuntu", "test"])
            if rng.chance(2, 3):
                msg = (f"sshd[{pid_sshd}]: Failed password for invalid user {user} "
                       f"from {ip} port {rng.below(40000) + 20000} ssh2")
            else:
                msg = (f"sshd[{pid_sshd}]: Accepted publickey for deploy from {ip} "
                       f"port {rng.below(40000) + 20000} ssh2: ED25519 SHA256:"
                       f"{rng.bytes(6).hex()}")
        elif kind < 5:
            unit = rng.pick(["nginx.service", "postgresql.service", "redis.service",
                             "logrotate.service", "apt-daily.service"])
            verb = rng.pick(["Started", "Stopping", "Stopped", "Reloading", "Reloaded"])
            msg = f"systemd[1]: {verb} {unit}."
        elif kind < 7:
            msg = (f"CRON[{rng.below(30000) + 2000}]: (root) CMD (/usr/local/bin/backup.sh "
                   f"--target /srv/backup/{rng.below(7)} > /dev/null 2>&1)")
        elif kind < 8:
            msg = (f"kernel: [{t + rng.below(1000)}.{rng.below(1000000):06d}] "
                   f"[UFW BLOCK] IN=eth0 OUT= SRC={ip} DST=198.51.100.7 LEN="
                   f"{rng.below(1400) + 40} PROTO=TCP SPT={rng.below(60000) + 1024} "
                   f"DPT={rng.pick([22, 23, 80, 443, 3306, 5432, 6379, 8080])}")
        elif kind < 9:
            msg = (f"postgres[{rng.below(9000) + 1000}]: LOG:  duration: "
                   f"{rng.below(5000)}.{rng.below(1000):03d} ms  statement: SELECT id, name "
                   f"FROM accounts WHERE id = {rng.below(100000)}")
        else:
            msg = (f"kernel: [{t}.{rng.below(1000000):06d}] Out of memory: Killed process "
                   f"{rng.below(30000) + 1000} (python3) total-vm:{rng.below(4000000)}kB")
        lines.append(f"{stamp} {host} {msg}")
    write("syslog.log", "\n".join(lines) + "\n")


def gen_nginx():
    rng = SplitMix64(2)
    paths = ["/", "/index.html", "/static/app.js", "/static/style.css", "/api/v1/items",
             "/api/v1/items/{}", "/api/v1/users/{}/orders", "/favicon.ico", "/robots.txt",
             "/login", "/search?q=compression+ratio&page={}", "/wp-login.php"]
    agents = [
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
        "curl/8.5.0",
        "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "python-requests/2.31.0",
    ]
    lines = []
    t = 0
    for _ in range(380):
        t += rng.below(5)
        ip = f"192.0.2.{rng.below(60) + 1}" if rng.chance(3, 4) else f"198.51.100.{rng.below(254) + 1}"
        path = rng.pick(paths).replace("{}", str(rng.below(5000)))
        method = "POST" if path == "/login" and rng.chance(1, 2) else "GET"
        status = rng.pick([200, 200, 200, 200, 304, 404, 301, 500]) if path != "/wp-login.php" else 404
        size = 0 if status == 304 else rng.below(50000) + 100
        stamp = f"12/Mar/2024:{(t // 3600) % 24:02d}:{(t // 60) % 60:02d}:{t % 60:02d} +0000"
        ref = "-" if rng.chance(1, 2) else "https://example.com/"
        lines.append(f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} '
                     f'"{ref}" "{rng.pick(agents)}" {rng.below(900) / 1000:.3f}')
    write("nginx_access.log", "\n".join(lines) + "\n")


def gen_json_csv():
    rng = SplitMix64(3)
    first = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Claude",
             "Radia", "Ken", "Margaret", "John", "Niklaus", "Sophie", "Tim", "Leslie"]
    last = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Shannon",
            "Perlman", "Thompson", "Hamilton", "Backus", "Wirth", "Wilson", "Berners-Lee",
            "Lamport"]
    cities = ["Zürich", "Berlin", "Tokyo", "São Paulo", "Kraków", "Reykjavík", "Montréal", "Oslo"]
    records = []
    for i in range(160):
        records.append({
            "id": 1000 + i,
            "name": f"{rng.pick(first)} {rng.pick(last)}",
            "email": f"user{i}@example.org",
            "city": rng.pick(cities),
            "active": rng.chance(4, 5),
            "score": round(rng.below(100000) / 1000, 3),
            "tags": sorted({rng.pick(["admin", "dev", "ops", "qa", "sales", "beta"])
                            for _ in range(rng.below(3) + 1)}),
            "created": f"2023-{rng.below(12) + 1:02d}-{rng.below(28) + 1:02d}T"
                       f"{rng.below(24):02d}:{rng.below(60):02d}:00Z",
        })
    write("data.json", json.dumps({"version": 2, "records": records}, indent=2,
                                  ensure_ascii=False) + "\n")
    rows = ["date,station,temp_c,humidity_pct,pressure_hpa,wind_kmh,rain_mm"]
    for d in range(365):
        for station in ["NORTH", "HARBOUR", "HILL"]:
            base = 10 + 12 * math.sin(2 * math.pi * (d - 100) / 365)
            temp = base + (rng.below(600) - 300) / 100 + (2 if station == "HARBOUR" else 0)
            rain = 0.0 if rng.chance(2, 3) else rng.below(250) / 10
            rows.append(f"2023-{1 + d * 12 // 365:02d}-{(d % 28) + 1:02d},{station},{temp:.1f},"
                        f"{rng.below(60) + 35},{rng.below(400) / 10 + 990:.1f},"
                        f"{rng.below(60)},{rain:.1f}")
    write("data.csv", "\n".join(rows) + "\n")


def gen_binaries():
    # A complete, minimal x86-64 Linux ELF executable that calls exit(0): the 64-byte
    # ELF header, one program header and 12 bytes of code, all spelled out here.
    code = bytes([0xB8, 0x3C, 0, 0, 0,        # mov eax, 60 (exit)
                  0x31, 0xFF,                 # xor edi, edi
                  0x0F, 0x05,                 # syscall
                  0x90, 0x90, 0x90])          # nop padding
    base = 0x400000
    entry = base + 64 + 56
    ehdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    ehdr += struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, entry, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    size = 64 + 56 + len(code)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    write("tiny.elf", ehdr + phdr + code)

    # A structured binary: a header, a table of little-endian records, f32 samples of a
    # damped sine, and a string table, i.e. the kind of mixture found in real formats.
    rng = SplitMix64(4)
    out = bytearray(b"SSMXTEST" + struct.pack("<III", 1, 200, 512))
    for i in range(200):
        out += struct.pack("<IHhQf", i, rng.below(65536), rng.below(2000) - 1000,
                           0x0000_7F00_0000_0000 + 8 * rng.below(1 << 20), i * 0.25)
    for i in range(512):
        out += struct.pack("<f", math.exp(-i / 200) * math.sin(i / 8))
    names = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    for i in range(120):
        out += f"{rng.pick(names)}_{i}".encode() + b"\0"
    write("structured.bin", bytes(out))


def gen_images():
    w, h = 128, 96

    def pixel(x, y):
        r, g, b = (x * 2) & 255, (y * 8 // 3) & 255, 128
        if (x - 40) ** 2 + (y - 40) ** 2 < 400:
            r, g, b = 220, 40, 40
        if 70 <= x < 120 and 50 <= y < 80:
            r, g, b = 30, 90, 200
        if (x // 8 + y // 8) % 2 == 0 and y >= 88:
            r, g, b = 255, 255, 255
        return r, g, b

    # BMP: 24-bit, bottom-up rows padded to 4 bytes (128*3 already is).
    rows = bytearray()
    for y in reversed(range(h)):
        for x in range(w):
            r, g, b = pixel(x, y)
            rows += bytes([b, g, r])
    header = b"BM" + struct.pack("<IHHI", 14 + 40 + len(rows), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(rows), 2835, 2835, 0, 0)
    write("image.bmp", header + info + bytes(rows))

    # PNG of the same picture (zlib level 9 is deterministic for a given zlib).
    raw = bytearray()
    for y in range(h):
        raw.append(0)
        for x in range(w):
            raw += bytes(pixel(x, y))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    write("image.png", png)


def gen_compressed():
    text = read("english.txt")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as f:
        f.write(text)
    write("english.txt.gz", buf.getvalue())
    write("english.txt.xz", lzma.compress(text, format=lzma.FORMAT_XZ, preset=6))


def gen_edge_cases():
    write("empty.bin", b"")
    write("one_byte.bin", b"\x2a")
    write("all_bytes.bin", bytes(range(256)))
    write("random.bin", SplitMix64(5).bytes(16384))
    runs = bytearray()
    runs += b"\0" * 10000
    runs += b"a" * 5000
    runs += b"ab" * 3000
    runs += b"\xff" * 4096
    runs += bytes(range(256)) * 8
    runs += b"xyz" * 2000
    runs += b"\0" * 1
    write("runs.bin", bytes(runs))


def gen_sample():
    """~30 KB of English: a preface (english.txt) and a generated harbour diary whose
    fixed phrasing repeats with variations, so it compresses clearly."""
    rng = SplitMix64(6)
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    months = ["March", "April", "May", "June"]
    winds = ["north", "north-east", "east", "south-east", "south", "south-west", "west",
             "north-west"]
    strength = ["a light breeze", "a gentle breeze", "a fresh wind", "a strong wind",
                "a near gale", "a gale"]
    skies = ["clear", "hazy", "overcast", "grey and low", "broken with bright spells",
             "heavy with rain"]
    boats = ["the Margaret", "the Kittiwake", "the Good Intent", "the Two Brothers",
             "the Swift", "the Providence"]
    catches = ["herring", "mackerel", "cod", "crab", "lobster", "nothing worth the name"]
    events = [
        "The harbour master walked the quay twice and found nothing amiss.",
        "A cart from the inland farms brought potatoes, eggs and a letter for the chapel.",
        "Children were seen fishing from the end of the breakwater until called in for tea.",
        "The lamp on the pier head was cleaned, trimmed and lit at dusk as usual.",
        "Two strangers asked the way to the station and were given three different answers.",
        "The school bell rang at nine and again at four, and the street was busy between.",
        "Nets were spread on the shingle to dry and mended by the older men.",
        "A coaster from the south unloaded coal at the long quay and left on the evening tide.",
    ]
    out = ["A Harbour Diary", "", "Preface", ""]
    out += read("english.txt").decode("utf-8").split("\n")[2:]
    out += ["", "The diary", ""]
    day = 0
    for m, month in enumerate(months):
        for date in range(1, 29, 1):
            if rng.chance(1, 4):
                day += 1
                continue
            weekday = days[day % 7]
            day += 1
            wind = rng.pick(winds)
            para = [f"{weekday}, the {date}{suffix(date)} of {month}. The wind was from the "
                    f"{wind}, {rng.pick(strength)}, and the sky was {rng.pick(skies)}."]
            if rng.chance(2, 3):
                boat = rng.pick(boats)
                para.append(f"{boat[0].upper() + boat[1:]} went out at first light and came back "
                            f"with {rng.pick(catches)}.")
            else:
                para.append("No boats went out; the crews stayed ashore and saw to their gear.")
            para.append(rng.pick(events))
            if rng.chance(1, 3):
                para.append(rng.pick(events))
            para.append(f"High water at {rng.below(12) + 1} o'clock, low water six hours after.")
            out.append(wrap(" ".join(para)))
            out.append("")
    write("sample.txt", "\n".join(out))


def suffix(n):
    if n in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def wrap(text, width=78):
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def main():
    gen_syslog()
    gen_nginx()
    gen_json_csv()
    gen_binaries()
    gen_images()
    gen_compressed()
    gen_edge_cases()
    gen_sample()


if __name__ == "__main__":
    main()
