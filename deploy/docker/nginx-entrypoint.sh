#!/bin/sh
# deploy/docker/nginx-entrypoint.sh: the nginx image's start (deploy/docker/Dockerfile, target
# nginx). Without a certificate in /var/lib/edlive/tls (mount the hospital's cert.pem and
# key.pem there), it makes a self-signed one for localhost so a first `docker compose up` works;
# browsers then ask once. Then nginx in the foreground (exec: it receives the container's signals).
set -eu
tls=/var/lib/edlive/tls
if [ ! -s "$tls/cert.pem" ] || [ ! -s "$tls/key.pem" ]; then
    echo "nginx-entrypoint: no certificate in $tls: making a self-signed one for localhost" >&2
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null
fi
mkdir -p /tmp/nginx
exec nginx -c /etc/nginx/edlive.conf -e stderr
