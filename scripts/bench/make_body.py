#!/usr/bin/env python3
"""Write a valid registration as a multipart/form-data body, with LOGO_FILE as the logo.

    make_body.py BOUNDARY CSRF_TOKEN LOGO_FILE OUT_FILE
"""
import sys

boundary, token, logo_file, out_file = sys.argv[1:5]
fields = [
    ("csrf_token", token),
    ("client_name", "Bench Expenses"),
    ("client_uri", "https://bench.example/"),
    ("tos_uri", "https://bench.example/terms"),
    ("policy_uri", "https://bench.example/privacy"),
    ("contacts", "dev@bench.example"),
    ("initiation_uri", "https://bench.example/connect"),
    ("settings_uri", "https://bench.example/settings"),
    ("client_type", "confidential"),
    ("redirect_uris", "https://bench.example/oauth/callback"),
    ("scopes", "users:read"),
    ("scopes", "expenses:read"),
    ("scope_reason", "Sync expenses into the books."),
    ("pkce", "supported"),
    ("subject_type", ""),
]
with open(logo_file, "rb") as f:
    logo = f.read()
b = boundary.encode()
out = bytearray()
for name, value in fields:
    out += b"--" + b + b'\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n'
    out += value.encode() + b"\r\n"
out += b"--" + b + b'\r\nContent-Disposition: form-data; name="logo"; filename="logo.png"\r\n'
out += b"Content-Type: image/png\r\n\r\n" + logo + b"\r\n"
out += b"--" + b + b"--\r\n"
with open(out_file, "wb") as f:
    f.write(out)
