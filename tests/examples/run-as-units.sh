#!/usr/bin/env bash
# Runs every check script in SCRIPTS_DIR once, the way its generated unit
# would, without systemd: umask 0027, the manifest's timeout (default 20 s),
# stdout appended to LOG_DIR/<id>.log, stderr elsewhere, and an ERROR status
# line appended when the script fails or times out. Used by "make demo" and
# "make dashboard".
#
# With SSI_RUN naming the runner the generated units run every script
# through (ssi-run; make passes its release build), each script runs through
# it as in its unit, with --output nagios for a Monitoring Plugins check
# ("# output: nagios"): the runner stamps lines, writes the ERROR line of a
# failed run and turns a plugin's output into a status line and its
# perfdata: line; only a timeout's ERROR line is written here (the unit's
# post-run step). Without the runner a plugin check is not run: its log
# gets an UNKNOWN line saying why, as its raw output is no status line.
#
# Usage: [SSI_RUN=path/to/ssi-run] tests/examples/run-as-units.sh SCRIPTS_DIR LOG_DIR [STDERR_FILE]
set -u

if (($# < 2 || $# > 3)); then
    echo "usage: $0 SCRIPTS_DIR LOG_DIR [STDERR_FILE]" >&2
    exit 2
fi
scripts_dir=$1
log_dir=$2
stderr_file=${3:-/dev/null}
mkdir -p "$log_dir" || exit 1
runner=${SSI_RUN:-}
[[ -n $runner && -x $runner ]] || runner=

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
    output=$(sed -nE '1,/^[^#[:space:]]/ s/^#[[:space:]]*output[[:space:]]*:[[:space:]]*([A-Za-z]+).*$/\1/Ip' "$script" | head -n 1)
    log=$log_dir/$id.log
    if [[ -n $runner ]]; then
        args=()
        [[ ${output,,} == nagios ]] && args=(--output nagios)
        (umask 0027 && timeout "${timeout:-20}" "$runner" "${args[@]}" "$script" >>"$log" 2>>"$stderr_file")
        if (($? == 124)); then
            (umask 0027 && printf '%s, ERROR, timed out after %ss\n' "$(date '+%Y-%m-%d %H:%M:%S')" "${timeout:-20}" >>"$log")
        fi
        continue
    fi
    if [[ ${output,,} == nagios ]]; then
        (umask 0027 && printf '%s, UNKNOWN, a Monitoring Plugins check (output: nagios) needs the runner: set SSI_RUN to ssi-run\n' \
            "$(date '+%Y-%m-%d %H:%M:%S')" >>"$log")
        continue
    fi
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
