#!/usr/bin/env bash
# Tests of the shipped notification hooks (examples/notify) with the real
# parts they talk to, on loopback:
#   email    through msmtp (a synchronous sendmail-compatible relay) to an
#            SMTP receiver: the mail is with the relay when the hook returns;
#            no event value (an id made of a file name with a newline and
#            "Bcc:") adds a header or a recipient; the mail of
#            `ssi-status notify-test` names only commands that exist.
#            (exim under a real systemd: tests/e2e/run, section 8c.)
#   webhook  under mawk, gawk and busybox awk, to a receiver that rejects
#            invalid JSON as Slack and Discord do.
#
# Usage: tests/hooks.sh [PATTERN]   (only cases whose name contains PATTERN)
# Environment: SSI_STATUS=path/to/ssi-status (default target/debug/ssi-status).
# Needs msmtp, mawk, gawk, busybox, curl, python3 (tests/deps.sh).
set -u

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
examples=$root/examples/notify
filter=${1:-}
ssi=${SSI_STATUS:-$root/${CARGO_TARGET_DIR:-target}/debug/ssi-status}
# Under target/ (root-owned, 0755 up to /): notify-test trusts hooks only in a
# directory nobody else may write, which /tmp is not.
work=$(mktemp -d "$root/${CARGO_TARGET_DIR:-target}/ssi-hooks.XXXXXX") || exit 1
chmod 755 "$work"
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=tests/lib/tally.sh
. "$root/tests/lib/tally.sh"
selected() { [[ -z $filter || $1 == *"$filter"* ]]; }

for tool in msmtp mawk gawk busybox curl python3; do
    command -v "$tool" >/dev/null || fail "hooks: $tool" "not installed (tests/deps.sh installs it)"
done

# sink NAME SCRIPT [ARG…] : starts tests/SCRIPT recording into $work/NAME.out,
# sets $port.
sink() {
    rm -f "$work/$1.port"
    python3 "$root/tests/$2" "$work/$1.out" "$work/$1.port" "${@:3}" </dev/null 2>"$work/$1.err" &
    pids+=($!)
    local _
    for _ in $(seq 50); do [[ -s $work/$1.port ]] && break; sleep 0.1; done
    port=$(cat "$work/$1.port" 2>/dev/null)
    [[ -n $port ]] || fail "hooks: $2" "did not start: $(cat "$work/$1.err")"
}

# The event of a check that failed, as the notifier gives it.
event_env=(SSI_EVENT=change SSI_ID=disk_usage SSI_NAME="Disk usage" SSI_STATUS=FAILURE SSI_PREVIOUS_STATUS=OK
    SSI_MESSAGE="/ at 97%" SSI_TIMESTAMP=2026-11-26T10:00:00Z SSI_HOST=web1)

# pyq FILE EXPR : EXPR over the JSON lines of FILE (m = the list) is true;
# else says why on stderr.
pyq() {
    python3 -c 'import json, os, re, sys
m = [json.loads(l) for l in open(sys.argv[1])]
def text(msg):
    return msg["data"].replace("\r\n", "\n")
def headers(msg):
    return text(msg).split("\n\n", 1)[0].split("\n")
def body(msg):
    return text(msg).split("\n\n", 1)[1]
ok = eval("(" + sys.argv[2].strip() + "\n)")
if not ok:
    sys.stderr.write(json.dumps(m, indent=1, ensure_ascii=False)[:3000] + "\n")
sys.exit(0 if ok else 1)' "$1" "$2"
}
# expect NAME FILE EXPR : passes NAME if pyq FILE EXPR, else fails it with why.
expect() {
    if pyq "$2" "$3" 2>"$work/why"; then pass "$1"; else fail "$1" "$(cat "$work/why")"; fi
}

