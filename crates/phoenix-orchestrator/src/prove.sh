# shellcheck shell=sh
# The idmap and volume proof of one container in one `pct exec` (POSIX sh, busybox too).
# Arguments: steps, each a name and its operands: `cat FILE`, `stat PATH` (prints
# "uid gid"), `touch PATH`, `chown UID:GID PATH`. Each step's stdout and stderr are
# printed between markers with its exit code; the first failing step ends the run.
n=0
step() {
	printf '@@phoenix-proof %s\n' "$n"
	printf '@@phoenix-proof %s\n' "$n" >&2
	"$@"
	rc=$?
	printf '\n@@phoenix-proof-exit %s %s\n' "$n" "$rc"
	if [ "$rc" -ne 0 ]; then
		exit 0
	fi
}
while [ "$#" -gt 0 ]; do
	n=$((n + 1))
	case "$1" in
	cat)
		step cat "$2"
		shift 2
		;;
	stat)
		step stat -c '%u %g' "$2"
		shift 2
		;;
	touch)
		step touch "$2"
		shift 2
		;;
	chown)
		step chown "$2" "$3"
		shift 3
		;;
	*)
		printf 'unknown proof step %s\n' "$1" >&2
		exit 2
		;;
	esac
done
