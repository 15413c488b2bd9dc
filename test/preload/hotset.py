# hotset.c's program in Python (a program nobody here wrote: CPython's
# bytearray and its C find()): writes TOTAL MiB once, then reads HOT MiB of it
# at OFFSET MiB with bytearray.find (memchr over the range) for SECONDS; on
# SIGUSR1 it reads at SHIFT MiB instead. Prints "ready <buffer> <hot start>
# <hot bytes>", "shift <new hot start>", and at the end the passes and a
# checksum of the buffer (the same whatever the placement).
# usage: python3 hotset.py TOTAL_MIB HOT_MIB OFFSET_MIB SECONDS SHIFT_MIB
import ctypes, signal, sys, time
MiB = 1 << 20
total, hot, off, seconds, shift = (int(a) for a in sys.argv[1:6])
b = bytearray(b'\x5a') * (total * MiB)
addr = ctypes.addressof((ctypes.c_char * len(b)).from_buffer(b))
print('ready', hex(addr), hex(addr + off * MiB), hot * MiB, flush=True)
moved = []
signal.signal(signal.SIGUSR1, lambda *_: moved.append(1))
end = time.monotonic() + seconds
passes = 0
while time.monotonic() < end:
    if moved and moved[0] == 1:
        moved[0] = 2
        off = shift
        print('shift', hex(addr + off * MiB), flush=True)
    b.find(b'\x01', off * MiB, (off + hot) * MiB)
    passes += 1
print('passes', passes, 'checksum', b.count(b'\x5a'), flush=True)
