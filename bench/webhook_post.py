"""A webhook post's CPU in the sending thread: ``webhook_sender.post`` to a local
keep-alive endpoint, as a worker's sending thread posts to a buyer's CRM.

    python bench/webhook_post.py [--posts 2000]

Nothing else is needed: the endpoint is a thread of this process (HTTP/1.1, answers
200 with a short JSON body). Prints the sending thread's CPU per post (the body's JSON
and its signature included), the best of 5 rounds, and every round.
"""

from __future__ import annotations

import argparse
import http.server
import socketserver
import sys
import threading
import time

PAYLOAD = {
    "type": "purchase.created",
    "id": "evt_bench",
    "created": "2026-12-04T10:00:00+00:00",
    "data": {
        "purchase": {
            "id": 1,
            "price_cents": 4500,
            "currency": "EUR",
            "lead": {
                "first_name": "Marie",
                "last_name": "Durand",
                "email": "marie.durand@example.fr",
                "phone": "+33612345678",
                "company": "Durand SA",
                "postcode": "69003",
            },
        }
    },
}


class Endpoint(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # the answer in one write, as a CRM's server sends it
    disable_nagle_algorithm = True

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"received": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000, help="posts per round")
    args = parser.parse_args()
    from flask import Flask

    from marketplace import webhook_sender

    server = Server(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/crm/1"
    app = Flask("bench")
    app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = True  # the endpoint is on 127.0.0.1
    with app.app_context():
        for _ in range(300):
            assert webhook_sender.post(url, "secret", PAYLOAD).ok
        rounds = []
        for _ in range(5):
            started = time.thread_time()
            for _ in range(args.posts):
                webhook_sender.post(url, "secret", PAYLOAD)
            rounds.append((time.thread_time() - started) / args.posts * 1e6)
    server.shutdown()
    print(
        f"{min(rounds):.0f} µs of the sending thread's CPU per post, best of 5 rounds of "
        f"{args.posts} (all: {', '.join(f'{value:.0f}' for value in rounds)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
