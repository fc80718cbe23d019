# rusage.py: getrusage (self, children), wait4's rusage and times() count the CPU time a process and its waited-for child used (processes.sh compares it with native).
import os, resource, time
def spin(s):
    t=time.process_time()
    while time.process_time()-t < s: pass
spin(0.3)
s=resource.getrusage(resource.RUSAGE_SELF)
pid=os.fork()
if pid==0:
    spin(0.4); os._exit(0)
_, st, ru = os.wait4(pid, 0)
c=resource.getrusage(resource.RUSAGE_CHILDREN)
t=os.times()
print("self", s.ru_utime + s.ru_stime >= 0.25, s.ru_maxrss > 1000)
print("wait4", 0.3 <= ru.ru_utime + ru.ru_stime < 2)
print("children", 0.3 <= c.ru_utime + c.ru_stime < 2, 0.3 <= t.children_user + t.children_system < 2, t.user + t.system >= 0.25)