# --- email through msmtp --------------------------------------------------
if selected "email"; then
    sink smtp lib/smtp_sink.py
    # msmtp reads ~/.msmtprc: HOME is $work for the hook.
    printf 'account default\nhost 127.0.0.1\nport %s\nfrom ssi@web1\nauth off\ntls off\n' "$port" >"$work/.msmtprc"
    chmod 600 "$work/.msmtprc"
    printf 'to=ops@example.com\nsendmail=%s\n' "$(command -v msmtp)" >"$work/email.conf"
    # email_hook VAR=value… : the email hook with the event above, changed.
    email_hook() {
        : >"$work/smtp.out"
        env "${event_env[@]}" "$@" HOME="$work" SSI_EMAIL_CONF="$work/email.conf" "$examples/email" \
            </dev/null >"$work/email.log" 2>&1
    }

    name="email: through msmtp the mail is with the relay when the hook returns, to the one recipient"
    email_hook
    rc=$?
    if ((rc == 0)); then
        # No wait: msmtp is synchronous, and the hook must not return before it.
        expect "$name" "$work/smtp.out" 'len(m) == 1 and m[0]["rcpt"] == ["<ops@example.com>"]
            and "Subject: [web1] Disk usage: OK -> FAILURE" in headers(m[0])
            and "Status:   FAILURE (was OK)" in body(m[0]).split("\n")'
    else
        fail "$name" "exit status $rc: $(cat "$work/email.log")"
    fi

    name="email: an id with a newline and 'Bcc:' (an invalid script's file name) adds no header and no recipient"
    # Every value that reaches a header, each with a line break and a header
    # of its own.
    if email_hook SSI_EVENT=invalid SSI_STATUS= SSI_PREVIOUS_STATUS= SSI_NAME= \
        SSI_ID=$'evil\nBcc: spy@example.com' SSI_HOST=$'web1\r\nCc: spy2@example.com' \
        SSI_MESSAGE='line 5: schedule "x": expected …'; then
        expect "$name" "$work/smtp.out" 'len(m) == 1 and m[0]["rcpt"] == ["<ops@example.com>"]
            and all(re.match(r"^(From|To|Subject|Date|Message-ID|MIME-Version|Content-Type|Content-Transfer-Encoding|Auto-Submitted|Received): ", h)
                    for h in headers(m[0]) if not h.startswith((" ", "\t")))
            and not any(re.match(r"^(Bcc|Cc):", h, re.I) for h in headers(m[0]))
            and any(re.fullmatch(r"Message-ID: <[!-~]+@[!-~]+>", h) for h in headers(m[0]))
            and "ssi-status list shows why" in body(m[0])'
    else
        fail "$name" "exit status $?: $(cat "$work/email.log")"
    fi

    name="email: a sendmail that is not there fails naming the file and the value"
    printf 'to=ops@example.com\nsendmail=/nonexistent/sendmail\n' >"$work/bad.conf"
    if out=$(env "${event_env[@]}" SSI_EMAIL_CONF="$work/bad.conf" "$examples/email" </dev/null 2>&1); then
        fail "$name" "exit 0"
    elif [[ $out == *"$work/bad.conf"*"/nonexistent/sendmail"* ]]; then
        pass "$name"
    else
        fail "$name" "$out"
    fi

    name="email: dma (it delivers in a background child otherwise) is asked for -D"
    # dma conflicts with exim4 as a package (both are the MTA): a stand-in
    # named dma that records its arguments.
    mkdir -p "$work/dma"
    printf '#!/bin/sh\nprintf "%%s\\n" "$*" > "%s/dma/args"\ncat >/dev/null\n' "$work" >"$work/dma/dma"
    chmod 755 "$work/dma/dma"
    ln -sf dma "$work/dma/sendmail"
    printf 'to=ops@example.com\nsendmail=%s/dma/sendmail\n' "$work" >"$work/dma.conf"
    env "${event_env[@]}" SSI_EMAIL_CONF="$work/dma.conf" "$examples/email" </dev/null >/dev/null 2>&1
    args=$(cat "$work/dma/args" 2>/dev/null)
    if [[ $args == "-t -i -odi -D" ]]; then pass "$name"; else fail "$name" "arguments: $args"; fi

    # notify-test through the real ssi-status, the email hook in a hooks dir.
    mkdir -p "$work/site/hooks" "$work/site/scripts" "$work/site/logs" "$work/site/state"
    chmod -R 755 "$work/site"
    install -m 0755 "$examples/email" "$work/site/hooks/email"
    printf '#!/bin/sh\n# name: Disk usage\n# description: d\n# version: 1\n# schedule: hourly\necho OK\n' >"$work/site/scripts/disk.bash"
    chmod 755 "$work/site/scripts/disk.bash"
    printf '2026-11-26 10:00:00, WARNING, / at 91%%\n' >"$work/site/logs/disk.log"
    # notify_test [ID] : runs ssi-status notify-test with the site above.
    notify_test() {
        : >"$work/smtp.out"
        env HOME="$work" SSI_EMAIL_CONF="$work/email.conf" SSI_HOOKS_DIR="$work/site/hooks" \
            SSI_SCRIPTS_DIR="$work/site/scripts" SSI_LOG_DIR="$work/site/logs" SSI_STATE_DIR="$work/site/state" \
            SSI_ASSUME_SYSTEMD=0 "$ssi" notify-test "$@" </dev/null >"$work/email.log" 2>&1
    }
    for id in "" disk; do
        name="email: the mail of 'ssi-status notify-test${id:+ $id}' names no command that does not exist, and no '(was …)'"
        if [[ ! -x $ssi ]]; then
            fail "$name" "$ssi: not built (cargo build, or set SSI_STATUS)"
        elif notify_test ${id:+"$id"}; then
            want=$([[ -n $id ]] && echo WARNING || echo OK)
            expect "$name" "$work/smtp.out" 'len(m) == 1 and "Status:   '"$want"'" in body(m[0]).split("\n")
                and "(was" not in body(m[0]) and "ssi-status show" not in body(m[0])
                and "ssi-status notify-test" in body(m[0])'
        else
            fail "$name" "exit status $?: $(cat "$work/email.log")"
        fi
    done
