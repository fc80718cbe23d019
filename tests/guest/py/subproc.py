# subproc.py: python3's subprocess inside a domain — run, check_output, pipes between children, return codes.
import os
import subprocess
import sys

print("run:", subprocess.run(["/bin/echo", "hello", "from", "echo"], capture_output=True, text=True).stdout.strip())
print("check_output:", subprocess.check_output(["/usr/bin/wc", "-l", "/etc/services"], text=True).split()[0])
p = subprocess.run(["/bin/sh", "-c", "exit 4"])
print("returncode:", p.returncode)
p1 = subprocess.Popen(["/usr/bin/seq", "1", "500"], stdout=subprocess.PIPE)
p2 = subprocess.Popen(["/bin/grep", "5"], stdin=p1.stdout, stdout=subprocess.PIPE, text=True)
p1.stdout.close()
out = p2.communicate()[0]
p1.wait()
print("pipe:", len(out.splitlines()), "lines, codes", p1.returncode, p2.returncode)
r = subprocess.run([sys.executable, "-c", "import sys; print(sum(range(1000))); sys.exit(2)"],
                   capture_output=True, text=True)
print("python child:", r.stdout.strip(), r.returncode)
r = subprocess.run(["/bin/cat"], input="through stdin\n", capture_output=True, text=True)
print("stdin:", r.stdout.strip())
try:
    subprocess.run(["/nonexistent/prog"])
except FileNotFoundError as e:
    print("missing:", type(e).__name__)
pid = os.fork()
if pid == 0:
    os._exit(6)
print("os.fork:", os.WEXITSTATUS(os.waitpid(pid, 0)[1]))
