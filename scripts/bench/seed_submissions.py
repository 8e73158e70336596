#!/usr/bin/env python3
"""Seed N submissions straight into the portal's SQLite database (schema from migrations/),
each with its first revision and its 'submitted' event, all sharing one stored logo.

    seed_submissions.py DB_FILE LOGO_PNG [N]

Statuses are a long-running registry's mix: mostly decided, a few waiting. Run it with the
server stopped (the database must already exist, e.g. after `partner-registry staff add`).
"""
import hashlib
import json
import random
import secrets
import sqlite3
import sys
import time
import uuid

db_file, logo_file = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
if n == 0:
    # Nothing to write (figures without the 100,000 rows); older schemas lack some tables.
    print("seeded 0 submissions")
    sys.exit(0)
rng = random.Random(6)

# (status, share): 70 % approved, 20 % rejected, 5 % changes requested, 5 % pending.
STATUSES = [("approved", 0.70), ("rejected", 0.20), ("changes_requested", 0.05), ("pending", 0.05)]
WORDS = "acme globex initech umbrella hooli stark wayne wonka tyrell cyberdyne soylent oscorp".split()
SCOPES = ["users:read", "expenses:read", "export-jobs:read", "accounts:read", "vendors:write"]

con = sqlite3.connect(db_file)
con.execute("PRAGMA journal_mode = WAL")
con.execute("PRAGMA synchronous = OFF")
now = int(time.time())
logo_id = secrets.token_urlsafe(12)
with open(logo_file, "rb") as f:
    png = f.read()
con.execute(
    "INSERT INTO logos (id, hold_token, png, side, claimed, created_at) VALUES (?, NULL, ?, 512, 1, ?)",
    (logo_id, png, now),
)

def status_for():
    r, acc = rng.random(), 0.0
    for status, share in STATUSES:
        acc += share
        if r < acc:
            return status
    return STATUSES[-1][0]

# Secrets moved from two columns of `submissions` into `client_secrets` (migration
# 20261204030000); the seeder writes whichever schema the binary under test created.
columns = {row[1] for row in con.execute("PRAGMA table_info(submissions)")}
secrets_in_submissions = "secret_hash" in columns

submissions, revisions, events, status_tokens, client_secrets = [], [], [], [], []
first_id = (con.execute("SELECT COALESCE(MAX(id), 0) FROM submissions").fetchone()[0]) + 1
for i in range(n):
    sid = first_id + i
    created = now - (n - i) * 60
    word = rng.choice(WORDS)
    name = f"{word.title()} {rng.choice(['Expenses', 'Sync', 'Books', 'Travel', 'Cards'])} {sid}"
    host = f"{word}{sid}.example"
    contacts = [f"dev@{host}", f"ops@{host}"]
    status = status_for()
    client_id = str(uuid.UUID(int=rng.getrandbits(128), version=4)) if status == "approved" else None
    note = {"rejected": "Not a partner integration.", "changes_requested": "Please add a privacy policy."}.get(status)
    confidential = rng.random() < 0.7
    # Only a token's hash is stored (migration 20261202110000_tokens_hashed).
    token_hash = hashlib.sha256(secrets.token_urlsafe(24).encode()).hexdigest()
    status_tokens.append((token_hash, sid, created))
    secret_hash = "sha256:" + secrets.token_hex(32) if client_id and confidential else None
    row = (sid, token_hash, status, 1, name, ", ".join(contacts), client_id, note, created, created)
    decided_by = "Ada" if status != "pending" else None
    if secrets_in_submissions:
        submissions.append(row + (secret_hash, created if secret_hash else None, decided_by))
    else:
        submissions.append(row + (decided_by,))
        if secret_hash:
            client_secrets.append((sid, secret_hash, created, created + 365 * 86400))
    revisions.append((
        sid, 1, name, f"https://{host}/", logo_id, f"https://{host}/terms", f"https://{host}/privacy",
        json.dumps(contacts), f"https://{host}/connect", f"https://{host}/settings",
        "confidential" if confidential else "public",
        json.dumps([f"https://{host}/oauth/callback"]),
        json.dumps(rng.sample(SCOPES, 2)), None, "supported", None, None, created,
    ))
    events.append((sid, created, "partner", "submitted", None))

if secrets_in_submissions:
    con.executemany(
        """INSERT INTO submissions (id, token, status, revision, client_name, contacts, client_id,
            status_note, created_at, updated_at, secret_hash, secret_issued_at, decided_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        submissions,
    )
else:
    con.executemany(
        """INSERT INTO submissions (id, token, status, revision, client_name, contacts, client_id,
            status_note, created_at, updated_at, decided_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        submissions,
    )
    con.executemany(
        "INSERT INTO client_secrets (submission_id, hash, issued_at, expires_at) VALUES (?, ?, ?, ?)",
        client_secrets,
    )
con.executemany(
    """INSERT INTO revisions (submission_id, number, client_name, client_uri, logo_id, tos_uri,
        policy_uri, contacts, initiation_uri, settings_uri, client_type, redirect_uris, scopes,
        scope_reason, pkce, pkce_exception, subject_type, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
    revisions,
)
con.executemany(
    "INSERT INTO status_tokens (token_hash, submission_id, created_at) VALUES (?, ?, ?)",
    status_tokens,
)
con.executemany(
    "INSERT INTO events (submission_id, at, actor, kind, note) VALUES (?, ?, ?, ?, ?)", events
)
con.commit()
con.execute("ANALYZE")
con.commit()
counts = dict(con.execute("SELECT status, COUNT(*) FROM submissions GROUP BY status").fetchall())
print(f"seeded {n} submissions: {counts}")
con.close()
