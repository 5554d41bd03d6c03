"""Tables and patterns the shell analyzer matches against: names of tools by role and sensitive paths.

Pure data, compiled at import time. Names are compared against a command's basename (``/usr/bin/curl`` is
``curl``).
"""

from __future__ import annotations

import re
from typing import Final


def _words(text: str) -> frozenset[str]:
    """A set from whitespace-separated names (long tables read better as text)."""
    return frozenset(text.split())


SHELLS: Final = _words(
    "sh bash zsh dash ksh ash fish csh tcsh mksh rbash yash sash posh pdksh oksh loksh rc elvish xonsh"
)
#: Wrappers that switch user: a shell under them is a root shell (``privilege_escalation``), not an escape.
PRIVILEGED_WRAPPERS: Final = _words("sudo doas su pkexec ksu runuser")
#: Wrappers that are shell builtins: ``exec bash`` is the current shell becoming bash, not another program.
#: ``env`` is here too: it only edits the environment, and ``env -i bash`` is the usual clean-shell idiom.
BUILTIN_WRAPPERS: Final = _words("exec command builtin env")
#: Programs that run what they read on stdin as shell commands, later or elsewhere.
STDIN_RUNNERS: Final = _words("at batch")
#: Programs whose input language can run commands (``echo 'esyscmd(…)' | m4``, ``echo '!sh' | ed``).
CODE_RUNNERS: Final = _words(
    "m4 ed ex vi vim gdb mysql psql sqlite3 expect tclsh wish bc dc R Rscript julia guile octave gnuplot "
    "jshell jjs irb lua python python2 python3 perl ruby node php ftp sftp lftp"
)
#: Programs that only print or look up their arguments: a shell path or library there is just text.
TEXT_TOOLS: Final = _words(
    "echo printf grep egrep fgrep rg ag which whereis type command file ls stat whatis apropos tldr help info "
    "readlink realpath cat head tail wc diff cmp strings md5sum sha1sum sha256sum sha512sum test [ "
    "hash alias shellcheck shfmt du ldd nm objdump readelf otool strip patchelf dpkg-query ps pgrep pkill "
    "killall lsof fuser chsh useradd usermod adduser update-alternatives"
)
INTERPRETERS: Final = frozenset(
    {"python", "python2", "python3", "perl", "ruby", "node", "nodejs", "php", "lua", "jrunscript", "tclsh", "deno"}
    | {"julia", "R", "Rscript", "guile", "slsh", "gnuplot", "octave", "octave-cli", "clisp", "ghc"}
)
#: Flags after which an interpreter takes its program as the next argument.
CODE_FLAGS: Final = frozenset({"-c", "-e", "-E", "-r", "--eval", "-x"})
AWKS: Final = frozenset({"awk", "gawk", "mawk", "nawk", "busybox-awk"})
DOWNLOADERS: Final = frozenset({"curl", "wget", "fetch", "aria2c", "lwp-download", "http", "https", "xh"})
NETWORK: Final = DOWNLOADERS | frozenset(
    {"nc", "ncat", "netcat", "socat", "telnet", "ssh", "scp", "sftp", "rsync", "ftp", "tftp", "openssl"}
)
NETCATS: Final = frozenset({"nc", "ncat", "netcat"})
#: Commands that run the rest of their argv as another command, with the flags that take a value.
WRAPPERS: Final[dict[str, frozenset[str]]] = {
    "sudo": frozenset({"-u", "-g", "-h", "-C", "-p", "-r", "-t", "-U", "-D", "-R", "-T"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S"}),
    "nohup": frozenset(),
    "nice": frozenset({"-n"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "time": frozenset({"-f", "-o"}),
    "timeout": frozenset({"-k", "-s"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "setsid": frozenset(),
    "xargs": frozenset({"-I", "-n", "-P", "-d", "-a", "-E", "-L", "-s"}),
    "exec": frozenset({"-a"}),
    "command": frozenset(),
    "builtin": frozenset(),
    "strace": frozenset({"-o", "-e", "-p", "-s"}),
    "ltrace": frozenset({"-o", "-e", "-p"}),
    "chroot": frozenset(),
    "unshare": frozenset(),
    "taskset": frozenset(),
    "busybox": frozenset(),
    "watch": frozenset({"-n", "-d"}),
    "flock": frozenset({"-w", "-E"}),
}
#: Wrappers whose first positional argument is not the command (it is a time, a CPU mask, a root, a lock).
WRAPPER_SKIP_ONE: Final = frozenset({"timeout", "taskset", "chroot", "flock"})
#: Commands where a shell path as an argument is ordinary (setting a login shell, looking one up).
SHELL_ARG_OK: Final = _words(
    "chsh useradd usermod adduser which whereis type file ls stat man whatis apropos tldr echo printf "
    "grep readlink realpath ldd dpkg rpm apt apt-get brew pacman dnf yum apk ps pgrep pkill killall help "
    "info command git du cat hash alias shellcheck shfmt chmod md5sum sha256sum strings objdump nm diff "
    "cmp wc head tail test [ update-alternatives docker kubectl podman"
)
READERS: Final = _words(
    "cat tac less more head tail base64 base32 xxd od hexdump strings cp scp rsync tar zip 7z gzip bzip2 "
    "xz grep egrep rg awk sed cut sort nl curl wget nc ncat netcat socat openssl gpg dd sqlite3 jq python "
    "python3 perl ruby node vi vim nano view uniq tee zcat bat ln mv install"
)

_CRED_PARTS: Final = (
    r"\.ssh/(?:id_[\w-]+|[\w-]*_(?:rsa|dsa|ecdsa|ed25519))(?!\.pub)\b",
    r"\.aws/(?:credentials|config)\b",
    r"(?:^|/)\.env(?:\.[\w-]+)?$",
    r"/proc/[^/\s]+/environ\b",
    r"/etc/g?shadow\b",
    r"\.git-credentials\b",
    r"\.netrc\b",
    r"\.pgpass\b",
    r"\.docker/config\.json\b",
    r"\.kube/config\b",
    r"\.(?:npmrc|pypirc)\b",
    r"\.gnupg/",
    r"\.config/gcloud/",
    r"\.azure/",
    r"Login Data\b",
    r"logins\.json\b",
    r"key[34]\.db\b",
    r"cookies\.sqlite\b",
    r"\.mozilla/firefox/",
    r"google-chrome/",
    r"Google/Chrome/",
    r"Library/Keychains\b",
    r"\.keychain(?:-db)?\b",
    r"\.bash_history\b",
)
CREDENTIAL_PATH: Final = re.compile("|".join(_CRED_PARTS))
EXFIL_HOST: Final = re.compile(
    r"pastebin\.com|paste\.ee|hastebin|ghostbin|transfer\.sh|0x0\.st|\bix\.io|termbin\.com|"
    r"ngrok(?:-free)?\.(?:io|app|dev)|webhook\.site|requestbin|pipedream\.net|hookbin|beeceptor|"
    r"trycloudflare\.com|serveo\.net|\bloca\.lt|interact\.sh|\boast\.(?:fun|pro|live|site|online|me)|"
    r"burpcollaborator\.net|file\.io|anonfiles",
    re.IGNORECASE,
)
DEVICE: Final = re.compile(r"^/dev/(?:sd[a-z]|nvme\d|hd[a-z]|vd[a-z]|xvd[a-z]|mmcblk\d|disk\d|md\d|dm-\d)")
SYSTEM_DIRS: Final = _words(
    "/ /etc /usr /bin /sbin /boot /lib /lib64 /var /home /root /sys /proc /dev /opt /srv /usr/bin "
    "/usr/lib /usr/local /var/lib ~ $HOME ${HOME}"
)
PRIV_FILES: Final = re.compile(r"^/etc/(?:sudoers(?:\.d/.*)?|passwd|shadow|group|gshadow)$")
PERSIST_PATH: Final = re.compile(
    r"^/etc/cron|^/var/spool/cron|^/etc/systemd/|\.config/systemd/|^/etc/init\.d/|^/etc/rc\.local|"
    r"(?:^|/)\.(?:bashrc|bash_profile|bash_login|profile|zshrc|zprofile|zshenv|bash_logout)$|authorized_keys2?$|"
    r"^/etc/(?:profile|bash\.bashrc|environment)|^/etc/profile\.d/|^/etc/ld\.so\.preload|\.git/hooks/|"
    r"Library/LaunchAgents/|/Library/LaunchDaemons/"
)
LOG_PATH: Final = re.compile(r"^/var/log/|\.(?:bash|zsh)_history$|^/var/run/utmp|^/var/log/wtmp")
LOGGING_SERVICES: Final = re.compile(r"^(?:rsyslog|syslog|syslog-ng|auditd|systemd-journald|journald)(?:\.service)?$")

# Interpreter one-liners: what code strings that spawn shells or open sockets look like.
CODE_SOCKET: Final = re.compile(
    r"socket|TCPSocket|fsockopen|net\.connect|require\(['\"]net['\"]\)|java\.net\.Socket|/inet/tcp/|"
    r"\bconnect\s*\(",
    re.IGNORECASE,
)
CODE_LISTEN: Final = re.compile(r"\bbind\s*\(|\blisten\b|createServer|TCPServer|accept\s*\(|/inet/tcp/\d+/0/0")
CODE_EXEC: Final = re.compile(
    r"os\.system|subprocess|pty\.spawn|os\.exec\w*|os\.popen|\bexec\s*[\(\"'`]|\bsystem\s*\(|IO\.popen|"
    r"child_process|proc_open|shell_exec|passthru|popen\s*\(|ProcessBuilder|Runtime\.getRuntime|io\.popen|"
    r"os\.execute|\bspawn\s*\(|dup2|pcntl_exec|callCommand|Process\.Start|\besyscmd\s*\(|\brun\(`|"
    r"\bexec\s+\$\w|run-shell-command|\(system\s|`",
)
CODE_SHELL: Final = re.compile(
    r"(?<![\w.-])(?:/usr)?(?:/bin/)?(?:ba|z|da|k)?sh(?:\s+-[ip])?(?=['\"` )\]])|/bin/(?:ba|z|da|k)?sh\b"
)

CODE_LIBRARY: Final = re.compile(r"ctypes|cdll|dlopen|Fiddle|LoadLibrary|DynaLoader|ffi\.load|System\.load")

#: Environment variables that make the dynamic linker load a library into every program started.
PRELOAD_VARS: Final = _words("LD_PRELOAD LD_AUDIT DYLD_INSERT_LIBRARIES")
LIBRARY_VARS: Final = PRELOAD_VARS | _words("LD_LIBRARY_PATH DYLD_LIBRARY_PATH LD_DEBUG_OUTPUT")
#: Environment variables whose value is a program another program runs (``PAGER=…``, ``GIT_SSH_COMMAND``).
HOOK_VAR: Final = re.compile(r"PAGER$|EDITOR$|^VISUAL$|^LESS(?:OPEN|CLOSE)$|ASKPASS$|^BROWSER$|^SHELL$")
HOOK_VAR_SUFFIXES: Final = ("_COMMAND", "_CMD", "_PROGRAM", "_HOOK", "_BIN")
#: Option or ``key=value`` names whose value is a command line the program runs.
HOOK_OPTION: Final = re.compile(
    r"(?i)^on-|(?:command|cmd|exec|script|hook|pager|editor|askpass|filter|wrapper|rsh|program|invoke|"
    r"core_pattern|action)(?![a-z])"
)
#: Option names whose value is a library or module the program loads into itself.
LOAD_OPTION: Final = re.compile(r"(?i)engine|provider|default-auth|preload|load|ladspa|^-?[DI]$")
#: A shared-library path inside an argument (``/x/lib.so``, ``libfoo.so.1``, ``x.dylib``).
LIBRARY_PATH: Final = re.compile(r"[\w./~-]\.(?:so(?:\.\d+)*|dylib)(?=$|[\s,:;'\")])")
#: Build and file tools that handle libraries as files (compile, link, copy, inspect, package).
LIBRARY_FILE_TOOLS: Final = _words(
    "gcc g++ cc c++ clang clang++ ld ld.gold ld.lld lld ar ranlib make cmake ninja meson cargo go rustc "
    "cp mv ln rm install rsync scp tar zip unzip 7z chmod chown chgrp touch find locate mlocate dpkg rpm "
    "apt apt-get pacman dnf yum brew pip pip3 git docker podman kubectl file ldconfig ldd nm objdump "
    "readelf otool strip patchelf chrpath strings sha256sum md5sum ls stat du valgrind"
)
#: A local package file (not a name resolved from a signed repository).
PACKAGE_FILE: Final = re.compile(r"\.(?:deb|rpm|ipk|apk|txz|pkg|snap|pkg\.tar\.(?:zst|xz|gz))$")
#: A volume or mount specification whose source is the host's root directory.
HOST_ROOT_MOUNT: Final = re.compile(r"^/:|(?:^|,)(?:src|source)=/(?:,|$)")
CONTAINER_TOOLS: Final = _words("docker podman nerdctl ctr lxc incus crictl")
