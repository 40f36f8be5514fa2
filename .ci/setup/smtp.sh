#!/usr/bin/env bash
# A real SMTP server for the deadline/outbox tests: OpenSMTPD from Debian on
# 127.0.0.1:2525, delivering every recipient into one Maildir the tests read:
#   /var/lib/docgate-mail/Maildir  (user dgmail)
# Idempotent; runs as root without stdin (CI=true). The tests stop and restart
# it (smtpctl stop / smtpd) to prove a message survives an outage exactly once.
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
# Stop any instance (the package may have started one on port 25), then start ours.
smtpctl stop >/dev/null 2>&1 || true
i=0
while pgrep -x smtpd >/dev/null 2>&1 && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
/usr/sbin/smtpd -f /etc/smtpd-docgate.conf
i=0
until (exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null; do
    i=$((i+1)); [ $i -gt 100 ] && { echo "smtpd did not start on 127.0.0.1:2525" >&2; exit 1; }
    sleep 0.1
done
echo "smtp: OpenSMTPD on 127.0.0.1:2525 -> /var/lib/docgate-mail/Maildir"