fi

# --- webhook under three awks ---------------------------------------------
if selected "webhook"; then
    sink http examples/receiver.py json
    for awk in mawk gawk busybox; do
        mkdir -p "$work/awk-$awk"
        if [[ $awk == busybox ]]; then
            printf '#!/bin/sh\nexec busybox awk "$@"\n' >"$work/awk-$awk/awk"
            chmod 755 "$work/awk-$awk/awk"
        else
            ln -sf "$(command -v "$awk")" "$work/awk-$awk/awk"
        fi
    done
    # A name and a message with every character JSON must escape, a few it
    # need not, and UTF-8.
    hostile_name=$'Disk \\ "usage"\ttab'
    hostile_message=$'C:\\temp\\new \\\\ "q"\r\nline 2\x01\x1f\x7f é ✓ \\u0041 /'
    for awk in mawk gawk busybox; do
        for format in slack discord; do
            name="webhook: format=$format under $awk: backslashes, quotes and control characters make valid JSON with the same text"
            printf 'url=http://127.0.0.1:%s/hook\nformat=%s\n' "$port" "$format" >"$work/webhook.conf"
            : >"$work/http.out"
            out=$(env "${event_env[@]}" SSI_NAME="$hostile_name" SSI_MESSAGE="$hostile_message" \
                PATH="$work/awk-$awk:$PATH" SSI_WEBHOOK_CONF="$work/webhook.conf" "$examples/webhook" </dev/null 2>&1)
            rc=$?
            if ((rc != 0)); then
                fail "$name" "exit status $rc: $out; received: $(head -c 600 "$work/http.out")"
                continue
            fi
            key=$([[ $format == slack ]] && echo text || echo content)
            HOSTILE_NAME=$hostile_name HOSTILE_MESSAGE=$hostile_message expect "$name" "$work/http.out" '
                len(m) == 1 and m[0].get("json") == {"'"$key"'": "[web1] " + os.environ["HOSTILE_NAME"]
                    + ": OK -> FAILURE (" + os.environ["HOSTILE_MESSAGE"] + ")"}'
        done
    done
    name="webhook: format=ntfy: a newline in the name adds no HTTP header"
    printf 'url=http://127.0.0.1:%s/hook\nformat=ntfy\n' "$port" >"$work/webhook.conf"
    : >"$work/http.out"
    env "${event_env[@]}" SSI_NAME=$'Disk\r\nX-Injected: yes' SSI_WEBHOOK_CONF="$work/webhook.conf" "$examples/webhook" </dev/null >/dev/null 2>&1
    expect "$name" "$work/http.out" 'len(m) == 1 and "X-Injected" not in m[0]["headers"]
        and m[0]["headers"].get("Title") == "web1 Disk X-Injected: yes"'
fi

printf 'hooks: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
