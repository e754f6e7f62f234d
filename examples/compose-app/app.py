"""A minimal web service that counts visits in redis."""
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

import redis

cache = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        visits = cache.incr("visits")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(f"visit {visits}\n".encode())


if __name__ == "__main__":
    HTTPServer(("", 8000), Handler).serve_forever()
