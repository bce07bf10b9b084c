#!/usr/bin/env bats
# The man page, doc/pybpfprof.8, against the program: it formats without
# warnings, and it documents every option, format and example that
# `pybpfprof --help` shows. --help needs no root and loads no BPF, so
# these tests are cheap and run as any user.

bats_require_minimum_version 1.5.0
load helpers

# PYBPFPROF_MANPAGE: another page to check (e.g. a broken copy, to see
# these tests fail).
MANPAGE=${PYBPFPROF_MANPAGE:-$BATS_TEST_DIRNAME/../doc/pybpfprof.8}

# The binary must be there: a missing one fails, it is not skipped.
require_binary() {
	if [ ! -x "$PYBPFPROF" ]; then
		echo "no pybpfprof binary at $PYBPFPROF: build it first" >&2
		return 1
	fi
}

# Sets HELP to the output of pybpfprof --help.
help_text() {
	require_binary
	HELP=$("$PYBPFPROF" --help)
	[[ "$HELP" == "Usage: pybpfprof"* ]]
}

# The page's source with the escapes that hide option text undone:
# "\-" is a hyphen, "\&" and "\%" print nothing.
man_source() {
	sed -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\%//g' "$MANPAGE"
}

# man_section NAME: the source lines of section NAME (from man_source
# on stdin), without its .SH line.
man_section() {
	awk -v name="$1" '
		/^\.SH/ {
			s = $0
			sub(/^\.SH[ \t]+/, "", s)
			gsub(/"/, "", s)
			on = (s == name)
			next
		}
		on'
}

# The page as plain ASCII text: what a reader sees and copies from.
render_man() {
	if command -v groff >/dev/null; then
		groff -man -Tascii -P -cbou "$MANPAGE"
	elif command -v man >/dev/null; then
		LC_ALL=C MANWIDTH=120 man -l "$MANPAGE" | sed 's/.\x08//g'
	else
		return 3
	fi
}

# Long options (--word) in the text on stdin, one a line, sorted.
long_options() {
	grep -oE -- '--[a-z][a-z-]*' | sort -u
}

# The options the help's option list defines: -X and --word, one a line.
help_options() {
	grep -E '^ +(-[A-Za-z], )?--[a-z]' <<<"$HELP" |
		sed -E 's/^ +(-([A-Za-z]), )?(--[a-z][a-z-]*).*/\2 \3/' | tr ' ' '\n' |
		sed '/^$/d; s/^\([A-Za-z]\)$/-\1/' | sort -u
}

# The options `pybpfprof agent --help` defines, one a line.
agent_help_options() {
	local HELP
	HELP=$("$PYBPFPROF" agent --help)
	help_options
}

# The options `pybpfprof diff --help` defines, one a line.
diff_help_options() {
	local HELP
	HELP=$("$PYBPFPROF" diff --help)
	help_options
}

# The subcommands the help's usage lines show ("pybpfprof top ...").
help_subcommands() {
	grep -oE '^ *(Usage: )?pybpfprof [a-z]+' <<<"$HELP" | awk '{ print $NF }' | sort -u
}

# Example command lines on stdin ("[sudo] pybpfprof ..."): print the
# subcommand and every flag given to pybpfprof itself, up to the first
# shell operator or "--" (what follows belongs to another program), sorted.
example_flags() {
	local line w i first
	local -a words
	while IFS= read -r line; do
		read -ra words <<<"$line"
		i=0
		[ "${words[0]:-}" = sudo ] && i=1
		[ "${words[i]:-}" = pybpfprof ] || continue
		first=1
		for w in "${words[@]:i+1}"; do
			case $w in
			'|' | '||' | '&&' | ';' | '&' | '>' | '>>' | '<' | '--') break ;;
			-*) echo "$w" ;;
			*) [ -n "$first" ] && [[ "$w" =~ ^[a-z]+$ ]] && echo "$w" ;;
			esac
			first=
		done
	done | sort -u
}

# The help's examples: command lines, comments and indentation dropped.
help_examples() {
	awk '/^Examples:/ { on = 1; next } on && /^[[:space:]]*$/ { exit } on' <<<"$HELP" |
		sed -E 's/[[:space:]]+#.*$//; s/^[[:space:]]+//; s/[[:space:]]+/ /g'
}

# The commands of the rendered page's EXAMPLES that run pybpfprof.
man_examples() {
	local text
	text=$(render_man) || return
	awk '/^EXAMPLES$/ { on = 1; next } on && /^[A-Z]/ { exit } on' <<<"$text" |
		sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//; s/[[:space:]]+/ /g' |
		grep -E '^(sudo )?pybpfprof( |$)'
}

