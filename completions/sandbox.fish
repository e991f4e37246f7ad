# fish completion for sandbox(1)

# Print the names of the profiles in the profile directories.
function __sandbox_profile_names
    set -l config $HOME/.config
    set -q XDG_CONFIG_HOME; and test -n "$XDG_CONFIG_HOME"; and set config $XDG_CONFIG_HOME
    set -l names
    for dir in $config/sandbox/profiles /usr/local/share/sandbox/profiles /usr/share/sandbox/profiles
        set -l files $dir/*.toml
        for f in $files
            test -f $f; and set -a names (string replace -r '^.*/(.*)\.toml$' '$1' -- $f)
        end
    end
    test (count $names) -gt 0; or return 0
    printf '%s\tprofile\n' $names | sort -u
end

# Print the *.toml files and the directories that start with the word being completed.
function __sandbox_profile_files
    set -l cur (commandline -ct)
    set -l glob $cur
    # Expand a leading ~ for the glob and put it back in the results.
    string match -q -- '~/*' $cur; and set glob $HOME(string sub -s 2 -- $cur)
    set -l files $glob*.toml
    set -l dirs $glob*/
    for f in $files $dirs
        test -e $f; or continue
        string match -q -- '~/*' $cur; and set f '~'(string sub -s (math (string length -- $HOME) + 1) -- $f)
        echo $f
    end
end

# Print the names of this user's sandboxes, running or exited: the directories in
# the state directory ($XDG_RUNTIME_DIR/sandbox, or /run/user/UID/sandbox) that
# hold a record (NAME/record). Cheap: starts no process. The names given as
# arguments are left out.
function __sandbox_names
    set -l dir /run/user/(id -u)/sandbox
    set -q XDG_RUNTIME_DIR; and string match -q -- '/*' $XDG_RUNTIME_DIR; and set dir $XDG_RUNTIME_DIR/sandbox
    for d in $dir/*
        test -d $d; and not test -L $d; and test -f $d/record; or continue
        set -l name (string replace -r '^.*/' '' -- $d)
        string match -qr -- '^[A-Za-z0-9]' $name; or continue
        contains -- $name $argv; or printf '%s\tsandbox\n' $name
    end
end

# Print the subcommand on the command line, if any (the first word that is not an option).
function __sandbox_subcommand
    for t in (commandline -opc)[2..-1]
        switch $t
            case '-*'
                continue
            case '*'
                echo $t
                return 0
        end
    end
    return 1
end

# True when "--" (the end of sandbox's own arguments) is on the command line.
function __sandbox_after_dashdash
    set -l sub (__sandbox_subcommand); or return 1
    contains -- $sub run shell; or return 1
    contains -- -- (commandline -opc)
end

# True when the subcommand is one of $argv and "--" is not yet on the command line.
function __sandbox_using
    set -l sub (__sandbox_subcommand); or return 1
    contains -- $sub $argv; or return 1
    not __sandbox_after_dashdash
end

# Print how many positional arguments the subcommand has so far.
function __sandbox_npos
    set -l sub (__sandbox_subcommand)
    set -l seen 0
    set -l skip 0
    set -l n 0
    for t in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        if test $seen = 0
            string match -q -- '-*' $t; or set seen 1
            continue
        end
        switch $t
            case --hostname --cwd -e --env --network -p --publish --user-mode --name --memory --cpus --pids --rlimit --timeout --violations --json-status-fd -w --workdir -s --signal --tail
                set skip 1
            case -t --time
                # stop's grace period; -t of exec and enter is a flag
                test "$sub" = stop; and set skip 1
            case '-*'
            case '*'
                set n (math $n + 1)
        end
    end
    echo $n
end

# True when the word being completed is the PROFILE argument.
function __sandbox_wants_profile
    __sandbox_using run shell check; or return 1
    test (__sandbox_npos) = 0
end

