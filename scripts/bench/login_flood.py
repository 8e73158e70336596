"""Figure (f): COUNT concurrent POST /staff/login, each for a different unknown email, while
sampling the server's VmHWM/VmRSS. Prints `peak_kb=N rss_after_kb=N` and one `status CODE: N`
line per status.

    login_flood.py BASE COOKIE CSRF_TOKEN SERVER_PID COUNT
"""
import collections
import os
import http.client
import sys
import threading
import time
import urllib.parse

base, cookie, token, pid, count = sys.argv[1:6]
count = int(count)
host, port = urllib.parse.urlsplit(base).netloc.split(":")


def status_kb(key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


statuses = collections.Counter()
lock = threading.Lock()
start = threading.Barrier(count + 1)


def login(i):
    body = urllib.parse.urlencode(
        {"email": os.environ.get("FLOOD_EMAIL") or f"nobody{i}@flood.example", "password": "a wrong password, long", "csrf_token": token}
    )
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.connect()  # connect first, so the barrier releases 200 ready sockets at once
    start.wait()
    try:
        conn.request("POST", "/staff/login", body, {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
        })
        code = conn.getresponse().status
    except OSError as e:
        code = type(e).__name__
    with lock:
        statuses[code] += 1


threads = [threading.Thread(target=login, args=(i,)) for i in range(count)]
for t in threads:
    t.start()
start.wait()
peak = 0
while any(t.is_alive() for t in threads):
    peak = max(peak, status_kb("VmHWM"), status_kb("VmRSS"))
    time.sleep(0.01)
for t in threads:
    t.join()
time.sleep(0.5)
peak = max(peak, status_kb("VmHWM"))
print(f"peak_kb={peak} rss_after_kb={status_kb('VmRSS')}")
for code, n in sorted(statuses.items(), key=str):
    print(f"status {code}: {n}")