@test "the man page formats without warnings" {
	if command -v groff >/dev/null; then
		run --separate-stderr groff -man -ww -z "$MANPAGE"
	elif command -v man >/dev/null; then
		run --separate-stderr man --warnings -l "$MANPAGE"
	else
		skip "neither groff nor man is installed: the man page's markup is not checked"
	fi
	echo "status $status, warnings:"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "every option and format of --help is in the man page" {
	help_text
	local src opts opt listed tags formats fmt exts ext heads missing=()
	src=$(man_source)

	# Every --word of the help appears in the page (py-spy's --rate too:
	# the help names it, and so must the page).
	opts=$(long_options <<<"$HELP")
	[ "$(wc -l <<<"$opts")" -ge 14 ]
	for opt in $opts; do
		grep -qE -- "${opt}([^a-z-]|\$)" <<<"$src" || missing+=("$opt")
	done

	# Every option the help defines, short and long, has an entry of its
	# own under OPTIONS: a .TP tag.
	listed=$(help_options)
	[ "$(wc -l <<<"$listed")" -ge 20 ]
	tags=$(man_section OPTIONS <<<"$src" | awk 'prev == ".TP" { print } { prev = $0 }')
	for opt in $listed; do
		grep -qE -- "(^|[^A-Za-z-])${opt}([^A-Za-z-]|\$)" <<<"$tags" ||
			missing+=("OPTIONS entry for $opt")
	done

	# Every format on the help's -f line has a subsection under FORMATS.
	formats=$(grep -E '^ +-f, --format' <<<"$HELP" | sed -E 's/.*--format +[A-Z]+ +//; s/\(default\)//' |
		tr -s ', ' '\n' | sed '/^$/d')
	[ "$(wc -w <<<"$formats")" -ge 6 ]
	heads=$(man_section FORMATS <<<"$src" | grep -E '^\.SS ')
	for fmt in $formats; do
		grep -qE "^\.SS \"?${fmt}( |\"|\$)" <<<"$heads" || missing+=("FORMATS subsection $fmt")
	done

	# Every extension the help's -o text names is in a FORMATS heading.
	exts=$(awk '/^ +-o, --output/ { on = 1; print; next }
		on && /^ +-/ { exit } on' <<<"$HELP" | grep -oE '\.[a-z][a-z.]*[a-z]' | sort -u)
	[ "$(wc -w <<<"$exts")" -ge 8 ]
	for ext in $exts; do
		grep -qF -- "$ext" <<<"$heads" || missing+=("extension $ext under FORMATS")
	done

	if [ "${#missing[@]}" -gt 0 ]; then
		printf 'missing from %s: %s\n' "$MANPAGE" "${missing[@]}" >&2
		return 1
	fi
}

# assert_tp_entries COMMAND MIN: every option COMMAND --help lists (at
# least MIN of them) is the tag of a .TP entry somewhere in the man page
# (a subcommand's own options are under COMMANDS, COMMAND).
assert_tp_entries() {
	local src listed tags opt missing=()
	src=$(man_source)
	listed=$("$1"_help_options)
	[ "$(wc -l <<<"$listed")" -ge "$2" ]
	tags=$(awk 'prev == ".TP" { print } { prev = $0 }' <<<"$src")
	for opt in $listed; do
		grep -qE -- "(^|[^A-Za-z-])${opt}([^A-Za-z-]|\$)" <<<"$tags" ||
			missing+=("$opt")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "$1 options without an entry in $MANPAGE: ${missing[*]}" >&2
		return 1
	fi
}

@test "every option of agent --help has its entry in the man page" {
	require_binary
	assert_tp_entries agent 18
}

@test "every option of diff --help has its entry in the man page" {
	require_binary
	assert_tp_entries diff 9
}

@test "the man page's examples are the help's" {
	help_text
	local help_ex man_ex line listed flag extra=()
	render_man >/dev/null || skip "neither groff nor man is installed: cannot render the page"
	# The main help's examples, the agent's and the diff's, without repeats.
	help_ex=$(help_examples; HELP=$("$PYBPFPROF" agent --help) help_examples
		HELP=$("$PYBPFPROF" diff --help) help_examples)
	help_ex=$(awk '!seen[$0]++' <<<"$help_ex")
	man_ex=$(man_examples)
	echo "help's examples:"
	echo "$help_ex"
	echo "man page's examples:"
	echo "$man_ex"
	[ -n "$help_ex" ]
	[ -n "$man_ex" ]

	# Every flag (and subcommand) of the page's examples is one the help lists.
	listed=$(help_options; help_subcommands; agent_help_options; diff_help_options)
	for flag in $(example_flags <<<"$man_ex"); do
		grep -qxF -- "$flag" <<<"$listed" || extra+=("$flag")
	done
	if [ "${#extra[@]}" -gt 0 ]; then
		echo "the page's examples use what --help does not list: ${extra[*]}" >&2
		return 1
	fi

	# The same subcommand and flags, on both sides.
	diff -u <(example_flags <<<"$help_ex") <(example_flags <<<"$man_ex")

	# And each example of the help reads the same on the page, so it can
	# be copied from either.
	while IFS= read -r line; do
		grep -qxF -- "$line" <<<"$man_ex" || extra+=("$line")
	done <<<"$help_ex"
	if [ "${#extra[@]}" -gt 0 ]; then
		printf 'not among the page'"'"'s examples: %s\n' "${extra[@]}" >&2
		return 1
	fi
}

@test "the man page has its sections, both synopses and the version --version prints" {
	local src version s
	require_binary
	run "$PYBPFPROF" --version
	[ "$status" -eq 0 ]
	version=$output
	[[ "$version" =~ ^pybpfprof\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	src=$(man_source)
	# The footer (.TH) and every version quoted in the page.
	grep -E '^\.TH ' <<<"$src" | grep -qF "\"$version\""
	diff -u <(echo "$version") <(grep -oE 'pybpfprof [0-9]+\.[0-9]+\.[0-9]+' <<<"$src" | sort -u)
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS FORMATS OUTPUT SIGNALS \
		"EXIT STATUS" REQUIREMENTS SECURITY EXAMPLES "SEE ALSO"; do
		grep -qE "^\.SH \"?$s\"?\$" <<<"$src" || {
			echo "no section $s" >&2
			return 1
		}
	done
	man_section SYNOPSIS <<<"$src" | grep -qE '^\.B pybpfprof$'
	man_section SYNOPSIS <<<"$src" | grep -qE '^\.B pybpfprof top$'
	man_section SYNOPSIS <<<"$src" | grep -qE '^\.B pybpfprof diff$'
}
