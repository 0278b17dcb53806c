package molotov

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Files a run writes at its end (Runner.ResultFile) are checked before it
// starts, so that a long run is never wasted on a path that cannot be
// written, and written whole or not at all.

// checkOutputPath reports why path can never take a file: it is empty,
// has a NUL byte, ends with a separator or names a directory. example
// names such a file in the messages ("result.json").
func checkOutputPath(path, example string) error {
	switch {
	case path == "":
		return fmt.Errorf("empty path; name a file such as %s", example)
	case containsNUL(path):
		return fmt.Errorf("%q contains a NUL byte; name a file such as %s", path, example)
	case os.IsPathSeparator(path[len(path)-1]):
		return fmt.Errorf("%q ends with a path separator; name a file in that directory, such as %s%s", path, path, example)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%q is a directory; name a file in it, such as %s%c%s", path, path, os.PathSeparator, example)
	}
	return nil
}

// checkOutputDir reports why path cannot be written now: its directory is
// missing, not a directory, or not writable. It makes and removes a
// temporary file beside path to learn whether the directory is writable.
// A run checks it after GlobalSetup, which may create the directory, and
// before the first start.
func checkOutputDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("the directory %q does not exist; create it first (mkdir -p %s), or in GlobalSetup", dir, dir)
	case err != nil:
		return fmt.Errorf("cannot use the directory of %q: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("%q is not a directory, so %q cannot be written", dir, path)
	}
	f, err := os.CreateTemp(dir, ".molotov-check-*")
	if err != nil {
		return fmt.Errorf("cannot write in the directory %q: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// writeFileAtomic writes path with write: into a temporary file beside it,
// renamed over path once complete, so that a failure never leaves path
// truncated or half written, and an earlier file stays as it was.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := write(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil { // CreateTemp's 0600 is not what a report file needs
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
