#!/bin/bash
# payguard's programs as their own user (issue 9): spawn-fcgi -u payguard
# behind lighttpd running as www-data (apache-conf/payguard-own-user.conf).
# The site's code (www-data) can reach the webhook but can read neither
# the state directory, nor the key files, nor the configuration with the
# secrets; root's CLI works on that state as payguard.
# Environment: O, SRC, PY (tests/run-e2e.sh).  Port 19842.
. "$SRC/tests/harness/lib.sh"
P=19842
need_ports $P
pg_setup

# The service user, created when missing (a fresh CI machine has none).
PGU=payguard
id -u $PGU >/dev/null 2>&1 || useradd --system --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin $PGU ||
    bail "useradd $PGU"
PST=$BASE/pgstate
install -d -o $PGU -g $PGU -m 0700 "$PST"
INI=$BASE/payguard.ini
printf '[payguard]\nPAYGUARD_STATE_DIR = %s\nSTRIPE_WEBHOOK_SECRET = %s\nSTRIPE_WEBHOOK_ALLOWED_IPS = 127.0.0.1\n' \
    "$PST" "$SECRET" > "$INI"
chown root:$PGU "$INI"; chmod 0640 "$INI"
RUN=$BASE/pgrun
install -d -o $PGU -g $WWW -m 0750 "$RUN"

env -i PATH=/usr/bin:/bin PAYGUARD_CONFIG="$INI" \
    spawn-fcgi -s "$RUN/webhook.sock" -M 0660 -U $WWW -G $WWW -u $PGU -g $PGU \
    -F 1 -P "$RUN/webhook.pid" -- "$BIN/webhook.fcgi" > "$BASE/spawn.log" 2>&1 ||
    bail "spawn-fcgi -u $PGU starts webhook.fcgi"
SP=$(cat "$RUN/webhook.pid"); track $SP
start_lighttpd_ext own $P "$RUN/webhook.sock"

is "$(ps -o user= -p $SP)" $PGU "webhook.fcgi runs as $PGU"
is "$(ps -o user= -p $LIGHTTPD_PID)" $WWW "lighttpd (the site's user) runs as $WWW"
newev
post_event "http://127.0.0.1:$P/webhook" "$EVF" "$(sign "$EVF")"
is "$RS" 200 "an event through lighttpd -> the payguard-owned process: 200"
is "$(find "$PST" ! -user $PGU | wc -l)" 0 "everything in the state directory belongs to $PGU"
check "the site's user cannot list the state directory" bash -c "$(declare -f as_www); WWW_UID=$WWW_UID WWW_GID=$WWW_GID; ! as_www ls '$PST' >/dev/null 2>&1"
check "the site's user cannot read the encryption key" \
    bash -c "$(declare -f as_www); WWW_UID=$WWW_UID WWW_GID=$WWW_GID; ! as_www cat '$PST/encryption.key' >/dev/null 2>&1"
check "the site's user cannot read the configuration (the secrets)" \
    bash -c "$(declare -f as_www); WWW_UID=$WWW_UID WWW_GID=$WWW_GID; ! as_www cat '$INI' >/dev/null 2>&1"
check "...which the payguard user can" \
    setpriv --reuid=$PGU --regid=$PGU --init-groups cat "$INI" > /dev/null

# Root's CLI on that state: works, as the state's owner, even where it
# creates files (the volatile environment, as after a reboot).
setpriv --reuid=$PGU --regid=$PGU --clear-groups rm -rf "$PST/volatile"
env -i PATH=/usr/bin:/bin PAYGUARD_CONFIG="$INI" "$BIN/payguard" inbox list > "$BASE/list.out" 2>>"$LOGS/cli.log"
check "root's payguard inbox list sees the event" grep -q "$EV" "$BASE/list.out"
is "$(find "$PST" ! -user $PGU | wc -l)" 0 "root's CLI left nothing that is not $PGU's"

finish
