#!/usr/bin/env bash
# Check that every subcommand and every long option that the sandbox binary's
# --help output lists is documented in the man page and known to each of the
# shell completions.
#
# Usage: tests/check-docs.sh SANDBOX_BINARY SOURCE_DIR
#
# How each file is checked:
#   man/sandbox.1             the option (roff "\-\-opt" counts) appears as a
#                             word; a subcommand appears in the SUBCOMMANDS section
#   completions/sandbox.bash  sourced and run: "sandbox -", "sandbox SUB -" and
#                             "sandbox " must offer the option or subcommand
#   completions/sandbox.fish  with fish installed, the same through
#                             "complete -C"; without it, "-l NAME" must appear
#   completions/_sandbox      the option appears in an _arguments spec
#                             ('--opt[...]', {-o,--opt=}, ...); a subcommand as
#                             a "NAME:description" entry
#
# Prints "PASS: ..." for each item found everywhere and "FAIL: ITEM missing
# from FILE" for each file an item is missing from; exits 0 when nothing is
# missing and 1 otherwise (2 on a usage error).

set -u -o pipefail

if (($# != 2)); then
    echo "usage: $0 SANDBOX_BINARY SOURCE_DIR" >&2
    exit 2
fi
bin=$1
src=$2

man_page=man/sandbox.1
bash_comp=completions/sandbox.bash
zsh_comp=completions/_sandbox
fish_comp=completions/sandbox.fish
doc_files=("$man_page" "$bash_comp" "$zsh_comp" "$fish_comp")
failures=0

fail()
{
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# Long options declared in a help text (option lines of the Options: section, which start with
# "-x," or "--"), once each, in order. Examples in the footer are not declarations.
long_options()
{
    grep -E -- '^ +-' | grep -oE -- '--[a-z][a-z-]*' | sed 's/-*$//' | awk '!seen[$0]++'
}

# --- Collect the help texts -------------------------------------------------

contexts=(@top run shell check ps pause resume stats exec enter attach inspect stop kill wait logs rm diff commit discard doctor desktop) # @top: no subcommand
declare -A help_text
for ctx in "${contexts[@]}"; do
    args=(--help)
    [[ $ctx != @top ]] && args=("$ctx" --help)
    out=$("$bin" "${args[@]}" 2>&1)
    rc=$?
    if ((rc != 0)); then
        fail "'${bin##*/} ${args[*]}' exited with status $rc"
    fi
    if [[ -z $out ]]; then
        fail "'${bin##*/} ${args[*]}' printed nothing"
    fi
    help_text[$ctx]=$out
done

# The subcommand names: the first word of each indented line of the
# top-level help's "Subcommands:" section (CLI11), up to a blank line or the
# next unindented line.
mapfile -t subcommands < <(awk '
    tolower($0) ~ /^subcommands:?[[:space:]]*$/ { in_section = 1; next }
    in_section && /^[[:space:]]*$/              { in_section = 0; next }
    in_section && /^[^[:space:]]/               { in_section = 0; next }
    in_section                                  { print $1 }
' <<<"${help_text[@top]}" | awk '!seen[$0]++')

# Every long option of every help text, and where each was listed.
options=()
declare -A option_contexts # option -> space-separated contexts
for ctx in "${contexts[@]}"; do
    while IFS= read -r o; do
        [[ -v option_contexts[$o] ]] || options+=("$o")
        option_contexts[$o]+="$ctx "
    done < <(long_options <<<"${help_text[$ctx]}")
done

if ((${#options[@]} == 0)); then
    fail "no long options found in the --help output of $bin"
fi
if ((${#subcommands[@]} == 0)); then
    fail "no subcommands found under 'Subcommands:' in '${bin##*/} --help'"
fi
# Every subcommand's options are checked: a new one must join `contexts` above.
for sub in "${subcommands[@]}"; do
    [[ -n ${help_text[$sub]+set} ]] || fail "subcommand $sub is not in tests/check-docs.sh's contexts: its options go unchecked"
done

# --- Read the documentation files -------------------------------------------

for f in "${doc_files[@]}"; do
    [[ -f $src/$f ]] || fail "$f does not exist in $src"
done

# The man page as plain words: roff escapes for '-' turned into '-', and the
# zero-width escapes and font changes dropped.
man_text=
man_subcommands=
if [[ -f $src/$man_page ]]; then
    man_text=$(sed -e 's/\\-/-/g' -e 's/\\(hy/-/g' -e 's/\\(en/-/g' \
        -e 's/\\[%&:]//g' -e 's/\\f\[[^]]*\]//g' -e 's/\\f(..//g' -e 's/\\f.//g' \
        "$src/$man_page")
    # The SUBCOMMANDS section, if there is one; otherwise the whole page.
    man_subcommands=$(awk '
        /^\.SH/ { in_section = ($0 ~ /SUBCOMMANDS/) }
        in_section
    ' <<<"$man_text")
    [[ -z $man_subcommands ]] && man_subcommands=$man_text
fi

# Comment lines dropped, so a name only mentioned in a comment does not count.
strip_comments()
{
    grep -v -E '^[[:space:]]*#' "$1"
}
zsh_text=
[[ -f $src/$zsh_comp ]] && zsh_text=$(strip_comments "$src/$zsh_comp")
fish_text=
[[ -f $src/$fish_comp ]] && fish_text=$(strip_comments "$src/$fish_comp")

# What the bash completion offers for a command line: ARGS are the words, the
# last one being completed.
bash_offers()
{
    bash --norc --noprofile -c '
        file=$1
        shift
        source "$file" >/dev/null 2>&1 || exit 1
        spec=$(complete -p sandbox 2>/dev/null) || exit 1
        [[ $spec =~ -F[[:space:]]+([^[:space:]]+) ]] || exit 1
        func=${BASH_REMATCH[1]}
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        "$func" sandbox "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" >/dev/null 2>&1
        printf "%s\n" "${COMPREPLY[@]}"
    ' check-docs "$src/$bash_comp" "$@"
}

# What the fish completion offers for a command line ending in the word being
# completed.
have_fish=0
command -v fish >/dev/null 2>&1 && have_fish=1
fish_offers()
{
    # shellcheck disable=SC2016 # $argv is fish's, expanded by fish
    fish --no-config -c 'source $argv[1]; and complete -C $argv[2]' \
        "$src/$fish_comp" "$1" 2>/dev/null | cut -f1
}
if [[ -f $src/$fish_comp ]] && ((!have_fish)); then
    echo "NOTE: fish is not installed; $fish_comp checked as text only"
fi

declare -A bash_menu fish_menu # context -> offered words
if [[ -f $src/$bash_comp ]]; then
    bash_menu[subcommands]=$(bash_offers sandbox "")
    bash_menu[@top]=$(bash_offers sandbox -)
    for ctx in "${subcommands[@]}"; do
        bash_menu[$ctx]=$(bash_offers sandbox "$ctx" -)
    done
fi
if [[ -f $src/$fish_comp ]] && ((have_fish)); then
    fish_menu[subcommands]=$(fish_offers 'sandbox ')
    fish_menu[@top]=$(fish_offers 'sandbox -')
    for ctx in "${subcommands[@]}"; do
        fish_menu[$ctx]=$(fish_offers "sandbox $ctx -")
    done
fi

# --- Check ------------------------------------------------------------------

# has_word TEXT WORD: WORD occurs in TEXT, not as part of a longer name.
has_word()
{
    local re=$2
    re=${re//./\\.}
    grep -qE -- "(^|[^[:alnum:]_-])${re}(\$|[^[:alnum:]_-])" <<<"$1"
}

# has_line TEXT LINE: TEXT has LINE as one of its lines.
has_line()
{
    grep -qxF -- "$2" <<<"$1"
}

# zsh: an _arguments option spec ('--opt[descr]', '--opt=[descr]:...',
# {-o,--opt}'[descr]', '(- :)--opt[descr]') and a "NAME:description" entry of
# the subcommand list.
zsh_has_option()
{
    grep -qE -- "(^|['{,)*])${1}([]=+,}':[]|\$)" <<<"$zsh_text"
}
zsh_has_subcommand()
{
    grep -qE -- "(^|['\"[:space:]])${1}:" <<<"$zsh_text"
}

# missing_from FILE LABEL [WHERE]
missing_from()
{
    fail "$2 missing from $1${3:+ ($3)}"
    missing=1
}

check_subcommand()
{
    local s=$1
    missing=0
    [[ -f $src/$man_page ]] && ! has_word "$man_subcommands" "$s" &&
        missing_from "$man_page" "subcommand $s" "SUBCOMMANDS section"
    [[ -f $src/$bash_comp ]] && ! has_line "${bash_menu[subcommands]}" "$s" &&
        missing_from "$bash_comp" "subcommand $s" "sandbox <TAB>"
    [[ -f $src/$zsh_comp ]] && ! zsh_has_subcommand "$s" &&
        missing_from "$zsh_comp" "subcommand $s"
    if [[ -f $src/$fish_comp ]]; then
        if ((have_fish)); then
            ! has_line "${fish_menu[subcommands]}" "$s" &&
                missing_from "$fish_comp" "subcommand $s" "sandbox <TAB>"
        else
            ! has_word "$fish_text" "$s" && missing_from "$fish_comp" "subcommand $s"
        fi
    fi
    ((missing)) || echo "PASS: subcommand $s in ${doc_files[*]}"
}

check_option()
{
    local o=$1 ctx where
    missing=0
    [[ -f $src/$man_page ]] && ! has_word "$man_text" "$o" &&
        missing_from "$man_page" "$o"
    [[ -f $src/$zsh_comp ]] && ! zsh_has_option "$o" &&
        missing_from "$zsh_comp" "$o"
    for ctx in ${option_contexts[$o]}; do
        where="sandbox -<TAB>"
        [[ $ctx != @top ]] && where="sandbox $ctx -<TAB>"
        [[ -f $src/$bash_comp ]] && ! has_line "${bash_menu[$ctx]-}" "$o" &&
            missing_from "$bash_comp" "$o" "$where"
        [[ -f $src/$fish_comp ]] && ((have_fish)) && ! has_line "${fish_menu[$ctx]-}" "$o" &&
            missing_from "$fish_comp" "$o" "$where"
    done
    if [[ -f $src/$fish_comp ]] && ((!have_fish)); then
        # fish spells long options "-l NAME" or "--long-option NAME".
        grep -qE -- "(^|[[:space:]])(-l|--long-option)[[:space:]]+['\"]?${o#--}(\$|['\"[:space:]])" \
            <<<"$fish_text" || missing_from "$fish_comp" "$o"
    fi
    ((missing)) || echo "PASS: $o in ${doc_files[*]}"
}

for s in "${subcommands[@]}"; do
    check_subcommand "$s"
done
for o in "${options[@]}"; do
    check_option "$o"
done

if ((failures)); then
    echo "$failures problem(s) found"
    exit 1
fi
exit 0
