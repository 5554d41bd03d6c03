"""Detectors that look inside what an agent asks to do; standalone for now, not wired into the policy.

``validated`` holds personal-data detectors whose format carries a check (Luhn cards, mod-97 IBANs, IP
addresses); they implement the scanner's ``Detector`` protocol (``agentgov.policy.lang.scanner``).

``analyze(command)`` parses a shell command with tree-sitter-bash and returns ``ShellFinding`` objects:

| category | severity | what |
|---|---|---|
| ``download_exec`` | 95 | curl/wget output piped or substituted into sh, bash, python, perl, eval, source, ``at`` |
| ``reverse_shell`` | 95 | ``/dev/tcp``, ``nc -e``, ``nc … | sh``, ``socat … exec:``, socket one-liners |
| | | (also in text typed into a REPL) |
| ``bind_shell`` | 90 | ``nc -l … -e``, ``socat TCP-LISTEN … EXEC``, listening socket one-liners |
| ``shell_escape`` | 90 | a shell spawned by a program that is not a shell: a shell path as its argument or value |
| | | (``nsenter /bin/sh``, ``--rsh=/bin/sh``), ``find -exec sh``, wrappers (``nice``/``timeout``/``strace`` |
| | | ``sh``), ``vim -c ':!sh'``, ``!sh``, ``PAGER=/bin/sh``, awk/one-liner ``system("/bin/sh")``, ``sed`` |
| | | ``e sh``, a shell bound to the terminal (``sh </dev/tty``, ``sh 1>&0``), shell-spawning text written |
| | | to a file or piped to ``m4``/``gdb``…, a shell binary copied or bind-mounted under another name; |
| | 60 | a program told to run another program: hook options and ``key=value`` settings whose value is a |
| | | path (``--password-command=``, ``-o ProxyCommand=``, ``--checkpoint-action=exec=``, ``core.pager=``), |
| | | hook variables (``*PAGER``, ``*EDITOR``, ``LESSOPEN``, ``*_COMMAND``), one-liners running commands, |
| | | ``sed`` ``e``/``s///e`` (strings run this way are analysed as well) |
| ``interactive_shell`` | 60 | a shell with nothing to run (``bash``, ``sh -i``, ``/bin/sh``) or a program that |
| | | starts one (``script``, ``chroot DIR``, ``newgrp``): reviewed, not denied - a person may want it, but |
| | | what is typed into it later never reaches the analyzer as a command |
| ``library_load`` | 90 | ``LD_PRELOAD``/``LD_AUDIT``/``DYLD_INSERT_LIBRARIES``, a ``.so`` handed to a loading option |
| | | (``--engine``, ``-D``, ``ladspa=``, ``load``, ``enable -f``), ``ctypes``/``dlopen``/``Fiddle`` one-liners; |
| | 60-75 | ``LD_LIBRARY_PATH``, a ``.so`` argument to another program, ``ldconfig -f``, config text loading a ``.so`` |
| ``destructive`` | 90-100 | recursive delete of ``/``, home or system paths, ``--no-preserve-root``, ``mkfs``, |
| | | ``dd``/``>``/``shred`` to disks, fork bombs, recursive ``chmod``/``chown`` of system paths; |
| | 60 | ``rm -rf *`` |
| ``privilege_escalation`` | 90 | setuid bits and capabilities, ``sh -p``, writes or loosened permissions on |
| | | sudoers/passwd/shadow, a container mounting the host root (``-v /:/mnt``); |
| | 85 | ``sudo su``/``-s``/``-i``/``bash`` (a root shell, reviewed), uid-0 accounts, editing account files; |
| | 60-75 | local package files installed (``dpkg -i x.deb``, ``rpm -i``, ``pacman -U``), privileged |
| | | containers, passwords set through a pipe (``| passwd``), setgid bits (50) |
| ``persistence`` | 75 | crontab, cron dirs, ``systemctl enable``, systemd units, shell rc files, |
| | | ``authorized_keys``, launchd; 60: ``echo … | at``/``batch`` |
| ``credential_access`` | 70 | reading ``~/.ssh/id_*``, ``~/.aws``, ``.env``, ``/proc/*/environ``, keychains, |
| | | browser stores, ``/etc/shadow`` |
| ``exfiltration`` | 90 | credential files or the environment sent to network tools, DNS queries built from |
| | | command output, uploads to paste/webhook/tunnel hosts; 75 other traffic to those hosts; |
| | 60 | plain file uploads, public tunnels (ngrok, cloudflared) |
| ``evasion`` | 70-90 | history clearing, ``HISTFILE=/dev/null``, stopping logging/auditing, decoded payloads fed to a |
| | | shell, ``$'\\x..'`` strings, variable indirection (``${!x}``, ``$a$b``) |
| ``parse_error`` | 30 | the command does not parse as bash (findings from the parts that do parse still come, and |
| | | text that is not bash - lines typed into a REPL - is checked as code) |
| ``truncated`` | 60 | cut at 1,536 bytes or a node, depth or parse limit: the rest was not analysed, so it is |
| | | reviewed - an unread tail could hide anything |

Severity 90 and above is what the default bundle denies, 60 what it reviews. A program spawning a shell is
denied because no agent task needs an editor, pager or wrapper to open a shell (it can run the command
directly) and the shell's input escapes analysis; a shell the agent opens itself, or a root shell through
``sudo``, is reviewed, since a person may grant it.
"""

from agentgov.policy.detect.shell import ShellFinding, analyze

__all__ = ["ShellFinding", "analyze"]
