#!/usr/bin/env bash
# Runs every check script in SCRIPTS_DIR once, the way its generated unit
# would, without systemd: umask 0027, the manifest's timeout (default 20 s),
# stdout appended to LOG_DIR/<id>.log, stderr elsewhere, and an ERROR status
# line appended when the script fails or times out. Used by "make demo" and
# "make dashboard".
#
# Usage: tests/examples/run-as-units.sh SCRIPTS_DIR LOG_DIR [STDERR_FILE]
set -u

if (($# < 2 || $# > 3)); then
    echo "usage: $0 SCRIPTS_DIR LOG_DIR [STDERR_FILE]" >&2
    exit 2
fi
scripts_dir=$1
log_dir=$2
stderr_file=${3:-/dev/null}
mkdir -p "$log_dir" || exit 1

for script in "$scripts_dir"/*; do
    file=${script##*/}
    # The candidates the generator considers: regular executable files that
    # are not hidden, backups or disabled.
    case $file in
        .* | *~ | *.swp | *.bak | *.tmp | *.dpkg-* | *.rpmnew | *.rpmsave | *.disabled) continue ;;
    esac
    [[ -f $script && -x $script ]] || continue

    # Service id: file name without its last extension, lowercased, with
    # "-", "." and spaces turned into "_".
    id=${file%.*}
    [[ -n $id ]] || id=$file
    id=${id,,}
    id=${id//[-. ]/_}
    if [[ ! $id =~ ^[a-z0-9_]+$ ]]; then
        echo "$script: no valid service id, not run" >&2
        continue
    fi

    timeout=$(sed -nE '1,/^[^#[:space:]]/ s/^#[[:space:]]*timeout[[:space:]]*:[[:space:]]*([0-9]+).*$/\1/Ip' "$script" | head -n 1)
    log=$log_dir/$id.log
    (umask 0027 && timeout "${timeout:-20}" "$script" >>"$log" 2>>"$stderr_file")
    rc=$?
    if ((rc == 124)); then
        reason="timed out after ${timeout:-20}s"
    elif ((rc != 0)); then
        reason="exited with status $rc"
    fi
    if ((rc != 0)); then
        (umask 0027 && printf '%s, ERROR, %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$reason" >>"$log")
    fi
done
