# tasks.py: /proc/PID/task lists a process's threads (gdb attaching, ps -L), each task/TID a directory with the thread's own files; a thread that ends leaves the list.
import os
import threading

ev = threading.Event()
th = threading.Thread(target=ev.wait, name="waiter")
th.start()
me, tid = os.getpid(), th.native_id
print("listed", sorted(os.listdir("/proc/self/task")) == sorted([str(me), str(tid)]),
      sorted(os.listdir("/proc/%d/task" % me)) == sorted(os.listdir("/proc/self/task")))
print("dirs", os.path.isdir("/proc/self/task/%d" % tid), os.path.isdir("/proc/%d/task/%d" % (me, me)))
print("files", open("/proc/self/task/%d/comm" % tid).read().strip(),
      open("/proc/%d/task/%d/status" % (me, tid)).read().split("\n")[0])
print("pid-of-thread", open("/proc/%d/task/%d/stat" % (me, tid)).read().split()[0] == str(tid))
ev.set()
th.join()
# join returns once the thread's Python part is done; the OS thread ends a
# moment later (natively too), so wait for it to leave the list.
import time
deadline = time.monotonic() + 5
while os.listdir("/proc/self/task") != [str(me)] and time.monotonic() < deadline:
    time.sleep(0.01)
print("after", os.listdir("/proc/self/task") == [str(me)])
