#!/bin/bash
# kvm_present.sh: sanity check of the e2e harness: /dev/kvm exists and opens read-write where e2e tests run.
if [ ! -c /dev/kvm ]; then
	echo "FAIL: /dev/kvm is not a character device here"
	exit 1
fi
echo "PASS: /dev/kvm is a character device"
if exec 3<>/dev/kvm; then
	exec 3>&-
	echo "PASS: /dev/kvm opens read-write"
else
	echo "FAIL: /dev/kvm does not open read-write"
	exit 1
fi
