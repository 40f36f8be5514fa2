#!/usr/bin/env bash
# A real SMTP server for the deadline/outbox tests: OpenSMTPD from Debian on
# 127.0.0.1:2525, delivering every recipient into one Maildir the tests read:
#   /var/lib/docgate-mail/Maildir  (user dgmail)
# Idempotent; runs as root without stdin (CI=true). The tests stop and restart
# it (SIGTERM to the pid in /run/docgate-smtpd.pid, then smtpd again) to prove a message survives an outage exactly once.
set -eu
export DEBIAN_FRONTEND=noninteractive
if ! command -v smtpd >/dev/null 2>&1 && [ ! -x /usr/sbin/smtpd ]; then
    apt-get update -qq
    apt-get install -y -qq opensmtpd >/dev/null
fi
id dgmail >/dev/null 2>&1 || useradd --system --home-dir /var/lib/docgate-mail --create-home --shell /usr/sbin/nologin dgmail
mkdir -p /var/lib/docgate-mail/Maildir/new /var/lib/docgate-mail/Maildir/cur /var/lib/docgate-mail/Maildir/tmp
chown -R dgmail /var/lib/docgate-mail
chmod 0755 /var/lib/docgate-mail /var/lib/docgate-mail/Maildir
cat > /etc/smtpd-docgate.conf <<'CONF'
# docgate test MTA: loopback only, every recipient into one Maildir.
table vusers { "@" = "dgmail" }
listen on 127.0.0.1 port 2525
action "docgate" maildir "/var/lib/docgate-mail/Maildir" virtual <vusers>
match from any for any action "docgate"
CONF
smtpd -n -f /etc/smtpd-docgate.conf
# Stop the package's own instance (port 25), and ours from an earlier run (by its pid).
service opensmtpd stop >/dev/null 2>&1 || true
PIDFILE=/run/docgate-smtpd.pid
if [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    kill "$(cat "$PIDFILE")"
    i=0
    while kill -0 "$(cat "$PIDFILE")" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
fi
/usr/sbin/smtpd -f /etc/smtpd-docgate.conf
# smtpd daemonizes: record the parent's pid so the tests can stop and restart it.
i=0
until pgrep -o -f '^/usr/sbin/smtpd -f /etc/smtpd-docgate.conf' > "$PIDFILE"; do
    i=$((i+1)); [ $i -gt 50 ] && { echo "smtpd did not start" >&2; exit 1; }
    sleep 0.1
done
i=0
until (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null; do
    i=$((i+1)); [ $i -gt 100 ] && { echo "smtpd did not start on 127.0.0.1:2525" >&2; exit 1; }
    sleep 0.1
done
echo "smtp: OpenSMTPD on 127.0.0.1:2525 -> /var/lib/docgate-mail/Maildir"
