#!/bin/sh
# Installs the release named by $GHE_VERSION and a health service on port 8080.
set -e
echo "$GHE_VERSION" > /opt/ghe/VERSION
mkdir -p /opt/ghe/bin /var/lib/ghe-health
cat > /opt/ghe/health.py <<'PY'
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"service": "ghe-health", "version": open("/opt/ghe/VERSION").read().strip(),
                           "banner": open("/etc/ghe/banner.txt").read().strip()}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
PY
cat > /opt/ghe/bin/ghe-health <<'SH'
#!/bin/sh
# ghe-health start|status: the health endpoint on port 8080.
case "$1" in
  start) nohup python3 /opt/ghe/health.py 8080 >>/var/log/ghe-health.log 2>&1 </dev/null & echo $! > /run/ghe-health.pid ;;
  status) [ -f /run/ghe-health.pid ] && kill -0 "$(cat /run/ghe-health.pid)" 2>/dev/null && echo running || { echo stopped; exit 3; } ;;
  *) echo "usage: $0 start|status" >&2; exit 2 ;;
esac
SH
chmod 755 /opt/ghe/bin/ghe-health
grep -q ghe-health /etc/rc.local || echo "/opt/ghe/bin/ghe-health start" >> /etc/rc.local
echo "installed GitHub Enterprise $GHE_VERSION"
