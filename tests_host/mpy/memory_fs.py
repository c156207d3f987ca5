# An in-memory filesystem for the event log's checks and tests (the subset of
# Python that MicroPython also runs); apart from fakes.py so that the other
# check scripts, in their Pico-sized heap, do not carry it.
class MemoryFS:
    """An in-memory filesystem with the calls event_log uses (open, stat) and
    injectable write faults:

        fs.fail_writes = 28       # every write raises OSError(28) (flash full), nothing written
        fs.cut_next_write(k)      # the next write stores its first k bytes, then OSError(5)
                                  # (power lost mid-write); later writes work again
        fs.limit = 4096           # total bytes the filesystem holds (writes past it: ENOSPC)
    """

    def __init__(self, limit=None):
        self.files = {}  # path -> bytearray
        self.limit = limit
        self.fail_writes = None
        self._cut = None
        self.writes = 0  # successful write calls
        self.opened = 0

    def cut_next_write(self, keep):
        self._cut = keep

    def used(self):
        return sum([len(data) for data in self.files.values()])

    def stat(self, path):
        if path not in self.files:
            raise OSError(2)
        return (0x8000, 0, 0, 1, 0, 0, len(self.files[path]), 0, 0, 0)

    def open(self, path, mode):
        if "w" in mode:
            self.files[path] = bytearray()
        elif path not in self.files:
            if "a" in mode:
                self.files[path] = bytearray()
            else:
                raise OSError(2)
        self.opened += 1
        f = MemoryFile(self, path)
        if "a" in mode:
            f.pos = len(self.files[path])
        return f


class MemoryFile:
    def __init__(self, fs, path):
        self.fs = fs
        self.path = path
        self.pos = 0
        self.closed = False

    def _data(self):
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return self.fs.files[self.path]

    def seek(self, offset, whence=0):
        data = self._data()
        self.pos = offset if whence == 0 else (self.pos + offset if whence == 1 else len(data) + offset)
        return self.pos

    def tell(self):
        return self.pos

    def read(self, size=-1):
        data = self._data()
        end = len(data) if size < 0 else min(len(data), self.pos + size)
        out = bytes(data[self.pos : end])
        self.pos = max(self.pos, end)
        return out

    def readinto(self, buf):
        got = self.read(len(buf))
        for i in range(len(got)):
            buf[i] = got[i]
        return len(got)

    def write(self, buf):
        data = self._data()
        fs = self.fs
        if fs.fail_writes is not None:
            raise OSError(fs.fail_writes)
        buf = bytes(buf)
        if fs._cut is not None:
            keep = fs._cut
            fs._cut = None
            self._store(data, buf[:keep])
            raise OSError(5)
        grow = self.pos + len(buf) - len(data)
        if fs.limit is not None and grow > 0 and fs.used() + grow > fs.limit:
            room = max(0, fs.limit - fs.used())
            self._store(data, buf[: len(data) - self.pos + room])
            raise OSError(28)
        self._store(data, buf)
        fs.writes += 1
        return len(buf)

    def _store(self, data, buf):
        if self.pos > len(data):
            data.extend(bytes(self.pos - len(data)))
        data[self.pos : self.pos + len(buf)] = buf
        self.pos += len(buf)

    def flush(self):
        self._data()

    def close(self):
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