# True when the word being completed is the NAME of pause, resume, stats, exec,
# enter, attach, inspect, stop, kill, wait or logs.
function __sandbox_wants_name
    __sandbox_using pause resume stats exec enter attach inspect stop kill wait logs diff commit discard; or return 1
    test (__sandbox_npos) = 0
end

# True before the NAME of exec: its options come before NAME, what follows is the command's.
function __sandbox_exec_options
    __sandbox_using exec; or return 1
    test (__sandbox_npos) = 0
end

# True after the NAME of exec: the word being completed belongs to the command.
function __sandbox_exec_command
    __sandbox_using exec; or return 1
    test (__sandbox_npos) -ge 1
end

# True right after the NAME of exec, where "--" may come before the command.
function __sandbox_exec_wants_dashdash
    __sandbox_exec_command; or return 1
    test (count (__sandbox_command_words)) = 0; or return 1
    test (commandline -opc)[-1] != --
end

# True after the PROFILE of run or shell (only "--" may follow), or right after
# "shell", whose PROFILE is optional.
function __sandbox_wants_dashdash
    __sandbox_using run shell; or return 1
    set -l n (__sandbox_npos)
    test $n -ge 1; or test (__sandbox_subcommand) = shell
end

# Print the words of the command line that belong to the command: those after
# "--" (run, shell), or after the NAME of exec and a "--" that follows it.
function __sandbox_command_words
    set -l tokens (commandline -opc)
    set -l n (count $tokens)
    set -l start 0
    if test (__sandbox_subcommand) = exec
        set -l seen 0
        set -l skip 0
        for i in (seq 2 $n)
            set -l t $tokens[$i]
            if test $skip = 1
                set skip 0
                continue
            end
            if test $seen = 0
                string match -q -- '-*' $t; or set seen 1
                continue
            end
            switch $t
                case -e --env -w --workdir
                    set skip 1
                case '-*'
                case '*'
                    set start (math $i + 1)
                    break
            end
        end
        test $start -gt 0; or return 0
        test $start -le $n; and test "$tokens[$start]" = --; and set start (math $start + 1)
    else
        set -l i (contains -i -- -- $tokens); or return 0
        set start (math $i + 1)
    end
    test $start -le $n; and printf '%s\n' $tokens[$start..-1]
end

# Complete the command line after "--" (run, shell) or after NAME (exec) as a
# command of its own.
function __sandbox_complete_command
    set -l rest (__sandbox_command_words)
    set -l current (commandline -ct)
    if test (count $rest) -eq 0
        complete --do-complete="$current"
    else
        complete --do-complete=(string join ' ' -- (string escape -- $rest) "$current")
    end
end

# Offer no file names unless asked for below.
complete -c sandbox -f

