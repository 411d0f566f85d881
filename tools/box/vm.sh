# tools/box/vm.sh - the throw-away box's qemu guest, for tools/check-box and
# tools/check-lava (sourced). The caller sets:
#   ARCH       amd64 or arm64
#   IMG        tools/box-image's directory (box.img, vmlinuz, initrd.img,
#              keys/, box.env already read: CONSOLE)
#   W          the work directory (console logs, qemu.log)
# and defines bad WHY (say it, return 1). Every wait is bounded.

case $ARCH in
  amd64) QEMU=qemu-system-x86_64 MACHINE=(-M pc -accel tcg) BOOT_BOUND=${BOOT_BOUND:-600} ;;
  arm64) QEMU=qemu-system-aarch64 MACHINE=(-M virt -cpu cortex-a57 -accel tcg)
         BOOT_BOUND=${BOOT_BOUND:-1800} ;;
esac
MEM=${CHECK_BOX_MEM:-1536M}
VM_PID="" VM_PORT="" VM_LOG=""
SSHO=(-F none -o HostKeyAlias=box -o "UserKnownHostsFile=$IMG/keys/known_hosts"
      -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=30
      -o ServerAliveInterval=15 -o ServerAliveCountMax=8 -o LogLevel=ERROR)

# g CMD: a command as root in the guest, bounded (SSH_BOUND, default 600 s).
g() { timeout -k 5 "${SSH_BOUND:-600}" ssh "${SSHO[@]}" -i "$IMG/keys/id_root" -p "$VM_PORT" -T root@127.0.0.1 "$@"; }
# eng CMD: the same as the engineer, as the field engineer types it.
eng() { timeout -k 5 "${SSH_BOUND:-600}" ssh "${SSHO[@]}" -i "$IMG/keys/id_engineer" -p "$VM_PORT" -T engineer@127.0.0.1 "$@"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
stop_vm() { [ -n "$VM_PID" ] && kill -9 "$VM_PID" 2>/dev/null && wait "$VM_PID" 2>/dev/null; VM_PID=""; }

# The qemu command line of the box booted from DISK (a qcow2 file), without
# its network and serial: check-lava gives LAVA the same.
vm_argv() {
  VM_ARGV=("$QEMU" "${MACHINE[@]}" -smp 2 -m "$MEM" -no-reboot
    -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img"
    -append "root=/dev/vda ro console=$CONSOLE panic=-1"
    -drive "file=$1,if=virtio,format=qcow2")
}

# vm_boot NAME DISK: boots the disk, waits (BOOT_BOUND) for its sshd, copies
# the helpers in (tools/box/ledwatch, box-wait, as they are in the tree).
# Sets BOOT_S.
vm_boot() {
  local t0 try
  VM_LOG=$W/$1.console.log
  vm_argv "$2"
  for try in 1 2; do
    VM_PORT=$(free_port)
    t0=$(date +%s)
    nice -n 10 "${VM_ARGV[@]}" -display none \
      -nic "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$VM_PORT-:22" \
      -serial "file:$VM_LOG" < /dev/null >> "$W/qemu.log" 2>&1 &
    VM_PID=$!
    while kill -0 "$VM_PID" 2>/dev/null; do
      if SSH_BOUND=60 g true 2>/dev/null; then
        BOOT_S=$(( $(date +%s) - t0 ))
        tar -cf - -C tools/box ledwatch box-wait | g 'tar -xf - -C /usr/local/bin' ||
          { bad "cannot copy the helpers into the guest"; return 1; }
        return 0
      fi
      [ $(( $(date +%s) - t0 )) -lt "$BOOT_BOUND" ] || { bad "no SSH within $BOOT_BOUND s: $VM_LOG"; return 1; }
      sleep 2
    done
    wait "$VM_PID"; VM_PID=""
    # Another process took the port between free_port and qemu: once more.
    grep -q "host forwarding" "$W/qemu.log" && [ $try = 1 ] && continue
    bad "qemu ended while booting: $(tail -n 2 "$W/qemu.log" | tr '\n' ' ') (console: $VM_LOG)"
    return 1
  done
}

# vm_end BOUND: waits for qemu to end by itself (a poweroff).
vm_end() {
  local t0
  t0=$(date +%s)
  while kill -0 "$VM_PID" 2>/dev/null; do
    [ $(( $(date +%s) - t0 )) -lt "$1" ] || { stop_vm; bad "the guest did not power off within $1 s"; return 1; }
    sleep 1
  done
  wait "$VM_PID" 2>/dev/null; VM_PID=""
  return 0
}

# vm_poweroff: systemctl poweroff, and qemu ends within 300 s.
vm_poweroff() {
  g 'systemctl poweroff' > /dev/null 2>&1
  vm_end 300
}
