# bash completion for sandbox(1)                           -*- shell-script -*-
#
# Install as $(pkg-config --variable=completionsdir bash-completion)/sandbox
# or source it from ~/.bashrc.  Works with or without the bash-completion
# package (which, when present, is used to complete the command after "--").

# COMPREPLY=($(compgen ...)) is the usual idiom; IFS is set where words may
# contain blanks.
# shellcheck disable=SC2207

# Print the names of the profiles found in the profile directories, one a line.
_sandbox_profile_names()
{
    local dir f
    for dir in "${XDG_CONFIG_HOME:-$HOME/.config}/sandbox/profiles" \
        /usr/local/share/sandbox/profiles /usr/share/sandbox/profiles; do
        [[ -d $dir ]] || continue
        for f in "$dir"/*.toml; do
            [[ -f $f ]] || continue
            f=${f##*/}
            printf '%s\n' "${f%.toml}"
        done
    done | LC_ALL=C sort -u
}

# Print the names of this user's sandboxes, one a line: the directories in the
# state directory ($XDG_RUNTIME_DIR/sandbox, or /run/user/UID/sandbox) that hold
# a record (NAME/record), running or exited.  Cheap: no process is started; a
# record left by a supervisor that died may be listed.
_sandbox_names()
{
    local dir=/run/user/$UID/sandbox d
    [[ ${XDG_RUNTIME_DIR-} == /* ]] && dir=$XDG_RUNTIME_DIR/sandbox
    [[ -d $dir ]] || return 0
    for d in "$dir"/[[:alnum:]]*; do
        [[ -d $d && ! -L $d && -f $d/record ]] || continue
        printf '%s\n' "${d##*/}"
    done
}

# Add completions for a PROFILE argument: profile names, *.toml files and
# directories (to reach more *.toml files).
_sandbox_complete_profile()
{
    local cur=$1 IFS=$'\n'
    local -a names=() files=() dirs=()
    if [[ $cur != */* ]]; then
        names=($(compgen -W "$(_sandbox_profile_names)" -- "$cur"))
    fi
    files=($(compgen -f -X '!*.toml' -- "$cur"))
    dirs=($(compgen -d -- "$cur"))
    COMPREPLY+=("${names[@]}" "${files[@]}" "${dirs[@]}")
    if ((${#files[@]} + ${#dirs[@]})); then
        compopt -o filenames 2>/dev/null
        if ((${#COMPREPLY[@]} == 1 && ${#dirs[@]} == 1)); then
            compopt -o nospace 2>/dev/null
        fi
    fi
}

# Add completions for the value of option $1, the word being completed being $2.
_sandbox_complete_value()
{
    local opt=$1 cur=$2
    case $opt in
        --user-mode)
            COMPREPLY+=($(compgen -W 'root keep-id' -- "$cur"))
            ;;
        --network)
            COMPREPLY+=($(compgen -W 'none slirp host' -- "$cur"))
            ;;
        --cwd)
            local IFS=$'\n'
            COMPREPLY+=($(compgen -d -- "$cur"))
            compopt -o filenames 2>/dev/null
            ;;
        -e | --env)
            # NAME=VALUE: offer the names of exported variables, followed by "=".
            if [[ $cur != *=* ]]; then
                COMPREPLY+=($(compgen -e -S = -- "$cur"))
                compopt -o nospace 2>/dev/null
            fi
            ;;
        --violations)
            COMPREPLY+=($(compgen -f -- "$cur"))
            ;;
        --rlimit)
            COMPREPLY+=($(compgen -W 'nofile= nproc= core= fsize= as= cpu= stack= memlock=' -- "$cur"))
            compopt -o nospace 2>/dev/null
            ;;
        -s | --signal)
            # The signals a sandbox passes to its command, and KILL.
            COMPREPLY+=($(compgen -W 'TERM INT HUP QUIT USR1 USR2 WINCH KILL' -- "$cur"))
            ;;
        # free text (-w: a directory inside the sandbox, not here)
        --hostname | --name | --memory | --cpus | --pids | --timeout | --json-status-fd | -w | --workdir | -t | --time | --tail) ;;
    esac
}

# Complete the command line from word $1 (an index in COMP_WORDS) on as a
# command of its own: after "--" of run and shell, after NAME of exec.
_sandbox_complete_command()
{
    local first=$1 cur=$2
    if ((COMP_CWORD == first)); then
        COMPREPLY=($(compgen -c -- "$cur"))
    elif declare -F _comp_command_offset >/dev/null; then
        _comp_command_offset "$first"
    elif declare -F _command_offset >/dev/null; then
        _command_offset "$first"
    else
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
        compopt -o filenames 2>/dev/null
    fi
}

# The subcommands that take sandbox names: pause, resume, stats, exec, enter,
# attach, inspect, stop, kill, wait, logs (NAME), rm (NAME...).  Their options, option values,
# the names, and for exec the command after NAME.  Uses _sandbox's words, raw,
# cword, cur, prev, sub and subi.
_sandbox_complete_named()
{
    local opts='-h --help' value_opts='' i w
    case $sub in
        stats | inspect) opts+=' --json' ;;
        exec | enter)
            opts+=' -e --env -w --workdir -t --tty'
            value_opts='-e|--env|-w|--workdir'
            ;;
        stop)
            opts+=' -t --time'
            value_opts='-t|--time'
            ;;
        kill)
            opts+=' -s --signal'
            value_opts='-s|--signal'
            ;;
        logs)
            opts+=' -f --follow --tail'
            value_opts='--tail'
            ;;
        attach) opts+=' --no-stdin' ;;
        diff) opts+=' --stat --json' ;;
        commit)
            opts+=' -f --force --violations'
            value_opts='--violations'
            ;;
    esac

    # The names given so far (exec: the first word that is not an option, after
    # which everything is the command's).
    local -a given=()
    local namei=0
    for ((i = subi + 1; i < cword; i++)); do
        w=${words[i]}
        if [[ -n $value_opts && $w == @($value_opts) ]]; then
            ((i++))
            continue
        fi
        case $w in
            -*) ;;
            *)
                given+=("$w")
                if [[ $sub == exec ]]; then
                    namei=$i
                    break
                fi
                ;;
        esac
    done

    # exec NAME [--] COMMAND [ARG...]
    if ((namei)); then
        local first=$((namei + 1))
        if ((first < cword)) && [[ ${words[first]} == -- ]]; then
            ((first++))
        elif ((first == cword)) && [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W '--' -- "$cur"))
            return 0
        fi
        _sandbox_complete_command $((raw[first - 1] + 1)) "$cur"
        return 0
    fi

    # The value of an option: "--opt VALUE" or "--opt=VALUE".
    if [[ -n $value_opts ]] && _sandbox_complete_option_value "$value_opts"; then
        return 0
    fi

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return 0
    fi

    # NAME, once; rm takes several (each offered once).
    [[ $sub != rm ]] && ((${#given[@]})) && return 0
    local name g
    local -a names=()
    while IFS= read -r name; do
        for g in "${given[@]}"; do
            [[ $g == "$name" ]] && continue 2
        done
        names+=("$name")
    done < <(_sandbox_names)
    local IFS=$'\n'
    COMPREPLY=($(compgen -W "${names[*]}" -- "$cur"))
}

# Completes the value of one of the options in $1 (an extglob pattern, "-a|--all") when the word
# being completed is one ("--opt VALUE" or "--opt=VALUE"); false otherwise.  Uses _sandbox's cur
# and prev.
_sandbox_complete_option_value()
{
    local value_opts=$1
    if [[ $prev == @($value_opts) ]]; then
        _sandbox_complete_value "$prev" "$cur"
        return 0
    fi
    if [[ $cur == --*=* ]]; then
        local opt=${cur%%=*} val=${cur#*=}
        if [[ $opt == @($value_opts) ]]; then
            _sandbox_complete_value "$opt" "$val"
            # Without "=" in COMP_WORDBREAKS bash replaces the whole word.
            if [[ $COMP_WORDBREAKS != *=* ]]; then
                COMPREPLY=("${COMPREPLY[@]/#/$opt=}")
            fi
        fi
        return 0
    fi
    return 1
}

_sandbox()
{
    COMPREPLY=()

    # Re-join words that bash split at "=" (COMP_WORDBREAKS), so that
    # "--user-mode=ro" and "-e FOO=bar" are one word each.  raw[k] is the
    # index in COMP_WORDS of the last piece of words[k].
    local -a words=() raw=()
    local cword=0 j w glue=0
    for ((j = 0; j < ${#COMP_WORDS[@]}; j++)); do
        w=${COMP_WORDS[j]}
        if ((j > 1 && ${#words[@]} > 1)) && { [[ $w == = ]] || ((glue)); }; then
            words[${#words[@]} - 1]+=$w
            raw[${#raw[@]} - 1]=$j
        else
            words+=("$w")
            raw+=("$j")
        fi
        glue=0
        [[ $w == = ]] && glue=1
        ((j == COMP_CWORD)) && cword=$((${#words[@]} - 1))
    done
    ((COMP_CWORD >= ${#COMP_WORDS[@]})) && { words+=(""); raw+=("$COMP_CWORD"); cword=$((${#words[@]} - 1)); }
    local cur=${words[cword]}
    local prev=
    ((cword > 0)) && prev=${words[cword - 1]}

    local subcommands='run shell check ps pause resume stats exec enter attach inspect stop kill wait logs rm diff commit discard doctor desktop'
    local global_opts='-h --help --version'
    local run_opts='-h --help --dry-run -v --verbose --hostname --cwd -e --env --network -p --publish --user-mode
        --name --memory --cpus --pids --rlimit --timeout --violations --json-status-fd -d --detach -t --tty --rm --overlay --learn'
    local check_opts='-h --help -v --verbose'
    local value_opts='--hostname|--cwd|-e|--env|--network|-p|--publish|--user-mode|--name|--memory|--cpus|--pids|--rlimit|--timeout|--violations|--json-status-fd'

    # The subcommand is the first word that is not an option (the global
    # options take no value).
    local i sub='' subi=0
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -*) ;;
            *)
                sub=${words[i]}
                subi=$i
                break
                ;;
        esac
    done

    if [[ -z $sub ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
        fi
        return 0
    fi

    case $sub in
        run | shell | check) ;;
        ps | doctor)
            if [[ $cur == -* ]]; then
                local opts='-h --help'
                [[ $sub == ps ]] && opts+=' --json -a --all'
                COMPREPLY=($(compgen -W "$opts" -- "$cur"))
            fi
            return 0
            ;;
        pause | resume | stats | exec | enter | attach | inspect | stop | kill | wait | logs | rm | diff | commit | discard)
            _sandbox_complete_named
            return 0
            ;;
        desktop)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W '-h --help --name --icon' -- "$cur"))
            elif ((cword == subi + 1)); then
                COMPREPLY=($(compgen -W 'install list remove launch' -- "$cur"))
            elif [[ $prev == --icon ]]; then
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            return 0
            ;;
        *) return 0 ;;
    esac

    # Walk the words of the subcommand: find "--" and count positionals.
    local dashdash=0 npos=0
    for ((i = subi + 1; i < cword; i++)); do
        w=${words[i]}
        if [[ $sub != check && $w == -- ]]; then
            dashdash=$i
            break
        fi
        case $w in
            --hostname | --cwd | -e | --env | --network | -p | --publish | --user-mode | --name | --memory | --cpus | --pids | --rlimit | --timeout | --violations | --json-status-fd)
                ((i++))
                ;;
            -*) ;;
            *) ((npos++)) ;;
        esac
    done

    # After "--": the command and its arguments.
    if ((dashdash)); then
        _sandbox_complete_command $((raw[dashdash] + 1)) "$cur"
        return 0
    fi

    # The value of an option: "--opt VALUE" or "--opt=VALUE".
    if [[ $sub != check ]] && _sandbox_complete_option_value "$value_opts"; then
        return 0
    fi

    if [[ $cur == -* ]]; then
        if [[ $sub == check ]]; then
            COMPREPLY=($(compgen -W "$check_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$run_opts --" -- "$cur"))
        fi
        return 0
    fi

    if ((npos == 0)); then
        _sandbox_complete_profile "$cur"
        # "shell" needs no PROFILE: "sandbox shell -- COMMAND".
        [[ $sub == shell && -z $cur ]] && COMPREPLY+=(--)
    elif [[ $sub != check ]]; then
        COMPREPLY=($(compgen -W '--' -- "$cur"))
    fi
    return 0
}

complete -F _sandbox sandbox

# ex: filetype=sh