# Global options and subcommands.
complete -c sandbox -n 'not __sandbox_subcommand' -s h -l help -d 'Print this help message and exit'
complete -c sandbox -n 'not __sandbox_subcommand' -l version -d 'Display program version information and exit'
complete -c sandbox -n 'not __sandbox_subcommand' -a run -d 'Run a command in a new sandbox'
complete -c sandbox -n 'not __sandbox_subcommand' -a shell -d 'Run a shell in a new sandbox (profile "shell" by default)'
complete -c sandbox -n 'not __sandbox_subcommand' -a check -d 'Validate a profile and print the effective profile'
complete -c sandbox -n 'not __sandbox_subcommand' -a ps -d 'List your running sandboxes (--all: and the exited ones)'
complete -c sandbox -n 'not __sandbox_subcommand' -a pause -d 'Freeze every process of a sandbox'
complete -c sandbox -n 'not __sandbox_subcommand' -a resume -d 'Thaw a paused sandbox'
complete -c sandbox -n 'not __sandbox_subcommand' -a stats -d 'Print cpu time, memory, pids, io and OOM kills of a sandbox'
complete -c sandbox -n 'not __sandbox_subcommand' -a exec -d 'Run a command in a running sandbox'
complete -c sandbox -n 'not __sandbox_subcommand' -a enter -d 'Run the sandbox\'s shell in a running sandbox'
complete -c sandbox -n 'not __sandbox_subcommand' -a attach -d 'Connect your terminal to a detached sandbox'
complete -c sandbox -n 'not __sandbox_subcommand' -a inspect -d 'Print the plan and the live state of a running sandbox'
complete -c sandbox -n 'not __sandbox_subcommand' -a stop -d 'Stop a sandbox: TERM, KILL after the grace period'
complete -c sandbox -n 'not __sandbox_subcommand' -a kill -d 'Send a signal to the command of a sandbox'
complete -c sandbox -n 'not __sandbox_subcommand' -a wait -d 'Wait until a sandbox exits; print its exit code'
complete -c sandbox -n 'not __sandbox_subcommand' -a logs -d 'Print the output of a detached sandbox'
complete -c sandbox -n 'not __sandbox_subcommand' -a rm -d 'Remove exited sandboxes: their records and logs'
complete -c sandbox -n 'not __sandbox_subcommand' -a diff -d 'Show the kept changes of a sandbox'
complete -c sandbox -n 'not __sandbox_subcommand' -a commit -d 'Apply the kept changes of a sandbox'
complete -c sandbox -n 'not __sandbox_subcommand' -a discard -d 'Throw away the kept changes of sandboxes'
complete -c sandbox -n 'not __sandbox_subcommand' -a desktop -d 'Menu entries that start apps in their sandboxes'
complete -c sandbox -n '__sandbox_using desktop' -a 'install list remove launch'
complete -c sandbox -n '__sandbox_using desktop' -l name -r -d 'The entry\'s and the sandbox\'s name'
complete -c sandbox -n '__sandbox_using desktop' -l icon -r -F -d 'An icon copied for the entry'
complete -c sandbox -n 'not __sandbox_subcommand' -a doctor -d 'Print what this host can isolate and enforce'

# run and shell.
set -l rs '__sandbox_using run shell'
complete -c sandbox -n $rs -s h -l help -d 'Print this help message and exit'
complete -c sandbox -n $rs -l dry-run -d 'Print the plan and exit'
complete -c sandbox -n $rs -s v -l verbose -d 'Log every setup stage to stderr'
complete -c sandbox -n $rs -l hostname -x -d 'Override the profile\'s hostname'
complete -c sandbox -n $rs -l cwd -x -a '(__fish_complete_directories (commandline -ct))' -d 'Working directory inside the sandbox'
complete -c sandbox -n $rs -s e -l env -x -a '(set -nx | string replace -r \'$\' =)' -d 'Set NAME=VALUE inside the sandbox'
complete -c sandbox -n $rs -l network -x -a 'none slirp host' -d 'Override the profile\'s network mode'
complete -c sandbox -n $rs -s p -l publish -x -d 'Forward [ADDRESS:]HOSTPORT:PORT[/udp] into the sandbox'
complete -c sandbox -n $rs -l user-mode -x -a 'root keep-id' -d 'Override the profile\'s user mode'
complete -c sandbox -n $rs -l name -x -d 'Name of the sandbox (for ps, exec, attach, stop, ...)'
complete -c sandbox -n $rs -l memory -x -d 'Override the memory limit (memory.max), e.g. 512M'
complete -c sandbox -n $rs -l cpus -x -d 'Override the CPU limit (cpu.max), e.g. 1.5'
complete -c sandbox -n $rs -l pids -x -d 'Override the process limit (pids.max)'
complete -c sandbox -n $rs -l rlimit -x -a 'nofile= nproc= core= fsize= as= cpu= stack= memlock=' -d 'Set a resource limit NAME=SOFT[:HARD]'
complete -c sandbox -n $rs -l timeout -x -d 'Stop the sandbox after a duration (exit 124)'
complete -c sandbox -n $rs -l violations -r -F -d 'Record every refused system call as JSON lines'
complete -c sandbox -n $rs -l json-status-fd -x -d 'Write start and exit events as JSON lines to descriptor FD'
complete -c sandbox -n $rs -s d -l detach -d 'Run in the background: print the name; output to the log'
complete -c sandbox -n $rs -s t -l tty -d 'With --detach: a pty of its own, for sandbox attach'
complete -c sandbox -n $rs -l rm -d 'With --detach: remove the record and log when the command ends'
complete -c sandbox -n $rs -l overlay -d 'The current directory behind an overlay; changes kept until commit or discard'
complete -c sandbox -n $rs -l learn -d 'Let refused system calls through and print the allow lines'
complete -c sandbox -n __sandbox_wants_dashdash -a -- -d 'End of options; a command follows'

