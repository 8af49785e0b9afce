"""The writer that test_redex_crash.py kills with SIGKILL.

    redex_crash_child.py <persistent_dir> <channel name> <seed>

Opens the persistent RedEX file with fsync_every_n=1, prints `ready <next seq>`, then appends
until killed: single appends and, now and then, a batch of up to MAX_BATCH. The payload of a seq
is `payload_for(seq)`, so whoever reads the file back knows what each seq must hold. After every
append returns, the seqs it covered are printed, one per line, and stdout is flushed (a single
write of less than PIPE_BUF bytes, so a line reaches the pipe whole or not at all): a printed seq
was acknowledged, hence on disk. A seq other than the expected one exits with status 3.
"""

from __future__ import annotations

import hashlib
import random
import sys

MAX_BATCH = 8
MAX_PAYLOAD = 2048


def payload_for(seq: int) -> bytes:
    """0..MAX_PAYLOAD-1 bytes derived from the seq alone: sha256(seq) repeated."""
    digest = hashlib.sha256(seq.to_bytes(8, "little")).digest()
    size = int.from_bytes(digest[:2], "little") % MAX_PAYLOAD
    return (digest * (size // len(digest) + 1))[:size]


def main() -> None:
    import net

    directory, name, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
    file = net.Redex(persistent_dir=directory).open_file(name, persistent=True, fsync_every_n=1)
    seq = len(file)  # no retention: the file holds seqs 0..len-1
    sys.stdout.write(f"ready {seq}\n")
    sys.stdout.flush()
    while True:
        if rng.random() < 0.2:
            count = rng.randint(1, MAX_BATCH)
            got = file.append_batch([payload_for(s) for s in range(seq, seq + count)])
        else:
            count = 1
            got = file.append(payload_for(seq))
        if got != seq:
            sys.stderr.write(f"expected seq {seq}, the append returned {got}\n")
            sys.exit(3)
        sys.stdout.write("".join(f"{s}\n" for s in range(seq, seq + count)))
        sys.stdout.flush()
        seq += count


if __name__ == "__main__":
    main()
