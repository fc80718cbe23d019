# ids.py: the set*id calls as an unprivileged process sees them (same ids succeed, others and setgroups get EPERM); output compared with a native run as the same user.
import os
u, g = os.getuid(), os.getgid()
def t(name, f):
    try:
        f(); print(name, "ok")
    except OSError as e:
        print(name, e.errno)
t("setuid-same", lambda: os.setuid(u))
t("setuid-0", lambda: os.setuid(0))
t("setgid-same", lambda: os.setgid(g))
t("setresuid-same", lambda: os.setresuid(-1, u, -1))
t("setresuid-other", lambda: os.setresuid(-1, 12345, -1))
t("setreuid-other", lambda: os.setreuid(12345, -1))
t("setgroups", lambda: os.setgroups([]))
t("setgroups-own", lambda: os.setgroups([g]))
print(os.getresuid() == (u, u, u))