# check.
set -l c '__sandbox_using check'
complete -c sandbox -n $c -s h -l help -d 'Print this help message and exit'
complete -c sandbox -n $c -s v -l verbose -d 'Also print the plan'

# ps, pause, resume, stats, enter, attach, stop, kill, wait, logs, rm, doctor.
complete -c sandbox -n '__sandbox_using ps pause resume stats enter attach inspect stop kill wait logs rm diff commit discard doctor desktop' -s h -l help -d 'Print this help message and exit'
complete -c sandbox -n '__sandbox_using ps' -l json -d 'Print a JSON array'
complete -c sandbox -n '__sandbox_using ps' -s a -l all -d 'Also list exited sandboxes (kept until sandbox rm)'
complete -c sandbox -n '__sandbox_using stats inspect' -l json -d 'Print a JSON object'
complete -c sandbox -n '__sandbox_using stop' -s t -l time -x -d 'Seconds between TERM and KILL (default 10)'
complete -c sandbox -n '__sandbox_using kill' -s s -l signal -x -a 'TERM INT HUP QUIT USR1 USR2 WINCH KILL' -d 'The signal (default KILL)'
complete -c sandbox -n '__sandbox_using attach' -l no-stdin -d 'Only watch: do not send what you type'
complete -c sandbox -n '__sandbox_using logs' -s f -l follow -d 'Keep printing output as it comes, until the sandbox ends'
complete -c sandbox -n '__sandbox_using logs' -l tail -x -d 'Only the last N lines'
complete -c sandbox -n '__sandbox_using diff' -l stat -d 'One line per change and a summary'
complete -c sandbox -n '__sandbox_using diff' -l json -d 'Print one JSON object per change'
complete -c sandbox -n '__sandbox_using commit' -s f -l force -d 'Commit conflicts and protected paths too'
complete -c sandbox -n '__sandbox_using commit' -l violations -r -F -d 'Record each protected path left out as JSON lines'

# exec (its options only before NAME) and enter.
set -l ee '__sandbox_exec_options; or __sandbox_using enter'
complete -c sandbox -n '__sandbox_exec_options' -s h -l help -d 'Print this help message and exit'
complete -c sandbox -n $ee -s e -l env -x -a '(set -nx | string replace -r \'$\' =)' -d 'Set NAME=VALUE for the command'
complete -c sandbox -n $ee -s w -l workdir -x -d 'Working directory inside the sandbox (absolute)'
complete -c sandbox -n $ee -s t -l tty -d 'A pty even when no standard stream is a terminal'

# NAME: a sandbox's name; rm takes several.
complete -c sandbox -n __sandbox_wants_name -a '(__sandbox_names)'
complete -c sandbox -n '__sandbox_using rm' -a '(__sandbox_names (commandline -opc))'

# PROFILE: a profile name or a *.toml file.
complete -c sandbox -n __sandbox_wants_profile -a '(__sandbox_profile_names)'
complete -c sandbox -n __sandbox_wants_profile -a '(__sandbox_profile_files)'

# After "--" (run, shell) or after the NAME of exec: the command and its arguments.
complete -c sandbox -n __sandbox_after_dashdash -a '(__sandbox_complete_command)'
complete -c sandbox -n __sandbox_exec_wants_dashdash -a -- -d 'End of options; the command follows'
complete -c sandbox -n __sandbox_exec_command -a '(__sandbox_complete_command)'
