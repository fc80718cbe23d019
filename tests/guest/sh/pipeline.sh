# pipeline.sh: a busybox sh script with pipelines, subshells, $(...), redirections and background jobs; run natively and in pdvm.
set -u
echo "start"
seq 1 2000 | grep 7 | sort -n -r | head -n 5
n=$(seq 1 300 | wc -l)
echo "count: $n"
( cd /etc && echo "subshell in $(pwd)"; exit 3 )
echo "subshell status $?"
echo "to nowhere" > /dev/null
head -n 3 < /etc/services | tr a-z A-Z | wc -l
exec 3< /etc/services; read -r first <&3; exec 3<&-; echo "fd 3 read ${#first} chars"
{ echo "group stdout"; echo "group stderr" >&2; } 2>&1 | sed 's/^/> /'
sleep 0.2 & a=$!
( seq 1 50 | tail -n 1 ) & b=$!
# b is waited for first: its "50" must come before any later line however slow the run
wait $b; echo "job b: $?"
wait $a; echo "job a: $?"
false | true; echo "pipeline status $?"
x=0; for i in 1 2 3 4 5; do x=$((x + i)); done; echo "sum $x"
if echo abc | grep -q b; then echo "grep -q found"; fi
v=$(echo inner $(echo nested)); echo "$v"
printf '%s\n' c b a | sort | tr '\n' ' '; echo
sh -c 'exit 9'; echo "child sh status $?"
kill -0 $$ && echo "kill -0 self ok"
echo "end"
