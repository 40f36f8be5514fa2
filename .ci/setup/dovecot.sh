#!/bin/bash
# Dovecot IMAP on loopback for the ingest tests (tests/ingest.rs, imap_*).
# Idempotent; runs as root on a fresh Debian machine, no stdin.
# User docgate / password docgate-test (passwd-file), plain IMAP on 127.0.0.1:10143,
# implicit TLS (self-signed) on 127.0.0.1:10993. Mail in /var/lib/docgate-dovecot/<user>/Maildir.
set -eu
export DEBIAN_FRONTEND=noninteractive
if ! command -v dovecot >/dev/null 2>&1 || [ ! -x /usr/lib/dovecot/imap ]; then
    apt-get update -qq
    apt-get install -y -qq dovecot-imapd >/dev/null
fi
command -v pdftotext >/dev/null 2>&1 || apt-get install -y -qq poppler-utils >/dev/null || true

BASE=/var/lib/docgate-dovecot
mkdir -p "$BASE"
id vmail >/dev/null 2>&1 || useradd --system --home-dir "$BASE" --shell /usr/sbin/nologin vmail
chown vmail:vmail "$BASE"

if ! openssl x509 -in "$BASE/cert.pem" -noout -ext subjectAltName 2>/dev/null | grep 127.0.0.1 >/dev/null; then
    # A self-signed end-entity certificate for localhost/127.0.0.1 (tests trust it via ca_file).
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -addext "basicConstraints=critical,CA:FALSE" \
        -addext "extendedKeyUsage=serverAuth" \
        -keyout "$BASE/key.pem" -out "$BASE/cert.pem" >/dev/null 2>&1
fi
chmod 600 "$BASE/key.pem"
chmod 644 "$BASE/cert.pem"

VUID=$(id -u vmail)
VGID=$(id -g vmail)
# passwd-file: user:{PLAIN}password:uid:gid::home
printf 'docgate:{PLAIN}docgate-test:%s:%s::%s/docgate\n' "$VUID" "$VGID" "$BASE" > "$BASE/users"

cat > "$BASE/dovecot.conf" <<CONF
protocols = imap
listen = 127.0.0.1
base_dir = /run/docgate-dovecot
state_dir = $BASE/state
log_path = $BASE/dovecot.log
disable_plaintext_auth = no
auth_mechanisms = plain login
ssl = yes
ssl_cert = <$BASE/cert.pem
ssl_key = <$BASE/key.pem
mail_location = maildir:~/Maildir
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN $BASE/users
}
userdb {
  driver = passwd-file
  args = $BASE/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = 10143
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = 10993
    ssl = yes
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
protocol imap {
  mail_max_userip_connections = 100
}
CONF
mkdir -p "$BASE/state" /run/docgate-dovecot

if [ -f /run/docgate-dovecot/master.pid ] && kill -0 "$(cat /run/docgate-dovecot/master.pid)" 2>/dev/null; then
    dovecot -c "$BASE/dovecot.conf" reload || true
else
    dovecot -c "$BASE/dovecot.conf"
fi
# Wait for the listener.
i=0
while [ $i -lt 50 ]; do
    if timeout 1 bash -c '</dev/tcp/127.0.0.1/10143' 2>/dev/null; then
        echo "dovecot: listening on 127.0.0.1:10143 (imap) and :10993 (imaps)"
        exit 0
    fi
    i=$((i + 1))
    sleep 0.2
done
echo "dovecot did not start; see $BASE/dovecot.log" >&2
exit 1
