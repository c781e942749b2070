#!/bin/sh
# Runs inside a container: device nodes can be made (CAP_MKNOD) but only the allowed
# ones can be opened. 8:0 is the first SCSI disk, 4:64 the VM's serial console.

rm -f /tmp/disk /tmp/serial
if mknod /tmp/disk b 8 0 2>/tmp/err; then echo "mknod=ok"; else echo "mknod=$(cat /tmp/err)"; fi
if head -c 0 /tmp/disk 2>/tmp/err; then echo "disk=opened"; else echo "disk=$(cat /tmp/err)"; fi
if mknod /tmp/serial c 4 64 2>/tmp/err; then
    if head -c 0 /tmp/serial 2>/tmp/err; then echo "serial=opened"; else echo "serial=$(cat /tmp/err)"; fi
else
    echo "serial=mknod: $(cat /tmp/err)"
fi
if echo x > /dev/null 2>/tmp/err; then echo "null=ok"; else echo "null=$(cat /tmp/err)"; fi
echo "zero=$(head -c 4 /dev/zero | wc -c)"
